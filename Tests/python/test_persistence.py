"""Snapshots (SAVE, BGSAVE, LASTSAVE, SHUTDOWN, load at start-up) and DUMP/RESTORE.

Restart tests run their own servers sharing a `--dir` under pytest's tmp_path, and compare what a client can see
before and after (XINFO STREAM FULL, XRANGE, PTTL, LRANGE, SMEMBERS, and for consumer groups XINFO GROUPS,
XINFO CONSUMERS and XPENDING, minus the idle/inactive fields that depend on the clock).
"""

import os
import random
import subprocess
import threading
import time

import pytest
import redis

from support import ServerProcess, join_or_fail

OK = (True, "OK", b"OK")


def fill_keyspace(client, seed=1):
    rng = random.Random(seed)
    for s in range(4):
        key = f"stream:{s}"
        for i in range(rng.randrange(50, 400)):
            fields = {"a": str(rng.randrange(-1000, 1000)), "b": "x" * rng.randrange(0, 200)} if i % 3 else {"n": i}
            client.xadd(key, fields)
        ids = [entry[0] for entry in client.xrange(key)]
        client.xdel(key, *rng.sample(ids, len(ids) // 5))
        if s == 1:
            client.xtrim(key, minid=ids[len(ids) // 3], approximate=False)
        if s == 2:
            client.execute_command("XSETID", key, "999999999999999-5", "ENTRIESADDED", 100000, "MAXDELETEDID", "7-7")
    add_groups(client, "stream:0", rng)
    add_groups(client, "stream:3", rng)
    client.xadd("stream:empty", {"f": "v"}, id="5-5")
    client.xdel("stream:empty", "5-5")
    client.set("string", b"\x00\xffbinary")
    client.set("with-ttl", "v", px=3_600_000)
    client.rpush("list", *[f"e{i}" for i in range(30)])
    client.sadd("set", *[f"m{i}" for i in range(30)])
    client.select(3)
    client.set("in-db-3", "yes")
    client.select(0)


def add_groups(client, key, rng):
    """Groups with deliveries to several consumers, partial acknowledgements, a claim with a retry count and a past
    time, an idle consumer, a group with unknown entries-read and one created at `$`."""
    ids = [entry[0] for entry in client.xrange(key)]
    client.xgroup_create(key, "workers", id="0")
    client.xgroup_create(key, "late", id="$")
    client.xgroup_create(key, "middle", id=ids[len(ids) // 2])
    client.execute_command("XGROUP", "SETID", key, "middle", ids[len(ids) // 2])  # entries-read becomes unknown
    for consumer in ("alice", "bob", "carol"):
        client.xreadgroup("workers", consumer, {key: ">"}, count=rng.randrange(5, 40))
    client.xreadgroup("middle", "dave", {key: ">"}, count=10)
    client.xreadgroup("middle", "erin", {key: ">"}, count=10, noack=True)
    pending = [entry["message_id"] for entry in client.xpending_range(key, "workers", "-", "+", 1000)]
    client.xack(key, "workers", *pending[::3])
    client.xclaim(key, "workers", "bob", 0, pending[1:6:2], idle=86_400_000, retrycount=9)
    client.xgroup_createconsumer(key, "workers", "idle-one")
    client.xdel(key, pending[4])


def strip_times(reply, names=(b"idle", b"inactive", "idle", "inactive")):
    """A flat RESP2 field/value list without the fields whose value is relative to now."""
    kept = []
    for index in range(0, len(reply), 2):
        if reply[index] not in names:
            kept += reply[index:index + 2]
    return kept


def observe_groups(client, key):
    """XINFO GROUPS, XINFO CONSUMERS and extended XPENDING (ids, consumers, delivery counts) of every group."""
    groups = client.execute_command("XINFO", "GROUPS", key)
    state = {"groups": groups}
    for group in groups:
        name = group[1]  # XINFO GROUPS lists `name` first
        consumers = client.execute_command("XINFO", "CONSUMERS", key, name)
        state[name] = {
            "consumers": [strip_times(consumer) for consumer in consumers],
            "pending": [(entry["message_id"], entry["consumer"], entry["times_delivered"])
                        for entry in client.xpending_range(key, name, "-", "+", 100000)],
            "summary": client.xpending(key, name),
        }
    return state


def observe(client):
    """Everything compared across a restart (TTL rounded to tolerate the restart's duration)."""
    state = {}
    for db in (0, 3):
        client.select(db)
        for key in sorted(client.keys("*")):
            kind = client.type(key)
            kind = kind.decode() if isinstance(kind, bytes) else kind
            entry = {"type": kind, "ttl_minutes": round(client.pttl(key) / 60_000)}
            if kind == "stream":
                entry["full"] = client.execute_command("XINFO", "STREAM", key, "FULL")
                entry["range"] = client.xrange(key)
                entry["groups"] = observe_groups(client, key)
            else:
                entry[kind if kind in ("list", "set") else "string"] = plain_value(client, key, kind)
            state[(db, key)] = entry
    client.select(0)
    return state


def plain_value(client, key, kind):
    """The value of a string, list or set key (`kind` as TYPE names it), sets sorted."""
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "set":
        return sorted(client.smembers(key))
    return client.get(key)


def client_of(server):
    return server.client(protocol=2, decode_responses=False)


def survive_snapshot_restart(start_server, tmp_path, workload):
    """Runs `workload`, saves, restarts on the snapshot; asserts the same state. Returns (client, workload result)."""
    first = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(first)
    result = workload(client)
    before = observe(client)
    assert client.save() is True
    first.stop()
    second = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(second)
    assert observe(client) == before
    return client, result


def dump_and_restore(client, key="s"):
    payload = client.dump(key)
    client.delete(key)
    client.restore(key, 0, payload)


def wait_for_exit(server, timeout=10):
    server.process.wait(timeout=timeout)


def persistence_info(client):
    return client.info("persistence")


def wait_for_rewrite(client, timeout=60):
    """Polls INFO until no BGREWRITEAOF runs or is scheduled; returns the persistence section."""
    deadline = time.monotonic() + timeout
    while True:
        info = persistence_info(client)
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return info
        assert time.monotonic() < deadline, "the rewrite did not finish"
        time.sleep(0.02)


@pytest.mark.rill_only
def test_save_and_restart_restores_every_value_exactly(start_server, tmp_path):
    first = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(first)
    fill_keyspace(client)
    before = observe(client)
    assert persistence_info(client)["rdb_changes_since_last_save"] > 0
    previous_save = client.lastsave()
    time.sleep(1.1)
    assert client.save() is True
    assert client.lastsave() > previous_save
    assert persistence_info(client)["rdb_changes_since_last_save"] == 0
    assert os.path.exists(tmp_path / "dump.rdb")
    client.close()
    first.stop()

    second = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(second)
    assert observe(client) == before
    with open(second.log_path) as log:
        text = log.read()
    assert "Done loading RDB" in text and "DB loaded from disk" in text
    client.close()


@pytest.mark.rill_only
def test_shutdown_saves_when_save_points_exist_and_not_with_nosave(start_server, tmp_path):
    first = start_server("--dir", str(tmp_path))
    client = client_of(first)
    client.xadd("s", {"f": "v"}, id="1-1")
    client.shutdown()
    wait_for_exit(first)

    second = start_server("--dir", str(tmp_path))
    client = client_of(second)
    assert client.xrange("s") == [(b"1-1", {b"f": b"v"})]
    client.xadd("s", {"f": "w"}, id="2-2")
    client.shutdown(nosave=True)
    wait_for_exit(second)

    third = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(third)
    assert client.xlen("s") == 1
    # SHUTDOWN SAVE saves even without save points.
    client.xadd("s", {"f": "w"}, id="3-3")
    client.shutdown(save=True)
    wait_for_exit(third)
    fourth = start_server("--dir", str(tmp_path), "--save", "")
    assert client_of(fourth).xlen("s") == 2


@pytest.mark.rill_only
def test_bgsave_under_concurrent_writes_loses_nothing_it_covered(start_server, tmp_path):
    server = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(server)
    for _ in range(20):
        client.xadd("big", {"payload": "x" * 100}, maxlen=None)
    stop = threading.Event()
    acknowledged = []

    def writer():
        own = client_of(server)
        while not stop.is_set():
            acknowledged.append(own.xadd("big", {"payload": "y" * 100}))
        own.close()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.2)
    covered = client.xlen("big")
    assert client.bgsave() is True
    after = client.xlen("big")
    while persistence_info(client)["rdb_bgsave_in_progress"]:
        time.sleep(0.01)
    time.sleep(0.2)
    stop.set()
    join_or_fail(thread)
    info = persistence_info(client)
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_bgsave_in_progress"] == 0
    assert info["rdb_saves"] >= 1
    final = client.xrange("big")
    client.shutdown(nosave=True)
    wait_for_exit(server)

    restarted = start_server("--dir", str(tmp_path), "--save", "")
    loaded = client_of(restarted).xrange("big")
    # The snapshot is the stream as it was when BGSAVE ran: a prefix of the final stream covering every write
    # acknowledged before BGSAVE was sent, and none sent after its reply.
    assert covered <= len(loaded) <= after
    assert loaded == final[: len(loaded)]


@pytest.mark.rill_only
def test_corrupt_snapshot_stops_the_server_with_offset_and_reason(binary, start_server, tmp_path):
    first = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(first)
    fill_keyspace(client, seed=2)
    client.save()
    client.close()
    first.stop()
    path = tmp_path / "dump.rdb"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    probe = ServerProcess(binary, ["--dir", str(tmp_path), "--save", ""])
    result = subprocess.run(probe.command_line(0), cwd=probe.workdir, capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "Fatal error loading the DB" in result.stdout + result.stderr
    assert "offset" in result.stdout + result.stderr


@pytest.mark.rill_only
def test_save_config_directives(r, config):
    assert r.config_get("save") == {"save": "3600 1 300 100 60 10000"}
    assert r.config_get("dbfilename") == {"dbfilename": "dump.rdb"}
    for name in ("rdbcompression", "rdbchecksum", "aof-use-rdb-preamble"):
        assert r.config_get(name) == {name: "yes"}
    for name in ("rdbcompression", "aof-use-rdb-preamble"):
        config(name, "no")
        assert r.config_get(name) == {name: "no"}
    with pytest.raises(redis.ResponseError, match="can't set immutable config"):
        r.config_set("rdbchecksum", "no")
    config("save", "100 10 20 5")
    assert r.config_get("save") == {"save": "100 10 20 5"}
    config("save", "")
    assert r.config_get("save") == {"save": ""}
    with pytest.raises(redis.ResponseError, match="Invalid save parameters"):
        r.config_set("save", "100")
    # dbfilename is a protected config: refused unless enable-protected-configs allows it (see test_protected.py).
    with pytest.raises(redis.ResponseError, match="can't set protected config"):
        r.config_set("dbfilename", "a/b")


def test_bgsave_and_lastsave_replies(r):
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("BGSAVE", "FOO")
    # The Unix second of the last successful save (of start-up before any), as INFO persistence reports it.
    last_save = int(r.lastsave().timestamp())
    assert last_save == r.info("persistence")["rdb_last_save_time"]
    assert 1_600_000_000 < last_save <= time.time()


# --- DUMP / RESTORE -----------------------------------------------------------------------------------------------

def test_dump_restore_round_trip_of_a_stream(r):
    for i in range(300):
        r.xadd("s", {"f": i, "g": "v" * (i % 50)})
    ids = [entry[0] for entry in r.xrange("s")]
    r.xdel("s", *ids[::7])
    r.execute_command("XSETID", "s", "99999999999999-1", "ENTRIESADDED", 5000, "MAXDELETEDID", "3-3")
    payload = r.dump("s")
    assert r.restore("copy", 0, payload) in OK
    assert r.execute_command("XINFO", "STREAM", "copy", "FULL") == r.execute_command("XINFO", "STREAM", "s", "FULL")
    assert r.pttl("copy") == -1


@pytest.mark.rill_only
def test_groups_survive_a_restart(start_server, tmp_path):
    first = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(first)
    fill_keyspace(client, seed=3)
    before = observe(client)
    workers = before[(0, b"stream:0")]["groups"][b"workers"]
    assert len(workers["pending"]) > 5 and len(workers["consumers"]) == 4
    assert any(count == 9 for _, _, count in workers["pending"])
    assert before[(0, b"stream:0")]["full"] == client.execute_command("XINFO", "STREAM", "stream:0", "FULL")
    assert client.save() is True
    client.close()
    first.stop()

    second = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(second)
    assert observe(client) == before
    # The restored groups keep working: new deliveries and acknowledgements continue from the saved state.
    new_id = client.xadd("stream:0", {"f": "after"})
    delivered = client.xreadgroup("late", "alice", {"stream:0": ">"})
    assert [entry[0] for entry in delivered[0][1]] == [new_id]
    assert client.xack("stream:0", "workers", workers["pending"][0][0]) == 1
    client.close()


def test_dump_restore_of_a_stream_with_groups(r):
    for i in range(200):
        r.xadd("s", {"f": i})
    add_groups(r, "s", random.Random(4))
    before = observe_groups(r, "s")
    full = r.execute_command("XINFO", "STREAM", "s", "FULL")
    assert r.restore("copy", 0, r.dump("s")) in OK
    assert observe_groups(r, "copy") == before
    assert r.execute_command("XINFO", "STREAM", "copy", "FULL") == full
    assert r.restore("s", 0, r.dump("copy"), replace=True) in OK
    assert observe_groups(r, "s") == before


def test_dump_restore_strings_lists_sets_and_ttl(r):
    r.set("str", "\x00bytes")
    r.rpush("list", "a", "b", "c")
    r.sadd("set", "x", "y")
    for key in ("str", "list", "set"):
        assert r.restore(key + "2", 60_000, r.dump(key)) in OK
        assert 0 < r.pttl(key + "2") <= 60_000
    assert r.get("str2") == "\x00bytes"
    assert r.lrange("list2", 0, -1) == ["a", "b", "c"]
    assert r.smembers("set2") == {"x", "y"}
    assert r.dump("missing") is None


def test_restore_errors_match_redis(r):
    r.set("k", "v")
    payload = r.dump("k")
    with pytest.raises(redis.ResponseError, match="^BUSYKEY Target key name already exists.$"):
        r.restore("k", 0, payload)
    tampered = bytearray(payload)
    tampered[1] ^= 1
    with pytest.raises(redis.ResponseError, match="^DUMP payload version or checksum are wrong$"):
        r.restore("new", 0, bytes(tampered))
    with pytest.raises(redis.ResponseError, match="^Invalid TTL value, must be >= 0$"):
        r.restore("new", -1, payload)
    with pytest.raises(redis.ResponseError, match="^Invalid IDLETIME value, must be >= 0$"):
        r.execute_command("RESTORE", "new", 0, payload, "IDLETIME", -1)
    with pytest.raises(redis.ResponseError, match=r"^Invalid FREQ value, must be >= 0 and <= 255$"):
        r.execute_command("RESTORE", "new", 0, payload, "FREQ", 256)
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("RESTORE", "new", 0, payload, "IDLETIME", 5, "FREQ", 5)
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("RESTORE", "new", 0, payload, "BOGUS")
    assert r.exists("new") == 0
    r.set("k", "other")
    assert r.restore("k", 0, payload, replace=True) in OK
    assert r.get("k") == "v"
    # An absolute TTL in the past stores nothing.
    assert r.restore("gone", 1000, payload, absttl=True) in OK
    assert r.exists("gone") == 0
    future = int(time.time() * 1000) + 100_000
    assert r.restore("abs", future, payload, absttl=True) in OK
    assert r.pexpiretime("abs") == future


@pytest.mark.rill_only
def test_save_point_triggers_a_background_save(start_server, tmp_path):
    server = start_server("--dir", str(tmp_path), "--save", "0 3")
    client = client_of(server)
    for i in range(3):
        client.set(f"k{i}", "v")
    deadline = time.monotonic() + 5
    while persistence_info(client)["rdb_saves"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    info = persistence_info(client)
    assert info["rdb_saves"] >= 1
    assert info["rdb_changes_since_last_save"] == 0
    assert info["rdb_last_bgsave_status"] == "ok"
    assert os.path.exists(tmp_path / "dump.rdb")
    with open(server.log_path) as log:
        assert "changes in 0 seconds. Saving..." in log.read()
