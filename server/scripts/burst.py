#!/usr/bin/env python3
"""The memory-bound measurement of server/README.md: starts the server binary (given) over
an in-memory store, sends CLIENTS valid ~4 MB batches at once (one connection each, the whole
request written as fast as the socket takes it), and prints the statuses and the server's
peak RSS (VmHWM). Standard library only.

    python3 server/scripts/burst.py target/release/bulk-contacts-server [CLIENTS] [ARGS...]
"""
import collections
import json
import socket
import subprocess
import sys
import threading

SAMPLE = []  # success_count of the 200 answers
KEY = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"


def body():
    note = "x" * 3800
    contacts = [
        {"phone_number": "+1415555%04d" % i, "list_number": "+18005551234",
         "use_journeys": True, "custom_fields": {"note": note}}
        for i in range(1000)
    ]
    return json.dumps({"contacts": contacts},
                      separators=(",", ":")).encode()


def send(addr, payload, results, index):
    head = ("POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (KEY, len(payload))).encode()
    try:
        with socket.create_connection(addr, timeout=120) as s:
            try:
                s.sendall(head + payload)
            except OSError:
                pass  # an early answer closed our side: read it below
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        results[index] = data.split(b" ", 2)[1].decode() if data else "no answer"
        if results[index] == "200":
            SAMPLE.append(json.loads(data.split(b"\r\n\r\n", 1)[1])["success_count"])
    except OSError as error:
        results[index] = type(error).__name__


def main():
    binary = sys.argv[1]
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    server = subprocess.Popen(
        [binary, "--seed-demo", "--listen", "127.0.0.1:0", "--log-format", "text"]
        + sys.argv[3:], stderr=subprocess.PIPE, text=True)
    try:
        for line in server.stderr:
            if line.startswith("listening on http://"):
                host, port = line.split()[2][len("http://"):].rsplit(":", 1)
                break
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        payload = body()
        results = [None] * clients
        threads = [threading.Thread(target=send, args=((host, int(port)), payload, results, i))
                   for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with open("/proc/%d/status" % server.pid) as f:
            peak = [l for l in f if l.startswith("VmHWM")][0].split()[1]
        print("body %d bytes, %d clients: %s (accepted contacts per 200: %s); "
              "server peak RSS %.0f MB" % (
                  len(payload), clients, dict(collections.Counter(results)),
                  sorted(set(SAMPLE)), int(peak) / 1024))
    finally:
        server.terminate()
        server.wait(timeout=30)


main()
