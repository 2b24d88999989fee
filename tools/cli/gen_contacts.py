#!/usr/bin/env python3
"""Write a deterministic, realistic JSON Lines file of contacts for `bulk-contacts check`.

Mostly valid contacts (numbers of several countries, flags, signup dates, IP addresses, URLs,
custom fields, an ad network source), and in fixed proportions the errors of each rule 1 to 8,
numbers in national format (which `--default-region US` turns into suggestions), a few
unreadable lines and blank lines. The same arguments always give the same bytes.

Usage: python3 tools/cli/gen_contacts.py [--rows N] [--seed S] OUT.jsonl
"""

from __future__ import annotations

import argparse
import json
import random

# Valid E.164 numbers (libphonenumber 9.0.43): (prefix, digits to add).
VALID = [
    ("+1415555", 4), ("+1212555", 4), ("+1310555", 4), ("+1646555", 4), ("+1617555", 4),
    ("+44207946", 4), ("+447911123", 3), ("+33612345", 3), ("+4915123456", 3),
    ("+61412345", 3), ("+5511987654", 3), ("+81312345", 3),
]
LISTS = ["+18005551234", "+18005550199", "+18885550142", "+442079460000"]
# Numbers as people type them in the US (national formats): invalid_phone, with suggestions.
NATIONAL = ["({a}) 555-{n:04d}", "{a}-555-{n:04d}", "{a}.555.{n:04d}", "1 {a} 555 {n:04d}"]
AREAS = [415, 212, 310, 646, 617]
SOURCES = ["facebook", "google", "newsletter", "tiktok", "referral"]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"]


def valid_number(rng: random.Random) -> str:
    prefix, digits = rng.choice(VALID)
    return prefix + "".join(rng.choice("0123456789") for _ in range(digits))


def good(rng: random.Random) -> dict:
    contact: dict = {"phone_number": valid_number(rng), "list_number": rng.choice(LISTS)}
    if rng.random() < 0.5:
        contact["use_journeys"] = rng.random() < 0.7
    if rng.random() < 0.2:
        contact["skip_journey_if_exists"] = rng.random() < 0.5
    if rng.random() < 0.6:
        contact["signup_date"] = "2025-%02d-%02dT%02d:%02d:%02dZ" % (
            rng.randint(1, 5), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    if rng.random() < 0.5:
        contact["ip_address"] = "%d.%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    if rng.random() < 0.4:
        contact["url"] = "https://shop.example.com/signup?ref=%d" % rng.randint(1, 99999)
    if rng.random() < 0.7:
        contact["custom_fields"] = {
            "first_name": rng.choice(FIRST),
            "orders": rng.randint(0, 40),
            "vip": rng.random() < 0.1,
        }
    if rng.random() < 0.3:
        contact["ad_network_source"] = rng.choice(SOURCES)
    return contact


def row(rng: random.Random) -> str:
    roll = rng.random()
    contact = good(rng)
    # 90% valid; 2% national format; 8 x 0.9% one per rule 1-8; 0.4% unreadable or blank.
    if roll < 0.90:
        pass
    elif roll < 0.92:
        contact["phone_number"] = rng.choice(NATIONAL).format(a=rng.choice(AREAS), n=rng.randint(0, 9999))
    elif roll < 0.929:
        contact["custom_fields"] = {"notes": "x" * rng.randint(4000, 6000)}
    elif roll < 0.938:
        return json.dumps([contact["phone_number"], contact["list_number"]])
    elif roll < 0.947:
        del contact["phone_number"]
    elif roll < 0.956:
        contact["list_number"] = "  "
    elif roll < 0.965:
        contact["phone_number"] = rng.choice(["+1415555", "+999123456789", "415 555 01", "+10000000000"])
    elif roll < 0.974:
        contact["list_number"] = rng.choice(["800-555-1234", "+1800", "18005551234"])
    elif roll < 0.983:
        field, value = rng.choice([
            ("use_journeys", "yes"), ("use_validation", 1), ("signup_date", "2025-13-01T00:00:00Z"),
            ("signup_date", "2031-01-01T00:00:00Z"), ("ip_address", "300.1.1.1"), ("url", "ftp://example.com"),
        ])
        contact[field] = value
    elif roll < 0.992:
        contact["custom_fields"] = rng.choice([{"": "x"}, {"tags": ["a", "b"]}, "vip"])
    elif roll < 0.996:
        return '{"phone_number": "+14155550100", "list_number": '
    else:
        return ""
    return json.dumps(contact, ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8", newline="\n") as out:
        for _ in range(args.rows):
            out.write(row(rng))
            out.write("\n")


if __name__ == "__main__":
    main()
