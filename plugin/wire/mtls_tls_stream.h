/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The TLS stream scanner: TCP payload of one connection in, the engine's events
 * out. Plain C, no Wireshark. Fed one segment at a time in capture order, it
 * puts each direction back in sequence order (retransmissions and duplicates
 * dropped, overlaps trimmed, a few segments that came early held back), reads
 * record headers, plaintext handshake messages across segment and record
 * boundaries, alerts and ChangeCipherSpec, and counts protected records for
 * inference. It never copies the stream: only the messages the engine and the
 * diagnosis read whole (hellos, Certificate, CertificateRequest) are buffered,
 * under hard caps, and freed once read.
 *
 * Protected records are not decrypted here: for each one completed by the
 * segment, the caller is asked for its plaintext (the TLS dissector's
 * decrypted record) and the scanner reads that as if it had been in clear.
 *
 * After a gap (a lost segment, a capture that starts mid-stream) the scanner
 * resynchronises on a plausible record header and reports the gap; it never
 * invents what it did not see.
 */
#ifndef MTLS_TLS_STREAM_H
#define MTLS_TLS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls_engine.h"

/* Caps: a message longer than this is read only as far as its first bytes. */
#define MTLS_TLS_MAX_BUFFERED_MESSAGE (64u * 1024u)
/* Segments that arrived before the ones they follow, held back per direction. */
#define MTLS_TLS_MAX_EARLY_SEGMENTS 8
#define MTLS_TLS_MAX_EARLY_BYTES    (64u * 1024u)

enum {
    MTLS_TCP_FIN = 0x01,
    MTLS_TCP_SYN = 0x02,
    MTLS_TCP_RST = 0x04,
};

/* A protected record the segment completed: where it was, so the caller can
 * find the dissector's plaintext of it. */
typedef struct {
    /* Offset of the record's first header byte from the start of this call's
     * payload, in stream order: negative when the record began in an earlier
     * segment (the dissector then read it from reassembled data), at or past the
     * payload's length when it came from a held-back segment this one released. */
    int64_t header_offset;
    unsigned index;       /* 0-based among the protected records completed by this call */
    uint8_t content_type; /* outer type from the header */
    uint16_t length;      /* the header's length field */
    uint32_t frame;       /* the frame whose segment completed it */
} mtls_tls_protected_record_t;

/* The plaintext of a protected record: content type (TLS 1.3 inner type) and bytes. */
typedef struct {
    uint8_t content_type;
    const uint8_t *data;
    size_t length;
} mtls_tls_plaintext_t;

typedef struct {
    /* One event. `message` is the whole handshake message from its type byte for
     * ClientHello, ServerHello, Certificate, CompressedCertificate and
     * CertificateRequest (NULL otherwise, or cut at MTLS_TLS_MAX_BUFFERED_MESSAGE:
     * `message_length` then is what was kept); valid during the call only.
     * event->from_server is left false: the scanner knows directions only as 0
     * and 1 (`direction`, as passed to mtls_tls_stream_segment). */
    void (*event)(void *context, unsigned direction, const mtls_event_t *event,
                  const uint8_t *message, size_t message_length);
    /* Decrypted application data, in order; valid during the call only. May be NULL. */
    void (*application_data)(void *context, unsigned direction, uint32_t frame, const uint8_t *data,
                             size_t length);
    /* Fills `plaintext` and returns true when the dissector decrypted `record`.
     * May be NULL (no keys). */
    bool (*plaintext)(void *context, unsigned direction, const mtls_tls_protected_record_t *record,
                      mtls_tls_plaintext_t *plaintext);
} mtls_tls_stream_callbacks_t;

typedef struct mtls_tls_stream mtls_tls_stream_t;

/* Both directions of one connection; NULL on OOM. */
mtls_tls_stream_t *mtls_tls_stream_new(void);
void mtls_tls_stream_free(mtls_tls_stream_t *stream);
/* Bytes the scanner holds now (state, held-back segments, buffered messages). */
size_t mtls_tls_stream_memory(const mtls_tls_stream_t *stream);

typedef struct {
    unsigned direction; /* 0 or 1: the caller's name for the sender */
    uint32_t seq;       /* TCP sequence number of the first payload byte (raw or relative,
                           the same kind for the whole connection) */
    uint32_t ack;       /* acknowledgment number, same kind as `seq` */
    bool has_ack;       /* the ACK flag was set */
    uint8_t flags;      /* MTLS_TCP_* */
    uint32_t frame;
    int64_t time_ns;
    const uint8_t *payload; /* may be NULL when length is 0 */
    size_t length;          /* captured payload; a segment cut by the snap length counts as
                               a gap after its captured bytes */
    size_t reported_length; /* the segment's length on the wire (>= length) */
} mtls_tcp_segment_t;

/* What mtls_tls_stream_segment() saw of the stream. */
typedef struct {
    bool gap;        /* bytes were missing before or inside this segment */
    bool resynced;   /* the scanner found a record header again after a gap */
    bool not_tls;    /* no plausible record header at all: the stream is not TLS here */
    unsigned events; /* events reported */
} mtls_tls_stream_result_t;

/* Feeds one TCP segment (in capture order) and reports its events, in stream
 * order, through `callbacks`. A FIN or RST is reported as MTLS_EV_CLOSE after the
 * segment's data (once per direction: retransmitted FINs are dropped). A segment
 * that comes early is held back until the bytes before it arrive; when the other
 * direction acknowledges bytes that were never captured, or too much is held, the
 * hole is a gap and what was held is read after it. */
mtls_tls_stream_result_t mtls_tls_stream_segment(mtls_tls_stream_t *stream,
                                                 const mtls_tcp_segment_t *segment,
                                                 const mtls_tls_stream_callbacks_t *callbacks,
                                                 void *context);

/* True once both directions sent a FIN, or either an RST: nothing more to read. */
bool mtls_tls_stream_closed(const mtls_tls_stream_t *stream);

/* True once any gap was seen in either direction: part of the stream was missing. */
bool mtls_tls_stream_had_gap(const mtls_tls_stream_t *stream);

#endif /* MTLS_TLS_STREAM_H */
