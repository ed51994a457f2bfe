#!/usr/bin/env bash
# Trains the default model (models/ner-default.bundle) from CoNLL-2003 train.txt, early-stopped on valid.txt.
#   scripts/train-default.sh [OUTPUT_DIR]      (default runs/default; about four hours on 2 cores)
# Stage 1: BiLSTM + char CNN + casing over frozen GloVe vectors, Adam 0.0015, batches of 16, up to 40 epochs,
# patience 6. Stage 2: from stage 1's best epoch, the word vectors are fine-tuned too, Adam 0.0003, up to 14 epochs,
# patience 3. Stage 3: from stage 2's best, stochastic weight averaging (Adam at a constant 0.001; the running mean
# of each epoch's weights is what is validated and kept), training also on the documents as running text cut by
# the service's own sentence splitter; up to 24 epochs, patience 6. Each stage keeps its best validation epoch;
# Stage 4: from stage 3's best, casing robustness: half the sentences re-cased each epoch (lower, upper or title),
# running text cut at every casing, Adam 0.001 decayed by 1/(1 + 0.1 e), up to 10 epochs, patience 3. Stage 5: from
# stage 4's best, weight averaging with the same data at a constant Adam 0.001, up to 6 epochs. Stage 6: from stage
# 5's best, 3 more weight-averaged epochs with fewer sentences re-cased (0.3) at Adam 0.0005. Stages 4 to 6 keep the
# epoch with the best mean validation F1 over the four casings. Each stage keeps its best validation epoch;
# logs (JSON lines), learning curves (PNG) and checkpoints go beside the bundles. Last, the weights 0.2 · stage 3
# + 0.8 · stage 6, whose entity probabilities are calibrated on valid.txt (one temperature; decoding unchanged)
# into $OUTPUT_DIR/ner-default.bundle: copy that to models/ner-default.bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/default}
data=${NERSERVICE_DATA:-../shared/data/conll2003}
embeddings=$(scripts/fetch-embeddings.sh)
dotnet build src/NerService.Training -c Release -o "$out/bin" >/dev/null
cli="dotnet $out/bin/NerService.Training.dll"
# One libtorch thread: on 2 cores, two threads spend their time waiting for each other while anything else runs.
$cli train --train "$data/train.txt" --valid "$data/valid.txt" --embeddings "$embeddings" \
  --output "$out/stage1/ner-default.bundle" --epochs 40 --patience 6 --learning-rate 0.0015 --threads 1 --resume
$cli train --train "$data/train.txt" --valid "$data/valid.txt" --init-from "$out/stage1/ner-default.bundle" \
  --fine-tune-embeddings --output "$out/stage2/ner-default.bundle" --epochs 14 --patience 3 --learning-rate 0.0003 --threads 1 --resume
$cli train --train "$data/train.txt" --valid "$data/valid.txt" --init-from "$out/stage2/ner-default.bundle" \
  --fine-tune-embeddings --add-running-text --average-weights --output "$out/stage3/ner-default.bundle" \
  --epochs 24 --patience 6 --learning-rate 0.001 --learning-rate-decay 0 --threads 1 --resume
$cli train --train "$data/train.txt" --valid "$data/valid.txt" --init-from "$out/stage3/ner-default.bundle" \
  --fine-tune-embeddings --add-running-text --casing-augmentation 0.5 --output "$out/stage4/ner-default.bundle" \
  --epochs 10 --patience 3 --learning-rate 0.001 --learning-rate-decay 0.1 --threads 1 --resume
$cli train --train "$data/train.txt" --valid "$data/valid.txt" --init-from "$out/stage4/ner-default.bundle" \
  --fine-tune-embeddings --add-running-text --casing-augmentation 0.5 --average-weights --output "$out/stage5/ner-default.bundle" \
  --epochs 6 --patience 6 --learning-rate 0.001 --learning-rate-decay 0 --threads 1 --resume
$cli train --train "$data/train.txt" --valid "$data/valid.txt" --init-from "$out/stage5/ner-default.bundle" \
  --fine-tune-embeddings --add-running-text --casing-augmentation 0.3 --average-weights --output "$out/stage6/ner-default.bundle" \
  --epochs 3 --patience 3 --learning-rate 0.0005 --learning-rate-decay 0 --threads 1 --resume
# Weight-space ensembling: 0.2 of the cased-only stage 3 network and 0.8 of the casing-robust stage 6 one, the
# weight with the best cased F1 that keeps every other casing at its goal (README has the sweep).
$cli interpolate --from "$out/stage3/ner-default.bundle" --to "$out/stage6/ner-default.bundle" --weight 0.8 \
  --model-version 1.2.0 --valid "$data/valid.txt" --output "$out/stage6/ner-default.interpolated.bundle"
$cli calibrate --model "$out/stage6/ner-default.interpolated.bundle" --data "$data/valid.txt" --output "$out/ner-default.bundle"
$cli evaluate --model "$out/ner-default.bundle" --data "$data/valid.txt" --reliability-diagram "$out/ner-default.reliability.png"
for casing in lower upper title; do
  $cli evaluate --model "$out/ner-default.bundle" --data "$data/valid.txt" --casing "$casing"
done
