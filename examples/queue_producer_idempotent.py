#!/usr/bin/env python3
"""Idempotent producer: a retried XADD adds the job once (Rill's XADD IDMP, Redis 8.6).

    python3 examples/queue_producer_idempotent.py --port 6379

A producer that times out does not know whether its XADD landed. Sending the same (producer id, idempotent id)
pair again is safe: the stream answers the first entry's ID and adds nothing.
"""
import argparse

import redis


def enqueue(r, stream, producer, job_id, fields):
    """Add the job once however often it is retried; returns the entry ID it got the first time."""
    arguments = [item for pair in fields.items() for item in pair]
    return r.execute_command("XADD", stream, "IDMP", producer, job_id, "*", *arguments)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--stream", default="jobs:idempotent")
    options = parser.parse_args()
    r = redis.Redis(port=options.port, decode_responses=True)
    first = enqueue(r, options.stream, "checkout-1", "order-42", {"task": "charge", "amount": "30"})
    retried = enqueue(r, options.stream, "checkout-1", "order-42", {"task": "charge", "amount": "30"})
    print(f"first {first} retried {retried} entries {r.xlen(options.stream)}")


if __name__ == "__main__":
    main()
