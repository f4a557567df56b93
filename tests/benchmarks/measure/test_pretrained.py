"""The pretrained-vs-scratch measurement's RESULTS.md sections, from a result of the shape ``measure`` returns."""

from __future__ import annotations

from benchmarks.measure.pretrained import PRETRAINED, SCRATCH, comparison_section, costs_section


def run(accuracy: float, trainable: int, examples_per_s: float) -> dict:
    return {"dev_accuracy": accuracy, "examples_dev": 95, "trainable_parameters": trainable, "wall_time": 120.0,
            "train_examples_per_s": examples_per_s}  # fmt: skip


RESULT = {
    "threads": 2, "steps": 20, "batch_size": 4, "lora_rank": 16,
    "training": {f"{SCRATCH}/flat": run(0.179, 8_076_032, 8.0), f"{PRETRAINED}/flat": run(0.5, 4_884_480, 0.2),
                 f"{SCRATCH}/executor": run(0.079, 8_090_112, 8.0)},
    "full_fine_tune": run(None, 134_515_008, 0.1),
    "load": {"smollm2_first_load_s": 31.0, "smollm2_cached_load_s": 0.8, "smollm2_parameters": 134_515_008,
             "lora_trainable": {8: 2_442_240, 16: 4_884_480}, "t5_load_s": 0.1, "t5_parameters": 8_076_032},
    "latency": {name: {"greedy, batch 1": 90.0, "greedy, batch 8": 30.0, "beam 3, batch 1": 150.0}
                for name in (SCRATCH, PRETRAINED)},
}  # fmt: skip


def test_sections_show_every_figure_and_what_did_not_run():
    costs = costs_section(RESULT, "python -m benchmarks.measure.pretrained --data D --work W")
    assert "first 31.0 s" in costs and "cached 0.8 s" in costs and "`python -m benchmarks.measure.pretrained" in costs
    assert "| SmolLM2-135M + LoRA rank 16 (all linear layers) | 139,399,488 | 4,884,480 | 20.0 |" in costs  # 4 / 0.2
    assert "| SmolLM2-135M + LoRA rank 8 (all linear layers) | 136,957,248 | 2,442,240 | - |" in costs
    assert "| SmolLM2-135M, full fine-tune | 134,515,008 | 134,515,008 | 40.0 |" in costs
    assert f"| {PRETRAINED} | 90 | 30 | 150 |" in costs
    comparison = comparison_section(RESULT, "cmd")
    assert f"| {SCRATCH} | 8,076,032 | 17.9% of 95 | 7.9% of 95 | 4.0 |" in comparison
    assert f"| {PRETRAINED} | 4,884,480 | 50.0% of 95 | not run | 2.0 |" in comparison
