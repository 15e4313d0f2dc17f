/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of inference without keys (plugin/mtls_infer.[ch] and the
 * inference paths of plugin/mtls_engine.c): record-size sequences in, inferred
 * exchanges and confidences out.
 *
 * Every expected value comes from RFC 8446 / RFC 5246 size arithmetic and from
 * issue 3 ("Verdicts without keys"), not from what the code returns:
 *   - a protected TLS 1.3 record is inner plaintext + 1 (inner content type)
 *     + AEAD tag (16, or 8 for AES-CCM-8), padding 0;
 *   - Finished is 4 + hash length (36 for SHA-256, 52 for SHA-384);
 *   - an empty TLS 1.3 client Certificate is 8 bytes, a TLS 1.2 one 7;
 *   - an alert is 2 bytes of plaintext: 19 bytes protected with a 16-byte tag.
 * Engine-level sequences are built like a real connection seen WITHOUT keys:
 * ClientHello and ServerHello in clear, then only protected records (their
 * length and direction) and TCP closes.
 *
 * No framework: a table of test functions, a CHECK macro, and a final
 * "N passed, M failed" line; the exit status is non-zero when M > 0.
 * The checks, the simulated connection and the runner are in unit_sim.h.
 */
#include "mtls_engine.h"
#include "mtls_infer.h"
#include "unit_sim.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------- size constants -- */

enum {
    TLS_AES_128_GCM_SHA256 = 0x1301,
    TLS_AES_256_GCM_SHA384 = 0x1302,
    TLS_CHACHA20_POLY1305_SHA256 = 0x1303,
    TLS_AES_128_CCM_SHA256 = 0x1304,
    TLS_AES_128_CCM_8_SHA256 = 0x1305,
    ECDHE_RSA_AES_256_GCM_SHA384 = 0xC030,
};

#define VERSION_TLS12 0x0303
#define VERSION_TLS13 0x0304

/* TLS 1.3 record lengths with AES-256-GCM-SHA384 (tag 16, Finished 52):
 * the OpenSSL sizes quoted in issue 3. */
enum {
    R384_FINISHED = 69,                /* 52 + 1 + 16 */
    R384_EMPTY_CERT = 25,              /* 8 + 1 + 16 */
    R384_EMPTY_CERT_AND_FINISHED = 77, /* 8 + 52 + 1 + 16 */
    R384_CERTIFICATE = 702,
    R384_CERTIFICATE_VERIFY = 97,
    R_ALERT = 19, /* 2 + 1 + 16 */
};

/* ---------------------------------------------------------- engine helpers -- */

static uint32_t server_hello(sim_t *s, bool tls13, uint16_t cipher_suite)
{
    mtls_event_t e = ev(s, MTLS_EV_SERVER_HELLO, true);
    e.tls13 = tls13;
    e.version = tls13 ? VERSION_TLS13 : VERSION_TLS12;
    e.cipher_suite = cipher_suite;
    e.record_length = 122;
    feed(s, &e);
    return e.frame;
}

/* One protected TLS 1.3 record that was not decrypted. */
static uint32_t rec(sim_t *s, bool from_server, uint16_t record_length)
{
    mtls_event_t e = ev(s, MTLS_EV_ENCRYPTED_RECORD, from_server);
    e.record_length = record_length;
    feed(s, &e);
    return e.frame;
}

static uint32_t tcp_close(sim_t *s, bool from_server)
{
    mtls_event_t e = ev(s, MTLS_EV_CLOSE, from_server);
    feed(s, &e);
    return e.frame;
}

/* A TLS 1.2 protected handshake record (content type 22 visible, body not). */
static uint32_t enc_handshake(sim_t *s, bool from_server, uint16_t record_length)
{
    mtls_event_t e = ev(s, MTLS_EV_OTHER_HANDSHAKE, from_server);
    e.encrypted = true;
    e.record_length = record_length;
    feed(s, &e);
    return e.frame;
}

static uint32_t ccs(sim_t *s, bool from_server)
{
    mtls_event_t e = ev(s, MTLS_EV_CHANGE_CIPHER_SPEC, from_server);
    e.record_length = 1;
    feed(s, &e);
    return e.frame;
}

static uint32_t app_data(sim_t *s, bool from_server, uint16_t record_length)
{
    mtls_event_t e = ev(s, MTLS_EV_APPLICATION_DATA, from_server);
    e.record_length = record_length;
    feed(s, &e);
    return e.frame;
}

/* ClientHello, ServerHello (TLS 1.3, suite), then the server's protected flight:
 * EncryptedExtensions, [CertificateRequest,] Certificate, CertificateVerify,
 * Finished, each in its own record. Returns the frame of its first record. */
static uint32_t tls13_start(sim_t *s, uint16_t suite, bool pha_offered, unsigned server_records)
{
    static const uint16_t sizes[] = {40, 58, 1100, 281, 69, 69, 69};
    client_hello(s, pha_offered);
    server_hello(s, true, suite);
    simple(s, MTLS_EV_CHANGE_CIPHER_SPEC, true); /* middlebox compatibility */
    uint32_t first = 0;
    for (unsigned i = 0; i < server_records; i++) {
        uint32_t frame = rec(s, true, sizes[i % 7]);
        if (!first)
            first = frame;
    }
    simple(s, MTLS_EV_CHANGE_CIPHER_SPEC, false); /* middlebox compatibility */
    return first;
}

/* ---------------------------------------------------------- size arithmetic -- */

static void tls13_every_suite_has_tag_and_hash(sim_t *s)
{
    (void)s;
    static const struct {
        uint16_t suite;
        uint8_t tag, hash;
        uint16_t finished_record;
    } want[] = {
        {TLS_AES_128_GCM_SHA256, 16, 32, 53},       {TLS_AES_256_GCM_SHA384, 16, 48, 69},
        {TLS_CHACHA20_POLY1305_SHA256, 16, 32, 53}, {TLS_AES_128_CCM_SHA256, 16, 32, 53},
        {TLS_AES_128_CCM_8_SHA256, 8, 32, 45},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        mtls_cipher_sizes_t sizes;
        memset(&sizes, 0xAA, sizeof(sizes));
        REQUIRE(mtls_cipher_sizes(want[i].suite, true, &sizes));
        CHECK(sizes.tag_length == want[i].tag);
        CHECK(sizes.hash_length == want[i].hash);
        CHECK(sizes.explicit_nonce == 0); /* TLS 1.3 has no explicit nonce */
        CHECK(4 + sizes.hash_length + 1 + sizes.tag_length == want[i].finished_record);
        /* The Finished record carries exactly the Finished message. */
        CHECK(mtls_tls13_plaintext(want[i].finished_record, &sizes) == 4 + want[i].hash);
        /* TLS 1.3 suites are not TLS 1.2 suites. */
        CHECK(!mtls_cipher_sizes(want[i].suite, false, &sizes));
    }
    mtls_cipher_sizes_t sizes;
    CHECK(!mtls_cipher_sizes(0x1306, true, &sizes));
    CHECK(!mtls_cipher_sizes(0x0000, true, &sizes));
    CHECK(!mtls_cipher_sizes(0xC02F, true, &sizes)); /* a TLS 1.2 suite under TLS 1.3 */
}

static void tls12_common_aead_suites_are_known(sim_t *s)
{
    (void)s;
    /* RFC 5288 / 5289: AES-GCM has an 8-byte explicit nonce and a 16-byte tag;
     * RFC 7905: ChaCha20-Poly1305 has no explicit nonce; RFC 7251: CCM_8 tag 8. */
    static const struct {
        uint16_t suite;
        uint8_t tag, nonce, hash;
    } want[] = {
        {0xC02B, 16, 8, 32}, /* ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
        {0xC02C, 16, 8, 48}, /* ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 */
        {0xC02F, 16, 8, 32}, /* ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
        {0xC030, 16, 8, 48}, /* ECDHE_RSA_WITH_AES_256_GCM_SHA384 */
        {0x009C, 16, 8, 32}, /* RSA_WITH_AES_128_GCM_SHA256 */
        {0x009D, 16, 8, 48}, /* RSA_WITH_AES_256_GCM_SHA384 */
        {0x009E, 16, 8, 32}, /* DHE_RSA_WITH_AES_128_GCM_SHA256 */
        {0x009F, 16, 8, 48}, /* DHE_RSA_WITH_AES_256_GCM_SHA384 */
        {0xCCA8, 16, 0, 32}, /* ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 */
        {0xCCA9, 16, 0, 32}, /* ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 */
        {0xC0AE, 8, 8, 32},  /* ECDHE_ECDSA_WITH_AES_128_CCM_8 */
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        mtls_cipher_sizes_t sizes;
        if (!mtls_cipher_sizes(want[i].suite, false, &sizes)) {
            fprintf(stderr, "  suite 0x%04X unknown\n", want[i].suite);
            CHECK(!"common TLS 1.2 AEAD suite known");
            continue;
        }
        CHECK(sizes.tag_length == want[i].tag);
        CHECK(sizes.explicit_nonce == want[i].nonce);
        CHECK(sizes.hash_length == want[i].hash);
    }
}

static void tls12_cbc_suite_is_unknown(sim_t *s)
{
    (void)s;
    /* CBC records carry a MAC and padding of variable length: no exact sizes. */
    static const uint16_t cbc[] = {
        0xC013, /* ECDHE_RSA_WITH_AES_128_CBC_SHA */
        0xC014, /* ECDHE_RSA_WITH_AES_256_CBC_SHA */
        0xC027, /* ECDHE_RSA_WITH_AES_128_CBC_SHA256 */
        0x002F, /* RSA_WITH_AES_128_CBC_SHA */
        0x0035, /* RSA_WITH_AES_256_CBC_SHA */
        0x000A, /* RSA_WITH_3DES_EDE_CBC_SHA */
    };
    for (size_t i = 0; i < sizeof(cbc) / sizeof(cbc[0]); i++) {
        mtls_cipher_sizes_t sizes;
        CHECK(!mtls_cipher_sizes(cbc[i], false, &sizes));
    }
}

static void alert_sized_record_is_19_bytes_with_16_byte_tag(sim_t *s)
{
    (void)s;
    static const uint16_t suites[] = {TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
                                      TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256};
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        mtls_cipher_sizes_t sizes;
        REQUIRE(mtls_cipher_sizes(suites[i], true, &sizes));
        CHECK(mtls_tls13_alert_sized(19, &sizes));
        CHECK(mtls_tls13_plaintext(19, &sizes) == 2);
        CHECK(!mtls_tls13_alert_sized(18, &sizes));
        CHECK(!mtls_tls13_alert_sized(20, &sizes));
        CHECK(!mtls_tls13_alert_sized(11, &sizes));
        CHECK(!mtls_tls13_alert_sized(53, &sizes));
        CHECK(!mtls_tls13_alert_sized(0, &sizes));
    }
}

static void ccm8_alert_sized_record_is_11_bytes(sim_t *s)
{
    (void)s;
    mtls_cipher_sizes_t sizes;
    REQUIRE(mtls_cipher_sizes(TLS_AES_128_CCM_8_SHA256, true, &sizes));
    CHECK(mtls_tls13_alert_sized(11, &sizes));
    CHECK(mtls_tls13_plaintext(11, &sizes) == 2);
    CHECK(!mtls_tls13_alert_sized(19, &sizes));
    CHECK(!mtls_tls13_alert_sized(10, &sizes));
    CHECK(!mtls_tls13_alert_sized(12, &sizes));
    /* Finished 36 + 1 + 8 */
    CHECK(mtls_tls13_plaintext(45, &sizes) == 36);
}

static void truncated_record_shorter_than_tag_is_unknown(sim_t *s)
{
    mtls_cipher_sizes_t sizes;
    REQUIRE(mtls_cipher_sizes(TLS_AES_128_GCM_SHA256, true, &sizes));
    CHECK(mtls_tls13_plaintext(0, &sizes) < 0);
    CHECK(mtls_tls13_plaintext(5, &sizes) < 0);
    CHECK(mtls_tls13_plaintext(16, &sizes) < 0); /* tag only, no content type */
    CHECK(mtls_tls13_plaintext(17, &sizes) == 0);
    CHECK(!mtls_tls13_alert_sized(5, &sizes));

    mtls_flight_reader_t reader;
    memset(&reader, 0, sizeof(reader));
    mtls_confidence_t confidence = MTLS_CONFIDENCE_CERTAIN;
    mtls_flight_t shape =
        mtls_flight_add(&reader, mtls_tls13_plaintext(10, &sizes), &sizes, &confidence);
    CHECK(shape == MTLS_FLIGHT_UNKNOWN);
    CHECK(confidence != MTLS_CONFIDENCE_CERTAIN);

    /* In a connection: a truncated client record makes nothing certain. */
    sim_reset(s);
    tls13_start(s, TLS_AES_128_GCM_SHA256, false, 5);
    rec(s, false, 10);
    rec(s, false, 53);
    rec(s, true, 200);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->confidence != MTLS_CONFIDENCE_CERTAIN);
    CHECK(x->flight_confidence != MTLS_CONFIDENCE_CERTAIN);
}

/* ----------------------------------------------------------- flight reader -- */

static mtls_flight_t feed_flight(const uint16_t *records, size_t count, uint16_t suite,
                                 mtls_confidence_t *confidence, size_t *ended_at)
{
    mtls_cipher_sizes_t sizes;
    mtls_flight_reader_t reader;
    memset(&reader, 0, sizeof(reader));
    *confidence = MTLS_CONFIDENCE_NONE;
    *ended_at = 0;
    if (!mtls_cipher_sizes(suite, true, &sizes))
        return MTLS_FLIGHT_UNKNOWN;
    mtls_flight_t shape = MTLS_FLIGHT_INCOMPLETE;
    for (size_t i = 0; i < count; i++) {
        shape =
            mtls_flight_add(&reader, mtls_tls13_plaintext(records[i], &sizes), &sizes, confidence);
        if (shape != MTLS_FLIGHT_INCOMPLETE) {
            *ended_at = i + 1;
            break;
        }
    }
    return shape;
}

static void finished_alone_is_not_requested_certain(sim_t *s)
{
    (void)s;
    mtls_confidence_t confidence;
    size_t ended;
    const uint16_t f384[] = {R384_FINISHED};
    CHECK(feed_flight(f384, 1, TLS_AES_256_GCM_SHA384, &confidence, &ended) ==
          MTLS_FLIGHT_FINISHED_ONLY);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(ended == 1);
    const uint16_t f256[] = {53};
    CHECK(feed_flight(f256, 1, TLS_AES_128_GCM_SHA256, &confidence, &ended) ==
          MTLS_FLIGHT_FINISHED_ONLY);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
    const uint16_t fccm8[] = {45};
    CHECK(feed_flight(fccm8, 1, TLS_AES_128_CCM_8_SHA256, &confidence, &ended) ==
          MTLS_FLIGHT_FINISHED_ONLY);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
    /* A SHA-256 Finished under a SHA-384 suite is not a Finished. */
    CHECK(feed_flight(f256, 1, TLS_AES_256_GCM_SHA384, &confidence, &ended) !=
          MTLS_FLIGHT_FINISHED_ONLY);
}

static void empty_certificate_then_finished_separate_records_is_certain(sim_t *s)
{
    (void)s;
    mtls_confidence_t confidence;
    size_t ended;
    const uint16_t r384[] = {R384_EMPTY_CERT, R384_FINISHED};
    CHECK(feed_flight(r384, 2, TLS_AES_256_GCM_SHA384, &confidence, &ended) ==
          MTLS_FLIGHT_EMPTY_CERTIFICATE);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(ended == 2);
    const uint16_t r256[] = {25, 53}; /* 8 + 17, 36 + 17 */
    CHECK(feed_flight(r256, 2, TLS_CHACHA20_POLY1305_SHA256, &confidence, &ended) ==
          MTLS_FLIGHT_EMPTY_CERTIFICATE);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
    const uint16_t rccm8[] = {17, 45}; /* 8 + 9, 36 + 9 */
    CHECK(feed_flight(rccm8, 2, TLS_AES_128_CCM_8_SHA256, &confidence, &ended) ==
          MTLS_FLIGHT_EMPTY_CERTIFICATE);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
}

static void coalesced_empty_certificate_and_finished_is_certain(sim_t *s)
{
    (void)s;
    mtls_confidence_t confidence;
    size_t ended;
    const uint16_t r384[] = {R384_EMPTY_CERT_AND_FINISHED};
    CHECK(feed_flight(r384, 1, TLS_AES_256_GCM_SHA384, &confidence, &ended) ==
          MTLS_FLIGHT_EMPTY_CERTIFICATE);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(ended == 1);
    const uint16_t r256[] = {61}; /* 8 + 36 + 17 */
    CHECK(feed_flight(r256, 1, TLS_AES_128_GCM_SHA256, &confidence, &ended) ==
          MTLS_FLIGHT_EMPTY_CERTIFICATE);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
}

static void certificate_verify_finished_separate_records_is_provided_certain(sim_t *s)
{
    (void)s;
    mtls_confidence_t confidence;
    size_t ended;
    const uint16_t r[] = {R384_CERTIFICATE, R384_CERTIFICATE_VERIFY, R384_FINISHED};
    CHECK(feed_flight(r, 3, TLS_AES_256_GCM_SHA384, &confidence, &ended) ==
          MTLS_FLIGHT_CERTIFICATE);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(ended == 3);
    /* Certificate and CertificateVerify in one record, Finished in its own. */
    const uint16_t r2[] = {(uint16_t)(685 + 80 + 17), R384_FINISHED};
    CHECK(feed_flight(r2, 2, TLS_AES_256_GCM_SHA384, &confidence, &ended) ==
          MTLS_FLIGHT_CERTIFICATE);
    CHECK(confidence == MTLS_CONFIDENCE_CERTAIN);
    /* Plaintext before Finished between 1 and 7 bytes fits no shape. */
    const uint16_t odd[] = {20, R384_FINISHED};
    CHECK(feed_flight(odd, 2, TLS_AES_256_GCM_SHA384, &confidence, &ended) !=
          MTLS_FLIGHT_CERTIFICATE);
    CHECK(confidence != MTLS_CONFIDENCE_CERTAIN);
}

static void coalesced_certificate_flight_closed_by_server_is_likely(sim_t *s)
{
    (void)s;
    mtls_cipher_sizes_t sizes;
    REQUIRE(mtls_cipher_sizes(TLS_AES_256_GCM_SHA384, true, &sizes));
    mtls_flight_reader_t reader;
    memset(&reader, 0, sizeof(reader));
    mtls_confidence_t confidence;
    /* Certificate 685 + CertificateVerify 80 + Finished 52 in one record. */
    uint16_t coalesced = 685 + 80 + 52 + 17;
    CHECK(mtls_flight_add(&reader, mtls_tls13_plaintext(coalesced, &sizes), &sizes, &confidence) ==
          MTLS_FLIGHT_INCOMPLETE);
    CHECK(mtls_flight_close(&reader, &sizes, &confidence) == MTLS_FLIGHT_CERTIFICATE);
    CHECK(confidence == MTLS_CONFIDENCE_LIKELY);

    /* Nothing read at all: nothing can be said. */
    memset(&reader, 0, sizeof(reader));
    CHECK(mtls_flight_close(&reader, &sizes, &confidence) != MTLS_FLIGHT_CERTIFICATE);
    CHECK(confidence != MTLS_CONFIDENCE_CERTAIN);

    /* Engine: the server's next record closes the flight; the exchange is
     * requested and provided, likely, never certain. */
    sim_reset(s);
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    uint32_t flight = rec(s, false, coalesced);
    uint32_t ticket = rec(s, true, 250);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->inferred);
    CHECK(x->requested);
    CHECK(x->response == MTLS_RESPONSE_CERTIFICATE);
    CHECK(x->flight_confidence == MTLS_CONFIDENCE_LIKELY);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_ACCEPTED);
    CHECK(x->response_frame == flight || x->response_frame == ticket);
    CHECK(x->decision_frame == ticket);
}

static void post_handshake_reader_is_never_certain(sim_t *s)
{
    (void)s;
    mtls_cipher_sizes_t sizes;
    REQUIRE(mtls_cipher_sizes(TLS_AES_128_GCM_SHA256, true, &sizes));
    mtls_flight_reader_t reader;
    memset(&reader, 0, sizeof(reader));
    reader.post_handshake = true;
    mtls_confidence_t confidence;
    /* Empty Certificate echoing a 32-byte context: 8 + 32, then Finished. */
    CHECK(mtls_flight_add(&reader, 40, &sizes, &confidence) == MTLS_FLIGHT_INCOMPLETE);
    CHECK(mtls_flight_add(&reader, 36, &sizes, &confidence) == MTLS_FLIGHT_EMPTY_CERTIFICATE);
    CHECK(confidence != MTLS_CONFIDENCE_CERTAIN);
    memset(&reader, 0, sizeof(reader));
    reader.post_handshake = true;
    CHECK(mtls_flight_add(&reader, 900, &sizes, &confidence) == MTLS_FLIGHT_INCOMPLETE);
    CHECK(mtls_flight_add(&reader, 80, &sizes, &confidence) == MTLS_FLIGHT_INCOMPLETE);
    CHECK(mtls_flight_add(&reader, 36, &sizes, &confidence) == MTLS_FLIGHT_CERTIFICATE);
    CHECK(confidence != MTLS_CONFIDENCE_CERTAIN);
}

static void confidence_names_match_spec(sim_t *s)
{
    (void)s;
    CHECK(strcmp(mtls_confidence_name(MTLS_CONFIDENCE_CERTAIN), "certain") == 0);
    CHECK(strcmp(mtls_confidence_name(MTLS_CONFIDENCE_LIKELY), "likely") == 0);
    CHECK(strcmp(mtls_confidence_name(MTLS_CONFIDENCE_POSSIBLE), "possible") == 0);
}

/* -------------------------------------------------- TLS 1.3 engine sequences -- */

static void tls13_without_keys_accepted_is_inferred_likely(sim_t *s)
{
    uint32_t server_flight = tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    rec(s, false, R384_CERTIFICATE);
    rec(s, false, R384_CERTIFICATE_VERIFY);
    uint32_t finished = rec(s, false, R384_FINISHED);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    /* Requested and provided are exact arithmetic already. */
    CHECK(x->inferred);
    CHECK(x->requested);
    CHECK(x->response == MTLS_RESPONSE_CERTIFICATE);
    CHECK(x->flight_confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(x->flight_records == 3);
    CHECK(x->flight_bytes == 685 + 80);
    CHECK(x->request_frame == server_flight);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_PENDING);
    (void)finished;

    uint32_t ticket = rec(s, true, 250); /* NewSessionTicket: not alert-sized */
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_ACCEPTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
    CHECK(x->decision_frame == ticket);
    CHECK(x->decision_record == MTLS_RECORD_ENCRYPTED);
    CHECK(x->decision_record_length == 250);
    CHECK(x->phase == MTLS_PHASE_HANDSHAKE);
    CHECK(exchange_count(s) == 1);

    /* A server close later changes nothing. */
    tcp_close(s, true);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_ACCEPTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
}

static void tls13_without_keys_rejected_alert_sized_record_is_likely_not_certain(sim_t *s)
{
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    rec(s, false, R384_EMPTY_CERT);
    rec(s, false, R384_FINISHED);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->requested);
    CHECK(x->response == MTLS_RESPONSE_EMPTY);
    CHECK(x->flight_confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(x->flight_bytes == 8);
    uint32_t alert = rec(s, true, R_ALERT);
    tcp_close(s, true);
    tcp_close(s, false);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_REJECTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY); /* could be close_notify */
    CHECK(x->decision_frame == alert);
    CHECK(x->decision_record == MTLS_RECORD_ENCRYPTED_ALERT);
    CHECK(x->decision_record_length == R_ALERT);

    /* With a provided certificate and CCM_8 (alert 11 bytes): same. */
    sim_reset(s);
    tls13_start(s, TLS_AES_128_CCM_8_SHA256, false, 5);
    rec(s, false, 900);
    rec(s, false, 80 + 9);
    rec(s, false, 45);
    rec(s, true, 11);
    tcp_close(s, true);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->response == MTLS_RESPONSE_CERTIFICATE);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_REJECTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
}

static void tls13_without_keys_server_answering_client_data_stays_likely(sim_t *s)
{
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    rec(s, false, R384_CERTIFICATE);
    rec(s, false, R384_CERTIFICATE_VERIFY);
    rec(s, false, R384_FINISHED);
    rec(s, true, 250); /* NewSessionTicket */
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
    rec(s, false, 120); /* client request */
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
    rec(s, true, R_ALERT); /* alert-sized: not an answer */
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
    rec(s, true, 1400); /* server response */
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_ACCEPTED);
    /* A server may stream before reading the flight and reject later: an answer
     * to the client's data proves nothing certain (see never_certain_when_wrong). */
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);

    /* Empty certificate, server goes on and answers: server-ignored, likely. */
    sim_reset(s);
    tls13_start(s, TLS_AES_128_GCM_SHA256, false, 5);
    rec(s, false, 61); /* coalesced empty Certificate + Finished */
    rec(s, true, 250);
    rec(s, false, 120);
    rec(s, true, 1400);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->response == MTLS_RESPONSE_EMPTY);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_SERVER_IGNORED);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);

    /* A coalesced flight read only roughly stays below certain. */
    sim_reset(s);
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    rec(s, false, 685 + 80 + 52 + 17);
    rec(s, true, 250);
    rec(s, false, 120);
    rec(s, true, 1400);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->confidence != MTLS_CONFIDENCE_CERTAIN);
}

static void tls13_without_keys_server_streaming_before_reading_flight_is_never_certain(sim_t *s)
{
    /* A server that writes data without reading (a push protocol) while the
     * client's certificate flight is in flight, then reads it and rejects.
     * The order of records cannot prove the server "answered" the client's
     * data, so nothing about its decision may be certain. */
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    rec(s, false, R384_CERTIFICATE);
    rec(s, false, R384_CERTIFICATE_VERIFY);
    rec(s, false, R384_FINISHED);
    rec(s, true, 600);     /* pushed data, written before reading the flight */
    rec(s, false, 120);    /* client data */
    rec(s, true, 600);     /* more pushed data, still unread flight */
    rec(s, true, R_ALERT); /* the server reads the flight: bad_certificate */
    tcp_close(s, true);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->response == MTLS_RESPONSE_CERTIFICATE);
    if (mtls_exchange_verdict(x, true) == MTLS_VERDICT_ACCEPTED)
        CHECK(x->confidence != MTLS_CONFIDENCE_CERTAIN); /* it was rejected */
}

static void tls13_without_keys_not_requested(sim_t *s)
{
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 4);
    uint32_t finished = rec(s, false, R384_FINISHED);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->inferred);
    CHECK(!x->requested);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_NOT_REQUESTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(x->decision_frame == finished);
    CHECK(mtls_exchange_request_known(x));
    rec(s, true, 250);
    rec(s, false, 120);
    rec(s, true, R_ALERT);
    tcp_close(s, true);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_NOT_REQUESTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(exchange_count(s) == 1);

    /* CCM_8: Finished is 45 bytes. */
    sim_reset(s);
    tls13_start(s, TLS_AES_128_CCM_8_SHA256, false, 4);
    rec(s, false, 45);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_NOT_REQUESTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_CERTAIN);
}

static void tls13_without_keys_server_data_before_client_flight_decides_nothing(sim_t *s)
{
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    rec(s, true, 300); /* 0.5-RTT data, sent before reading the client's flight */
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_PENDING);
    rec(s, false, R384_EMPTY_CERT);
    uint32_t finished = rec(s, false, R384_FINISHED);
    CHECK(x->requested);
    CHECK(x->response == MTLS_RESPONSE_EMPTY);
    CHECK(x->flight_confidence == MTLS_CONFIDENCE_CERTAIN);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_PENDING);
    CHECK(x->response_frame == finished);
    uint32_t alert = rec(s, true, R_ALERT);
    tcp_close(s, true);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_REJECTED);
    CHECK(x->decision_frame == alert);
    CHECK(x->confidence != MTLS_CONFIDENCE_CERTAIN);
}

static void
tls13_without_keys_client_aborts_after_five_record_server_flight_is_client_aborted_possible(
    sim_t *s)
{
    /* On the wire without keys the client's fatal alert is a protected record
     * of alert size (19 bytes), then the client closes. */
    uint32_t server_flight = tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    uint32_t alert = rec(s, false, R_ALERT);
    tcp_close(s, false);
    tcp_close(s, true);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->inferred);
    CHECK(x->requested);
    CHECK(x->request_frame == server_flight);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_CLIENT_ABORTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_POSSIBLE);
    CHECK(x->decision_frame == alert);

    /* Four server records (no CertificateRequest): no request inferred. */
    sim_reset(s);
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 4);
    rec(s, false, R_ALERT);
    tcp_close(s, false);
    tcp_close(s, true);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(!x->requested);
    CHECK(mtls_exchange_verdict(x, true) != MTLS_VERDICT_CLIENT_ABORTED);
    CHECK(mtls_exchange_verdict(x, true) != MTLS_VERDICT_NOT_REQUESTED);
}

static void
tls13_without_keys_client_clear_alert_after_five_record_flight_is_client_aborted_possible(sim_t *s)
{
    /* The same abort, when the dissector can read the alert. */
    tls13_start(s, TLS_AES_256_GCM_SHA384, false, 5);
    mtls_event_t e = ev(s, MTLS_EV_ALERT, false);
    e.alert_level = 2;
    e.alert_description = 48; /* unknown_ca */
    e.record_length = 2;
    mtls_conn_feed(&s->state, &e);
    tcp_close(s, false);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->inferred);
    CHECK(x->requested);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_CLIENT_ABORTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_POSSIBLE);
}

static void inference_off_infers_nothing(sim_t *s)
{
    mtls_conn_set_inference(&s->state, false);
    tls13_start(s, TLS_AES_256_GCM_SHA384, true, 5);
    rec(s, false, R384_CERTIFICATE);
    rec(s, false, R384_CERTIFICATE_VERIFY);
    rec(s, false, R384_FINISHED);
    rec(s, true, 250);
    rec(s, false, 120);
    rec(s, true, 1400);
    rec(s, true, 90); /* post-handshake-looking */
    rec(s, false, 900);
    rec(s, false, 97);
    rec(s, false, 69);
    rec(s, true, R_ALERT);
    tcp_close(s, true);
    CHECK(exchange_count(s) == 1);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(!x->inferred);
    CHECK(!x->requested);
    CHECK(x->confidence == MTLS_CONFIDENCE_NONE);
    CHECK(x->response == MTLS_RESPONSE_PENDING);
    CHECK(x->undecrypted);

    /* Not requested: no inferred verdict either. */
    sim_reset(s);
    mtls_conn_set_inference(&s->state, false);
    tls13_start(s, TLS_AES_128_GCM_SHA256, false, 4);
    rec(s, false, 53);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(!x->inferred);
    CHECK(mtls_exchange_verdict(x, false) != MTLS_VERDICT_NOT_REQUESTED);

    /* TLS 1.2 renegotiation: no second exchange. */
    sim_reset(s);
    mtls_conn_set_inference(&s->state, false);
    client_hello(s, false);
    server_hello(s, false, ECDHE_RSA_AES_256_GCM_SHA384);
    simple(s, MTLS_EV_CERTIFICATE, true);
    simple(s, MTLS_EV_SERVER_HELLO_DONE, true);
    simple(s, MTLS_EV_CLIENT_KEY_EXCHANGE, false);
    ccs(s, false);
    enc_handshake(s, false, 40);
    ccs(s, true);
    enc_handshake(s, true, 40);
    enc_handshake(s, false, 250);
    enc_handshake(s, true, 100);
    enc_handshake(s, true, 1200);
    enc_handshake(s, false, 1200);
    enc_handshake(s, false, 94);
    enc_handshake(s, false, 288);
    ccs(s, false);
    CHECK(exchange_count(s) == 1);
    for (const mtls_exchange_t *y = mtls_conn_exchanges(s->conn); y; y = y->next)
        CHECK(!y->inferred);
}

static void decrypted_evidence_wins(sim_t *s)
{
    /* Keys present: the handshake is decrypted. */
    client_hello(s, true);
    server_hello(s, true, TLS_AES_256_GCM_SHA384);
    simple(s, MTLS_EV_OTHER_HANDSHAKE, true); /* EncryptedExtensions, decrypted */
    mtls_event_t e = ev(s, MTLS_EV_CERTIFICATE_REQUEST, true);
    uint32_t request = e.frame;
    mtls_conn_feed(&s->state, &e);
    simple(s, MTLS_EV_CERTIFICATE, true);
    simple(s, MTLS_EV_CERTIFICATE_VERIFY, true);
    simple(s, MTLS_EV_FINISHED, true);
    uint32_t certificate = simple(s, MTLS_EV_CERTIFICATE, false);
    simple(s, MTLS_EV_CERTIFICATE_VERIFY, false);
    simple(s, MTLS_EV_FINISHED, false);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->response == MTLS_RESPONSE_CERTIFICATE);
    /* Stray undecrypted records: the shapes of a rejection, a Finished alone,
     * an empty Certificate. None may change anything. */
    rec(s, true, R_ALERT);
    rec(s, false, R384_FINISHED);
    rec(s, false, R384_EMPTY_CERT);
    rec(s, false, R384_FINISHED);
    rec(s, true, R_ALERT);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_PENDING);
    uint32_t ticket = simple(s, MTLS_EV_NEW_SESSION_TICKET, true);
    rec(s, true, R_ALERT);
    rec(s, true, 90);
    rec(s, false, 900);
    rec(s, false, 97);
    rec(s, false, 69);
    rec(s, true, R_ALERT);
    tcp_close(s, true);
    CHECK(exchange_count(s) == 1);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_ACCEPTED);
    CHECK(!x->inferred);
    CHECK(x->confidence == MTLS_CONFIDENCE_NONE);
    CHECK(x->request_frame == request);
    CHECK(x->response_frame == certificate);
    CHECK(x->decision_frame == ticket);
    CHECK(!x->undecrypted);

    /* Decrypted, not requested: stray records do not make a request. */
    sim_reset(s);
    client_hello(s, false);
    server_hello(s, true, TLS_AES_256_GCM_SHA384);
    simple(s, MTLS_EV_OTHER_HANDSHAKE, true);
    simple(s, MTLS_EV_CERTIFICATE, true);
    simple(s, MTLS_EV_CERTIFICATE_VERIFY, true);
    uint32_t server_finished = simple(s, MTLS_EV_FINISHED, true);
    rec(s, false, R384_EMPTY_CERT);
    rec(s, false, R384_FINISHED);
    rec(s, true, R_ALERT);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_NOT_REQUESTED);
    CHECK(x->decision_frame == server_finished);
    CHECK(!x->requested);
    CHECK(!x->inferred);
    CHECK(exchange_count(s) == 1);
}

/* A not-requested TLS 1.3 connection without keys, then a small server record
 * (a CertificateRequest) and a client flight Certificate + CertificateVerify +
 * Finished. */
static void post_handshake_sequence(sim_t *s, bool pha_offered)
{
    tls13_start(s, TLS_AES_128_GCM_SHA256, pha_offered, 4);
    rec(s, false, 53); /* Finished alone */
    rec(s, true, 250); /* NewSessionTicket */
    rec(s, false, 120);
    rec(s, true, 1400);
    rec(s, true, 110); /* CertificateRequest with a context */
    rec(s, false, 900);
    rec(s, false, 97);
    rec(s, false, 53);
    rec(s, true, 500); /* server went on */
    rec(s, false, 120);
    rec(s, true, 1400);
}

static void post_handshake_inferred_only_when_offered(sim_t *s)
{
    post_handshake_sequence(s, false);
    CHECK(exchange_count(s) == 1);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_NOT_REQUESTED);

    sim_reset(s);
    post_handshake_sequence(s, true);
    CHECK(exchange_count(s) == 2);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_NOT_REQUESTED);
    CHECK(x->confidence == MTLS_CONFIDENCE_CERTAIN);
    const mtls_exchange_t *p = exchange_at(s, 2);
    REQUIRE(p);
    CHECK(p->phase == MTLS_PHASE_POST_HANDSHAKE);
    CHECK(p->inferred);
    CHECK(p->pha_offered);
    CHECK(p->requested);
    CHECK(p->response == MTLS_RESPONSE_CERTIFICATE);
    CHECK(p->confidence == MTLS_CONFIDENCE_POSSIBLE);
    CHECK(p->flight_confidence <= MTLS_CONFIDENCE_POSSIBLE);
    CHECK(mtls_exchange_verdict(p, false) == MTLS_VERDICT_ACCEPTED);

    /* Post-handshake with an empty Certificate (context 32) then an alert. */
    sim_reset(s);
    tls13_start(s, TLS_AES_128_GCM_SHA256, true, 4);
    rec(s, false, 53);
    rec(s, true, 250);
    rec(s, true, 110);
    rec(s, false, 8 + 32 + 17);
    rec(s, false, 53);
    rec(s, true, R_ALERT);
    tcp_close(s, true);
    p = exchange_at(s, 2);
    REQUIRE(p);
    CHECK(p->phase == MTLS_PHASE_POST_HANDSHAKE);
    CHECK(p->response == MTLS_RESPONSE_EMPTY);
    CHECK(p->confidence <= MTLS_CONFIDENCE_POSSIBLE);
    CHECK(mtls_exchange_verdict(p, true) == MTLS_VERDICT_REJECTED);
}

static void post_handshake_needs_a_finished_sized_record(sim_t *s)
{
    /* Issue 3: the client flight is shaped like Certificate (+ CertificateVerify)
     * + Finished. Three ordinary data records after a server record, none of
     * Finished size, are application data. */
    tls13_start(s, TLS_AES_128_GCM_SHA256, true, 4);
    rec(s, false, 53);
    rec(s, true, 250);
    rec(s, true, 110);
    rec(s, false, 400);
    rec(s, false, 400);
    rec(s, false, 400);
    rec(s, true, 1400);
    CHECK(exchange_count(s) == 1);
}

/* -------------------------------------------------- TLS 1.2 renegotiation -- */

/* A full TLS 1.2 handshake (in clear, no request) with AES-256-GCM, then data. */
static void tls12_handshake(sim_t *s)
{
    client_hello(s, false);
    server_hello(s, false, ECDHE_RSA_AES_256_GCM_SHA384);
    simple(s, MTLS_EV_CERTIFICATE, true);
    simple(s, MTLS_EV_OTHER_HANDSHAKE, true); /* ServerKeyExchange */
    simple(s, MTLS_EV_SERVER_HELLO_DONE, true);
    simple(s, MTLS_EV_CLIENT_KEY_EXCHANGE, false);
    ccs(s, false);
    enc_handshake(s, false, 40); /* Finished: 8 + 16 + 16 */
    ccs(s, true);
    enc_handshake(s, true, 40);
    app_data(s, false, 200);
    app_data(s, true, 1000);
}

/* The renegotiation: encrypted ClientHello, the server's five-record flight
 * (ServerHello, Certificate, ServerKeyExchange, CertificateRequest,
 * ServerHelloDone), then the given client records, its CCS and Finished. */
static uint32_t tls12_renegotiation(sim_t *s, const uint16_t *client, size_t count)
{
    static const uint16_t server[] = {113, 1200, 361, 80, 28};
    enc_handshake(s, false, 250);
    uint32_t first_server = 0;
    for (size_t i = 0; i < 5; i++) {
        uint32_t frame = enc_handshake(s, true, server[i]);
        if (!first_server)
            first_server = frame;
    }
    for (size_t i = 0; i < count; i++)
        enc_handshake(s, false, client[i]);
    ccs(s, false);
    enc_handshake(s, false, 40);
    return first_server;
}

static void tls12_renegotiation_without_keys_three_records_is_requested_provided_likely(sim_t *s)
{
    tls12_handshake(s);
    /* Certificate 8+1200+16, ClientKeyExchange 8+70+16, CertificateVerify 8+264+16 */
    const uint16_t client[] = {1224, 94, 288};
    uint32_t request = tls12_renegotiation(s, client, 3);
    REQUIRE(exchange_count(s) == 2);
    const mtls_exchange_t *first = exchange_at(s, 1);
    const mtls_exchange_t *x = exchange_at(s, 2);
    CHECK(mtls_exchange_verdict(first, false) == MTLS_VERDICT_NOT_REQUESTED);
    CHECK(!first->inferred);
    CHECK(x->phase == MTLS_PHASE_RENEGOTIATION);
    CHECK(x->inferred);
    CHECK(x->requested);
    CHECK(x->request_frame == request);
    CHECK(x->response == MTLS_RESPONSE_CERTIFICATE);
    CHECK(x->flight_records == 3);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
    CHECK(x->flight_confidence == MTLS_CONFIDENCE_LIKELY);
    uint32_t server_ccs = ccs(s, true);
    enc_handshake(s, true, 40);
    app_data(s, true, 500);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_ACCEPTED);
    CHECK(x->decision_frame == server_ccs);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
    CHECK(exchange_count(s) == 2);
}

static void tls12_renegotiation_without_keys_two_records_empty_certificate(sim_t *s)
{
    tls12_handshake(s);
    /* empty Certificate: 8 + 7 + 16 = 31, ClientKeyExchange */
    const uint16_t client[] = {31, 94};
    tls12_renegotiation(s, client, 2);
    REQUIRE(exchange_count(s) == 2);
    const mtls_exchange_t *x = exchange_at(s, 2);
    CHECK(x->inferred);
    CHECK(x->requested);
    CHECK(x->response == MTLS_RESPONSE_EMPTY);
    CHECK(x->flight_bytes == 31);
    CHECK(x->confidence == MTLS_CONFIDENCE_LIKELY);
    ccs(s, true);
    enc_handshake(s, true, 40);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_SERVER_IGNORED);
    CHECK(x->confidence != MTLS_CONFIDENCE_CERTAIN);

    /* Two records whose first is not an empty Certificate: only possible. */
    sim_reset(s);
    tls12_handshake(s);
    const uint16_t odd[] = {400, 94};
    tls12_renegotiation(s, odd, 2);
    REQUIRE(exchange_count(s) == 2);
    x = exchange_at(s, 2);
    CHECK(x->confidence == MTLS_CONFIDENCE_POSSIBLE);

    /* One record: ClientKeyExchange alone, not requested, never certain. */
    sim_reset(s);
    tls12_handshake(s);
    const uint16_t cke[] = {94};
    tls12_renegotiation(s, cke, 1);
    REQUIRE(exchange_count(s) == 2);
    x = exchange_at(s, 2);
    CHECK(mtls_exchange_verdict(x, false) == MTLS_VERDICT_NOT_REQUESTED);
    CHECK(x->confidence != MTLS_CONFIDENCE_CERTAIN);
}

static void tls12_renegotiation_without_keys_server_encrypted_alert_is_rejected(sim_t *s)
{
    tls12_handshake(s);
    const uint16_t client[] = {31, 94};
    tls12_renegotiation(s, client, 2);
    REQUIRE(exchange_count(s) == 2);
    mtls_event_t e = ev(s, MTLS_EV_ALERT, true); /* level/description unseen */
    e.record_length = 26;                        /* 8 + 2 + 16 */
    mtls_conn_feed(&s->state, &e);
    tcp_close(s, true);
    const mtls_exchange_t *x = exchange_at(s, 2);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_REJECTED);
    CHECK(x->decision_frame == e.frame);
    CHECK(x->decision_record == MTLS_RECORD_ENCRYPTED_ALERT);
    CHECK(x->confidence != MTLS_CONFIDENCE_CERTAIN);
    CHECK(x->confidence != MTLS_CONFIDENCE_NONE);
    /* The first handshake keeps its verdict. */
    CHECK(mtls_exchange_verdict(exchange_at(s, 1), true) == MTLS_VERDICT_NOT_REQUESTED);
}

static void tls12_renegotiation_without_keys_finished_after_ccs_is_not_a_renegotiation(sim_t *s)
{
    tls12_handshake(s);
    app_data(s, false, 200);
    app_data(s, true, 1000);
    tcp_close(s, true);
    CHECK(exchange_count(s) == 1);
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(!x->inferred);
    CHECK(mtls_exchange_verdict(x, true) == MTLS_VERDICT_NOT_REQUESTED);

    /* Abbreviated handshake: server CCS + Finished, then client CCS + Finished. */
    sim_reset(s);
    client_hello(s, false);
    server_hello(s, false, ECDHE_RSA_AES_256_GCM_SHA384);
    ccs(s, true);
    enc_handshake(s, true, 40);
    ccs(s, false);
    enc_handshake(s, false, 40);
    app_data(s, false, 200);
    app_data(s, true, 1000);
    CHECK(exchange_count(s) == 1);
    x = exchange_at(s, 1);
    REQUIRE(x);
    CHECK(x->resumed);
    CHECK(!x->inferred);
}

/* ------------------------------------------------------ randomised sequences -- */

static uint64_t rng_state;
static unsigned random_failures; /* printed in detail only for the first few */

#define RANDOM_REPORT(...)                                                                         \
    do {                                                                                           \
        if (++random_failures <= 5)                                                                \
            fprintf(stderr, __VA_ARGS__);                                                          \
    } while (0)

static uint32_t rnd(uint32_t n)
{
    /* xorshift64*: fixed seed, reproducible everywhere */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32) % n;
}

typedef struct {
    uint8_t tag, hash;
} suite_sizes_t;

static const suite_sizes_t suite_table[5] = {{16, 32}, {16, 48}, {16, 32}, {16, 32}, {8, 32}};

static void check_exchange_invariants(const mtls_exchange_t *x, unsigned iteration)
{
    bool bad = false;
    if (x->phase != MTLS_PHASE_HANDSHAKE && (x->confidence == MTLS_CONFIDENCE_CERTAIN ||
                                             x->flight_confidence == MTLS_CONFIDENCE_CERTAIN))
        bad = true; /* renegotiation / post-handshake never certain */
    if (x->phase == MTLS_PHASE_POST_HANDSHAKE && x->inferred &&
        x->confidence > MTLS_CONFIDENCE_POSSIBLE)
        bad = true;
    if (x->inferred && mtls_exchange_verdict(x, true) == MTLS_VERDICT_REJECTED &&
        x->confidence == MTLS_CONFIDENCE_CERTAIN)
        bad = true; /* alert-sized records could be close_notify */
    if (x->inferred && x->confidence == MTLS_CONFIDENCE_NONE)
        bad = true;
    if (bad) {
        RANDOM_REPORT("  iteration %u: exchange %u phase %s verdict %s confidence %s\n", iteration,
                      x->number, mtls_phase_name(x->phase),
                      mtls_verdict_name(mtls_exchange_verdict(x, true)),
                      mtls_confidence_name(x->confidence));
        test_failed = true; /* exchange invariant */
    }
}

typedef enum { TRUTH_NOT_REQUESTED, TRUTH_EMPTY, TRUTH_CERT } truth_flight_t;

/* Realistic TLS 1.3 connections without keys and without padding, with a known
 * truth: whatever is said with confidence certain must be true. */
static void random_realistic(sim_t *s, unsigned iteration, unsigned *certain_seen)
{
    unsigned suite_index = rnd(5);
    uint16_t suite = (uint16_t)(TLS_AES_128_GCM_SHA256 + suite_index);
    unsigned tag = suite_table[suite_index].tag;
    unsigned finished = 4u + suite_table[suite_index].hash;
    truth_flight_t truth = (truth_flight_t)rnd(3);
    bool pha = rnd(2);

    client_hello(s, pha);
    server_hello(s, true, suite);
    unsigned server_records = rnd(3) == 0 ? 1 + rnd(2) : (truth == TRUTH_NOT_REQUESTED ? 4 : 5);
    for (unsigned i = 0; i < server_records; i++)
        rec(s, true, (uint16_t)(30 + rnd(3000) + 1 + tag));
    if (rnd(4) == 0) /* 0.5-RTT data before the client's flight */
        rec(s, true, (uint16_t)(20 + rnd(500) + 1 + tag));

    /* The client's flight, in records. */
    unsigned flight[3], count = 0;
    unsigned cert = 300 + rnd(3000), verify = 72 + rnd(450);
    switch (truth) {
    case TRUTH_NOT_REQUESTED: flight[count++] = finished; break;
    case TRUTH_EMPTY:
        if (rnd(2)) {
            flight[count++] = 8 + finished;
        } else {
            flight[count++] = 8;
            flight[count++] = finished;
        }
        break;
    case TRUTH_CERT:
        switch (rnd(3)) {
        case 0: flight[count++] = cert + verify + finished; break;
        case 1:
            flight[count++] = cert + verify;
            flight[count++] = finished;
            break;
        default:
            flight[count++] = cert;
            flight[count++] = verify;
            flight[count++] = finished;
            break;
        }
        break;
    }
    for (unsigned i = 0; i < count; i++)
        rec(s, false, (uint16_t)(flight[i] + 1 + tag));

    /* The server's decision. */
    bool rejected = false;
    unsigned behaviour = truth == TRUTH_NOT_REQUESTED ? rnd(2) : rnd(4);
    switch (behaviour) {
    case 0: /* goes on: tickets, then answers data */
        rec(s, true, (uint16_t)(50 + rnd(300) + 1 + tag));
        for (unsigned i = rnd(4); i > 0; i--)
            rec(s, rnd(2), (uint16_t)(3 + rnd(2000) + 1 + tag));
        break;
    case 1: /* goes on, then close_notify and FIN right away */
        rec(s, true, (uint16_t)(2 + 1 + tag));
        break;
    case 2: /* rejects with an alert */
        rejected = true;
        rec(s, true, (uint16_t)(2 + 1 + tag));
        break;
    default: /* streams data it sent before reading the flight, then rejects */
        rejected = true;
        for (unsigned i = 1 + rnd(4); i > 0; i--)
            rec(s, rnd(2), (uint16_t)(20 + rnd(1500) + 1 + tag));
        rec(s, true, (uint16_t)(2 + 1 + tag));
        break;
    }
    if (rnd(2))
        tcp_close(s, false);
    tcp_close(s, true);

    mtls_verdict_t truth_verdict = truth == TRUTH_NOT_REQUESTED ? MTLS_VERDICT_NOT_REQUESTED
                                   : rejected                   ? MTLS_VERDICT_REJECTED
                                   : truth == TRUTH_CERT        ? MTLS_VERDICT_ACCEPTED
                                                                : MTLS_VERDICT_SERVER_IGNORED;
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    mtls_verdict_t verdict = mtls_exchange_verdict(x, true);
    if (x->flight_confidence == MTLS_CONFIDENCE_CERTAIN ||
        x->confidence == MTLS_CONFIDENCE_CERTAIN) {
        bool requested_truth = truth != TRUTH_NOT_REQUESTED;
        mtls_response_t response_truth = truth == TRUTH_CERT    ? MTLS_RESPONSE_CERTIFICATE
                                         : truth == TRUTH_EMPTY ? MTLS_RESPONSE_EMPTY
                                                                : MTLS_RESPONSE_PENDING;
        if (x->requested != requested_truth || x->response != response_truth) {
            fprintf(stderr,
                    "  iteration %u: certain flight says requested=%d response=%s, "
                    "truth requested=%d response=%s\n",
                    iteration, x->requested, mtls_response_name(x->response), requested_truth,
                    mtls_response_name(response_truth));
            test_failed = true; /* certain flight is true */
        }
    }
    if (x->confidence == MTLS_CONFIDENCE_CERTAIN) {
        (*certain_seen)++;
        if (verdict != truth_verdict) {
            RANDOM_REPORT("  iteration %u: certain verdict %s, truth %s (behaviour %u)\n",
                          iteration, mtls_verdict_name(verdict), mtls_verdict_name(truth_verdict),
                          behaviour);
            test_failed = true; /* certain verdict is true */
        }
    }
    for (const mtls_exchange_t *y = mtls_conn_exchanges(s->conn); y; y = y->next)
        check_exchange_invariants(y, iteration);
}

/* Record sizes near the interesting values, or anything. */
static uint16_t noisy_length(unsigned tag, unsigned finished)
{
    switch (rnd(8)) {
    case 0: return (uint16_t)(finished + 1 + tag);
    case 1: return (uint16_t)(8 + 1 + tag);
    case 2: return (uint16_t)(8 + finished + 1 + tag);
    case 3: return (uint16_t)(2 + 1 + tag);
    case 4: return (uint16_t)rnd(40);
    case 5: return (uint16_t)(finished + 1 + tag + rnd(5) - 2);
    default: return (uint16_t)rnd(4000);
    }
}

/* Arbitrary record-size sequences: whatever is certain about the handshake's
 * flight must come from an exact-size first client flight. */
static void random_noise(sim_t *s, unsigned iteration)
{
    unsigned suite_index = rnd(5);
    uint16_t suite = (uint16_t)(TLS_AES_128_GCM_SHA256 + suite_index);
    unsigned tag = suite_table[suite_index].tag;
    unsigned finished = 4u + suite_table[suite_index].hash;
    client_hello(s, rnd(2));
    server_hello(s, true, suite);

    /* Oracle: the first client flight is the client's records after the first
     * server record, up to the next server record. */
    bool seen_server = false, in_flight = false, flight_done = false;
    bool exact = false;
    truth_flight_t exact_shape = TRUTH_NOT_REQUESTED;
    unsigned sum = 0, flight_records = 0;
    unsigned events = 1 + rnd(16);
    for (unsigned i = 0; i < events; i++) {
        unsigned kind = rnd(10);
        if (kind == 0) {
            tcp_close(s, rnd(2));
            continue;
        }
        bool from_server = kind < 5;
        uint16_t length = noisy_length(tag, finished);
        rec(s, from_server, length);
        if (flight_done)
            continue;
        if (from_server) {
            if (in_flight)
                flight_done = true;
            seen_server = true;
            continue;
        }
        if (!seen_server)
            continue;
        in_flight = true;
        int plaintext = (int)length - 1 - (int)tag;
        if (plaintext < 0) {
            flight_done = true;
            continue;
        }
        flight_records++;
        if ((unsigned)plaintext == finished) {
            flight_done = true;
            if (sum == 0 || sum == 8 || sum > 8) {
                exact = true;
                exact_shape = sum == 0 ? TRUTH_NOT_REQUESTED : sum == 8 ? TRUTH_EMPTY : TRUTH_CERT;
            }
            continue;
        }
        if (flight_records == 1 && (unsigned)plaintext == 8 + finished) {
            flight_done = true;
            exact = true;
            exact_shape = TRUTH_EMPTY;
            continue;
        }
        sum += (unsigned)plaintext;
        if (flight_records >= 3)
            flight_done = true;
    }
    const mtls_exchange_t *x = exchange_at(s, 1);
    REQUIRE(x);
    if (x->flight_confidence == MTLS_CONFIDENCE_CERTAIN ||
        x->confidence == MTLS_CONFIDENCE_CERTAIN) {
        bool ok = exact;
        if (ok && exact_shape == TRUTH_NOT_REQUESTED)
            ok = !x->requested && mtls_exchange_verdict(x, true) == MTLS_VERDICT_NOT_REQUESTED;
        else if (ok && exact_shape == TRUTH_EMPTY)
            ok = x->requested && x->response == MTLS_RESPONSE_EMPTY;
        else if (ok)
            ok = x->requested && x->response == MTLS_RESPONSE_CERTIFICATE;
        if (!ok) {
            RANDOM_REPORT("  noise iteration %u: certain without an exact flight\n", iteration);
            test_failed = true; /* certain only from an exact-size flight */
        }
    }
    for (const mtls_exchange_t *y = mtls_conn_exchanges(s->conn); y; y = y->next)
        check_exchange_invariants(y, iteration);
}

/* Arbitrary TLS 1.2 sequences after a handshake: renegotiations never certain. */
static void random_tls12(sim_t *s, unsigned iteration)
{
    tls12_handshake(s);
    unsigned events = 1 + rnd(30);
    for (unsigned i = 0; i < events; i++) {
        bool from_server = rnd(2);
        switch (rnd(6)) {
        case 0: ccs(s, from_server); break;
        case 1: {
            mtls_event_t e = ev(s, MTLS_EV_ALERT, from_server);
            e.record_length = 26;
            mtls_conn_feed(&s->state, &e);
            break;
        }
        case 2: app_data(s, from_server, (uint16_t)rnd(2000)); break;
        case 3:
            if (rnd(4) == 0) {
                tcp_close(s, from_server);
                break;
            }
            /* FALLTHROUGH */
        default: enc_handshake(s, from_server, (uint16_t)(rnd(3) ? 31 : rnd(2000))); break;
        }
    }
    for (const mtls_exchange_t *y = mtls_conn_exchanges(s->conn); y; y = y->next)
        check_exchange_invariants(y, iteration);
}

static void never_certain_when_wrong(sim_t *s)
{
    rng_state = 0x6d746c73696e6665ULL; /* "mtlsinfe" */
    random_failures = 0;
    unsigned certain_seen = 0;
    for (unsigned i = 0; i < 4000; i++) {
        sim_reset(s);
        random_realistic(s, i, &certain_seen);
    }
    /* The generator must exercise the certain paths at all. */
    CHECK(certain_seen > 100);
    for (unsigned i = 0; i < 4000; i++) {
        sim_reset(s);
        random_noise(s, i);
    }
    for (unsigned i = 0; i < 2000; i++) {
        sim_reset(s);
        random_tls12(s, i);
    }
    if (random_failures)
        fprintf(stderr, "  %u broken expectations in 10000 random sequences (first 5 shown)\n",
                random_failures);
}

/* ----------------------------------------------------------------- table -- */

static const test_case_t tests[] = {
    TEST(tls13_every_suite_has_tag_and_hash),
    TEST(tls12_common_aead_suites_are_known),
    TEST(tls12_cbc_suite_is_unknown),
    TEST(alert_sized_record_is_19_bytes_with_16_byte_tag),
    TEST(ccm8_alert_sized_record_is_11_bytes),
    TEST(truncated_record_shorter_than_tag_is_unknown),
    TEST(finished_alone_is_not_requested_certain),
    TEST(empty_certificate_then_finished_separate_records_is_certain),
    TEST(coalesced_empty_certificate_and_finished_is_certain),
    TEST(certificate_verify_finished_separate_records_is_provided_certain),
    TEST(coalesced_certificate_flight_closed_by_server_is_likely),
    TEST(post_handshake_reader_is_never_certain),
    TEST(confidence_names_match_spec),
    TEST(tls13_without_keys_accepted_is_inferred_likely),
    TEST(tls13_without_keys_rejected_alert_sized_record_is_likely_not_certain),
    TEST(tls13_without_keys_server_answering_client_data_stays_likely),
    TEST(tls13_without_keys_server_streaming_before_reading_flight_is_never_certain),
    TEST(tls13_without_keys_not_requested),
    TEST(tls13_without_keys_server_data_before_client_flight_decides_nothing),
    TEST(
        tls13_without_keys_client_aborts_after_five_record_server_flight_is_client_aborted_possible),
    TEST(tls13_without_keys_client_clear_alert_after_five_record_flight_is_client_aborted_possible),
    TEST(inference_off_infers_nothing),
    TEST(decrypted_evidence_wins),
    TEST(post_handshake_inferred_only_when_offered),
    TEST(post_handshake_needs_a_finished_sized_record),
    TEST(tls12_renegotiation_without_keys_three_records_is_requested_provided_likely),
    TEST(tls12_renegotiation_without_keys_two_records_empty_certificate),
    TEST(tls12_renegotiation_without_keys_server_encrypted_alert_is_rejected),
    TEST(tls12_renegotiation_without_keys_finished_after_ccs_is_not_a_renegotiation),
    TEST(never_certain_when_wrong),
};

int main(void)
{
    return run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
