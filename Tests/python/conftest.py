"""End-to-end fixtures: start the server binary on a free loopback port and talk to it over TCP.

Server selection: env RILL_SERVER_BIN names the binary (default: <repo>/.build/debug/rill-server). It is
started like redis-server, `<bin> --port N --bind 127.0.0.1 [directives...]`, with a fresh temp dir as cwd.
When the binary is a real redis-server, `--save '' --appendonly no` are added so it never touches disk; the
suite is validated that way against Redis 7.0, and tests for newer Redis behaviour carry the `rill_only`
marker (skipped for redis-server).
"""

from __future__ import annotations

import os
import random
import subprocess

import pytest

from support import (LOG_TAIL_LINES, RawConnection, ServerProcess, io_engine_directives, is_redis_server,
                     server_binary)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in ServerProcess.running:
            report.sections.append(
                (f"server log {server.log_path} (port {server.port}, last {LOG_TAIL_LINES} lines)", server.log_tail())
            )


@pytest.fixture(scope="session")
def binary() -> str:
    return server_binary()


@pytest.fixture(scope="session")
def server(binary):
    process = ServerProcess(binary).start()
    yield process
    process.stop()


@pytest.fixture(scope="session", autouse=True)
def io_engine_serves(binary):
    """A pass with RILL_TEST_IO_ENGINE=X (scripts/test.sh runs the suite under nio and under io_uring) must really
    run on X: a server started as the tests start theirs reports X in INFO server, or the pass stops (an io_uring
    pass on a kernel that refuses io_uring would otherwise repeat the nio pass, the fallback passing silently)."""
    engine = os.environ.get("RILL_TEST_IO_ENGINE")
    if not engine or engine == "auto" or not io_engine_directives(binary):
        return
    process = ServerProcess(binary).start()
    try:
        serving = process.client().info("server")["io_engine"]
    finally:
        process.stop()
    if serving != engine:
        pytest.exit(f"RILL_TEST_IO_ENGINE={engine}, but the server reports io_engine:{serving} "
                    f"(see its log for why)", returncode=3)


@pytest.fixture
def r(server):
    """RESP2 client (redis-py 8 defaults to RESP3, so the protocol is pinned) on a freshly flushed server."""
    client = server.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def r3(server, r):
    """RESP3 client on the same flushed server."""
    client = server.client(protocol=3)
    yield client
    client.close()


@pytest.fixture
def raw(server, r):
    """Factory of raw socket connections to the shared server; all closed after the test."""
    connections: list[RawConnection] = []

    def connect(timeout: float = 5.0) -> RawConnection:
        connection = server.raw(timeout)
        connections.append(connection)
        return connection

    yield connect
    for connection in connections:
        connection.close()


@pytest.fixture
def start_server(binary):
    """Factory: start an extra server with custom directives (e.g. ["--requirepass", "secret"])."""
    started: list[ServerProcess] = []

    def start(*directives: str) -> ServerProcess:
        process = ServerProcess(binary, list(directives)).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def config(r):
    """CONFIG SET that is undone after the test, so the shared server keeps its defaults."""
    originals: dict[str, str] = {}

    def set_config(name: str, value) -> None:
        if name not in originals:
            originals[name] = r.config_get(name)[name]
        assert r.config_set(name, value) is True

    yield set_config
    for name, value in originals.items():
        r.config_set(name, value)


def pytest_collection_modifyitems(config, items):
    if not is_redis_server(server_binary()):
        return
    skip = pytest.mark.skip(reason="Redis 7.4+/8 behaviour; the binary under test is redis-server 7.0")
    for item in items:
        if "rill_only" in item.keywords:
            item.add_marker(skip)


class RemoteHost:
    """Another host for the servers under test: a network namespace joined to this one by a veth pair.

    `address` is this side of the pair, where a server can listen; `exchange` talks to it from the other side.
    """

    def __init__(self, namespace: str, address: str):
        self.namespace = namespace
        self.address = address

    def exchange(self, port: int, request: bytes, until: bytes | None = None) -> bytes | None:
        """Connects from the remote host to `address`:`port`, sends `request` and returns what comes back until
        `until` ends it (or the connection closes); None when the connection is refused (nothing listens there)."""
        code = ("import socket, sys\n"
                "try:\n"
                f"    s = socket.create_connection(({self.address!r}, {port}), timeout=10)\n"
                "except ConnectionRefusedError:\n"
                "    sys.exit(3)\n"
                f"s.sendall({request!r})\n"
                "data = b''\n"
                f"while not ({until!r} and data.endswith({until!r})):\n"
                "    chunk = s.recv(65536)\n"
                "    if not chunk: break\n"
                "    data += chunk\n"
                "sys.stdout.buffer.write(data)\n")
        finished = subprocess.run(["ip", "netns", "exec", self.namespace, "python3", "-c", code],
                                  capture_output=True, timeout=60)
        if finished.returncode == 3:
            return None
        assert finished.returncode == 0, finished.stderr
        return finished.stdout


def _run(*command):
    subprocess.run(command, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def remote_host():
    """A `RemoteHost` on a subnet of its own (10.231.x.0/24), torn down after the module. Needs root, as CI has."""
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root")
    suffix = f"{os.getpid() % 10000}{random.randrange(100)}"
    namespace, local_end, remote_end = f"rilltest{suffix}", f"vrl{suffix}", f"vrr{suffix}"
    subnet = f"10.231.{random.randrange(8, 250)}"
    try:
        _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", local_end, "type", "veth", "peer", "name", remote_end)
        _run("ip", "link", "set", remote_end, "netns", namespace)
        _run("ip", "addr", "add", f"{subnet}.1/24", "dev", local_end)
        _run("ip", "link", "set", local_end, "up")
        _run("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{subnet}.2/24", "dev", remote_end)
        _run("ip", "netns", "exec", namespace, "ip", "link", "set", remote_end, "up")
        yield RemoteHost(namespace, f"{subnet}.1")
    finally:
        subprocess.run(["ip", "link", "del", local_end], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=30)
