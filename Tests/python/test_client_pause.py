"""CLIENT PAUSE/UNPAUSE, REPLY, NO-EVICT, GETREDIR, INFO/LIST fields and HELP end to end, against Redis 8.2.3 where
replies are deterministic (errors, field names and order) and by behaviour otherwise (held clients, resume order)."""

import re
import socket
import threading
import time

import pytest
import redis

from support import join_or_fail, wait_for_blocked_clients
from test_slowlog_latency import both, pair  # noqa: F401 (pair is a fixture: Redis 8.2.3 and Rill)


DETERMINISTIC = [
    ("CLIENT", "PAUSE"),
    ("CLIENT", "PAUSE", "x"),
    ("CLIENT", "PAUSE", "10", "x"),
    ("CLIENT", "PAUSE", "x", "y"),
    ("CLIENT", "PAUSE", "-5", "ALL"),
    ("CLIENT", "PAUSE", "10", "WRITE", "x"),
    ("CLIENT", "PAUSE", "9223372036854775807"),
    ("CLIENT", "UNPAUSE", "x"),
    ("CLIENT", "UNPAUSE"),
    ("CLIENT", "REPLY"),
    ("CLIENT", "REPLY", "maybe"),
    ("CLIENT", "REPLY", "ON"),
    ("CLIENT", "NO-EVICT", "x"),
    ("CLIENT", "NO-EVICT", "on"),
    ("CLIENT", "NO-EVICT", "OFF"),
    ("CLIENT", "GETREDIR"),
    ("CLIENT", "GETREDIR", "x"),
]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("command", DETERMINISTIC, ids=" ".join)
def test_errors_match_redis(pair, command, protocol):
    expected, actual = both(pair, *command, protocol=protocol)
    assert actual == expected


def field_names(line):
    return [field.split("=", 1)[0] for field in line.strip().split(" ")]


def test_client_info_fields_are_redis_8_2_s_in_its_order(pair):
    lines = []
    for server in pair:
        client = server.client()
        client.client_no_evict("on")
        lines.append(client.execute_command("CLIENT", "INFO"))
        client.close()
    expected, actual = (line.decode() if isinstance(line, bytes) else line for line in lines)
    assert field_names(actual) == field_names(expected)
    assert re.search(r" flags=e ", actual) and re.search(r" flags=e ", expected)
    assert re.search(r" tot-cmds=\d+", actual)


def test_client_info_counts_bytes_and_commands(server):
    client = server.raw()
    client.call("PING")
    client.call("PING")
    info = client.call("CLIENT", "INFO").decode()
    fields = dict(field.split("=", 1) for field in info.split("\r\n")[1].strip().split(" "))
    assert fields["tot-cmds"] == "2"  # CLIENT INFO itself is counted once it is done
    assert int(fields["tot-net-in"]) == 2 * len(b"*1\r\n$4\r\nPING\r\n") + len(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n")
    assert fields["tot-net-out"] == str(2 * len(b"+PONG\r\n"))
    assert fields["watch"] == "0" and fields["io-thread"] == "0"
    client.close()


def test_client_help_lists_exactly_the_supported_subcommands(server):
    client = server.raw()
    help_reply = client.call("CLIENT", "HELP").decode().split("\r\n")
    listed = {line[1:].split(" ")[0] for line in help_reply[2:] if line.startswith("+") and not line.startswith("+ ")}
    table = client.call("COMMAND", "INFO", "CLIENT").decode()
    supported = {name.split("|")[1].upper() for name in re.findall(r"client\|[a-z-]+", table)}
    assert listed == supported
    assert {"PAUSE", "UNPAUSE", "REPLY", "NO-EVICT", "GETREDIR"} <= listed
    client.close()


def test_client_reply_off_skip_on(server):
    connection = server.raw()
    connection.send(connection.encode("CLIENT", "REPLY", "OFF") + connection.encode("SET", "quiet", "1")
                    + connection.encode("NOSUCH") + connection.encode("CLIENT", "REPLY", "ON"))
    assert connection.read_reply() == b"+OK\r\n"
    connection.send(connection.encode("CLIENT", "REPLY", "SKIP") + connection.encode("GET", "quiet")
                    + connection.encode("GET", "quiet"))
    assert connection.read_reply() == b"$1\r\n1\r\n"
    # SKIP while OFF stays off.
    connection.send(connection.encode("CLIENT", "REPLY", "OFF") + connection.encode("CLIENT", "REPLY", "SKIP")
                    + connection.encode("PING") + connection.encode("CLIENT", "REPLY", "ON") + connection.encode("PING"))
    assert connection.read_reply() == b"+OK\r\n"
    assert connection.read_reply() == b"+PONG\r\n"
    connection.close()


def read_with_timeout(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(65536)
    except socket.timeout:
        return b""


def test_pause_write_holds_writers_in_order_and_lets_readers_through(server, r):
    r.set("k", "0")
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "g", id="0")
    assert r.client_pause(60_000, all=False) is True
    try:
        writers = []
        for value in range(3):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n%d\r\n*1\r\n$4\r\nPING\r\n" % (value + 1))
            writers.append(sock)
            wait_for_blocked_clients(r, value + 1)
        group_reader = socket.create_connection(("127.0.0.1", server.port))
        group_reader.sendall(b"*7\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$1\r\nc\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n$1\r\n>\r\n")
        wait_for_blocked_clients(r, 4)
        # Reads, PING, CONFIG and blocking reads are not held.
        assert r.get("k") == "0" and r.ping() is True and r.config_get("maxclients")
        assert r.xread({"s": "0"}) == [["s", [("1-0", {"f": "v"})]]]
        assert "flags=b" in r.execute_command("CLIENT", "LIST")
        assert all(read_with_timeout(sock, 0.1) == b"" for sock in writers)
    finally:
        assert r.execute_command("CLIENT", "UNPAUSE") == "OK"
    for sock in writers:
        reply = b""
        while reply.count(b"\r\n") < 2:
            chunk = read_with_timeout(sock, 5)
            assert chunk
            reply += chunk
        assert reply == b"+OK\r\n+PONG\r\n"
        sock.close()
    assert read_with_timeout(group_reader, 5).startswith(b"*1\r\n")
    group_reader.close()
    assert r.get("k") == "3"  # the held SETs ran in arrival order
    assert r.info("clients")["blocked_clients"] == 0


def test_pause_all_holds_every_command_until_its_deadline(server, r):
    other = server.client()
    assert r.client_pause(300) is True
    started = time.monotonic()
    assert other.ping() is True  # held until the pause ends
    assert time.monotonic() - started >= 0.2
    other.close()


def test_pause_keeps_the_later_deadline_and_takes_the_new_mode(start_server):
    # Its own server: the pause it leaves (ALL, a minute) would hold every later test's commands.
    server = start_server()
    client = server.client()
    assert client.client_pause(60_000, all=False) is True
    # A shorter pause does not shorten it; the new mode (ALL) applies.
    assert client.execute_command("CLIENT", "PAUSE", "10", "ALL") == "OK"
    time.sleep(0.1)
    holder = socket.create_connection(("127.0.0.1", server.port))
    holder.sendall(b"*1\r\n$4\r\nPING\r\n")
    assert read_with_timeout(holder, 0.2) == b""
    # Under ALL even CLIENT UNPAUSE waits, as in Redis.
    unpauser = socket.create_connection(("127.0.0.1", server.port))
    unpauser.sendall(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nUNPAUSE\r\n")
    assert read_with_timeout(unpauser, 0.2) == b""
    holder.close()
    unpauser.close()
    client.close()


def test_multi_exec_with_a_write_is_held_under_pause_write(server, r):
    assert r.client_pause(60_000, all=False) is True
    try:
        reader = server.client()
        pipe = reader.pipeline(transaction=True)
        pipe.get("x")
        assert pipe.execute() == [None]  # a read-only transaction runs
        writer = server.client()
        result = {}
        thread = threading.Thread(target=lambda: result.update(reply=writer.pipeline(transaction=True)
                                                               .set("x", "1").get("x").execute()))
        thread.start()
        wait_for_blocked_clients(r, 1)
        assert r.get("x") is None
    finally:
        r.execute_command("CLIENT", "UNPAUSE")
    join_or_fail(thread)
    assert result["reply"] == [True, "1"]
    reader.close()
    writer.close()


def test_keys_do_not_expire_during_a_pause_but_read_as_missing(r):
    r.config_resetstat()
    r.set("short", "v", px=100)
    assert r.client_pause(60_000, all=False) is True
    try:
        time.sleep(0.3)  # past the deadline, and several active-expiry cycles
        assert r.get("short") is None
        assert r.exists("short") == 0
        assert r.dbsize() == 1  # still stored: removing it would be a write
        assert r.info("stats")["expired_keys"] == 0
    finally:
        r.execute_command("CLIENT", "UNPAUSE")
    assert r.get("short") is None
    assert r.info("stats")["expired_keys"] == 1
    assert r.dbsize() == 0
