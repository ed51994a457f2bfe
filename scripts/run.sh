#!/usr/bin/env bash
# The main command: runs NerService on http://localhost:8080 with the default model, on a fresh Debian 12
# machine with the .NET 10 SDK.
#   1. installs what is missing (scripts/prerequisites.sh: PostgreSQL and friends);
#   2. when ConnectionStrings__Postgres is not set, starts the local throwaway PostgreSQL (scripts/postgres.sh,
#      data under .cache/postgres) and uses it;
#   3. applies the database migrations (the explicit `migrate` step; the service itself never changes the schema
#      unless Database__MigrateOnStartup=true);
#   4. builds and starts the service, and prints the page's and Swagger UI's addresses once it answers.
# Settings come from the environment as usual (Ner__BundlePath, Ner__ApiKeys__0__Key, ...); NERSERVICE_URL changes
# the address (default http://localhost:8080); further arguments go to the service. Ctrl+C stops the service
# (it finishes queued work first); the local PostgreSQL keeps running (scripts/postgres.sh stop).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

url="${NERSERVICE_URL:-http://localhost:8080}"
url="${url%/}"
export Ner__BundlePath="${Ner__BundlePath:-$root/models/ner-default.bundle}"
if [ ! -e "$Ner__BundlePath" ]; then
  echo "No model bundle at $Ner__BundlePath." >&2
  echo "Train one (see README, 'dotnet run --project src/NerService.Training -- train ...') or set Ner__BundlePath." >&2
  exit 1
fi
# The fast model is served beside the default one ("model": "fast") wherever its bundle is there.
fast_bundle="${Ner__Models__fast__BundlePath:-$root/models/ner-fast.bundle}"
if [ -e "$fast_bundle" ]; then
  export Ner__Models__fast__BundlePath="$fast_bundle"
  # Its pass costs about what its request costs the rest of the service: one inference thread on batches of up to
  # 16 sentences tags one batch while the request threads answer the last, and leaves a core to the default model
  # and the request threads (README, "Speed", has the trade-off against a thread per core).
  export Ner__Models__fast__InferenceThreads="${Ner__Models__fast__InferenceThreads:-1}"
  export Ner__Models__fast__MaxBatchSentences="${Ner__Models__fast__MaxBatchSentences:-16}"
fi

scripts/prerequisites.sh

if [ -z "${ConnectionStrings__Postgres:-}" ]; then
  scripts/postgres.sh start
  ConnectionStrings__Postgres="$(scripts/postgres.sh url)"
  export ConnectionStrings__Postgres
fi

echo "Building NerService (Release)..." >&2
dotnet build src/NerService.Api -c Release -nologo -v quiet -clp:ErrorsOnly
service=(dotnet "$root/src/NerService.Api/bin/Release/net10.0/NerService.Api.dll")
# The project folder is the content root: appsettings.json and the page (wwwroot) are found there.
cd "$root/src/NerService.Api"

"${service[@]}" migrate

"${service[@]}" --urls "$url" "$@" &
pid=$!
# Signals go to the service, which drains its queue before exiting; this script then exits with its status.
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM

for _ in $(seq 1 240); do
  kill -0 "$pid" 2>/dev/null || break
  if curl -fsS -o /dev/null "$url/health/live" 2>/dev/null; then
    cat >&2 <<EOF

NerService is running (model: $Ner__BundlePath${Ner__Models__fast__BundlePath:+; fast: $Ner__Models__fast__BundlePath}).
  Page:       $url/
  Swagger UI: $url/swagger
  Readiness:  $url/health/ready
Press Ctrl+C to stop.

EOF
    break
  fi
  sleep 0.5
done

status=0
wait "$pid" || status=$?
# A signal interrupts the first wait; wait again for the service to finish its queued work.
if kill -0 "$pid" 2>/dev/null; then
  status=0
  wait "$pid" || status=$?
fi
exit "$status"
