#!/usr/bin/env bash
# Builds the images and runs the compose deployment (docker-compose.yml: PostgreSQL, the migration, two API
# replicas, the nginx gateway) on a loopback port, then checks it from outside, through the gateway:
# tagging, storing and reading back, the API key, the gateway's body limit, /metrics hidden in every spelling,
# non-root users and read-only roots, a replica killed under load (no failed request), a replica stopped
# with SIGTERM mid-request (its work finishes) and both restarted. Removes the deployment (down -v) at the
# end, also when a check fails, and stops dockerd when it started it.
#   scripts/test-containers.sh            build, start, check, remove
#   scripts/test-containers.sh --keep     leave it running (also when a check fails); prints `gateway: URL`
#                                          and `api-key: KEY`
#   scripts/test-containers.sh --down     remove a deployment left running by --keep (and the dockerd it started)
#   --cuda       also build deploy/docker/Dockerfile.cuda (stand-in bases, TORCH_BACKEND=cpu: see that file)
#   --official   the official base images (needs a registry) instead of the stand-ins
# Installs Docker, Compose and debootstrap from Debian when missing, starts dockerd when it is not running,
# builds the stand-in base images when missing (scripts/container-base-images.sh) and the API image (Docker's
# layer cache makes a rebuild after a code change quick). The gateway listens on 127.0.0.1:58080
# (NERSERVICE_GATEWAY_PORT). Prints `containers: N passed, N failed` last; exits 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
state="$root/.cache/containers"
project=nerservice-containers
port="${NERSERVICE_GATEWAY_PORT:-58080}"
gateway="http://127.0.0.1:$port"

keep=false down=false cuda=false official=false
for argument in "$@"; do
  case "$argument" in
    --keep) keep=true ;;
    --down) down=true ;;
    --cuda) cuda=true ;;
    --official) official=true ;;
    *) echo "usage: $0 [--keep] [--cuda] [--official] | --down" >&2; exit 2 ;;
  esac
done
mkdir -p "$state"

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAILED - $1"; }
summary() { echo "containers: $passed passed, $failed failed"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
seconds_since() { awk -v start="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - start }'; }

# ---- Docker ---------------------------------------------------------------------------------------------
install_missing() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || [ "$official" = true ] || missing+=(debootstrap)
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

start_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  echo "Starting dockerd (log: $state/dockerd.log)"
  as_root setsid dockerd >"$state/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 60); do
    if docker info >/dev/null 2>&1; then
      # The daemon's own pid file: what --down or the end of this run stops.
      cat /var/run/docker.pid >"$state/dockerd.pid"
      return 0
    fi
    sleep 1
  done
  echo "dockerd did not start; see $state/dockerd.log" >&2
  return 1
}

# Only the dockerd this script started (its pid file), and only after the deployment is gone.
stop_dockerd() {
  [ -s "$state/dockerd.pid" ] || return 0
  local pid
  pid="$(cat "$state/dockerd.pid")"
  rm -f "$state/dockerd.pid"
  as_root kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || { echo "Stopped dockerd"; return 0; }
    sleep 1
  done
  echo "dockerd ($pid) has not stopped after 30 s" >&2
}

# ---- the deployment -------------------------------------------------------------------------------------
# The variables docker-compose.yml reads: base images (stand-ins unless --official), the env file, the port.
use_settings() {
  if [ -s "$state/settings" ]; then
    # shellcheck disable=SC1091
    . "$state/settings"
  fi
  export NERSERVICE_ENV_FILE="$state/deploy.env" GATEWAY_PORT="127.0.0.1:$port"
  # Each replica's CPU limit: 2, or what dockerd has if less (Docker refuses a limit above it).
  local cpus
  cpus="$(docker info --format '{{.NCPU}}' 2>/dev/null || echo 2)"
  export API_CPUS="$(( cpus < 2 ? cpus : 2 ))"
}

compose() { docker-compose --project-name "$project" --file "$root/docker-compose.yml" "$@"; }

remove_deployment() {
  echo "Removing the deployment (down -v)"
  compose down --volumes --remove-orphans --timeout 40 >"$state/down.log" 2>&1 || cat "$state/down.log" >&2
}

if [ "$down" = true ]; then
  use_settings
  if docker info >/dev/null 2>&1 && [ -s "$state/deploy.env" ]; then
    remove_deployment
  fi
  rm -f "$state/deploy.env" "$state/settings"
  stop_dockerd
  exit 0
fi

finish() {
  local status=$?
  stop_load 2>/dev/null
  # --keep keeps it whatever the checks said: a failed one is what to look at.
  if [ "$keep" = true ] && [ -n "$api_key" ]; then
    echo "gateway: $gateway"
    echo "api-key: $api_key"
    echo "Remove it with: $0 --down"
  else
    remove_deployment
    rm -f "$state/deploy.env"
    stop_dockerd
  fi
  summary
  if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
  exit "$status"
}
api_key=""
trap finish EXIT
trap 'exit 130' INT TERM

install_missing
start_dockerd || { fail "dockerd runs"; exit 1; }
echo "dockerd $(docker info --format '{{.ServerVersion}}, {{.NCPU}} CPUs'), $(docker-compose version --short)"

if [ "$official" = true ]; then
  : >"$state/settings"
else
  stand_ins_start="$(date +%s.%N)"
  scripts/container-base-images.sh $([ "$cuda" = true ] && echo --cuda) || { fail "stand-in base images build"; exit 1; }
  echo "Stand-in base images ready in $(seconds_since "$stand_ins_start") s"
  scripts/container-base-images.sh --env >"$state/settings"
fi
use_settings

# The deployment's secrets: deploy/.env.example with every CHANGE value replaced by a random one.
random() { head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
password="$(random 24)"
api_key="$(random 32)"
# The checks read stored documents back, so the test's key is a reviewer (the template's first key only tags).
sed -e "s/CHANGE-me-to-a-long-random-string/$password/g" -e "s/CHANGE-me-first-client-key/$api_key/" \
  -e "s/^Ner__ApiKeys__0__Role=tagger\$/Ner__ApiKeys__0__Role=reviewer/" deploy/.env.example >"$state/deploy.env"
if grep -v '^#' "$state/deploy.env" | grep -q CHANGE; then
  fail "deploy/.env.example: every CHANGE value is replaced ($(grep -v '^#' "$state/deploy.env" | grep -c CHANGE) left)"
fi

# ---- images ---------------------------------------------------------------------------------------------
echo "Building the API image (log: $state/build-api.log)"
build_start="$(date +%s.%N)"
if nice -n 10 docker build --file deploy/docker/Dockerfile \
    ${SDK_IMAGE:+--build-arg SDK_IMAGE="$SDK_IMAGE"} ${ASPNET_IMAGE:+--build-arg ASPNET_IMAGE="$ASPNET_IMAGE"} \
    --tag nerservice-api:latest . >"$state/build-api.log" 2>&1; then
  pass "the API image builds ($(seconds_since "$build_start") s, $(docker image inspect -f '{{.Size}}' nerservice-api:latest | awk '{ printf "%.0f", $1 / 1e6 }') MB)"
else
  tail -n 30 "$state/build-api.log"
  fail "the API image builds"
  exit 1
fi
image_user="$(docker image inspect -f '{{.Config.User}}' nerservice-api:latest)"
if [[ "$image_user" =~ ^[1-9][0-9]*$ ]]; then pass "the API image's user is numeric and not root ($image_user)"; else fail "the API image's user is numeric and not root (it is '$image_user')"; fi

if [ "$cuda" = true ]; then
  echo "Building the CUDA image (log: $state/build-cuda.log)"
  build_start="$(date +%s.%N)"
  if nice -n 10 docker build --file deploy/docker/Dockerfile.cuda \
      --build-arg SDK_IMAGE="$SDK_IMAGE" --build-arg ASPNET_IMAGE="$ASPNET_IMAGE" --build-arg CUDA_IMAGE="$CUDA_IMAGE" \
      --build-arg CUDA_RUNTIME_PACKAGES="$CUDA_RUNTIME_PACKAGES" --build-arg TORCH_BACKEND=cpu \
      --tag nerservice-api:cuda-standin . >"$state/build-cuda.log" 2>&1; then
    pass "the CUDA Dockerfile builds on stand-ins with TORCH_BACKEND=cpu ($(seconds_since "$build_start") s, $(docker image inspect -f '{{.Size}}' nerservice-api:cuda-standin | awk '{ printf "%.0f", $1 / 1e6 }') MB)"
  else
    tail -n 30 "$state/build-cuda.log"
    fail "the CUDA Dockerfile builds on stand-ins"
  fi
fi

# ---- start ----------------------------------------------------------------------------------------------
compose down --volumes --remove-orphans >/dev/null 2>&1 # what an interrupted run left
echo "Starting the deployment on $gateway (log: $state/up.log)"
up_start="$(date +%s.%N)"
if ! compose up --detach --no-build >"$state/up.log" 2>&1; then
  cat "$state/up.log"
  compose logs --no-color --tail 30 >"$state/logs.txt" 2>&1
  tail -n 60 "$state/logs.txt"
  fail "compose up"
  exit 1
fi

curl_() { curl -sS --max-time 60 "$@"; }
tag_body='{"text":"John Smith visited Paris last week.","store":false}'
first_tagged=""
for _ in $(seq 300); do
  if [ "$(curl_ -o /dev/null -w '%{http_code}' -H "X-Api-Key: $api_key" -H 'Content-Type: application/json' -d "$tag_body" "$gateway/ner" 2>/dev/null)" = 200 ]; then
    first_tagged="$(seconds_since "$up_start")"
    break
  fi
  sleep 1
done
if [ -n "$first_tagged" ]; then
  pass "cold start: compose up to the first tagged request through the gateway in $first_tagged s"
else
  compose logs --no-color --tail 30
  fail "a tagged request through the gateway within 300 s of compose up"
  exit 1
fi

# ---- through the gateway --------------------------------------------------------------------------------
json() { python3 -c "import json, sys; data = json.load(sys.stdin); print($1)"; }

response="$(curl_ -H "X-Api-Key: $api_key" -H 'Content-Type: application/json' -d "$tag_body" "$gateway/ner")"
entities="$(json '" ".join(sorted(e["label"] + ":" + e["text"] for e in data["entities"]))' <<<"$response" 2>/dev/null)"
if [ "$entities" = "LOC:Paris PER:John Smith" ]; then pass "tagging: $entities"; else fail "tagging: expected 'LOC:Paris PER:John Smith', got '$entities' from $response"; fi

store_text="Angela Merkel met Emmanuel Macron in Berlin on $(date -u +%FT%T)."
stored="$(curl_ -H "X-Api-Key: $api_key" -H 'Content-Type: application/json' -d "{\"text\":\"$store_text\"}" "$gateway/ner")"
document_id="$(json 'data["id"]' <<<"$stored" 2>/dev/null)"
read_back="$(curl_ -H "X-Api-Key: $api_key" "$gateway/documents/$document_id" 2>/dev/null | json 'data["text"]' 2>/dev/null)"
if [ -n "$document_id" ] && [ "$read_back" = "$store_text" ]; then pass "a stored document reads back (id $document_id)"; else fail "store and read back: stored '$stored', read back '$read_back'"; fi

status="$(curl_ -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$tag_body" "$gateway/ner")"
if [ "$status" = 401 ]; then pass "no API key: 401"; else fail "no API key: expected 401, got $status"; fi

head -c 5000000 /dev/zero | tr '\0' 'a' | sed 's/^/{"text":"/; s/$/"}/' >"$state/oversized.json"
status="$(curl_ -o "$state/oversized.out" -w '%{http_code} %{content_type}' -H "X-Api-Key: $api_key" -H 'Content-Type: application/json' --data-binary @"$state/oversized.json" "$gateway/ner")"
if [ "$status" = "413 application/problem+json" ]; then pass "a 5 MB body: 413 problem details from the gateway"; else fail "a 5 MB body: expected 413 application/problem+json, got $status"; fi
rm -f "$state/oversized.json" "$state/oversized.out"

# Npgsql 10 tries GSS encryption unless told not to, and the .NET images have no Kerberos library.
if compose logs --no-color migrate api 2>&1 | grep -q libgssapi; then fail "no 'Cannot load library libgssapi_krb5' in the API's logs"; else pass "no 'Cannot load library libgssapi_krb5' in the API's logs"; fi

# Prometheus' text format starts its series with # HELP / # TYPE; no spelling of the path may reach it.
for path in /metrics /Metrics /METRICS /metrics/ '/metrics?x=1' /%6Detrics /%6d%65%74%72%69%63%73 \
    //metrics /./metrics /x/../metrics '/%2Fmetrics' '/metrics%2F' '/metrics;x' '/metrics%00' /Metrics/; do
  status="$(curl_ --path-as-is -o "$state/metrics.out" -w '%{http_code}' -H "X-Api-Key: $api_key" "$gateway$path")"
  if [ "$status" != 200 ] && ! grep -q '^# \(HELP\|TYPE\)' "$state/metrics.out"; then
    pass "GET $path through the gateway: $status, no metrics"
  else
    fail "GET $path through the gateway reaches the metrics ($status)"
  fi
done
rm -f "$state/metrics.out"

# ---- the containers -------------------------------------------------------------------------------------
replicas=($(compose ps -q api))
gateway_id="$(compose ps -q gateway)"
postgres_id="$(compose ps -q postgres)"
migrate_id="$(compose ps -q migrate)"
name_of() { docker inspect -f '{{.Name}}' "$1" | tr -d /; }
ip_of() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
if [ "${#replicas[@]}" = 2 ]; then pass "two API replicas"; else fail "two API replicas (found ${#replicas[@]})"; fi

migrate_status="$(docker inspect -f '{{.State.ExitCode}}' "$migrate_id")"
if [ "$migrate_status" = 0 ]; then pass "migrate exited 0"; else fail "migrate exited $migrate_status"; fi

for id in "${replicas[@]}" "$gateway_id" "$postgres_id"; do
  uid="$(docker exec "$id" sh -c 'awk "/^Uid:/ { print \$2 }" /proc/1/status' 2>/dev/null)"
  if [[ "$uid" =~ ^[1-9][0-9]*$ ]]; then pass "$(name_of "$id") runs as UID $uid"; else fail "$(name_of "$id") runs as a non-root user (UID '$uid')"; fi
done
for id in "${replicas[@]}" "$gateway_id" "$postgres_id" "$migrate_id"; do
  if [ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")" = true ]; then pass "$(name_of "$id") has a read-only root"; else fail "$(name_of "$id") has a read-only root"; fi
done
for id in "${replicas[0]}" "$gateway_id"; do
  if docker exec "$id" sh -c 'echo x > /usr/local/probe' 2>/dev/null; then fail "$(name_of "$id"): writing to /usr/local is refused"; else pass "$(name_of "$id"): writing to /usr/local is refused"; fi
done

wait_healthy() { # container id, seconds
  for _ in $(seq "$2"); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ] && return 0
    sleep 1
  done
  return 1
}

# nginx's state lives in a tmpfs that must belong to its user: a root-owned one made the gateway restart forever.
cache_owner="$(docker exec "$gateway_id" stat -c %u:%g /var/cache/nginx)"
# Its health check may not have run yet on a busy machine ("starting"): give it time, then read both.
wait_healthy "$gateway_id" 120 || true
restarts="$(docker inspect -f '{{.RestartCount}} {{.State.Health.Status}}' "$gateway_id")"
if [ "$cache_owner" = 101:101 ] && [ "$restarts" = "0 healthy" ]; then
  pass "the gateway's /var/cache/nginx tmpfs belongs to 101:101; healthy, never restarted"
else
  fail "the gateway's /var/cache/nginx tmpfs belongs to 101:101 ($cache_owner), healthy and never restarted ($restarts)"
fi

# ---- replicas failing under load ------------------------------------------------------------------------
# Clients through the gateway, each one request at a time with a short pause (the gateway allows 20
# requests a second per address, and all of them come from one), until the stop file appears.
stop_file="$state/load.stop"
load_pids=()
start_load() {
  rm -f "$stop_file" "$state"/load.*.codes
  for client in 1 2 3; do
    (
      while [ ! -e "$stop_file" ]; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -H "X-Api-Key: $api_key" -H 'Content-Type: application/json' \
          -d "$tag_body" "$gateway/ner" >>"$state/load.$client.codes"
        sleep 0.2
      done
    ) &
    load_pids+=($!)
  done
}
stop_load() {
  [ "${#load_pids[@]}" -gt 0 ] || return 0
  touch "$stop_file"
  wait "${load_pids[@]}" 2>/dev/null
  load_pids=()
}
load_result() { # "N requests, M failed (codes)"
  cat "$state"/load.*.codes | sort | uniq -c | awk '{ total += $1; if ($2 != 200) { bad += $1; codes = codes " " $2 "x" $1 } }
    END { printf "%d requests, %d failed%s", total, bad, (bad ? " (" substr(codes, 2) ")" : "") }'
}
# nginx before 1.27.3 (the stand-in) resolves the replicas' name only at start and reload: a restarted
# replica may come back with another address (deploy/nginx/upstream.static.conf).
reload_gateway_if_static() {
  [ "${GATEWAY_UPSTREAM:-}" = upstream.static.conf ] || return 0
  docker exec "$gateway_id" nginx -p /var/cache/nginx/ -c /etc/nginx/nginx.conf -s reload 2>/dev/null
  sleep 2
}
served_by() { # replica address: how many requests the gateway's access log shows it answering with 200
  docker logs "$gateway_id" 2>/dev/null | grep -c "upstream=$1:8080 upstream_status=200 "
}
restart_replica() { # container id
  local id="$1" before
  docker start "$id" >/dev/null
  if ! wait_healthy "$id" 240; then fail "$(name_of "$id") is healthy again after a restart"; return; fi
  reload_gateway_if_static
  before="$(served_by "$(ip_of "$id")")"
  for _ in $(seq 20); do
    curl -s -o /dev/null -H "X-Api-Key: $api_key" -H 'Content-Type: application/json' -d "$tag_body" "$gateway/ner"
    sleep 0.1
  done
  if [ "$(served_by "$(ip_of "$id")")" -gt "$before" ]; then
    pass "$(name_of "$id") restarted: healthy and answering through the gateway"
  else
    fail "$(name_of "$id") restarted but the gateway sends it nothing"
  fi
}

first="${replicas[0]}"
second="${replicas[1]}"

start_load
sleep 3
docker kill "$first" >/dev/null
sleep 6
stop_load
result="$(load_result)"
if [[ "$result" == *", 0 failed" ]]; then pass "$(name_of "$first") killed under load: $result"; else fail "$(name_of "$first") killed under load: $result"; fi
restart_replica "$first"

# SIGTERM while the replica is working on a request sent to it directly (from the gateway's container, so
# that no retry can hide a cut-off request): that request must still be answered, and the replica exit 0.
second_ip="$(ip_of "$second")"
# A batch that takes a few seconds: long enough to be caught in progress, well inside the 30 s to stop. Sized in
# tokens (100 documents of about 700), not in time: the CPU tagger tags 3,000 tokens in a blink.
python3 -c 'import json; print(json.dumps({"documents": [{"text": "Angela Merkel met Emmanuel Macron in Berlin before flying to Paris, where the European Commission met. " * 40}] * 100, "store": False}))' >"$state/batch.json"
docker exec -i "$gateway_id" sh -c 'cat > /var/cache/nginx/batch.json' <"$state/batch.json"
start_load
(
  docker exec "$gateway_id" wget -q -O - -T 120 --header 'Content-Type: application/json' --header "X-Api-Key: $api_key" \
    --post-file /var/cache/nginx/batch.json "http://$second_ip:8080/ner/batch" >"$state/direct.out" 2>&1
  echo $? >"$state/direct.status"
  date +%s.%N >"$state/direct.end"
) &
direct_pid=$!
# Until the replica reports the batch in the model's hands (its own metrics on Ner:Metrics:Port 9090, read from
# inside the network): tokens admitted and not yet tagged, more than the sentence-sized requests of the load can
# hold (the batch is 72,000).
in_progress=""
for _ in $(seq 120); do
  in_progress="$(docker exec "$gateway_id" wget -q -O - "http://$second_ip:9090/metrics" 2>/dev/null \
    | awk '/^ner_admitted_tokens\{model="default"\}/ { n += $NF } END { print n + 0 }')"
  [ "${in_progress:-0}" -ge 10000 ] && break
  sleep 0.25
done
term_time="$(date +%s.%N)"
docker kill --signal TERM "$second" >/dev/null
wait "$direct_pid"
second_status="$(timeout 60 docker wait "$second")"
sleep 2
stop_load
direct_end="$(cat "$state/direct.end")"
if [ "$(cat "$state/direct.status")" = 0 ] && grep -q '"results"' "$state/direct.out" \
    && awk -v end="$direct_end" -v term="$term_time" 'BEGIN { exit !(end > term) }'; then
  pass "$(name_of "$second") stopped with SIGTERM mid-batch ($in_progress tokens admitted): the batch was answered $(awk -v end="$direct_end" -v term="$term_time" 'BEGIN { printf "%.1f", end - term }') s later"
else
  fail "$(name_of "$second") stopped with SIGTERM mid-batch ($in_progress tokens admitted): wget status $(cat "$state/direct.status"), $(head -c 300 "$state/direct.out")"
fi
if [ "$second_status" = 0 ]; then pass "$(name_of "$second") exited 0 after SIGTERM"; else fail "$(name_of "$second") exited '$second_status' after SIGTERM"; fi
result="$(load_result)"
if [[ "$result" == *", 0 failed" ]]; then pass "$(name_of "$second") stopped under load: $result"; else fail "$(name_of "$second") stopped under load: $result"; fi
rm -f "$state/batch.json" "$state/direct."* "$state"/load.*
restart_replica "$second"
