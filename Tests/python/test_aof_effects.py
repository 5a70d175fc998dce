"""The append-only file records effects, Redis-style: a Rill restart and `redis-cli --pipe` into a real
redis-server 7.0 both rebuild the state the workload left, and the file holds nothing but Redis commands.

The workload uses what makes a naive log replay differently: server-chosen ids, approximate trims, deliveries and
claims (with their times), blocked reads served later, relative and lapsed expiries, transactions and several
databases. Consumers' seen and active times are not compared: a replay sets them to when it runs, as in Redis.
"""

import os
import shutil
import subprocess
import threading
import time

import pytest

from support import ServerProcess, aof_path, join_or_fail, wait_for_blocked_clients
from test_persistence import client_of, plain_value

pytestmark = pytest.mark.rill_only

DATABASES = (0, 2)
# Small nodes so that approximate trims cut something.
NODE_LIMITS = ("--stream-node-max-entries", "10")
# Timestamps (ms) for EXPIREAT/PXAT far in the future, fixed so both servers see the same ones.
FAR_DEADLINE_MS = 4_102_444_800_000


def start_aof(start_server, directory):
    return start_server("--dir", str(directory), "--save", "", "--appendonly", "yes", *NODE_LIMITS)


def blocked_read(server, *arguments):
    """Runs a blocking XREADGROUP on its own connection; returns the thread and where its reply lands."""
    result = {}

    def run():
        result["reply"] = client_of(server).execute_command(*arguments)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def workload(server, client):
    """Commands redis-server 7.0 also knows, each run on Rill with `appendonly yes`."""
    for i in range(60):
        client.xadd("capped", {"i": i}, maxlen=25, approximate=True)
    client.execute_command("XADD", "capped", "MAXLEN", "~", "12", "LIMIT", "30", "*", "limited", "1")
    client.execute_command("XADD", "seq", "5-*", "f", "a")
    client.execute_command("XADD", "seq", "5-*", "f", "b")
    for i in range(40):
        client.xadd("by-minid", {"i": i})
    ids = [entry[0] for entry in client.xrange("by-minid")]
    assert client.xtrim("by-minid", minid=ids[25], approximate=True) > 0
    client.execute_command("XADD", "by-minid", "MINID", "~", ids[33], "*", "last", "1")
    client.xtrim("capped", maxlen=5, approximate=True)
    client.xtrim("capped", maxlen=30, approximate=True)  # removes nothing

    client.xgroup_create("capped", "g", id="0")
    client.xgroup_create("capped", "late", id="$")
    client.xgroup_create("fresh", "g", id="$", mkstream=True)
    client.xreadgroup("g", "c1", {"capped": ">"}, count=4)
    client.xreadgroup("g", "c2", {"capped": ">"}, count=3, noack=True)
    client.xreadgroup("g", "c3", {"capped": ">"}, count=2)
    client.xreadgroup("g", "c1", {"capped": "0"})  # history: counts and times change
    pending = [entry["message_id"] for entry in client.xpending_range("capped", "g", "-", "+", 100)]
    client.xack("capped", "g", pending[0])
    client.xclaim("capped", "g", "c4", 0, [pending[1]], idle=5000)
    client.xclaim("capped", "g", "c4", 0, [pending[2]], time=int(time.time() * 1000) - 7000, retrycount=9)
    client.xdel("capped", pending[3])
    client.execute_command("XAUTOCLAIM", "capped", "g", "c5", 0, "0", "COUNT", 3)
    still_pending = [entry["message_id"] for entry in client.xpending_range("capped", "g", "-", "+", 100)]
    client.xdel("capped", still_pending[-1])
    assert client.xclaim("capped", "g", "c6", 0, [still_pending[-1]]) == []  # dropped from the PEL
    client.execute_command("XCLAIM", "capped", "g", "c6", 0, "0-1", "LASTID", "99999999999999-0")
    client.xgroup_setid("capped", "late", id="$")

    thread, result = blocked_read(server, "XREADGROUP", "GROUP", "g", "waiter", "BLOCK", 5000, "STREAMS", "fresh", ">")
    wait_for_blocked_clients(client, 1)
    noack_thread, noack_result = blocked_read(server, "XREADGROUP", "GROUP", "g", "quiet", "BLOCK", 5000, "NOACK",
                                              "STREAMS", "fresh", ">")
    wait_for_blocked_clients(client, 2)
    woken = client.xadd("fresh", {"wake": 1})
    join_or_fail(thread)
    assert result["reply"] == [[b"fresh", [(woken, {b"wake": b"1"})]]]
    woken = client.xadd("fresh", {"wake": 2})  # served to the NOACK waiter, still blocked
    join_or_fail(noack_thread)
    assert noack_result["reply"] == [[b"fresh", [(woken, {b"wake": b"2"})]]]
    client.xadd("fresh", {"wake": 3})
    client.xreadgroup("g", "quiet", {"fresh": ">"}, noack=True)

    list_workload(server, client)

    client.set("ex", "v", ex=1000)
    client.set("px", "v", px=2_000_000)
    client.set("exat", "v", exat=FAR_DEADLINE_MS // 1000)
    client.set("plain", "v")
    client.expire("plain", 3000)
    client.set("counter", 10, px=3_000_000)
    client.incr("counter")
    client.set("lapsing", "v", px=1)
    client.set("active", "v", px=30)
    client.set("gone-at-once", "v", pxat=1)
    client.set("expire-now", "v")
    client.expire("expire-now", -1)
    client.pexpire("ex", 5_000_000, gt=True)
    assert client.set("ex", "other", nx=True, ex=10) is None  # not written: nothing recorded
    assert client.execute_command("XADD", "missing", "NOMKSTREAM", "*", "f", "v") is None
    time.sleep(0.3)  # `active` is removed by active expiry (10 times a second)
    assert client.get("lapsing") is None
    client.incr("lapsing")  # the key lapsed: a new one without expiry

    pipe = client.pipeline(transaction=True)
    pipe.xadd("in-multi", {"a": 1})
    pipe.xadd("in-multi", {"a": 2}, maxlen=1, approximate=True)
    pipe.set("multi-ttl", "x", ex=4000)
    pipe.xgroup_create("in-multi", "g", id="0")
    pipe.xreadgroup("g", "m", {"in-multi": ">"})
    pipe.execute()

    client.select(2)
    client.xadd("db2", {"f": "v"}, maxlen=3, approximate=True)
    client.xgroup_create("db2", "g", id="$")
    client.xadd("db2", {"f": "w"})
    client.xreadgroup("g", "c", {"db2": ">"})
    client.set("db2-ttl", "v", px=4_000_000)
    client.rpush("db2-list", "a", "b", "c")
    client.lpop("db2-list")
    client.sadd("db2-set", "x", "y")
    client.select(0)


def list_workload(server, client):
    """List edits, and blocking pops served at once, later (by a push, along a chain of moves) and inside MULTI:
    each must be recorded as the non-blocking pop or move it did."""
    client.rpush("l-src", *"abcdefghij")
    client.lpush("l-src", "z")
    client.linsert("l-src", "BEFORE", "c", "inserted")
    client.lset("l-src", 0, "first")
    client.lrem("l-src", 1, "d")
    client.ltrim("l-src", 0, 9)
    client.lmove("l-src", "l-dst", "LEFT", "RIGHT")
    client.rpoplpush("l-src", "l-dst")
    client.execute_command("LMPOP", 2, "l-none", "l-src", "RIGHT", "COUNT", 2)
    client.execute_command("BLPOP", "l-none", "l-src", 0)
    client.execute_command("BLMPOP", 0, 1, "l-src", "LEFT", "COUNT", 1)
    client.execute_command("BLMOVE", "l-src", "l-dst", "RIGHT", "LEFT", 0)
    client.execute_command("BRPOPLPUSH", "l-src", "l-dst", 0)
    client.lpushx("l-dst", "x")
    client.rpushx("l-none", "x")

    waiting = []
    for command in (("BLMOVE", "l-wait", "l-chain", "LEFT", "RIGHT", 0), ("BRPOP", "l-chain", 0),
                    ("BLMPOP", 0, 2, "l-other", "l-wait", "RIGHT", "COUNT", 2),
                    ("BRPOPLPUSH", "l-wait", "l-chain", 0), ("BLPOP", "l-wait", 0)):
        waiting.append(blocked_read(server, *command))
        wait_for_blocked_clients(client, len(waiting))  # one by one: they are served in the order they blocked
    client.rpush("l-wait", *"123456")
    for thread, _ in waiting:
        join_or_fail(thread)
    assert [result["reply"] for _, result in waiting] == [
        b"1", (b"l-chain", b"1"), [b"l-wait", [b"6", b"5"]], b"4", (b"l-wait", b"2")]
    pipe = client.pipeline(transaction=True)
    pipe.execute_command("BLPOP", "l-empty", 0)
    pipe.execute_command("BLMOVE", "l-empty", "l-dst", "LEFT", "LEFT", 0)
    pipe.rpush("l-empty", "m1", "m2")
    pipe.execute_command("BRPOP", "l-empty", 0)
    pipe.execute()


def strip_fields(value, names):
    """`value` (a raw reply) with every `name, value` pair named in `names` removed from its flat maps."""
    if not isinstance(value, list):
        return value
    kept = []
    index = 0
    while index < len(value):
        item = value[index]
        if isinstance(item, bytes) and item in names and index + 1 < len(value):
            index += 2
            continue
        kept.append(strip_fields(item, names))
        index += 1
    return kept


def state(client, ignored=(b"seen-time", b"active-time")):
    """Per database and key: type, absolute deadline and value (streams: XINFO STREAM FULL and XPENDING)."""
    result = {}
    for db in DATABASES:
        client.select(db)
        for key in sorted(client.keys("*")):
            kind = client.type(key)
            entry = {"type": kind, "deadline": client.pexpiretime(key)}
            if kind == b"stream":
                full = client.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", 0)
                entry["full"] = strip_fields(full, set(ignored))
                groups = client.execute_command("XINFO", "GROUPS", key)
                entry["pending"] = {
                    group[1]: [(item["message_id"], item["consumer"], item["times_delivered"])
                               for item in client.xpending_range(key, group[1], "-", "+", 1000)]
                    for group in groups
                }
            else:
                entry["value"] = plain_value(client, key, kind.decode())
            result[(db, key)] = entry
    client.select(0)
    return result


def commands_in(path):
    """The commands of an append-only file, each a list of bytes."""
    with open(path, "rb") as handle:
        data = handle.read()
    commands = []
    offset = 0
    while offset < len(data):
        end = data.index(b"\r\n", offset)
        count = int(data[offset + 1:end])
        offset = end + 2
        arguments = []
        for _ in range(count):
            end = data.index(b"\r\n", offset)
            length = int(data[offset + 1:end])
            arguments.append(data[end + 2:end + 2 + length])
            offset = end + 2 + length + 2
        commands.append(arguments)
    return commands


def test_restart_replays_effects_to_the_same_state(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    workload(first, client)
    # Rill-only commands (Redis 7 has no XDELEX/XACKDEL/DELREF); RESTORE of Rill's payloads, logged as they came.
    client.select(3)
    client.xadd("rill", {"i": 0})
    payload = client.dump("rill")
    client.restore("restored", 600_000, payload)
    client.restore("restored-absolute", FAR_DEADLINE_MS, payload, absttl=True)
    client.restore("restored-lapsed", 1, payload, absttl=True)
    for i in range(30):
        client.execute_command("XADD", "rill", "MAXLEN", "~", "5", "DELREF", "*", "i", i)
    client.select(0)
    before = state(client)
    client.select(3)
    before_db3 = {key: (client.pexpiretime(key), client.xrange(key)) for key in sorted(client.keys("*"))}
    client.select(0)
    first.process.kill()
    first.process.wait(timeout=10)

    second = start_aof(start_server, tmp_path)
    client = client_of(second)
    assert state(client) == before
    client.select(3)
    assert {key: (client.pexpiretime(key), client.xrange(key)) for key in sorted(client.keys("*"))} == before_db3
    assert b"restored-lapsed" not in before_db3 and before_db3[b"restored"][0] > 0


def test_file_holds_only_deterministic_redis_commands(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    workload(first, client_of(first))
    first.stop()
    commands = commands_in(aof_path(tmp_path))
    names = {command[0].upper() for command in commands}
    assert b"RILL-REPLAY" not in names
    assert {b"XCLAIM", b"XGROUP", b"PEXPIREAT", b"DEL", b"MULTI", b"EXEC", b"SELECT"} <= names
    # The blocking pops served in list_workload, as the pops and moves they did.
    assert [b"BLMOVE"] not in commands
    assert [b"LPOP", b"l-src"] in commands and [b"LPOP", b"l-src", b"1"] in commands
    assert [b"LMOVE", b"l-wait", b"l-chain", b"LEFT", b"RIGHT"] in commands
    assert [b"RPOP", b"l-chain"] in commands and [b"RPOP", b"l-wait", b"2"] in commands
    assert [b"RPOPLPUSH", b"l-wait", b"l-chain"] in commands and [b"RPOP", b"l-empty"] in commands
    for command in commands:
        name = command[0].upper()
        if name == b"XADD":
            assert b"*" not in command and b"5-*" not in command and b"~" not in command, command
            assert b"LIMIT" not in [word.upper() for word in command], command
        if name == b"XTRIM":
            assert b"~" not in command, command
        if name == b"SET":
            assert not {b"EX", b"PX", b"EXAT"} & {word.upper() for word in command[3:]}, command
        assert name not in (b"EXPIRE", b"PEXPIRE", b"XREADGROUP", b"XAUTOCLAIM"), command
        assert name not in (b"BLPOP", b"BRPOP", b"BLMPOP", b"BLMOVE", b"BRPOPLPUSH"), command
        if name == b"XCLAIM":
            assert command[4] == b"0" and b"TIME" in command and b"IDLE" not in command, command
    # The lapsed keys are deleted where they lapsed, not left to the replay's clock.
    assert not any(command[0].upper() == b"SET" and command[1] == b"ex" and command[2] == b"other"
                   for command in commands)
    deleted = {command[1] for command in commands if command[0].upper() == b"DEL"}
    assert {b"lapsing", b"active", b"gone-at-once", b"expire-now"} <= deleted


def redis_server_binary():
    return os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")


def test_redis_cli_pipe_into_redis_server_gives_the_same_state(start_server, tmp_path):
    if not redis_server_binary() or not shutil.which("redis-cli"):
        pytest.skip("needs redis-server and redis-cli")
    rill = start_aof(start_server, tmp_path)
    rill_client = client_of(rill)
    workload(rill, rill_client)
    # `everysec`: the file is written before each reply, so it is complete once the workload's replies came.
    reference = ServerProcess(redis_server_binary()).start()
    try:
        with open(aof_path(tmp_path), "rb") as aof:
            piped = subprocess.run(["redis-cli", "-p", str(reference.port), "--pipe"], stdin=aof,
                                   capture_output=True, timeout=60)
        output = piped.stdout.decode(errors="replace")
        assert piped.returncode == 0 and "errors: 0" in output, output + piped.stderr.decode(errors="replace")
        # Node layout is not part of the data (and Rill only estimates Redis's radix-tree node count); the reference
        # predates the idempotent-producer fields (Redis 8.6).
        ignored = (b"seen-time", b"active-time", b"radix-tree-keys", b"radix-tree-nodes", b"idmp-duration",
                   b"idmp-maxsize", b"pids-tracked", b"iids-tracked", b"iids-added", b"iids-duplicates")
        assert state(client_of(reference), ignored) == state(rill_client, ignored)
    finally:
        reference.stop()


def test_replay_does_not_expire_keys_the_file_still_uses(start_server, tmp_path):
    """A key whose deadline passed after the file was written must survive the replay up to its DEL (there is
    none here: it lapses once the replay is done), so the INCR logged while it lived applies to it."""
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    client.set("short", 5, px=300)
    client.incr("short")
    client.xadd("s", {"f": "v"})
    first.process.kill()
    first.process.wait(timeout=10)
    commands = commands_in(aof_path(tmp_path))
    assert [command[0].upper() for command in commands[-3:]] == [b"SET", b"INCRBY", b"XADD"]
    time.sleep(0.4)

    second = start_aof(start_server, tmp_path)
    client = client_of(second)
    assert client.get("short") is None  # lapsed after the replay, not turned into a fresh "1"
    assert client.exists("s") == 1
