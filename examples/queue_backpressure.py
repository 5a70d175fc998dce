#!/usr/bin/env python3
"""Backpressure: when the server is full, producers wait for consumers instead of losing jobs.

    python3 examples/queue_backpressure.py --port 6379 --demo-maxmemory-headroom 2000000

With `maxmemory` set, a write that would grow memory past it fails with `-OOM ...` (redis-py: OutOfMemoryError) and
changes nothing. Under `maxmemory-stream-policy trim-acked`, Rill first removes the entries every group has
acknowledged, so a producer only waits while the queue really holds unfinished work. The demo lowers maxmemory to
the current use plus a headroom, runs a fast producer and a slower consumer in one loop, and restores the settings.
"""
import argparse
import time

import redis


def enqueue_with_backpressure(r, stream, fields, on_full, attempts=100):
    """XADD, and while the server refuses for memory, let consumers progress (`on_full`) and try again."""
    for _ in range(attempts):
        try:
            return r.xadd(stream, fields)
        except redis.exceptions.OutOfMemoryError:
            on_full()
    raise RuntimeError("queue still full: consumers are not keeping up")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--stream", default="jobs:bulk")
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--demo-maxmemory-headroom", type=int, default=2_000_000)
    options = parser.parse_args()
    r = redis.Redis(port=options.port, decode_responses=True)
    stream, group = options.stream, "loaders"
    saved = {name: r.config_get(name)[name] for name in ("maxmemory", "maxmemory-stream-policy")}
    r.delete(stream)
    r.xgroup_create(stream, group, id="0", mkstream=True)
    used = int(r.info("memory")["used_memory"])
    r.config_set("maxmemory", used + options.demo_maxmemory_headroom)
    r.config_set("maxmemory-stream-policy", "trim-acked")
    waits = consumed = 0

    def consume_a_batch():
        nonlocal waits, consumed
        waits += 1
        for _, entries in r.xreadgroup(group, "loader-1", {stream: ">"}, count=200):
            r.xack(stream, group, *[entry_id for entry_id, _ in entries])
            consumed += len(entries)
        time.sleep(0.001)  # let jemalloc's reading of used memory move on

    try:
        payload = "x" * 2000
        for number in range(options.jobs):
            enqueue_with_backpressure(r, stream, {"n": number, "payload": payload}, consume_a_batch)
    finally:
        r.config_set("maxmemory", saved["maxmemory"])
        r.config_set("maxmemory-stream-policy", saved["maxmemory-stream-policy"])
    print(f"enqueued {options.jobs} waited {'yes' if waits else 'no'} lost 0")


if __name__ == "__main__":
    main()
