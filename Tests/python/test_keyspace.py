"""Generic keyspace commands, expiry, strings, counters, lists, sets and WRONGTYPE across types."""

import time

import pytest
import redis

WRONGTYPE = r"^WRONGTYPE Operation against a key holding the wrong kind of value$"
NOT_INTEGER = r"^value is not an integer or out of range$"


def fill_one_of_each_type(r):
    r.set("string", "v")
    r.rpush("list", "a")
    r.sadd("set", "a")
    r.xadd("stream", {"f": "v"}, id="1-1")


# --- DEL / UNLINK / EXISTS / TYPE ---------------------------------------------------------------------------------

def test_del_counts_only_existing_keys(r):
    fill_one_of_each_type(r)
    assert r.delete("string", "list", "missing") == 2
    assert r.exists("string", "list") == 0
    assert r.delete("missing") == 0


def test_unlink_removes_keys_like_del(r):
    fill_one_of_each_type(r)
    assert r.unlink("set", "stream", "missing") == 2
    assert r.dbsize() == 2


def test_exists_counts_repeated_keys_each_time(r):
    r.set("a", 1)
    assert r.exists("a", "a", "b", "a") == 3
    assert r.exists("missing") == 0


def test_type_names_every_value_kind(r):
    fill_one_of_each_type(r)
    assert [r.type(k) for k in ("string", "list", "set", "stream", "missing")] == [
        "string", "list", "set", "stream", "none"]


def test_type_reply_is_simple_string(raw, r):
    r.xadd("s", {"f": "v"}, id="1-1")
    assert raw().call("TYPE", "s") == b"+stream\r\n"
    assert raw().call("TYPE", "missing") == b"+none\r\n"


def test_emptied_containers_are_deleted(r):
    r.rpush("list", "a")
    r.lpop("list")
    r.sadd("set", "a")
    r.srem("set", "a")
    assert r.exists("list", "set") == 0
    assert r.type("list") == "none"


# --- KEYS / SCAN --------------------------------------------------------------------------------------------------

def test_keys_glob_patterns(r):
    for key in ("user:1", "user:2", "user:10", "order:1", "u[x]"):
        r.set(key, 1)
    assert sorted(r.keys("*")) == sorted(["user:1", "user:2", "user:10", "order:1", "u[x]"])
    assert sorted(r.keys("user:?")) == ["user:1", "user:2"]
    assert sorted(r.keys("user:[12]*")) == ["user:1", "user:10", "user:2"]
    assert sorted(r.keys("u\\[x\\]")) == ["u[x]"]
    assert r.keys("nomatch*") == []


def test_scan_full_iteration_returns_every_key(r):
    keys = {f"key:{i}" for i in range(500)}
    with r.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.set(key, 1)
        pipe.execute()
    seen = []
    cursor = 0
    rounds = 0
    while True:
        cursor, batch = r.scan(cursor, count=50)
        seen.extend(batch)
        rounds += 1
        if cursor == 0:
            break
        assert rounds < 1000
    assert set(seen) == keys
    assert rounds > 1  # COUNT 50 over 500 keys cannot finish in one call


def test_scan_match_filters_keys(r):
    for i in range(100):
        r.set(f"a:{i}", 1)
        r.set(f"b:{i}", 1)
    found = set(r.scan_iter(match="a:*", count=10))
    assert found == {f"a:{i}" for i in range(100)}


def test_scan_type_filters_by_value_kind(r):
    fill_one_of_each_type(r)
    r.xadd("stream2", {"f": "v"}, id="1-1")
    assert set(r.scan_iter(_type="stream")) == {"stream", "stream2"}
    assert set(r.scan_iter(_type="list")) == {"list"}


def test_scan_errors(r):
    with pytest.raises(redis.ResponseError, match=r"^invalid cursor$"):
        r.execute_command("SCAN", "abc")
    with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
        r.execute_command("SCAN", "0", "COUNT", "0")
    with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
        r.execute_command("SCAN", "0", "MATCH")
    with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
        r.execute_command("SCAN", "0", "FOO", "bar")


def test_scan_reply_shape_is_cursor_bulk_then_array(raw):
    assert raw().call("SCAN", "0") == b"*2\r\n$1\r\n0\r\n*0\r\n"


# --- RENAME / RENAMENX --------------------------------------------------------------------------------------------

def test_rename_moves_value_and_ttl(r):
    r.xadd("src", {"f": "v"}, id="5-5")
    r.expire("src", 100)
    assert r.rename("src", "dst") is True
    assert r.exists("src") == 0
    assert r.xrange("dst") == [("5-5", {"f": "v"})]
    assert 0 < r.ttl("dst") <= 100


def test_rename_overwrites_existing_destination(r):
    r.set("a", "1")
    r.rpush("b", "x")
    r.rename("a", "b")
    assert r.type("b") == "string"
    assert r.get("b") == "1"


def test_rename_missing_source_is_an_error(r):
    with pytest.raises(redis.ResponseError, match=r"^no such key$"):
        r.rename("missing", "b")
    with pytest.raises(redis.ResponseError, match=r"^no such key$"):
        r.renamenx("missing", "b")


def test_rename_to_itself(r):
    r.set("a", 1)
    assert r.rename("a", "a") is True
    assert r.renamenx("a", "a") is False
    assert r.get("a") == "1"


def test_renamenx_refuses_existing_destination(r):
    r.set("a", 1)
    r.set("b", 2)
    assert r.renamenx("a", "b") is False
    assert r.renamenx("a", "c") is True
    assert r.get("c") == "1" and r.get("b") == "2"


# --- EXPIRE / TTL / PERSIST ---------------------------------------------------------------------------------------

def test_ttl_and_pttl_of_missing_and_persistent_keys(r):
    r.set("a", 1)
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    assert r.ttl("a") == -1
    assert r.pttl("a") == -1


def test_expire_and_pexpire_set_ttl(r):
    r.set("a", 1)
    assert r.expire("a", 100) is True
    assert 99 <= r.ttl("a") <= 100
    assert r.pexpire("a", 50_000) is True
    assert 49_000 < r.pttl("a") <= 50_000
    assert r.expire("missing", 10) is False


def test_expire_nx_xx_gt_lt_conditions(r):
    r.set("a", 1)
    assert r.expire("a", 10, xx=True) is False  # no TTL yet
    assert r.expire("a", 10, gt=True) is False  # no TTL counts as infinite
    assert r.expire("a", 100, nx=True) is True
    assert r.expire("a", 200, nx=True) is False
    assert r.expire("a", 50, gt=True) is False
    assert r.expire("a", 200, gt=True) is True
    assert r.expire("a", 300, lt=True) is False
    assert r.expire("a", 50, lt=True) is True
    assert r.expire("a", 40, xx=True) is True
    assert 39 <= r.ttl("a") <= 40
    r.set("b", 1)
    assert r.pexpire("b", 10_000, lt=True) is True


def test_expire_option_errors(r):
    r.set("a", 1)
    with pytest.raises(redis.ResponseError,
                       match=r"^NX and XX, GT or LT options at the same time are not compatible$"):
        r.execute_command("EXPIRE", "a", 10, "NX", "XX")
    with pytest.raises(redis.ResponseError, match=r"^GT and LT options at the same time are not compatible$"):
        r.execute_command("EXPIRE", "a", 10, "GT", "LT")
    with pytest.raises(redis.ResponseError, match=r"^Unsupported option FOO$"):
        r.execute_command("EXPIRE", "a", 10, "FOO")
    with pytest.raises(redis.ResponseError, match=NOT_INTEGER):
        r.execute_command("EXPIRE", "a", "abc")


def test_expire_with_non_positive_ttl_deletes_the_key(r):
    r.set("a", 1)
    assert r.expire("a", 0) is True
    assert r.exists("a") == 0
    r.set("b", 1)
    assert r.pexpire("b", -5) is True
    assert r.exists("b") == 0


def test_persist_removes_ttl(r):
    r.set("a", 1, ex=100)
    assert r.persist("a") is True
    assert r.ttl("a") == -1
    assert r.persist("a") is False
    assert r.persist("missing") is False


def test_set_without_keepttl_clears_the_ttl(r):
    r.set("a", 1, ex=100)
    r.set("a", 2)
    assert r.ttl("a") == -1


def test_lazy_expiry_hides_expired_key_on_access(r):
    r.set("a", 1, px=30)
    r.xadd("s", {"f": "v"}, id="1-1")
    r.pexpire("s", 30)
    time.sleep(0.1)
    assert r.get("a") is None
    assert r.exists("a", "s") == 0
    assert r.xlen("s") == 0
    assert r.type("s") == "none"


def test_active_expiry_removes_keys_without_access(r):
    for i in range(20):
        r.set(f"short:{i}", 1, px=20)
    r.set("keep", 1)
    # The active expiry cycle runs in the background; DBSIZE does not touch the expired keys.
    deadline = time.monotonic() + 5
    while r.dbsize() > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.dbsize() == 1
    assert r.info("keyspace")["db0"]["expires"] == 0


# --- GET / SET ----------------------------------------------------------------------------------------------------

def test_get_and_set_round_trip(server):
    client = server.client(decode_responses=False)
    client.flushall()
    assert client.set(b"k\x00", b"v\x00\xff") is True
    assert client.get(b"k\x00") == b"v\x00\xff"
    assert client.get(b"missing") is None
    client.close()


def test_set_nx_and_xx(r):
    assert r.set("a", 1, xx=True) is None
    assert r.set("a", 1, nx=True) is True
    assert r.set("a", 2, nx=True) is None
    assert r.set("a", 3, xx=True) is True
    assert r.get("a") == "3"


def test_set_ex_px_and_keepttl(r):
    r.set("a", 1, ex=100)
    assert 99 <= r.ttl("a") <= 100
    r.set("b", 1, px=100_000)
    assert 99_000 < r.pttl("b") <= 100_000
    r.set("b", 2, keepttl=True)
    assert 99_000 < r.pttl("b") <= 100_000
    assert r.get("b") == "2"


def test_set_get_returns_previous_value(r):
    assert r.set("a", "1", get=True) is None
    assert r.set("a", "2", get=True) == "1"
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        r.set("list", "y", get=True)
    assert r.type("list") == "list"


def test_set_option_errors(r):
    with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
        r.execute_command("SET", "a", "1", "NX", "XX")
    with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
        r.execute_command("SET", "a", "1", "EX", "10", "PX", "10")
    with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
        r.execute_command("SET", "a", "1", "KEEPTTL", "EX", "10")
    with pytest.raises(redis.ResponseError, match=r"^syntax error$"):
        r.execute_command("SET", "a", "1", "FOO")
    with pytest.raises(redis.ResponseError, match=r"^invalid expire time in 'set' command$"):
        r.execute_command("SET", "a", "1", "EX", "0")
    with pytest.raises(redis.ResponseError, match=r"^invalid expire time in 'set' command$"):
        r.execute_command("SET", "a", "1", "PX", "-1")
    with pytest.raises(redis.ResponseError, match=NOT_INTEGER):
        r.execute_command("SET", "a", "1", "EX", "abc")
    assert r.exists("a") == 0


# --- INCR / DECR --------------------------------------------------------------------------------------------------

def test_incr_family_counts(r):
    assert r.incr("n") == 1
    assert r.incrby("n", 10) == 11
    assert r.decr("n") == 10
    assert r.decrby("n", 15) == -5
    assert r.get("n") == "-5"


def test_incr_on_non_integer_value_is_an_error(r):
    r.set("f", "1.5")
    r.set("s", "abc")
    for key in ("f", "s"):
        with pytest.raises(redis.ResponseError, match=NOT_INTEGER):
            r.incr(key)
    with pytest.raises(redis.ResponseError, match=NOT_INTEGER):
        r.execute_command("INCRBY", "n", "abc")


def test_incr_overflow_is_an_error(r):
    r.set("max", "9223372036854775807")
    r.set("min", "-9223372036854775808")
    with pytest.raises(redis.ResponseError, match=r"^increment or decrement would overflow$"):
        r.incr("max")
    with pytest.raises(redis.ResponseError, match=r"^increment or decrement would overflow$"):
        r.decr("min")
    with pytest.raises(redis.ResponseError, match=r"^increment or decrement would overflow$"):
        r.decrby("max", -1)
    with pytest.raises(redis.ResponseError, match=r"^decrement would overflow$"):
        r.decrby("n", -9223372036854775808)
    with pytest.raises(redis.ResponseError, match=NOT_INTEGER):
        r.incrby("n", 9223372036854775808)
    assert r.get("max") == "9223372036854775807"


def test_incr_keeps_the_ttl(r):
    r.set("n", 1, ex=100)
    r.incr("n")
    assert 99 <= r.ttl("n") <= 100


# --- lists --------------------------------------------------------------------------------------------------------

def test_push_pop_and_range(r):
    assert r.rpush("l", "b", "c") == 2
    assert r.lpush("l", "a", "z") == 4  # each pushed to the head in turn: z a b c
    assert r.lrange("l", 0, -1) == ["z", "a", "b", "c"]
    assert r.lrange("l", 1, 2) == ["a", "b"]
    assert r.lrange("l", -2, 100) == ["b", "c"]
    assert r.lrange("l", 5, 10) == []
    assert r.llen("l") == 4
    assert r.lpop("l") == "z"
    assert r.rpop("l") == "c"
    assert r.llen("missing") == 0


def test_pop_with_count(r):
    r.rpush("l", *"abcde")
    assert r.lpop("l", 2) == ["a", "b"]
    assert r.rpop("l", 2) == ["e", "d"]
    assert r.lpop("l", 0) == []
    assert r.lpop("l", 10) == ["c"]
    assert r.exists("l") == 0


def test_pop_missing_key_replies(raw):
    connection = raw()
    assert connection.call("LPOP", "missing") == b"$-1\r\n"
    assert connection.call("RPOP", "missing", "2") == b"*-1\r\n"
    connection.call("HELLO", "3")
    assert connection.call("LPOP", "missing", "2") == b"_\r\n"


def test_pop_negative_count_is_an_error(r):
    r.rpush("l", "a")
    with pytest.raises(redis.ResponseError, match=r"^value is out of range, must be positive$"):
        r.execute_command("LPOP", "l", "-1")


# --- sets ---------------------------------------------------------------------------------------------------------

def test_set_members(r):
    assert r.sadd("s", "a", "b", "a") == 2
    assert r.sadd("s", "b", "c") == 1
    assert r.smembers("s") == {"a", "b", "c"}
    assert r.scard("s") == 3
    assert r.sismember("s", "a") == 1
    assert r.sismember("s", "x") == 0
    assert r.srem("s", "a", "x") == 1
    assert r.scard("missing") == 0
    assert r.smembers("missing") == set()


# --- WRONGTYPE ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, commands", [
    ("stream", ["GET {}", "INCR {}", "LPUSH {} x", "LRANGE {} 0 -1", "SADD {} x", "SMEMBERS {}", "SET {} x GET"]),
    ("string", ["XADD {} 1-1 f v", "XLEN {}", "XRANGE {} - +", "LLEN {}", "SCARD {}"]),
    ("list", ["GET {}", "XADD {} * f v", "XREAD STREAMS {} 0", "SISMEMBER {} x"]),
    ("set", ["GET {}", "RPOP {}", "XTRIM {} MAXLEN 1", "XINFO STREAM {}"]),
])
def test_wrongtype_across_types(r, key, commands):
    fill_one_of_each_type(r)
    for command in commands:
        with pytest.raises(redis.ResponseError, match=WRONGTYPE):
            r.execute_command(*command.format(key).split())
    assert r.dbsize() == 4
