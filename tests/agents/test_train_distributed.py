"""Data-parallel training: ``torchrun`` with two CPU processes (the gloo backend) trains one micro causal LM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agents.policies import CausalLMPolicy, load_policy
from agents.train import training_folder
from sgd_gym.io import write_jsonl
from tests.agents.tiny_llama import save_tiny_llama

ROOT = Path(__file__).parents[2]


def test_torchrun_trains_with_two_processes(tmp_path):
    examples = [
        {"source": f"task: boil | step {i} | obs: you see a door", "target": ["open door", "END_SG"][i % 2]} for i in range(24)
    ]
    write_jsonl(tmp_path / "data" / "examples" / "flat.train.jsonl", examples)
    write_jsonl(tmp_path / "data" / "examples" / "flat.dev.jsonl", examples[:6])
    llama = save_tiny_llama(tmp_path / "llama", [text for example in examples for text in example.values()])
    out = tmp_path / "out"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "agents.train",
               "flat", "--data", str(tmp_path / "data"), "--out", str(out), "--init", str(llama), "--train-steps", "3",
               "--batch-size", "2", "--eval-steps", "3", "--no-progress"]  # fmt: skip
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert (summary["processes"], summary["steps"], summary["family"]) == (2, 3, "causal-lm")
    state = json.loads((training_folder(out) / "checkpoints" / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["train_batch_size"] == 2 and state["global_step"] == 3
    assert isinstance(load_policy(out), CausalLMPolicy)
    assert done.stdout.count('"processes": 2') == 2  # each process printed its summary
