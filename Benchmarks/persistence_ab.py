#!/usr/bin/env python3
"""Paired comparison of rill-server binaries on persistence and start-up (issue 6).

    python3 Benchmarks/persistence_ab.py BINARY_A BINARY_B [...]      (ROUNDS=5 by default)

Fills a 1M-entry stream (the prefill of compare.py) with the first binary and saves it; then, for each round and
each binary in turn (A, B, A, B, ...): starts it on a copy of that snapshot (spawn to first PONG = load), runs SAVE
twice (time as seen by the client, file size), then starts it on an empty folder (spawn to first PONG) and reads
VmRSS, RssAnon and RssFile from /proc one second later. Prints the medians (and minima) per binary. Alternating the
binaries is what makes the figures comparable on a machine shared with other jobs.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import free_port, prefill, send_command, wait_for_pong  # noqa: E402


# Named on the command line so binaries of any version (RILLSNAP or RDB, whatever their default name) write and
# read the same file.
SNAPSHOT_FILE = "snapshot.bench"


def spawn(binary, folder):
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", "",
                                "--appendonly", "no", "--dbfilename", SNAPSHOT_FILE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder)
    return process, port, wait_for_pong(port, process)


def stop(process):
    process.terminate()
    process.wait()


def status_megabytes(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def main():
    binaries = [os.path.abspath(path) for path in sys.argv[1:]]
    if not binaries:
        raise SystemExit(__doc__)
    rounds = int(os.environ.get("ROUNDS", "5"))
    root = tempfile.mkdtemp(prefix="rill-persistence-ab-")
    try:
        seed = os.path.join(root, "seed")
        os.makedirs(seed)
        process, port, _ = spawn(binaries[0], seed)
        prefill(type("Target", (), {"port": port})(), "bench:big", 1_000_000)
        send_command(port, "SAVE")
        stop(process)
        names = ["save_ms", "file_mb", "load_ms", "startup_ms", "rss_mb", "rss_anon_mb", "rss_file_mb"]
        results = [{name: [] for name in names} for _ in binaries]
        for round_number in range(rounds):
            for index, binary in enumerate(binaries):
                result = results[index]
                folder = os.path.join(root, f"loaded-{round_number}-{index}")
                os.makedirs(folder)
                shutil.copy(os.path.join(seed, SNAPSHOT_FILE), folder)
                process, port, seconds = spawn(binary, folder)
                result["load_ms"].append(seconds * 1000)
                for _ in range(2):
                    started = time.perf_counter()
                    if send_command(port, "SAVE") != "+OK":
                        raise RuntimeError(f"{binary}: SAVE failed")
                    result["save_ms"].append((time.perf_counter() - started) * 1000)
                result["file_mb"].append(os.path.getsize(os.path.join(folder, SNAPSHOT_FILE)) / 1e6)
                stop(process)
                empty = os.path.join(root, f"empty-{round_number}-{index}")
                os.makedirs(empty)
                process, port, seconds = spawn(binary, empty)
                result["startup_ms"].append(seconds * 1000)
                time.sleep(1.0)
                for name, field in [("rss_mb", "VmRSS"), ("rss_anon_mb", "RssAnon"), ("rss_file_mb", "RssFile")]:
                    result[name].append(status_megabytes(process.pid, field))
                stop(process)
        for binary, result in zip(binaries, results):
            print(binary, " ".join(f"{name}={statistics.median(values):.2f} (min {min(values):.2f})"
                                   for name, values in result.items()))
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
