#!/usr/bin/env python3
"""The write plan's worst case for round trips: one phone number 1000 times in one batch.

    python3 server/scripts/many_rounds.py SERVER [SERVER ...] [--posts N]

The engine plans one round per occurrence of a phone (SPEC §5: each occurrence applies over
the ones before it), so this batch is 1000 rounds, each with its contact update and its
membership's merged custom fields: about 2,000 write statements in one transaction. For each
server binary: a throwaway cluster (wal_profile.py's), the server over it with the demo
account (ready once it has answered one batch of `target/release/load`), the batch posted N
times with Python's http.client (the first creates the contact, the others update it), the
wall time of each answer, then the stored row is checked: the last occurrence's `n`, every
`f0`…`f6` merged in, the last IP address.
"""

import argparse
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wal_profile  # noqa: E402  (the throwaway cluster)

KEY = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"  # src/demo.rs
LIST = "+18005551234"
PHONE = "+12125551000"
EXPECTED = ('{"n": 999, "f0": "x", "f1": "x", "f2": "x", "f3": "x", "f4": "x", "f5": "x", '
            '"f6": "x"}')


def run(server, posts):
    contacts = [{"phone_number": PHONE, "list_number": LIST, "ip_address": f"10.0.0.{i % 250}",
                 "custom_fields": {"n": i, f"f{i % 7}": "x"}} for i in range(1000)]
    body = json.dumps({"contacts": contacts})
    cluster = wal_profile.Cluster()
    try:
        with wal_profile.demo_server(server, cluster.url(), pool_size=4) as (_, addr):
            host, port = addr.split(":")
            times = []
            for _ in range(posts):
                connection = http.client.HTTPConnection(host, int(port), timeout=120)
                start = time.monotonic()
                connection.request("POST", "/v2/contacts/bulk", body,
                                   {"X-Api-Key": KEY, "Content-Type": "application/json"})
                reply = connection.getresponse()
                reply.read()
                if reply.status != 200:
                    sys.exit(f"{server}: answered {reply.status}")
                times.append((time.monotonic() - start) * 1000)
            row = cluster.psql("load", "SELECT m.custom_fields::text, c.ip_address FROM "
                               "memberships AS m JOIN contacts AS c USING (phone) "
                               f"WHERE phone = {PHONE[1:]}")
            if row != [[EXPECTED, "10.0.0.249"]]:
                sys.exit(f"{server}: stored {row}")
            return times
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("servers", nargs="+")
    parser.add_argument("--posts", type=int, default=5)
    args = parser.parse_args()
    for server in args.servers:
        times = run(server, args.posts)
        print(f"{server}: " + ", ".join(f"{t:.0f}" for t in times)
              + " ms per batch (the first creates); stored row as expected")


if __name__ == "__main__":
    main()
