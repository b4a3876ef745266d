#!/usr/bin/env bash
# The fedmoco-chest experiment: every method variant of fedmoco-chest.conf for each seed, one
# `fedactors run` each, into runs/fedmoco-chest/. Then `fedactors report` over those run
# directories writes docs/results/fedmoco-chest.md. Run from anywhere after the build:
#   bash cluster-config/experiments/fedmoco-chest.sh            (SEEDS="1 2 3" by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
fedactors=(dotnet Host/bin/Release/net10.0/fedactors.dll)
conf=cluster-config/experiments/fedmoco-chest.conf
variants=(
  "method=fedmoco"
  "method=fedmoco-plain"
  "method=fedmoco fedmoco.metadata-transfer=off"
  "method=fedmoco fedmoco.rsa-aggregation=off"
)
for seed in ${SEEDS:-1 2 3}; do
  for variant in "${variants[@]}"; do
    args=(--set "seed=$seed")
    for kv in $variant; do args+=(--set "$kv"); done
    "${fedactors[@]}" run "$conf" "${args[@]}"
  done
done
