# SPDX-License-Identifier: GPL-2.0-or-later
"""What the tshark-level test scripts share: counting checks, loading a script, the
tshark options a sample capture is read with."""
import csv
import re
import importlib.util
import os
import subprocess


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


# ---- Values as tshark prints them, per Wireshark version ---------------------
# The one place that knows how each Wireshark version prints a field's value
# (`-T fields`, `-T json`). Tests compare canonical values, so a check means the
# same on every version, and a value that is none of the known spellings is an
# error, never a silent "no".
#   booleans        4.0: 1 / 0          4.2 and later: True / False
#   absolute times  4.0: "Jan 31, 2020 00:00:00.000000000 UTC"
#                   4.6: "2020-01-31T00:00:00.000000000Z" (ISO 8601)
#                   4.4: as 4.0 for UTC fields
_TRUE = ("1", "True", "true")
_FALSE = ("0", "False", "false")


def tshark_bool(text):
    """A boolean field as tshark printed it: True, False, or None when the field is
    absent (""). Raises ValueError on any other text."""
    if text == "":
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean as tshark prints one: {text!r}")


_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_TIME_40 = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}), (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? UTC")
_TIME_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z| UTC)")


def tshark_utc_time(text):
    """An absolute time in UTC as tshark printed it, in one spelling:
    "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"; None when absent (""). Raises ValueError on
    a time that is not in UTC or not in a known format."""
    if text == "":
        return None
    match = _TIME_40.fullmatch(text)
    if match and match.group(1) in _MONTHS:
        month, day, year, hour, minute, second, fraction = match.groups()
        month = _MONTHS[month]
    else:
        match = _TIME_ISO.fullmatch(text)
        if not match:
            raise ValueError(f"not a UTC time as tshark prints one: {text!r}")
        year, month, day, hour, minute, second, fraction = match.groups()
    nanoseconds = (fraction or "").ljust(9, "0")
    return (f"{int(year):04d}-{int(month):02d}-{int(day):02d}T"
            f"{int(hour):02d}:{int(minute):02d}:{int(second):02d}.{nanoseconds}Z")


def canonical(parse, text):
    """parse(text) (tshark_bool, tshark_utc_time), or a string naming the text when
    it is in no known format: comparing that with an expected value fails and says
    what tshark printed, instead of ending the test run."""
    try:
        return parse(text)
    except ValueError:
        return f"unparsable {text!r}"


def run_tshark(tshark, capture, *args):
    """tshark (the wrapper that loads the build tree's plugin) on one capture, with
    the capture's options; its standard output. Raises RuntimeError when it fails."""
    command = [tshark, "-r", capture, *capture_options(capture), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def mtls_rows(run, capture, fields, two_pass):
    """One dict of `fields` per frame that shows exactly one mtls tree (fields must
    include mtls.exchange); `run(capture, *args)` runs tshark on the capture."""
    args = ["-Y", "mtls", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
            "-E", "aggregator=|"]
    if two_pass:
        args.insert(0, "-2")
    for field in fields:
        args += ["-e", field]
    rows = []
    for line in run(capture, *args).splitlines():
        row = dict(zip(fields, line.split("\t") + [""] * len(fields)))
        if "|" not in row["mtls.exchange"]:
            rows.append(row)
    return rows
