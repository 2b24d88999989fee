#!/usr/bin/env python3
"""Where PostgreSQL's WAL and time go when the server writes batches (issue 21).

    python3 server/scripts/wal_profile.py [BIN_DIR] [--requests N]

BIN_DIR holds the release binaries `bulk-contacts-server` and `load` (default
target/release). The script starts a throwaway PostgreSQL cluster (as the `postgres` user when
run as root; fsync, synchronous_commit and full_page_writes off, as the load suite's cluster),
one server over it with the demo account, then through `load`:

1. a warm-up of 5 batches (pages and prepared statements in place);
2. N batches of 1000 new contacts (the load suite's batch: signup date, IP, URL, two custom
   fields, half with journeys), one client;
3. the same N batches again with changed custom fields (the re-import case).

With --fpw, full-page writes are on and each run starts right after a CHECKPOINT (the worst
case of a production primary: the first change of every page after a checkpoint logs the
whole page); --wal-compression compresses those images. For each of 2 and 3 it prints the
WAL bytes per batch (and the share of full-page images) by resource manager and record kind, and
by relation (`pg_waldump` over the LSN range of the run, records mapped to relations through
`pg_class.relfilenode`), and the statements by total time (`pg_stat_statements`, with their
WAL bytes). Everything is thrown away at the end.
"""

import argparse
import collections
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PG_BINS = sorted(
    (d for d in ("/usr/lib/postgresql/%s/bin" % v for v in range(20, 9, -1)) if os.path.isdir(d)),
    reverse=True,
)


def pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    for directory in PG_BINS:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    sys.exit(f"{name}: not found on PATH nor in /usr/lib/postgresql/*/bin")


def as_postgres(args):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + args
    return args


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, settings=""):
        self.root = tempfile.mkdtemp(prefix="bulk-contacts-walprof-", dir="/tmp")
        if os.geteuid() == 0:
            subprocess.run(["chown", "postgres:", self.root], check=True)
        self.data = os.path.join(self.root, "data")
        self.port = free_port()
        subprocess.run(
            as_postgres([pg_bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                         "-E", "UTF8", "--locale=C", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL)
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100 "
                   "-c max_locks_per_transaction=512 -c shared_buffers=128MB "
                   "-c shared_preload_libraries=pg_stat_statements "
                   "-c pg_stat_statements.track=all " + settings)
        subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "-D", self.data, "-o", options, "-w", "-l",
                         os.path.join(self.root, "log"), "start"]),
            check=True, stdout=subprocess.DEVNULL)
        self.psql("postgres", "CREATE DATABASE load")
        self.psql("load", "CREATE EXTENSION pg_stat_statements")

    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/load"

    def psql(self, db, sql):
        out = subprocess.run(
            [pg_bin("psql"), "-X", "-q", "-A", "-t", "-F", "\t", "-h", "127.0.0.1", "-p",
             str(self.port), "-U", "postgres", "-d", db, "-c", sql],
            check=True, capture_output=True, text=True)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def lsn(self):
        return self.psql("load", "SELECT pg_current_wal_lsn()")[0][0]

    def cpu_seconds(self):
        """CPU time of PostgreSQL: the postmaster with its exited children, and its live
        children (as the load suite reads it)."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        hz = os.sysconf("SC_CLK_TCK")

        def fields(pid):
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()

        total = 0
        stat = fields(postmaster)
        total += sum(int(stat[i]) for i in (11, 12, 13, 14))
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = fields(entry)
                except OSError:
                    continue
                if int(stat[1]) == postmaster:
                    total += int(stat[11]) + int(stat[12])
        return total / hz

    def stop(self):
        subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate",
                                    "stop"]), stdout=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)


RECORD = re.compile(r"rmgr: (\S+)\s+len \(rec/tot\):\s+(\d+)/\s*(\d+),.*?desc: (\S+)(.*)$")
REL = re.compile(r"rel \d+/\d+/(\d+)")


@contextlib.contextmanager
def demo_server(binary, url, pool_size=8, load="target/release/load", args=()):
    """The server `binary` (with the further arguments `args`) over PostgreSQL at `url` with
    the demo account, listening on a free local port, once it has answered one batch of `load`
    (offset 900000) with 200: yields its process and its address; killed on leaving."""
    port = free_port()
    process = subprocess.Popen(
        [binary, "--database-url", url, "--seed-demo", "--pool-size", str(pool_size),
         "--listen", f"127.0.0.1:{port}", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        addr = f"127.0.0.1:{port}"
        for _ in range(200):
            if subprocess.run([load, "--addr", addr, "--requests", "1", "--offset", "900000"],
                              capture_output=True, text=True).stdout.count("{200: 1}"):
                break
            time.sleep(0.1)
        else:
            sys.exit(f"{binary}: no batch answered 200 within 20 s")
        yield process, addr
    finally:
        process.kill()
        process.wait()


def load_batches(load, requests, *extra, binary="the server"):
    """Runs `load` (the load tool and its address, as a list) for `requests` batches with the
    arguments `extra`; exits unless every batch was answered 200. Returns its output."""
    run = subprocess.run(load + ["--requests", str(requests), *extra],
                         capture_output=True, text=True, check=True)
    if f"{{200: {requests}}}" not in run.stdout:
        sys.exit(f"{binary}: not every batch answered 200:\n{run.stdout}")
    return run.stdout


def wal_by_kind(cluster, start, end, batches):
    """pg_waldump over [start, end): bytes per batch by (rmgr, kind) and by relation."""
    names = {row[0]: row[1] for row in cluster.psql(
        "load", "SELECT pg_relation_filenode(oid), relname FROM pg_class "
                "WHERE pg_relation_filenode(oid) IS NOT NULL")}
    dump = subprocess.run(
        as_postgres([pg_bin("pg_waldump"), "-p", os.path.join(cluster.data, "pg_wal"),
                     "-s", start, "-e", end]),
        capture_output=True, text=True)
    kinds = collections.Counter()
    counts = collections.Counter()
    relations = collections.Counter()
    total = 0
    images = 0
    for line in dump.stdout.splitlines():
        match = RECORD.search(line)
        if not match:
            continue
        rmgr, record, size = match.group(1), int(match.group(2)), int(match.group(3))
        kind, rest = match.group(4), match.group(5)
        total += size
        images += size - record
        kinds[(rmgr, kind)] += size
        counts[(rmgr, kind)] += 1
        rel = REL.search(rest)
        relations[names.get(rel.group(1), rel.group(1)) if rel else f"({rmgr})"] += size
    print(f"  WAL per batch: {total / batches / 1024:.1f} kB "
          f"({total / batches:.0f} bytes; records per batch "
          f"{sum(counts.values()) / batches:.0f}; full-page images {images / batches / 1024:.1f} kB)")
    print("  by record kind (bytes per batch, records per batch):")
    for (rmgr, kind), size in kinds.most_common(14):
        print(f"    {rmgr:>12} {kind:<22} {size / batches:>9.0f}  {counts[(rmgr, kind)] / batches:>6.0f}")
    print("  by relation (bytes per batch):")
    for name, size in relations.most_common(14):
        print(f"    {name:<36} {size / batches:>9.0f}")


def statements(cluster, batches):
    rows = cluster.psql(
        "load",
        "SELECT round(total_exec_time::numeric, 1), calls, wal_bytes, wal_records, "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'load') "
        "ORDER BY total_exec_time DESC LIMIT 14")
    print("  statements (ms per batch, calls, WAL bytes per batch):")
    for total, calls, wal, _records, query in rows:
        print(f"    {float(total) / batches:>7.2f} {int(calls):>5} {int(wal) / batches:>9.0f}  {query}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin_dir", nargs="?", default="target/release")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--fpw", action="store_true",
                        help="full_page_writes on and a CHECKPOINT before each run: the WAL "
                             "of a production primary right after a checkpoint")
    parser.add_argument("--wal-compression", default="off",
                        help="wal_compression (off, pglz, lz4, zstd): compresses full-page images")
    parser.add_argument("--sql", default="",
                        help="SQL run on the migrated database before the batches (a variant)")
    args = parser.parse_args()
    server_bin = os.path.join(args.bin_dir, "bulk-contacts-server")
    load_bin = os.path.join(args.bin_dir, "load")
    for path in (server_bin, load_bin):
        if not os.path.isfile(path):
            sys.exit(f"{path}: missing (cargo build --release -p bulk-contacts-server "
                     "-p bulk-contacts-harness)")
    settings = f"-c wal_compression={args.wal_compression}"
    if args.fpw:
        settings += " -c full_page_writes=on"
    cluster = Cluster(settings)
    server = None
    try:
        port = free_port()
        server = subprocess.Popen(
            [server_bin, "--database-url", cluster.url(), "--seed-demo", "--pool-size", "2",
             "--listen", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        addr = f"127.0.0.1:{port}"

        def load(*extra):
            subprocess.run([load_bin, "--addr", addr, "--clients", "1", *extra], check=True,
                           stdout=subprocess.DEVNULL)

        n = args.requests
        load("--requests", "5", "--offset", "5000000")
        if args.sql:
            cluster.psql("load", args.sql)
        sizes_before = dict((r[0], int(r[1])) for r in cluster.psql(
            "load", "SELECT relname, pg_relation_size(oid) FROM pg_class "
                    "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i')"))
        for title, extra in (
            (f"{n} batches of 1000 new contacts", ["--offset", "0"]),
            (f"the same {n} batches again, changed custom fields (re-import)",
             ["--offset", "0", "--revision", "1"]),
        ):
            cluster.psql("load", "SELECT pg_stat_statements_reset()")
            if args.fpw:
                cluster.psql("load", "CHECKPOINT")
            start = cluster.lsn()
            cpu = cluster.cpu_seconds()
            load("--requests", str(n), *extra)
            cpu = cluster.cpu_seconds() - cpu
            end = cluster.lsn()
            print(f"{title}:")
            print(f"  PostgreSQL CPU per batch: {cpu / n * 1000:.2f} ms")
            wal_by_kind(cluster, start, end, n)
            statements(cluster, n)
            if not extra[-1] == "1":
                sizes = cluster.psql(
                    "load", "SELECT relname, pg_relation_size(oid) FROM pg_class "
                            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i') "
                            "ORDER BY 2 DESC")
                print("  relation growth per batch (bytes):")
                for name, size in sizes:
                    grown = (int(size) - sizes_before.get(name, 0)) / n
                    if grown:
                        print(f"    {name:<36} {grown:>9.0f}")
    finally:
        if server:
            server.kill()
            server.wait()
        cluster.stop()


if __name__ == "__main__":
    main()
