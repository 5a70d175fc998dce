#!/usr/bin/env python3
"""Soak test (issue 15): rill-server under a mixed load for a while, with pass/fail criteria.

    python3 Benchmarks/soak.py                          # 10 minutes against .build/release/rill-server (built here)
    python3 Benchmarks/soak.py --duration 20 --bucket 4 --warmup 8 --storm-every 5 --rill .build/debug/rill-server

Starts its own rill-server on a free loopback port (release build by default: `swift build -c release` first) with
`maxclients` set low, and runs at the same time:
  - producers: XADD to an events stream and a jobs stream, both capped with MAXLEN ~, each id they get back kept;
  - group workers: XREADGROUP > on the jobs stream and XACK; now and then one "crashes" after reading a batch (its
    socket reset, nothing acknowledged) and restarts under the same consumer name, first taking back its own pending
    entries (XREADGROUP ... 0) and acknowledging them;
  - blocked readers: XREAD BLOCK on the busy events stream and on a quiet stream written every few seconds;
  - a slow reader: a socket with a small receive buffer reading XRANGE replies a few KB at a time (output back-pressure);
  - reconnect storms: every --storm-every seconds, more connections than `maxclients` at once (the surplus is refused
    with "max number of clients reached"), then a burst of connect/PING/close;
  - a probe: PING every 10 ms on its own connection.
Once a second it samples the server's RSS (/proc/PID/status) and open descriptors (/proc/PID/fd).

At the end it stops the load, lets the workers drain the group, and checks (exit status 1 when one fails):
  - RSS: the median of the last bucket is at most the median of the first bucket after warm-up plus --rss-growth
    (fraction) plus 8 MB (allocator slack);
  - descriptors: back to the count before the load (within 30 s of the clients closing);
  - latency: each bucket's PING and XADD p99 after warm-up is within --p99-factor of the median of those p99s (relative,
    so a shared machine's absolute figures do not decide);
  - errors: none other than the expected kinds (maxclients refusals while a storm holds every slot, and the resets of
    the workers' deliberate crashes), and INFO's rejected_connections equals the refusals counted;
  - data: every acknowledged XADD is in its stream or older than the stream's first entry (trimmed by MAXLEN), the
    entries present are exactly the acknowledged ones from there on, and XINFO STREAM's entries-added equals the
    number of acknowledged XADDs;
  - the group: pending counts agree between XINFO GROUPS, XPENDING's summary, XINFO CONSUMERS and the XPENDING list;
    after the drain nothing is pending, the group has delivered up to the last entry, and the XACKs that removed an
    entry add up to the entries delivered by `>`.
Writes a CSV per bucket (--csv) and, when matplotlib is there, RSS and p99 over time (--png).
"""
import argparse
import collections
import csv
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import RESPConnection, free_port, wait_for_pong  # noqa: E402

EVENTS, JOBS, QUIET, GROUP = "soak:events", "soak:jobs", "soak:quiet", "workers"
MAXCLIENTS_REFUSAL = "max number of clients reached"
WORKER_CRASH = "group worker crash (socket reset, batch left pending)"
# A refusal seen this long after a storm closed its connections still counts as the storm's: the server takes a
# moment to see the closes, and a connection attempt may have started before.
STORM_AFTERMATH_SECONDS = 3.0
# Megabytes of RSS growth allowed on top of --rss-growth: jemalloc keeps freed pages for a while (dirty decay).
RSS_SLACK_MB = 8.0


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Soak:
    """What the load threads share: the clock, the stop flag, latency and error tallies, and the ids acknowledged."""

    def __init__(self, options, port, pid):
        self.options = options
        self.port = port
        self.pid = pid
        self.started = time.monotonic()
        self.stop_load = threading.Event()
        self.lock = threading.Lock()
        # bucket index -> command -> latencies in ms
        self.latencies = collections.defaultdict(lambda: collections.defaultdict(list))
        self.expected = collections.Counter()
        self.unexpected = collections.Counter()
        self.unexpected_examples = {}
        self.counts = collections.Counter()
        self.storm_active = threading.Event()
        self.storm_ended = float("-inf")
        # Per stream: how many XADDs were acknowledged, and the newest ids acknowledged (enough to cover MAXLEN).
        self.acknowledged = {EVENTS: 0, JOBS: 0, QUIET: 0}
        self.recent_ids = {name: collections.deque(maxlen=options.maxlen * 3) for name in self.acknowledged}
        self.samples = []  # (seconds, rss MB, fds)

    def elapsed(self):
        return time.monotonic() - self.started

    def bucket(self):
        return int(self.elapsed() // self.options.bucket)

    def client(self, **extra):
        # No retries inside redis-py: each refused connection must reach classify() to be counted.
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=60, single_connection_client=True,
                           retry=Retry(NoBackoff(), 0), **extra)

    def record(self, command, milliseconds):
        with self.lock:
            self.latencies[self.bucket()][command].append(milliseconds)

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] += n

    def error(self, kind, exception=None, expected=False):
        with self.lock:
            if expected:
                self.expected[kind] += 1
            else:
                self.unexpected[kind] += 1
                self.unexpected_examples.setdefault(kind, repr(exception))

    def classify(self, role, exception):
        """A maxclients refusal while a storm holds the slots is expected; anything else is not."""
        if MAXCLIENTS_REFUSAL in str(exception) and self.in_storm():
            self.error(f"maxclients refusal ({role}, during a storm)", expected=True)
        else:
            self.error(f"{role}: {type(exception).__name__}: {str(exception)[:60]}", exception)

    def in_storm(self):
        return self.storm_active.is_set() or time.monotonic() - self.storm_ended < STORM_AFTERMATH_SECONDS

    def connect_retrying(self, role, **extra):
        """A client that has answered PING; retried while a storm fills every slot."""
        while True:
            client = None
            try:
                # A single-connection client connects in its constructor: a refusal can come from either line.
                client = self.client(**extra)
                client.ping()
                return client
            except redis.RedisError as exception:
                if client is not None:
                    client.close()
                self.classify(role, exception)
                if self.stop_load.is_set() and not self.in_storm():
                    raise
                time.sleep(0.05)


# --- the load --------------------------------------------------------------------------------------------------------

class Producer:
    """One connection adding entries; every acknowledged id is kept, a failed XADD counted as of unknown outcome."""

    def __init__(self, soak, role):
        self.soak = soak
        self.role = role
        self.client = soak.connect_retrying(role)

    def add(self, stream, fields):
        soak = self.soak
        started = time.perf_counter()
        try:
            entry_id = self.client.xadd(stream, fields, maxlen=soak.options.maxlen, approximate=True)
        except redis.RedisError as exception:
            # The data check counts it as possibly added.
            soak.classify(self.role, exception)
            soak.count(f"xadd outcome unknown {stream}")
            self.client.close()
            self.client = soak.connect_retrying(self.role)
            return
        soak.record("XADD", (time.perf_counter() - started) * 1000)
        with soak.lock:
            soak.acknowledged[stream] += 1
            soak.recent_ids[stream].append(entry_id.decode())


def producer(soak, index):
    producing = Producer(soak, "producer")
    sequence = 0
    while not soak.stop_load.is_set():
        sequence += 1
        producing.add(JOBS if sequence % 2 else EVENTS, {"p": index, "n": sequence, "body": "x" * 64})
    producing.client.close()


def quiet_producer(soak):
    """One entry every few seconds on the stream half of the blocked readers wait on."""
    producing = Producer(soak, "quiet producer")
    while not soak.stop_load.wait(soak.options.quiet_every):
        producing.add(QUIET, {"tick": int(soak.elapsed())})
    producing.client.close()


def reset_and_close(client):
    """Drops the connection as a crashing process would: SO_LINGER 0 makes the close a reset."""
    connection = client.connection
    sock = getattr(connection, "_sock", None) if connection else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


def group_worker(soak, index):
    """Reads the jobs stream in the group and acknowledges; crashes now and then and recovers its own backlog."""
    name = f"worker-{index}"
    rng = random.Random(index)
    recovering = True
    client = soak.connect_retrying("group worker")
    while True:
        draining = soak.stop_load.is_set()
        try:
            if recovering:
                # After a (re)start: what this consumer was given and never acknowledged, oldest first.
                reply = client.xreadgroup(GROUP, name, {JOBS: "0"}, count=100)
                ids = [entry_id for entry_id, _ in reply[0][1]] if reply else []
                if ids:
                    soak.count("acknowledged", client.xack(JOBS, GROUP, *ids))
                    soak.count("recovered after crash", len(ids))
                    continue
                recovering = False
            reply = client.xreadgroup(GROUP, name, {JOBS: ">"}, count=10, block=500)
            ids = [entry_id for entry_id, _ in reply[0][1]] if reply else []
            soak.count("delivered", len(ids))
            if not ids and draining:
                break
            if ids and not draining and rng.random() < soak.options.crash_probability:
                # Crash with the batch unacknowledged; a restart under the same name takes it back.
                reset_and_close(client)
                soak.error(WORKER_CRASH, expected=True)
                client = soak.connect_retrying("group worker")
                recovering = True
                continue
            if ids:
                soak.count("acknowledged", client.xack(JOBS, GROUP, *ids))
        except redis.RedisError as exception:
            soak.classify("group worker", exception)
            client.close()
            client = soak.connect_retrying("group worker")
            recovering = True
    client.close()


def blocked_reader(soak, stream):
    client = soak.connect_retrying("blocked reader")
    last_id = "$"
    while not soak.stop_load.is_set():
        try:
            reply = client.xread({stream: last_id}, count=200, block=2000)
        except redis.RedisError as exception:
            soak.classify("blocked reader", exception)
            client.close()
            client = soak.connect_retrying("blocked reader")
            continue
        if not reply:
            soak.count(f"blocked read timed out ({stream})")
            continue
        entries = reply[0][1]
        ids = [tuple(map(int, entry_id.decode().split("-"))) for entry_id, _ in entries]
        if last_id != "$" and (ids != sorted(ids) or ids[0] <= tuple(map(int, last_id.split("-")))):
            soak.error("blocked reader: entries out of order", ids[:3])
        last_id = entries[-1][0].decode()
        soak.count(f"read by blocked readers ({stream})", len(entries))
    client.close()


class SlowSocket(RESPConnection):
    """A RESP reader over a socket with a small receive buffer that takes a few KB at a time with pauses, so the
    server's output for it backs up."""

    error_type = redis.ResponseError
    receive_size = 4096

    def __init__(self, port):
        super().__init__(port, timeout=120, receive_buffer=4096)

    def fill(self):
        super().fill()
        time.sleep(0.005)


def slow_reader(soak):
    connection = None
    while not soak.stop_load.is_set():
        try:
            if connection is None:
                connection = SlowSocket(soak.port)
            entries = connection.call("XRANGE", EVENTS, "-", "+", "COUNT", 2000)
            if isinstance(entries, bytes) and MAXCLIENTS_REFUSAL.encode() in entries:
                raise redis.ResponseError(entries.decode())
            soak.count("entries read by the slow reader", len(entries))
        except (OSError, redis.RedisError) as exception:
            soak.classify("slow reader", exception)
            if connection:
                connection.close()
            connection = None
            time.sleep(0.05)
    if connection:
        connection.close()


def storms(soak):
    """Every --storm-every seconds: more connections than maxclients at once, then a connect/PING/close burst."""
    while not soak.stop_load.wait(soak.options.storm_every):
        soak.storm_active.set()
        held = []
        try:
            for _ in range(soak.options.maxclients + soak.options.storm_surplus):
                sock = socket.create_connection(("127.0.0.1", soak.port), timeout=30)
                sock.sendall(b"PING\r\n")
                reply = sock.recv(256)
                if reply.startswith(b"+PONG"):
                    held.append(sock)
                    continue
                sock.close()
                if MAXCLIENTS_REFUSAL.encode() in reply:
                    soak.count("storm refusals")
                    soak.error("maxclients refusal (storm connection)", expected=True)
                else:
                    soak.error(f"storm: unexpected reply {reply[:40]!r}", reply)
            soak.count("storm connections accepted", len(held))
        except OSError as exception:
            soak.error(f"storm: {type(exception).__name__}: {exception}", exception)
        finally:
            for sock in held:
                sock.close()
        # Connections close asynchronously on the server; others may be refused until it has seen these closes.
        soak.storm_ended = time.monotonic()
        soak.storm_active.clear()
        for _ in range(soak.options.churn):
            try:
                with socket.create_connection(("127.0.0.1", soak.port), timeout=30) as sock:
                    sock.sendall(b"PING\r\n")
                    reply = sock.recv(256)
                    if not reply.startswith(b"+PONG"):
                        soak.error(f"churn: unexpected reply {reply[:40]!r}", reply)
                soak.count("churn connections")
            except OSError as exception:
                soak.error(f"churn: {type(exception).__name__}", exception)
        soak.count("storms")


def probe(soak):
    client = soak.connect_retrying("probe")
    while not soak.stop_load.wait(0.01):
        started = time.perf_counter()
        try:
            client.ping()
        except redis.RedisError as exception:
            soak.classify("probe", exception)
            client.close()
            client = soak.connect_retrying("probe")
            continue
        soak.record("PING", (time.perf_counter() - started) * 1000)
    client.close()


def read_status_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def sampler(soak, stop):
    while not stop.wait(1.0):
        soak.samples.append((soak.elapsed(), read_status_mb(soak.pid), open_descriptors(soak.pid)))


# --- the checks ------------------------------------------------------------------------------------------------------

def stream_id(text):
    milliseconds, sequence = text.split("-")
    return int(milliseconds), int(sequence)


def check_streams(soak, client, failures):
    for stream in (EVENTS, JOBS, QUIET):
        acknowledged = soak.acknowledged[stream]
        unknown = soak.counts[f"xadd outcome unknown {stream}"]
        if acknowledged == 0:
            failures.append(f"{stream}: no XADD was acknowledged")
            continue
        info = client.xinfo_stream(stream)
        added = info["entries-added"]
        if not acknowledged <= added <= acknowledged + unknown:
            failures.append(f"{stream}: entries-added {added}, acknowledged XADDs {acknowledged} "
                            f"(+{unknown} of unknown outcome)")
        present = [entry_id.decode() for entry_id, _ in client.xrange(stream)]
        first = stream_id(present[0]) if present else (2**64, 0)
        recent = list(soak.recent_ids[stream])
        expected = [entry_id for entry_id in recent if stream_id(entry_id) >= first]
        if len(recent) < acknowledged and recent and min(map(stream_id, recent)) >= first:
            failures.append(f"{stream}: the ids kept do not reach back to the stream's first entry")
        missing = set(expected) - set(present)
        foreign = set(present) - set(expected) if unknown == 0 else set()
        if missing:
            failures.append(f"{stream}: {len(missing)} acknowledged entries missing, e.g. {sorted(missing)[:3]}")
        if foreign:
            failures.append(f"{stream}: {len(foreign)} entries nobody acknowledged, e.g. {sorted(foreign)[:3]}")
        soak.count(f"{stream} entries at the end", len(present))


def check_group(soak, client, failures):
    groups = {group["name"].decode(): group for group in client.xinfo_groups(JOBS)}
    group = groups.get(GROUP)
    if group is None:
        failures.append(f"the group {GROUP} is gone")
        return
    summary = client.xpending(JOBS, GROUP)
    consumers = client.xinfo_consumers(JOBS, GROUP)
    listed = client.xpending_range(JOBS, GROUP, "-", "+", 1_000_000)
    per_consumer = sum(consumer["pending"] for consumer in consumers)
    counts = {"XINFO GROUPS": group["pending"], "XPENDING": summary["pending"], "XINFO CONSUMERS": per_consumer,
              "XPENDING list": len(listed)}
    if len(set(counts.values())) != 1:
        failures.append(f"group pending counts disagree: {counts}")
    if group["pending"] != 0:
        failures.append(f"{group['pending']} entries still pending after the drain")
    last_entry = client.xrevrange(JOBS, count=1)[0][0]
    if group["last-delivered-id"] != last_entry:
        failures.append(f"the group delivered up to {group['last-delivered-id']}, the stream ends at {last_entry}")
    if soak.counts["acknowledged"] != soak.counts["delivered"]:
        failures.append(f"XACK removed {soak.counts['acknowledged']} entries, `>` delivered {soak.counts['delivered']}")


def bucket_rows(soak):
    rows = []
    # The last bucket may start at the very end of the run; it holds a few requests and is left out.
    for bucket in sorted(b for b in soak.latencies if b * soak.options.bucket < soak.options.duration - 1):
        samples = [(rss, fds) for seconds, rss, fds in soak.samples
                   if bucket * soak.options.bucket <= seconds < (bucket + 1) * soak.options.bucket]
        row = {"bucket": bucket, "start_s": bucket * soak.options.bucket,
               "rss_mb": round(statistics.median(s[0] for s in samples), 1) if samples else "",
               "fds_max": max(s[1] for s in samples) if samples else ""}
        for command in ("PING", "XADD"):
            values = soak.latencies[bucket][command]
            row[f"{command.lower()}_ops"] = len(values)
            row[f"{command.lower()}_p50_ms"] = round(percentile(values, 0.50), 3)
            row[f"{command.lower()}_p99_ms"] = round(percentile(values, 0.99), 3)
        rows.append(row)
    return rows


def check_latency_and_rss(soak, rows, failures):
    options = soak.options
    settled = [row for row in rows if row["start_s"] >= options.warmup
               and (row["start_s"] + options.bucket) <= options.duration and row["rss_mb"] != ""]
    if len(settled) < 2:
        failures.append(f"only {len(settled)} full buckets after warm-up: lengthen --duration")
        return {}
    for command in ("ping", "xadd"):
        p99s = [row[f"{command}_p99_ms"] for row in settled]
        median = statistics.median(p99s)
        worst = max(p99s)
        if worst > options.p99_factor * median:
            failures.append(f"{command.upper()} p99 {worst:.2f} ms in one bucket, over {options.p99_factor}x the "
                            f"median p99 {median:.2f} ms")
    first, last = settled[0]["rss_mb"], settled[-1]["rss_mb"]
    allowed = first * (1 + options.rss_growth) + RSS_SLACK_MB
    if last > allowed:
        failures.append(f"RSS grew from {first} MB after warm-up to {last} MB (allowed {allowed:.1f} MB)")
    return {"rss_after_warmup_mb": first, "rss_end_mb": last, "rss_allowed_mb": round(allowed, 1)}


def write_plot(path, soak, rows):
    try:
        import matplotlib
    except ImportError:
        print("no plot: matplotlib is not installed", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, (rss_axes, latency_axes) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    rss_axes.plot([s[0] for s in soak.samples], [s[1] for s in soak.samples], color="#3a6ea5", linewidth=1)
    rss_axes.axvline(soak.options.warmup, color="grey", linestyle="--", linewidth=1)
    rss_axes.set_ylabel("rill-server RSS (MB)")
    rss_axes.set_ylim(bottom=0)
    rss_axes.set_title(f"Soak: {soak.options.duration:.0f} s mixed load (dashed line: end of warm-up)", fontsize=9)
    middles = [row["start_s"] + soak.options.bucket / 2 for row in rows]
    for command, colour in (("ping", "#3a923a"), ("xadd", "#c0504d")):
        latency_axes.plot(middles, [row[f"{command}_p99_ms"] for row in rows], marker="o", color=colour,
                          label=f"{command.upper()} p99")
        latency_axes.plot(middles, [row[f"{command}_p50_ms"] for row in rows], marker=".", linestyle=":",
                          color=colour, label=f"{command.upper()} p50")
    latency_axes.set_ylabel("latency per bucket (ms)")
    latency_axes.set_xlabel("seconds since start")
    latency_axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# --- the run ---------------------------------------------------------------------------------------------------------

def start_server(options, folder):
    binary = os.path.abspath(options.rill) if options.rill else None
    if binary is None:
        subprocess.run(["swift", "build", "-c", "release", "--product", "rill-server"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, ".build", "release", "rill-server")
    port = free_port()
    log = open(os.path.join(folder, "server.log"), "wb")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", "",
                                "--appendonly", "no", "--maxclients", str(options.maxclients)],
                               stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    wait_for_pong(port, process)
    return process, port


def run(options, process, port):
    soak = Soak(options, port, process.pid)
    admin = soak.client()
    admin.xgroup_create(JOBS, GROUP, id="$", mkstream=True)
    baseline_fds = open_descriptors(process.pid)
    sampling_done = threading.Event()
    sampling = threading.Thread(target=sampler, args=(soak, sampling_done), daemon=True)
    sampling.start()

    load = [threading.Thread(target=producer, args=(soak, n)) for n in range(options.producers)]
    load.append(threading.Thread(target=quiet_producer, args=(soak,)))
    workers = [threading.Thread(target=group_worker, args=(soak, n)) for n in range(options.workers)]
    load += [threading.Thread(target=blocked_reader, args=(soak, EVENTS if n % 2 else QUIET))
             for n in range(options.blocked_readers)]
    load += [threading.Thread(target=slow_reader, args=(soak,)), threading.Thread(target=storms, args=(soak,)),
             threading.Thread(target=probe, args=(soak,))]
    for thread in load + workers:
        thread.start()
    while soak.elapsed() < options.duration:
        time.sleep(min(5.0, options.duration - soak.elapsed()))
        if process.poll() is not None:
            break
        if options.progress:
            rss, fds = (soak.samples[-1][1], soak.samples[-1][2]) if soak.samples else (0, 0)
            print(f"{soak.elapsed():6.0f} s  rss {rss:.1f} MB  fds {fds}  xadd {sum(soak.acknowledged.values())}  "
                  f"unexpected {sum(soak.unexpected.values())}", flush=True)
    soak.stop_load.set()
    for thread in load:
        thread.join(timeout=120)
    # The producers have stopped: the workers read what is left and leave (join waits for the drain).
    for thread in workers:
        thread.join(timeout=300)

    failures = []
    if process.poll() is not None:
        failures.append(f"rill-server exited with status {process.returncode}")
        return soak, failures, {}
    stuck = [thread.name for thread in load + workers if thread.is_alive()]
    if stuck:
        failures.append(f"load threads did not finish: {stuck}")
    deadline = time.monotonic() + 30
    while open_descriptors(process.pid) > baseline_fds and time.monotonic() < deadline:
        time.sleep(0.2)
    final_fds = open_descriptors(process.pid)
    sampling_done.set()
    sampling.join()
    if final_fds > baseline_fds:
        failures.append(f"{final_fds} descriptors open at the end, {baseline_fds} before the load")

    check_streams(soak, admin, failures)
    check_group(soak, admin, failures)
    stats = admin.info("stats")
    refusals = sum(count for kind, count in soak.expected.items() if kind.startswith("maxclients refusal"))
    if stats["rejected_connections"] != refusals:
        failures.append(f"INFO rejected_connections {stats['rejected_connections']}, refusals seen {refusals}")
    clients = admin.info("clients")["connected_clients"]
    if clients != 1:
        failures.append(f"{clients} clients connected at the end (only the checking one should be)")
    if soak.counts["storms"] == 0:
        failures.append("no reconnect storm ran: --storm-every is longer than the run")
    if soak.expected[WORKER_CRASH] == 0:
        failures.append("no group worker crashed: raise --crash-probability or --duration")
    for kind, count in soak.unexpected.items():
        failures.append(f"unexpected error x{count}: {kind} (first: {soak.unexpected_examples[kind]})")
    admin.close()
    return soak, failures, {"baseline_fds": baseline_fds, "final_fds": final_fds}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rill", help="rill-server binary (default: build and use .build/release/rill-server)")
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--warmup", type=float, default=120, help="seconds before RSS and p99 are judged")
    parser.add_argument("--bucket", type=float, default=60, help="seconds per latency bucket (default 60)")
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="group workers")
    parser.add_argument("--blocked-readers", type=int, default=8)
    parser.add_argument("--maxclients", type=int, default=64)
    parser.add_argument("--storm-every", type=float, default=30, help="seconds between reconnect storms")
    parser.add_argument("--storm-surplus", type=int, default=16, help="connections past maxclients in a storm")
    parser.add_argument("--churn", type=int, default=200, help="connect/PING/close cycles after each storm")
    parser.add_argument("--quiet-every", type=float, default=3, help="seconds between entries of the quiet stream")
    parser.add_argument("--maxlen", type=int, default=20000, help="MAXLEN ~ of the streams")
    parser.add_argument("--crash-probability", type=float, default=0.002, help="per batch read by a group worker")
    parser.add_argument("--rss-growth", type=float, default=0.10, help="RSS growth allowed after warm-up (fraction)")
    parser.add_argument("--p99-factor", type=float, default=4.0, help="a bucket's p99 over the median p99, at most")
    parser.add_argument("--csv", default=os.path.join(ROOT, "Benchmarks", "soak-latest.csv"))
    parser.add_argument("--png", default=os.path.join(ROOT, "Benchmarks", "soak-rss.png"))
    parser.add_argument("--progress", action="store_true", help="print a line every 5 s")
    options = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="rill-soak-")
    process, port = start_server(options, folder)
    try:
        soak, failures, descriptors = run(options, process, port)
    finally:
        process.terminate()
        process.wait()

    rows = bucket_rows(soak)
    figures = check_latency_and_rss(soak, rows, failures)
    with open(options.csv, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0].keys()) if rows else ["bucket"])
        writer.writeheader()
        writer.writerows(rows)
    write_plot(options.png, soak, rows)

    print(f"soak: {options.duration:.0f} s, warm-up {options.warmup:.0f} s, buckets of {options.bucket:.0f} s")
    print("bucket  start_s  rss_mb  fds_max  ping_ops  ping_p50  ping_p99  xadd_ops  xadd_p50  xadd_p99")
    for row in rows:
        print(f"{row['bucket']:6}  {row['start_s']:7.0f}  {row['rss_mb']:>6}  {row['fds_max']:>7}  "
              f"{row['ping_ops']:8}  {row['ping_p50_ms']:8.2f}  {row['ping_p99_ms']:8.2f}  {row['xadd_ops']:8}  "
              f"{row['xadd_p50_ms']:8.2f}  {row['xadd_p99_ms']:8.2f}")
    for name, value in {**figures, **descriptors}.items():
        print(f"{name}: {value}")
    for stream, count in soak.acknowledged.items():
        print(f"acknowledged XADD {stream}: {count}")
    for what, count in sorted(soak.counts.items()):
        print(f"{what}: {count}")
    for kind, count in sorted(soak.expected.items()):
        print(f"expected: {kind}: {count}")
    for kind, count in sorted(soak.unexpected.items()):
        print(f"UNEXPECTED: {kind}: {count}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        with open(os.path.join(folder, "server.log"), errors="replace") as log:
            print("server log tail:\n" + "".join(log.readlines()[-30:]))
        sys.exit(1)
    print("PASSED: RSS flat, descriptors back to baseline, p99 steady, no unexpected errors, data and group consistent")


if __name__ == "__main__":
    main()
