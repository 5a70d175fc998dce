"""XREAD/XREADGROUP MAXCOUNT and MAXSIZE (Redis 8.10): caps on the whole reply, where COUNT caps each stream.

The installed redis-server is 7.0, so these are rill_only. What Redis documents: MAXCOUNT bounds the entries of the
whole reply, streams served in the order named, later streams left out once it is reached; MAXSIZE is a soft bound
on the reply's bytes that still gives a first entry larger than it; both must be positive integers and MAXCOUNT at
least COUNT. Rill's choices where the pages are silent (see README): MAXSIZE counts the RESP bytes of the entries
only (not stream names or headers); the entry that would cross MAXSIZE is left out; XREADGROUP delivers only the
entries the reply carries.
"""

import threading

import pytest
import redis

from support import join_or_fail, unparsed, wait_for_blocked_clients
from test_aof import full_state, kill, start_aof
from test_persistence import client_of

pytestmark = pytest.mark.rill_only


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request):
    """The flushed shared server over RESP2 and over RESP3."""
    return request.getfixturevalue("r" if request.param == 2 else "r3")


def served(reply):
    """[(stream, [entry ids])] of an XREAD/XREADGROUP reply in either protocol; [] for a null reply."""
    if reply is None:
        return []
    pairs = reply.items() if isinstance(reply, dict) else [(key, entries) for key, entries in reply]
    return [(as_text(key), [as_text(entry[0]) for entry in entries]) for key, entries in pairs]


def as_text(value):
    return value.decode() if isinstance(value, bytes) else value


def bulk_size(text):
    data = text.encode() if isinstance(text, str) else text
    return len(f"${len(data)}\r\n") + len(data) + 2


def entry_size(entry_id, fields):
    """Bytes of `[id, [field, value, ...]]` in RESP, what MAXSIZE counts for an entry."""
    size = len("*2\r\n") + bulk_size(entry_id) + len(f"*{2 * len(fields)}\r\n")
    return size + sum(bulk_size(field) + bulk_size(value) for field, value in fields.items())


def fill(client, key, count, value="v", first=1):
    """`count` entries `<first>-1`, `<first>-2`, ... with one field; returns their ids."""
    return [client.xadd(key, {"f": value}, id=f"{first}-{i}") for i in range(1, count + 1)]


def pending_ids(client, key, group="g"):
    return [as_text(entry["message_id"]) for entry in client.xpending_range(key, group, "-", "+", 100)]


def group_info(client, key, group="g"):
    return next(info for info in client.xinfo_groups(key) if as_text(info["name"]) == group)


# XREAD


def test_maxcount_caps_the_whole_reply_in_the_order_streams_are_named(client):
    fill(client, "s1", 3, first=1)
    fill(client, "s2", 3, first=2)
    fill(client, "s3", 3, first=3)
    reply = unparsed(client, "XREAD", "COUNT", 2, "MAXCOUNT", 3, "STREAMS", "s1", "s2", "s3", 0, 0, 0)
    assert served(reply) == [("s1", ["1-1", "1-2"]), ("s2", ["2-1"])]
    reply = unparsed(client, "XREAD", "MAXCOUNT", 4, "STREAMS", "s3", "s1", 0, 0)
    assert served(reply) == [("s3", ["3-1", "3-2", "3-3"]), ("s1", ["1-1"])]
    # Without COUNT a stream may take the whole budget, and an absent stream costs nothing.
    reply = unparsed(client, "XREAD", "MAXCOUNT", 3, "STREAMS", "missing", "s2", "s1", 0, 0, 0)
    assert served(reply) == [("s2", ["2-1", "2-2", "2-3"])]


def test_maxcount_larger_than_what_exists_changes_nothing(client):
    fill(client, "s1", 2, first=1)
    fill(client, "s2", 2, first=2)
    plain = unparsed(client, "XREAD", "COUNT", 5, "STREAMS", "s1", "s2", 0, 0)
    assert unparsed(client, "XREAD", "COUNT", 5, "MAXCOUNT", 100, "STREAMS", "s1", "s2", 0, 0) == plain


def test_maxsize_counts_the_resp_bytes_of_the_entries(client):
    fill(client, "s1", 2, value="x" * 50, first=1)
    fill(client, "s2", 2, value="y" * 50, first=2)
    size = entry_size("1-1", {"f": "x" * 50})
    assert size == entry_size("2-2", {"f": "y" * 50})

    def read(maximum):
        return served(unparsed(client, "XREAD", "MAXSIZE", maximum, "STREAMS", "s1", "s2", 0, 0))

    assert read(4 * size) == [("s1", ["1-1", "1-2"]), ("s2", ["2-1", "2-2"])]
    assert read(3 * size) == [("s1", ["1-1", "1-2"]), ("s2", ["2-1"])]
    # The entry that would cross the limit is left out, and so is every stream after it.
    assert read(3 * size - 1) == [("s1", ["1-1", "1-2"])]
    assert read(2 * size - 1) == [("s1", ["1-1"])]


def test_maxsize_still_gives_a_first_entry_larger_than_it(client):
    client.xadd("big", {"f": "z" * 1000}, id="1-1")
    client.xadd("big", {"f": "z"}, id="1-2")
    fill(client, "small", 1, first=2)
    reply = unparsed(client, "XREAD", "MAXSIZE", 1, "STREAMS", "big", "small", 0, 0)
    assert served(reply) == [("big", ["1-1"])]
    reply = unparsed(client, "XREAD", "MAXSIZE", 1, "STREAMS", "small", "big", 0, 0)
    assert served(reply) == [("small", ["2-1"])]


def test_the_first_cap_reached_ends_the_reply(client):
    fill(client, "s", 5, value="x" * 20)
    size = entry_size("1-1", {"f": "x" * 20})
    assert served(unparsed(client, "XREAD", "MAXCOUNT", 2, "MAXSIZE", 10 * size, "STREAMS", "s", 0)) == \
        [("s", ["1-1", "1-2"])]
    assert served(unparsed(client, "XREAD", "MAXCOUNT", 4, "MAXSIZE", 3 * size, "STREAMS", "s", 0)) == \
        [("s", ["1-1", "1-2", "1-3"])]
    # Options may come in any order before STREAMS.
    assert served(unparsed(client, "XREAD", "MAXSIZE", 3 * size, "COUNT", 1, "MAXCOUNT", 2, "STREAMS", "s", 0)) == \
        [("s", ["1-1"])]


def test_last_entry_reads_count_against_maxcount(client):
    fill(client, "s1", 3, first=1)
    fill(client, "s2", 3, first=2)
    assert served(unparsed(client, "XREAD", "MAXCOUNT", 1, "STREAMS", "s1", "s2", "+", "+")) == [("s1", ["1-3"])]


def test_reads_with_nothing_to_give_stay_empty(client):
    fill(client, "s", 1)
    assert unparsed(client, "XREAD", "MAXCOUNT", 1, "MAXSIZE", 1, "STREAMS", "s", "1-1") is None
    assert unparsed(client, "XREAD", "MAXCOUNT", 1, "BLOCK", 50, "STREAMS", "s", "$") is None


@pytest.mark.parametrize("arguments, message", [
    (["MAXCOUNT", 0], "MAXCOUNT must be a positive integer"),
    (["MAXCOUNT", -3], "MAXCOUNT must be a positive integer"),
    (["MAXCOUNT", "1.5"], "MAXCOUNT must be a positive integer"),
    (["MAXSIZE", 0], "MAXSIZE must be a positive integer"),
    (["MAXSIZE", "big"], "MAXSIZE must be a positive integer"),
    (["MAXSIZE", "99999999999999999999"], "MAXSIZE must be a positive integer"),
    (["COUNT", 3, "MAXCOUNT", 2], "MAXCOUNT must be greater than or equal to COUNT"),
    (["MAXCOUNT", 2, "COUNT", 3], "MAXCOUNT must be greater than or equal to COUNT"),
])
def test_bad_caps_are_refused_and_change_nothing(r, arguments, message):
    r.xadd("s", {"f": "v"}, id="1-1")
    r.xgroup_create("s", "g", id="0")
    with pytest.raises(redis.ResponseError, match=message):
        unparsed(r, "XREAD", *arguments, "STREAMS", "s", 0)
    with pytest.raises(redis.ResponseError, match=message):
        unparsed(r, "XREADGROUP", "GROUP", "g", "c", *arguments, "STREAMS", "s", ">")
    info = group_info(r, "s")
    assert (info["last-delivered-id"], info["pending"], info["consumers"]) == ("0-0", 0, 0)


def test_a_cap_without_its_value_is_a_syntax_error(r):
    r.xadd("s", {"f": "v"})
    with pytest.raises(redis.ResponseError, match="syntax error"):
        unparsed(r, "XREAD", "COUNT", 1, "MAXCOUNT")
    # The word after MAXCOUNT is its value, here not a number.
    with pytest.raises(redis.ResponseError, match="MAXCOUNT must be a positive integer"):
        unparsed(r, "XREAD", "MAXCOUNT", "STREAMS", "s", 0)
    # COUNT 0 (no per-stream limit) is not bigger than any MAXCOUNT.
    assert served(unparsed(r, "XREAD", "COUNT", 0, "MAXCOUNT", 1, "STREAMS", "s", 0))[0][0] == "s"


def test_blocked_xread_is_served_within_the_caps(server, r):
    reader = server.client()
    result = {}

    def read():
        result["reply"] = unparsed(reader, "XREAD", "BLOCK", 5000, "COUNT", 2, "MAXCOUNT", 3,
                                   "STREAMS", "a", "b", "$", "$")

    thread = threading.Thread(target=read)
    thread.start()
    wait_for_blocked_clients(r, 1)
    with r.pipeline(transaction=True) as transaction:
        for key, first in (("b", 2), ("a", 1)):
            for i in (1, 2, 3):
                transaction.xadd(key, {"f": "v"}, id=f"{first}-{i}")
        transaction.execute()
    join_or_fail(thread)
    reader.close()
    assert served(result["reply"]) == [("a", ["1-1", "1-2"]), ("b", ["2-1"])]


# XREADGROUP


def make_groups(client, *keys, entries=3):
    for number, key in enumerate(keys, start=1):
        fill(client, key, entries, first=number)
        client.xgroup_create(key, "g", id="0")


def test_only_entries_in_the_reply_become_pending(client):
    make_groups(client, "s1", "s2", "s3")
    reply = unparsed(client, "XREADGROUP", "GROUP", "g", "c", "COUNT", 2, "MAXCOUNT", 3,
                     "STREAMS", "s1", "s2", "s3", ">", ">", ">")
    assert served(reply) == [("s1", ["1-1", "1-2"]), ("s2", ["2-1"])]
    assert pending_ids(client, "s1") == ["1-1", "1-2"]
    assert pending_ids(client, "s2") == ["2-1"]
    assert pending_ids(client, "s3") == []
    info = group_info(client, "s2")
    assert (as_text(info["last-delivered-id"]), info["entries-read"], info["lag"]) == ("2-1", 1, 2)
    # A stream left out of the reply is not touched: not even its consumer is created.
    assert group_info(client, "s3")["consumers"] == 0
    # The next read carries on where the capped one stopped.
    reply = unparsed(client, "XREADGROUP", "GROUP", "g", "c", "MAXCOUNT", 10,
                     "STREAMS", "s1", "s2", "s3", ">", ">", ">")
    assert served(reply) == [("s1", ["1-3"]), ("s2", ["2-2", "2-3"]), ("s3", ["3-1", "3-2", "3-3"])]


def test_maxsize_delivers_only_the_entries_that_fit(client):
    make_groups(client, "s1", "s2", entries=2)
    size = entry_size("1-1", {"f": "v"})
    reply = unparsed(client, "XREADGROUP", "GROUP", "g", "c", "MAXSIZE", 3 * size, "STREAMS", "s1", "s2", ">", ">")
    assert served(reply) == [("s1", ["1-1", "1-2"]), ("s2", ["2-1"])]
    assert pending_ids(client, "s2") == ["2-1"]
    assert as_text(group_info(client, "s2")["last-delivered-id"]) == "2-1"


def test_history_reads_redeliver_only_the_entries_in_the_reply(r):
    make_groups(r, "s1", "s2")
    r.xreadgroup("g", "c", {"s1": ">", "s2": ">"})
    r.xdel("s1", "1-2")
    reply = unparsed(r, "XREADGROUP", "GROUP", "g", "c", "MAXCOUNT", 4, "STREAMS", "s1", "s2", 0, 0)
    # A deleted entry is still replied (with no fields) and counts against MAXCOUNT.
    assert reply[0][1][1] == ["1-2", None]
    assert served(reply) == [("s1", ["1-1", "1-2", "1-3"]), ("s2", ["2-1"])]
    delivered = {as_text(entry["message_id"]): entry["times_delivered"]
                 for key in ("s1", "s2") for entry in r.xpending_range(key, "g", "-", "+", 10)}
    assert delivered == {"1-1": 2, "1-2": 1, "1-3": 2, "2-1": 2, "2-2": 1, "2-3": 1}


def test_noack_moves_the_group_only_past_the_entries_in_the_reply(r):
    make_groups(r, "s")
    reply = unparsed(r, "XREADGROUP", "GROUP", "g", "c", "MAXCOUNT", 2, "NOACK", "STREAMS", "s", ">")
    assert served(reply) == [("s", ["1-1", "1-2"])]
    assert pending_ids(r, "s") == []
    assert as_text(group_info(r, "s")["last-delivered-id"]) == "1-2"


def test_blocked_xreadgroup_delivers_only_the_entries_in_its_reply(server, r):
    for key in ("a", "b"):
        r.xgroup_create(key, "g", id="$", mkstream=True)
    reader = server.client()
    result = {}

    def read():
        result["reply"] = unparsed(reader, "XREADGROUP", "GROUP", "g", "w", "BLOCK", 5000, "MAXCOUNT", 2,
                                   "STREAMS", "a", "b", ">", ">")

    thread = threading.Thread(target=read)
    thread.start()
    wait_for_blocked_clients(r, 1)
    with r.pipeline(transaction=True) as transaction:
        for i in (1, 2, 3):
            transaction.xadd("a", {"f": "v"}, id=f"1-{i}")
        transaction.xadd("b", {"f": "v"}, id="2-1")
        transaction.execute()
    join_or_fail(thread)
    reader.close()
    assert served(result["reply"]) == [("a", ["1-1", "1-2"])]
    assert pending_ids(r, "a") == ["1-1", "1-2"]
    assert pending_ids(r, "b") == []
    assert as_text(group_info(r, "b")["last-delivered-id"]) == "0-0"


def claim(client, *options):
    return unparsed(client, "XREADGROUP", "GROUP", "g", "c", *options, "CLAIM", 0, "STREAMS", "s", ">")


def make_claimable(client, value="v"):
    """Consumer `dead` holds 1-1 and 1-2; 1-3 and 1-4 are new."""
    for i in range(1, 5):
        client.xadd("s", {"f": value}, id=f"1-{i}")
    client.xgroup_create("s", "g", id="0")
    client.xreadgroup("g", "dead", {"s": ">"}, count=2)


def test_claim_reads_claim_and_deliver_only_within_maxcount(r):
    make_claimable(r)
    reply = claim(r, "MAXCOUNT", 3)
    assert [entry[0] for entry in reply[0][1]] == ["1-1", "1-2", "1-3"]
    owners = {as_text(entry["message_id"]): as_text(entry["consumer"])
              for entry in r.xpending_range("s", "g", "-", "+", 10)}
    assert owners == {"1-1": "c", "1-2": "c", "1-3": "c"}
    assert as_text(group_info(r, "s")["last-delivered-id"]) == "1-3"


def test_claim_reads_claim_only_entries_that_fit_maxsize(r):
    make_claimable(r, value="x" * 200)
    # One entry is about 230 bytes whatever its idle time: room for two, not three.
    reply = claim(r, "MAXSIZE", 600)
    assert [entry[0] for entry in reply[0][1]] == ["1-1", "1-2"]
    reply = claim(r, "MAXSIZE", 1)
    assert [entry[0] for entry in reply[0][1]] == ["1-1"]
    delivered = {as_text(entry["message_id"]): (as_text(entry["consumer"]), entry["times_delivered"])
                 for entry in r.xpending_range("s", "g", "-", "+", 10)}
    assert delivered == {"1-1": ("c", 3), "1-2": ("c", 2)}
    assert as_text(group_info(r, "s")["last-delivered-id"]) == "1-2"


# Append-only file


def capped_group_reads(client):
    make_groups(client, "s1", "s2", "s3")
    client.execute_command("XREADGROUP", "GROUP", "g", "a", "COUNT", 2, "MAXCOUNT", 3,
                           "STREAMS", "s1", "s2", "s3", ">", ">", ">")
    client.execute_command("XREADGROUP", "GROUP", "g", "a", "MAXCOUNT", 2, "STREAMS", "s1", "s2", 0, 0)
    size = entry_size("1-1", {"f": "v"})
    client.execute_command("XREADGROUP", "GROUP", "g", "b", "MAXSIZE", 2 * size,
                           "STREAMS", "s3", "s2", "s1", ">", ">", ">")
    client.execute_command("XREADGROUP", "GROUP", "g", "c", "MAXCOUNT", 1, "CLAIM", 0,
                           "STREAMS", "s1", "s2", ">", ">")


def deliveries(client):
    """(id, consumer, times delivered) of the pending entries of each stream of `capped_group_reads`."""
    return {key: [(entry["message_id"], entry["consumer"], entry["times_delivered"])
                  for entry in client.xpending_range(key, "g", "-", "+", 100)] for key in ("s1", "s2", "s3")}


def test_capped_group_reads_replay_from_the_append_only_file(start_server, tmp_path):
    first = start_aof(start_server, tmp_path)
    client = client_of(first)
    capped_group_reads(client)
    pending = deliveries(client)
    # Only what the replies carried is pending: 1-1 1-2 2-1 (a), 3-1 3-2 (b), 1-1 claimed by c.
    assert pending == {
        "s1": [(b"1-1", b"c", 3), (b"1-2", b"a", 2)],
        "s2": [(b"2-1", b"a", 1)],
        "s3": [(b"3-1", b"b", 1), (b"3-2", b"b", 1)],
    }
    before = full_state(client)
    kill(first)
    client = client_of(start_aof(start_server, tmp_path))
    assert deliveries(client) == pending
    assert full_state(client) == before
