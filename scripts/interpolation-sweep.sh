#!/usr/bin/env bash
# The sweep behind the default model's interpolation weight (README, "The default model"): for each weight w, the
# bundle (1 - w) · FROM + w · TO, scored on valid.txt at every casing with the service's document consistency.
#   scripts/interpolation-sweep.sh FROM TO [OUTPUT_DIR]
# FROM, TO: the stage 3 and stage 5 bundles of scripts/train-default.sh (runs/default/stage3/ner-default.bundle and
# runs/default/stage5/ner-default.bundle). About a minute per weight on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
from=${1:?the bundle at weight 0 (stage 3)}
to=${2:?the bundle at weight 1 (stage 5)}
out=${3:-runs/interpolation}
data=${NERSERVICE_DATA:-../shared/data/conll2003}
mkdir -p "$out"
dotnet build src/NerService.Training -c Release -o "$out/bin" >/dev/null
cli="dotnet $out/bin/NerService.Training.dll"
echo "| w | original | lower | upper | title |"
echo "|---|---:|---:|---:|---:|"
for w in 0.5 0.6 0.7 0.75 0.8 0.82 0.85 0.9 1; do
  $cli interpolate --from "$from" --to "$to" --weight "$w" --valid "$data/valid.txt" --output "$out/w$w.bundle" >/dev/null
  row="| $w |"
  for casing in original lower upper title; do
    f1=$($cli evaluate --model "$out/w$w.bundle" --data "$data/valid.txt" --casing "$casing" --consistency 0.9 | awk '/^overall/ {print $6}')
    row="$row $f1 |"
  done
  echo "$row"
done
