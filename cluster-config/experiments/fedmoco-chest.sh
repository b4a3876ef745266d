#!/usr/bin/env bash
# The fedmoco-chest experiment (issue 23 protocol): FedMoCo, FedMoCo-plain (FedAvg + MoCo v2, the paper's baseline),
# each FedMoCo module alone, FedSimCLR and supervised FedAvg, each for every seed, one `fedactors run` each of
# fedmoco-chest.conf (the same rounds and local epochs, so the same local optimiser steps per method, supervised FedAvg
# also with ten local epochs to match them); then
# `fedactors report` over every finished run writes docs/results/fedmoco-chest.md (findings from fedmoco-chest.notes.md).
# Resumable: each (variant, seed) runs in runs/fedmoco-chest/<variant>-seed<N>/; a finished one (final-global.weights)
# is skipped, an interrupted one is continued with `run --resume`. Run after the build:
#   bash cluster-config/experiments/fedmoco-chest.sh      (SEEDS="1 2 3" by default; about 5 minutes a run on 2 cores)
# REPORT_ONLY=1 regenerates the document from the run directories without running anything.
set -euo pipefail
cd "$(dirname "$0")/../.."
fedactors=(dotnet Host/bin/Release/net10.0/fedactors.dll)
here=cluster-config/experiments
# shellcheck source=resumable.sh
source "$here/resumable.sh"
variants=(
  "method=fedmoco"
  "method=fedmoco-plain"
  "method=fedmoco fedmoco.metadata-transfer=off"
  "method=fedmoco fedmoco.rsa-aggregation=off"
  "method=fedsimclr"
  "method=fedavg-supervised"
  # The same local optimiser steps as the self-supervised rows: supervised FedAvg trains on its 10 % labelled share only,
  # so one local epoch is a tenth of their steps; ten epochs level them.
  "method=fedavg-supervised moco.local-epochs=10"
)
tag() { echo "$1" | sed 's/method=//; s/fedmoco\.//g; s/moco\.local-epochs=/local-epochs-/; s/=off/-off/g; s/ /-/g'; }
if [ -z "${REPORT_ONLY:-}" ]; then
  # Variant by variant, every seed of one before the next: a stopped script leaves whole rows, not one seed of each.
  for variant in "${variants[@]}"; do
    for seed in ${SEEDS:-1 2 3}; do
      args=(--set "seed=$seed")
      for kv in $variant; do args+=(--set "$kv"); done
      run_once "runs/fedmoco-chest/$(tag "$variant")-seed$seed" "$here/fedmoco-chest.conf" "${args[@]}"
    done
  done
fi
runs=$(ls -d runs/fedmoco-chest/*-seed*/*/ 2>/dev/null || true)
if [ -z "$runs" ]; then echo "no finished run in runs/fedmoco-chest/ yet"; exit 0; fi
# shellcheck disable=SC2086
"${fedactors[@]}" report $runs --out docs/results/fedmoco-chest.md --metric accuracy,balanced_accuracy \
  --title "FedMoCo on PneumoniaMNIST (6 hospitals, label skew, scanner shift)" --notes "$here/fedmoco-chest.notes.md"
