"""Wire protocol: inline commands, pipelining, split requests, protocol errors and request size limits."""

import socket
import time

import pytest


def error_then_close(connection, data):
    connection.send(data)
    return connection.read_until_closed()


# --- inline commands ----------------------------------------------------------------------------------------------

def test_inline_ping(raw):
    connection = raw()
    connection.send(b"PING\r\n")
    assert connection.read_reply() == b"+PONG\r\n"
    connection.send(b"PING\n")  # a bare LF ends an inline command too
    assert connection.read_reply() == b"+PONG\r\n"


def test_inline_arguments_and_quotes(raw):
    connection = raw()
    connection.send(b'ECHO "a b"\r\n')
    assert connection.read_reply() == b"$3\r\na b\r\n"
    connection.send(b"ECHO 'single quoted'\r\n")
    assert connection.read_reply() == b"$13\r\nsingle quoted\r\n"
    connection.send(b'ECHO "\\x41\\n"\r\n')
    assert connection.read_reply() == b"$2\r\nA\n\r\n"
    connection.send(b"XADD s 1-1 field value\r\nXLEN s\r\n")
    assert connection.read_reply() == b"$3\r\n1-1\r\n"
    assert connection.read_reply() == b":1\r\n"


def test_inline_empty_lines_are_ignored(raw):
    connection = raw()
    connection.send(b"\r\n\r\n   \r\nPING\r\n")
    assert connection.read_reply() == b"+PONG\r\n"


def test_inline_unbalanced_quotes_is_protocol_error(raw):
    assert error_then_close(raw(), b'SET k "unbalanced\r\n') == (
        b"-ERR Protocol error: unbalanced quotes in request\r\n")


def test_inline_request_without_newline_is_limited(raw):
    assert error_then_close(raw(), b"a" * 70_000) == b"-ERR Protocol error: too big inline request\r\n"


def test_inline_and_multibulk_mixed_in_one_send(raw):
    connection = raw()
    connection.send(b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n")
    assert [connection.read_reply() for _ in range(3)] == [b"+PONG\r\n", b"$2\r\nhi\r\n", b"+PONG\r\n"]


# --- pipelining and split requests --------------------------------------------------------------------------------

def test_pipeline_of_1000_commands_in_one_send(raw, r):
    connection = raw()
    request = b"".join(connection.encode("XADD", "s", f"{i}-1", "n", str(i)) for i in range(1, 1001))
    request += connection.encode("XLEN", "s")
    connection.send(request)
    replies = [connection.read_reply() for _ in range(1001)]
    assert replies[:3] == [b"$3\r\n1-1\r\n", b"$3\r\n2-1\r\n", b"$3\r\n3-1\r\n"]
    assert replies[999] == b"$6\r\n1000-1\r\n"
    assert replies[1000] == b":1000\r\n"
    assert r.xlen("s") == 1000


def test_pipeline_replies_keep_request_order_with_errors(raw):
    connection = raw()
    connection.send(connection.encode("PING") + connection.encode("XADD", "s", "0-0", "f", "v")
                    + connection.encode("NOSUCH") + connection.encode("ECHO", "end"))
    assert [connection.read_reply() for _ in range(4)] == [
        b"+PONG\r\n",
        b"-ERR The ID specified in XADD must be greater than 0-0\r\n",
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
        b"$3\r\nend\r\n",
    ]


def test_request_split_byte_by_byte(raw, r):
    connection = raw()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = connection.encode("XADD", "s", "7-7", "field\r\nwith crlf", "v") + b"PING\r\n"
    for index in range(len(request)):
        connection.send(request[index:index + 1])
        if index % 8 == 0:
            time.sleep(0.001)  # let some bytes arrive as separate segments
    assert connection.read_reply() == b"$3\r\n7-7\r\n"
    assert connection.read_reply() == b"+PONG\r\n"
    assert r.xrange("s") == [("7-7", {"field\r\nwith crlf": "v"})]


def test_large_value_split_across_many_reads(server):
    client = server.client(decode_responses=False)
    client.flushall()
    value = bytes(range(256)) * 20_000  # about 5 MB
    client.xadd(b"big", {b"blob": value}, id="1-1")
    assert client.xrange(b"big") == [(b"1-1", {b"blob": value})]
    client.close()


def test_empty_and_negative_multibulk_counts_are_skipped(raw):
    connection = raw()
    connection.send(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n")
    assert connection.read_reply() == b"+PONG\r\n"


def test_empty_command_name_is_unknown_command(raw):
    connection = raw()
    connection.send(b"*1\r\n$0\r\n\r\n")
    assert connection.read_reply() == b"-ERR unknown command '', with args beginning with: \r\n"


# --- protocol errors close the connection -------------------------------------------------------------------------

@pytest.mark.parametrize("data, error", [
    (b"*abc\r\n", b"invalid multibulk length"),
    (b"*\r\n", b"invalid multibulk length"),
    (b"*3000000000\r\n", b"invalid multibulk length"),
    (b"*1\r\n$abc\r\n", b"invalid bulk length"),
    (b"*1\r\n$-1\r\n", b"invalid bulk length"),
    (b"*1\r\n$\r\n", b"invalid bulk length"),
    (b"*1\r\n$9999999999999\r\n", b"invalid bulk length"),
    (b"*1\r\nx4\r\nPING\r\n", b"expected '$', got 'x'"),
    (b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n:1\r\n", b"expected '$', got ':'"),
    (b"*2\r\n*1\r\n", b"expected '$', got '*'"),
    (b"*1" + b"1" * 70_000, b"too big mbulk count string"),
])
def test_protocol_error_replies_then_closes(raw, data, error):
    assert error_then_close(raw(), data) == b"-ERR Protocol error: " + error + b"\r\n"


def test_commands_before_a_protocol_error_are_answered(raw):
    assert error_then_close(raw(), b"*1\r\n$4\r\nPING\r\n*x\r\n") == (
        b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n")


def test_protocol_error_does_not_affect_other_connections(raw):
    bystander = raw()
    assert error_then_close(raw(), b"*abc\r\n").startswith(b"-ERR Protocol error")
    assert bystander.call("PING") == b"+PONG\r\n"


def test_bulk_longer_than_proto_max_bulk_len_is_rejected(raw, config):
    config("proto-max-bulk-len", "1mb")
    assert error_then_close(raw(), b"*2\r\n$4\r\nECHO\r\n$1048577\r\n") == (
        b"-ERR Protocol error: invalid bulk length\r\n")
    connection = raw()
    value = b"a" * 1_048_576
    connection.send(b"*2\r\n$4\r\nECHO\r\n$1048576\r\n" + value + b"\r\n")
    assert connection.read_reply() == b"$1048576\r\n" + value + b"\r\n"
