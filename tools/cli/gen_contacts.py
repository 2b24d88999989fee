#!/usr/bin/env python3
"""Write a deterministic, realistic JSON Lines file of contacts for `bulk-contacts check`.

Mostly valid contacts (numbers of several countries, flags, signup dates, IP addresses, URLs,
custom fields, an ad network source), and in fixed proportions the errors of each rule 1 to 8,
numbers in national format (which `--default-region US` turns into suggestions), a few
unreadable lines and blank lines. The same arguments always give the same bytes.

`--national F` writes a fraction F of the rows (before the mix above) as valid contacts whose
phone number is a US number in national format, as a spreadsheet holds them (issue 20's mix:
`--national 0.5`, half the numbers written nationally). `--csv` writes the same contacts as a
CSV file with a header row (what cannot be a CSV row: a JSON array becomes a row of one cell,
a truncated line a row with a cell missing).

Usage: python3 tools/cli/gen_contacts.py [--rows N] [--seed S] [--national F] [--csv] OUT
"""

from __future__ import annotations

import argparse
import csv
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


def national(rng: random.Random) -> str:
    return rng.choice(NATIONAL).format(a=rng.choice(AREAS), n=rng.randint(0, 9999))


def row(rng: random.Random, share: float = 0.0):
    """A contact (dict), or the text of a line that is not one ("" for a blank line)."""
    if share and rng.random() < share:
        contact = good(rng)
        contact["phone_number"] = national(rng)
        return contact
    roll = rng.random()
    contact = good(rng)
    # 90% valid; 2% national format; 8 x 0.9% one per rule 1-8; 0.4% unreadable or blank.
    if roll < 0.90:
        pass
    elif roll < 0.92:
        contact["phone_number"] = national(rng)
    elif roll < 0.929:
        contact["custom_fields"] = {"notes": "x" * rng.randint(4000, 6000)}
    elif roll < 0.938:
        return [contact["phone_number"], contact["list_number"]]
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
    return contact


COLUMNS = ["phone_number", "list_number", "use_journeys", "skip_journey_if_exists", "signup_date",
           "ip_address", "url", "ad_network_source"]
CUSTOM = ["first_name", "orders", "vip", "notes"]


def csv_cells(item) -> list | None:
    """The CSV cells of a row (None: a blank line)."""
    if item == "":
        return None
    if isinstance(item, list):
        return [item[0]]
    if isinstance(item, str):
        return ["+14155550100"] * (len(COLUMNS) + len(CUSTOM) - 1)
    cells = []
    for name in COLUMNS:
        value = item.get(name)
        cells.append("" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
    custom = item.get("custom_fields")
    for name in CUSTOM:
        value = custom.get(name) if isinstance(custom, dict) else None
        if isinstance(custom, (str, list)) and name == "notes":
            value = custom if isinstance(custom, str) else ",".join(custom)
        cells.append("" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--national", type=float, default=0.0)
    parser.add_argument("--csv", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8", newline="") as out:
        if args.csv:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(COLUMNS + ["custom_fields." + name for name in CUSTOM])
            for _ in range(args.rows):
                cells = csv_cells(row(rng, args.national))
                if cells is None:
                    out.write("\r\n")
                else:
                    writer.writerow(cells)
            return
        for _ in range(args.rows):
            item = row(rng, args.national)
            out.write(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
            out.write("\n")


if __name__ == "__main__":
    main()
