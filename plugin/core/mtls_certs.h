/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The client's certificates, read from their DER with GnuTLS: what a person
 * checks first when a server refuses a client certificate (names, validity,
 * key, Extended Key Usage) and whether the chain names a CA the server listed
 * in its CertificateRequest. Plain C with no Wireshark includes.
 */
#ifndef MTLS_CERTS_H
#define MTLS_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MTLS_SHA256_LENGTH 32

/* A DER blob: a certificate or a distinguished name. */
typedef struct {
    const uint8_t *data;
    size_t length;
} mtls_der_t;

typedef struct {
    char *subject; /* RFC 4514, e.g. "CN=alice,O=Example" */
    char *issuer;
    char *serial; /* upper-case hex, without leading zero bytes, as `openssl x509 -serial` */
    time_t not_before;
    time_t not_after;
    uint8_t sha256[MTLS_SHA256_LENGTH]; /* of the whole DER certificate */
    char key[32];                       /* "EC P-256", "RSA 2048", "Ed25519" */
    bool has_eku;                       /* an Extended Key Usage extension is present */
    bool eku_client_auth;               /* it lists id-kp-clientAuth (1.3.6.1.5.5.7.3.2) */
    uint8_t *issuer_der;                /* the issuer's distinguished name, DER, as encoded */
    uint32_t issuer_der_length;
} mtls_cert_info_t;

/* Reads one DER certificate into `info` (strings malloc'd). Returns false, with
 * `info` cleared, when it is not a certificate GnuTLS can parse. */
bool mtls_cert_parse(const uint8_t *der, size_t length, mtls_cert_info_t *info);
void mtls_cert_info_clear(mtls_cert_info_t *info);

/* A certificate's DER bytes, shared by everyone who saw the same bytes and
 * parsed by GnuTLS only when something reads it (mtls_cert_info): the first pass
 * keeps the client's leaf of every exchange, but only a tree, an expert info or
 * a report reads its names and dates (a GnuTLS import costs as much as
 * dissecting the whole handshake). */
typedef struct mtls_cert mtls_cert_t;
/* A reference to the certificate with these bytes (give it back with
 * mtls_cert_unref), or NULL for no bytes or no memory. Nothing is parsed. */
const mtls_cert_t *mtls_cert_ref(const uint8_t *der, size_t length);
/* Its parsed fields, parsed at the first call; NULL for NULL or when GnuTLS
 * cannot parse it. Valid as long as the reference is held. */
const mtls_cert_info_t *mtls_cert_info(const mtls_cert_t *cert);
void mtls_cert_unref(const mtls_cert_t *cert);

/* The issuer's distinguished name (its whole DER Name, as encoded) read from the
 * certificate's bytes with a small DER walk, without GnuTLS. False when the
 * bytes do not hold one. */
bool mtls_cert_issuer_der(const uint8_t *der, size_t length, mtls_der_t *issuer);

/* The parsed certificate shared by everyone who saw the same DER bytes:
 * captures repeat the same few client certificates, so each is parsed once and
 * held by reference, not copied per exchange. Returns a reference to give back
 * with mtls_cert_release(), or NULL when GnuTLS cannot parse it. */
const mtls_cert_info_t *mtls_cert_get(const uint8_t *der, size_t length);
void mtls_cert_release(const mtls_cert_info_t *info);
/* Parsed certificates are remembered by fingerprint; this forgets them all
 * (when a capture file is closed). References still held stay valid. */
void mtls_cert_cache_clear(void);

/* False when an Extended Key Usage is present without id-kp-clientAuth. */
bool mtls_cert_allows_client_auth(const mtls_cert_info_t *info);

/* True when the issuer of any certificate of `chain` equals, byte for byte, one
 * of the DER distinguished names `ca_names` (a CertificateRequest's list). */
bool mtls_chain_issuer_listed(const mtls_der_t *chain, size_t chain_length,
                              const mtls_der_t *ca_names, size_t ca_name_count);

#endif /* MTLS_CERTS_H */
