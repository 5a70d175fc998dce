"""The Prometheus endpoint (`metrics-port`): GET /metrics over HTTP, scraped with urllib as Prometheus would; where
it listens (`metrics-bind`) and whether it names keys (`metrics-key-names`)."""

import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from support import RawConnection, ServerProcess, free_port

pytestmark = pytest.mark.rill_only

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def samples(text):
    """{(name, frozenset of label pairs): value} for every sample line; HELP/TYPE comments checked for shape."""
    result = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$", line), line
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        name, labels, value = match.groups()
        result[(name, frozenset(LABEL.findall(labels or "")))] = float(value)
    return result


def value(parsed, name, **labels):
    return parsed[(name, frozenset(labels.items()))]


def start_with_metrics(start_server, *directives):
    # The metrics port is probed free like the main one; retry when another process took it meanwhile.
    for _attempt in range(3):
        port = free_port()
        try:
            return start_server("--metrics-port", str(port), *directives), port
        except pytest.fail.Exception:
            continue
    pytest.fail("could not start a server with a free metrics port")


def test_scrape_reports_streams_groups_commands_clients_and_memory(start_server):
    server, port = start_with_metrics(start_server, "--metrics-key-names", "yes")
    client = server.client()
    client.xgroup_create("orders", "billing", id="0", mkstream=True)
    client.xgroup_create("orders", "audit", id="$")
    ids = [client.xadd("orders", {"n": n, "payload": "x" * 50}) for n in range(5)]
    client.xadd("clicks", {"page": "/"})
    delivered = client.xreadgroup("billing", "w1", {"orders": ">"}, count=3)[0][1]
    client.xack("orders", "billing", delivered[0][0])
    time.sleep(0.05)

    parsed = samples(scrape(port))
    assert value(parsed, "rill_stream_length", db="0", stream="orders") == 5
    assert value(parsed, "rill_stream_length", db="0", stream="clicks") == 1
    assert value(parsed, "rill_stream_memory_bytes", db="0", stream="orders") > 5 * 50
    groups = {group["name"]: group for group in client.xinfo_groups("orders")}
    for group in ("billing", "audit"):
        labels = {"db": "0", "stream": "orders", "group": group}
        assert value(parsed, "rill_consumer_group_lag", **labels) == groups[group]["lag"]
        assert value(parsed, "rill_consumer_group_pending", **labels) == groups[group]["pending"]
    assert groups["billing"]["lag"] == 2 and groups["billing"]["pending"] == 2
    assert groups["audit"]["lag"] == 5 and groups["audit"]["pending"] == 0
    idle = value(parsed, "rill_consumer_group_oldest_pending_idle_milliseconds", db="0", stream="orders",
                 group="billing")
    assert 50 <= idle < 60_000
    assert value(parsed, "rill_consumer_group_oldest_pending_idle_milliseconds", db="0", stream="orders",
                 group="audit") == 0

    xadd_count = value(parsed, "rill_command_duration_seconds_count", command="xadd")
    assert xadd_count == 6
    assert value(parsed, "rill_command_duration_seconds_bucket", command="xadd", le="+Inf") == 6
    assert value(parsed, "rill_command_duration_seconds_count", command="xgroup|create") == 2
    assert value(parsed, "rill_command_duration_seconds_sum", command="xadd") > 0
    assert value(parsed, "rill_command_duration_seconds_count", command="xreadgroup") == 1
    # A call that blocks is timed when answered, by its attempts, not its wait (as LATENCY HISTOGRAM, which reads
    # the same histogram): 10 ms of waiting falls far above the bucket its attempts fill.
    assert client.xread({"orders": "$"}, block=10) == []
    parsed = samples(scrape(port))
    assert value(parsed, "rill_command_duration_seconds_count", command="xread") == 1
    assert value(parsed, "rill_command_duration_seconds_sum", command="xread") < 0.01
    histogram = client.execute_command("LATENCY", "HISTOGRAM", "xadd")
    xadd_calls = dict(zip(histogram[1][::2], histogram[1][1::2]))
    assert xadd_calls[b"calls" if isinstance(histogram[0], bytes) else "calls"] == xadd_count

    assert value(parsed, "rill_connected_clients") == client.info("clients")["connected_clients"]
    used = client.info("memory")["used_memory"]
    assert 0.5 * used < value(parsed, "rill_used_memory_bytes") < 2 * used
    assert value(parsed, "rill_maxmemory_bytes") == 0
    assert value(parsed, "rill_metrics_streams_omitted") == 0
    assert value(parsed, "rill_stream_acked_trimmed_entries_total") == 0

    # The endpoint follows the data: deleting the stream removes its series.
    client.delete("clicks")
    parsed = samples(scrape(port))
    assert ("rill_stream_length", frozenset({("db", "0"), ("stream", "clicks")})) not in parsed
    assert ids


def test_metrics_max_streams_exports_the_longest_streams(start_server):
    server, port = start_with_metrics(start_server, "--metrics-max-streams", "2", "--metrics-key-names", "yes")
    client = server.client()
    for name, length in (("short", 1), ("long", 30), ("middle", 10)):
        for n in range(length):
            client.xadd(name, {"n": n})
    client.select(3)
    client.xadd("other-db", {"n": 1})
    parsed = samples(scrape(port))
    exported = {dict(labels)["stream"] for (name, labels) in parsed if name == "rill_stream_length"}
    assert exported == {"long", "middle"}
    assert value(parsed, "rill_metrics_streams_omitted") == 2


def test_stream_names_are_escaped_in_labels(start_server):
    server, port = start_with_metrics(start_server, "--metrics-key-names", "yes")
    client = server.client()
    client.xadd('quote"back\\slash', {"f": "v"})
    text = scrape(port)
    assert 'rill_stream_length{db="0",stream="quote\\"back\\\\slash"} 1' in text


def test_other_paths_and_methods(start_server):
    _server, port = start_with_metrics(start_server)
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
    assert error.value.code == 404
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 405
    assert "rill_connected_clients" in scrape(port, "/metrics?name=x")


def listening_ports(pid):
    """TCP ports the process listens on, from /proc (its socket inodes matched against /proc/net/tcp*)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and inode in inodes:  # 0A = LISTEN
                    ports.add(int(local.split(":")[1], 16))
    return ports


def test_metrics_port_zero_opens_nothing(start_server):
    server = start_server()
    assert server.client().config_get("metrics-port") == {"metrics-port": "0"}
    assert listening_ports(server.process.pid) == {server.port}
    metrics_server, port = start_with_metrics(start_server)
    assert listening_ports(metrics_server.process.pid) == {metrics_server.port, port}


def test_key_names_only_when_asked_otherwise_database_totals(start_server):
    server, port = start_with_metrics(start_server)
    client = server.client()
    client.xgroup_create("secret:orders", "billing", id="0", mkstream=True)
    client.xgroup_create("secret:orders", "audit", id="$")
    for n in range(5):
        client.xadd("secret:orders", {"n": n})
    client.xadd("secret:clicks", {"page": "/"})
    client.xreadgroup("billing", "w1", {"secret:orders": ">"}, count=3)
    client.select(2)
    client.xadd("secret:db2", {"n": 1})
    assert client.config_get("metrics-key-names") == {"metrics-key-names": "no"}

    text = scrape(port)
    assert "secret" not in text and "billing" not in text and "stream=" not in text
    parsed = samples(text)
    assert value(parsed, "rill_db_streams", db="0") == 2 and value(parsed, "rill_db_streams", db="2") == 1
    assert value(parsed, "rill_db_stream_entries", db="0") == 6
    assert value(parsed, "rill_db_stream_memory_bytes", db="0") > 0
    assert value(parsed, "rill_db_consumer_groups", db="0") == 2
    assert value(parsed, "rill_db_consumer_group_lag", db="0") == 2 + 5
    assert value(parsed, "rill_db_consumer_group_pending", db="0") == 3
    assert value(parsed, "rill_db_consumer_group_dead_lettered_total", db="0") == 0
    assert ("rill_db_streams", frozenset({("db", "1")})) not in parsed  # empty databases are left out

    # CONFIG SET applies at the next scrape: per-stream and per-group series, totals still there.
    assert client.config_set("metrics-key-names", "yes")
    parsed = samples(scrape(port))
    assert value(parsed, "rill_stream_length", db="0", stream="secret:orders") == 5
    assert value(parsed, "rill_consumer_group_pending", db="0", stream="secret:orders", group="billing") == 3
    assert value(parsed, "rill_stream_length", db="2", stream="secret:db2") == 1
    assert value(parsed, "rill_db_stream_entries", db="0") == 6
    assert client.config_set("metrics-key-names", "no")
    assert "secret" not in scrape(port)


def http_get_metrics(remote_host, port):
    """GET /metrics from the remote host: the response, or None when nothing listens there."""
    return remote_host.exchange(port, b"GET /metrics HTTP/1.0\r\nHost: rill\r\n\r\n")


def refuses_locally(port):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
    except urllib.error.URLError as error:
        return isinstance(error.reason, ConnectionRefusedError)
    return False


def test_metrics_listen_on_loopback_only_by_default(remote_host, start_server):
    """The server itself listens on the remote host's link (`bind`), the metrics endpoint does not."""
    server, port = start_with_metrics(start_server, "--bind", "127.0.0.1", remote_host.address,
                                      "--protected-mode", "no")
    assert server.client().config_get("metrics-bind") == {"metrics-bind": "127.0.0.1 -::1"}
    assert remote_host.exchange(server.port, b"*1\r\n$4\r\nPING\r\n", until=b"\r\n") == b"+PONG\r\n"
    assert http_get_metrics(remote_host, port) is None
    assert "rill_connected_clients" in scrape(port)
    if os.path.exists("/proc/net/if_inet6") and " lo\n" in open("/proc/net/if_inet6").read():
        with urllib.request.urlopen(f"http://[::1]:{port}/metrics", timeout=5) as response:
            assert response.status == 200


def test_metrics_bind_chooses_the_addresses(remote_host, start_server):
    server, port = start_with_metrics(start_server, "--metrics-bind", remote_host.address)
    response = http_get_metrics(remote_host, port)
    assert response is not None and response.startswith(b"HTTP/1.0 200 OK\r\n"), response
    assert b"\r\n\r\n# HELP " in response and b"rill_connected_clients " in response
    assert refuses_locally(port)
    assert server.client().config_get("metrics-bind") == {"metrics-bind": remote_host.address}
    connection = RawConnection(server.port)
    try:
        assert connection.call("CONFIG", "SET", "metrics-bind", "127.0.0.1") == (
            b"-ERR CONFIG SET failed (possibly related to argument 'metrics-bind') - can't set immutable config\r\n")
    finally:
        connection.close()


def test_optional_addresses_are_skipped_when_unavailable(binary, start_server):
    """A '-' address this host lacks (192.0.2.1, a documentation address) is skipped, for `bind` and
    `metrics-bind` alike; without the '-' the start-up stops, naming the port."""
    server, port = start_with_metrics(start_server, "--bind", "127.0.0.1", "-192.0.2.1",
                                      "--metrics-bind", "-192.0.2.1", "127.0.0.1")
    assert server.client().ping()
    assert "rill_connected_clients" in scrape(port)
    assert "Skipping optional address 192.0.2.1" in open(server.log_path).read()
    for directives, complaint in ((["--bind", "127.0.0.1", "192.0.2.1"], "Failed listening on port"),
                                  (["--metrics-port", str(free_port()), "--metrics-bind", "192.0.2.1"],
                                   "Failed listening on metrics port")):
        process = ServerProcess(binary, directives)
        try:
            finished = subprocess.run(process.command_line(free_port()), cwd=process.workdir, capture_output=True,
                                      text=True, timeout=60)
        finally:
            process.stop()
        assert finished.returncode != 0, directives
        assert complaint in finished.stdout + finished.stderr, directives
