/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The TLS stream scanner (mtls_tls_stream.h): a small state machine per
 * direction, fed TCP payload in sequence order, with bounded buffers and every
 * length checked against what is left.
 */
#include "mtls_tls_stream.h"

#include <stdlib.h>
#include <string.h>

#include "mtls_handshake.h"

enum {
    CONTENT_CHANGE_CIPHER_SPEC = 20,
    CONTENT_ALERT = 21,
    CONTENT_HANDSHAKE = 22,
    CONTENT_APPLICATION_DATA = 23,
    CONTENT_HEARTBEAT = 24,
};
#define RECORD_HEADER    5
#define HANDSHAKE_HEADER 4
/* TLSCiphertext.length: at most 2^14 + 2048 (RFC 5246 6.2.3). */
#define MAX_RECORD_LENGTH (16384 + 2048)

/* A segment that came before the bytes it follows, with its own copy of the payload. */
typedef struct early_segment {
    struct early_segment *next;
    uint32_t seq;
    uint32_t length;
    uint8_t flags;
    uint8_t payload[];
} early_segment_t;

typedef struct {
    uint32_t next_seq;    /* the next byte expected in sequence order */
    uint32_t record_seq;  /* sequence number of the current record's first header byte */
    uint16_t record_left; /* body bytes of the current record still to come */
    uint8_t header[RECORD_HEADER];
    uint8_t header_have; /* RECORD_HEADER: in a record body */
    uint8_t alert_first; /* a plaintext alert's level, waiting for its description */
    uint8_t handshake_header[HANDSHAKE_HEADER];
    uint8_t handshake_header_have;
    uint32_t handshake_left; /* body bytes of the current handshake message still to come */
    uint8_t *message;        /* the current message, when it is one that is read whole */
    uint32_t message_have;
    uint8_t early_count;
    uint8_t scan[RECORD_HEADER - 1]; /* out of sync: the last bytes, where a header may begin */
    uint8_t scan_have;
    early_segment_t *early; /* in sequence order */
    bool seq_known : 1;
    bool in_sync : 1; /* record boundaries are known */
    bool alert_half : 1;
    bool record_damaged : 1;     /* bytes of the current record are missing: it is not read */
    bool change_cipher_spec : 1; /* TLS 1.2: records from here on are protected */
    bool fin : 1;
    bool rst : 1;
} direction_t;

struct mtls_tls_stream {
    direction_t directions[2];
    bool tls13 : 1; /* the ServerHello selected TLS 1.3 */
    bool gap : 1;
};

/* One call of mtls_tls_stream_segment(). */
typedef struct {
    mtls_tls_stream_t *stream;
    const mtls_tls_stream_callbacks_t *callbacks;
    void *context;
    unsigned direction;
    uint32_t frame;
    int64_t time_ns;
    uint32_t payload_seq; /* sequence number of the call's payload, for record offsets */
    unsigned protected_index;
    mtls_tls_stream_result_t result;
} run_t;

mtls_tls_stream_t *mtls_tls_stream_new(void)
{
    return calloc(1, sizeof(mtls_tls_stream_t));
}

static void drop_message(direction_t *dir)
{
    free(dir->message);
    dir->message = NULL;
    dir->message_have = 0;
}

static void drop_early(direction_t *dir)
{
    while (dir->early) {
        early_segment_t *next = dir->early->next;
        free(dir->early);
        dir->early = next;
    }
    dir->early_count = 0;
}

void mtls_tls_stream_free(mtls_tls_stream_t *stream)
{
    if (!stream)
        return;
    for (unsigned i = 0; i < 2; i++) {
        drop_message(&stream->directions[i]);
        drop_early(&stream->directions[i]);
    }
    free(stream);
}

size_t mtls_tls_stream_memory(const mtls_tls_stream_t *stream)
{
    if (!stream)
        return 0;
    size_t bytes = sizeof(*stream);
    for (unsigned i = 0; i < 2; i++) {
        const direction_t *dir = &stream->directions[i];
        if (dir->message)
            bytes += dir->message_have;
        for (const early_segment_t *early = dir->early; early; early = early->next)
            bytes += sizeof(*early) + early->length;
    }
    return bytes;
}

bool mtls_tls_stream_closed(const mtls_tls_stream_t *stream)
{
    if (!stream)
        return true;
    const direction_t *a = &stream->directions[0], *b = &stream->directions[1];
    return (a->fin && b->fin) || a->rst || b->rst;
}

bool mtls_tls_stream_had_gap(const mtls_tls_stream_t *stream)
{
    return stream && stream->gap;
}

/* Sequence arithmetic modulo 2^32 (RFC 793). */
static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

/* How many bytes before the expected one a segment starts, for seq_diff() < 0
 * (2^31 for INT32_MIN, which int32_t cannot negate); 0 otherwise. */
static uint32_t seq_behind(int32_t diff)
{
    return diff < 0 ? 0u - (uint32_t)diff : 0;
}

static uint16_t header_length(const uint8_t *header)
{
    return (uint16_t)(header[3] << 8 | header[4]);
}

/* A TLS record header as real stacks write it: a known type, version 3.x, and a
 * length no record may exceed. */
static bool plausible_header(const uint8_t *header)
{
    uint8_t type = header[0];
    return type >= CONTENT_CHANGE_CIPHER_SPEC && type <= CONTENT_HEARTBEAT && header[1] == 3 &&
           header[2] <= 4 && header_length(header) <= MAX_RECORD_LENGTH;
}

static mtls_event_t new_event(const run_t *run, mtls_event_type_t type, uint16_t record_length)
{
    mtls_event_t event;
    memset(&event, 0, sizeof(event));
    event.type = type;
    event.frame = run->frame;
    event.time_ns = run->time_ns;
    event.alert_level = MTLS_ALERT_UNKNOWN;
    event.alert_description = MTLS_ALERT_UNKNOWN;
    event.record_length = record_length;
    return event;
}

static void emit(run_t *run, unsigned direction, const mtls_event_t *event, const uint8_t *message,
                 size_t message_length)
{
    run->result.events++;
    if (!run->callbacks || !run->callbacks->event)
        return;
    const direction_t *dir = &run->stream->directions[direction & 1u];
    if (event->version == 0 && event->type != MTLS_EV_CLOSE && dir->header_have == RECORD_HEADER) {
        mtls_event_t with_version = *event; /* the record it came in */
        with_version.version = (uint16_t)(dir->header[1] << 8 | dir->header[2]);
        run->callbacks->event(run->context, direction, &with_version,
                              message_length ? message : NULL, message_length);
        return;
    }
    run->callbacks->event(run->context, direction, event, message_length ? message : NULL,
                          message_length);
}

static void emit_simple(run_t *run, unsigned direction, mtls_event_type_t type,
                        uint16_t record_length)
{
    mtls_event_t event = new_event(run, type, record_length);
    emit(run, direction, &event, NULL, 0);
}

/* ---- Handshake messages ---------------------------------------------------- */

static uint32_t get24(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 16 | (uint32_t)bytes[1] << 8 | bytes[2];
}

/* One whole handshake message (as far as it was kept) becomes one event. */
static void handshake_message(run_t *run, unsigned direction, uint8_t type, const uint8_t *message,
                              size_t length, uint16_t record_length)
{
    mtls_tls_stream_t *stream = run->stream;
    mtls_event_t event = new_event(run, MTLS_EV_OTHER_HANDSHAKE, record_length);
    if (mtls_handshake_event(type, message, length, stream->tls13, &event))
        stream->tls13 = true;
    bool whole = mtls_handshake_read_whole(type);
    emit(run, direction, &event, whole ? message : NULL, whole ? length : 0);
}

static void handshake_reset(direction_t *dir)
{
    dir->handshake_header_have = 0;
    dir->handshake_left = 0;
    drop_message(dir);
}

static void handshake_complete(run_t *run, direction_t *dir, uint16_t record_length)
{
    uint8_t type = dir->handshake_header[0];
    if (dir->message)
        handshake_message(run, run->direction, type, dir->message, dir->message_have,
                          record_length);
    else
        handshake_message(run, run->direction, type, dir->handshake_header, HANDSHAKE_HEADER,
                          record_length);
    handshake_reset(dir);
}

/* Handshake bytes of one direction, in order, from plaintext records or from the
 * dissector's plaintext of protected ones. Messages span records freely. */
static void handshake_bytes(run_t *run, direction_t *dir, const uint8_t *bytes, size_t length,
                            uint16_t record_length)
{
    while (length > 0) {
        if (dir->handshake_header_have < HANDSHAKE_HEADER) {
            /* A whole message inside these bytes is read in place, without a copy. */
            if (dir->handshake_header_have == 0 && length >= HANDSHAKE_HEADER) {
                uint32_t body = get24(bytes + 1);
                if (body <= length - HANDSHAKE_HEADER) {
                    handshake_message(run, run->direction, bytes[0], bytes, HANDSHAKE_HEADER + body,
                                      record_length);
                    bytes += HANDSHAKE_HEADER + body;
                    length -= HANDSHAKE_HEADER + body;
                    continue;
                }
            }
            dir->handshake_header[dir->handshake_header_have++] = *bytes++;
            length--;
            if (dir->handshake_header_have < HANDSHAKE_HEADER)
                continue;
            dir->handshake_left = get24(dir->handshake_header + 1);
            if (mtls_handshake_read_whole(dir->handshake_header[0])) {
                size_t keep = (size_t)HANDSHAKE_HEADER + dir->handshake_left;
                if (keep > MTLS_TLS_MAX_BUFFERED_MESSAGE)
                    keep = MTLS_TLS_MAX_BUFFERED_MESSAGE;
                dir->message = malloc(keep);
                if (dir->message) {
                    memcpy(dir->message, dir->handshake_header, HANDSHAKE_HEADER);
                    dir->message_have = HANDSHAKE_HEADER;
                }
            }
            if (dir->handshake_left == 0)
                handshake_complete(run, dir, record_length);
            continue;
        }
        size_t take = length < dir->handshake_left ? length : dir->handshake_left;
        if (dir->message) {
            /* The buffer holds min(message, cap) bytes: keep the head only. */
            size_t capacity = MTLS_TLS_MAX_BUFFERED_MESSAGE;
            size_t space = dir->message_have < capacity ? capacity - dir->message_have : 0;
            size_t copy = take < space ? take : space;
            memcpy(dir->message + dir->message_have, bytes, copy);
            dir->message_have += (uint32_t)copy;
        }
        bytes += take;
        length -= take;
        dir->handshake_left -= (uint32_t)take;
        if (dir->handshake_left == 0)
            handshake_complete(run, dir, record_length);
    }
}

/* ---- Records ---------------------------------------------------------------- */

static void alert_pair(run_t *run, uint8_t level, uint8_t description, uint16_t record_length)
{
    mtls_event_t event = new_event(run, MTLS_EV_ALERT, record_length);
    event.alert_level = level;
    event.alert_description = description;
    emit(run, run->direction, &event, NULL, 0);
}

static bool record_protected(const mtls_tls_stream_t *stream, const direction_t *dir, uint8_t type)
{
    if (stream->tls13)
        return type == CONTENT_APPLICATION_DATA;
    return dir->change_cipher_spec && type != CONTENT_HEARTBEAT;
}

static void application_data(run_t *run, const uint8_t *data, size_t length)
{
    if (length > 0 && run->callbacks && run->callbacks->application_data)
        run->callbacks->application_data(run->context, run->direction, run->frame, data, length);
}

/* A protected record is complete: read the dissector's plaintext of it, if any. */
static void protected_record(run_t *run, direction_t *dir)
{
    uint8_t type = dir->header[0];
    uint16_t length = header_length(dir->header);
    mtls_tls_protected_record_t record = {
        .header_offset = (int64_t)seq_diff(dir->record_seq, run->payload_seq),
        .index = run->protected_index++,
        .content_type = type,
        .length = length,
        .frame = run->frame,
    };
    mtls_tls_plaintext_t plaintext = {0, NULL, 0};
    bool decrypted = !dir->record_damaged && run->callbacks && run->callbacks->plaintext &&
                     run->callbacks->plaintext(run->context, run->direction, &record, &plaintext) &&
                     (plaintext.data || plaintext.length == 0);
    if (!decrypted) {
        if (type == CONTENT_HANDSHAKE || (run->stream->tls13 && type == CONTENT_APPLICATION_DATA))
            handshake_reset(dir); /* a message this record continued can no longer be read */
        if (run->stream->tls13) {
            emit_simple(run, run->direction, MTLS_EV_ENCRYPTED_RECORD, length);
            return;
        }
        mtls_event_t event;
        switch (type) {
        case CONTENT_HANDSHAKE:
            event = new_event(run, MTLS_EV_OTHER_HANDSHAKE, length);
            event.encrypted = true;
            emit(run, run->direction, &event, NULL, 0);
            break;
        case CONTENT_ALERT: emit_simple(run, run->direction, MTLS_EV_ALERT, length); break;
        case CONTENT_APPLICATION_DATA:
            emit_simple(run, run->direction, MTLS_EV_APPLICATION_DATA, length);
            break;
        case CONTENT_CHANGE_CIPHER_SPEC:
            emit_simple(run, run->direction, MTLS_EV_CHANGE_CIPHER_SPEC, length);
            break;
        default: break;
        }
        return;
    }
    switch (plaintext.content_type) {
    case CONTENT_HANDSHAKE:
        handshake_bytes(run, dir, plaintext.data, plaintext.length, length);
        break;
    case CONTENT_ALERT:
        if (plaintext.length < 2)
            emit_simple(run, run->direction, MTLS_EV_ALERT, length);
        for (size_t i = 0; i + 1 < plaintext.length; i += 2)
            alert_pair(run, plaintext.data[i], plaintext.data[i + 1], length);
        break;
    case CONTENT_APPLICATION_DATA:
        emit_simple(run, run->direction, MTLS_EV_APPLICATION_DATA, length);
        application_data(run, plaintext.data, plaintext.length);
        break;
    case CONTENT_CHANGE_CIPHER_SPEC:
        emit_simple(run, run->direction, MTLS_EV_CHANGE_CIPHER_SPEC, length);
        break;
    default: break;
    }
}

/* A plaintext record's body bytes, as they come. */
static void plaintext_body(run_t *run, direction_t *dir, const uint8_t *bytes, size_t length)
{
    uint16_t record_length = header_length(dir->header);
    if (dir->record_damaged)
        return;
    switch (dir->header[0]) {
    case CONTENT_HANDSHAKE: handshake_bytes(run, dir, bytes, length, record_length); break;
    case CONTENT_ALERT:
        for (size_t i = 0; i < length; i++) {
            if (dir->alert_half) {
                dir->alert_half = false;
                alert_pair(run, dir->alert_first, bytes[i], record_length);
            } else {
                dir->alert_half = true;
                dir->alert_first = bytes[i];
            }
        }
        break;
    default: break;
    }
}

static void record_complete(run_t *run, direction_t *dir, bool is_protected)
{
    uint8_t type = dir->header[0];
    uint16_t length = header_length(dir->header);
    if (dir->record_damaged && !is_protected) {
        /* Part of it was never captured: a message it held or began is lost. */
        if (type == CONTENT_HANDSHAKE)
            handshake_reset(dir);
    } else if (is_protected) {
        protected_record(run, dir);
    } else if (type == CONTENT_CHANGE_CIPHER_SPEC) {
        emit_simple(run, run->direction, MTLS_EV_CHANGE_CIPHER_SPEC, length);
        if (!run->stream->tls13)
            dir->change_cipher_spec = true;
    } else if (type == CONTENT_APPLICATION_DATA) {
        emit_simple(run, run->direction, MTLS_EV_APPLICATION_DATA, length);
    } else if (type == CONTENT_ALERT && length < 2) {
        emit_simple(run, run->direction, MTLS_EV_ALERT, length);
    }
    dir->alert_half = false;
    dir->record_damaged = false;
    dir->header_have = 0;
    dir->record_left = 0;
}

/* The first offset in `bytes` where a plausible record header starts: one whose
 * record ends inside `bytes` where another plausible header (or the end) follows,
 * or one whose record runs past the end. `length` when there is none. */
static size_t find_record(const uint8_t *bytes, size_t length)
{
    for (size_t at = 0; at + RECORD_HEADER <= length; at++) {
        if (!plausible_header(bytes + at) || header_length(bytes + at) == 0)
            continue;
        size_t next = at + RECORD_HEADER + header_length(bytes + at);
        if (next >= length)
            return at;
        if (next + RECORD_HEADER <= length ? plausible_header(bytes + next) : true)
            return at;
    }
    return length;
}

static void lose_sync(run_t *run, direction_t *dir)
{
    dir->in_sync = false;
    dir->header_have = 0;
    dir->record_left = 0;
    dir->alert_half = false;
    dir->record_damaged = false;
    handshake_reset(dir);
    run->stream->gap = true;
    run->result.gap = true;
}

/* Bytes of one direction in sequence order, starting at `seq`. */
static void stream_bytes(run_t *run, direction_t *dir, uint32_t seq, const uint8_t *bytes,
                         size_t length)
{
    mtls_tls_stream_t *stream = run->stream;
    if (!dir->in_sync && length > 0) {
        /* A header that began in the bytes kept from earlier segments. */
        for (unsigned kept = dir->scan_have; kept > 0; kept--) {
            if (RECORD_HEADER - kept > length)
                continue;
            uint8_t candidate[RECORD_HEADER];
            memcpy(candidate, dir->scan + dir->scan_have - kept, kept);
            memcpy(candidate + kept, bytes, RECORD_HEADER - kept);
            if (!plausible_header(candidate) || header_length(candidate) == 0)
                continue;
            memcpy(dir->header, candidate, RECORD_HEADER);
            dir->header_have = RECORD_HEADER;
            dir->record_seq = seq - kept;
            dir->record_left = header_length(candidate);
            dir->in_sync = true;
            dir->scan_have = 0;
            run->result.resynced = true;
            seq += RECORD_HEADER - kept;
            bytes += RECORD_HEADER - kept;
            length -= RECORD_HEADER - kept;
            break;
        }
    }
    if (!dir->in_sync && length > 0) {
        size_t at = find_record(bytes, length);
        if (at == length) {
            /* Keep the last bytes: a header may begin in them. */
            size_t keep = length < sizeof(dir->scan) ? length : sizeof(dir->scan);
            if (dir->scan_have + keep > sizeof(dir->scan)) {
                size_t drop = dir->scan_have + keep - sizeof(dir->scan);
                memmove(dir->scan, dir->scan + drop, dir->scan_have - drop);
                dir->scan_have = (uint8_t)(dir->scan_have - drop);
            }
            memcpy(dir->scan + dir->scan_have, bytes + length - keep, keep);
            dir->scan_have = (uint8_t)(dir->scan_have + keep);
            run->result.not_tls = true;
            return;
        }
        run->result.resynced = true;
        dir->in_sync = true;
        dir->header_have = 0;
        dir->scan_have = 0;
        seq += (uint32_t)at;
        bytes += at;
        length -= at;
    }
    while (length > 0) {
        if (dir->header_have < RECORD_HEADER) {
            if (dir->header_have == 0)
                dir->record_seq = seq;
            /* The header's missing bytes, as many as this segment holds. */
            size_t want = RECORD_HEADER - dir->header_have;
            size_t copy = length < want ? length : want;
            memcpy(dir->header + dir->header_have, bytes, copy);
            dir->header_have = (uint8_t)(dir->header_have + copy);
            bytes += copy;
            seq += (uint32_t)copy;
            length -= copy;
            if (dir->header_have < RECORD_HEADER)
                continue;
            if (!plausible_header(dir->header)) {
                /* Not a record boundary after all: look for one in what follows. */
                lose_sync(run, dir);
                stream_bytes(run, dir, seq, bytes, length);
                return;
            }
            dir->record_left = header_length(dir->header);
            if (dir->record_left == 0)
                record_complete(run, dir, record_protected(stream, dir, dir->header[0]));
            continue;
        }
        size_t take = length < dir->record_left ? length : dir->record_left;
        if (!record_protected(stream, dir, dir->header[0]))
            plaintext_body(run, dir, bytes, take);
        bytes += take;
        seq += (uint32_t)take;
        length -= take;
        dir->record_left -= (uint16_t)take;
        if (dir->record_left == 0)
            record_complete(run, dir, record_protected(stream, dir, dir->header[0]));
    }
}

/* `missing` bytes of the direction were never captured. Inside a record body whose
 * end is known, the record boundary survives: only that record is unreadable. */
static void skip_gap(run_t *run, direction_t *dir, uint32_t missing)
{
    run->stream->gap = true;
    run->result.gap = true;
    if (dir->in_sync && dir->header_have == RECORD_HEADER && missing < dir->record_left) {
        dir->record_left -= (uint16_t)missing;
        dir->record_damaged = true;
        return;
    }
    lose_sync(run, dir);
}

static void close_event(run_t *run, direction_t *dir, bool reset)
{
    if (reset ? dir->rst : dir->fin)
        return;
    if (reset)
        dir->rst = true;
    else
        dir->fin = true;
    mtls_event_t event = new_event(run, MTLS_EV_CLOSE, 0);
    event.reset = reset;
    emit(run, run->direction, &event, NULL, 0);
}

/* Reads held-back segments that are now next in sequence (all of them, across the
 * hole, when `force`). */
static void release_early(run_t *run, direction_t *dir, bool force)
{
    while (dir->early) {
        early_segment_t *early = dir->early;
        int32_t diff = seq_diff(early->seq, dir->next_seq);
        if (diff > 0 && !force)
            return;
        dir->early = early->next;
        dir->early_count--;
        if (diff > 0)
            skip_gap(run, dir, (uint32_t)diff);
        uint32_t skip = seq_behind(diff);
        if (skip < early->length) {
            stream_bytes(run, dir, early->seq + skip, early->payload + skip, early->length - skip);
            dir->next_seq = early->seq + early->length;
        }
        if (early->flags & MTLS_TCP_FIN) {
            dir->next_seq++;
            close_event(run, dir, false);
        }
        free(early);
        force = false; /* one hole at a time: the rest waits for its bytes again */
    }
}

static bool hold_early(direction_t *dir, uint32_t seq, const uint8_t *payload, size_t length,
                       uint8_t flags)
{
    size_t held = 0;
    for (early_segment_t *early = dir->early; early; early = early->next)
        held += early->length;
    if (dir->early_count >= MTLS_TLS_MAX_EARLY_SEGMENTS || held + length > MTLS_TLS_MAX_EARLY_BYTES)
        return false;
    early_segment_t **at = &dir->early;
    while (*at && seq_diff((*at)->seq, seq) < 0)
        at = &(*at)->next;
    if (*at && (*at)->seq == seq && (*at)->length >= length)
        return true; /* the same early segment again */
    early_segment_t *early = malloc(sizeof(*early) + length);
    if (!early)
        return false;
    early->seq = seq;
    early->length = (uint32_t)length;
    early->flags = flags;
    if (length)
        memcpy(early->payload, payload, length);
    early->next = *at;
    *at = early;
    dir->early_count++;
    return true;
}

mtls_tls_stream_result_t mtls_tls_stream_segment(mtls_tls_stream_t *stream,
                                                 const mtls_tcp_segment_t *segment,
                                                 const mtls_tls_stream_callbacks_t *callbacks,
                                                 void *context)
{
    run_t run;
    memset(&run, 0, sizeof(run));
    if (!stream || !segment)
        return run.result;
    run.stream = stream;
    run.callbacks = callbacks;
    run.context = context;
    run.direction = segment->direction & 1u;
    run.frame = segment->frame;
    run.time_ns = segment->time_ns;
    direction_t *dir = &stream->directions[run.direction];
    direction_t *other = &stream->directions[run.direction ^ 1u];
    size_t length = segment->payload ? segment->length : 0;
    uint32_t seq = segment->seq;
    run.payload_seq = seq;

    /* The other direction acknowledged bytes that were never captured: the hole
     * in front of its held-back segments will not be filled. */
    if (segment->has_ack && other->seq_known && other->early &&
        seq_diff(segment->ack, other->next_seq) > 0) {
        run.direction ^= 1u;
        release_early(&run, other, true);
        run.direction ^= 1u;
    }

    if (segment->flags & MTLS_TCP_SYN) {
        /* The stream starts after the SYN, on a record boundary. */
        if (!dir->seq_known) {
            dir->next_seq = seq + 1;
            dir->seq_known = true;
            dir->in_sync = true;
        }
        seq++;
        run.payload_seq = seq;
    }
    if (!dir->seq_known) {
        /* The first segment seen: tracking starts here, where the TLS dissector
         * first saw the connection; the scanner checks that it is a record start. */
        dir->next_seq = seq;
        dir->seq_known = true;
        dir->in_sync = true; /* tentatively: an implausible first header is a gap */
    }

    bool fin = (segment->flags & MTLS_TCP_FIN) != 0;
    int32_t diff = seq_diff(seq, dir->next_seq);
    if (diff > 0 && (length > 0 || fin)) {
        /* Came early: hold it back until the bytes before it arrive. */
        if (hold_early(dir, seq, segment->payload, length, segment->flags)) {
            if (segment->flags & MTLS_TCP_RST)
                close_event(&run, dir, true);
            return run.result;
        }
        skip_gap(&run, dir, (uint32_t)diff); /* nothing more can be held: a gap */
        release_early(&run, dir, true);
        diff = seq_diff(seq, dir->next_seq);
        if (diff > 0) {
            skip_gap(&run, dir, (uint32_t)diff);
            dir->next_seq = seq;
            diff = 0;
        }
    }
    size_t skip = seq_behind(diff); /* retransmitted or overlapping */
    if (skip < length) {
        stream_bytes(&run, dir, seq + (uint32_t)skip, segment->payload + skip, length - skip);
        dir->next_seq = seq + (uint32_t)length;
    }
    if (length < segment->reported_length) {
        /* Cut by the snap length: what was not captured is a gap. */
        uint32_t missing = (uint32_t)(segment->reported_length - length);
        if (skip < segment->reported_length) {
            skip_gap(&run, dir, missing);
            dir->next_seq = seq + (uint32_t)segment->reported_length;
        }
    }
    if (fin && seq_diff(seq + (uint32_t)segment->reported_length, dir->next_seq) >= 0)
        dir->next_seq++;
    release_early(&run, dir, false);
    if (fin)
        close_event(&run, dir, false);
    if (segment->flags & MTLS_TCP_RST)
        close_event(&run, dir, true);
    return run.result;
}
