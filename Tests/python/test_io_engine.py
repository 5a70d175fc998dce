"""The client transports (`io-engine`): io_uring and SwiftNIO serve the same protocol, and io_uring falls back to
SwiftNIO where the kernel refuses it.

Every behaviour test runs under both engines; the io_uring case is skipped where this machine's kernel (or a seccomp
policy, as in some containers) refuses io_uring, which `io-engine auto` reveals. RILL_TEST_IO_URING_UNAVAILABLE=1
makes the server's ring set-up fail as such a kernel would, so the fallback is covered everywhere.
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
import redis

from support import RawConnection, ServerProcess, join_or_fail, poll_until, server_binary, wait_for_blocked_clients

pytestmark = pytest.mark.rill_only


def io_engine(r) -> str:
    return r.info("server")["io_engine"]


_io_uring_available: bool | None = None


def io_uring_available() -> bool:
    """Whether `io-engine auto` picks io_uring on this machine (checked once)."""
    global _io_uring_available
    if _io_uring_available is None:
        process = ServerProcess(server_binary(), ["--io-engine", "auto"]).start()
        try:
            _io_uring_available = io_engine(process.client()) == "io_uring"
        finally:
            process.stop()
    return _io_uring_available


@pytest.fixture(params=["nio", "io_uring"])
def engine_server(request, start_server):
    """Factory: a server on the parametrised engine, with extra directives."""
    engine = request.param
    if engine == "io_uring" and not io_uring_available():
        pytest.skip("io_uring is unavailable on this kernel (io-engine auto picked nio)")

    def start(*directives: str) -> ServerProcess:
        process = start_server("--io-engine", engine, *directives)
        assert io_engine(process.client()) == engine
        return process

    return start


# --- selection and fallback ---------------------------------------------------------------------------------------

def test_nio_is_reported_and_io_engine_is_immutable(start_server):
    server = start_server("--io-engine", "nio")
    r = server.client()
    assert io_engine(r) == "nio"
    assert r.config_get("io-engine") == {"io-engine": "nio"}
    with pytest.raises(redis.ResponseError, match="immutable"):
        r.config_set("io-engine", "io_uring")


def test_unknown_engine_is_refused_at_start_up(tmp_path):
    result = subprocess.run([server_binary(), "--port", "0", "--io-engine", "epoll"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "io-engine" in result.stderr + result.stdout


def test_auto_picks_io_uring_where_the_kernel_offers_it(start_server):
    server = start_server("--io-engine", "auto")
    r = server.client()
    assert r.config_get("io-engine") == {"io-engine": "auto"}
    assert io_engine(r) == ("io_uring" if io_uring_available() else "nio")
    log = open(server.log_path).read()
    if io_engine(r) == "nio":
        # The reason is logged, not a warning: auto asked for no engine in particular.
        assert "io_uring unavailable" in log
    assert r.ping()


def test_the_default_is_nio(start_server, monkeypatch):
    # Without the directive the suite's passes add (RILL_TEST_IO_ENGINE).
    monkeypatch.delenv("RILL_TEST_IO_ENGINE", raising=False)
    server = start_server()
    r = server.client()
    assert r.config_get("io-engine") == {"io-engine": "nio"}
    assert io_engine(r) == "nio"


@pytest.mark.parametrize("choice", ["io_uring", "auto"])
def test_refused_io_uring_falls_back_to_nio(choice, start_server, monkeypatch):
    monkeypatch.setenv("RILL_TEST_IO_URING_UNAVAILABLE", "1")
    server = start_server("--io-engine", choice)
    r = server.client()
    assert io_engine(r) == "nio"
    log = open(server.log_path).read()
    assert "io_uring unavailable" in log and "serving clients with SwiftNIO" in log
    # A warning (#) when io_uring was asked for by name, a notice (*) under auto.
    marker = " # " if choice == "io_uring" else " * "
    assert any("io_uring unavailable" in line and marker in line for line in log.splitlines())
    assert r.xadd("s", {"f": "v"})
    assert r.xlen("s") == 1


# --- the protocol under each engine -------------------------------------------------------------------------------

def test_many_clients_at_once(engine_server):
    server = engine_server()
    clients = [RawConnection(server.port, timeout=30) for _ in range(120)]
    try:
        for index, client in enumerate(clients):
            client.send(RawConnection.encode("XADD", "s", "*", "client", str(index)))
        for client in clients:
            assert client.read_reply().startswith(b"$")
        r = server.client()
        assert r.xlen("s") == 120
        assert r.info("clients")["connected_clients"] == 121
        assert sorted(int(fields["client"]) for _id, fields in r.xrange("s")) == list(range(120))
    finally:
        for client in clients:
            client.close()
    r = server.client()
    poll_until(lambda: r.info("clients")["connected_clients"] == 1, "closed clients should leave", timeout=30)


def test_deep_pipeline_in_one_write(engine_server):
    server = engine_server()
    connection = RawConnection(server.port, timeout=30)
    count = 20_000
    connection.send(b"".join(RawConnection.encode("XADD", "s", f"{i + 1}-0", "n", str(i)) for i in range(count))
                    + RawConnection.encode("XLEN", "s"))
    for i in range(count):
        assert connection.read_reply() == f"${len(str(i + 1)) + 2}\r\n{i + 1}-0\r\n".encode()
    assert connection.read_reply() == f":{count}\r\n".encode()


def test_requests_split_across_many_small_writes(engine_server):
    server = engine_server()
    connection = RawConnection(server.port, timeout=30)
    request = RawConnection.encode("XADD", "s", "*", "field", "x" * 3000) * 5
    for offset in range(0, len(request), 7):
        connection.send(request[offset:offset + 7])
    for _ in range(5):
        assert connection.read_reply().startswith(b"$")
    assert server.client().xlen("s") == 5


def test_big_replies_to_a_client_that_does_not_read_pause_it(engine_server):
    """A pipeline of large replies to a client that reads nothing stops once the unsent output passes the pause
    threshold; the server keeps serving others, and the client gets every reply once it reads."""
    server = engine_server("--client-output-pause-threshold", "1mb")
    r = server.client()
    for start in range(0, 2000, 500):
        pipe = r.pipeline(transaction=False)
        for i in range(start, start + 500):
            pipe.xadd("big", {"payload": "p" * 100, "n": str(i)})
        pipe.execute()
    slow = RawConnection(server.port, timeout=60)
    slow_id = int(slow.call("CLIENT", "ID")[1:-2])
    requests = 60
    slow.send(RawConnection.encode("XRANGE", "big", "-", "+") * requests)

    def commands_run() -> int:
        line = next(c for c in r.client_list() if int(c["id"]) == slow_id)
        return int(line["tot-cmds"])

    # The first requests run, then the connection waits for its output to drain (the sockets' buffers hold a
    # few megabytes: 60 replies of about 320 KB are well past them).
    poll_until(lambda: commands_run() >= 2, "the pipeline should start", timeout=30)
    previous = -1
    deadline = time.monotonic() + 60
    while commands_run() != previous:
        assert time.monotonic() < deadline, "the paused pipeline should stop advancing"
        previous = commands_run()
        time.sleep(1)
    assert previous < requests
    assert r.ping()
    replies = [slow.read_reply() for _ in range(requests)]
    assert all(reply == replies[0] for reply in replies)
    assert replies[0].startswith(b"*2000\r\n")
    assert commands_run() == requests + 1


def test_client_kill_closes_the_connection(engine_server):
    server = engine_server()
    r = server.client()
    victim = RawConnection(server.port, timeout=30)
    victim_id = int(victim.call("CLIENT", "ID")[1:-2])
    assert r.client_kill_filter(_id=victim_id) == 1
    assert victim.read_until_closed(timeout=30) == b""
    poll_until(lambda: all(int(c["id"]) != victim_id for c in r.client_list()), "the killed client should leave",
               timeout=30)


def test_quit_replies_then_closes(engine_server):
    server = engine_server()
    connection = RawConnection(server.port, timeout=30)
    connection.send(RawConnection.encode("PING") + RawConnection.encode("QUIT") + RawConnection.encode("PING"))
    assert connection.read_until_closed(timeout=30) == b"+PONG\r\n+OK\r\n"


def test_protocol_error_is_answered_before_closing(engine_server):
    server = engine_server()
    connection = RawConnection(server.port, timeout=30)
    connection.send(b"*1\r\n$abc\r\n")
    assert connection.read_until_closed(timeout=30).startswith(b"-ERR Protocol error")


def test_maxclients_refusal_reaches_the_client(engine_server):
    server = engine_server("--maxclients", "2")
    first = server.client()
    assert first.ping()
    second = RawConnection(server.port, timeout=30)
    assert second.call("PING") == b"+PONG\r\n"
    third = RawConnection(server.port, timeout=30)
    assert third.read_until_closed(timeout=30) == b"-ERR max number of clients reached\r\n"


def test_blocked_reader_is_woken_by_another_client(engine_server):
    server = engine_server()
    r = server.client()
    reader = server.client(socket_timeout=60)
    result = {}

    def read():
        result["reply"] = reader.xread({"s": "$"}, block=30_000)

    thread = threading.Thread(target=read)
    thread.start()
    wait_for_blocked_clients(r, 1, timeout=30)
    entry_id = r.xadd("s", {"k": "v"})
    join_or_fail(thread, timeout=30)
    assert result["reply"] == [["s", [(entry_id, {"k": "v"})]]]
    # A block that times out answers nil.
    assert reader.xread({"s": "$"}, block=100) in ([], None, {})


def test_monitor_sees_other_clients_commands(engine_server):
    server = engine_server()
    monitor = RawConnection(server.port, timeout=30)
    assert monitor.call("MONITOR") == b"+OK\r\n"
    r = server.client()
    r.xadd("watched", {"a": "1"})
    line = b""
    deadline = time.monotonic() + 30
    while b'"XADD"' not in line.upper():
        assert time.monotonic() < deadline, "MONITOR should show the XADD"
        line = monitor.read_reply()
    assert b'"watched"' in line


def test_client_list_addresses_are_the_sockets(engine_server):
    server = engine_server()
    connection = RawConnection(server.port, timeout=30)
    local = "%s:%d" % connection.sock.getsockname()
    fields = connection.call("CLIENT", "INFO").decode()
    assert f"addr={local} " in fields
    assert f"laddr=127.0.0.1:{server.port} " in fields
