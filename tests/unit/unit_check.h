/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The checks every unit test program uses: CHECK records a failure and goes on,
 * REQUIRE records it and leaves the test.
 */
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
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

/* A test program's table of tests, and its main: runs each test, prints one
 * line per test, exits non-zero when one failed. */
typedef struct {
    const char *name;
    void (*run)(void);
} unit_test_t;

#define UNIT_TEST(f)                                                                               \
    {                                                                                              \
#f, f                                                                                      \
    }

static inline int run_unit_tests(const unit_test_t *tests, size_t count)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        test_failed = false;
        tests[i].run();
        printf("%s %s\n", test_failed ? "FAIL" : "ok  ", tests[i].name);
        fflush(stdout);
        if (test_failed)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif /* UNIT_CHECK_H */
