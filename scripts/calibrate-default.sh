#!/usr/bin/env bash
# Calibrates a bundle's entity probabilities on valid.txt, in place, then measures them and draws the diagram.
#   scripts/calibrate-default.sh [BUNDLE] [DIAGRAM]   (defaults: models/ner-default.bundle, docs/reliability-default.png)
# `calibrate` fits one temperature (least Brier score of the decoded entities' probabilities on valid.txt) and
# writes it into the bundle's manifest; decoding, and so F1, do not change. `evaluate` then prints F1, the
# calibration figures (ECE over equal-mass bins, Brier, NLL, precision at minScore 0.5/0.8/0.9/0.95; the
# served probabilities beside uncalibrated ones and the old geometric-mean scores) and writes the diagram.
# Rerun it whenever the bundle is retrained: a bundle fresh from `train` has no temperature (1).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-models/ner-default.bundle}
diagram=${2:-docs/reliability-default.png}
data=${NERSERVICE_DATA:-../shared/data/conll2003}
bin=.cache/calibrate-bin
dotnet build src/NerService.Training -c Release -o "$bin" >/dev/null
cli="dotnet $bin/NerService.Training.dll"
$cli calibrate --model "$bundle" --data "$data/valid.txt" --output "$bundle"
echo
$cli evaluate --model "$bundle" --data "$data/valid.txt" --reliability-diagram "$diagram"
