/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of the TLS stream scanner (plugin/wire/mtls_tls_stream.h),
 * with every event it reports fed to a real engine connection
 * (plugin/core/mtls_engine.h), so the engine is fuzzed with the event sequences
 * the scanner can produce.
 *
 * Input (all numbers big-endian):
 *   u8  config    bit 0: inference off; bit 1: direction 0 is the server
 *   u16 segments  length of the segment section (cut at what is left)
 *   segment section, segments back to back, each:
 *     u8  control  bit 0 direction, 1 SYN, 2 FIN, 3 RST, 4 ACK, 5 cut by the snap
 *                  length; bits 6-7 where it starts, from the direction's next
 *                  sequence number N (the end of its previous segment):
 *                  0 at N, 1 at N + delta (bytes missing or early), 2 at N - delta
 *                  (retransmitted or overlapping), 3 at N + delta * 65536
 *     u16 delta
 *     u8  ack      the other direction's N + (int8_t)ack, when ACK is set
 *     u16 length   payload bytes (cut at the end of the section)
 *     u8  cut      with bit 5: bytes on the wire past the captured payload
 *     payload
 *   plaintext section (the rest): the dissector's plaintexts of protected
 *   records, each direction's read in order by the `plaintext` callback:
 *     u8  flags    bit 0 direction, bit 1 not decrypted (the callback says no)
 *     u8  content type
 *     u16 length
 *     bytes
 *   A direction with no entry left gets no plaintext.
 * Direction 0 starts at sequence number 1000, direction 1 at 0xfffff000 (it
 * wraps). Frames are numbered from 1, one per segment, 1 ms apart. Seeds: the
 * TCP connections of the sample captures with their decrypted records
 * (tests/fuzz/make-corpus.sh).
 */
#include <string.h>

#include "fuzz_common.h"
#include "mtls_engine.h"
#include "mtls_tls_stream.h"

#define SEGMENT_HEADER 7
#define PLAINTEXT_HEAD 4

typedef struct {
    mtls_conn_t *conn;
    mtls_conn_state_t state; /* conn's open state, which the events go through */
    unsigned server_direction;
    uint32_t frame;
    int64_t time_ns;
    unsigned events;     /* reported by the callbacks during this call */
    unsigned next_index; /* the lowest index the next protected record may have */
    /* The plaintext section and where each direction reads next in it. */
    const uint8_t *plaintexts;
    size_t plaintexts_size;
    size_t cursor[2];
    /* The plaintexts handed over during this call, freed when it returns: a pointer
     * the scanner keeps past the call is a use after free. */
    uint8_t **copies;
    size_t copy_count, copy_capacity;
} harness_t;

static uint32_t get24(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 16 | (uint32_t)bytes[1] << 8 | bytes[2];
}

/* The handshake type byte a message of this event starts with. */
static bool message_type_matches(mtls_event_type_t type, uint8_t first)
{
    switch (type) {
    case MTLS_EV_CLIENT_HELLO: return first == 1;
    case MTLS_EV_SERVER_HELLO: return first == 2;
    case MTLS_EV_CERTIFICATE_REQUEST: return first == 13;
    case MTLS_EV_CERTIFICATE: return first == 11 || first == 25;
    default: return false; /* no other event carries its message */
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
    FUZZ_CHECK(event->type <= MTLS_EV_ENCRYPTED_RECORD);
    FUZZ_CHECK(event->frame == h->frame);
    FUZZ_CHECK(event->time_ns == h->time_ns);
    FUZZ_CHECK((message != NULL) == (message_length > 0));
    FUZZ_CHECK(message_length <= MTLS_TLS_MAX_BUFFERED_MESSAGE);
    if (message) {
        fuzz_touch(message, message_length);
        FUZZ_CHECK(message_type_matches(event->type, message[0]));
        if (message_length >= 4) {
            /* The whole message, or its head up to the cap (4 bytes: no memory for more). */
            size_t whole = 4 + (size_t)get24(message + 1);
            size_t kept =
                whole < MTLS_TLS_MAX_BUFFERED_MESSAGE ? whole : MTLS_TLS_MAX_BUFFERED_MESSAGE;
            FUZZ_CHECK(message_length == kept || message_length == 4);
        }
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

/* The next entry of `direction` in the plaintext section, in a buffer of its exact
 * size so that a read past its end is caught. */
static bool on_plaintext(void *context, unsigned direction,
                         const mtls_tls_protected_record_t *record, mtls_tls_plaintext_t *plaintext)
{
    harness_t *h = context;
    FUZZ_CHECK(direction < 2);
    FUZZ_CHECK(record != NULL && plaintext != NULL);
    FUZZ_CHECK(record->frame == h->frame);
    /* Counted among every protected record the call completed, asked about or not
     * (a record with missing bytes is not): rising within the call. */
    FUZZ_CHECK(record->index >= h->next_index);
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

static const mtls_tls_stream_callbacks_t callbacks = {
    .event = on_event,
    .application_data = on_application_data,
    .plaintext = on_plaintext,
};

/* The verdicts and evidence sentences of every exchange, as the glue writes them. */
static void read_exchanges(const mtls_conn_t *conn)
{
    unsigned count = 0;
    for (const mtls_exchange_t *exchange = mtls_conn_exchanges(conn); exchange;
         exchange = exchange->next) {
        FUZZ_CHECK(++count <= MTLS_MAX_EXCHANGES_PER_CONNECTION);
        for (int final = 0; final < 2; final++) {
            mtls_verdict_t verdict = mtls_exchange_verdict(exchange, final);
            fuzz_touch_string(mtls_verdict_name(verdict));
            (void)mtls_exchange_request_known(exchange);
            char evidence[2048], cut[24];
            mtls_exchange_evidence(exchange, final, evidence, sizeof(evidence));
            FUZZ_CHECK(memchr(evidence, '\0', sizeof(evidence)) != NULL);
            fuzz_touch_string(evidence);
            mtls_exchange_evidence(exchange, final, cut, sizeof(cut));
            FUZZ_CHECK(memchr(cut, '\0', sizeof(cut)) != NULL);
        }
        fuzz_touch_string(mtls_response_name(exchange->response));
        fuzz_touch_string(mtls_phase_name(exchange->phase));
        fuzz_touch_string(mtls_alert_name(exchange->alert));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size, 0};
    uint8_t config = fuzz_u8(&in);
    size_t section = fuzz_u16(&in);
    if (section > fuzz_left(&in))
        section = fuzz_left(&in);
    fuzz_input_t segments = {data + in.offset, section, 0};

    harness_t h;
    memset(&h, 0, sizeof(h));
    h.server_direction = (config & 2u) ? 0 : 1;
    h.plaintexts = data + in.offset + section;
    h.plaintexts_size = size - in.offset - section;
    h.conn = mtls_conn_new();
    mtls_tls_stream_t *stream = mtls_tls_stream_new();
    if (!h.conn || !stream) {
        mtls_conn_free(h.conn);
        mtls_tls_stream_free(stream);
        return 0;
    }
    mtls_conn_state_init(&h.state, h.conn);
    mtls_conn_set_inference(&h.state, !(config & 1u));
    /* What the scanner may hold: its state, a message per direction, held-back segments. */
    size_t memory_cap = mtls_tls_stream_memory(stream) +
                        2 * (MTLS_TLS_MAX_BUFFERED_MESSAGE + MTLS_TLS_MAX_EARLY_BYTES +
                             MTLS_TLS_MAX_EARLY_SEGMENTS * 64);

    uint32_t next_seq[2] = {1000u, 0xfffff000u};
    while (fuzz_left(&segments) >= SEGMENT_HEADER) {
        uint8_t control = fuzz_u8(&segments);
        uint16_t delta = fuzz_u16(&segments);
        int8_t ack = (int8_t)fuzz_u8(&segments);
        uint16_t wanted = fuzz_u16(&segments);
        uint8_t cut = fuzz_u8(&segments);
        size_t length;
        const uint8_t *payload = fuzz_bytes(&segments, wanted, &length);

        unsigned direction = control & 1u;
        uint32_t seq = next_seq[direction];
        switch (control >> 6) {
        case 1: seq += delta; break;
        case 2: seq -= delta; break;
        case 3: seq += (uint32_t)delta << 16; break;
        default: break;
        }
        mtls_tcp_segment_t segment = {
            .direction = direction,
            .seq = seq,
            .ack = next_seq[direction ^ 1u] + (uint32_t)(int32_t)ack,
            .has_ack = (control & 0x10) != 0,
            .flags = (uint8_t)((control & 0x02 ? MTLS_TCP_SYN : 0) |
                               (control & 0x04 ? MTLS_TCP_FIN : 0) |
                               (control & 0x08 ? MTLS_TCP_RST : 0)),
            .frame = ++h.frame,
            .time_ns = (int64_t)h.frame * 1000000,
            .payload = payload,
            .length = length,
            .reported_length = length + ((control & 0x20) ? cut : 0),
        };
        next_seq[direction] = seq + (uint32_t)segment.reported_length +
                              ((control & 0x02) ? 1u : 0u) + ((control & 0x04) ? 1u : 0u);
        h.time_ns = segment.time_ns;
        h.events = 0;
        h.next_index = 0;
        mtls_tls_stream_result_t result = mtls_tls_stream_segment(stream, &segment, &callbacks, &h);
        FUZZ_CHECK(result.events == h.events);
        FUZZ_CHECK(!result.gap || mtls_tls_stream_had_gap(stream));
        FUZZ_CHECK(mtls_tls_stream_memory(stream) <= memory_cap);
        for (size_t i = 0; i < h.copy_count; i++)
            free(h.copies[i]);
        h.copy_count = 0;
    }
    (void)mtls_tls_stream_closed(stream);
    read_exchanges(h.conn);
    free(h.copies);
    mtls_tls_stream_free(stream);
    mtls_conn_free(h.conn);
    return 0;
}
