"""Connection and server commands: PING, HELLO, AUTH, SELECT, CLIENT, COMMAND, INFO, CONFIG, MULTI/EXEC."""

import re
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from support import ServerProcess, unparsed

NOAUTH_HELLO = (
    b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> "
    b"option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
)
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


def pairs_to_dict(flat):
    return dict(zip(flat[0::2], flat[1::2]))


# --- PING / ECHO / QUIT -------------------------------------------------------------------------------------------

def test_ping_replies_pong_as_simple_string(raw):
    assert raw().call("PING") == b"+PONG\r\n"


def test_ping_with_argument_echoes_it_as_bulk_string(raw):
    assert raw().call("PING", "hello world") == b"$11\r\nhello world\r\n"


def test_ping_with_two_arguments_is_an_arity_error(r):
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'ping' command$"):
        r.execute_command("PING", "a", "b")


def test_echo_returns_its_argument_binary_safe(server):
    client = server.client(decode_responses=False)
    assert client.echo(b"a\x00b\r\n") == b"a\x00b\r\n"
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'echo' command$"):
        client.execute_command("ECHO")


def test_quit_replies_ok_then_closes_the_connection(raw):
    connection = raw()
    connection.send(connection.encode("QUIT"))
    assert connection.read_until_closed() == b"+OK\r\n"


# --- HELLO --------------------------------------------------------------------------------------------------------

def test_hello_2_replies_flat_array_with_server_fields(raw):
    connection = raw()
    reply = connection.call("HELLO", "2")
    assert reply.startswith(b"*14\r\n$6\r\nserver\r\n")
    client_id = int(connection.call("CLIENT", "ID")[1:-2])
    for field in (b"$7\r\nversion\r\n", b"$5\r\nproto\r\n:2\r\n", b"$2\r\nid\r\n:%d\r\n" % client_id,
                  b"$4\r\nmode\r\n$10\r\nstandalone\r\n", b"$4\r\nrole\r\n$6\r\nmaster\r\n",
                  b"$7\r\nmodules\r\n*0\r\n"):
        assert field in reply


def test_hello_3_replies_map_and_switches_the_connection_to_resp3(raw):
    connection = raw()
    reply = connection.call("HELLO", "3")
    assert reply.startswith(b"%7\r\n$6\r\nserver\r\n")
    assert b"$5\r\nproto\r\n:3\r\n" in reply
    assert b"$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n" in reply
    # RESP3 null instead of the RESP2 null bulk string.
    assert connection.call("GET", "missing") == b"_\r\n"
    assert connection.call("HELLO", "2").startswith(b"*14\r\n")
    assert connection.call("GET", "missing") == b"$-1\r\n"


def test_hello_field_order_is_server_version_proto_id_mode_role_modules(r3):
    reply = r3.execute_command("HELLO", "3")
    assert list(reply.keys()) == ["server", "version", "proto", "id", "mode", "role", "modules"]
    assert reply["proto"] == 3
    assert reply["id"] == r3.client_id()
    assert reply["modules"] == []


def test_hello_without_version_keeps_the_protocol(raw):
    connection = raw()
    assert connection.call("HELLO").startswith(b"*14\r\n")


def test_hello_unsupported_version_is_noproto(raw):
    connection = raw()
    assert connection.call("HELLO", "4") == b"-NOPROTO unsupported protocol version\r\n"
    assert connection.call("HELLO", "1") == b"-NOPROTO unsupported protocol version\r\n"


def test_hello_unknown_option_is_syntax_error(raw):
    assert raw().call("HELLO", "3", "foo") == b"-ERR Syntax error in HELLO option 'foo'\r\n"
    assert raw().call("HELLO", "2", "AUTH", "default") == b"-ERR Syntax error in HELLO option 'AUTH'\r\n"


def test_hello_setname_sets_the_client_name(raw):
    connection = raw()
    assert connection.call("HELLO", "2", "SETNAME", "worker-1").startswith(b"*14\r\n")
    assert connection.call("CLIENT", "GETNAME") == b"$8\r\nworker-1\r\n"


# --- AUTH with requirepass ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def auth_server(binary):
    process = ServerProcess(binary, ["--requirepass", "secret"]).start()
    yield process
    process.stop()


def test_commands_before_auth_get_noauth(auth_server):
    connection = auth_server.raw()
    assert connection.call("PING") == b"-NOAUTH Authentication required.\r\n"
    assert connection.call("XADD", "s", "1-1", "f", "v") == b"-NOAUTH Authentication required.\r\n"
    assert connection.call("HELLO", "3") == NOAUTH_HELLO
    assert connection.call("HELLO") == NOAUTH_HELLO
    connection.close()


def test_auth_with_wrong_password_is_wrongpass(auth_server):
    connection = auth_server.raw()
    assert connection.call("AUTH", "wrong") == WRONGPASS
    assert connection.call("AUTH", "default", "wrong") == WRONGPASS
    assert connection.call("HELLO", "2", "AUTH", "default", "wrong") == WRONGPASS
    assert connection.call("PING") == b"-NOAUTH Authentication required.\r\n"
    connection.close()


def test_auth_with_password_unlocks_the_connection(auth_server):
    connection = auth_server.raw()
    assert connection.call("AUTH", "secret") == b"+OK\r\n"
    assert connection.call("PING") == b"+PONG\r\n"
    other = auth_server.raw()
    assert other.call("AUTH", "default", "secret") == b"+OK\r\n"
    assert other.call("PING") == b"+PONG\r\n"
    connection.close()
    other.close()


def test_auth_arity_and_syntax_errors(auth_server):
    connection = auth_server.raw()
    assert connection.call("AUTH") == b"-ERR wrong number of arguments for 'auth' command\r\n"
    assert connection.call("AUTH", "a", "b", "c") == b"-ERR syntax error\r\n"
    connection.close()


def test_hello_auth_setname_authenticates_and_names_in_one_call(auth_server):
    connection = auth_server.raw()
    reply = connection.call("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "me")
    assert reply.startswith(b"%7\r\n")
    assert connection.call("CLIENT", "GETNAME") == b"$2\r\nme\r\n"
    connection.close()


def test_redis_py_password_option_works(auth_server):
    for protocol in (2, 3):
        client = auth_server.client(password="secret", protocol=protocol)
        assert client.ping() is True
        client.close()
    no_retry = Retry(NoBackoff(), 0)  # redis-py retries failed connects with backoff by default
    with pytest.raises(redis.AuthenticationError):
        auth_server.client(password="nope", retry=no_retry).ping()


def test_auth_without_configured_password_is_an_error(raw):
    assert raw().call("AUTH", "x") == (
        b"-ERR AUTH <password> called without any password configured for the default user. "
        b"Are you sure your configuration is correct?\r\n"
    )


# --- SELECT / DBSIZE / FLUSHDB / FLUSHALL -------------------------------------------------------------------------

def test_select_switches_database(server, r):
    db1 = server.client(db=1)
    db1.set("k", "one")
    assert r.get("k") is None
    assert db1.get("k") == "one"
    assert db1.dbsize() == 1
    assert r.dbsize() == 0
    db1.close()


def test_select_out_of_range_and_non_integer(r):
    with pytest.raises(redis.ResponseError, match=r"^DB index is out of range$"):
        r.execute_command("SELECT", "16")
    with pytest.raises(redis.ResponseError, match=r"^DB index is out of range$"):
        r.execute_command("SELECT", "-1")
    with pytest.raises(redis.ResponseError, match=r"^value is not an integer or out of range$"):
        r.execute_command("SELECT", "abc")


def test_flushdb_clears_only_the_selected_database(server, r):
    db2 = server.client(db=2)
    r.set("a", 1)
    r.xadd("s", {"f": "v"}, id="1-1")
    db2.set("b", 2)
    assert r.dbsize() == 2
    assert r.flushdb() is True
    assert r.dbsize() == 0
    assert db2.dbsize() == 1
    db2.close()


def test_flushall_clears_every_database(server, r):
    db3 = server.client(db=3)
    r.set("a", 1)
    db3.set("b", 2)
    assert r.flushall() is True
    assert r.dbsize() == 0
    assert db3.dbsize() == 0
    db3.close()


# --- CLIENT -------------------------------------------------------------------------------------------------------

def test_client_id_is_an_integer_unique_per_connection(server, r):
    other = server.client()
    assert isinstance(r.client_id(), int)
    assert r.client_id() != other.client_id()
    other.close()


def test_client_setname_getname(raw):
    connection = raw()
    assert connection.call("CLIENT", "GETNAME") == b"$-1\r\n"
    assert connection.call("CLIENT", "SETNAME", "reader") == b"+OK\r\n"
    assert connection.call("CLIENT", "GETNAME") == b"$6\r\nreader\r\n"
    assert connection.call("CLIENT", "SETNAME", "a b") == (
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n")


def test_client_unknown_subcommand_error(raw):
    assert raw().call("CLIENT", "NOPE") == b"-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"
    assert raw().call("CLIENT") == b"-ERR wrong number of arguments for 'client' command\r\n"


def test_client_info_describes_this_connection(r):
    r.client_setname("inspector")
    info = r.execute_command("CLIENT", "INFO")
    assert info.endswith("\n") and info.count("\n") == 1
    fields = dict(item.split("=", 1) for item in info.strip().split(" "))
    assert int(fields["id"]) == r.client_id()
    assert fields["addr"].startswith("127.0.0.1:")
    assert fields["name"] == "inspector"
    assert fields["db"] == "0"
    assert fields["cmd"] == "client|info"
    assert fields["resp"] == "2"


def test_client_list_has_one_line_per_connection(server, r):
    other = server.client(client_name="other-conn")
    other.ping()
    listing = r.execute_command("CLIENT", "LIST")
    lines = listing.strip().split("\n")
    entries = [dict(item.split("=", 1) for item in line.split(" ")) for line in lines]
    by_id = {int(e["id"]): e for e in entries}
    assert r.client_id() in by_id
    assert by_id[r.client_id()]["cmd"] == "client|list"
    assert by_id[other.client_id()]["name"] == "other-conn"
    other.close()


def test_client_kill_by_id_closes_that_connection(r, raw):
    victim = raw()
    victim_id = int(victim.call("CLIENT", "ID")[1:-2])
    assert r.execute_command("CLIENT", "KILL", "ID", victim_id) == 1
    assert victim.read_until_closed() == b""
    assert r.execute_command("CLIENT", "KILL", "ID", victim_id) == 0


def test_client_kill_by_addr_forms(r, raw):
    victim = raw()
    victim.call("CLIENT", "SETNAME", "victim")
    address = "127.0.0.1:%d" % victim.sock.getsockname()[1]
    assert r.execute_command("CLIENT", "KILL", "ADDR", address) == 1
    assert victim.read_until_closed() == b""
    # The old form answers OK, or an error when nothing matches.
    second = raw()
    second.call("PING")
    assert r.execute_command("CLIENT", "KILL", "127.0.0.1:%d" % second.sock.getsockname()[1]) == "OK"
    assert second.read_until_closed() == b""
    with pytest.raises(redis.ResponseError, match=r"^No such client$"):
        r.execute_command("CLIENT", "KILL", "1.2.3.4:5")
    assert r.execute_command("CLIENT", "KILL", "ADDR", "1.2.3.4:5") == 0


# --- COMMAND ------------------------------------------------------------------------------------------------------

def test_command_count_is_positive(r):
    count = unparsed(r, "COMMAND", "COUNT")
    assert count > 0
    assert count == len(unparsed(r, "COMMAND"))


def test_command_info_xadd_arity_flags_and_keys(r):
    [info] = unparsed(r, "COMMAND", "INFO", "xadd")
    name, arity, flags, first_key, last_key, step = info[:6]
    assert name == "xadd"
    assert arity == -5
    assert "write" in flags
    assert (first_key, last_key, step) == (1, 1, 1)


def test_command_info_readonly_and_unknown(r):
    [xrange_info, missing] = unparsed(r, "COMMAND", "INFO", "xrange", "nosuchcommand")
    assert xrange_info[0] == "xrange" and xrange_info[1] == -4 and "readonly" in xrange_info[2]
    assert missing is None


def test_command_info_arity_of_core_stream_commands(r):
    expected = {"xlen": 2, "xdel": -3, "xtrim": -4, "xread": -4, "xsetid": -3, "xrevrange": -4, "ping": -1}
    infos = unparsed(r, "COMMAND", "INFO", *expected)
    assert {info[0]: info[1] for info in infos} == expected


def test_command_docs_describes_xlen(r):
    reply = unparsed(r, "COMMAND", "DOCS", "xlen")
    docs = pairs_to_dict(reply)
    assert list(docs) == ["xlen"]
    fields = pairs_to_dict(docs["xlen"])
    assert fields["group"] == "stream"
    assert fields["since"] == "5.0.0"
    assert fields["summary"]


def test_command_list_contains_stream_commands(r):
    names = set(unparsed(r, "COMMAND", "LIST"))
    assert {"xadd", "xrange", "xread", "ping", "hello", "xinfo|stream", "config|get"} <= names
    # Subcommands are listed as container|sub; COUNT counts top-level commands only.
    assert len({name for name in names if "|" not in name}) == unparsed(r, "COMMAND", "COUNT")


# --- INFO ---------------------------------------------------------------------------------------------------------

def test_info_server_section(server, r):
    info = r.info("server")
    assert "redis_version" in info
    assert info["tcp_port"] == server.port
    assert info["process_id"] == server.process.pid
    assert info["uptime_in_seconds"] >= 0


def test_info_default_contains_standard_sections(r):
    text = unparsed(r, "INFO")
    for header in ("# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Keyspace"):
        assert header + "\r\n" in text


def test_info_unknown_section_is_empty(raw):
    assert raw().call("INFO", "nosuchsection") == b"$0\r\n\r\n"


def test_info_clients_counts_connections(server, r):
    before = r.info("clients")["connected_clients"]
    extra = server.client()
    extra.ping()
    assert r.info("clients")["connected_clients"] == before + 1
    assert r.info("clients")["blocked_clients"] == 0
    extra.close()


def test_info_memory_reports_allocator_and_usage(r):
    info = r.info("memory")
    assert "mem_allocator" in info
    assert info["used_memory"] > 0


def test_info_persistence_section(r):
    assert r.info("persistence")["loading"] == 0


def test_info_stats_counts_commands_after_resetstat(r):
    assert r.config_resetstat() is True
    for _ in range(5):
        r.ping()
    # RESETSTAT itself, 5 PINGs; the INFO being answered is not counted yet.
    assert r.info("stats")["total_commands_processed"] == 6


def test_info_counts_error_replies_by_prefix(r):
    r.set("str", "x")
    assert r.config_resetstat() is True
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError):
        r.xadd("str", {"f": "v"})
    with pytest.raises(redis.ResponseError):
        r.xadd("s", {"f": "v"}, id="0-0")
    stats = r.info("stats")
    assert stats["total_error_replies"] == 3
    errors = r.info("errorstats")
    assert errors == {"errorstat_ERR": {"count": 2}, "errorstat_WRONGTYPE": {"count": 1}}


def test_info_keyspace_counts_keys_and_expires(server, r):
    r.set("a", 1)
    r.set("b", 2, ex=100)
    r.xadd("s", {"f": "v"}, id="1-1")
    db5 = server.client(db=5)
    db5.set("x", 1)
    keyspace = r.info("keyspace")
    assert keyspace["db0"]["keys"] == 3
    assert keyspace["db0"]["expires"] == 1
    assert keyspace["db5"]["keys"] == 1
    assert keyspace["db5"]["expires"] == 0
    assert "db1" not in keyspace
    db5.close()


def test_info_keyspace_line_format(r):
    r.set("a", 1)
    text = unparsed(r, "INFO", "keyspace")
    lines = text.strip().split("\r\n")
    assert lines[0] == "# Keyspace"
    assert lines[1].startswith("db0:keys=1,expires=0,avg_ttl=")


# --- CONFIG -------------------------------------------------------------------------------------------------------

def test_config_get_glob_matches_several_parameters(r):
    assert r.config_get("stream-node-*") == {"stream-node-max-entries": "100", "stream-node-max-bytes": "4096"}


def test_config_get_several_patterns_and_no_match(r):
    reply = r.execute_command("CONFIG", "GET", "stream-node-max-entries", "maxclients")
    assert pairs_to_dict(reply) == {"stream-node-max-entries": "100", "maxclients": "10000"}
    assert r.execute_command("CONFIG", "GET", "no-such-parameter*") == []


def test_config_set_then_get(r, config):
    config("stream-node-max-entries", 7)
    assert r.config_get("stream-node-max-entries") == {"stream-node-max-entries": "7"}


def test_config_set_errors(r):
    with pytest.raises(redis.ResponseError, match=r"^Unknown option or number of arguments for CONFIG SET - 'nosuch'$"):
        r.config_set("nosuch", 1)
    with pytest.raises(redis.ResponseError, match=(
            r"^CONFIG SET failed \(possibly related to argument 'stream-node-max-entries'\) - "
            r"argument couldn't be parsed into an integer$")):
        r.config_set("stream-node-max-entries", "abc")
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'config\|get' command$"):
        r.execute_command("CONFIG", "GET")


def test_config_resetstat_replies_ok(r):
    assert unparsed(r, "CONFIG", "RESETSTAT") == "OK"


# --- TIME / FUNCTION FLUSH / SCRIPT FLUSH --------------------------------------------------------------------------

def test_time_returns_seconds_and_microseconds(raw):
    reply = raw().call("TIME")
    assert reply.startswith(b"*2\r\n$")
    parts = reply.split(b"\r\n")
    seconds, micros = int(parts[2]), int(parts[4])
    assert abs(seconds - time.time()) < 5
    assert 0 <= micros < 1_000_000


def test_function_flush_and_script_flush_reply_ok(raw):
    connection = raw()
    assert connection.call("FUNCTION", "FLUSH") == b"+OK\r\n"
    assert connection.call("SCRIPT", "FLUSH") == b"+OK\r\n"


# --- command errors -----------------------------------------------------------------------------------------------

def test_unknown_command_error_lists_its_arguments(raw):
    connection = raw()
    assert connection.call("foo", "a", "b") == b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
    assert connection.call("foo") == b"-ERR unknown command 'foo', with args beginning with: \r\n"


def test_wrong_arity_error_names_the_command_in_lower_case(raw):
    connection = raw()
    assert connection.call("XADD", "s") == b"-ERR wrong number of arguments for 'xadd' command\r\n"
    assert connection.call("xlen") == b"-ERR wrong number of arguments for 'xlen' command\r\n"


# --- MULTI / EXEC / DISCARD / WATCH ---------------------------------------------------------------------------------

def test_multi_exec_queues_then_runs_atomically(raw):
    connection = raw()
    assert connection.call("MULTI") == b"+OK\r\n"
    assert connection.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert connection.call("INCR", "a") == b"+QUEUED\r\n"
    assert connection.call("XADD", "s", "1-1", "f", "v") == b"+QUEUED\r\n"
    assert connection.call("EXEC") == b"*3\r\n+OK\r\n:2\r\n$3\r\n1-1\r\n"


def test_exec_and_discard_without_multi_are_errors(raw):
    connection = raw()
    assert connection.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert connection.call("DISCARD") == b"-ERR DISCARD without MULTI\r\n"


def test_nested_multi_is_an_error_but_keeps_the_transaction(raw):
    connection = raw()
    connection.call("MULTI")
    assert connection.call("MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert connection.call("PING") == b"+QUEUED\r\n"
    assert connection.call("EXEC") == b"*1\r\n+PONG\r\n"


def test_discard_drops_queued_commands(r, raw):
    connection = raw()
    connection.call("MULTI")
    connection.call("SET", "a", "1")
    assert connection.call("DISCARD") == b"+OK\r\n"
    assert r.get("a") is None
    assert connection.call("PING") == b"+PONG\r\n"


def test_queue_time_error_aborts_exec_with_execabort(r, raw):
    connection = raw()
    connection.call("MULTI")
    assert connection.call("SET", "a") == b"-ERR wrong number of arguments for 'set' command\r\n"
    assert connection.call("SET", "b", "2") == b"+QUEUED\r\n"
    assert connection.call("NOSUCH") == b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    assert connection.call("EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert r.get("b") is None


def test_runtime_error_inside_exec_does_not_stop_other_commands(r, raw):
    r.set("str", "x")
    connection = raw()
    connection.call("MULTI")
    connection.call("XADD", "str", "1-1", "f", "v")
    connection.call("SET", "after", "1")
    assert connection.call("EXEC") == (
        b"*2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n+OK\r\n")
    assert r.get("after") == "1"


def test_watch_inside_multi_is_an_error(raw):
    connection = raw()
    connection.call("MULTI")
    assert connection.call("WATCH", "a") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    assert connection.call("DISCARD") == b"+OK\r\n"


def test_exec_aborts_with_null_when_a_watched_key_changes(r, raw):
    connection = raw()
    assert connection.call("WATCH", "s") == b"+OK\r\n"
    r.xadd("s", {"f": "v"}, id="1-1")
    connection.call("MULTI")
    connection.call("XADD", "s", "2-1", "f", "v")
    assert connection.call("EXEC") == b"*-1\r\n"
    assert r.xlen("s") == 1


def test_exec_aborted_by_watch_is_resp3_null(r, raw):
    connection = raw()
    connection.call("HELLO", "3")
    connection.call("WATCH", "k")
    r.set("k", "changed")
    connection.call("MULTI")
    connection.call("SET", "k", "mine")
    assert connection.call("EXEC") == b"_\r\n"
    assert r.get("k") == "changed"


def test_unwatch_lets_exec_run(r, raw):
    connection = raw()
    connection.call("WATCH", "k")
    r.set("k", "changed")
    assert connection.call("UNWATCH") == b"+OK\r\n"
    connection.call("MULTI")
    connection.call("SET", "k", "mine")
    assert connection.call("EXEC") == b"*1\r\n+OK\r\n"
    assert r.get("k") == "mine"


def test_watch_untouched_key_lets_exec_run(r):
    with r.pipeline() as pipe:
        pipe.watch("k")
        pipe.multi()
        pipe.set("k", "v")
        assert pipe.execute() == [True]


def test_redis_py_pipeline_raises_watch_error(server, r):
    with r.pipeline() as pipe:
        pipe.watch("counter")
        server.client().set("counter", 5)
        pipe.multi()
        pipe.incr("counter")
        with pytest.raises(redis.WatchError):
            pipe.execute()


@pytest.mark.rill_only
def test_versions_rill_reports_its_own_and_announces_the_redis_of_its_newest_stream_commands(r, r3):
    """rill_version is Rill's; redis_version (and HELLO's version), which clients gate features on, is the Redis
    release that added XNACK, the newest stream command Rill has, so gated clients send it."""
    info = r.info("server")
    assert info["redis_version"] == "8.8.0"
    assert r3.execute_command("HELLO", "3")["version"] == info["redis_version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["rill_version"])
    assert info["rill_version"] != info["redis_version"]
    assert "xnack" in r.execute_command("COMMAND", "INFO", "xnack")


def test_a_client_past_maxclients_is_told_why_before_the_connection_closes(start_server):
    """The refusal is written at once, before the close (replies otherwise wait for the end of the loop's tick)."""
    server = start_server("--maxclients", "1")
    holder = server.raw()
    try:
        assert holder.call("PING") == b"+PONG\r\n"
        refused = server.raw()
        try:
            assert refused.read_until_closed(timeout=10) == b"-ERR max number of clients reached\r\n"
        finally:
            refused.close()
    finally:
        holder.close()
