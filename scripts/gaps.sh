#!/usr/bin/env bash
# The gap.json files of benchmarks/RESULTS.md "How sure are the gaps?": `sgd gap BASELINE CANDIDATE` on committed rows.
# Run from the repository root: bash scripts/gaps.sh
set -euo pipefail
B=benchmarks/results
D=$B/gpu-tiny-bf16/dev
gap() { echo "### $3"; sgd gap "$B/$1" "$B/$2" --out "$B/gaps/$3"; echo; }
gap flat hierarchical cpu-tiny
gap flat hierarchical-scripted-executor cpu-tiny-scripted-executor
gap gpu-tiny/flat gpu-tiny/hierarchical-safe-focus gpu-tiny-selected
gap gpu-tiny/flat-safe-focus gpu-tiny/hierarchical-safe-focus gpu-tiny-same-guard
gap gpu-tiny/hierarchical-safe-focus gpu-tiny/hierarchical-scripted-executor gpu-tiny-scripted-vs-learned-executor
gap gpu-tiny-bf16/flat-safe-focus gpu-tiny-bf16/hierarchical-safe-focus gpu-tiny-bf16
gap gpu-tiny-bf16/flat-safe-focus-beam5 gpu-tiny-bf16/hierarchical-safe-focus gpu-tiny-bf16-vs-beam5
gap gpu-tiny-bf16/dev/flat-safe-focus gpu-tiny-bf16/dev/flat-safe-focus-beam5 dev-flat-beam5
for ablation in copy constrained grounded scripted-end end-stalled avoid-cycles; do
    gap gpu-tiny-bf16/dev/hierarchical-safe-focus "gpu-tiny-bf16/dev/hierarchical-safe-focus-$ablation" "dev-$ablation"
done
gap gpu-tiny-bf16/dev/flat-safe-focus gpu-tiny-bf16/dev/flat-safe-focus-constrained dev-flat-constrained
gap gpu-tiny-bf16/dev/flat-safe-focus gpu-tiny-bf16/dev/flat-safe-focus-avoid-cycles dev-flat-avoid-cycles
gap gpu-tiny-bf16/flat-safe-focus-avoid-cycles gpu-tiny-bf16/hierarchical-safe-focus-avoid-cycles gpu-tiny-bf16-avoid-cycles
gap gpu-tiny-bf16/hierarchical-safe-focus gpu-tiny-bf16/hierarchical-safe-focus-avoid-cycles test-avoid-cycles
gap gpu-tiny-bf16/flat-safe-focus gpu-tiny-bf16/flat-safe-focus-avoid-cycles test-flat-avoid-cycles
gap gpu-tiny-bf16/dev/hierarchical-safe-focus-avoid-cycles gpu-tiny-bf16/dev/hierarchical-safe-focus-avoid-cycles-named-focus \
    dev-named-focus
gap gpu-tiny-bf16/dev/flat-safe-focus-avoid-cycles gpu-tiny-bf16/dev/flat-safe-focus-avoid-cycles-named-focus dev-flat-named-focus
gap gpu-tiny-bf16/flat-safe-focus-avoid-cycles-named-focus gpu-tiny-bf16/hierarchical-safe-focus-avoid-cycles-named-focus \
    gpu-tiny-bf16-named-focus
gap gpu-tiny-bf16/hierarchical-safe-focus-avoid-cycles gpu-tiny-bf16/hierarchical-safe-focus-avoid-cycles-named-focus \
    test-named-focus
gap gpu-tiny-bf16/flat-safe-focus-avoid-cycles gpu-tiny-bf16/flat-safe-focus-avoid-cycles-named-focus test-flat-named-focus
gap gpu-tiny/flat-safe-focus-avoid-cycles-named-focus gpu-tiny/hierarchical-safe-focus-avoid-cycles-named-focus \
    gpu-tiny-named-focus
# The headline setting on both GPU training runs (gpu-tiny, gpu-tiny-bf16; test): one BASELINE CANDIDATE pair per run.
echo "### gpu-runs-named-focus"
sgd gap $B/gpu-tiny/flat-safe-focus-avoid-cycles-named-focus $B/gpu-tiny/hierarchical-safe-focus-avoid-cycles-named-focus \
    $B/gpu-tiny-bf16/flat-safe-focus-avoid-cycles-named-focus $B/gpu-tiny-bf16/hierarchical-safe-focus-avoid-cycles-named-focus \
    --out $B/gaps/gpu-runs-named-focus
# Across training seeds (cpu-tiny recipe, seeds 0 and 1, dev): one BASELINE CANDIDATE pair per seed.
echo "### cpu-tiny-seeds-dev"
sgd gap $B/dev/flat $B/dev/hierarchical $B/cpu-tiny-seed1/dev/flat-seed1 $B/cpu-tiny-seed1/dev/hierarchical-seed1 \
    --out $B/gaps/cpu-tiny-seeds-dev
