#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The flow graph (`-z flow,mtls,standard`, Statistics > Flow Graph "mTLS") and the
evidence clauses in the packet details, against how the sample captures were made.

Ladder: for each capture below, in a single pass and with -2, the arrows tshark
prints must be exactly the expected ones, in frame order: for each exchange of
sample-captures/truth.tsv (its requested / response / verdict / alert columns),
ClientHello ->, CertificateRequest with its CA count <-, the client's answer
(chain of N, and CertificateVerify when in the same frame; empty) ->, and the
decision with the verdict on it. The frame of every event, the CA count and the
chain length come from plain tshark's dissection of the capture (TLS fields, not
the plugin's): the ClientHello (tls.handshake.type 1), the CertificateRequest (13)
and its tls.handshake.dname_len entries, the client's Certificate (11) and its
tls.handshake.certificate_length entries, CertificateVerify (15), the server's
fatal alert of the truth row (tls.alert_message.desc), or, when the server went
on, its first TLS record after the client's answer; not-requested TLS 1.2: its
ServerHelloDone (14). The inferred case is the same capture without its secrets
(tests/lib/strip_secrets.py): the same frames, each arrow after the ClientHello
marked "?" and its comment saying "inferred from record sizes".

Evidence: with -V, on several captures, no mtls line is cut ("[truncated]"), and
the clause items (mtls.evidence.clause) joined with "; " equal mtls.evidence of
the same exchange in -T fields.

Prints one line per failed check and ends with "N passed, M failed".
"""
import csv
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from checks import Results, capture_options  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.path.join(ROOT, "sample-captures")
TSHARK = os.path.join(ROOT, "scripts", "tshark-mtls")
STRIP = os.path.join(ROOT, "tests", "lib", "strip_secrets.py")

LADDER_CAPTURES = [
    "ossl-tls12-required-no-cert",
    "ossl-tls13-required-untrusted-cert",
    "ossl-tls13-required-good-cert",
    "gnutls-tls13-optional-no-cert",
    "ossl-tls12-reneg-no-cert",
    "nginx-tls13-required-no-cert",
]
# Captured with keys, read without them: every event after the ClientHello inferred.
INFERRED_CAPTURES = ["ossl-tls13-required-untrusted-cert", "gnutls-tls13-optional-no-cert"]
EVIDENCE_CAPTURES = LADDER_CAPTURES + ["ossl-tls12-required-untrusted-cert",
                                       "nginx-tls13-required-expired-cert",
                                       "ossl-tls12-required-good-cert-large-ca-list"]

EVIDENCE_WITHOUT_KEYS = ["ossl-tls12-reneg-good-cert", "ossl-tls13-required-untrusted-cert",
                         "ossl-tls12-reneg-untrusted-cert"]

# RFC 8446 section 6: the alert names the truth table uses.
ALERTS = {"handshake_failure": 40, "bad_certificate": 42, "unsupported_certificate": 43,
          "certificate_expired": 45, "unknown_ca": 48, "access_denied": 49,
          "decrypt_error": 51, "certificate_required": 116}
LABEL_WIDTH = 20  # tshark's text ladder writes this much of a label


def truth_rows(capture):
    with open(os.path.join(CAPTURES, "truth.tsv"), newline="") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t")
                if row["capture"] == capture + ".pcapng"]


def dissect(path):
    """Plain tshark: per TLS frame its number, whether the server sent it, the
    handshake types, alert descriptions, CA names and certificates in it."""
    fields = ["frame.number", "tcp.srcport", "tls.handshake.type", "tls.alert_message.desc",
              "tls.handshake.dname_len", "tls.handshake.certificate_length", "tls.record.content_type"]
    command = ["tshark", "-r", path, "-Y", "tls", "-T", "fields", "-E", "separator=\t",
               "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in fields:
        command += ["-e", field]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    frames = []
    for line in output.splitlines():
        parts = line.split("\t") + [""] * len(fields)
        split = lambda text: [int(x) for x in text.split(",") if x]  # noqa: E731
        frames.append({
            "frame": int(parts[0]), "server": parts[1] == "443",
            "types": split(parts[2]), "alerts": split(parts[3]),
            "dnames": len(split(parts[4])), "certs": len(split(parts[5])),
            "records": split(parts[6]),
        })
    return frames


def fit(verdict, what, inferred):
    mark = "?" if inferred else ""
    label = f"{verdict} ({what})"
    return (label if len(label) + len(mark) <= LABEL_WIDTH else verdict) + mark


def expected_ladder(capture, inferred=False):
    """(frame, label, from_server) per arrow, from truth.tsv and plain dissection."""
    frames = dissect(os.path.join(CAPTURES, capture + ".pcapng"))
    mark = "?" if inferred else ""
    arrows = []
    hellos = [f for f in frames if not f["server"] and 1 in f["types"]]
    rows = truth_rows(capture)
    for number, row in enumerate(rows):
        hello = hellos[number]["frame"]
        following = hellos[number + 1]["frame"] if number + 1 < len(hellos) else 1 << 30
        inside = [f for f in frames if hello <= f["frame"] < following]
        start = "ClientHello" if row["phase"] == "handshake" else "renegotiation"
        arrows.append((hello, start, False))
        if row["requested"] != "yes":
            done = next(f for f in inside if f["server"] and 14 in f["types"])
            arrows.append((done["frame"], fit(row["verdict"], "flight end", inferred), True))
            continue
        request = next(f for f in inside if f["server"] and 13 in f["types"])
        if inferred:
            arrows.append((request["frame"], "CertificateRequest" + mark, True))
        else:
            count = request["dnames"]
            arrows.append((request["frame"], f"CertRequest, {count} CA{'' if count == 1 else 's'}",
                           True))
        answer = next(f for f in inside if not f["server"] and f["frame"] > request["frame"]
                      and 11 in f["types"]) if not inferred else None
        if inferred:
            # the same frames as the keyed dissection: the client's flight after the request
            keyed = next(f for f in inside if not f["server"] and f["frame"] > request["frame"]
                         and 11 in f["types"])
            answer_frame = keyed["frame"]
            label = ("Certificate chain" if row["response"] == "certificate"
                     else "Certificate (empty)") + mark
            arrows.append((answer_frame, label, False))
        else:
            answer_frame = answer["frame"]
            if row["response"] == "certificate":
                verify = 15 in answer["types"]
                arrows.append((answer_frame, f"Cert chain of {answer['certs']}"
                               + (" +CV" if verify else ""), False))
            else:
                arrows.append((answer_frame, "Certificate (empty)", False))
        after = [f for f in inside if f["server"] and f["frame"] > answer_frame]
        if row["verdict"] == "rejected":
            code = ALERTS[row["alert"]]
            decision = next(f for f in after if code in f["alerts"])
            what = "alert" if inferred else f"alert {code}"
            arrows.append((decision["frame"], fit("rejected", what, inferred), True))
        else:
            decision = after[0]
            arrows.append((decision["frame"], fit(row["verdict"], "went on", inferred), True))
    return arrows


ARROW = re.compile(r"\((\d+)\)\s+(<-+|-+>)\s+\((\d+)\)")
EVENT = re.compile(r"^\|[^|]*\|\s*(.*?)\s*\|frame (\d+): (.*)$")


def ladder(path, two_pass):
    command = [TSHARK, "-r", path, "-q", "-z", "flow,mtls,standard"] + capture_options(path)
    if two_pass:
        command.insert(1, "-2")
    result = subprocess.run(command, capture_output=True, text=True)
    arrows = []
    lines = result.stdout.splitlines()
    for index, line in enumerate(lines):
        event = EVENT.match(line)
        if not event:
            continue
        arrow = ARROW.search(lines[index + 1]) if index + 1 < len(lines) else None
        from_server = None  # no arrow under the event: fails the comparison
        if arrow:  # the server's port (443 in every sample capture) on the sending side
            server_left = arrow.group(1) == "443"
            from_server = arrow.group(2).endswith(">") if server_left else arrow.group(2).startswith("<")
        arrows.append((int(event.group(2)), event.group(1), from_server, event.group(3)))
    return arrows, result


def check_ladders(results, workdir):
    cases = [(name, os.path.join(CAPTURES, name + ".pcapng"), False) for name in LADDER_CAPTURES]
    for name in INFERRED_CAPTURES:
        stripped = os.path.join(workdir, name + "-nokeys.pcapng")
        subprocess.run([sys.executable, STRIP, os.path.join(CAPTURES, name + ".pcapng"),
                        stripped], check=True)
        os.chmod(stripped, 0o644)
        cases.append((name, stripped, True))
    for name, path, inferred in cases:
        expected = expected_ladder(name, inferred)
        for two_pass in (False, True):
            what = f"{name}{' without keys' if inferred else ''}{' -2' if two_pass else ''}"
            got, result = ladder(path, two_pass)
            results.equal(result.returncode, 0, f"{what}: tshark exit status")
            results.equal([arrow[:3] for arrow in got], expected, f"{what}: ladder")
            for frame, label, _, comment in got:
                says_inferred = "inferred from record sizes" in comment
                results.check(says_inferred == label.endswith("?"),
                              f"{what}: frame {frame} '{label}' says inferred only with '?'",
                              comment)
                if inferred and label != "ClientHello":
                    results.check(says_inferred, f"{what}: frame {frame} says it is inferred",
                                  comment)


def check_evidence(results, workdir):
    cases = [(name, os.path.join(CAPTURES, name + ".pcapng")) for name in EVIDENCE_CAPTURES]
    # Read without keys, inferred evidence has the longest clauses (over a line).
    for name in EVIDENCE_WITHOUT_KEYS:
        stripped = os.path.join(workdir, name + "-nokeys.pcapng")
        subprocess.run([sys.executable, STRIP, os.path.join(CAPTURES, name + ".pcapng"),
                        stripped], check=True)
        os.chmod(stripped, 0o644)
        cases.append((name + " without keys", stripped))
    continued = 0
    for name, path in cases:
        options = capture_options(path)
        fields = subprocess.run(
            [TSHARK, "-2", "-r", path, "-Y", "mtls.evidence", "-T", "fields", "-E",
             "separator=\t", "-E", "occurrence=a", "-E", "aggregator=\x1f", "-e", "frame.number",
             "-e", "mtls.evidence"] + options, capture_output=True, text=True).stdout
        evidence = {}
        for line in fields.splitlines():
            frame, texts = line.split("\t", 1)
            evidence[int(frame)] = texts.split("\x1f")
        results.check(bool(evidence), f"{name}: some frame shows mtls.evidence")
        verbose = subprocess.run([TSHARK, "-2", "-r", path, "-Y", "mtls.evidence", "-V"] + options,
                                 capture_output=True, text=True).stdout
        frame = None
        in_mtls = False
        shown = {}
        for line in verbose.splitlines():
            match = re.match(r"^Frame (\d+):", line)
            if match:
                frame = int(match.group(1))
                in_mtls = False
            if re.match(r"^\[?TLS Client Authentication", line):
                in_mtls = True
                shown.setdefault(frame, []).append([])
                continue
            if in_mtls and not line.startswith(" "):
                in_mtls = False
            if in_mtls:
                results.check("[truncated]" not in line, f"{name}: frame {frame}: mtls line cut",
                              line.strip())
                clause = re.match(r"^\s+\[?Clause: (.*?)\]?$", line)
                if clause:
                    shown[frame][-1].append(clause.group(1))
                more = re.match(r"^\s+\[?\.\.\. (.*?)\]?$", line)
                if more and shown[frame][-1]:  # the rest of a clause longer than a line
                    shown[frame][-1][-1] += " " + more.group(1)
                    continued += 1
        for frame, texts in evidence.items():
            clauses = ["; ".join(items) for items in shown.get(frame, [])]
            results.equal(clauses, texts, f"{name}: frame {frame}: clauses joined")
    results.check(continued > 0, "some clause longer than a line was shown in parts")


def main():
    results = Results()
    with tempfile.TemporaryDirectory() as workdir:
        os.chmod(workdir, 0o755)
        check_ladders(results, workdir)
        check_evidence(results, workdir)
    return results.summary()


if __name__ == "__main__":
    sys.exit(main())
