#!/usr/bin/env python3
"""Memory that returns: starts the server binary (given) over an in-memory store with the demo
account, sends BURSTS bursts of CLIENTS valid ~3.9 MB batches at once (one connection each,
the whole request written before reading, as burst.py does), and prints after each burst the
answers, the server's resident memory (VmRSS, 1 s after the burst) and its peak (VmHWM).
Goals (issue 19): peak ≤ the README's bound (506 MB) and ≤ 600 MB; RSS after the last burst
≤ 1.3 × RSS after the first. Exit status 1 when missed.

    python3 server/scripts/bursts.py target/release/bulk-contacts-server [BURSTS] [CLIENTS] [ARGS...]
"""
import collections
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from post import KEY, post  # noqa: E402

BOUND_MB = 506


def body():
    import json
    note = "x" * 3800
    contacts = [{"phone_number": "+1415555%04d" % i, "list_number": "+18005551234",
                 "use_journeys": True, "custom_fields": {"note": note}} for i in range(1000)]
    return json.dumps({"contacts": contacts}, separators=(",", ":")).encode()


def memory(pid):
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main():
    binary = sys.argv[1]
    bursts = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    clients = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    server = subprocess.Popen([binary, "--seed-demo", "--listen", "127.0.0.1:0",
                               "--log-format", "text"] + sys.argv[4:],
                              stderr=subprocess.PIPE, text=True)
    try:
        for line in server.stderr:
            if line.startswith("listening on http://"):
                addr = line.split()[2][len("http://"):]
                break
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        payload = body()
        headers = {"Content-Type": "application/json", "X-Api-Key": KEY}
        after = []
        for n in range(bursts):
            results = [None] * clients
            gate = threading.Barrier(clients)

            def one(i):
                gate.wait()
                reply = post(addr, payload, headers, timeout=120)
                results[i] = reply.get("status") or reply.get("error")

            threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(1)
            rss, peak = memory(server.pid)
            after.append(rss)
            print("burst %2d: %s; RSS %.0f MB, peak %.0f MB"
                  % (n + 1, dict(collections.Counter(results)), rss, peak))
            sys.stdout.flush()
        ok = peak <= min(BOUND_MB, 600) and after[-1] <= 1.3 * after[0]
        print("goals: %s (peak %.0f MB, RSS after burst 1 %.0f MB, after burst %d %.0f MB: "
              "%.2fx)" % ("met" if ok else "MISSED", peak, after[0], bursts, after[-1],
                          after[-1] / after[0]))
        sys.exit(0 if ok else 1)
    finally:
        server.terminate()
        server.wait(timeout=30)


main()
