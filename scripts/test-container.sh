#!/usr/bin/env bash
# `make test-container`: build the real image and run the service in it.
#
# Engine: docker when a Docker engine answers (`docker info`), else podman; when neither is
# there and we are root on Debian/Ubuntu, podman is installed with apt-get. Base image:
# python:3.12-slim when an image registry answers, else a Debian base built locally with
# debootstrap from the apt mirror (no registry needed) plus Debian's Python.
#
# Each check prints PASS or FAIL; the script exits non-zero when any check failed and always
# removes the containers and volume it made. Figures (image size, `--help` time) are printed
# at the end. Environment knobs:
#   TGDIGEST_IMAGE       tag to build (default localhost/tgdigest:test)
#   TGDIGEST_BASE_IMAGE  skip the registry probe and build FROM this image
#   PIP_INDEX_URL        package index for pip inside the build (default: host pip's, else PyPI)
#   CONTAINERS_CONF      a podman containers.conf to use instead of the one written here
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

IMAGE=${TGDIGEST_IMAGE:-localhost/tgdigest:test}
RUN_ID="tgdigest-test-$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tgdigest-container.XXXXXX")
VOLUME="$RUN_ID-data"
FAILED=()
CONTAINERS=()
ENGINE=
t0=$(date +%s)

log() { printf '[%3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
pass() { printf 'PASS  %s\n' "$1"; }
fail() { printf 'FAIL  %s%s\n' "$1" "${2:+: $2}"; FAILED+=("$1"); }
die() { fail "$1" "${2:-}"; exit 1; }
now_ms() { date +%s%3N; }

cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do "$ENGINE" rm -f -v "$c" >/dev/null 2>&1 || true; done
  [ -n "${ENGINE:-}" ] && "$ENGINE" volume rm -f "$VOLUME" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. engine ---------------------------------------------------------------------
install_podman() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "engine" "no Docker engine or podman here; install one (podman installs itself only as root on Debian)"
  fi
  log "installing podman, runc and debootstrap with apt-get"
  apt-get update -qq >"$WORK/apt.log" 2>&1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
         podman runc debootstrap containernetworking-plugins iptables ca-certificates \
         >>"$WORK/apt.log" 2>&1 \
    || { tail -20 "$WORK/apt.log"; die "engine" "apt-get install podman failed"; }
}

if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
  ENGINE=docker
else
  command -v podman >/dev/null || install_podman
  ENGINE=podman
  if [ -z "${CONTAINERS_CONF:-}" ] && command -v runc >/dev/null; then
    # What this kind of host needs (see README, "Running the container test"): runc, since
    # crun refuses hybrid cgroups; limits root may actually set (without CAP_SYS_RESOURCE
    # podman's defaults fail with "setrlimit RLIMIT_NOFILE"); no systemd for cgroups or
    # events. A private file, so the host's podman configuration is left alone.
    cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    export CONTAINERS_CONF="$WORK/containers.conf"
  fi
fi
if ! "$ENGINE" info >/dev/null 2>"$WORK/info.err"; then
  cat "$WORK/info.err"; die "engine" "$ENGINE info failed"
fi
pass "engine: $ENGINE ($("$ENGINE" --version | head -1))"

# --- 2. base image -----------------------------------------------------------------
debian_mirror() {
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -v -e security -e '^https\?://[^/]*\(nodesource\|google\|docker\)' | head -1)
  [ -n "$m" ] || m=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  echo "${m:-http://deb.debian.org/debian}"
}

build_local_base() {
  # A Debian bookworm root file system straight from the apt mirror, then Debian's Python
  # on top, set up to behave like python:*-slim (`python` exists; pip may install outside
  # a venv). Both are cached as local images, so later runs skip this.
  if ! "$ENGINE" image exists localhost/debian:bookworm 2>/dev/null \
     && ! "$ENGINE" image inspect localhost/debian:bookworm >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || {
      [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
             >>"$WORK/apt.log" 2>&1
    } || die "base image" "no registry and no debootstrap to build a local base"
    local mirror; mirror=$(debian_mirror)
    log "debootstrap bookworm from $mirror (once; about a minute)"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap.log"; die "base image" "debootstrap failed"; }
    # Slim like the official debian:*-slim images: no docs, man pages or translations, now
    # or in packages installed later (about 50 MB of the final image).
    cat >"$WORK/rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
    find "$WORK/rootfs/usr/share/doc" -type f ! -name copyright -delete
    find "$WORK/rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$WORK"/rootfs/usr/share/man/* "$WORK"/rootfs/usr/share/info/* "$WORK"/rootfs/usr/share/groff/* \
           "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
    tar -C "$WORK/rootfs" -c . | "$ENGINE" import --change 'CMD ["/bin/bash"]' - localhost/debian:bookworm >/dev/null 2>"$WORK/import.log" \
      || die "base image" "import of the debootstrap tree failed"
    rm -rf "$WORK/rootfs"
  fi
  if ! "$ENGINE" image inspect localhost/python-base:bookworm >/dev/null 2>&1; then
    log "building localhost/python-base:bookworm"
    mkdir -p "$WORK/pybase"
    cat >"$WORK/pybase/Dockerfile" <<'EOF'
FROM localhost/debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-pip python-is-python3 ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
ENV PIP_BREAK_SYSTEM_PACKAGES=1
CMD ["python3"]
EOF
    "$ENGINE" build --network host -t localhost/python-base:bookworm "$WORK/pybase" >"$WORK/pybase.log" 2>&1 \
      || { tail -30 "$WORK/pybase.log"; die "base image" "python base build failed"; }
  fi
  BASE_IMAGE=localhost/python-base:bookworm
}

if [ -n "${TGDIGEST_BASE_IMAGE:-}" ]; then
  BASE_IMAGE=$TGDIGEST_BASE_IMAGE
else
  # Fully qualified: podman does not guess registries for short names.
  BASE_IMAGE=docker.io/library/python:3.12-slim
  if "$ENGINE" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    :
  elif timeout 30 "$ENGINE" pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
    :
  else
    log "no image registry reachable: building a local Debian base"
    build_local_base
  fi
fi
pass "base image: $BASE_IMAGE"

# --- 3. build ----------------------------------------------------------------------
build_args=(--network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE")
# podman's default OCI format drops HEALTHCHECK; the docker format keeps it.
[ "$ENGINE" = podman ] && build_args+=(--format docker)
# Trust whatever the host trusts (a TLS-intercepting proxy's CA, for one): passed as a
# build secret, mounted only while pip runs.
for ca in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  if [ -n "$ca" ] && [ -s "$ca" ]; then build_args+=(--secret "id=pipca,src=$ca"); break; fi
done
# The host's index when it is a network one (file:// indexes do not exist in the build).
index=${PIP_INDEX_URL:-$(pip config get global.index-url 2>/dev/null || true)}
case "$index" in http://*|https://*) build_args+=(--build-arg "PIP_INDEX_URL=$index") ;; esac
[ "$ENGINE" = docker ] && export DOCKER_BUILDKIT=1

log "building $IMAGE with $ENGINE"
b0=$(now_ms)
if "$ENGINE" build "${build_args[@]}" . >"$WORK/build.log" 2>&1; then
  pass "build ($(( ($(now_ms) - b0) / 1000 )) s)"
else
  tail -40 "$WORK/build.log"; die "build"
fi
size_bytes=$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE")
size_mb=$(( size_bytes / 1000000 ))

if "$ENGINE" image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q 'tgdigest'; then
  pass "image keeps HEALTHCHECK tgdigest health"
else
  fail "image keeps HEALTHCHECK tgdigest health"
fi

# --- 4. run it -----------------------------------------------------------------------
# One-off commands: no network, no health check (it would only report "no heartbeat").
run() { "$ENGINE" run --rm --network none --no-healthcheck "$@"; }

out=$(run --entrypoint sh "$IMAGE" -c 'id -u; test ! -e /run/secrets/pipca && echo no-secret' 2>"$WORK/err")
if [ "$out" = $'10001\nno-secret' ]; then pass "runs as uid 10001, no build secret left"; else fail "non-root" "$out"; fi

h0=$(now_ms)
help=$(run "$IMAGE" --help 2>"$WORK/err"); rc=$?
help_run_ms=$(( $(now_ms) - h0 ))
if [ $rc = 0 ] && grep -q 'Usage' <<<"$help"; then pass "tgdigest --help"; else fail "tgdigest --help" "exit $rc: $help $(cat "$WORK/err")"; fi
# Start-up inside the container, without the engine's own container set-up time.
help_ms=$(run --entrypoint python "$IMAGE" -c '
import subprocess, time
best = None
for _ in range(3):
    t = time.perf_counter()
    subprocess.run(["tgdigest", "--help"], check=True, capture_output=True)
    d = time.perf_counter() - t
    best = d if best is None else min(best, d)
print(round(best * 1000))' 2>&1) || help_ms="?"

"$ENGINE" volume create "$VOLUME" >/dev/null || die "volume create"
with_data=(-v "$VOLUME:/data" -v "$ROOT/tests/fixtures:/fixtures:ro")

# The sample is from July 2025: move its dates to the last days (as `make demo` does), so
# the digest at the end has stories to show.
run "${with_data[@]}" --entrypoint python "$IMAGE" -c '
import time
from pathlib import Path
from bot.devtools.demo import newest_stamp, rebase_export
src = Path("/fixtures/sample_channel_export.json")
rebase_export(src, Path("/data/recent.json"), shift=int(time.time()) - 3600 - newest_stamp(src))
' >"$WORK/rebase.log" 2>&1 || fail "rebase the sample's dates" "$(tail -3 "$WORK/rebase.log")"
out=$(run "${with_data[@]}" "$IMAGE" import /data/recent.json --channel @mfa_russia 2>&1); rc=$?
if [ $rc = 0 ]; then pass "import the sample channel export into the volume"; else fail "import" "exit $rc: $out"; fi

out=$(run "${with_data[@]}" "$IMAGE" stats 2>&1); rc=$?
if [ $rc = 0 ] && grep -Eiq 'posts[^0-9]*[1-9]' <<<"$out"; then pass "stats shows the imported posts in the volume"
else fail "stats" "exit $rc: $out"; fi

# A bind mount works too: ':U' (podman) hands the host directory to the image's user.
if [ "$ENGINE" = podman ]; then
  mkdir -p "$WORK/bind"
  out=$(run -v "$WORK/bind:/data:U" -v "$ROOT/tests/fixtures:/fixtures:ro" "$IMAGE" \
        import /fixtures/sample_channel_export.json 2>&1); rc=$?
  if [ $rc = 0 ] && [ -s "$WORK/bind/tgdigest.sqlite" ]; then pass "import into a :U bind mount"
  else fail "import into a :U bind mount" "exit $rc: $out"; fi
fi

# --- 5. the service against a loopback fake Bot API --------------------------------------
# The fake is the project's own Bot API sandbox (bot.devtools.sandbox.Sandbox, checking every call
# against the Bot API spec in tests/fixtures), run from the same image. Both containers share
# the host's loopback (--network host); nothing leaves the machine.
port=$(( 20000 + $$ % 20000 ))
token="123456:TEST-token-for-the-container-check-000"
sandbox="$RUN_ID-botapi"
svc="$RUN_ID-run"
CONTAINERS+=("$sandbox" "$svc")
driver='
import datetime, signal, sys, threading
from bot.devtools.sandbox import Sandbox
port, token = int(sys.argv[1]), sys.argv[2]
box = Sandbox(token=token, port=port, spec_path="/fixtures/bot-api-spec.json").start()
print("READY", box.base_url, flush=True)
def say(text, timeout):
    before = len(box.sent_to(42))
    box.send_user_message(42, text, username="container_check")
    return box.wait_for_sent(before + 1, chat_id=42, timeout=timeout)[-1].text.replace("\n", " ")[:120]
try:
    print("REPLY", say("/start", 90), flush=True)
    # A digest time hours away, set before subscribing: a new subscriber whose time of day
    # has passed gets today'"'"'s digest at the next whole-minute tick, which would leave the
    # dry run below with nothing new, depending on the minute the check runs in.
    later = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=6)).strftime("%H:%M")
    print("TIME", say("/time " + later, 30), flush=True)
    print("SUBSCRIBED", say("/subscribe Lavrov", 30), flush=True)
except TimeoutError as e:
    print("NO-REPLY", e, flush=True)
print("VIOLATIONS", len(box.violations), box.violations[:3], flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()  # keep answering getUpdates until the check is over
box.stop()
'
sandbox_log() { "$ENGINE" logs "$sandbox" 2>/dev/null; }
if "$ENGINE" run -d --name "$sandbox" --network host --no-healthcheck \
     -v "$ROOT/tests/fixtures:/fixtures:ro" --entrypoint python "$IMAGE" -c "$driver" "$port" "$token" \
     >/dev/null 2>"$WORK/sandbox.err"; then
  for _ in $(seq 1 50); do grep -q '^READY' <<<"$(sandbox_log)" && break; sleep 0.2; done
  if grep -q '^READY' <<<"$(sandbox_log)"; then pass "fake Bot API up on 127.0.0.1:$port"
  else fail "fake Bot API up" "$(sandbox_log | tail -5)"; fi
else
  fail "fake Bot API up" "$(cat "$WORK/sandbox.err")"
fi

# The healthcheck interval is shortened for the test (docker runs it by itself; podman
# without systemd is driven by `podman healthcheck run` below).
health_flags=(--health-interval 2s --health-start-period 0s)
"$ENGINE" run -d --name "$svc" --network host "${with_data[@]}" "${health_flags[@]}" \
  -e TELEGRAM_BOT_TOKEN="$token" -e TELEGRAM_BOT_API_URL="http://127.0.0.1:$port" \
  -e TGDIGEST_LOG_LEVEL=DEBUG \
  "$IMAGE" run --no-fetch >/dev/null 2>"$WORK/run.err" \
  || fail "run --no-fetch starts" "$(grep -v systemd "$WORK/run.err")"

for _ in $(seq 1 100); do
  grep -Eq '^(REPLY|NO-REPLY)' <<<"$(sandbox_log)" && break
  [ "$("$ENGINE" inspect --format '{{.State.Running}}' "$svc" 2>/dev/null)" = true ] || break
  sleep 0.5
done
if grep -q '^REPLY' <<<"$(sandbox_log)"; then
  pass "run --no-fetch answers /start: $(sandbox_log | sed -n 's/^REPLY //p' | cut -c1-60)..."
else
  fail "run --no-fetch answers /start" "$("$ENGINE" logs "$svc" 2>&1 | tail -15)"
fi
for _ in $(seq 1 60); do grep -Eq '^(SUBSCRIBED|NO-REPLY)' <<<"$(sandbox_log)" && break; sleep 0.5; done
if grep -q '^SUBSCRIBED' <<<"$(sandbox_log)"; then pass "/subscribe Lavrov answered"
else fail "/subscribe answered" "$(sandbox_log | tail -3)"; fi
if grep -q '^VIOLATIONS 0 ' <<<"$(sandbox_log)"; then pass "every Bot API call matches the spec"
elif grep -q '^VIOLATIONS' <<<"$(sandbox_log)"; then fail "Bot API calls match the spec" "$(sandbox_log | grep '^VIOLATIONS')"
fi

healthy=
for _ in $(seq 1 30); do
  if [ "$ENGINE" = podman ]; then
    "$ENGINE" healthcheck run "$svc" >/dev/null 2>&1
  fi
  status=$("$ENGINE" inspect --format '{{.State.Health.Status}}' "$svc" 2>/dev/null)
  [ "$status" = healthy ] && { healthy=1; break; }
  [ "$("$ENGINE" inspect --format '{{.State.Running}}' "$svc" 2>/dev/null)" = true ] || break
  sleep 1
done
if [ -n "$healthy" ]; then pass "health check turns healthy"
else fail "health check turns healthy" "status ${status:-?}: $("$ENGINE" exec "$svc" tgdigest health 2>&1 | tail -3)"; fi

# Single owner: a second `run` on the same data directory refuses to start.
out=$(run "${with_data[@]}" -e TELEGRAM_BOT_TOKEN="$token" "$IMAGE" run --no-fetch 2>&1); rc=$?
if [ $rc != 0 ] && grep -q 'another tgdigest run' <<<"$out"; then pass "a second run on the same volume is refused"
else fail "a second run on the same volume is refused" "exit $rc: $(tail -3 <<<"$out")"; fi

s0=$(now_ms)
"$ENGINE" kill --signal TERM "$svc" >/dev/null 2>&1
code=$(timeout 15 "$ENGINE" wait "$svc" 2>/dev/null | tail -1)
stop_ms=$(( $(now_ms) - s0 ))
if [ "$code" = 0 ] && [ "$stop_ms" -lt 10000 ]; then pass "SIGTERM: clean exit 0 in $stop_ms ms"
else fail "SIGTERM: clean exit 0 within 10 s" "exit ${code:-none} after $stop_ms ms: $("$ENGINE" logs "$svc" 2>&1 | tail -5)"; fi

# The secrets never reach the logs (which are not empty: the service ran at DEBUG).
"$ENGINE" logs "$svc" >"$WORK/svc.log" 2>&1
if [ ! -s "$WORK/svc.log" ]; then fail "bot token absent from the logs" "no logs at all"
elif grep -qF "${token#*:}" "$WORK/svc.log"; then fail "bot token absent from the logs"
else pass "bot token absent from the logs ($(wc -l <"$WORK/svc.log") lines)"; fi

# After the stop, the subscriber the conversation created is in the volume: its digest builds.
out=$(run "${with_data[@]}" "$IMAGE" digest --chat 42 --dry-run 2>&1); rc=$?
if [ $rc = 0 ] && grep -q 'not sent (dry run)' <<<"$out" && grep -Eq '(^|[^0-9])[1-9][0-9]* stor(y|ies) in' <<<"$(tail -1 <<<"$out")"; then
  pass "digest --chat 42 --dry-run from the volume: $(tail -1 <<<"$out")"
else fail "digest --dry-run" "exit $rc: $(tail -5 <<<"$out")"; fi

# --- 6. figures ----------------------------------------------------------------------
echo
echo "engine:            $ENGINE"
echo "base image:        $BASE_IMAGE"
echo "image:             $IMAGE, ${size_mb} MB"
echo "tgdigest --help:   ${help_ms} ms in the container (best of 3); ${help_run_ms} ms including container start"
echo "total:             $(( $(date +%s) - t0 )) s"
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "FAILED: ${FAILED[*]}"
  exit 1
fi
echo "all container checks passed"
