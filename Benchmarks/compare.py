#!/usr/bin/env python3
"""Side-by-side throughput of rill-server and redis-server on the same redis-benchmark workloads.

    python3 Benchmarks/compare.py [--rill PATH] [--redis PATH] [--requests N] [--rounds R] [--markdown FILE]

Starts both servers on free loopback ports with equivalent settings (no persistence), fills a 1M-entry stream in
each, then runs every workload against both in alternation (Rill, Redis, Rill, Redis ...) and prints ops/s, p50 and
the ratio Rill/Redis of the medians. Needs redis-benchmark and redis-cli (Debian's redis-tools).

The consumer-group drain workload compiles Benchmarks/drain_worker.c (gcc and hiredis, Debian's libhiredis-dev) and
runs it with 1 and with 8 worker processes against a fresh group created at 0 on the 1M-entry stream: each worker
loops XREADGROUP COUNT 100 then one XACK of the returned ids until the group has delivered everything; entries/s is
the 1M entries over the span from the first worker's first read to the last worker's last XACK. The pending-entry
memory row is the used_memory delta after one worker reads all 1M entries into a group without acknowledging them.
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
DRAIN_WORKERS = (1, 8)
DRAIN_BATCH = 100
DRAIN_GROUP = "bench:drain"
PENDING_GROUP = "bench:pending"
WORKER_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "drain_worker.c")


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


def compile_worker(workdir):
    """Builds drain_worker.c into workdir; returns its path, or None with the reason printed when it cannot."""
    if shutil.which("gcc") is None or shutil.which("pkg-config") is None:
        print("skipping the consumer-group drain: gcc or pkg-config is missing", file=sys.stderr)
        return None
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "hiredis"], capture_output=True, text=True)
    if flags.returncode != 0:
        print("skipping the consumer-group drain: hiredis not found (install libhiredis-dev)", file=sys.stderr)
        return None
    binary = os.path.join(workdir, "drain_worker")
    subprocess.run(["gcc", "-O2", "-o", binary, WORKER_SOURCE, *flags.stdout.split()], check=True)
    return binary


def run_workers(worker, server, group, workers, *options):
    """Runs `workers` drain_worker processes on group; returns (entries processed, seconds from first read to last
    acknowledgement across all of them)."""
    processes = [subprocess.Popen([worker, "127.0.0.1", str(server.port), "bench:big", group, f"worker-{n}",
                                   str(DRAIN_BATCH), *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
                 for n in range(workers)]
    summaries = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        if process.returncode != 0:
            raise RuntimeError(f"{server.name}: drain_worker failed: {stderr.strip()}")
        summaries.append(dict(field.split("=", 1) for field in stdout.split()))
    processed = sum(int(s["processed"]) for s in summaries)
    span = max(float(s["end"]) for s in summaries) - min(float(s["start"]) for s in summaries)
    return processed, span


def create_group(server, group):
    reply = server.cli("XGROUP", "CREATE", "bench:big", group, "0")
    if reply != "OK":
        raise RuntimeError(f"{server.name}: XGROUP CREATE answered {reply!r} (a binary without consumer groups?)")


def drain(worker, server, workers):
    """Entries/s of `workers` workers draining the 1M-entry stream through a fresh group (XREADGROUP + XACK)."""
    create_group(server, DRAIN_GROUP)
    try:
        processed, span = run_workers(worker, server, DRAIN_GROUP, workers)
        if processed != PREFILL_ENTRIES:
            raise RuntimeError(f"{server.name}: drained {processed} entries, expected {PREFILL_ENTRIES}")
        if server.cli("XPENDING", "bench:big", DRAIN_GROUP).splitlines()[0] != "0":
            raise RuntimeError(f"{server.name}: entries left pending after the drain")
    finally:
        server.cli("XGROUP", "DESTROY", "bench:big", DRAIN_GROUP)
    return processed / span


def pending_entry_bytes(worker, server):
    """used_memory delta per entry after reading the whole stream into a group without XACK."""
    before = used_memory(server)
    create_group(server, PENDING_GROUP)
    try:
        processed, _span = run_workers(worker, server, PENDING_GROUP, 1, "--leave-pending")
        pending = int(server.cli("XPENDING", "bench:big", PENDING_GROUP).splitlines()[0])
        if processed != PREFILL_ENTRIES or pending != PREFILL_ENTRIES:
            raise RuntimeError(f"{server.name}: {pending} pending after reading {processed} entries")
        return (used_memory(server) - before) / PREFILL_ENTRIES
    finally:
        server.cli("XGROUP", "DESTROY", "bench:big", PENDING_GROUP)


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
        worker = compile_worker(workdir)
        drain_rows = []
        if worker:
            for workers in DRAIN_WORKERS:
                rates = {"rill": [], "redis": []}
                for _ in range(args.rounds):
                    for server in (rill, redis):
                        rates[server.name].append(drain(worker, server, workers))
                rill_rate, redis_rate = statistics.median(rates["rill"]), statistics.median(rates["redis"])
                name = (f"consumer-group drain, {workers} worker{'s' if workers > 1 else ''} "
                        f"(XREADGROUP COUNT {DRAIN_BATCH} + XACK, 1M entries), entries/s")
                drain_rows.append((name, rill_rate, redis_rate))
                print(f"{name}: rill {rill_rate:,.0f}, redis {redis_rate:,.0f}, ratio {rill_rate / redis_rate:.2f}",
                      flush=True)
            for server in (rill, redis):
                memory[f"{server.name} pending"] = pending_entry_bytes(worker, server)
        header = ("| workload | Rill ops/s | Redis ops/s | Rill/Redis | Rill p50/p99 ms | Redis p50/p99 ms |\n"
                  "|---|---:|---:|---:|---:|---:|\n")
        table = header + "".join(
            f"| {n} | {a:,.0f} | {b:,.0f} | {r:.2f} | {p50a:.3f} / {p99a:.3f} | {p50b:.3f} / {p99b:.3f} |\n"
            for n, a, b, r, p50a, p99a, p50b, p99b in rows)
        table += "".join(f"| {n} | {a:,.0f} | {b:,.0f} | {a / b:.2f} | | |\n" for n, a, b in drain_rows)
        table += (f"| bytes per entry (1M entries, used_memory delta) | {memory['rill']:.1f} | {memory['redis']:.1f} "
                  f"| {memory['rill'] / memory['redis']:.2f} | | |\n")
        if "rill pending" in memory:
            rill_pending, redis_pending = memory["rill pending"], memory["redis pending"]
            table += (f"| bytes per pending entry (1M in one consumer's PEL, used_memory delta) | {rill_pending:.1f} "
                      f"| {redis_pending:.1f} | {rill_pending / redis_pending:.2f} | | |\n")
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
