#!/usr/bin/env python3
"""Longest write round trip while BGSAVE runs on a keyspace of many keys (issue 6).

    python3 Benchmarks/bgsave_write_pause.py [--new-keys] SERVER_BINARY [...]

Starts each binary (rill-server or redis-server) on an empty folder, fills 100k one-entry streams and 100k strings
with redis-cli --pipe, then three times: SETs in a loop for 0.3 s (baseline), sends BGSAVE on a second connection
and keeps SETting (existing keys, or new ones with --new-keys) until INFO persistence says the save is over. Prints
the longest SET round trip during the save, the longest before it, and the first one after BGSAVE: the write that
pays for copy-on-write of whatever the save still shares with the event loop.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import encode_command, free_port, wait_for_pong  # noqa: E402


def connect(port):
    connection = socket.create_connection(("127.0.0.1", port))
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def call(connection, *args):
    connection.sendall(encode_command(*args))
    data = b""
    while not data.endswith(b"\r\n"):
        data += connection.recv(65536)
    return data


def measure(binary, new_keys, rounds=3):
    folder = tempfile.mkdtemp(prefix="rill-bgsave-write-")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
    try:
        wait_for_pong(port, process)
        payload = b"".join(encode_command("XADD", f"s:{i}", "1-1", "f", "v", "g", str(i)) for i in range(100_000))
        payload += b"".join(encode_command("SET", f"k:{i}", f"value-{i}") for i in range(100_000))
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=payload, capture_output=True, check=True)
        for round_number in range(rounds):
            writer, control = connect(port), connect(port)
            baseline = []
            until = time.perf_counter() + 0.3
            while time.perf_counter() < until:
                started = time.perf_counter()
                call(writer, "SET", "k:1", "x")
                baseline.append(time.perf_counter() - started)
            if b"started" not in call(control, "BGSAVE"):
                raise RuntimeError(f"{binary}: BGSAVE refused")
            during = []
            while True:
                key = f"new:{round_number}:{len(during)}" if new_keys else f"k:{len(during) % 1000}"
                started = time.perf_counter()
                call(writer, "SET", key, "x")
                during.append(time.perf_counter() - started)
                if len(during) % 50 == 0 and b"rdb_bgsave_in_progress:0" in call(control, "INFO", "persistence"):
                    break
            print(f"{os.path.basename(binary)} max_write_ms={max(during) * 1000:.2f} "
                  f"baseline_max_ms={max(baseline) * 1000:.2f} first_write_ms={during[0] * 1000:.2f} "
                  f"writes={len(during)}", flush=True)
            writer.close()
            control.close()
            time.sleep(0.3)
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(folder)


def main():
    arguments = sys.argv[1:]
    new_keys = "--new-keys" in arguments
    binaries = [argument for argument in arguments if argument != "--new-keys"]
    if not binaries:
        raise SystemExit(__doc__)
    for binary in binaries:
        measure(binary, new_keys)


if __name__ == "__main__":
    main()
