"""Seeded random differential: random commands (stream, keyspace and list commands, blocking pops with timeouts that
lapse, Pub/Sub on the one connection), valid and invalid, sent to Redis 8.2.3 and to the server under test, in both protocols; every reply must match byte for byte (after the masks of test_differential.py).

The suite runs a fixed set of seeds. A longer search with random seeds:

    RILL_RANDOM_DIFF_SEEDS=500 RILL_RANDOM_DIFF_RANDOM=1 python3 -m pytest Tests/python/test_random_differential.py

prints each seed it tries, so a failure names the seed that reproduces it.
"""

import os
import random as random_module

import pytest

from test_differential import normalized, reference_and_subject  # noqa: F401 (the fixture)

SEED_COUNT = int(os.environ.get("RILL_RANDOM_DIFF_SEEDS", "6"))
SEEDS = (random_module.SystemRandom().sample(range(1 << 30), SEED_COUNT) if os.environ.get("RILL_RANDOM_DIFF_RANDOM")
         else list(range(1, SEED_COUNT + 1)))
STEPS = int(os.environ.get("RILL_RANDOM_DIFF_STEPS", "250"))

KEYS = ["s", "t", "str", "list", "missing"]
GROUPS = ["g1", "g2"]
CONSUMERS = ["alice", "bob", "carol"]
FIELDS = ["f", "g", "h", "1", "-5", "0", "007", "x" * 70]
LIST_KEYS = ["list", "l2", "s", "str", "missing"]
ELEMENTS = ["a", "b", "c", "1", "-1", "x" * 70]
# Pub/Sub names: none of them receives what PUBLISH sends ("news", "other").
SUBSCRIBED_CHANNELS = ["alerts", "audit"]
SUBSCRIBED_PATTERNS = ["al*", "x?"]


class Generator:
    """Random commands over a few keys: mostly well-formed, some with a wrong argument, so errors are compared too."""

    def __init__(self, rng):
        self.rng = rng
        self.ms = 1

    def some_id(self, allow_special=True):
        r = self.rng
        choice = r.random()
        if allow_special and choice < 0.08:
            return r.choice(["-", "+", "0", "0-0", "abc", "1-x", "18446744073709551615-18446744073709551615"])
        if choice < 0.15:
            return str(r.randint(0, self.ms + 2))
        if choice < 0.22:
            return f"({r.randint(0, self.ms + 2)}-{r.randint(0, 2)}"
        return f"{r.randint(0, self.ms + 2)}-{r.randint(0, 2)}"

    def fields(self):
        r = self.rng
        count = r.choice([1, 1, 2, 3]) if r.random() > 0.03 else 0
        words = []
        for _ in range(count):
            words += [r.choice(FIELDS), r.choice(FIELDS)]
        if r.random() < 0.03:
            words.append("odd")
        return words

    def trim(self):
        r = self.rng
        strategy = r.choice(["MAXLEN", "MINID"])
        words = [strategy]
        if r.random() < 0.5:
            words.append(r.choice(["=", "~"]))
        words.append(str(r.randint(0, 6)) if strategy == "MAXLEN" else self.some_id(allow_special=False))
        if r.random() < 0.15:
            words += ["LIMIT", str(r.randint(0, 5))]
        return words

    def command(self):
        if self.rng.random() < 0.04:
            return self.pubsub_command()
        if self.rng.random() < 0.35:
            words = self.list_command()
            # Now and then an argument too few, for the arity errors.
            return words[:-1] if len(words) > 1 and self.rng.random() < 0.03 else words
        return self.stream_command()

    def list_command(self):
        """A list command, blocking pops included (with timeouts short enough to lapse, or invalid)."""
        r = self.rng
        key = r.choice(LIST_KEYS[:2]) if r.random() < 0.8 else r.choice(LIST_KEYS)
        other = r.choice(LIST_KEYS[:2]) if r.random() < 0.8 else r.choice(LIST_KEYS)

        def elements(most=3):
            return [r.choice(ELEMENTS) for _ in range(r.randint(1, most))]

        def index():
            return str(r.randint(-4, 4)) if r.random() > 0.05 else r.choice(["x", "9223372036854775807", "-9223372036854775808", ""])

        def count(low=-1, high=4):
            return str(r.randint(low, high)) if r.random() > 0.05 else r.choice(["x", "1.5", "-9223372036854775808"])

        def end():
            return r.choice(["LEFT", "RIGHT"]) if r.random() > 0.05 else r.choice(["left", "Right", "UP"])

        def timeout():
            return r.choice(["0.01", "0.002", ".005", "1e-2"]) if r.random() > 0.1 else r.choice(["-1", "x", "inf", "-inf"])

        def some_keys():
            return r.sample(LIST_KEYS, r.randint(1, 3))

        def multi_pop(words_before):
            keys = some_keys()
            number = str(len(keys)) if r.random() > 0.08 else r.choice(["0", "-1", "x", str(len(keys) + 1)])
            words = words_before + [number] + keys + [end()]
            if r.random() < 0.5:
                words += ["COUNT", count(0, 4)]
            return words

        kind = r.randrange(21)
        if kind <= 3:
            return [r.choice(["LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), key] + elements()
        if kind == 4:
            return [r.choice(["LPOP", "RPOP"]), key] + ([count()] if r.random() < 0.4 else [])
        if kind == 5:
            return ["LINDEX", key, index()]
        if kind == 6:
            return ["LSET", key, index(), r.choice(ELEMENTS)]
        if kind == 7:
            return ["LINSERT", key, r.choice(["BEFORE", "AFTER", "after", "MIDDLE"]), r.choice(ELEMENTS),
                    r.choice(ELEMENTS)]
        if kind == 8:
            return ["LREM", key, count(-3, 3), r.choice(ELEMENTS)]
        if kind == 9:
            return ["LTRIM", key, index(), index()]
        if kind == 10:
            words = ["LPOS", key, r.choice(ELEMENTS)]
            for option in r.sample(["RANK", "COUNT", "MAXLEN", "FOO"], r.randint(0, 3)):
                if option == "RANK":
                    words += ["RANK", r.choice(["1", "2", "-1", "-2", "0", "x"])]
                elif option == "FOO" and r.random() < 0.3:
                    words += ["FOO", "1"]
                elif option != "FOO":
                    words += [option, count(-1, 3)]
            return words
        if kind == 11:
            return ["LMOVE", key, other, end(), end()]
        if kind == 12:
            return ["RPOPLPUSH", key, other]
        if kind == 13:
            return multi_pop(["LMPOP"])
        if kind == 14:
            return [r.choice(["BLPOP", "BRPOP"])] + some_keys() + [timeout()]
        if kind == 15:
            return ["BLMOVE", key, other, end(), end(), timeout()]
        if kind == 16:
            return ["BRPOPLPUSH", key, other, timeout()]
        if kind == 17:
            return multi_pop(["BLMPOP", timeout()])
        if kind == 18:
            return ["LRANGE", key, index(), index()]
        if kind == 19:
            return ["LLEN", key]
        return r.choice([["TYPE", key], ["DEL", key], ["EXISTS", key, other]])

    def stream_command(self):
        r = self.rng
        family = r.random()
        if family < 0.25:
            return self.group_command()
        if family < 0.35:
            return self.keyspace_command()
        key = r.choice(KEYS[:2]) if r.random() < 0.85 else r.choice(KEYS)
        kind = r.random()
        if kind < 0.30:
            words = ["XADD", key]
            if r.random() < 0.05:
                words.append("NOMKSTREAM")
            if r.random() < 0.15:
                words += self.trim()
            choice = r.random()
            if choice < 0.6:
                self.ms += 1
                words.append(f"{self.ms}-{r.randint(0, 2)}")
            elif choice < 0.8:
                self.ms += 1
                words.append(f"{self.ms}-*")
            else:
                words.append(self.some_id())
            return words + self.fields()
        if kind < 0.45:
            verb = r.choice(["XRANGE", "XREVRANGE"])
            words = [verb, key, self.some_id(), self.some_id()]
            if r.random() < 0.5:
                words += ["COUNT", str(r.randint(-1, 4))]
            return words
        if kind < 0.52:
            return ["XDEL", key] + [self.some_id(allow_special=False) for _ in range(r.randint(1, 3))]
        if kind < 0.58:
            return ["XTRIM", key] + self.trim()
        if kind < 0.63:
            return ["XLEN", key]
        if kind < 0.70:
            words = ["XREAD"]
            if r.random() < 0.4:
                words += ["COUNT", str(r.randint(0, 3))]
            streams = r.sample(KEYS[:2], r.randint(1, 2))
            return words + ["STREAMS"] + streams + [self.some_id() if r.random() < 0.8 else "$" for _ in streams]
        if kind < 0.75:
            words = ["XSETID", key, self.some_id(allow_special=False)]
            if r.random() < 0.3:
                words += ["ENTRIESADDED", str(r.randint(-1, 20))]
            if r.random() < 0.3:
                words += ["MAXDELETEDID", self.some_id(allow_special=False)]
            return words
        if kind < 0.80:
            return ["XINFO", "STREAM", key] + (["FULL"] if r.random() < 0.3 else [])
        if kind < 0.84:
            return ["XDELEX", key, r.choice(["KEEPREF", "DELREF", "ACKED"]), "IDS", "2",
                    self.some_id(allow_special=False), self.some_id(allow_special=False)]
        if kind < 0.88:
            return r.choice([["TYPE", key], ["EXISTS", key], ["DEL", key], ["DBSIZE"], ["KEYS", "*"]])
        if kind < 0.92:
            return r.choice([["SET", "str", "v"], ["LPUSH", "list", "a"], ["GET", key], ["INCR", "str"],
                             ["RPOP", "list"], ["LRANGE", "list", "0", "-1"]])
        if kind < 0.96:
            return ["EXPIRE", key, str(r.randint(100, 1000))] if r.random() < 0.5 else ["TTL", key]
        return ["RENAME", key, r.choice(KEYS[:2])]

    def pubsub_command(self):
        """Pub/Sub on the test's single connection: one reply per request, so one channel or pattern at a time, and
        messages only to channels nobody subscribes to (a message to itself would be a second reply). In RESP2 a
        subscription makes the following commands fail with Redis' subscribed-state error until it is left."""
        r = self.rng
        kind = r.random()
        if kind < 0.15:
            return [r.choice(["SUBSCRIBE", "SSUBSCRIBE"]), r.choice(SUBSCRIBED_CHANNELS)]
        if kind < 0.22:
            return ["PSUBSCRIBE", r.choice(SUBSCRIBED_PATTERNS)]
        if kind < 0.50:
            return [r.choice(["UNSUBSCRIBE", "SUNSUBSCRIBE"]), r.choice(SUBSCRIBED_CHANNELS)]
        if kind < 0.60:
            return ["PUNSUBSCRIBE", r.choice(SUBSCRIBED_PATTERNS)]
        if kind < 0.75:
            return [r.choice(["PUBLISH", "SPUBLISH"]), r.choice(["news", "other"]), r.choice(ELEMENTS)]
        return r.choice([["PUBSUB", "NUMSUB"] + r.sample(SUBSCRIBED_CHANNELS + ["news"], r.randint(0, 2)),
                         ["PUBSUB", "SHARDNUMSUB", r.choice(SUBSCRIBED_CHANNELS)], ["PUBSUB", "NUMPAT"],
                         ["PUBSUB", "CHANNELS", r.choice(["al*", "au*", "n*"])],
                         ["PUBSUB", "SHARDCHANNELS", r.choice(["al*", "au*"])], ["PING"], ["PING", "x"]])

    def count_option(self, low=-1, high=4):
        return ["COUNT", str(self.rng.randint(low, high))] if self.rng.random() < 0.5 else []

    def group_command(self):
        """Consumer groups: creation and removal, reads, acknowledgement, pending lists, claims and their XINFO."""
        r = self.rng
        key = r.choice(KEYS[:2]) if r.random() < 0.9 else r.choice(KEYS)
        group, consumer = r.choice(GROUPS), r.choice(CONSUMERS)
        kind = r.random()
        if kind < 0.12:
            words = ["XGROUP", "CREATE", key, group, r.choice(["$", "0", self.some_id(allow_special=False)])]
            if r.random() < 0.3:
                words.append("MKSTREAM")
            if r.random() < 0.2:
                words += ["ENTRIESREAD", str(r.randint(-2, 8))]
            return words
        if kind < 0.17:
            words = ["XGROUP", "SETID", key, group, r.choice(["$", "0", self.some_id(allow_special=False)])]
            return words + (["ENTRIESREAD", str(r.randint(-2, 8))] if r.random() < 0.3 else [])
        if kind < 0.20:
            verb = r.choice(["DESTROY", "CREATECONSUMER", "DELCONSUMER"])
            words = ["XGROUP", verb, key, group]
            return words if verb == "DESTROY" else words + [consumer]
        if kind < 0.42:
            words = ["XREADGROUP", "GROUP", group, consumer] + self.count_option(0, 3)
            if r.random() < 0.15:
                words.append("NOACK")
            streams = r.sample(KEYS[:2], r.randint(1, 2))
            ids = [">" if r.random() < 0.7 else self.some_id(allow_special=False) for _ in streams]
            if r.random() < 0.03:
                ids = ids[:-1]
            return words + ["STREAMS"] + streams + ids
        if kind < 0.54:
            return ["XACK", key, group] + [self.some_id(allow_special=False) for _ in range(r.randint(1, 3))]
        if kind < 0.58:
            ids = [self.some_id(allow_special=False) for _ in range(r.randint(1, 2))]
            return ["XACKDEL", key, group] + ([r.choice(["KEEPREF", "DELREF", "ACKED"])] if r.random() < 0.5
                                              else []) + ["IDS", str(len(ids))] + ids
        if kind < 0.70:
            if r.random() < 0.4:
                return ["XPENDING", key, group]
            words = ["XPENDING", key, group]
            if r.random() < 0.3:
                words += ["IDLE", "0"]
            words += [self.some_id(), self.some_id(), str(r.randint(-1, 5))]
            return words + ([consumer] if r.random() < 0.4 else [])
        if kind < 0.80:
            words = ["XCLAIM", key, group, consumer, "0"] + [self.some_id(allow_special=False)
                                                              for _ in range(r.randint(1, 3))]
            if r.random() < 0.3:
                words += ["RETRYCOUNT", str(r.randint(0, 5))]
            if r.random() < 0.2:
                words.append("FORCE")
            if r.random() < 0.3:
                words.append("JUSTID")
            if r.random() < 0.1:
                words += ["LASTID", self.some_id(allow_special=False)]
            return words
        if kind < 0.88:
            words = ["XAUTOCLAIM", key, group, consumer, "0", self.some_id()] + self.count_option(0, 4)
            return words + (["JUSTID"] if r.random() < 0.3 else [])
        return r.choice([["XINFO", "GROUPS", key], ["XINFO", "CONSUMERS", key, group],
                         ["XINFO", "STREAM", key, "FULL"] + self.count_option(0, 3)])

    def keyspace_command(self):
        """Strings, sets, expiry and key commands around the streams (replies that do not depend on the clock's
        milliseconds or on hash-table order; SMEMBERS and SCAN are compared sorted)."""
        r = self.rng
        key = r.choice(KEYS)
        kind = r.random()
        if kind < 0.15:
            words = ["SET", r.choice(["str", key]), r.choice(["v", "12", "-3", "x" * 50])]
            for option in r.sample(["NX", "XX", "GET", "KEEPTTL", "EX", "EXAT"], r.randint(0, 2)):
                # No deadline already past: such a key stays counted by DBSIZE until an expiry cycle, whose timing
                # differs between two servers.
                words += [option, str(r.choice([100, 0, -1] if option == "EX" else [0, -1, 4_000_000_000]))] \
                    if option in ("EX", "EXAT") else [option]
            return words
        if kind < 0.30:
            verb = r.choice(["INCR", "DECR", "INCRBY", "DECRBY", "GET"])
            return [verb, r.choice(["str", key])] + ([str(r.choice([5, -7, "x", 2**63]))]
                                                      if verb in ("INCRBY", "DECRBY") else [])
        if kind < 0.45:
            verb = r.choice(["SADD", "SREM", "SISMEMBER", "SCARD", "SMEMBERS"])
            words = [verb, r.choice(["set", key])]
            if verb in ("SADD", "SREM"):
                words += [r.choice(["a", "b", "1", "2", "300"]) for _ in range(r.randint(1, 3))]
            elif verb == "SISMEMBER":
                words.append(r.choice(["a", "1", "z"]))
            return words
        if kind < 0.60:
            verb = r.choice(["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
            when = {"EXPIRE": 500, "PEXPIRE": 500_000, "EXPIREAT": 4_000_000_000, "PEXPIREAT": 4_000_000_000_000}[verb]
            words = [verb, key, str(r.choice([when, when * 2, -1, "x"]))]
            if r.random() < 0.4:
                words.append(r.choice(["NX", "XX", "GT", "LT", "BAD"]))
            return words
        if kind < 0.72:
            return [r.choice(["TTL", "EXPIRETIME", "PERSIST", "TYPE", "EXISTS"]), key]
        if kind < 0.80:
            return [r.choice(["RENAME", "RENAMENX"]), key, r.choice(KEYS)]
        if kind < 0.88:
            return ["EXISTS"] + r.sample(KEYS, r.randint(1, 3)) if r.random() < 0.5 else ["DEL", key]
        if kind < 0.94:
            return ["SCAN", "0", "COUNT", "1000"] + (["MATCH", r.choice(["s*", "*t*", "[lm]*"])]
                                                     if r.random() < 0.5 else []) + (
                ["TYPE", r.choice(["stream", "string", "list", "set", "nope"])] if r.random() < 0.4 else [])
        return r.choice([["DBSIZE"], ["TYPE", key], ["SELECT", str(r.choice([0, 0, 0, 1]))], ["FLUSHDB"]])


def comparable(command, reply):
    """The masks of the scenario suite; KEYS, SMEMBERS and SCAN list members in hash-table order, which no two servers
    share, so they are compared sorted."""
    reply = normalized(command, reply)
    if command[0] in ("KEYS", "SMEMBERS") and reply[0] in (b"*", b"~"):
        return reply[0], sorted(reply[1])
    if command[0] == "SCAN" and reply[0] == b"*" and len(reply[1]) == 2:
        cursor, (kind, keys) = reply[1]
        return reply[0], [cursor, (kind, sorted(keys))]
    return reply


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_commands_answer_as_redis(reference_and_subject, seed, protocol):  # noqa: F811
    print(f"seed {seed} protocol {protocol}")
    generator = Generator(random_module.Random(seed))
    connections = [server.raw(timeout=10) for server in reference_and_subject]
    for connection in connections:
        connection.call("HELLO", str(protocol))
        connection.call("FLUSHALL")
    for step in range(STEPS):
        command = generator.command()
        expected, actual = (connection.call(*command) for connection in connections)
        assert comparable(command, expected) == comparable(command, actual), (
            f"seed {seed} protocol {protocol} step {step}: {' '.join(command)}\n"
            f"    redis:   {expected!r}\n    subject: {actual!r}")
    for connection in connections:
        connection.close()
