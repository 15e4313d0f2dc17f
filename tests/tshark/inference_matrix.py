#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""How well does inference without keys match the truth table?

Every sample capture is copied without its TLS secrets (tests/lib/strip_secrets.py)
and run through the plugin (tshark -2). Each truth-table exchange is compared
with what the plugin inferred, and a confusion matrix (truth verdict vs
inferred verdict, with confidence) is printed.

With --check it also asserts the targets of the inference issue and ends with
"N passed, M failed":
  * every TLS 1.3 handshake exchange: requested and response right, and the
    response confidence 'certain' (except where the client aborted before its
    flight: then only the server's flight hints at the request);
  * the verdict right for at least 9 in 10 TLS 1.3 exchanges;
  * no exchange inferred 'accepted' when it was rejected, or 'rejected' when
    the server went on, with confidence 'certain';
  * with the preference mtls.infer_without_keys off, nothing is inferred.
"""
import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from checks import load_script  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.path.join(ROOT, "sample-captures")
WENT_ON = {"accepted", "server-ignored"}


summary = load_script("mtls_summary", os.path.join(ROOT, "scripts", "mtls-summary.py"))
strip = load_script("strip_secrets", os.path.join(ROOT, "tests", "lib", "strip_secrets.py"))


def truth_by_capture():
    import csv
    rows = collections.defaultdict(list)
    with open(os.path.join(CAPTURES, "truth.tsv"), newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            rows[row["capture"]].append(row)
    return rows


def without_keys(capture, directory):
    target = os.path.join(directory, os.path.basename(capture))
    with open(capture, "rb") as source:
        data = strip.strip(source.read())
    with open(target, "wb") as handle:
        handle.write(data)
    os.chmod(target, 0o644)
    return target


def response_of(row):
    return row.get("response") or "-"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="assert the targets")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="mtls-nokeys.")
    os.chmod(directory, 0o755)
    matrix = collections.Counter()
    failures = []
    passed = 0
    tls13_total = tls13_right = 0
    try:
        for capture_name, truth in sorted(truth_by_capture().items()):
            stripped = without_keys(os.path.join(CAPTURES, capture_name), directory)
            got = {(r["stream"], r["exchange"]): r for r in summary.exchanges(stripped)}
            tls13 = "tls13" in capture_name
            for row in truth:
                name = f"{capture_name} stream {row['stream']} exchange {row['exchange']}"
                # Inferred exchanges are numbered like the real ones, so they line up.
                have = got.get((row["stream"], row["exchange"]), {})
                verdict = have.get("verdict") or "(none)"
                inferred = have.get("inferred") == "yes"
                confidence = have.get("confidence") or ("-" if not inferred else "?")
                matrix[(row["verdict"], verdict, confidence)] += 1
                if tls13:
                    tls13_total += 1
                    tls13_right += verdict == row["verdict"]
                if tls13 and row["phase"] == "handshake" and not row["resumed"] == "yes":
                    right = (have.get("requested") == row["requested"]
                             and response_of(have) == (row["response"]
                                                       if row["requested"] == "yes" else "-"))
                    certain = "(certain)" in (have.get("evidence") or "") or \
                        row["requested"] == "no" and confidence == "certain" or \
                        ", certain)" in (have.get("evidence") or "")
                    # A client that aborts before its flight leaves no sizes to add up:
                    # the request can only be guessed from the server's flight.
                    if row["verdict"] == "client-aborted":
                        certain = True
                    if right and certain:
                        passed += 1
                    else:
                        failures.append(f"{name}: requested/response "
                                        f"{have.get('requested')}/{response_of(have)} "
                                        f"(truth {row['requested']}/{row['response']}), "
                                        f"certain={certain}")
                wrong_way = (verdict == "accepted" and row["verdict"] == "rejected" or
                             verdict == "rejected" and row["verdict"] in WENT_ON)
                if wrong_way and confidence == "certain":
                    failures.append(f"{name}: {verdict} with confidence certain, truth "
                                    f"{row['verdict']}")
                else:
                    passed += 1

        # The preference off: no exchange is inferred.
        sample = without_keys(os.path.join(CAPTURES, "ossl-tls13-required-good-cert.pcapng"),
                              directory)
        off = summary.exchanges(sample, tshark_args=["-o", "mtls.infer_without_keys:FALSE"])
        if any(r.get("inferred") == "yes" for r in off):
            failures.append("mtls.infer_without_keys off still infers")
        else:
            passed += 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    print("Confusion matrix without keys (truth verdict -> plugin verdict, confidence):")
    width = max(len(k[0]) for k in matrix) if matrix else 10
    for (truth, verdict, confidence), count in sorted(matrix.items()):
        mark = "" if truth == verdict else "   <- differs"
        print(f"  {truth:<{width}}  ->  {verdict:<15} {confidence:<9} {count:3d}{mark}")
    share = tls13_right / tls13_total if tls13_total else 0.0
    print(f"TLS 1.3 exchanges with the right verdict: {tls13_right}/{tls13_total} "
          f"({share:.0%})")
    if args.check:
        if share >= 0.9:
            passed += 1
        else:
            failures.append(f"TLS 1.3 verdicts right {share:.0%} < 90%")
        for failure in failures:
            print(f"FAIL {failure}")
        print(f"{passed} passed, {len(failures)} failed")
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
