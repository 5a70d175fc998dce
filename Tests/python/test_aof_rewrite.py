"""Multi-part append-only files: manifest, base and incremental files, BGREWRITEAOF, automatic rewrites, rill-check.

Each test runs its own servers with `--appendonly yes` and a `--dir` under pytest's tmp_path. Rill-only: the files
are Rill's, and the shared suite runs redis-server with `--appendonly no`.
"""

import os
import subprocess
import threading
import time

import pytest
import redis

from support import join_or_fail, unparsed
from test_aof import full_state, kill, run_to_exit, start_aof
from test_persistence import client_of, fill_keyspace, observe, persistence_info, wait_for_rewrite

pytestmark = pytest.mark.rill_only


def aof_dir(directory):
    return os.path.join(directory, "appendonlydir")


def manifest_entries(directory):
    """(name, seq, type) of every manifest line."""
    with open(os.path.join(aof_dir(directory), "appendonly.aof.manifest")) as manifest:
        lines = [line.split() for line in manifest if not line.startswith("#")]
    return [(words[1], int(words[3]), words[5]) for words in lines]


def files_on_disk(directory):
    return sorted(os.listdir(aof_dir(directory)))


def assert_only_listed_files(directory):
    """Old bases and incremental files are deleted once a rewrite is installed: nothing else is left."""
    listed = sorted(name for name, _seq, _type in manifest_entries(directory)) + ["appendonly.aof.manifest"]
    assert files_on_disk(directory) == sorted(listed)


def check_tool(server):
    return os.path.join(os.path.dirname(server.binary), "rill-check")


def rill_check(server, *arguments, answer=None):
    return subprocess.run([check_tool(server), *arguments], input=answer, capture_output=True, text=True,
                          timeout=120)


def fill_big_keyspace(client, copies):
    """A keyspace large enough that writing its base takes a noticeable time: one stream of 5000 entries,
    restored under many keys (far quicker than sending every entry)."""
    pipe = client.pipeline(transaction=False)
    for i in range(5000):
        pipe.xadd("template", {"field": "v" * 60, "i": i})
    pipe.execute()
    payload = client.dump("template")
    # In pipelines of 20: 200 restores at once (80 MB of streams in a debug build) were answered only after redis-py's
    # 5 s socket timeout on a loaded machine, whose retry then failed with BUSYKEY.
    for first in range(0, copies, 20):
        pipe = client.pipeline(transaction=False)
        for copy in range(first, min(first + 20, copies)):
            pipe.restore(f"big:{copy}", 0, payload)
        pipe.execute()


class StreamWorkload:
    """A thread that keeps adding entries, reading them through a group and acknowledging every other one,
    recording only what the server acknowledged: the ids added, and per consumer what is still pending."""

    def __init__(self, server, stream="jobs", group="g"):
        self.client = client_of(server)
        self.stream, self.group = stream, group
        self.client.xgroup_create(stream, group, id="$", mkstream=True)
        self.added = []
        self.pending = {}
        # An XACK whose reply was cut by a kill may or may not have been applied.
        self.acknowledging = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.error = None

    def run(self):
        turn = 0
        try:
            while not self.stop.is_set():
                self.added.append(self.client.xadd(self.stream, {"n": turn}))
                consumer = f"c{turn % 3}".encode()
                reply = self.client.xreadgroup(self.group, consumer, {self.stream: ">"}, count=2)
                for entry_id, _fields in reply[0][1] if reply else []:
                    self.pending[entry_id] = consumer
                delivered = [entry_id for entry_id, _fields in reply[0][1]] if reply else []
                if delivered:
                    self.acknowledging = delivered[0]
                    self.client.xack(self.stream, self.group, delivered[0])
                    del self.pending[delivered[0]]
                    self.acknowledging = None
                turn += 1
        except (redis.ConnectionError, redis.TimeoutError) as error:
            self.error = error  # the server was killed mid-request: that request was never acknowledged

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.stop.set()
        join_or_fail(self.thread)

    def assert_survived(self, client):
        """Every acknowledged XADD is in the stream and the group's PEL is exactly what was delivered minus what
        was acknowledged (a request cut by a kill may add one more entry or delivery, never lose one)."""
        ids = [entry[0] for entry in client.xrange(self.stream)]
        assert ids[: len(self.added)] == self.added
        assert len(ids) - len(self.added) <= 1
        pel = {entry["message_id"]: entry["consumer"] for entry in
               client.xpending_range(self.stream, self.group, "-", "+", 1_000_000)}
        for entry_id, consumer in self.pending.items():
            assert pel.get(entry_id) == consumer or entry_id == self.acknowledging, entry_id
        assert len(pel) - len(self.pending) <= 2


def test_layout_is_a_manifest_with_a_base_and_an_incremental_file(start_server, tmp_path):
    server = start_aof(start_server, tmp_path)
    client = client_of(server)
    client.xadd("s", {"f": "v"})
    assert manifest_entries(tmp_path) == [("appendonly.aof.1.base.rdb", 1, "b"),
                                         ("appendonly.aof.1.incr.aof", 1, "i")]
    with open(os.path.join(aof_dir(tmp_path), "appendonly.aof.1.base.rdb"), "rb") as base:
        assert base.read(5) == b"REDIS"
    info = persistence_info(client)
    assert info["aof_enabled"] == 1 and info["aof_rewrites"] == 0 and info["aof_last_bgrewrite_status"] == "ok"
    assert info["aof_current_size"] == sum(os.path.getsize(os.path.join(aof_dir(tmp_path), name))
                                           for name, _seq, _type in manifest_entries(tmp_path))
    assert info["aof_base_size"] > 0 and info["aof_last_rewrite_time_sec"] == -1


def test_bgrewriteaof_under_a_continuous_stream_workload_loses_nothing(start_server, tmp_path):
    server = start_aof(start_server, tmp_path, "--appendfsync", "always")
    client = client_of(server)
    fill_keyspace(client, seed=3)
    with StreamWorkload(server) as workload:
        for round_number in range(4):
            time.sleep(0.15)
            assert client.bgrewriteaof() is True
            info = wait_for_rewrite(client)
            assert info["aof_last_bgrewrite_status"] == "ok"
            assert info["aof_rewrites"] == round_number + 1
        time.sleep(0.15)
    assert workload.error is None
    assert len(workload.added) > 50
    seq = manifest_entries(tmp_path)
    assert [entry[2] for entry in seq] == ["b", "i"] and seq[0][1] == 5 and seq[1][1] == 5
    assert_only_listed_files(tmp_path)
    # Consumers' seen and active times are not in the incremental file (a replay sets them to its own time).
    before = full_state(client)
    kill(server)

    restarted = start_aof(start_server, tmp_path)
    client = client_of(restarted)
    workload.assert_survived(client)
    assert full_state(client) == before


def test_automatic_rewrite_triggers_and_shrinks_the_files(start_server, tmp_path):
    server = start_aof(start_server, tmp_path, "--auto-aof-rewrite-min-size", "64kb",
                       "--auto-aof-rewrite-percentage", "100")
    client = client_of(server)
    assert server.client().config_get("auto-aof-rewrite-*") == {"auto-aof-rewrite-min-size": "65536",
                                                                "auto-aof-rewrite-percentage": "100"}
    # About 450 kB of commands in batches, with pauses in which the cron (10 times a second) can notice growth.
    written = 0
    for batch in range(30):
        pipe = client.pipeline(transaction=False)
        for i in range(100):
            pipe.xadd("capped", {"payload": "p" * 100, "i": i}, maxlen=20)
            written += 150
        pipe.execute()
        time.sleep(0.15)
    info = wait_for_rewrite(client)
    # A rewrite starts whenever the files pass 64 kB and have doubled since the last one finished, so several ran
    # and what is left is the last base (about 100 entries) plus less than two growth periods.
    assert info["aof_rewrites"] >= 2 and info["aof_last_bgrewrite_status"] == "ok"
    on_disk = sum(os.path.getsize(os.path.join(aof_dir(tmp_path), name)) for name in files_on_disk(tmp_path))
    assert on_disk < written / 2
    assert info["aof_current_size"] == on_disk - os.path.getsize(os.path.join(aof_dir(tmp_path), "appendonly.aof.manifest"))
    assert_only_listed_files(tmp_path)
    with open(server.log_path) as log:
        assert "Starting automatic rewriting of AOF on" in log.read()
    before = client.xrange("capped")
    kill(server)
    assert client_of(start_aof(start_server, tmp_path)).xrange("capped") == before

    # Percentage 0 switches automatic rewrites off.
    third = start_aof(start_server, tmp_path, "--auto-aof-rewrite-min-size", "1kb",
                      "--auto-aof-rewrite-percentage", "0")
    client = client_of(third)
    for i in range(200):
        client.xadd("capped", {"payload": "p" * 100}, maxlen=20)
    time.sleep(0.5)
    assert persistence_info(client)["aof_rewrites"] == 0


def test_rewrite_replies_and_scheduling_follow_redis(start_server, tmp_path):
    server = start_aof(start_server, tmp_path)
    client = client_of(server)
    fill_big_keyspace(client, copies=100)  # each background job then takes about half a second
    assert client.bgrewriteaof() is True
    with pytest.raises(redis.ResponseError, match="^Background append only file rewriting already in progress$"):
        client.bgrewriteaof()
    with pytest.raises(redis.ResponseError, match=r"^Another child process is active \(AOF\?\): can't BGSAVE"):
        unparsed(client, "BGSAVE")
    assert unparsed(client, "BGSAVE", "SCHEDULE") == b"Background saving scheduled"
    info = persistence_info(client)
    assert info["aof_rewrite_in_progress"] == 1 and info["aof_current_rewrite_time_sec"] >= 0
    wait_for_rewrite(client)
    deadline = time.monotonic() + 60
    while persistence_info(client)["rdb_saves"] == 0:  # the scheduled save starts once the rewrite is done
        assert time.monotonic() < deadline
        time.sleep(0.02)

    assert unparsed(client, "BGSAVE") == b"Background saving started"
    assert unparsed(client, "BGREWRITEAOF") == b"Background append only file rewriting scheduled"
    assert persistence_info(client)["aof_rewrite_scheduled"] == 1
    wait_for_rewrite(client)
    assert persistence_info(client)["aof_rewrites"] == 2

    raw = server.raw()
    assert raw.call("MULTI") == b"+OK\r\n"
    raw.call("XADD", "in-multi", "*", "a", "1")
    raw.call("BGREWRITEAOF")
    raw.call("XADD", "in-multi", "*", "a", "2")
    assert b"+Background append only file rewriting scheduled\r\n" in raw.call("EXEC")
    raw.close()
    info = wait_for_rewrite(client)
    assert info["aof_rewrites"] == 3 and info["aof_last_bgrewrite_status"] == "ok"
    assert_only_listed_files(tmp_path)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        client.execute_command("BGREWRITEAOF", "now")


def test_sigkill_during_a_rewrite_keeps_every_acknowledged_write(start_server, tmp_path):
    server = start_aof(start_server, tmp_path, "--appendfsync", "always")
    client = client_of(server)
    fill_big_keyspace(client, copies=200)  # writing its base takes about a second in a debug build
    manifest_before = manifest_entries(tmp_path)
    with StreamWorkload(server) as workload:
        time.sleep(0.1)
        assert client.bgrewriteaof() is True
        # Writes switched to a new incremental file, already listed after the old ones, and keep landing there.
        assert manifest_entries(tmp_path) == manifest_before + [("appendonly.aof.2.incr.aof", 2, "i")]
        new_incremental = os.path.join(aof_dir(tmp_path), "appendonly.aof.2.incr.aof")
        while os.path.getsize(new_incremental) < 1000:
            time.sleep(0.005)
        assert persistence_info(client)["aof_rewrite_in_progress"] == 1, "the rewrite must still be running"
        kill(server)
    assert len(workload.added) > 5

    restarted = start_aof(start_server, tmp_path)
    client = client_of(restarted)
    workload.assert_survived(client)
    assert client.xlen("big:199") == 5000
    # The half-written base of the killed rewrite is gone; the next rewrite installs normally.
    assert not [name for name in files_on_disk(tmp_path) if name.startswith("temp-")]
    assert client.bgrewriteaof() is True
    assert wait_for_rewrite(client)["aof_last_bgrewrite_status"] == "ok"
    assert_only_listed_files(tmp_path)
    workload.assert_survived(client)


def test_rill_check_finds_damage_and_fix_repairs_a_truncated_file(start_server, tmp_path):
    server = start_aof(start_server, tmp_path)
    client = client_of(server)
    fill_keyspace(client, seed=4)
    assert client.bgrewriteaof() is True
    wait_for_rewrite(client)
    kept = [client.xadd("tail", {"i": i}) for i in range(20)]
    kill(server)
    folder = aof_dir(tmp_path)
    manifest = os.path.join(folder, "appendonly.aof.manifest")
    (base, _, _), (incremental, _, _) = manifest_entries(tmp_path)
    base, incremental = os.path.join(folder, base), os.path.join(folder, incremental)

    result = rill_check(server, manifest)
    assert result.returncode == 0, result.stdout
    assert "snapshot OK" in result.stdout and "append-only file OK (" in result.stdout
    assert "manifest OK (2 files)" in result.stdout

    with open(base, "r+b") as handle:
        data = handle.read()
        offset = len(data) // 2
        handle.seek(offset)
        handle.write(bytes([data[offset] ^ 0x20]))
    result = rill_check(server, base)
    assert result.returncode == 1
    # A flipped byte is caught where the structure breaks, or at the end by the CRC-64.
    assert "bad snapshot: offset" in result.stdout
    assert rill_check(server, manifest).returncode == 1
    result = rill_check(server, "--fix", base, answer="y\n")
    assert result.returncode == 1 and "cannot be repaired" in result.stdout
    with open(base, "r+b") as handle:
        handle.seek(offset)
        handle.write(bytes([data[offset]]))
    assert rill_check(server, base).returncode == 0

    size = os.path.getsize(incremental)
    with open(incremental, "ab") as handle:
        handle.write(b"*3\r\n$4\r\nXADD\r\n$4\r\ntail\r\n$2\r\n12")
    result = rill_check(server, incremental)
    assert result.returncode == 1
    assert f"offset {size}: truncated command" in result.stdout
    refused = run_to_exit(server.binary, tmp_path, "--aof-load-truncated", "no")
    assert refused.returncode != 0

    result = rill_check(server, "--fix", incremental, answer="n\n")
    assert result.returncode == 1 and "Continue? [y/N]" in result.stdout and "Aborting" in result.stdout
    assert os.path.getsize(incremental) > size
    result = rill_check(server, "--fix", manifest, answer="y\n")
    assert result.returncode == 0, result.stdout
    assert "Successfully truncated" in result.stdout
    assert os.path.getsize(incremental) == size
    assert rill_check(server, manifest).returncode == 0

    repaired = start_aof(start_server, tmp_path, "--aof-load-truncated", "no")
    assert [entry[0] for entry in client_of(repaired).xrange("tail")] == kept


def test_damage_in_an_earlier_incremental_file_refuses_to_start(start_server, tmp_path):
    server = start_aof(start_server, tmp_path)
    client = client_of(server)
    client.xadd("s", {"f": 1})
    folder = aof_dir(tmp_path)
    manifest = os.path.join(folder, "appendonly.aof.manifest")
    first_incremental = os.path.join(folder, manifest_entries(tmp_path)[1][0])
    kill(server)
    # A second incremental file after the first, as a rewrite that never finished leaves them.
    with open(manifest, "a") as handle:
        handle.write("file appendonly.aof.2.incr.aof seq 2 type i\n")
    with open(os.path.join(folder, "appendonly.aof.2.incr.aof"), "wb") as handle:
        handle.write(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    with open(first_incremental, "ab") as handle:
        handle.write(b"*3\r\n$3\r\nSET")
    process = run_to_exit(server.binary, tmp_path)
    assert process.returncode != 0
    assert b"Unexpected end of file" in process.stdout + process.stderr

    with open(manifest, "a") as handle:
        handle.write("file appendonly.aof.3.incr.aof seq 2 type i\n")
    process = run_to_exit(server.binary, tmp_path)
    assert process.returncode != 0
    output = process.stdout + process.stderr
    assert b"Invalid AOF manifest" in output and b"line 4" in output


def test_single_file_of_an_older_version_is_loaded_and_listed(start_server, tmp_path):
    folder = aof_dir(tmp_path)
    os.makedirs(folder)
    with open(os.path.join(folder, "appendonly.aof"), "wb") as handle:
        handle.write(b"*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$4\r\nfile\r\n")
    server = start_aof(start_server, tmp_path)
    client = client_of(server)
    assert client.get("old") == b"file"
    assert manifest_entries(tmp_path) == [("appendonly.aof", 1, "i")]
    client.set("new", "write")
    assert client.bgrewriteaof() is True
    wait_for_rewrite(client)
    assert manifest_entries(tmp_path) == [("appendonly.aof.1.base.rdb", 1, "b"), ("appendonly.aof.2.incr.aof", 2, "i")]
    assert_only_listed_files(tmp_path)
    kill(server)
    client = client_of(start_aof(start_server, tmp_path))
    assert (client.get("old"), client.get("new")) == (b"file", b"write")


def test_bgrewriteaof_with_appendonly_off_writes_a_base_for_later(start_server, tmp_path):
    server = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(server)
    fill_keyspace(client, seed=6)
    before = observe(client)
    assert client.bgrewriteaof() is True
    info = wait_for_rewrite(client)
    assert info["aof_enabled"] == 0 and "aof_current_size" not in info
    assert manifest_entries(tmp_path) == [("appendonly.aof.1.base.rdb", 1, "b")]
    server.stop()
    restarted = start_aof(start_server, tmp_path)
    assert observe(client_of(restarted)) == before
    assert [entry[2] for entry in manifest_entries(tmp_path)] == ["b", "i"]


def test_failed_rewrite_keeps_every_file_and_the_next_one_succeeds(start_server, tmp_path):
    server = start_aof(start_server, tmp_path)
    client = client_of(server)
    client.xadd("s", {"before": 1})
    # A directory where the new base must go: its rename fails, even for root.
    blocker = os.path.join(aof_dir(tmp_path), "appendonly.aof.2.base.rdb")
    os.mkdir(blocker)
    assert client.bgrewriteaof() is True
    info = wait_for_rewrite(client)
    assert info["aof_last_bgrewrite_status"] == "err" and info["aof_rewrites_consecutive_failures"] == 1
    assert manifest_entries(tmp_path) == [("appendonly.aof.1.base.rdb", 1, "b"), ("appendonly.aof.1.incr.aof", 1, "i"),
                                         ("appendonly.aof.2.incr.aof", 2, "i")]
    client.xadd("s", {"after": 2})
    before = client.xrange("s")
    with open(server.log_path) as log:
        assert "Background AOF rewrite failed" in log.read()
    kill(server)

    restarted = start_aof(start_server, tmp_path)
    client = client_of(restarted)
    assert client.xrange("s") == before
    os.rmdir(blocker)
    assert client.bgrewriteaof() is True
    info = wait_for_rewrite(client)
    assert info["aof_last_bgrewrite_status"] == "ok" and info["aof_rewrites_consecutive_failures"] == 0
    assert manifest_entries(tmp_path) == [("appendonly.aof.2.base.rdb", 2, "b"), ("appendonly.aof.3.incr.aof", 3, "i")]
    assert_only_listed_files(tmp_path)
    kill(restarted)
    assert client_of(start_aof(start_server, tmp_path)).xrange("s") == before


def test_history_files_left_by_a_crash_are_deleted_at_start_up(start_server, tmp_path):
    server = start_aof(start_server, tmp_path)
    client_of(server).set("k", "v")
    kill(server)
    folder = aof_dir(tmp_path)
    # A crash between installing a rewrite's manifest and deleting the files it replaced leaves them as history.
    for name in ("appendonly.aof.0.incr.aof", "temp-1-1.rdb", "temp-1-2.rill"):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(b"stale")
    with open(os.path.join(folder, "appendonly.aof.manifest"), "a") as handle:
        handle.write("file appendonly.aof.0.incr.aof seq 9 type h\n")
    restarted = start_aof(start_server, tmp_path)
    assert client_of(restarted).get("k") == b"v"
    assert [entry[2] for entry in manifest_entries(tmp_path)] == ["b", "i"]
    assert_only_listed_files(tmp_path)


def start_without_aof(start_server, directory, *extra):
    return start_server("--dir", str(directory), "--save", "", "--appendonly", "no", *extra)


def add_strings_with_ttl(client):
    # 17 minutes: `observe` rounds TTLs to minutes, so a restart may take up to 30 s (loading the big base in a
    # debug build on a loaded machine takes several) before the rounded value changes.
    client.set("ttl:ex", "a", ex=1020)
    client.set("ttl:px", "b", px=2_000_000)
    client.set("ttl:none", "c")


def states_without(state, key):
    return {name: value for name, value in state.items() if name != (0, key)}


def assert_same_state_but_elapsed_time(after, before):
    """`after == before`, except that a TTL (in minutes, rounded) may have dropped by one: on a loaded machine the
    rewrite of the big base and the restart in a debug build can take longer than the 30 s the rounding hides."""
    assert after.keys() == before.keys()
    for name, value in after.items():
        earlier = before[name]
        if isinstance(value, dict) and "ttl_minutes" in value:
            assert earlier["ttl_minutes"] - 1 <= value["ttl_minutes"] <= earlier["ttl_minutes"], name
            value, earlier = ({k: v for k, v in item.items() if k != "ttl_minutes"} for item in (value, earlier))
        assert value == earlier, name


def test_config_set_appendonly_yes_logs_the_keyspace_and_every_write_during_the_rewrite(start_server, tmp_path):
    server = start_without_aof(start_server, tmp_path, "--appendfsync", "always")
    client = client_of(server)
    fill_keyspace(client, seed=7)  # streams with groups, consumers and pending entries
    big = client_of(server)
    big.execute_command("SELECT", 5)
    fill_big_keyspace(big, copies=200)  # writing the base takes about a second in a debug build
    # After the slow fill, so the TTL checks below measure only the rewrite and the restart.
    add_strings_with_ttl(client)
    assert persistence_info(client)["aof_enabled"] == 0
    assert not os.path.exists(aof_dir(tmp_path))
    with StreamWorkload(server) as workload:
        time.sleep(0.1)
        assert client.config_set("appendonly", "yes") is True
        info = persistence_info(client)
        assert info["aof_enabled"] == 1 and info["aof_rewrite_in_progress"] == 1
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        # The manifest names the new incremental file only once its base is installed.
        assert not os.path.exists(os.path.join(aof_dir(tmp_path), "appendonly.aof.manifest"))
        wait_for_rewrite(client)
        assert persistence_info(client)["aof_last_bgrewrite_status"] == "ok"
        before = len(workload.added)
        while len(workload.added) < before + 50:
            time.sleep(0.005)
        earlier = states_without(full_state(client), b"jobs")
        kill(server)
    assert workload.added
    entries = manifest_entries(tmp_path)
    assert [kind for _name, _seq, kind in entries] == ["b", "i"]
    assert_only_listed_files(tmp_path)

    restarted = start_aof(start_server, tmp_path)
    client = client_of(restarted)
    workload.assert_survived(client)
    assert_same_state_but_elapsed_time(states_without(full_state(client), b"jobs"), earlier)
    assert 960_000 < client.pttl("ttl:ex") <= 1_020_000 and client.ttl("ttl:none") == -1
    client.execute_command("SELECT", 5)
    assert client.dbsize() == 201 and client.xlen("big:199") == 5000


def test_config_set_appendonly_no_closes_the_file_and_stops_logging(start_server, tmp_path):
    server = start_aof(start_server, tmp_path)
    client = client_of(server)
    fill_keyspace(client, seed=3)
    add_strings_with_ttl(client)
    switched_off = full_state(client)
    assert client.config_set("appendonly", "no") is True
    assert persistence_info(client)["aof_enabled"] == 0
    files = {name: os.path.getsize(os.path.join(aof_dir(tmp_path), name)) for name in files_on_disk(tmp_path)}
    client.xadd("stream:0", {"after": "off"})
    client.set("ttl:none", "changed")
    client.delete("stream:1")
    client.set("new", "v")
    assert client.config_set("appendonly", "no") is True  # the current value: nothing happens
    assert {name: os.path.getsize(os.path.join(aof_dir(tmp_path), name))
            for name in files_on_disk(tmp_path)} == files
    kill(server)

    restarted = start_aof(start_server, tmp_path)
    assert full_state(client_of(restarted)) == switched_off


def test_appendonly_switched_off_and_on_again_starts_from_the_current_keyspace(start_server, tmp_path):
    server = start_aof(start_server, tmp_path)
    client = client_of(server)
    client.xadd("s", {"phase": "on"})
    assert client.config_set("appendonly", "no") is True
    client.xadd("s", {"phase": "off"})
    client.set("k", "v", ex=500)
    assert client.config_set("appendonly", "yes") is True
    assert client.config_set("appendonly", "yes") is True  # already on: no second rewrite
    info = wait_for_rewrite(client)
    assert info["aof_enabled"] == 1 and info["aof_rewrites"] == 1
    client.xadd("s", {"phase": "on again"})
    expected = full_state(client)
    kill(server)
    assert [kind for _name, _seq, kind in manifest_entries(tmp_path)] == ["b", "i"]
    assert_only_listed_files(tmp_path)

    restarted = start_aof(start_server, tmp_path)
    assert full_state(client_of(restarted)) == expected


def test_config_set_appendonly_yes_waits_for_a_running_bgsave(start_server, tmp_path):
    server = start_without_aof(start_server, tmp_path)
    client = client_of(server)
    fill_big_keyspace(client, copies=200)
    assert client.bgsave() is True
    assert client.config_set("appendonly", "yes") is True
    info = persistence_info(client)
    assert info["aof_enabled"] == 1 and info["aof_rewrite_scheduled"] == 1 and info["aof_rewrite_in_progress"] == 0
    client.xadd("s", {"written": "while scheduled"})
    wait_for_rewrite(client)
    client.xadd("s", {"written": "after"})
    kill(server)

    restarted = client_of(start_aof(start_server, tmp_path))
    assert [fields for _id, fields in restarted.xrange("s")] == [{b"written": b"while scheduled"},
                                                                 {b"written": b"after"}]
    assert restarted.xlen("big:199") == 5000


def test_config_set_appendonly_inside_multi_is_applied_at_exec(start_server, tmp_path):
    server = start_without_aof(start_server, tmp_path)
    client = client_of(server)
    pipe = client.pipeline(transaction=True)
    pipe.xadd("s", {"n": 1})
    pipe.config_set("appendonly", "yes")
    pipe.xadd("s", {"n": 2})
    pipe.execute()
    wait_for_rewrite(client)
    pipe = client.pipeline(transaction=True)
    pipe.xadd("s", {"n": 3})
    pipe.config_set("appendonly", "no")
    pipe.xadd("s", {"n": 4})
    pipe.execute()
    assert persistence_info(client)["aof_enabled"] == 0
    kill(server)

    restarted = client_of(start_aof(start_server, tmp_path))
    assert [fields for _id, fields in restarted.xrange("s")] == [{b"n": b"1"}, {b"n": b"2"}, {b"n": b"3"}]
