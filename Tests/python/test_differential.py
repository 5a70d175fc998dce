"""Differential test: the same deterministic command list sent to a real redis-server and to the server under test.

The reference is env REDIS_SERVER_BIN, else `redis-server` on PATH; without one the tests skip. Scenarios live in
scenarios/*.txt (one shell-quoted command per line). Both servers start fresh for each scenario and protocol, so
configuration changes inside a scenario never leak. Replies are compared exactly (type, bytes, nesting), except for
the fields listed in IGNORED_FIELDS.
"""

import os
import shlex
import shutil
from pathlib import Path

import pytest

from support import ServerProcess, parse_reply

SCENARIO_DIR = Path(__file__).parent / "scenarios"

# Intended differences, compared as "<ignored>" on both sides:
IGNORED_FIELDS = {
    # The product name and version are Rill's own; the client id counts earlier connections, and the readiness
    # probes before the scenario may connect a different number of times to each server.
    "HELLO": {b"server", b"version", b"id"},
    # Rill indexes nodes in its own sorted structure, not a radix tree, so it cannot mirror Redis's count of rax
    # nodes (which depends on key prefix compression). radix-tree-keys (the number of nodes) is still compared.
    "XINFO": {b"radix-tree-nodes"},
}


def reference_binary():
    return os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")


def scenario_commands(path: Path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line, shlex.split(line)


def mask_fields(reply, names):
    """Replace the values of the named fields in a map (RESP3) or flat key/value array (RESP2)."""
    kind, value = reply
    if kind == b"%":
        return kind, [(key, (b"<ignored>", None) if key[1] in names else item) for key, item in value]
    if kind == b"*" and value:
        masked = list(value)
        for index in range(0, len(masked) - 1, 2):
            if masked[index][0] == b"$" and masked[index][1] in names:
                masked[index + 1] = (b"<ignored>", None)
        return kind, masked
    return reply


def normalized(command, reply_bytes):
    reply = parse_reply(reply_bytes)
    names = IGNORED_FIELDS.get(command[0].upper())
    return mask_fields(reply, names) if names else reply


@pytest.fixture
def reference_and_subject(binary):
    reference = reference_binary()
    if not reference or not os.path.exists(reference):
        pytest.skip("no reference redis-server: set REDIS_SERVER_BIN or put redis-server on PATH")
    servers = [ServerProcess(reference).start(), ServerProcess(binary).start()]
    yield servers
    for server in servers:
        server.stop()


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("scenario", sorted(p.name for p in SCENARIO_DIR.glob("*.txt")))
def test_replies_match_redis(reference_and_subject, scenario, protocol):
    reference, subject = (server.raw(timeout=10) for server in reference_and_subject)
    setup = [["HELLO", str(protocol)], ["FLUSHALL"]]
    steps = [(0, " ".join(command), command) for command in setup]
    steps += list(scenario_commands(SCENARIO_DIR / scenario))
    differences = []
    for number, line, command in steps:
        expected, actual = reference.call(*command), subject.call(*command)
        if normalized(command, expected) != normalized(command, actual):
            differences.append(f"{scenario}:{number}: {line}\n    redis: {expected!r}\n    subject: {actual!r}")
    reference.close()
    subject.close()
    assert not differences, f"{len(differences)} of {len(steps)} replies differ:\n" + "\n".join(differences)
