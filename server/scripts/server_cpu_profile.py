#!/usr/bin/env python3
"""Where the server's CPU per batch goes, beside the engine's share of it (issue 21).

    python3 server/scripts/server_cpu_profile.py [--server BINARY] [--requests N]
        [--clients N] [--server-args="--worker-threads 1"]

Builds the release server with frame pointers (into target/frame-pointers, unless --server
names a binary built so), and for each phase (new contacts, then the re-import of the same
phones with changed custom fields) on a throwaway PostgreSQL cluster (wal_profile.py's):

1. times N batches unprofiled: the server's user and system time per batch and its context
   switches per batch (/proc of the process and its threads);
2. profiles N more under `perf record -e cpu-clock --call-graph fp` and splits the samples:
   the engine's own calls (read, keys, screen, validation keys, evaluate, summary, by their
   call trees), the kernel, the write plan, the `COPY` rows, the rows the prefetch reads, the
   custom-field merge, and the rest (HTTP, the driver's messages, the runtime, the
   allocator).

It prints each part as a share of the server's CPU and as a multiple of the engine's share,
and the engine alone (the load tool's in-process median over one batch) for the ratio the
issue's goal names: server CPU per batch ÷ engine alone. The multiples do not depend on
perf's own overhead; the milliseconds come from the unprofiled run.

Needs `perf` (linux-perf) with access to the process's samples (root, or
kernel.perf_event_paranoid ≤ 1), and `target/release/load` (cargo build --release).
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wal_profile  # noqa: E402  (the throwaway cluster and the demo server)

LOAD = "target/release/load"
# The engine's own calls, as the pipeline makes them; none of them calls another.
ENGINE = (
    "bulk_contacts::engine::Engine::read",
    "bulk_contacts::batch::Batch::keys",
    "bulk_contacts::screen::<impl bulk_contacts::batch::Batch>::screen",
    "bulk_contacts::screen::Screened::validation_keys",
    "bulk_contacts::screen::Screened::evaluate",
    "bulk_contacts::response::Response::summary",
)
PARTS = {
    "write plan (`WritePlan::new`)": ("bulk_contacts::writes::WritePlan::new",),
    "`COPY` rows (`CopyRows::row`)": ("bulk_contacts_server::store::postgres::CopyRows::row",),
    "rows read (the driver's `RowStream`)": (
        "<tokio_postgres::query::RowStream as futures_core::stream::Stream>::poll_next",),
    "merge (`applied_to`)": ("bulk_contacts::writes::CustomFieldsUpdate::applied_to",),
}
ROW = re.compile(r"^\s+([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(.*)$")
ENGINE_LINE = re.compile(r"engine alone, in-process, one batch of \d+: median ([\d.]+) ms")


def build():
    target = os.path.join("target", "frame-pointers")
    env = dict(os.environ, RUSTFLAGS="-C force-frame-pointers=yes")
    subprocess.run(["cargo", "build", "--release", "-p", "bulk-contacts-server", "--bin",
                    "bulk-contacts-server", "--target-dir", target], env=env, check=True)
    return os.path.join(target, "release", "bulk-contacts-server")


def proc_times(pid):
    """(user + system ticks split as (user, system), voluntary + involuntary switches of every
    thread) of the process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                switches += sum(int(line.split(":")[1]) for line in f if "ctxt_switches" in line)
        except OSError:
            pass  # a thread that ended between the listing and the read
    return int(fields[11]), int(fields[12]), switches


def children_shares(report):
    """Each symbol's share with its callees (summed over its monomorphised copies)."""
    shares = {}
    for line in report.splitlines():
        match = ROW.match(line)
        if match:
            symbol = match.group(3).strip()
            shares[symbol] = shares.get(symbol, 0.0) + float(match.group(1))
    return shares


def kernel_share(data):
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "dso", "-g",
                             "none", "--no-children"], capture_output=True, text=True,
                            check=True).stdout
    for line in report.splitlines():
        if "[kernel.kallsyms]" in line:
            return float(line.split("%")[0])
    return 0.0


def phase(server, args, requests, clients, extra, revisions, data):
    """One phase on a fresh cluster: returns (user ms, system ms, switches per batch, shares,
    engine alone ms)."""
    hz = os.sysconf("SC_CLK_TCK")
    cluster = wal_profile.Cluster()
    try:
        with wal_profile.demo_server(server, cluster.url(), load=LOAD, args=args) as (process, addr):
            load = [LOAD, "--addr", addr]
            wal_profile.load_batches(load, 20, "--offset", "910000", binary=server)
            if revisions:  # the phones exist before the re-imports that are measured
                wal_profile.load_batches(load, requests, "--clients", str(clients),
                                         binary=server)
            u0, s0, c0 = proc_times(process.pid)
            out = wal_profile.load_batches(load, requests, "--clients", str(clients),
                                           *extra(1), binary=server)
            u1, s1, c1 = proc_times(process.pid)
            engine = float(ENGINE_LINE.search(out).group(1))
            perf = subprocess.Popen(["perf", "record", "-q", "-F", "4999", "-e", "cpu-clock",
                                     "--call-graph", "fp", "-p", str(process.pid), "-o", data],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
            wal_profile.load_batches(load, requests, "--clients", str(clients), *extra(2),
                                     binary=server)
            perf.send_signal(2)
            perf.wait()
    finally:
        cluster.stop()
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--children", "--sort",
                             "sym", "-g", "none"], capture_output=True, text=True,
                            check=True).stdout
    shares = children_shares(report)
    per = 1000 / hz / requests
    return (u1 - u0) * per, (s1 - s0) * per, (c1 - c0) / requests, shares, \
        kernel_share(data), engine


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="a release server built with frame pointers")
    parser.add_argument("--requests", type=int, default=300, choices=range(1, 1001),
                        metavar="N (1-1000)")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--perf-data", default="target/frame-pointers/perf.data")
    parser.add_argument("--server-args", default="", help="more server arguments")
    args = parser.parse_args()
    server = args.server or build()
    os.makedirs(os.path.dirname(args.perf_data) or ".", exist_ok=True)
    phases = (
        # New contacts: each run its own million numbers (warm-up and readiness at 900000+).
        ("new contacts", False, lambda run: ["--offset", str(run * 1_000_000)]),
        # The re-import: the phones of the first run, custom fields changed each time.
        ("re-import", True, lambda run: ["--revision", str(run)]),
    )
    print(f"{args.requests} batches of 1000 contacts, {args.clients} client(s), server "
          f"arguments {args.server_args.split()}, per batch\n")
    print("| phase | server user + system ms | engine alone ms | server ÷ engine alone "
          "| switches | engine's share | kernel | " + " | ".join(PARTS) + " | the rest "
          "| (engine + kernel) ÷ engine |")
    print("|---" * (9 + len(PARTS)) + "|")
    for name, revisions, extra in phases:
        user, system, switches, shares, kernel, engine = phase(
            server, args.server_args.split(), args.requests, args.clients, extra, revisions,
            args.perf_data)
        mine = sum(shares.get(symbol, 0.0) for symbol in ENGINE)
        parts = [sum(shares.get(s, 0.0) for s in symbols) for symbols in PARTS.values()]
        rest = 100.0 - mine - kernel - sum(parts)

        def cell(share):
            return f"{share:.1f} % ({share / mine:.2f}×)"
        print(f"| {name} | {user:.2f} + {system:.2f} = {user + system:.2f} | {engine:.2f} | "
              f"{(user + system) / engine:.1f}× | {switches:.1f} | {mine:.1f} % | "
              + " | ".join(cell(share) for share in [kernel, *parts, rest])
              + f" | {(mine + kernel) / mine:.2f}× |", flush=True)
    print("\nEach part: its share of the server's CPU samples (with its callees), and in "
          "brackets that share ÷ the engine's share. The last column is the least the server "
          "can cost against its own engine while the kernel's part stays: the goal (≤ 2× the "
          "engine alone) needs everything but the engine under 1× the engine's share.")


if __name__ == "__main__":
    main()
