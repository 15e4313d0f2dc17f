#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Compare the plugin's verdicts on the sample captures with their truth table.

sample-captures/truth.tsv is written from how each capture was made (server
mode, server log), never from the plugin. For every exchange it lists, this
test checks, with the plugin loaded from the build tree:

  * the final verdict and fields (tshark -2) match the table;
  * the single-pass verdict at the decision frame matches too, and
    `-Y mtls.rejected` prints the decision frame of every rejected exchange;
  * the frame numbers the plugin names hold what they should, judged by the
    TLS dissector's own fields alone (a CertificateRequest in request_frame,
    the client's Certificate in response_frame, the alert in decision_frame);
  * the plugin reports no exchange the table does not hold;
  * the decision expert info is present with a full-sentence message.

Prints one line per check and ends with "N passed, M failed".
"""
import csv
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from checks import Results, capture_options, load_script  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.path.join(ROOT, "sample-captures")
TSHARK = os.path.join(ROOT, "scripts", "tshark-mtls")

DECISION_EXPERT = {
    "accepted": "mtls.expert.accepted",
    "rejected": "mtls.expert.rejected",
    "server-ignored": "mtls.expert.server_ignored",
    "client-aborted": "mtls.expert.client_aborted",
}


def load_summary():
    return load_script("mtls_summary", os.path.join(ROOT, "scripts", "mtls-summary.py"))


def tshark_fields(capture, *args):
    """Rows of tab-separated fields from a tshark run (plugin loaded)."""
    out = subprocess.run([TSHARK, "-r", capture, *capture_options(capture), *args], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def frame_tls_facts(capture):
    """Per frame, from the TLS dissector only: handshake types, alerts, source port."""
    facts = {}
    for row in tshark_fields(capture, "-Y", "tls", "-T", "fields", "-E", "occurrence=a",
                             "-e", "frame.number", "-e", "tcp.srcport",
                             "-e", "tls.handshake.type", "-e", "tls.alert_message.desc",
                             "-e", "tls.record.opaque_type", "-e", "tcp.payload"):
        row += [""] * (6 - len(row))
        facts[int(row[0])] = {
            "srcport": row[1],
            "handshake_types": {int(t) for t in row[2].split(",") if t},
            "alerts": {int(a) for a in row[3].split(",") if a},
            "protected": bool(row[4]),
            "payload": bytes.fromhex(row[5].replace(":", "").split(",")[0]) if row[5] else b"",
        }
    return facts


def record_with_message(payload, message_type):
    """A plaintext handshake record in the segment's own bytes whose first message
    is `message_type`: what the TLS dissector does not show when the capture starts
    inside an earlier record of the same segment ("Continuation Data")."""
    for at in range(len(payload) - 5):
        if payload[at] == 22 and payload[at + 1] == 3 and payload[at + 2] <= 4 \
                and payload[at + 5] == message_type:
            return True
    return False


def truth_rows():
    with open(os.path.join(CAPTURES, "truth.tsv"), newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def check_capture(results, summary, capture_name, truth):
    alerts_by_name = {name: int(number) for number, name in summary.ALERT_NAMES.items()}
    capture = os.path.join(CAPTURES, capture_name)
    final = {(r["stream"], r["exchange"]): r for r in summary.exchanges(capture, single_pass=False,
                                                                    tshark_args=capture_options(capture))}
    single = {(r["stream"], r["exchange"]): r for r in summary.exchanges(capture, single_pass=True,
                                                                     tshark_args=capture_options(capture))}
    facts = frame_tls_facts(capture)
    rejected_frames = {int(r[0]) for r in tshark_fields(capture, "-Y", "mtls.rejected", "-T",
                                                        "fields", "-e", "frame.number")}
    # Frame -> message of each decision expert info the truth table expects here.
    experts = {}
    for expert_name in sorted({DECISION_EXPERT.get(row["verdict"]) for row in truth} - {None}):
        for row in tshark_fields(capture, "-2", "-Y", expert_name, "-T", "fields", "-E",
                                 "occurrence=a", "-E", "aggregator=|", "-e", "frame.number",
                                 "-e", "_ws.expert.message"):
            row += [""] * (2 - len(row))
            experts.setdefault(expert_name, {})[int(row[0])] = row[1]

    expected_keys = set()
    for row in truth:
        key = (row["stream"], row["exchange"])
        expected_keys.add(key)
        name = f"{capture_name} stream {row['stream']} exchange {row['exchange']}"
        got = final.get(key)
        results.check(got is not None, f"{name}: exchange reported (-2)")
        if got is None:
            continue
        for field in ("phase", "requested", "response", "verdict", "alert", "resumed",
                      "pha_offered"):
            want = row[field]
            have = got.get(field) or "-"
            if field == "response" and row["requested"] == "no":
                want = "-"
            results.check(have == want, f"{name}: {field} is {have!r}, truth says {want!r} (-2)")

        decision = as_int(got.get("decision_frame"))
        one = single.get(key)
        if row["verdict"] != "undetermined":
            results.check(one is not None and one.get("verdict") == row["verdict"],
                          f"{name}: single-pass verdict at the decision frame is "
                          f"{one and one.get('verdict')!r}, truth says {row['verdict']!r}")
            results.check(decision > 0, f"{name}: has a decision frame")
        if row["verdict"] == "rejected":
            results.check(decision in rejected_frames,
                          f"{name}: -Y mtls.rejected lists decision frame {decision}")

        # The frames the plugin names, judged by the TLS dissector's own fields. An
        # exchange inferred from sizes (keys unusable: the capture misses the
        # ClientHello they are keyed by) names protected records.
        request = as_int(got.get("request_frame"))
        if row["requested"] == "yes":
            results.check(request > 0, f"{name}: names its request_frame")
        if got.get("inferred") == "yes":
            for column in ("request_frame", "response_frame", "decision_frame"):
                frame = as_int(got.get(column))
                if frame:
                    results.check(facts.get(frame, {}).get("protected", False),
                                  f"{name}: inferred {column} {frame} holds a protected record")
        elif request:
            fact = facts.get(request, {})
            results.check(13 in fact.get("handshake_types", set())
                          or record_with_message(fact.get("payload", b""), 13),
                          f"{name}: request_frame {request} holds a CertificateRequest")
        response = as_int(got.get("response_frame"))
        if row["response"] in ("certificate", "empty") and got.get("inferred") != "yes":
            types = facts.get(response, {}).get("handshake_types", set())
            results.check(bool(types & {11, 25}),
                          f"{name}: response_frame {response} holds the client's Certificate")
        if row["alert"] not in ("", "-") and row["verdict"] in ("rejected", "client-aborted"):
            alerts = facts.get(decision, {}).get("alerts", set())
            results.check(alerts_by_name.get(row["alert"], -1) in alerts,
                          f"{name}: decision_frame {decision} holds alert {row['alert']}")
        expert_name = DECISION_EXPERT.get(row["verdict"])
        if expert_name:
            messages = experts.get(expert_name, {}).get(decision, "").split("|")
            # The decision's sentence names its own frame; other experts may share it.
            results.check(any(f"frame {decision}" in m and m.endswith(".") for m in messages),
                          f"{name}: {expert_name} with a sentence at frame {decision}")

    for key in final:
        results.check(key in expected_keys,
                      f"{capture_name} stream {key[0]} exchange {key[1]}: reported by the "
                      f"plugin but not in the truth table")


def main():
    summary = load_summary()
    truth = truth_rows()
    by_capture = {}
    for row in truth:
        by_capture.setdefault(row["capture"], []).append(row)
    results = Results()
    for capture_name in sorted(by_capture):
        before = results.failed
        check_capture(results, summary, capture_name, by_capture[capture_name])
        print(f"{'ok  ' if results.failed == before else 'FAIL'} {capture_name}")
    print(f"{results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
