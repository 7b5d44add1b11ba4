#!/usr/bin/env bash
# Build and run pe-vcsim, the vSphere API simulator for tests (docs/vcsim.md).
#
#   scripts/vcsim.sh build               build if any tools/vcsim/*.go is newer than the binary
#   scripts/vcsim.sh start [ARGS...]     start (idempotent); ARGS go to pe-vcsim, e.g. -hosts 8 -vms 10
#   scripts/vcsim.sh stop                TERM, then KILL after PE_VCSIM_STOP_TIMEOUT seconds
#   scripts/vcsim.sh status              exit 0 if running, 3 if not
#
# Environment: PE_STATE_DIR (default /tmp/powerevents-servers), PE_VCSIM_PORT (35443),
# PE_VCSIM_CONTROL_PORT (PE_VCSIM_PORT+1), PE_VCSIM_START_TIMEOUT (60), PE_VCSIM_STOP_TIMEOUT (5).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${PE_STATE_DIR:-/tmp/powerevents-servers}"
BIN="$STATE/bin/pe-vcsim"
RUN="$STATE/vcsim"
PORT="${PE_VCSIM_PORT:-35443}"
CONTROL_PORT="${PE_VCSIM_CONTROL_PORT:-$((PORT + 1))}"
START_TIMEOUT="${PE_VCSIM_START_TIMEOUT:-60}"
STOP_TIMEOUT="${PE_VCSIM_STOP_TIMEOUT:-5}"
GOVMOMI_SRC=/usr/share/gocode/src/github.com/vmware/govmomi/simulator

log() { echo "vcsim.sh: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo -n "$@"
  else die "need root to run: $*"; fi
}

ensure_toolchain() {
  command -v go >/dev/null && [[ -d $GOVMOMI_SRC ]] && return 0
  log "installing golang-go and golang-github-vmware-govmomi-dev"
  local pkgs=(golang-go golang-github-vmware-govmomi-dev)
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"
  fi
  command -v go >/dev/null && [[ -d $GOVMOMI_SRC ]] || die "go or govmomi source still missing"
}

cmd_build() {
  local src="$REPO/tools/vcsim"
  if [[ -x $BIN ]] && [[ -z $(find "$src" -name '*.go' -newer "$BIN" -print -quit) ]]; then
    return 0
  fi
  ensure_toolchain
  mkdir -p "$STATE/bin" "$STATE/gopath"
  log "building $BIN"
  # GOPATH mode against the Debian-packaged govmomi; no module proxy involved.
  (cd "$REPO" && env GO111MODULE=off GOFLAGS= CGO_ENABLED=0 \
      GOPATH="/usr/share/gocode:$STATE/gopath" GOCACHE="$STATE/gocache" \
      go build -o "$BIN.tmp" ./tools/vcsim)
  mv -f "$BIN.tmp" "$BIN"
}

# pid of our running instance, or nothing.
running_pid() {
  local pid
  [[ -f $RUN/vcsim.pid ]] || return 0
  pid=$(<"$RUN/vcsim.pid")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
      && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'pe-vcsim'; then
    echo "$pid"
  fi
}

port_answers() {
  if ! command -v curl >/dev/null; then
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
    return
  fi
  # Any HTTP status will do (GET /sdk is 405; 503 while the vCenter VM is off).
  local code
  code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "https://127.0.0.1:$PORT/sdk" || true)
  [[ $code != 000 ]]
}

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid ignored TERM; killing"
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_start() {
  cmd_build
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"
  flock 9  # concurrent starts from parallel test runs

  local args=(-listen "127.0.0.1:$PORT" -control "127.0.0.1:$CONTROL_PORT"
    -fingerprint-file "$RUN/fingerprint" -cert-file "$RUN/cert.pem" "$@")
  local wanted pid
  # The binary's mtime is part of the key, so a rebuilt simulator replaces the old one.
  wanted="$(printf '%q ' "${args[@]}")# binary $(stat -c %Y "$BIN")"
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    if [[ $(cat "$RUN/args" 2>/dev/null) == "$wanted" ]] && port_answers; then
      echo "VCSIM_READY url=https://127.0.0.1:$PORT/sdk"
      return 0
    fi
    log "restarting pid $pid with new arguments"
    stop_pid "$pid"
  fi

  rm -f "$RUN/vcsim.pid" "$RUN/fingerprint" "$RUN/cert.pem"
  [[ -f $RUN/vcsim.log ]] && mv -f "$RUN/vcsim.log" "$RUN/vcsim.log.1"
  # setsid: the simulator outlives the shell (and the test step) that started it.
  setsid "$BIN" "${args[@]}" >"$RUN/vcsim.log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$RUN/vcsim.pid"
  printf '%s' "$wanted" >"$RUN/args"

  local deadline=$((SECONDS + START_TIMEOUT)) line
  while ((SECONDS < deadline)); do
    if line=$(grep -m1 '^VCSIM_READY ' "$RUN/vcsim.log"); then
      echo "$line"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$RUN/vcsim.pid"
      tail -n 20 "$RUN/vcsim.log" >&2 || true
      die "pe-vcsim exited during start"
    fi
    sleep 0.1
  done
  stop_pid "$pid"
  rm -f "$RUN/vcsim.pid"
  tail -n 20 "$RUN/vcsim.log" >&2 || true
  die "pe-vcsim not ready within ${START_TIMEOUT}s"
}

cmd_stop() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"
  flock 9
  local pid
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    stop_pid "$pid"
    log "stopped pid $pid"
  fi
  rm -f "$RUN/vcsim.pid"
}

cmd_status() {
  local pid
  pid=$(running_pid)
  if [[ -z $pid ]]; then
    echo "pe-vcsim: not running"
    return 3
  fi
  echo "pe-vcsim: running, pid $pid"
  echo "url: https://127.0.0.1:$PORT/sdk"
  echo "args: $(sed "s/# binary.*//" "$RUN/args" 2>/dev/null)"
  echo "fingerprint: $(cat "$RUN/fingerprint" 2>/dev/null)"
  echo "log: $RUN/vcsim.log"
  port_answers || { echo "port $PORT: not answering"; return 1; }
}

case "${1:-}" in
  build) cmd_build ;;
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 build|start [pe-vcsim args...]|stop|status" >&2; exit 2 ;;
esac
