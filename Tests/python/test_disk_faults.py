"""A full disk under the append-only file and under BGSAVE, on a real tmpfs each test mounts (size 1 MiB).

While the append-only file cannot be written, write commands (and PING, and EXEC of a transaction with writes) are
refused with Redis' MISCONF error and reads keep being served; the write that hit the full disk is never
acknowledged before a retry gets it into the file; once a filler file is deleted the server accepts writes again by
itself, and after a SIGKILL and a restart every acknowledged write is there. A failed BGSAVE with save points and
`stop-writes-on-bgsave-error yes` refuses writes until a BGSAVE succeeds. The error replies and INFO fields are
compared with Redis 8.2.3 in the same situation.

Needs root (mount); skipped with the reason when mounting is not permitted.
"""

import errno
import os
import subprocess
import time

import pytest

from support import ServerProcess, parse_reply, reference_redis_binary

pytestmark = pytest.mark.rill_only

AOF_REFUSAL = b"-MISCONF Errors writing to the AOF file: No space left on device\r\n"
SNAPSHOT_REFUSAL = (
    b"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands "
    b"that may modify the data set are disabled, because this instance is configured to report errors during "
    b"writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for "
    b"details about the RDB error.\r\n")
# Larger than a tmpfs page: appending it needs a page the full disk does not have.
LARGE_VALUE = b"x" * 9000


@pytest.fixture
def tmpfs(tmp_path):
    """A 1 MiB tmpfs mounted on a fresh directory; unmounted afterwards (lazily if a process still holds it)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(directory):
    """Writes a filler file until the file system is full; returns its path."""
    path = os.path.join(directory, "filler")
    chunk = b"\0" * 4096
    with open(path, "wb", buffering=0) as filler:
        while True:
            try:
                filler.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
                return path


def wait_for(condition, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def persistence_field(connection, name):
    info = connection.call("INFO", "persistence").decode()
    return dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)[name]


def start(binary, directory, *directives):
    return ServerProcess(binary, ["--dir", str(directory), *directives]).start()


def refusals(connection):
    """What a client sees while writes are refused: the replies to writes, PING, reads and transactions."""
    replies = {}
    for name, command in [("xadd", ("XADD", "s", "*", "f", "v")), ("ping", ("PING",)),
                          ("xreadgroup", ("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")),
                          ("xack", ("XACK", "s", "g", "0-1")), ("xtrim", ("XTRIM", "s", "MAXLEN", "0")),
                          ("xlen", ("XLEN", "s")), ("get", ("GET", "missing")),
                          ("multi", ("MULTI",)), ("queued-xadd", ("XADD", "s", "*", "f", "v")),
                          ("exec-after-refused", ("EXEC",)),
                          ("multi-read", ("MULTI",)), ("queued-xlen", ("XLEN", "s")), ("exec-read", ("EXEC",))]:
        replies[name] = connection.call(*command)
    return replies


def expected_refusals(refusal, length):
    return {"xadd": refusal, "ping": refusal, "xreadgroup": refusal, "xack": refusal, "xtrim": refusal,
            "xlen": b":%d\r\n" % length, "get": b"$-1\r\n", "multi": b"+OK\r\n", "queued-xadd": refusal,
            "exec-after-refused": b"-EXECABORT Transaction discarded because of previous errors.\r\n",
            "multi-read": b"+OK\r\n", "queued-xlen": b"+QUEUED\r\n", "exec-read": b"*1\r\n:%d\r\n" % length}


def pending_entries(connection):
    """XPENDING's entries (id, consumer, delivery count) without their idle times."""
    _, entries = parse_reply(connection.call("XPENDING", "s", "g", "-", "+", "100"))
    return [(fields[0][1], fields[1][1], fields[3][1]) for _, fields in entries]


def read_log(server):
    with open(server.log_path, errors="replace") as log:
        return log.read()


@pytest.mark.parametrize("policy", ["everysec", "always"])
def test_full_disk_refuses_writes_keeps_reads_and_recovers(tmpfs, binary, policy):
    directory = tmpfs / "rill"
    directory.mkdir()
    server = start(binary, directory, "--appendonly", "yes", "--appendfsync", policy, "--save", "")
    try:
        client = server.raw()
        client.call("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM")
        acknowledged = [client.call("XADD", "s", "*", "n", str(i)) for i in range(5)]
        assert all(reply.startswith(b"$") for reply in acknowledged)
        filler = fill(directory)

        # The write that finds the disk full: its reply waits until a retry gets it into the file.
        writer = server.raw(timeout=30)
        writer.send(writer.encode("XADD", "s", "*", "large", LARGE_VALUE))
        wait_for(lambda: persistence_field(client, "aof_last_write_status") == "err", "aof_last_write_status:err")
        writer.sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            writer.read_reply()

        # Its effect is in memory (reads see it); every other write is refused, reads are served.
        assert refusals(client) == expected_refusals(AOF_REFUSAL, 6)
        assert persistence_field(client, "aof_last_write_status") == "err"
        assert client.call("XPENDING", "s", "g").startswith(b"*4\r\n:0\r\n")
        assert "Write commands are refused (MISCONF)" in read_log(server)

        os.remove(filler)
        writer.sock.settimeout(30)
        large_id = writer.read_reply()
        assert large_id.startswith(b"$")
        wait_for(lambda: persistence_field(client, "aof_last_write_status") == "ok", "aof_last_write_status:ok")
        assert "AOF write error looks solved" in read_log(server)
        acknowledged.append(large_id)
        acknowledged.append(client.call("XADD", "s", "*", "after", "recovery"))
        delivered = client.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">")
        assert acknowledged[0][acknowledged[0].index(b"\r\n") + 2:-2] in delivered
        assert client.call("XACK", "s", "g", acknowledged[0].split(b"\r\n")[1]) == b":1\r\n"
        before = [client.call("XRANGE", "s", "-", "+"), pending_entries(client)]

        server.process.kill()
        server.process.wait(timeout=10)
        restarted = start(server.binary, directory, "--appendonly", "yes", "--save", "")
        try:
            again = restarted.raw()
            assert [again.call("XRANGE", "s", "-", "+"), pending_entries(again)] == before
            entries = again.call("XRANGE", "s", "-", "+")
            assert all(reply.split(b"\r\n")[1] in entries for reply in acknowledged)
            assert LARGE_VALUE in entries
        finally:
            restarted.stop()
    finally:
        server.stop()



def aof_failure_transcript(binary, directory):
    """Redis 8.2.3 and Rill under everysec on a disk that fills up: what clients see, INFO, and the recovery."""
    server = start(binary, directory, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "")
    try:
        client = server.raw()
        client.call("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM")
        for i in range(5):
            client.call("XADD", "s", "*", "n", str(i))
        filler = fill(directory)
        # Redis acknowledges this write before its retry (everysec); Rill holds the reply: no one waits for it.
        writer = server.raw()
        writer.send(writer.encode("XADD", "s", "*", "large", LARGE_VALUE))
        wait_for(lambda: persistence_field(client, "aof_last_write_status") == "err", "aof_last_write_status:err")
        transcript = refusals(client)
        for field in ("aof_last_write_status", "aof_last_bgrewrite_status", "rdb_last_bgsave_status"):
            transcript[field] = persistence_field(client, field)
        os.remove(filler)
        wait_for(lambda: persistence_field(client, "aof_last_write_status") == "ok", "aof_last_write_status:ok")
        transcript["xadd-after"] = client.call("XADD", "s", "*", "f", "v")[:1]
        transcript["xlen-after"] = client.call("XLEN", "s")
        return transcript
    finally:
        server.stop()


def same_as_redis(transcript, tmpfs, binary):
    """Runs `transcript` against Rill and Redis 8.2.3, each in its own directory of the tmpfs; asserts they saw the
    same and returns it."""
    (tmpfs / "rill").mkdir()
    (tmpfs / "redis").mkdir()
    rill = transcript(binary, tmpfs / "rill")
    assert rill == transcript(reference_redis_binary(), tmpfs / "redis")
    return rill


def test_full_disk_under_everysec_answers_as_redis(tmpfs, binary):
    rill = same_as_redis(aof_failure_transcript, tmpfs, binary)
    expected = expected_refusals(AOF_REFUSAL, 6)
    expected.update(aof_last_write_status="err", aof_last_bgrewrite_status="ok", rdb_last_bgsave_status="ok")
    expected.update({"xadd-after": b"$", "xlen-after": b":7\r\n"})
    assert rill == expected


def snapshot_failure_transcript(binary, directory):
    """A failed SAVE and BGSAVE on a full disk with a save point: replies, INFO, stop-writes-on-bgsave-error."""
    server = start(binary, directory, "--appendonly", "no", "--save", "3600 1")
    try:
        client = server.raw()
        client.call("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM")
        client.call("XADD", "s", "*", "large", LARGE_VALUE)
        filler = fill(directory)
        transcript = {"save": client.call("SAVE"),
                      "status-after-save": persistence_field(client, "rdb_last_bgsave_status"),
                      "xadd-after-save": client.call("XADD", "s", "*", "f", "v")[:1],
                      "bgsave": client.call("BGSAVE")}
        wait_for(lambda: persistence_field(client, "rdb_bgsave_in_progress") == "0"
                 and persistence_field(client, "rdb_last_bgsave_status") == "err", "rdb_last_bgsave_status:err")
        transcript.update(refusals(client))
        transcript["config-get"] = client.call("CONFIG", "GET", "stop-writes-on-bgsave-error")
        client.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
        transcript["xadd-allowed"] = client.call("XADD", "s", "*", "f", "v")[:1]
        client.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
        transcript["xadd-refused-again"] = client.call("XADD", "s", "*", "f", "v")
        client.call("CONFIG", "SET", "save", "")
        transcript["xadd-without-save-points"] = client.call("XADD", "s", "*", "f", "v")[:1]
        client.call("CONFIG", "SET", "save", "3600 1")
        os.remove(filler)
        transcript["bgsave-with-room"] = client.call("BGSAVE")
        wait_for(lambda: persistence_field(client, "rdb_last_bgsave_status") == "ok", "rdb_last_bgsave_status:ok")
        transcript["xadd-after-bgsave"] = client.call("XADD", "s", "*", "f", "v")[:1]
        return transcript
    finally:
        server.stop()


def test_failed_bgsave_stops_writes_until_one_succeeds_as_redis(tmpfs, binary):
    rill = same_as_redis(snapshot_failure_transcript, tmpfs, binary)
    expected = expected_refusals(SNAPSHOT_REFUSAL, 2)
    expected.update({
        "save": b"-ERR\r\n", "status-after-save": "ok", "xadd-after-save": b"$",
        "bgsave": b"+Background saving started\r\n",
        "config-get": b"*2\r\n$27\r\nstop-writes-on-bgsave-error\r\n$3\r\nyes\r\n",
        "xadd-allowed": b"$", "xadd-refused-again": SNAPSHOT_REFUSAL, "xadd-without-save-points": b"$",
        "bgsave-with-room": b"+Background saving started\r\n", "xadd-after-bgsave": b"$"})
    assert rill == expected
