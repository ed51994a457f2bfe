#!/usr/bin/env bash
# Trains the fast model (models/ner-fast.bundle) by knowledge distillation from the default model.
#   scripts/train-fast.sh [OUTPUT_DIR] [TEACHER]     (defaults runs/fast and models/ner-default.bundle)
# The student: a BiLSTM of 64 per direction (the default model has 200) over the teacher's own word vectors
# (frozen), a character CNN and a casing embedding. Its loss: half cross-entropy to the gold tags, half
# T² · KL(teacher ‖ student) with both softmaxes at temperature 2, the teacher's distributions computed on exactly
# the sentences the student sees each epoch: the training data, the documents as running text cut by the service's
# sentence splitter, and half of them re-cased each epoch (lower, upper or title), as the default model is trained.
# Stage 1: Adam 0.002 decaying, batches of 16, up to 30 epochs, patience 6. Stage 2: from stage 1's best,
# weight averaging at a constant Adam 0.0005 for up to 10 epochs, patience 3. Each stage keeps the epoch with the
# best mean validation F1 over the four casings; logs and learning curves go beside the bundles.
# Copy the stage 2 bundle and its logs to models/ (scripts/train-fast.sh prints the commands).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/fast}
teacher=${2:-models/ner-default.bundle}
data=${NERSERVICE_DATA:-../shared/data/conll2003}
dotnet build src/NerService.Training -c Release -o "$out/bin" >/dev/null
cli="dotnet $out/bin/NerService.Training.dll"
common=(--train "$data/train.txt" --valid "$data/valid.txt" --teacher "$teacher" --distillation-weight 0.5 --temperature 2
  --add-running-text --casing-augmentation 0.5 --name conll2003-fast --threads 1 --resume)
# One libtorch thread: on 2 cores, two threads spend their time waiting for each other while anything else runs.
$cli train "${common[@]}" --cell Lstm --hidden 64 --dropout 0.3 --learning-rate 0.002 \
  --epochs 30 --patience 6 --output "$out/stage1/ner-fast.bundle"
$cli train "${common[@]}" --init-from "$out/stage1/ner-fast.bundle" --average-weights --learning-rate 0.0005 \
  --learning-rate-decay 0 --epochs 10 --patience 3 --output "$out/stage2/ner-fast.bundle"
for casing in original lower upper title; do
  echo "valid.txt, $casing:"
  $cli evaluate --model "$out/stage2/ner-fast.bundle" --data "$data/valid.txt" --casing "$casing" | tail -n 2
done
echo "cp $out/stage2/ner-fast.bundle $out/stage2/ner-fast.training.jsonl $out/stage2/ner-fast.learning-curve.png models/"
echo "cp $out/stage1/ner-fast.training.jsonl models/ner-fast.stage1.training.jsonl; cp $out/stage1/ner-fast.learning-curve.png models/ner-fast.stage1.learning-curve.png"
