#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What the application answered after each exchange (issue 12): mtls.app_protocol,
mtls.app_status, mtls.app_reply, mtls.app_refused and mtls.expert.app_refused, in a
single pass and with -2, on every capture of sample-captures/app-truth.tsv.

Every expectation comes from how the captures were made, never from the plugin's
own output: app-truth.tsv was written from the servers' logs and the clients'
transcripts (its `how` column quotes them). In addition, the frame where a single
pass first shows the answer must be a frame the server sent, and where Wireshark's
own dissector of that protocol (with the capture's Decode As, from
tshark-options.tsv) shows the same numeric answer.

Prints one line per failed check and ends with "N passed, M failed".
"""
import csv
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import checks  # noqa: E402
from checks import Results, tshark_bool  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.environ.get("MTLS_CAPTURES", os.path.join(ROOT, "sample-captures"))
TSHARK = os.path.join(ROOT, "scripts", "tshark-mtls")

FIELDS = ["frame.number", "tcp.stream", "tcp.srcport", "mtls.exchange", "mtls.verdict",
          "mtls.app_protocol", "mtls.app_status", "mtls.app_reply", "mtls.app_refused",
          "mtls.expert.app_refused"]

# Wireshark's own field with the numeric answer, per protocol; None where the
# dissector has none we can compare (the text-only answers).
DISSECTOR_STATUS = {
    "http": "http.response.code",
    "http2": "http2.headers.status",
    "smtp": "smtp.response.code",
    # 4.6 names a bindResponse's code ldap.bindResponse_resultCode (4.0 and 4.4:
    # ldap.resultCode); whichever this tshark has (dissector_values).
    "ldap": "ldap.resultCode|ldap.bindResponse_resultCode",
    "mysql": "mysql.error_code",
    "mqtt": "mqtt.conack.val",
    "imap": None,
    "pop3": None,
    "pgsql": None,
}

# The longest reply text the plugin keeps (plugin/app/mtls_app.h: MTLS_APP_REPLY_SIZE - 1).
REPLY_MAX = 127


def tshark(capture, *args):
    return checks.run_tshark(TSHARK, os.path.join(CAPTURES, capture), *args)


def mtls_rows(capture, two_pass):
    """One dict per frame that shows exactly one mtls tree."""
    return checks.mtls_rows(tshark, capture, FIELDS, two_pass)


_registered_fields = None


def registered(field):
    """Whether this tshark knows the field (tshark -G fields)."""
    global _registered_fields
    if _registered_fields is None:
        out = subprocess.run([TSHARK, "-G", "fields"], capture_output=True, text=True,
                             check=True).stdout
        _registered_fields = {line.split("\t")[2] for line in out.splitlines()
                              if line.count("\t") >= 2}
    return field in _registered_fields


def dissector_values(capture, frame, field):
    """Values of `field` in the frame; `field` may name alternatives "a|b" (the
    name differs between Wireshark versions): those this tshark has, together."""
    values = set()
    for name in field.split("|"):
        if "|" in field and not registered(name):
            continue
        out = tshark(capture, "-Y", f"frame.number == {frame}", "-T", "fields",
                     "-E", "occurrence=a", "-E", "aggregator=,", "-e", name)
        values |= {value for value in out.strip().split(",") if value}
    return values


def reply_matches(got, expected):
    """The plugin keeps the reply up to REPLY_MAX characters, cut with "..."."""
    if len(expected) <= REPLY_MAX:
        return got == expected
    return got.endswith("...") and len(got) <= REPLY_MAX and expected.startswith(got[:-3])


def check_rows(results, key, truth, rows, two_pass):
    what = f"{key} ({'-2' if two_pass else 'single pass'})"
    protocols = {r["mtls.app_protocol"] for r in rows} - {""}
    statuses = {r["mtls.app_status"] for r in rows} - {""}
    replies = {r["mtls.app_reply"] for r in rows} - {""}
    refused = {tshark_bool(r["mtls.app_refused"]) for r in rows if r["mtls.app_refused"]}
    experts = [r["frame.number"] for r in rows if r["mtls.expert.app_refused"]]
    expected_protocol = "" if truth["app_protocol"] in ("", "-") else truth["app_protocol"]
    results.equal(protocols, {expected_protocol} if expected_protocol else set(),
                  f"{what}: app_protocol")
    results.equal(statuses, set() if truth["app_status"] == "-" else {truth["app_status"]},
                  f"{what}: app_status")
    if truth["app_reply"] == "-":
        results.equal(replies, set(), f"{what}: app_reply")
    else:
        results.check(len(replies) == 1 and reply_matches(next(iter(replies)), truth["app_reply"]),
                      f"{what}: app_reply: got {sorted(replies)!r}, expected {truth['app_reply']!r}")
    if truth["app_reply"] != "-" or truth["app_status"] != "-":
        results.equal(refused, {truth["app_refused"] == "yes"}, f"{what}: app_refused")
    verdicts = {r["mtls.verdict"] for r in rows} - {"", "pending"}
    wants_expert = truth["app_refused"] == "yes" and verdicts & {"accepted", "server-ignored"}
    if two_pass:
        results.check(len(experts) == (1 if wants_expert else 0),
                      f"{what}: mtls.expert.app_refused in frames {experts}, "
                      f"expected {'one' if wants_expert else 'none'}")
    return rows


def first_answer_frame(rows):
    for row in rows:
        if row["mtls.app_reply"] or row["mtls.app_status"]:
            return row
    return None


def main():
    path = os.path.join(CAPTURES, "app-truth.tsv")
    results = Results()
    if not os.path.exists(path):
        print(f"FAIL no {path}")
        return 1
    with open(path, newline="") as handle:
        truth_rows = list(csv.DictReader(handle, delimiter="\t"))
    results.check(len(truth_rows) > 0, "app-truth.tsv has rows")
    by_capture = {}
    for truth in truth_rows:
        by_capture.setdefault(truth["capture"], []).append(truth)
    for capture, truths in sorted(by_capture.items()):
        if not os.path.exists(os.path.join(CAPTURES, capture)):
            results.check(False, f"{capture}: listed in app-truth.tsv but missing")
            continue
        final = mtls_rows(capture, True)
        single = mtls_rows(capture, False)
        for truth in truths:
            key = f"{capture} stream {truth['stream']} exchange {truth['exchange']}"

            def mine(rows):
                return [r for r in rows if r["tcp.stream"] == truth["stream"] and
                        r["mtls.exchange"] == truth["exchange"]]
            check_rows(results, key, truth, mine(final), True)
            single_rows = check_rows(results, key, truth, mine(single), False)
            # The frame that first shows the answer carries it: the server sent it,
            # and Wireshark's own dissector reads the same status there.
            if truth["app_reply"] == "-" and truth["app_status"] == "-":
                continue
            row = first_answer_frame(single_rows)
            results.check(row is not None, f"{key}: single pass shows no answer")
            if row is None:
                continue
            # The server's port: where Wireshark's TLS dissector sees the ClientHello go.
            hello_ports = set(tshark(capture, "-Y", f"tcp.stream == {truth['stream']} && "
                                     "tls.handshake.type == 1", "-T", "fields",
                                     "-e", "tcp.dstport").split())
            results.check(len(hello_ports) == 1 and row["tcp.srcport"] in hello_ports,
                          f"{key}: answer frame {row['frame.number']} sent from port "
                          f"{row['tcp.srcport']}, the server's is {sorted(hello_ports)}")
            field = DISSECTOR_STATUS.get(truth["app_protocol"])
            want = truth["app_status"]
            if truth["app_protocol"] == "mysql" and want == "0":
                # An OK packet has no error code: its header byte is 0x00.
                field, want = "mysql.response_code", "0x00"
            protocols = dissector_values(capture, row["frame.number"], "frame.protocols")
            dissected = any(field and field.split(".")[0] in p.split(":") for p in protocols)
            if field and want != "-" and not dissected:
                # Wireshark did not dissect this protocol here (e.g. the SMTP-style
                # banner of a TLS server on port 443): nothing of its own to compare.
                print(f"note {key}: Wireshark does not dissect {field.split('.')[0]} in frame "
                      f"{row['frame.number']}; its status is not cross-checked")
            elif field and want != "-":
                values = dissector_values(capture, row["frame.number"], field)
                results.check(want in values,
                              f"{key}: {field} in frame {row['frame.number']} is {sorted(values)}, "
                              f"expected {truth['app_status']}")
    return results.summary()


if __name__ == "__main__":
    sys.exit(main())
