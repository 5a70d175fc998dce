"""Seeded random differential: random commands, valid and invalid, sent to Redis 8.2.3 and to the server under test,
in both protocols; every reply must match byte for byte (after the masks of test_differential.py).

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
FIELDS = ["f", "g", "h", "1", "-5", "0", "007", "x" * 70]


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
        r = self.rng
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


def comparable(command, reply):
    """The masks of the scenario suite; KEYS lists keys in hash-table order, which no two servers share."""
    reply = normalized(command, reply)
    if command[0] == "KEYS" and reply[0] == b"*":
        return reply[0], sorted(reply[1])
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
