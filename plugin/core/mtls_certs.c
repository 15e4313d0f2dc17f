/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_certs.c: the client's certificates, read with GnuTLS's x509 API.
 */
#include "mtls_certs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* GnuTLS datums are its own allocations: copy into a NUL-terminated malloc'd string. */
static char *datum_string(gnutls_datum_t *datum)
{
    char *text = malloc(datum->size + 1);
    if (text) {
        memcpy(text, datum->data, datum->size);
        text[datum->size] = '\0';
    }
    gnutls_free(datum->data);
    datum->data = NULL;
    return text;
}

static gnutls_x509_crt_t import_der(const uint8_t *der, size_t length)
{
    gnutls_x509_crt_t crt;
    if (!der || length == 0 || length > UINT32_MAX || gnutls_x509_crt_init(&crt) < 0)
        return NULL;
    gnutls_datum_t datum = {(unsigned char *)der, (unsigned int)length};
    if (gnutls_x509_crt_import(crt, &datum, GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        return NULL;
    }
    return crt;
}

/* The INTEGER's value in hex, as `openssl x509 -serial` prints it. */
static char *serial_hex(gnutls_x509_crt_t crt)
{
    unsigned char serial[64]; /* RFC 5280 allows 20 octets; some CAs send a few more */
    size_t size = sizeof(serial);
    if (gnutls_x509_crt_get_serial(crt, serial, &size) < 0 || size == 0)
        return NULL;
    size_t first = 0;
    while (first + 1 < size && serial[first] == 0)
        first++;
    char *hex = malloc(2 * (size - first) + 1);
    if (!hex)
        return NULL;
    for (size_t i = first; i < size; i++)
        snprintf(hex + 2 * (i - first), 3, "%02X", serial[i]);
    return hex;
}

static const char *curve_name(gnutls_ecc_curve_t curve)
{
    switch (curve) {
    case GNUTLS_ECC_CURVE_SECP256R1: return "P-256";
    case GNUTLS_ECC_CURVE_SECP384R1: return "P-384";
    case GNUTLS_ECC_CURVE_SECP521R1: return "P-521";
    default: {
        const char *name = gnutls_ecc_curve_get_name(curve);
        return name ? name : "unknown curve";
    }
    }
}

static void describe_key(gnutls_x509_crt_t crt, char *key, size_t size)
{
    unsigned int bits = 0;
    int algorithm = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    gnutls_datum_t x = {NULL, 0}, y = {NULL, 0};
    switch (algorithm) {
    case GNUTLS_PK_RSA: snprintf(key, size, "RSA %u", bits); break;
    case GNUTLS_PK_RSA_PSS: snprintf(key, size, "RSA-PSS %u", bits); break;
    case GNUTLS_PK_DSA: snprintf(key, size, "DSA %u", bits); break;
    case GNUTLS_PK_ECDSA:
        if (gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y) >= 0) {
            gnutls_free(x.data);
            gnutls_free(y.data);
        }
        snprintf(key, size, "EC %s", curve_name(curve));
        break;
    case GNUTLS_PK_EDDSA_ED25519: snprintf(key, size, "Ed25519"); break;
    case GNUTLS_PK_EDDSA_ED448: snprintf(key, size, "Ed448"); break;
    default: {
        const char *name = algorithm > 0 ? gnutls_pk_get_name(algorithm) : NULL;
        snprintf(key, size, "%s", name ? name : "unknown");
        break;
    }
    }
}

static void read_key_purposes(gnutls_x509_crt_t crt, mtls_cert_info_t *info)
{
    for (unsigned index = 0;; index++) {
        char oid[128];
        size_t size = sizeof(oid);
        int result = gnutls_x509_crt_get_key_purpose_oid(crt, index, oid, &size, NULL);
        if (result == GNUTLS_E_SHORT_MEMORY_BUFFER) {
            info->has_eku = true; /* an OID too long to be clientAuth */
            continue;
        }
        if (result < 0)
            return;
        info->has_eku = true;
        if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
            info->eku_client_auth = true;
    }
}

/* Certificates by their bytes: captures repeat the same few client
 * certificates, and a GnuTLS import (or even its SHA-256) costs far more than a
 * look at a few bytes and one memcmp. The index is weak: it holds no reference,
 * an entry leaves it when its last holder lets it go, so each distinct
 * certificate is kept once, for as long as anyone holds it. Buckets double
 * when they hold more entries than there are buckets. */
#define CERT_FIRST_BUCKETS 64u

struct mtls_cert {
    mtls_cert_info_t info;  /* first: a pointer to the info is a pointer to the entry */
    struct mtls_cert *next; /* the next entry of its bucket */
    uint32_t hash;
    unsigned references;
    bool indexed;  /* in the index (not after mtls_cert_cache_clear) */
    bool parsed;   /* info was read (mtls_cert_info) */
    bool parse_ok; /* ... and GnuTLS could parse it */
    size_t der_length;
    uint8_t der[]; /* the certificate, to tell a hit from a collision */
};
typedef struct mtls_cert cert_entry_t;

/* From the length and the last bytes (the signature: as good as random). */
static uint32_t cert_hash(const uint8_t *der, size_t length)
{
    uint32_t hash = 2166136261u ^ (uint32_t)length;
    size_t tail = length < 16 ? length : 16;
    for (size_t i = length - tail; i < length; i++)
        hash = (hash ^ der[i]) * 16777619u;
    return hash;
}

static cert_entry_t **cert_buckets;
static size_t cert_bucket_count; /* a power of two, or 0 */
static size_t cert_entry_count;  /* entries in the index */

static void *copy_bytes(const void *bytes, size_t size)
{
    void *copy = bytes ? malloc(size) : NULL;
    if (copy)
        memcpy(copy, bytes, size);
    return copy;
}

static char *copy_string(const char *text)
{
    return text ? copy_bytes(text, strlen(text) + 1) : NULL;
}

static void index_remove(cert_entry_t *entry)
{
    cert_entry_t **link = &cert_buckets[entry->hash & (cert_bucket_count - 1)];
    while (*link && *link != entry)
        link = &(*link)->next;
    if (*link) {
        *link = entry->next;
        cert_entry_count--;
    }
    entry->indexed = false;
}

/* Twice the buckets; on no memory the chains just grow longer. */
static void index_grow(void)
{
    size_t count = cert_bucket_count ? cert_bucket_count * 2 : CERT_FIRST_BUCKETS;
    cert_entry_t **buckets = calloc(count, sizeof(*buckets));
    if (!buckets)
        return;
    for (size_t i = 0; i < cert_bucket_count; i++)
        for (cert_entry_t *entry = cert_buckets[i], *next; entry; entry = next) {
            next = entry->next;
            entry->next = buckets[entry->hash & (count - 1)];
            buckets[entry->hash & (count - 1)] = entry;
        }
    free(cert_buckets);
    cert_buckets = buckets;
    cert_bucket_count = count;
}

static void entry_release(cert_entry_t *entry)
{
    if (entry && --entry->references == 0) {
        if (entry->indexed)
            index_remove(entry);
        mtls_cert_info_clear(&entry->info);
        free(entry);
    }
}

void mtls_cert_release(const mtls_cert_info_t *info)
{
    entry_release((cert_entry_t *)(uintptr_t)info);
}

void mtls_cert_cache_clear(void)
{
    for (size_t i = 0; i < cert_bucket_count; i++)
        for (cert_entry_t *entry = cert_buckets[i]; entry; entry = entry->next)
            entry->indexed = false;
    free(cert_buckets);
    cert_buckets = NULL;
    cert_bucket_count = 0;
    cert_entry_count = 0;
}

static bool cert_parse_uncached(const uint8_t *der, size_t length, mtls_cert_info_t *info);

const mtls_cert_t *mtls_cert_ref(const uint8_t *der, size_t length)
{
    if (!der || length == 0 || length > UINT32_MAX)
        return NULL;
    uint32_t hash = cert_hash(der, length);
    if (cert_bucket_count)
        for (cert_entry_t *entry = cert_buckets[hash & (cert_bucket_count - 1)]; entry;
             entry = entry->next)
            if (entry->hash == hash && entry->der_length == length &&
                memcmp(entry->der, der, length) == 0) {
                entry->references++;
                return entry;
            }
    if (cert_entry_count >= cert_bucket_count)
        index_grow();
    cert_entry_t *entry = calloc(1, sizeof(*entry) + length);
    if (!entry)
        return NULL;
    entry->hash = hash;
    entry->der_length = length;
    memcpy(entry->der, der, length);
    entry->references = 1;
    if (cert_bucket_count) {
        cert_entry_t **bucket = &cert_buckets[hash & (cert_bucket_count - 1)];
        entry->next = *bucket;
        *bucket = entry;
        entry->indexed = true;
        cert_entry_count++;
    }
    return entry;
}

const mtls_cert_info_t *mtls_cert_info(const mtls_cert_t *cert)
{
    if (!cert)
        return NULL;
    /* The cache's own entry: parsing fills it in once, for every holder. */
    cert_entry_t *entry = (cert_entry_t *)(uintptr_t)cert;
    if (!entry->parsed) {
        entry->parse_ok = cert_parse_uncached(entry->der, entry->der_length, &entry->info);
        entry->parsed = true;
    }
    return entry->parse_ok ? &entry->info : NULL;
}

void mtls_cert_unref(const mtls_cert_t *cert)
{
    entry_release((cert_entry_t *)(uintptr_t)cert);
}

const mtls_cert_info_t *mtls_cert_get(const uint8_t *der, size_t length)
{
    const mtls_cert_t *cert = mtls_cert_ref(der, length);
    const mtls_cert_info_t *info = mtls_cert_info(cert);
    if (!info)
        mtls_cert_unref(cert);
    return info; /* the entry itself: info is its first member */
}

/* One DER tag-length-value at `bytes` (single-byte tags, definite lengths of up
 * to 4 bytes): its tag, header size and content size, all within `available`. */
static bool der_element(const uint8_t *bytes, size_t available, uint8_t *tag, size_t *header,
                        size_t *content)
{
    if (available < 2)
        return false;
    size_t length = bytes[1], used = 2;
    if (length & 0x80) {
        size_t count = length & 0x7f;
        if (count == 0 || count > 4 || available < 2 + count)
            return false;
        length = 0;
        for (size_t i = 0; i < count; i++)
            length = (length << 8) | bytes[2 + i];
        used += count;
    }
    if (length > available - used)
        return false;
    *tag = bytes[0];
    *header = used;
    *content = length;
    return true;
}

bool mtls_cert_issuer_der(const uint8_t *der, size_t length, mtls_der_t *issuer)
{
    /* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
     * serialNumber INTEGER, signature AlgorithmIdentifier, issuer Name, ... } } */
    uint8_t tag;
    size_t header, content;
    if (!der || !der_element(der, length, &tag, &header, &content) || tag != 0x30)
        return false;
    const uint8_t *at = der + header;
    size_t left = content;
    if (!der_element(at, left, &tag, &header, &content) || tag != 0x30)
        return false;
    at += header;
    left = content;
    if (!der_element(at, left, &tag, &header, &content))
        return false;
    if (tag == 0xa0) { /* version */
        at += header + content;
        left -= header + content;
        if (!der_element(at, left, &tag, &header, &content))
            return false;
    }
    if (tag != 0x02) /* serialNumber */
        return false;
    at += header + content;
    left -= header + content;
    if (!der_element(at, left, &tag, &header, &content) || tag != 0x30) /* signature */
        return false;
    at += header + content;
    left -= header + content;
    if (!der_element(at, left, &tag, &header, &content) || tag != 0x30) /* issuer */
        return false;
    issuer->data = at;
    issuer->length = header + content;
    return true;
}

bool mtls_cert_parse(const uint8_t *der, size_t length, mtls_cert_info_t *info)
{
    memset(info, 0, sizeof(*info));
    const mtls_cert_info_t *shared = mtls_cert_get(der, length);
    if (!shared)
        return false;
    *info = *shared;
    info->subject = copy_string(shared->subject);
    info->issuer = copy_string(shared->issuer);
    info->serial = copy_string(shared->serial);
    info->issuer_der = copy_bytes(shared->issuer_der, shared->issuer_der_length);
    if (!info->issuer_der)
        info->issuer_der_length = 0;
    mtls_cert_release(shared);
    return true;
}

static bool cert_parse_uncached(const uint8_t *der, size_t length, mtls_cert_info_t *info)
{
    memset(info, 0, sizeof(*info));
    gnutls_x509_crt_t crt = import_der(der, length);
    if (!crt)
        return false;
    gnutls_datum_t name = {NULL, 0};
    if (gnutls_x509_crt_get_dn3(crt, &name, 0) >= 0)
        info->subject = datum_string(&name);
    if (gnutls_x509_crt_get_issuer_dn3(crt, &name, 0) >= 0)
        info->issuer = datum_string(&name);
    info->serial = serial_hex(crt);
    info->not_before = gnutls_x509_crt_get_activation_time(crt);
    info->not_after = gnutls_x509_crt_get_expiration_time(crt);
    gnutls_datum_t whole = {(unsigned char *)der, (unsigned int)length};
    size_t digest_size = sizeof(info->sha256);
    if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &whole, info->sha256, &digest_size) < 0)
        memset(info->sha256, 0, sizeof(info->sha256));
    describe_key(crt, info->key, sizeof(info->key));
    read_key_purposes(crt, info);
    gnutls_datum_t issuer = {NULL, 0};
    if (gnutls_x509_crt_get_raw_issuer_dn(crt, &issuer) >= 0) {
        info->issuer_der_length = issuer.size;
        info->issuer_der = (uint8_t *)datum_string(&issuer); /* NUL-terminated, harmless */
        if (!info->issuer_der)
            info->issuer_der_length = 0;
    }
    gnutls_x509_crt_deinit(crt);
    return true;
}

void mtls_cert_info_clear(mtls_cert_info_t *info)
{
    free(info->subject);
    free(info->issuer);
    free(info->serial);
    free(info->issuer_der);
    memset(info, 0, sizeof(*info));
}

bool mtls_cert_allows_client_auth(const mtls_cert_info_t *info)
{
    return !info->has_eku || info->eku_client_auth;
}

bool mtls_chain_issuer_listed(const mtls_der_t *chain, size_t chain_length,
                              const mtls_der_t *ca_names, size_t ca_name_count)
{
    for (size_t i = 0; i < chain_length; i++) {
        mtls_der_t issuer;
        if (!mtls_cert_issuer_der(chain[i].data, chain[i].length, &issuer))
            continue;
        for (size_t j = 0; j < ca_name_count; j++)
            if (ca_names[j].length == issuer.length &&
                memcmp(ca_names[j].data, issuer.data, issuer.length) == 0)
                return true;
    }
    return false;
}
