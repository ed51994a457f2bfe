#!/usr/bin/env bash
# Runs every benchmark behind the figures in README.md, docs/benchmarks.md and docs/model.md, on a quiet machine,
# and keeps each command's output under OUTPUT_DIR (default runs/benchmarks). About 18 minutes.
#   scripts/benchmarks.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/benchmarks}
data=${NERSERVICE_DATA:-../shared/data/conll2003}/valid.txt
mkdir -p "$out"
dotnet build benchmarks/NerService.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly
# The compiler servers the build leaves behind would share the CPU with the first measurements.
dotnet build-server shutdown >/dev/null
bench="dotnet benchmarks/NerService.Benchmarks/bin/Release/net10.0/NerService.Benchmarks.dll"
models=(--bundle models/ner-default.bundle --bundle models/ner-fast.bundle)

# The tagger alone, the service's set-up: one worker per core, one libtorch thread each.
$bench model --data "$data" | tee "$out/model.txt"
# Both models side by side, one worker, each also with libtorch's own LSTM instead of the C# CPU tagger.
$bench model --data "$data" "${models[@]}" --libtorch-lstm --workers 1 --threads 1 --memory-sentences 20000 | tee "$out/models.txt"
# Where a pass's time goes, in the tagging thread's CPU time.
$bench profile --data "$data" "${models[@]}" --libtorch-lstm | tee "$out/profile.txt"
# Running text as the service sees it, against the data set's own tokens.
$bench fidelity --data "$data" | tee "$out/fidelity.txt"
# POST /ner under load, dynamic batching against batch size 1; then the fast model asked for by name.
$bench service --data "$data" --output "$out/service.md" | tee "$out/service.txt"
# The fast model as scripts/run.sh and the image serve it (one inference thread, batches of at most 16 sentences),
# against one worker in process; then with the default set-up (one thread per core, batches of up to 64).
fast=(--bundle models/ner-fast.bundle --model fast)
served_fast=(--inference-threads 1 --max-batch-sentences 16)
$bench service --data "$data" "${fast[@]}" "${served_fast[@]}" --output "$out/service-fast.md" | tee "$out/service-fast.txt"
$bench service --data "$data" "${fast[@]}" --output "$out/service-fast-per-core.md" | tee "$out/service-fast-per-core.txt"
# The same with whole documents per request, as a user tagging an archive sends them.
$bench service --data "$data" "${fast[@]}" "${served_fast[@]}" --documents --output "$out/service-fast-documents.md" | tee "$out/service-fast-documents.txt"
# What storing costs.
scripts/postgres.sh start >/dev/null
$bench storage --data "$data" --postgres "$(scripts/postgres.sh url)" --output "$out/storage.md" | tee "$out/storage.txt"
