/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One whole TLS handshake message as the engine's event (mtls_handshake.h).
 */
#include "mtls_handshake.h"

#include "mtls_hello.h"

#define TLS13_VERSION    0x0304
#define HANDSHAKE_HEADER 4

bool mtls_handshake_read_whole(uint8_t type)
{
    return type == MTLS_HANDSHAKE_CLIENT_HELLO || type == MTLS_HANDSHAKE_SERVER_HELLO ||
           type == MTLS_HANDSHAKE_CERTIFICATE || type == MTLS_HANDSHAKE_COMPRESSED_CERTIFICATE ||
           type == MTLS_HANDSHAKE_CERTIFICATE_REQUEST;
}

static uint32_t get24(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 16 | (uint32_t)bytes[1] << 8 | bytes[2];
}

/* A Certificate message (from its type byte) with an empty certificate_list. */
static bool certificate_empty(const uint8_t *message, size_t length, bool tls13)
{
    size_t list = HANDSHAKE_HEADER;
    if (tls13) {
        if (length <= list)
            return false;
        list += 1u + message[list]; /* certificate_request_context */
    }
    return length >= list + 3 && get24(message + list) == 0;
}

bool mtls_handshake_event(uint8_t type, const uint8_t *message, size_t length, bool tls13,
                          mtls_event_t *event)
{
    mtls_hello_t hello;
    event->type = MTLS_EV_OTHER_HANDSHAKE;
    switch (type) {
    case MTLS_HANDSHAKE_HELLO_REQUEST: event->type = MTLS_EV_HELLO_REQUEST; break;
    case MTLS_HANDSHAKE_CLIENT_HELLO:
        event->type = MTLS_EV_CLIENT_HELLO;
        mtls_hello_parse(message, length, &hello);
        event->pha_offered = hello.pha_offered;
        break;
    case MTLS_HANDSHAKE_SERVER_HELLO:
        event->type = MTLS_EV_SERVER_HELLO;
        mtls_hello_parse(message, length, &hello);
        event->tls13 = hello.selected_version == TLS13_VERSION;
        event->version = event->tls13 ? TLS13_VERSION : hello.legacy_version;
        event->cipher_suite = hello.cipher_suite;
        event->psk_accepted = hello.psk_accepted;
        event->hello_retry = hello.hello_retry;
        return event->tls13;
    case MTLS_HANDSHAKE_NEW_SESSION_TICKET: event->type = MTLS_EV_NEW_SESSION_TICKET; break;
    case MTLS_HANDSHAKE_CERTIFICATE:
        event->type = MTLS_EV_CERTIFICATE;
        event->empty = certificate_empty(message, length, tls13);
        break;
    case MTLS_HANDSHAKE_COMPRESSED_CERTIFICATE: event->type = MTLS_EV_CERTIFICATE; break;
    case MTLS_HANDSHAKE_CERTIFICATE_REQUEST:
        event->type = MTLS_EV_CERTIFICATE_REQUEST;
        if (tls13 && length > HANDSHAKE_HEADER)
            event->context_length = message[HANDSHAKE_HEADER];
        break;
    case MTLS_HANDSHAKE_SERVER_HELLO_DONE: event->type = MTLS_EV_SERVER_HELLO_DONE; break;
    case MTLS_HANDSHAKE_CERTIFICATE_VERIFY: event->type = MTLS_EV_CERTIFICATE_VERIFY; break;
    case MTLS_HANDSHAKE_CLIENT_KEY_EXCHANGE: event->type = MTLS_EV_CLIENT_KEY_EXCHANGE; break;
    case MTLS_HANDSHAKE_FINISHED: event->type = MTLS_EV_FINISHED; break;
    default: break;
    }
    return false;
}
