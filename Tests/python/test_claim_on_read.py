"""Claim on read: XREADGROUP ... CLAIM min-idle-time, which delivers idle pending entries before new ones.

Redis added it in 8.4 and the reference redis-server is older, so these are rill_only; the expected replies come from
Redis' command pages (reply shapes, documented errors) rather than from a side-by-side run. Claimed reads are also
checked across a restart with a snapshot (SAVE) and with the append-only file.
"""

import threading
import time

import pytest
import redis

from test_aof import full_state, kill, start_aof, survive_aof_restart
from support import join_or_fail, unparsed, wait_for_blocked_clients
from test_persistence import client_of, survive_snapshot_restart

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
