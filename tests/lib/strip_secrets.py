#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Copy a pcapng file without its Decryption Secrets Blocks.

    strip_secrets.py IN.pcapng OUT.pcapng

The same as `editcap --discard-all-secrets`, which in Wireshark 4.0.17 refuses
to write a pcapng file it read secrets from ("can't be written as a pcapng
file"). Blocks are copied byte for byte; only type 0x0000000A is dropped.
"""
import struct
import sys

DECRYPTION_SECRETS_BLOCK = 0x0000000A
SECTION_HEADER_BLOCK = 0x0A0D0D0A


def strip(data):
    out = bytearray()
    offset = 0
    endian = "<"
    while offset + 12 <= len(data):
        block_type = struct.unpack_from(endian + "I", data, offset)[0]
        if block_type == SECTION_HEADER_BLOCK:
            magic = data[offset + 8:offset + 12]
            endian = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
        length = struct.unpack_from(endian + "I", data, offset + 4)[0]
        if length < 12 or offset + length > len(data):
            raise ValueError(f"malformed block at offset {offset}")
        if block_type != DECRYPTION_SECRETS_BLOCK:
            out += data[offset:offset + length]
        offset += length
    return bytes(out)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as handle:
        data = handle.read()
    with open(sys.argv[2], "wb") as handle:
        handle.write(strip(data))


if __name__ == "__main__":
    main()
