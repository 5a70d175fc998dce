#!/usr/bin/env python3
"""Idempotent consumer: a job redelivered after a crash does its side effect once.

    python3 examples/queue_consumer_idempotent.py --port 6379

Delivery is at least once: a worker can finish a job and die before its XACK, and the job comes back (to it after a
restart, or to another worker through XAUTOCLAIM). Recording "done" under the job's own key with SET NX, before the
side effect is committed, turns the second delivery into a no-op that only acknowledges.
"""
import argparse

import redis


def charge(r, fields):
    """The side effect that must not happen twice."""
    r.incrby("balance", int(fields["amount"]))


def handle_once(r, stream, group, entry_id, fields):
    """Do the job unless a previous delivery did it; acknowledge in every case. Returns whether it ran."""
    first_time = r.set(f"done:{stream}:{entry_id}", 1, nx=True, ex=7 * 24 * 3600)
    if first_time:
        charge(r, fields)
    r.xack(stream, group, entry_id)
    return bool(first_time)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--stream", default="jobs:payments")
    options = parser.parse_args()
    r = redis.Redis(port=options.port, decode_responses=True)
    stream, group = options.stream, "payers"
    r.delete(stream, "balance")
    r.xgroup_create(stream, group, id="0", mkstream=True)
    r.xadd(stream, {"amount": "30"})

    # Worker 1 charges, then crashes before XACK: it records "done" but the entry stays pending.
    [[_, [(entry_id, fields)]]] = r.xreadgroup(group, "w1", {stream: ">"})
    r.set(f"done:{stream}:{entry_id}", 1, nx=True)
    charge(r, fields)

    # Worker 2 takes the job over and handles it again: the charge is not repeated.
    _, claimed, _ = r.xautoclaim(stream, group, "w2", min_idle_time=0)
    ran = [handle_once(r, stream, group, entry_id, fields) for entry_id, fields in claimed]
    print(f"redelivered {len(claimed)} ran {ran.count(True)} balance {r.get('balance')} "
          f"pending {r.xpending(stream, group)['pending']}")


if __name__ == "__main__":
    main()
