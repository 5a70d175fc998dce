"""Append-only file: every acknowledged write survives SIGKILL, replay rebuilds the same state, damaged files.

Each test runs its own servers with `--appendonly yes` and a `--dir` under pytest's tmp_path. Rill-only: the
shared suite also runs against a redis-server started with `--appendonly no`.
"""

import os
import random
import subprocess
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from support import aof_path, free_port, join_or_fail, wait_for_blocked_clients
from test_aof_effects import strip_fields
from test_persistence import client_of, fill_keyspace, observe, wait_for_rewrite

pytestmark = pytest.mark.rill_only


def start_aof(start_server, directory, *extra):
    return start_server("--dir", str(directory), "--save", "", "--appendonly", "yes", *extra)


def kill(server):
    server.process.kill()
    server.process.wait(timeout=10)


def full_state(client):
    """`observe`, whose XINFO STREAM FULL includes delivery times (recorded in the file as absolute XCLAIM TIMEs),
    without consumers' seen and active times (a replay sets them to when it runs, as in Redis)."""
    state = observe(client)
    for entry in state.values():
        if "full" in entry:
            entry["full"] = strip_fields(entry["full"], {b"seen-time", b"active-time"})
    return state


def survive_aof_restart(start_server, tmp_path, workload):
    """Runs `workload` with appendonly yes, kills the server, restarts replaying the file; asserts the same state
    (consumers' seen and active times aside: a replay sets them to when it runs)."""
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    result = workload(client)
    before = full_state(client)
    kill(first)
    second = start_aof(start_server, tmp_path)
    client = client_of(second)
    assert full_state(client) == before
    return client, result


def write_workload(client):
    fill_keyspace(client, seed=5)
    for i in range(300):
        client.xadd("capped", {"i": i}, maxlen=50, approximate=True)
    for i in range(300):
        client.xadd("by-minid", {"i": i})
    ids = [entry[0] for entry in client.xrange("by-minid")]
    client.xtrim("by-minid", minid=ids[150], approximate=True)
    client.xgroup_create("capped", "g", id="0")
    client.xreadgroup("g", "c1", {"capped": ">"}, count=10)
    client.xreadgroup("g", "c2", {"capped": ">"}, count=5, noack=True)
    pending = [entry["message_id"] for entry in client.xpending_range("capped", "g", "-", "+", 100)]
    client.xack("capped", "g", pending[0])
    client.xclaim("capped", "g", "c3", 0, pending[1:3])
    client.execute_command("XAUTOCLAIM", "capped", "g", "c4", 0, "0", "COUNT", 2)
    client.set("ex", "v", ex=1000)
    client.set("px", "v", px=2_000_000)
    client.set("gone", "v", px=1)
    client.expire("string", 5000)
    pipe = client.pipeline(transaction=True)
    pipe.xadd("in-multi", {"a": 1})
    pipe.xadd("in-multi", {"a": 2})
    pipe.set("multi-string", "x")
    pipe.execute()
    client.select(5)
    client.xadd("db5", {"f": "v"})
    client.select(0)


def test_replay_after_sigkill_restores_the_same_state(start_server, tmp_path):
    first = start_aof(start_server, tmp_path, "--appendfsync", "always")
    client = client_of(first)
    write_workload(client)
    time.sleep(0.01)
    before = full_state(client)
    client.select(5)
    before_db5 = client.xrange("db5")
    client.select(0)
    assert len(before_db5) == 1
    assert (0, b"capped") in before and len(before[(0, b"capped")]["range"]) < 300
    kill(first)

    with open(aof_path(tmp_path), "rb") as handle:
        logged = handle.read()
    assert b"MULTI" in logged and b"SELECT\r\n$1\r\n5" in logged and b"XCLAIM" in logged

    second = start_aof(start_server, tmp_path)
    client = client_of(second)
    assert client.info("persistence")["aof_enabled"] == 1
    assert full_state(client) == before
    client.select(5)
    assert client.xrange("db5") == before_db5
    client.select(0)
    # The restored state keeps working and keeps being logged: one more restart still has it.
    new_id = client.xadd("capped", {"after": "restart"})
    delivered = client.xreadgroup("g", "c1", {"capped": ">"})
    assert delivered[0][1][-1][0] == new_id
    after = full_state(client)
    kill(second)
    third = start_aof(start_server, tmp_path)
    assert full_state(client_of(third)) == after


def test_blocked_xreadgroup_served_later_is_logged(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    client.xgroup_create("s", "g", id="$", mkstream=True)
    result = {}

    def reader():
        result["reply"] = client_of(first).xreadgroup("g", "c", {"s": ">"}, block=5000)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)
    added = client.xadd("s", {"f": "v"})
    join_or_fail(thread)
    assert result["reply"][0][1][0][0] == added
    before = full_state(client)
    kill(first)
    second = start_aof(start_server, tmp_path)
    assert full_state(client_of(second)) == before


def test_existing_snapshot_becomes_the_start_of_the_aof(start_server, tmp_path):
    first = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(first)
    fill_keyspace(client, seed=8)
    before = observe(client)
    assert client.save() is True
    first.stop()
    second = start_aof(start_server, tmp_path)
    assert observe(client_of(second)) == before
    kill(second)
    os.remove(os.path.join(tmp_path, "dump.rdb"))
    third = start_aof(start_server, tmp_path)
    assert observe(client_of(third)) == before


def stream_id(entry_id):
    return tuple(map(int, entry_id.split(b"-")))


class CrashLoopModel:
    """What the crash loop's worker was told, and so what every restart must show.

    Only answered requests count; the one request in flight at each kill may or may not have landed, and the checks
    allow exactly that: an unanswered XADD may add one entry, an unanswered XREADGROUP may deliver entries, an
    unanswered XACK may acknowledge, an unanswered XCLAIM may move its entries, an unanswered trim may remove."""

    MAXLEN = 300

    def __init__(self):
        self.added = []              # ids whose XADD was answered, in order
        self.adds_in_flight = 0      # XADDs cut by a kill (each may have added one entry)
        self.maxlen_trims = []       # (id, MAXLEN) of answered `XADD MAXLEN =`: at most MAXLEN entries up to id
        self.minid_sent = (0, 0)     # highest MINID of any XTRIM sent: acknowledged adds below it may be gone
        self.minid_answered = (0, 0) # highest MINID of an answered XTRIM: nothing below it may remain
        self.delivered_up_to = (0, 0)  # highest id an answered XREADGROUP delivered
        self.pending = {}            # id -> consumer (None when an unanswered XCLAIM may have moved it)
        self.ack_sent = set()        # ids whose XACK was sent (answered or not)
        self.acked = set()           # ids whose XACK was answered

    def check(self, client, cycle):
        stream = [entry[0] for entry in client.xrange("log")]
        added = set(self.added)
        unknown = [entry_id for entry_id in stream if entry_id not in added]
        assert len(unknown) <= self.adds_in_flight, f"cycle {cycle}: entries nobody added {unknown}"
        # Every answered add is there unless an answered-or-not trim could have removed it: below the highest MINID
        # sent, or older than the MAXLEN newest (counting each unanswered add that may sit among them).
        keep_newest = self.MAXLEN - self.adds_in_flight if self.maxlen_trims else len(self.added)
        present = set(stream)
        lost = [entry_id for entry_id in self.added[-keep_newest:]
                if stream_id(entry_id) >= self.minid_sent and entry_id not in present]
        assert not lost, f"cycle {cycle}: acknowledged adds lost {lost}"
        # Answered trims stay done.
        assert all(stream_id(entry_id) >= self.minid_answered for entry_id in stream), f"cycle {cycle}: MINID undone"
        for last_id, maxlen in self.maxlen_trims[-5:]:
            upto = sum(1 for entry_id in stream if stream_id(entry_id) <= stream_id(last_id))
            assert upto <= maxlen, f"cycle {cycle}: MAXLEN {maxlen} at {last_id} undone ({upto} entries)"
        group = client.xinfo_groups("log")[0]
        assert stream_id(group["last-delivered-id"]) >= self.delivered_up_to, f"cycle {cycle}: deliveries undone"
        pel = {entry["message_id"]: entry["consumer"]
               for entry in client.xpending_range("log", "workers", "-", "+", 1_000_000)}
        assert not (set(pel) & self.acked), f"cycle {cycle}: acknowledged entries pending again"
        for entry_id, consumer in self.pending.items():
            if entry_id in self.ack_sent:
                continue
            assert entry_id in pel, f"cycle {cycle}: delivered entry {entry_id} left the PEL unacknowledged"
            assert consumer is None or pel[entry_id] == consumer, f"cycle {cycle}: claim of {entry_id} undone"
        # Entries an unanswered XACK may have acknowledged are settled by what the server says now.
        for entry_id in list(self.pending):
            if entry_id in self.ack_sent:
                del self.pending[entry_id]
            else:
                self.pending[entry_id] = pel[entry_id]
        return len(stream)

    def work(self, connection, rng, stop):
        """One worker's requests until the kill: adds (some with MAXLEN), deliveries, claims, acks, MINID trims."""
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.15:
                self.adds_in_flight += 1
                entry_id = connection.execute_command("XADD", "log", "MAXLEN", "=", self.MAXLEN, "*", "n", len(self.added))
                self.adds_in_flight -= 1
                self.added.append(entry_id)
                self.maxlen_trims.append((entry_id, self.MAXLEN))
            elif roll < 0.55:
                self.adds_in_flight += 1
                entry_id = connection.xadd("log", {"n": len(self.added)})
                self.adds_in_flight -= 1
                self.added.append(entry_id)
            elif roll < 0.75:
                batch = connection.xreadgroup("workers", "w", {"log": ">"}, count=4)
                for entry_id, _ in (batch[0][1] if batch else []):
                    self.pending[entry_id] = b"w"
                    self.delivered_up_to = max(self.delivered_up_to, stream_id(entry_id))
            elif roll < 0.85:
                # The newest deliveries: still in the stream (trims only remove old entries), so XCLAIM keeps them.
                ids = [entry_id for entry_id in list(self.pending)[-3:] if entry_id not in self.ack_sent]
                if ids:
                    consumer = rng.choice([b"w", b"c2"])
                    for entry_id in ids:
                        self.pending[entry_id] = None
                    claimed = set(connection.xclaim("log", "workers", consumer, 0, ids, justid=True))
                    for entry_id in ids:
                        if entry_id in claimed:
                            self.pending[entry_id] = consumer
                        else:
                            # Trimmed from the stream since its delivery: XCLAIM drops it from the PEL.
                            self.ack_sent.add(entry_id)
            elif roll < 0.97:
                ids = [entry_id for entry_id in list(self.pending)[:4] if entry_id not in self.ack_sent]
                if ids:
                    self.ack_sent.update(ids)
                    assert connection.xack("log", "workers", *ids) == len(ids)
                    self.acked.update(ids)
            elif len(self.added) > 150:
                minid = self.added[-120]
                self.minid_sent = max(self.minid_sent, stream_id(minid))
                connection.xtrim("log", minid=minid, approximate=False)
                self.minid_answered = max(self.minid_answered, stream_id(minid))


def background_job_running_at_kill(server):
    """Whether the killed server's log shows a BGREWRITEAOF or BGSAVE started and not finished."""
    with open(server.log_path, errors="replace") as log:
        text = log.read()
    rewrite = text.rfind("Background append only file rewriting started") > text.rfind("Background AOF rewrite finished")
    save = text.rfind("Background saving started") > text.rfind("Background saving terminated")
    return rewrite or save


def test_crash_loop_keeps_every_acknowledged_write(start_server, tmp_path):
    """100 SIGKILLs at random moments under `appendfsync always` while a worker adds (some with MAXLEN), reads
    through a consumer group, claims, acknowledges and trims with MINID; a third of the kills land while a
    BGREWRITEAOF or a BGSAVE of a 10,000-entry stream runs, and every sixth cycle a rewrite completes first. After each restart (which must succeed) everything
    answered is there: see CrashLoopModel."""
    rng = random.Random(42)
    model = CrashLoopModel()
    kills_during_jobs = 0
    for cycle in range(int(os.environ.get("RILL_CRASH_CYCLES", "100"))):
        # Odd cycles fdatasync on the worker thread (`aof-fsync-worker`), even ones on the loop.
        server = start_aof(start_server, tmp_path, "--appendfsync", "always",
                           "--aof-fsync-worker", "yes" if cycle % 2 else "no")
        client = client_of(server)
        if cycle == 0:
            client.xgroup_create("log", "workers", id="0", mkstream=True)
            # Ballast that makes a rewrite or snapshot last long enough for a kill to land in it.
            pipe = client.pipeline(transaction=False)
            for i in range(10_000):
                pipe.xadd("ballast", {"i": i})
            pipe.execute()
            assert client.bgrewriteaof()
            wait_for_rewrite(client)
        length = model.check(client, cycle)
        if cycle % 10 == 0:
            print(f"crash loop cycle {cycle}: {len(model.added)} adds answered, {length} entries in the stream")
        assert client.xlen("ballast") == 10_000
        stop = threading.Event()
        worker_failures = []

        def worker():
            # No retries: a request cut by the kill must fail at once, not reconnect with backoff.
            connection = server.client(protocol=2, decode_responses=False, retry=Retry(NoBackoff(), 0))
            try:
                model.work(connection, random.Random(cycle), stop)
            except redis.exceptions.ConnectionError:
                pass  # the server was killed mid-request: that request was never answered
            except Exception as failure:  # a wrong answer: reported by the test's thread
                worker_failures.append(failure)

        thread = threading.Thread(target=worker)
        thread.start()
        time.sleep(rng.uniform(0.02, 0.12))
        if cycle % 6 in (2, 4):
            client.execute_command("BGREWRITEAOF" if cycle % 6 == 2 else "BGSAVE")
            time.sleep(rng.uniform(0, 0.03))
        elif cycle % 6 == 5:
            # A rewrite that completes: the files killed rewrites left behind are compacted, so start-up stays short.
            assert client.bgrewriteaof()
            wait_for_rewrite(client)
        kill(server)
        stop.set()
        join_or_fail(thread)
        assert not worker_failures, f"cycle {cycle}: {worker_failures[0]!r}"
        kills_during_jobs += background_job_running_at_kill(server)
    print(f"crash loop: {len(model.added)} adds and {len(model.acked)} acks answered, "
          f"{kills_during_jobs} kills during a rewrite or save")
    assert len(model.added) > 500 and len(model.acked) > 100 and model.minid_answered > (0, 0)
    assert kills_during_jobs >= 10


def test_truncated_tail_is_dropped_with_a_warning(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    kept = [client.xadd("s", {"i": i}) for i in range(10)]
    kill(first)
    path = aof_path(tmp_path)
    with open(path, "ab") as handle:
        handle.write(b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$3\r\n9-9")
    size_with_tail = os.path.getsize(path)

    second = start_aof(start_server, tmp_path)
    assert [entry[0] for entry in client_of(second).xrange("s")] == kept
    assert os.path.getsize(path) < size_with_tail
    with open(second.log_path) as log:
        assert "short read while loading the AOF" in log.read()
    kill(second)

    with open(path, "ab") as handle:
        handle.write(b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$3\r\n9-9")
    size_before_refusal = os.path.getsize(path)
    process = run_to_exit(second.binary, tmp_path, "--aof-load-truncated", "no")
    assert process.returncode != 0
    assert b"Unexpected end of file" in process.stdout + process.stderr
    assert os.path.getsize(path) == size_before_refusal  # refused: the file is left as it was


def test_corruption_refuses_to_start_with_offset_and_reason(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    for i in range(10):
        client.xadd("s", {"i": i})
    kill(first)
    path = aof_path(tmp_path)
    with open(path, "r+b") as handle:
        data = handle.read()
        offset = data.index(b"$4\r\nXADD")
        handle.seek(offset)
        handle.write(b"#")
    process = run_to_exit(first.binary, tmp_path)
    output = process.stdout + process.stderr
    assert process.returncode != 0
    assert f"at offset {offset}".encode() in output and b"expected '$'" in output


def test_unknown_command_refuses_to_start_instead_of_being_skipped(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    client.xadd("s", {"i": 1})
    kill(first)
    path = aof_path(tmp_path)
    with open(path, "ab") as handle:
        offset = handle.tell()
        handle.write(b"*2\r\n$7\r\nNOSUCH1\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    size = os.path.getsize(path)
    process = run_to_exit(first.binary, tmp_path)
    output = process.stdout + process.stderr
    assert process.returncode != 0
    assert b"Unknown command 'NOSUCH1'" in output and f"at offset {offset}".encode() in output
    assert os.path.getsize(path) == size


def test_appendfsync_can_change_at_runtime_without_losing_writes(start_server, tmp_path):
    first = start_aof(start_server, tmp_path, "--appendfsync", "no")
    client = client_of(first)
    ids = [client.xadd("s", {"i": i}) for i in range(20)]
    for policy in ("everysec", "always", "no", "always"):
        assert client.config_set("appendfsync", policy) is True
        ids += [client.xadd("s", {"p": policy}) for _ in range(20)]
    kill(first)
    second = start_aof(start_server, tmp_path)
    assert [entry[0] for entry in client_of(second).xrange("s")] == ids


def run_to_exit(binary, directory, *extra):
    """Runs a server expected to refuse to start; returns the finished process with its output."""
    return subprocess.run(
        [binary, "--port", str(free_port()), "--bind", "127.0.0.1", "--dir", str(directory), "--appendonly", "yes",
         *extra], cwd=str(directory), capture_output=True, timeout=20)


SLOW_FDATASYNC_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

/* A disk whose every fdatasync takes RILL_TEST_FDATASYNC_DELAY_MS: the call sleeps, then syncs. */
int fdatasync(int descriptor) {
    static int (*real_fdatasync)(int);
    if (!real_fdatasync) real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    const char *delay = getenv("RILL_TEST_FDATASYNC_DELAY_MS");
    if (delay) usleep(atoi(delay) * 1000);
    return real_fdatasync(descriptor);
}
"""


@pytest.mark.parametrize("worker", ["no", "yes"])
def test_no_reply_acknowledges_or_shows_a_write_before_its_fdatasync(start_server, tmp_path, monkeypatch, worker):
    """`appendfsync always` on a disk whose fdatasync takes 400 ms (an LD_PRELOAD shim): an XADD's reply, the
    blocked XREAD it wakes, a second XADD sent while the first one's fsync runs, and an XRANGE sent after that
    which shows both, all arrive only once the fdatasync covering what they acknowledge or show returned (the
    second's only after a second fdatasync): a reply never tells of a write a power loss could still take. With the
    fdatasync on the loop (`aof-fsync-worker no`) and on the worker thread."""
    delay = 0.4
    source = tmp_path / "slow_fdatasync.c"
    source.write_text(SLOW_FDATASYNC_SOURCE)
    shim = tmp_path / "slow_fdatasync.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(shim), str(source), "-ldl"], check=True)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("LD_PRELOAD", str(shim))
    monkeypatch.setenv("RILL_TEST_FDATASYNC_DELAY_MS", str(int(delay * 1000)))
    server = start_aof(start_server, tmp_path / "data", "--appendfsync", "always", "--aof-fsync-worker", worker)
    monkeypatch.delenv("LD_PRELOAD")
    control = client_of(server)
    blocked, first_writer, second_writer, reader = (server.raw(timeout=10) for _ in range(4))
    blocked.send(blocked.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
    wait_for_blocked_clients(control, 1)

    started = time.monotonic()
    first_writer.send(first_writer.encode("XADD", "s", "*", "n", "1"))
    time.sleep(0.1)
    second_writer.send(second_writer.encode("XADD", "s", "*", "n", "2"))
    time.sleep(0.1)
    reader.send(reader.encode("XRANGE", "s", "-", "+"))

    def arrival(connection):
        reply = connection.read_reply()
        return reply, time.monotonic() - started

    first_id, first_at = arrival(first_writer)
    woken, woken_at = arrival(blocked)
    second_id, second_at = arrival(second_writer)
    entries, read_at = arrival(reader)
    slack = 0.05
    assert first_id.startswith(b"$") and second_id.startswith(b"$")
    first_id, second_id = first_id.split(b"\r\n")[1], second_id.split(b"\r\n")[1]
    assert first_id in woken and first_id in entries and second_id in entries
    assert first_at >= delay - slack, f"XADD answered {first_at:.3f} s after it was sent"
    assert woken_at >= delay - slack, f"blocked XREAD woken {woken_at:.3f} s after the XADD was sent"
    # The second XADD came while the first fdatasync ran: it needs the next one, and so does the read showing it.
    assert second_at >= 2 * delay - slack, f"second XADD answered {second_at:.3f} s after the first was sent"
    assert read_at >= 2 * delay - slack, f"XRANGE answered {read_at:.3f} s after the first XADD was sent"
    for connection in (blocked, first_writer, second_writer, reader):
        connection.close()

    kill(server)
    restarted = start_aof(start_server, tmp_path / "data")
    assert [entry[0] for entry in client_of(restarted).xrange("s")] == [first_id, second_id]
