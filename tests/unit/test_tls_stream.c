/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of plugin/wire/mtls_tls_stream.c: TLS records and handshake
 * messages built here byte by byte (RFC 5246, RFC 8446), cut into TCP segments
 * in every way the wire cuts them, and the events the scanner reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_tls_stream.h"
#include "unit_bytes.h"
#include "unit_check.h"

/* ---- Building a byte stream ---------------------------------------------- */

typedef unit_bytes_t bytes_t;

static void record(bytes_t *b, unsigned type, const bytes_t *body)
{
    put8(b, type);
    put16(b, 0x0303);
    put16(b, (unsigned)body->length);
    put(b, body->bytes, body->length);
}

/* A handshake message with `length` body bytes of filler after `head`. */
static void message(bytes_t *b, unsigned type, const uint8_t *head, size_t head_length,
                    size_t length)
{
    put8(b, type);
    put24(b, (unsigned)length);
    put(b, head, head_length);
    for (size_t i = head_length; i < length; i++)
        put8(b, 0xa5);
}

/* ServerHello selecting TLS 1.3 (supported_versions) or TLS 1.2. */
static void server_hello(bytes_t *b, bool tls13)
{
    bytes_t body = {.length = 0};
    put16(&body, 0x0303);
    for (int i = 0; i < 32; i++)
        put8(&body, (unsigned)i);
    put8(&body, 0); /* session id */
    put16(&body, tls13 ? 0x1301 : 0xc02f);
    put8(&body, 0); /* compression */
    if (tls13) {
        put16(&body, 6);
        put16(&body, 43); /* supported_versions */
        put16(&body, 2);
        put16(&body, 0x0304);
    } else {
        put16(&body, 0);
    }
    message(b, 2, body.bytes, body.length, body.length);
}

/* The client's plaintext TLS 1.2 flight after a request: Certificate with one
 * 100-byte certificate (or empty), ClientKeyExchange, CertificateVerify. */
static void tls12_client_flight(bytes_t *b, bool empty)
{
    bytes_t hs = {.length = 0};
    uint8_t certificate[3 + 3 + 100] = {0, 0, 103, 0, 0, 100};
    uint8_t none[3] = {0, 0, 0};
    if (empty)
        message(&hs, 11, none, 3, 3);
    else
        message(&hs, 11, certificate, sizeof(certificate), sizeof(certificate));
    message(&hs, 16, NULL, 0, 33);
    if (!empty)
        message(&hs, 15, NULL, 0, 72);
    record(b, 22, &hs);
}

/* A TLS 1.2 handshake of a server that requires a certificate: server flight,
 * client flight, then the server's alert (or CCS and Finished). */
typedef struct {
    bytes_t client, server; /* each direction's bytes */
} conversation_t;

static void tls12_handshake(conversation_t *c, bool empty, bool server_alert)
{
    memset(c, 0, sizeof(*c));
    bytes_t hs = {.length = 0};
    message(&hs, 1, (const uint8_t[]){3, 3}, 2, 60); /* ClientHello */
    record(&c->client, 22, &hs);
    hs.length = 0;
    server_hello(&hs, false);
    message(&hs, 11, (const uint8_t[]){0, 0, 103, 0, 0, 100}, 6, 106);
    uint8_t request[] = {1, 1, 0, 2, 4, 1, 0, 0};
    message(&hs, 13, request, sizeof(request), sizeof(request));
    message(&hs, 14, NULL, 0, 0);
    record(&c->server, 22, &hs);
    tls12_client_flight(&c->client, empty);
    bytes_t ccs = {.length = 1, .bytes = {1}};
    record(&c->client, 20, &ccs);
    bytes_t finished = {.length = 40};
    record(&c->client, 22, &finished); /* encrypted Finished */
    if (server_alert) {
        bytes_t alert = {.length = 2, .bytes = {2, 40}};
        record(&c->server, 21, &alert);
    } else {
        record(&c->server, 20, &ccs);
        record(&c->server, 22, &finished);
    }
}

/* ---- Feeding segments, recording events ----------------------------------- */

#define MAX_SEEN 256
typedef struct {
    mtls_event_type_t type[MAX_SEEN];
    unsigned direction[MAX_SEEN];
    uint32_t frame[MAX_SEEN];
    bool empty[MAX_SEEN];
    int alert[MAX_SEEN];
    size_t message_length[MAX_SEEN];
    unsigned count;
    /* Plaintext handed out for protected records, in order. */
    const mtls_tls_plaintext_t *plaintexts;
    unsigned plaintext_count, plaintext_next;
    unsigned plaintext_asked;
} seen_t;

static void on_event(void *context, unsigned direction, const mtls_event_t *event,
                     const uint8_t *message_bytes, size_t message_length)
{
    seen_t *seen = context;
    CHECK((message_bytes != NULL) == (message_length > 0));
    CHECK(message_length <= MTLS_TLS_MAX_BUFFERED_MESSAGE);
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < message_length; i++)
        sum ^= message_bytes[i]; /* every byte readable (valgrind, ASan) */
    (void)sum;                   /* read once: GCC 16 warns about a volatile that is only set */
    if (seen->count >= MAX_SEEN)
        return;
    seen->type[seen->count] = event->type;
    seen->direction[seen->count] = direction;
    seen->frame[seen->count] = event->frame;
    seen->empty[seen->count] = event->empty;
    seen->alert[seen->count] = event->alert_description;
    seen->message_length[seen->count] = message_length;
    seen->count++;
}

static bool on_plaintext(void *context, unsigned direction,
                         const mtls_tls_protected_record_t *record, mtls_tls_plaintext_t *plaintext)
{
    (void)direction;
    (void)record;
    seen_t *seen = context;
    seen->plaintext_asked++;
    if (seen->plaintext_next >= seen->plaintext_count)
        return false;
    *plaintext = seen->plaintexts[seen->plaintext_next++];
    return true;
}

static const mtls_tls_stream_callbacks_t callbacks = {on_event, NULL, on_plaintext};

typedef struct {
    mtls_tls_stream_t *stream;
    uint32_t seq[2];
    uint32_t frame;
    seen_t seen;
} feeder_t;

static void feeder_init(feeder_t *f)
{
    memset(f, 0, sizeof(*f));
    f->stream = mtls_tls_stream_new();
    f->seq[0] = 1000;
    f->seq[1] = 0x7ffffff0; /* wraps past 2^31 and later 2^32-style differences */
}

static mtls_tls_stream_result_t send_at(feeder_t *f, unsigned direction, uint32_t seq,
                                        const uint8_t *data, size_t length, uint8_t flags)
{
    mtls_tcp_segment_t segment = {
        .direction = direction,
        .seq = seq,
        .flags = flags,
        .frame = ++f->frame,
        .time_ns = (int64_t)f->frame * 1000,
        .payload = data,
        .length = length,
        .reported_length = length,
    };
    return mtls_tls_stream_segment(f->stream, &segment, &callbacks, &f->seen);
}

/* Sends `length` bytes of `data` in order, in segments of `chunk` bytes. */
static void send_chunks(feeder_t *f, unsigned direction, const uint8_t *data, size_t length,
                        size_t chunk)
{
    for (size_t at = 0; at < length; at += chunk) {
        size_t n = length - at < chunk ? length - at : chunk;
        send_at(f, direction, f->seq[direction], data + at, n, 0);
        f->seq[direction] += (uint32_t)n;
    }
}

static void run_tls12(feeder_t *f, const conversation_t *c, size_t chunk)
{
    /* ClientHello, server flight, client flight + CCS + Finished, server's answer. */
    size_t hello = 5 + 4 + 60;
    send_chunks(f, 0, c->client.bytes, hello, chunk);
    send_chunks(f, 1, c->server.bytes, c->server.length - 7, chunk);
    send_chunks(f, 0, c->client.bytes + hello, c->client.length - hello, chunk);
    send_chunks(f, 1, c->server.bytes + c->server.length - 7, 7, chunk);
}

static const mtls_event_type_t tls12_rejected_events[] = {
    MTLS_EV_CLIENT_HELLO,        MTLS_EV_SERVER_HELLO,
    MTLS_EV_CERTIFICATE,         MTLS_EV_CERTIFICATE_REQUEST,
    MTLS_EV_SERVER_HELLO_DONE,   MTLS_EV_CERTIFICATE,
    MTLS_EV_CLIENT_KEY_EXCHANGE, MTLS_EV_CHANGE_CIPHER_SPEC,
    MTLS_EV_OTHER_HANDSHAKE,     MTLS_EV_ALERT,
};

static void check_tls12_rejected(const seen_t *seen)
{
    size_t n = sizeof(tls12_rejected_events) / sizeof(tls12_rejected_events[0]);
    CHECK(seen->count == n);
    for (size_t i = 0; i < n && i < seen->count; i++)
        CHECK(seen->type[i] == tls12_rejected_events[i]);
    if (seen->count == n) {
        CHECK(seen->empty[5]);
        CHECK(seen->alert[9] == 40);
        CHECK(seen->direction[0] == 0 && seen->direction[1] == 1 && seen->direction[9] == 1);
        CHECK(seen->message_length[0] == 64); /* ClientHello handed over whole */
        CHECK(seen->message_length[6] == 0);  /* ClientKeyExchange is not */
    }
}

static void tls12_rejected_one_segment_per_flight(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    feeder_t f;
    feeder_init(&f);
    run_tls12(&f, &c, 100000);
    check_tls12_rejected(&f.seen);
    CHECK(!mtls_tls_stream_had_gap(f.stream));
    mtls_tls_stream_free(f.stream);
}

static void tls12_rejected_every_segment_size(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    for (size_t chunk = 1; chunk <= 64; chunk++) {
        feeder_t f;
        feeder_init(&f);
        run_tls12(&f, &c, chunk);
        check_tls12_rejected(&f.seen);
        CHECK(!mtls_tls_stream_had_gap(f.stream));
        mtls_tls_stream_free(f.stream);
    }
}

static void events_come_in_the_frame_that_completes_them(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    feeder_t f;
    feeder_init(&f);
    send_chunks(&f, 0, c.client.bytes, 20, 20); /* frame 1: part of the ClientHello */
    CHECK(f.seen.count == 0);
    send_chunks(&f, 0, c.client.bytes + 20, 49, 49); /* frame 2: the rest */
    REQUIRE(f.seen.count == 1);
    CHECK(f.seen.type[0] == MTLS_EV_CLIENT_HELLO && f.seen.frame[0] == 2);
    mtls_tls_stream_free(f.stream);
}

static void retransmitted_segments_are_read_once(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    feeder_t f;
    feeder_init(&f);
    /* Every segment of 30 bytes sent twice, and the first one three times. */
    const uint8_t *all[2] = {c.client.bytes, c.server.bytes};
    size_t lengths[2] = {69, c.server.length - 7};
    for (unsigned d = 0; d < 2; d++)
        for (size_t at = 0; at < lengths[d]; at += 30) {
            size_t n = lengths[d] - at < 30 ? lengths[d] - at : 30;
            for (int copy = 0; copy < (at == 0 ? 3 : 2); copy++)
                send_at(&f, d, f.seq[d] + (uint32_t)at, all[d] + at, n, 0);
        }
    f.seq[0] += 69;
    f.seq[1] += (uint32_t)lengths[1];
    send_chunks(&f, 0, c.client.bytes + 69, c.client.length - 69, 1000);
    send_chunks(&f, 1, c.server.bytes + lengths[1], 7, 1000);
    check_tls12_rejected(&f.seen);
    CHECK(!mtls_tls_stream_had_gap(f.stream));
    mtls_tls_stream_free(f.stream);
}

/* A segment exactly half the sequence space behind (seq_diff INT32_MIN, which
 * int32_t cannot negate: a fuzzing finding) counts as old, like a
 * retransmission, and the stream goes on. */
static void segment_half_the_sequence_space_behind_is_old(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    feeder_t f;
    feeder_init(&f);
    size_t hello = 5 + 4 + 60;
    send_chunks(&f, 0, c.client.bytes, hello, 1000);
    send_chunks(&f, 1, c.server.bytes, c.server.length - 7, 1000);
    for (unsigned d = 0; d < 2; d++)
        send_at(&f, d, f.seq[d] - 0x80000000u, c.client.bytes, 40, 0);
    send_chunks(&f, 0, c.client.bytes + hello, c.client.length - hello, 1000);
    send_chunks(&f, 1, c.server.bytes + c.server.length - 7, 7, 1000);
    check_tls12_rejected(&f.seen);
    CHECK(!mtls_tls_stream_had_gap(f.stream));
    mtls_tls_stream_free(f.stream);
}

static void overlapping_segments_are_trimmed(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    feeder_t f;
    feeder_init(&f);
    /* Segments of 40 bytes that start 25 bytes apart: each repeats 15 bytes. */
    size_t server_length = c.server.length - 7;
    send_chunks(&f, 0, c.client.bytes, 69, 1000);
    for (size_t at = 0; at < server_length; at += 25) {
        size_t n = server_length - at < 40 ? server_length - at : 40;
        send_at(&f, 1, f.seq[1] + (uint32_t)at, c.server.bytes + at, n, 0);
    }
    f.seq[1] += (uint32_t)server_length;
    send_chunks(&f, 0, c.client.bytes + 69, c.client.length - 69, 1000);
    send_chunks(&f, 1, c.server.bytes + server_length, 7, 1000);
    check_tls12_rejected(&f.seen);
    mtls_tls_stream_free(f.stream);
}

static void out_of_order_segments_are_read_in_sequence_order(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    feeder_t f;
    feeder_init(&f);
    send_chunks(&f, 0, c.client.bytes, 69, 1000);
    size_t server_length = c.server.length - 7;
    send_at(&f, 1, f.seq[1] - 1, NULL, 0, MTLS_TCP_SYN); /* frame 2 */
    /* The server's flight in three segments, sent 3, 1, 2 (frames 3, 4, 5). */
    size_t cut1 = 50, cut2 = 150;
    send_at(&f, 1, f.seq[1] + (uint32_t)cut2, c.server.bytes + cut2, server_length - cut2, 0);
    CHECK(f.seen.count == 1);
    send_at(&f, 1, f.seq[1], c.server.bytes, cut1, 0);
    send_at(&f, 1, f.seq[1] + (uint32_t)cut1, c.server.bytes + cut1, cut2 - cut1, 0);
    f.seq[1] += (uint32_t)server_length;
    CHECK(f.seen.count == 5);
    CHECK(f.seen.frame[1] == 4); /* ServerHello: complete in the first segment */
    CHECK(f.seen.frame[4] == 5); /* ServerHelloDone: when the hole was filled */
    send_chunks(&f, 0, c.client.bytes + 69, c.client.length - 69, 1000);
    send_chunks(&f, 1, c.server.bytes + server_length, 7, 1000);
    check_tls12_rejected(&f.seen);
    CHECK(!mtls_tls_stream_had_gap(f.stream));
    mtls_tls_stream_free(f.stream);
}

static void hole_acknowledged_by_the_peer_is_a_gap(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    feeder_t f;
    feeder_init(&f);
    send_chunks(&f, 0, c.client.bytes, 69, 1000);
    size_t server_length = c.server.length - 7;
    send_at(&f, 1, f.seq[1] - 1, NULL, 0, MTLS_TCP_SYN);
    /* The server's first 50 bytes were never captured; the client acknowledges them. */
    send_at(&f, 1, f.seq[1] + 50, c.server.bytes + 50, server_length - 50, 0);
    CHECK(f.seen.count == 1);
    mtls_tcp_segment_t ack = {.direction = 0,
                              .seq = f.seq[0],
                              .ack = f.seq[1] + (uint32_t)server_length,
                              .has_ack = true,
                              .frame = ++f.frame};
    mtls_tls_stream_result_t result = mtls_tls_stream_segment(f.stream, &ack, &callbacks, &f.seen);
    CHECK(result.gap);
    CHECK(mtls_tls_stream_had_gap(f.stream));
    /* Resynchronised on a later record: nothing invented from the lost part. */
    for (unsigned i = 1; i < f.seen.count; i++)
        CHECK(f.seen.type[i] != MTLS_EV_SERVER_HELLO);
    mtls_tls_stream_free(f.stream);
}

static void capture_starting_mid_record_resynchronises(void)
{
    conversation_t c;
    tls12_handshake(&c, false, false);
    feeder_t f;
    feeder_init(&f);
    /* Starts 3 bytes into the client's Certificate record. */
    size_t start = 69 + 3;
    mtls_tls_stream_result_t result = send_at(&f, 0, f.seq[0] + (uint32_t)start,
                                              c.client.bytes + start, c.client.length - start, 0);
    CHECK(result.gap);
    CHECK(result.resynced);
    /* Only whole records after the cut: CCS and the encrypted Finished. */
    REQUIRE(f.seen.count == 2);
    CHECK(f.seen.type[0] == MTLS_EV_CHANGE_CIPHER_SPEC);
    CHECK(f.seen.type[1] == MTLS_EV_OTHER_HANDSHAKE);
    mtls_tls_stream_free(f.stream);
}

static void lost_bytes_inside_a_record_keep_the_boundary(void)
{
    conversation_t c;
    tls12_handshake(&c, true, false);
    feeder_t f;
    feeder_init(&f);
    send_chunks(&f, 0, c.client.bytes, 69, 1000);
    size_t server_length = c.server.length - 51; /* up to the server's CCS */
    /* Bytes 20..29 of the server's flight record are lost; then the rest comes. */
    send_at(&f, 1, f.seq[1], c.server.bytes, 20, 0);
    send_at(&f, 1, f.seq[1] + 30, c.server.bytes + 30, server_length - 30, 0);
    mtls_tcp_segment_t ack = {.direction = 0,
                              .seq = f.seq[0],
                              .ack = f.seq[1] + (uint32_t)server_length,
                              .has_ack = true,
                              .frame = ++f.frame};
    mtls_tls_stream_segment(f.stream, &ack, &callbacks, &f.seen);
    f.seq[1] += (uint32_t)server_length;
    send_chunks(&f, 1, c.server.bytes + server_length, 51, 1000);
    CHECK(mtls_tls_stream_had_gap(f.stream));
    /* The damaged record gives no message; the next records (CCS, Finished) do. */
    REQUIRE(f.seen.count == 3);
    CHECK(f.seen.type[0] == MTLS_EV_CLIENT_HELLO);
    CHECK(f.seen.type[1] == MTLS_EV_CHANGE_CIPHER_SPEC);
    CHECK(f.seen.type[2] == MTLS_EV_OTHER_HANDSHAKE);
    mtls_tls_stream_free(f.stream);
}

/* TLS 1.3: the server's protected flight with its CertificateRequest and the
 * client's Certificate split over two protected records, read from plaintext. */
static void tls13_plaintext_of_protected_records(void)
{
    bytes_t client = {.length = 0}, server = {.length = 0}, hs = {.length = 0};
    message(&hs, 1, (const uint8_t[]){3, 3}, 2, 60);
    record(&client, 22, &hs);
    hs.length = 0;
    server_hello(&hs, true);
    record(&server, 22, &hs);
    bytes_t protected_body = {.length = 300};
    record(&server, 23, &protected_body); /* the server's flight, one record */
    bytes_t first = {.length = 200}, second = {.length = 120};
    record(&client, 23, &first);
    record(&client, 23, &second);

    bytes_t server_plain = {.length = 0};
    message(&server_plain, 8, NULL, 0, 2);                        /* EncryptedExtensions */
    message(&server_plain, 13, (const uint8_t[]){0, 0, 0}, 3, 3); /* CertificateRequest */
    message(&server_plain, 20, NULL, 0, 32);                      /* Finished */
    bytes_t client_plain = {.length = 0};
    uint8_t certificate_head[] = {0, 0, 0, 107, 0, 0, 100};
    message(&client_plain, 11, certificate_head, sizeof(certificate_head), 4 + 107 + 100);
    message(&client_plain, 15, NULL, 0, 40);
    /* The client's plaintext, cut in two records after 150 bytes. */
    mtls_tls_plaintext_t plaintexts[3] = {
        {22, server_plain.bytes, server_plain.length},
        {22, client_plain.bytes, 150},
        {22, client_plain.bytes + 150, client_plain.length - 150},
    };
    feeder_t f;
    feeder_init(&f);
    f.seen.plaintexts = plaintexts;
    f.seen.plaintext_count = 3;
    send_chunks(&f, 0, client.bytes, 69, 1000);
    send_chunks(&f, 1, server.bytes, server.length, 1000);
    send_chunks(&f, 0, client.bytes + 69, client.length - 69, 7);
    CHECK(f.seen.plaintext_asked == 3);
    REQUIRE(f.seen.count == 7);
    CHECK(f.seen.type[1] == MTLS_EV_SERVER_HELLO);
    CHECK(f.seen.type[2] == MTLS_EV_OTHER_HANDSHAKE);
    CHECK(f.seen.type[3] == MTLS_EV_CERTIFICATE_REQUEST);
    CHECK(f.seen.type[4] == MTLS_EV_FINISHED);
    CHECK(f.seen.type[5] == MTLS_EV_CERTIFICATE);
    CHECK(!f.seen.empty[5]);
    CHECK(f.seen.message_length[5] == 4 + 107 + 100 + 4);
    CHECK(f.seen.type[6] == MTLS_EV_CERTIFICATE_VERIFY);
    mtls_tls_stream_free(f.stream);
}

static void tls13_without_plaintext_counts_protected_records(void)
{
    bytes_t server = {.length = 0}, hs = {.length = 0};
    server_hello(&hs, true);
    record(&server, 22, &hs);
    bytes_t body = {.length = 19};
    record(&server, 23, &body);
    record(&server, 23, &body);
    feeder_t f;
    feeder_init(&f);
    send_chunks(&f, 1, server.bytes, server.length, 3);
    REQUIRE(f.seen.count == 3);
    CHECK(f.seen.type[1] == MTLS_EV_ENCRYPTED_RECORD && f.seen.type[2] == MTLS_EV_ENCRYPTED_RECORD);
    mtls_tls_stream_free(f.stream);
}

static void huge_message_is_cut_at_the_cap(void)
{
    /* A ClientHello claiming 16 MB in records of 16 KB: read up to the cap only. */
    feeder_t f;
    feeder_init(&f);
    static uint8_t fragment[5 + 16384];
    fragment[0] = 22;
    fragment[1] = 3;
    fragment[2] = 3;
    fragment[3] = 16384 >> 8;
    fragment[4] = 0;
    memset(fragment + 5, 0x42, 16384);
    fragment[5] = 1;
    fragment[6] = 0xff;
    fragment[7] = 0xff;
    fragment[8] = 0xff;
    send_at(&f, 0, f.seq[0], fragment, sizeof(fragment), 0);
    f.seq[0] += sizeof(fragment);
    fragment[5] = 0x42;
    fragment[6] = fragment[7] = fragment[8] = 0x42;
    for (int i = 0; i < 8; i++) {
        send_at(&f, 0, f.seq[0], fragment, sizeof(fragment), 0);
        f.seq[0] += sizeof(fragment);
        CHECK(mtls_tls_stream_memory(f.stream) <= MTLS_TLS_MAX_BUFFERED_MESSAGE + 1024);
    }
    CHECK(f.seen.count == 0); /* the message never ends */
    mtls_tls_stream_free(f.stream);
}

static void not_tls_gives_no_events(void)
{
    feeder_t f;
    feeder_init(&f);
    const char *http = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    mtls_tls_stream_result_t result =
        send_at(&f, 0, f.seq[0], (const uint8_t *)http, strlen(http), 0);
    CHECK(result.not_tls);
    CHECK(f.seen.count == 0);
    mtls_tls_stream_free(f.stream);
}

static void fin_and_rst_are_reported_once(void)
{
    feeder_t f;
    feeder_init(&f);
    send_at(&f, 0, f.seq[0], NULL, 0, MTLS_TCP_FIN);
    send_at(&f, 0, f.seq[0], NULL, 0, MTLS_TCP_FIN); /* retransmitted FIN */
    CHECK(!mtls_tls_stream_closed(f.stream));
    send_at(&f, 1, f.seq[1], NULL, 0, MTLS_TCP_RST);
    CHECK(mtls_tls_stream_closed(f.stream));
    REQUIRE(f.seen.count == 2);
    CHECK(f.seen.type[0] == MTLS_EV_CLOSE && f.seen.direction[0] == 0);
    CHECK(f.seen.type[1] == MTLS_EV_CLOSE && f.seen.direction[1] == 1);
    mtls_tls_stream_free(f.stream);
}

static void syn_starts_the_stream_in_sync(void)
{
    conversation_t c;
    tls12_handshake(&c, true, true);
    feeder_t f;
    feeder_init(&f);
    send_at(&f, 0, f.seq[0] - 1, NULL, 0, MTLS_TCP_SYN);
    send_chunks(&f, 0, c.client.bytes, 69, 1000);
    REQUIRE(f.seen.count == 1);
    CHECK(f.seen.type[0] == MTLS_EV_CLIENT_HELLO);
    mtls_tls_stream_free(f.stream);
}

int main(void)
{
    static const unit_test_t tests[] = {
        UNIT_TEST(tls12_rejected_one_segment_per_flight),
        UNIT_TEST(tls12_rejected_every_segment_size),
        UNIT_TEST(events_come_in_the_frame_that_completes_them),
        UNIT_TEST(retransmitted_segments_are_read_once),
        UNIT_TEST(segment_half_the_sequence_space_behind_is_old),
        UNIT_TEST(overlapping_segments_are_trimmed),
        UNIT_TEST(out_of_order_segments_are_read_in_sequence_order),
        UNIT_TEST(hole_acknowledged_by_the_peer_is_a_gap),
        UNIT_TEST(capture_starting_mid_record_resynchronises),
        UNIT_TEST(lost_bytes_inside_a_record_keep_the_boundary),
        UNIT_TEST(tls13_plaintext_of_protected_records),
        UNIT_TEST(tls13_without_plaintext_counts_protected_records),
        UNIT_TEST(huge_message_is_cut_at_the_cap),
        UNIT_TEST(not_tls_gives_no_events),
        UNIT_TEST(fin_and_rst_are_reported_once),
        UNIT_TEST(syn_starts_the_stream_in_sync),
    };
    return run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
