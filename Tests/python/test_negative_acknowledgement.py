"""Negative acknowledgement: XNACK, which hands pending entries back to the group for re-delivery.

Redis added it in 8.8 and the reference redis-server is older, so these are rill_only; the expected replies come
from Redis' command pages (reply shapes, documented errors) rather than from a side-by-side run. Released entries
are also checked across a restart with a snapshot (SAVE), DUMP/RESTORE and the append-only file.
"""

import pytest
import redis

from test_aof import survive_aof_restart
from support import unparsed
from test_claim_on_read import claim_read
from test_persistence import dump_and_restore, survive_snapshot_restart

pytestmark = pytest.mark.rill_only


def nack_setup(client):
    ids = [client.xadd("s", {"n": i}, id=f"{i + 1}-0") for i in range(3)]
    client.xgroup_create("s", "g", id="0")
    client.xreadgroup("g", "c1", {"s": ">"})
    return ids


def pending_rows(client):
    """Raw extended XPENDING rows: [id, consumer, idle, deliveries]."""
    return unparsed(client, "XPENDING", "s", "g", "-", "+", 10)


def pending_state(client):
    """pending_rows without the idle time of owned entries, which grows between calls (released ones stay -1)."""
    return [[entry_id, owner, idle if idle == -1 else None, count] for entry_id, owner, idle, count in pending_rows(client)]


def test_xnack_fail_releases_entries_without_owner(r):
    ids = nack_setup(r)
    assert r.execute_command("XNACK", "s", "g", "FAIL", "IDS", 2, ids[0], ids[1]) == 2
    rows = pending_rows(r)
    assert rows[0] == [ids[0], "", -1, 1] and rows[1] == [ids[1], "", -1, 1]
    assert rows[2][:2] == [ids[2], "c1"]
    summary = unparsed(r, "XPENDING", "s", "g")
    assert summary == [3, ids[0], ids[2], [["c1", "1"]]]
    assert r.xinfo_consumers("s", "g")[0]["pending"] == 1
    assert r.xinfo_groups("s")[0]["pending"] == 3


def test_xnack_modes_and_retrycount(r):
    ids = nack_setup(r)
    r.xclaim("s", "g", "c1", 0, [ids[0]])  # 2 deliveries
    assert r.execute_command("XNACK", "s", "g", "SILENT", "IDS", 1, ids[0]) == 1
    assert r.execute_command("XNACK", "s", "g", "FATAL", "IDS", 1, ids[1]) == 1
    assert r.execute_command("XNACK", "s", "g", "FAIL", "IDS", 1, ids[2], "RETRYCOUNT", 7) == 1
    assert [row[3] for row in pending_rows(r)] == [1, 2**63 - 1, 7]
    # SILENT does not go below zero.
    r.execute_command("XNACK", "s", "g", "FAIL", "IDS", 1, ids[0], "RETRYCOUNT", 0)
    r.execute_command("XNACK", "s", "g", "SILENT", "IDS", 1, ids[0])
    assert pending_rows(r)[0][3] == 0


def test_xnack_ignores_ids_not_pending_unless_forced(r):
    ids = nack_setup(r)
    r.xack("s", "g", ids[0])
    assert r.execute_command("XNACK", "s", "g", "FAIL", "IDS", 2, ids[0], "99-0") == 0
    assert r.execute_command("XNACK", "s", "g", "FATAL", "IDS", 2, ids[0], "99-0", "FORCE") == 1
    assert pending_rows(r)[0] == [ids[0], "", -1, 2**63 - 1]
    r.xack("s", "g", ids[0])
    assert r.execute_command("XNACK", "s", "g", "SILENT", "IDS", 1, ids[0], "FORCE", "RETRYCOUNT", 3) == 1
    assert pending_rows(r)[0] == [ids[0], "", -1, 3]


def test_released_entries_are_claimed_first(r):
    ids = nack_setup(r)
    r.execute_command("XNACK", "s", "g", "FAIL", "IDS", 1, ids[2])
    reply = claim_read(r, "c2", count=1, claim=60_000)
    assert reply == [["s", [[ids[2], ["n", "2"], -1, 1]]]]
    assert pending_rows(r)[2][:2] == [ids[2], "c2"]
    r.execute_command("XNACK", "s", "g", "FAIL", "IDS", 1, ids[1])
    assert r.xclaim("s", "g", "c3", 3_600_000, [ids[1]], justid=True) == [ids[1]]
    r.execute_command("XNACK", "s", "g", "FAIL", "IDS", 1, ids[0])
    assert r.xack("s", "g", ids[0]) == 1
    assert r.xpending("s", "g")["pending"] == 2


def test_xnack_reply_in_resp3(r3):
    ids = nack_setup(r3)
    assert unparsed(r3, "XNACK", "s", "g", "FAIL", "IDS", 1, ids[0]) == 1


@pytest.mark.parametrize("arguments, message", [
    (["XNACK", "s", "g", "OOPS", "IDS", "1", "1-0"], "syntax error"),
    (["XNACK", "s", "g", "FAIL", "ID", "1", "1-0"], "syntax error"),
    (["XNACK", "s", "g", "FAIL", "IDS", "0", "1-0"], "positive integer"),
    (["XNACK", "s", "g", "FAIL", "IDS", "2", "1-0"], "numids"),
    (["XNACK", "s", "g", "FAIL", "IDS", "1", "bad"], "Invalid stream ID"),
    (["XNACK", "s", "g", "FAIL", "IDS", "1", "1-0", "RETRYCOUNT", "-1"], "RETRYCOUNT"),
    (["XNACK", "s", "g", "FAIL", "IDS", "1", "1-0", "EXTRA"], "syntax error"),
    (["XNACK", "s", "nogroup", "FAIL", "IDS", "1", "1-0"], "NOGROUP"),
    (["XNACK", "missing", "g", "FAIL", "IDS", "1", "1-0"], "NOGROUP"),
    (["XNACK", "text", "g", "FAIL", "IDS", "1", "1-0"], "WRONGTYPE"),
    (["XNACK", "s", "g", "FAIL", "IDS", "1"], "wrong number of arguments"),
])
def test_xnack_bad_arguments_change_nothing(r, arguments, message):
    nack_setup(r)
    r.set("text", "x")
    before = pending_state(r)
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*arguments)
    assert pending_state(r) == before


def nack_workload(client):
    ids = [client.xadd(b"s", {"n": i}) for i in range(4)]
    client.xgroup_create(b"s", b"g", id="0")
    client.xreadgroup(b"g", b"c1", {b"s": b">"})
    client.execute_command("XNACK", "s", "g", "FAIL", "IDS", 2, ids[0], ids[2])
    client.execute_command("XNACK", "s", "g", "FATAL", "IDS", 1, ids[3])
    client.execute_command("XREADGROUP", "GROUP", "g", "c2", "COUNT", 1, "CLAIM", 0, "STREAMS", "s", ">")
    client.xgroup_create(b"s", b"other", id="0")
    client.execute_command("XNACK", "s", "other", "SILENT", "IDS", 1, ids[1], "FORCE")


def test_xnack_survives_snapshot_restart(start_server, tmp_path):
    survive_snapshot_restart(start_server, tmp_path, nack_workload)


def test_xnack_survives_dump_and_restore(r):
    nack_workload(r)
    before = pending_state(r)
    dump_and_restore(r)
    assert pending_state(r) == before


def test_xnack_replays_from_the_append_only_file(start_server, tmp_path):
    survive_aof_restart(start_server, tmp_path, nack_workload)
