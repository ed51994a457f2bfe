#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian 12 machine: installs what the tests need
# (scripts/prerequisites.sh), starts a throwaway PostgreSQL, then runs `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh
scripts/postgres.sh start
export NERSERVICE_TEST_POSTGRES="$(scripts/postgres.sh url)"

dotnet test NerService.sln -c Release --logger "console;verbosity=normal" "$@"
