#!/usr/bin/env python3
"""Side-by-side throughput of rill-server and redis-server on the same redis-benchmark workloads.

    python3 Benchmarks/compare.py [--rill PATH] [--redis PATH] [--requests N] [--rounds R] [--markdown FILE]

Starts both servers on free loopback ports with equivalent settings (no persistence), fills a 1M-entry stream in
each, then runs every workload against both in alternation (Rill, Redis, Rill, Redis ...) and prints ops/s, p50 and
the ratio Rill/Redis of the medians. Needs redis-benchmark and redis-cli (Debian's redis-tools).
"""
import argparse
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PREFILL_ENTRIES = 1_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            out = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True, timeout=2)
            if out.stdout.strip() == "PONG":
                return
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer PING")


class Server:
    def __init__(self, name, argv, port, workdir):
        self.name, self.port = name, port
        self.log = open(os.path.join(workdir, f"{name}.log"), "w")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        wait_ready(port)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True,
                              timeout=60).stdout.strip()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def prefill(server, key, entries):
    """Mass-inserts `entries` entries with ids 1-0, 2-0, ... through redis-cli --pipe."""
    def command(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)
    payload = b"".join(command("XADD", key, f"{i}-0", "event", "order_placed", "order_id", i, "amount", i * 7 % 1000)
                       for i in range(1, entries + 1))
    subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], input=payload, capture_output=True, check=True,
                   timeout=300)


def used_memory(server):
    for line in server.cli("INFO", "memory").splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def run_benchmark(port, clients, pipeline, requests, command):
    argv = ["timeout", "300", "redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline),
            "-n", str(requests), "-r", str(PREFILL_ENTRIES), "--csv", *command]
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max..."
    for line in out.splitlines()[1:]:
        fields = [f.strip('"') for f in line.split('","')]
        if len(fields) >= 7:
            return float(fields[1]), float(fields[4]), float(fields[6])
    raise RuntimeError(f"redis-benchmark gave no result for {command}: {out!r}")


WORKLOADS = [
    ("PING", 50, 1, ["PING"]),
    ("XADD 3 fields -c 50 -P 1", 50, 1, ["XADD", "bench:xadd", "*", "event", "order_placed", "order_id",
                                          "__rand_int__", "amount", "__rand_int__"]),
    ("XADD 3 fields -c 50 -P 16", 50, 16, ["XADD", "bench:xadd", "*", "event", "order_placed", "order_id",
                                            "__rand_int__", "amount", "__rand_int__"]),
    ("XRANGE COUNT 10 (1M stream)", 50, 1, ["XRANGE", "bench:big", "__rand_int__", "+", "COUNT", "10"]),
    ("XLEN", 50, 1, ["XLEN", "bench:big"]),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--rill", default=os.path.join(root, ".build/release/rill-server"))
    parser.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="rill-bench-")
    rill_port, redis_port = free_port(), free_port()
    servers = []
    try:
        rill = Server("rill", [args.rill, "--port", str(rill_port), "--bind", "127.0.0.1"], rill_port, workdir)
        servers.append(rill)
        redis = Server("redis", [args.redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no"], redis_port, workdir)
        servers.append(redis)
        rows = []
        memory = {}
        for server in (rill, redis):
            before = used_memory(server)
            prefill(server, "bench:big", PREFILL_ENTRIES)
            memory[server.name] = (used_memory(server) - before) / PREFILL_ENTRIES
            if server.cli("XLEN", "bench:big") != str(PREFILL_ENTRIES):
                raise RuntimeError(f"{server.name}: prefill incomplete")
        for name, clients, pipeline, command in WORKLOADS:
            results = {"rill": [], "redis": []}
            for _ in range(args.rounds):
                for server in (rill, redis):
                    results[server.name].append(run_benchmark(server.port, clients, pipeline, args.requests, command))
            rill_ops = statistics.median(r[0] for r in results["rill"])
            redis_ops = statistics.median(r[0] for r in results["redis"])
            rill_p50 = statistics.median(r[1] for r in results["rill"])
            redis_p50 = statistics.median(r[1] for r in results["redis"])
            rill_p99 = statistics.median(r[2] for r in results["rill"])
            redis_p99 = statistics.median(r[2] for r in results["redis"])
            rows.append((name, rill_ops, redis_ops, rill_ops / redis_ops, rill_p50, rill_p99, redis_p50, redis_p99))
            print(f"{name}: rill {rill_ops:,.0f} ops/s, redis {redis_ops:,.0f} ops/s, ratio {rill_ops / redis_ops:.2f}",
                  flush=True)
        header = ("| workload | Rill ops/s | Redis ops/s | Rill/Redis | Rill p50/p99 ms | Redis p50/p99 ms |\n"
                  "|---|---:|---:|---:|---:|---:|\n")
        table = header + "".join(
            f"| {n} | {a:,.0f} | {b:,.0f} | {r:.2f} | {p50a:.3f} / {p99a:.3f} | {p50b:.3f} / {p99b:.3f} |\n"
            for n, a, b, r, p50a, p99a, p50b, p99b in rows)
        table += (f"| bytes per entry (1M entries, used_memory delta) | {memory['rill']:.1f} | {memory['redis']:.1f} "
                  f"| {memory['rill'] / memory['redis']:.2f} | | |\n")
        machine = (f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
                   f"{time.strftime('%Y-%m-%d')}, {args.requests} requests x {args.rounds} rounds, medians")
        print()
        print(machine)
        print(table)
        if args.markdown:
            with open(args.markdown, "w") as out:
                out.write(machine + "\n\n" + table)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
