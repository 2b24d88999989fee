#!/usr/bin/env python3
"""Issue 19's idle-flood goal, measured against the server binary (given): started under an
open-files limit of 1,024 (`ulimit -n 1024`, soft and hard), over an in-memory store with the
demo account; a flood client keeps 2,000 sockets open to it — every other one sending half a
request head, the rest nothing — and re-opens each as soon as the server closes it (or once
it is 12 s old: past the server's 10 s header timeout, a socket still open was never
accepted, dropped by a full accept queue without the client being told); after a
few seconds of flood, 20 legitimate requests, one after another, each on a new connection:
the documented batch (examples/request.json) with the demo key through `http.client`, timed
from the connect to the whole 200 answer.

    python3 server/scripts/idle_flood.py target/release/bulk-contacts-server
        [--flood 2000] [--requests 20] [--nofile 1024] [--warmup 3] [--max-age 12]
        [--timeout 15]
        [-- SERVER OPTIONS...]

Prints each request's latency, the flood's counts, the server's most descriptors seen open
(/proc/PID/fd), and the summary: how many got their 200 within 1 s. The flood runs in a
child process of its own (this script with `--flood-child`), so its loop never holds up the
timed client; it raises its own soft limit of open files (`resource`) to fit its sockets.
Standard library only.
"""
import argparse
import errno
import http.client
import os
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from post import KEY  # noqa: E402

REQUEST = os.path.join(HERE, "..", "..", "examples", "request.json")
HALF_HEAD = b"POST /v2/contacts/bulk HTTP/1.1\r\nHost: flood\r\nX-Api-"


def raise_open_files(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def flood_child(addr, sockets, max_age):
    """Keeps `sockets` connections open to `addr`, re-opening each one the server closes —
    and each one older than `max_age` seconds: past the server's header timeout, a socket
    still open was never accepted (its handshake completed while the accept queue was full,
    and the server dropped it without telling the client); prints `open=… opened=…
    closed_by_server=… stale=… failed=…` every second, and at SIGTERM."""
    raise_open_files(sockets + 256)
    host, port = addr.rsplit(":", 1)
    target = (host, int(port))
    selector = selectors.DefaultSelector()
    counts = {"opened": 0, "closed_by_server": 0, "stale": 0, "failed": 0}
    born = {}  # slot -> (socket, when it was opened)
    retry = []  # slots whose socket could not be made (out of descriptors): try again
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

    def open_slot(slot):
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            counts["failed"] += 1
            retry.append(slot)
            return
        sock.setblocking(False)
        code = sock.connect_ex(target)
        if code not in (0, errno.EINPROGRESS):
            counts["failed"] += 1
            sock.close()
            retry.append(slot)
            return
        selector.register(sock, selectors.EVENT_WRITE, (slot, False))
        born[slot] = (sock, time.monotonic())

    for slot in range(sockets):
        open_slot(slot)
    last = time.monotonic()
    while not stop:
        for key, _ in selector.select(timeout=0.05):
            sock, (slot, connected) = key.fileobj, key.data
            if not connected:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    counts["failed"] += 1
                    selector.unregister(sock)
                    sock.close()
                    open_slot(slot)
                    continue
                counts["opened"] += 1
                if slot % 2:
                    try:
                        sock.send(HALF_HEAD)
                    except OSError:
                        pass
                selector.modify(sock, selectors.EVENT_READ, (slot, True))
                continue
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                counts["closed_by_server"] += 1
                selector.unregister(sock)
                sock.close()
                open_slot(slot)
        if retry:
            pending, retry[:] = list(retry), []
            for slot in pending:
                open_slot(slot)
        now = time.monotonic()
        if now - last >= 1:
            last = now
            for slot, (sock, opened) in list(born.items()):
                if now - opened > max_age and sock.fileno() >= 0:
                    counts["stale"] += 1
                    selector.unregister(sock)
                    sock.close()
                    open_slot(slot)
            report(selector, counts)
    report(selector, counts)


def report(selector, counts):
    connected = sum(1 for key in selector.get_map().values() if key.data[1])
    print("open=%d opened=%d closed_by_server=%d stale=%d failed=%d"
          % (connected, counts["opened"], counts["closed_by_server"], counts["stale"],
             counts["failed"]), flush=True)


def start(binary, nofile, extra):
    command = ["bash", "-c", 'ulimit -n %d && exec "$0" "$@"' % nofile, binary,
               "--seed-demo", "--listen", "127.0.0.1:0", "--log-format", "text", *extra]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in server.stderr:
        lines.append(line.rstrip())
        if line.startswith("listening on http://"):
            addr = line.split()[2][len("http://"):]
            break
    else:
        sys.exit("the server did not start: %s" % "\n".join(lines))
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    return server, addr


def open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as limits:
        for line in limits:
            if line.startswith("Max open files"):
                return " ".join(line.split()[3:5])
    return "?"


def descriptors(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def legitimate(addr, body, timeout):
    """(status or error name, seconds from the connect to the whole answer)."""
    host, port = addr.rsplit(":", 1)
    started = time.perf_counter()
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        connection.request("POST", "/v2/contacts/bulk", body=body, headers={
            "X-Api-Key": KEY, "Content-Type": "application/json", "Connection": "close"})
        reply = connection.getresponse()
        reply.read()
        outcome = reply.status
        connection.close()
    except Exception as error:  # noqa: BLE001 - the client's failure is the result
        outcome = type(error).__name__
    return outcome, time.perf_counter() - started


def metrics(addr):
    host, port = addr.rsplit(":", 1)
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        connection.close()
    except Exception as error:  # noqa: BLE001
        return {"error": type(error).__name__}
    wanted = ("bulk_contacts_connections_evicted_total", "bulk_contacts_connections_open")
    return {line.split()[0]: line.split()[1] for line in text.splitlines()
            if line.split() and line.split()[0] in wanted}


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--flood-child":
        flood_child(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--flood", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--nofile", type=int, default=1024,
                        help="the server's open-files limit (soft and hard)")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of flood before the first request")
    parser.add_argument("--max-age", type=float, default=12.0,
                        help="the flood re-opens a socket open this long (seconds; past the "
                        "server's header timeout it was never accepted)")
    parser.add_argument("--timeout", type=float, default=15.0,
                        help="the most a request may take before it counts as failed")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    options = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    options.server_options = extra
    with open(REQUEST, "rb") as file:
        body = file.read()

    server, addr = start(options.binary, options.nofile, options.server_options)
    print("server pid %d on %s, open-files limit (soft hard): %s"
          % (server.pid, addr, open_files_limit(server.pid)))
    flood = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--flood-child",
                              addr, str(options.flood), str(options.max_age)], stdout=subprocess.PIPE, text=True)
    last = ["(no report yet)"]
    threading.Thread(target=lambda: [last.__setitem__(0, line.strip()) for line in flood.stdout],
                     daemon=True).start()
    most_fds = [0]
    sampling = [True]

    def sample():
        while sampling[0]:
            most_fds[0] = max(most_fds[0], descriptors(server.pid))
            time.sleep(0.05)
    threading.Thread(target=sample, daemon=True).start()
    try:
        time.sleep(options.warmup)
        print("flood after %.0f s: %s" % (options.warmup, last[0]))
        latencies, outcomes = [], []
        for i in range(options.requests):
            outcome, seconds = legitimate(addr, body, options.timeout)
            outcomes.append(outcome)
            latencies.append(seconds)
            print("request %2d: %s in %.3f s" % (i + 1, outcome, seconds), flush=True)
        print("flood at the end: %s" % last[0])
        alive = server.poll() is None
    finally:
        sampling[0] = False
        flood.send_signal(signal.SIGTERM)
        try:
            flood.wait(timeout=30)
        except subprocess.TimeoutExpired:
            flood.kill()
    print("flood stopped: %s" % last[0])
    print("server: most descriptors open %d; %s; %s" % (
        most_fds[0], "still running" if alive else "EXITED", metrics(addr)))
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    within = sum(1 for outcome, seconds in zip(outcomes, latencies)
                 if outcome == 200 and seconds <= 1.0)
    answered = sum(1 for outcome in outcomes if outcome == 200)
    print("summary: %d/%d got their 200 within 1 s (%d/%d got 200 at all); "
          "median %.3f s, slowest %.3f s (flood %d sockets, server ulimit -n %d)"
          % (within, len(outcomes), answered, len(outcomes), statistics.median(latencies),
             max(latencies), options.flood, options.nofile))


if __name__ == "__main__":
    main()
