"""RESP3 reply shapes, asserted as exact bytes where redis-py would hide the wire type."""

import re

import pytest


@pytest.fixture
def resp3(raw):
    connection = raw()
    assert connection.call("HELLO", "3").startswith(b"%7\r\n")
    return connection


def test_xinfo_stream_is_a_map(resp3):
    resp3.call("XADD", "s", "1-1", "a", "1")
    reply = resp3.call("XINFO", "STREAM", "s")
    assert reply.startswith(b"%16\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:")
    assert reply.endswith(
        b"$17\r\nlast-generated-id\r\n$3\r\n1-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n"
        b"$13\r\nentries-added\r\n:1\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n"
        b"$13\r\nidmp-duration\r\n:100\r\n$12\r\nidmp-maxsize\r\n:100\r\n$12\r\npids-tracked\r\n:0\r\n"
        b"$12\r\niids-tracked\r\n:0\r\n$10\r\niids-added\r\n:0\r\n$15\r\niids-duplicates\r\n:0\r\n$6\r\ngroups\r\n:0\r\n"
        b"$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
        b"$10\r\nlast-entry\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n")


def test_xinfo_stream_of_empty_stream_has_resp3_nulls(resp3):
    resp3.call("XADD", "s", "MAXLEN", "0", "1-1", "a", "1")
    reply = resp3.call("XINFO", "STREAM", "s")
    assert reply.startswith(b"%16\r\n")
    assert reply.endswith(b"$11\r\nfirst-entry\r\n_\r\n$10\r\nlast-entry\r\n_\r\n")


def test_xinfo_stream_full_is_a_map_with_entries_array(resp3):
    resp3.call("XADD", "s", "1-1", "a", "1")
    reply = resp3.call("XINFO", "STREAM", "s", "FULL")
    assert reply.startswith(b"%15\r\n$6\r\nlength\r\n:1\r\n")
    assert reply.endswith(
        b"$7\r\nentries\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$6\r\ngroups\r\n*0\r\n")


def test_hello_3_reply_is_a_map(raw):
    reply = raw().call("HELLO", "3")
    assert reply.startswith(b"%7\r\n$6\r\nserver\r\n")
    assert b"$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:" in reply
    assert reply.endswith(b"$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n")


def test_config_get_is_a_map(resp3):
    assert resp3.call("CONFIG", "GET", "stream-node-max-entries") == (
        b"%1\r\n$23\r\nstream-node-max-entries\r\n$3\r\n100\r\n")
    assert resp3.call("CONFIG", "GET", "no-such-parameter") == b"%0\r\n"
    reply = resp3.call("CONFIG", "GET", "stream-node-max-*")
    assert reply.startswith(b"%2\r\n")  # glob match order is unspecified
    assert b"$23\r\nstream-node-max-entries\r\n$3\r\n100\r\n" in reply
    assert b"$21\r\nstream-node-max-bytes\r\n$4\r\n4096\r\n" in reply


def test_config_get_is_a_flat_array_in_resp2(raw):
    assert raw().call("CONFIG", "GET", "stream-node-max-entries") == (
        b"*2\r\n$23\r\nstream-node-max-entries\r\n$3\r\n100\r\n")


@pytest.mark.parametrize("command, resp2, resp3", [
    (("GET", "missing"), b"$-1\r\n", b"_\r\n"),
    (("CLIENT", "GETNAME"), b"$-1\r\n", b"_\r\n"),
    (("XADD", "missing", "NOMKSTREAM", "*", "f", "v"), b"$-1\r\n", b"_\r\n"),
    (("XREAD", "STREAMS", "missing", "0"), b"*-1\r\n", b"_\r\n"),
    (("XREAD", "BLOCK", "10", "STREAMS", "missing", "$"), b"*-1\r\n", b"_\r\n"),
    (("LPOP", "missing"), b"$-1\r\n", b"_\r\n"),
    (("LPOP", "missing", "1"), b"*-1\r\n", b"_\r\n"),
    (("COMMAND", "INFO", "nosuchcommand"), b"*1\r\n$-1\r\n", b"*1\r\n_\r\n"),
])
def test_null_replies_per_protocol(raw, command, resp2, resp3):
    connection = raw()
    assert connection.call(*command) == resp2
    connection.call("HELLO", "3")
    assert connection.call(*command) == resp3


def test_xread_is_a_map_keyed_by_stream(resp3):
    resp3.call("XADD", "a", "1-1", "f", "v")
    resp3.call("XADD", "b", "2-1", "g", "w")
    assert resp3.call("XREAD", "STREAMS", "a", "b", "0", "0") == (
        b"%2\r\n$1\r\na\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
        b"$1\r\nb\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n")


def test_xrange_keeps_array_shape_in_resp3(resp3):
    resp3.call("XADD", "s", "1-1", "f", "v")
    assert resp3.call("XRANGE", "s", "-", "+") == b"*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"


def test_smembers_is_a_set(resp3):
    assert resp3.call("SMEMBERS", "missing") == b"~0\r\n"
    resp3.call("SADD", "set", "a")
    assert resp3.call("SMEMBERS", "set") == b"~1\r\n$1\r\na\r\n"


def test_info_and_client_info_are_verbatim_text(resp3):
    resp3.call("SET", "k", "v")
    info = resp3.call("INFO", "keyspace")
    # Redis 8 (and Rill) add subexpiry= (keys with expiring hash fields); 7.0 ends at avg_ttl=.
    for body in (b"txt:# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0,subexpiry=0\r\n",
                 b"txt:# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"):
        if info == b"=%d\r\n%s\r\n" % (len(body), body):
            break
    else:
        pytest.fail(f"unexpected INFO keyspace reply {info!r}")
    client_info = resp3.call("CLIENT", "INFO")
    assert client_info.startswith(b"=") and b"\r\ntxt:id=" in client_info
    # Redis 7.2+ appends lib-name= lib-ver= after resp=, 8.x then io-thread= and the tot- counters; 7.0 ends at resp=.
    assert re.search(rb" resp=3( lib-name=\S* lib-ver=\S*( io-thread=\d+ tot-net-in=\d+ tot-net-out=\d+ "
                     rb"tot-cmds=\d+)?)?\n\r\n$", client_info)


def test_redis_py_resp3_client_parses_maps(r3):
    r3.xadd("s", {"a": "1"}, id="1-1")
    info = r3.xinfo_stream("s")
    assert info["length"] == 1
    assert info["first-entry"] == ("1-1", {"a": "1"})
    assert r3.config_get("stream-node-max-entries") == {"stream-node-max-entries": "100"}
    assert r3.xread({"s": "0"}) == {"s": [[("1-1", {"a": "1"})]]}
