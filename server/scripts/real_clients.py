#!/usr/bin/env python3
"""The early-answer goals of server/README.md (*Every answer can be read*), measured with real
clients against the server binary (given), over an in-memory store with the demo account:

* `wrong-key`: 100 requests of 4 MB with a wrong key through `http.client` (10 at a time):
  how many read their 401;
* `burst`: 300 valid 4 MB batches at once through `http.client`, each on its own connection:
  how many read 200, 503, or failed (broken pipe, reset);
* `slow-uploads`: 32 uploads of one account trickling their bodies, then 20 requests of
  another account: how many get 200;
* `clients`: 401, 413, 415 and 503 answered before a 4–6 MB body, read by `http.client`,
  `requests` (when importable) and Node's `http` (when `node` is on PATH).

    python3 server/scripts/real_clients.py target/release/bulk-contacts-server [GOAL...]

Prints one line per goal. Standard library only (`requests` optional).
"""
import collections
import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from post import KEY, padded, post  # noqa: E402

WRONG = "trk_00000000000000000000000000000000"
HERE = os.path.dirname(os.path.abspath(__file__))


def start(binary, *args):
    server = subprocess.Popen(
        [binary, "--seed-demo", "--listen", "127.0.0.1:0", "--log-format", "text", *args],
        stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        if line.startswith("listening on http://"):
            addr = line.split()[2][len("http://"):]
            break
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    return server, addr


def stop(server):
    server.terminate()
    server.wait(timeout=30)


def batch():
    note = "x" * 3800
    contacts = [{"phone_number": "+1415555%04d" % i, "list_number": "+18005551234",
                 "use_journeys": True, "custom_fields": {"note": note}} for i in range(1000)]
    return json.dumps({"contacts": contacts}, separators=(",", ":")).encode()


def outcome(reply):
    return reply.get("status") or reply.get("error")


def wrong_key(binary):
    server, addr = start(binary)
    try:
        body = padded(4_000_000)
        headers = {"Content-Type": "application/json", "X-Api-Key": WRONG}
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            replies = list(pool.map(lambda _: post(addr, body, headers), range(100)))
        counts = collections.Counter(outcome(r) for r in replies)
        print("wrong-key: 100 x 4 MB with a wrong key through http.client: %s"
              % dict(counts))
        return counts[401] == 100
    finally:
        stop(server)


def burst(binary):
    server, addr = start(binary)
    try:
        body = batch()
        headers = {"Content-Type": "application/json", "X-Api-Key": KEY}
        gate = threading.Barrier(300)

        def one(_):
            gate.wait()
            return post(addr, body, headers, timeout=120)

        with concurrent.futures.ThreadPoolExecutor(300) as pool:
            replies = list(pool.map(one, range(300)))
        counts = collections.Counter(outcome(r) for r in replies)
        print("burst: 300 x %.1f MB batches at once through http.client: %s"
              % (len(body) / 1e6, dict(counts)))
        return set(counts) <= {200, 503}
    finally:
        stop(server)


def hold_slot(addr):
    """One request mid-body, so that a server with --max-in-flight 1 sheds the next."""
    host, port = addr.rsplit(":", 1)
    held = socket.create_connection((host, int(port)))
    held.sendall(("POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: %s\r\n"
                  "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{" % KEY).encode())
    time.sleep(0.3)
    return held


def node(addr, key, content_type, size):
    out = subprocess.run(["node", os.path.join(HERE, "post.mjs"), addr, key, content_type,
                          str(size)], capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout)


def clients(binary):
    server, addr = start(binary, "--max-in-flight", "1", "--body-timeout", "600",
                         "--body-idle-timeout", "600")
    ok = True
    try:
        cases = [("401 wrong key", WRONG, "application/json", 4_000_000, 401),
                 ("401 no key", "", "application/json", 4_000_000, 401),
                 ("415 text/csv", KEY, "text/csv", 4_000_000, 415),
                 ("413 6 MB", KEY, "application/json", 6_000_000, 413)]
        names = ["http.client"]
        try:
            import requests  # noqa: F401
            names.append("requests")
        except ImportError:
            print("clients: requests not importable, skipped")
        has_node = shutil.which("node") is not None
        if has_node:
            names.append("node")
        held = None
        for label, key, content_type, size, status in cases + [
                ("503 shed", KEY, "application/json", 4_000_000, 503)]:
            if status == 503:
                held = hold_slot(addr)
            for name in names:
                if name == "node":
                    reply = node(addr, key, content_type, size)
                else:
                    headers = {"Content-Type": content_type}
                    if key:
                        headers["X-Api-Key"] = key
                    reply = post(addr, padded(size), headers, client=name)
                good = reply.get("status") == status
                if status == 503:
                    good = good and reply.get("retry_after") == "1"
                ok = ok and good
                print("clients: %-13s %-11s -> %s" % (label, name, outcome(reply)))
        if held:
            held.close()
        return ok
    finally:
        stop(server)


def slow_uploads(binary):
    """32 uploads of the demo account trickling their bodies (one byte every 5 s) against
    another account's 20 requests, one after the other."""
    import hashlib
    import sqlite3
    import tempfile
    other = "trk_OTHER000000000000000000000000000"
    db = os.path.join(tempfile.mkdtemp(prefix="slow-uploads-"), "contacts.db")
    server, _ = start(binary, "--db", db)
    stop(server)
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO accounts (name, billing) VALUES ('other', 'active')")
        account = c.execute("SELECT id FROM accounts WHERE name = 'other'").fetchone()[0]
        c.execute("INSERT INTO api_keys (key_sha256, account_id) VALUES (?, ?)",
                  (hashlib.sha256(other.encode()).hexdigest(), account))
        c.execute("INSERT INTO sending_lists (account_id, list_number, welcome_journeys) "
                  "VALUES (?, '+18005551234', 1)", (account,))
    server, addr = start(binary, "--db", db)
    host, port = addr.rsplit(":", 1)
    with open(os.path.join(HERE, "..", "..", "examples", "request.json"), "rb") as f:
        request = f.read()
    try:
        slow = []
        for _ in range(32):
            s = socket.create_connection((host, int(port)))
            s.sendall(("POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{"
                       % (KEY, len(request))).encode())
            slow.append(s)
        time.sleep(1)
        headers = {"Content-Type": "application/json", "X-Api-Key": other}
        replies = [post(addr, request, headers) for _ in range(20)]
        counts = collections.Counter(outcome(r) for r in replies)
        print("slow-uploads: 32 slow uploads of one account; another account's 20 requests: %s"
              % dict(counts))
        for s in slow:
            s.close()
        return counts[200] == 20
    finally:
        stop(server)


GOALS = {"wrong-key": wrong_key, "burst": burst, "clients": clients,
         "slow-uploads": slow_uploads}


def main():
    binary = sys.argv[1]
    goals = sys.argv[2:] or list(GOALS)
    results = {goal: GOALS[goal](binary) for goal in goals}
    print("goals: %s" % ", ".join("%s %s" % (g, "met" if r else "MISSED")
                                  for g, r in results.items()))
    sys.exit(0 if all(results.values()) else 1)


main()
