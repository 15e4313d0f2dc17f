/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Building protocol bytes field by field for unit tests: a fixed buffer and
 * big-endian writers, as TLS lays its fields out.
 */
#ifndef UNIT_BYTES_H
#define UNIT_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint8_t bytes[8192];
    size_t length;
} unit_bytes_t;

static inline void put(unit_bytes_t *b, const void *data, size_t length)
{
    memcpy(b->bytes + b->length, data, length);
    b->length += length;
}

static inline void put8(unit_bytes_t *b, unsigned value)
{
    uint8_t byte = (uint8_t)value;
    put(b, &byte, 1);
}

static inline void put16(unit_bytes_t *b, unsigned value)
{
    put8(b, value >> 8);
    put8(b, value & 0xff);
}

static inline void put24(unit_bytes_t *b, unsigned value)
{
    put8(b, value >> 16);
    put16(b, value & 0xffff);
}

#endif /* UNIT_BYTES_H */
