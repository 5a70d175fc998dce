"""The soak script (Benchmarks/soak.py) runs end to end on a short duration and judges what it measured.

The full run is ten minutes (BENCHMARKS.md); here the same load (producers, crashing group workers, blocked and
slow readers, a reconnect storm past maxclients) runs for about 20 s against the binary under test, with a lenient
p99 factor because a debug build on a loaded machine is noisy. The data, group, descriptor and error checks are the
full run's.
"""

import csv
import subprocess
import sys

from support import REPO_ROOT, server_binary

SECONDS = 20


def run_soak(tmp_path, *extra):
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "Benchmarks" / "soak.py"), "--rill", server_binary(),
         "--duration", str(SECONDS), "--warmup", "8", "--bucket", "4", "--storm-every", "5",
         "--crash-probability", "0.05", "--csv", str(tmp_path / "soak.csv"), "--png", str(tmp_path / "soak.png"),
         *extra],
        capture_output=True, text=True, timeout=SECONDS + 400)


def test_soak_script_passes_its_criteria_on_a_short_run(tmp_path):
    result = run_soak(tmp_path, "--p99-factor", "100")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "PASSED" in result.stdout
    counts = {name: int(value) for name, value in
              (line.rsplit(": ", 1) for line in result.stdout.splitlines() if ": " in line) if value.isdigit()}
    # The load did what the run is about: a storm past maxclients, worker crashes, a group drained.
    assert counts.get("storms", 0) >= 1, result.stdout
    assert counts.get("storm refusals", 0) > 0, result.stdout
    assert counts.get("expected: group worker crash (socket reset, batch left pending)", 0) > 0, result.stdout
    assert counts.get("delivered", 0) == counts.get("acknowledged", -1) > 0, result.stdout
    with open(tmp_path / "soak.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) >= SECONDS // 4 - 1
    assert all(float(row["rss_mb"]) > 0 and int(row["xadd_ops"]) > 0 for row in rows)


def test_soak_script_fails_when_a_criterion_is_not_met(tmp_path):
    # No RSS growth allowed and a negative slack would need RSS to shrink by more than 8 MB: the run must fail and
    # say why, not pass whatever it measured.
    result = run_soak(tmp_path, "--p99-factor", "100", "--rss-growth", "-0.9")
    assert result.returncode == 1, result.stdout[-4000:]
    assert "RSS grew" in result.stdout
