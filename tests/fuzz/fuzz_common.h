/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What every harness in tests/fuzz/ shares: the libFuzzer entry point, a check
 * that crashes (so libFuzzer keeps the input and a replay fails), a read of
 * every byte a parser hands back (so ASan and valgrind see a bad pointer or
 * length where it is handed back), and a reader that takes the harness's own
 * choices from the input without ever running past its end.
 */
#ifndef MTLS_FUZZ_COMMON_H
#define MTLS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(condition)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads every byte and branches on what it read: ASan catches an out-of-bounds
 * pointer, valgrind an uninitialised byte. */
static inline void fuzz_touch(const void *bytes, size_t length)
{
    static volatile unsigned sink;
    const uint8_t *p = bytes;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum = (uint8_t)(sum * 31u + p[i]);
    if (sum == 0x5a)
        sink++;
    (void)sink; /* read: GCC 16 warns about a volatile that is only set */
}

static inline void fuzz_touch_string(const char *text)
{
    if (text)
        for (const char *c = text;; c++) {
            fuzz_touch(c, 1);
            if (*c == '\0')
                break;
        }
}

/* The input, read front to back; past its end every read gives zeros. */
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
} fuzz_input_t;

static inline size_t fuzz_left(const fuzz_input_t *in)
{
    return in->size - in->offset;
}

static inline uint8_t fuzz_u8(fuzz_input_t *in)
{
    return in->offset < in->size ? in->data[in->offset++] : 0;
}

static inline uint16_t fuzz_u16(fuzz_input_t *in)
{
    uint16_t high = fuzz_u8(in);
    return (uint16_t)(high << 8 | fuzz_u8(in));
}

/* Up to `length` bytes (fewer at the end of the input); NULL when none are left. */
static inline const uint8_t *fuzz_bytes(fuzz_input_t *in, size_t length, size_t *taken)
{
    if (length > fuzz_left(in))
        length = fuzz_left(in);
    *taken = length;
    const uint8_t *bytes = length ? in->data + in->offset : NULL;
    in->offset += length;
    return bytes;
}

#endif /* MTLS_FUZZ_COMMON_H */
