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
from redis.backoff import NoBackoff
from redis.retry import Retry

from support import aof_path, free_port, join_or_fail
from test_aof_effects import strip_fields
from test_persistence import client_of, fill_keyspace, observe

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
    os.remove(os.path.join(tmp_path, "dump.rill"))
    third = start_aof(start_server, tmp_path)
    assert observe(client_of(third)) == before


def test_crash_loop_keeps_every_acknowledged_write(start_server, tmp_path):
    """20 SIGKILLs at random moments under `appendfsync always` while a worker adds, reads and acknowledges.

    The model: every XADD, XREADGROUP delivery and XACK whose reply arrived must be in the restarted state; the
    only freedom is the one request in flight when the server died (its effect may or may not have landed)."""
    rng = random.Random(42)
    added = []          # ids whose XADD was acknowledged, in order
    acked = set()       # ids whose XACK reply arrived
    ack_sent = set()    # ids whose XACK was sent (it may have landed without its reply arriving)
    for cycle in range(20):
        server = start_aof(start_server, tmp_path, "--appendfsync", "always")
        client = client_of(server)
        if cycle == 0:
            client.xgroup_create("log", "workers", id="0", mkstream=True)
        stream_ids = [entry[0] for entry in client.xrange("log")]
        pending = {entry["message_id"] for entry in client.xpending_range("log", "workers", "-", "+", 1_000_000)}
        # Acknowledged adds are all there, in order; at most one unacknowledged add per earlier crash follows them.
        added_set = set(added)
        assert [entry_id for entry_id in stream_ids if entry_id in added_set] == added, f"cycle {cycle}: lost adds"
        assert len(stream_ids) - len(added) <= cycle
        assert not (pending & acked), f"cycle {cycle}: acknowledged entries pending again"
        group = client.xinfo_groups("log")[0]
        delivered_up_to = group["last-delivered-id"]
        # Everything delivered and not acknowledged is still pending (nothing delivered was forgotten).
        unacked_delivered = {entry_id for entry_id in stream_ids
                             if entry_id not in acked and tuple(map(int, entry_id.split(b"-")))
                             <= tuple(map(int, delivered_up_to.split(b"-")))}
        assert unacked_delivered - pending <= ack_sent, f"cycle {cycle}: delivered entries left the PEL unacked"
        stop = threading.Event()

        def worker():
            # No retries: a request cut by the kill must fail at once, not reconnect with backoff.
            connection = server.client(protocol=2, decode_responses=False, retry=Retry(NoBackoff(), 0))
            try:
                while not stop.is_set():
                    added.append(connection.xadd("log", {"cycle": cycle}))
                    if rng.random() < 0.5:
                        batch = connection.xreadgroup("workers", "w", {"log": ">"}, count=3)
                        ids = [entry[0] for entry in batch[0][1]] if batch else []
                        if ids:
                            ack_sent.update(ids)
                            if connection.xack("log", "workers", *ids) == len(ids):
                                acked.update(ids)
            except Exception:
                pass  # the server was killed mid-request: that request was never acknowledged

        thread = threading.Thread(target=worker)
        thread.start()
        time.sleep(rng.uniform(0.05, 0.3))
        kill(server)
        stop.set()
        join_or_fail(thread)
    assert len(added) > 50 and len(acked) > 10


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
