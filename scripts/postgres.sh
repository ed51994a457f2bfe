#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the tests and local runs: data under .cache/postgres (gitignored), listening
# on 127.0.0.1 only, port 55432 (not the default, so it never collides with a system server), trust
# authentication on loopback, a database named `ner`. Durability is traded for speed (fsync off): this
# server holds nothing that cannot be recreated.
#   scripts/postgres.sh start   start it (initialising the data directory the first time); no-op if running
#   scripts/postgres.sh stop    stop it; no-op if stopped
#   scripts/postgres.sh url     print the Npgsql connection string
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${POSTGRES_BIN:-/usr/lib/postgresql/15/bin}"
port="${NERSERVICE_POSTGRES_PORT:-55432}"
dir="$root/.cache/postgres"
data="$dir/data"
url="Host=127.0.0.1;Port=$port;Username=postgres;Database=ner"

# initdb and postgres refuse to run as root.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

start() {
  [ -x "$bin/postgres" ] || { echo "PostgreSQL 15 not found in $bin: run scripts/prerequisites.sh" >&2; exit 1; }
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  if [ ! -s "$data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  fi
  if ! running; then
    # No Unix socket (-k ''): only TCP on loopback, and no socket path length limits.
    as_postgres "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 -o \
      "-h 127.0.0.1 -p $port -k '' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null
  fi
  if [ -z "$(psql_ -tAc "SELECT 1 FROM pg_database WHERE datname = 'ner'")" ]; then
    psql_ -qc "CREATE DATABASE ner"
  fi
  echo "PostgreSQL is running: $url" >&2
}

psql_() { "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

stop() {
  if [ -s "$data/PG_VERSION" ] && running; then
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$url" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
