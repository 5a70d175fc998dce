"""Stream commands: XADD, XLEN, XRANGE/XREVRANGE, XDEL, XTRIM, XSETID, XINFO STREAM, XREAD (incl. blocking)."""

import threading
import time

import pytest
import redis

from support import unparsed, wait_for_blocked_clients

INVALID_ID = r"^Invalid stream ID specified as stream command argument$"
NOT_GREATER = r"^The ID specified in XADD is equal or smaller than the target stream top item$"
NOT_INTEGER = r"^value is not an integer or out of range$"


def add_entries(r, key, count, start=1, fields=None):
    with r.pipeline(transaction=False) as pipe:
        for ms in range(start, start + count):
            pipe.xadd(key, fields or {"f": "v"}, id=f"{ms}-0")
        pipe.execute()


def ids(entries):
    return [entry_id for entry_id, _fields in entries]


# --- XADD ---------------------------------------------------------------------------------------------------------

def test_xadd_explicit_ids_and_field_order(r):
    assert r.xadd("s", {"b": "2", "a": "1"}, id="1-1") == "1-1"
    assert r.xadd("s", {"c": "3"}, id="1-2") == "1-2"
    assert r.xrange("s") == [("1-1", {"b": "2", "a": "1"}), ("1-2", {"c": "3"})]
    reply = unparsed(r, "XRANGE", "s", "-", "+")
    assert reply[0] == ["1-1", ["b", "2", "a", "1"]]  # field order as given


def test_xadd_duplicate_field_names_are_kept(raw):
    connection = raw()
    connection.call("XADD", "s", "1-1", "f", "1", "f", "2")
    assert connection.call("XRANGE", "s", "-", "+") == (
        b"*1\r\n*2\r\n$3\r\n1-1\r\n*4\r\n$1\r\nf\r\n$1\r\n1\r\n$1\r\nf\r\n$1\r\n2\r\n")


def test_xadd_star_generates_increasing_time_based_ids(r):
    before_ms = int(time.time() * 1000)
    generated = [r.xadd("s", {"i": str(i)}) for i in range(50)]
    after_ms = int(time.time() * 1000)
    parsed = [tuple(map(int, entry_id.split("-"))) for entry_id in generated]
    assert parsed == sorted(parsed) and len(set(parsed)) == 50
    assert before_ms - 1000 <= parsed[0][0] <= after_ms + 1000


def test_xadd_star_after_future_id_increments_sequence(r):
    r.xadd("s", {"f": "v"}, id="99999999999999-5")
    assert r.xadd("s", {"f": "v"}) == "99999999999999-6"


def test_xadd_ms_star_picks_next_sequence(r):
    assert r.xadd("s", {"f": "v"}, id="5-*") == "5-0"
    assert r.xadd("s", {"f": "v"}, id="5-*") == "5-1"
    assert r.xadd("s", {"f": "v"}, id="7-*") == "7-0"
    assert r.xadd("zero", {"f": "v"}, id="0-*") == "0-1"  # 0-0 is never a valid entry id
    with pytest.raises(redis.ResponseError, match=NOT_GREATER):
        r.xadd("s", {"f": "v"}, id="6-*")


def test_xadd_id_without_sequence_means_sequence_zero(r):
    assert r.xadd("s", {"f": "v"}, id="10") == "10-0"
    with pytest.raises(redis.ResponseError, match=NOT_GREATER):
        r.xadd("s", {"f": "v"}, id="10")


def test_xadd_accepts_leading_zeros(r):
    assert r.xadd("s", {"f": "v"}, id="0001-01") == "1-1"
    assert r.xadd("s", {"f": "v"}, id="0002-0000") == "2-0"


def test_xadd_rejects_equal_or_smaller_id(r):
    r.xadd("s", {"f": "v"}, id="5-5")
    for smaller in ("5-5", "5-4", "4-9", "1"):
        with pytest.raises(redis.ResponseError, match=NOT_GREATER):
            r.xadd("s", {"f": "v"}, id=smaller)
    assert r.xlen("s") == 1


def test_xadd_rejects_0_0(r):
    for zero in ("0-0", "0"):
        with pytest.raises(redis.ResponseError, match=r"^The ID specified in XADD must be greater than 0-0$"):
            r.xadd("s", {"f": "v"}, id=zero)
    assert r.exists("s") == 0


@pytest.mark.parametrize("bad_id", ["abc", "1-abc", "-1", "1-", "1--1", "18446744073709551616-0", "1-18446744073709551616",
                                    "1.5-0", "+", "-", "$"])
def test_xadd_rejects_malformed_ids(r, bad_id):
    with pytest.raises(redis.ResponseError, match=INVALID_ID):
        r.xadd("s", {"f": "v"}, id=bad_id)


def test_xadd_after_maximum_id_is_exhausted(r):
    top = "18446744073709551615-18446744073709551615"
    assert r.xadd("s", {"f": "v"}, id=top) == top
    # Once the last id is the maximum, every XADD fails with this error, whatever id it asks for.
    for asked in ("*", "18446744073709551615-*", top, "1-1"):
        with pytest.raises(redis.ResponseError,
                           match=r"^The stream has exhausted the last possible ID, unable to add more items$"):
            r.xadd("s", {"f": "v"}, id=asked)


def test_xadd_ms_star_at_maximum_millisecond(r):
    r.xadd("s", {"f": "v"}, id="18446744073709551615-5")
    assert r.xadd("s", {"f": "v"}, id="18446744073709551615-*") == "18446744073709551615-6"
    with pytest.raises(redis.ResponseError, match=NOT_GREATER):
        r.xadd("s", {"f": "v"}, id="18446744073709551614-*")


def test_xadd_arity_errors(r):
    for args in (("s", "f", "v"), ("s", "*", "f"), ("s", "*", "f", "v", "g"), ("s", "MAXLEN")):
        with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'xadd' command$"):
            r.execute_command("XADD", *args)


def test_xadd_nomkstream_does_not_create_the_key(raw, r):
    connection = raw()
    assert connection.call("XADD", "s", "NOMKSTREAM", "*", "f", "v") == b"$-1\r\n"
    assert connection.call("XADD", "s", "NOMKSTREAM", "MAXLEN", "1", "*", "f", "v") == b"$-1\r\n"
    assert r.exists("s") == 0
    r.xadd("s", {"f": "v"}, id="1-1")
    assert connection.call("XADD", "s", "NOMKSTREAM", "2-1", "f", "v") == b"$3\r\n2-1\r\n"
    connection.call("HELLO", "3")
    assert connection.call("XADD", "other", "NOMKSTREAM", "*", "f", "v") == b"_\r\n"


def test_xadd_maxlen_exact_trims_oldest(r):
    add_entries(r, "s", 5)
    assert r.xadd("s", {"f": "v"}, id="6-0", maxlen=3, approximate=False) == "6-0"
    assert ids(r.xrange("s")) == ["4-0", "5-0", "6-0"]
    r.execute_command("XADD", "s", "MAXLEN", "=", "2", "7-0", "f", "v")
    assert ids(r.xrange("s")) == ["6-0", "7-0"]


def test_xadd_maxlen_zero_keeps_an_empty_stream(r):
    r.execute_command("XADD", "s", "MAXLEN", "0", "1-1", "f", "v")
    assert r.exists("s") == 1
    assert r.xlen("s") == 0
    info = r.xinfo_stream("s")
    assert info["last-generated-id"] == "1-1"
    assert info["entries-added"] == 1


def test_xadd_minid_trims_entries_below(r):
    add_entries(r, "s", 5)
    r.execute_command("XADD", "s", "MINID", "3", "6-0", "f", "v")
    assert ids(r.xrange("s")) == ["3-0", "4-0", "5-0", "6-0"]
    r.execute_command("XADD", "s", "MINID", "=", "5-0", "7-0", "f", "v")
    assert ids(r.xrange("s")) == ["5-0", "6-0", "7-0"]


def test_xadd_approximate_maxlen_removes_whole_nodes_only(r, config):
    config("stream-node-max-entries", 10)
    add_entries(r, "s", 45)
    # Nodes 1-10 ... 41-45; the new entry lands in the last node. Dropping any further node would go below 3.
    assert r.execute_command("XADD", "s", "MAXLEN", "~", "3", "46-0", "f", "v") == "46-0"
    assert r.xlen("s") == 6
    assert ids(r.xrange("s", count=1)) == ["41-0"]


def test_xadd_approximate_trim_honours_limit(r, config):
    config("stream-node-max-entries", 10)
    add_entries(r, "s", 45)
    r.execute_command("XADD", "s", "MAXLEN", "~", "3", "LIMIT", "20", "46-0", "f", "v")
    assert r.xlen("s") == 26


def test_xadd_trim_option_errors(r):
    cases = [
        (("MAXLEN", "abc"), NOT_INTEGER),
        (("MAXLEN", "-1"), r"^The MAXLEN argument must be >= 0\.$"),
        (("MAXLEN", "1", "MINID", "1"),
         r"^syntax error, MAXLEN and MINID options at the same time are not compatible$"),
        (("LIMIT", "10"), r"^syntax error, LIMIT cannot be used without specifying a trimming strategy$"),
        (("MAXLEN", "=", "1", "LIMIT", "10"), r"^syntax error, LIMIT cannot be used without the special ~ option$"),
        (("MAXLEN", "1", "LIMIT", "10"), r"^syntax error, LIMIT cannot be used without the special ~ option$"),
        (("MAXLEN", "~", "1", "LIMIT", "-1"), r"^The LIMIT argument must be >= 0\.$"),
        (("MINID", "abc"), INVALID_ID),
        (("~", "1"), INVALID_ID),
    ]
    for options, error in cases:
        with pytest.raises(redis.ResponseError, match=error):
            r.execute_command("XADD", "s", *options, "*", "f", "v")
    assert r.exists("s") == 0


def test_xadd_empty_key_field_and_value(r):
    assert r.xadd("", {"": ""}, id="1-1") == "1-1"
    assert r.xrange("") == [("1-1", {"": ""})]


def test_xadd_binary_safe_fields_and_values(server):
    client = server.client(decode_responses=False)
    client.flushall()
    value = bytes(range(256)) * 4
    client.xadd(b"bin\x00key", {b"f\x00\r\n": value}, id="1-1")
    assert client.xrange(b"bin\x00key") == [(b"1-1", {b"f\x00\r\n": value})]
    client.close()


# --- XLEN ---------------------------------------------------------------------------------------------------------

def test_xlen_counts_entries(r):
    assert r.xlen("s") == 0
    add_entries(r, "s", 7)
    assert r.xlen("s") == 7
    r.xdel("s", "3-0")
    assert r.xlen("s") == 6


# --- XRANGE / XREVRANGE -------------------------------------------------------------------------------------------

@pytest.fixture
def four(r):
    for entry_id, field in (("1-1", "a"), ("1-2", "b"), ("2-1", "c"), ("3-0", "d")):
        r.xadd("s", {field: "x"}, id=entry_id)
    return r


def test_xrange_full_and_counted(four):
    assert ids(four.xrange("s")) == ["1-1", "1-2", "2-1", "3-0"]
    assert ids(four.xrange("s", "-", "+", count=2)) == ["1-1", "1-2"]
    assert ids(four.xrevrange("s", "+", "-", count=1)) == ["3-0"]
    assert ids(four.xrevrange("s")) == ["3-0", "2-1", "1-2", "1-1"]


def test_xrange_incomplete_ids_cover_whole_millisecond(four):
    # A start without sequence means -0, an end without sequence means -max.
    assert ids(four.xrange("s", "1", "1")) == ["1-1", "1-2"]
    assert ids(four.xrange("s", "2", "3")) == ["2-1", "3-0"]
    assert ids(four.xrevrange("s", "2", "1")) == ["2-1", "1-2", "1-1"]
    assert ids(four.xrange("s", "1-2", "1-2")) == ["1-2"]


def test_xrange_exclusive_bounds(four):
    assert ids(four.xrange("s", "(1-1", "+")) == ["1-2", "2-1", "3-0"]
    assert ids(four.xrange("s", "-", "(3-0")) == ["1-1", "1-2", "2-1"]
    assert ids(four.xrevrange("s", "(3-0", "(1-1")) == ["2-1", "1-2"]
    assert ids(four.xrange("s", "(1", "+")) == ["1-1", "1-2", "2-1", "3-0"]  # (1 means after 1-0


def test_xrange_exclusive_bound_errors(four):
    for start, end in (("(-", "+"), ("-", "(+")):
        with pytest.raises(redis.ResponseError, match=INVALID_ID):
            four.xrange("s", start, end)
    with pytest.raises(redis.ResponseError, match=r"^invalid start ID for the interval$"):
        four.xrange("s", "(18446744073709551615-18446744073709551615", "+")
    with pytest.raises(redis.ResponseError, match=r"^invalid end ID for the interval$"):
        four.xrange("s", "-", "(0-0")


def test_xrange_empty_and_reversed_ranges(four, raw):
    connection = raw()
    assert connection.call("XRANGE", "s", "3", "1") == b"*0\r\n"
    assert connection.call("XREVRANGE", "s", "-", "+") == b"*0\r\n"
    assert connection.call("XRANGE", "missing", "-", "+") == b"*0\r\n"


def test_xrange_count_zero_or_negative_is_null_array(four, raw):
    connection = raw()
    assert connection.call("XRANGE", "s", "-", "+", "COUNT", "0") == b"*-1\r\n"
    assert connection.call("XREVRANGE", "s", "+", "-", "COUNT", "-1") == b"*-1\r\n"
    connection.call("HELLO", "3")
    assert connection.call("XRANGE", "s", "-", "+", "COUNT", "0") == b"_\r\n"


def test_xrange_syntax_errors(four):
    with pytest.raises(redis.ResponseError, match=NOT_INTEGER):
        four.execute_command("XRANGE", "s", "-", "+", "COUNT", "abc")
    for extra in (("FOO", "1"), ("COUNT",)):
        with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
            four.execute_command("XRANGE", "s", "-", "+", *extra)
    for bad in ("abc", "1-*", "*"):
        with pytest.raises(redis.ResponseError, match=INVALID_ID):
            four.xrange("s", bad, "+")


def test_xrange_reply_bytes(four, raw):
    assert raw().call("XRANGE", "s", "3", "+") == b"*1\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$1\r\nd\r\n$1\r\nx\r\n"


def parse_bound(text, is_start):
    """(id tuple, exclusive) for an XRANGE bound; an id without sequence covers its whole millisecond."""
    exclusive = text.startswith("(")
    text = text.lstrip("(")
    if "-" in text:
        ms, seq = text.split("-")
        return (int(ms), int(seq)), exclusive
    return (int(text), 0 if is_start else 2 ** 64 - 1), exclusive


def test_xrange_across_many_nodes_matches_model(r, config):
    config("stream-node-max-entries", 7)
    model = []
    for ms in range(1, 200):
        for seq in range(ms % 3):
            entry_id = f"{ms}-{seq}"
            r.xadd("s", {"n": entry_id}, id=entry_id)
            model.append(entry_id)
    r.xdel("s", *model[::5])
    model = [entry_id for index, entry_id in enumerate(model) if index % 5]
    as_tuple = lambda entry_id: tuple(map(int, entry_id.split("-")))
    for start, end in (("50", "120"), ("50-1", "(120-1"), ("(10-1", "199")):
        (low, low_open), (high, high_open) = parse_bound(start, True), parse_bound(end, False)
        expected = [e for e in model
                    if (as_tuple(e) > low if low_open else as_tuple(e) >= low)
                    and (as_tuple(e) < high if high_open else as_tuple(e) <= high)]
        assert expected  # the ranges are chosen to be non-empty
        assert ids(r.xrange("s", start, end)) == expected
        assert ids(r.xrevrange("s", end, start)) == expected[::-1]
    assert ids(r.xrange("s", count=10)) == model[:10]


# --- XDEL ---------------------------------------------------------------------------------------------------------

def test_xdel_counts_deleted_entries(four):
    assert four.xdel("s", "1-1", "9-9", "1-1") == 1
    assert ids(four.xrange("s")) == ["1-2", "2-1", "3-0"]
    assert four.xdel("missing", "1-1") == 0


def test_xdel_errors(four):
    with pytest.raises(redis.ResponseError, match=INVALID_ID):
        four.xdel("s", "abc")
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'xdel' command$"):
        four.execute_command("XDEL", "s")


def test_xdel_all_entries_keeps_the_key_and_last_id(four):
    assert four.xdel("s", "1-1", "1-2", "2-1", "3-0") == 4
    assert four.exists("s") == 1
    assert four.xlen("s") == 0
    with pytest.raises(redis.ResponseError, match=NOT_GREATER):
        four.xadd("s", {"f": "v"}, id="3-0")
    info = four.xinfo_stream("s")
    assert info["max-deleted-entry-id"] == "3-0"
    assert info["first-entry"] is None and info["last-entry"] is None


# --- XTRIM --------------------------------------------------------------------------------------------------------

def test_xtrim_maxlen_exact(r):
    add_entries(r, "s", 10)
    assert r.xtrim("s", maxlen=4, approximate=False) == 6
    assert ids(r.xrange("s")) == ["7-0", "8-0", "9-0", "10-0"]
    assert r.xtrim("s", maxlen=5) == 0
    assert r.execute_command("XTRIM", "s", "MAXLEN", "=", "0") == 4
    assert r.exists("s") == 1


def test_xtrim_minid_exact(r):
    add_entries(r, "s", 10)
    assert r.xtrim("s", minid="4", approximate=False) == 3
    assert r.execute_command("XTRIM", "s", "MINID", "=", "6-0") == 2
    assert ids(r.xrange("s", count=1)) == ["6-0"]
    assert r.xtrim("s", minid="0") == 0


def test_xtrim_missing_key_returns_zero(r):
    assert r.xtrim("missing", maxlen=0) == 0
    assert r.exists("missing") == 0


def test_xtrim_approximate_maxlen_with_small_nodes(r, config):
    config("stream-node-max-entries", 10)
    add_entries(r, "s", 25)
    assert r.xinfo_stream("s")["radix-tree-keys"] == 3
    # Removing the first node leaves 15 >= 12; removing the second would leave 5.
    assert r.xtrim("s", maxlen=12, approximate=True) == 10
    assert r.xlen("s") == 15
    assert r.xinfo_stream("s")["radix-tree-keys"] == 2
    assert r.xtrim("s", maxlen=4, approximate=True) == 10
    assert r.xtrim("s", maxlen=4, approximate=True) == 0  # the last node holds 5 entries
    assert r.xtrim("s", maxlen=4, approximate=False) == 1
    info = r.xinfo_stream("s")
    assert (info["length"], info["radix-tree-keys"], info["recorded-first-entry-id"]) == (4, 1, "22-0")
    assert info["max-deleted-entry-id"] == "0-0"  # trimming does not record deletions


def test_xtrim_approximate_limit_caps_removed_entries(r, config):
    config("stream-node-max-entries", 10)
    add_entries(r, "s", 45)
    assert r.execute_command("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "10") == 10
    assert r.execute_command("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "5") == 0  # a node holds 10
    assert r.execute_command("XTRIM", "s", "MINID", "~", "35") == 20
    assert r.xlen("s") == 15
    assert r.execute_command("XTRIM", "s", "MINID", "35") == 4
    assert ids(r.xrange("s", count=1)) == ["35-0"]


def test_xtrim_approximate_with_node_byte_limit(r, config):
    config("stream-node-max-bytes", 200)
    add_entries(r, "s", 20, fields={"field": "x" * 30})
    assert r.xinfo_stream("s")["radix-tree-keys"] == 5
    assert r.xtrim("s", maxlen=10, approximate=True) == 8
    assert r.xlen("s") == 12
    add_entries(r, "small", 20)
    assert r.xinfo_stream("small")["radix-tree-keys"] == 2


def test_node_limits_of_zero_mean_unlimited(r, config):
    config("stream-node-max-entries", 0)
    add_entries(r, "a", 300)
    assert r.xinfo_stream("a")["radix-tree-keys"] == 1
    config("stream-node-max-entries", 100)
    config("stream-node-max-bytes", 0)
    add_entries(r, "b", 300)
    assert r.xinfo_stream("b")["radix-tree-keys"] == 3


def test_xtrim_errors(r):
    add_entries(r, "s", 3)
    cases = [
        (("FOO", "1"), r"^syntax error$"),
        (("MAXLEN", "-1"), r"^The MAXLEN argument must be >= 0\.$"),
        (("MAXLEN", "0", "LIMIT", "5"), r"^syntax error, LIMIT cannot be used without the special ~ option$"),
        (("MAXLEN", "1", "MINID", "1"),
         r"^syntax error, MAXLEN and MINID options at the same time are not compatible$"),
        (("MINID", "3", "extra"), r"^syntax error$"),
        (("MAXLEN", "abc"), NOT_INTEGER),
        (("MINID", "x-1"), INVALID_ID),
    ]
    for options, error in cases:
        with pytest.raises(redis.ResponseError, match=error):
            r.execute_command("XTRIM", "s", *options)
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'xtrim' command$"):
        r.execute_command("XTRIM", "s")
    assert r.xlen("s") == 3


# --- XSETID -------------------------------------------------------------------------------------------------------

def test_xsetid_moves_last_id_forward(r):
    r.xadd("s", {"f": "v"}, id="1-1")
    r.xadd("s", {"f": "v"}, id="2-1")
    assert r.execute_command("XSETID", "s", "5-0") == "OK"
    with pytest.raises(redis.ResponseError, match=NOT_GREATER):
        r.xadd("s", {"f": "v"}, id="4-0")
    assert r.xadd("s", {"f": "v"}, id="5-*") == "5-1"


def test_xsetid_may_go_back_to_the_top_entry_but_not_below(r):
    r.xadd("s", {"f": "v"}, id="2-1")
    r.execute_command("XSETID", "s", "9-0")
    assert r.execute_command("XSETID", "s", "2-1") == "OK"
    assert r.xinfo_stream("s")["last-generated-id"] == "2-1"
    with pytest.raises(redis.ResponseError,
                       match=r"^The ID specified in XSETID is smaller than the target stream top item$"):
        r.execute_command("XSETID", "s", "2-0")


def test_xsetid_entriesadded_and_maxdeletedid(r):
    r.xadd("s", {"f": "v"}, id="1-1")
    r.xadd("s", {"f": "v"}, id="2-1")
    assert r.execute_command("XSETID", "s", "10-0", "ENTRIESADDED", "5", "MAXDELETEDID", "3-0") == "OK"
    info = r.xinfo_stream("s")
    assert (info["last-generated-id"], info["entries-added"], info["max-deleted-entry-id"]) == ("10-0", 5, "3-0")


def test_xsetid_errors(r):
    r.xadd("s", {"f": "v"}, id="1-1")
    r.xadd("s", {"f": "v"}, id="2-1")
    cases = [
        (("s", "10-0", "ENTRIESADDED", "1"),
         r"^The entries_added specified in XSETID is smaller than the target stream length$"),
        (("s", "10-0", "ENTRIESADDED", "5", "MAXDELETEDID", "11-0"),
         r"^The ID specified in XSETID is smaller than the provided max_deleted_entry_id$"),
        (("s", "10-0", "ENTRIESADDED", "-1"), r"^entries_added must be positive$"),
        (("s", "10-0", "MAXDELETEDID", "abc"), INVALID_ID),
        (("s", "10-0", "FOO", "1"), r"^syntax error$"),
        (("s", "10-0", "ENTRIESADDED"), r"^syntax error$"),
        (("missing", "1-1"), r"^no such key$"),
        (("s", "abc"), INVALID_ID),
        (("s", "0-0"), r"^The ID specified in XSETID is smaller than the target stream top item$"),
    ]
    for args, error in cases:
        with pytest.raises(redis.ResponseError, match=error):
            r.execute_command("XSETID", *args)
    assert r.xinfo_stream("s")["last-generated-id"] == "2-1"


def test_xsetid_refuses_an_id_below_the_largest_deleted_one(r):
    """Redis 8: an ID below max-deleted-entry-id would let a later XADD reuse a deleted entry's ID. A MAXDELETEDID
    given with the command does not lower the bar, and the check comes before the top-item one."""
    for ms in (1, 2, 3):
        r.xadd("s", {"f": "v"}, id=f"{ms}-1")
    r.xdel("s", "3-1")
    current = r"^The ID specified in XSETID is smaller than current max_deleted_entry_id$"
    for args in (("2-5",), ("2-5", "MAXDELETEDID", "1-0"), ("1-0",)):
        with pytest.raises(redis.ResponseError, match=current):
            r.execute_command("XSETID", "s", *args)
    assert r.execute_command("XSETID", "s", "3-1") == "OK"
    r.xadd("e", {"f": "v"}, id="5-1")
    r.xdel("e", "5-1")
    with pytest.raises(redis.ResponseError, match=current):
        r.execute_command("XSETID", "e", "4-0")
    info = r.xinfo_stream("e")
    assert (info["last-generated-id"], info["max-deleted-entry-id"]) == ("5-1", "5-1")


def test_xsetid_on_wrong_type(r):
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match=r"^WRONGTYPE"):
        r.execute_command("XSETID", "str", "1-1")


# --- XINFO STREAM -------------------------------------------------------------------------------------------------

# Redis 8.6's idempotent-producer fields, present on every stream (after recorded-first-entry-id).
IDEMPOTENCY_FIELDS = ["idmp-duration", "idmp-maxsize", "pids-tracked", "iids-tracked", "iids-added", "iids-duplicates"]


def test_xinfo_stream_fields_in_order(r):
    r.xadd("s", {"a": "1"}, id="1-1")
    r.xadd("s", {"b": "2"}, id="1-2")
    r.xadd("s", {"c": "3"}, id="3-0")
    r.xdel("s", "1-1")
    reply = unparsed(r, "XINFO", "STREAM", "s")
    keys = reply[0::2]
    assert keys == ["length", "radix-tree-keys", "radix-tree-nodes", "last-generated-id", "max-deleted-entry-id",
                    "entries-added", "recorded-first-entry-id", *IDEMPOTENCY_FIELDS, "groups", "first-entry",
                    "last-entry"]
    info = dict(zip(keys, reply[1::2]))
    assert info["length"] == 2
    assert info["radix-tree-keys"] == 1
    assert info["last-generated-id"] == "3-0"
    assert info["max-deleted-entry-id"] == "1-1"
    assert info["entries-added"] == 3
    assert info["recorded-first-entry-id"] == "1-2"
    assert info["groups"] == 0
    assert info["first-entry"] == ["1-2", ["b", "2"]]
    assert info["last-entry"] == ["3-0", ["c", "3"]]


def test_xinfo_stream_of_empty_stream_has_null_entries(raw, r):
    r.execute_command("XADD", "s", "MAXLEN", "0", "3-1", "f", "v")
    reply = raw().call("XINFO", "STREAM", "s")
    assert reply.startswith(b"*32\r\n$6\r\nlength\r\n:0\r\n$15\r\nradix-tree-keys\r\n:0\r\n")
    assert reply.endswith(b"$11\r\nfirst-entry\r\n$-1\r\n$10\r\nlast-entry\r\n$-1\r\n")
    assert b"$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n" in reply


def test_xinfo_stream_full_lists_entries_and_groups(r):
    r.xadd("s", {"a": "1"}, id="1-1")
    r.xadd("s", {"b": "2"}, id="2-1")
    reply = unparsed(r, "XINFO", "STREAM", "s", "FULL")
    keys = reply[0::2]
    assert keys == ["length", "radix-tree-keys", "radix-tree-nodes", "last-generated-id", "max-deleted-entry-id",
                    "entries-added", "recorded-first-entry-id", *IDEMPOTENCY_FIELDS, "entries", "groups"]
    info = dict(zip(keys, reply[1::2]))
    assert info["entries"] == [["1-1", ["a", "1"]], ["2-1", ["b", "2"]]]
    assert info["groups"] == []


def test_xinfo_stream_full_count_limits_entries(r):
    add_entries(r, "s", 15)
    def entries(*count):
        reply = unparsed(r, "XINFO", "STREAM", "s", "FULL", *count)
        return dict(zip(reply[0::2], reply[1::2]))["entries"]
    assert len(entries()) == 10  # default COUNT is 10
    assert ids(entries("COUNT", "3")) == ["1-0", "2-0", "3-0"]
    assert len(entries("COUNT", "0")) == 15  # 0 means all
    assert len(entries("COUNT", "-1")) == 10  # negative falls back to the default


def test_xinfo_errors(r):
    r.xadd("s", {"f": "v"}, id="1-1")
    with pytest.raises(redis.ResponseError, match=r"^no such key$"):
        r.xinfo_stream("missing")
    with pytest.raises(redis.ResponseError, match=NOT_INTEGER):
        r.execute_command("XINFO", "STREAM", "s", "FULL", "COUNT", "abc")
    with pytest.raises(redis.ResponseError,
                       match=r"^unknown subcommand or wrong number of arguments for 'STREAM'\. Try XINFO HELP\.$"):
        r.execute_command("XINFO", "STREAM", "s", "FOO")
    with pytest.raises(redis.ResponseError, match=r"^unknown subcommand 'FOO'\. Try XINFO HELP\.$"):
        r.execute_command("XINFO", "FOO", "s")
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'xinfo' command$"):
        r.execute_command("XINFO")


# --- XREAD (non-blocking) -----------------------------------------------------------------------------------------

def test_xread_returns_entries_after_the_given_id(four):
    assert four.xread({"s": "1-1"}) == [["s", [("1-2", {"b": "x"}), ("2-1", {"c": "x"}), ("3-0", {"d": "x"})]]]
    assert four.xread({"s": "0"}, count=2) == [["s", [("1-1", {"a": "x"}), ("1-2", {"b": "x"})]]]
    assert ids(four.xread({"s": "2"})[0][1]) == ["2-1", "3-0"]  # 2 means 2-0


def test_xread_several_streams_skips_those_without_news(four):
    four.xadd("t", {"t": "1"}, id="5-0")
    reply = four.xread({"s": "2-1", "t": "0", "missing": "0"})
    assert reply == [["s", [("3-0", {"d": "x"})]], ["t", [("5-0", {"t": "1"})]]]
    assert four.xread({"s": "3-0", "t": "5-0"}) == []


def test_xread_count_applies_per_stream(four):
    four.xadd("t", {"t": "1"}, id="5-0")
    four.xadd("t", {"t": "2"}, id="6-0")
    reply = four.xread({"s": "0", "t": "0"}, count=1)
    assert reply == [["s", [("1-1", {"a": "x"})]], ["t", [("5-0", {"t": "1"})]]]
    assert len(four.execute_command("XREAD", "COUNT", "0", "STREAMS", "s", "0")[0][1]) == 4


def test_xread_nothing_new_is_null(four, raw):
    connection = raw()
    assert connection.call("XREAD", "STREAMS", "s", "$") == b"*-1\r\n"
    assert connection.call("XREAD", "STREAMS", "s", "3-0") == b"*-1\r\n"
    assert connection.call("XREAD", "STREAMS", "missing", "0") == b"*-1\r\n"
    connection.call("HELLO", "3")
    assert connection.call("XREAD", "STREAMS", "s", "$") == b"_\r\n"


def test_xread_reply_bytes_resp2_and_resp3(four, raw):
    connection = raw()
    entry = b"*1\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$1\r\nd\r\n$1\r\nx\r\n"
    assert connection.call("XREAD", "STREAMS", "s", "2-1") == b"*1\r\n*2\r\n$1\r\ns\r\n" + entry
    connection.call("HELLO", "3")
    assert connection.call("XREAD", "STREAMS", "s", "2-1") == b"%1\r\n$1\r\ns\r\n" + entry


def test_xread_errors(four):
    cases = [
        (("STREAMS", "s"), r"^wrong number of arguments for 'xread' command$"),
        (("STREAMS", "s", "t", "0"),
         r"^Unbalanced 'xread' list of streams: for each stream key an ID, '\+', or '\$' must be specified\.$"),
        (("COUNT", "abc", "STREAMS", "s", "0"), NOT_INTEGER),
        (("STREAMS", "s", "abc"), INVALID_ID),
        (("BLOCK", "-1", "STREAMS", "s", "0"), r"^timeout is negative$"),
        (("BLOCK", "abc", "STREAMS", "s", "0"), r"^timeout is not an integer or out of range$"),
        (("FOO", "STREAMS", "s", "0"), r"^syntax error$"),
        (("s", "0", "1"), r"^syntax error$"),
    ]
    for args, error in cases:
        with pytest.raises(redis.ResponseError, match=error):
            four.execute_command("XREAD", *args)


@pytest.mark.rill_only
def test_xread_plus_reads_last_entry(four, raw):
    """Redis 7.4+: `+` as the id reads the last entry of each non-empty stream; Redis 7.0 rejects `+` as an
    invalid stream ID."""
    four.xadd("t", {"t": "1"}, id="5-0")
    reply = four.execute_command("XREAD", "STREAMS", "s", "t", "missing", "+", "+", "+")
    # redis-py parses each entry into an (id, fields) pair.
    assert reply == [["s", [("3-0", {"d": "x"})]], ["t", [("5-0", {"t": "1"})]]]
    assert raw().call("XREAD", "STREAMS", "missing", "+") == b"*-1\r\n"


# --- XREAD BLOCK --------------------------------------------------------------------------------------------------

def test_xread_block_times_out_with_null(r, raw):
    connection = raw()
    start = time.monotonic()
    assert connection.call("XREAD", "BLOCK", "100", "STREAMS", "s", "$") == b"*-1\r\n"
    elapsed = time.monotonic() - start
    assert 0.09 <= elapsed < 2
    connection.call("HELLO", "3")
    assert connection.call("XREAD", "BLOCK", "50", "STREAMS", "s", "$") == b"_\r\n"


def test_xread_after_which_only_deleted_entries_remain_answers_null_and_blocks(r, raw):
    """Redis 8: what counts is a live entry after the id, not the stream's last ID (deleted entries, XSETID)."""
    for ms in (1, 2, 3):
        r.xadd("s", {"f": "v"}, id=f"{ms}-1")
    r.xdel("s", "2-1", "3-1")
    connection = raw()
    assert connection.call("XREAD", "STREAMS", "s", "1-1") == b"*-1\r\n"
    start = time.monotonic()
    assert connection.call("XREAD", "BLOCK", "100", "STREAMS", "s", "1-1") == b"*-1\r\n"
    assert 0.09 <= time.monotonic() - start < 2
    r.execute_command("XSETID", "s", "9-0")
    assert connection.call("XREAD", "STREAMS", "s", "1-1") == b"*-1\r\n"
    assert connection.call("XREAD", "STREAMS", "s", "0-0")[:4] == b"*1\r\n"


@pytest.mark.parametrize("overwrite", [
    [["SET", "s", "x"]],
    [["DEL", "s"], ["LPUSH", "s", "a"]],
    [["MULTI"], ["DEL", "s"], ["SADD", "s", "a"], ["EXEC"]],
])
def test_blocked_xread_keeps_waiting_while_its_key_holds_another_type(r, raw, overwrite):
    """Redis 8: a blocked XREAD (unlike XREADGROUP) is not answered WRONGTYPE when its key is overwritten; it waits
    until the key is a stream again with an entry after the id resolved when it blocked."""
    r.xadd("s", {"f": "v"}, id="5-0")
    reader = raw()
    reader.send(reader.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
    wait_for_blocked_clients(r, 1)
    writer = raw()
    for command in overwrite:
        writer.call(*command)
    writer.call("DEL", "s")
    r.xadd("s", {"f": "v"}, id="1-1")
    time.sleep(0.05)
    wait_for_blocked_clients(r, 1)
    r.xadd("s", {"g": "w"}, id="6-0")
    assert reader.read_reply() == b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n6-0\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n"
    wait_for_blocked_clients(r, 0)


def test_xread_block_returns_at_once_when_data_exists(four):
    start = time.monotonic()
    assert ids(four.xread({"s": "2-1"}, block=5000)[0][1]) == ["3-0"]
    assert time.monotonic() - start < 1


def test_xread_block_zero_is_woken_by_xadd_from_another_connection(server, r):
    reader = server.client(socket_timeout=10)
    r.xadd("s", {"old": "1"}, id="1-0")
    result = {}

    def read():
        result["reply"] = reader.xread({"s": "$"}, block=0)

    thread = threading.Thread(target=read)
    thread.start()
    wait_for_blocked_clients(r, 1)
    assert r.info("clients")["blocked_clients"] == 1
    r.xadd("s", {"new": "2"}, id="2-0")
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert result["reply"] == [["s", [("2-0", {"new": "2"})]]]
    wait_for_blocked_clients(r, 0)
    reader.close()


def test_xread_block_on_missing_key_is_woken_when_stream_is_created(r, raw):
    reader = raw()
    reader.send(reader.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "0"))
    wait_for_blocked_clients(r, 1)
    r.xadd("s", {"f": "v"}, id="1-1")
    assert reader.read_reply() == b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"


def test_xread_block_on_several_streams_returns_only_the_one_written(r, raw):
    r.xadd("a", {"f": "v"}, id="1-0")
    reader = raw()
    reader.send(reader.encode("XREAD", "BLOCK", "0", "STREAMS", "a", "b", "$", "$"))
    wait_for_blocked_clients(r, 1)
    r.xadd("b", {"g": "w"}, id="7-0")
    assert reader.read_reply() == b"*1\r\n*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$3\r\n7-0\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n"


def test_xread_block_serves_all_readers_of_a_stream(r, raw):
    readers = [raw() for _ in range(3)]
    for reader in readers:
        reader.send(reader.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
    wait_for_blocked_clients(r, 3)
    r.xadd("s", {"f": "v"}, id="1-1")
    for reader in readers:
        assert reader.read_reply().startswith(b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n")
    wait_for_blocked_clients(r, 0)


def test_blocked_readers_are_woken_in_fifo_order(r, raw):
    """Each reader pipelines RPUSH order <name> behind its XREAD; the pushes run as the readers are unblocked."""
    names = ["first", "second", "third", "fourth"]
    readers = []
    for index, name in enumerate(names):
        reader = raw()
        reader.send(reader.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$") + reader.encode("RPUSH", "order", name))
        wait_for_blocked_clients(r, index + 1)
        readers.append(reader)
    r.xadd("s", {"f": "v"}, id="1-1")
    for reader in readers:
        assert reader.read_reply().startswith(b"*1\r\n")
        assert reader.read_reply().startswith(b":")
    assert r.lrange("order", 0, -1) == names


def test_xread_block_with_count_delivers_only_count_entries(r, raw):
    reader = raw()
    reader.send(reader.encode("XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "$"))
    wait_for_blocked_clients(r, 1)
    with r.pipeline(transaction=True) as pipe:
        pipe.xadd("s", {"n": "1"}, id="1-1")
        pipe.xadd("s", {"n": "2"}, id="1-2")
        pipe.execute()
    reply = reader.read_reply()
    assert reply.count(b"$3\r\n1-") == 1


def test_deleting_the_key_does_not_wake_xread(r, raw):
    r.xadd("s", {"f": "v"}, id="5-0")
    reader = raw()
    reader.send(reader.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
    wait_for_blocked_clients(r, 1)
    r.delete("s")
    time.sleep(0.2)
    assert r.info("clients")["blocked_clients"] == 1
    r.xadd("s", {"again": "1"}, id="6-0")
    assert reader.read_reply() == (
        b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n6-0\r\n*2\r\n$5\r\nagain\r\n$1\r\n1\r\n")


def test_client_kill_of_a_blocked_reader_closes_it_and_unblocks(r, raw):
    reader = raw()
    reader_id = int(reader.call("CLIENT", "ID")[1:-2])
    reader.send(reader.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
    wait_for_blocked_clients(r, 1)
    assert r.execute_command("CLIENT", "KILL", "ID", reader_id) == 1
    assert reader.read_until_closed() == b""
    wait_for_blocked_clients(r, 0)
    r.xadd("s", {"f": "v"}, id="1-1")
    assert r.xlen("s") == 1


def test_disconnected_blocked_reader_is_forgotten(r, raw):
    reader = raw()
    reader.send(reader.encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
    wait_for_blocked_clients(r, 1)
    reader.close()
    wait_for_blocked_clients(r, 0)
    assert r.xadd("s", {"f": "v"}, id="1-1") == "1-1"


def test_xread_block_inside_multi_does_not_block(r, raw):
    connection = raw()
    connection.call("MULTI")
    assert connection.call("XREAD", "BLOCK", "0", "STREAMS", "s", "$") == b"+QUEUED\r\n"
    assert connection.call("EXEC") == b"*1\r\n*-1\r\n"


def test_xread_block_on_wrong_type_fails_at_once(r):
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match=r"^WRONGTYPE"):
        r.xread({"str": "$"}, block=0)


def test_range_replies_shorter_than_the_stream_have_exact_headers(r, raw):
    # Twelve entries, so a reply of fewer than ten has a narrower array header than the stream's length.
    for number in range(1, 13):
        r.xadd("twelve", {"n": number, "tag": "t"}, id=f"{number}-0")
    connection = raw()

    def entry(number):
        digits = str(number)
        return (f"*2\r\n${len(digits) + 2}\r\n{digits}-0\r\n*4\r\n$1\r\nn\r\n${len(digits)}\r\n{digits}\r\n"
                f"$3\r\ntag\r\n$1\r\nt\r\n").encode()

    assert connection.call("XRANGE", "twelve", "2", "4") == b"*3\r\n" + entry(2) + entry(3) + entry(4)
    assert connection.call("XREVRANGE", "twelve", "12", "11") == b"*2\r\n" + entry(12) + entry(11)
    assert connection.call("XRANGE", "twelve", "-", "+") == b"*12\r\n" + b"".join(map(entry, range(1, 13)))
    assert connection.call("XRANGE", "twelve", "13", "+") == b"*0\r\n"
    assert (connection.call("XREAD", "COUNT", "100", "STREAMS", "twelve", "10-0")
            == b"*1\r\n*2\r\n$6\r\ntwelve\r\n*2\r\n" + entry(11) + entry(12))
