/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The checks every unit test program uses: CHECK records a failure and goes on,
 * REQUIRE records it and leaves the test.
 */
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <stdbool.h>
#include <stdio.h>

static bool test_failed;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);               \
            test_failed = true;                                                                    \
        }                                                                                          \
    } while (0)

/* Like CHECK, but the rest of the test makes no sense without it. */
#define REQUIRE(expr)                                                                              \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #expr);             \
            test_failed = true;                                                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#endif /* UNIT_CHECK_H */
