/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Inference without keys. See mtls_infer.h.
 */
#include "mtls_infer.h"

#include <stddef.h>

enum {
    TLS13_INNER_TYPE = 1,
    TLS13_EMPTY_CERTIFICATE = 8, /* header 4, empty context 1, empty list 3 */
    FINISHED_HEADER = 4,
    ALERT_LENGTH = 2,
    MAX_CONTEXT = 255,
};

typedef struct {
    uint16_t suite;
    mtls_cipher_sizes_t sizes;
} cipher_t;

/* TLS 1.3 suites (RFC 8446 B.4) and the common TLS 1.2 AEAD suites. */
static const cipher_t tls13_ciphers[] = {
    {0x1301, {16, 0, 32}}, /* TLS_AES_128_GCM_SHA256 */
    {0x1302, {16, 0, 48}}, /* TLS_AES_256_GCM_SHA384 */
    {0x1303, {16, 0, 32}}, /* TLS_CHACHA20_POLY1305_SHA256 */
    {0x1304, {16, 0, 32}}, /* TLS_AES_128_CCM_SHA256 */
    {0x1305, {8, 0, 32}},  /* TLS_AES_128_CCM_8_SHA256 */
};

static const cipher_t tls12_ciphers[] = {
    {0xC02B, {16, 8, 32}}, /* ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
    {0xC02C, {16, 8, 48}}, /* ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 */
    {0xC02F, {16, 8, 32}}, /* ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
    {0xC030, {16, 8, 48}}, /* ECDHE_RSA_WITH_AES_256_GCM_SHA384 */
    {0x009C, {16, 8, 32}}, /* RSA_WITH_AES_128_GCM_SHA256 */
    {0x009D, {16, 8, 48}}, /* RSA_WITH_AES_256_GCM_SHA384 */
    {0x009E, {16, 8, 32}}, /* DHE_RSA_WITH_AES_128_GCM_SHA256 */
    {0x009F, {16, 8, 48}}, /* DHE_RSA_WITH_AES_256_GCM_SHA384 */
    {0xCCA8, {16, 0, 32}}, /* ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xCCA9, {16, 0, 32}}, /* ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xCCAA, {16, 0, 32}}, /* DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 */
    {0xC0AC, {16, 8, 32}}, /* ECDHE_ECDSA_WITH_AES_128_CCM */
    {0xC0AE, {8, 8, 32}},  /* ECDHE_ECDSA_WITH_AES_128_CCM_8 */
};

bool mtls_cipher_sizes(uint16_t cipher_suite, bool tls13, mtls_cipher_sizes_t *sizes)
{
    const cipher_t *table = tls13 ? tls13_ciphers : tls12_ciphers;
    size_t count = tls13 ? sizeof(tls13_ciphers) / sizeof(tls13_ciphers[0])
                         : sizeof(tls12_ciphers) / sizeof(tls12_ciphers[0]);
    for (size_t i = 0; i < count; i++) {
        if (table[i].suite == cipher_suite) {
            *sizes = table[i].sizes;
            return true;
        }
    }
    return false;
}

int mtls_tls13_plaintext(uint16_t record_length, const mtls_cipher_sizes_t *sizes)
{
    int plaintext = (int)record_length - TLS13_INNER_TYPE - sizes->tag_length;
    return plaintext >= 0 ? plaintext : -1;
}

bool mtls_tls13_alert_sized(uint16_t record_length, const mtls_cipher_sizes_t *sizes)
{
    return mtls_tls13_plaintext(record_length, sizes) == ALERT_LENGTH;
}

static uint32_t finished_length(const mtls_cipher_sizes_t *sizes)
{
    return FINISHED_HEADER + sizes->hash_length;
}

/* Before a Finished-sized record: nothing, an empty Certificate, or more. */
static mtls_flight_t shape_before_finished(const mtls_flight_reader_t *reader,
                                           mtls_confidence_t *confidence)
{
    uint32_t before = reader->before_finished;
    *confidence = MTLS_CONFIDENCE_CERTAIN;
    if (before == 0)
        return MTLS_FLIGHT_FINISHED_ONLY;
    if (!reader->post_handshake) {
        if (before == TLS13_EMPTY_CERTIFICATE)
            return MTLS_FLIGHT_EMPTY_CERTIFICATE;
        if (before > TLS13_EMPTY_CERTIFICATE)
            return MTLS_FLIGHT_CERTIFICATE;
        *confidence = MTLS_CONFIDENCE_POSSIBLE;
        return MTLS_FLIGHT_UNKNOWN;
    }
    /* Post-handshake: the empty Certificate echoes a context the request chose. */
    *confidence = MTLS_CONFIDENCE_LIKELY;
    if (before < TLS13_EMPTY_CERTIFICATE)
        return MTLS_FLIGHT_UNKNOWN;
    return before <= TLS13_EMPTY_CERTIFICATE + MAX_CONTEXT ? MTLS_FLIGHT_EMPTY_CERTIFICATE
                                                           : MTLS_FLIGHT_CERTIFICATE;
}

mtls_flight_t mtls_flight_add(mtls_flight_reader_t *reader, int plaintext,
                              const mtls_cipher_sizes_t *sizes, mtls_confidence_t *confidence)
{
    *confidence = MTLS_CONFIDENCE_NONE;
    if (plaintext < 0) {
        *confidence = MTLS_CONFIDENCE_POSSIBLE;
        return MTLS_FLIGHT_UNKNOWN;
    }
    uint32_t finished = finished_length(sizes);
    if (reader->records < UINT8_MAX)
        reader->records++;
    if (reader->records == 1)
        reader->first_record = (uint32_t)plaintext;

    if ((uint32_t)plaintext == finished)
        return shape_before_finished(reader, confidence);
    if (reader->records == 1 && !reader->post_handshake &&
        (uint32_t)plaintext == finished + TLS13_EMPTY_CERTIFICATE) {
        *confidence = MTLS_CONFIDENCE_CERTAIN;
        return MTLS_FLIGHT_EMPTY_CERTIFICATE;
    }
    reader->before_finished += (uint32_t)plaintext;
    if (reader->post_handshake) {
        /* Only a Finished-sized record ends a post-handshake flight: data otherwise. */
        if (reader->records >= 3) {
            *confidence = MTLS_CONFIDENCE_POSSIBLE;
            return MTLS_FLIGHT_UNKNOWN;
        }
        return MTLS_FLIGHT_INCOMPLETE;
    }
    /* Certificate, CertificateVerify and Finished fit in three records. */
    if (reader->records >= 3)
        return mtls_flight_close(reader, sizes, confidence);
    return MTLS_FLIGHT_INCOMPLETE;
}

mtls_flight_t mtls_flight_close(const mtls_flight_reader_t *reader,
                                const mtls_cipher_sizes_t *sizes, mtls_confidence_t *confidence)
{
    uint32_t finished = finished_length(sizes);
    /* One record larger than Finished + empty Certificate: a stack that put
     * Certificate, CertificateVerify and Finished in one record. */
    if (reader->records >= 1 && reader->first_record > finished + TLS13_EMPTY_CERTIFICATE) {
        *confidence = MTLS_CONFIDENCE_LIKELY;
        return MTLS_FLIGHT_CERTIFICATE;
    }
    *confidence = MTLS_CONFIDENCE_POSSIBLE;
    return MTLS_FLIGHT_UNKNOWN;
}

const char *mtls_confidence_name(mtls_confidence_t confidence)
{
    switch (confidence) {
    case MTLS_CONFIDENCE_CERTAIN: return "certain";
    case MTLS_CONFIDENCE_LIKELY: return "likely";
    case MTLS_CONFIDENCE_POSSIBLE: return "possible";
    case MTLS_CONFIDENCE_NONE: break;
    }
    return "";
}
