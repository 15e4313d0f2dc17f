/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The status of the server's first HTTP response, read from the server's
 * decrypted TLS application data without a protocol tree. Plain C, no Wireshark.
 * The reader is fed the bytes in order, in chunks of any size (one byte per call
 * included), keeps a small fixed state and never allocates: HTTP/1.x status
 * lines, and HTTP/2 frames up to the :status of the first HEADERS frame that
 * answers the client (HPACK static index, or a literal with a plain or Huffman
 * value). When the answer cannot be read for sure it gives up: it never guesses.
 * A reader made by mtls_http_reader_init_with_reason also keeps the HTTP/1
 * reason phrase, and then returns an HTTP/1 status at the end of its line.
 */
#ifndef MTLS_HTTP_H
#define MTLS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MTLS_HTTP_1 = 1, /* an HTTP/1.0 or HTTP/1.1 status line */
    MTLS_HTTP_2 = 2, /* the :status of an HTTP/2 HEADERS frame */
} mtls_http_protocol_t;

/* Enough for the 9-byte frame header or status-line prefix, and for the start of
 * a header block: pad length, priority, two table size updates, :status. */
#define MTLS_HTTP_BUFFER_SIZE 32

typedef struct {
    uint32_t frame_length; /* HTTP/2: payload length of the current frame */
    uint32_t frame_left;   /* HTTP/2: payload bytes of the current frame not yet read */
    uint8_t phase;         /* where the reader is (mtls_http.c) */
    uint8_t buffered;      /* bytes held in `buffer` */
    uint8_t frame_flags;   /* HTTP/2: flags of the current frame */
    bool first_frame_read; /* HTTP/2: the server's first frame (SETTINGS) was read */
    bool keep_reason;      /* HTTP/1: read the status line to its end, keep the reason */
    bool reason_cut;       /* HTTP/1: the reason phrase was longer than the buffer */
    uint16_t status;       /* HTTP/1 with keep_reason: the status, until the line ends */
    uint8_t buffer[MTLS_HTTP_BUFFER_SIZE]; /* HTTP/1 with keep_reason: then the reason */
} mtls_http_reader_t;

/* A reader at the start of the stream (all zero bytes are one too). */
void mtls_http_reader_init(mtls_http_reader_t *reader);

/* Like mtls_http_reader_init, but the reader also keeps the reason phrase of an
 * HTTP/1 status line (mtls_http_reader_reason), and so returns its status only
 * once the line has ended (LF, or 4096 bytes of it). */
void mtls_http_reader_init_with_reason(mtls_http_reader_t *reader);

/* Feeds the next bytes the server sent (decrypted application data, in order,
 * from the connection's first one). Returns true once, on the call where the
 * first response's status becomes known, and sets *status (100..999) and
 * *protocol. After that, or once the stream is known not to be readable HTTP,
 * it returns false at once and reads nothing. `data` may be NULL when `length`
 * is 0. */
bool mtls_http_reader_feed(mtls_http_reader_t *reader, const uint8_t *data, size_t length,
                           uint16_t *status, mtls_http_protocol_t *protocol);

/* False once the status was found or the reader gave up: the caller can stop
 * decrypting for it. */
bool mtls_http_reader_wants_data(const mtls_http_reader_t *reader);

/* After an HTTP/1 status was returned by a reader made with
 * mtls_http_reader_init_with_reason: its reason phrase, printable ASCII
 * (anything else is '?'), at most MTLS_HTTP_BUFFER_SIZE - 1 characters, ending
 * with "..." when cut; "" otherwise (HTTP/2 has none). */
const char *mtls_http_reader_reason(const mtls_http_reader_t *reader);

#endif /* MTLS_HTTP_H */
