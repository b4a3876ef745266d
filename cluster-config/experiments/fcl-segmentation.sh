#!/usr/bin/env bash
# The FCL segmentation experiments: every variant below for each seed on the synthetic cardiac
# volumes (fcl-synthetic.conf) and on the real left-atrium MRI (fcl-la2018.conf), one
# `fedactors run` each, into runs/fcl-synthetic/ and runs/fcl-la2018/; then `fedactors report`
# over every finished run writes docs/results/fcl-segmentation.md (Dice tables, MB per round,
# findings and the paper's numbers from fcl-segmentation.notes.md). Run after the build:
#   bash cluster-config/experiments/fcl-segmentation.sh      (SEEDS="1 2 3" by default)
# REPORT_ONLY=1 regenerates the document from the run directories without running anything;
# EXPERIMENTS="synthetic" or "la2018" runs one of the two.
set -euo pipefail
cd "$(dirname "$0")/../.."
fedactors=(dotnet Host/bin/Release/net10.0/fedactors.dll)
here=cluster-config/experiments
variants=(
  "method=none"
  "method=local-cl"
  "method=fedsimclr"
  "method=fcl"
  "method=fclopt"
  "method=fclopt fclopt.ptnu=on fclopt.dp=on"
)
if [ -z "${REPORT_ONLY:-}" ]; then
  for experiment in ${EXPERIMENTS:-synthetic la2018}; do
    for seed in ${SEEDS:-1 2 3}; do
      for variant in "${variants[@]}"; do
        args=(--set "seed=$seed")
        for kv in $variant; do args+=(--set "$kv"); done
        "${fedactors[@]}" run "$here/fcl-$experiment.conf" "${args[@]}"
      done
    done
  done
fi
out=docs/results/fcl-segmentation.md
real=docs/results/fcl-segmentation-la2018.md   # its plot, the .png beside it, stays
"${fedactors[@]}" report runs/fcl-synthetic/* --out "$out" --metric dice \
  --title "FCL and its low-bandwidth variant: segmentation after federated pre-training" --notes "$here/fcl-segmentation.notes.md"
"${fedactors[@]}" report runs/fcl-la2018/* --out "$real" --metric dice --title "Real cardiac MRI: LA 2018, 6 hospitals"
# The real-data report joins the document as its own section, one heading level down.
{ echo; sed 's/^#/##/' "$real"; } >> "$out"
rm -f "$real"
