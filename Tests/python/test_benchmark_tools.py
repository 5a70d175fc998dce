"""The benchmark tools run and report what they measured: the C probes (Benchmarks/fanout_latency.c,
Benchmarks/bgsave_pause.c) against the server under test, and the side-by-side harness (Benchmarks/compare.py) on
its two cheapest workloads against this binary and redis-server.

The probes are compiled with gcc and hiredis (skipped without them, with the reason); the harness test needs
redis-server and redis-cli (installed by scripts/install-dependencies.sh --test).
"""

import csv
import os
import shutil
import subprocess
import sys

import pytest

from support import REPO_ROOT, compile_hiredis_program


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
        [sys.executable, str(REPO_ROOT / "Benchmarks" / "compare.py"), "--rill", binary, "--only", "startup,idle-rss",
         "--rounds", "2", "--results-dir", str(tmp_path), "--no-chart", "--markdown", str(markdown)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    csv_files = [name for name in os.listdir(tmp_path) if name.endswith(".csv")]
    assert len(csv_files) == 1
    with open(tmp_path / csv_files[0]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["workload"] for row in rows] == [
        "start-up, empty, spawn to first PONG", "RSS at idle, empty, 1 s after start",
        "anonymous RSS at idle (RssAnon: without mapped binary and libraries)"]
    for row in rows:
        assert row["better"] == "lower"
        assert float(row["rill"]) > 0 and float(row["redis"]) > 0
        assert float(row["ratio_rill_over_redis"]) == pytest.approx(float(row["rill"]) / float(row["redis"]), 1e-3)
    table = markdown.read_text()
    assert "| workload | unit | Rill | Redis | Rill/Redis |" in table
    assert "start-up, empty, spawn to first PONG" in table
    assert not any(name.endswith(".png") for name in os.listdir(tmp_path))


def test_compare_harness_rejects_an_unknown_workload():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "Benchmarks" / "compare.py"), "--only", "xadd,nope"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "unknown workload(s): nope" in result.stderr
