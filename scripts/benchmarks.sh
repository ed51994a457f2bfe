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
# The compiler servers the build leaves behind would share the CPU with the first measurements.
dotnet build-server shutdown >/dev/null
bench="dotnet benchmarks/NerService.Benchmarks/bin/Release/net10.0/NerService.Benchmarks.dll"

# The tagger alone: one worker per core, one libtorch thread each (the service's default); then one worker with
# libtorch's threads inside each pass instead, the configuration before inference threads.
$bench model --data "$data" | tee "$out/model.txt"
$bench model --data "$data" --workers 1 --threads 2 | tee "$out/model-1-worker-2-threads.txt"
# Running text as the service sees it, against the data set's own tokens.
$bench fidelity --data "$data" | tee "$out/fidelity.txt"
# POST /ner under load, dynamic batching against batch size 1: the defaults, then one inference thread with two
# libtorch threads.
$bench service --data "$data" --output "$out/service.md" | tee "$out/service.txt"
$bench service --data "$data" --inference-threads 1 --torch-threads 2 --output "$out/service-1-inference-thread.md" | tee "$out/service-1-inference-thread.txt"
# What storing costs.
scripts/postgres.sh start >/dev/null
$bench storage --data "$data" --postgres "$(scripts/postgres.sh url)" --output "$out/storage.md" | tee "$out/storage.txt"
