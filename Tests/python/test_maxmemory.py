"""maxmemory and maxmemory-stream-policy: writes refused over the limit, acknowledged stream entries trimmed first.

Rill-only: the stream policy, its INFO fields and the trimming do not exist in Redis (the OOM error itself is
Redis' exact text).
"""

import base64
import re

import pytest
import redis

from support import aof_path

pytestmark = pytest.mark.rill_only

OOM = "command not allowed when used memory > 'maxmemory'."


def used_memory(client):
    return client.info("memory")["used_memory"]


def assert_oom(client, *command):
    with pytest.raises(redis.exceptions.OutOfMemoryError) as error:
        client.execute_command(*command)
    assert str(error.value) == OOM


def test_reject_refuses_growing_writes_and_changes_nothing(start_server):
    client = start_server().client()
    client.xgroup_create("jobs", "workers", id="0", mkstream=True)
    ids = [client.xadd("jobs", {"n": n}) for n in range(5)]
    client.set("counter", 1)
    dump = client.dump("counter")
    delivered = client.xreadgroup("workers", "w1", {"jobs": ">"}, count=3)[0][1]
    assert client.config_set("maxmemory", 1) is True

    assert_oom(client, "XADD", "jobs", "*", "n", "late")
    assert_oom(client, "SET", "other", "x")
    assert_oom(client, "INCR", "counter")
    assert_oom(client, "RPUSH", "list", "x")
    assert_oom(client, "RESTORE", "copy", 0, dump)
    assert_oom(client, "XGROUP", "CREATE", "jobs", "audit", "0")
    assert_oom(client, "XSETID", "jobs", "9999999999999-0")
    assert client.xlen("jobs") == 5
    assert client.dbsize() == 2
    assert client.get("counter") == "1"
    assert [group["name"] for group in client.xinfo_groups("jobs")] == ["workers"]
    assert client.xinfo_stream("jobs")["last-generated-id"] == ids[-1]

    # What consumers and operators need to make room keeps working.
    assert client.xack("jobs", "workers", delivered[0][0]) == 1
    assert client.xreadgroup("workers", "w1", {"jobs": ">"}, count=1)[0][1][0][0] == ids[3]
    assert client.xdel("jobs", ids[4]) == 1
    assert client.xtrim("jobs", minid=ids[1], approximate=False) == 1
    assert client.xrange("jobs", "-", "+", count=1)[0][0] == ids[1]
    assert client.delete("counter") == 1

    # Inside MULTI every queued command needs memory: refused, and EXEC aborts the transaction
    # (redis-py raises the queued command's error rather than EXECABORT).
    pending_before = client.xpending("jobs", "workers")["pending"]
    pipe = client.pipeline(transaction=True)
    pipe.xack("jobs", "workers", ids[1])
    with pytest.raises(redis.exceptions.OutOfMemoryError, match="XACK"):
        pipe.execute()
    assert client.xpending("jobs", "workers")["pending"] == pending_before

    memory = client.info("memory")
    assert memory["maxmemory"] == 1
    assert memory["maxmemory_human"] == "1B"
    assert memory["maxmemory_policy"] == "noeviction"
    assert memory["maxmemory_stream_policy"] == "reject"
    stats = client.info("stats")
    assert stats["oom_rejected_commands"] == 8
    assert stats["stream_acked_trimmed_entries"] == 0
    assert client.info("commandstats")["cmdstat_xadd"]["rejected_calls"] == 1


def test_config_set_maxmemory_at_runtime(start_server):
    server = start_server()
    client = server.client()
    assert client.config_get("maxmemory") == {"maxmemory": "0"}
    assert client.config_get("maxmemory-stream-policy") == {"maxmemory-stream-policy": "reject"}
    client.config_set("maxmemory", "100mb")
    assert client.config_get("maxmemory") == {"maxmemory": str(100 * 1024 * 1024)}
    assert client.info("memory")["maxmemory_human"] == "100.00M"
    client.xadd("s", {"f": "v"})

    client.config_set("maxmemory", used_memory(client) // 2)
    assert_oom(client, "XADD", "s", "*", "f", "v")
    assert "is smaller than the current memory usage" in open(server.log_path).read()
    client.config_set("maxmemory", 0)
    client.xadd("s", {"f": "v"})
    assert client.xlen("s") == 2

    client.config_set("maxmemory-stream-policy", "trim-acked")
    assert client.info("memory")["maxmemory_stream_policy"] == "trim-acked"
    for name, value in [("maxmemory", "lots"), ("maxmemory", "-1"), ("maxmemory-stream-policy", "evict")]:
        with pytest.raises(redis.exceptions.ResponseError):
            client.config_set(name, value)
    assert client.config_get("maxmemory") == {"maxmemory": "0"}
    assert client.config_get("maxmemory-stream-policy") == {"maxmemory-stream-policy": "trim-acked"}


def test_maxmemory_directive_takes_units_at_start_up(start_server):
    client = start_server("--maxmemory", "2gb", "--maxmemory-stream-policy", "trim-acked").client()
    assert client.config_get("maxmemory") == {"maxmemory": str(2 * 1024 ** 3)}
    assert client.info("memory")["maxmemory_stream_policy"] == "trim-acked"


def test_trim_acked_keeps_a_fast_producer_near_the_limit_without_losing_unacknowledged_entries(start_server, tmp_path):
    server = start_server("--maxmemory-stream-policy", "trim-acked", "--appendonly", "yes", "--dir", str(tmp_path),
                          "--save", "")
    client = server.client()
    client.xgroup_create("jobs", "workers", id="0", mkstream=True)
    client.xgroup_create("jobs", "audit", id="0")
    for n in range(100):
        client.xadd("untracked", {"n": n})  # no groups: nothing there counts as acknowledged
    limit = used_memory(client) + 1024 * 1024
    client.config_set("maxmemory", limit)

    payload = "x" * 200
    added = []  # ids the server accepted, in order
    pending = set()  # delivered to "workers", never acknowledged
    refused = 0
    peak = 0
    for round_number in range(150):
        pipe = client.pipeline(transaction=False)
        for n in range(100):
            pipe.xadd("jobs", {"round": round_number, "n": n, "payload": payload})
        for reply in pipe.execute(raise_on_error=False):
            if isinstance(reply, redis.exceptions.OutOfMemoryError):
                refused += 1
            else:
                added.append(reply)
        # The consumers fall behind: each group handles 60 of every 100 entries; "workers" never acknowledges
        # the first entry of every 10th batch (a crashed worker's), "audit" acknowledges everything it reads.
        for group, keep_pending in (("workers", True), ("audit", False)):
            reply = client.xreadgroup(group, "c", {"jobs": ">"}, count=60)
            ids = [entry_id for entry_id, _fields in reply[0][1]] if reply else []
            stuck = keep_pending and round_number % 10 == 0
            done = [entry_id for index, entry_id in enumerate(ids) if not (stuck and index == 0)]
            if keep_pending:
                pending.update(set(ids) - set(done))
            if done:
                client.xack("jobs", group, *done)
        peak = max(peak, used_memory(client))

    stats = client.info("stats")
    assert stats["stream_acked_trimmed_entries"] > 0
    assert refused > 0, "the consumers fall behind, so some writes must eventually be refused"
    # Trims free whole 4 KB nodes and the limit is checked before each write: a little overshoot, no more.
    assert peak <= limit + 512 * 1024, (peak, limit)
    assert client.xlen("untracked") == 100

    # Nothing either group still needs was removed: every pending entry and everything not yet delivered.
    assert len(pending) == 15
    for entry_id in pending:
        assert client.xrange("jobs", entry_id, entry_id), f"pending entry {entry_id} was trimmed"
    last_delivered = min(group["last-delivered-id"] for group in client.xinfo_groups("jobs"))
    undelivered = [entry_id for entry_id in added if tuple(map(int, entry_id.split("-"))) >
                   tuple(map(int, last_delivered.split("-")))]
    assert [entry_id for entry_id, _ in client.xrange("jobs", "(" + last_delivered, "+")] == undelivered
    assert client.xlen("jobs") < len(added)
    assert "acknowledged stream entries" in open(server.log_path).read()

    # The trims are in the append-only file as exact XTRIM MINID: replay gives the same stream.
    before = client.xrange("jobs", "-", "+")
    before_groups = client.xinfo_groups("jobs")
    server.stop()
    replayed = start_server("--appendonly", "yes", "--dir", str(tmp_path), "--save", "").client()
    assert replayed.xrange("jobs", "-", "+") == before
    assert replayed.xinfo_groups("jobs") == before_groups
    with open(aof_path(tmp_path), "rb") as file:
        aof = file.read()
    assert re.search(rb"\*6\r\n\$5\r\nXTRIM\r\n\$4\r\njobs\r\n\$5\r\nMINID\r\n\$1\r\n=\r\n\$\d+\r\n\d+-\d+\r\n"
                     rb"\$5\r\nACKED\r\n", aof)


def test_trim_acked_still_refuses_when_nothing_is_acknowledged(start_server):
    client = start_server("--maxmemory-stream-policy", "trim-acked").client()
    client.xgroup_create("jobs", "workers", id="0", mkstream=True)
    for n in range(50):
        client.xadd("jobs", {"n": n})
    reply = client.xreadgroup("workers", "c", {"jobs": ">"}, count=50)  # all delivered, none acknowledged
    client.config_set("maxmemory", 1)
    assert_oom(client, "XADD", "jobs", "*", "n", "late")
    assert_oom(client, "XADD", "jobs", "*", "n", "late")
    assert client.xlen("jobs") == 50
    assert client.info("stats")["stream_acked_trimmed_entries"] == 0
    # Acknowledging makes entries trimmable again: the next refused write trims them first.
    client.xack("jobs", "workers", *[entry_id for entry_id, _fields in reply[0][1][:20]])
    assert_oom(client, "XADD", "jobs", "*", "n", "late")
    assert client.info("stats")["stream_acked_trimmed_entries"] == 20
    assert client.xlen("jobs") == 30


def test_restore_is_refused_before_its_payload_is_checked(start_server):
    """RESTORE is refused before its payload is looked at, as Redis refuses denyoom commands up front."""
    client = start_server().client()
    client.config_set("maxmemory", 1)
    assert_oom(client, "RESTORE", "k", 0, base64.b64decode("AAAA"))
