"""Import a CSV file of contacts into a bulk-contacts endpoint, the way a Python script would.

    python import_csv.py contacts.csv --list-number +18005551234 --region US \\
        [--url http://127.0.0.1:8080/v2/contacts/bulk] [--api-key trk_...]

The CSV has a header row; `phone_number` (and optionally `list_number`, `first_name`, ...)
columns. Each row:

1. its phone (and list) number is normalized with the default region (`415-555-9876` with
   `--region US` becomes `+14155559876`); a number that does not normalize is sent as typed,
   so that the report names it;
2. columns other than the contact's own members go into `custom_fields`;
3. the whole file is pre-checked (rules 1 to 8, no lookup): the rows the server would refuse
   are reported before anything is sent, and only the others are sent;
4. those are split into request bodies within the server's limits, each body is POSTed
   with `urllib.request`, and the answers are merged into one report with the file's row
   numbers.

Standard library only, plus `bulk_contacts` (`pip install ./python`).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import urllib.error
import urllib.request

import bulk_contacts

# The contact's own members (SPEC section 4); any other column is a custom field.
MEMBERS = {
    "phone_number", "list_number", "use_journeys", "skip_journey_if_exists", "use_validation",
    "replace_custom_fields", "signup_date", "ip_address", "url",
}
FLAGS = {"use_journeys", "skip_journey_if_exists", "use_validation", "replace_custom_fields"}


def contact_from_row(row: dict[str, str], region: str, list_number: str | None) -> dict:
    contact: dict = {}
    custom: dict[str, str] = {}
    for name, value in row.items():
        if value is None or value == "":
            continue
        if name in ("phone_number", "list_number"):
            contact[name] = bulk_contacts.normalize(value, region) or value
        elif name in FLAGS:
            contact[name] = {"true": True, "false": False}.get(value.lower(), value)
        elif name in MEMBERS:
            contact[name] = value
        else:
            custom[name] = value
    if list_number and "list_number" not in contact:
        contact["list_number"] = list_number
    if custom:
        contact["custom_fields"] = custom
    return contact


def post(url: str, api_key: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Api-Key": api_key},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:  # 4xx/5xx: still an answer to merge
        return error.code, error.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv_file")
    parser.add_argument("--region", default="US", help="default region for national numbers")
    parser.add_argument("--list-number", help="the list of rows without a list_number")
    parser.add_argument("--url", default="http://127.0.0.1:8080/v2/contacts/bulk")
    parser.add_argument("--api-key", default=bulk_contacts.DEFAULT_API_KEY)
    args = parser.parse_args()

    with open(args.csv_file, newline="", encoding="utf-8-sig") as file:
        contacts = [contact_from_row(row, args.region, args.list_number) for row in csv.DictReader(file)]

    # Rules 1-8 before sending; the rows they refuse are not sent.
    refused = bulk_contacts.precheck(contacts)
    refused_rows = {entry["index"] for entry in refused}
    to_send = [i for i in range(len(contacts)) if i not in refused_rows]

    parts = bulk_contacts.split(contacts[i] for i in to_send)
    merger = bulk_contacts.Merger()
    for body, indices in parts:
        status, answer = post(args.url, args.api_key, body)
        print(f"sent {len(indices)} contacts ({len(body)} bytes): {status}", file=sys.stderr)
        merger.add(indices, status, answer)
    merger.add_local(parts.local)
    report = merger.report()

    # Back to the file's rows (1-based data rows): the split's indices are positions in
    # `to_send`; the pre-check's are positions in the file.
    for entry in report["errors"]:
        entry["index"] = to_send[entry["index"]]
    for rejected in report["rejected"]:
        rejected["indices"] = [to_send[i] for i in rejected["indices"]]
    report["errors"] = sorted(report["errors"] + refused, key=lambda entry: entry["index"])
    report["error_count"] += len(refused)
    report["errors"] = [
        {"row": entry["index"] + 1, **{k: v for k, v in entry.items() if k != "index"}}
        for entry in report["errors"]
    ]
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if not report["errors"] and not report["rejected"] else 1


if __name__ == "__main__":
    sys.exit(main())
