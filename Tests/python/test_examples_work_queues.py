"""The work-queue examples the README quotes (examples/queue_*.py), each run as a reader would run it against a
Rill server of its own, so they stay correct. Rill-only: they use XADD IDMP, XGROUP SETPOLICY, maxmemory policies
and the metrics endpoint."""

import re
import subprocess
import sys

import pytest

from support import REPO_ROOT
from test_metrics import start_with_metrics

pytestmark = pytest.mark.rill_only

EXAMPLES = REPO_ROOT / "examples"


def run_example(name, server, *options):
    argv = [sys.executable, str(EXAMPLES / name), "--port", str(server.port), *options]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_idempotent_producer_adds_a_retried_job_once(start_server):
    server = start_server()
    [line] = run_example("queue_producer_idempotent.py", server)
    _, first, _, retried, _, count = line.split()
    assert first == retried and count == "1"


def test_idempotent_consumer_does_the_side_effect_once(start_server):
    server = start_server()
    assert run_example("queue_consumer_idempotent.py", server) == ["redelivered 1 ran 0 balance 30 pending 0"]


def test_poisoned_job_ends_in_the_dead_letter_stream(start_server):
    server = start_server()
    lines = run_example("queue_dead_letters.py", server)
    failed = [line for line in lines if line.startswith("failed ")]
    assert len(failed) == 3 and len(set(failed)) == 1, "three deliveries of the one poisoned job"
    poisoned = failed[0].split()[1]
    assert lines[-2:] == [f"dead {poisoned} task poison deliveries 3", "pending 0 dead-lettered 1"]


def test_backpressure_waits_and_loses_nothing(start_server):
    server = start_server()
    assert run_example("queue_backpressure.py", server) == ["enqueued 3000 waited yes lost 0"]
    client = server.client()
    assert client.xlen("jobs:bulk") <= 3000
    assert client.config_get("maxmemory") == {"maxmemory": "0"}, "the demo restores the settings"
    info = client.xinfo_groups("jobs:bulk")[0]
    assert info["entries-read"] + info["lag"] == 3000


def test_lag_alerts_read_the_metrics_endpoint(start_server):
    server, metrics_port = start_with_metrics(start_server, "--metrics-key-names", "yes")
    run_example("queue_dead_letters.py", server)
    assert run_example("queue_lag_alerts.py", server, "--metrics-port", str(metrics_port)) == [
        "ALERT dead-lettered jobs:images/resizers 1",
        "ALERT lag jobs:reports/renderers 250 > 100",
    ]


@pytest.mark.parametrize("name, function", [
    ("queue_producer_idempotent.py", "enqueue"),
    ("queue_consumer_idempotent.py", "handle_once"),
    ("queue_dead_letters.py", "run_worker"),
    ("queue_backpressure.py", "enqueue_with_backpressure"),
    ("queue_lag_alerts.py", "alerts"),
])
def test_the_readme_quotes_the_examples_as_they_are(name, function):
    source = (EXAMPLES / name).read_text()
    match = re.search(rf"^def {function}\(.*?(?=^\S)", source, re.S | re.M)
    assert match, f"{function} not found in {name}"
    readme = (REPO_ROOT / "README.md").read_text()
    assert "```python\n" + match.group(0).rstrip() + "\n```" in readme
