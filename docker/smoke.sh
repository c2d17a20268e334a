#!/usr/bin/env bash
# Smoke test of the image: build it, run it with its default command, check that the container
# becomes healthy and that GET /health and POST /predict answer as the README says.
#
#   docker/smoke.sh                 (make docker-smoke)
#
# Works where no container registry is reachable: the base image is built from Debian
# packages (docker/build-base.sh) unless SMOKE_BASE_IMAGE names one to use (for example
# python:3.11-slim where a registry is reachable). When no Docker engine answers, it installs
# Debian's docker.io (as root) and starts dockerd for the run. If there is still no engine,
# it says so and exits 1 under CI=true, 0 elsewhere.
#
# Idempotent: apt is skipped when the tools are installed, the base image when it exists,
# and image layers come from the build cache. Environment:
#   SMOKE_BASE_IMAGE     base image to build on (default: the debootstrapped one)
#   SMOKE_IMAGE          tag of the image under test (default stocky:smoke)
#   SMOKE_TIMEOUT        seconds to wait for a healthy container (default 300)
#   DOCKER_BUILDKIT      1 to build with BuildKit (default 0, the legacy builder)
#   STOCKY_EXTRA_CA_DIR  folder of extra CA certificates (*.crt) copied to docker/certs/
#                        (default /usr/local/share/ca-certificates, Debian's local CA folder)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_TAG="stocky-base:${DEBIAN_SUITE:-trixie}-2"  # -2: with libgomp1 (LightGBM)
BASE_IMAGE="${SMOKE_BASE_IMAGE:-$BASE_TAG}"
IMAGE="${SMOKE_IMAGE:-stocky:smoke}"
TIMEOUT="${SMOKE_TIMEOUT:-300}"
CA_DIR="${STOCKY_EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"
STATE="var/docker-smoke"
CONTAINER="stocky-smoke-$$"
PREDICT_BODY='{"recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]}'

t0=$SECONDS
log() { printf '\n== docker-smoke [%4ds] %s\n' "$((SECONDS - t0))" "$*" >&2; }
die() { printf '\ndocker-smoke: FAILED: %s\n' "$*" >&2; exit 1; }

mkdir -p "$STATE" 2>/dev/null || STATE="$(mktemp -d)"
dockerd_pid=""
cleanup() {
    docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
    if [[ -n "$dockerd_pid" ]]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

no_engine() {
    local bar="!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    printf '\n%s\n!! docker-smoke: NO DOCKER ENGINE: %s\n!! The image was NOT built or tested.\n%s\n\n' \
        "$bar" "$1" "$bar" >&2
    if [[ "${CI:-}" == true ]]; then
        exit 1
    fi
    exit 0
}

# -- 1. tools and engine ---------------------------------------------------------------------
need_apt=()
command -v dockerd >/dev/null || need_apt+=(docker.io)
if [[ -z "${SMOKE_BASE_IMAGE:-}" ]]; then
    command -v debootstrap >/dev/null || need_apt+=(debootstrap)
fi
if ((${#need_apt[@]})); then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
        no_engine "missing ${need_apt[*]} and cannot apt-get install them (needs root on Debian)"
    fi
    log "installing ${need_apt[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >"$STATE/apt.log" 2>&1 ||
        { tail -n 20 "$STATE/apt.log" >&2; die "apt-get install ${need_apt[*]} failed"; }
fi
command -v docker >/dev/null || no_engine "no docker client"

if ! docker info >/dev/null 2>&1; then
    if [[ "$(id -u)" != 0 ]] || ! command -v dockerd >/dev/null; then
        no_engine "no engine answers and dockerd cannot be started here (needs root)"
    fi
    log "starting dockerd (log: $STATE/dockerd.log)"
    dockerd >"$STATE/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
        tail -n 20 "$STATE/dockerd.log" >&2 || true
        no_engine "dockerd did not start (see $STATE/dockerd.log)"
    fi
fi
log "engine: $(docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}')"

# -- 2. base image ---------------------------------------------------------------------------
if [[ -z "${SMOKE_BASE_IMAGE:-}" ]]; then
    log "base image $BASE_TAG"
    bash docker/build-base.sh "$BASE_TAG"
fi

# -- 3. build --------------------------------------------------------------------------------
# pip inside the build trusts the host's extra CAs (a TLS-intercepting proxy, if any).
shopt -s nullglob
extra_cas=("$CA_DIR"/*.crt "$CA_DIR"/*/*.crt)
shopt -u nullglob
for crt in "${extra_cas[@]}"; do
    cp "$crt" "docker/certs/host-$(basename "$crt")"
done
# The legacy builder by default: Debian's docker.io has no BuildKit client (buildx).
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"
log "building $IMAGE on $BASE_IMAGE (${#extra_cas[@]} extra CA certificate(s), DOCKER_BUILDKIT=$DOCKER_BUILDKIT)"
build_start=$SECONDS
docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" . \
    >"$STATE/build.log" 2>&1 ||
    { tail -n 40 "$STATE/build.log" >&2; die "docker build failed (log: $STATE/build.log)"; }
log "built in $((SECONDS - build_start)) s: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"

# -- 4. run ----------------------------------------------------------------------------------
[[ "$(docker run --rm "$IMAGE" id -u)" != 0 ]] || die "the image runs as root"
docker run --rm "$IMAGE" stocky version >/dev/null || die "'stocky version' failed in the image"

log "running $IMAGE with its default command (train --if-missing, then serve)"
docker run -d --name "$CONTAINER" -p 127.0.0.1::8000 \
    -e STOCKY_PRICE_SOURCE=bundled "$IMAGE" >/dev/null
run_start=$SECONDS
status=""
while ((SECONDS - run_start < TIMEOUT)); do
    status="$(docker inspect -f '{{.State.Status}} {{.State.Health.Status}}' "$CONTAINER")"
    [[ "$status" == "running healthy" ]] && break
    [[ "$status" == running* ]] || break
    sleep 2
done
if [[ "$status" != "running healthy" ]]; then
    docker logs --tail 60 "$CONTAINER" >&2 || true
    die "container is '$status' after $((SECONDS - run_start)) s (want 'running healthy')"
fi
log "healthy after $((SECONDS - run_start)) s"

# -- 5. the API ------------------------------------------------------------------------------
address="$(docker port "$CONTAINER" 8000/tcp | head -n 1)"
python3 - "http://$address" "$PREDICT_BODY" <<'PY' || { docker logs --tail 40 "$CONTAINER" >&2; die "API checks failed"; }
import json
import sys
import urllib.request

base, body = sys.argv[1], sys.argv[2]

with urllib.request.urlopen(f"{base}/health", timeout=10) as resp:
    health = json.load(resp)
    assert resp.status == 200 and health == {"status": "ok"}, (resp.status, health)
print(f"GET /health -> 200 {health}")

req = urllib.request.Request(
    f"{base}/predict", data=body.encode(), headers={"Content-Type": "application/json"}
)
with urllib.request.urlopen(req, timeout=30) as resp:
    out = json.load(resp)
    assert resp.status == 200, resp.status
missing = {"prediction", "model_type", "arima_order", "timestamp"} - out.keys()
assert not missing, f"missing keys {missing} in {out}"
assert isinstance(out["prediction"], float) and out["prediction"] > 0, out
print(f"POST /predict -> 200 {json.dumps(out)}")
PY

log "PASSED in $((SECONDS - t0)) s"
