#!/usr/bin/env bash
# Installs what the Rust build needs on a fresh Debian machine: cmake and
# libclang (bindgen) for HiGHS, OpenSSL's headers and pkg-config for
# librdkafka's TLS (feature kafka-tls). Idempotent and quiet when all is there.
set -euo pipefail
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
# bindgen needs libclang itself (libclang-cpp, which other packages bring, does
# not do) and clang's own headers; libclang1 and libclang-common-N-dev give
# both in ~50 MB, where libclang-dev would add 240 MB of static libraries.
if ! compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null \
  || ! compgen -G '/usr/lib/llvm-*/lib/clang/*/include/stddef.h' >/dev/null; then
  llvm=$(apt-cache depends libclang1 2>/dev/null | sed -n 's/.*Depends: libclang1-\([0-9]*\).*/\1/p' | head -1)
  need+=(libclang1 "libclang-common-${llvm:-14}-dev")
fi
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-rust: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
