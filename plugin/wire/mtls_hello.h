/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the engine needs of a ClientHello or ServerHello, read from the message's
 * bytes. Plain C, no Wireshark: the glue hands over the bytes of the TLS
 * dissector's tls.handshake item. Reading these few values here, instead of
 * asking tshark for the fields (every cipher suite and extension of every
 * ClientHello would be created as a field), keeps the plugin cheaper.
 */
#ifndef MTLS_HELLO_H
#define MTLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    MTLS_HS_CLIENT_HELLO = 1,
    MTLS_HS_SERVER_HELLO = 2,
};

typedef struct {
    uint16_t legacy_version;     /* the hello's version field (0x0303 in TLS 1.3) */
    uint16_t selected_version;   /* ServerHello supported_versions, 0 when absent */
    uint16_t cipher_suite;       /* ServerHello */
    uint16_t server_name_length; /* ClientHello server_name (host_name), 0 when absent */
    uint32_t server_name_offset; /* ... from the start of the message */
    bool hello_retry;            /* ServerHello with the HelloRetryRequest random */
    bool psk_accepted;           /* ServerHello pre_shared_key */
    bool pha_offered;            /* ClientHello post_handshake_auth */
} mtls_hello_t;

/* `message` is a whole handshake message from its type byte (as long as it was
 * captured). Fills `hello` with what it holds, zero for the rest; returns false
 * when it is not a ClientHello or ServerHello, or is malformed or cut short (what
 * was read before that point is kept). */
bool mtls_hello_parse(const uint8_t *message, size_t length, mtls_hello_t *hello);

#endif /* MTLS_HELLO_H */
