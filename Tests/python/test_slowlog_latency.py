"""SLOWLOG, LATENCY and INFO latencystats end to end, through redis-py, against Redis 8.2.3 where replies are
deterministic (errors, HELP shapes, configuration defaults and limits) and by behaviour otherwise (DEBUG SLEEP does
not exist: `slowlog-log-slower-than 0` logs every command)."""

import re
import threading
import time

import pytest
import redis

from support import ServerProcess, join_or_fail, wait_for_blocked_clients
from test_differential import reference_binary


@pytest.fixture(scope="module")
def pair(binary):
    """A Redis 8.2.3 and a Rill, each fresh, for replies that must match."""
    reference = reference_binary()
    if not reference:
        pytest.skip("no reference redis-server")
    servers = [ServerProcess(reference).start(), ServerProcess(binary).start()]
    yield servers
    for server in servers:
        server.stop()


def both(pair, *command, protocol=2):
    """The raw replies of Redis and Rill to `command`, each on a new connection."""
    replies = []
    for server in pair:
        connection = server.raw()
        if protocol == 3:
            connection.call("HELLO", "3")
        replies.append(connection.call(*command))
        connection.close()
    return replies


DETERMINISTIC = [
    ("SLOWLOG",),
    ("SLOWLOG", "NOSUCH"),
    ("SLOWLOG", "GET", "x"),
    ("SLOWLOG", "GET", "-2"),
    ("SLOWLOG", "GET", "0"),
    ("SLOWLOG", "GET", "1", "2"),
    ("SLOWLOG", "LEN", "1"),
    ("SLOWLOG", "RESET", "x"),
    ("SLOWLOG", "HELP", "x"),
    ("LATENCY",),
    ("LATENCY", "NOSUCH"),
    ("LATENCY", "HISTORY"),
    ("LATENCY", "HISTORY", "nosuch"),
    ("LATENCY", "LATEST", "x"),
    ("LATENCY", "RESET", "nosuch", "other"),
    ("LATENCY", "HISTOGRAM", "nosuch"),
    ("LATENCY", "GRAPH"),
    ("LATENCY", "GRAPH", "nosuch"),
    ("LATENCY", "DOCTOR", "x"),
    ("LATENCY", "HELP", "x"),
    ("CONFIG", "GET", "slowlog*"),
    ("CONFIG", "GET", "latency*"),
    ("CONFIG", "SET", "slowlog-log-slower-than", "-2"),
    ("CONFIG", "SET", "slowlog-log-slower-than", "x"),
    ("CONFIG", "SET", "slowlog-max-len", "-1"),
    ("CONFIG", "SET", "latency-monitor-threshold", "-1"),
    ("CONFIG", "SET", "latency-tracking", "maybe"),
    ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 abc"),
    ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 100.5"),
]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("command", DETERMINISTIC, ids=" ".join)
def test_errors_and_defaults_match_redis(pair, command, protocol):
    expected, actual = both(pair, *command, protocol=protocol)
    if command[:2] == ("CONFIG", "GET"):
        # Redis lists directives in its hash table's order.
        expected, actual = sorted(expected.split(b"\r\n")), sorted(actual.split(b"\r\n"))
    assert actual == expected


@pytest.mark.parametrize("command", ["SLOWLOG", "LATENCY"])
def test_help_has_redis_shape_and_lists_only_supported_subcommands(pair, command):
    expected, actual = both(pair, command, "HELP")
    # Same length and first line; the descriptions are Rill's own words.
    assert actual.split(b"\r\n")[:2] == expected.split(b"\r\n")[:2]
    assert actual.endswith(b"+HELP\r\n+    Print this help.\r\n")
    listed = {line[1:].split(b" ")[0] for line in actual.split(b"\r\n")[2:] if line.startswith(b"+") and
              not line.startswith(b"+ ")}
    subcommands = {entry.split(b"|")[1].upper() for entry in re.findall(rb"\$\d+\r\n([a-z]+\|[a-z-]+)",
                                                                        pair[1].raw().call("COMMAND", "INFO", command))}
    assert listed == subcommands


def test_slowlog_records_every_command_with_zero_threshold(r, config):
    config("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.client_setname("logger")
    long_value = "v" * 200
    r.set("key", long_value)
    r.rpush("list", *range(40))
    entries = r.execute_command("SLOWLOG", "GET", "-1")
    # Newest first; SLOWLOG RESET itself is logged after it ran.
    commands = [entry[3] for entry in entries]
    assert commands[-1] == ["SLOWLOG", "RESET"]
    rpush, set_entry = entries[0], entries[1]
    assert rpush[3][:3] == ["RPUSH", "list", "0"]
    assert len(rpush[3]) == 32 and rpush[3][-1] == "... (11 more arguments)"
    assert set_entry[3] == ["SET", "key", "v" * 128 + "... (72 more bytes)"]
    ids = [entry[0] for entry in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    for entry in entries[:2]:
        assert abs(entry[1] - time.time()) < 5
        assert entry[2] >= 0
        assert re.fullmatch(r"127\.0\.0\.1:\d+", entry[4])
        assert entry[5] == "logger"
    assert r.slowlog_len() == len(entries) + 1  # and the SLOWLOG GET
    assert len(r.execute_command("SLOWLOG", "GET")) == min(10, len(entries) + 2)  # GET -1 and LEN logged
    assert len(r.execute_command("SLOWLOG", "GET", "2")) == 2


def test_slowlog_hides_passwords_skips_exec_and_logs_queued_commands(r, config, server):
    config("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    # Raw: redis-py reconnects and retries after an AUTH error.
    connection = server.raw()
    assert connection.call("AUTH", "someone", "secret").startswith(b"-WRONGPASS")
    connection.close()
    other = server.client()
    pipe = other.pipeline(transaction=True)
    pipe.set("a", 1)
    pipe.get("a")
    pipe.execute()
    other.close()
    logged = [entry[3] for entry in r.execute_command("SLOWLOG", "GET", "-1")]
    assert ["AUTH", "(redacted)", "(redacted)"] in logged
    assert ["MULTI"] in logged and ["SET", "a", "1"] in logged and ["GET", "a"] in logged
    assert ["EXEC"] not in logged
    assert not any("secret" in argument for command in logged for argument in command)


def test_slowlog_threshold_length_and_reset(r, config):
    config("slowlog-log-slower-than", -1)
    r.slowlog_reset()
    r.set("a", 1)
    assert r.slowlog_len() == 0
    config("slowlog-log-slower-than", 10_000_000)
    r.set("a", 1)
    assert r.slowlog_len() == 0
    config("slowlog-max-len", 3)
    config("slowlog-log-slower-than", 0)
    for _ in range(10):
        r.ping()
    assert r.slowlog_len() == 3
    assert r.slowlog_reset() is True
    assert r.slowlog_len() == 1  # the RESET itself


def test_blocked_command_is_logged_when_answered(r, server, config):
    config("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    reader = server.client()
    result = {}
    thread = threading.Thread(target=lambda: result.update(reply=reader.xread({"s": "$"}, block=5000)))
    thread.start()
    wait_for_blocked_clients(r, 1)
    assert not any(entry[3][0].upper() == "XREAD" for entry in r.execute_command("SLOWLOG", "GET", "-1"))
    r.xadd("s", {"f": "v"})
    join_or_fail(thread)
    reader.close()
    xreads = [entry for entry in r.execute_command("SLOWLOG", "GET", "-1") if entry[3][0].upper() == "XREAD"]
    assert len(xreads) == 1
    # Execution time, not the wait (the writer came after at least the time to see the client blocked).
    assert xreads[0][2] < 1_000_000


def test_latency_histogram_counts_calls_in_power_of_two_buckets(r, r3):
    r.config_resetstat()
    for _ in range(5):
        r.set("k", "v")
    r.get("k")
    reply = r.execute_command("LATENCY", "HISTOGRAM", "set", "nosuch", "get")
    assert [reply[0], reply[2]] == ["set", "get"]
    fields = dict(zip(reply[1][::2], reply[1][1::2]))
    assert fields["calls"] == 5
    buckets = fields["histogram_usec"]
    bounds, cumulative = buckets[::2], buckets[1::2]
    allowed = [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16909, 33818, 67637, 135274, 270549,
               541098, 1082130]
    assert all(bound in allowed for bound in bounds) and bounds == sorted(bounds)
    assert cumulative == sorted(cumulative) and cumulative[-1] == 5
    assert len(set(cumulative)) == len(cumulative)  # only steps that add calls
    resp3 = r3.execute_command("LATENCY", "HISTOGRAM", "set")
    assert resp3["set"]["calls"] == 5 and list(resp3["set"]["histogram_usec"].values())[-1] == 5
    everything = r.execute_command("LATENCY", "HISTOGRAM")
    assert "set" in everything[::2] and "get" in everything[::2]
    container = r.execute_command("LATENCY", "HISTOGRAM", "config")
    assert "config|resetstat" in container[::2]
    r.config_resetstat()
    assert r.execute_command("LATENCY", "HISTOGRAM", "set") == []


def test_info_latencystats_shows_configured_percentiles(r, config, raw):
    connection = raw()

    def info(*sections):
        return connection.call("INFO", *sections).decode().split("\r\n", 1)[1]

    r.config_resetstat()
    r.set("k", "v")
    section = info("latencystats")
    assert section.startswith("# Latencystats\r\n")
    line = next(line for line in section.split("\r\n") if line.startswith("latency_percentiles_usec_set:"))
    assert re.fullmatch(r"latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}", line)
    config("latency-tracking-info-percentiles", "25 100")
    section = info("latencystats")
    assert re.search(r"latency_percentiles_usec_set:p25=\d+\.\d{3},p100=\d+\.\d{3}\r\n", section)
    assert "Latencystats" in info("everything")
    assert "Latencystats" not in info()
    config("latency-tracking", "no")
    r.config_resetstat()
    r.set("k", "v")
    assert r.execute_command("LATENCY", "HISTOGRAM", "set") == []


def test_latency_monitor_records_nothing_below_threshold_and_resets(r, config):
    assert r.execute_command("LATENCY", "RESET") >= 0
    config("latency-monitor-threshold", 100_000)
    r.set("k", "v")
    assert r.execute_command("LATENCY", "LATEST") == []
    assert r.execute_command("LATENCY", "HISTORY", "command") == []
    assert r.execute_command("LATENCY", "RESET", "command") == 0


def test_latency_monitor_records_slow_commands(start_server):
    server = start_server("--latency-monitor-threshold", "1")
    client = server.client()
    pipe = client.pipeline(transaction=False)
    for n in range(30000):
        pipe.xadd("s", {"n": n})
    pipe.execute()
    for _ in range(3):
        client.xrange("s")
    latest = {entry[0]: entry[1:] for entry in client.execute_command("LATENCY", "LATEST")}
    assert "command" in latest
    unix_time, last, highest = latest["command"]
    assert abs(unix_time - time.time()) < 60 and 1 <= last <= highest
    history = client.execute_command("LATENCY", "HISTORY", "command")
    assert history and all(len(sample) == 2 and sample[1] >= 1 for sample in history)
    assert max(sample[1] for sample in history) == highest
    graph = client.execute_command("LATENCY", "GRAPH", "command").split("\n")
    assert re.fullmatch(r"command - high (\d+) ms, low (\d+) ms \(all time high (\d+) ms\)", graph[0])
    assert graph[1] == "-" * 80
    assert len(graph[2]) == len(history) and any(cell in "#o_" for cell in graph[2] + graph[5])
    assert all(len(row) == len(history) for row in graph[2:7])
    doctor = client.execute_command("LATENCY", "DOCTOR")
    assert "command" in doctor and "SLOWLOG" in doctor
    assert client.execute_command("LATENCY", "RESET") == len(latest)
    assert client.execute_command("LATENCY", "LATEST") == []
    client.close()


def test_blocked_command_ended_by_client_unblock_is_logged_and_counted(r, server, config):
    config("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.config_resetstat()
    reader = server.client()
    reader_id = reader.client_id()
    thread = threading.Thread(target=lambda: reader.xread({"unblocked": "$"}, block=0))
    thread.start()
    wait_for_blocked_clients(r, 1)
    assert r.client_unblock(reader_id) is True
    join_or_fail(thread)
    reader.close()
    logged = [entry[3] for entry in r.execute_command("SLOWLOG", "GET", "-1")]
    assert ["XREAD", "BLOCK", "0", "STREAMS", "unblocked", "$"] in logged
    histogram = r.execute_command("LATENCY", "HISTOGRAM", "xread")
    assert dict(zip(histogram[1][::2], histogram[1][1::2]))["calls"] == 1
