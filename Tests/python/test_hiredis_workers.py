"""Crash recovery with the hiredis worker (Benchmarks/drain_worker.c): several C worker processes drain a stream
through a consumer group, two are SIGKILLed while holding a batch, the survivors recover those entries with
XAUTOCLAIM. Every entry must be processed at least once and the pending-entry list must end empty.

The worker is compiled once per session with gcc and hiredis (Debian libhiredis-dev); without them the tests are
skipped, with the reason.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support import REPO_ROOT, compile_hiredis_program

WORKER_SOURCE = REPO_ROOT / "Benchmarks" / "drain_worker.c"
STREAM, GROUP = "hjobs", "hworkers"
ENTRIES = 20_000
BATCH = 50
# Survivors reclaim entries idle this long; well above a victim's per-batch delay, so a live victim keeps its batch.
CLAIM_IDLE_MS = 500
VICTIM_ACK_DELAY_MS = 20
SURVIVOR_ACK_DELAY_MS = 3
TEST_DEADLINE_SECONDS = 30


@pytest.fixture(scope="session")
def drain_worker(tmp_path_factory) -> str:
    return compile_hiredis_program(WORKER_SOURCE, tmp_path_factory.mktemp("hiredis-worker"))


def parse_summary(stdout: str) -> dict[str, float]:
    """The worker's last line: processed=N claimed=N elapsed=S start=T end=T rate=R."""
    fields = dict(part.split("=", 1) for part in stdout.strip().splitlines()[-1].split())
    return {name: float(value) for name, value in fields.items()}


def fill(r, count):
    # Pipelines of 2000: one of 20,000 was answered after redis-py's 5 s socket timeout on a loaded machine, and the
    # resent pipeline then failed on its first id.
    for first in range(1, count + 1, 2000):
        with r.pipeline(transaction=False) as pipe:
            for number in range(first, min(first + 2000, count + 1)):
                pipe.xadd(STREAM, {"job": str(number)}, id=f"{number}-0")
            pipe.execute()
    r.xgroup_create(STREAM, GROUP, "0")


def report_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    # A worker killed mid-write can leave a partial last line; complete lines are the processed ids.
    text = path.read_text()
    return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]


def consumer_pending(r, consumer) -> int:
    return next((c["pending"] for c in r.xinfo_consumers(STREAM, GROUP) if c["name"] == consumer), 0)


def test_hiredis_worker_stops_after_max_entries(server, r, drain_worker, tmp_path):
    fill(r, 1_000)
    report = tmp_path / "report"
    result = subprocess.run([drain_worker, "127.0.0.1", str(server.port), STREAM, GROUP, "solo", "100",
                             "--max-entries", "250", "--report", str(report)],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert parse_summary(result.stdout)["processed"] == 250
    assert report_lines(report) == [f"{number}-0" for number in range(1, 251)]
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert r.xinfo_groups(STREAM)[0]["last-delivered-id"] == "250-0"


def test_hiredis_worker_reports_server_errors(server, r, drain_worker):
    result = subprocess.run([drain_worker, "127.0.0.1", str(server.port), "nostream", "nogroup", "w", "10"],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 1
    assert "NOGROUP" in result.stderr


def test_hiredis_workers_recover_entries_of_killed_workers(server, r, drain_worker, tmp_path):
    fill(r, ENTRIES)
    deadline = time.monotonic() + TEST_DEADLINE_SECONDS

    def start(name, *options):
        report = tmp_path / f"{name}.ids"
        argv = [drain_worker, "127.0.0.1", str(server.port), STREAM, GROUP, name, str(BATCH), "--report",
                str(report), *options]
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return process, report

    # Survivors start only once both victims are dead: started earlier, they could drain the stream (or reclaim a
    # victim starved by a loaded machine) before the second victim holds a batch.
    victims = {name: start(name, "--ack-delay-ms", str(VICTIM_ACK_DELAY_MS)) for name in ("victim-1", "victim-2")}
    survivors = {}
    stranded = {}
    try:
        for name, (process, report) in victims.items():
            # Kill once the victim has finished a couple of batches and holds the next one unacknowledged. Stopped
            # first, it cannot acknowledge between the pending count and the kill.
            while name not in stranded:
                assert process.poll() is None, f"{name} exited early: {process.stderr.read()}"
                assert time.monotonic() < deadline, f"{name} never held a batch"
                if len(report_lines(report)) >= 2 * BATCH:
                    process.send_signal(signal.SIGSTOP)
                    held = consumer_pending(r, name)
                    if held > 0:
                        process.send_signal(signal.SIGKILL)
                        process.wait(timeout=5)
                        stranded[name] = held
                        break
                    process.send_signal(signal.SIGCONT)
                time.sleep(0.002)
        survivors = {name: start(name, "--ack-delay-ms", str(SURVIVOR_ACK_DELAY_MS), "--claim-idle-ms",
                                 str(CLAIM_IDLE_MS))
                     for name in ("survivor-1", "survivor-2", "survivor-3")}
        summaries = {}
        for name, (process, _report) in survivors.items():
            stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert process.returncode == 0, f"{name} failed ({process.returncode}): {stderr}"
            summaries[name] = parse_summary(stdout)
    finally:
        for process, _report in [*victims.values(), *survivors.values()]:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)

    assert all(count > 0 for count in stranded.values()), f"a victim held no batch when killed: {stranded}"
    processed = set()
    for _process, report in [*victims.values(), *survivors.values()]:
        processed.update(report_lines(report))
    assert processed == {f"{number}-0" for number in range(1, ENTRIES + 1)}, "entries lost or unknown ids reported"
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert sum(s["claimed"] for s in summaries.values()) >= sum(stranded.values()), "stranded entries not reclaimed"
    assert all(consumer_pending(r, name) == 0 for name in victims)
    info = r.xinfo_groups(STREAM)[0]
    assert info["lag"] == 0 and info["entries-read"] == ENTRIES
