#!/usr/bin/env python3
"""Allocator calls per request of rill-server in steady state, per command, over a real connection.

    python3 Benchmarks/alloc_per_command.py [--rill BINARY] [--baseline BINARY] [--requests N] [--pipeline P]

Compiles Benchmarks/malloc_counter.c (an LD_PRELOAD library counting malloc, calloc, realloc, the aligned
allocations and free of every thread into a shared file), starts rill-server with it on a free loopback port, and for
each workload sends warm-up requests, reads the counters, sends N more requests (P at a time, each batch's replies read
before the next is sent) and reads the counters again. The figure is (allocations in the window - the allocations an
idle server makes in as long) / N. With --baseline, the same for a second binary (an older build), side by side.

The workloads, on a stream prefilled with 3-field entries: PING, XADD * with 3 fields, XLEN, XRANGE from a fixed id
COUNT 10, XREAD COUNT 10 after a fixed id, and XREADGROUP COUNT 10 > followed by XACK of the 10 ids it delivered (one
"request" there is the pair).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
from compare import RESPConnection, free_port, wait_for_pong  # noqa: E402

STREAM = "alloc:stream"
GROUP_STREAM = "alloc:group"
FIELDS = ["event", "order_placed", "order_id", "12345", "amount", "678"]
SLOTS = ("malloc", "calloc", "realloc", "aligned", "free")


def read_counters(path):
    with open(path, "rb") as counters:
        data = counters.read(8 * len(SLOTS))
    return [int.from_bytes(data[8 * i:8 * i + 8], "little") for i in range(len(SLOTS))]


def allocations(counts):
    """malloc + calloc + realloc + aligned: the calls that may allocate."""
    return sum(counts[:4])


class Workloads:
    """Each workload returns a function sending `count` requests in batches of `pipeline`."""

    def __init__(self, connection, pipeline):
        self.connection, self.pipeline = connection, pipeline
        self.middle_id = None

    def batches(self, count, make):
        sent = 0
        while sent < count:
            size = min(self.pipeline, count - sent)
            self.connection.pipeline([make() for _ in range(size)])
            sent += size

    def prefill(self, entries):
        for start in range(0, entries, 1000):
            ids = self.connection.pipeline([("XADD", STREAM, "*", *FIELDS) for _ in range(1000)])
            if start <= entries // 2 < start + 1000:
                self.middle_id = ids[entries // 2 - start].decode()

    def ping(self, count):
        self.batches(count, lambda: ("PING",))

    def xadd(self, count):
        self.batches(count, lambda: ("XADD", "alloc:xadd", "*", *FIELDS))

    def xlen(self, count):
        self.batches(count, lambda: ("XLEN", STREAM))

    def xrange(self, count):
        self.batches(count, lambda: ("XRANGE", STREAM, self.middle_id, "+", "COUNT", "10"))

    def xread(self, count):
        self.batches(count, lambda: ("XREAD", "COUNT", "10", "STREAMS", STREAM, self.middle_id))

    def prepare_group(self, pairs):
        self.connection.call("DEL", GROUP_STREAM)
        for _ in range(0, pairs * 10 + 1000, 1000):
            self.connection.pipeline([("XADD", GROUP_STREAM, "*", *FIELDS) for _ in range(1000)])
        self.connection.call("XGROUP", "CREATE", GROUP_STREAM, "g", "0")

    def xreadgroup_xack(self, count):
        # The XACK needs the ids the XREADGROUP delivered: one pair at a time, whatever the pipeline depth.
        for _ in range(count):
            reply = self.connection.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", GROUP_STREAM, ">")
            ids = [entry[0] for entry in reply[0][1]]
            self.connection.call("XACK", GROUP_STREAM, "g", *ids)


WORKLOAD_NAMES = [("PING", "ping"), ("XADD 3 fields", "xadd"), ("XLEN", "xlen"), ("XRANGE COUNT 10", "xrange"),
                  ("XREAD COUNT 10", "xread"), ("XREADGROUP COUNT 10 + XACK (per pair)", "xreadgroup_xack")]


def measure(binary, requests, pipeline, workdir, counter_library):
    """{workload label: allocations per request} for one binary."""
    counter_file = os.path.join(workdir, f"counts-{os.getpid()}-{time.monotonic_ns()}")
    port = free_port()
    datadir = tempfile.mkdtemp(dir=workdir)
    environment = {**os.environ, "LD_PRELOAD": counter_library, "MALLOC_COUNTER_FILE": counter_file}
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", datadir]
    process = subprocess.Popen(argv, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=datadir)
    results = {}
    try:
        wait_for_pong(port, process)
        connection = RESPConnection(port)
        workloads = Workloads(connection, pipeline)
        workloads.prefill(20_000)
        workloads.prepare_group(2 * requests + 2000)
        # What the idle server allocates per second (timers, the periodic jobs), subtracted from each window.
        idle_before, idle_start = allocations(read_counters(counter_file)), time.monotonic()
        time.sleep(2)
        idle_rate = (allocations(read_counters(counter_file)) - idle_before) / (time.monotonic() - idle_start)
        results["(idle server, allocations per second)"] = idle_rate
        for label, name in WORKLOAD_NAMES:
            run = getattr(workloads, name)
            run(max(1000, requests // 10))  # warm-up: buffers and tables reach their steady size
            before, start = allocations(read_counters(counter_file)), time.monotonic()
            run(requests)
            elapsed = time.monotonic() - start
            after = allocations(read_counters(counter_file))
            results[label] = max(0.0, (after - before - idle_rate * elapsed) / requests)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rill", default=os.path.join(ROOT, ".build", "release", "rill-server"))
    parser.add_argument("--baseline", help="a second rill-server binary (an older build) measured the same way")
    parser.add_argument("--requests", type=int, default=20_000, help="measured requests per workload")
    parser.add_argument("--pipeline", type=int, default=1, help="requests sent before reading their replies")
    args = parser.parse_args()
    binaries = [os.path.abspath(b) for b in (args.baseline, args.rill) if b]
    with tempfile.TemporaryDirectory(prefix="rill-alloc-") as workdir:
        library = os.path.join(workdir, "malloc_counter.so")
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", library, os.path.join(BENCH_DIR, "malloc_counter.c"),
                        "-ldl"], check=True)
        columns = []
        if args.baseline:
            columns.append(("before", measure(binaries[0], args.requests, args.pipeline, workdir, library)))
        columns.append(("after" if args.baseline else "rill",
                        measure(binaries[-1], args.requests, args.pipeline, workdir, library)))
    print(f"allocator calls per request, steady state, pipeline {args.pipeline}, {args.requests} requests each")
    header = f"{'command':42}" + "".join(f"{name:>12}" for name, _ in columns)
    print(header)
    for label in columns[0][1]:
        print(f"{label:42}" + "".join(f"{values[label]:12.2f}" for _, values in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
