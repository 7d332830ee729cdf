# shellcheck shell=bash disable=SC2034
# Shared functions for scripts/servers/*.sh (sourced, not run).
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

# Java 17 or newer with its compiler (kafka.sh compiles a test class), from
# Debian's packages if the machine has none: the JDK, whose javac the JRE lacks.
ensure_java() {
  if ! command -v java >/dev/null 2>&1; then apt_install openjdk-17-jdk-headless; fi
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Java 17+ needed, found ${major:-none}"
  if ! command -v javac >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 \
      || die "javac not found: Java $major is a JRE; install a JDK 17+ (e.g. openjdk-17-jdk-headless)"
    log "java $major has no javac; installing openjdk-17-jdk-headless"
    apt_install openjdk-17-jdk-headless
    command -v javac >/dev/null 2>&1 || die "javac still not found after installing openjdk-17-jdk-headless"
  fi
  major=$(javac -version 2>&1 | awk '/^javac/ {print $2}')
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "javac 17+ needed (it compiles with --release 17), found ${major:-none}"
}

# A throwaway test CA and a server certificate it signed for 127.0.0.1 and
# localhost (P-256 keys, ten years), made once in DIR: ca.pem, ca.key,
# server.crt, server.key. Clients verify the servers with ca.pem.
# usage: make_test_certs DIR
make_test_certs() {
  local dir=$1
  [ -f "$dir/server.crt" ] && [ -f "$dir/ca.pem" ] && return 0
  command -v openssl >/dev/null || apt_install openssl
  log "making a test CA and a server certificate ($dir)"
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=uoom test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 3650 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  chmod 600 "$dir/server.key"
  chmod 644 "$dir/ca.pem"
}
