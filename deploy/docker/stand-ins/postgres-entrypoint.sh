#!/bin/bash
# The stand-in postgres image's entrypoint: what the official image's docker-entrypoint.sh does that this
# project relies on. On the first start (empty PGDATA) it creates the cluster with POSTGRES_USER (default
# postgres) as superuser with POSTGRES_PASSWORD, password authentication (scram-sha-256) for every network
# client, and the database POSTGRES_DB (default: the user's name) unless that is `postgres`. Then it runs
# the server as the postgres user.
set -euo pipefail

if [ "${1:-}" != postgres ]; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  database="${POSTGRES_DB:-$user}"
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "Database is uninitialized and POSTGRES_PASSWORD is not set: set it (this stand-in has no trust mode)." >&2
    exit 1
  fi
  initdb -D "$PGDATA" --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  {
    echo "local all all trust"
    echo "host all all 127.0.0.1/32 trust"
    echo "host all all ::1/128 trust"
    echo "host all all all scram-sha-256"
  } > "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  if [ "$database" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql -v ON_ERROR_STOP=1 -q --username="$user" --dbname=postgres --set=database="$database" \
      <<< 'CREATE DATABASE :"database";'
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
