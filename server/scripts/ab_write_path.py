#!/usr/bin/env python3
"""Before and after, interleaved: PostgreSQL's and the server's CPU per batch (issue 21).

    python3 server/scripts/ab_write_path.py BEFORE_SERVER [AFTER_SERVER] [--rounds N]
        [--requests N] [--spread] [--before-args ARGS] [--after-args ARGS]

For each round and each client count (1, 4, 16), each of the two server binaries in turn
(the order alternates between rounds) gets a throwaway PostgreSQL cluster (wal_profile.py's),
one server instance over it with the demo account (pool of 8), and, through
`target/release/load`: 20 warm-up batches, N batches of 1000 new contacts, then the same N
batches again with changed custom fields (the re-import). It prints the CPU per batch of
PostgreSQL (the postmaster, its live children and its exited ones, from /proc) and of the
server process for both phases, then a Markdown table of the medians with after ÷ before.
With --spread, each batch's numbers are scattered over the load tool's whole pool of numbers
(`load --spread`), as a list exported from a CRM is, instead of consecutive. --before-args and
--after-args add server arguments to one side (split on spaces): the same binary twice with
`--after-args="--worker-threads 1"` (with the `=`) compares the two runtimes.

Why this beside `load --suite`: the suite runs one build after the other, a minute or two
apart, and this shared VM's speed drifts by up to a third over minutes (the suite's own
pgbench floor moved from 20 to 35 ms between runs within one hour). Interleaving short runs
of the two binaries puts both under the same drift.
"""

import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wal_profile  # noqa: E402  (the throwaway cluster)


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def ticks(pid, children=False):
    fields = stat(pid)
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if children else 0)


def postgres_ticks(postmaster):
    total = ticks(postmaster, children=True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(stat(int(entry))[1]) == postmaster:
                    total += ticks(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return total


def one(server, args, clients, requests, hz, spread):
    cluster = wal_profile.Cluster()
    try:
        with open(os.path.join(cluster.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        with wal_profile.demo_server(server, cluster.url(), args=args) as (process, addr):
            load = ["target/release/load", "--addr", addr] + (["--spread"] if spread else [])
            subprocess.run(load + ["--requests", "20", "--offset", "910000"],
                           stdout=subprocess.DEVNULL, check=True)
            out = {}
            for phase, extra in (("new", []), ("re-import", ["--revision", "1"])):
                pg, srv = postgres_ticks(postmaster), ticks(process.pid)
                wal_profile.load_batches(load, requests, "--clients", str(clients), *extra,
                                         binary=server)
                out[phase] = (
                    (postgres_ticks(postmaster) - pg) / hz * 1000 / requests,
                    (ticks(process.pid) - srv) / hz * 1000 / requests,
                )
            return out
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default="target/release/bulk-contacts-server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--spread", action="store_true")
    parser.add_argument("--before-args", default="")
    parser.add_argument("--after-args", default="")
    args = parser.parse_args()
    hz = os.sysconf("SC_CLK_TCK")
    servers = {"before": (args.before, args.before_args.split()),
               "after": (args.after, args.after_args.split())}
    results = {}
    for round_ in range(args.rounds):
        for clients in (1, 4, 16):
            order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
            for name in order:
                out = one(*servers[name], clients, args.requests, hz, args.spread)
                results.setdefault((name, clients), []).append(out)
                print(f"round {round_} {name:6} {clients:2} clients: "
                      f"new: PostgreSQL {out['new'][0]:.2f} ms, server {out['new'][1]:.2f} ms; "
                      f"re-import: PostgreSQL {out['re-import'][0]:.2f} ms, "
                      f"server {out['re-import'][1]:.2f} ms", flush=True)
    print()
    print("| clients | PostgreSQL ms, new: before → after | PostgreSQL ms, re-import: before → "
          "after | server ms, new: before → after | server ms, re-import: before → after |")
    print("|---|---|---|---|---|")
    for clients in (1, 4, 16):
        def median(name, phase, i):
            return statistics.median(o[phase][i] for o in results[(name, clients)])
        cells = []
        for phase, i in (("new", 0), ("re-import", 0), ("new", 1), ("re-import", 1)):
            b, a = median("before", phase, i), median("after", phase, i)
            cells.append(f"{b:.2f} → {a:.2f} ({a / b:.2f}×)")
        print(f"| {clients} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
