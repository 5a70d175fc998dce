#!/usr/bin/env python3
"""The cost of the ACL permission check on XADD: the default user (every right) against a restricted user (one
command, one key pattern, so every XADD is checked against its key), on Rill and on Redis 8.2.3 side by side.

    python3 Benchmarks/acl_check.py RILL_BINARY [BASELINE_RILL_BINARY]      (ROUNDS=3, REQUESTS=400000)

Starts the servers at once (a baseline Rill without ACLs too, when given), creates on each the user
`bench-writer on >bench ~bench:* resetchannels -@all +xadd`, then for each round runs redis-benchmark
`XADD bench:xadd * (3 fields)` with -c 50 -P 16 against every server as each user in turn, reading the server's user
and system CPU time from /proc/<pid>/stat around the run. Prints medians: ops/s and server CPU microseconds per
request. On a shared machine the CPU time per request is the steadier figure; alternating is what makes the columns
comparable.
"""
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import XADD_3_FIELDS, free_port, reference_redis, wait_for_pong  # noqa: E402

USER_RULES = ["on", ">bench", "~bench:*", "resetchannels", "-@all", "+xadd"]
COMMAND = ["XADD", "bench:xadd", "*", *XADD_3_FIELDS]


class Server:
    def __init__(self, name, binary, folder):
        self.name, self.port = name, free_port()
        arguments = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", folder, "--save", "",
                     "--appendonly", "no"]
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
        wait_for_pong(self.port, self.process)
        self.has_acl = self.cli("ACL", "SETUSER", "bench-writer", *USER_RULES) == "OK"

    def cpu_seconds(self):
        """User plus system CPU seconds the server has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *map(str, args)], capture_output=True,
                              text=True).stdout.strip()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


def run_benchmark(server, user, requests):
    """(ops/s, server CPU microseconds per request)."""
    credentials = ["--user", "bench-writer", "-a", "bench"] if user == "restricted" else []
    server.cli("DEL", "bench:xadd")
    before = server.cpu_seconds()
    out = subprocess.run(["timeout", "600", "redis-benchmark", "-p", str(server.port), *credentials, "-c", "50",
                          "-P", "16", "-n", str(requests), "-r", "1000000", "--csv", *COMMAND],
                         capture_output=True, text=True).stdout
    cpu = server.cpu_seconds() - before
    for line in out.splitlines()[1:]:
        fields = [field.strip('"') for field in line.split('","')]
        if len(fields) >= 7:
            return float(fields[1]), cpu / requests * 1e6
    raise RuntimeError(f"{server.name}: redis-benchmark gave no result: {out!r}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rounds, requests = int(os.environ.get("ROUNDS", "3")), int(os.environ.get("REQUESTS", "400000"))
    binaries = [("rill", sys.argv[1]), ("redis-8.2.3", reference_redis())]
    if len(sys.argv) > 2:
        binaries.append(("rill-before-acl", sys.argv[2]))
    with tempfile.TemporaryDirectory() as scratch:
        servers = []
        try:
            for name, binary in binaries:
                folder = os.path.join(scratch, name)
                os.mkdir(folder)
                servers.append(Server(name, binary, folder))
            runs = [(server, user) for server in servers
                    for user in (["default", "restricted"] if server.has_acl else ["default"])]
            samples = {(server.name, user): [] for server, user in runs}
            for round_number in range(rounds):
                for server, user in runs:
                    samples[(server.name, user)].append(run_benchmark(server, user, requests))
                print(f"round {round_number + 1}/{rounds} done", flush=True)
            print("| server | user | ops/s (median) | server CPU us/request (median) |")
            print("|---|---|---:|---:|")
            for (name, user), values in samples.items():
                ops = statistics.median(value[0] for value in values)
                cpu = statistics.median(value[1] for value in values)
                print(f"| {name} | {user} | {ops:,.0f} | {cpu:.3f} |")
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
