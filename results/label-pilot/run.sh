#!/usr/bin/env bash
# The label pilot (issue 21): the first N architectures of an own table's sample stream, 4 training
# seeds each, at sparsity 0.8, trained on mnist1d_large with the table recipe (global pruning, as the old tables) at several epoch
# counts. Resumable: rerun to continue (build-table skips recorded runs).
#   results/label-pilot/run.sh SPACE N EPOCHS...   e.g.  run.sh chain 40 6 12 24
set -euo pipefail
cd "$(dirname "$0")/../.."
space=$1; n=$2; shift 2
case $space in
  chain) params=(--param 'filters=[8, 16, 32, 64]' --param max_layers=6) ;;
  cell) params=(--param cells_per_stage=1 --param channels=8) ;;
  hierarchical) params=(--param width=0.5) ;;
  multibranch) params=() ;;
  *) echo "unknown space $space" >&2; exit 2 ;;
esac
for epochs in "$@"; do
  .venv/bin/nasbench build-table "$space" "${params[@]}" --dataset mnist1d_large \
    --epochs "$epochs" --recipe curve_samples=1000 --recipe 'prune_scope="global"' --latency-device none --n "$n" \
    --sparsity 0.8 --seeds 4 \
    --out "results/label-pilot/$space-e$epochs.parquet"
done
