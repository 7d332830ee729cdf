# shellcheck shell=bash disable=SC2034
# Shared helpers for scripts/servers/*.sh (sourced, not run).
# Every server the adapter tests use runs on 127.0.0.1 under target/servers/,
# started and stopped by these scripts only; downloads are cached under
# ~/.cache/uoom/ so a second set-up works offline and fast.

SERVERS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVERS_DIR="${UOOM_SERVERS_DIR:-$SERVERS_ROOT/target/servers}"
UOOM_CACHE="${UOOM_CACHE:-$HOME/.cache/uoom}"
# Maven's own repository lives in the cache too, so one folder holds every download.
UOOM_M2="$UOOM_CACHE/m2"
# Seconds a start may take before it is called a failure.
START_TIMEOUT="${UOOM_SERVERS_START_TIMEOUT:-90}"

log() { echo "[$(basename "$0" .sh)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a command as root, through sudo when we are not root.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# apt-get update at most once per script run, and quietly.
_apt_updated=""
apt_install() {
  if [ -z "$_apt_updated" ]; then
    as_root apt-get update -qq >/dev/null || die "apt-get update failed"
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits (bounded) until CHECK succeeds; fails early when PID dies.
# usage: wait_until SECONDS PID DESCRIPTION CHECK...
wait_until() {
  local secs=$1 pid=$2 what=$3; shift 3
  local deadline=$((SECONDS + secs))
  while [ $SECONDS -lt $deadline ]; do
    if "$@"; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "$what: process $pid exited during start-up"
      return 1
    fi
    sleep 0.2
  done
  log "$what: not ready after ${secs}s"
  return 1
}

# The pid in FILE if that process is alive, else nothing (and the stale file is removed).
live_pid() {
  local f=$1 pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; return 0; fi
  rm -f "$f"
  return 1
}

# Stops the process whose pid is in FILE: TERM, a bounded wait, then KILL.
stop_pidfile() {
  local f=$1 what=$2 pid
  pid=$(live_pid "$f") || { log "$what: not running"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$what: still alive after 30s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$f"
  log "$what: stopped"
}

# Fetches the jars a pom lists into DEST (once; later runs find them cached).
# usage: maven_fetch POM_DIR DEST [extra mvn args...]
maven_fetch() {
  local pom_dir=$1 dest=$2; shift 2
  if [ -f "$dest/.complete" ]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || apt_install maven
  log "fetching jars from Maven Central into $dest"
  rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
  (cd "$pom_dir" && mvn -q -B -Dmaven.repo.local="$UOOM_M2" \
      dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$dest.tmp" "$@") >"$dest.tmp.log" 2>&1 \
    || { tail -20 "$dest.tmp.log" >&2; die "mvn dependency:copy-dependencies failed (log: $dest.tmp.log)"; }
  rm -rf "$dest"; mv "$dest.tmp" "$dest"; rm -f "$dest.tmp.log"
  touch "$dest/.complete"
}

# Java 17 or newer, from Debian's packages if the machine has none.
ensure_java() {
  if ! command -v java >/dev/null 2>&1; then apt_install openjdk-17-jre-headless; fi
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Java 17+ needed, found ${major:-none}"
}
