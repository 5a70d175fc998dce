#!/usr/bin/env bash
# Builds the transport prototypes: nio-proto (SwiftPM, release) and uring-proto (C, liburing).
# Installs liburing-dev when it is missing (Debian; needs root).
set -euo pipefail
cd "$(dirname "$0")"
if ! pkg-config --exists liburing; then
    apt-get install -y liburing-dev
fi
mkdir -p .build
gcc -O2 -Wall -Wextra -o .build/uring-proto uring_proto.c $(pkg-config --cflags --libs liburing)
swift build -c release --product nio-proto
cp "$(swift build -c release --show-bin-path)/nio-proto" .build/nio-proto
