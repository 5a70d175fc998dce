#!/usr/bin/env python3
"""Paired comparison of rill-server binaries on the two issue-6 rows below Redis: XREAD COUNT 100 on the 1M-entry
stream (-c 50) and XADD 3 fields (-c 50 -P 16).

    python3 Benchmarks/reply_ab.py BINARY_A BINARY_B [...]      (ROUNDS=5 by default)

Starts every binary at once, fills each one's 1M-entry stream (the prefill of compare.py), then for each round runs
each workload against each binary in turn (A, B, A, B, ...) and reads the server's user and system CPU time from
/proc/<pid>/stat around the run. Prints medians per binary: ops/s and CPU microseconds per request. On a shared
machine the CPU time per request is the steadier figure; alternating is what makes either comparable.
"""
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import (BIG_STREAM, PREFILL_ENTRIES, XADD_3_FIELDS, free_port, prefill,  # noqa: E402
                     redis_benchmark, wait_for_pong)

WORKLOADS = [
    ("XREAD COUNT 100 -c 50", 50, 1, 100_000, ["XREAD", "COUNT", "100", "STREAMS", BIG_STREAM, "__rand_int__"]),
    ("XADD 3 fields -c 50 -P 16", 50, 16, 400_000, ["XADD", "bench:xadd", "*", *XADD_3_FIELDS]),
]


class Server:
    def __init__(self, binary, folder):
        self.binary, self.name, self.port = binary, binary, free_port()
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", folder,
                                         "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
        wait_for_pong(self.port, self.process)

    def cpu_seconds(self):
        """(user, system) CPU seconds the server has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / ticks, int(fields[12]) / ticks

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *map(str, args)], capture_output=True,
                              text=True, check=True).stdout.strip()


def main():
    binaries = sys.argv[1:]
    if len(binaries) < 2:
        sys.exit(__doc__)
    rounds = int(os.environ.get("ROUNDS", "5"))
    with tempfile.TemporaryDirectory() as scratch:
        servers = []
        try:
            for number, binary in enumerate(binaries):
                folder = os.path.join(scratch, str(number))
                os.mkdir(folder)
                servers.append(Server(binary, folder))
            for server in servers:
                prefill(server, BIG_STREAM, PREFILL_ENTRIES)
                if server.cli("XLEN", BIG_STREAM) != str(PREFILL_ENTRIES):
                    sys.exit(f"{server.binary}: prefill incomplete")
            samples = {(name, n): [] for name, *_ in WORKLOADS for n in range(len(servers))}
            for _ in range(rounds):
                for name, clients, pipeline, requests, command in WORKLOADS:
                    for number, server in enumerate(servers):
                        user_before, system_before = server.cpu_seconds()
                        ops = redis_benchmark(server, clients, pipeline, requests, command)[0]
                        user_after, system_after = server.cpu_seconds()
                        samples[(name, number)].append((ops, (user_after - user_before) / requests * 1e6,
                                                        (system_after - system_before) / requests * 1e6))
            print("| workload | binary | ops/s | user us/req | system us/req |")
            print("|---|---|---:|---:|---:|")
            for name, *_ in WORKLOADS:
                for number, server in enumerate(servers):
                    columns = list(zip(*samples[(name, number)]))
                    ops, user, system = (statistics.median(column) for column in columns)
                    print(f"| {name} | {server.binary} | {ops:,.0f} | {user:.2f} | {system:.2f} |")
        finally:
            for server in servers:
                server.process.terminate()
                server.process.wait()


if __name__ == "__main__":
    main()
