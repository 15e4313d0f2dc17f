#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Single pass and two passes name the same frames, on every sample capture.

The first pass of plain `tshark -r` reads TCP segments from taps; the first pass
of `tshark -2` runs without taps, so the plugin reads them from the frames' bytes.
Both must give, for every exchange (tcp.stream, mtls.exchange), the same decision
frame, request frame, answer frame, CertificateVerify frame, alert, answer and
verdict (the single pass as shown at its decision frame; an exchange still
pending when the capture ends is `undetermined` with -2). Checked with the
captures' keys and without them (secrets stripped: inference).

Prints a line per failure and ends with "N passed, M failed".
"""
import glob
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from checks import Results, load_script  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
summary = load_script("mtls_summary", os.path.join(ROOT, "scripts", "mtls-summary.py"))
strip = load_script("strip_secrets", os.path.join(ROOT, "tests", "lib", "strip_secrets.py"))

COLUMNS = ("decision_frame", "request_frame", "response_frame", "verify_frame", "alert",
           "requested", "response", "phase", "inferred", "confidence")


def compare(capture, label, results):
    single = {(r["stream"], r["exchange"]): r for r in summary.exchanges(capture, single_pass=True)}
    double = {(r["stream"], r["exchange"]): r for r in summary.exchanges(capture)}
    name = f"{os.path.basename(capture)} ({label})"
    results.equal(sorted(single), sorted(double), f"{name}: exchanges")
    for key in sorted(set(single) & set(double)):
        one, two = single[key], double[key]
        what = f"{name} stream {key[0]} exchange {key[1]}"
        verdict = one["verdict"] if one["verdict"] != "pending" else "undetermined"
        results.equal(verdict, two["verdict"], f"{what}: verdict")
        for column in COLUMNS:
            results.equal(one.get(column), two.get(column), f"{what}: {column}")


def main():
    results = Results()
    captures = sorted(glob.glob(os.path.join(ROOT, "sample-captures", "*.pcapng")))
    results.check(bool(captures), "sample captures present")
    directory = tempfile.mkdtemp(prefix="mtls-passes.")
    os.chmod(directory, 0o755)
    for capture in captures:
        compare(capture, "keys", results)
        stripped = os.path.join(directory, os.path.basename(capture))
        with open(capture, "rb") as source, open(stripped, "wb") as target:
            target.write(strip.strip(source.read()))
        os.chmod(stripped, 0o644)
        compare(stripped, "no keys", results)
        os.unlink(stripped)
    os.rmdir(directory)
    return results.summary()


if __name__ == "__main__":
    sys.exit(main())
