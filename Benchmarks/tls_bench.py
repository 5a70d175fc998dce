#!/usr/bin/env python3
"""XADD over TLS: rill-server against Debian's redis-server 7.0.15 (built with TLS), side by side.

    python3 Benchmarks/tls_bench.py [--rounds 3] [--requests 200000] [--clients 50] [--markdown FILE] [--no-build]
                                    [--baseline BINARY]

Makes a CA and a server certificate with openssl in a scratch folder, builds rill-server in release mode (unless
--no-build), starts both servers with a tls-port beside their plain port (tls-auth-clients no: the client side then
costs the same for both) and runs `redis-benchmark --tls` XADD with -P 1 and -P 16 against each in alternation,
Rill, Redis, Rill, Redis ..., then the same over the plain port for comparison. The table shows medians of the rounds, the ratio Rill/Redis, and each server's CPU per
XADD (utime + stime of its process from /proc/PID/stat over the run, divided by the requests), the figure least
disturbed by other load on a shared machine. With --baseline, a second rill-server binary (an older build) runs in
the same alternation as a third column, "Rill before", for before/after comparisons.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import (ROOT, XADD_3_FIELDS, Bench, free_port, markdown_table, median_row,  # noqa: E402
                     redis_benchmark)

REDIS_WITH_TLS = "/usr/bin/redis-server"


def make_certificates(directory):
    def openssl(*arguments):
        subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=Rill Bench CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
            "/CN=localhost")
    with open(os.path.join(directory, "server.ext"), "w") as extensions:
        extensions.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "server.crt", "-days", "2", "-extfile", "server.ext")
    return {name: os.path.join(directory, name) for name in ("ca.crt", "server.crt", "server.key")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    parser.add_argument("--no-build", action="store_true", help="use the existing release build")
    parser.add_argument("--baseline", help="a second rill-server binary (an older build) measured alongside")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "rill-server"], cwd=ROOT, check=True)
    rill_binary = os.path.join(ROOT, ".build", "release", "rill-server")
    certificates_dir = tempfile.mkdtemp(prefix="rill-tls-bench-")
    extra_peers = [("second", os.path.abspath(args.baseline))] if args.baseline else []
    bench = Bench(args, rill_binary, REDIS_WITH_TLS, extra_peers)
    try:
        certs = make_certificates(certificates_dir)
        tls_ports = {}

        def settings(name):
            tls_ports[name] = free_port()
            return {"tls-port": str(tls_ports[name]), "tls-cert-file": certs["server.crt"],
                    "tls-key-file": certs["server.key"], "tls-ca-cert-file": certs["ca.crt"],
                    "tls-auth-clients": "no"}
        pair = bench.start_pair("tls", rill_settings=settings("rill"), redis_settings=settings("redis"),
                                extra_settings={"second": settings("second")} if args.baseline else None)
        rows = []
        # The plain-TCP rows, on the same servers in the same run, show what TLS itself adds to each.
        for tls, pipeline in ((True, 1), (True, 16), (False, 1), (False, 16)):
            def measure(server, tls=tls, pipeline=pipeline):
                connection = (["--tls", "--cacert", certs["ca.crt"], "-p", str(tls_ports[server.name])] if tls
                              else None)
                server.cli("DEL", "bench:tls")
                return redis_benchmark(server, args.clients, pipeline, args.requests,
                                       ["XADD", "bench:tls", "*", *XADD_3_FIELDS], connection=connection)
            samples = bench.alternate(pair, measure)
            rows.append(median_row(f"XADD 3 fields {'TLS' if tls else 'plain TCP'} -c {args.clients} -P {pipeline}",
                                   "ops/s", samples, latency=(1, 2), operations=args.requests))
        version = subprocess.run([REDIS_WITH_TLS, "--version"], capture_output=True, text=True).stdout.split()[2]
        labels = {"redis": f"Redis {version.removeprefix('v=')}"}
        if args.baseline:
            labels["second"] = "Rill before"
        table = markdown_table(rows, labels)
        print(table)
        if args.markdown:
            with open(args.markdown, "w") as out:
                out.write(table)
    finally:
        bench.close()
        shutil.rmtree(certificates_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
