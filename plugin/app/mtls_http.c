/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The first HTTP response status, read incrementally from the server's decrypted
 * bytes (RFC 9112 status line; RFC 9113 frames; RFC 7541 HPACK). A small state
 * machine: it buffers at most a frame header or the start of one header block,
 * skips every other payload by counting, and checks each length against what
 * is left before reading.
 */
#include "mtls_http.h"

#include <string.h>

enum {
    PHASE_START,        /* the first bytes: "HTTP/1.x " or the first HTTP/2 frame header */
    PHASE_STATUS_LINE,  /* the 3 digits after "HTTP/1.x " */
    PHASE_REASON_START, /* keep_reason: the byte after the 3 digits */
    PHASE_REASON,       /* keep_reason: the reason phrase, up to LF */
    PHASE_FRAME_HEADER, /* the 9 bytes of an HTTP/2 frame header */
    PHASE_FRAME_SKIP,   /* the payload of a frame that does not carry the answer */
    PHASE_HEADER_BLOCK, /* the start of the first HEADERS frame's payload */
    PHASE_DONE,         /* the status was found, or the reader gave up */
};

#define STATUS_LINE_PREFIX_LENGTH 9    /* "HTTP/1.1 " */
#define STATUS_LINE_LIMIT         4096 /* a longer status line ends there, cut */
#define FRAME_HEADER_LENGTH       9

enum {
    FRAME_HEADERS = 1,
    FRAME_SETTINGS = 4,
};

#define FLAG_ACK      0x01 /* SETTINGS */
#define FLAG_PADDED   0x08 /* HEADERS */
#define FLAG_PRIORITY 0x20 /* HEADERS */

/* HPACK static table entries 8..14: ":status" with these values (RFC 7541 Appendix A). */
#define STATUS_INDEX_FIRST 8
#define STATUS_INDEX_LAST  14
static const uint16_t static_status[] = {200, 204, 206, 304, 400, 404, 500};

typedef enum {
    STEP_OK,
    STEP_NEED_MORE, /* the bytes are still to come */
    STEP_GIVE_UP,   /* not readable for sure: stop */
    STEP_FOUND,
} step_t;

void mtls_http_reader_init(mtls_http_reader_t *reader)
{
    memset(reader, 0, sizeof(*reader));
    reader->phase = PHASE_START;
}

void mtls_http_reader_init_with_reason(mtls_http_reader_t *reader)
{
    mtls_http_reader_init(reader);
    reader->keep_reason = true;
}

const char *mtls_http_reader_reason(const mtls_http_reader_t *reader)
{
    /* The reason is NUL-terminated in the buffer once the status was returned. */
    if (!reader->keep_reason || reader->phase != PHASE_DONE || reader->status == 0)
        return "";
    return (const char *)reader->buffer;
}

bool mtls_http_reader_wants_data(const mtls_http_reader_t *reader)
{
    return reader->phase != PHASE_DONE;
}

static bool status_line_byte_matches(uint8_t byte, size_t at)
{
    static const char prefix[] = "HTTP/1.1 ";
    if (at == 7)
        return byte == '0' || byte == '1';
    return byte == (uint8_t)prefix[at];
}

/* The header block fragment as far as it is buffered: `end` is where the fragment
 * ends in the frame payload (before padding), possibly beyond `buffered`. */
typedef struct {
    const uint8_t *bytes;
    size_t at;
    size_t buffered;
    size_t end;
} cursor_t;

static step_t next_byte(cursor_t *cursor, uint8_t *byte)
{
    if (cursor->at >= cursor->end)
        return STEP_GIVE_UP; /* the fragment ends here: the rest is in CONTINUATION frames */
    if (cursor->at >= cursor->buffered)
        return STEP_NEED_MORE;
    *byte = cursor->bytes[cursor->at++];
    return STEP_OK;
}

/* An HPACK integer (RFC 7541 5.1) whose first byte was read; values past 32 bits
 * are refused rather than wrapped. */
static step_t read_integer(cursor_t *cursor, uint8_t first, unsigned prefix_bits, uint32_t *value)
{
    uint32_t mask = (1u << prefix_bits) - 1;
    uint64_t sum = first & mask;
    if (sum < mask) {
        *value = (uint32_t)sum;
        return STEP_OK;
    }
    for (unsigned shift = 0;; shift += 7) {
        uint8_t byte;
        step_t step = next_byte(cursor, &byte);
        if (step != STEP_OK)
            return step;
        sum += (uint64_t)(byte & 0x7f) << shift;
        if (sum > UINT32_MAX)
            return STEP_GIVE_UP;
        if (!(byte & 0x80))
            break;
        if (shift >= 28)
            return STEP_GIVE_UP;
    }
    *value = (uint32_t)sum;
    return STEP_OK;
}

static unsigned peek_bits(const uint8_t *bytes, size_t bit, unsigned count)
{
    unsigned value = 0;
    for (unsigned i = 0; i < count; i++, bit++)
        value = (value << 1) | ((bytes[bit / 8] >> (7 - bit % 8)) & 1u);
    return value;
}

/* A Huffman-coded string (RFC 7541 5.2, Appendix B) that must be exactly 3
 * digits: '0'..'2' are the 5-bit codes 0..2, '3'..'9' the 6-bit codes 0x19..0x1f;
 * no other code can start with those bits. Padding is under 8 bits of ones. */
static bool huffman_digits(const uint8_t *bytes, size_t length, uint8_t digits[3])
{
    size_t bits = length * 8, bit = 0;
    for (int i = 0; i < 3; i++) {
        if (bit + 5 > bits)
            return false;
        unsigned code = peek_bits(bytes, bit, 5);
        if (code <= 2) {
            digits[i] = (uint8_t)code;
            bit += 5;
            continue;
        }
        if (bit + 6 > bits)
            return false;
        code = peek_bits(bytes, bit, 6);
        if (code < 0x19 || code > 0x1f)
            return false;
        digits[i] = (uint8_t)(code - 0x19 + 3);
        bit += 6;
    }
    unsigned padding = (unsigned)(bits - bit);
    return padding < 8 && peek_bits(bytes, bit, padding) == (1u << padding) - 1;
}

static bool plain_digits(const uint8_t *bytes, size_t length, uint8_t digits[3])
{
    if (length != 3)
        return false;
    for (int i = 0; i < 3; i++) {
        if (bytes[i] < '0' || bytes[i] > '9')
            return false;
        digits[i] = (uint8_t)(bytes[i] - '0');
    }
    return true;
}

/* The literal's value: a 3-digit status, plain or Huffman-coded (RFC 7541 6.2). */
static step_t read_status_value(cursor_t *cursor, uint16_t *status)
{
    uint8_t first;
    step_t step = next_byte(cursor, &first);
    if (step != STEP_OK)
        return step;
    uint32_t length;
    step = read_integer(cursor, first, 7, &length);
    if (step != STEP_OK)
        return step;
    uint8_t value[3];
    if (length > sizeof(value))
        return STEP_GIVE_UP; /* 3 digits take 3 bytes plain, 2 or 3 Huffman-coded */
    for (uint32_t i = 0; i < length; i++) {
        step = next_byte(cursor, &value[i]);
        if (step != STEP_OK)
            return step;
    }
    uint8_t digits[3];
    bool huffman = first & 0x80;
    if (!(huffman ? huffman_digits(value, length, digits) : plain_digits(value, length, digits)))
        return STEP_GIVE_UP;
    if (digits[0] == 0)
        return STEP_GIVE_UP;
    *status = (uint16_t)(digits[0] * 100 + digits[1] * 10 + digits[2]);
    return STEP_FOUND;
}

/* The buffered start of the first HEADERS payload: padding and priority, table size
 * updates, then the first header field, which must be :status (RFC 9113 8.3.2). */
static step_t read_header_block(const mtls_http_reader_t *reader, uint16_t *status)
{
    cursor_t cursor = {reader->buffer, 0, reader->buffered, reader->frame_length};
    uint8_t byte;
    step_t step;
    if (reader->frame_flags & FLAG_PADDED) {
        if ((step = next_byte(&cursor, &byte)) != STEP_OK)
            return step;
        if (byte >= reader->frame_length)
            return STEP_GIVE_UP; /* padding as long as the frame: a protocol error */
        cursor.end = reader->frame_length - byte;
    }
    if (reader->frame_flags & FLAG_PRIORITY) {
        for (int i = 0; i < 5; i++)
            if ((step = next_byte(&cursor, &byte)) != STEP_OK)
                return step;
    }
    for (;;) {
        uint8_t first;
        uint32_t index;
        if ((step = next_byte(&cursor, &first)) != STEP_OK)
            return step;
        if ((first & 0xe0) == 0x20) { /* dynamic table size update: no header field */
            if ((step = read_integer(&cursor, first, 5, &index)) != STEP_OK)
                return step;
            continue;
        }
        bool indexed = first & 0x80;
        /* Indexed field: 7-bit index; literal with incremental indexing: 6-bit name
         * index; literal without or never indexed (0000, 0001): 4-bit name index. */
        unsigned prefix_bits = indexed ? 7 : (first & 0x40) ? 6 : 4;
        if ((step = read_integer(&cursor, first, prefix_bits, &index)) != STEP_OK)
            return step;
        /* Anything else first (a new name, another header, the dynamic table): give up. */
        if (index < STATUS_INDEX_FIRST || index > STATUS_INDEX_LAST)
            return STEP_GIVE_UP;
        if (indexed) {
            *status = static_status[index - STATUS_INDEX_FIRST];
            return STEP_FOUND;
        }
        return read_status_value(&cursor, status);
    }
}

static void give_up(mtls_http_reader_t *reader)
{
    reader->phase = PHASE_DONE;
}

/* A complete frame header is buffered: decide what to do with the payload. */
static void on_frame_header(mtls_http_reader_t *reader)
{
    const uint8_t *header = reader->buffer;
    uint32_t length = (uint32_t)header[0] << 16 | (uint32_t)header[1] << 8 | header[2];
    uint8_t type = header[3];
    uint32_t stream = ((uint32_t)header[5] & 0x7f) << 24 | (uint32_t)header[6] << 16 |
                      (uint32_t)header[7] << 8 | header[8];
    reader->buffered = 0;
    reader->frame_length = length;
    reader->frame_left = length;
    reader->frame_flags = header[4];
    if (!reader->first_frame_read) {
        /* The server's preface is a SETTINGS frame (RFC 9113 3.4): anything else
         * first is not HTTP/2. */
        reader->first_frame_read = true;
        if (type != FRAME_SETTINGS || (reader->frame_flags & FLAG_ACK) || stream != 0 ||
            length % 6 != 0) {
            give_up(reader);
            return;
        }
    }
    if (type == FRAME_HEADERS && stream == 0) {
        give_up(reader); /* a protocol error */
        return;
    }
    /* Odd streams are the client's requests; even ones are pushed responses, skipped. */
    if (type == FRAME_HEADERS && (stream & 1)) {
        if (length == 0)
            give_up(reader);
        else
            reader->phase = PHASE_HEADER_BLOCK;
        return;
    }
    reader->phase = length ? PHASE_FRAME_SKIP : PHASE_FRAME_HEADER;
}

/* The status line ended: the reason becomes a printable, NUL-terminated string. */
static void end_status_line(mtls_http_reader_t *reader, uint16_t *status,
                            mtls_http_protocol_t *protocol)
{
    uint8_t *reason = reader->buffer;
    size_t length = reader->buffered;
    for (size_t i = 0; i < length; i++)
        if (reason[i] < 0x20 || reason[i] > 0x7e)
            reason[i] = '?';
    if (reader->reason_cut) {
        if (length > MTLS_HTTP_BUFFER_SIZE - 4)
            length = MTLS_HTTP_BUFFER_SIZE - 4;
        memcpy(reason + length, "...", 3);
        length += 3;
    }
    reason[length] = '\0';
    reader->buffered = (uint8_t)length;
    *status = reader->status;
    *protocol = MTLS_HTTP_1;
    reader->phase = PHASE_DONE;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

bool mtls_http_reader_feed(mtls_http_reader_t *reader, const uint8_t *data, size_t length,
                           uint16_t *status, mtls_http_protocol_t *protocol)
{
    size_t at = 0;
    /* Every turn reads at least one byte or ends the reader. */
    while (at < length && reader->phase != PHASE_DONE) {
        switch (reader->phase) {
        case PHASE_START: {
            uint8_t byte = data[at++];
            reader->buffer[reader->buffered++] = byte;
            if (!status_line_byte_matches(byte, reader->buffered - 1u)) {
                /* Not HTTP/1: the same bytes are the start of an HTTP/2 frame header. */
                reader->phase = PHASE_FRAME_HEADER;
                if (reader->buffered == FRAME_HEADER_LENGTH)
                    on_frame_header(reader);
            } else if (reader->buffered == STATUS_LINE_PREFIX_LENGTH) {
                reader->phase = PHASE_STATUS_LINE;
                reader->buffered = 0;
            }
            break;
        }
        case PHASE_STATUS_LINE: {
            uint8_t byte = data[at++];
            if (byte < '0' || byte > '9' || (reader->buffered == 0 && byte == '0')) {
                give_up(reader);
                break;
            }
            reader->buffer[reader->buffered++] = byte;
            if (reader->buffered == 3) {
                const uint8_t *digits = reader->buffer;
                uint16_t found = (uint16_t)((digits[0] - '0') * 100 + (digits[1] - '0') * 10 +
                                            (digits[2] - '0'));
                if (reader->keep_reason) {
                    reader->status = found;
                    reader->buffered = 0;
                    reader->frame_left = 0;
                    reader->phase = PHASE_REASON_START;
                    break;
                }
                *status = found;
                *protocol = MTLS_HTTP_1;
                reader->phase = PHASE_DONE;
                return true;
            }
            break;
        }
        case PHASE_REASON_START: {
            /* "HTTP/1.1 403 Forbidden", "HTTP/1.1 403 ", "HTTP/1.1 403" (RFC 9112 4). */
            uint8_t byte = data[at++];
            if (byte == ' ' || byte == '\r') {
                reader->phase = PHASE_REASON;
            } else if (byte == '\n') {
                end_status_line(reader, status, protocol);
                return true;
            } else {
                reader->status = 0;
                give_up(reader);
            }
            break;
        }
        case PHASE_REASON: {
            uint8_t byte = data[at++];
            reader->frame_left++;
            if (byte == '\n' || reader->frame_left >= STATUS_LINE_LIMIT) {
                reader->reason_cut = reader->reason_cut || byte != '\n';
                end_status_line(reader, status, protocol);
                return true;
            }
            if (byte == '\r')
                break; /* the line's end; a CR inside a reason is dropped too */
            if (reader->buffered < MTLS_HTTP_BUFFER_SIZE - 1)
                reader->buffer[reader->buffered++] = byte;
            else
                reader->reason_cut = true;
            break;
        }
        case PHASE_FRAME_HEADER: {
            size_t count = min_size(FRAME_HEADER_LENGTH - reader->buffered, length - at);
            memcpy(reader->buffer + reader->buffered, data + at, count);
            reader->buffered = (uint8_t)(reader->buffered + count);
            at += count;
            if (reader->buffered == FRAME_HEADER_LENGTH)
                on_frame_header(reader);
            break;
        }
        case PHASE_FRAME_SKIP: {
            size_t count = min_size(reader->frame_left, length - at);
            at += count;
            reader->frame_left -= (uint32_t)count;
            if (reader->frame_left == 0)
                reader->phase = PHASE_FRAME_HEADER;
            break;
        }
        case PHASE_HEADER_BLOCK: {
            size_t room = min_size(reader->frame_left, MTLS_HTTP_BUFFER_SIZE - reader->buffered);
            size_t count = min_size(room, length - at);
            memcpy(reader->buffer + reader->buffered, data + at, count);
            reader->buffered = (uint8_t)(reader->buffered + count);
            reader->frame_left -= (uint32_t)count;
            at += count;
            uint16_t found = 0;
            step_t step = read_header_block(reader, &found);
            if (step == STEP_FOUND) {
                *status = found;
                *protocol = MTLS_HTTP_2;
                reader->phase = PHASE_DONE;
                return true;
            }
            /* Needing more than the frame or the buffer holds: give up. */
            if (step != STEP_NEED_MORE || reader->frame_left == 0 ||
                reader->buffered == MTLS_HTTP_BUFFER_SIZE)
                give_up(reader);
            break;
        }
        default: give_up(reader); break;
        }
    }
    return false;
}
