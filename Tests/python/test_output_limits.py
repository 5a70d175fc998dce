"""Output back-pressure and client memory: a client that pipelines without reading is paused (its requests wait and
its socket is not read) instead of making the server build every reply; `client-output-buffer-limit` for the normal,
replica and pubsub classes; `maxmemory-clients` side by side with Redis 8.2.3; the CLIENT LIST / INFO memory fields;
the limits on requests before AUTH and on the query buffer, against Redis 8.2.3's bytes."""

from __future__ import annotations

import os
import socket
import statistics
import time

import pytest

from support import RawConnection, ServerProcess, is_redis_server, reference_redis_binary

XRANGE_ALL = RawConnection.encode("XRANGE", "big", "-", "+")
OUTPUT_LIMIT_LOG = "scheduled to be closed ASAP for overcoming of output buffer limits."
MB = 1024 * 1024

pytestmark = pytest.mark.rill_only


def fill_stream(client, entries, value_size=100):
    pipe = client.pipeline(transaction=False)
    for _ in range(entries):
        pipe.xadd("big", {"f": "v" * value_size})
    pipe.execute()


def resident_bytes(server) -> int:
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


def client_fields(client, client_id):
    line = client.execute_command("CLIENT", "LIST", "ID", client_id)
    line = line.decode() if isinstance(line, bytes) else line
    return dict(field.split("=", 1) for field in line.strip().split(" "))


def raw_client_id(connection: RawConnection) -> int:
    return int(connection.call("CLIENT", "ID")[1:-2])


def wait_for(condition, message, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def log_text(server) -> str:
    with open(server.log_path, errors="replace") as log:
        return log.read()


# --- read pausing ----------------------------------------------------------------------------------------------------

def test_client_pipelining_without_reading_is_paused_while_others_are_served(start_server):
    """The issue's case: 2000 pipelined `XRANGE big - +` of about 1.2 MB each from a socket that never reads. The
    server runs a few, stops reading the client, and its RSS stays within README's bound (2 x the 1mb threshold plus
    one reply of unsent output, here also the 78 KB of requests read); another client's PINGs answer within 200 ms."""
    server = start_server()
    r = server.client(decode_responses=False)
    fill_stream(r, 1200, value_size=1000)
    reply_size = len(server.raw().call("XRANGE", "big", "-", "+"))
    assert reply_size > MB
    baseline = resident_bytes(server)

    slow = server.raw()
    slow_id = raw_client_id(slow)
    slow.send(XRANGE_ALL * 2000)
    latencies, peak = [], baseline
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        started = time.monotonic()
        assert r.ping()
        latencies.append(time.monotonic() - started)
        peak = max(peak, resident_bytes(server))
        if peak - baseline > 256 * MB:  # the unbounded behaviour: stop before it takes the machine
            server.process.kill()
            pytest.fail(f"RSS grew by {(peak - baseline) // MB} MB with a client that does not read")
        time.sleep(0.05)

    fields = client_fields(r, slow_id)
    unsent = int(fields["obl"]) + int(fields["omem"])
    print(f"\nslow reader: RSS {baseline / MB:.1f} MB -> peak {peak / MB:.1f} MB; PING ms median "
          f"{statistics.median(latencies) * 1000:.2f} worst {[round(x * 1000, 1) for x in sorted(latencies)[-3:]]} "
          f"(first {[round(x * 1000, 1) for x in latencies[:4]]}) over {len(latencies)}; "
          f"commands run {fields['tot-cmds']}, unsent {unsent}, tot-mem {fields['tot-mem']}")
    assert int(fields["tot-cmds"]) < 100, "the pipeline should wait, not run to its end"
    assert 0 < unsent <= 2 * MB + reply_size
    assert int(fields["oll"]) >= 1 and fields["events"] == "rw"
    assert int(fields["tot-mem"]) >= unsent
    assert peak - baseline <= 8 * MB
    assert statistics.median(latencies) < 0.2
    assert sorted(latencies)[-2] < 0.2, f"PINGs slower than 200 ms (one outlier allowed): {sorted(latencies)[-3:]}"
    clients = r.info("clients")
    assert clients["client_recent_max_output_buffer"] >= unsent
    assert r.info("memory")["mem_clients_normal"] >= unsent

    # Reading resumes the pipeline where it stopped.
    ran_before = int(fields["tot-cmds"])
    for _ in range(ran_before + 3):
        assert slow.read_reply().startswith(b"*1200\r\n")
    wait_for(lambda: int(client_fields(r, slow_id)["tot-cmds"]) > ran_before + 3, "the pipeline did not resume")


def test_pause_threshold_is_configurable_and_zero_turns_it_off(start_server):
    server = start_server("--client-output-pause-threshold", "0")
    r = server.client()
    assert r.config_get("client-output-pause-threshold") == {"client-output-pause-threshold": "0"}
    fill_stream(r, 2000)
    slow = server.raw()
    slow_id = raw_client_id(slow)
    slow.send(XRANGE_ALL * 40)
    # Without pausing every request runs, whatever the client reads (Redis' behaviour).
    wait_for(lambda: int(client_fields(r, slow_id)["tot-cmds"]) == 41, "the pipeline should run to its end")
    r.config_set("client-output-pause-threshold", "2mb")
    assert r.config_get("client-output-pause-threshold") == {"client-output-pause-threshold": str(2 * MB)}
    with pytest.raises(Exception, match="argument must be a memory value"):
        r.config_set("client-output-pause-threshold", "-1")


# --- client-output-buffer-limit ----------------------------------------------------------------------------------

def test_normal_client_past_the_hard_limit_is_closed_and_logged(start_server):
    """With pausing off, the normal class's hard limit is what stops a client that does not read, as in Redis."""
    server = start_server("--client-output-pause-threshold", "0",
                          "--client-output-buffer-limit", "normal 1mb 0 0")
    r = server.client()
    fill_stream(r, 2000)  # about 300 KB per XRANGE
    slow = server.raw()
    slow_id = raw_client_id(slow)
    slow.send(XRANGE_ALL * 200)
    slow.read_until_closed(timeout=15)
    assert r.info("stats")["client_output_buffer_limit_disconnections"] == 1
    line = next(line for line in log_text(server).splitlines() if OUTPUT_LIMIT_LOG in line)
    assert f"Client id={slow_id} addr=127.0.0.1:" in line and " flags=N " in line
    assert r.ping()


def test_normal_client_past_the_soft_limit_for_long_enough_is_closed(start_server):
    """Paused, the slow client keeps about the threshold unsent: past a 256kb soft limit for more than a second, the
    cron closes it."""
    server = start_server("--client-output-buffer-limit", "normal 0 256kb 1")
    r = server.client()
    fill_stream(r, 2000)
    slow = server.raw()
    started = time.monotonic()
    slow.send(XRANGE_ALL * 200)
    wait_for(lambda: r.info("stats")["client_output_buffer_limit_disconnections"] == 1,
             "the soft limit did not close the client")
    assert time.monotonic() - started >= 1.0
    slow.read_until_closed(timeout=15)


def test_replica_that_does_not_read_is_cut_but_not_for_its_snapshot(start_server):
    """A replica's snapshot does not count against `client-output-buffer-limit replica` (Redis sends it apart): a
    replica with a 16 MB snapshot unread under a 1mb limit stays; once it stops reading, the stream after it gets it cut
    with Redis' log line."""
    server = start_server("--client-output-buffer-limit", "replica 1mb 0 0")
    r = server.client(decode_responses=False)
    pipe = r.pipeline(transaction=False)
    for _ in range(16000):  # incompressible: a 16 MB snapshot, more than the kernel's socket buffers hold
        pipe.xadd("big", {"f": os.urandom(1000)})
    pipe.execute()
    replica = server.raw(timeout=15)
    # A small receive window: what the replica does not read stays in the server, not in the kernel's buffers.
    replica.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert replica.call("REPLCONF", "listening-port", "9999") == b"+OK\r\n"
    assert replica.call("REPLCONF", "capa", "psync2") == b"+OK\r\n"
    replica.send(RawConnection.encode("PSYNC", "?", "-1"))
    assert replica.read_reply().startswith(b"+FULLRESYNC")
    # The snapshot waits in the socket unread; it alone does not close the replica (the cron checks every 100 ms).
    wait_for(lambda: "Synchronization with replica" in log_text(server), "the snapshot was not sent")
    time.sleep(0.5)
    assert r.info("replication")["connected_slaves"] == 1
    assert r.info("stats")["client_output_buffer_limit_disconnections"] == 0
    pipe = r.pipeline(transaction=False)
    for _ in range(100):
        pipe.xadd("big", {"f": "w" * 100_000})
    pipe.execute()
    wait_for(lambda: r.info("replication")["connected_slaves"] == 0, "the replica was not cut")
    assert r.info("stats")["client_output_buffer_limit_disconnections"] == 1
    line = next(line for line in log_text(server).splitlines() if OUTPUT_LIMIT_LOG in line)
    assert " flags=S " in line and " cmd=psync " in line


# --- maxmemory-clients, side by side with Redis 8.2.3 ------------------------------------------------------------

@pytest.fixture(params=["rill", "redis"])
def eviction_server(request, binary):
    if request.param == "redis":
        process = ServerProcess(reference_redis_binary(), ["--maxmemory-clients", "2mb"]).start()
    else:
        # Pausing off: the client keeps all it asked for, as in Redis, so eviction is what acts.
        process = ServerProcess(binary, ["--maxmemory-clients", "2mb",
                                         "--client-output-pause-threshold", "0"]).start()
    yield process
    process.stop()


def test_maxmemory_clients_evicts_the_largest_client_and_spares_no_evict(eviction_server):
    server = eviction_server
    observer = server.client()
    observer.execute_command("CLIENT", "NO-EVICT", "ON")
    fill_stream(observer, 2000)
    bystander = server.raw()
    assert bystander.call("PING") == b"+PONG\r\n"

    hog = server.raw()
    # A small receive window: the unread replies stay in the server, not in the kernel's buffers (Redis writes as
    # it goes).
    hog.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog_id = raw_client_id(hog)
    hog.send(XRANGE_ALL * 40)  # about 12 MB unread
    wait_for(lambda: observer.info("stats")["evicted_clients"] == 1, "the client holding the most was not evicted")
    ids = lambda: {int(line.split(" ", 1)[0][3:]) for line in observer.execute_command("CLIENT", "LIST").splitlines()}
    wait_for(lambda: hog_id not in ids(), "the evicted client is still listed")
    assert bystander.call("PING") == b"+PONG\r\n"  # only the largest went
    assert f"Evicting client: id={hog_id} " in log_text(server)

    keeper = server.raw()
    keeper.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert keeper.call("CLIENT", "NO-EVICT", "ON") == b"+OK\r\n"
    keeper_id = raw_client_id(keeper)
    keeper.send(XRANGE_ALL * 40)
    # Over the limit with nothing evictable but the small bystander: it goes, the no-evict clients stay.
    assert bystander.read_until_closed(timeout=15) == b""
    assert observer.info("stats")["evicted_clients"] == 2
    fields = client_fields(observer, keeper_id)
    assert "e" in fields["flags"] and int(fields["tot-mem"]) > 2 * MB
    # The evicted client's replies are not read: with its small window the kernel would trickle them for minutes.


def test_maxmemory_clients_accepts_sizes_and_percentages_as_redis(r, config):
    config("maxmemory-clients", "0")
    for value, shown in [("10%", "10%"), ("1kb", "1024"), ("100%", "100%"), ("0", "0")]:
        assert r.config_set("maxmemory-clients", value) is True
        assert r.config_get("maxmemory-clients") == {"maxmemory-clients": shown}
    with pytest.raises(Exception, match="percentage argument must be less or equal to 100"):
        r.config_set("maxmemory-clients", "101%")
    with pytest.raises(Exception, match="argument must be a memory or percent value"):
        r.config_set("maxmemory-clients", "-5")


# --- limits on requests, against Redis 8.2.3 -----------------------------------------------------------------------

def transcript(server, data: bytes) -> tuple[bytes, bool]:
    """What the server answers to `data` until it closes the connection or stays silent for half a second, and
    whether it closed it."""
    connection = server.raw(timeout=0.5)
    connection.send(data)
    received = b""
    try:
        while True:
            chunk = connection.sock.recv(65536)
            if not chunk:
                return received, True
            received += chunk
    except TimeoutError:
        return received, False
    except ConnectionResetError:  # closed with our bytes unread
        return received, True
    finally:
        connection.close()


UNAUTHENTICATED_CASES = [
    b"*11\r\n",
    b"*10\r\n",
    b"*11\r\n$4\r\nPING",
    b"*1\r\n$16385\r\n",
    b"*1\r\n$16384\r\n",
    b"*2\r\n$4\r\nPING\r\n$16385\r\n",
    b"*3000000000\r\n",
    b"*1\r\n$600000000\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*11\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n" + b"a" * 20000 + b"\r\n",
    b"PING " + b"x" * 20000 + b"\r\n",
]


@pytest.fixture(scope="module")
def password_pair():
    """Rill and Redis 8.2.3, both with `requirepass secret` (Rill logging protocol errors, at verbose as Redis)."""
    from support import server_binary
    rill = ServerProcess(server_binary(), ["--requirepass", "secret", "--loglevel", "verbose"]).start()
    redis_server = ServerProcess(reference_redis_binary(), ["--requirepass", "secret"]).start()
    yield rill, redis_server
    rill.stop()
    redis_server.stop()


@pytest.mark.parametrize("data", UNAUTHENTICATED_CASES, ids=lambda data: repr(data[:24]))
def test_requests_before_auth_are_limited_as_redis(password_pair, data):
    rill, redis_server = password_pair
    assert transcript(rill, data) == transcript(redis_server, data)


def test_unauthenticated_limit_is_logged(password_pair):
    rill, _ = password_pair
    assert transcript(rill, b"*12\r\n") == (b"-ERR Protocol error: unauthenticated multibulk length\r\n", True)
    assert "unauthenticated multibulk length" in log_text(rill)


@pytest.fixture(scope="module")
def limits_pair():
    """Rill and Redis 8.2.3 with the smallest query buffer limit they accept and a 2mb bulk limit."""
    from support import server_binary
    directives = ["--client-query-buffer-limit", "1mb", "--proto-max-bulk-len", "2mb"]
    rill = ServerProcess(server_binary(), directives).start()
    redis_server = ServerProcess(reference_redis_binary(), directives).start()
    yield rill, redis_server
    rill.stop()
    redis_server.stop()


@pytest.mark.parametrize("data", [
    # A bulk within both limits: answered.
    b"*2\r\n$4\r\nECHO\r\n$1000000\r\n" + b"a" * 1_000_000 + b"\r\n",
    # Over proto-max-bulk-len: the protocol error, before any payload.
    b"*2\r\n$4\r\nECHO\r\n$2097153\r\n",
    # Over INT_MAX arguments.
    b"*2147483648\r\n",
    # Within proto-max-bulk-len, but its bytes pile up past client-query-buffer-limit: closed without a reply.
    b"*2\r\n$4\r\nECHO\r\n$2000000\r\n" + b"a" * 1_500_000,
], ids=["bulk-within-limits", "bulk-over-proto-max-bulk-len", "multibulk-over-int-max", "query-buffer-over-limit"])
def test_request_limits_match_redis(limits_pair, data):
    rill, redis_server = limits_pair
    assert transcript(rill, data) == transcript(redis_server, data)


def test_query_buffer_limit_is_counted_and_logged(limits_pair):
    rill, _ = limits_pair
    assert transcript(rill, b"*2\r\n$4\r\nECHO\r\n$2000000\r\n" + b"a" * 1_500_000) == (b"", True)
    assert rill.client().info("stats")["client_query_buffer_limit_disconnections"] >= 1
    assert "reached max query buffer length" in log_text(rill)
