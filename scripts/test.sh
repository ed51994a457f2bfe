#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian 12 machine: installs what the tests need
# (scripts/prerequisites.sh: PostgreSQL, nginx, Chromium), starts a throwaway PostgreSQL, then runs `dotnet test`.
# Ends with one line "N passed, N failed" over all test projects, and exits non-zero when any test failed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh
scripts/postgres.sh start
export NERSERVICE_TEST_POSTGRES="$(scripts/postgres.sh url)"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test NerService.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?
passed=$(awk '/^ +Passed: +[0-9]+$/ {n += $2} END {print n + 0}' "$log")
failed=$(awk '/^ +Failed: +[0-9]+$/ {n += $2} END {print n + 0}' "$log")
echo "$passed passed, $failed failed"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "no test ran" >&2
  status=1
fi
exit "$status"
