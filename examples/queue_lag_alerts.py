#!/usr/bin/env python3
"""Lag alerts: read Rill's Prometheus endpoint and flag groups that fall behind or dead-letter jobs.

    rill-server --metrics-port 9121 --metrics-key-names yes &
    python3 examples/queue_lag_alerts.py --port 6379 --metrics-port 9121 --max-lag 100

In production Prometheus scrapes /metrics and alert rules do this (README "Metrics"); the same checks in a few lines
of Python are handy for a cron job or a smoke test. The demo queues 250 jobs that nobody reads yet.
"""
import argparse
import re
import urllib.request

import redis

SAMPLE = re.compile(r'^(rill_[a-z_]+)\{([^}]*)\} (\S+)$')


def scrape(metrics_port):
    """{(series, labels): value} for the labelled series of one scrape."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', match.group(2))))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def alerts(samples, max_lag):
    for (series, labels), value in sorted(samples.items()):
        where = dict(labels)
        if series == "rill_consumer_group_lag" and value > max_lag:
            yield f"ALERT lag {where['stream']}/{where['group']} {int(value)} > {max_lag}"
        if series == "rill_consumer_group_dead_lettered_total" and value > 0:
            yield f"ALERT dead-lettered {where['stream']}/{where['group']} {int(value)}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--metrics-port", type=int, default=9121)
    parser.add_argument("--max-lag", type=int, default=100)
    parser.add_argument("--stream", default="jobs:reports")
    options = parser.parse_args()
    r = redis.Redis(port=options.port, decode_responses=True)
    r.delete(options.stream)
    r.xgroup_create(options.stream, "renderers", id="0", mkstream=True)
    with r.pipeline(transaction=False) as pipe:
        for number in range(250):
            pipe.xadd(options.stream, {"report": number})
        pipe.execute()
    for line in alerts(scrape(options.metrics_port), options.max_lag):
        print(line)


if __name__ == "__main__":
    main()
