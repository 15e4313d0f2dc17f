/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the QUIC scanner (plugin/wire/mtls_quic.[ch]): varints, the
 * packet headers of coalesced datagrams, frames, CRYPTO reassembly out of
 * order and overlapping, CONNECTION_CLOSE variants, hostile lengths, and whole
 * handshakes through the engine.
 */
#include <stdlib.h>
#include <string.h>

#include "mtls_engine.h"
#include "mtls_quic.h"
#include "unit_check.h"

/* ---- Helpers ---------------------------------------------------------------- */

#define MAX_SEEN 64

typedef struct {
    unsigned count;
    mtls_event_t events[MAX_SEEN];
    size_t message_length[MAX_SEEN];
    uint8_t message_first[MAX_SEEN];
    mtls_conn_state_t *engine; /* when set, every event is fed to it */
} seen_t;

static void on_event(void *context, const mtls_event_t *event, const uint8_t *message,
                     size_t message_length)
{
    seen_t *seen = context;
    if (seen->engine)
        mtls_conn_feed(seen->engine, event);
    if (seen->count >= MAX_SEEN)
        return;
    seen->events[seen->count] = *event;
    seen->message_length[seen->count] = message_length;
    seen->message_first[seen->count] = message ? message[0] : 0xff;
    seen->count++;
}

static const mtls_quic_callbacks_t callbacks = {.event = on_event};

typedef struct {
    uint8_t bytes[4096];
    size_t length;
} buf_t;

static void put(buf_t *b, const void *data, size_t length)
{
    memcpy(b->bytes + b->length, data, length);
    b->length += length;
}

static void put8(buf_t *b, uint8_t v)
{
    b->bytes[b->length++] = v;
}

/* A varint in its shortest form. */
static void putv(buf_t *b, uint64_t v)
{
    if (v < 0x40) {
        put8(b, (uint8_t)v);
    } else if (v < 0x4000) {
        put8(b, (uint8_t)(0x40 | v >> 8));
        put8(b, (uint8_t)v);
    } else if (v < 0x40000000) {
        put8(b, (uint8_t)(0x80 | v >> 24));
        put8(b, (uint8_t)(v >> 16));
        put8(b, (uint8_t)(v >> 8));
        put8(b, (uint8_t)v);
    } else {
        put8(b, (uint8_t)(0xc0 | v >> 56));
        for (int shift = 48; shift >= 0; shift -= 8)
            put8(b, (uint8_t)(v >> shift));
    }
}

static void crypto(buf_t *b, uint64_t offset, const uint8_t *data, size_t length)
{
    put8(b, 0x06);
    putv(b, offset);
    putv(b, length);
    put(b, data, length);
}

static void close_frame(buf_t *b, uint8_t type, uint64_t error)
{
    put8(b, type);
    putv(b, error);
    if (type == 0x1c)
        putv(b, 0); /* frame type */
    putv(b, 3);
    put(b, "bye", 3);
}

static mtls_quic_result_t feed(mtls_quic_t *q, seen_t *seen, bool from_server,
                               mtls_quic_packet_type_t type, uint32_t frame, const buf_t *b)
{
    /* An exact-size copy, so that a read past the end is caught by ASan/valgrind. */
    uint8_t *copy = b->length ? malloc(b->length) : NULL;
    if (b->length)
        memcpy(copy, b->bytes, b->length);
    mtls_quic_packet_t packet = {
        .from_server = from_server,
        .type = type,
        .frame = frame,
        .time_ns = (int64_t)frame * 1000000,
        .payload = copy,
        .length = b->length,
    };
    mtls_quic_result_t result = mtls_quic_packet(q, &packet, &callbacks, seen);
    free(copy);
    return result;
}

/* A handshake message: type, 3-byte length, `length` bytes of `fill`. */
static size_t message(uint8_t *out, uint8_t type, size_t length, uint8_t fill)
{
    out[0] = type;
    out[1] = (uint8_t)(length >> 16);
    out[2] = (uint8_t)(length >> 8);
    out[3] = (uint8_t)length;
    memset(out + 4, fill, length);
    return 4 + length;
}

/* TLS 1.3 Certificate with an empty context and an empty or one-entry list. */
static size_t certificate(uint8_t *out, bool empty)
{
    size_t body = empty ? 4 : 4 + 3 + 10 + 2;
    out[0] = 11;
    out[1] = 0;
    out[2] = 0;
    out[3] = (uint8_t)body;
    out[4] = 0; /* context */
    if (empty) {
        out[5] = out[6] = out[7] = 0;
        return 8;
    }
    out[5] = 0;
    out[6] = 0;
    out[7] = 15; /* list: one entry of 3 + 10 + 2 */
    out[8] = 0;
    out[9] = 0;
    out[10] = 10;
    memset(out + 11, 0x30, 10);
    out[21] = 0;
    out[22] = 0; /* no extensions */
    return 4 + body;
}

static size_t client_hello(uint8_t *out)
{
    buf_t b = {{0}, 0};
    put(&b, "\x03\x03", 2);
    for (int i = 0; i < 32; i++)
        put8(&b, (uint8_t)(1 + i));                     /* random */
    put8(&b, 0);                                        /* session id */
    put(&b, "\x00\x02\x13\x01", 4);                     /* cipher suites */
    put(&b, "\x01\x00", 2);                             /* compression */
    put(&b, "\x00\x07\x00\x2b\x00\x03\x02\x03\x04", 9); /* supported_versions */
    out[0] = 1;
    out[1] = 0;
    out[2] = 0;
    out[3] = (uint8_t)b.length;
    memcpy(out + 4, b.bytes, b.length);
    return 4 + b.length;
}

/* A TLS 1.3 ServerHello; `retry` puts the HelloRetryRequest random in it. */
static size_t server_hello(uint8_t *out, bool retry, bool psk)
{
    static const uint8_t hrr[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
                                    0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
                                    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
                                    0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
    buf_t b = {{0}, 0};
    put8(&b, 3);
    put8(&b, 3);
    if (retry) {
        put(&b, hrr, 32);
    } else {
        for (int i = 0; i < 32; i++)
            put8(&b, (uint8_t)(0x40 + i));
    }
    put8(&b, 0);                               /* session id */
    put(&b, "\x13\x01", 2);                    /* cipher suite */
    put8(&b, 0);                               /* compression */
    put(&b, psk ? "\x00\x0c" : "\x00\x06", 2); /* extensions length */
    put(&b, "\x00\x2b\x00\x02\x03\x04", 6);
    if (psk)
        put(&b, "\x00\x29\x00\x02\x00\x00", 6);
    out[0] = 2;
    out[1] = 0;
    out[2] = 0;
    out[3] = (uint8_t)b.length;
    memcpy(out + 4, b.bytes, b.length);
    return 4 + b.length;
}

/* ---- Varints ---------------------------------------------------------------- */

static void varints_of_every_size(void)
{
    /* RFC 9000, A.1. */
    static const uint8_t eight[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
    static const uint8_t four[] = {0x9d, 0x7f, 0x3e, 0x7d};
    static const uint8_t two[] = {0x7b, 0xbd};
    static const uint8_t one[] = {0x25};
    static const uint8_t two_37[] = {0x40, 0x25};
    size_t at = 0;
    uint64_t v = 0;
    CHECK(mtls_quic_varint(eight, sizeof(eight), &at, &v) && v == 151288809941952652ull && at == 8);
    at = 0;
    CHECK(mtls_quic_varint(four, sizeof(four), &at, &v) && v == 494878333 && at == 4);
    at = 0;
    CHECK(mtls_quic_varint(two, sizeof(two), &at, &v) && v == 15293 && at == 2);
    at = 0;
    CHECK(mtls_quic_varint(one, sizeof(one), &at, &v) && v == 37 && at == 1);
    at = 0;
    CHECK(mtls_quic_varint(two_37, sizeof(two_37), &at, &v) && v == 37 && at == 2);
    /* Largest values. */
    static const uint8_t max8[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    at = 0;
    CHECK(mtls_quic_varint(max8, sizeof(max8), &at, &v) && v == 0x3fffffffffffffffull);
    static const uint8_t max1[] = {0x3f};
    at = 0;
    CHECK(mtls_quic_varint(max1, 1, &at, &v) && v == 63);
}

static void truncated_varints_fail(void)
{
    static const uint8_t eight[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
    for (size_t cut = 0; cut < 8; cut++) {
        size_t at = 0;
        uint64_t v = 0;
        CHECK(!mtls_quic_varint(eight, cut, &at, &v));
        CHECK(at == 0);
    }
    size_t at = 3;
    uint64_t v;
    CHECK(!mtls_quic_varint(eight, 3, &at, &v)); /* at the end */
    at = 0;
    CHECK(!mtls_quic_varint(NULL, 0, &at, &v));
}

/* ---- Datagrams -------------------------------------------------------------- */

/* A long header: type bits, version, CIDs, token (Initial), Length, then
 * `payload` bytes of 0xaa. */
static void long_packet(buf_t *b, uint8_t type_bits, uint32_t version, size_t payload)
{
    put8(b, (uint8_t)(0xc0 | type_bits << 4 | 0x01));
    put8(b, (uint8_t)(version >> 24));
    put8(b, (uint8_t)(version >> 16));
    put8(b, (uint8_t)(version >> 8));
    put8(b, (uint8_t)version);
    put8(b, 8);
    put(b, "DCIDDCID", 8);
    put8(b, 4);
    put(b, "SCID", 4);
    bool initial = (version == 1 && type_bits == 0) || (version == 0x6b3343cf && type_bits == 1);
    if (initial) {
        putv(b, 2);
        put(b, "tk", 2);
    }
    putv(b, payload);
    memset(b->bytes + b->length, 0xaa, payload);
    b->length += payload;
}

static void coalesced_packets_are_split(void)
{
    buf_t b = {{0}, 0};
    long_packet(&b, 0, 1, 100); /* Initial */
    size_t second = b.length;
    long_packet(&b, 2, 1, 300); /* Handshake */
    size_t third = b.length;
    put8(&b, 0x01); /* short header, its fixed bit greased */
    memset(b.bytes + b.length, 0xbb, 60);
    b.length += 60;
    mtls_quic_header_t packets[MTLS_QUIC_MAX_PACKETS];
    size_t n = mtls_quic_datagram(b.bytes, b.length, packets, MTLS_QUIC_MAX_PACKETS);
    REQUIRE(n == 3);
    CHECK(packets[0].type == MTLS_QUIC_INITIAL && packets[0].offset == 0 &&
          packets[0].length == second && packets[0].length_field == 100);
    CHECK(packets[1].type == MTLS_QUIC_HANDSHAKE && packets[1].offset == second &&
          packets[1].length == third - second && packets[1].length_field == 300);
    CHECK(packets[2].type == MTLS_QUIC_1RTT && packets[2].offset == third &&
          packets[2].length == 61);
    /* A decrypted payload matches its packet by length: Length - pn (1-4) - 16. */
    CHECK(mtls_quic_payload_fits(&packets[0], 100 - 17));
    CHECK(mtls_quic_payload_fits(&packets[0], 100 - 20));
    CHECK(!mtls_quic_payload_fits(&packets[0], 100 - 16));
    CHECK(!mtls_quic_payload_fits(&packets[0], 100 - 21));
    CHECK(!mtls_quic_payload_fits(&packets[1], 100 - 17));
    CHECK(mtls_quic_payload_fits(&packets[2], 61 - 1 - 8 - 2 - 16));
    CHECK(!mtls_quic_payload_fits(&packets[2], 61));
}

static void datagram_edge_cases(void)
{
    mtls_quic_header_t packets[MTLS_QUIC_MAX_PACKETS];
    buf_t b = {{0}, 0};
    /* A Length past the end: the packet is not read. */
    long_packet(&b, 2, 1, 50);
    CHECK(mtls_quic_datagram(b.bytes, b.length - 1, packets, MTLS_QUIC_MAX_PACKETS) == 0);
    /* Zero padding after the last packet is no packet. */
    memset(b.bytes + b.length, 0, 20);
    CHECK(mtls_quic_datagram(b.bytes, b.length + 20, packets, MTLS_QUIC_MAX_PACKETS) == 1);
    /* QUIC v2 rotates the types: 0b01 is Initial, 0b11 Handshake. */
    b.length = 0;
    long_packet(&b, 1, 0x6b3343cf, 40);
    long_packet(&b, 3, 0x6b3343cf, 40);
    size_t n = mtls_quic_datagram(b.bytes, b.length, packets, MTLS_QUIC_MAX_PACKETS);
    REQUIRE(n == 2);
    CHECK(packets[0].type == MTLS_QUIC_INITIAL && packets[1].type == MTLS_QUIC_HANDSHAKE);
    /* Version Negotiation and an unknown version. */
    b.length = 0;
    put(&b, "\x80\x00\x00\x00\x00\x01X\x01Y\x00\x00\x00\x01", 13);
    n = mtls_quic_datagram(b.bytes, b.length, packets, MTLS_QUIC_MAX_PACKETS);
    CHECK(n == 1 && packets[0].type == MTLS_QUIC_VERSION_NEGOTIATION && packets[0].length == 13);
    b.length = 0;
    long_packet(&b, 2, 0x12345678, 40);
    CHECK(mtls_quic_datagram(b.bytes, b.length, packets, MTLS_QUIC_MAX_PACKETS) == 0);
    /* A connection ID longer than 20 in v1. */
    b.length = 0;
    put(&b, "\xe0\x00\x00\x00\x01\x15", 6);
    memset(b.bytes + b.length, 1, 40);
    b.length += 40;
    CHECK(mtls_quic_datagram(b.bytes, b.length, packets, MTLS_QUIC_MAX_PACKETS) == 0);
    /* Only `max` packets are read. */
    b.length = 0;
    for (int i = 0; i < 5; i++)
        long_packet(&b, 2, 1, 20);
    CHECK(mtls_quic_datagram(b.bytes, b.length, packets, 3) == 3);
    /* Every cut of a header fails cleanly. */
    b.length = 0;
    long_packet(&b, 0, 1, 30);
    for (size_t cut = 0; cut < b.length; cut++)
        CHECK(mtls_quic_datagram(b.bytes, cut, packets, MTLS_QUIC_MAX_PACKETS) == 0);
    CHECK(mtls_quic_datagram(NULL, 10, packets, MTLS_QUIC_MAX_PACKETS) == 0);
}

/* ---- CRYPTO reassembly ------------------------------------------------------ */

/* The server's Handshake flight: EncryptedExtensions, CertificateRequest,
 * Certificate, CertificateVerify, Finished. */
static size_t server_flight(uint8_t *out)
{
    size_t n = 0;
    n += message(out + n, 8, 6, 0x01);
    n += message(out + n, 13, 11, 0x00); /* context length 0 first */
    n += certificate(out + n, false);
    n += message(out + n, 15, 40, 0x15);
    n += message(out + n, 20, 32, 0x20);
    return n;
}

static void check_server_flight(const seen_t *seen)
{
    REQUIRE(seen->count == 5);
    CHECK(seen->events[0].type == MTLS_EV_OTHER_HANDSHAKE);
    CHECK(seen->events[1].type == MTLS_EV_CERTIFICATE_REQUEST && seen->message_first[1] == 13 &&
          seen->message_length[1] == 15);
    CHECK(seen->events[2].type == MTLS_EV_CERTIFICATE && !seen->events[2].empty &&
          seen->message_length[2] == 23);
    CHECK(seen->events[3].type == MTLS_EV_CERTIFICATE_VERIFY);
    CHECK(seen->events[4].type == MTLS_EV_FINISHED);
    for (unsigned i = 0; i < seen->count; i++)
        CHECK(seen->events[i].from_server);
}

static void crypto_in_order_across_packets(void)
{
    uint8_t flight[512];
    size_t length = server_flight(flight);
    /* Every split point into two packets. */
    for (size_t cut = 0; cut <= length; cut++) {
        mtls_quic_t *q = mtls_quic_new();
        seen_t seen;
        memset(&seen, 0, sizeof(seen));
        buf_t a = {{0}, 0}, b = {{0}, 0};
        crypto(&a, 0, flight, cut);
        crypto(&b, cut, flight + cut, length - cut);
        feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 2, &a);
        feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 3, &b);
        check_server_flight(&seen);
        mtls_quic_t *fresh = mtls_quic_new();
        CHECK(mtls_quic_memory(q) == mtls_quic_memory(fresh)); /* nothing held */
        mtls_quic_free(fresh);
        mtls_quic_free(q);
    }
}

static void crypto_out_of_order_and_overlapping(void)
{
    uint8_t flight[512];
    size_t length = server_flight(flight);
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    size_t base_memory = mtls_quic_memory(q);
    /* Third part first, then an overlap of the second and third, then the first. */
    size_t one = 20, two = 60;
    buf_t b = {{0}, 0};
    crypto(&b, two, flight + two, length - two);
    feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 2, &b);
    CHECK(seen.count == 0);
    CHECK(mtls_quic_memory(q) > base_memory);
    b.length = 0;
    crypto(&b, one, flight + one, length - one - 5); /* overlaps what is held */
    crypto(&b, two, flight + two, 10);               /* a duplicate of held bytes */
    feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 3, &b);
    CHECK(seen.count == 0);
    b.length = 0;
    crypto(&b, 0, flight, one + 3); /* overlaps the held ranges' start */
    feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 4, &b);
    check_server_flight(&seen);
    for (unsigned i = 0; i < seen.count; i++)
        CHECK(seen.events[i].frame == 4);
    CHECK(mtls_quic_memory(q) == base_memory);
    /* A retransmission of all of it is read once. */
    b.length = 0;
    crypto(&b, 0, flight, length);
    feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 5, &b);
    CHECK(seen.count == 5);
    mtls_quic_free(q);
}

static void crypto_levels_and_directions_are_separate(void)
{
    uint8_t hello[128], flight[512];
    size_t hello_length = client_hello(hello);
    size_t flight_length = server_flight(flight);
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    buf_t b = {{0}, 0};
    /* Both start at offset 0: Initial from the client, Handshake from the server. */
    crypto(&b, 0, hello, 10);
    feed(q, &seen, false, MTLS_QUIC_INITIAL, 1, &b);
    b.length = 0;
    crypto(&b, 0, flight, 7);
    feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 2, &b);
    b.length = 0;
    crypto(&b, 10, hello + 10, hello_length - 10);
    feed(q, &seen, false, MTLS_QUIC_INITIAL, 3, &b);
    REQUIRE(seen.count == 1);
    CHECK(seen.events[0].type == MTLS_EV_CLIENT_HELLO && !seen.events[0].from_server &&
          seen.message_length[0] == hello_length);
    seen.count = 0;
    b.length = 0;
    crypto(&b, 7, flight + 7, flight_length - 7);
    feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 4, &b);
    check_server_flight(&seen);
    /* 0-RTT packets carry no CRYPTO frames: ignored there. */
    seen.count = 0;
    b.length = 0;
    crypto(&b, 0, flight, flight_length);
    feed(q, &seen, false, MTLS_QUIC_0RTT, 5, &b);
    CHECK(seen.count == 0);
    mtls_quic_free(q);
}

static void too_many_early_ranges_is_a_gap(void)
{
    uint8_t flight[512];
    size_t length = server_flight(flight);
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    buf_t b = {{0}, 0};
    mtls_quic_result_t result;
    memset(&result, 0, sizeof(result));
    for (unsigned i = 0; i <= MTLS_QUIC_MAX_EARLY_RANGES; i++) {
        b.length = 0;
        crypto(&b, 1 + i * 2, flight + 1 + i * 2, 1);
        result = feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 2 + i, &b);
    }
    CHECK(result.gap);
    /* Nothing after the hole is read, nothing invented. */
    b.length = 0;
    crypto(&b, 0, flight, length);
    feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 40, &b);
    CHECK(seen.count == 0);
    mtls_quic_t *fresh = mtls_quic_new();
    CHECK(mtls_quic_memory(q) == mtls_quic_memory(fresh)); /* the held ranges were freed */
    mtls_quic_free(fresh);
    mtls_quic_free(q);
}

static void huge_offsets_and_lengths(void)
{
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    buf_t b = {{0}, 0};
    /* A CRYPTO frame at the largest offset: held (or a gap), never read. */
    put8(&b, 0x06);
    putv(&b, 0x3fffffffffffffffull);
    putv(&b, 4);
    put(&b, "\x14\x00\x00\x00", 4);
    mtls_quic_result_t r = feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, 1, &b);
    CHECK(!r.malformed && seen.count == 0);
    /* A CRYPTO length past the payload: malformed, nothing read. */
    b.length = 0;
    put8(&b, 0x06);
    putv(&b, 0);
    putv(&b, 1000);
    put(&b, "\x14\x00\x00\x00", 4);
    r = feed(q, &seen, false, MTLS_QUIC_HANDSHAKE, 2, &b);
    CHECK(r.malformed && seen.count == 0);
    /* A message announcing 16 MB: its head is kept up to the cap. */
    uint8_t head[8] = {11, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    b.length = 0;
    crypto(&b, 0, head, sizeof(head));
    feed(q, &seen, false, MTLS_QUIC_INITIAL, 3, &b);
    CHECK(seen.count == 0);
    CHECK(mtls_quic_memory(q) <= 2 * MTLS_QUIC_MAX_BUFFERED_MESSAGE);
    /* ACK with a range count larger than the payload can hold. */
    b.length = 0;
    put8(&b, 0x02);
    putv(&b, 10);
    putv(&b, 0);
    putv(&b, 0x3fffffff);
    putv(&b, 0);
    r = feed(q, &seen, false, MTLS_QUIC_1RTT, 4, &b);
    CHECK(r.malformed);
    /* An unknown frame type stops the packet: what follows is not read. */
    b.length = 0;
    put8(&b, 0x21);
    close_frame(&b, 0x1d, 0);
    r = feed(q, &seen, false, MTLS_QUIC_1RTT, 5, &b);
    CHECK(r.malformed && !r.close && seen.count == 0);
    /* NEW_CONNECTION_ID with a 21-byte connection ID. */
    b.length = 0;
    put(&b, "\x18\x01\x00\x15", 4);
    memset(b.bytes + b.length, 0, 40);
    b.length += 40;
    r = feed(q, &seen, false, MTLS_QUIC_1RTT, 6, &b);
    CHECK(r.malformed);
    mtls_quic_free(q);
}

static void every_frame_type_is_skipped(void)
{
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    buf_t b = {{0}, 0};
    put(&b, "\x00\x00\x00", 3);                     /* PADDING */
    put8(&b, 0x01);                                 /* PING */
    put(&b, "\x02\x05\x00\x01\x00\x01\x00", 7);     /* ACK: one extra range */
    put(&b, "\x03\x05\x00\x00\x00\x01\x02\x03", 8); /* ACK_ECN */
    put(&b, "\x04\x00\x01\x02", 4);                 /* RESET_STREAM */
    put(&b, "\x05\x00\x01", 3);                     /* STOP_SENDING */
    put(&b, "\x07\x02tk", 4);                       /* NEW_TOKEN */
    put(&b, "\x10\x40\x10", 3);                     /* MAX_DATA */
    put(&b, "\x11\x00\x01", 3);                     /* MAX_STREAM_DATA */
    put(&b, "\x12\x01\x13\x01\x14\x01\x15\x00\x01\x16\x01\x17\x01", 13);
    put(&b,
        "\x18\x01\x00\x04"
        "ABCD",
        8);                               /* NEW_CONNECTION_ID ... */
    memset(b.bytes + b.length, 0x77, 16); /* ... its reset token */
    b.length += 16;
    put(&b, "\x19\x01", 2); /* RETIRE_CONNECTION_ID */
    put(&b,
        "\x1a"
        "12345678",
        9); /* PATH_CHALLENGE */
    put(&b,
        "\x1b"
        "12345678",
        9);                               /* PATH_RESPONSE */
    put(&b, "\x31\x02hi", 4);             /* DATAGRAM with length */
    put(&b, "\x0a\x00\x02hi", 5);         /* STREAM with length */
    put(&b, "\x0e\x04\x40\x10\x02hi", 7); /* STREAM with offset and length */
    put(&b, "\x40\x01", 2);               /* PING in a two-byte varint */
    put(&b, "\x09\x00rest", 6);           /* STREAM to the end */
    mtls_quic_result_t r = feed(q, &seen, false, MTLS_QUIC_1RTT, 1, &b);
    CHECK(!r.malformed);
    CHECK(r.frames == 24);
    /* One application data event per packet. */
    REQUIRE(seen.count == 1);
    CHECK(seen.events[0].type == MTLS_EV_APPLICATION_DATA && !seen.events[0].from_server);
    mtls_quic_free(q);
}

/* ---- Closes ----------------------------------------------------------------- */

static void server_crypto_error_is_reported_once(void)
{
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    buf_t b = {{0}, 0};
    close_frame(&b, 0x1c, 0x174);
    /* The same close in an Initial, a Handshake and a 1-RTT packet, three times. */
    for (uint32_t frame = 5; frame <= 7; frame++) {
        mtls_quic_result_t r = feed(q, &seen, true, MTLS_QUIC_INITIAL, frame, &b);
        CHECK(r.close);
        r = feed(q, &seen, true, MTLS_QUIC_HANDSHAKE, frame, &b);
        CHECK(r.close);
        feed(q, &seen, true, MTLS_QUIC_1RTT, frame, &b);
    }
    REQUIRE(seen.count == 1);
    CHECK(seen.events[0].type == MTLS_EV_OUTER && seen.events[0].from_server);
    CHECK(seen.events[0].outer == MTLS_OUTER_QUIC_CLOSE && seen.events[0].quic_error == 0x174);
    CHECK(seen.events[0].frame == 5);
    CHECK(mtls_quic_closed(q));
    mtls_quic_free(q);
}

static void client_closes(void)
{
    /* A crypto error from the client is its fatal alert. */
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    buf_t b = {{0}, 0};
    close_frame(&b, 0x1c, 0x100 + 48);
    feed(q, &seen, false, MTLS_QUIC_HANDSHAKE, 3, &b);
    feed(q, &seen, false, MTLS_QUIC_INITIAL, 3, &b);
    REQUIRE(seen.count == 1);
    CHECK(seen.events[0].type == MTLS_EV_ALERT && !seen.events[0].from_server &&
          seen.events[0].alert_level == 2 && seen.events[0].alert_description == 48);
    mtls_quic_free(q);

    /* A transport error or an application close from the client: a close. */
    static const struct {
        uint8_t type;
        uint64_t error;
    } closes[] = {{0x1c, 0x0a}, {0x1c, 0}, {0x1d, 0x100}, {0x1d, 0}};
    for (size_t i = 0; i < sizeof(closes) / sizeof(closes[0]); i++) {
        q = mtls_quic_new();
        memset(&seen, 0, sizeof(seen));
        b.length = 0;
        close_frame(&b, closes[i].type, closes[i].error);
        feed(q, &seen, false, MTLS_QUIC_1RTT, 9, &b);
        REQUIRE(seen.count == 1);
        CHECK(seen.events[0].type == MTLS_EV_CLOSE && !seen.events[0].from_server);
        mtls_quic_free(q);
    }
}

static void server_closes_after_confirmation(void)
{
    static const uint8_t types[] = {0x1c, 0x1d};
    for (size_t i = 0; i < 2; i++) {
        mtls_quic_t *q = mtls_quic_new();
        seen_t seen;
        memset(&seen, 0, sizeof(seen));
        buf_t b = {{0}, 0};
        put8(&b, 0x1e); /* HANDSHAKE_DONE */
        put8(&b, 0x1e); /* twice: reported once */
        feed(q, &seen, true, MTLS_QUIC_1RTT, 8, &b);
        CHECK(mtls_quic_confirmed(q));
        b.length = 0;
        close_frame(&b, types[i], 0x174);
        feed(q, &seen, true, MTLS_QUIC_1RTT, 9, &b);
        REQUIRE(seen.count == 2);
        CHECK(seen.events[0].type == MTLS_EV_OTHER_HANDSHAKE && seen.events[0].from_server);
        CHECK(seen.events[1].type == MTLS_EV_CLOSE && seen.events[1].from_server);
        mtls_quic_free(q);
    }
    /* A server's application close before confirming is a close too. */
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    buf_t b = {{0}, 0};
    close_frame(&b, 0x1d, 0);
    feed(q, &seen, true, MTLS_QUIC_1RTT, 9, &b);
    REQUIRE(seen.count == 1);
    CHECK(seen.events[0].type == MTLS_EV_CLOSE);
    /* HANDSHAKE_DONE from a client means nothing. */
    q = (mtls_quic_free(q), mtls_quic_new());
    seen.count = 0;
    b.length = 0;
    put8(&b, 0x1e);
    feed(q, &seen, false, MTLS_QUIC_1RTT, 9, &b);
    CHECK(seen.count == 0 && !mtls_quic_confirmed(q));
    mtls_quic_free(q);
}

static void close_with_hostile_reason_length(void)
{
    mtls_quic_t *q = mtls_quic_new();
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    buf_t b = {{0}, 0};
    put8(&b, 0x1c);
    putv(&b, 0x174);
    putv(&b, 0);
    putv(&b, 0x3fffffffffffffffull); /* reason longer than anything */
    mtls_quic_result_t r = feed(q, &seen, true, MTLS_QUIC_INITIAL, 1, &b);
    CHECK(r.malformed && seen.count == 0 && !mtls_quic_closed(q));
    mtls_quic_free(q);
}

/* ---- Whole handshakes through the engine ------------------------------------ */

typedef struct {
    mtls_quic_t *q;
    seen_t seen;
    mtls_conn_t *conn;
    mtls_conn_state_t state;
} session_t;

static void session_start(session_t *s, bool retry)
{
    memset(s, 0, sizeof(*s));
    s->q = mtls_quic_new();
    s->conn = mtls_conn_new();
    mtls_conn_state_init(&s->state, s->conn);
    s->seen.engine = &s->state;
    uint8_t m[256];
    buf_t b = {{0}, 0};
    size_t n = client_hello(m);
    crypto(&b, 0, m, n);
    put(&b, "\x00\x00\x00\x00", 4);
    feed(s->q, &s->seen, false, MTLS_QUIC_INITIAL, 1, &b);
    uint64_t client_offset = n;
    if (retry) {
        b.length = 0;
        n = server_hello(m, true, false);
        crypto(&b, 0, m, n);
        feed(s->q, &s->seen, true, MTLS_QUIC_INITIAL, 2, &b);
        b.length = 0;
        n = client_hello(m);
        crypto(&b, client_offset, m, n); /* the second ClientHello follows the first */
        feed(s->q, &s->seen, false, MTLS_QUIC_INITIAL, 3, &b);
        b.length = 0;
        n = server_hello(m, false, false);
        crypto(&b, (uint64_t)server_hello(m + 128, true, false), m, n);
        feed(s->q, &s->seen, true, MTLS_QUIC_INITIAL, 4, &b);
    } else {
        b.length = 0;
        put(&b, "\x02\x00\x00\x00\x00", 5); /* ACK */
        n = server_hello(m, false, false);
        crypto(&b, 0, m, n);
        feed(s->q, &s->seen, true, MTLS_QUIC_INITIAL, 4, &b);
    }
    uint8_t flight[512];
    b.length = 0;
    crypto(&b, 0, flight, server_flight(flight));
    feed(s->q, &s->seen, true, MTLS_QUIC_HANDSHAKE, 4, &b);
}

static void session_client_flight(session_t *s, bool empty)
{
    uint8_t m[256];
    size_t n = certificate(m, empty);
    if (!empty)
        n += message(m + n, 15, 40, 0x15);
    n += message(m + n, 20, 32, 0x20);
    buf_t b = {{0}, 0};
    crypto(&b, 0, m, n);
    feed(s->q, &s->seen, false, MTLS_QUIC_HANDSHAKE, 5, &b);
    b.length = 0;
    put(&b, "\x0b\x00\x05hello", 8); /* the client's request in 1-RTT */
    feed(s->q, &s->seen, false, MTLS_QUIC_1RTT, 5, &b);
}

static void session_end(session_t *s)
{
    mtls_quic_free(s->q);
    mtls_conn_free(s->conn);
}

static void engine_rejected_by_certificate_required(void)
{
    for (int retry = 0; retry < 2; retry++) {
        session_t s;
        session_start(&s, retry);
        session_client_flight(&s, true);
        buf_t b = {{0}, 0};
        close_frame(&b, 0x1c, 0x174);
        for (uint32_t frame = 6; frame <= 8; frame++) {
            feed(s.q, &s.seen, true, MTLS_QUIC_INITIAL, frame, &b);
            feed(s.q, &s.seen, true, MTLS_QUIC_HANDSHAKE, frame, &b);
            feed(s.q, &s.seen, true, MTLS_QUIC_1RTT, frame, &b);
        }
        const mtls_exchange_t *e = mtls_conn_exchanges(s.conn);
        REQUIRE(e && !e->next);
        CHECK(e->requested && e->response == MTLS_RESPONSE_EMPTY);
        CHECK(e->verdict == MTLS_VERDICT_REJECTED && e->decision_frame == 6);
        CHECK(e->alert == 116 && e->outer == MTLS_OUTER_QUIC_CLOSE && e->quic_error == 0x174);
        session_end(&s);
    }
}

static void engine_accepted_by_handshake_done(void)
{
    session_t s;
    session_start(&s, false);
    session_client_flight(&s, false);
    buf_t b = {{0}, 0};
    put(&b, "\x01\x00\x00", 3); /* PING, PADDING: not a decision */
    feed(s.q, &s.seen, true, MTLS_QUIC_1RTT, 6, &b);
    const mtls_exchange_t *e = mtls_conn_exchanges(s.conn);
    REQUIRE(e);
    CHECK(e->verdict == MTLS_VERDICT_PENDING);
    b.length = 0;
    put8(&b, 0x1e);
    uint8_t m[64];
    crypto(&b, 0, m, message(m, 4, 20, 0x04)); /* NewSessionTicket */
    feed(s.q, &s.seen, true, MTLS_QUIC_1RTT, 7, &b);
    CHECK(e->verdict == MTLS_VERDICT_ACCEPTED && e->decision_frame == 7);
    CHECK(e->response == MTLS_RESPONSE_CERTIFICATE);
    /* The client's application close afterwards changes nothing. */
    b.length = 0;
    close_frame(&b, 0x1d, 0x100);
    feed(s.q, &s.seen, false, MTLS_QUIC_1RTT, 8, &b);
    CHECK(e->verdict == MTLS_VERDICT_ACCEPTED && e->outer == MTLS_OUTER_NONE);
    session_end(&s);
}

static void engine_client_aborts_with_crypto_error(void)
{
    session_t s;
    session_start(&s, false);
    buf_t b = {{0}, 0};
    close_frame(&b, 0x1c, 0x100 + 48); /* unknown_ca: the client refused the server */
    feed(s.q, &s.seen, false, MTLS_QUIC_HANDSHAKE, 5, &b);
    const mtls_exchange_t *e = mtls_conn_exchanges(s.conn);
    REQUIRE(e);
    CHECK(e->verdict == MTLS_VERDICT_CLIENT_ABORTED && e->alert == 48);
    session_end(&s);
}

int main(void)
{
    static const unit_test_t tests[] = {
        UNIT_TEST(varints_of_every_size),
        UNIT_TEST(truncated_varints_fail),
        UNIT_TEST(coalesced_packets_are_split),
        UNIT_TEST(datagram_edge_cases),
        UNIT_TEST(crypto_in_order_across_packets),
        UNIT_TEST(crypto_out_of_order_and_overlapping),
        UNIT_TEST(crypto_levels_and_directions_are_separate),
        UNIT_TEST(too_many_early_ranges_is_a_gap),
        UNIT_TEST(huge_offsets_and_lengths),
        UNIT_TEST(every_frame_type_is_skipped),
        UNIT_TEST(server_crypto_error_is_reported_once),
        UNIT_TEST(client_closes),
        UNIT_TEST(server_closes_after_confirmation),
        UNIT_TEST(close_with_hostile_reason_length),
        UNIT_TEST(engine_rejected_by_certificate_required),
        UNIT_TEST(engine_accepted_by_handshake_done),
        UNIT_TEST(engine_client_aborts_with_crypto_error),
    };
    return run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
