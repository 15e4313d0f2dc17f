/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of the DTLS scanner (plugin/wire/mtls_dtls.h), with every
 * event it reports fed to a real engine connection (plugin/core/mtls_engine.h).
 *
 * Input (all numbers big-endian):
 *   u8  config    bit 0: inference off; bit 1: direction 0 is the server
 *   u16 datagrams length of the datagram section (cut at what is left)
 *   datagram section, datagrams back to back, each:
 *     u8  direction (bit 0)
 *     u16 length    payload bytes (cut at the end of the section)
 *     payload       UDP payload: DTLS records
 *   plaintext section (the rest): the dissector's plaintexts of protected
 *   records, each direction's read in order by the `plaintext` callback:
 *     u8  flags    bit 0 direction, bit 1 not decrypted (the callback says no)
 *     u8  content type
 *     u16 length
 *     bytes
 * Frames are numbered from 1, one per datagram, 1 ms apart. Seeds: datagrams of
 * the dtls12-* sample captures (tests/fuzz/corpus/dtls/).
 */
#include <string.h>

#include "fuzz_common.h"
#include "mtls_dtls.h"
#include "mtls_engine.h"

#define DATAGRAM_HEADER 3
#define PLAINTEXT_HEAD  4

typedef struct {
    mtls_conn_t *conn;
    mtls_conn_state_t state; /* conn's open state, which the events go through */
    unsigned server_direction;
    uint32_t frame;
    int64_t time_ns;
    unsigned events;
    unsigned next_index;
    size_t datagram_length;
    const uint8_t *plaintexts;
    size_t plaintexts_size;
    size_t cursor[2];
    uint8_t **copies;
    size_t copy_count, copy_capacity;
} harness_t;

static uint32_t get24(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 16 | (uint32_t)bytes[1] << 8 | bytes[2];
}

static bool message_type_matches(mtls_event_type_t type, uint8_t first)
{
    switch (type) {
    case MTLS_EV_CLIENT_HELLO: return first == 1;
    case MTLS_EV_SERVER_HELLO: return first == 2;
    case MTLS_EV_CERTIFICATE_REQUEST: return first == 13;
    case MTLS_EV_CERTIFICATE: return first == 11;
    default: return false;
    }
}

static void on_event(void *context, unsigned direction, const mtls_event_t *event,
                     const uint8_t *message, size_t message_length)
{
    harness_t *h = context;
    h->events++;
    FUZZ_CHECK(event != NULL);
    FUZZ_CHECK(direction < 2);
    FUZZ_CHECK(!event->from_server);
    FUZZ_CHECK(event->type <= MTLS_EV_OTHER_HANDSHAKE ||
               event->type == MTLS_EV_CHANGE_CIPHER_SPEC ||
               event->type == MTLS_EV_APPLICATION_DATA || event->type == MTLS_EV_ALERT);
    /* A renegotiation's first message read from a decrypted record is held
     * until the next record shows whether the rest of that handshake is
     * decrypted too (mtls_dtls.c, held_t): it may come out with a later
     * datagram, with the frame and time it was read in. Everything else comes
     * out with its own datagram. */
    FUZZ_CHECK(event->frame >= 1 && event->frame <= h->frame);
    FUZZ_CHECK(event->time_ns == (int64_t)event->frame * 1000000);
    if (event->frame != h->frame)
        FUZZ_CHECK(event->type == MTLS_EV_HELLO_REQUEST || event->type == MTLS_EV_CLIENT_HELLO ||
                   (event->type == MTLS_EV_OTHER_HANDSHAKE && event->encrypted));
    FUZZ_CHECK((message != NULL) == (message_length > 0));
    FUZZ_CHECK(message_length <= MTLS_DTLS_MAX_MESSAGE);
    if (message) {
        fuzz_touch(message, message_length);
        FUZZ_CHECK(message_type_matches(event->type, message[0]));
        FUZZ_CHECK(message_length >= 4);
        /* The whole message in TLS form, or its head up to the cap (a ClientHello's
         * less its cookie, at most 256 bytes). */
        size_t whole = 4 + (size_t)get24(message + 1);
        FUZZ_CHECK(message_length == whole ||
                   (whole > message_length && message_length + 256 >= MTLS_DTLS_MAX_MESSAGE));
    }
    mtls_event_t fed = *event;
    fed.from_server = direction == h->server_direction;
    mtls_exchange_t *exchange = mtls_conn_feed(&h->state, &fed);
    if (exchange)
        FUZZ_CHECK(exchange->number >= 1 && exchange->number <= MTLS_MAX_EXCHANGES_PER_CONNECTION);
}

static void on_application_data(void *context, unsigned direction, uint32_t frame,
                                const uint8_t *data, size_t length)
{
    harness_t *h = context;
    FUZZ_CHECK(direction < 2);
    FUZZ_CHECK(frame == h->frame);
    FUZZ_CHECK(data != NULL || length == 0);
    fuzz_touch(data, length);
}

static bool on_plaintext(void *context, unsigned direction,
                         const mtls_dtls_protected_record_t *record,
                         mtls_dtls_plaintext_t *plaintext)
{
    harness_t *h = context;
    FUZZ_CHECK(direction < 2);
    FUZZ_CHECK(record != NULL && plaintext != NULL);
    FUZZ_CHECK(record->frame == h->frame);
    FUZZ_CHECK(record->index >= h->next_index);
    FUZZ_CHECK(record->epoch > 0);
    FUZZ_CHECK(record->body_offset == record->header_offset + 13);
    FUZZ_CHECK(record->body_offset + record->length <= h->datagram_length);
    h->next_index = record->index + 1;

    fuzz_input_t in = {h->plaintexts, h->plaintexts_size, h->cursor[direction]};
    while (fuzz_left(&in) >= PLAINTEXT_HEAD) {
        uint8_t flags = fuzz_u8(&in);
        uint8_t content_type = fuzz_u8(&in);
        size_t length;
        const uint8_t *bytes = fuzz_bytes(&in, fuzz_u16(&in), &length);
        if ((flags & 1u) != direction)
            continue;
        h->cursor[direction] = in.offset;
        if (flags & 2u)
            return false;
        uint8_t *copy = NULL;
        if (length > 0) {
            if (h->copy_count == h->copy_capacity) {
                size_t capacity = h->copy_capacity ? 2 * h->copy_capacity : 8;
                uint8_t **bigger = realloc(h->copies, capacity * sizeof(*bigger));
                if (!bigger)
                    return false;
                h->copies = bigger;
                h->copy_capacity = capacity;
            }
            copy = malloc(length);
            if (!copy)
                return false;
            memcpy(copy, bytes, length);
            h->copies[h->copy_count++] = copy;
        }
        plaintext->content_type = content_type;
        plaintext->data = copy;
        plaintext->length = length;
        return true;
    }
    h->cursor[direction] = h->plaintexts_size;
    return false;
}

static const mtls_dtls_callbacks_t callbacks = {
    .event = on_event,
    .application_data = on_application_data,
    .plaintext = on_plaintext,
};

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
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size, 0};
    uint8_t config = fuzz_u8(&in);
    size_t section = fuzz_u16(&in);
    if (section > fuzz_left(&in))
        section = fuzz_left(&in);
    fuzz_input_t datagrams = {data + in.offset, section, 0};

    harness_t h;
    memset(&h, 0, sizeof(h));
    h.server_direction = (config & 2u) ? 0 : 1;
    h.plaintexts = data + in.offset + section;
    h.plaintexts_size = size - in.offset - section;
    h.conn = mtls_conn_new();
    mtls_dtls_t *dtls = mtls_dtls_new();
    if (!h.conn || !dtls) {
        mtls_conn_free(h.conn);
        mtls_dtls_free(dtls);
        return 0;
    }
    mtls_conn_state_init(&h.state, h.conn);
    mtls_conn_set_inference(&h.state, !(config & 1u));
    size_t memory_cap = mtls_dtls_memory(dtls) + 2 * MTLS_DTLS_MAX_PENDING_BYTES;

    while (fuzz_left(&datagrams) >= DATAGRAM_HEADER) {
        unsigned direction = fuzz_u8(&datagrams) & 1u;
        size_t length;
        const uint8_t *payload = fuzz_bytes(&datagrams, fuzz_u16(&datagrams), &length);
        /* In a buffer of its exact size, so that a read past its end is caught. */
        uint8_t *copy = length ? malloc(length) : NULL;
        if (length && !copy)
            break;
        if (copy)
            memcpy(copy, payload, length);
        mtls_dtls_datagram_t datagram = {
            .direction = direction,
            .frame = ++h.frame,
            .time_ns = (int64_t)h.frame * 1000000,
            .payload = copy,
            .length = length,
        };
        h.time_ns = datagram.time_ns;
        h.events = 0;
        h.next_index = 0;
        h.datagram_length = length;
        mtls_dtls_result_t result = mtls_dtls_datagram(dtls, &datagram, &callbacks, &h);
        FUZZ_CHECK(result.events == h.events);
        FUZZ_CHECK(result.duplicates <= result.records);
        FUZZ_CHECK(mtls_dtls_memory(dtls) <= memory_cap);
        free(copy);
        for (size_t i = 0; i < h.copy_count; i++)
            free(h.copies[i]);
        h.copy_count = 0;
    }
    read_exchanges(h.conn);
    free(h.copies);
    mtls_dtls_free(dtls);
    mtls_conn_free(h.conn);
    return 0;
}
