#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Consistency of the plugin's verdicts across runs, passes and cut captures.

    consistency.py [--jobs N] [CAPTURE...]      (default: every sample capture)

With the plugin loaded from the build tree (scripts/tshark-mtls, MTLS_BUILD_DIR),
for every capture:

1. Determinism: reading the capture twice gives byte-identical output, single pass
   with full trees (-V) and two passes (-2 -V).

2. Single pass vs two passes. An exchange is keyed by (tcp.stream, mtls.exchange).
   With `-2` every frame of an exchange shows its final verdict F. In single pass:
     - at the exchange's decision frame (mtls.decision_frame of the -2 output), the
       exchange's tree shows F (when F is a decided verdict, i.e. not `undetermined`);
     - on any frame, the exchange's verdict is either `pending` or F (single pass
       never shows a verdict the second pass contradicts);
     - every exchange seen in one pass is seen in the other.

3. No invented verdict in cut captures. Each capture is cut (editcap -r) to: its first
   3 frames (ends mid-handshake), its first half, its last half, and its frames from
   the 5th on (mid-connection: the first ClientHello is missing). Frame k of a cut
   is frame k + offset of the original. Every exchange of a cut that gets a *decided*
   verdict (accepted, rejected, server-ignored, client-aborted, not-requested) in
   either pass must be an exchange X of the original with:
     - the same verdict, and the same decision frame (so the decision is in the cut:
       an exchange whose decision is cut off stays pending/undetermined);
     - every evidence frame X names in the original (request_frame, response_frame,
       verify_frame, decision_frame) inside the cut (the verdict rests on frames the
       cut holds), and any evidence frame the cut names the same as the original (an
       exchange inferred without keys in the cut may name fewer: no verify_frame);
     - for `not-requested`, which is a statement about the server's whole flight, the
       first frame of X in the original (its ClientHello) inside the cut: a capture
       that starts after the ClientHello cannot tell that no certificate was asked.
   Check 2 is applied to every cut too.

Prints one FAIL line per violation and ends with "N passed, M failed".
Env: MTLS_CONSISTENCY_TIMEOUT  seconds per tshark run (default 120).
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from checks import canonical, tshark_bool  # noqa: E402
TSHARK = os.path.join(ROOT, "scripts", "tshark-mtls")
TIMEOUT = int(os.environ.get("MTLS_CONSISTENCY_TIMEOUT", "120"))
DECIDED = {"accepted", "rejected", "server-ignored", "client-aborted", "not-requested"}
EVIDENCE = ("mtls.request_frame", "mtls.response_frame", "mtls.verify_frame", "mtls.decision_frame")
FIELDS = ("mtls.verdict", "mtls.exchange", "mtls.inferred") + EVIDENCE


def run(args, binary=False):
    proc = subprocess.run(args, capture_output=True, timeout=TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {proc.returncode}: "
                           f"{proc.stderr.decode(errors='replace')[-500:]}")
    return proc.stdout if binary else proc.stdout.decode(errors="replace")


def tshark(capture, *args, binary=False):
    return run([TSHARK, "-r", capture, *args], binary=binary)


def frame_count(capture):
    out = run(["capinfos", "-c", "-M", capture])
    for line in out.splitlines():
        if line.startswith("Number of packets"):
            return int(line.split()[-1])
    raise RuntimeError(f"capinfos: no packet count for {capture}")


def mtls_trees(capture, two_pass):
    """[(frame, stream, {field: show})] for every mtls tree, in frame order."""
    args = ["-Y", "mtls", "-T", "pdml", "-J", "mtls tcp"]
    if two_pass:
        args.insert(0, "-2")
    root = ET.fromstring(tshark(capture, *args, binary=True))
    trees = []
    for packet in root.iter("packet"):
        frame = stream = None
        for proto in packet.findall("proto"):
            name = proto.get("name")
            if name == "geninfo":
                for field in proto.iter("field"):
                    if field.get("name") == "num":
                        frame = int(field.get("show"))
            elif name == "tcp" and stream is None:
                for field in proto.iter("field"):
                    if field.get("name") == "tcp.stream":
                        stream = int(field.get("show"))
                        break
        for proto in packet.findall("proto"):
            if proto.get("name") != "mtls":
                continue
            values = {}
            for field in proto.iter("field"):
                name = field.get("name")
                if name in FIELDS and name not in values:
                    values[name] = field.get("show")
            trees.append((frame, stream, values))
    return trees


def exchanges(trees):
    """{(stream, exchange): {'verdict', 'frames': [..], evidence fields...}} (-2 output)."""
    result = {}
    for frame, stream, values in trees:
        key = (stream, values.get("mtls.exchange"))
        ex = result.setdefault(key, {"frames": [], "verdicts": set()})
        ex["frames"].append(frame)
        ex["verdicts"].add(values.get("mtls.verdict"))
        for name in EVIDENCE:
            if values.get(name):
                # The latest: in a single pass a silent refusal decides again.
                ex[name] = int(values[name])
        if values.get("mtls.verdict") in DECIDED:
            ex["last_decided"] = values["mtls.verdict"]
        if values.get("mtls.inferred"):
            ex["mtls.inferred"] = values["mtls.inferred"]
    return result


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.lines = []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.lines.append(f"FAIL {what}")
        return ok


def check_passes(res, label, single, double):
    """Check 2 on one capture; returns the -2 exchanges."""
    final = exchanges(double)
    ok = True
    for key, ex in final.items():
        ok &= res.check(len(ex["verdicts"]) == 1,
                        f"{label}: -2 shows several verdicts for stream {key[0]} exchange {key[1]}: "
                        f"{sorted(ex['verdicts'])}")
    seen = set()
    for frame, stream, values in single:
        key = (stream, values.get("mtls.exchange"))
        seen.add(key)
        verdict = values.get("mtls.verdict")
        if key not in final:
            ok &= res.check(False, f"{label}: frame {frame}: stream {key[0]} exchange {key[1]} "
                                   f"only in single pass ({verdict})")
            continue
        (fin,) = final[key]["verdicts"] if len(final[key]["verdicts"]) == 1 else (None,)
        shown_decision = values.get("mtls.decision_frame")
        decision = final[key].get("mtls.decision_frame")
        # A silent refusal takes back an acceptance: the single pass showed it
        # let through, decided in an earlier frame than the final rejection.
        taken_back = (verdict in ("accepted", "server-ignored") and fin == "rejected" and
                      shown_decision and decision is not None and
                      int(shown_decision) < decision)
        if verdict != "pending" and verdict != fin and not taken_back:
            ok &= res.check(False, f"{label}: frame {frame}: stream {key[0]} exchange {key[1]}: "
                                   f"single pass says {verdict}, -2 says {fin}")
        decision = final[key].get("mtls.decision_frame")
        if frame == decision and fin in DECIDED:
            ok &= res.check(verdict == fin, f"{label}: decision frame {frame} of stream {key[0]} "
                                            f"exchange {key[1]}: single pass {verdict}, -2 {fin}")
    for key, ex in final.items():
        ok &= res.check(key in seen, f"{label}: stream {key[0]} exchange {key[1]} only with -2")
        (fin,) = ex["verdicts"] if len(ex["verdicts"]) == 1 else (None,)
        decision = ex.get("mtls.decision_frame")
        if fin in DECIDED and decision is not None and decision in ex["frames"]:
            shown = [v.get("mtls.verdict") for f, s, v in single
                     if f == decision and (s, v.get("mtls.exchange")) == key]
            ok &= res.check(shown == [fin], f"{label}: decision frame {decision} of stream {key[0]} "
                                            f"exchange {key[1]} in single pass shows {shown}, -2 {fin}")
    res.check(ok, f"{label}: single pass and -2 disagree")
    return final


def check_cut(res, label, original, cut_trees, offset, first, last):
    """Check 3 for one cut (frames first..last of the original, offset = first - 1)."""
    by_decision = {}
    for key, ex in original.items():
        if ex.get("mtls.decision_frame") is not None:
            by_decision.setdefault(ex["mtls.decision_frame"], []).append(ex)
    for pass_name, trees in cut_trees:
        for key, ex in exchanges(trees).items():
            decided = sorted(v for v in ex["verdicts"] if v in DECIDED)
            if not decided:
                continue
            verdict = ex["last_decided"]
            where = f"{label} ({pass_name}) stream {key[0]} exchange {key[1]} {verdict}"
            decision = ex.get("mtls.decision_frame")
            if not res.check(decision is not None, f"{where}: decided without a decision frame"):
                continue
            decision += offset
            candidates = [x for x in by_decision.get(decision, []) if verdict in x["verdicts"]]
            if not candidates and verdict in ("accepted", "server-ignored"):
                # A cut without the exchange's start never concludes a silent
                # refusal: it keeps the acceptance the original took back later (the
                # original's single pass shows it too). Its frames need not match.
                taken_back = [x for x in original.values() if "rejected" in x["verdicts"] and
                              (x.get("mtls.decision_frame") or 0) > decision]
                res.check(bool(taken_back), f"{where}: invented: the original has no {verdict} "
                                            f"decided in frame {decision}, nor a later rejection")
                continue
            if not res.check(bool(candidates), f"{where}: invented: the original has no {verdict} "
                                               f"decided in frame {decision}"):
                continue
            problems = []
            inferred_in_cut = canonical(tshark_bool, ex.get("mtls.inferred", "")) is True
            for x in candidates:
                problems = []
                for name in EVIDENCE:
                    if name not in x:
                        continue
                    if not first <= x[name] <= last:
                        problems.append(f"{name} {x[name]} is not in the cut")
                    elif inferred_in_cut and name in ("mtls.request_frame", "mtls.response_frame"):
                        # Inferred from sizes (the cut lost the ClientHello the keys are
                        # matched by): the request and answer are named by the protected
                        # records of their flights, inside the original exchange.
                        end = x.get("mtls.decision_frame", last)
                        if ex.get(name) is not None and not (
                                min(x["frames"]) <= ex[name] + offset <= end):
                            problems.append(f"{name} is {ex.get(name)} (+{offset}), outside "
                                            f"the original exchange (frames "
                                            f"{min(x['frames'])}-{end})")
                    elif ex.get(name) is not None and ex[name] + offset != x[name]:
                        problems.append(f"{name} is {ex.get(name)} (+{offset}), the original {x[name]}")
                if verdict == "not-requested" and min(x["frames"]) < first:
                    problems.append(f"exchange starts in frame {min(x['frames'])}, before the cut")
                if not problems:
                    break
            res.check(not problems, f"{where}: invented: " + "; ".join(problems))


def truth_captures():
    """Names of the sample captures that have rows in truth.tsv."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "sample-captures", "truth.tsv")
    with open(path) as handle:
        return {line.split("\t", 1)[0] for line in handle if line.strip()}


def check_capture(capture, work):
    res = Results()
    name = os.path.basename(capture)
    try:
        # 1. determinism
        for args in (["-V"], ["-2", "-V"]):
            a = tshark(capture, *args, binary=True)
            b = tshark(capture, *args, binary=True)
            res.check(a == b, f"{name}: two runs of tshark {' '.join(args)} differ")
            # A capture without truth rows shows no exchange (sample-captures/README.md).
            res.check(b"mtls" in a or b"Transport Layer Security" not in a
                      or name not in truth_captures(),
                      f"{name}: TLS but no mtls tree with {' '.join(args)}")
        # 2. single pass vs -2
        single = mtls_trees(capture, False)
        double = mtls_trees(capture, True)
        original = check_passes(res, name, single, double)
        # 3. cuts
        count = frame_count(capture)
        source = os.path.join(work, name + ".source.pcapng")
        # editcap 4.0 cannot rewrite pcapng files made by --inject-secrets: tshark -w first.
        run(["tshark", "-r", capture, "-F", "pcapng", "-w", source])
        cuts = {"first3": (1, min(3, count)), "head-half": (1, count // 2),
                "tail-half": (count // 2 + 1, count), "from5": (5, count)}
        for cut_name, (first, last) in cuts.items():
            if last < first or last - first + 1 >= count or first < 1:
                continue
            cut = os.path.join(work, f"{name}.{cut_name}.pcapng")
            run(["editcap", "-r", source, cut, f"{first}-{last}"])
            os.chmod(cut, 0o644)
            label = f"{name} {cut_name} (frames {first}-{last})"
            cut_single = mtls_trees(cut, False)
            cut_double = mtls_trees(cut, True)
            check_passes(res, label, cut_single, cut_double)
            check_cut(res, label, original, [("single pass", cut_single), ("-2", cut_double)],
                      first - 1, first, last)
    except (RuntimeError, subprocess.TimeoutExpired, ET.ParseError) as exc:
        res.check(False, f"{name}: {exc}")
    return name, res


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("captures", nargs="*")
    opts = parser.parse_args()
    captures = opts.captures or sorted(
        os.path.join(ROOT, "sample-captures", f) for f in os.listdir(os.path.join(ROOT, "sample-captures"))
        if f.endswith(".pcapng"))
    if not captures:
        print("FAIL no captures")
        return 1
    # Nothing here means anything if the plugin is not loaded.
    fields = run([TSHARK, "-G", "fields"])
    if "\tmtls.verdict\t" not in fields:
        print("FAIL the mtls plugin is not loaded (see tests/tshark/plugin_loaded.sh)")
        return 1
    work = tempfile.mkdtemp(prefix="mtls-consistency.")
    os.chmod(work, 0o755)  # readable by the user tshark-mtls drops to as root
    passed = failed = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            for name, res in pool.map(lambda c: check_capture(c, work), captures):
                for line in res.lines:
                    print(line)
                print(f"{'ok  ' if not res.failed else 'FAIL'} {name}: {res.passed} checks passed, "
                      f"{res.failed} failed")
                passed += res.passed
                failed += res.failed
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
