#!/usr/bin/env bash
# The Fed-MAS experiments: for each experiment (fedmas-synthetic.conf, fedmas-isic.conf) and seed,
# `fedactors auxiliary` pre-trains the frozen MoCo v2 encoder on that run's training images (into
# runs/fedmas-auxiliary/), then Fed-MAS, Fed-MAS weighing by samples (an ablation) and the baselines
# run with it, one `fedactors run` each,
# into runs/fedmas-synthetic/ and runs/fedmas-isic/; then `fedactors report` over every finished run
# writes docs/results/fedmas.md (balanced accuracy mean ± std, per hospital, aggregation weights per
# round, findings from fedmas.notes.md). Run after the build:
#   bash cluster-config/experiments/fedmas.sh      (SEEDS="1 2 3" by default)
# REPORT_ONLY=1 regenerates the document from the run directories without running anything;
# EXPERIMENTS="synthetic" or "isic" runs one of the two; AUXILIARY_EPOCHS (default 10).
set -euo pipefail
cd "$(dirname "$0")/../.."
fedactors=(dotnet Host/bin/Release/net10.0/fedactors.dll)
here=cluster-config/experiments
variants=(
  "method=fedmas"
  "method=fedmas fedmas.aggregation=samples"   # ablation: Fed-MAS's local loss with FedAvg's weights
  "method=fedavg-ce"
  "method=fedavg-bsm"
  "method=fedprox-ce"
)
if [ -z "${REPORT_ONLY:-}" ]; then
  mkdir -p runs/fedmas-auxiliary
  for experiment in ${EXPERIMENTS:-synthetic isic}; do
    for seed in ${SEEDS:-1 2 3}; do
      encoder="runs/fedmas-auxiliary/$experiment-seed$seed.weights"
      "${fedactors[@]}" auxiliary "$here/fedmas-$experiment.conf" --set "seed=$seed" --out "$encoder" \
        --epochs "${AUXILIARY_EPOCHS:-10}" | tee "$encoder.log"
      hash=$(sed -n 's/^fedactors.fedmas.auxiliary-hash = //p' "$encoder.log")
      for variant in "${variants[@]}"; do
        args=(--set "seed=$seed" --set "fedmas.auxiliary=\"$PWD/$encoder\"" --set "fedmas.auxiliary-hash=$hash")
        for kv in $variant; do args+=(--set "$kv"); done
        "${fedactors[@]}" run "$here/fedmas-$experiment.conf" "${args[@]}"
      done
    done
  done
fi
out=docs/results/fedmas.md
real=docs/results/fedmas-isic.md
"${fedactors[@]}" report runs/fedmas-synthetic/* --out "$out" --metric balanced_accuracy \
  --title "Fed-MAS: aggregation by self-supervised priors on imbalanced sites" --notes "$here/fedmas.notes.md"
"${fedactors[@]}" report runs/fedmas-isic/* --out "$real" --metric balanced_accuracy --title "Real dermoscopy: ISIC 2018 melanoma, 6 hospitals"
# The real-data report joins the document as its own section, one heading level down.
{ echo; sed 's/^#/##/' "$real"; } >> "$out"
rm -f "$real"
