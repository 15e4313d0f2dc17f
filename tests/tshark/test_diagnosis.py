#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Diagnosis fields and expert infos on the sample captures.

Every expectation comes from how the captures were made, never from the
plugin's own output:

  * the client certificates are those of sample-captures/make-captures.sh's
    PKI (subject, issuer, key type, EKU, validity), and which one each scenario
    used is read from that script (table CLIENT_CERT below);
  * the servers' CA lists follow from their configuration (-CAfile ca.pem,
    --x509cafile ca.pem, ssl_client_certificate ca.pem: one name, "CN=mtls
    sample trusted CA", 35 bytes of DER + 2 of length = 37; no -CAfile or
    -no_ca_names: empty; the *-large-ca-list servers' -CAfile bundle: the
    count and bytes make-captures.sh computed from the PEM bundle's DER
    subjects, as its `how` column records);
  * HTTP statuses are those the truth table's `how` column records (HTTP/1.1,
    or HTTP/2 :status for nginx-h2-*), and the frame named for them must hold
    that status in the HTTP or HTTP/2 dissector's own field;
  * the SHA-256 fingerprint is recomputed here from the certificate bytes the
    TLS dissector shows in the client's Certificate message.

Prints one line per failed check and ends with "N passed, M failed".
"""
import csv
import hashlib
import os
import re
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import checks  # noqa: E402
from checks import (Results, canonical, keys_unusable,  # noqa: E402
                    tshark_bool, tshark_utc_time)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP_TRUTH = set()  # captures with rows in app-truth.tsv (main() fills it)
# MTLS_CAPTURES: another folder made by make-captures.sh (with its truth.tsv).
CAPTURES = os.environ.get("MTLS_CAPTURES", os.path.join(ROOT, "sample-captures"))
TSHARK = os.path.join(ROOT, "scripts", "tshark-mtls")

# make-captures.sh, make_pki(): the client certificates.
TRUSTED_CA = "CN=mtls sample trusted CA"
PKI = {
    "client": dict(subject="CN=mtls good client (EC)", issuer=TRUSTED_CA, key="EC P-256",
                   eku=True, expired=False, listed=True),
    "clientrsa": dict(subject="CN=mtls good client (RSA)", issuer=TRUSTED_CA, key="RSA 2048",
                      eku=True, expired=False, listed=True),
    "untrusted": dict(subject="CN=mtls untrusted client (EC)", issuer="CN=mtls sample UNTRUSTED CA",
                      key="EC P-256", eku=True, expired=False, listed=False),
    "servereku": dict(subject="CN=mtls client with serverAuth-only EKU (EC)", issuer=TRUSTED_CA,
                      key="EC P-256", eku=False, expired=False, listed=True),
    # openssl ca -startdate 20200101000000Z -enddate 20200131000000Z
    "expired": dict(subject="CN=mtls expired client (EC)", issuer=TRUSTED_CA, key="EC P-256",
                    eku=True, expired=True, listed=True,
                    not_after="Jan 31, 2020 00:00:00.000000000 UTC"),
    # openssl ca -startdate 20990101000000Z -enddate 20991231000000Z
    "notyet": dict(subject="CN=mtls not-yet-valid client (EC)", issuer=TRUSTED_CA,
                   key="EC P-256", eku=True, expired=False, not_yet_valid=True, listed=True,
                   not_before="Jan  1, 2099 00:00:00.000000000 UTC",
                   not_after="Dec 31, 2099 00:00:00.000000000 UTC"),
}
# Above this many bytes the CA list is "very large" (SPEC: 12 KB, Windows' limit).
CA_NAMES_LARGE = 12288

# Scenarios that sent the RSA client certificate (GOODRSA / G_GOODRSA in the script);
# the truth table's `how` says "good RSA cert" for them, which also covers new ones.
RSA_SCENARIOS = {
    "ossl-tls12-required-good-cert",
    "python-tls13-pha-required-good-cert",
    "ossl-tls13-hrr-required-good-cert",
    "gnutls-serv-ossl-cli-tls13-required-good-cert",
    "gnutls-tls12-required-good-cert",
    "ossl-tls13-chacha20-required-good-cert",
}


def client_cert(capture, how=""):
    """Which PKI certificate the scenario's client sent, by the script's scenario names."""
    name = capture[: -len(".pcapng")]
    if "untrusted" in name:
        return "untrusted"
    if "no-clientauth-eku" in name:
        return "servereku"
    if "expired" in name:
        return "expired"
    if "not-yet-valid" in name:
        return "notyet"
    return "clientrsa" if name in RSA_SCENARIOS or "RSA cert" in how else "client"


def ca_list(capture, how=""):
    """(count, length) of the server's CA list, or None when the setup does not say."""
    name = capture[: -len(".pcapng")]
    if name.endswith("-empty-ca-list") or name.endswith("-no-ca-names"):
        return (0, 0)
    if name.endswith("-large-ca-list"):
        # make-captures.sh counted the bundle's certificates and summed 2 + the DER
        # length of each subject, from the PEM bundle, and wrote both into `how`.
        listed = re.search(r"lists (\d+) names, (\d+) bytes", how)
        return (int(listed.group(1)), int(listed.group(2))) if listed else None
    if name.startswith(("ossl-", "gnutls-", "nginx-")):
        return (1, 37)
    return None  # the python server sets no client CA list of its own


FIELDS = [
    "frame.number", "tcp.stream", "mtls.exchange", "mtls.verdict", "mtls.request_frame",
    "mtls.response_frame", "mtls.client_cert.subject", "mtls.client_cert.issuer",
    "mtls.client_cert.serial", "mtls.client_cert.not_before", "mtls.client_cert.not_after",
    "mtls.client_cert.expired", "mtls.client_cert.not_yet_valid",
    "mtls.client_cert.client_auth_eku", "mtls.client_cert.sha256", "mtls.client_cert.key",
    "mtls.ca_names.count", "mtls.ca_names.length", "mtls.ca_names.match", "mtls.app_status",
    "mtls.evidence", "mtls.decision_frame",
]
EXPERTS = [
    "mtls.expert.cert_expired", "mtls.expert.cert_not_yet_valid",
    "mtls.expert.cert_no_client_auth_eku", "mtls.expert.ca_names_no_match",
    "mtls.expert.ca_names_no_cert", "mtls.expert.ca_names_empty", "mtls.expert.ca_names_large",
    "mtls.expert.app_refused",
]


def tshark(capture, *args):
    return checks.run_tshark(TSHARK, os.path.join(CAPTURES, capture), *args)


def mtls_rows(capture, two_pass):
    """One dict per frame that shows exactly one mtls tree."""
    return checks.mtls_rows(tshark, capture, FIELDS + EXPERTS, two_pass)


def leaf_sha256(capture, frame):
    """SHA-256 of the first certificate the TLS dissector shows in `frame`."""
    out = tshark(capture, "-Y", f"frame.number == {frame}", "-T", "fields",
                 "-e", "tls.handshake.certificate", "-E", "occurrence=f")
    der = bytes.fromhex(out.strip().replace(":", ""))
    return hashlib.sha256(der).hexdigest() if der else None


def frame_fields(capture, frame, *fields):
    """Values of `fields` in one frame, as the dissectors (not the plugin) show them."""
    args = ["-Y", f"frame.number == {frame}", "-T", "fields", "-E", "separator=\t",
            "-E", "occurrence=f"]
    for field in fields:
        args += ["-e", field]
    values = tshark(capture, *args).rstrip("\n").split("\t")
    return values + [""] * (len(fields) - len(values))


def check_exchange(results, capture, truth, rows, single_rows):
    key = f"{capture} stream {truth['stream']} exchange {truth['exchange']}"
    mine = [r for r in rows
            if r["tcp.stream"] == truth["stream"] and r["mtls.exchange"] == truth["exchange"]]
    if not mine:
        results.check(False, f"{key}: no mtls tree (tshark -2)")
        return
    first = mine[0]
    response_frame = first["mtls.response_frame"]
    request_frame = first["mtls.request_frame"]

    # Every frame of the exchange shows the same diagnosis (-2).
    for field in FIELDS[6:20]:
        values = {r[field] for r in mine}
        results.check(len(values) == 1 or field == "mtls.app_status",
                      f"{key}: {field} differs between frames: {sorted(values)}")

    experts = {name: [r["frame.number"] for r in mine if r[name]] for name in EXPERTS}

    def expert_at(name, frame, what):
        results.check(frame and experts[name] == [frame],
                      f"{key}: {name} expected once in frame {frame} ({what}), got {experts[name]}")

    def no_expert(name):
        results.check(not experts[name], f"{key}: unexpected {name} in frames {experts[name]}")

    # Refusals above TLS: the statuses the truth table records for nginx.
    status = re.search(r"HTTP (\d{3})\b", truth["how"])
    refused_above_tls = bool(
        capture.startswith("nginx-") and status and
        int(status.group(1)) in (400, 401, 403, 495, 496) and
        truth["verdict"] in ("server-ignored", "accepted"))
    # SPEC: problems go into the evidence of rejected, server-ignored and refused exchanges.
    failed = truth["verdict"] in ("rejected", "server-ignored") or refused_above_tls

    if truth["response"] == "certificate":
        cert = PKI[client_cert(capture, truth["how"])]
        results.equal(first["mtls.client_cert.subject"], cert["subject"], f"{key}: subject")
        results.equal(first["mtls.client_cert.issuer"], cert["issuer"], f"{key}: issuer")
        results.equal(first["mtls.client_cert.key"], cert["key"], f"{key}: key")
        results.equal(canonical(tshark_bool, first["mtls.client_cert.client_auth_eku"]), cert["eku"],
                      f"{key}: client_auth_eku")
        results.equal(canonical(tshark_bool, first["mtls.client_cert.expired"]), cert["expired"],
                      f"{key}: expired")
        not_yet_valid = cert.get("not_yet_valid", False)
        results.equal(canonical(tshark_bool, first["mtls.client_cert.not_yet_valid"]), not_yet_valid,
                      f"{key}: not_yet_valid")
        results.check(re.fullmatch(r"[0-9A-F]+", first["mtls.client_cert.serial"]) is not None,
                      f"{key}: serial {first['mtls.client_cert.serial']!r} is not hex")
        not_before = canonical(tshark_utc_time, first["mtls.client_cert.not_before"])
        results.check(not_before is not None and not not_before.startswith("unparsable"),
                      f"{key}: not_before {first['mtls.client_cert.not_before']!r} is not a UTC time")
        if "not_after" in cert:
            results.equal(canonical(tshark_utc_time, first["mtls.client_cert.not_after"]),
                          tshark_utc_time(cert["not_after"]),
                          f"{key}: not_after")
        if "not_before" in cert:
            results.equal(canonical(tshark_utc_time, first["mtls.client_cert.not_before"]),
                          tshark_utc_time(cert["not_before"]),
                          f"{key}: not_before")
        results.equal(first["mtls.client_cert.sha256"].replace(":", ""),
                      leaf_sha256(capture, response_frame), f"{key}: sha256")
        if cert["expired"]:
            expert_at("mtls.expert.cert_expired", response_frame, "expired certificate")
        else:
            no_expert("mtls.expert.cert_expired")
        if cert["eku"]:
            no_expert("mtls.expert.cert_no_client_auth_eku")
        else:
            expert_at("mtls.expert.cert_no_client_auth_eku", response_frame, "serverAuth-only EKU")
        if not_yet_valid:
            expert_at("mtls.expert.cert_not_yet_valid", response_frame, "not yet valid")
        else:
            no_expert("mtls.expert.cert_not_yet_valid")
        if cert["expired"] and failed:
            results.check("expired" in first["mtls.evidence"],
                          f"{key}: evidence does not say the certificate expired")
        if not_yet_valid and failed:
            results.check("becomes valid" in first["mtls.evidence"],
                          f"{key}: evidence does not say the certificate is not yet valid: "
                          f"{first['mtls.evidence']!r}")
        # The single pass shows the certificate from the frame that carried it on.
        single = [r for r in single_rows if r["frame.number"] == response_frame
                  and r["mtls.exchange"] == truth["exchange"]]
        results.check(single and single[0]["mtls.client_cert.subject"] == cert["subject"],
                      f"{key}: single pass lacks the subject in frame {response_frame}")
    else:
        results.equal(first["mtls.client_cert.subject"], "", f"{key}: subject without a chain")
        no_expert("mtls.expert.cert_expired")
        no_expert("mtls.expert.cert_not_yet_valid")

    expected_list = ca_list(capture, truth["how"])
    results.check(expected_list is not None or not capture.endswith("-large-ca-list.pcapng"),
                  f"{key}: the truth table's how does not record the CA list's names and bytes")
    large = False
    if truth["requested"] == "no":
        results.equal(first["mtls.ca_names.count"], "", f"{key}: ca_names.count without request")
    elif expected_list is not None and request_frame:
        count, length = expected_list
        results.equal(first["mtls.ca_names.count"], str(count), f"{key}: ca_names.count")
        results.equal(first["mtls.ca_names.length"], str(length), f"{key}: ca_names.length")
        large = length > CA_NAMES_LARGE
        if large:
            expert_at("mtls.expert.ca_names_large", request_frame, f"CA list of {length} bytes")
            messages = frame_fields(capture, request_frame, "_ws.expert.message")[0]
            results.check(f"{length} bytes" in messages,
                          f"{key}: the ca_names_large message does not say the size: {messages!r}")
        if count == 0:
            expert_at("mtls.expert.ca_names_empty", request_frame, "empty CA list")
            results.equal(first["mtls.ca_names.match"], "", f"{key}: ca_names.match, empty list")
        else:
            no_expert("mtls.expert.ca_names_empty")
        if count and truth["response"] == "certificate":
            listed = PKI[client_cert(capture, truth["how"])]["listed"]
            results.equal(canonical(tshark_bool, first["mtls.ca_names.match"]), listed,
                          f"{key}: ca_names.match")
            if listed:
                no_expert("mtls.expert.ca_names_no_match")
            else:
                expert_at("mtls.expert.ca_names_no_match", response_frame, "unlisted issuer")
                if truth["verdict"] in ("rejected", "server-ignored"):
                    results.check("names none of the server's" in first["mtls.evidence"],
                                  f"{key}: evidence lacks the CA-list mismatch")
        if count and truth["response"] in ("empty", "none", "no_certificate-alert"):
            frame = response_frame or first["mtls.decision_frame"]
            expert_at("mtls.expert.ca_names_no_cert", frame, "no certificate, CA list non-empty")
        else:
            no_expert("mtls.expert.ca_names_no_cert")
    if not large:
        no_expert("mtls.expert.ca_names_large")  # lists of one CA, or none

    statuses = {r["mtls.app_status"] for r in mine} - {""}
    if capture.startswith("nginx-") and status:
        results.equal(statuses, {status.group(1)}, f"{key}: app_status")
        code = int(status.group(1))
        status_frames = [r["frame.number"] for r in mine if r["mtls.app_status"]]
        # In a single pass the status shows from the frame that carried it on: that
        # frame holds the response (HTTP/1.x, or HTTP/2 for nginx-h2-*).
        http2 = capture.startswith("nginx-h2-")
        first_status = [r["frame.number"] for r in single_rows
                        if r["tcp.stream"] == truth["stream"] and
                        r["mtls.exchange"] == truth["exchange"] and r["mtls.app_status"]][:1]
        results.check(first_status, f"{key}: single pass shows no app_status")
        for frame in first_status:
            http1_code, h2_status = frame_fields(capture, frame, "http.response.code",
                                                 "http2.headers.status")
            results.equal(h2_status if http2 else http1_code, str(code),
                          f"{key}: {'HTTP/2 :status' if http2 else 'HTTP status'} in frame {frame}")
        if refused_above_tls:
            results.check(len(experts["mtls.expert.app_refused"]) == 1 and
                          experts["mtls.expert.app_refused"][0] in status_frames,
                          f"{key}: mtls.expert.app_refused in {experts['mtls.expert.app_refused']}")
            wanted = ("TLS went on without a client certificate; the server then refused with "
                      f"HTTP {code}" if truth["verdict"] == "server-ignored" else
                      f"the server then refused with HTTP {code}")
            results.check(wanted in first["mtls.evidence"],
                          f"{key}: evidence lacks {wanted!r}: {first['mtls.evidence']!r}")
        else:
            no_expert("mtls.expert.app_refused")
    elif capture not in APP_TRUTH:
        # No application answer in the other scenarios (s_server and gnutls-serv
        # --echo); those with one (the banner servers) are tshark.app's.
        results.equal(statuses, set(), f"{key}: app_status")
        no_expert("mtls.expert.app_refused")
    else:
        no_expert("mtls.expert.app_refused")


def made_by_make_captures():
    """The captures whose PKI, CA lists and HTTP statuses this test knows: the
    scenarios of make-captures.sh (--list). Other scripts' captures (make-app-captures.sh)
    use their own PKI; their application answers are tshark.app's."""
    listed = subprocess.run(["bash", os.path.join(CAPTURES, "make-captures.sh"), "--list"],
                            capture_output=True, text=True, check=True).stdout.split()
    return {name + ".pcapng" for name in listed}


def app_truth_captures():
    path = os.path.join(CAPTURES, "app-truth.tsv")
    if not os.path.exists(path):
        return set()
    with open(path, newline="") as table:
        return {row["capture"] for row in csv.DictReader(table, delimiter="\t")}


def main():
    with open(os.path.join(CAPTURES, "truth.tsv"), newline="") as table:
        truth = [row for row in csv.DictReader(table, delimiter="\t")]
    made_here = made_by_make_captures()
    global APP_TRUTH
    APP_TRUTH = app_truth_captures()
    results = Results()
    by_capture = {}
    for row in truth:
        by_capture.setdefault(row["capture"], []).append(row)
    results.check(len(made_here) > 0, "make-captures.sh --list names its scenarios")
    for capture, exchanges in sorted(by_capture.items()):
        if not os.path.exists(os.path.join(CAPTURES, capture)):
            results.check(False, f"{capture}: listed in truth.tsv but missing")
            continue
        if capture not in made_here:
            continue
        rows = mtls_rows(capture, two_pass=True)
        single_rows = mtls_rows(capture, two_pass=False)
        if keys_unusable(capture):
            # Nothing decrypts: no certificate or CA list is read, none is invented.
            for row in rows + single_rows:
                for field in FIELDS:
                    if field.startswith(("mtls.client_cert.", "mtls.ca_names.")):
                        results.equal(row.get(field, ""), "",
                                      f"{capture}: {field} without usable keys")
            continue
        for exchange in exchanges:
            check_exchange(results, capture, exchange, rows, single_rows)
    scenarios = {name for name in by_capture}
    for needed in ("expired", "not-yet-valid", "no-clientauth-eku", "empty-ca-list",
                   "large-ca-list", "nginx-", "nginx-h2-"):
        results.check(any(needed in name for name in scenarios),
                      f"no sample capture exercises '{needed}' yet")
    print(f"{results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
