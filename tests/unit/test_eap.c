/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of plugin/wire/mtls_eap.c: RADIUS packets and EAPOL frames built
 * here byte by byte (RFC 2865, RFC 3579, RFC 3748, RFC 5216, IEEE 802.1X), the
 * sessions the scanner makes of them and the TLS events it reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_eap.h"
#include "unit_bytes.h"
#include "unit_check.h"

typedef unit_bytes_t bytes_t;

/* ---- What the callbacks saw ------------------------------------------------ */

#define MAX_SEEN 512

typedef struct {
    uint32_t session;
    bool from_server;
    mtls_event_type_t type;
    bool empty;
    uint32_t frame;
} seen_event_t;

typedef struct {
    seen_event_t events[MAX_SEEN];
    unsigned event_count;
    struct {
        uint32_t session;
        mtls_outer_t outer;
        uint32_t frame;
    } outers[64];
    unsigned outer_count;
    uint32_t ended[4096];
    unsigned ended_count;
    char labels[8][MTLS_EAP_MAX_LABEL + 1]; /* by session id, for ids below 8 */
    uint32_t frame;
    int users_alive;
} seen_t;

static void on_event(void *context, mtls_eap_session_t *session, bool from_server,
                     const mtls_event_t *event, const uint8_t *message, size_t message_length)
{
    seen_t *seen = context;
    (void)message;
    (void)message_length;
    if (!session->user) {
        session->user = malloc(1); /* the caller's: freed at session_end */
        seen->users_alive++;
    }
    if (session->id < 8)
        snprintf(seen->labels[session->id], sizeof(seen->labels[0]), "%s", session->label);
    if (seen->event_count < MAX_SEEN)
        seen->events[seen->event_count++] =
            (seen_event_t){session->id, from_server, event->type, event->empty, event->frame};
}

static void on_outer(void *context, mtls_eap_session_t *session, mtls_outer_t outer)
{
    seen_t *seen = context;
    if (seen->outer_count < 64) {
        seen->outers[seen->outer_count].session = session->id;
        seen->outers[seen->outer_count].outer = outer;
        seen->outers[seen->outer_count].frame = seen->frame;
        seen->outer_count++;
    }
}

static void on_session_end(void *context, mtls_eap_session_t *session)
{
    seen_t *seen = context;
    if (session->user) {
        free(session->user);
        session->user = NULL;
        if (seen)
            seen->users_alive--;
    }
    if (seen && seen->ended_count < 4096)
        seen->ended[seen->ended_count++] = session->id;
}

static const mtls_eap_callbacks_t callbacks = {
    .event = on_event,
    .plaintext = NULL,
    .outer = on_outer,
    .session_end = on_session_end,
};

static unsigned count_events(const seen_t *seen, uint32_t session, bool from_server,
                             mtls_event_type_t type)
{
    unsigned count = 0;
    for (unsigned i = 0; i < seen->event_count; i++)
        if (seen->events[i].session == session && seen->events[i].from_server == from_server &&
            seen->events[i].type == type)
            count++;
    return count;
}

/* ---- TLS bytes ------------------------------------------------------------- */

static void record(bytes_t *b, unsigned type, const bytes_t *body)
{
    put8(b, type);
    put16(b, 0x0303);
    put16(b, (unsigned)body->length);
    put(b, body->bytes, body->length);
}

static void message(bytes_t *b, unsigned type, size_t length)
{
    put8(b, type);
    put24(b, (unsigned)length);
    for (size_t i = 0; i < length; i++)
        put8(b, 0xa5);
}

static void client_hello(bytes_t *out)
{
    bytes_t hs = {.length = 0};
    put8(&hs, 1);
    put24(&hs, 2 + 32 + 1 + 4 + 2 + 2);
    put16(&hs, 0x0303);
    for (int i = 0; i < 32; i++)
        put8(&hs, (unsigned)i);
    put8(&hs, 0);
    put16(&hs, 2);
    put16(&hs, 0xc02f);
    put8(&hs, 1);
    put8(&hs, 0);
    put16(&hs, 0); /* no extensions */
    out->length = 0;
    record(out, 22, &hs);
}

/* TLS 1.2: ServerHello, Certificate (`certificate` bytes), CertificateRequest,
 * ServerHelloDone in one record. */
static void server_flight(bytes_t *out, size_t certificate)
{
    bytes_t hs = {.length = 0};
    put8(&hs, 2);
    put24(&hs, 2 + 32 + 1 + 2 + 1 + 2);
    put16(&hs, 0x0303);
    for (int i = 0; i < 32; i++)
        put8(&hs, (unsigned)i);
    put8(&hs, 0);
    put16(&hs, 0xc02f);
    put8(&hs, 0);
    put16(&hs, 0);
    put8(&hs, 11);
    put24(&hs, (unsigned)(3 + 3 + certificate));
    put24(&hs, (unsigned)(3 + certificate));
    put24(&hs, (unsigned)certificate);
    for (size_t i = 0; i < certificate; i++)
        put8(&hs, 0x30);
    put8(&hs, 13); /* CertificateRequest: one type, no algorithms, no CA names */
    put24(&hs, 1 + 1 + 2 + 2);
    put8(&hs, 1);
    put8(&hs, 64);
    put16(&hs, 0);
    put16(&hs, 0);
    message(&hs, 14, 0);
    out->length = 0;
    record(out, 22, &hs);
}

/* The client's answer: Certificate (empty or one certificate), ClientKeyExchange,
 * CertificateVerify, then ChangeCipherSpec and an encrypted Finished. */
static void client_flight(bytes_t *out, bool empty)
{
    bytes_t hs = {.length = 0};
    if (empty) {
        put8(&hs, 11);
        put24(&hs, 3);
        put24(&hs, 0);
    } else {
        put8(&hs, 11);
        put24(&hs, 3 + 3 + 100);
        put24(&hs, 3 + 100);
        put24(&hs, 100);
        for (int i = 0; i < 100; i++)
            put8(&hs, 0x30);
    }
    message(&hs, 16, 33);
    if (!empty)
        message(&hs, 15, 72);
    out->length = 0;
    record(out, 22, &hs);
    bytes_t ccs = {.length = 1, .bytes = {1}};
    record(out, 20, &ccs);
    bytes_t finished = {.length = 40};
    memset(finished.bytes, 0x77, 40);
    record(out, 22, &finished);
}

static void server_finish(bytes_t *out)
{
    out->length = 0;
    bytes_t ccs = {.length = 1, .bytes = {1}};
    record(out, 20, &ccs);
    bytes_t finished = {.length = 40};
    memset(finished.bytes, 0x66, 40);
    record(out, 22, &finished);
}

/* ---- EAP and RADIUS bytes ----------------------------------------------------- */

/* An EAP-TLS packet: flags, the TLS Message Length when L, the data. */
static void eap_tls(bytes_t *out, unsigned code, unsigned id, unsigned flags, size_t total,
                    const uint8_t *data, size_t length)
{
    out->length = 0;
    size_t eap_length = 4 + 1 + 1 + ((flags & 0x80) ? 4 : 0) + length;
    put8(out, code);
    put8(out, id);
    put16(out, (unsigned)eap_length);
    put8(out, 13);
    put8(out, flags);
    if (flags & 0x80) {
        put16(out, (unsigned)(total >> 16));
        put16(out, (unsigned)(total & 0xffff));
    }
    if (length)
        put(out, data, length);
}

static void eap_simple(bytes_t *out, unsigned code, unsigned id)
{
    out->length = 0;
    put8(out, code);
    put8(out, id);
    put16(out, 4);
}

static void eap_identity(bytes_t *out, unsigned id, const char *name)
{
    out->length = 0;
    put8(out, 2);
    put8(out, id);
    put16(out, (unsigned)(5 + strlen(name)));
    put8(out, 1);
    put(out, name, strlen(name));
}

static void attribute(bytes_t *b, unsigned type, const void *value, size_t length)
{
    put8(b, type);
    put8(b, (unsigned)(length + 2));
    put(b, value, length);
}

typedef struct {
    const char *station; /* Calling-Station-Id, or NULL */
    const char *user;
    uint8_t state[16];
    bool has_state;
    uint8_t eap_id;
    uint8_t last_radius_id;
    uint8_t nas[6]; /* its NAS key */
} supplicant_t;

static const uint8_t server_key[6] = {127, 0, 0, 1, 0x07, 0x14};

typedef struct {
    mtls_eap_t *eap;
    seen_t seen;
    uint8_t next_radius_id; /* one NAS socket: shared by its supplicants */
    uint32_t frame;
    unsigned state_counter;
} sim_t;

/* A RADIUS packet; EAP-Message attributes of at most `chunk` bytes. */
static void radius(bytes_t *out, unsigned code, unsigned id, const supplicant_t *s,
                   const uint8_t *state, const bytes_t *eap, size_t chunk)
{
    out->length = 0;
    put8(out, code);
    put8(out, id);
    put16(out, 0); /* set below */
    /* The authenticator: new in every packet, as the NAS draws it at random. */
    static unsigned packets;
    packets++;
    for (int i = 0; i < 16; i++)
        put8(out, (unsigned)((i < 4 ? packets >> (8 * i) : id * 7 + i + code) & 0xff));
    if (code == 1 && s) {
        if (s->user)
            attribute(out, 1, s->user, strlen(s->user));
        if (s->station)
            attribute(out, 31, s->station, strlen(s->station));
    }
    if (state)
        attribute(out, 24, state, 16);
    for (size_t at = 0; eap && at < eap->length; at += chunk) {
        size_t take = eap->length - at < chunk ? eap->length - at : chunk;
        attribute(out, 79, eap->bytes + at, take);
    }
    out->bytes[2] = (uint8_t)(out->length >> 8);
    out->bytes[3] = (uint8_t)out->length;
}

static bool feed_radius(sim_t *sim, const bytes_t *packet, const uint8_t *src, const uint8_t *dst)
{
    sim->seen.frame = ++sim->frame;
    mtls_eap_radius_packet_t p = {
        .frame = sim->frame,
        .time_ns = (int64_t)sim->frame * 1000000,
        .payload = packet->bytes,
        .length = packet->length,
        .src = src,
        .src_length = 6,
        .dst = dst,
        .dst_length = 6,
    };
    return mtls_eap_radius(sim->eap, &p, &callbacks, &sim->seen);
}

/* The supplicant sends `eap` in an Access-Request (with its State). */
static void request(sim_t *sim, supplicant_t *s, const bytes_t *eap)
{
    bytes_t packet;
    s->last_radius_id = sim->next_radius_id++;
    radius(&packet, 1, s->last_radius_id, s, s->has_state ? s->state : NULL, eap, 253);
    feed_radius(sim, &packet, s->nas, server_key);
}

/* The server answers the supplicant's last request: a Challenge with a new State. */
static void challenge(sim_t *sim, supplicant_t *s, const bytes_t *eap)
{
    bytes_t packet;
    sim->state_counter++;
    for (int i = 0; i < 16; i++)
        s->state[i] = (uint8_t)(sim->state_counter * 13 + i);
    s->has_state = true;
    radius(&packet, 11, s->last_radius_id, NULL, s->state, eap, 253);
    feed_radius(sim, &packet, server_key, s->nas);
}

static void final_answer(sim_t *sim, const supplicant_t *s, bool accept)
{
    bytes_t eap, packet;
    eap_simple(&eap, accept ? 3 : 4, s->eap_id);
    radius(&packet, accept ? 2 : 3, s->last_radius_id, NULL, NULL, &eap, 253);
    feed_radius(sim, &packet, server_key, s->nas);
}

/* One step of an unfragmented EAP-TLS conversation over RADIUS (steps 0..7, or
 * 0..4 and the reject at 5 when !accept). */
static void step(sim_t *sim, supplicant_t *s, int n, bool accept)
{
    bytes_t tls, eap;
    switch (n) {
    case 0:
        eap_identity(&eap, s->eap_id, s->user);
        request(sim, s, &eap);
        break;
    case 1:
        eap_tls(&eap, 1, ++s->eap_id, 0x20, 0, NULL, 0);
        challenge(sim, s, &eap);
        break;
    case 2:
        client_hello(&tls);
        eap_tls(&eap, 2, s->eap_id, 0x00, 0, tls.bytes, tls.length);
        request(sim, s, &eap);
        break;
    case 3:
        server_flight(&tls, 300);
        eap_tls(&eap, 1, ++s->eap_id, 0x80, tls.length, tls.bytes, tls.length);
        challenge(sim, s, &eap);
        break;
    case 4:
        client_flight(&tls, false);
        eap_tls(&eap, 2, s->eap_id, 0x00, 0, tls.bytes, tls.length);
        request(sim, s, &eap);
        break;
    case 5:
        if (!accept) {
            final_answer(sim, s, false);
            break;
        }
        server_finish(&tls);
        eap_tls(&eap, 1, ++s->eap_id, 0x80, tls.length, tls.bytes, tls.length);
        challenge(sim, s, &eap);
        break;
    case 6:
        eap_tls(&eap, 2, s->eap_id, 0x00, 0, NULL, 0);
        request(sim, s, &eap);
        break;
    case 7: final_answer(sim, s, true); break;
    default: break;
    }
}

static void sim_init(sim_t *sim)
{
    memset(sim, 0, sizeof(*sim));
    sim->eap = mtls_eap_new();
}

static void sim_free(sim_t *sim)
{
    mtls_eap_free(sim->eap, &callbacks, &sim->seen);
    CHECK(sim->seen.users_alive == 0);
}

static supplicant_t alice(void)
{
    supplicant_t s = {.station = "02-00-00-00-00-01",
                      .user = "alice@example.org",
                      .nas = {127, 0, 0, 3, 0x80, 0x00}};
    return s;
}

static supplicant_t bob(void)
{
    supplicant_t s = {.station = "02-00-00-00-00-02",
                      .user = "bob@example.org",
                      .nas = {127, 0, 0, 3, 0x80, 0x00}};
    return s;
}

/* The events of a whole TLS 1.2 handshake with a certificate requested and sent. */
static void check_handshake(const seen_t *seen, uint32_t session)
{
    CHECK(count_events(seen, session, false, MTLS_EV_CLIENT_HELLO) == 1);
    CHECK(count_events(seen, session, true, MTLS_EV_SERVER_HELLO) == 1);
    CHECK(count_events(seen, session, true, MTLS_EV_CERTIFICATE) == 1);
    CHECK(count_events(seen, session, true, MTLS_EV_CERTIFICATE_REQUEST) == 1);
    CHECK(count_events(seen, session, true, MTLS_EV_SERVER_HELLO_DONE) == 1);
    CHECK(count_events(seen, session, false, MTLS_EV_CERTIFICATE) == 1);
    CHECK(count_events(seen, session, false, MTLS_EV_CLIENT_KEY_EXCHANGE) == 1);
    CHECK(count_events(seen, session, false, MTLS_EV_CERTIFICATE_VERIFY) == 1);
    CHECK(count_events(seen, session, false, MTLS_EV_CHANGE_CIPHER_SPEC) == 1);
    CHECK(count_events(seen, session, false, MTLS_EV_OTHER_HANDSHAKE) == 1); /* Finished */
}

/* ---- Tests ------------------------------------------------------------------ */

static void test_one_session_accepted(void)
{
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    supplicant_t a = alice();
    for (int n = 0; n <= 7; n++)
        step(&sim, &a, n, true);
    check_handshake(&sim.seen, 1);
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_CHANGE_CIPHER_SPEC) == 1);
    CHECK(strcmp(sim.seen.labels[1], "02-00-00-00-00-01") == 0);
    REQUIRE(sim.seen.outer_count == 1);
    CHECK(sim.seen.outers[0].session == 1);
    CHECK(sim.seen.outers[0].outer == MTLS_OUTER_EAP_SUCCESS_ACCESS_ACCEPT);
    CHECK(sim.seen.ended_count == 1);
    CHECK(mtls_eap_sessions(sim.eap) == 0);
    sim_free(&sim);
}

/* A 1024-byte EAP packet travels in 5 EAP-Message attributes (4 x 253 + 20): the
 * scanner reads their concatenation. */
static void test_attribute_concatenation(void)
{
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    supplicant_t a = alice();
    for (int n = 0; n <= 2; n++)
        step(&sim, &a, n, true);
    bytes_t tls, eap, packet;
    server_flight(&tls, 1000);
    eap_tls(&eap, 1, ++a.eap_id, 0x80, tls.length, tls.bytes, tls.length);
    REQUIRE(eap.length > 4 * 253);
    sim.state_counter++;
    for (int i = 0; i < 16; i++)
        a.state[i] = (uint8_t)(0x40 + i);
    a.has_state = true;
    radius(&packet, 11, a.last_radius_id, NULL, a.state, &eap, 253);
    CHECK(feed_radius(&sim, &packet, server_key, a.nas));
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_SERVER_HELLO) == 1);
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_CERTIFICATE) == 1);
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_CERTIFICATE_REQUEST) == 1);
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_SERVER_HELLO_DONE) == 1);
    /* The same packet with attributes of 100 bytes reads the same (a retransmission
     * is dropped, so a new EAP id). */
    eap_tls(&eap, 1, ++a.eap_id, 0x80, tls.length, tls.bytes, tls.length);
    radius(&packet, 11, a.last_radius_id, NULL, a.state, &eap, 100);
    CHECK(feed_radius(&sim, &packet, server_key, a.nas));
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_CERTIFICATE_REQUEST) == 2);
    sim_free(&sim);
}

/* The State of each Access-Challenge chains the next Access-Request to its
 * session; a request with a State nobody sent starts another session; one
 * without State and without EAP is not an EAP conversation. */
static void test_state_chaining(void)
{
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    supplicant_t a = alice();
    for (int n = 0; n <= 4; n++)
        step(&sim, &a, n, true);
    CHECK(mtls_eap_sessions(sim.eap) == 1);
    check_handshake(&sim.seen, 1);

    /* A request whose State is unknown: a session whose start was not captured. */
    supplicant_t stranger = bob();
    memset(stranger.state, 0xee, 16);
    stranger.has_state = true;
    stranger.eap_id = 9;
    bytes_t eap, tls;
    client_hello(&tls);
    eap_tls(&eap, 2, stranger.eap_id, 0x00, 0, tls.bytes, tls.length);
    request(&sim, &stranger, &eap);
    CHECK(mtls_eap_sessions(sim.eap) == 2);
    CHECK(count_events(&sim.seen, 2, false, MTLS_EV_CLIENT_HELLO) == 1);

    /* Not EAP at all. */
    supplicant_t plain = {.station = "x", .user = "pap", .nas = {10, 0, 0, 1, 0, 1}};
    bytes_t packet;
    radius(&packet, 1, 200, &plain, NULL, NULL, 253);
    CHECK(feed_radius(&sim, &packet, plain.nas, server_key));
    CHECK(mtls_eap_sessions(sim.eap) == 2);

    /* A second conversation of the same station (no State) ends the first. */
    supplicant_t again = alice();
    step(&sim, &again, 0, true);
    CHECK(mtls_eap_sessions(sim.eap) == 2);
    CHECK(sim.seen.ended_count == 1 && sim.seen.ended[0] == 1);
    sim_free(&sim);
}

/* Two supplicants through one NAS socket, interleaved, answers out of order:
 * the final answers (without State) are matched by the RADIUS Identifier. */
static void test_two_interleaved_sessions(void)
{
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    supplicant_t b = bob(), a = alice();
    b.eap_id = 96; /* EAP ids of their own */
    a.eap_id = 16;
    /* bob first, then alice, step by step; alice's requests overtake bob's answers. */
    step(&sim, &b, 0, false);
    step(&sim, &a, 0, true);
    for (int n = 1; n <= 4; n++) {
        step(&sim, &a, n, true);
        step(&sim, &b, n, false);
    }
    step(&sim, &a, 5, true);
    step(&sim, &a, 6, true);
    step(&sim, &a, 7, true);  /* Access-Accept for alice ... */
    step(&sim, &b, 5, false); /* ... then bob's Access-Reject, answering an older request */
    check_handshake(&sim.seen, 1);
    check_handshake(&sim.seen, 2);
    CHECK(strcmp(sim.seen.labels[1], "02-00-00-00-00-02") == 0);
    CHECK(strcmp(sim.seen.labels[2], "02-00-00-00-00-01") == 0);
    REQUIRE(sim.seen.outer_count == 2);
    CHECK(sim.seen.outers[0].session == 2);
    CHECK(sim.seen.outers[0].outer == MTLS_OUTER_EAP_SUCCESS_ACCESS_ACCEPT);
    CHECK(sim.seen.outers[1].session == 1);
    CHECK(sim.seen.outers[1].outer == MTLS_OUTER_EAP_FAILURE_ACCESS_REJECT);
    CHECK(mtls_eap_sessions(sim.eap) == 0);
    sim_free(&sim);
}

/* A message in fragments: FreeRADIUS sets L (with the total) on every fragment,
 * wpa_supplicant on the first only (then M, then nothing). Each fragment is
 * acknowledged; the message is read once, whole, at its last fragment. */
static void fragmented(bool freeradius_style, size_t fragment)
{
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    supplicant_t a = alice();
    for (int n = 0; n <= 2; n++)
        step(&sim, &a, n, true);
    bytes_t tls, eap;
    /* The server's flight in fragments, each acknowledged by an empty Response. */
    server_flight(&tls, 700);
    unsigned frames_before = sim.frame;
    for (size_t at = 0; at < tls.length; at += fragment) {
        size_t take = tls.length - at < fragment ? tls.length - at : fragment;
        bool more = at + take < tls.length;
        unsigned flags = freeradius_style ? 0x80u | (more ? 0x40u : 0u)
                                          : (at == 0 ? 0xc0u : (more ? 0x40u : 0u));
        if (!more && at == 0)
            flags = freeradius_style ? 0x80 : 0x00;
        eap_tls(&eap, 1, ++a.eap_id, flags, tls.length, tls.bytes + at, take);
        challenge(&sim, &a, &eap);
        CHECK(count_events(&sim.seen, 1, true, MTLS_EV_SERVER_HELLO) == (more ? 0u : 1u));
        if (more) {
            eap_tls(&eap, 2, a.eap_id, 0x00, 0, NULL, 0);
            request(&sim, &a, &eap);
        }
    }
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_CERTIFICATE_REQUEST) == 1);
    /* Every event of the message is at the frame of its last fragment. */
    for (unsigned i = 0; i < sim.seen.event_count; i++)
        if (sim.seen.events[i].from_server)
            CHECK(sim.seen.events[i].frame == sim.frame && sim.frame > frames_before);
    /* The client's flight in fragments, the other way. */
    client_flight(&tls, false);
    for (size_t at = 0; at < tls.length; at += fragment) {
        size_t take = tls.length - at < fragment ? tls.length - at : fragment;
        bool more = at + take < tls.length;
        unsigned flags = freeradius_style ? 0x80u | (more ? 0x40u : 0u)
                                          : (at == 0 ? 0xc0u : (more ? 0x40u : 0u));
        if (!more && at == 0)
            flags = freeradius_style ? 0x80 : 0x00;
        eap_tls(&eap, 2, a.eap_id, flags, tls.length, tls.bytes + at, take);
        request(&sim, &a, &eap);
        if (more) {
            eap_tls(&eap, 1, ++a.eap_id, 0x00, 0, NULL, 0);
            challenge(&sim, &a, &eap);
        }
    }
    check_handshake(&sim.seen, 1);
    final_answer(&sim, &a, false);
    REQUIRE(sim.seen.outer_count == 1);
    CHECK(sim.seen.outers[0].outer == MTLS_OUTER_EAP_FAILURE_ACCESS_REJECT);
    sim_free(&sim);
}

static void test_fragments_freeradius_flags(void)
{
    fragmented(true, 200);
    fragmented(true, 1);
}

static void test_fragments_wpa_supplicant_flags(void)
{
    fragmented(false, 200);
    fragmented(false, 77);
}

/* A retransmitted EAP packet (same id, same direction) is read once: a RADIUS
 * retransmission (same Identifier and authenticator) and a new RADIUS packet
 * repeating the EAP packet alike. */
static void test_retransmissions(void)
{
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    supplicant_t a = alice();
    for (int n = 0; n <= 2; n++)
        step(&sim, &a, n, true);
    bytes_t tls, eap, packet;
    server_flight(&tls, 400);
    size_t half = tls.length / 2;
    eap_tls(&eap, 1, ++a.eap_id, 0xc0, tls.length, tls.bytes, half);
    challenge(&sim, &a, &eap);
    challenge(&sim, &a, &eap); /* the same fragment again */
    eap_tls(&eap, 2, a.eap_id, 0x00, 0, NULL, 0);
    /* The acknowledgement, and the RADIUS client retransmitting it as it was. */
    a.last_radius_id = sim.next_radius_id++;
    radius(&packet, 1, a.last_radius_id, &a, a.state, &eap, 253);
    feed_radius(&sim, &packet, a.nas, server_key);
    feed_radius(&sim, &packet, a.nas, server_key);
    eap_tls(&eap, 1, ++a.eap_id, 0x80, tls.length, tls.bytes + half, tls.length - half);
    challenge(&sim, &a, &eap);
    challenge(&sim, &a, &eap);
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_SERVER_HELLO) == 1);
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_CERTIFICATE) == 1);
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_CERTIFICATE_REQUEST) == 1);
    CHECK(count_events(&sim.seen, 1, true, MTLS_EV_SERVER_HELLO_DONE) == 1);
    CHECK(mtls_eap_sessions(sim.eap) == 1);
    /* The client's flight sent twice. */
    client_flight(&tls, true);
    eap_tls(&eap, 2, a.eap_id, 0x00, 0, tls.bytes, tls.length);
    request(&sim, &a, &eap);
    request(&sim, &a, &eap);
    CHECK(count_events(&sim.seen, 1, false, MTLS_EV_CERTIFICATE) == 1);
    CHECK(count_events(&sim.seen, 1, false, MTLS_EV_CLIENT_KEY_EXCHANGE) == 1);
    sim_free(&sim);
}

/* EAPOL: the supplicant's MAC names the session; the authenticator sends to the
 * PAE group address (behind an 802.1Q tag here) and is bound to it. */
static void eapol(sim_t *sim, const uint8_t *src, const uint8_t *dst, unsigned type,
                  const bytes_t *body, bool vlan)
{
    bytes_t frame = {.length = 0};
    put(&frame, dst, 6);
    put(&frame, src, 6);
    if (vlan) {
        put16(&frame, 0x8100);
        put16(&frame, 42);
    }
    put16(&frame, 0x888e);
    put8(&frame, 2);
    put8(&frame, type);
    put16(&frame, body ? (unsigned)body->length : 0);
    if (body)
        put(&frame, body->bytes, body->length);
    mtls_eap_eapol_frame_t f = {.frame = ++sim->frame, .time_ns = 0};
    size_t offset = 0;
    CHECK(mtls_eap_ethernet_locate(frame.bytes, frame.length, f.src, f.dst, &offset));
    CHECK(memcmp(f.src, src, 6) == 0 && memcmp(f.dst, dst, 6) == 0);
    f.eapol = frame.bytes + offset;
    f.length = frame.length - offset;
    sim->seen.frame = sim->frame;
    mtls_eap_eapol(sim->eap, &f, &callbacks, &sim->seen);
}

static void test_eapol(void)
{
    static const uint8_t supplicant[6] = {2, 0, 0, 0, 0, 1};
    static const uint8_t authenticator[6] = {2, 0, 0, 0, 0, 0xaa};
    static const uint8_t group[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x03};
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    bytes_t eap, tls;
    eapol(&sim, supplicant, group, 1, NULL, true); /* EAPOL-Start: no session yet */
    CHECK(mtls_eap_sessions(sim.eap) == 0);
    eap_identity(&eap, 1, "alice");
    eapol(&sim, supplicant, group, 0, &eap, true);
    CHECK(mtls_eap_sessions(sim.eap) == 1);
    eap_tls(&eap, 1, 2, 0x20, 0, NULL, 0);
    eapol(&sim, authenticator, group, 0, &eap, true);
    client_hello(&tls);
    eap_tls(&eap, 2, 2, 0x00, 0, tls.bytes, tls.length);
    eapol(&sim, supplicant, group, 0, &eap, true);
    server_flight(&tls, 300);
    eap_tls(&eap, 1, 3, 0x00, 0, tls.bytes, tls.length);
    eapol(&sim, authenticator, group, 0, &eap, true);
    client_flight(&tls, false);
    eap_tls(&eap, 2, 3, 0x00, 0, tls.bytes, tls.length);
    eapol(&sim, supplicant, group, 0, &eap, true);
    check_handshake(&sim.seen, 1);
    CHECK(strcmp(sim.seen.labels[1], "02:00:00:00:00:01") == 0);
    eap_simple(&eap, 4, 3);
    eapol(&sim, authenticator, group, 0, &eap, true);
    REQUIRE(sim.seen.outer_count == 1);
    CHECK(sim.seen.outers[0].session == 1);
    CHECK(sim.seen.outers[0].outer == MTLS_OUTER_EAP_FAILURE);
    CHECK(mtls_eap_sessions(sim.eap) == 0);
    /* Not EAPOL. */
    uint8_t ipv4[20] = {0};
    ipv4[12] = 0x08;
    uint8_t src[6], dst[6];
    size_t offset;
    CHECK(!mtls_eap_ethernet_locate(ipv4, sizeof(ipv4), src, dst, &offset));
    CHECK(!mtls_eap_ethernet_locate(ipv4, 10, src, dst, &offset));
    sim_free(&sim);
}

/* Lengths that lie: nothing is read past the bytes given, nothing is invented. */
static void test_hostile_lengths(void)
{
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    supplicant_t a = alice();
    bytes_t eap, packet;
    eap_identity(&eap, 0, "alice");

    /* RADIUS length beyond the payload, below the header, above 4096. */
    radius(&packet, 1, 1, &a, NULL, &eap, 253);
    packet.bytes[2] = 0x0f;
    packet.bytes[3] = 0xff;
    CHECK(feed_radius(&sim, &packet, a.nas, server_key)); /* read as far as it goes */
    radius(&packet, 1, 2, &a, NULL, &eap, 253);
    packet.bytes[2] = 0;
    packet.bytes[3] = 19;
    CHECK(!feed_radius(&sim, &packet, a.nas, server_key));
    packet.bytes[2] = 0x10;
    packet.bytes[3] = 0x01;
    CHECK(!feed_radius(&sim, &packet, a.nas, server_key));
    /* Shorter than a header; an unknown code. */
    bytes_t tiny = {.length = 19};
    tiny.bytes[0] = 1;
    CHECK(!feed_radius(&sim, &tiny, a.nas, server_key));
    radius(&packet, 4, 3, &a, NULL, &eap, 253);
    CHECK(!feed_radius(&sim, &packet, a.nas, server_key));
    /* Attributes of length 0, 1 and past the end. */
    for (unsigned bad = 0; bad < 3; bad++) {
        radius(&packet, 1, 10 + bad, &a, NULL, &eap, 253);
        packet.bytes[21] = bad == 2 ? 250 : (uint8_t)bad;
        CHECK(feed_radius(&sim, &packet, a.nas, server_key));
    }
    /* EAP lengths that lie, an L flag without its 4 bytes. */
    supplicant_t b = bob();
    step(&sim, &b, 0, false);
    step(&sim, &b, 1, false);
    bytes_t tls;
    client_hello(&tls);
    eap_tls(&eap, 2, b.eap_id, 0x00, 0, tls.bytes, tls.length);
    eap.bytes[2] = 0xff; /* longer than the attributes */
    request(&sim, &b, &eap);
    eap_tls(&eap, 2, b.eap_id, 0x80, 0, NULL, 0);
    eap.length = 7;
    eap.bytes[3] = 7; /* flags L, two of four length bytes */
    request(&sim, &b, &eap);
    eap_tls(&eap, 2, b.eap_id, 0x00, 0, tls.bytes, tls.length);
    eap.bytes[2] = 0;
    eap.bytes[3] = 3; /* shorter than its header */
    request(&sim, &b, &eap);
    CHECK(count_events(&sim.seen, 2, false, MTLS_EV_CLIENT_HELLO) == 0);
    /* EAPOL: a body length beyond the frame, a frame cut in the header. */
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
    static const uint8_t group[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x03};
    eap_identity(&eap, 1, "x");
    uint8_t frame[8] = {2, 0, 0xff, 0xff, 2, 1, 0, 20};
    mtls_eap_eapol_frame_t f = {.frame = 99, .eapol = frame, .length = sizeof(frame)};
    memcpy(f.src, mac, 6);
    memcpy(f.dst, group, 6);
    CHECK(!mtls_eap_eapol(sim.eap, &f, &callbacks, &sim.seen));
    f.length = 3;
    CHECK(!mtls_eap_eapol(sim.eap, &f, &callbacks, &sim.seen));
    CHECK(!mtls_eap_radius(sim.eap, NULL, &callbacks, &sim.seen));
    CHECK(!mtls_eap_eapol(NULL, &f, &callbacks, &sim.seen));
    sim_free(&sim);
}

/* More live sessions than the cap: the least recently active ones end. */
static void test_session_cap(void)
{
    sim_t sim;
    sim_init(&sim);
    REQUIRE(sim.eap);
    char station[32];
    for (unsigned i = 0; i < MTLS_EAP_MAX_SESSIONS + 10; i++) {
        snprintf(station, sizeof(station), "st-%u", i);
        supplicant_t s = {.station = station, .user = "u", .nas = {10, 0, 0, 1, 0, 2}};
        step(&sim, &s, 0, true);
    }
    CHECK(mtls_eap_sessions(sim.eap) == MTLS_EAP_MAX_SESSIONS);
    CHECK(sim.seen.ended_count == 10 && sim.seen.ended[0] == 1);
    CHECK(mtls_eap_memory(sim.eap) > 0);
    sim_free(&sim);
    CHECK(sim.seen.ended_count == MTLS_EAP_MAX_SESSIONS + 10);
}

int main(void)
{
    static const unit_test_t tests[] = {
        UNIT_TEST(test_one_session_accepted),
        UNIT_TEST(test_attribute_concatenation),
        UNIT_TEST(test_state_chaining),
        UNIT_TEST(test_two_interleaved_sessions),
        UNIT_TEST(test_fragments_freeradius_flags),
        UNIT_TEST(test_fragments_wpa_supplicant_flags),
        UNIT_TEST(test_retransmissions),
        UNIT_TEST(test_eapol),
        UNIT_TEST(test_hostile_lengths),
        UNIT_TEST(test_session_cap),
    };
    return run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
