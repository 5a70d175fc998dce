"""MONITOR end to end: redis-cli's and redis-py's monitors see every command as Redis 8.2.3 shows it (quoting of
binary bytes, MULTI/EXEC order, redacted passwords, admin commands hidden); the same script runs against the real
Redis and the lines must match once their timestamps and client ports are masked."""

import re
import shutil
import socket
import subprocess
import time

import pytest
import redis

from support import RawConnection, ServerProcess
from test_differential import reference_binary

LINE = re.compile(rb"\+(\d+)\.(\d{6}) \[(\d+) 127\.0\.0\.1:(\d+)\] (.*)")


def run_script(port):
    """Runs a fixed script through redis-py (RESP2) while a raw socket monitors; returns the monitor's bytes."""
    monitor = socket.create_connection(("127.0.0.1", port))
    monitor.sendall(b"MONITOR\r\n")
    assert monitor.recv(5) == b"+OK\r\n"
    client = redis.Redis(port=port, protocol=2)
    pipe = client.pipeline(transaction=True)
    pipe.set("a", 1)
    pipe.get("a")
    pipe.execute()
    client.set("b", b"\x00\x01\"\\\n\r\t\x07\x08\xff '~\x7f")
    client.close()
    # Raw: redis-py reconnects and retries after an AUTH error.
    connection = RawConnection(port)
    for command in [("AUTH", "someone", "secret"), ("NOSUCH", "x"), ("GET",), ("CONFIG", "GET", "port"),
                    ("CLIENT", "ID"), ("CLIENT", "LIST"), ("SLOWLOG", "LEN"), ("HELLO", "2", "AUTH", "u", "pw"),
                    ("HELLO", "2"), ("SELECT", "3"), ("PING",), ("XREAD", "BLOCK", "50", "STREAMS", "s", "$"),
                    ("MULTI",), ("GET", "x", "y"), ("EXEC",), ("XADD", "s", "*", "f", "v"), ("MULTI",),
                    ("SET", "q", "1"), ("DISCARD",), ("CLIENT", "SETNAME", "x")]:
        connection.call(*command)
    connection.close()
    # The monitor's own commands are shown to it too.
    monitor.sendall(b"PING\r\n")
    deadline = time.time() + 5
    data = b""
    monitor.settimeout(0.3)
    while time.time() < deadline:
        try:
            chunk = monitor.recv(65536)
        except socket.timeout:
            if b'"PING"\r\n+PONG' in data or data.endswith(b'"PING"\r\n'):
                break
            continue
        if not chunk:
            break
        data += chunk
    monitor.close()
    return data


def masked(data):
    """Monitor lines with the time and the client's port masked, the replies to the monitor itself kept."""
    lines = []
    for line in data.split(b"\r\n"):
        match = LINE.fullmatch(line)
        lines.append(b"[%s] %s" % (match.group(3), match.group(5)) if match else line)
    return lines


def test_monitor_lines_match_redis(binary):
    reference = reference_binary()
    if not reference:
        pytest.skip("no reference redis-server")
    outputs = []
    for server_binary in (reference, binary):
        server = ServerProcess(server_binary).start()
        try:
            outputs.append(run_script(server.port))
        finally:
            server.stop()
    expected, actual = (masked(output) for output in outputs)
    assert b'[0] "SET" "b" "\\x00\\x01\\"\\\\\\n\\r\\t\\a\\b\\xff \'~\\x7f"' in actual
    assert b'[0] "AUTH" "(redacted)" "(redacted)"' in actual
    assert actual == expected


def test_monitor_times_are_current_and_increasing(server, r):
    monitor = server.client()
    with monitor.monitor() as stream:
        r.set("x", 1)
        r.get("x")
        first = stream.next_command()
        second = stream.next_command()
    monitor.close()
    assert first["command"] == "SET x 1" and second["command"] == "GET x"
    assert first["db"] == 0 and first["client_address"] == "127.0.0.1"
    assert abs(first["time"] - time.time()) < 5 and first["time"] <= second["time"]


def test_monitor_inside_multi_is_refused(r):
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("MONITOR")
    result = pipe.execute(raise_on_error=False)
    assert isinstance(result[0], redis.ResponseError)
    assert str(result[0]) == "MONITOR isn't allowed for DENY BLOCKING client"


def test_closed_monitor_stops_receiving_and_redis_cli_monitor_prints_lines(server, r):
    redis_cli = shutil.which("redis-cli")
    if not redis_cli:
        pytest.skip("redis-cli is not installed")
    process = subprocess.Popen([redis_cli, "-p", str(server.port), "monitor"], stdout=subprocess.PIPE)
    try:
        deadline = time.time() + 5
        while time.time() < deadline and "cmd=monitor" not in r.execute_command("CLIENT", "LIST"):
            time.sleep(0.02)
        assert "flags=O" in r.execute_command("CLIENT", "LIST")
        r.set("seen-by-cli", "1")
        r.ping()
    finally:
        time.sleep(0.2)
        process.terminate()
        output, _ = process.communicate(timeout=5)
    lines = output.decode().splitlines()
    assert lines[0] == "OK"
    assert any(re.fullmatch(r'\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "set" "seen-by-cli" "1"', line, re.I)
               for line in lines)
    # The monitor is gone: commands after it closed reach nobody, and the server still answers.
    deadline = time.time() + 5
    while time.time() < deadline and "cmd=monitor" in r.execute_command("CLIENT", "LIST"):
        time.sleep(0.02)
    assert r.ping() is True
