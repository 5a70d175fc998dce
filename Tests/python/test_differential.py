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


# Consumer groups. Idle times and delivery/seen/active timestamps are wall-clock readings, different by nature on two
# servers: they are masked wherever they appear (XINFO CONSUMERS idle, XINFO STREAM FULL seen-time and the times in
# its PEL lists, XPENDING's extended form). `inactive` (XINFO CONSUMERS) and `active-time` (XINFO STREAM FULL) were
# added by Redis 7.2, which Rill follows; the 7.0 reference lacks them, so they are dropped before comparing.
TIME_FIELDS = {b"idle", b"seen-time"}
REDIS_7_2_FIELDS = {b"inactive", b"active-time"}
IGNORED = (b"<ignored>", None)


def mask_pel(reply):
    """A PEL list of XINFO STREAM FULL: [id, consumer, time, count] (group) or [id, time, count] (consumer)."""
    kind, items = reply
    if kind != b"*" or items is None:
        return reply
    masked = []
    for item_kind, fields in items:
        fields = list(fields)
        fields[len(fields) - 2] = IGNORED
        masked.append((item_kind, fields))
    return kind, masked


def mask_group_times(reply):
    """Recursively masks time fields of XINFO maps (RESP3 maps, or RESP2 flat arrays starting with name/length)."""
    kind, value = reply
    pairs = None
    if kind == b"%":
        pairs = value
    elif kind == b"*" and value and len(value) % 2 == 0 and value[0] in ((b"$", b"name"), (b"$", b"length")):
        pairs = list(zip(value[0::2], value[1::2]))
    if pairs is not None:
        kept = []
        for key, item in pairs:
            name = key[1]
            if name in REDIS_7_2_FIELDS:
                continue
            if name in TIME_FIELDS:
                item = IGNORED
            elif name == b"pending":
                item = mask_pel(item)
            else:
                item = mask_group_times(item)
            kept.append((key, item))
        return (kind, kept) if kind == b"%" else (kind, [element for pair in kept for element in pair])
    if kind in (b"*", b"%") and value:
        return kind, [mask_group_times(item) for item in value]
    return reply


def normalized(command, reply_bytes):
    reply = parse_reply(reply_bytes)
    name = command[0].upper()
    names = IGNORED_FIELDS.get(name)
    if names:
        reply = mask_fields(reply, names)
    if name == "XINFO":
        reply = mask_group_times(reply)
    if name == "XPENDING" and len(command) >= 6 and reply[0] == b"*" and reply[1]:
        # Extended form: [id, consumer, idle, delivery count] per entry.
        reply = (b"*", [(kind, fields[:2] + [IGNORED] + fields[3:]) for kind, fields in reply[1]])
    return reply


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
