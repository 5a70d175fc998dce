"""Redis 8 stream features: XREADGROUP ... CLAIM (8.4), idempotent XADD and XCFGSET (8.6), XNACK (8.8).

The installed redis-server is 7.0, so these are rill_only; the expected replies come from Redis' command pages
(reply shapes, documented errors) rather than from a side-by-side run. Each feature is also checked across a
restart with a snapshot (SAVE) and with the append-only file.
"""

import threading
import time

import pytest
import redis

from test_aof import full_state, kill, start_aof
from test_aof_effects import strip_fields
from support import join_or_fail, unparsed, wait_for_blocked_clients
from test_persistence import client_of, observe

pytestmark = pytest.mark.rill_only


def claim_read(client, consumer, key="s", count=None, claim=0, block=None, noack=False, position=">"):
    args = ["XREADGROUP", "GROUP", "g", consumer]
    if count is not None:
        args += ["COUNT", count]
    if block is not None:
        args += ["BLOCK", block]
    args += ["CLAIM", claim]
    if noack:
        args.append("NOACK")
    return unparsed(client, *args, "STREAMS", key, position)


def deliveries(client, key="s", group="g"):
    """(id, consumer, times delivered) of every pending entry."""
    return [(entry["message_id"], entry["consumer"], entry["times_delivered"])
            for entry in client.xpending_range(key, group, "-", "+", 1000)]


def make_group_with_pending(client, pending=2, new=2):
    """A group where consumer `dead` holds `pending` delivered entries and `new` entries are undelivered."""
    ids = [client.xadd("s", {"n": i}) for i in range(pending + new)]
    client.xgroup_create("s", "g", id="0")
    client.xreadgroup("g", "dead", {"s": ">"}, count=pending)
    return ids


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


def survive_aof_restart(start_server, tmp_path, workload):
    """Runs `workload` with appendonly yes, kills the server, restarts replaying the file; asserts the same state
    (consumers' seen and active times aside: a replay sets them to when it runs)."""
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    result = workload(client)
    before = full_state(client)
    kill(first)
    second = start_aof(start_server, tmp_path)
    client = client_of(second)
    assert full_state(client) == before
    return client, result


# XREADGROUP ... CLAIM


def test_claim_takes_idle_pending_entries_first_then_new_ones(r):
    ids = make_group_with_pending(r)
    time.sleep(0.05)
    reply = claim_read(r, "alive", claim=20)
    assert len(reply) == 1 and reply[0][0] == "s"
    entries = reply[0][1]
    assert [entry[0] for entry in entries] == ids
    # Claimed entries: [id, fields, ms since last delivery, deliveries before this one].
    for entry, n in zip(entries[:2], range(2)):
        assert entry[1] == ["n", str(n)]
        assert entry[2] >= 50
        assert entry[3] == 1
    # New entries carry 0 and 0.
    assert [entry[2:] for entry in entries[2:]] == [[0, 0], [0, 0]]
    assert deliveries(r) == [(ids[0], "alive", 2), (ids[1], "alive", 2), (ids[2], "alive", 1), (ids[3], "alive", 1)]
    assert r.xinfo_groups("s")[0]["last-delivered-id"] == ids[3]


def test_claim_respects_min_idle_time(r):
    ids = make_group_with_pending(r)
    reply = claim_read(r, "alive", claim=60_000)
    assert [entry[0] for entry in reply[0][1]] == ids[2:]
    assert [owner for _id, owner, _count in deliveries(r)[:2]] == ["dead", "dead"]


def test_claim_orders_by_idle_time_longest_first(r):
    ids = [r.xadd("s", {"n": i}) for i in range(3)]
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "a", {"s": ">"}, count=3)
    # Make the last entry the longest idle and the first the shortest.
    r.xclaim("s", "g", "a", 0, [ids[2]], idle=9_000)
    r.xclaim("s", "g", "a", 0, [ids[1]], idle=5_000)
    r.xclaim("s", "g", "a", 0, [ids[0]], idle=1_000)
    reply = claim_read(r, "b", claim=500)
    assert [entry[0] for entry in reply[0][1]] == [ids[2], ids[1], ids[0]]


def test_count_is_shared_between_claimed_and_new_entries(r):
    ids = make_group_with_pending(r, pending=2, new=3)
    reply = claim_read(r, "alive", count=3, claim=0)
    assert [entry[0] for entry in reply[0][1]] == ids[:3]
    assert r.xinfo_groups("s")[0]["last-delivered-id"] == ids[2]
    reply = claim_read(r, "alive", count=1, claim=60_000)
    assert [entry[0] for entry in reply[0][1]] == [ids[3]]


def test_count_filled_by_claims_reads_no_new_entries(r):
    ids = make_group_with_pending(r, pending=2, new=2)
    reply = claim_read(r, "alive", count=2, claim=0)
    assert [entry[0] for entry in reply[0][1]] == ids[:2]
    assert r.xinfo_groups("s")[0]["last-delivered-id"] == ids[1]


def test_claim_with_noack_keeps_claimed_entries_pending(r):
    ids = make_group_with_pending(r, pending=1, new=1)
    reply = claim_read(r, "alive", claim=0, noack=True)
    assert [entry[0] for entry in reply[0][1]] == ids
    # The claimed one stays pending (NOACK does not apply to it); the new one was not added.
    assert deliveries(r) == [(ids[0], "alive", 2)]


def test_claim_is_ignored_for_history_reads(r):
    ids = make_group_with_pending(r, pending=1, new=1)
    reply = claim_read(r, "dead", claim=0, position="0")
    assert reply == [["s", [[ids[0], ["n", "0"]]]]]


def test_claim_drops_deleted_pending_entries(r):
    ids = make_group_with_pending(r, pending=2, new=0)
    r.xdel("s", ids[0])
    reply = claim_read(r, "alive", claim=0)
    assert [entry[0] for entry in reply[0][1]] == [ids[1]]
    assert deliveries(r) == [(ids[1], "alive", 2)]


def test_claim_with_nothing_to_deliver_answers_nil(r):
    make_group_with_pending(r, pending=1, new=0)
    assert claim_read(r, "alive", claim=60_000) is None
    # The consumer exists now, as with any XREADGROUP.
    assert [c["name"] for c in r.xinfo_consumers("s", "g")] == ["alive", "dead"]


def test_claim_reply_in_resp3(r, r3):
    ids = make_group_with_pending(r, pending=1, new=1)
    reply = claim_read(r3, "alive", claim=0)
    assert isinstance(reply, dict) and list(reply.keys()) == ["s"]
    entries = reply["s"]
    assert [entry[0] for entry in entries] == ids
    assert isinstance(entries[0][2], int) and entries[0][3] == 1
    assert entries[1][2:] == [0, 0]


def test_claim_blocks_until_new_entries_arrive(server, r):
    r.xgroup_create("s", "g", id="0", mkstream=True)
    blocked = server.client()
    try:
        pool_reply = {}
        def read():
            pool_reply["value"] = claim_read(blocked, "alive", claim=60_000, block=5000)

        thread = threading.Thread(target=read)
        thread.start()
        wait_for_blocked_clients(r, 1)
        added = r.xadd("s", {"late": 1})
        join_or_fail(thread)
        assert pool_reply["value"] == [["s", [[added, ["late", "1"], 0, 0]]]]
    finally:
        blocked.close()


@pytest.mark.parametrize("arguments, message", [
    (["CLAIM", "abc"], "min-idle-time"),
    (["CLAIM", "-1"], "min-idle-time"),
    # CLAIM takes the next word as its value, here STREAMS.
    (["CLAIM"], "min-idle-time"),
])
def test_claim_bad_arguments_change_nothing(r, arguments, message):
    make_group_with_pending(r, pending=1, new=1)
    before = (deliveries(r), r.xinfo_groups("s"))
    with pytest.raises(redis.ResponseError, match=message):
        unparsed(r, "XREADGROUP", "GROUP", "g", "alive", *arguments, "STREAMS", "s", ">")
    assert (deliveries(r), r.xinfo_groups("s")) == before


def test_xread_rejects_claim(r):
    r.xadd("s", {"f": "v"})
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("XREAD", "CLAIM", 0, "STREAMS", "s", "0")


def claim_workload(client):
    ids = [client.xadd(b"s", {"n": i}) for i in range(5)]
    client.xgroup_create(b"s", b"g", id="0")
    client.xreadgroup(b"g", b"dead", {b"s": b">"}, count=2)
    client.xreadgroup(b"g", b"quiet", {b"s": b">"}, count=1, noack=True)
    client.execute_command("XREADGROUP", "GROUP", "g", "alive", "COUNT", 3, "CLAIM", 0, "STREAMS", "s", ">")
    client.execute_command("XREADGROUP", "GROUP", "g", "late", "CLAIM", 60_000, "STREAMS", "s", ">")
    client.execute_command("XREADGROUP", "GROUP", "g", "idle", "CLAIM", 60_000, "STREAMS", "s", ">")
    return ids


def test_claim_survives_snapshot_restart(start_server, tmp_path):
    survive_snapshot_restart(start_server, tmp_path, claim_workload)


def test_claim_replays_from_the_append_only_file(start_server, tmp_path):
    survive_aof_restart(start_server, tmp_path, claim_workload)


# XADD IDMP / IDMPAUTO and XCFGSET


def info(client, key="s"):
    reply = unparsed(client, "XINFO", "STREAM", key)
    return dict(zip(reply[0::2], reply[1::2])) if isinstance(reply, list) else reply


def test_idmp_retry_returns_the_original_id_and_adds_nothing(r):
    first = r.execute_command("XADD", "s", "IDMP", "p1", "payment-abc", "*", "amount", "100")
    again = r.execute_command("XADD", "s", "IDMP", "p1", "payment-abc", "*", "amount", "200")
    assert again == first
    assert r.xlen("s") == 1
    assert r.xrange("s") == [(first, {"amount": "100"})]
    # Other iids and other producers are independent.
    other = r.execute_command("XADD", "s", "IDMP", "p2", "payment-abc", "*", "amount", "300")
    assert other != first and r.xlen("s") == 2


def test_idmp_returns_the_original_id_even_after_the_entry_is_deleted(r):
    first = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    r.xdel("s", first)
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") == first
    assert r.xlen("s") == 0


def test_idmpauto_derives_the_iid_from_the_content(r):
    first = r.execute_command("XADD", "s", "IDMPAUTO", "p1", "*", "a", "1", "b", "2")
    assert r.execute_command("XADD", "s", "IDMPAUTO", "p1", "*", "b", "2", "a", "1") == first
    changed = r.execute_command("XADD", "s", "IDMPAUTO", "p1", "*", "a", "1", "b", "3")
    assert changed != first
    # A repeated pair is different content.
    assert r.execute_command("XADD", "s", "IDMPAUTO", "p1", "*", "a", "1", "a", "1") not in (first, changed)
    assert r.xlen("s") == 3


def test_xinfo_stream_shows_idempotency_fields(r, r3):
    r.xadd("plain", {"f": "v"})
    assert "idmp-duration" not in info(r, "plain")
    r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    r.execute_command("XADD", "s", "IDMP", "p2", "b", "*", "f", "v")
    reply = unparsed(r, "XINFO", "STREAM", "s")
    names = reply[0::2]
    assert names[names.index("recorded-first-entry-id") + 1:names.index("groups")] == [
        "idmp-duration", "idmp-maxsize", "pids-tracked", "iids-tracked", "iids-added", "iids-duplicates"]
    fields = info(r)
    assert [fields[name] for name in names[7:13]] == [100, 100, 2, 2, 2, 1]
    full = unparsed(r, "XINFO", "STREAM", "s", "FULL")
    assert full[full.index("idmp-duration") + 1] == 100
    resp3 = unparsed(r3, "XINFO", "STREAM", "s")
    assert resp3["iids-duplicates"] == 1 and resp3["pids-tracked"] == 2


def test_idmp_with_nomkstream_and_trimming(r):
    assert r.execute_command("XADD", "s", "NOMKSTREAM", "IDMP", "p1", "a", "*", "f", "v") is None
    assert not r.exists("s")
    first = r.execute_command("XADD", "s", "MAXLEN", "1", "IDMP", "p1", "a", "*", "f", "v")
    r.execute_command("XADD", "s", "IDMP", "p1", "b", "MAXLEN", "1", "*", "f", "w")
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "MAXLEN", "1", "*", "f", "x") == first
    assert r.xlen("s") == 1


def test_idmp_inside_multi(r):
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "1")
    pipe.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "2")
    first, second = pipe.execute()
    assert first == second and r.xlen("s") == 1


def test_maxsize_evicts_the_oldest_iids_per_producer(r):
    r.execute_command("XADD", "s", "IDMP", "p1", "init", "*", "f", "v")
    assert r.execute_command("XCFGSET", "s", "IDMP-MAXSIZE", 2) == "OK"
    ids = [r.execute_command("XADD", "s", "IDMP", "p1", f"req-{i}", "*", "f", i) for i in range(3)]
    assert r.execute_command("XADD", "s", "IDMP", "p1", "req-2", "*", "f", "dup") == ids[2]
    assert r.execute_command("XADD", "s", "IDMP", "p1", "req-0", "*", "f", "again") not in ids
    assert info(r)["iids-tracked"] == 2


def test_duration_expires_iids(r):
    r.execute_command("XADD", "s", "IDMP", "p1", "x", "*", "f", "v")
    r.execute_command("XCFGSET", "s", "IDMP-DURATION", 1)
    first = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") == first
    time.sleep(1.1)
    assert info(r)["iids-tracked"] == 0
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") != first


def test_xcfgset_clears_history_only_when_a_setting_changes(r):
    first = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    assert r.execute_command("XCFGSET", "s", "IDMP-DURATION", 100, "IDMP-MAXSIZE", 100) == "OK"
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") == first
    assert r.execute_command("XCFGSET", "s", "IDMP-DURATION", 5) == "OK"
    assert info(r)["idmp-duration"] == 5 and info(r)["iids-tracked"] == 0
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") != first
    # Lifetime counters survive the clearing.
    assert info(r)["iids-added"] == 2 and info(r)["iids-duplicates"] == 1


@pytest.mark.parametrize("arguments, message", [
    (["XADD", "s", "IDMP", "p1", "*", "f", "v"], "Invalid stream ID"),
    (["XADD", "s", "IDMP", "p1", "i", "1-1", "f", "v"], "only with auto-generated IDs"),
    (["XADD", "s", "IDMPAUTO", "p1", "5-*", "f", "v"], "only with auto-generated IDs"),
    (["XADD", "s", "IDMP", "p1", "i", "IDMP", "p2", "j", "*", "f", "v"], "specified multiple times"),
    (["XADD", "s", "IDMPAUTO", "p1", "IDMP", "p2", "j", "*", "f", "v"], "specified multiple times"),
    (["XADD", "s", "IDMP", "", "i", "*", "f", "v"], "non-empty producer ID"),
    (["XADD", "s", "IDMP", "p1", "", "*", "f", "v"], "non-empty idempotent ID"),
    (["XADD", "s", "IDMPAUTO", "", "*", "f", "v"], "non-empty producer ID"),
    (["XCFGSET", "s"], "At least one parameter"),
    (["XCFGSET", "s", "IDMP-DURATION"], "syntax error"),
    (["XCFGSET", "s", "IDMP-DURATION", "0"], "IDMP-DURATION must be between"),
    (["XCFGSET", "s", "IDMP-DURATION", "86401"], "IDMP-DURATION must be between"),
    (["XCFGSET", "s", "IDMP-MAXSIZE", "10001"], "IDMP-MAXSIZE must be between"),
    (["XCFGSET", "s", "IDMP-MAXSIZE", "3.14"], "not an integer"),
    (["XCFGSET", "s", "INVALID", "1"], "syntax error"),
    (["XCFGSET", "missing", "IDMP-DURATION", "5"], "no such key"),
    (["XCFGSET", "text", "IDMP-DURATION", "5"], "WRONGTYPE"),
])
def test_idempotency_bad_arguments_change_nothing(r, arguments, message):
    r.set("text", "x")
    r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    before = (r.xrange("s"), info(r))
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*arguments)
    assert (r.xrange("s"), info(r)) == before


def test_xidmprecord_restores_a_pair(r):
    entry = r.xadd("s", {"f": "v"})
    assert r.execute_command("XIDMPRECORD", "s", "p1", "a", entry) == "OK"
    assert r.execute_command("XIDMPRECORD", "s", "p1", "a", entry) == "OK"
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "w") == entry
    with pytest.raises(redis.ResponseError):
        r.execute_command("XIDMPRECORD", "s", "p1", "a", "0-1")
    other = r.xadd("s", {"f": "x"})
    with pytest.raises(redis.ResponseError):
        r.execute_command("XIDMPRECORD", "s", "p1", "a", other)
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.execute_command("XIDMPRECORD", "missing", "p1", "a", entry)


def idempotency_workload(client):
    client.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    client.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "dup")
    client.execute_command("XADD", "s", "IDMPAUTO", "p2", "*", "x", "1")
    client.execute_command("XADD", "cfg", "*", "f", "v")
    client.execute_command("XCFGSET", "cfg", "IDMP-DURATION", 600, "IDMP-MAXSIZE", 7)
    client.execute_command("XADD", "cfg", "IDMP", "p", "i", "MAXLEN", "~", "10", "*", "f", "v")
    return [client.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "later"),
            client.execute_command("XADD", "s", "IDMPAUTO", "p2", "*", "x", "1"),
            client.execute_command("XADD", "cfg", "IDMP", "p", "i", "*", "f", "later")]


def check_idempotency_after_restart(client, expected_ids):
    assert [client.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "again"),
            client.execute_command("XADD", "s", "IDMPAUTO", "p2", "*", "x", "1"),
            client.execute_command("XADD", "cfg", "IDMP", "p", "i", "*", "f", "again")] == expected_ids
    assert client.xlen("s") == 2 and client.xlen("cfg") == 2


def test_idempotency_survives_snapshot_restart(start_server, tmp_path):
    client, ids = survive_snapshot_restart(start_server, tmp_path, idempotency_workload)
    check_idempotency_after_restart(client, ids)


def dump_and_restore(client, key="s"):
    payload = client.dump(key)
    client.delete(key)
    client.restore(key, 0, payload)


def test_idempotency_survives_dump_and_restore(r):
    r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    r.execute_command("XCFGSET", "s", "IDMP-MAXSIZE", 9)
    before = info(r)
    dump_and_restore(r)
    assert info(r) == before


def test_idempotency_replays_from_the_append_only_file(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    ids = idempotency_workload(client)
    before = without_duplicate_counts(full_state(client))
    kill(first)
    client = client_of(start_aof(start_server, tmp_path))
    assert without_duplicate_counts(full_state(client)) == before
    check_idempotency_after_restart(client, ids)
    aof = b"".join(path.read_bytes() for path in sorted((tmp_path / "appendonlydir").glob("*.aof")))
    # A retry changed no data, so it is not in the file (its iids-duplicates count is not restored either).
    assert b"dup" not in aof and aof.count(b"XIDMPRECORD") == 3


def without_duplicate_counts(state):
    for entry in state.values():
        for reply in ("full", "info"):
            if reply in entry:
                entry[reply] = strip_fields(entry[reply], {b"iids-duplicates"})
    return state


# XNACK


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


def test_command_table_describes_the_new_commands(r):
    info = {entry[0]: entry for entry in unparsed(r, "COMMAND", "INFO", "XNACK", "XCFGSET", "XIDMPRECORD")}
    assert info["xnack"][1:6] == [-7, ["write", "fast"], 1, 1, 1]
    assert info["xcfgset"][1:6] == [-2, ["write", "fast"], 1, 1, 1]
    assert info["xidmprecord"][1:6] == [5, ["write", "denyoom", "fast"], 1, 1, 1]
    names = set(unparsed(r, "COMMAND", "LIST"))
    assert {"xnack", "xcfgset", "xidmprecord"} <= names
    assert unparsed(r, "COMMAND", "COUNT") == len([name for name in names if "|" not in name])


def test_idempotency_pairs_still_expire_after_a_snapshot_restart(start_server, tmp_path):
    first_server = start_server("--dir", str(tmp_path), "--save", "")
    client = client_of(first_server)
    client.execute_command("XADD", "s", "*", "f", "v")
    client.execute_command("XCFGSET", "s", "IDMP-DURATION", 5)
    recorded_at = time.monotonic()
    first = client.execute_command("XADD", "s", "IDMP", "p", "i", "*", "f", "v")
    assert client.save() is True
    first_server.stop()
    client = client_of(start_server("--dir", str(tmp_path), "--save", ""))
    assert client.execute_command("XADD", "s", "IDMP", "p", "i", "*", "f", "v") == first
    time.sleep(max(0.0, recorded_at + 5.2 - time.monotonic()))
    assert client.execute_command("XADD", "s", "IDMP", "p", "i", "*", "f", "v") != first
    assert client.xlen("s") == 3


def test_blocked_claim_read_served_later_replays_from_the_append_only_file(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    client.xgroup_create(b"s", b"g", id="0", mkstream=True)
    reader = client_of(first)
    result = {}

    def read():
        result["reply"] = reader.execute_command("XREADGROUP", "GROUP", "g", "c", "BLOCK", 5000, "CLAIM", 0,
                                                 "STREAMS", "s", ">")
        # The reader's next command must be logged as itself, not with effects left over from the blocked read.
        reader.set(b"after", b"1")

    thread = threading.Thread(target=read)
    thread.start()
    wait_for_blocked_clients(client, 1)
    added = client.xadd(b"s", {b"f": b"v"})
    join_or_fail(thread)
    assert result["reply"][0][1][0][0] == added
    assert client.get(b"after") == b"1"
    before = full_state(client)
    kill(first)
    second = start_aof(start_server, tmp_path)
    assert full_state(client_of(second)) == before


def test_pairs_expire_even_when_stream_ids_run_ahead_of_the_clock(r):
    """Redis issue #15836: expiry follows when a pair was recorded, not its entry's (future) ID."""
    r.execute_command("XADD", "s", "4102444800000-0", "f", "v")  # year 2100: every later * ID is ahead of the clock
    r.execute_command("XCFGSET", "s", "IDMP-DURATION", 1)
    first = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    assert r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v") == first
    time.sleep(1.1)
    assert info(r)["iids-tracked"] == 0 and info(r)["pids-tracked"] == 0
    again = r.execute_command("XADD", "s", "IDMP", "p1", "a", "*", "f", "v")
    assert again != first and r.xlen("s") == 3


def test_idmp_retry_after_a_timed_out_attempt_adds_one_entry(r, raw):
    """A producer that gave up waiting (its reply never read, connection dropped) retries on a new connection:
    the job is in the stream once, under the first attempt's ID."""
    lost = raw()
    lost.send(lost.encode("XADD", "jobs", "IDMP", "producer-7", "order-42", "*", "amount", "100"))
    lost.sock.close()  # timed out: the reply is never read
    deadline = time.time() + 5
    while r.xlen("jobs") == 0 and time.time() < deadline:
        time.sleep(0.01)
    [(first_id, _)] = r.xrange("jobs")
    retried = r.execute_command("XADD", "jobs", "IDMP", "producer-7", "order-42", "*", "amount", "100")
    assert retried == first_id
    assert r.xlen("jobs") == 1
    assert info(r, "jobs")["iids-duplicates"] == 1
