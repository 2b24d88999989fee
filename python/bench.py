"""The Python package against what a Python user would otherwise use, in one run (CPU time).

    python3 python/bench.py [--write]

Sets up, once, two throwaway venvs under target/python-bench/ (the two `phonenumbers` packages
both install a module named `phonenumbers`):

* `main`: bulk_contacts (`pip install ./python`, built into target/), phonenumbers==9.0.43,
  rphonenumbers and pydantic (their current releases when the venv is made; the table says
  which versions ran);
* `lite`: phonenumberslite (its current release).

Then, in one run, each subject in its own process on the same inputs:

1. per call, normalizing a text with a default region: `bulk_contacts.normalize` vs
   `parse` + `is_valid_number` + `format_number(E164)` of phonenumbers, phonenumberslite and
   rphonenumbers, on a fixed sample of e164/tests/data/normalize_corpus.tsv.gz (every Nth line);
   each result is also compared with ours (agreement, in %);
2. `normalize_many` throughput on 1,000,000 US inputs (the corpus's US lines, repeated);
3. `precheck` of 1,000 contacts given as dicts, the same contacts as JSON text (the
   difference is the conversion from Python objects), vs a hand-written pydantic +
   phonenumbers check as a Python user would write it.

Time is `time.process_time()` (CPU of the process), the best of several repetitions; the
per-call subjects run in alternating rounds. Prints a
Markdown table; `--write` also writes benches/charts/python.tsv and benches/charts/python.svg.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENVS = REPO / "target" / "python-bench"
CHARTS = REPO / "benches" / "charts"
SAMPLE_EVERY = 20  # ~11,000 inputs of the 222,844
ROUNDS = 3
MANY = 1_000_000
CONTACTS = 1000
NOW = "2025-06-01T00:00:00Z"


# ------------------------------------------------------------------------------------------
# Set-up (parent process)


def venv(name: str, packages: list[str]) -> Path:
    python = VENVS / name / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENVS / name)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True,
                       env=dict(os.environ, CARGO_TARGET_DIR=str(REPO / "target")))
    return python


def run_worker(python: Path, task: str) -> dict:
    out = subprocess.run([str(python), __file__, "--worker", task], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


# ------------------------------------------------------------------------------------------
# Inputs (the same in every process)


def corpus_sample() -> list[tuple[str, str]]:
    text = gzip.decompress((REPO / "e164/tests/data/normalize_corpus.tsv.gz").read_bytes()).decode()
    rows = [line.split("\t") for line in text.split("\n")[1:] if line]
    return [(region, text) for region, text, _ in rows[::SAMPLE_EVERY]]


def us_texts() -> list[str]:
    text = gzip.decompress((REPO / "e164/tests/data/normalize_corpus.tsv.gz").read_bytes()).decode()
    us = [line.split("\t")[1] for line in text.split("\n")[1:] if line.startswith("US\t")]
    return (us * (MANY // len(us) + 1))[:MANY]


def contacts() -> list[dict]:
    """1,000 contacts as an import would hold them: most valid, some of each common fault."""
    out = []
    for i in range(CONTACTS):
        contact = {
            "phone_number": f"+1415555{i % 10000:04d}",
            "list_number": "+18005551234",
            "use_journeys": i % 3 == 0,
            "signup_date": "2025-03-15T14:30:00Z",
            "custom_fields": {"first_name": f"Name{i}", "plan": "gold", "visits": i},
        }
        if i % 4 == 0:
            contact["ip_address"] = "198.51.100.17"
        if i % 5 == 0:
            contact["url"] = "https://example.com/landing?utm=import"
        fault = i % 20
        if fault == 1:
            contact["phone_number"] = "415-555-9876"
        elif fault == 2:
            contact["signup_date"] = "2031-01-01T00:00:00Z"
        elif fault == 3:
            contact["url"] = "ftp://example.com"
        elif fault == 4:
            del contact["list_number"]
        out.append(contact)
    return out


def best(run, repeat: int) -> float:
    """The least CPU time of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


# ------------------------------------------------------------------------------------------
# Workers (one per subject, each in its own process)


def phonenumbers_like(module):
    e164 = module.PhoneNumberFormat.E164
    parse, is_valid, fmt, error = (module.parse, module.is_valid_number, module.format_number,
                                   module.NumberParseException)

    def normalize(text: str, region: str):
        try:
            number = parse(text, region)
        except error:
            return None
        if not is_valid(number):
            return None
        return fmt(number, e164)

    return normalize


def worker_per_call(subject: str) -> dict:
    sample = corpus_sample()
    if subject == "bulk_contacts":
        import bulk_contacts

        normalize, version = bulk_contacts.normalize, bulk_contacts.METADATA_VERSION
        repeat = 10
    else:
        module = __import__(subject)
        normalize = phonenumbers_like(module)
        version = getattr(module, "__version__", "?")
        repeat = 2
    results = [normalize(text, region) for region, text in sample]

    def loop():
        for region, text in sample:
            normalize(text, region)

    seconds = best(loop, repeat)
    return {"version": version, "ns_per_call": seconds / len(sample) * 1e9,
            "inputs": len(sample), "results": results}


def worker_main() -> dict:
    import bulk_contacts
    import phonenumbers
    import pydantic

    texts = us_texts()
    many = best(lambda: bulk_contacts.normalize_many(texts, "US"), 3)
    loop = best(lambda: [bulk_contacts.normalize(t, "US") for t in texts], 3)

    batch = contacts()
    as_text = [json.dumps(c, ensure_ascii=False) for c in batch]
    expected = bulk_contacts.precheck(batch, now=NOW)
    assert bulk_contacts.precheck(as_text, now=NOW) == expected
    dicts = best(lambda: bulk_contacts.precheck(batch, now=NOW), 200)
    strings = best(lambda: bulk_contacts.precheck(as_text, now=NOW), 200)
    check = hand_written_check(phonenumbers, pydantic)
    theirs_errors = check(batch)
    theirs = best(lambda: check(batch), 20)
    return {
        "pydantic": pydantic.VERSION,
        "many_numbers_per_cpu_s": MANY / many,
        "loop_numbers_per_cpu_s": MANY / loop,
        "precheck_dicts_ms": dicts * 1e3,
        "precheck_texts_ms": strings * 1e3,
        "precheck_errors": len(expected),
        "hand_written_ms": theirs * 1e3,
        "hand_written_errors": len(theirs_errors),
    }


def hand_written_check(phonenumbers, pydantic):
    """Rules 1 to 8 as a Python user would write them: a pydantic model with a phonenumbers
    validator, and the size rule with json.dumps."""
    from datetime import datetime, timedelta, timezone
    from typing import Optional, Union

    from pydantic import (AwareDatetime, BaseModel, ConfigDict, HttpUrl, IPvAnyAddress,
                          StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError,
                          field_validator)

    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    e164 = phonenumbers.PhoneNumberFormat.E164

    class Contact(BaseModel):
        model_config = ConfigDict(extra="allow")

        phone_number: str
        list_number: str
        use_journeys: Optional[StrictBool] = None
        skip_journey_if_exists: Optional[StrictBool] = None
        use_validation: Optional[StrictBool] = None
        replace_custom_fields: Optional[StrictBool] = None
        signup_date: Optional[AwareDatetime] = None
        ip_address: Optional[IPvAnyAddress] = None
        url: Optional[HttpUrl] = None
        custom_fields: Optional[dict[str, Union[StrictStr, StrictInt, StrictFloat, StrictBool]]] = None

        @field_validator("phone_number", "list_number")
        @classmethod
        def e164_number(cls, value: str) -> str:
            try:
                number = phonenumbers.parse(value, None)
            except phonenumbers.NumberParseException as error:
                raise ValueError("must be a valid E.164 number") from error
            if not phonenumbers.is_valid_number(number) or phonenumbers.format_number(number, e164) != value:
                raise ValueError("must be a valid E.164 number")
            return value

        @field_validator("signup_date")
        @classmethod
        def not_in_future(cls, value):
            if value is not None and value > now + timedelta(minutes=5):
                raise ValueError("must not be in the future")
            return value

    def check(batch: list[dict]) -> list[dict]:
        errors = []
        for index, contact in enumerate(batch):
            size = len(json.dumps(contact, ensure_ascii=False, separators=(",", ":")).encode())
            if size > 4000:
                errors.append({"index": index, "code": "payload_too_large"})
                continue
            try:
                Contact.model_validate(contact)
            except ValidationError as error:
                first = error.errors()[0]
                errors.append({"index": index, "field": first["loc"][0], "error": first["msg"]})
        return errors

    return check


# ------------------------------------------------------------------------------------------
# Report (parent process)


def svg(rows: list[tuple[str, float]], title: str) -> str:
    """A horizontal bar chart, log scale, of ns per call."""
    import math

    width, left, bar, gap, top = 760, 250, 26, 12, 50
    height = top + len(rows) * (bar + gap) + 40
    top_value = max(value for _, value in rows)
    scale = (width - left - 120) / math.log10(top_value * 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="26" text-anchor="middle" font-size="15">{title}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = top + i * (bar + gap)
        length = max(2.0, math.log10(max(value, 1.0)) * scale)
        colour = "#2b7bb9" if i == 0 else "#b0b0b0"
        parts.append(f'<text x="{left - 8}" y="{y + bar * 0.7}" text-anchor="end">{label}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colour}"/>')
        parts.append(f'<text x="{left + length + 6:.1f}" y="{y + bar * 0.7}">{value:,.0f} ns</text>')
    parts.append(f'<text x="{left}" y="{height - 12}" fill="#555">log scale; CPU time per call, '
                 f'best of several runs, one process per library</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        task = sys.argv[2]
        result = worker_main() if task == "main" else worker_per_call(task)
        print(json.dumps(result))
        return 0
    write = "--write" in sys.argv[1:]
    main_python = venv("main", [str(REPO / "python"), "phonenumbers==9.0.43", "rphonenumbers",
                                "pydantic"])
    lite_python = venv("lite", ["phonenumberslite"])
    subjects = [
        ("bulk_contacts", main_python, "bulk_contacts.normalize"),
        ("phonenumbers", main_python, "phonenumbers"),
        ("phonenumbers", lite_python, "phonenumberslite"),
        ("rphonenumbers", main_python, "rphonenumbers"),
    ]
    # Rounds alternate the subjects, so that a change of load on a shared machine falls on
    # all of them alike; each keeps its best round.
    per_call = [(label, run_worker(python, module)) for module, python, label in subjects]
    for _ in range(ROUNDS - 1):
        for (module, python, _), (_, result) in zip(subjects, per_call):
            again = run_worker(python, module)
            result["ns_per_call"] = min(result["ns_per_call"], again["ns_per_call"])
    ours = per_call[0][1]
    main_result = run_worker(main_python, "main")

    lines = ["| per call: normalize a text with a default region | version | ns/call (CPU) | ours faster by | same result as ours |",
             "|---|---|---:|---:|---:|"]
    for label, result in per_call:
        same = sum(a == b for a, b in zip(result["results"], ours["results"])) / len(ours["results"])
        ratio = result["ns_per_call"] / ours["ns_per_call"]
        lines.append(f"| {label} | {result['version']} | {result['ns_per_call']:,.0f} | "
                     f"{ratio:,.1f}× | {same * 100:.2f}% |")
    m = main_result
    lines += [
        "",
        f"Inputs: {ours['inputs']:,} lines of the normalization corpus (every {SAMPLE_EVERY}th; all regions, valid and not).",
        "",
        "| batch | CPU | |",
        "|---|---:|---|",
        f"| `normalize_many`, {MANY:,} US inputs | {m['many_numbers_per_cpu_s'] / 1e6:.2f} M numbers/CPU-s | a Python loop of `normalize`: {m['loop_numbers_per_cpu_s'] / 1e6:.2f} M/CPU-s |",
        f"| `precheck`, {CONTACTS:,} dicts | {m['precheck_dicts_ms']:.2f} ms | {m['precheck_errors']} errors |",
        f"| `precheck`, the same {CONTACTS:,} as JSON text | {m['precheck_texts_ms']:.2f} ms | so conversion from dicts ≈ {m['precheck_dicts_ms'] - m['precheck_texts_ms']:.2f} ms |",
        f"| pydantic {m['pydantic']} + phonenumbers 9.0.43, hand-written | {m['hand_written_ms']:.2f} ms | {m['hand_written_errors']} errors; ours faster by {m['hand_written_ms'] / m['precheck_dicts_ms']:.0f}× |",
    ]
    table = "\n".join(lines)
    print(table)
    if write:
        CHARTS.mkdir(parents=True, exist_ok=True)
        rows = [(f"{label} {result['version']}", result["ns_per_call"]) for label, result in per_call]
        (CHARTS / "python.svg").write_text(svg(rows, "Python: normalize one text (parse + valid + E.164)"))
        tsv = ["subject\tversion\tns_per_call"] + [f"{label}\t{result['version']}\t{result['ns_per_call']:.1f}" for label, result in per_call]
        tsv += [f"{key}\t\t{value}" for key, value in m.items()]
        (CHARTS / "python.tsv").write_text("\n".join(tsv) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
