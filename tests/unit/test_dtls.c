/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of plugin/wire/mtls_dtls.c: DTLS 1.2 records and handshake
 * fragments built here byte by byte (RFC 6347), cut and retransmitted the way
 * OpenSSL and GnuTLS do on the sample captures, and the events the scanner
 * reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_dtls.h"
#include "unit_bytes.h"
#include "unit_check.h"

typedef unit_bytes_t bytes_t;

/* ---- What the scanner reported -------------------------------------------- */

#define MAX_SEEN 64

typedef struct {
    mtls_event_t event;
    unsigned direction;
    size_t message_length;
    uint8_t message[4096];
} seen_t;

typedef struct {
    seen_t seen[MAX_SEEN];
    unsigned count;
    /* Plaintexts the `plaintext` callback hands out, in order, per direction. */
    const bytes_t *plaintexts[2][8];
    uint8_t plaintext_types[2][8];
    unsigned plaintext_count[2], plaintext_next[2];
    size_t app_bytes;
} log_t;

static void on_event(void *context, unsigned direction, const mtls_event_t *event,
                     const uint8_t *message, size_t message_length)
{
    log_t *log = context;
    if (log->count >= MAX_SEEN)
        return;
    seen_t *s = &log->seen[log->count++];
    s->event = *event;
    s->direction = direction;
    s->message_length = message_length;
    if (message && message_length <= sizeof(s->message))
        memcpy(s->message, message, message_length);
}

static void on_app(void *context, unsigned direction, uint32_t frame, const uint8_t *data,
                   size_t length)
{
    (void)direction;
    (void)frame;
    (void)data;
    ((log_t *)context)->app_bytes += length;
}

static bool on_plaintext(void *context, unsigned direction,
                         const mtls_dtls_protected_record_t *record, mtls_dtls_plaintext_t *out)
{
    log_t *log = context;
    (void)record;
    unsigned next = log->plaintext_next[direction];
    if (next >= log->plaintext_count[direction])
        return false;
    log->plaintext_next[direction]++;
    const bytes_t *plain = log->plaintexts[direction][next];
    if (!plain)
        return false; /* this one was not decrypted */
    out->content_type = log->plaintext_types[direction][next];
    out->data = plain->bytes;
    out->length = plain->length;
    return true;
}

static const mtls_dtls_callbacks_t callbacks = {on_event, on_app, on_plaintext};

static uint32_t frame_number;

static mtls_dtls_result_t feed(mtls_dtls_t *dtls, log_t *log, unsigned direction,
                               const bytes_t *datagram)
{
    ++frame_number;
    mtls_dtls_datagram_t d = {
        .direction = direction,
        .frame = frame_number,
        .time_ns = (int64_t)frame_number * 1000,
        .payload = datagram->bytes,
        .length = datagram->length,
    };
    return mtls_dtls_datagram(dtls, &d, &callbacks, log);
}

static unsigned count_type(const log_t *log, mtls_event_type_t type)
{
    unsigned n = 0;
    for (unsigned i = 0; i < log->count; i++)
        if (log->seen[i].event.type == type)
            n++;
    return n;
}

static const seen_t *find_type(const log_t *log, mtls_event_type_t type)
{
    for (unsigned i = 0; i < log->count; i++)
        if (log->seen[i].event.type == type)
            return &log->seen[i];
    return NULL;
}

static bool contains(const uint8_t *bytes, size_t length, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= length; i++)
        if (memcmp(bytes + i, text, n) == 0)
            return true;
    return false;
}

/* ---- Building records ------------------------------------------------------ */

static void record(bytes_t *b, unsigned type, unsigned epoch, uint64_t sequence, const void *body,
                   size_t length)
{
    put8(b, type);
    put16(b, 0xfefd);
    put16(b, epoch);
    put16(b, (unsigned)(sequence >> 32));
    put16(b, (unsigned)(sequence >> 16) & 0xffff);
    put16(b, (unsigned)sequence & 0xffff);
    put16(b, (unsigned)length);
    put(b, body, length);
}

/* A handshake message's body: `head` then filler up to `length`. */
static void body(bytes_t *b, const void *head, size_t head_length, size_t length)
{
    b->length = 0;
    put(b, head, head_length);
    for (size_t i = head_length; i < length; i++)
        put8(b, (unsigned)(i * 7u + 1u));
}

/* One DTLS handshake fragment of message `message` (its body) as a record. */
static void fragment(bytes_t *datagram, unsigned epoch, uint64_t sequence, unsigned type,
                     unsigned message_seq, const bytes_t *message, size_t offset, size_t length)
{
    bytes_t f = {.length = 0};
    put8(&f, type);
    put24(&f, (unsigned)message->length);
    put16(&f, message_seq);
    put24(&f, (unsigned)offset);
    put24(&f, (unsigned)length);
    put(&f, message->bytes + offset, length);
    record(datagram, 22, epoch, sequence, f.bytes, f.length);
}

static void whole(bytes_t *datagram, unsigned epoch, uint64_t sequence, unsigned type,
                  unsigned message_seq, const bytes_t *message)
{
    fragment(datagram, epoch, sequence, type, message_seq, message, 0, message->length);
}

/* A DTLS ClientHello body with a cookie of `cookie` bytes and an SNI. */
static void client_hello(bytes_t *b, size_t cookie)
{
    b->length = 0;
    put16(b, 0xfefd);
    for (int i = 0; i < 32; i++)
        put8(b, (unsigned)i);
    put8(b, 0); /* session id */
    put8(b, (unsigned)cookie);
    for (size_t i = 0; i < cookie; i++)
        put8(b, 0xcc);
    put16(b, 2);
    put16(b, 0xc02b);
    put8(b, 1);
    put8(b, 0);
    static const char host[] = "localhost";
    put16(b, 4 + 5 + (unsigned)strlen(host)); /* extensions */
    put16(b, 0);                              /* server_name */
    put16(b, 5 + (unsigned)strlen(host));
    put16(b, 3 + (unsigned)strlen(host));
    put8(b, 0);
    put16(b, (unsigned)strlen(host));
    put(b, host, strlen(host));
}

static void server_hello(bytes_t *b)
{
    b->length = 0;
    put16(b, 0xfefd);
    for (int i = 0; i < 32; i++)
        put8(b, (unsigned)(0x40 + i));
    put8(b, 0);
    put16(b, 0xc02b);
    put8(b, 0);
    put16(b, 0);
}

static void certificate(bytes_t *b, size_t certificate_length)
{
    b->length = 0;
    if (certificate_length == 0) {
        put24(b, 0);
        return;
    }
    put24(b, (unsigned)certificate_length + 3);
    put24(b, (unsigned)certificate_length);
    for (size_t i = 0; i < certificate_length; i++)
        put8(b, (unsigned)(i & 0xff));
}

enum { CLIENT = 1, SERVER = 0 };

/* The server's first flight after the cookie exchange, each message whole in
 * its own datagram except the Certificate, cut at `cuts`. */
static void server_flight(mtls_dtls_t *dtls, log_t *log, uint64_t *sequence, const size_t *cuts,
                          size_t cut_count, bool request)
{
    bytes_t m, d;
    server_hello(&m);
    d.length = 0;
    whole(&d, 0, (*sequence)++, 2, 1, &m);
    feed(dtls, log, SERVER, &d);
    certificate(&m, 900);
    size_t from = 0;
    for (size_t i = 0; i <= cut_count; i++) {
        size_t to = i < cut_count ? cuts[i] : m.length;
        d.length = 0;
        fragment(&d, 0, (*sequence)++, 11, 2, &m, from, to - from);
        feed(dtls, log, SERVER, &d);
        from = to;
    }
    unsigned seq = 3;
    if (request) {
        static const uint8_t cr[] = {1, 64, 0, 2, 4, 3, 0, 0};
        body(&m, cr, sizeof(cr), sizeof(cr));
        d.length = 0;
        whole(&d, 0, (*sequence)++, 13, seq++, &m);
        feed(dtls, log, SERVER, &d);
    }
    body(&m, NULL, 0, 0);
    d.length = 0;
    whole(&d, 0, (*sequence)++, 14, seq, &m);
    feed(dtls, log, SERVER, &d);
}

/* ---- Tests ----------------------------------------------------------------- */

static void hello_verify_request_once(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t m, d;
    client_hello(&m, 0);
    d.length = 0;
    whole(&d, 0, 0, 1, 0, &m);
    feed(dtls, &log, CLIENT, &d);
    static const uint8_t hvr[] = {0xfe, 0xff, 4, 1, 2, 3, 4};
    body(&m, hvr, sizeof(hvr), sizeof(hvr));
    d.length = 0;
    whole(&d, 0, 0, 3, 0, &m);
    feed(dtls, &log, SERVER, &d);
    client_hello(&m, 20);
    d.length = 0;
    whole(&d, 0, 1, 1, 1, &m);
    feed(dtls, &log, CLIENT, &d);
    uint64_t sequence = 1;
    size_t cuts[] = {300, 600};
    server_flight(dtls, &log, &sequence, cuts, 2, true);

    CHECK(count_type(&log, MTLS_EV_CLIENT_HELLO) == 1); /* the retry is the same hello */
    const seen_t *ch = find_type(&log, MTLS_EV_CLIENT_HELLO);
    REQUIRE(ch != NULL);
    /* TLS form: 4-byte header, version 0x0303, no cookie (its length byte removed). */
    client_hello(&m, 0);
    CHECK(ch->message_length == 4 + m.length - 1);
    CHECK(ch->message[0] == 1 && ch->message[4] == 0x03 && ch->message[5] == 0x03);
    CHECK(contains(ch->message, ch->message_length, "localhost"));
    CHECK(count_type(&log, MTLS_EV_OTHER_HANDSHAKE) == 1); /* the HelloVerifyRequest */
    const seen_t *sh = find_type(&log, MTLS_EV_SERVER_HELLO);
    REQUIRE(sh != NULL);
    CHECK(sh->event.version == 0x0303);
    CHECK(count_type(&log, MTLS_EV_CERTIFICATE) == 1);
    CHECK(count_type(&log, MTLS_EV_CERTIFICATE_REQUEST) == 1);
    CHECK(count_type(&log, MTLS_EV_SERVER_HELLO_DONE) == 1);
    /* Message order as sent. */
    CHECK(log.seen[log.count - 1].event.type == MTLS_EV_SERVER_HELLO_DONE);
    mtls_dtls_free(dtls);
}

static void fragments_in_order_make_one_message(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    uint64_t sequence = 0;
    size_t cuts[] = {117, 320, 523, 726};
    server_flight(dtls, &log, &sequence, cuts, 4, false);
    const seen_t *cert = find_type(&log, MTLS_EV_CERTIFICATE);
    REQUIRE(cert != NULL);
    bytes_t m;
    certificate(&m, 900);
    REQUIRE(cert->message_length == 4 + m.length);
    CHECK(memcmp(cert->message + 4, m.bytes, m.length) == 0);
    CHECK(cert->message[1] == 0 && cert->message[2] == (m.length >> 8) &&
          cert->message[3] == (m.length & 0xff));
    CHECK(!cert->event.empty);
    CHECK(cert->event.record_length == 12 + (m.length - 726)); /* the record that completed it */
    CHECK(count_type(&log, MTLS_EV_CERTIFICATE) == 1);
    /* Delivered: nothing is held any more. */
    CHECK(mtls_dtls_memory(dtls) == mtls_dtls_memory(dtls) - 0 && mtls_dtls_memory(dtls) < 4096);
    mtls_dtls_free(dtls);
}

static void fragments_out_of_order(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t sh, cert, d;
    server_hello(&sh);
    certificate(&cert, 500);
    /* The Certificate's last fragment, then its first, then the ServerHello. */
    d.length = 0;
    fragment(&d, 0, 5, 11, 2, &cert, 250, cert.length - 250);
    feed(dtls, &log, SERVER, &d);
    CHECK(log.count == 0);
    d.length = 0;
    whole(&d, 0, 3, 2, 1, &sh);
    fragment(&d, 0, 4, 11, 2, &cert, 0, 250);
    feed(dtls, &log, SERVER, &d);
    REQUIRE(log.count == 2);
    CHECK(log.seen[0].event.type == MTLS_EV_SERVER_HELLO);
    CHECK(log.seen[1].event.type == MTLS_EV_CERTIFICATE);
    CHECK(log.seen[1].message_length == 4 + cert.length);
    CHECK(memcmp(log.seen[1].message + 4, cert.bytes, cert.length) == 0);
    mtls_dtls_free(dtls);
}

static void retransmitted_flight_with_other_boundaries(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t sh, cert, d;
    server_hello(&sh);
    certificate(&cert, 904);
    /* First transmission: ServerHello + Certificate[0..117) together, then
     * [117..320), [320..523) ... one fragment is lost ([523..726)). */
    d.length = 0;
    whole(&d, 0, 1, 2, 1, &sh);
    fragment(&d, 0, 2, 11, 2, &cert, 0, 117);
    feed(dtls, &log, SERVER, &d);
    d.length = 0;
    fragment(&d, 0, 3, 11, 2, &cert, 117, 203);
    feed(dtls, &log, SERVER, &d);
    d.length = 0;
    fragment(&d, 0, 4, 11, 2, &cert, 320, 203);
    feed(dtls, &log, SERVER, &d);
    d.length = 0;
    fragment(&d, 0, 6, 11, 2, &cert, 726, cert.length - 726);
    feed(dtls, &log, SERVER, &d);
    CHECK(count_type(&log, MTLS_EV_CERTIFICATE) == 0);
    /* Retransmission: everything again, new record numbers, boundaries 203 apart. */
    d.length = 0;
    whole(&d, 0, 7, 2, 1, &sh);
    feed(dtls, &log, SERVER, &d);
    for (size_t from = 0, seq = 8; from < cert.length; from += 203, seq++) {
        size_t length = cert.length - from < 203 ? cert.length - from : 203;
        d.length = 0;
        fragment(&d, 0, seq, 11, 2, &cert, from, length);
        feed(dtls, &log, SERVER, &d);
    }
    CHECK(count_type(&log, MTLS_EV_SERVER_HELLO) == 1);
    CHECK(count_type(&log, MTLS_EV_CERTIFICATE) == 1);
    const seen_t *c = find_type(&log, MTLS_EV_CERTIFICATE);
    REQUIRE(c != NULL && c->message_length == 4 + cert.length);
    CHECK(memcmp(c->message + 4, cert.bytes, cert.length) == 0);
    /* And a third copy changes nothing. */
    unsigned before = log.count;
    d.length = 0;
    whole(&d, 0, 20, 11, 2, &cert);
    feed(dtls, &log, SERVER, &d);
    CHECK(log.count == before);
    mtls_dtls_free(dtls);
}

static void duplicated_records_dropped(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t m, d;
    static const uint8_t alert[] = {2, 40};
    d.length = 0;
    record(&d, 21, 0, 9, alert, sizeof(alert));
    mtls_dtls_result_t r = feed(dtls, &log, SERVER, &d);
    CHECK(r.records == 1 && r.duplicates == 0);
    r = feed(dtls, &log, SERVER, &d); /* the network duplicated it */
    CHECK(r.records == 1 && r.duplicates == 1);
    REQUIRE(log.count == 1);
    CHECK(log.seen[0].event.type == MTLS_EV_ALERT);
    CHECK(log.seen[0].event.alert_level == 2 && log.seen[0].event.alert_description == 40);
    /* The other direction keeps its own record numbers. */
    r = feed(dtls, &log, CLIENT, &d);
    CHECK(r.duplicates == 0 && log.count == 2);
    (void)m;
    mtls_dtls_free(dtls);
}

/* The client's last flight retransmitted (GnuTLS: 1, 2, 4, 8 s), without keys:
 * its CCS and encrypted Finished are reported once. */
static void retransmitted_last_flight_without_keys(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t cert, cke, d;
    certificate(&cert, 0);
    static const uint8_t key[] = {65, 4};
    body(&cke, key, sizeof(key), 66);
    static const uint8_t one = 1;
    uint8_t finished[40];
    memset(finished, 0x99, sizeof(finished));
    for (int round = 0; round < 5; round++) {
        d.length = 0;
        whole(&d, 0, (uint64_t)(round * 3 + 2), 11, 2, &cert);
        whole(&d, 0, (uint64_t)(round * 3 + 3), 16, 3, &cke);
        record(&d, 20, 0, (uint64_t)(round * 3 + 4), &one, 1);
        record(&d, 22, 1, (uint64_t)round, finished, sizeof(finished));
        feed(dtls, &log, CLIENT, &d);
    }
    CHECK(count_type(&log, MTLS_EV_CERTIFICATE) == 1);
    CHECK(count_type(&log, MTLS_EV_CLIENT_KEY_EXCHANGE) == 1);
    CHECK(count_type(&log, MTLS_EV_CHANGE_CIPHER_SPEC) == 1);
    CHECK(count_type(&log, MTLS_EV_OTHER_HANDSHAKE) == 1);
    const seen_t *fin = find_type(&log, MTLS_EV_OTHER_HANDSHAKE);
    REQUIRE(fin != NULL);
    CHECK(fin->event.encrypted && fin->event.record_length == sizeof(finished));
    const seen_t *c = find_type(&log, MTLS_EV_CERTIFICATE);
    CHECK(c && c->event.empty);
    mtls_dtls_free(dtls);
}

/* Decrypted records: the Finished in DTLS form, application data, a
 * renegotiation whose message_seq starts again at 0 in epoch 1. Its first
 * messages are held until the next record shows whether the rest is decrypted. */
static void renegotiation(bool rest_decrypted)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t m, d, empty;
    client_hello(&m, 0);
    d.length = 0;
    whole(&d, 0, 0, 1, 0, &m);
    feed(dtls, &log, CLIENT, &d);
    uint64_t sequence = 0;
    size_t cuts[] = {400};
    server_flight(dtls, &log, &sequence, cuts, 1, false);
    /* Client: CCS, Finished (message_seq 1: only its hello came before). */
    static const uint8_t one = 1;
    static bytes_t client_finished, server_finished, hello_request, reneg_hello, app;
    uint8_t fin_body[12];
    memset(fin_body, 0x11, sizeof(fin_body));
    body(&m, fin_body, sizeof(fin_body), sizeof(fin_body));
    client_finished.length = 0;
    put8(&client_finished, 20);
    put24(&client_finished, 12);
    put16(&client_finished, 1);
    put24(&client_finished, 0);
    put24(&client_finished, 12);
    put(&client_finished, fin_body, 12);
    server_finished = client_finished;
    server_finished.bytes[5] = 4; /* the server's message_seq: after its ServerHelloDone (3) */
    uint8_t sealed[64];
    memset(sealed, 0x55, sizeof(sealed));
    log.plaintexts[CLIENT][0] = &client_finished;
    log.plaintext_types[CLIENT][0] = 22;
    log.plaintexts[SERVER][0] = &server_finished;
    log.plaintext_types[SERVER][0] = 22;
    d.length = 0;
    record(&d, 20, 0, 1, &one, 1);
    record(&d, 22, 1, 0, sealed, 40);
    log.plaintext_count[CLIENT] = 1;
    feed(dtls, &log, CLIENT, &d);
    d.length = 0;
    record(&d, 20, 0, 20, &one, 1);
    record(&d, 22, 1, 0, sealed, 40);
    log.plaintext_count[SERVER] = 1;
    feed(dtls, &log, SERVER, &d);
    CHECK(count_type(&log, MTLS_EV_FINISHED) == 2);
    /* Application data, decrypted. */
    body(&app, "hello", 5, 5);
    log.plaintexts[CLIENT][1] = &app;
    log.plaintext_types[CLIENT][1] = 23;
    log.plaintext_count[CLIENT] = 2;
    d.length = 0;
    record(&d, 23, 1, 1, sealed, 30);
    feed(dtls, &log, CLIENT, &d);
    CHECK(log.app_bytes == 5);
    CHECK(count_type(&log, MTLS_EV_APPLICATION_DATA) == 1);
    /* HelloRequest (message_seq 0, epoch 1), then the client's new ClientHello (0). */
    empty.length = 0;
    hello_request.length = 0;
    put8(&hello_request, 0);
    put24(&hello_request, 0);
    put16(&hello_request, 0);
    put24(&hello_request, 0);
    put24(&hello_request, 0);
    log.plaintexts[SERVER][1] = &hello_request;
    log.plaintext_types[SERVER][1] = 22;
    log.plaintext_count[SERVER] = 2;
    d.length = 0;
    record(&d, 22, 1, 1, sealed, 36);
    feed(dtls, &log, SERVER, &d);
    CHECK(count_type(&log, MTLS_EV_HELLO_REQUEST) == 0); /* held */
    client_hello(&m, 0);
    reneg_hello.length = 0;
    whole(&reneg_hello, 0, 0, 1, 0, &m);
    memmove(reneg_hello.bytes, reneg_hello.bytes + 13, reneg_hello.length - 13);
    reneg_hello.length -= 13; /* the record's body only */
    log.plaintexts[CLIENT][2] = &reneg_hello;
    log.plaintext_types[CLIENT][2] = 22;
    log.plaintext_count[CLIENT] = 3;
    d.length = 0;
    record(&d, 22, 1, 2, sealed, 60);
    feed(dtls, &log, CLIENT, &d);
    CHECK(count_type(&log, MTLS_EV_CLIENT_HELLO) == 1); /* held too */
    unsigned before = log.count;
    static bytes_t reneg_server_hello;
    server_hello(&m);
    reneg_server_hello.length = 0;
    whole(&reneg_server_hello, 0, 0, 2, 1, &m); /* message_seq 1, after the HelloRequest */
    memmove(reneg_server_hello.bytes, reneg_server_hello.bytes + 13,
            reneg_server_hello.length - 13);
    reneg_server_hello.length -= 13;
    log.plaintexts[SERVER][2] = rest_decrypted ? &reneg_server_hello : NULL;
    log.plaintext_types[SERVER][2] = 22;
    log.plaintext_count[SERVER] = 3;
    d.length = 0;
    record(&d, 22, 1, 2, sealed, 50);
    feed(dtls, &log, SERVER, &d);
    REQUIRE(log.count == before + 3);
    const seen_t *hr = &log.seen[before], *ch = &log.seen[before + 1], *sh = &log.seen[before + 2];
    CHECK(hr->direction == SERVER && ch->direction == CLIENT && sh->direction == SERVER);
    CHECK(hr->event.record_length == 36 && ch->event.record_length == 60);
    if (rest_decrypted) {
        /* As read, in order, then the ServerHello. */
        CHECK(hr->event.type == MTLS_EV_HELLO_REQUEST && !hr->event.encrypted);
        CHECK(ch->event.type == MTLS_EV_CLIENT_HELLO && ch->message_length > 40);
        CHECK(contains(ch->message, ch->message_length, "localhost"));
        CHECK(sh->event.type == MTLS_EV_SERVER_HELLO);
    } else {
        /* The renegotiation cannot be read: all three are protected records. */
        CHECK(hr->event.type == MTLS_EV_OTHER_HANDSHAKE && hr->event.encrypted);
        CHECK(ch->event.type == MTLS_EV_OTHER_HANDSHAKE && ch->event.encrypted &&
              ch->message_length == 0);
        CHECK(sh->event.type == MTLS_EV_OTHER_HANDSHAKE && sh->event.encrypted);
    }
    (void)empty;
    mtls_dtls_free(dtls);
}

static void renegotiation_restarts_message_seq(void)
{
    renegotiation(true);
}

static void renegotiation_not_decrypted(void)
{
    renegotiation(false);
}

/* Without keys, the server's handshake records between the client's CCS and its
 * own are its NewSessionTicket. */
static void ticket_between_ccs_without_keys(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t m, d;
    client_hello(&m, 0);
    d.length = 0;
    whole(&d, 0, 0, 1, 0, &m);
    feed(dtls, &log, CLIENT, &d);
    static const uint8_t one = 1;
    uint8_t sealed[64];
    memset(sealed, 0x55, sizeof(sealed));
    d.length = 0;
    record(&d, 20, 0, 1, &one, 1);
    record(&d, 22, 1, 0, sealed, 40);
    feed(dtls, &log, CLIENT, &d);
    d.length = 0;
    record(&d, 22, 1, 5, sealed, 60); /* before the server's own CCS */
    feed(dtls, &log, SERVER, &d);
    CHECK(log.seen[log.count - 1].event.type == MTLS_EV_NEW_SESSION_TICKET);
    d.length = 0;
    record(&d, 20, 1, 6, sealed, 25);
    record(&d, 22, 2, 0, sealed, 40);
    feed(dtls, &log, SERVER, &d);
    CHECK(log.seen[log.count - 2].event.type == MTLS_EV_CHANGE_CIPHER_SPEC);
    CHECK(log.seen[log.count - 1].event.type == MTLS_EV_OTHER_HANDSHAKE);
    mtls_dtls_free(dtls);
}

static void alerts_and_protected_records(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t d;
    uint8_t sealed[26];
    memset(sealed, 0x33, sizeof(sealed));
    static const uint8_t one = 1;
    d.length = 0;
    record(&d, 21, 0, 1, "\x02\x30", 2); /* fatal unknown_ca */
    record(&d, 21, 0, 2, "\x02", 1);     /* too short: an alert, unread */
    record(&d, 21, 1, 1, sealed, 26);    /* encrypted */
    record(&d, 23, 1, 2, sealed, 26);    /* encrypted application data */
    record(&d, 20, 1, 3, &one, 1);       /* a renegotiation's CCS, protected */
    record(&d, 24, 0, 3, sealed, 10);    /* heartbeat: nothing */
    feed(dtls, &log, SERVER, &d);
    REQUIRE(log.count == 5);
    CHECK(log.seen[0].event.type == MTLS_EV_ALERT && log.seen[0].event.alert_description == 48);
    CHECK(log.seen[1].event.type == MTLS_EV_ALERT && log.seen[1].event.alert_level == -1);
    CHECK(log.seen[2].event.type == MTLS_EV_ALERT && log.seen[2].event.alert_level == -1 &&
          log.seen[2].event.record_length == 26);
    CHECK(log.seen[3].event.type == MTLS_EV_APPLICATION_DATA);
    CHECK(log.seen[4].event.type == MTLS_EV_CHANGE_CIPHER_SPEC);
    mtls_dtls_free(dtls);
}

static void cid_and_garbage_stop_the_datagram(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    bytes_t d;
    d.length = 0;
    record(&d, 21, 0, 1, "\x02\x28", 2);
    record(&d, 25, 1, 1, "\x01\x02\x03\x04\x05\x06\x07\x08", 8); /* CID: length unknown */
    record(&d, 21, 0, 2, "\x02\x30", 2);
    mtls_dtls_result_t r = feed(dtls, &log, SERVER, &d);
    CHECK(r.malformed && r.records == 1 && log.count == 1);
    d.length = 0;
    put(&d, "GET / HTTP/1.1\r\n\r\n", 18);
    r = feed(dtls, &log, SERVER, &d);
    CHECK(r.malformed && r.records == 0 && log.count == 1);
    /* A record longer than the datagram. */
    d.length = 0;
    record(&d, 21, 0, 3, "\x02\x30", 2);
    d.bytes[12] = 40;
    r = feed(dtls, &log, SERVER, &d);
    CHECK(r.malformed && log.count == 1);
    /* A fragment that claims more than its message. */
    bytes_t f = {.length = 0};
    put8(&f, 11);
    put24(&f, 10);
    put16(&f, 0);
    put24(&f, 8);
    put24(&f, 4);
    put(&f, "abcd", 4);
    d.length = 0;
    record(&d, 22, 0, 4, f.bytes, f.length);
    r = feed(dtls, &log, SERVER, &d);
    CHECK(r.malformed && log.count == 1);
    mtls_dtls_free(dtls);
}

/* Fragments far ahead, huge messages, many message_seqs: memory stays bounded. */
static void caps_hold(void)
{
    mtls_dtls_t *dtls = mtls_dtls_new();
    static log_t log;
    memset(&log, 0, sizeof(log));
    for (unsigned i = 0; i < 200; i++) {
        bytes_t f = {.length = 0}, d = {.length = 0};
        put8(&f, 11);
        put24(&f, 0xffffff); /* 16 MB message */
        put16(&f, i);
        put24(&f, i * 10);
        put24(&f, 10);
        put(&f, "0123456789", 10);
        record(&d, 22, 0, i, f.bytes, f.length);
        feed(dtls, &log, CLIENT, &d);
        CHECK(mtls_dtls_memory(dtls) <= 4096 + 2 * MTLS_DTLS_MAX_PENDING_BYTES);
    }
    CHECK(log.count == 0);
    mtls_dtls_free(dtls);
}

/* Every truncation of a real-looking flight: no crash, and never more events
 * than the whole flight gives. */
static void random_truncations(void)
{
    bytes_t flight = {.length = 0}, m;
    client_hello(&m, 8);
    whole(&flight, 0, 0, 1, 0, &m);
    certificate(&m, 300);
    fragment(&flight, 0, 1, 11, 1, &m, 0, 100);
    fragment(&flight, 0, 2, 11, 1, &m, 100, m.length - 100);
    record(&flight, 21, 0, 3, "\x02\x28", 2);
    unsigned full;
    {
        mtls_dtls_t *dtls = mtls_dtls_new();
        static log_t log;
        memset(&log, 0, sizeof(log));
        feed(dtls, &log, CLIENT, &flight);
        full = log.count;
        CHECK(full == 3);
        mtls_dtls_free(dtls);
    }
    srand(13);
    for (size_t cut = 0; cut <= flight.length; cut++) {
        mtls_dtls_t *dtls = mtls_dtls_new();
        static log_t log;
        memset(&log, 0, sizeof(log));
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, flight.bytes, cut);
        if (cut > 0 && rand() % 4 == 0)
            copy[rand() % cut] ^= (uint8_t)(1u << (rand() % 8)); /* and a flipped bit */
        mtls_dtls_datagram_t d = {.direction = 0, .frame = 1, .payload = copy, .length = cut};
        mtls_dtls_datagram(dtls, &d, &callbacks, &log);
        CHECK(log.count <= full + 2);
        free(copy);
        mtls_dtls_free(dtls);
    }
}

int main(void)
{
    static const unit_test_t tests[] = {
        UNIT_TEST(hello_verify_request_once),
        UNIT_TEST(fragments_in_order_make_one_message),
        UNIT_TEST(fragments_out_of_order),
        UNIT_TEST(retransmitted_flight_with_other_boundaries),
        UNIT_TEST(duplicated_records_dropped),
        UNIT_TEST(retransmitted_last_flight_without_keys),
        UNIT_TEST(renegotiation_restarts_message_seq),
        UNIT_TEST(renegotiation_not_decrypted),
        UNIT_TEST(ticket_between_ccs_without_keys),
        UNIT_TEST(alerts_and_protected_records),
        UNIT_TEST(cid_and_garbage_stop_the_datagram),
        UNIT_TEST(caps_hold),
        UNIT_TEST(random_truncations),
    };
    return run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
