/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Inference without keys: what encrypted TLS record sizes say about client
 * authentication. Plain C, no Wireshark; the engine calls it for connections
 * whose handshake it cannot read, and decrypted evidence always wins.
 *
 * TLS 1.3 (RFC 8446): a protected record is inner plaintext + 1 byte of inner
 * content type + the AEAD tag (+ padding, almost always none), and the
 * ServerHello names the cipher suite in clear. Finished is 4 + hash length;
 * an empty client Certificate is 8 bytes (4 header, 1 empty context, 3 empty
 * list). So the client's second flight sums to Finished (not requested),
 * Finished + 8 (requested, none sent) or more (Certificate + CertificateVerify).
 */
#ifndef MTLS_INFER_H
#define MTLS_INFER_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    MTLS_CONFIDENCE_NONE = 0, /* not inferred */
    MTLS_CONFIDENCE_POSSIBLE,
    MTLS_CONFIDENCE_LIKELY,
    MTLS_CONFIDENCE_CERTAIN, /* exact size arithmetic */
} mtls_confidence_t;

/* Record-protection sizes of a cipher suite. */
typedef struct {
    uint8_t tag_length;     /* AEAD tag */
    uint8_t explicit_nonce; /* TLS 1.2 AES-GCM/CCM: 8 bytes before the ciphertext */
    uint8_t hash_length;    /* handshake hash: Finished is 4 + this in TLS 1.3 */
} mtls_cipher_sizes_t;

/* False when the suite's sizes are unknown (e.g. CBC with its padding). */
bool mtls_cipher_sizes(uint16_t cipher_suite, bool tls13, mtls_cipher_sizes_t *sizes);

/* Inner plaintext length of a protected TLS 1.3 record, or -1 when too short. */
int mtls_tls13_plaintext(uint16_t record_length, const mtls_cipher_sizes_t *sizes);

/* A TLS 1.3 record the size of an alert (2 bytes): a fatal alert or close_notify. */
bool mtls_tls13_alert_sized(uint16_t record_length, const mtls_cipher_sizes_t *sizes);

/* What a client flight carried. */
typedef enum {
    MTLS_FLIGHT_INCOMPLETE = 0,
    MTLS_FLIGHT_FINISHED_ONLY,     /* not requested */
    MTLS_FLIGHT_EMPTY_CERTIFICATE, /* requested, client sent none */
    MTLS_FLIGHT_CERTIFICATE,       /* requested, Certificate + CertificateVerify */
    MTLS_FLIGHT_UNKNOWN,           /* sizes fit no shape */
} mtls_flight_t;

/* Reads the client's protected records after the server's flight. */
typedef struct {
    uint32_t before_finished; /* plaintext bytes of the records so far */
    uint32_t first_record;    /* plaintext of the first record */
    uint8_t records;
    uint8_t context_length; /* TLS 1.3 post-handshake: certificate_request_context */
    bool post_handshake;    /* the empty Certificate carries an unknown context */
} mtls_flight_reader_t;

/* Adds one client record; returns the flight's shape once it is known. A
 * record of exactly Finished size ends the flight (stacks that put each
 * message in its own record); a first record of Finished + 8 is a coalesced
 * empty Certificate + Finished. */
mtls_flight_t mtls_flight_add(mtls_flight_reader_t *reader, int plaintext,
                              const mtls_cipher_sizes_t *sizes, mtls_confidence_t *confidence);

/* The server spoke before the flight was read to its end: what can be said. */
mtls_flight_t mtls_flight_close(const mtls_flight_reader_t *reader,
                                const mtls_cipher_sizes_t *sizes, mtls_confidence_t *confidence);

const char *mtls_confidence_name(mtls_confidence_t confidence);

#endif /* MTLS_INFER_H */
