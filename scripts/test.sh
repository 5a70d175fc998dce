#!/usr/bin/env bash
# Runs every test: Swift unit tests, Swift end-to-end tests (hiredis, redis-cli) and the redis-py suite, all
# against a debug build made once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh --test
swift build --build-tests
swift test --skip-build
export RILL_SERVER_BIN="$PWD/.build/debug/rill-server"
# The whole pytest suite once per client transport (io-engine), both passes at once: each spends much of its time
# waiting on servers and sockets, so side by side they took 12 to 15 minutes on the shared 2-core machine where one
# alone takes about 7.5. conftest.py stops a pass whose servers do not report its engine (a kernel refusing io_uring
# fails the io_uring pass instead of letting the fallback repeat the nio one).
engines=(nio io_uring)
pass_logs=$(mktemp -d)
pids=()
for engine in "${engines[@]}"; do
    RILL_TEST_IO_ENGINE=$engine python3 -m pytest -q -p no:cacheprovider Tests/python >"$pass_logs/$engine.log" 2>&1 &
    pids+=($!)
done
failed=0
for index in "${!engines[@]}"; do
    status=0
    wait "${pids[$index]}" || status=$?
    echo "=== pytest, io-engine ${engines[$index]} (exit status $status) ==="
    cat "$pass_logs/${engines[$index]}.log"
    [ "$status" = 0 ] || failed=1
done
rm -rf "$pass_logs"
exit $failed
