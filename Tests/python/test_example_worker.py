"""examples/worker.py, the worker the README quotes, run as a reader would run it: it must drain and acknowledge a
stream, recover a dead consumer's entries, resume its own pending entries after a restart, and accept an existing
group (BUSYGROUP)."""

import re
import subprocess
import sys

from support import REPO_ROOT

WORKER = REPO_ROOT / "examples" / "worker.py"
README = REPO_ROOT / "README.md"
STREAM, GROUP = "orders", "billing"


def run_worker(server, consumer, *options):
    argv = [sys.executable, str(WORKER), "--port", str(server.port), "--stream", STREAM, "--group", GROUP,
            "--consumer", consumer, "--count", "50", "--block-ms", "100", "--exit-when-drained", *options]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    handled = [line.split()[1] for line in lines if line.startswith("handled ")]
    return handled, lines[-1]


def test_example_worker_drains_and_recovers_a_dead_consumer(server, r):
    handled, summary = run_worker(server, "w1")
    assert handled == [] and summary == "drained: 0 entries handled"
    assert r.exists(STREAM) and r.xinfo_groups(STREAM)[0]["name"] == GROUP, "MKSTREAM and the group were not created"

    with r.pipeline(transaction=False) as pipe:
        for number in range(1, 301):
            pipe.xadd(STREAM, {"order_id": str(number), "amount": str(number * 7 % 100)}, id=f"{number}-0")
        pipe.execute()
    # A worker that read 40 entries and died before acknowledging them.
    assert len(r.xreadgroup(GROUP, "dead", {STREAM: ">"}, count=40)[0][1]) == 40

    handled, summary = run_worker(server, "w1", "--claim-idle-ms", "200")
    assert sorted(handled, key=lambda i: int(i.split("-")[0])) == [f"{n}-0" for n in range(1, 301)]
    assert summary == "drained: 300 entries handled"
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    consumers = {c["name"]: c["pending"] for c in r.xinfo_consumers(STREAM, GROUP)}
    assert consumers == {"dead": 0, "w1": 0}

    # A second run finds the group (BUSYGROUP is not an error) and nothing left to do.
    assert run_worker(server, "w2") == ([], "drained: 0 entries handled")


def test_example_worker_resumes_its_own_pending_entries(server, r):
    with r.pipeline(transaction=False) as pipe:
        for number in range(1, 21):
            pipe.xadd(STREAM, {"order_id": str(number)}, id=f"{number}-0")
        pipe.execute()
    r.xgroup_create(STREAM, GROUP, "0")
    # w1 crashed holding 1-0 ... 10-0; one of them was deleted from the stream meanwhile.
    r.xreadgroup(GROUP, "w1", {STREAM: ">"}, count=10)
    r.xdel(STREAM, "5-0")

    # Restarted under the same name with a claim delay it never reaches: its own history comes first.
    argv = [sys.executable, str(WORKER), "--port", str(server.port), "--stream", STREAM, "--group", GROUP,
            "--consumer", "w1", "--count", "4", "--block-ms", "100", "--exit-when-drained"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:10] == [f"handled {n}-0 {{'order_id': '{n}'}}" if n != 5 else "handled 5-0 {}"
                          for n in range(1, 11)]
    assert lines[-1] == "drained: 20 entries handled"
    assert r.xpending(STREAM, GROUP)["pending"] == 0


def test_readme_quotes_the_example_worker_verbatim():
    readme = README.read_text()
    section = readme.split("## Consumer groups: a worker you can copy", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the README section should quote the worker in one python block"
    source = WORKER.read_text()
    # Top-level chunks (separated by two blank lines) must each appear in the file unchanged.
    for chunk in blocks[0].strip().split("\n\n\n"):
        assert chunk.strip() in source, f"README excerpt differs from examples/worker.py:\n{chunk}"
    assert "def run(r, args):" in blocks[0] and "r.xautoclaim(" in blocks[0]
