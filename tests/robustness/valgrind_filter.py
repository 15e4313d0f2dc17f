#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Judge valgrind memcheck XML reports of tshark runs with the mtls plugin.

    valgrind_filter.py REPORT.xml...

Fails (exit 1) on:
  * any invalid read or write, invalid/mismatched free, overlapping copy, or use of
    uninitialised values (UninitValue, UninitCondition, SyscallParam), wherever it is:
    with the plugin loaded none is expected from tshark either;
  * a definite leak whose allocation stack includes the plugin (mtls.so, or a source
    file under plugin/, or a function named mtls_* / dissect_mtls*).
Definite leaks elsewhere (libwireshark, glib: they free little at exit) are counted
and ignored. A report that is not well-formed XML (valgrind died) fails too.
"""
import os
import sys
import xml.etree.ElementTree as ET

HARD_KINDS = {
    "InvalidRead", "InvalidWrite", "InvalidFree", "MismatchedFree", "InvalidJump",
    "Overlap", "UninitValue", "UninitCondition", "SyscallParam", "ClientCheck",
    "InvalidMemPool", "FishyValue",
}
LEAK_KINDS = {"Leak_DefinitelyLost"}


def frames(error):
    for stack in error.iter("stack"):
        for frame in stack.iter("frame"):
            yield {child.tag: (child.text or "") for child in frame}


def in_plugin(frame):
    obj = os.path.basename(frame.get("obj", ""))
    fn = frame.get("fn", "")
    src_dir = frame.get("dir", "")
    return (obj == "mtls.so" or fn.startswith("mtls_") or fn.startswith("dissect_mtls")
            or src_dir.rstrip("/").endswith("/plugin"))


def describe(error):
    what = error.findtext("what") or error.findtext("xwhat/text") or error.findtext("kind")
    lines = [f"  {error.findtext('kind')}: {what}"]
    for frame in list(frames(error))[:25]:
        where = frame.get("fn") or frame.get("ip", "?")
        loc = f"{frame.get('file')}:{frame.get('line')}" if frame.get("file") else os.path.basename(frame.get("obj", ""))
        lines.append(f"     {where} ({loc})")
    return "\n".join(lines)


def main(paths):
    bad = 0
    ignored = 0
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            print(f"FAIL {path}: unreadable valgrind XML ({exc})")
            bad += 1
            continue
        for error in root.iter("error"):
            kind = error.findtext("kind") or ""
            if kind in HARD_KINDS:
                print(f"FAIL {os.path.basename(path)}:\n{describe(error)}")
                bad += 1
            elif kind in LEAK_KINDS:
                if any(in_plugin(f) for f in frames(error)):
                    print(f"FAIL {os.path.basename(path)}: definite leak in the plugin:\n{describe(error)}")
                    bad += 1
                else:
                    ignored += 1
    print(f"{len(paths)} valgrind reports, {bad} errors, {ignored} definite leaks outside the plugin ignored")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip())
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
