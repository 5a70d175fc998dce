"""The high-availability example of README.md, run from the files in conf/ha/ as they are.

The files are copied as the README's commands copy them (the second replica is replica.conf with 6381 replaced by
6382, the Sentinels sentinel.conf with 26379 replaced by 26380 and 26381), then every example port is mapped to a
free one. One Rill primary, two Rill replicas and three Redis 8.2.3 Sentinels start; the test waits until every
Sentinel names the primary and knows both replicas and the other Sentinels, writes through redis-py's Sentinel
client, kills the primary with SIGKILL, and sees the Sentinels promote a replica that the client then writes to.
"""

from __future__ import annotations

import os
import re
import signal

import pytest
import redis
from redis.sentinel import Sentinel

from support import (REPO_ROOT, ConfiguredServer, free_port, is_redis_server, poll_until,
                     reference_redis_binary)

pytestmark = pytest.mark.rill_only

DEADLINE_SECONDS = 90.0
EXAMPLE = REPO_ROOT / "conf" / "ha"
PRIMARY_PORT, REPLICA_PORTS, SENTINEL_PORTS = 6380, (6381, 6382), (26379, 26380, 26381)


def poll(condition, what: str, timeout: float = DEADLINE_SECONDS):
    return poll_until(condition, what, timeout)


def example_file(name: str, readme_substitution: tuple[str, str] | None, ports: dict[int, int]) -> str:
    """conf/ha/<name> after the README's `sed "s/<a>/<b>/"`, with the example's ports replaced by the test's."""
    text = (EXAMPLE / name).read_text()
    if readme_substitution:
        text = text.replace(*readme_substitution)
    # Whole numbers only: 6380 must not match inside 26380.
    return re.sub(r"\b\d{4,5}\b", lambda number: str(ports.get(int(number[0]), number[0])), text)


def test_the_readme_high_availability_example_fails_over(binary, tmp_path):
    if is_redis_server(binary):
        pytest.skip("Rill under Sentinel")
    ports = {port: free_port() for port in (PRIMARY_PORT, *REPLICA_PORTS, *SENTINEL_PORTS)}
    started: list[ConfiguredServer] = []

    def start(server_binary: str, example_port: int, name: str, substitution=None, sentinel=False):
        process = ConfiguredServer(server_binary, port=ports[example_port],
                                   workdir=str(tmp_path / str(example_port)), sentinel=sentinel,
                                   config_text=example_file(name, substitution, ports))
        started.append(process.start())
        return process

    try:
        primary = start(binary, PRIMARY_PORT, "primary.conf")
        replicas = [start(binary, 6381, "replica.conf"), start(binary, 6382, "replica.conf", ("6381", "6382"))]
        sentinels = [start(reference_redis_binary(), port, "sentinel.conf", ("26379", str(port)), sentinel=True)
                     for port in SENTINEL_PORTS]
        for replica in replicas:
            client = replica.client()
            poll(lambda: client.info("replication")["master_link_status"] == "up", "a replica's link")
            client.close()
        watchers = [sentinel.client() for sentinel in sentinels]
        for watcher in watchers:
            poll(lambda: watcher.sentinel_get_master_addr_by_name("mymaster") == ("127.0.0.1", primary.port)
                 and len(watcher.sentinel_slaves("mymaster")) == 2
                 and len(watcher.sentinel_sentinels("mymaster")) == 2, "each Sentinel to know the whole set-up")

        # The README's client snippet.
        sentinel = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=0.5)
        writer = sentinel.master_for("mymaster", socket_timeout=0.5, decode_responses=True)
        first = writer.xadd("orders", {"item": "book"})
        assert writer.execute_command("WAIT", 2, 10000) == 2

        os.kill(primary.process.pid, signal.SIGKILL)
        primary.process.wait(timeout=10)
        replica_ports = {replica.port for replica in replicas}

        def promoted():
            host, port = watchers[0].sentinel_get_master_addr_by_name("mymaster")
            if port not in replica_ports:
                return None
            with redis.Redis(host=host, port=port, decode_responses=True) as client:
                return port if client.info("replication")["role"] == "master" else None

        new_port = poll(promoted, "a Sentinel to name a promoted replica")
        # min-replicas-to-write 1: the new primary takes writes once the other replica follows it.
        second = poll(lambda: writer.xadd("orders", {"item": "pen"}), "a write through the Sentinel client")
        with redis.Redis(port=new_port, decode_responses=True) as client:
            assert [entry_id for entry_id, _ in client.xrange("orders")] == [first, second]
        for watcher in watchers:
            watcher.close()
    finally:
        for process in reversed(started):
            process.stop()
