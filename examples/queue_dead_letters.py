#!/usr/bin/env python3
"""Dead letters: a job that keeps failing goes to a dead-letter stream after N deliveries (Rill only).

    python3 examples/queue_dead_letters.py --port 6379

XGROUP SETPOLICY key group MAXDELIVERIES n DEADLETTER dlq-key: an entry already delivered n times is not delivered
again; the attempt moves it, with its delivery count, last consumer and source, to dlq-key. The worker below
crashes on one job ("poison") and retries what it left pending with XAUTOCLAIM, as a real worker fleet would.
"""
import argparse

import redis


def work(fields):
    if fields["task"] == "poison":
        raise ValueError("cannot process this job")


def run_worker(r, stream, group, consumer, rounds):
    """New jobs first, then retries of unacknowledged ones; acknowledges only what succeeded."""
    for _ in range(rounds):
        batch = [entry for _, entries in r.xreadgroup(group, consumer, {stream: ">"}, count=10) for entry in entries]
        batch += r.xautoclaim(stream, group, consumer, min_idle_time=0, count=10)[1]
        for entry_id, fields in batch:
            try:
                work(fields)
                r.xack(stream, group, entry_id)
            except ValueError:
                print(f"failed {entry_id}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--stream", default="jobs:images")
    options = parser.parse_args()
    r = redis.Redis(port=options.port, decode_responses=True)
    stream, group, dead = options.stream, "resizers", options.stream + ":dead"
    r.delete(stream, dead)
    r.xgroup_create(stream, group, id="0", mkstream=True)
    r.execute_command("XGROUP", "SETPOLICY", stream, group, "MAXDELIVERIES", 3, "DEADLETTER", dead)
    r.xadd(stream, {"task": "resize"})
    r.xadd(stream, {"task": "poison"})

    run_worker(r, stream, group, "w1", rounds=5)

    for letter_id, fields in r.xrange(dead):
        print(f"dead {fields['source-id']} task {fields['task']} deliveries {fields['delivery-count']}")
    info = next(g for g in r.xinfo_groups(stream) if g["name"] == group)
    print(f"pending {info['pending']} dead-lettered {info['dead-lettered']}")


if __name__ == "__main__":
    main()
