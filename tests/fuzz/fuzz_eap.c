/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of the EAP-TLS scanner (plugin/wire/mtls_eap.h) on RADIUS
 * packets and EAPOL frames, with the TLS stream scanner it feeds and a real
 * engine connection per session (plugin/core/mtls_engine.h), so the engine is
 * fuzzed with the event sequences EAP sessions can produce.
 *
 * Input (numbers big-endian):
 *   u8  config   bit 0: inference off
 *   then packets back to back, each:
 *     u8  control  bit 0: EAPOL (else RADIUS); bit 1: RADIUS from the server
 *                  (EAPOL: to a unicast address); bits 2-3: which of 4 NAS
 *                  endpoints / supplicant MACs; bit 7: the dissector "decrypted"
 *                  the protected records of this packet (their plaintext is taken
 *                  from the packet's own bytes)
 *     u16 length
 *     bytes        RADIUS: the UDP payload; EAPOL: an Ethernet frame, or, when it
 *                  is not one carrying EAPOL, the bytes from the EAPOL header
 * Frames are numbered from 1, 1 ms apart. Seeds (tests/fuzz/corpus/eap/): every
 * packet of six eaptls-* sample captures in this form (RADIUS: bit 1 from the
 * server's port 1812; EAPOL: the Ethernet frames), without decryption.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "mtls_eap.h"
#include "mtls_engine.h"

#define PACKET_HEADER 3

static const uint8_t server_key[6] = {127, 0, 0, 1, 0x07, 0x14};
static const uint8_t group[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x03};

typedef struct {
    bool inference;
    uint32_t frame;
    const uint8_t *packet; /* this call's bytes */
    size_t packet_length;
    bool decrypt;
    unsigned sessions_alive;
} harness_t;

/* The verdicts and evidence sentences of every exchange, as the glue writes them. */
static void read_exchanges(const mtls_conn_t *conn)
{
    unsigned count = 0;
    for (const mtls_exchange_t *exchange = mtls_conn_exchanges(conn); exchange;
         exchange = exchange->next) {
        FUZZ_CHECK(++count <= MTLS_MAX_EXCHANGES_PER_CONNECTION);
        for (int final = 0; final < 2; final++) {
            fuzz_touch_string(mtls_verdict_name(mtls_exchange_verdict(exchange, final)));
            char evidence[2048];
            mtls_exchange_evidence(exchange, final, evidence, sizeof(evidence));
            FUZZ_CHECK(memchr(evidence, '\0', sizeof(evidence)) != NULL);
            fuzz_touch_string(evidence);
        }
        fuzz_touch_string(mtls_outer_name(exchange->outer));
    }
}

/* A session's connection, through its open state (session->user). */
static mtls_conn_state_t *conn_of(harness_t *h, mtls_eap_session_t *session)
{
    if (!session->user) {
        mtls_conn_state_t *state = malloc(sizeof(*state));
        mtls_conn_t *conn = state ? mtls_conn_new() : NULL;
        if (!conn) {
            free(state);
            return NULL;
        }
        mtls_conn_state_init(state, conn);
        mtls_conn_set_inference(state, h->inference);
        session->user = state;
        h->sessions_alive++;
    }
    return session->user;
}

static bool message_type_matches(mtls_event_type_t type, uint8_t first)
{
    switch (type) {
    case MTLS_EV_CLIENT_HELLO: return first == 1;
    case MTLS_EV_SERVER_HELLO: return first == 2;
    case MTLS_EV_CERTIFICATE_REQUEST: return first == 13;
    case MTLS_EV_CERTIFICATE: return first == 11 || first == 25;
    default: return false;
    }
}

static void check_session(const mtls_eap_session_t *session)
{
    FUZZ_CHECK(session->id >= 1);
    FUZZ_CHECK(session->label != NULL && strlen(session->label) <= MTLS_EAP_MAX_LABEL);
    fuzz_touch_string(session->label);
    FUZZ_CHECK(session->client_length <= MTLS_EAP_MAX_KEY);
    FUZZ_CHECK(session->server_length <= MTLS_EAP_MAX_KEY);
    fuzz_touch(session->client, session->client_length);
    fuzz_touch(session->server, session->server_length);
}

static void on_event(void *context, mtls_eap_session_t *session, bool from_server,
                     const mtls_event_t *event, const uint8_t *message, size_t message_length)
{
    harness_t *h = context;
    check_session(session);
    FUZZ_CHECK(event->frame == h->frame);
    FUZZ_CHECK(event->type <= MTLS_EV_ENCRYPTED_RECORD);
    FUZZ_CHECK((message != NULL) == (message_length > 0));
    if (message) {
        fuzz_touch(message, message_length);
        FUZZ_CHECK(message_type_matches(event->type, message[0]));
    }
    mtls_conn_state_t *state = conn_of(h, session);
    if (!state)
        return;
    mtls_event_t fed = *event;
    fed.from_server = from_server;
    mtls_exchange_t *exchange = mtls_conn_feed(state, &fed);
    if (exchange)
        FUZZ_CHECK(exchange->number >= 1 && exchange->number <= MTLS_MAX_EXCHANGES_PER_CONNECTION);
}

static bool on_plaintext(void *context, mtls_eap_session_t *session, bool from_server,
                         const mtls_tls_protected_record_t *record, mtls_tls_plaintext_t *plaintext)
{
    harness_t *h = context;
    (void)from_server;
    check_session(session);
    FUZZ_CHECK(record->frame == h->frame);
    if (!h->decrypt || h->packet_length == 0)
        return false;
    size_t length = record->length > 0 ? record->length - 1u : 0;
    if (length > h->packet_length - 1)
        length = h->packet_length - 1;
    plaintext->content_type = (uint8_t)(20 + h->packet[0] % 4);
    plaintext->data = h->packet + 1;
    plaintext->length = length;
    return true;
}

static void on_outer(void *context, mtls_eap_session_t *session, mtls_outer_t outer)
{
    harness_t *h = context;
    check_session(session);
    FUZZ_CHECK(outer != MTLS_OUTER_NONE && outer <= MTLS_OUTER_EAP_FAILURE_ACCESS_REJECT);
    FUZZ_CHECK(outer != MTLS_OUTER_QUIC_CLOSE);
    mtls_conn_state_t *state = session->user;
    if (!state)
        return;
    mtls_event_t event;
    memset(&event, 0, sizeof(event));
    event.type = MTLS_EV_OUTER;
    event.from_server = true;
    event.frame = h->frame;
    event.outer = outer;
    event.alert_description = -1;
    mtls_conn_feed(state, &event);
}

static void on_session_end(void *context, mtls_eap_session_t *session)
{
    harness_t *h = context;
    check_session(session);
    mtls_conn_state_t *state = session->user;
    if (state) {
        mtls_conn_t *conn = state->conn;
        free(state); /* the connection keeps its exchanges without it */
        read_exchanges(conn);
        mtls_conn_free(conn);
        session->user = NULL;
        h->sessions_alive--;
    }
}

static const mtls_eap_callbacks_t callbacks = {
    .event = on_event,
    .plaintext = on_plaintext,
    .outer = on_outer,
    .session_end = on_session_end,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size, 0};
    harness_t h;
    memset(&h, 0, sizeof(h));
    h.inference = !(fuzz_u8(&in) & 1u);
    mtls_eap_t *eap = mtls_eap_new();
    if (!eap)
        return 0;
    /* What the scanner may hold: its NAS tables, and per live session its state,
     * two message buffers and a TLS scanner at its own caps. */
    const size_t per_session = 4096 + 2 * MTLS_EAP_MAX_MESSAGE +
                               2 * (MTLS_TLS_MAX_BUFFERED_MESSAGE + MTLS_TLS_MAX_EARLY_BYTES) +
                               4096;
    const size_t memory_cap =
        MTLS_EAP_MAX_NAS * (256u * 24u + 128u) + 4096 + (size_t)MTLS_EAP_MAX_SESSIONS * per_session;

    while (fuzz_left(&in) >= PACKET_HEADER) {
        uint8_t control = fuzz_u8(&in);
        uint16_t wanted = fuzz_u16(&in);
        size_t length;
        const uint8_t *bytes = fuzz_bytes(&in, wanted, &length);
        unsigned which = (control >> 2) & 3u;
        h.frame++;
        h.packet = bytes;
        h.packet_length = length;
        h.decrypt = (control & 0x80) != 0;
        if (control & 1u) {
            mtls_eap_eapol_frame_t frame = {.frame = h.frame,
                                            .time_ns = (int64_t)h.frame * 1000000};
            size_t offset;
            if (mtls_eap_ethernet_locate(bytes, length, frame.src, frame.dst, &offset)) {
                FUZZ_CHECK(offset <= length);
                frame.eapol = bytes + offset;
                frame.length = length - offset;
            } else {
                uint8_t mac[6] = {2, 0, 0, 0, 0, (uint8_t)(1 + which)};
                bool to_supplicant = (control & 2u) != 0;
                uint8_t authenticator[6] = {2, 0, 0, 0, 0, 0xaa};
                memcpy(frame.src, to_supplicant ? authenticator : mac, 6);
                memcpy(frame.dst, to_supplicant ? mac : group, 6);
                frame.eapol = bytes;
                frame.length = length;
            }
            mtls_eap_eapol(eap, &frame, &callbacks, &h);
        } else {
            uint8_t nas[6] = {127, 0, 0, 3, 0x80, (uint8_t)which};
            bool from_server = (control & 2u) != 0;
            mtls_eap_radius_packet_t packet = {
                .frame = h.frame,
                .time_ns = (int64_t)h.frame * 1000000,
                .payload = bytes,
                .length = length,
                .src = from_server ? server_key : nas,
                .src_length = 6,
                .dst = from_server ? nas : server_key,
                .dst_length = 6,
            };
            mtls_eap_radius(eap, &packet, &callbacks, &h);
        }
        FUZZ_CHECK(mtls_eap_sessions(eap) <= MTLS_EAP_MAX_SESSIONS);
        FUZZ_CHECK(h.sessions_alive <= mtls_eap_sessions(eap));
        FUZZ_CHECK(mtls_eap_memory(eap) <= memory_cap);
    }
    mtls_eap_free(eap, &callbacks, &h);
    FUZZ_CHECK(h.sessions_alive == 0);
    return 0;
}
