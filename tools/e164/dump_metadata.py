#!/usr/bin/env python3
"""Dump, from the Python port `phonenumbers` (the oracle), the part of libphonenumber's
metadata that the E.164 validator uses, one JSON object per line, in calling-code order and,
within a calling code, in libphonenumber's region order.

`build.rs` writes the same dump, extracted from the `phonenumber` crate, to
`$OUT_DIR/e164_metadata_dump.jsonl`; `tools/e164/check_metadata.sh` diffs the two. A metadata
upgrade is safe when the diff is empty.
"""
import json
import sys

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

TYPES = ["fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
         "personal_number", "pager", "uan", "voicemail"]


def desc(d):
    if d is None:
        return None
    return {
        "pattern": d.national_number_pattern,
        "lengths": list(d.possible_length or ()),
        "local": list(d.possible_length_local_only or ()),
    }


def main():
    out = sys.stdout
    for cc in sorted(COUNTRY_CODE_TO_REGION_CODE):
        for region in COUNTRY_CODE_TO_REGION_CODE[cc]:
            if region == "001":
                m = PhoneMetadata.metadata_for_nongeo_region(cc)
            else:
                m = PhoneMetadata.metadata_for_region(region)
            row = {
                "cc": cc,
                "region": region,
                "leading_digits": m.leading_digits,
                "npfp": m.national_prefix_for_parsing,
                "transform": m.national_prefix_transform_rule,
                "general": desc(m.general_desc),
            }
            for t in TYPES:
                row[t] = desc(getattr(m, t))
            row["same_mobile_and_fixed_line_pattern"] = m.same_mobile_and_fixed_line_pattern
            out.write(json.dumps(row, sort_keys=True) + "\n")
    sys.stderr.write("phonenumbers %s\n" % phonenumbers.__version__)


if __name__ == "__main__":
    main()
