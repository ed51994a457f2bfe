#!/usr/bin/env bash
# Ablations on the validation split: the default recipe against one change at a time, each trained for the same
# (small) number of epochs with the same seed, and the table printed in markdown.
#   scripts/ablations.sh [EPOCHS] [OUTPUT_DIR]
# Greedy-versus-constrained decoding needs no extra run: every epoch of the baseline is scored both ways.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-5}
out=${2:-runs/ablations}
data=${NERSERVICE_DATA:-../shared/data/conll2003}
embeddings=$(scripts/fetch-embeddings.sh)
dotnet build src/NerService.Training -c Release -o "$out/bin" >/dev/null
train() {
  local name=$1; shift
  [ -f "$out/$name/model.training.jsonl" ] && [ "$(wc -l < "$out/$name/model.training.jsonl")" -ge "$epochs" ] && return
  dotnet "$out/bin/NerService.Training.dll" train --train "$data/train.txt" --valid "$data/valid.txt" \
    --output "$out/$name/model.bundle" --epochs "$epochs" --patience "$epochs" --threads 1 --learning-rate 0.0015 "$@" \
    > "$out/$name.log" 2>&1
}
train baseline --embeddings "$embeddings"
train no-chars --embeddings "$embeddings" --no-chars
train no-pretrained
train gru --embeddings "$embeddings" --cell Gru
f1() { python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print('%.2f' % (100*r[sys.argv[2]]))" "$out/$1/model.training.jsonl" "$2"; }
echo "| variant ($epochs epochs, seed 1) | validation F1 |"
echo "|---|---|"
echo "| BiLSTM + char CNN + casing + GloVe, constrained decoding | $(f1 baseline f1Constrained) |"
echo "| without character features | $(f1 no-chars f1Constrained) |"
echo "| without pretrained vectors | $(f1 no-pretrained f1Constrained) |"
echo "| GRU instead of LSTM | $(f1 gru f1Constrained) |"
echo "| greedy instead of constrained decoding | $(f1 baseline f1Greedy) |"
