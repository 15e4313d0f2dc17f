/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The QUIC scanner: QUIC packets of one connection in, the engine's events out.
 * Plain C, no Wireshark.
 *
 * Two inputs. mtls_quic_datagram() reads the headers of a UDP datagram's
 * coalesced packets (type, version, Length) without keys: the glue matches the
 * dissector's decrypted payloads to them by length. mtls_quic_packet() reads the
 * frames of one decrypted packet (RFC 9000, 19): CRYPTO data is put back in
 * order per encryption level and direction (out-of-order and repeated ranges,
 * bounded buffers) and cut into TLS handshake messages, which become the same
 * events the TCP scanner reports for TLS 1.3 records after decryption (QUIC is
 * always TLS 1.3; a HelloRetryRequest is a ServerHello). HANDSHAKE_DONE and
 * STREAM data from the server show that it went on; CONNECTION_CLOSE frames are
 * reported once per direction (a closing server repeats them in several packets
 * and datagrams).
 *
 * What a close means: the server's CONNECTION_CLOSE 0x1c before it confirmed
 * the handshake is the outer decision (MTLS_EV_OUTER, MTLS_OUTER_QUIC_CLOSE with
 * its error code: 0x100 + alert for a TLS alert); after its HANDSHAKE_DONE, and
 * any 0x1d (application close), it is a close (MTLS_EV_CLOSE). The client's 0x1c
 * with a crypto error is its fatal alert (MTLS_EV_ALERT); any other client close
 * is MTLS_EV_CLOSE. Post-handshake authentication is forbidden in QUIC (RFC 9001,
 * 4.4): a CertificateRequest in 1-RTT CRYPTO data is still reported as read.
 */
#ifndef MTLS_QUIC_H
#define MTLS_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls_engine.h"

/* Caps: a handshake message longer than this is read only as far as its first
 * bytes; CRYPTO data that comes before the bytes it follows is held up to
 * these limits per level and direction, beyond them it is a gap. */
#define MTLS_QUIC_MAX_BUFFERED_MESSAGE (64u * 1024u)
#define MTLS_QUIC_MAX_EARLY_RANGES     16
#define MTLS_QUIC_MAX_EARLY_BYTES      (64u * 1024u)
/* Packets of one datagram read by mtls_quic_datagram(). */
#define MTLS_QUIC_MAX_PACKETS 16

typedef enum {
    MTLS_QUIC_INITIAL = 0,
    MTLS_QUIC_0RTT,
    MTLS_QUIC_HANDSHAKE,
    MTLS_QUIC_RETRY,
    MTLS_QUIC_1RTT, /* short header */
    MTLS_QUIC_VERSION_NEGOTIATION,
} mtls_quic_packet_type_t;

/* One packet of a datagram, as its header says. */
typedef struct {
    mtls_quic_packet_type_t type;
    uint32_t version;      /* 0 for short-header packets (not in their header) */
    size_t offset;         /* of its first byte in the datagram */
    size_t length;         /* the whole packet, header included */
    uint64_t length_field; /* long header Initial/0-RTT/Handshake: packet number + payload */
    uint8_t dcid_length;
} mtls_quic_header_t;

/* Reads the packet headers of one UDP datagram into `packets` (at most `max`).
 * Returns how many were read. Stops at the end, at a short-header packet (which
 * takes the rest), at a Retry or Version Negotiation packet (ditto), at a
 * version it does not know, or at a header that does not fit. */
size_t mtls_quic_datagram(const uint8_t *datagram, size_t length, mtls_quic_header_t *packets,
                          size_t max);

/* True when `decrypted_length` bytes of plaintext can be the payload of `packet`
 * (its protected part minus a 1-4 byte packet number and the 16-byte AEAD tag). */
bool mtls_quic_payload_fits(const mtls_quic_header_t *packet, size_t decrypted_length);

typedef struct {
    /* One event, with from_server set. `message` is the whole handshake message
     * from its type byte for ClientHello, ServerHello, Certificate,
     * CompressedCertificate and CertificateRequest (NULL otherwise, or cut at
     * MTLS_QUIC_MAX_BUFFERED_MESSAGE); valid during the call only.
     * MTLS_EV_OUTER events carry `outer` and `quic_error`. */
    void (*event)(void *context, const mtls_event_t *event, const uint8_t *message,
                  size_t message_length);
} mtls_quic_callbacks_t;

typedef struct mtls_quic mtls_quic_t;

/* Both directions of one connection; NULL on OOM. */
mtls_quic_t *mtls_quic_new(void);
void mtls_quic_free(mtls_quic_t *quic);
/* Bytes the scanner holds now (state, held-back ranges, buffered messages). */
size_t mtls_quic_memory(const mtls_quic_t *quic);

typedef struct {
    bool from_server;
    mtls_quic_packet_type_t type; /* INITIAL, 0RTT, HANDSHAKE or 1RTT */
    uint32_t frame;
    int64_t time_ns;
    const uint8_t *payload; /* the decrypted frames; may be NULL when length is 0 */
    size_t length;
} mtls_quic_packet_t;

/* What mtls_quic_packet() saw. */
typedef struct {
    unsigned events; /* events reported */
    unsigned frames; /* frames read */
    bool malformed;  /* a frame ran past the payload, or an unknown frame type */
    bool gap;        /* CRYPTO data was lost (a hole the caps could not hold) */
    bool close;      /* a CONNECTION_CLOSE frame was read (first or repeated) */
} mtls_quic_result_t;

/* Feeds one decrypted packet, in capture order. */
mtls_quic_result_t mtls_quic_packet(mtls_quic_t *quic, const mtls_quic_packet_t *packet,
                                    const mtls_quic_callbacks_t *callbacks, void *context);

/* True once either side sent a CONNECTION_CLOSE: the sender is closing, its peer
 * draining (RFC 9000, 10.2), nothing after it changes a decision. */
bool mtls_quic_closed(const mtls_quic_t *quic);

/* True once the server confirmed the handshake (HANDSHAKE_DONE). */
bool mtls_quic_confirmed(const mtls_quic_t *quic);

/* Reads a QUIC variable-length integer (RFC 9000, 16) at *offset; advances it.
 * False when it does not fit. */
bool mtls_quic_varint(const uint8_t *bytes, size_t length, size_t *offset, uint64_t *value);

#endif /* MTLS_QUIC_H */
