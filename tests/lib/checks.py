# SPDX-License-Identifier: GPL-2.0-or-later
"""What the tshark-level test scripts share: counting checks, loading a script, the
tshark options a sample capture is read with."""
import csv
import importlib.util
import os


class Results:
    """Counts checks; prints a line for each failure; ends with "N passed, M failed"."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}" + (f": {detail}" if detail else ""))

    def equal(self, got, expected, what):
        self.check(got == expected, f"{what}: got {got!r}, expected {expected!r}")

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def load_script(name, path):
    """Import a script whose file name is not a module name (e.g. mtls-summary.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_OPTIONS = None


def capture_options(capture):
    """Extra tshark arguments for a sample capture (sample-captures/tshark-options.tsv:
    the preferences its truth rows assume, e.g. out-of-order TCP reassembly)."""
    global _OPTIONS
    if _OPTIONS is None:
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "sample-captures", "tshark-options.tsv")
        _OPTIONS = {}
        if os.path.exists(path):
            with open(path, newline="") as handle:
                for row in csv.DictReader(handle, delimiter="\t"):
                    _OPTIONS[row["capture"]] = row["options"].split()
    return list(_OPTIONS.get(os.path.basename(capture), []))


def keys_unusable(capture):
    """How a sample capture was made: a TLS 1.3 capture cut after its ClientHello
    holds secrets nothing can be matched with (they are keyed by the client
    random), so its exchange can only be inferred and nothing of it decrypts."""
    name = os.path.basename(capture)
    return "tls13" in name and "cut-after-clienthello" in name
