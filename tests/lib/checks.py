# SPDX-License-Identifier: GPL-2.0-or-later
"""What the tshark-level test scripts share: counting checks, loading a script."""
import importlib.util


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
