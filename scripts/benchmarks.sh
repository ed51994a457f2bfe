#!/usr/bin/env bash
# Runs every benchmark behind the figures in README.md and docs/benchmarks.md, on a quiet machine, and keeps
# each command's output under OUTPUT_DIR (default runs/benchmarks).
#   scripts/benchmarks.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/benchmarks}
data=${NERSERVICE_DATA:-../shared/data/conll2003}/valid.txt
mkdir -p "$out"
dotnet build benchmarks/NerService.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly
bench="dotnet benchmarks/NerService.Benchmarks/bin/Release/net10.0/NerService.Benchmarks.dll"

# The tagger alone: libtorch's default threads (one per core), then one thread.
$bench model --data "$data" | tee "$out/model.txt"
$bench model --data "$data" --threads 1 | tee "$out/model-1-thread.txt"
# Running text as the service sees it, against the data set's own tokens.
$bench fidelity --data "$data" | tee "$out/fidelity.txt"
# POST /ner under load, dynamic batching against batch size 1.
$bench service --data "$data" --torch-threads 1 --output "$out/service-1-thread.md" | tee "$out/service-1-thread.txt"
$bench service --data "$data" --output "$out/service.md" | tee "$out/service.txt"
# What storing costs.
scripts/postgres.sh start >/dev/null
$bench storage --data "$data" --torch-threads 1 --postgres "$(scripts/postgres.sh url)" --output "$out/storage.md" | tee "$out/storage.txt"
