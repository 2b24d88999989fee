#!/usr/bin/env python3
"""Before and after, with PostgreSQL a network away: one client's latency per batch when every
byte between the server and PostgreSQL is delayed (issue 21, the pipelined write).

    python3 server/scripts/rtt_ab.py BEFORE_SERVER [AFTER_SERVER] [--delay-ms D]
        [--rounds N] [--requests N]

Loopback answers in microseconds, so round trips saved between the server and PostgreSQL do
not show there. Here each server gets a throwaway cluster (wal_profile.py's) behind a relay
on its own port that holds every chunk, each way, D ms before passing it on (D = 0.5: a
round trip of 1 ms, as between two hosts of one data centre), one server instance with the
demo account over the relay (pool of 8), and, through `target/release/load`: 10 warm-up
batches, then N batches of 1000 new contacts and the same N batches re-imported, one client
at a time. It prints the load tool's latency p50 for both phases, alternating the two
servers between rounds, then a Markdown table of the medians.

The relay keeps each direction's order and delays every chunk by the same D from when it was
read; it runs in this script's own process (asyncio), on the same 2 cores as the rest, so
the figures are for comparing the two servers, not for absolute latency.
"""

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wal_profile  # noqa: E402  (the throwaway cluster)


class Relay:
    """A TCP relay from a free local port to `target_port`, every chunk held `delay` s."""

    def __init__(self, target_port, delay):
        self.target_port, self.delay = target_port, delay
        self.port = wal_profile.free_port()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", self.port))
        ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()
            tasks = asyncio.all_tasks(self.loop)
            for task in tasks:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self.loop.close()

    async def _pipe(self, reader, writer):
        queue = asyncio.Queue()

        async def send():
            while True:
                due, data = await queue.get()
                if data is None:
                    writer.close()
                    return
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(send())
        try:
            while True:
                data = await reader.read(1 << 16)
                queue.put_nowait((self.loop.time() + self.delay, data or None))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
            writer.close()

    async def _connection(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def p50(output):
    match = re.search(r"latency p50 ([\d.]+) ms", output)
    if not match:
        sys.exit(f"no latency in the load tool's output:\n{output}")
    return float(match.group(1))


def one(server, requests, delay):
    cluster = wal_profile.Cluster()
    relay = Relay(cluster.port, delay)
    try:
        url = f"postgres://postgres@127.0.0.1:{relay.port}/load"
        with wal_profile.demo_server(server, url) as (_, addr):
            load = ["target/release/load", "--addr", addr]
            subprocess.run(load + ["--requests", "10", "--offset", "910000"],
                           stdout=subprocess.DEVNULL, check=True)
            out = {}
            for phase, extra in (("new", []), ("re-import", ["--revision", "1"])):
                output = wal_profile.load_batches(load, requests, "--clients", "1", *extra,
                                                  binary=server)
                out[phase] = p50(output)
            return out
    finally:
        relay.stop()
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default="target/release/bulk-contacts-server")
    parser.add_argument("--delay-ms", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    servers = {"before": args.before, "after": args.after}
    results = {}
    for round_ in range(args.rounds):
        order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
        for name in order:
            out = one(servers[name], args.requests, args.delay_ms / 1000)
            results.setdefault(name, []).append(out)
            print(f"round {round_} {name:6}: latency p50, new {out['new']:.1f} ms, "
                  f"re-import {out['re-import']:.1f} ms", flush=True)
    print()
    print(f"| each way {args.delay_ms} ms, 1 client | latency p50 ms, new: before → after | "
          "latency p50 ms, re-import: before → after |")
    print("|---|---|---|")
    cells = []
    for phase in ("new", "re-import"):
        b = statistics.median(o[phase] for o in results["before"])
        a = statistics.median(o[phase] for o in results["after"])
        cells.append(f"{b:.1f} → {a:.1f} ({a - b:+.1f} ms)")
    print(f"| medians of {args.rounds} rounds | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
