#!/usr/bin/env bash
# The fedmoco-chest experiment: every method variant of fedmoco-chest.conf for each seed, one
# `fedactors run` each, into runs/fedmoco-chest/; then `fedactors report` over every finished run
# there writes docs/results/fedmoco-chest.md (findings from fedmoco-chest.notes.md). Run after
# the build:   bash cluster-config/experiments/fedmoco-chest.sh      (SEEDS="1 2 3" by default)
# REPORT_ONLY=1 regenerates the document from the run directories without running anything.
set -euo pipefail
cd "$(dirname "$0")/../.."
fedactors=(dotnet Host/bin/Release/net10.0/fedactors.dll)
here=cluster-config/experiments
variants=(
  "method=fedmoco"
  "method=fedmoco-plain"
  "method=fedmoco fedmoco.metadata-transfer=off"
  "method=fedmoco fedmoco.rsa-aggregation=off"
  "method=fedsimclr"
  "method=fedavg-supervised"
  "method=fedprox fedprox.mu=1"
  "method=fedbyol"
  "method=fedu fedu.threshold=0.5"
  "method=fedema"
)
if [ -z "${REPORT_ONLY:-}" ]; then
  for seed in ${SEEDS:-1 2 3}; do
    for variant in "${variants[@]}"; do
      args=(--set "seed=$seed")
      for kv in $variant; do args+=(--set "$kv"); done
      "${fedactors[@]}" run "$here/fedmoco-chest.conf" "${args[@]}"
    done
  done
fi
"${fedactors[@]}" report runs/fedmoco-chest/* --out docs/results/fedmoco-chest.md --metric accuracy,balanced_accuracy \
  --title "FedMoCo on PneumoniaMNIST (6 hospitals, label skew, scanner shift)" --notes "$here/fedmoco-chest.notes.md"
