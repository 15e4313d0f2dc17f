/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_hello.c: ClientHello and ServerHello, read from their bytes (RFC 8446
 * 4.1.2, 4.1.3; RFC 5246 7.4.1). Every read is bounds-checked: the bytes come
 * from the wire.
 */
#include "mtls_hello.h"

#include <string.h>

enum {
    EXT_SERVER_NAME = 0,
    EXT_PRE_SHARED_KEY = 41,
    EXT_SUPPORTED_VERSIONS = 43,
    EXT_POST_HANDSHAKE_AUTH = 49,
};
#define HOST_NAME 0

/* RFC 8446 4.1.3: the ServerHello random that marks a HelloRetryRequest. */
static const uint8_t hello_retry_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/* A window on the message: reads past its end fail and leave it empty. */
typedef struct {
    const uint8_t *data;
    size_t offset; /* of the next byte, from the message's start */
    size_t end;
} reader_t;

static bool take(reader_t *r, size_t count, const uint8_t **bytes)
{
    if (count > r->end - r->offset) {
        r->offset = r->end;
        return false;
    }
    *bytes = r->data + r->offset;
    r->offset += count;
    return true;
}

static bool read_u8(reader_t *r, size_t *value)
{
    const uint8_t *p;
    if (!take(r, 1, &p))
        return false;
    *value = p[0];
    return true;
}

static bool read_u16(reader_t *r, size_t *value)
{
    const uint8_t *p;
    if (!take(r, 2, &p))
        return false;
    *value = (size_t)p[0] << 8 | p[1];
    return true;
}

/* A length-prefixed vector: `inner` covers its content, `r` moves past it. */
static bool vector(reader_t *r, size_t length_bytes, reader_t *inner)
{
    size_t length;
    if (!(length_bytes == 1 ? read_u8(r, &length) : read_u16(r, &length)))
        return false;
    const uint8_t *bytes;
    if (!take(r, length, &bytes))
        return false;
    *inner = (reader_t){r->data, r->offset - length, r->offset};
    return true;
}

static void read_server_name(reader_t extension, mtls_hello_t *hello)
{
    reader_t list;
    if (!vector(&extension, 2, &list))
        return;
    while (list.offset < list.end) {
        size_t type;
        reader_t name;
        if (!read_u8(&list, &type) || !vector(&list, 2, &name))
            return;
        if (type == HOST_NAME && name.end > name.offset) {
            hello->server_name_offset = (uint32_t)name.offset;
            hello->server_name_length = (uint16_t)(name.end - name.offset);
            return;
        }
    }
}

static bool read_extensions(reader_t *r, bool server, mtls_hello_t *hello)
{
    if (r->offset == r->end)
        return true; /* TLS 1.2 allows a hello without extensions */
    reader_t list;
    if (!vector(r, 2, &list))
        return false;
    while (list.offset < list.end) {
        size_t type;
        reader_t body;
        if (!read_u16(&list, &type) || !vector(&list, 2, &body))
            return false;
        size_t value;
        switch (type) {
        case EXT_SERVER_NAME:
            if (!server && !hello->server_name_length)
                read_server_name(body, hello);
            break;
        case EXT_POST_HANDSHAKE_AUTH:
            if (!server)
                hello->pha_offered = true;
            break;
        case EXT_PRE_SHARED_KEY:
            if (server)
                hello->psk_accepted = true;
            break;
        case EXT_SUPPORTED_VERSIONS:
            if (server && read_u16(&body, &value))
                hello->selected_version = (uint16_t)value;
            break;
        default: break;
        }
    }
    return true;
}

bool mtls_hello_parse(const uint8_t *message, size_t length, mtls_hello_t *hello)
{
    memset(hello, 0, sizeof(*hello));
    if (!message || length < 4 || length > UINT32_MAX)
        return false;
    uint8_t type = message[0];
    if (type != MTLS_HS_CLIENT_HELLO && type != MTLS_HS_SERVER_HELLO)
        return false;
    bool server = type == MTLS_HS_SERVER_HELLO;
    size_t body_length = (size_t)message[1] << 16 | (size_t)message[2] << 8 | message[3];
    /* The body as far as it was captured. */
    reader_t r = {message, 4, body_length < length - 4 ? 4 + body_length : length};
    bool whole = body_length <= length - 4;

    size_t version;
    const uint8_t *random;
    reader_t skipped;
    if (!read_u16(&r, &version))
        return false;
    hello->legacy_version = (uint16_t)version;
    if (!take(&r, sizeof(hello_retry_random), &random))
        return false;
    hello->hello_retry =
        server && memcmp(random, hello_retry_random, sizeof(hello_retry_random)) == 0;
    if (!vector(&r, 1, &skipped)) /* session id */
        return false;
    if (server) {
        size_t suite, compression;
        if (!read_u16(&r, &suite))
            return false;
        hello->cipher_suite = (uint16_t)suite;
        if (!read_u8(&r, &compression))
            return false;
    } else if (!vector(&r, 2, &skipped) || !vector(&r, 1, &skipped)) {
        return false; /* cipher suites, compression methods */
    }
    return read_extensions(&r, server, hello) && whole;
}
