/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the diagnosis needs of a Certificate or CertificateRequest, read from
 * the message's bytes: the DER certificates of the chain and the DER
 * distinguished names of the server's CA list. Plain C, no Wireshark, no
 * allocation: the blobs point into the message and the caller gives the arrays.
 */
#ifndef MTLS_MESSAGES_H
#define MTLS_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls_certs.h" /* mtls_der_t only: this header needs no GnuTLS */

enum {
    MTLS_HS_CERTIFICATE = 11,
    MTLS_HS_CERTIFICATE_REQUEST = 13,
    MTLS_HS_COMPRESSED_CERTIFICATE = 25, /* RFC 8879: not decompressed, not read */
};

typedef struct {
    bool empty;    /* certificate_list is empty (the client sent no certificate) */
    bool complete; /* the whole message was present and well-formed */
    size_t count;  /* certificates stored in `chain` (at most `capacity`) */
    size_t total;  /* certificates read whole from the list (may exceed capacity) */
} mtls_certificate_msg_t;

typedef struct {
    uint8_t context_length;  /* TLS 1.3 certificate_request_context length, 0 in TLS 1.2 */
    bool has_ca_list;        /* the list's length field was read: TLS 1.2 always (may be
                              * empty); TLS 1.3 when certificate_authorities (47) is present */
    uint32_t ca_list_length; /* bytes of the DistinguishedName list (its 2-byte length field) */
    size_t count;            /* names stored in `names` (at most `capacity`) */
    size_t total;            /* names read whole from the list (may exceed capacity) */
    bool complete;           /* the whole message was present and well-formed */
} mtls_certificate_request_msg_t;

/* `message` is a whole handshake message from its type byte (as long as it was
 * captured; bytes past the length in its header are ignored), `tls13` whether
 * the connection speaks TLS 1.3 (false for TLS 1.0 to 1.2). Each stored blob is
 * the DER after its length field, pointing into `message`.
 *
 * Both return true when the message is of their type, whole and well-formed
 * (`complete`), even when it held more blobs than `capacity`. They return false
 * for another type (CompressedCertificate included: the caller knows nothing of
 * its chain), or when the message is cut short or malformed: what was read
 * before that point is kept, a blob cut in its middle is not stored. */
bool mtls_certificate_parse(const uint8_t *message, size_t length, bool tls13, mtls_der_t *chain,
                            size_t capacity, mtls_certificate_msg_t *out);

/* TLS 1.0 and 1.1 requests have no signature_algorithms: with `tls13` false the
 * layout is told from the lengths (a TLS 1.2 layout would not fit). */
bool mtls_certificate_request_parse(const uint8_t *message, size_t length, bool tls13,
                                    mtls_der_t *names, size_t capacity,
                                    mtls_certificate_request_msg_t *out);

#endif /* MTLS_MESSAGES_H */
