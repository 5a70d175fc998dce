"""Consumer groups: XGROUP, XREADGROUP (incl. blocking), XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO GROUPS/CONSUMERS,
XINFO STREAM groups, reference policies (XDELEX, XACKDEL, KEEPREF/DELREF/ACKED), and a crash-recovery worker pool.

Validated against redis-server 7.0.15; `rill_only` tests pin Redis 7.2+/8 behaviour that 7.0 lacks (the reason is in
each docstring).
"""

import multiprocessing
import os
import signal
import threading
import time

import pytest
import redis

from support import unparsed, wait_for_blocked_clients

INVALID_ID = r"^Invalid stream ID specified as stream command argument$"
NOT_INTEGER = r"^value is not an integer or out of range$"
SYNTAX = r"^syntax error$"
REQUIRES_KEY = (r"^The XGROUP subcommand requires the key to exist\. Note that for CREATE you may want to use the "
                r"MKSTREAM option to create an empty stream automatically\.$")
REQUIRES_KEY_REPLY = (b"-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use "
                      b"the MKSTREAM option to create an empty stream automatically.\r\n")
WRONGTYPE_REPLY = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"


def add(r, key, *numbers, field="f"):
    """XADD key <n>-1 field <n> for each number."""
    with r.pipeline(transaction=False) as pipe:
        for number in numbers:
            pipe.xadd(key, {field: str(number)}, id=f"{number}-1")
        pipe.execute()


def ids(entries):
    return [entry_id for entry_id, _fields in entries]


def read(r, consumer, key="s", group="g", position=">", **options):
    """The entries of one stream as XREADGROUP returns them (None when the reply is null)."""
    reply = r.xreadgroup(group, consumer, {key: position}, **options)
    if not reply:
        return None
    assert len(reply) == 1 and reply[0][0] == key
    return reply[0][1]


def pending(r, key="s", group="g", **options):
    return [(p["message_id"], p["consumer"], p["times_delivered"])
            for p in r.xpending_range(key, group, "-", "+", 100, **options)]


def group_info(r, key="s"):
    return {g["name"]: g for g in r.xinfo_groups(key)}


@pytest.fixture
def five(r):
    """Stream s with entries 1-1 ... 5-1 and group g at 0."""
    add(r, "s", 1, 2, 3, 4, 5)
    r.xgroup_create("s", "g", "0")
    return r


# --- XGROUP -------------------------------------------------------------------------------------------------------

def test_xgroup_create_and_busygroup(r):
    add(r, "s", 1, 2)
    assert r.xgroup_create("s", "g", "$") is True
    with pytest.raises(redis.ResponseError, match=r"^BUSYGROUP Consumer Group name already exists$"):
        r.xgroup_create("s", "g", "0")
    assert group_info(r)["g"]["last-delivered-id"] == "2-1"


def test_xgroup_create_needs_the_key_unless_mkstream(r, raw):
    with pytest.raises(redis.ResponseError, match=REQUIRES_KEY):
        r.xgroup_create("s", "g", "$")
    connection = raw()
    # An invalid ID is reported before MKSTREAM creates anything.
    assert connection.call("XGROUP", "CREATE", "s", "g", "nope", "MKSTREAM") == (
        b"-ERR Invalid stream ID specified as stream command argument\r\n")
    assert r.exists("s") == 0
    assert connection.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM") == b"+OK\r\n"
    assert r.xlen("s") == 0 and r.type("s") == "stream"
    assert r.xinfo_stream("s")["groups"] == 1
    assert connection.call("XGROUP", "CREATE", "s", "g2", "$", "MKSTREAM", "mkstream") == b"+OK\r\n"


@pytest.mark.parametrize("bad_id", ["-", "+", "abc", "1-*", "1-abc"])
def test_xgroup_create_rejects_non_strict_ids(r, bad_id):
    add(r, "s", 1)
    with pytest.raises(redis.ResponseError, match=INVALID_ID):
        r.execute_command("XGROUP", "CREATE", "s", "g", bad_id)


def test_xgroup_create_explicit_and_partial_ids(r):
    add(r, "s", 1)
    r.xgroup_create("s", "a", "7")
    r.xgroup_create("s", "b", "0-0")
    info = group_info(r)
    assert info["a"]["last-delivered-id"] == "7-0" and info["b"]["last-delivered-id"] == "0-0"


def test_xgroup_option_errors(r, raw):
    add(r, "s", 1)
    connection = raw()
    for args, reply in [
        (("create", "s", "g", "$", "MKSTREAM", "foo"),
         b"-ERR unknown subcommand or wrong number of arguments for 'create'. Try XGROUP HELP.\r\n"),
        (("CREATE", "s", "g", "$", "ENTRIESREAD"),
         b"-ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.\r\n"),
        (("CREATE", "s", "g", "$", "ENTRIESREAD", "x"), b"-ERR value is not an integer or out of range\r\n"),
        (("CREATE", "s", "g", "$", "ENTRIESREAD", "-2"), b"-ERR value for ENTRIESREAD must be positive or -1\r\n"),
        (("CREATE", "s", "g", "$", "ENTRIESREAD", "1", "ENTRIESREAD", "2"),
         b"-ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.\r\n"),
        (("SETID", "s", "g", "0", "MKSTREAM"),
         b"-ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.\r\n"),
        (("CREATE", "s"), b"-ERR wrong number of arguments for 'xgroup|create' command\r\n"),
        (("DESTROY", "s", "g", "x"), b"-ERR wrong number of arguments for 'xgroup|destroy' command\r\n"),
        (("CREATECONSUMER", "s", "g"), b"-ERR wrong number of arguments for 'xgroup|createconsumer' command\r\n"),
        (("HELP", "x"), b"-ERR wrong number of arguments for 'xgroup|help' command\r\n"),
        (("FOO", "s", "g"), b"-ERR unknown subcommand 'FOO'. Try XGROUP HELP.\r\n"),
    ]:
        assert connection.call("XGROUP", *args) == reply, args
    assert connection.call("XGROUP") == b"-ERR wrong number of arguments for 'xgroup' command\r\n"
    assert connection.call("XGROUP", "CREATE", "s", "g", "$", "ENTRIESREAD", "-1") == b"+OK\r\n"
    assert group_info(r)["g"]["entries-read"] is None


def test_xgroup_nogroup_and_missing_key_errors(r, raw):
    add(r, "s", 1)
    connection = raw()
    nogroup = b"-NOGROUP No such consumer group 'x' for key name 's'\r\n"
    assert connection.call("XGROUP", "SETID", "s", "x", "0") == nogroup
    assert connection.call("XGROUP", "CREATECONSUMER", "s", "x", "c") == nogroup
    assert connection.call("XGROUP", "DELCONSUMER", "s", "x", "c") == nogroup
    assert connection.call("XGROUP", "DESTROY", "s", "x") == b":0\r\n"
    for args in (("SETID", "none", "g", "0"), ("DESTROY", "none", "g"), ("CREATECONSUMER", "none", "g", "c"),
                 ("DELCONSUMER", "none", "g", "c")):
        assert connection.call("XGROUP", *args) == REQUIRES_KEY_REPLY
    r.set("str", "v")
    for args in (("CREATE", "str", "g", "$"), ("CREATE", "str", "g", "$", "MKSTREAM"), ("SETID", "str", "g", "0"),
                 ("DESTROY", "str", "g"), ("CREATECONSUMER", "str", "g", "c")):
        assert connection.call("XGROUP", *args).startswith(b"-WRONGTYPE"), args


def test_xgroup_setid(five):
    read(five, "alice", count=2)
    assert five.xgroup_setid("s", "g", "1") is True
    assert group_info(five)["g"]["last-delivered-id"] == "1-0"
    # SETID accepts "-" and "+" like XRANGE bounds; "$" is the stream's last ID.
    five.execute_command("XGROUP", "SETID", "s", "g", "-")
    assert group_info(five)["g"]["last-delivered-id"] == "0-0"
    five.execute_command("XGROUP", "SETID", "s", "g", "+")
    assert group_info(five)["g"]["last-delivered-id"] == "18446744073709551615-18446744073709551615"
    five.execute_command("XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "5")
    info = group_info(five)["g"]
    assert info["last-delivered-id"] == "5-1" and info["entries-read"] == 5 and info["lag"] == 0
    assert five.xpending("s", "g")["pending"] == 2  # the PEL is untouched
    with pytest.raises(redis.ResponseError, match=INVALID_ID):
        five.execute_command("XGROUP", "SETID", "s", "g", "bad")


def test_xgroup_setid_back_hands_pending_entries_to_the_next_reader(five):
    read(five, "alice", count=2)
    five.xgroup_setid("s", "g", "0")
    assert ids(read(five, "bob", count=1)) == ["1-1"]
    assert pending(five) == [("1-1", "bob", 1), ("2-1", "alice", 1)]


def test_xgroup_destroy(five):
    read(five, "alice")
    assert five.xgroup_destroy("s", "g") == 1
    assert five.xgroup_destroy("s", "g") == 0
    assert five.xinfo_groups("s") == []
    five.xgroup_create("s", "g", "0")
    assert five.xpending("s", "g")["pending"] == 0


def test_xgroup_createconsumer_and_delconsumer(five):
    assert five.xgroup_createconsumer("s", "g", "alice") == 1
    assert five.xgroup_createconsumer("s", "g", "alice") == 0
    read(five, "alice", count=3)
    read(five, "bob", count=1)
    assert five.xgroup_delconsumer("s", "g", "alice") == 3
    assert five.xgroup_delconsumer("s", "g", "alice") == 0
    assert five.xgroup_delconsumer("s", "g", "nobody") == 0
    assert pending(five) == [("4-1", "bob", 1)]
    assert [c["name"] for c in five.xinfo_consumers("s", "g")] == ["bob"]


def test_xgroup_help(r, raw):
    reply = raw().call("XGROUP", "HELP")
    assert reply.startswith(b"*17\r\n+XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n")
    assert b"+SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]\r\n" in reply
    assert reply.endswith(b"+HELP\r\n+    Print this help.\r\n")


@pytest.mark.rill_only
def test_xgroup_entriesread_is_capped_at_entries_added(r):
    """Redis 8 caps ENTRIESREAD at entries-added (7.0 stores it as given and can report a negative lag)."""
    add(r, "s", 1)
    r.execute_command("XGROUP", "CREATE", "s", "g", "$", "ENTRIESREAD", "9999")
    r.xgroup_create("s", "h", "$")
    r.execute_command("XGROUP", "SETID", "s", "h", "$", "ENTRIESREAD", "9999")
    for name in ("g", "h"):
        assert group_info(r)[name]["entries-read"] == 1 and group_info(r)[name]["lag"] == 0


def test_group_commands_do_not_touch_watched_keys(five, server):
    """Redis does not signal group-state changes as key modifications: EXEC still runs."""
    other = server.client()
    actions = [
        lambda: other.xreadgroup("g", "c", {"s": ">"}, count=1),
        lambda: other.xreadgroup("g", "c", {"s": "0"}),
        lambda: other.xack("s", "g", "1-1"),
        lambda: other.xclaim("s", "g", "d", 0, ["2-1"], force=True),
        lambda: other.xautoclaim("s", "g", "d", 0, "0"),
        lambda: other.xgroup_create("s", "g2", "0"),
        lambda: other.xgroup_setid("s", "g", "0"),
        lambda: other.xgroup_createconsumer("s", "g", "e"),
        lambda: other.xgroup_delconsumer("s", "g", "e"),
        lambda: other.xgroup_destroy("s", "g2"),
    ]
    for action in actions:
        with five.pipeline(transaction=True) as pipe:
            pipe.watch("s")
            action()
            pipe.multi()
            pipe.set("x", "1")
            assert pipe.execute() == [True]
    other.close()


# --- XREADGROUP -----------------------------------------------------------------------------------------------------

def test_xreadgroup_delivers_each_entry_once(five):
    assert read(five, "alice", count=2) == [("1-1", {"f": "1"}), ("2-1", {"f": "2"})]
    assert ids(read(five, "bob")) == ["3-1", "4-1", "5-1"]
    assert read(five, "alice") is None
    assert pending(five) == [("1-1", "alice", 1), ("2-1", "alice", 1), ("3-1", "bob", 1), ("4-1", "bob", 1),
                             ("5-1", "bob", 1)]
    info = group_info(five)["g"]
    assert info["last-delivered-id"] == "5-1" and info["entries-read"] == 5 and info["lag"] == 0
    assert info["consumers"] == 2 and info["pending"] == 5


def test_xreadgroup_exact_reply_resp2_and_resp3(five, raw):
    connection = raw()
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">") == (
        b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\n1\r\n")
    connection.call("HELLO", "3")
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">") == (
        b"%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nf\r\n$1\r\n2\r\n")
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", "9") == b"%1\r\n$1\r\ns\r\n*0\r\n"


def test_xreadgroup_count_zero_or_negative_means_everything(five):
    assert len(unparsed(five, "XREADGROUP", "GROUP", "g", "c", "COUNT", "0", "STREAMS", "s", ">")[0][1]) == 5
    assert len(unparsed(five, "XREADGROUP", "GROUP", "g", "c", "COUNT", "-3", "STREAMS", "s", "0")[0][1]) == 5


def test_xreadgroup_history_replays_own_pending_entries(five):
    read(five, "alice", count=3)
    read(five, "bob", count=1)
    assert ids(read(five, "alice", position="0")) == ["1-1", "2-1", "3-1"]
    assert ids(read(five, "alice", position="1-1", count=1)) == ["2-1"]
    assert read(five, "alice", position="3-1") == []
    assert read(five, "nobody", position="0") == []
    # Re-reading counts as a delivery.
    assert pending(five, consumername="alice") == [("1-1", "alice", 2), ("2-1", "alice", 3), ("3-1", "alice", 2)]
    five.xack("s", "g", "2-1")
    assert ids(read(five, "alice", position="0")) == ["1-1", "3-1"]


def test_xreadgroup_history_of_a_deleted_entry_has_a_nil_body(five, raw):
    read(five, "alice", count=2)
    five.xdel("s", "1-1")
    connection = raw()
    assert connection.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0") == (
        b"*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*-1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nf\r\n$1\r\n2\r\n")
    # The deleted entry is not delivered again: its count stays 1.
    assert pending(five) == [("1-1", "alice", 1), ("2-1", "alice", 2)]
    connection.call("HELLO", "3")
    assert connection.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "0") == (
        b"%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n_\r\n")


def test_trimming_keeps_pending_references(five):
    read(five, "alice")
    five.xtrim("s", maxlen=1, approximate=False)
    assert five.xpending("s", "g")["pending"] == 5
    assert [entry for entry in read(five, "alice", position="0")] == [
        ("1-1", {}), ("2-1", {}), ("3-1", {}), ("4-1", {}), ("5-1", {"f": "5"})]


def test_xreadgroup_noack_does_not_create_pending_entries(five):
    assert ids(five.xreadgroup("g", "c", {"s": ">"}, count=2, noack=True)[0][1]) == ["1-1", "2-1"]
    assert five.xpending("s", "g")["pending"] == 0
    assert group_info(five)["g"]["last-delivered-id"] == "2-1"
    assert read(five, "c", position="0") == []


def test_xreadgroup_several_streams(r, raw):
    add(r, "a", 1, 2)
    add(r, "b", 1)
    r.xgroup_create("a", "g", "0")
    r.xgroup_create("b", "g", "$")
    connection = raw()
    # "b" has nothing new, so it is left out of the reply.
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", ">", ">") == (
        b"*1\r\n*2\r\n$1\r\na\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\n1\r\n"
        b"*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nf\r\n$1\r\n2\r\n")
    # A history read is always part of the reply, even empty.
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "a", "b", "0", ">") == (
        b"*1\r\n*2\r\n$1\r\na\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\n1\r\n")
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", ">", "0") == (
        b"*1\r\n*2\r\n$1\r\nb\r\n*0\r\n")
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", ">", ">") == b"*-1\r\n"


def test_xreadgroup_maximum_id_means_new_entries(five):
    """Redis represents ">" by the greatest ID internally, so writing that ID out reads new entries too."""
    assert ids(read(five, "c", position="18446744073709551615-18446744073709551615", count=1)) == ["1-1"]


def test_xreadgroup_errors(five, raw):
    connection = raw()
    five.set("str", "v")
    for args, reply in [
        (("GROUP", "g", "c", "STREAMS", "s", "$"),
         b"-ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer "
         b"by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result "
         b"set.\r\n"),
        (("GROUP", "g", "c", "STREAMS", "s", "-"), b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        (("GROUP", "g", "c", "STREAMS", "s", "x"), b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        (("GROUP", "x", "c", "STREAMS", "s", ">"),
         b"-NOGROUP No such key 's' or consumer group 'x' in XREADGROUP with GROUP option\r\n"),
        (("GROUP", "g", "c", "STREAMS", "none", "0"),
         b"-NOGROUP No such key 'none' or consumer group 'g' in XREADGROUP with GROUP option\r\n"),
        (("GROUP", "g", "c", "STREAMS", "s", "none", ">", ">"),
         b"-NOGROUP No such key 'none' or consumer group 'g' in XREADGROUP with GROUP option\r\n"),
        (("GROUP", "g", "c", "STREAMS", "str", ">"), WRONGTYPE_REPLY),
        (("GROUP", "x", "c", "STREAMS", "s", "$"),
         b"-NOGROUP No such key 's' or consumer group 'x' in XREADGROUP with GROUP option\r\n"),
        (("GROUP", "g", "c", "COUNT", "x", "STREAMS", "s", ">"), b"-ERR value is not an integer or out of range\r\n"),
        (("GROUP", "g", "c", "BLOCK", "x", "STREAMS", "s", ">"), b"-ERR timeout is not an integer or out of range\r\n"),
        (("GROUP", "g", "c", "BLOCK", "-1", "STREAMS", "s", ">"), b"-ERR timeout is negative\r\n"),
        (("GROUP", "g", "c", "FOO", "STREAMS", "s", ">"), b"-ERR syntax error\r\n"),
        (("COUNT", "1", "BLOCK", "1", "STREAMS", "s", ">"), b"-ERR Missing GROUP option for XREADGROUP\r\n"),
        (("GROUP", "g", "c", "COUNT", "1", "STREAMS"), b"-ERR syntax error\r\n"),
        (("GROUP", "g"), b"-ERR wrong number of arguments for 'xreadgroup' command\r\n"),
    ]:
        assert connection.call("XREADGROUP", *args) == reply, args
    assert connection.call("XREAD", "GROUP", "g", "c", "STREAMS", "s", ">") == (
        b"-ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.\r\n")
    assert connection.call("XREAD", "NOACK", "STREAMS", "s", "0") == (
        b"-ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.\r\n")
    # The last GROUP option wins.
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "GROUP", "x", "c", "STREAMS", "s", ">") == (
        b"-NOGROUP No such key 's' or consumer group 'x' in XREADGROUP with GROUP option\r\n")
    assert five.xpending("s", "g")["pending"] == 0


@pytest.mark.rill_only
def test_xreadgroup_errors_worded_as_redis_8(five, raw):
    """Redis 7.4 made "+" meaningful for XREAD and worded XREADGROUP's "+" and unbalanced-list errors anew."""
    connection = raw()
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "+") == (
        b"-ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer "
        b"by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result "
        b"set.\r\n")
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "t", ">") == (
        b"-ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.\r\n")


@pytest.mark.rill_only
def test_xreadgroup_creates_the_consumer_even_without_entries(five):
    """Redis 7.2+ creates the consumer (and updates its seen-time) on every XREADGROUP; 7.0 only when serving."""
    read(five, "alice")
    assert read(five, "bob") is None
    consumers = five.xinfo_consumers("s", "g")
    assert [c["name"] for c in consumers] == ["alice", "bob"]
    assert consumers[1]["pending"] == 0 and consumers[1]["inactive"] == -1


# --- XREADGROUP BLOCK -----------------------------------------------------------------------------------------------

def test_xreadgroup_block_times_out_with_null(five, raw):
    read(five, "c")
    connection = raw()
    start = time.monotonic()
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "s", ">") == b"*-1\r\n"
    assert 0.09 <= time.monotonic() - start < 2
    connection.call("HELLO", "3")
    assert connection.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "STREAMS", "s", ">") == b"_\r\n"


def test_xreadgroup_block_is_ignored_for_history(five, raw):
    start = time.monotonic()
    assert raw().call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", "0") == (
        b"*1\r\n*2\r\n$1\r\ns\r\n*0\r\n")
    assert time.monotonic() - start < 1


def test_xreadgroup_block_is_woken_by_xadd_in_arrival_order(r, raw):
    r.xgroup_create("s", "g", "$", mkstream=True)
    readers = []
    for name in ("first", "second", "third"):
        reader = raw()
        reader.send(reader.encode("XREADGROUP", "GROUP", "g", name, "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">"))
        wait_for_blocked_clients(r, len(readers) + 1)
        readers.append(reader)
    r.xadd("s", {"n": "1"}, id="1-1")
    assert readers[0].read_reply() == b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nn\r\n$1\r\n1\r\n"
    wait_for_blocked_clients(r, 2)
    # One XADD of two entries: the second reader takes one (COUNT 1), the third the other.
    with r.pipeline(transaction=True) as pipe:
        pipe.xadd("s", {"n": "2"}, id="2-1")
        pipe.xadd("s", {"n": "3"}, id="3-1")
        pipe.execute()
    assert b"2-1" in readers[1].read_reply()
    assert b"3-1" in readers[2].read_reply()
    assert pending(r) == [("1-1", "first", 1), ("2-1", "second", 1), ("3-1", "third", 1)]


def test_xreadgroup_block_across_several_streams(r, raw):
    r.xgroup_create("a", "g", "$", mkstream=True)
    r.xgroup_create("b", "g", "$", mkstream=True)
    reader = raw()
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "a", "b", ">", ">"))
    wait_for_blocked_clients(r, 1)
    r.xadd("b", {"x": "y"}, id="7-1")
    assert reader.read_reply() == b"*1\r\n*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$3\r\n7-1\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
    assert pending(r, key="b") == [("7-1", "c", 1)]


def test_xreadgroup_block_noack(r, raw):
    r.xgroup_create("s", "g", "$", mkstream=True)
    reader = raw()
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "NOACK", "BLOCK", "0", "STREAMS", "s", ">"))
    wait_for_blocked_clients(r, 1)
    r.xadd("s", {"f": "v"}, id="1-1")
    assert b"1-1" in reader.read_reply()
    assert r.xpending("s", "g")["pending"] == 0


@pytest.mark.rill_only
def test_xreadgroup_block_is_not_served_by_an_entry_deleted_at_once(r, raw):
    """Redis 7.2+ runs the woken command again and finds nothing new; 7.0 compared with the last generated ID and
    replied with an empty list of entries."""
    r.xgroup_create("s", "g", "$", mkstream=True)
    reader = raw()
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "300", "STREAMS", "s", ">"))
    wait_for_blocked_clients(r, 1)
    with r.pipeline(transaction=True) as pipe:
        pipe.xadd("s", {"f": "v"}, id="1-1")
        pipe.xdel("s", "1-1")
        pipe.execute()
    assert reader.read_reply() == b"*-1\r\n"


def test_xreadgroup_block_inside_multi_answers_at_once(five, raw):
    read(five, "c")
    connection = raw()
    connection.call("MULTI")
    connection.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    assert connection.call("EXEC") == b"*1\r\n*-1\r\n"


@pytest.mark.parametrize("action", ["del", "destroy", "flushall", "set"])
def test_blocked_xreadgroup_fails_when_its_stream_or_group_goes(r, raw, action):
    add(r, "s", 1)
    r.xgroup_create("s", "g", "$")
    reader = raw()
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"))
    wait_for_blocked_clients(r, 1)
    {"del": lambda: r.delete("s"), "destroy": lambda: r.xgroup_destroy("s", "g"), "flushall": r.flushall,
     "set": lambda: r.set("s", "x")}[action]()
    assert reader.read_reply().startswith(b"-")
    wait_for_blocked_clients(r, 0)


@pytest.mark.rill_only
@pytest.mark.parametrize("action, error", [
    ("del", b"-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option\r\n"),
    ("destroy", b"-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option\r\n"),
    ("flushall", b"-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option\r\n"),
    ("set", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
])
def test_blocked_xreadgroup_errors_as_redis_7_2(r, raw, action, error):
    """Redis 7.2+ runs the command again when woken, so it answers its ordinary errors; 7.0 answered
    "-UNBLOCKED the stream key no longer exists" or "-NOGROUP the consumer group this client was blocked on no longer
    exists"."""
    add(r, "s", 1)
    r.xgroup_create("s", "g", "$")
    reader = raw()
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"))
    wait_for_blocked_clients(r, 1)
    {"del": lambda: r.delete("s"), "destroy": lambda: r.xgroup_destroy("s", "g"), "flushall": r.flushall,
     "set": lambda: r.set("s", "x")}[action]()
    assert reader.read_reply() == error
    assert r.info("errorstats")["errorstat_" + error[1:].split(b" ")[0].decode()]["count"] >= 1


def test_blocked_xreadgroup_survives_stream_recreated_in_one_transaction(r, raw):
    add(r, "s", 1)
    r.xgroup_create("s", "g", "$")
    reader = raw()
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"))
    wait_for_blocked_clients(r, 1)
    with r.pipeline(transaction=True) as pipe:
        pipe.delete("s")
        pipe.xadd("s", {"n": "1"}, id="5-1")
        pipe.xgroup_create("s", "g", "0")
        pipe.execute()
    assert b"5-1" in reader.read_reply()


def test_rename_onto_a_blocked_key_serves_or_fails_the_reader(r, raw):
    r.xgroup_create("s", "g", "$", mkstream=True)
    reader = raw()
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"))
    wait_for_blocked_clients(r, 1)
    # The renamed stream has a group of the same name and a new entry for it.
    r.xgroup_create("other", "g", "$", mkstream=True)
    r.xadd("other", {"f": "v"}, id="100-0")
    r.rename("other", "s")
    assert reader.read_reply() == b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$5\r\n100-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    # This time the renamed stream has no such group.
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"))
    wait_for_blocked_clients(r, 1)
    r.xadd("plain", {"f": "v"}, id="1-0")
    r.rename("plain", "s")
    assert reader.read_reply().startswith(b"-NOGROUP")


# --- XACK -----------------------------------------------------------------------------------------------------------

def test_xack(five, raw):
    read(five, "alice", count=3)
    assert five.xack("s", "g", "1-1", "1-1", "9-9", "3-1") == 2
    assert five.xack("s", "g", "1-1") == 0
    assert pending(five) == [("2-1", "alice", 1)]
    connection = raw()
    assert connection.call("XACK", "s", "g", "2-1", "bad") == b"-ERR Invalid stream ID specified as stream command argument\r\n"
    assert pending(five) == [("2-1", "alice", 1)]  # all or nothing
    assert connection.call("XACK", "s", "g", "-") == b"-ERR Invalid stream ID specified as stream command argument\r\n"
    # Without the key or the group there is nothing to acknowledge, and the IDs are not even checked.
    assert connection.call("XACK", "s", "x", "bad") == b":0\r\n"
    assert connection.call("XACK", "none", "g", "bad") == b":0\r\n"
    assert connection.call("XACK", "s", "g") == b"-ERR wrong number of arguments for 'xack' command\r\n"
    five.set("str", "v")
    assert connection.call("XACK", "str", "g", "1-1").startswith(b"-WRONGTYPE")


# --- XPENDING -------------------------------------------------------------------------------------------------------

def test_xpending_summary(five, raw):
    connection = raw()
    assert connection.call("XPENDING", "s", "g") == b"*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n"
    read(five, "bob", count=1)
    read(five, "alice", count=2)
    assert connection.call("XPENDING", "s", "g") == (
        b"*4\r\n:3\r\n$3\r\n1-1\r\n$3\r\n3-1\r\n*2\r\n*2\r\n$5\r\nalice\r\n$1\r\n2\r\n*2\r\n$3\r\nbob\r\n$1\r\n1\r\n")
    five.xgroup_createconsumer("s", "g", "idle")
    assert five.xpending("s", "g")["consumers"] == [{"name": "alice", "pending": 2}, {"name": "bob", "pending": 1}]
    connection.call("HELLO", "3")
    assert connection.call("XPENDING", "s", "x").startswith(b"-NOGROUP")
    five.xack("s", "g", "1-1", "2-1", "3-1")
    assert connection.call("XPENDING", "s", "g") == b"*4\r\n:0\r\n_\r\n_\r\n_\r\n"


def test_xpending_extended(five):
    read(five, "alice", count=2)
    read(five, "bob", count=3)
    assert pending(five, consumername="bob") == [("3-1", "bob", 1), ("4-1", "bob", 1), ("5-1", "bob", 1)]
    assert pending(five, consumername="nobody") == []
    assert [p["message_id"] for p in five.xpending_range("s", "g", "2", "4", 10)] == ["2-1", "3-1", "4-1"]
    assert [p["message_id"] for p in five.xpending_range("s", "g", "(2-1", "(4-1", 10)] == ["3-1"]
    assert [p["message_id"] for p in five.xpending_range("s", "g", "-", "+", 2)] == ["1-1", "2-1"]
    assert five.xpending_range("s", "g", "-", "+", 0) == []
    assert unparsed(five, "XPENDING", "s", "g", "-", "+", "-5") == []
    assert five.xpending_range("s", "g", "+", "-", 10) == []
    entry = five.xpending_range("s", "g", "-", "+", 1)[0]
    assert 0 <= entry["time_since_delivered"] < 5000


def test_xpending_idle_filter(five):
    read(five, "alice", count=3)
    five.xclaim("s", "g", "alice", 0, ["1-1"], idle=60_000, justid=True)
    five.xclaim("s", "g", "alice", 0, ["2-1"], idle=30_000, justid=True)
    assert [p["message_id"] for p in five.xpending_range("s", "g", "-", "+", 10, idle=20_000)] == ["1-1", "2-1"]
    assert [p["message_id"] for p in five.xpending_range("s", "g", "-", "+", 10, idle=45_000)] == ["1-1"]
    entry = five.xpending_range("s", "g", "-", "+", 10, idle=45_000)[0]
    assert 60_000 <= entry["time_since_delivered"] < 65_000
    assert five.xpending_range("s", "g", "-", "+", 10, consumername="alice", idle=45_000)[0]["message_id"] == "1-1"


def test_xpending_errors(five, raw):
    connection = raw()
    for args, reply in [
        (("s", "g", "-", "+"), b"-ERR syntax error\r\n"),
        (("s", "g", "-"), b"-ERR syntax error\r\n"),
        (("s", "g", "IDLE", "10", "-", "+"), b"-ERR syntax error\r\n"),
        (("s", "g", "IDLE", "10", "-", "+", "10", "c", "extra"), b"-ERR syntax error\r\n"),
        (("s", "g", "IDLE", "x", "-", "+", "10"), b"-ERR value is not an integer or out of range\r\n"),
        (("s", "g", "x", "+", "y"), b"-ERR value is not an integer or out of range\r\n"),
        (("s", "g", "x", "+", "10"), b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        (("s", "g", "(", "+", "10"), b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        (("s", "g", "(18446744073709551615-18446744073709551615", "+", "10"),
         b"-ERR invalid start ID for the interval\r\n"),
        (("s", "g", "-", "(0-0", "10"), b"-ERR invalid end ID for the interval\r\n"),
        (("s", "x"), b"-NOGROUP No such key 's' or consumer group 'x'\r\n"),
        (("none", "g", "-", "+", "10"), b"-NOGROUP No such key 'none' or consumer group 'g'\r\n"),
        (("s",), b"-ERR wrong number of arguments for 'xpending' command\r\n"),
    ]:
        assert connection.call("XPENDING", *args) == reply, args
    # An argument after the consumer is ignored, as Redis does.
    assert connection.call("XPENDING", "s", "g", "-", "+", "10", "c", "extra") == b"*0\r\n"
    five.set("str", "v")
    assert connection.call("XPENDING", "str", "g").startswith(b"-WRONGTYPE")


# --- XCLAIM ---------------------------------------------------------------------------------------------------------

def test_xclaim_moves_idle_entries(five):
    read(five, "alice", count=3)
    assert five.xclaim("s", "g", "bob", 60_000, ["1-1"]) == []
    five.xclaim("s", "g", "alice", 0, ["1-1", "2-1"], idle=120_000, justid=True)
    assert five.xclaim("s", "g", "bob", 60_000, ["1-1", "2-1", "3-1", "9-9"]) == [("1-1", {"f": "1"}), ("2-1", {"f": "2"})]
    assert pending(five) == [("1-1", "bob", 2), ("2-1", "bob", 2), ("3-1", "alice", 1)]
    assert [c["pending"] for c in five.xinfo_consumers("s", "g")] == [1, 2]


def test_xclaim_options(five, raw):
    read(five, "alice", count=2)
    connection = raw()
    assert connection.call("XCLAIM", "s", "g", "bob", "0", "1-1", "JUSTID", "RETRYCOUNT", "7") == b"*1\r\n$3\r\n1-1\r\n"
    assert pending(five)[0] == ("1-1", "bob", 7)
    assert connection.call("XCLAIM", "s", "g", "bob", "0", "1-1", "JUSTID") == b"*1\r\n$3\r\n1-1\r\n"
    assert pending(five)[0] == ("1-1", "bob", 7)  # JUSTID does not count a delivery
    assert connection.call("XCLAIM", "s", "g", "bob", "0", "1-1") == (
        b"*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\n1\r\n")
    assert pending(five)[0] == ("1-1", "bob", 8)
    now_ms = int(time.time() * 1000)
    connection.call("XCLAIM", "s", "g", "bob", "0", "2-1", "TIME", str(now_ms - 90_000), "JUSTID")
    idle = five.xpending_range("s", "g", "2-1", "2-1", 1)[0]["time_since_delivered"]
    assert 89_000 <= idle < 100_000
    # A time in the future, or before 1970, means now.
    for time_ms in (now_ms + 3_600_000, -5):
        connection.call("XCLAIM", "s", "g", "bob", "0", "2-1", "TIME", str(time_ms), "JUSTID")
        assert five.xpending_range("s", "g", "2-1", "2-1", 1)[0]["time_since_delivered"] < 5_000
    connection.call("XCLAIM", "s", "g", "bob", "0", "2-1", "IDLE", "-100", "JUSTID")
    assert five.xpending_range("s", "g", "2-1", "2-1", 1)[0]["time_since_delivered"] < 5_000
    # LASTID only moves the group forward.
    connection.call("XCLAIM", "s", "g", "bob", "0", "2-1", "LASTID", "4-0", "JUSTID")
    assert group_info(five)["g"]["last-delivered-id"] == "4-0"
    connection.call("XCLAIM", "s", "g", "bob", "0", "2-1", "LASTID", "1-0", "JUSTID")
    assert group_info(five)["g"]["last-delivered-id"] == "4-0"
    # Options may repeat; the last IDLE/TIME wins.
    connection.call("XCLAIM", "s", "g", "bob", "0", "2-1", "IDLE", "50000", "IDLE", "70000", "JUSTID", "JUSTID")
    assert 70_000 <= five.xpending_range("s", "g", "2-1", "2-1", 1)[0]["time_since_delivered"] < 75_000


def test_xclaim_force(five, raw):
    connection = raw()
    assert connection.call("XCLAIM", "s", "g", "bob", "0", "1-1", "9-9", "FORCE", "JUSTID") == b"*1\r\n$3\r\n1-1\r\n"
    assert connection.call("XCLAIM", "s", "g", "bob", "3600000", "2-1", "FORCE") == (
        b"*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nf\r\n$1\r\n2\r\n")
    # Without JUSTID the forced entry is created with one delivery and then counted again.
    assert pending(five) == [("1-1", "bob", 1), ("2-1", "bob", 2)]
    assert group_info(five)["g"]["last-delivered-id"] == "0-0"


def test_xclaim_of_deleted_entries_cleans_the_pel(five):
    read(five, "alice", count=3)
    five.xdel("s", "2-1")
    assert five.xclaim("s", "g", "bob", 3_600_000, ["1-1", "2-1", "3-1"]) == []
    assert pending(five) == [("1-1", "alice", 1), ("3-1", "alice", 1)]
    five.xtrim("s", maxlen=2, approximate=False)
    assert five.xclaim("s", "g", "bob", 0, ["1-1", "3-1"], justid=True) == []
    assert pending(five) == []


def test_xclaim_errors(five, raw):
    read(five, "alice", count=1)
    connection = raw()
    for args, reply in [
        (("s", "g", "c", "x", "1-1"), b"-ERR Invalid min-idle-time argument for XCLAIM\r\n"),
        (("s", "g", "c", "0", "bad"), b"-ERR Unrecognized XCLAIM option 'bad'\r\n"),
        (("s", "g", "c", "0", "1-1", "-"), b"-ERR Unrecognized XCLAIM option '-'\r\n"),
        (("s", "g", "c", "0", "1-1", "JUSTID", "2-1"), b"-ERR Unrecognized XCLAIM option '2-1'\r\n"),
        (("s", "g", "c", "0", "1-1", "IDLE"), b"-ERR Unrecognized XCLAIM option 'IDLE'\r\n"),
        (("s", "g", "c", "0", "1-1", "IDLE", "x"), b"-ERR Invalid IDLE option argument for XCLAIM\r\n"),
        (("s", "g", "c", "0", "1-1", "TIME", "x"), b"-ERR Invalid TIME option argument for XCLAIM\r\n"),
        (("s", "g", "c", "0", "1-1", "RETRYCOUNT", "x"), b"-ERR Invalid RETRYCOUNT option argument for XCLAIM\r\n"),
        (("s", "g", "c", "0", "1-1", "LASTID", "x"), b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        # The group is checked before anything else is parsed.
        (("s", "x", "c", "x", "1-1"), b"-NOGROUP No such key 's' or consumer group 'x'\r\n"),
        (("none", "g", "c", "0", "1-1"), b"-NOGROUP No such key 'none' or consumer group 'g'\r\n"),
        (("s", "g", "c", "0"), b"-ERR wrong number of arguments for 'xclaim' command\r\n"),
    ]:
        assert connection.call("XCLAIM", *args) == reply, args
    assert pending(five) == [("1-1", "alice", 1)]
    # A negative min-idle-time means 0; a negative RETRYCOUNT is ignored.
    assert connection.call("XCLAIM", "s", "g", "c", "-5", "1-1", "RETRYCOUNT", "-1", "JUSTID") == b"*1\r\n$3\r\n1-1\r\n"
    assert pending(five) == [("1-1", "c", 1)]


@pytest.mark.rill_only
def test_xclaim_creates_the_claimer_even_when_nothing_is_claimed(five):
    """Redis 7.2+ creates the consumer and updates its seen-time on every XCLAIM/XAUTOCLAIM; 7.0 only when claiming."""
    five.xclaim("s", "g", "bob", 0, ["9-9"])
    five.xautoclaim("s", "g", "carol", 0, "0")
    assert [(c["name"], c["inactive"]) for c in five.xinfo_consumers("s", "g")] == [("bob", -1), ("carol", -1)]


# --- XAUTOCLAIM -----------------------------------------------------------------------------------------------------

def test_xautoclaim_claims_idle_entries_with_a_cursor(five):
    read(five, "alice")
    five.xclaim("s", "g", "alice", 0, ["1-1", "2-1", "3-1", "4-1", "5-1"], idle=120_000, justid=True)
    assert five.xautoclaim("s", "g", "bob", 60_000, "0", count=2) == [
        "3-1", [("1-1", {"f": "1"}), ("2-1", {"f": "2"})], []]
    assert unparsed(five, "XAUTOCLAIM", "s", "g", "bob", 60_000, "3-1", "COUNT", 2, "JUSTID") == ["5-1", ["3-1", "4-1"], []]
    assert unparsed(five, "XAUTOCLAIM", "s", "g", "bob", 60_000, "5-1", "COUNT", 2, "JUSTID") == ["0-0", ["5-1"], []]
    assert five.xautoclaim("s", "g", "carol", 60_000, "0") == ["0-0", [], []]
    assert pending(five) == [("1-1", "bob", 2), ("2-1", "bob", 2), ("3-1", "bob", 1), ("4-1", "bob", 1),
                             ("5-1", "bob", 1)]


def test_xautoclaim_reports_and_removes_deleted_entries(five, raw):
    read(five, "alice")
    five.xdel("s", "1-1", "2-1")
    connection = raw()
    # Deleted entries count towards COUNT.
    assert connection.call("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "1") == (
        b"*3\r\n$3\r\n2-1\r\n*0\r\n*1\r\n$3\r\n1-1\r\n")
    assert connection.call("XAUTOCLAIM", "s", "g", "bob", "0", "2-1", "COUNT", "2") == (
        b"*3\r\n$3\r\n4-1\r\n*1\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\nf\r\n$1\r\n3\r\n*1\r\n$3\r\n2-1\r\n")
    assert pending(five) == [("3-1", "bob", 2), ("4-1", "alice", 1), ("5-1", "alice", 1)]


def test_xautoclaim_start_bounds(five):
    read(five, "alice")
    assert unparsed(five, "XAUTOCLAIM", "s", "g", "bob", 0, "(2-1", "JUSTID")[1] == ["3-1", "4-1", "5-1"]
    assert unparsed(five, "XAUTOCLAIM", "s", "g", "bob", 0, "-", "COUNT", 1, "JUSTID") == ["2-1", ["1-1"], []]
    assert unparsed(five, "XAUTOCLAIM", "s", "g", "bob", 0, "+", "JUSTID") == ["0-0", [], []]


def test_xautoclaim_errors(five, raw):
    connection = raw()
    for args, reply in [
        (("s", "g", "c", "x", "0"), b"-ERR Invalid min-idle-time argument for XAUTOCLAIM\r\n"),
        (("s", "g", "c", "0", "x"), b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        (("s", "g", "c", "0", "(18446744073709551615-18446744073709551615"),
         b"-ERR invalid start ID for the interval\r\n"),
        (("s", "g", "c", "0", "0", "COUNT", "0"), b"-ERR COUNT must be > 0\r\n"),
        (("s", "g", "c", "0", "0", "COUNT", "x"), b"-ERR COUNT must be > 0\r\n"),
        (("s", "g", "c", "0", "0", "COUNT", "8070450532247928833"), b"-ERR COUNT must be > 0\r\n"),
        (("s", "g", "c", "0", "0", "COUNT"), b"-ERR syntax error\r\n"),
        (("s", "g", "c", "0", "0", "FOO"), b"-ERR syntax error\r\n"),
        (("s", "x", "c", "0", "0"), b"-NOGROUP No such key 's' or consumer group 'x'\r\n"),
        (("none", "g", "c", "0", "0"), b"-NOGROUP No such key 'none' or consumer group 'g'\r\n"),
        # Arguments are parsed before the group is looked up.
        (("none", "g", "c", "x", "0"), b"-ERR Invalid min-idle-time argument for XAUTOCLAIM\r\n"),
    ]:
        assert connection.call("XAUTOCLAIM", *args) == reply, args
    five.set("str", "v")
    assert connection.call("XAUTOCLAIM", "str", "g", "c", "0", "0").startswith(b"-WRONGTYPE")


# --- XINFO ----------------------------------------------------------------------------------------------------------

def test_xinfo_groups(r, raw):
    add(r, "s", 1, 2, 3)
    for name in ("b", "a", "ab"):
        r.xgroup_create("s", name, "0")
    read(r, "c", group="b", count=1)
    connection = raw()
    assert connection.call("XINFO", "GROUPS", "s") == (
        b"*3\r\n"
        b"*12\r\n$4\r\nname\r\n$1\r\na\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n$17\r\nlast-delivered-id\r\n"
        b"$3\r\n0-0\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n:3\r\n"
        b"*12\r\n$4\r\nname\r\n$2\r\nab\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n$17\r\nlast-delivered-id\r\n"
        b"$3\r\n0-0\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n:3\r\n"
        b"*12\r\n$4\r\nname\r\n$1\r\nb\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:1\r\n$17\r\nlast-delivered-id\r\n"
        b"$3\r\n1-1\r\n$12\r\nentries-read\r\n:1\r\n$3\r\nlag\r\n:2\r\n")
    connection.call("HELLO", "3")
    assert connection.call("XINFO", "GROUPS", "s").startswith(b"*3\r\n%6\r\n$4\r\nname\r\n$1\r\na\r\n")
    assert b"$12\r\nentries-read\r\n_\r\n" in connection.call("XINFO", "GROUPS", "s")
    r.xadd("t", {"f": "v"}, id="1-1")
    assert connection.call("XINFO", "GROUPS", "t") == b"*0\r\n"
    assert connection.call("XINFO", "GROUPS", "none") == b"-ERR no such key\r\n"
    r.set("str", "v")
    assert connection.call("XINFO", "GROUPS", "str").startswith(b"-WRONGTYPE")
    assert connection.call("XINFO", "GROUPS", "s", "x") == b"-ERR wrong number of arguments for 'xinfo|groups' command\r\n"


def test_xinfo_consumers(five, raw):
    read(five, "bob", count=2)
    read(five, "alice", count=1)
    consumers = five.xinfo_consumers("s", "g")
    assert [(c["name"], c["pending"]) for c in consumers] == [("alice", 1), ("bob", 2)]
    assert all(0 <= c["idle"] < 5000 for c in consumers)
    connection = raw()
    assert connection.call("XINFO", "CONSUMERS", "s", "x") == b"-NOGROUP No such consumer group 'x' for key name 's'\r\n"
    assert connection.call("XINFO", "CONSUMERS", "none", "g") == b"-ERR no such key\r\n"
    assert connection.call("XINFO", "CONSUMERS", "s") == (
        b"-ERR wrong number of arguments for 'xinfo|consumers' command\r\n")


@pytest.mark.rill_only
def test_xinfo_consumers_idle_and_inactive_as_redis_7_2(five, raw):
    """Redis 7.2 added `inactive` (time since the last successful read or claim, -1 if none) and made `idle` the time
    since the last attempt."""
    five.xgroup_createconsumer("s", "g", "lazy")
    read(five, "alice", count=1)
    time.sleep(0.15)
    assert read(five, "alice", position="9") == []  # an attempt: idle resets, inactive keeps growing
    alice, lazy = five.xinfo_consumers("s", "g")
    assert alice["name"] == "alice" and alice["idle"] < 100 and alice["inactive"] >= 150
    assert lazy["name"] == "lazy" and lazy["inactive"] == -1 and lazy["idle"] >= 150
    reply = raw().call("XINFO", "CONSUMERS", "s", "g")
    assert reply.startswith(b"*2\r\n*8\r\n$4\r\nname\r\n$5\r\nalice\r\n$7\r\npending\r\n:1\r\n$4\r\nidle\r\n:")


def test_xinfo_stream_counts_groups(five):
    five.xgroup_create("s", "h", "$")
    assert five.xinfo_stream("s")["groups"] == 2


def test_xinfo_stream_full_lists_groups_pel_and_consumers(r):
    add(r, "x", 100, 101, 102, 103, 104)
    r.xgroup_create("x", "g1", "0")
    r.xgroup_create("x", "g2", "0")
    read(r, "Alice", key="x", group="g1", count=1)
    read(r, "Bob", key="x", group="g1", count=1)
    r.xreadgroup("g1", "Bob", {"x": ">"}, count=1, noack=True)
    read(r, "Charlie", key="x", group="g2", count=4)
    r.xdel("x", "103-1")
    info = r.xinfo_stream("x", full=True)
    assert info["length"] == 4 and list(info["entries"]) == ["100-1", "101-1", "102-1", "104-1"]
    g1, g2 = info["groups"]
    assert g1["name"] == "g1" and g1["last-delivered-id"] == "102-1" and g1["pel-count"] == 2
    # A deletion after the group's position makes the lag unknowable.
    assert g1["entries-read"] == 3 and g1["lag"] is None
    assert [p[0] for p in g1["pending"]] == ["100-1", "101-1"]
    assert [c["name"] for c in g1["consumers"]] == ["Alice", "Bob"]
    assert g1["consumers"][0]["pel-count"] == 1 and [p[0] for p in g1["consumers"][1]["pending"]] == ["101-1"]
    assert g2["name"] == "g2" and g2["pel-count"] == 4 and g2["lag"] is None
    assert [p[0] for p in g2["consumers"][0]["pending"]] == ["100-1", "101-1", "102-1", "103-1"]
    one = unparsed(r, "XINFO", "STREAM", "x", "FULL", "COUNT", "1")
    assert len(one) == 30 and len(one[one.index("entries") + 1]) == 1
    g2 = one[one.index("groups") + 1][1]
    assert g2[g2.index("pel-count") + 1] == 4 and len(g2[g2.index("pending") + 1]) == 1


@pytest.mark.rill_only
def test_xinfo_stream_full_consumer_times_as_redis_7_2(r):
    """Redis 7.2 added each consumer's active-time next to seen-time."""
    add(r, "s", 1)
    r.xgroup_create("s", "g", "0")
    r.xgroup_createconsumer("s", "g", "lazy")
    before = int(time.time() * 1000)
    read(r, "busy")
    consumers = r.xinfo_stream("s", full=True)["groups"][0]["consumers"]
    busy, lazy = consumers
    assert busy["active-time"] >= before - 1000 and busy["seen-time"] >= before - 1000
    assert lazy["active-time"] == -1


def test_xinfo_help_lists_group_subcommands(r, raw):
    reply = raw().call("XINFO", "HELP")
    assert reply.startswith(b"*9\r\n+XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
                            b"+CONSUMERS <key> <groupname>\r\n+    Show consumers of <groupname>.\r\n"
                            b"+GROUPS <key>\r\n+    Show the stream consumer groups.\r\n")
    assert reply.endswith(b"+HELP\r\n+    Print this help.\r\n")


# --- Lag ------------------------------------------------------------------------------------------------------------

def lag_of(r, group="g", key="s"):
    info = group_info(r, key)[group]
    return info["entries-read"], info["lag"]


def test_lag_sanity(r):
    add(r, "s", 1, 2, 3, 4, 5)
    r.xgroup_create("s", "g", "0")
    assert lag_of(r) == (None, 5)
    read(r, "c", count=1)
    assert lag_of(r) == (1, 4)
    read(r, "c", count=10)
    assert lag_of(r) == (5, 0)
    add(r, "s", 6)
    assert lag_of(r) == (5, 1)


def test_lag_with_deletions(r):
    add(r, "s", 1, 2, 3, 4, 5)
    r.xdel("s", "3-1")
    r.xgroup_create("s", "g", "0")
    assert lag_of(r) == (None, None)
    for _ in range(3):
        read(r, "c", count=1)
        assert lag_of(r) == (None, None)
    read(r, "c", count=1)
    assert lag_of(r) == (5, 0)
    add(r, "s", 6)
    assert lag_of(r) == (5, 1)


def test_lag_of_groups_at_arbitrary_positions(r):
    add(r, "s", 1, 2, 3, 4, 5)
    r.xgroup_create("s", "first", "1-1")
    r.xgroup_create("s", "middle", "3-1")
    r.xgroup_create("s", "last", "$")
    r.xgroup_create("s", "future", "9")
    r.execute_command("XGROUP", "CREATE", "s", "told", "3-1", "ENTRIESREAD", "3")
    assert [lag_of(r, name) for name in ("first", "middle", "last", "future", "told")] == [
        (None, 4), (None, None), (None, 0), (None, None), (3, 2)]
    read(r, "c", group="middle", count=1)
    assert lag_of(r, "middle") == (None, None)
    read(r, "c", group="middle", count=1)
    assert lag_of(r, "middle") == (5, 0)


@pytest.mark.rill_only
def test_lag_after_trimming_and_emptying_as_redis_8(r):
    """Redis 8 reports the stream length when the group and every deletion are behind the first entry, and 0 for an
    emptied stream; 7.0.15 answers 4 then 1 here (stale counter) and nil for a group ahead of an emptied stream."""
    r.xgroup_create("s", "g", "$", mkstream=True)
    add(r, "s", 1, 2, 3, 4, 5)
    read(r, "c", count=1)
    r.xtrim("s", maxlen=1, approximate=False)
    assert lag_of(r) == (1, 1)
    read(r, "c")
    add(r, "s", 6)
    r.xtrim("s", maxlen=0, approximate=False)
    assert lag_of(r) == (5, 0)
    r.xgroup_create("s", "ahead", "99")
    assert lag_of(r, "ahead") == (None, 0)


# --- Reference policies (Redis 8.2) ---------------------------------------------------------------------------------

@pytest.fixture
def two_groups(r):
    """Entries 1-0 and 2-0 read by group1 (consumer1) and group2 (consumer2)."""
    r.xadd("mystream", {"f": "v"}, id="1-0")
    r.xadd("mystream", {"f": "v"}, id="2-0")
    r.xgroup_create("mystream", "group1", "0")
    r.xgroup_create("mystream", "group2", "0")
    r.xreadgroup("group1", "consumer1", {"mystream": ">"})
    r.xreadgroup("group2", "consumer2", {"mystream": ">"})
    return r


@pytest.mark.rill_only
def test_xackdel_argument_errors(r, raw):
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", "0")
    connection = raw()
    for args, reply in [
        (("s", "g", "IDS", "abc", "1-1"), b"-ERR Number of IDs must be a positive integer\r\n"),
        (("s", "g", "IDS", "0", "1-1"), b"-ERR Number of IDs must be a positive integer\r\n"),
        (("s", "g", "IDS", "-5", "1-1"), b"-ERR Number of IDs must be a positive integer\r\n"),
        (("s", "g", "IDS", "3", "1-1", "2-2"), b"-ERR The `numids` parameter must match the number of arguments\r\n"),
        (("s", "g", "IDS", "1", "1-1", "2-2"), b"-ERR syntax error\r\n"),
        (("s", "g", "KEEPREF", "DELREF", "IDS", "1", "1-1"), b"-ERR syntax error\r\n"),
        (("s", "g", "DELREF", "ACKED", "IDS", "1", "1-1"), b"-ERR syntax error\r\n"),
        (("s", "g", "FOO", "IDS", "1", "1-1"), b"-ERR syntax error\r\n"),
        (("s", "g", "IDS", "1", "bad"), b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        (("s", "g"), b"-ERR wrong number of arguments for 'xackdel' command\r\n"),
    ]:
        assert connection.call("XACKDEL", *args) == reply, args
    # The IDS block may come before the policy.
    assert connection.call("XACKDEL", "s", "g", "IDS", "1", "1-0", "ACKED") == b"*1\r\n:-1\r\n"
    assert connection.call("XACKDEL", "none", "g", "IDS", "2", "1-1", "2-2") == b"*2\r\n:-1\r\n:-1\r\n"
    assert connection.call("XACKDEL", "s", "x", "IDS", "2", "1-1", "2-2") == b"*2\r\n:-1\r\n:-1\r\n"
    r.set("str", "v")
    assert connection.call("XACKDEL", "str", "g", "IDS", "1", "1-1").startswith(b"-WRONGTYPE")


@pytest.mark.rill_only
def test_xackdel_policies(two_groups):
    r = two_groups
    assert r.execute_command("XACKDEL", "mystream", "group1", "ACKED", "IDS", "2", "1-0", "2-0") == [2, 2]
    assert r.xlen("mystream") == 2 and r.xpending("mystream", "group1")["pending"] == 0
    assert r.execute_command("XACKDEL", "mystream", "group2", "ACKED", "IDS", "2", "1-0", "2-0") == [1, 1]
    assert r.xlen("mystream") == 0


@pytest.mark.rill_only
def test_xackdel_keepref_and_delref(two_groups):
    r = two_groups
    assert r.execute_command("XACKDEL", "mystream", "group1", "KEEPREF", "IDS", "1", "1-0") == [1]
    assert r.xlen("mystream") == 1
    assert pending(r, "mystream", "group2") == [("1-0", "consumer2", 1), ("2-0", "consumer2", 1)]
    # Acknowledging the dangling reference still answers 1.
    assert r.execute_command("XACKDEL", "mystream", "group2", "KEEPREF", "IDS", "1", "1-0") == [1]
    assert r.execute_command("XACKDEL", "mystream", "group1", "DELREF", "IDS", "1", "2-0") == [1]
    assert r.xlen("mystream") == 0 and r.xpending("mystream", "group2")["pending"] == 0
    assert r.execute_command("XACKDEL", "mystream", "group2", "DELREF", "IDS", "1", "2-0") == [-1]


@pytest.mark.rill_only
def test_xdelex_policies(two_groups, raw):
    r = two_groups
    connection = raw()
    assert connection.call("XDELEX", "mystream", "ACKED", "IDS", "2", "1-0", "2-0") == b"*2\r\n:2\r\n:2\r\n"
    r.xack("mystream", "group1", "1-0")
    r.xack("mystream", "group2", "1-0")
    assert r.execute_command("XDELEX", "mystream", "ACKED", "IDS", "1", "1-0") == [1]
    assert r.execute_command("XDELEX", "mystream", "IDS", "2", "2-0", "9-0") == [1, -1]  # KEEPREF by default
    assert r.xpending("mystream", "group1")["pending"] == 1
    # ACKED keeps a deleted entry that is still pending somewhere: it answers 2.
    assert r.execute_command("XDELEX", "mystream", "ACKED", "IDS", "1", "2-0") == [2]
    # DELREF removes dangling references even though the entry is gone (-1).
    assert r.execute_command("XDELEX", "mystream", "DELREF", "IDS", "1", "2-0") == [-1]
    assert r.xpending("mystream", "group1")["pending"] == 0 and r.xpending("mystream", "group2")["pending"] == 0
    r.xadd("mystream", {"f": "v"}, id="3-0")
    assert r.execute_command("XDELEX", "mystream", "ACKED", "IDS", "1", "3-0") == [2]  # not yet delivered
    r.xgroup_destroy("mystream", "group1")
    r.xgroup_destroy("mystream", "group2")
    assert r.execute_command("XDELEX", "mystream", "ACKED", "IDS", "1", "3-0") == [1]  # no group left
    assert connection.call("XDELEX", "none", "IDS", "2", "1-0", "2-0") == b"*2\r\n:-1\r\n:-1\r\n"
    assert connection.call("XDELEX", "mystream", "IDS", "2", "1-0") == (
        b"-ERR The `numids` parameter must match the number of arguments\r\n")
    assert connection.call("XDELEX", "mystream", "KEEPREF", "KEEPREF", "IDS", "1", "1-0") == b"-ERR syntax error\r\n"


@pytest.mark.rill_only
def test_trimming_policies(r):
    for number in range(1, 7):
        r.xadd("s", {"f": "v"}, id=f"{number}-0")
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"}, count=4)
    r.xack("s", "g", "1-0", "3-0")
    # ACKED trims only acknowledged entries: 2-0 and 4-0 are pending, 5-0 and 6-0 not delivered.
    assert r.execute_command("XTRIM", "s", "MAXLEN", "2", "ACKED") == 2
    assert ids(r.xrange("s")) == ["2-0", "4-0", "5-0", "6-0"]
    assert r.execute_command("XTRIM", "s", "MINID", "5", "DELREF") == 2
    assert ids(r.xrange("s")) == ["5-0", "6-0"] and r.xpending("s", "g")["pending"] == 0
    r.xreadgroup("g", "c", {"s": ">"})
    assert r.execute_command("XADD", "s", "KEEPREF", "MAXLEN", "1", "7-0", "f", "v") == "7-0"
    assert ids(r.xrange("s")) == ["7-0"]
    r.xreadgroup("g", "c", {"s": ">"})
    assert pending(r) == [("5-0", "c", 1), ("6-0", "c", 1), ("7-0", "c", 1)]
    # DELREF drops the references of the entries this trim removes (7-0), not older dangling ones.
    assert r.execute_command("XADD", "s", "MAXLEN", "0", "DELREF", "8-0", "f", "v") == "8-0"
    assert r.xlen("s") == 0 and pending(r) == [("5-0", "c", 1), ("6-0", "c", 1)]
    assert r.execute_command("XTRIM", "s", "MAXLEN", "0", "ACKED") == 0


# --- Crash recovery: a worker pool draining a stream ----------------------------------------------------------------

STREAM, GROUP = "jobs", "workers"
ENTRIES = 20_000
RECLAIM_IDLE_MS = 400


def worker(port, name, victim_after_batches, deadline):
    """Drain the stream: reclaim entries idle longer than RECLAIM_IDLE_MS (XAUTOCLAIM), read new ones (XREADGROUP),
    record each processed ID (SADD, idempotent) and acknowledge it. A victim stops acknowledging after some batches,
    announces it, and waits to be killed."""
    client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    batches = 0
    cursor = "0-0"

    def process(entry_ids):
        with client.pipeline(transaction=False) as pipe:
            pipe.sadd("processed", *entry_ids)
            pipe.incrby(f"deliveries:{name}", len(entry_ids))
            pipe.xack(STREAM, GROUP, *entry_ids)
            pipe.execute()

    while time.monotonic() < deadline:
        cursor, claimed, _deleted = client.xautoclaim(STREAM, GROUP, name, RECLAIM_IDLE_MS, cursor, count=100)
        if claimed:
            client.incrby("reclaimed", len(claimed))
            process([entry_id for entry_id, _fields in claimed])
        reply = client.xreadgroup(GROUP, name, {STREAM: ">"}, count=100, block=100)
        entries = reply[0][1] if reply else []
        if victim_after_batches is not None and batches == victim_after_batches and entries:
            client.set(f"doomed:{name}", len(entries))
            time.sleep(3600)
        if entries:
            process([entry_id for entry_id, _fields in entries])
            batches += 1
        elif not claimed and client.scard("processed") == ENTRIES and client.xpending(STREAM, GROUP)["pending"] == 0:
            return


def test_worker_pool_recovers_entries_of_killed_workers(server, r):
    # Pipelines of 2000, as test_hiredis_workers.fill: one of 20,000 could outlast redis-py's 5 s socket timeout.
    for first in range(1, ENTRIES + 1, 2000):
        with r.pipeline(transaction=False) as pipe:
            for number in range(first, min(first + 2000, ENTRIES + 1)):
                pipe.xadd(STREAM, {"job": str(number)}, id=f"{number}-0")
            pipe.execute()
    r.xgroup_create(STREAM, GROUP, "0")
    context = multiprocessing.get_context("fork")
    deadline = time.monotonic() + 60
    victims = {"victim-1": 3, "victim-2": 10}
    processes = {}
    for name, after in [("worker-1", None), ("worker-2", None), ("worker-3", None), *victims.items()]:
        process = context.Process(target=worker, args=(server.port, name, after, deadline), daemon=True)
        process.start()
        processes[name] = process
    try:
        for name in victims:
            while r.get(f"doomed:{name}") is None:
                assert time.monotonic() < deadline, f"{name} never reached its crash point"
                assert processes[name].is_alive(), f"{name} exited early"
                time.sleep(0.01)
            os.kill(processes[name].pid, signal.SIGKILL)
            processes[name].join(timeout=5)
        for name in ("worker-1", "worker-2", "worker-3"):
            processes[name].join(timeout=max(1, deadline - time.monotonic()))
            assert processes[name].exitcode == 0, f"{name} did not finish: exit code {processes[name].exitcode}"
    finally:
        for process in processes.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
                process.join(timeout=5)

    stranded = sum(int(r.get(f"doomed:{name}")) for name in victims)
    assert r.scard("processed") == ENTRIES, "some entries were never processed"
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert int(r.get("reclaimed") or 0) >= stranded, "the killed workers' pending entries were not reclaimed"
    info = group_info(r, STREAM)[GROUP]
    assert info["lag"] == 0 and info["entries-read"] == ENTRIES
    assert {c["name"] for c in r.xinfo_consumers(STREAM, GROUP)} >= set(victims)


def test_xreadgroup_changes_counted_as_redis_8_counts_them(r):
    """rdb_changes_since_last_save: one change per stream whose group moved, one per consumer created; re-reading
    one's own pending entries changes nothing."""
    def changes():
        return r.info("persistence")["rdb_changes_since_last_save"]

    for ms in range(1, 4):
        r.xadd("s", {"f": "v"}, id=f"{ms}-1")
    r.xgroup_create("s", "g", "0")
    steps = [
        (lambda: r.xreadgroup("g", "alice", {"s": ">"}, count=2), 2),  # alice created, the group moved
        (lambda: r.xreadgroup("g", "alice", {"s": "0"}), 0),  # her own pending entries again
        (lambda: r.xreadgroup("g", "bob", {"s": "0"}), 1),  # bob created, nothing pending
        (lambda: r.xreadgroup("g", "alice", {"s": ">"}), 1),  # the last entry
        (lambda: r.xreadgroup("g", "alice", {"s": ">"}), 0),  # nothing new
        (lambda: r.xreadgroup("g", "carol", {"s": ">"}), 1),  # carol created, nothing new
    ]
    for number, (step, expected) in enumerate(steps):
        before = changes()
        step()
        assert changes() - before == expected, f"step {number}"


def test_a_blocked_read_answered_with_an_error_counts_as_a_failed_call(r, raw):
    """Redis 8: XREADGROUP woken by XGROUP DESTROY answers NOGROUP; commandstats count one call, failed, with the
    time of its two attempts, and errorstats count the error."""
    r.config_resetstat()
    r.xgroup_create("s", "g", "$", mkstream=True)
    reader = raw()
    reader.send(reader.encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"))
    wait_for_blocked_clients(r, 1)
    r.xgroup_destroy("s", "g")
    assert reader.read_reply().startswith(b"-NOGROUP ")
    stats = r.info("commandstats")["cmdstat_xreadgroup"]
    assert (stats["calls"], stats["failed_calls"], stats["rejected_calls"]) == (1, 1, 0)
    assert stats["usec"] >= 1
    assert r.info("errorstats")["errorstat_NOGROUP"]["count"] == 1
    # A blocked read that times out is one call, not failed.
    reader.call("XREAD", "BLOCK", "20", "STREAMS", "t", "$")
    stats = r.info("commandstats")["cmdstat_xread"]
    assert (stats["calls"], stats["failed_calls"]) == (1, 0)
