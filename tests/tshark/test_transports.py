#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""DTLS, EAP-TLS and QUIC: the plugin's verdicts against the truth table.

sample-captures/transports/truth.tsv was written by make-transport-captures.sh
from how each capture was made (server configuration, server log, client trace),
never from the plugin. For every row (capture, session, exchange):

  * with the capture's embedded keys, final state (tshark -2, the exchange's last
    row): transport, session, phase, requested, response, verdict, alert and
    outer result as the truth says;
  * with keys, single pass: the frame that decides the exchange (its final
    decision frame) shows the final verdict already;
  * without keys (tests/lib/strip_secrets.py), both passes: the verdict is the
    truth's, or `undetermined`, or inferred (mtls.inferred) with confidence
    `likely` or `possible`: a wrong verdict is never shown as certain. Where
    the handshake is in clear without keys (DTLS 1.2 initial handshakes,
    EAP-TLS with TLS 1.2) the verdict must be the truth's;
  * -z mtls,conv lists each exchange with its transport and session, and the
    flow graph draws each decision.

A confusion matrix of the runs without keys is printed for the record.

    test_transports.py [CAPTURE-GLOB]
"""
import collections
import csv
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import checks  # noqa: E402
from checks import Results, tshark_bool  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.path.join(ROOT, "sample-captures", "transports")
TSHARK = os.path.join(ROOT, "scripts", "tshark-mtls")
STRIP = os.path.join(ROOT, "tests", "lib", "strip_secrets.py")

FIELDS = ["frame.number", "mtls.transport", "mtls.session", "mtls.exchange", "mtls.phase",
          "mtls.requested", "mtls.response", "mtls.verdict", "mtls.alert",
          "mtls.outer_result", "mtls.decision_frame", "mtls.inferred", "mtls.confidence"]

# tshark prints mtls.alert as its number; the truth names it.
ALERTS = {"handshake_failure": "40", "unknown_ca": "48", "certificate_required": "116",
          "bad_certificate": "42", "certificate_expired": "45", "unsupported_certificate": "43",
          "internal_error": "80", "access_denied": "49"}


def tshark(path, *args):
    return checks.run_tshark(TSHARK, path, *args)


def rows_of(path, two_pass):
    """One dict per (frame, exchange) shown: a frame may show several exchanges
    (aggregated with "|" by -E occurrence=a); split them again."""
    args = ["-Y", "mtls", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
            "-E", "aggregator=|"]
    if two_pass:
        args.insert(0, "-2")
    for field in FIELDS:
        args += ["-e", field]
    rows = []
    for line in tshark(path, *args).splitlines():
        cells = dict(zip(FIELDS, line.split("\t") + [""] * len(FIELDS)))
        exchanges = cells["mtls.exchange"].split("|")
        if len(exchanges) == 1:
            rows.append(cells)
            continue
        # Several exchanges on one frame: every per-exchange field has one value
        # each, except the optional ones; keep only the fields that split evenly.
        split = {field: cells[field].split("|") for field in FIELDS}
        for index in range(len(exchanges)):
            row = {"frame.number": cells["frame.number"], "ambiguous": False}
            for field in FIELDS[1:]:
                values = split[field]
                if len(values) == len(exchanges):
                    row[field] = values[index]
                else:
                    # An optional field only some of the exchanges have: whose
                    # it is cannot be told here.
                    row[field] = "?"
                    row["ambiguous"] = True
            rows.append(row)
    return rows


def by_exchange(rows):
    """Rows per (session, exchange), in frame order."""
    grouped = collections.defaultdict(list)
    for row in rows:
        grouped[(row["mtls.session"], row["mtls.exchange"])].append(row)
    return grouped


def outer_text(row):
    values = [value for value in row["mtls.outer_result"].replace("|", ",").split(",") if value]
    return "; ".join(values) if values else "-"


def yes_no(text):
    value = tshark_bool(text)
    return "-" if value is None else ("yes" if value else "no")


def plain_handshake(truth):
    """The handshake is readable without keys: DTLS 1.2 initial handshakes and
    EAP-TLS 1.2 (the verdict must then be exact)."""
    if truth["transport"] == "dtls":
        return truth["phase"] == "handshake"
    return truth["transport"] == "eap-tls" and "-tls12-" in truth["capture"]


def check_with_keys(results, truth, final, single):
    key = f"{truth['capture']} session {truth['session']} exchange {truth['exchange']}"
    rows = final.get((truth["session"], truth["exchange"]))
    results.check(rows is not None, f"{key}: shown (-2)")
    if not rows:
        return
    # The exchange's last frame; one that shows other exchanges too only when its
    # fields can be told apart, or when the exchange has no other frame.
    clear = [row for row in rows if not row.get("ambiguous")]
    last = (clear or rows)[-1]
    got = {
        "transport": last["mtls.transport"],
        "phase": last["mtls.phase"],
        "requested": yes_no(last["mtls.requested"]),
        "response": last["mtls.response"] or "-",
        "verdict": last["mtls.verdict"],
        "alert": last["mtls.alert"] or "-",
        "outer_result": outer_text(last),
    }
    want = {
        "transport": truth["transport"],
        "phase": truth["phase"],
        "requested": truth["requested"],
        "response": truth["response"],
        "verdict": truth["verdict"],
        "alert": ALERTS.get(truth["alert"], truth["alert"]),
        "outer_result": truth["outer_result"],
    }
    for field in want:
        results.check(got[field] == want[field], f"{key}: {field} (-2)",
                      f"got {got[field]!r}, truth {want[field]!r}")
    decision = last["mtls.decision_frame"]
    if truth["verdict"] == "undetermined" or not decision:
        return
    at_decision = [row for row in single.get((truth["session"], truth["exchange"]), [])
                   if row["frame.number"] == decision]
    results.check(bool(at_decision) and at_decision[-1]["mtls.verdict"] == truth["verdict"],
                  f"{key}: single pass at decision frame {decision}",
                  f"got {[row['mtls.verdict'] for row in at_decision]}, truth {truth['verdict']}")


def check_without_keys(results, truth, rows_by_pass, matrix):
    key = f"{truth['capture']} session {truth['session']} exchange {truth['exchange']}"
    for label, rows in rows_by_pass.items():
        shown = rows.get((truth["session"], truth["exchange"]))
        if not shown:
            # Nothing shown without keys: counted as undetermined.
            verdict, inferred, confidence = "undetermined", False, ""
        else:
            last = shown[-1]
            verdict = last["mtls.verdict"]
            if verdict == "pending" and label != "-2":
                # A single pass cannot know the capture ends: its last word is pending.
                verdict = "undetermined"
            inferred = tshark_bool(last["mtls.inferred"]) is True
            confidence = last["mtls.confidence"]
        if label == "-2":
            matrix[(truth["verdict"], verdict, confidence or "-")] += 1
        if plain_handshake(truth):
            results.check(verdict == truth["verdict"], f"{key}: without keys ({label})",
                          f"got {verdict}, truth {truth['verdict']}")
            continue
        honest = (verdict == truth["verdict"] or verdict == "undetermined" or
                  (inferred and confidence in ("likely", "possible")))
        results.check(honest, f"{key}: without keys ({label}) no sure wrong verdict",
                      f"got {verdict} inferred={inferred} confidence={confidence!r}, "
                      f"truth {truth['verdict']}")


def check_conv(results, capture, path, truth_rows):
    out = tshark(path, "-q", "-z", "mtls,conv")
    lines = [line.split() for line in out.splitlines()]
    for truth in truth_rows:
        found = any(len(cells) >= 2 and cells[0] == truth["transport"] and
                    cells[1] == truth["session"] and truth["verdict"] in cells
                    for cells in lines)
        results.check(found, f"{capture} session {truth['session']} exchange "
                      f"{truth['exchange']}: -z mtls,conv row", out)


def check_flow(results, capture, path, truth_rows):
    """The flow graph (-z flow,mtls,standard) draws each decided exchange's
    decision with its verdict."""
    out = tshark(path, "-2", "-q", "-z", "flow,mtls,standard")
    for truth in truth_rows:
        if truth["verdict"] == "undetermined":
            continue
        # "verdict rejected (exchange 1", or "verdict accepted, inferred from
        # record sizes (likely) (exchange 2"
        drawn = re.search(rf"verdict {truth['verdict']}(, inferred [^()]*\([a-z]+\))? "
                          rf"\(exchange {truth['exchange']},", out)
        results.check(drawn is not None,
                      f"{capture} session {truth['session']} exchange {truth['exchange']}: "
                      "flow graph decision", out)


def main():
    pattern = sys.argv[1] if len(sys.argv) > 1 else "*"
    truth_by_capture = collections.defaultdict(list)
    with open(os.path.join(CAPTURES, "truth.tsv"), newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if fnmatch.fnmatch(row["capture"], pattern):
                truth_by_capture[row["capture"]].append(row)
    results = Results()
    results.check(bool(truth_by_capture), f"captures matching {pattern!r}")
    matrix = collections.Counter()
    scratch = tempfile.mkdtemp(prefix="mtls-transports-")
    try:
        for capture, truth_rows in sorted(truth_by_capture.items()):
            path = os.path.join(CAPTURES, capture)
            final = by_exchange(rows_of(path, True))
            single = by_exchange(rows_of(path, False))
            for truth in truth_rows:
                check_with_keys(results, truth, final, single)
            check_conv(results, capture, path, truth_rows)
            check_flow(results, capture, path, truth_rows)
            stripped = os.path.join(scratch, capture)
            subprocess.run([sys.executable, STRIP, path, stripped], check=True)
            without = {"-2": by_exchange(rows_of(stripped, True)),
                       "single pass": by_exchange(rows_of(stripped, False))}
            for truth in truth_rows:
                check_without_keys(results, truth, without, matrix)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("Without keys, tshark -2 (truth verdict -> plugin verdict, confidence):")
    for (want, got, confidence), count in sorted(matrix.items()):
        mark = "" if want == got else "   <- differs"
        print(f"  {want:15} -> {got:15} {confidence:10} {count:3}{mark}")
    return results.summary()


if __name__ == "__main__":
    sys.exit(main())
