/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One whole TLS handshake message (TLS form: type byte, 3-byte length, body) as
 * the engine's event: what the TLS stream scanner and the QUIC scanner (CRYPTO
 * data) report for each message they read. Plain C, no Wireshark.
 */
#ifndef MTLS_HANDSHAKE_H
#define MTLS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls_engine.h"

/* Handshake message types (RFC 5246 7.4, RFC 6347 4.3.2, RFC 8446 4, RFC 8879). */
enum {
    MTLS_HANDSHAKE_HELLO_REQUEST = 0,
    MTLS_HANDSHAKE_CLIENT_HELLO = 1,
    MTLS_HANDSHAKE_SERVER_HELLO = 2,
    MTLS_HANDSHAKE_HELLO_VERIFY_REQUEST = 3,
    MTLS_HANDSHAKE_NEW_SESSION_TICKET = 4,
    MTLS_HANDSHAKE_CERTIFICATE = 11,
    MTLS_HANDSHAKE_CERTIFICATE_REQUEST = 13,
    MTLS_HANDSHAKE_SERVER_HELLO_DONE = 14,
    MTLS_HANDSHAKE_CERTIFICATE_VERIFY = 15,
    MTLS_HANDSHAKE_CLIENT_KEY_EXCHANGE = 16,
    MTLS_HANDSHAKE_FINISHED = 20,
    MTLS_HANDSHAKE_COMPRESSED_CERTIFICATE = 25,
};

/* The messages read whole (hellos, Certificate, CertificateRequest): the engine
 * and the diagnosis read their bytes; the others only their type. */
bool mtls_handshake_read_whole(uint8_t type);

/* Sets event->type and what the engine reads of the message (hellos: version,
 * cipher suite, PSK, HelloRetryRequest, post_handshake_auth; Certificate:
 * empty; CertificateRequest: TLS 1.3 context length) from `message` (as much of
 * it as was kept). `tls13`: the connection negotiated TLS 1.3 (the Certificate
 * and CertificateRequest layouts). An unknown type is MTLS_EV_OTHER_HANDSHAKE.
 * The event's other fields are the caller's. Returns true for a ServerHello that
 * selects TLS 1.3. */
bool mtls_handshake_event(uint8_t type, const uint8_t *message, size_t length, bool tls13,
                          mtls_event_t *event);

#endif /* MTLS_HANDSHAKE_H */
