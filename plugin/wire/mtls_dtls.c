/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The DTLS 1.2 scanner (mtls_dtls.h): records read in place from each datagram,
 * handshake fragments reassembled under hard caps, every length checked against
 * what is left.
 */
#include "mtls_dtls.h"

#include <stdlib.h>
#include <string.h>

#include "mtls_handshake.h"
#include "mtls_hello.h"

enum {
    CONTENT_CHANGE_CIPHER_SPEC = 20,
    CONTENT_ALERT = 21,
    CONTENT_HANDSHAKE = 22,
    CONTENT_APPLICATION_DATA = 23,
    CONTENT_HEARTBEAT = 24,
    CONTENT_TLS12_CID = 25, /* RFC 9146: the CID follows the sequence number */
};
#define RECORD_HEADER     13
#define DTLS_HS_HEADER    12
#define TLS_HS_HEADER     4
#define MAX_RECORD_LENGTH (16384 + 2048)
/* Epochs whose record numbers are remembered, and how far back in each. */
#define WINDOWS        4
#define WINDOW_BITS    64
#define DTLS13_VERSION 0xfefc

/* A handshake message being put together from its fragments. */
typedef struct pending {
    struct pending *next;
    uint16_t message_seq;
    uint8_t type;
    bool end_seen;     /* a fragment reached the end of a message longer than `kept` */
    uint32_t total;    /* body length */
    uint32_t kept;     /* body bytes kept: min(total, the cap) */
    uint32_t covered;  /* of those, bytes received */
    size_t size;       /* of this allocation */
    uint8_t *bitmap;   /* one bit per kept byte: received */
    uint8_t message[]; /* TLS form: 4-byte header, then `kept` body bytes; then the bitmap */
} pending_t;

/* Record numbers seen in one epoch (anti-replay window, RFC 6347 4.1.2.6). */
typedef struct {
    uint64_t highest;
    uint64_t seen; /* bit i: highest - i was seen */
    uint16_t epoch;
    bool used;
} window_t;

typedef struct {
    window_t windows[WINDOWS];
    pending_t *pending;
    size_t pending_bytes;
    unsigned pending_count;
    uint16_t next_seq;        /* message_seq of the next message to deliver */
    uint16_t handshake_epoch; /* the epoch the current handshake began in */
    uint32_t ccs_epoch;       /* the epoch its last ChangeCipherSpec led to */
    uint32_t drop_finished;   /* a repeated CCS led to this epoch: its Finished repeats too */
    uint32_t last_ccs;        /* when this direction's last CCS was reported (ccs_count) */
    bool seq_known : 1;
    bool lost : 1;       /* a protected handshake record was not decrypted */
    bool hello_sent : 1; /* a ClientHello was delivered in the current handshake */
    bool delivered : 1;  /* a message was delivered in it */
} direction_t;

/* A renegotiation's first message (HelloRequest, ClientHello) read from a
 * decrypted record, held until the next record shows whether the rest of that
 * handshake is decrypted too. */
typedef struct {
    mtls_event_t event;
    unsigned direction;
    uint8_t *message; /* the ClientHello in TLS form, or NULL */
    size_t message_length;
} held_t;
#define MAX_HELD 2

struct mtls_dtls {
    direction_t directions[2];
    held_t held[MAX_HELD];
    unsigned held_count;
    uint32_t ccs_count;   /* ChangeCipherSpecs reported, for their order */
    int client_direction; /* the sender of the first ClientHello; -1 before */
    bool unsupported;     /* DTLS 1.3 was selected: its records are not read */
};

/* One call of mtls_dtls_datagram(). */
typedef struct {
    mtls_dtls_t *dtls;
    const mtls_dtls_callbacks_t *callbacks;
    void *context;
    unsigned direction;
    uint32_t frame;
    int64_t time_ns;
    uint16_t record_version; /* of the record being read, as a TLS version */
    uint16_t record_length;
    uint16_t record_epoch;
    unsigned protected_index;
    mtls_dtls_result_t result;
} run_t;

static uint16_t get16(const uint8_t *bytes)
{
    return (uint16_t)(bytes[0] << 8 | bytes[1]);
}

static uint32_t get24(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 16 | (uint32_t)bytes[1] << 8 | bytes[2];
}

static uint64_t get48(const uint8_t *bytes)
{
    uint64_t value = 0;
    for (int i = 0; i < 6; i++)
        value = value << 8 | bytes[i];
    return value;
}

/* The TLS version a DTLS version is based on (RFC 6347 4.1): DTLS 1.2 is TLS
 * 1.2, DTLS 1.0 is TLS 1.1; 0 for anything else. */
static uint16_t tls_version(uint16_t dtls_version)
{
    switch (dtls_version) {
    case 0xfefd: return 0x0303;
    case 0xfeff: return 0x0302;
    default: return 0;
    }
}

mtls_dtls_t *mtls_dtls_new(void)
{
    mtls_dtls_t *dtls = calloc(1, sizeof(mtls_dtls_t));
    if (dtls)
        dtls->client_direction = -1;
    return dtls;
}

static void drop_pending(direction_t *dir)
{
    while (dir->pending) {
        pending_t *next = dir->pending->next;
        free(dir->pending);
        dir->pending = next;
    }
    dir->pending_count = 0;
    dir->pending_bytes = 0;
}

static void drop_held(mtls_dtls_t *dtls)
{
    for (unsigned i = 0; i < dtls->held_count; i++)
        free(dtls->held[i].message);
    dtls->held_count = 0;
}

void mtls_dtls_free(mtls_dtls_t *dtls)
{
    if (!dtls)
        return;
    drop_held(dtls);
    for (unsigned i = 0; i < 2; i++)
        drop_pending(&dtls->directions[i]);
    free(dtls);
}

size_t mtls_dtls_memory(const mtls_dtls_t *dtls)
{
    if (!dtls)
        return 0;
    size_t bytes = sizeof(*dtls);
    for (unsigned i = 0; i < 2; i++)
        bytes += dtls->directions[i].pending_bytes;
    for (unsigned i = 0; i < dtls->held_count; i++)
        bytes += dtls->held[i].message_length;
    return bytes;
}

/* ---- Events ----------------------------------------------------------------- */

static mtls_event_t new_event(const run_t *run, mtls_event_type_t type)
{
    mtls_event_t event;
    memset(&event, 0, sizeof(event));
    event.type = type;
    event.frame = run->frame;
    event.time_ns = run->time_ns;
    event.alert_level = MTLS_ALERT_UNKNOWN;
    event.alert_description = MTLS_ALERT_UNKNOWN;
    event.record_length = run->record_length;
    event.version = run->record_version;
    return event;
}

static void report(run_t *run, unsigned direction, const mtls_event_t *event,
                   const uint8_t *message, size_t message_length)
{
    run->result.events++;
    if (run->callbacks && run->callbacks->event)
        run->callbacks->event(run->context, direction, event, message_length ? message : NULL,
                              message_length);
}

/* The held renegotiation start, before whatever comes next: as it was read when
 * `decrypted`, else as protected handshake records (the rest of that handshake is
 * not decrypted either, and the engine then infers the whole renegotiation from
 * record sizes, as without keys). */
static void release_held(run_t *run, bool decrypted)
{
    mtls_dtls_t *dtls = run->dtls;
    for (unsigned i = 0; i < dtls->held_count; i++) {
        held_t *held = &dtls->held[i];
        if (decrypted) {
            report(run, held->direction, &held->event, held->message, held->message_length);
        } else {
            mtls_event_t event = held->event;
            event.type = MTLS_EV_OTHER_HANDSHAKE;
            event.encrypted = true;
            event.pha_offered = false;
            report(run, held->direction, &event, NULL, 0);
        }
    }
    drop_held(dtls);
}

static void emit(run_t *run, const mtls_event_t *event, const uint8_t *message,
                 size_t message_length)
{
    if (run->dtls->held_count)
        release_held(run, true);
    report(run, run->direction, event, message, message_length);
}

/* A renegotiation's first message from a decrypted record: held (see held_t). */
static void hold(run_t *run, const mtls_event_t *event, const uint8_t *message,
                 size_t message_length)
{
    mtls_dtls_t *dtls = run->dtls;
    if (dtls->held_count == MAX_HELD)
        release_held(run, true);
    held_t *held = &dtls->held[dtls->held_count];
    held->event = *event;
    held->direction = run->direction;
    held->message = NULL;
    held->message_length = 0;
    if (message && message_length) {
        held->message = malloc(message_length);
        if (!held->message) {
            report(run, run->direction, event, message, message_length);
            return;
        }
        memcpy(held->message, message, message_length);
        held->message_length = message_length;
    }
    dtls->held_count++;
}

static void emit_simple(run_t *run, mtls_event_type_t type)
{
    mtls_event_t event = new_event(run, type);
    emit(run, &event, NULL, 0);
}

static void alert_pair(run_t *run, uint8_t level, uint8_t description)
{
    mtls_event_t event = new_event(run, MTLS_EV_ALERT);
    event.alert_level = level;
    event.alert_description = description;
    emit(run, &event, NULL, 0);
}

static void alerts(run_t *run, const uint8_t *bytes, size_t length)
{
    if (length < 2)
        emit_simple(run, MTLS_EV_ALERT);
    for (size_t i = 0; i + 1 < length; i += 2)
        alert_pair(run, bytes[i], bytes[i + 1]);
}

/* ---- Handshake messages ------------------------------------------------------ */

static bool read_whole(uint8_t type)
{
    return type == MTLS_HANDSHAKE_CLIENT_HELLO || type == MTLS_HANDSHAKE_SERVER_HELLO ||
           type == MTLS_HANDSHAKE_CERTIFICATE || type == MTLS_HANDSHAKE_CERTIFICATE_REQUEST;
}

/* A DTLS ClientHello's body has a cookie after the session id (RFC 6347
 * 4.2.1): removed in place, so that the message reads as a TLS ClientHello.
 * Returns the new message length; unchanged when the body is too short. */
static size_t strip_cookie(uint8_t *message, size_t length)
{
    size_t at = TLS_HS_HEADER + 2 + 32; /* client_version, random */
    if (length <= at)
        return length;
    at += 1u + message[at]; /* session_id */
    if (length <= at)
        return length;
    size_t cookie = 1u + message[at];
    if (length < at + cookie)
        return length;
    memmove(message + at, message + at + cookie, length - at - cookie);
    length -= cookie;
    uint32_t body = get24(message + 1);
    body = body >= cookie ? body - (uint32_t)cookie : 0;
    message[1] = (uint8_t)(body >> 16);
    message[2] = (uint8_t)(body >> 8);
    message[3] = (uint8_t)body;
    return length;
}

/* The hellos' version field, as the TLS version the DTLS one is based on. */
static void map_hello_version(uint8_t *message, size_t length)
{
    if (length < TLS_HS_HEADER + 2)
        return;
    uint16_t version = tls_version(get16(message + TLS_HS_HEADER));
    if (version) {
        message[TLS_HS_HEADER] = (uint8_t)(version >> 8);
        message[TLS_HS_HEADER + 1] = (uint8_t)version;
    }
}

/* A Certificate message (TLS form, from its type byte) with an empty list. */
static bool certificate_empty(const uint8_t *message, size_t length)
{
    return length >= TLS_HS_HEADER + 3 && get24(message + TLS_HS_HEADER) == 0;
}

/* One whole handshake message (in TLS form, as far as it was kept, writable)
 * becomes one event. */
static void handshake_message(run_t *run, direction_t *dir, uint8_t *message, size_t length)
{
    uint8_t type = message[0];
    mtls_event_t event = new_event(run, MTLS_EV_OTHER_HANDSHAKE);
    mtls_hello_t hello;
    switch (type) {
    case MTLS_HANDSHAKE_HELLO_REQUEST: event.type = MTLS_EV_HELLO_REQUEST; break;
    case MTLS_HANDSHAKE_CLIENT_HELLO:
        if (dir->hello_sent)
            return; /* the retry with the cookie after a HelloVerifyRequest: the same
                       hello, and the engine would open a second exchange in a
                       renegotiation */
        dir->hello_sent = true;
        if (run->dtls->client_direction < 0)
            run->dtls->client_direction = (int)run->direction;
        event.type = MTLS_EV_CLIENT_HELLO;
        length = strip_cookie(message, length);
        map_hello_version(message, length);
        mtls_hello_parse(message, length, &hello);
        event.pha_offered = hello.pha_offered;
        break;
    case MTLS_HANDSHAKE_SERVER_HELLO:
        map_hello_version(message, length);
        mtls_hello_parse(message, length, &hello);
        if (hello.selected_version == DTLS13_VERSION) {
            /* DTLS 1.3's records are another format: nothing more is read. */
            run->dtls->unsupported = true;
            return;
        }
        event.type = MTLS_EV_SERVER_HELLO;
        event.version = hello.legacy_version;
        event.cipher_suite = hello.cipher_suite;
        event.psk_accepted = hello.psk_accepted;
        break;
    case MTLS_HANDSHAKE_NEW_SESSION_TICKET: event.type = MTLS_EV_NEW_SESSION_TICKET; break;
    case MTLS_HANDSHAKE_CERTIFICATE:
        event.type = MTLS_EV_CERTIFICATE;
        event.empty = certificate_empty(message, length);
        break;
    case MTLS_HANDSHAKE_CERTIFICATE_REQUEST: event.type = MTLS_EV_CERTIFICATE_REQUEST; break;
    case MTLS_HANDSHAKE_SERVER_HELLO_DONE: event.type = MTLS_EV_SERVER_HELLO_DONE; break;
    case MTLS_HANDSHAKE_CERTIFICATE_VERIFY: event.type = MTLS_EV_CERTIFICATE_VERIFY; break;
    case MTLS_HANDSHAKE_CLIENT_KEY_EXCHANGE: event.type = MTLS_EV_CLIENT_KEY_EXCHANGE; break;
    case MTLS_HANDSHAKE_FINISHED: event.type = MTLS_EV_FINISHED; break;
    default: break;
    }
    if ((type == MTLS_HANDSHAKE_HELLO_REQUEST || type == MTLS_HANDSHAKE_CLIENT_HELLO) &&
        run->record_epoch > 0) {
        hold(run, &event, type == MTLS_HANDSHAKE_CLIENT_HELLO ? message : NULL,
             type == MTLS_HANDSHAKE_CLIENT_HELLO ? length : 0);
        return;
    }
    emit(run, &event, read_whole(type) ? message : NULL, read_whole(type) ? length : 0);
}

static bool pending_complete(const pending_t *p)
{
    return p->covered == p->kept && (p->kept == p->total || p->end_seen);
}

static void pending_remove(direction_t *dir, pending_t *p)
{
    for (pending_t **at = &dir->pending; *at; at = &(*at)->next)
        if (*at == p) {
            *at = p->next;
            dir->pending_count--;
            dir->pending_bytes -= p->size;
            free(p);
            return;
        }
}

static pending_t *pending_find(direction_t *dir, uint16_t message_seq)
{
    for (pending_t *p = dir->pending; p; p = p->next)
        if (p->message_seq == message_seq)
            return p;
    return NULL;
}

/* Delivers what is complete, in message_seq order. After an undecrypted record
 * (`lost`) the next complete message is taken whatever came before it. */
static void deliver(run_t *run, direction_t *dir)
{
    for (;;) {
        if (run->dtls->unsupported)
            return;
        pending_t *next = pending_find(dir, dir->next_seq);
        if (!next && dir->lost) {
            for (pending_t *p = dir->pending; p; p = p->next)
                if (pending_complete(p) && p->message_seq > dir->next_seq &&
                    (!next || p->message_seq < next->message_seq))
                    next = p;
        }
        if (!next || !pending_complete(next))
            return;
        dir->lost = false;
        dir->delivered = true;
        dir->next_seq = (uint16_t)(next->message_seq + 1);
        /* Older fragments can no longer be delivered. */
        for (pending_t *p = dir->pending; p;) {
            pending_t *after = p->next;
            if (p != next && p->message_seq < dir->next_seq)
                pending_remove(dir, p);
            p = after;
        }
        handshake_message(run, dir, next->message, TLS_HS_HEADER + (size_t)next->kept);
        pending_remove(dir, next);
    }
}

/* A new handshake (renegotiation) begins in this direction: message_seq
 * starts again. */
static void handshake_restart(direction_t *dir, uint16_t epoch, uint16_t message_seq)
{
    drop_pending(dir);
    dir->next_seq = message_seq;
    dir->seq_known = true;
    dir->handshake_epoch = epoch;
    dir->lost = false;
    dir->hello_sent = false;
    dir->delivered = false;
}

/* One handshake fragment: 12-byte header + `available` bytes after it. */
static void handshake_fragment(run_t *run, direction_t *dir, const uint8_t *header,
                               const uint8_t *data, size_t available)
{
    uint8_t type = header[0];
    uint32_t total = get24(header + 1);
    uint16_t message_seq = get16(header + 4);
    uint32_t offset = get24(header + 6);
    uint32_t length = get24(header + 9);
    if (length > available || offset > total || length > total - offset) {
        run->result.malformed = true;
        return;
    }
    bool starts = type == MTLS_HANDSHAKE_CLIENT_HELLO || type == MTLS_HANDSHAKE_HELLO_REQUEST ||
                  type == MTLS_HANDSHAKE_SERVER_HELLO;
    if (starts && message_seq <= 1 && run->record_epoch > dir->handshake_epoch)
        handshake_restart(dir, run->record_epoch, message_seq);
    if (!dir->seq_known) {
        /* The first message seen: delivery starts here. */
        dir->next_seq = message_seq;
        dir->seq_known = true;
    }
    if (message_seq < dir->next_seq && !dir->delivered &&
        dir->next_seq - message_seq < MTLS_DTLS_MAX_PENDING)
        dir->next_seq = message_seq; /* nothing delivered yet: an earlier message came late */
    if (message_seq < dir->next_seq)
        return; /* delivered already: a retransmitted flight */
    if (message_seq - dir->next_seq >= MTLS_DTLS_MAX_PENDING)
        return; /* too far ahead to be kept */
    pending_t *p = pending_find(dir, message_seq);
    if (p && (p->type != type || p->total != total))
        return; /* contradicts the fragments kept: the first ones win */
    if (!p) {
        uint32_t kept = total < MTLS_DTLS_MAX_MESSAGE - TLS_HS_HEADER
                            ? total
                            : MTLS_DTLS_MAX_MESSAGE - TLS_HS_HEADER;
        size_t size = sizeof(pending_t) + TLS_HS_HEADER + kept + (kept + 7u) / 8u;
        if (dir->pending_count >= MTLS_DTLS_MAX_PENDING ||
            dir->pending_bytes + size > MTLS_DTLS_MAX_PENDING_BYTES)
            return;
        p = calloc(1, size);
        if (!p)
            return;
        p->message_seq = message_seq;
        p->type = type;
        p->total = total;
        p->kept = kept;
        p->size = size;
        p->message[0] = type;
        p->message[1] = header[1];
        p->message[2] = header[2];
        p->message[3] = header[3];
        p->bitmap = p->message + TLS_HS_HEADER + kept;
        p->next = dir->pending;
        dir->pending = p;
        dir->pending_count++;
        dir->pending_bytes += size;
    }
    uint32_t end = offset + length;
    if (end == total)
        p->end_seen = true;
    uint32_t stop = end < p->kept ? end : p->kept;
    uint32_t at = offset;
    while (at < stop) {
        if ((at & 7u) == 0 && stop - at >= 8 && p->bitmap[at >> 3] == 0) {
            /* Bytes no fragment brought yet, eight at a time (nearly all of them). */
            uint32_t fresh = at;
            while (stop - fresh >= 8 && p->bitmap[fresh >> 3] == 0) {
                p->bitmap[fresh >> 3] = 0xff;
                fresh += 8;
            }
            memcpy(p->message + TLS_HS_HEADER + at, data + (at - offset), fresh - at);
            p->covered += fresh - at;
            at = fresh;
            continue;
        }
        uint8_t bit = (uint8_t)(1u << (at & 7u));
        if (!(p->bitmap[at >> 3] & bit)) { /* else an earlier fragment's copy stays */
            p->bitmap[at >> 3] |= bit;
            p->message[TLS_HS_HEADER + at] = data[at - offset];
            p->covered++;
        }
        at++;
    }
    deliver(run, dir);
}

/* Handshake bytes of one record (plaintext, or the dissector's plaintext of a
 * protected one): DTLS handshake fragments back to back. */
static void handshake_bytes(run_t *run, direction_t *dir, const uint8_t *bytes, size_t length)
{
    while (length >= DTLS_HS_HEADER && !run->dtls->unsupported) {
        uint32_t fragment = get24(bytes + 9);
        size_t available = length - DTLS_HS_HEADER;
        handshake_fragment(run, dir, bytes, bytes + DTLS_HS_HEADER, available);
        if (fragment > available)
            return;
        bytes += DTLS_HS_HEADER + fragment;
        length -= DTLS_HS_HEADER + fragment;
    }
    if (length > 0)
        run->result.malformed = true;
}

/* ---- Records ------------------------------------------------------------------ */

/* True when this (epoch, sequence number) was seen before in the direction; marks
 * it seen. Records older than the window of their epoch count as seen. */
static bool duplicate(direction_t *dir, uint16_t epoch, uint64_t sequence)
{
    window_t *window = NULL;
    for (unsigned i = 0; i < WINDOWS && !window; i++)
        if (dir->windows[i].used && dir->windows[i].epoch == epoch)
            window = &dir->windows[i];
    if (!window) {
        /* A new epoch takes a free slot, or the lowest epoch's. */
        window = &dir->windows[0];
        for (unsigned i = 0; i < WINDOWS; i++) {
            window_t *w = &dir->windows[i];
            if (!w->used) {
                window = w;
                break;
            }
            if (w->epoch < window->epoch)
                window = w;
        }
        window->used = true;
        window->epoch = epoch;
        window->highest = sequence;
        window->seen = 1;
        return false;
    }
    if (sequence > window->highest) {
        uint64_t shift = sequence - window->highest;
        window->seen = shift >= WINDOW_BITS ? 0 : window->seen << shift;
        window->seen |= 1;
        window->highest = sequence;
        return false;
    }
    uint64_t back = window->highest - sequence;
    if (back >= WINDOW_BITS)
        return true;
    uint64_t bit = (uint64_t)1 << back;
    if (window->seen & bit)
        return true;
    window->seen |= bit;
    return false;
}

/* A ChangeCipherSpec in `epoch` leads to epoch + 1: reported once per epoch
 * (a retransmitted flight repeats it, and its Finished). */
static void change_cipher_spec(run_t *run, direction_t *dir)
{
    uint32_t to = (uint32_t)run->record_epoch + 1u;
    if (to <= dir->ccs_epoch) {
        dir->drop_finished = to;
        return;
    }
    dir->ccs_epoch = to;
    dir->last_ccs = ++run->dtls->ccs_count;
    emit_simple(run, MTLS_EV_CHANGE_CIPHER_SPEC);
}

static void application_data(run_t *run, const uint8_t *data, size_t length)
{
    if (length > 0 && run->callbacks && run->callbacks->application_data)
        run->callbacks->application_data(run->context, run->direction, run->frame, data, length);
}

static void plaintext_record(run_t *run, direction_t *dir, uint8_t type, const uint8_t *body,
                             size_t length)
{
    switch (type) {
    case CONTENT_HANDSHAKE: handshake_bytes(run, dir, body, length); break;
    case CONTENT_ALERT: alerts(run, body, length); break;
    case CONTENT_CHANGE_CIPHER_SPEC: change_cipher_spec(run, dir); break;
    case CONTENT_APPLICATION_DATA: emit_simple(run, MTLS_EV_APPLICATION_DATA); break;
    default: break;
    }
}

/* A protected record (epoch > 0): the dissector's plaintext of it, if any. */
static void protected_record(run_t *run, direction_t *dir,
                             const mtls_dtls_protected_record_t *record)
{
    mtls_dtls_plaintext_t plaintext = {0, NULL, 0};
    bool decrypted = run->callbacks && run->callbacks->plaintext &&
                     run->callbacks->plaintext(run->context, run->direction, record, &plaintext) &&
                     (plaintext.data || plaintext.length == 0);
    bool repeat = record->content_type == CONTENT_HANDSHAKE && dir->drop_finished &&
                  dir->drop_finished == record->epoch;
    if (record->content_type == CONTENT_HANDSHAKE)
        dir->drop_finished = 0;
    if (!decrypted) {
        switch (record->content_type) {
        case CONTENT_HANDSHAKE:
            if (repeat)
                return; /* the Finished of a retransmitted flight */
            if (run->dtls->held_count)
                release_held(run, false);
            /* Its messages are not seen: the next decrypted one is taken as it comes. */
            dir->lost = true;
            {
                /* From the server after the client's ChangeCipherSpec and before its
                 * own, TLS 1.2 allows only a NewSessionTicket (RFC 5077 3.3); DTLS
                 * fragments it over several records. Said so, a renegotiation's
                 * ticket is not taken for the start of another renegotiation. */
                const direction_t *other = &run->dtls->directions[run->direction ^ 1u];
                bool ticket = run->dtls->client_direction >= 0 &&
                              run->direction != (unsigned)run->dtls->client_direction &&
                              other->last_ccs > dir->last_ccs;
                mtls_event_t event =
                    new_event(run, ticket ? MTLS_EV_NEW_SESSION_TICKET : MTLS_EV_OTHER_HANDSHAKE);
                event.encrypted = true;
                emit(run, &event, NULL, 0);
            }
            break;
        case CONTENT_ALERT: emit_simple(run, MTLS_EV_ALERT); break;
        case CONTENT_APPLICATION_DATA: emit_simple(run, MTLS_EV_APPLICATION_DATA); break;
        case CONTENT_CHANGE_CIPHER_SPEC: change_cipher_spec(run, dir); break;
        default: break;
        }
        return;
    }
    switch (plaintext.content_type) {
    case CONTENT_HANDSHAKE: handshake_bytes(run, dir, plaintext.data, plaintext.length); break;
    case CONTENT_ALERT: alerts(run, plaintext.data, plaintext.length); break;
    case CONTENT_APPLICATION_DATA:
        emit_simple(run, MTLS_EV_APPLICATION_DATA);
        application_data(run, plaintext.data, plaintext.length);
        break;
    case CONTENT_CHANGE_CIPHER_SPEC: change_cipher_spec(run, dir); break;
    default: break;
    }
}

static bool plausible_header(const uint8_t *header)
{
    uint8_t type = header[0];
    return type >= CONTENT_CHANGE_CIPHER_SPEC && type <= CONTENT_TLS12_CID && header[1] == 0xfe &&
           get16(header + 11) <= MAX_RECORD_LENGTH;
}

mtls_dtls_result_t mtls_dtls_datagram(mtls_dtls_t *dtls, const mtls_dtls_datagram_t *datagram,
                                      const mtls_dtls_callbacks_t *callbacks, void *context)
{
    run_t run;
    memset(&run, 0, sizeof(run));
    if (!dtls || !datagram || !datagram->payload)
        return run.result;
    run.dtls = dtls;
    run.callbacks = callbacks;
    run.context = context;
    run.direction = datagram->direction & 1u;
    run.frame = datagram->frame;
    run.time_ns = datagram->time_ns;
    direction_t *dir = &dtls->directions[run.direction];
    const uint8_t *bytes = datagram->payload;
    size_t length = datagram->length, at = 0;
    while (at < length && !dtls->unsupported) {
        if (length - at < RECORD_HEADER || !plausible_header(bytes + at) ||
            bytes[at] == CONTENT_TLS12_CID) {
            /* Not a record, cut short, or a CID record whose CID length is not
             * known here: nothing after it can be found. */
            run.result.malformed = true;
            break;
        }
        const uint8_t *header = bytes + at;
        uint8_t type = header[0];
        uint16_t epoch = get16(header + 3);
        uint64_t sequence = get48(header + 5);
        uint16_t record_length = get16(header + 11);
        if (record_length > length - at - RECORD_HEADER) {
            run.result.malformed = true;
            break;
        }
        size_t body = at + RECORD_HEADER;
        at = body + record_length;
        run.result.records++;
        if (duplicate(dir, epoch, sequence)) {
            run.result.duplicates++;
            continue;
        }
        run.record_version = tls_version(get16(header + 1));
        run.record_length = record_length;
        run.record_epoch = epoch;
        if (epoch == 0) {
            plaintext_record(&run, dir, type, bytes + body, record_length);
            continue;
        }
        mtls_dtls_protected_record_t record = {
            .header_offset = body - RECORD_HEADER,
            .body_offset = body,
            .index = run.protected_index++,
            .content_type = type,
            .epoch = epoch,
            .sequence = sequence,
            .length = record_length,
            .frame = run.frame,
        };
        protected_record(&run, dir, &record);
    }
    return run.result;
}
