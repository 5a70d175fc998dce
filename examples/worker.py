#!/usr/bin/env python3
"""A consumer-group worker (redis-py) that survives crashes: run several with different --consumer names.

    python3 examples/worker.py --port 6379 --stream orders --group billing --consumer w1

Each entry of the stream goes to one worker of the group and stays pending until that worker acknowledges it. When
a worker dies holding entries, another worker claims them once they have been idle longer than --claim-idle-ms.
Delivery is at least once, so handle() must tolerate seeing an entry twice.
"""
import argparse
import time

import redis


def handle(entry_id, fields):
    """The work. fields is {} for an entry deleted from the stream while it was pending (redis-py's view of nil)."""
    print(f"handled {entry_id} {fields}", flush=True)


def ensure_group(r, stream, group):
    """Create the group at the start of the stream (creating the stream too); fine if it already exists."""
    try:
        r.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as error:
        if not str(error).startswith("BUSYGROUP"):
            raise


def process(r, stream, group, entries):
    """Handle a batch, then acknowledge all of it with one XACK. A crash in between means redelivery, not loss."""
    for entry_id, fields in entries:
        handle(entry_id, fields)
    if entries:
        r.xack(stream, group, *[entry_id for entry_id, _fields in entries])
    return len(entries)


def finish_own_pending(r, stream, group, consumer, count):
    """After a restart under the same name: first the entries this consumer received but never acknowledged."""
    done = 0
    while True:
        reply = r.xreadgroup(group, consumer, {stream: "0"}, count=count)
        entries = reply[0][1] if reply else []
        if not entries:
            return done
        done += process(r, stream, group, entries)


def recover(r, stream, group, consumer, claim_idle_ms, count):
    """Claim and handle entries left pending by other consumers for longer than claim_idle_ms."""
    done, cursor = 0, "0-0"
    while True:
        # Redis 7 replies [next cursor, claimed entries, ids that were deleted from the stream meanwhile];
        # the deleted ones leave the pending list by themselves.
        cursor, entries, _deleted = r.xautoclaim(stream, group, consumer, claim_idle_ms, cursor, count=count)
        done += process(r, stream, group, entries)
        if cursor == "0-0":
            return done


def run(r, args):
    ensure_group(r, args.stream, args.group)
    handled = finish_own_pending(r, args.stream, args.group, args.consumer, args.count)
    next_recovery = 0.0
    while True:
        claimed = 0
        if time.monotonic() >= next_recovery:
            claimed = recover(r, args.stream, args.group, args.consumer, args.claim_idle_ms, args.count)
            next_recovery = time.monotonic() + args.claim_idle_ms / 1000
        reply = r.xreadgroup(args.group, args.consumer, {args.stream: ">"}, count=args.count, block=args.block_ms)
        entries = reply[0][1] if reply else []
        handled += claimed + process(r, args.stream, args.group, entries)
        if args.exit_when_drained and not entries and not claimed:
            if r.xpending(args.stream, args.group)["pending"] == 0:
                return handled
            next_recovery = 0.0  # someone else's entries are still pending: look for stale ones right away


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--consumer", required=True, help="unique per worker; reuse it when restarting that worker")
    parser.add_argument("--count", type=int, default=100, help="entries per read")
    parser.add_argument("--block-ms", type=int, default=5000, help="how long one read waits for new entries")
    parser.add_argument("--claim-idle-ms", type=int, default=60_000,
                        help="claim other consumers' entries pending longer than this")
    parser.add_argument("--exit-when-drained", action="store_true",
                        help="stop once nothing is new and nothing is pending (default: run forever)")
    args = parser.parse_args()
    # The reply shapes above are RESP2's, which redis-py speaks unless told otherwise.
    r = redis.Redis(host=args.host, port=args.port, decode_responses=True, protocol=2)
    handled = run(r, args)
    print(f"drained: {handled} entries handled", flush=True)


if __name__ == "__main__":
    main()
