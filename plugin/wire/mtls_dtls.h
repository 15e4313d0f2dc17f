/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The DTLS 1.2 scanner: UDP payloads of one connection in, the engine's events
 * out. Plain C, no Wireshark. Fed one datagram at a time in capture order, it
 * reads the DTLS records of each (RFC 6347 4.1: 13-byte header, several records
 * per datagram), drops duplicated records (same epoch and sequence number),
 * reassembles handshake messages from their fragments per (direction,
 * message_seq) whatever the fragment boundaries of each transmission, delivers
 * each message once (retransmitted flights are dropped; message_seq restarts at
 * 0 with each renegotiation) and converts it to TLS form (4-byte header, the
 * ClientHello without its cookie, DTLS versions as the TLS versions they are
 * based on) so the engine reads it exactly as a TLS 1.2 message over TCP.
 *
 * Records of epoch > 0 are protected: for each one the caller is asked for its
 * plaintext (the DTLS dissector's decrypted record); without it the record gives
 * the same "protected record" events as a TLS 1.2 record after
 * ChangeCipherSpec. UDP has no close: nothing here ends a connection.
 */
#ifndef MTLS_DTLS_H
#define MTLS_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls_engine.h"

/* A message longer than this is kept only as far as its first bytes. */
#define MTLS_DTLS_MAX_MESSAGE (64u * 1024u)
/* Messages being reassembled per direction: how far ahead of the next expected
 * message_seq fragments are kept, and how many bytes they may hold in all. */
#define MTLS_DTLS_MAX_PENDING       8
#define MTLS_DTLS_MAX_PENDING_BYTES (128u * 1024u)

/* A protected record of the datagram, so the caller can find the dissector's
 * plaintext of it. */
typedef struct {
    size_t header_offset; /* of the record's first header byte in the datagram */
    size_t body_offset;   /* of its protected body (after the header and any CID) */
    unsigned index;       /* 0-based among the protected records of this datagram */
    uint8_t content_type;
    uint16_t epoch;
    uint64_t sequence;
    uint16_t length; /* the header's length field */
    uint32_t frame;
} mtls_dtls_protected_record_t;

typedef struct {
    uint8_t content_type;
    const uint8_t *data;
    size_t length;
} mtls_dtls_plaintext_t;

typedef struct {
    /* One event. `message` is the whole handshake message in TLS form (type,
     * 3-byte length, body) for ClientHello, ServerHello, Certificate and
     * CertificateRequest (NULL otherwise; cut at MTLS_DTLS_MAX_MESSAGE);
     * valid during the call only. event->from_server is left false. */
    void (*event)(void *context, unsigned direction, const mtls_event_t *event,
                  const uint8_t *message, size_t message_length);
    /* Decrypted application data; valid during the call only. May be NULL. */
    void (*application_data)(void *context, unsigned direction, uint32_t frame, const uint8_t *data,
                             size_t length);
    /* Fills `plaintext` and returns true when the dissector decrypted `record`.
     * May be NULL (no keys). */
    bool (*plaintext)(void *context, unsigned direction, const mtls_dtls_protected_record_t *record,
                      mtls_dtls_plaintext_t *plaintext);
} mtls_dtls_callbacks_t;

typedef struct {
    unsigned direction; /* 0 or 1: the caller's name for the sender */
    uint32_t frame;
    int64_t time_ns;
    const uint8_t *payload; /* may be NULL when length is 0 */
    size_t length;          /* captured bytes of the UDP payload */
} mtls_dtls_datagram_t;

typedef struct {
    unsigned records;    /* records read */
    unsigned duplicates; /* records dropped as duplicates */
    unsigned events;     /* events reported */
    bool malformed;      /* the datagram held something that is no DTLS record (or a
                            CID record, whose CID length is unknown): read up to there */
} mtls_dtls_result_t;

typedef struct mtls_dtls mtls_dtls_t;

/* Both directions of one connection; NULL on OOM. */
mtls_dtls_t *mtls_dtls_new(void);
void mtls_dtls_free(mtls_dtls_t *dtls);
/* Bytes the scanner holds now. */
size_t mtls_dtls_memory(const mtls_dtls_t *dtls);

/* Reads one datagram and reports its events, in order, through `callbacks`. */
mtls_dtls_result_t mtls_dtls_datagram(mtls_dtls_t *dtls, const mtls_dtls_datagram_t *datagram,
                                      const mtls_dtls_callbacks_t *callbacks, void *context);

#endif /* MTLS_DTLS_H */
