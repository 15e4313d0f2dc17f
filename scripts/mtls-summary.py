#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print one line per TLS client-authentication exchange found by the mtls plugin.

    scripts/mtls-summary.py [--tsv] [--single-pass] [--tshark-arg ARG]... CAPTURE...

By default tshark runs two passes (-2), so every frame of an exchange carries its
final verdict; rows are deduplicated by (mtls.transport, mtls.session, mtls.exchange). With
--single-pass, plain `tshark -r` shows what was known at each frame; the row
kept for an exchange is its decision frame (mtls.decision_frame), or else its
last frame. tshark runs through scripts/tshark-mtls (plugin from the build tree).

Sample captures use TCP port 443; for other ports pass e.g.
--tshark-arg=-d --tshark-arg=tcp.port==8443,tls
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TSHARK = os.environ.get("MTLS_TSHARK", os.path.join(HERE, "tshark-mtls"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from checks import canonical, tshark_bool  # noqa: E402

# Column name -> mtls field. Frame-number and boolean fields are normalised below.
FIELDS = {
    "phase": "mtls.phase",
    "requested": "mtls.requested",
    "provided": "mtls.provided",
    "response": "mtls.response",
    "verdict": "mtls.verdict",
    "alert": "mtls.alert",
    "decision_frame": "mtls.decision_frame",
    "request_frame": "mtls.request_frame",
    "response_frame": "mtls.response_frame",
    "verify_frame": "mtls.verify_frame",
    "time_to_decision": "mtls.time_to_decision",
    "resumed": "mtls.resumed",
    "pha_offered": "mtls.pha_offered",
    "inferred": "mtls.inferred",
    "confidence": "mtls.confidence",
    "evidence": "mtls.evidence",
}
BOOLEANS = {"requested", "provided", "resumed", "pha_offered", "inferred"}

COLUMNS = ["capture", "transport", "stream", "exchange", "phase", "requested", "response", "verdict",
           "alert", "decision_frame"]
TSV_COLUMNS = COLUMNS + ["request_frame", "response_frame", "verify_frame", "resumed",
                         "pha_offered", "evidence"]


def alert_names():
    """TLS alert names by number, from the list the plugin itself is built with."""
    names = {}
    try:
        with open(os.path.join(ROOT, "plugin", "core", "mtls_alerts.def")) as handle:
            for number, name in re.findall(r'MTLS_ALERT\((\d+),\s*"([^"]+)"\)', handle.read()):
                names[number] = name
    except OSError:
        pass
    return names


ALERT_NAMES = alert_names()


def first(value):
    """One value of a JSON field: tshark makes a list of a repeated key."""
    while isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def normalise(column, raw):
    if raw == "":
        return ""
    if column in BOOLEANS:
        # How each Wireshark version prints booleans: tests/lib/checks.py.
        return {True: "yes", False: "no"}.get(canonical(tshark_bool, raw), f"?{raw}")
    if column == "alert":
        return ALERT_NAMES.get(raw, raw)
    return raw


def run_tshark(capture, single_pass, tshark_args):
    command = [TSHARK, "-r", capture, "-Y", "mtls", "-T", "json", "--no-duplicate-keys",
               "-J", "frame tcp mtls"]
    if not single_pass:
        command.insert(1, "-2")
    command += list(tshark_args)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"tshark failed on {capture} (exit {result.returncode}):\n"
                           f"{result.stderr.strip()}")
    text = result.stdout.strip()
    return json.loads(text) if text else []


def is_decision(row):
    return row["frame"] != "" and row["frame"] == row["decision_frame"]


def exchanges(capture, single_pass=False, tshark_args=()):
    """Exchanges in a capture: a list of dicts of strings (absent fields are "").

    Keys: capture, stream, exchange, frame and every key of FIELDS; booleans are
    "yes"/"no", alerts are TLS alert names.
    """
    rows = {}
    for packet in run_tshark(capture, single_pass, tshark_args):
        layers = packet.get("_source", {}).get("layers", {})
        frame = as_list(layers.get("frame"))
        frame_number = first(frame[0].get("frame.number")) if frame else ""
        tcp = as_list(layers.get("tcp"))
        stream = first(tcp[0].get("tcp.stream")) if tcp else ""
        # A frame that closes one exchange and opens another carries two mtls trees.
        for tree in as_list(layers.get("mtls")):
            if not isinstance(tree, dict):
                continue
            # mtls.session names the connection in every transport (tcp.stream,
            # udp.stream, an EAP-TLS session's Calling-Station-Id or MAC).
            row = {"capture": os.path.basename(capture),
                   "transport": first(tree.get("mtls.transport")) or "tcp",
                   "stream": first(tree.get("mtls.session")) or stream,
                   "exchange": first(tree.get("mtls.exchange")), "frame": frame_number}
            for column, field in FIELDS.items():
                row[column] = normalise(column, first(tree.get(field)))
            key = (row["transport"], row["stream"], row["exchange"])
            kept = rows.get(key)
            # Keep the decision frame's row once seen; until then, the latest one. A
            # later decision frame wins: a silent refusal decides again at the close.
            if kept is None or not is_decision(kept) or is_decision(row):
                rows[key] = row

    def order(key):
        transport, stream, exchange = key
        return (transport != "tcp", transport, int(stream) if stream.isdigit() else -1, stream,
                int(exchange) if exchange.isdigit() else -1)

    return [rows[key] for key in sorted(rows, key=order)]


def print_table(rows, columns):
    header = [column.replace("_", " ") for column in columns]
    cells = [[row.get(column) or "-" for column in columns] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(header, *cells)]
    for line in [header] + cells:
        print("  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip())


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="One line per TLS client-authentication exchange (mtls plugin).")
    parser.add_argument("captures", nargs="+", metavar="CAPTURE")
    parser.add_argument("--tsv", action="store_true",
                        help="tab-separated output with a header and more columns")
    parser.add_argument("--single-pass", action="store_true",
                        help="plain tshark -r: the verdict known at each exchange's decision frame")
    parser.add_argument("--tshark-arg", action="append", default=[], metavar="ARG",
                        help="extra tshark argument, repeatable (e.g. -d tcp.port==8443,tls)")
    args = parser.parse_args(argv)

    tshark_args = []
    for arg in args.tshark_arg:
        # "-d tcp.port==8443,tls" given as one argument is split at the first space.
        tshark_args += arg.split(" ", 1) if arg.startswith("-") and " " in arg else [arg]

    rows = []
    failed = False
    for capture in args.captures:
        try:
            rows += exchanges(capture, args.single_pass, tshark_args)
        except (RuntimeError, ValueError, OSError) as error:
            print(f"mtls-summary: {capture}: {error}", file=sys.stderr)
            failed = True

    if args.tsv:
        print("\t".join(TSV_COLUMNS))
        for row in rows:
            print("\t".join((row.get(column) or "-").replace("\t", " ")
                            for column in TSV_COLUMNS))
    elif rows or failed:
        if rows:
            print_table(rows, COLUMNS)
    else:
        print("no TLS client-authentication exchanges found")
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    sys.exit(main())
