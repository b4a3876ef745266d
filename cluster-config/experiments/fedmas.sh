#!/usr/bin/env bash
# The Fed-MAS experiments (issue 23 protocol). For each experiment (fedmas-synthetic.conf, fedmas-isic.conf) and seed:
#   1. `fedactors auxiliary --source $PRIOR_SOURCE` pre-trains the frozen MoCo v2 prior on images no hospital holds
#      (default synthetic-skin: a public synthetic lesion archive drawn from its own seed stream; the command refuses a
#      prior that shares an image with any hospital's train/validation/test set and writes FILE.source.json);
#   2. Fed-MAS, Fed-MAS weighing by samples (ablation) and the three baselines each run the conf's rounds.count rounds
#      (the same for every method: the same local optimiser steps), every round's global classifier is scored after the
#      run and the round is chosen on validation; the report applies the plateau rule (ε = PLATEAU_EPSILON, k = PLATEAU_ROUNDS)
#      to say whether and where each run's validation balanced accuracy stopped improving.
# Resumable: each (variant, seed) runs in runs/fedmas-<experiment>/<variant>-seed<N>/; a finished one (final-global.weights)
# is skipped, an interrupted one is continued with `run --resume`, an encoder with its .source.json is reused.
# Then `fedactors report` over every finished run writes docs/results/fedmas.md. Run after the build:
#   bash cluster-config/experiments/fedmas.sh      (SEEDS="1 2 3", EXPERIMENTS="synthetic isic" by default)
# REPORT_ONLY=1 regenerates the document from the run directories without running anything;
# AUXILIARY_EPOCHS (default 10), PRIOR_SOURCE (default synthetic-skin), PRIOR_IMAGES (default 2000).
set -euo pipefail
cd "$(dirname "$0")/../.."
fedactors=(dotnet Host/bin/Release/net10.0/fedactors.dll)
here=cluster-config/experiments
# shellcheck source=resumable.sh
source "$here/resumable.sh"
prior=${PRIOR_SOURCE:-synthetic-skin}
variants=(
  "method=fedmas"
  "method=fedmas fedmas.aggregation=samples"   # ablation: Fed-MAS's local loss with FedAvg's weights
  "method=fedavg-ce"
  "method=fedavg-bsm"
  "method=fedprox-ce"
)
tag() { echo "$1" | sed 's/method=//; s/fedmas.aggregation=/aggregation-/; s/ /-/g'; }
if [ -z "${REPORT_ONLY:-}" ]; then
  mkdir -p runs/fedmas-auxiliary
  for experiment in ${EXPERIMENTS:-synthetic isic}; do
    for seed in ${SEEDS:-1 2 3}; do
      encoder="runs/fedmas-auxiliary/$experiment-$(basename "$prior")-seed$seed.weights"
      if [ ! -f "$encoder.source.json" ]; then
        "${fedactors[@]}" auxiliary "$here/fedmas-$experiment.conf" --set "seed=$seed" --out "$encoder" \
          --epochs "${AUXILIARY_EPOCHS:-10}" --source "$prior" --source-images "${PRIOR_IMAGES:-2000}" | tee "$encoder.log"
      fi
      hash=$(sed -n 's/.*"content_hash": "\([0-9A-Fa-f]*\)".*/\1/p' "$encoder.source.json")
      for variant in "${variants[@]}"; do
        args=(--set "seed=$seed" --set "fedmas.auxiliary=\"$PWD/$encoder\"" --set "fedmas.auxiliary-hash=$hash")
        for kv in $variant; do args+=(--set "$kv"); done
        run_once "runs/fedmas-$experiment/$(tag "$variant")-seed$seed" "$here/fedmas-$experiment.conf" "${args[@]}"
      done
    done
  done
fi
plateau=(--plateau-epsilon "${PLATEAU_EPSILON:-0.01}" --plateau-rounds "${PLATEAU_ROUNDS:-10}")
out=docs/results/fedmas.md
real=docs/results/fedmas-isic.md
synthetic_runs=$(ls -d runs/fedmas-synthetic/*-seed*/*/ 2>/dev/null || true)
isic_runs=$(ls -d runs/fedmas-isic/*-seed*/*/ 2>/dev/null || true)
if [ -z "$synthetic_runs" ]; then
  # Nothing has started yet: the page says so, with the protocol, rather than keep figures of another protocol.
  { echo "# Fed-MAS: aggregation by self-supervised priors on imbalanced sites"; echo
    echo "No run of this protocol has started yet (\`bash cluster-config/experiments/fedmas.sh\` runs them)."; echo
    cat "$here/fedmas.notes.md"; } > "$out"
  echo "no synthetic run yet: wrote $out without figures"; exit 0
fi
# shellcheck disable=SC2086
"${fedactors[@]}" report $synthetic_runs --out "$out" --metric balanced_accuracy "${plateau[@]}" \
  --title "Fed-MAS: aggregation by self-supervised priors on imbalanced sites" --notes "$here/fedmas.notes.md"
if [ -n "$isic_runs" ]; then
  # shellcheck disable=SC2086
  "${fedactors[@]}" report $isic_runs --out "$real" --metric balanced_accuracy "${plateau[@]}" --title "Real dermoscopy: ISIC 2018 melanoma, 6 hospitals"
  # The real-data report joins the document as its own section, one heading level down.
  { echo; sed 's/^#/##/' "$real"; } >> "$out"
  rm -f "$real"
fi
