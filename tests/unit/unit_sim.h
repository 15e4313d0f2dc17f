/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the engine's unit tests (test_engine.c, test_infer.c) share: the CHECK /
 * REQUIRE macros, a simulated connection that feeds events to the engine with
 * increasing frame numbers and timestamps, and the runner that prints one
 * "ok"/"FAIL" line per test and a final "N passed, M failed" line.
 *
 * Test-only header: everything is static, each test program includes it once.
 */
#ifndef UNIT_SIM_H
#define UNIT_SIM_H

#include "mtls_engine.h"
#include "unit_check.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------ simulated connection -- */

#define STEP_NS 100000 /* 0.1 ms between two events unless a test pins the clock */

/* One simulated connection: the engine's state plus the capture's clock. */
typedef struct {
    mtls_conn_t *conn;
    mtls_conn_state_t state; /* conn's open state, which the events go through */
    uint32_t frame;          /* frame of the last event */
    int64_t time_ns;         /* timestamp of the last event */
    bool pinned;             /* next events reuse s->frame / s->time_ns (one TCP segment) */
    mtls_exchange_t *last;   /* what the last mtls_conn_feed returned */
} sim_t;

static inline void sim_reset(sim_t *s)
{
    mtls_conn_free(s->conn);
    s->conn = mtls_conn_new();
    mtls_conn_state_init(&s->state, s->conn);
    s->frame = 0;
    s->time_ns = 1000000000; /* 1 s into the capture */
    s->pinned = false;
    s->last = NULL;
}

/* The next events share this frame and timestamp, until unpin(). */
static inline void pin(sim_t *s, uint32_t frame, int64_t time_ns)
{
    s->frame = frame;
    s->time_ns = time_ns;
    s->pinned = true;
}

static inline void unpin(sim_t *s)
{
    s->pinned = false;
}

/* The next event, on the connection's clock. As in the dissector, the alert
 * fields are MTLS_ALERT_UNKNOWN unless the event sets them. */
static inline mtls_event_t ev(sim_t *s, mtls_event_type_t type, bool from_server)
{
    mtls_event_t e;
    memset(&e, 0, sizeof(e));
    if (!s->pinned) {
        s->frame++;
        s->time_ns += STEP_NS;
    }
    e.type = type;
    e.from_server = from_server;
    e.frame = s->frame;
    e.time_ns = s->time_ns;
    e.alert_level = MTLS_ALERT_UNKNOWN;
    e.alert_description = MTLS_ALERT_UNKNOWN;
    return e;
}

static inline mtls_exchange_t *feed(sim_t *s, const mtls_event_t *e)
{
    s->last = mtls_conn_feed(&s->state, e);
    return s->last;
}

/* An event with nothing but its type and direction. Returns its frame. */
static inline uint32_t simple(sim_t *s, mtls_event_type_t type, bool from_server)
{
    mtls_event_t e = ev(s, type, from_server);
    feed(s, &e);
    return e.frame;
}

static inline uint32_t client_hello(sim_t *s, bool pha_offered)
{
    mtls_event_t e = ev(s, MTLS_EV_CLIENT_HELLO, false);
    e.pha_offered = pha_offered;
    e.record_length = 512;
    feed(s, &e);
    return e.frame;
}

/* The connection's exchange number `number` (the first is 1), or NULL. */
static inline const mtls_exchange_t *exchange_at(const sim_t *s, unsigned number)
{
    const mtls_exchange_t *e = mtls_conn_exchanges(s->conn);
    for (unsigned i = 1; e && i < number; i++)
        e = e->next;
    return e;
}

static inline unsigned exchange_count(const sim_t *s)
{
    unsigned n = 0;
    for (const mtls_exchange_t *e = mtls_conn_exchanges(s->conn); e; e = e->next)
        n++;
    return n;
}

/* ---------------------------------------------------------------- runner -- */

typedef void (*test_fn)(sim_t *s);

typedef struct {
    const char *name;
    test_fn fn;
} test_case_t;

#define TEST(name)                                                                                 \
    {                                                                                              \
#name, name                                                                                \
    }

/* Runs each test on a fresh connection; the exit status is non-zero when one fails. */
static inline int run_tests(const test_case_t *tests, size_t count)
{
    unsigned passed = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        sim_t s = {0};
        sim_reset(&s);
        test_failed = false;
        tests[i].fn(&s);
        mtls_conn_free(s.conn);
        if (test_failed) {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        } else {
            passed++;
            printf("ok   %s\n", tests[i].name);
        }
        fflush(stdout);
    }
    printf("%u passed, %u failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}

#endif /* UNIT_SIM_H */
