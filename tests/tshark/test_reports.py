#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The reports (-z mtls,conv, -z mtls,exchanges and -z mtls,tree) against the sample
captures' truth.

sample-captures/truth.tsv is written from how each capture was made, never from
the plugin. For every capture, in a single pass and with -2, this test runs
scripts/tshark-mtls -q with the reports and checks:

  * conv_rows_match_truth: one row per exchange of the table, in stream and
    exchange order, with its phase, requested, response, verdict and alert, the
    TLS version the capture's name states, and "no" under Inferred (every
    sample capture is decrypted, but for a TLS 1.3 capture whose ClientHello was
    cut: its secrets are keyed by the ClientHello's random, so the exchange can
    only be inferred, "yes (...)");
  * conv_totals_match_truth: the totals per verdict;
  * conv_filter_*: `-z mtls,conv,<filter>` lists exactly the exchanges of the
    table the filter selects (mtls.rejected, !mtls.rejected, an accepted verdict,
    !mtls.accepted);
  * table_rows_match_truth: -z mtls,exchanges (the table Wireshark shows under
    Statistics, printed by tshark's generic table printer) lists one row per
    exchange of the table, in stream and exchange order, with its exchange number,
    phase, requested, response, verdict and alert, the TLS version the capture's
    name states, and "no" under Inferred;
  * tree_counts_match_truth: counts by verdict, rejecting alert, phase and TLS
    version, and one server with every exchange under it;
  * filtered_*: -z mtls,tree,<filter> and -z mtls,exchanges,<filter> count and list
    only what the filter selects: `mtls.verdict == "rejected"` the rejected
    exchanges of the table, and, on captures with several connections,
    `tcp.stream == N` the exchanges of that stream. In a single pass only the
    decision frame and later ones show `rejected`, so these filters must select
    the same as with -2;
  * pending_frames_*: the same with `!mtls.rejected` and `!mtls.accepted`, whose
    matching frames differ by pass: in a single pass the frames before a
    rejection (acceptance) show the exchange `pending` and match, its decision
    frame does not. Like -z mtls,conv, the tree and the table select an exchange
    when the filter matched a frame showing its final state, or any frame while it
    is undecided, and count it under its latest state: the rows the filter keeps
    in the table, in both passes. The tree's verdict counts must also equal the
    totals of -z mtls,conv,<filter> of the same run. In a single pass the tree may
    keep a server row at zero (see check_filtered); only non-zero rows must agree;
  * single_pass_equals_two_pass: both runs print the same conv reports and table
    rows, also on each capture cut in half, where exchanges left pending must count
    as undetermined in both (truncated_*);
  * no_report_without_z: without -z nothing of the reports is printed.

Prints one line per failed check and ends with "N passed, M failed".
"""
import collections
import csv
import os
import re
import struct
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from checks import Results, capture_options, keys_unusable  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.path.join(ROOT, "sample-captures")
TSHARK = os.path.join(ROOT, "scripts", "tshark-mtls")

CONV_TITLE = "mTLS client-authentication exchanges"
TREE_TITLE = "mTLS Client Authentication:"
TABLE_TITLE = "mTLS Client Authentication Exchanges:"
TABLE_COLUMNS = ["transport", "stream", "exchange", "client", "server", "sni", "version", "phase",
                 "requested", "response", "verdict", "alert", "decision", "inferred", "app"]
TABLE_HEADER = ("Transport |Stream |Exchange |Client |Server |SNI |Version |Phase |Requested |Response "
                "|Verdict |Alert |Decision |Inferred |App reply |")
COLUMNS = ["transport", "stream", "client", "server", "sni", "version", "phase", "requested", "response",
           "verdict", "alert", "decision", "inferred", "app"]
VERDICTS = ["not-requested", "accepted", "rejected", "server-ignored", "client-aborted",
            "undetermined"]
PHASES = ["handshake", "renegotiation", "post-handshake"]

# Each filter with the truth rows it must select.
REJECTED_FILTER = 'mtls.verdict == "rejected"'
FILTERS = {
    "mtls.rejected": lambda row: row["verdict"] == "rejected",
    "!mtls.rejected": lambda row: row["verdict"] != "rejected",
    'mtls.verdict == "accepted"': lambda row: row["verdict"] == "accepted",
    "!mtls.accepted": lambda row: row["verdict"] != "accepted",
}
# Filters that, in a single pass, match the frames before an exchange's decision
# (they show it `pending`) but not its decision frame.
PENDING_FRAMES_FILTERS = ["!mtls.rejected", "!mtls.accepted"]


def load_truth():
    """truth.tsv rows by capture, each with its app-truth.tsv row (what the
    application answered, from the servers' logs) under "app", if it has one."""
    apps = {}
    app_path = os.path.join(CAPTURES, "app-truth.tsv")
    if os.path.exists(app_path):
        with open(app_path, newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                apps[(row["capture"], row["stream"], row["exchange"])] = row
    by_capture = collections.defaultdict(list)
    with open(os.path.join(CAPTURES, "truth.tsv"), newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            row["app"] = apps.get((row["capture"], row["stream"], row["exchange"]))
            by_capture[row["capture"]].append(row)
    for rows in by_capture.values():
        rows.sort(key=lambda row: (int(row["stream"]), int(row["exchange"])))
    return by_capture


def run_tshark(capture, *args):
    result = subprocess.run([TSHARK, *capture_options(capture), *args, "-r", capture],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"tshark failed on {capture}: {result.stderr.strip()}")
    return result.stdout


def conv_sections(output):
    """{filter or None: (rows as dicts, {verdict: total}, total)} of every conv report."""
    sections = {}
    lines = output.splitlines()
    for start, line in enumerate(lines):
        if line != CONV_TITLE:
            continue
        index = start + 1
        report_filter = None
        if lines[index].startswith("Filter: "):
            report_filter = lines[index][len("Filter: "):]
            index += 1
        index += 2  # rule, header
        rows = []
        while not lines[index].startswith("-"):
            # The app reply is the last cell and may hold double spaces itself.
            cells = re.split(r"\s{2,}", lines[index].strip(), maxsplit=len(COLUMNS) - 1)
            rows.append(dict(zip(COLUMNS, cells)) if len(cells) == len(COLUMNS) else {"bad": cells})
            index += 1
        index += 1
        total = int(re.match(r"Totals: (\d+) exchanges?$", lines[index]).group(1))
        totals = {}
        index += 1
        while not lines[index].startswith("="):
            verdict, count = lines[index].split()
            totals[verdict] = int(count)
            index += 1
        sections[report_filter] = (rows, totals, total)
    return sections


def table_sections(output):
    """{filter or None: (header line, rows as dicts)} of every -z mtls,exchanges table,
    as tshark's generic table printer prints it: title, "Filter for statistics: ",
    the column names, the table's name, then one line per row, each cell followed
    by " |"."""
    sections = {}
    lines = output.splitlines()
    for start, line in enumerate(lines):
        if line != TABLE_TITLE:
            continue
        report_filter = lines[start + 1][len("Filter for statistics: "):] or None
        header = lines[start + 2]
        rows = []
        index = start + 4  # the table's name ("Exchanges") comes before the rows
        while not lines[index].startswith("="):
            cells = [cell.strip() for cell in lines[index].split(" |")]
            if cells[-1] == "":
                cells.pop()
            rows.append(dict(zip(TABLE_COLUMNS, cells)) if len(cells) == len(TABLE_COLUMNS)
                        else {"bad": cells})
            index += 1
        sections[report_filter] = (header, rows)
    return sections


def tree_counts(output):
    """{(parent, item): count} of the tree report; parent is None for top-level items."""
    counts = {}
    lines = output.splitlines()
    start = lines.index(TREE_TITLE)
    parents = []
    for line in lines[start + 3:]:
        if line.startswith("-"):
            break
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip(" "))
        match = re.match(r"(.*?)\s{2,}(\d+)\s", line.strip() + " ")
        name, count = match.group(1), int(match.group(2))
        parents[depth:] = [name]
        counts[(parents[depth - 1] if depth else None, name)] = count
    return counts


def expected_version(capture):
    if "tls12" in capture:
        return "TLS 1.2"
    if "tls13" in capture:
        return "TLS 1.3"
    return None


def check_row_against_truth(results, label, row, truth, keys, capture):
    """One report row (conv or table) against its truth.tsv row."""
    if "bad" in row:
        results.check(False, label, f"unparsable row {row['bad']}")
        return
    got = {key: row[key] for key in keys}
    # truth.tsv holds TCP connections only (the transports have their own table).
    want = {key: truth.get(key, "tcp" if key == "transport" else None) for key in got}
    results.check(got == want, label, f"got {got}, want {want}")
    version = expected_version(capture)
    if version:
        results.check(row["version"] == version, f"{label} version",
                      f"got {row['version']}, want {version}")
    if keys_unusable(capture):
        results.check(row["inferred"].startswith("yes"), f"{label} inferred", row["inferred"])
    else:
        results.check(row["inferred"] == "no", f"{label} inferred", row["inferred"])
    app = truth.get("app")
    if app:
        # The reply, else the protocol the client spoke, else nothing (app-truth.tsv).
        if app["app_reply"] != "-":
            want_app = app["app_reply"]
        else:
            want_app = app["app_protocol"] if app["app_protocol"] not in ("", "-") else "-"
        got_app = row["app"]
        ok = got_app == want_app or (len(want_app) > 127 and got_app.endswith("...") and
                                     want_app.startswith(got_app[:-3]))
        results.check(ok, f"{label} app reply", f"got {got_app!r}, want {want_app!r}")
    decision = row["decision"]
    undecided = truth["verdict"] == "undetermined"
    results.check(decision.isdigit() or (undecided and decision == "-"),
                  f"{label} decision frame", decision)


CONV_KEYS = ("transport", "stream", "phase", "requested", "response", "verdict", "alert")
TABLE_KEYS = ("transport", "stream", "exchange", "phase", "requested", "response", "verdict", "alert")


def check_conv_rows(results, what, rows, truth_rows, capture):
    results.check(len(rows) == len(truth_rows), f"{what} conv_rows_match_truth count",
                  f"{len(rows)} rows, truth has {len(truth_rows)}")
    for row, truth in zip(rows, truth_rows):
        label = f"{what} conv_rows_match_truth stream {truth['stream']} exchange {truth['exchange']}"
        check_row_against_truth(results, label, row, truth, CONV_KEYS, capture)


def check_table_rows(results, what, table, truth_rows, capture):
    label = f"{what} table_rows_match_truth"
    header, rows = table
    results.check(header == TABLE_HEADER, f"{label} header", header)
    results.check(len(rows) == len(truth_rows), f"{label} count",
                  f"{len(rows)} rows, truth has {len(truth_rows)}")
    for row, truth in zip(rows, truth_rows):
        row_label = f"{label} stream {truth['stream']} exchange {truth['exchange']}"
        check_row_against_truth(results, row_label, row, truth, TABLE_KEYS, capture)


def check_capture(results, capture, truth_rows):
    path = os.path.join(CAPTURES, capture)
    # The table is shared by every -z mtls,exchanges of a run: one per run.
    z_args = ["-z", "mtls,tree", "-z", "mtls,conv", "-z", "mtls,exchanges"]
    for report_filter in FILTERS:
        z_args += ["-z", f"mtls,conv,{report_filter}"]
    conv_by_mode = {}
    for mode, extra in (("single-pass", []), ("two-pass", ["-2"])):
        what = f"{capture} [{mode}]"
        try:
            output = run_tshark(path, "-q", *extra, *z_args)
            sections = conv_sections(output)
            counts = tree_counts(output)
            table = table_sections(output).get(None, ("", []))
        except (RuntimeError, ValueError, AttributeError, IndexError) as error:
            results.check(False, f"{what} reports print", str(error))
            continue
        conv_by_mode[mode] = (sections, table)
        check_table_rows(results, what, table, truth_rows, capture)

        rows, totals, total = sections.get(None, ([], {}, -1))
        check_conv_rows(results, what, rows, truth_rows, capture)
        want_totals = collections.Counter(row["verdict"] for row in truth_rows)
        results.check(totals == dict(want_totals) and total == len(truth_rows),
                      f"{what} conv_totals_match_truth", f"got {total} {totals}, want {dict(want_totals)}")

        for report_filter, selects in FILTERS.items():
            selected = [row for row in truth_rows if selects(row)]
            rows, totals, total = sections.get(report_filter, ([], {}, -1))
            check_conv_rows(results, f"{what} conv_filter {report_filter!r}", rows, selected,
                            capture)
            results.check(total == len(selected), f"{what} conv_filter {report_filter!r} total",
                          f"got {total}, want {len(selected)}")

        check_tree(results, what, counts, truth_rows, capture)

    check_filtered(results, capture, truth_rows, REJECTED_FILTER,
                   lambda row: row["verdict"] == "rejected")
    # In a single pass the frames before a rejection (acceptance) show the exchange
    # pending and match; its decision frame does not. Like -z mtls,conv, the tree
    # and the table report it only if it is still undecided at the end.
    for report_filter in PENDING_FRAMES_FILTERS:
        check_filtered(results, capture, truth_rows, report_filter, FILTERS[report_filter],
                       label="pending_frames")
    streams = sorted({int(row["stream"]) for row in truth_rows})
    if len(streams) > 1:
        for stream in streams:
            check_filtered(results, capture, truth_rows, f"tcp.stream == {stream}",
                           lambda row, stream=stream: int(row["stream"]) == stream)

    if len(conv_by_mode) == 2:
        results.check(conv_by_mode["single-pass"] == conv_by_mode["two-pass"],
                      f"{capture} single_pass_equals_two_pass")


def nonzero(counts):
    return {key: count for key, count in counts.items() if count}


def check_filtered(results, capture, truth_rows, report_filter, selects, label="filtered"):
    """-z mtls,tree,<filter> counts, and -z mtls,exchanges,<filter> lists, only the
    exchanges the filter selects, in a single pass and with -2; the tree's verdict
    counts are the totals of -z mtls,conv,<filter> of the same run.

    A tree cannot take a row back: when, in a single pass, the filter matched only
    the pending frames of every exchange of a server, that server's row stays at
    zero. So the passes are compared on the tree's non-zero rows."""
    path = os.path.join(CAPTURES, capture)
    selected = [row for row in truth_rows if selects(row)]
    by_mode = {}
    for mode, extra in (("single-pass", []), ("two-pass", ["-2"])):
        what = f"{capture} [{mode}] {label} {report_filter!r}"
        z_args = ["-z", f"mtls,exchanges,{report_filter}", "-z", f"mtls,tree,{report_filter}",
                  "-z", f"mtls,conv,{report_filter}"]
        try:
            output = run_tshark(path, "-q", *extra, *z_args)
            counts = tree_counts(output)
            table = table_sections(output).get(report_filter, ("", []))
            _, conv_totals, conv_total = conv_sections(output)[report_filter]
        except (RuntimeError, ValueError, AttributeError, IndexError, KeyError) as error:
            results.check(False, f"{what} reports print", str(error))
            continue
        by_mode[mode] = (nonzero(counts), table)
        check_tree(results, what, counts, selected, capture)
        check_table_rows(results, what, table, selected, capture)
        tree_verdicts = {verdict: counts.get(("Verdict", verdict), 0) for verdict in VERDICTS}
        conv_verdicts = {verdict: conv_totals.get(verdict, 0) for verdict in VERDICTS}
        results.check(tree_verdicts == conv_verdicts
                      and counts.get((None, "Verdict")) == conv_total,
                      f"{what} tree_equals_conv",
                      f"tree {tree_verdicts}, conv {conv_verdicts} ({conv_total})")
    if len(by_mode) == 2:
        results.check(by_mode["single-pass"] == by_mode["two-pass"],
                      f"{capture} {label} {report_filter!r} single_pass_equals_two_pass")


def check_tree(results, what, counts, truth_rows, capture):
    label = f"{what} tree_counts_match_truth"
    verdicts = collections.Counter(row["verdict"] for row in truth_rows)
    for verdict in VERDICTS:
        got = counts.get(("Verdict", verdict), 0)
        results.check(got == verdicts[verdict], f"{label} verdict {verdict}",
                      f"got {got}, want {verdicts[verdict]}")
    results.check(counts.get((None, "Verdict")) == len(truth_rows), f"{label} verdict total")

    alerts = collections.Counter(row["alert"] for row in truth_rows if row["verdict"] == "rejected")
    got_alerts = {name.split(" (")[0]: count for (parent, name), count in counts.items()
                  if parent == "Rejecting alert" and count}
    want_alerts = {("none seen" if alert == "-" else alert): n for alert, n in alerts.items()}
    got_alerts = {("none seen" if name.startswith("none seen") else name): n
                  for name, n in got_alerts.items()}
    results.check(got_alerts == want_alerts, f"{label} rejecting alerts",
                  f"got {got_alerts}, want {want_alerts}")

    phases = collections.Counter(row["phase"] for row in truth_rows)
    for phase in PHASES:
        got = counts.get(("Phase", phase), 0)
        results.check(got == phases[phase], f"{label} phase {phase}",
                      f"got {got}, want {phases[phase]}")

    version = expected_version(capture)
    if version:
        got = counts.get(("TLS version", version), 0)
        results.check(got == len(truth_rows), f"{label} version {version}",
                      f"got {got}, want {len(truth_rows)}")

    # Refusals above TLS by protocol, for the exchanges app-truth.tsv knows.
    if all(row.get("app") for row in truth_rows):
        refusals = collections.Counter(row["app"]["app_protocol"] for row in truth_rows
                                       if row["app"]["app_refused"] == "yes")
        got_refusals = {name: count for (parent, name), count in counts.items()
                        if parent == "Refused above TLS (protocol)" and count}
        results.check(got_refusals == dict(refusals), f"{label} refused above TLS",
                      f"got {got_refusals}, want {dict(refusals)}")

    # Non-zero rows: see check_filtered.
    servers = {name: count for (parent, name), count in counts.items()
               if parent == "Server (address:port, SNI)" and count}
    want_servers = [len(truth_rows)] if truth_rows else []
    results.check(list(servers.values()) == want_servers, f"{label} one server",
                  f"got {servers}")


def truncate_pcapng(source, destination, keep):
    """Copies a little-endian pcapng, keeping its first `keep` packets and every other
    block (section header, interfaces, decryption secrets). editcap and mergecap
    refuse to rewrite the sample captures' secrets blocks."""
    with open(source, "rb") as handle:
        data = handle.read()
    out = bytearray()
    offset = packets = 0
    while offset + 8 <= len(data):
        block_type, length = struct.unpack_from("<II", data, offset)
        if length < 12 or offset + length > len(data):
            break
        if block_type in (3, 6):  # simple and enhanced packet blocks
            packets += 1
            if packets > keep:
                offset += length
                continue
        out += data[offset:offset + length]
        offset += length
    with open(destination, "wb") as handle:
        handle.write(out)
    return packets


def reports_without_rates(output):
    """The conv reports, the table and the tree's names and counts (rates differ by
    pass)."""
    return conv_sections(output), table_sections(output), tree_counts(output)


def check_truncated(results, capture, directory):
    source = os.path.join(CAPTURES, capture)
    cut = os.path.join(directory, "cut-" + capture)
    total = truncate_pcapng(source, cut, 0)
    truncate_pcapng(source, cut, total // 2)
    z_args = ["-z", "mtls,tree", "-z", "mtls,conv", "-z", "mtls,conv,!mtls.rejected",
              "-z", "mtls,exchanges"]
    try:
        single = reports_without_rates(run_tshark(cut, "-q", *z_args))
        double = reports_without_rates(run_tshark(cut, "-q", "-2", *z_args))
    except (RuntimeError, ValueError, AttributeError, IndexError) as error:
        results.check(False, f"{capture} truncated_reports_print", str(error))
        return
    results.check(single == double, f"{capture} truncated_single_pass_equals_two_pass",
                  f"{single} != {double}")
    rows = single[0].get(None, ([], {}, 0))[0] + single[1].get(None, ("", []))[1]
    results.check(all(row.get("verdict") != "pending" for row in rows),
                  f"{capture} truncated_pending_counts_as_undetermined")
    conv_rows = [{key: row[key] for key in COLUMNS if key not in ("transport", "stream")}
                 for row in single[0].get(None, ([], {}, 0))[0]]
    table_rows = [{key: row.get(key) for key in COLUMNS if key not in ("transport", "stream")}
                  for row in single[1].get(None, ("", []))[1]]
    results.check(conv_rows == table_rows, f"{capture} truncated_table_equals_conv",
                  f"{table_rows} != {conv_rows}")


def check_no_report(results, capture):
    path = os.path.join(CAPTURES, capture)
    quiet = run_tshark(path, "-q")
    results.check(quiet.strip() == "", f"{capture} no_report_without_z (-q)", quiet[:200])
    plain = run_tshark(path)
    results.check(CONV_TITLE not in plain and TREE_TITLE not in plain and TABLE_TITLE not in plain,
                  f"{capture} no_report_without_z")


def check_expert_without_tree(results, truth):
    """tshark -z expert without a filter builds no protocol tree: the plugin's expert
    infos must reach it anyway, the same as with the filter `mtls` (which builds one):
    for every rejected exchange of a few captures, its rejection warning, naming the
    truth table's alert."""
    for capture in ("ossl-tls12-required-no-cert.pcapng", "ossl-tls13-required-untrusted-cert.pcapng",
                    "gnutls-tls12-required-no-cert.pcapng"):
        rows = [row for row in truth.get(capture, []) if row["verdict"] == "rejected"]
        results.check(bool(rows), f"{capture} expert_without_tree: a rejected truth row")
        path = os.path.join(CAPTURES, capture)
        plain = [line for line in run_tshark(path, "-q", "-z", "expert").splitlines()
                 if " mTLS " in line]
        filtered = [line for line in run_tshark(path, "-q", "-z", "expert,mtls").splitlines()
                    if " mTLS " in line]
        results.check(plain == filtered and plain, f"{capture} expert_without_tree equals filtered",
                      f"{len(plain)} lines without a filter, {len(filtered)} with")
        for row in rows:
            results.check(any(f"fatal alert {row['alert']}" in line for line in plain),
                          f"{capture} expert_without_tree names {row['alert']}", str(plain))


def main():
    truth = load_truth()
    results = Results()
    captures = sorted(name for name in os.listdir(CAPTURES) if name.endswith(".pcapng"))
    results.check(bool(captures), "sample captures present")
    for capture in captures:
        if capture not in truth:
            # A capture without rows shows no exchange (sample-captures/README.md):
            # its conv report must list none.
            sections = conv_sections(run_tshark(os.path.join(CAPTURES, capture), "-q", "-z",
                                                "mtls,conv"))
            rows = sections.get(None, ([], {}, 0))[0]
            results.check(rows == [], f"{capture} has no truth rows and no reported exchange",
                          f"{len(rows)} rows")
            continue
        check_capture(results, capture, truth[capture])
    if captures:
        check_no_report(results, captures[0])
        check_expert_without_tree(results, truth)
    with tempfile.TemporaryDirectory() as directory:
        for capture in captures:
            check_truncated(results, capture, directory)
    print(f"{results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
