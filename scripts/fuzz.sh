#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer and AddressSanitizer.
#   bash scripts/fuzz.sh <target> [seconds=60] [libFuzzer options...]   one target (rill-fuzz --list names them)
#   bash scripts/fuzz.sh all [seconds=60]                                 every target in turn, seconds each
# Builds rill-fuzz once into .build-fuzz: debug (the core's invariant checks run inside every target),
# --sanitize=fuzzer,address, -D RILL_LIBFUZZER (libFuzzer's main; the target comes from RILL_FUZZ_TARGET), without
# jemalloc (RILL_NO_JEMALLOC: AddressSanitizer's allocator sees every allocation). Starts from Fuzz/Corpus/<target>;
# inputs libFuzzer finds go to .build-fuzz/corpus/<target> (merge the good ones into Fuzz/Corpus with -merge=1).
# A crash is written to .build-fuzz/crashes/<target>/; keep it in Fuzz/Regressions/<target>/ with the fix, where
# the test suite (RillFuzzTests) replays it. The normal build replays an input too: .build/debug/rill-fuzz <target> FILE
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh <target>|all [seconds] [libFuzzer options]}"
seconds="${2:-60}"
shift $(( $# >= 2 ? 2 : 1 ))

echo "building rill-fuzz with libFuzzer and AddressSanitizer into .build-fuzz"
RILL_NO_JEMALLOC=1 swift build --scratch-path .build-fuzz --product rill-fuzz \
    --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -DRILL_LIBFUZZER -Xswiftc -use-ld=lld
binary=".build-fuzz/debug/rill-fuzz"

if [ "$target" = all ]; then
    targets=$(ls Fuzz/Corpus)  # every target has a corpus directory (RillFuzzTests checks)
else
    targets="$target"
fi
for name in $targets; do
    mkdir -p ".build-fuzz/corpus/$name" ".build-fuzz/crashes/$name"
    echo "fuzzing $name for $seconds s"
    RILL_FUZZ_TARGET="$name" "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix=".build-fuzz/crashes/$name/" "$@" ".build-fuzz/corpus/$name" "Fuzz/Corpus/$name" \
        || { echo "fuzzing $name stopped on a failure: see .build-fuzz/crashes/$name/"; failed=1; }
done
exit "${failed:-0}"
