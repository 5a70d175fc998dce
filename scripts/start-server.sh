#!/usr/bin/env bash
# Builds Rill (release) and starts it on the default configuration. Extra arguments are passed to rill-server,
# e.g. scripts/start-server.sh --port 7000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh
swift build -c release --product rill-server --static-swift-stdlib
exec .build/release/rill-server conf/rill.conf "$@"
