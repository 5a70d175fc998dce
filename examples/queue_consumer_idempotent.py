#!/usr/bin/env python3
"""Idempotent consumer: a job redelivered after a crash does its side effect once.

    python3 examples/queue_consumer_idempotent.py --port 6379

Delivery is at least once: a worker can finish a job and die before its XACK, and the job comes back (to it after a
restart, or to another worker through XAUTOCLAIM). Committing the side effect together with a "done" record under the
job's own key, in one WATCH/MULTI/EXEC transaction, turns the second delivery into a no-op that only acknowledges; a
worker dying anywhere leaves either both or neither.
"""
import argparse

import redis


def charge(transaction, fields):
    """The side effect that must not happen twice, queued in the caller's transaction."""
    transaction.incrby("balance", int(fields["amount"]))


def commit_once(r, stream, entry_id, fields):
    """Commits the job's side effect and its "done" record atomically, unless a previous delivery did. Returns
    whether this call committed them."""
    done = f"done:{stream}:{entry_id}"
    with r.pipeline() as transaction:
        try:
            transaction.watch(done)
            if transaction.exists(done):
                return False
            transaction.multi()
            transaction.set(done, 1, ex=7 * 24 * 3600)
            charge(transaction, fields)
            transaction.execute()
            return True
        except redis.WatchError:
            return False  # another delivery of the same job committed it in between


def handle_once(r, stream, group, entry_id, fields):
    """Do the job unless a previous delivery did it; acknowledge in every case. Returns whether it ran."""
    ran = commit_once(r, stream, entry_id, fields)
    r.xack(stream, group, entry_id)
    return ran


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

    # Worker 1 commits the charge, then crashes before XACK: the entry stays pending.
    [[_, [(entry_id, fields)]]] = r.xreadgroup(group, "w1", {stream: ">"})
    commit_once(r, stream, entry_id, fields)

    # Worker 2 takes the job over and handles it again: the charge is not repeated.
    _, claimed, _ = r.xautoclaim(stream, group, "w2", min_idle_time=0)
    ran = [handle_once(r, stream, group, entry_id, fields) for entry_id, fields in claimed]
    print(f"redelivered {len(claimed)} ran {ran.count(True)} balance {r.get('balance')} "
          f"pending {r.xpending(stream, group)['pending']}")


if __name__ == "__main__":
    main()
