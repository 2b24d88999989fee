#!/usr/bin/env python3
"""The store-fault goals of server/README.md (*A store that cannot be reached*), measured on the
server binary (given) over a throwaway PostgreSQL cluster (initdb in /tmp, as the `postgres`
user when run as root): requests on new connections, one every 100 ms, through five phases —
up, database stopped (`pg_ctl stop`), started again, frozen (SIGSTOP to the postmaster and its
backends) for FROZEN seconds, thawed. Prints, per phase, the statuses, whether every 503 had
Retry-After, and the slowest answer; exits 1 if a goal is missed: while stopped or frozen,
every answer 200 or 503 + Retry-After within the store timeout + 1 s (a request sent just
before the fault, or answered after the thaw within the timeout, gets 200); the last 10
requests after each return 200, with the same server process.

    python3 server/scripts/store_faults.py target/release/bulk-contacts-server [--frozen 30]
        [--store-timeout 5]
"""
import argparse
import collections
import glob
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

KEY = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"
HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "..", "examples", "request.json"), "rb") as f:
    REQUEST = f.read()


def pg_bin():
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    return sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))[-1]


def as_postgres(args):
    return (["runuser", "-u", "postgres", "--"] + args) if os.geteuid() == 0 else args


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
    pids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            pids.append(int(stat.split("/")[2]))
    return pids


def post(addr):
    started = time.monotonic()
    host, port = addr.rsplit(":", 1)
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        connection.request("POST", "/v2/contacts/bulk", body=REQUEST, headers={
            "X-Api-Key": KEY, "Content-Type": "application/json"})
        reply = connection.getresponse()
        reply.read()
        result = (reply.status, reply.getheader("Retry-After"))
        connection.close()
    except OSError as error:
        result = (type(error).__name__, None)
    return result, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--frozen", type=float, default=30)
    parser.add_argument("--store-timeout", type=float, default=5)
    args = parser.parse_args()
    bin_dir = pg_bin()
    root = tempfile.mkdtemp(prefix="store-faults-", dir="/tmp")
    os.chmod(root, 0o777)
    data, log, port = os.path.join(root, "data"), os.path.join(root, "log"), free_port()
    opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (port, root)
    ctl = lambda *a: subprocess.run(as_postgres([os.path.join(bin_dir, "pg_ctl"), *a]),  # noqa: E731
                                    check=True, capture_output=True)
    subprocess.run(as_postgres([os.path.join(bin_dir, "initdb"), "-D", data, "-U", "postgres",
                                "-A", "trust", "--no-sync"]), check=True, capture_output=True)
    ctl("start", "-w", "-D", data, "-l", log, "-o", opts)
    server = None
    frozen = []
    try:
        server = subprocess.Popen(
            [args.binary, "--database-url", "postgres://postgres@127.0.0.1:%d/postgres" % port,
             "--seed-demo", "--listen", "127.0.0.1:0", "--log-format", "text",
             "--store-timeout", str(args.store_timeout)], stderr=subprocess.PIPE, text=True)
        for line in server.stderr:
            if line.startswith("listening on http://"):
                addr = line.split()[2][len("http://"):]
                break
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        results = collections.defaultdict(list)
        phase = ["up"]

        def load(stop):
            # One request every 100 ms, each on its own thread (a slow answer does not delay
            # the next request).
            threads = []
            while not stop.is_set():
                name = phase[0]
                t = threading.Thread(target=lambda n=name: results[n].append(post(addr)))
                t.start()
                threads.append(t)
                time.sleep(0.1)
            for t in threads:
                t.join()

        stop = threading.Event()
        loader = threading.Thread(target=load, args=(stop,))
        loader.start()
        time.sleep(3)
        phase[0] = "stopped"
        ctl("stop", "-w", "-m", "fast", "-D", data)
        time.sleep(10)
        phase[0] = "started again"
        ctl("start", "-w", "-D", data, "-l", log, "-o", opts)
        time.sleep(5)
        with open(os.path.join(data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        os.kill(postmaster, 19)  # SIGSTOP
        frozen = [postmaster] + children(postmaster)
        for pid in frozen[1:]:
            os.kill(pid, 19)
        phase[0] = "frozen"
        time.sleep(args.frozen)
        phase[0] = "thawed"
        for pid in reversed(frozen):
            os.kill(pid, 18)  # SIGCONT
        frozen = []
        time.sleep(5)
        stop.set()
        loader.join()
        bound = args.store_timeout + 1
        ok = True
        for name in ["up", "stopped", "started again", "frozen", "thawed"]:
            replies = results[name]
            statuses = collections.Counter(r[0][0] for r in replies)
            retry = all(r[0][1] == "1" for r in replies if r[0][0] == 503)
            slowest = max(r[1] for r in replies)
            within = sum(1 for r in replies if r[1] <= bound)
            print("%-14s %3d requests: %s; every 503 with Retry-After: %s; slowest %.2f s; "
                  "%d/%d within %.0f s" % (name, len(replies), dict(statuses), retry, slowest,
                                           within, len(replies), bound))
            # A request sent just before the stop, or in the last seconds of the freeze (then
            # answered once thawed, within the timeout), may still get 200.
            if name in ("stopped", "frozen"):
                ok = (ok and set(statuses) <= {200, 503} and statuses[503] > 0 and retry
                      and within == len(replies))
        back = results["started again"][-10:] + results["thawed"][-10:]
        ok = ok and all(r[0][0] == 200 for r in back)
        print("goals: %s (store timeout %.0f s, frozen %.0f s)"
              % ("met" if ok else "MISSED", args.store_timeout, args.frozen))
        sys.exit(0 if ok else 1)
    finally:
        for pid in reversed(frozen):
            os.kill(pid, 18)
        if server:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run(as_postgres([os.path.join(bin_dir, "pg_ctl"), "stop", "-m", "immediate",
                                    "-D", data]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


main()
