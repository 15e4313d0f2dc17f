#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rewrites the libFuzzer seed corpus (tests/fuzz/corpus/<harness>/) from the sample
# captures, whose TLS secrets are embedded: hellos, client certificates and CA
# names, Certificate and CertificateRequest messages (decrypted TLS 1.3 ones
# included), the servers' first application data, both directions' application
# data per connection (and a transcript per application protocol), and every TCP
# connection as segments with its decrypted records. The formats are in each harness's header
# comment; make_corpus.py does the work.
#
#   tests/fuzz/make-corpus.sh [--per-harness N] [--only HARNESS]... [CAPTURE...]
#
# Default: every sample-captures/*.pcapng, at most 32 inputs per harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
command -v tshark >/dev/null || { echo "make-corpus.sh: tshark is needed (apt-get install tshark)" >&2; exit 1; }

options=()
captures=()
while [ $# -gt 0 ]; do
    case "$1" in
    --per-harness | --only) options+=("$1" "$2"); shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) captures+=("$1"); shift ;;
    esac
done
if [ ${#captures[@]} -eq 0 ]; then
    shopt -s nullglob
    captures=("$repo"/sample-captures/*.pcapng)
fi
[ ${#captures[@]} -gt 0 ] || { echo "make-corpus.sh: no capture" >&2; exit 1; }

python3 "$here/make_corpus.py" --out "$here/corpus" "${options[@]}" "${captures[@]}"
du -sh "$here/corpus"
