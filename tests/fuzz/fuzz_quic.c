/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of the QUIC scanner (plugin/wire/mtls_quic.h), with every
 * event it reports fed to a real engine connection (plugin/core/mtls_engine.h).
 *
 * Input (numbers big-endian):
 *   u8  config    bit 0: inference off
 *   then entries back to back, each:
 *     u8  control  bit 0: from the server; bits 1-3: packet type
 *                  (mtls_quic_packet_type_t, 6 and 7 wrap to INITIAL and 0RTT);
 *                  bit 4: a raw UDP datagram for mtls_quic_datagram() instead
 *                  of a decrypted packet
 *     u16 length   bytes (cut at the end of the input)
 *     bytes        each in a heap buffer of its exact size
 * Frames are numbered from 1, one per entry, 1 ms apart. Seeds: the decrypted
 * QUIC packets and raw datagrams of the sample captures
 * (sample-captures/transports/quic-*), one connection per seed.
 */
#include <string.h>

#include "fuzz_common.h"
#include "mtls_engine.h"
#include "mtls_quic.h"

typedef struct {
    mtls_conn_t *conn;
    mtls_conn_state_t state; /* conn's open state, which the events go through */
    uint32_t frame;
    int64_t time_ns;
    bool from_server;
} harness_t;

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

static void on_event(void *context, const mtls_event_t *event, const uint8_t *message,
                     size_t message_length)
{
    harness_t *h = context;
    FUZZ_CHECK(event != NULL);
    FUZZ_CHECK(event->from_server == h->from_server);
    FUZZ_CHECK(event->type <= MTLS_EV_OUTER);
    FUZZ_CHECK(event->frame == h->frame);
    FUZZ_CHECK(event->time_ns == h->time_ns);
    FUZZ_CHECK((message != NULL) == (message_length > 0));
    FUZZ_CHECK(message_length <= MTLS_QUIC_MAX_BUFFERED_MESSAGE);
    if (event->type == MTLS_EV_OUTER)
        FUZZ_CHECK(event->from_server && event->outer == MTLS_OUTER_QUIC_CLOSE);
    if (message) {
        fuzz_touch(message, message_length);
        FUZZ_CHECK(message_type_matches(event->type, message[0]));
    }
    mtls_exchange_t *exchange = mtls_conn_feed(&h->state, event);
    if (exchange)
        FUZZ_CHECK(exchange->number >= 1 && exchange->number <= MTLS_MAX_EXCHANGES_PER_CONNECTION);
}

static const mtls_quic_callbacks_t callbacks = {.event = on_event};

static void read_exchanges(const mtls_conn_t *conn)
{
    for (const mtls_exchange_t *exchange = mtls_conn_exchanges(conn); exchange;
         exchange = exchange->next)
        for (int final = 0; final < 2; final++) {
            char evidence[2048];
            mtls_exchange_evidence(exchange, final, evidence, sizeof(evidence));
            FUZZ_CHECK(memchr(evidence, '\0', sizeof(evidence)) != NULL);
            fuzz_touch_string(evidence);
            fuzz_touch_string(mtls_verdict_name(mtls_exchange_verdict(exchange, final)));
        }
}

static void datagram(const uint8_t *bytes, size_t length)
{
    mtls_quic_header_t packets[MTLS_QUIC_MAX_PACKETS];
    size_t count = mtls_quic_datagram(bytes, length, packets, MTLS_QUIC_MAX_PACKETS);
    FUZZ_CHECK(count <= MTLS_QUIC_MAX_PACKETS);
    size_t end = 0;
    for (size_t i = 0; i < count; i++) {
        /* In order, inside the datagram, back to back. */
        FUZZ_CHECK(packets[i].offset == end);
        FUZZ_CHECK(packets[i].length > 0 && packets[i].length <= length - packets[i].offset);
        end = packets[i].offset + packets[i].length;
        fuzz_touch(bytes + packets[i].offset, packets[i].length);
        for (size_t guess = 0; guess < 4; guess++)
            (void)mtls_quic_payload_fits(
                &packets[i], packets[i].length > guess * 20 ? packets[i].length - guess * 20 : 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size, 0};
    uint8_t config = fuzz_u8(&in);
    harness_t h;
    memset(&h, 0, sizeof(h));
    h.conn = mtls_conn_new();
    mtls_quic_t *quic = mtls_quic_new();
    if (!h.conn || !quic) {
        mtls_conn_free(h.conn);
        mtls_quic_free(quic);
        return 0;
    }
    mtls_conn_state_init(&h.state, h.conn);
    mtls_conn_set_inference(&h.state, !(config & 1u));
    /* Held state: the struct, per level and direction one buffered message and
     * the early ranges (their headers on top of the bytes). */
    const size_t bound = 4096 + 6 * (MTLS_QUIC_MAX_BUFFERED_MESSAGE + MTLS_QUIC_MAX_EARLY_BYTES +
                                     MTLS_QUIC_MAX_EARLY_RANGES * 64);
    while (fuzz_left(&in) >= 3) {
        uint8_t control = fuzz_u8(&in);
        size_t length;
        const uint8_t *bytes = fuzz_bytes(&in, fuzz_u16(&in), &length);
        uint8_t *copy = length ? malloc(length) : NULL;
        if (length && !copy)
            break;
        if (length)
            memcpy(copy, bytes, length);
        h.frame++;
        h.time_ns += 1000000;
        if (control & 0x10u) {
            datagram(copy, length);
        } else {
            static const mtls_quic_packet_type_t types[8] = {
                MTLS_QUIC_INITIAL, MTLS_QUIC_0RTT, MTLS_QUIC_HANDSHAKE,
                MTLS_QUIC_RETRY,   MTLS_QUIC_1RTT, MTLS_QUIC_VERSION_NEGOTIATION,
                MTLS_QUIC_INITIAL, MTLS_QUIC_0RTT,
            };
            h.from_server = control & 1u;
            mtls_quic_packet_t packet = {
                .from_server = h.from_server,
                .type = types[(control >> 1) & 7u],
                .frame = h.frame,
                .time_ns = h.time_ns,
                .payload = copy,
                .length = length,
            };
            mtls_quic_result_t result = mtls_quic_packet(quic, &packet, &callbacks, &h);
            FUZZ_CHECK(result.frames <= length + 1);
        }
        free(copy); /* a pointer the scanner kept past the call is a use after free */
        FUZZ_CHECK(mtls_quic_memory(quic) <= bound);
    }
    read_exchanges(h.conn);
    mtls_quic_free(quic);
    mtls_conn_free(h.conn);
    return 0;
}
