/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_messages.c: Certificate and CertificateRequest, read from their bytes
 * (RFC 5246 7.4.2, 7.4.4; RFC 8446 4.2.4, 4.3.2, 4.4.2). Every length comes from
 * the wire: each is checked against the part that holds it, and each read
 * against the bytes that were captured.
 */
#include "mtls_messages.h"

#include <string.h>

#define EXT_CERTIFICATE_AUTHORITIES 47

/* A part of the message: a vector's content, or the whole body. A part may go
 * on past the capture; reads there fail, and so do reads past its end. */
typedef struct {
    const uint8_t *data;
    size_t offset;   /* of the next byte, from the message's start; at most `end` */
    size_t end;      /* of the part, as its length field says */
    size_t captured; /* end of the part's bytes at hand, at most `end` */
} reader_t;

static bool take(reader_t *r, size_t count, const uint8_t **bytes)
{
    if (count > r->end - r->offset || r->offset + count > r->captured)
        return false;
    *bytes = r->data + r->offset;
    r->offset += count;
    return true;
}

/* A big-endian length of 1 to 3 bytes. */
static bool read_length(reader_t *r, size_t length_bytes, size_t *value)
{
    const uint8_t *p;
    if (!take(r, length_bytes, &p))
        return false;
    *value = 0;
    for (size_t i = 0; i < length_bytes; i++)
        *value = *value << 8 | p[i];
    return true;
}

/* A length-prefixed vector: `inner` covers its content, which must fit in `r`
 * but may be cut by the capture; `r` moves past it. */
static bool vector(reader_t *r, size_t length_bytes, reader_t *inner)
{
    size_t length;
    if (!read_length(r, length_bytes, &length) || length > r->end - r->offset)
        return false;
    size_t end = r->offset + length;
    *inner = (reader_t){r->data, r->offset, end, r->captured < end ? r->captured : end};
    r->offset = end;
    return true;
}

/* A length-prefixed blob read whole. */
static bool blob(reader_t *r, size_t length_bytes, mtls_der_t *der)
{
    size_t length;
    if (!read_length(r, length_bytes, &length) || !take(r, length, &der->data))
        return false;
    der->length = length;
    return true;
}

static void store(mtls_der_t *array, size_t capacity, size_t *count, size_t *total, mtls_der_t der)
{
    if (*count < capacity && array)
        array[(*count)++] = der;
    (*total)++;
}

/* The body of a handshake message of `type`, as far as it was captured. */
static bool open_body(const uint8_t *message, size_t length, uint8_t type, reader_t *body)
{
    if (!message || length < 4 || message[0] != type)
        return false;
    size_t body_length = (size_t)message[1] << 16 | (size_t)message[2] << 8 | message[3];
    size_t end = 4 + body_length;
    *body = (reader_t){message, 4, end, length < end ? length : end};
    return true;
}

/* Read to its end, and all of it was captured. */
static bool finished(const reader_t *body)
{
    return body->offset == body->end && body->captured == body->end;
}

bool mtls_certificate_parse(const uint8_t *message, size_t length, bool tls13, mtls_der_t *chain,
                            size_t capacity, mtls_certificate_msg_t *out)
{
    memset(out, 0, sizeof(*out));
    reader_t body, context, list, extensions;
    if (!open_body(message, length, MTLS_HS_CERTIFICATE, &body))
        return false;
    if (tls13 && !vector(&body, 1, &context))
        return false;
    if (!vector(&body, 3, &list))
        return false;
    out->empty = list.end == list.offset;
    while (list.offset < list.end) {
        mtls_der_t der;
        if (!blob(&list, 3, &der))
            return false;
        store(chain, capacity, &out->count, &out->total, der);
        /* TLS 1.3 CertificateEntry extensions (status_request, SCTs): skipped. */
        if (tls13 && !vector(&list, 2, &extensions))
            return false;
    }
    out->complete = finished(&body);
    return out->complete;
}

/* The DistinguishedName list: uint16 length, then names of uint16 length + DER. */
static bool read_ca_list(reader_t *r, mtls_der_t *names, size_t capacity,
                         mtls_certificate_request_msg_t *out)
{
    reader_t list;
    if (!vector(r, 2, &list))
        return false;
    out->has_ca_list = true;
    out->ca_list_length = (uint32_t)(list.end - list.offset);
    while (list.offset < list.end) {
        mtls_der_t name;
        if (!blob(&list, 2, &name))
            return false;
        store(names, capacity, &out->count, &out->total, name);
    }
    return true;
}

/* TLS 1.0 and 1.1 requests have no signature_algorithms: the vector after the
 * certificate types is then the DistinguishedName list, and ends the message,
 * where a TLS 1.2 request needs two more bytes at least. Unreadable or cut
 * before that: read as TLS 1.2. */
static bool has_signature_algorithms(reader_t body)
{
    reader_t types, next;
    if (!vector(&body, 1, &types) || !vector(&body, 2, &next))
        return true;
    return body.offset != body.end;
}

static bool read_tls12_request(reader_t *body, mtls_der_t *names, size_t capacity,
                               mtls_certificate_request_msg_t *out)
{
    reader_t types, algorithms;
    bool with_algorithms = has_signature_algorithms(*body);
    return vector(body, 1, &types) && (!with_algorithms || vector(body, 2, &algorithms)) &&
           read_ca_list(body, names, capacity, out);
}

static bool read_tls13_request(reader_t *body, mtls_der_t *names, size_t capacity,
                               mtls_certificate_request_msg_t *out)
{
    reader_t context, extensions;
    if (!vector(body, 1, &context))
        return false;
    out->context_length = (uint8_t)(context.end - context.offset);
    if (!vector(body, 2, &extensions))
        return false;
    while (extensions.offset < extensions.end) {
        size_t type;
        reader_t extension;
        if (!read_length(&extensions, 2, &type) || !vector(&extensions, 2, &extension))
            return false;
        /* A second certificate_authorities is not allowed: the first one counts. */
        if (type == EXT_CERTIFICATE_AUTHORITIES && !out->has_ca_list &&
            !(read_ca_list(&extension, names, capacity, out) && extension.offset == extension.end))
            return false;
    }
    return true;
}

bool mtls_certificate_request_parse(const uint8_t *message, size_t length, bool tls13,
                                    mtls_der_t *names, size_t capacity,
                                    mtls_certificate_request_msg_t *out)
{
    memset(out, 0, sizeof(*out));
    reader_t body;
    if (!open_body(message, length, MTLS_HS_CERTIFICATE_REQUEST, &body))
        return false;
    bool read = tls13 ? read_tls13_request(&body, names, capacity, out)
                      : read_tls12_request(&body, names, capacity, out);
    out->complete = read && finished(&body);
    return out->complete;
}
