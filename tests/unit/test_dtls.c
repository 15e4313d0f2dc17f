/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "mtls_dtls.h"
#include "unit_check.h"
static void placeholder(void) {}
int main(void)
{
    static const unit_test_t tests[] = {UNIT_TEST(placeholder)};
    return run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
