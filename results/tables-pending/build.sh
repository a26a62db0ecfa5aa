#!/usr/bin/env bash
# The rebuilt own MNIST-1D tables (issue 21): the first N uniform samples of each space, at
# sparsity 0, 0.5 and 0.8, 4 training seeds each, on mnist1d_large (validation and test 5,000
# generated samples each), with the recipe the label pilot chose (results/label-pilot/README.md).
# Resumable: rerun to continue or to raise N (build-table skips recorded runs; architecture by
# architecture, so a partial table is a smaller complete one plus at most one partial row).
#   results/tables-pending/build.sh SPACE N [WORKERS]    e.g.  build.sh chain 500
set -euo pipefail
cd "$(dirname "$0")/../.."
space=$1; n=$2; workers=${3:-1}
# epochs and pruning scope per space: the label pilot's choice (experiments/label_pilot.py CHOICES);
# chain was built with every layer pruned to the target, multibranch and hierarchical prune
# globally (layer-wise pruning cripples their depthwise convolutions: the pilot's scope comparison)
case $space in
  chain) params=(--param 'filters=[8, 16, 32, 64]' --param max_layers=6); epochs=12; scope=layer ;;
  multibranch) params=(); epochs=12; scope=global ;;
  cell) params=(--param cells_per_stage=1 --param channels=8); epochs=12; scope=global ;;
  hierarchical) params=(--param width=0.5); epochs=12; scope=global ;;
  *) echo "unknown space $space" >&2; exit 2 ;;
esac
exec .venv/bin/nasbench build-table "$space" "${params[@]}" --dataset mnist1d_large \
  --epochs "$epochs" --recipe curve_samples=1000 --recipe "prune_scope=\"$scope\"" --latency-device cpu --sample-seed 0 \
  --n "$n" --sparsity 0,0.5,0.8 --seeds 4 --workers "$workers" \
  --out "results/tables-pending/$space-mnist1d_large.parquet"
