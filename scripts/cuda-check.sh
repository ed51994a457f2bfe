#!/usr/bin/env bash
# Runs on a CUDA machine: loads the default bundle on `cuda` through that machine's PyTorch libraries, tags a fixed
# set of sentences, checks that labels equal the CPU output and scores agree within 1e-4, and times both.
#
# Usage: scripts/cuda-check.sh [CONLL_FILE] [PYTHON]
# Needs a .NET 10 runtime (`dotnet`; a runtime tarball unpacked anywhere works: put it first on PATH) and
# PyTorch with CUDA in PYTHON (default python3). Build the benchmark here first
# (dotnet publish benchmarks/NerService.Benchmarks -c Release -o artifacts/benchmarks) when the CUDA machine has
# no SDK, and carry artifacts/benchmarks with the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/conll2003/valid.txt}
python=${2:-python3}
libtorch=$("$python" -c 'import os, torch; assert torch.cuda.is_available(), "no CUDA"; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$libtorch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ ! -f artifacts/benchmarks/NerService.Benchmarks.dll ]; then
  dotnet publish benchmarks/NerService.Benchmarks -c Release -o artifacts/benchmarks >/dev/null
fi
exec dotnet artifacts/benchmarks/NerService.Benchmarks.dll cuda --bundle models/ner-default.bundle --data "$data" --libtorch "$libtorch"
