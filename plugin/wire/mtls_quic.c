/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The QUIC scanner (mtls_quic.h): packet headers without keys, frames of
 * decrypted packets, CRYPTO data put back in order per level and direction with
 * bounded buffers, every length checked against what is left.
 */
#include "mtls_quic.h"

#include <stdlib.h>
#include <string.h>

#include "mtls_handshake.h"

#define HANDSHAKE_HEADER 4
#define AEAD_TAG         16 /* every QUIC v1 and v2 AEAD (RFC 9001, 5.3) */
#define MAX_CID_V1       20

/* RFC 9000, 19 (and RFC 9221 for DATAGRAM). */
enum {
    FRAME_PADDING = 0x00,
    FRAME_PING = 0x01,
    FRAME_ACK = 0x02,
    FRAME_ACK_ECN = 0x03,
    FRAME_RESET_STREAM = 0x04,
    FRAME_STOP_SENDING = 0x05,
    FRAME_CRYPTO = 0x06,
    FRAME_NEW_TOKEN = 0x07,
    FRAME_STREAM_FIRST = 0x08,
    FRAME_STREAM_LAST = 0x0f,
    FRAME_MAX_DATA = 0x10,
    FRAME_MAX_STREAM_DATA = 0x11,
    FRAME_MAX_STREAMS_BIDI = 0x12,
    FRAME_MAX_STREAMS_UNI = 0x13,
    FRAME_DATA_BLOCKED = 0x14,
    FRAME_STREAM_DATA_BLOCKED = 0x15,
    FRAME_STREAMS_BLOCKED_BIDI = 0x16,
    FRAME_STREAMS_BLOCKED_UNI = 0x17,
    FRAME_NEW_CONNECTION_ID = 0x18,
    FRAME_RETIRE_CONNECTION_ID = 0x19,
    FRAME_PATH_CHALLENGE = 0x1a,
    FRAME_PATH_RESPONSE = 0x1b,
    FRAME_CONNECTION_CLOSE = 0x1c,
    FRAME_APPLICATION_CLOSE = 0x1d,
    FRAME_HANDSHAKE_DONE = 0x1e,
    FRAME_DATAGRAM = 0x30,
    FRAME_DATAGRAM_LENGTH = 0x31,
};

/* QUIC crypto errors are 0x100 + a TLS alert (RFC 9001, 4.8). */
#define CRYPTO_ERROR_FIRST 0x100u
#define CRYPTO_ERROR_LAST  0x1ffu

/* Encryption levels that carry CRYPTO frames (0-RTT carries none). */
enum { LEVEL_INITIAL = 0, LEVEL_HANDSHAKE, LEVEL_APPLICATION, LEVELS };

/* CRYPTO data that came before the bytes it follows, with its own copy. */
typedef struct early_range {
    struct early_range *next;
    uint64_t offset;
    uint32_t length;
    uint8_t data[];
} early_range_t;

/* The CRYPTO stream of one level and direction, and the TLS message being read. */
typedef struct {
    uint64_t next; /* the next offset expected */
    early_range_t *early;
    uint32_t early_bytes;
    uint8_t early_count;
    uint8_t header[HANDSHAKE_HEADER];
    uint8_t header_have;
    uint32_t left;    /* body bytes of the current message still to come */
    uint8_t *message; /* the current message, when it is one that is read whole */
    uint32_t message_have;
    bool broken; /* bytes were lost: the rest of this stream is not read */
} crypto_stream_t;

struct mtls_quic {
    crypto_stream_t crypto[2][LEVELS]; /* [from_server][level] */
    bool closed[2];                    /* [from_server]: its CONNECTION_CLOSE was reported */
    bool confirmed;                    /* the server sent HANDSHAKE_DONE */
};

/* One call of mtls_quic_packet(). */
typedef struct {
    mtls_quic_t *quic;
    const mtls_quic_callbacks_t *callbacks;
    void *context;
    bool from_server;
    uint32_t frame;
    int64_t time_ns;
    bool data_reported; /* this packet's application data event was sent */
    mtls_quic_result_t result;
} run_t;

/* ---- Numbers and headers --------------------------------------------------- */

bool mtls_quic_varint(const uint8_t *bytes, size_t length, size_t *offset, uint64_t *value)
{
    if (!bytes || *offset >= length)
        return false;
    size_t size = (size_t)1 << (bytes[*offset] >> 6);
    if (size > length - *offset)
        return false;
    uint64_t v = bytes[*offset] & 0x3fu;
    for (size_t i = 1; i < size; i++)
        v = v << 8 | bytes[*offset + i];
    *offset += size;
    *value = v;
    return true;
}

static uint32_t get32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static uint32_t get24(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 16 | (uint32_t)bytes[1] << 8 | bytes[2];
}

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu /* RFC 9369: the long packet types are rotated */

/* The long header's type bits as a packet type, or false for a version whose
 * header this scanner does not know. */
static bool long_type(uint32_t version, uint8_t bits, mtls_quic_packet_type_t *type)
{
    static const mtls_quic_packet_type_t v1[4] = {MTLS_QUIC_INITIAL, MTLS_QUIC_0RTT,
                                                  MTLS_QUIC_HANDSHAKE, MTLS_QUIC_RETRY};
    static const mtls_quic_packet_type_t v2[4] = {MTLS_QUIC_RETRY, MTLS_QUIC_INITIAL,
                                                  MTLS_QUIC_0RTT, MTLS_QUIC_HANDSHAKE};
    if (version == QUIC_V1 || (version & 0xffffff00u) == 0xff000000u) /* v1 and its drafts */
        *type = v1[bits & 3u];
    else if (version == QUIC_V2)
        *type = v2[bits & 3u];
    else
        return false;
    return true;
}

size_t mtls_quic_datagram(const uint8_t *datagram, size_t length, mtls_quic_header_t *packets,
                          size_t max)
{
    size_t at = 0, count = 0;
    if (!datagram || !packets)
        return 0;
    while (at < length && count < max) {
        mtls_quic_header_t *packet = &packets[count];
        uint8_t first = datagram[at];
        memset(packet, 0, sizeof(*packet));
        packet->offset = at;
        if (!(first & 0x80)) {
            /* Short header: the rest of the datagram. Its fixed bit may be
             * greased (RFC 9287) and its low bits are protected, so only zero
             * bytes after a packet are taken for padding (RFC 9000, 12.2). */
            if (first == 0 && count > 0)
                break;
            packet->type = MTLS_QUIC_1RTT;
            packet->length = length - at;
            count++;
            break;
        }
        size_t p = at + 1;
        if (length - p < 4 + 1)
            break;
        packet->version = get32(datagram + p);
        p += 4;
        uint8_t dcid = datagram[p++];
        if (dcid > length - p || (packet->version != 0 && dcid > MAX_CID_V1))
            break;
        packet->dcid_length = dcid;
        p += dcid;
        if (p >= length)
            break;
        uint8_t scid = datagram[p++];
        if (scid > length - p || (packet->version != 0 && scid > MAX_CID_V1))
            break;
        p += scid;
        if (packet->version == 0) {
            packet->type = MTLS_QUIC_VERSION_NEGOTIATION;
            packet->length = length - at;
            count++;
            break;
        }
        if (!long_type(packet->version, (uint8_t)(first >> 4), &packet->type))
            break;
        if (packet->type == MTLS_QUIC_RETRY) {
            packet->length = length - at;
            count++;
            break;
        }
        uint64_t value;
        if (packet->type == MTLS_QUIC_INITIAL) {
            if (!mtls_quic_varint(datagram, length, &p, &value) || value > length - p)
                break;
            p += (size_t)value; /* the token */
        }
        if (!mtls_quic_varint(datagram, length, &p, &value) || value > length - p)
            break;
        packet->length_field = value;
        packet->length = p + (size_t)value - at;
        at = p + (size_t)value;
        count++;
    }
    return count;
}

bool mtls_quic_payload_fits(const mtls_quic_header_t *packet, size_t decrypted_length)
{
    if (!packet || decrypted_length > SIZE_MAX / 2)
        return false;
    switch (packet->type) {
    case MTLS_QUIC_INITIAL:
    case MTLS_QUIC_0RTT:
    case MTLS_QUIC_HANDSHAKE:
        /* Length = packet number (1-4) + payload + tag. */
        return packet->length_field >= decrypted_length + 1 + AEAD_TAG &&
               packet->length_field <= decrypted_length + 4 + AEAD_TAG;
    case MTLS_QUIC_1RTT:
        /* First byte, DCID (0-20), packet number (1-4), payload, tag. */
        return packet->length >= decrypted_length + 1 + 1 + AEAD_TAG &&
               packet->length <= decrypted_length + 1 + MAX_CID_V1 + 4 + AEAD_TAG;
    case MTLS_QUIC_RETRY:
    case MTLS_QUIC_VERSION_NEGOTIATION: break;
    }
    return false;
}

/* ---- State ------------------------------------------------------------------ */

mtls_quic_t *mtls_quic_new(void)
{
    return calloc(1, sizeof(mtls_quic_t));
}

static void drop_message(crypto_stream_t *cs)
{
    free(cs->message);
    cs->message = NULL;
    cs->message_have = 0;
}

static void drop_early(crypto_stream_t *cs)
{
    while (cs->early) {
        early_range_t *next = cs->early->next;
        free(cs->early);
        cs->early = next;
    }
    cs->early_count = 0;
    cs->early_bytes = 0;
}

void mtls_quic_free(mtls_quic_t *quic)
{
    if (!quic)
        return;
    for (unsigned d = 0; d < 2; d++)
        for (unsigned l = 0; l < LEVELS; l++) {
            drop_message(&quic->crypto[d][l]);
            drop_early(&quic->crypto[d][l]);
        }
    free(quic);
}

size_t mtls_quic_memory(const mtls_quic_t *quic)
{
    if (!quic)
        return 0;
    size_t bytes = sizeof(*quic);
    for (unsigned d = 0; d < 2; d++)
        for (unsigned l = 0; l < LEVELS; l++) {
            const crypto_stream_t *cs = &quic->crypto[d][l];
            if (cs->message)
                bytes += cs->message_have;
            for (const early_range_t *early = cs->early; early; early = early->next)
                bytes += sizeof(*early) + early->length;
        }
    return bytes;
}

bool mtls_quic_closed(const mtls_quic_t *quic)
{
    return !quic || quic->closed[0] || quic->closed[1];
}

bool mtls_quic_confirmed(const mtls_quic_t *quic)
{
    return quic && quic->confirmed;
}

/* ---- Events ----------------------------------------------------------------- */

static mtls_event_t new_event(const run_t *run, mtls_event_type_t type)
{
    mtls_event_t event;
    memset(&event, 0, sizeof(event));
    event.type = type;
    event.from_server = run->from_server;
    event.frame = run->frame;
    event.time_ns = run->time_ns;
    event.alert_level = MTLS_ALERT_UNKNOWN;
    event.alert_description = MTLS_ALERT_UNKNOWN;
    return event;
}

static void emit(run_t *run, const mtls_event_t *event, const uint8_t *message, size_t length)
{
    run->result.events++;
    if (run->callbacks && run->callbacks->event)
        run->callbacks->event(run->context, event, length ? message : NULL, length);
}

/* ---- TLS handshake messages in CRYPTO data ---------------------------------- */

/* One whole message (as far as it was kept) becomes one event, as the TCP
 * scanner reports a decrypted TLS 1.3 handshake message. */
static void handshake_message(run_t *run, uint8_t type, const uint8_t *message, size_t length)
{
    mtls_event_t event = new_event(run, MTLS_EV_OTHER_HANDSHAKE);
    mtls_handshake_event(type, message, length, true, &event);
    bool whole = mtls_handshake_read_whole(type);
    emit(run, &event, whole ? message : NULL, whole ? length : 0);
}

static void message_reset(crypto_stream_t *cs)
{
    cs->header_have = 0;
    cs->left = 0;
    drop_message(cs);
}

static void message_complete(run_t *run, crypto_stream_t *cs)
{
    if (cs->message)
        handshake_message(run, cs->header[0], cs->message, cs->message_have);
    else
        handshake_message(run, cs->header[0], cs->header, HANDSHAKE_HEADER);
    message_reset(cs);
}

/* CRYPTO bytes of one stream, in order. Messages span frames and packets. */
static void handshake_bytes(run_t *run, crypto_stream_t *cs, const uint8_t *bytes, size_t length)
{
    while (length > 0) {
        if (cs->header_have < HANDSHAKE_HEADER) {
            /* A whole message inside these bytes is read in place, without a copy. */
            if (cs->header_have == 0 && length >= HANDSHAKE_HEADER) {
                uint32_t body = get24(bytes + 1);
                if (body <= length - HANDSHAKE_HEADER) {
                    handshake_message(run, bytes[0], bytes, HANDSHAKE_HEADER + body);
                    bytes += HANDSHAKE_HEADER + body;
                    length -= HANDSHAKE_HEADER + body;
                    continue;
                }
            }
            cs->header[cs->header_have++] = *bytes++;
            length--;
            if (cs->header_have < HANDSHAKE_HEADER)
                continue;
            cs->left = get24(cs->header + 1);
            if (mtls_handshake_read_whole(cs->header[0])) {
                size_t keep = (size_t)HANDSHAKE_HEADER + cs->left;
                if (keep > MTLS_QUIC_MAX_BUFFERED_MESSAGE)
                    keep = MTLS_QUIC_MAX_BUFFERED_MESSAGE;
                cs->message = malloc(keep);
                if (cs->message) {
                    memcpy(cs->message, cs->header, HANDSHAKE_HEADER);
                    cs->message_have = HANDSHAKE_HEADER;
                }
            }
            if (cs->left == 0)
                message_complete(run, cs);
            continue;
        }
        size_t take = length < cs->left ? length : cs->left;
        if (cs->message) {
            /* The buffer holds min(message, cap) bytes: keep the head only. */
            size_t space = cs->message_have < MTLS_QUIC_MAX_BUFFERED_MESSAGE
                               ? MTLS_QUIC_MAX_BUFFERED_MESSAGE - cs->message_have
                               : 0;
            size_t copy = take < space ? take : space;
            memcpy(cs->message + cs->message_have, bytes, copy);
            cs->message_have += (uint32_t)copy;
        }
        bytes += take;
        length -= take;
        cs->left -= (uint32_t)take;
        if (cs->left == 0)
            message_complete(run, cs);
    }
}

/* ---- CRYPTO reassembly ------------------------------------------------------ */

/* A hole that will not be filled within the caps: the stream is lost from here
 * (a message cut by it would be invented otherwise). */
static void crypto_gap(run_t *run, crypto_stream_t *cs)
{
    cs->broken = true;
    message_reset(cs);
    drop_early(cs);
    run->result.gap = true;
}

/* Reads held-back ranges that are now next. */
static void release_early(run_t *run, crypto_stream_t *cs)
{
    while (cs->early && cs->early->offset <= cs->next) {
        early_range_t *early = cs->early;
        cs->early = early->next;
        cs->early_count--;
        cs->early_bytes -= early->length;
        uint64_t end = early->offset + early->length;
        if (end > cs->next) {
            size_t skip = (size_t)(cs->next - early->offset);
            handshake_bytes(run, cs, early->data + skip, early->length - skip);
            cs->next = end;
        }
        free(early);
    }
}

static void hold_early(run_t *run, crypto_stream_t *cs, uint64_t offset, const uint8_t *data,
                       size_t length)
{
    early_range_t **at = &cs->early;
    while (*at && (*at)->offset < offset)
        at = &(*at)->next;
    if (*at && (*at)->offset == offset && (*at)->length >= length)
        return; /* the same range again */
    if (cs->early_count >= MTLS_QUIC_MAX_EARLY_RANGES ||
        length > MTLS_QUIC_MAX_EARLY_BYTES - cs->early_bytes) {
        crypto_gap(run, cs);
        return;
    }
    early_range_t *early = malloc(sizeof(*early) + length);
    if (!early) {
        crypto_gap(run, cs);
        return;
    }
    early->offset = offset;
    early->length = (uint32_t)length;
    memcpy(early->data, data, length);
    early->next = *at;
    *at = early;
    cs->early_count++;
    cs->early_bytes += (uint32_t)length;
}

static void crypto_frame(run_t *run, crypto_stream_t *cs, uint64_t offset, const uint8_t *data,
                         size_t length)
{
    if (cs->broken || length == 0)
        return;
    uint64_t end = offset + length; /* offset < 2^62, length < 2^62: no overflow */
    if (end <= cs->next)
        return; /* a retransmission of what was read */
    if (offset > cs->next) {
        hold_early(run, cs, offset, data, length);
        return;
    }
    size_t skip = (size_t)(cs->next - offset);
    handshake_bytes(run, cs, data + skip, length - skip);
    cs->next = end;
    release_early(run, cs);
}

/* ---- Frames ----------------------------------------------------------------- */

/* Application data (STREAM, DATAGRAM): one event per packet and sender. */
static void application_data(run_t *run, uint64_t length)
{
    if (run->data_reported || length == 0)
        return;
    run->data_reported = true;
    mtls_event_t event = new_event(run, MTLS_EV_APPLICATION_DATA);
    event.record_length = length > UINT16_MAX ? UINT16_MAX : (uint16_t)length;
    emit(run, &event, NULL, 0);
}

static void connection_close(run_t *run, uint64_t frame_type, uint64_t error)
{
    mtls_quic_t *quic = run->quic;
    run->result.close = true;
    if (quic->closed[run->from_server])
        return; /* the same close in another packet, or the closing period's copies */
    quic->closed[run->from_server] = true;
    bool crypto = frame_type == FRAME_CONNECTION_CLOSE && error >= CRYPTO_ERROR_FIRST &&
                  error <= CRYPTO_ERROR_LAST;
    mtls_event_t event = new_event(run, MTLS_EV_CLOSE);
    if (run->from_server && frame_type == FRAME_CONNECTION_CLOSE && !quic->confirmed) {
        /* The server ended the handshake: its error code is the decision. */
        event.type = MTLS_EV_OUTER;
        event.outer = MTLS_OUTER_QUIC_CLOSE;
        event.quic_error = error;
    } else if (!run->from_server && crypto) {
        /* The client's TLS stack failed: its fatal alert, as over TCP. */
        event.type = MTLS_EV_ALERT;
        event.alert_level = 2;
        event.alert_description = (int)(error - CRYPTO_ERROR_FIRST);
    }
    emit(run, &event, NULL, 0);
}

/* Skips `count` varints; false when they do not fit. */
static bool skip_varints(const uint8_t *p, size_t length, size_t *at, unsigned count)
{
    uint64_t value;
    for (unsigned i = 0; i < count; i++)
        if (!mtls_quic_varint(p, length, at, &value))
            return false;
    return true;
}

/* One frame at *at; false when it is malformed or of an unknown type. */
static bool read_frame(run_t *run, int level, const uint8_t *p, size_t length, size_t *at)
{
    uint64_t type, a, b, c;
    if (!mtls_quic_varint(p, length, at, &type))
        return false;
    run->result.frames++;
    switch (type) {
    case FRAME_PADDING:
        while (*at < length && p[*at] == 0)
            (*at)++;
        return true;
    case FRAME_PING:
    case FRAME_HANDSHAKE_DONE:
        if (type == FRAME_HANDSHAKE_DONE && run->from_server && !run->quic->confirmed) {
            /* The server confirmed the handshake (RFC 9001, 4.1.2): it went on. */
            run->quic->confirmed = true;
            mtls_event_t event = new_event(run, MTLS_EV_OTHER_HANDSHAKE);
            emit(run, &event, NULL, 0);
        }
        return true;
    case FRAME_ACK:
    case FRAME_ACK_ECN:
        if (!skip_varints(p, length, at, 2) || !mtls_quic_varint(p, length, at, &a) ||
            !skip_varints(p, length, at, 1))
            return false;
        /* Each range is two varints of at least one byte: bounded by the payload. */
        if (a > (length - *at) / 2)
            return false;
        if (!skip_varints(p, length, at, (unsigned)(a * 2)))
            return false;
        return type == FRAME_ACK || skip_varints(p, length, at, 3);
    case FRAME_RESET_STREAM: return skip_varints(p, length, at, 3);
    case FRAME_STOP_SENDING: return skip_varints(p, length, at, 2);
    case FRAME_CRYPTO:
        if (!mtls_quic_varint(p, length, at, &a) || !mtls_quic_varint(p, length, at, &b) ||
            b > length - *at)
            return false;
        if (level >= 0)
            crypto_frame(run, &run->quic->crypto[run->from_server][level], a, p + *at, (size_t)b);
        *at += (size_t)b;
        return true;
    case FRAME_NEW_TOKEN:
        if (!mtls_quic_varint(p, length, at, &a) || a > length - *at)
            return false;
        *at += (size_t)a;
        return true;
    case FRAME_MAX_DATA:
    case FRAME_MAX_STREAMS_BIDI:
    case FRAME_MAX_STREAMS_UNI:
    case FRAME_DATA_BLOCKED:
    case FRAME_STREAMS_BLOCKED_BIDI:
    case FRAME_STREAMS_BLOCKED_UNI:
    case FRAME_RETIRE_CONNECTION_ID: return skip_varints(p, length, at, 1);
    case FRAME_MAX_STREAM_DATA:
    case FRAME_STREAM_DATA_BLOCKED: return skip_varints(p, length, at, 2);
    case FRAME_NEW_CONNECTION_ID:
        if (!skip_varints(p, length, at, 2) || *at >= length)
            return false;
        a = p[(*at)++];
        if (a < 1 || a > MAX_CID_V1 || a + 16 > length - *at)
            return false;
        *at += (size_t)a + 16; /* connection ID, stateless reset token */
        return true;
    case FRAME_PATH_CHALLENGE:
    case FRAME_PATH_RESPONSE:
        if (length - *at < 8)
            return false;
        *at += 8;
        return true;
    case FRAME_CONNECTION_CLOSE:
    case FRAME_APPLICATION_CLOSE:
        c = 0;
        if (!mtls_quic_varint(p, length, at, &a) ||
            (type == FRAME_CONNECTION_CLOSE && !mtls_quic_varint(p, length, at, &c)) ||
            !mtls_quic_varint(p, length, at, &b) || b > length - *at)
            return false;
        *at += (size_t)b; /* reason phrase */
        connection_close(run, type, a);
        return true;
    case FRAME_DATAGRAM:
        application_data(run, length - *at);
        *at = length;
        return true;
    case FRAME_DATAGRAM_LENGTH:
        if (!mtls_quic_varint(p, length, at, &a) || a > length - *at)
            return false;
        application_data(run, a);
        *at += (size_t)a;
        return true;
    default:
        if (type >= FRAME_STREAM_FIRST && type <= FRAME_STREAM_LAST) {
            if (!skip_varints(p, length, at, 1) ||
                ((type & 0x04) && !skip_varints(p, length, at, 1)))
                return false;
            if (type & 0x02) {
                if (!mtls_quic_varint(p, length, at, &a) || a > length - *at)
                    return false;
            } else {
                a = length - *at;
            }
            application_data(run, a);
            *at += (size_t)a;
            return true;
        }
        return false; /* unknown: its length is unknown too */
    }
}

mtls_quic_result_t mtls_quic_packet(mtls_quic_t *quic, const mtls_quic_packet_t *packet,
                                    const mtls_quic_callbacks_t *callbacks, void *context)
{
    run_t run;
    memset(&run, 0, sizeof(run));
    if (!quic || !packet || (!packet->payload && packet->length))
        return run.result;
    run.quic = quic;
    run.callbacks = callbacks;
    run.context = context;
    run.from_server = packet->from_server;
    run.frame = packet->frame;
    run.time_ns = packet->time_ns;
    int level;
    switch (packet->type) {
    case MTLS_QUIC_INITIAL: level = LEVEL_INITIAL; break;
    case MTLS_QUIC_HANDSHAKE: level = LEVEL_HANDSHAKE; break;
    case MTLS_QUIC_1RTT: level = LEVEL_APPLICATION; break;
    case MTLS_QUIC_0RTT: level = -1; break; /* no CRYPTO frames (RFC 9000, 12.4) */
    default: return run.result;             /* Retry and Version Negotiation carry no frames */
    }
    if (quic->closed[run.from_server]) {
        /* Closing: only copies of its CONNECTION_CLOSE follow. */
        run.result.close = true;
        return run.result;
    }
    size_t at = 0;
    while (at < packet->length && !quic->closed[run.from_server]) {
        if (!read_frame(&run, level, packet->payload, packet->length, &at)) {
            run.result.malformed = true;
            break;
        }
    }
    return run.result;
}
