/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The EAP-TLS scanner (mtls_eap.h): RADIUS and EAPOL framing, sessions, EAP-TLS
 * fragment reassembly, and one TLS stream scanner per session. Every length is
 * checked against what is left; live sessions sit on a most-recent-first list
 * (a capture holds few at a time, so lookups walk it).
 */
#include "mtls_eap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    RADIUS_ACCESS_REQUEST = 1,
    RADIUS_ACCESS_ACCEPT = 2,
    RADIUS_ACCESS_REJECT = 3,
    RADIUS_ACCESS_CHALLENGE = 11,
};
enum {
    ATTR_USER_NAME = 1,
    ATTR_STATE = 24,
    ATTR_CALLING_STATION_ID = 31,
    ATTR_EAP_MESSAGE = 79,
};
#define RADIUS_HEADER     20
#define RADIUS_MAX_LENGTH 4096 /* RFC 2865 3 */
#define MAX_ATTRIBUTE     253

enum {
    EAP_REQUEST = 1,
    EAP_RESPONSE = 2,
    EAP_SUCCESS = 3,
    EAP_FAILURE = 4,
};
#define EAP_TYPE_IDENTITY 1
#define EAP_TYPE_TLS      13
#define EAP_HEADER        4
#define EAPTLS_LENGTH     0x80
#define EAPTLS_MORE       0x40
#define EAPTLS_START      0x20

enum {
    EAPOL_PACKET = 0,
    EAPOL_START = 1,
    EAPOL_LOGOFF = 2,
};
#define EAPOL_HEADER 4

/* One direction of a session's EAP-TLS conversation. */
typedef struct {
    uint8_t *buffer; /* the message being reassembled */
    size_t have, capacity;
    uint32_t seq;    /* bytes handed to the TLS scanner so far */
    uint8_t last_id; /* EAP Identifier of the last EAP-TLS packet */
    bool id_known;   /* last_id is set */
    bool in_message; /* a fragment with M came: more follow */
} direction_t;

typedef struct session {
    mtls_eap_session_t pub; /* first: the callbacks' pointer is the session's */
    struct session *prev, *next;
    char label[MTLS_EAP_MAX_LABEL + 1];
    uint8_t client[MTLS_EAP_MAX_KEY], server[MTLS_EAP_MAX_KEY];
    uint8_t state[MAX_ATTRIBUTE]; /* RADIUS: the State of the last Access-Challenge */
    uint8_t state_length;
    bool station_label;        /* the label is a Calling-Station-Id (one supplicant) */
    bool tls_seen;             /* an EAP-TLS packet came */
    direction_t directions[2]; /* 0 client, 1 server */
    mtls_tls_stream_t *tls;
} session_t;

/* What a NAS endpoint (with its server) asked last under each Identifier. */
typedef struct {
    uint8_t key[2 * MTLS_EAP_MAX_KEY]; /* NAS key then server key */
    size_t key_length;
    uint32_t session[256]; /* by RADIUS Identifier: the session id, 0 for none */
    uint8_t authenticator[256][16];
    uint64_t used; /* for replacement: the scanner's clock when last used */
} nas_t;

struct mtls_eap {
    session_t *sessions; /* live, most recently active first */
    unsigned session_count;
    uint32_t next_id;
    nas_t *nas[MTLS_EAP_MAX_NAS];
    uint64_t clock;
};

/* One call: what the callbacks need. */
typedef struct {
    mtls_eap_t *eap;
    const mtls_eap_callbacks_t *callbacks;
    void *context;
    session_t *session;
    uint32_t frame;
    int64_t time_ns;
} run_t;

static uint16_t get16(const uint8_t *bytes)
{
    return (uint16_t)(bytes[0] << 8 | bytes[1]);
}

mtls_eap_t *mtls_eap_new(void)
{
    mtls_eap_t *eap = calloc(1, sizeof(*eap));
    if (eap)
        eap->next_id = 1;
    return eap;
}

/* ---- Sessions ------------------------------------------------------------- */

static void unlink_session(mtls_eap_t *eap, session_t *session)
{
    if (session->prev)
        session->prev->next = session->next;
    else
        eap->sessions = session->next;
    if (session->next)
        session->next->prev = session->prev;
    session->prev = session->next = NULL;
}

static void push_front(mtls_eap_t *eap, session_t *session)
{
    session->prev = NULL;
    session->next = eap->sessions;
    if (eap->sessions)
        eap->sessions->prev = session;
    eap->sessions = session;
}

static void touch(mtls_eap_t *eap, session_t *session)
{
    if (eap->sessions != session) {
        unlink_session(eap, session);
        push_front(eap, session);
    }
}

static void end_session(mtls_eap_t *eap, session_t *session, const mtls_eap_callbacks_t *callbacks,
                        void *context)
{
    unlink_session(eap, session);
    eap->session_count--;
    if (callbacks && callbacks->session_end)
        callbacks->session_end(context, &session->pub);
    for (unsigned i = 0; i < 2; i++)
        free(session->directions[i].buffer);
    mtls_tls_stream_free(session->tls);
    free(session);
}

static void set_key(uint8_t *out, const uint8_t **pointer, size_t *length, const uint8_t *key,
                    size_t key_length)
{
    if (key_length > MTLS_EAP_MAX_KEY)
        key_length = MTLS_EAP_MAX_KEY;
    if (key_length)
        memcpy(out, key, key_length);
    *pointer = out;
    *length = key_length;
}

/* A label as the attribute reads; bytes that are not printable ASCII as '.'. */
static void set_label(session_t *session, const uint8_t *text, size_t length)
{
    if (length > MTLS_EAP_MAX_LABEL)
        length = MTLS_EAP_MAX_LABEL;
    for (size_t i = 0; i < length; i++)
        session->label[i] = text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '.';
    session->label[length] = '\0';
}

static session_t *new_session(run_t *run, bool radius)
{
    mtls_eap_t *eap = run->eap;
    if (eap->next_id == 0)
        return NULL; /* 2^32 sessions: no more ids */
    if (eap->session_count >= MTLS_EAP_MAX_SESSIONS) {
        session_t *oldest = eap->sessions;
        while (oldest && oldest->next)
            oldest = oldest->next;
        if (oldest)
            end_session(eap, oldest, run->callbacks, run->context);
    }
    session_t *session = calloc(1, sizeof(*session));
    if (!session)
        return NULL;
    session->tls = mtls_tls_stream_new();
    if (!session->tls) {
        free(session);
        return NULL;
    }
    session->pub.id = eap->next_id++;
    session->pub.radius = radius;
    session->pub.label = session->label;
    session->pub.client = session->client;
    session->pub.server = session->server;
    push_front(eap, session);
    eap->session_count++;
    return session;
}

/* ---- From EAP-TLS messages to TLS events ----------------------------------- */

static void on_tls_event(void *context, unsigned direction, const mtls_event_t *event,
                         const uint8_t *message, size_t message_length)
{
    run_t *run = context;
    if (run->callbacks && run->callbacks->event)
        run->callbacks->event(run->context, &run->session->pub, direction == 1, event, message,
                              message_length);
}

static bool on_tls_plaintext(void *context, unsigned direction,
                             const mtls_tls_protected_record_t *record,
                             mtls_tls_plaintext_t *plaintext)
{
    run_t *run = context;
    return run->callbacks && run->callbacks->plaintext &&
           run->callbacks->plaintext(run->context, &run->session->pub, direction == 1, record,
                                     plaintext);
}

static const mtls_tls_stream_callbacks_t tls_callbacks = {
    .event = on_tls_event,
    .application_data = NULL,
    .plaintext = on_tls_plaintext,
};

/* A piece of a direction's record stream: one synthetic TCP segment. */
static void feed_tls(run_t *run, unsigned direction, const uint8_t *bytes, size_t length)
{
    session_t *session = run->session;
    direction_t *dir = &session->directions[direction];
    if (length == 0)
        return;
    mtls_tcp_segment_t segment = {
        .direction = direction,
        .seq = dir->seq,
        .frame = run->frame,
        .time_ns = run->time_ns,
        .payload = bytes,
        .length = length,
        .reported_length = length,
    };
    dir->seq += (uint32_t)length;
    mtls_tls_stream_segment(session->tls, &segment, &tls_callbacks, run);
}

static void flush(run_t *run, unsigned direction)
{
    direction_t *dir = &run->session->directions[direction];
    size_t have = dir->have;
    dir->have = 0;
    feed_tls(run, direction, dir->buffer, have);
}

static bool append(direction_t *dir, const uint8_t *bytes, size_t length)
{
    if (dir->have + length > dir->capacity) {
        size_t capacity = dir->capacity ? dir->capacity : 1024;
        while (capacity < dir->have + length)
            capacity *= 2;
        if (capacity > MTLS_EAP_MAX_MESSAGE)
            capacity = MTLS_EAP_MAX_MESSAGE;
        uint8_t *bigger = realloc(dir->buffer, capacity);
        if (!bigger)
            return false;
        dir->buffer = bigger;
        dir->capacity = capacity;
    }
    memcpy(dir->buffer + dir->have, bytes, length);
    dir->have += length;
    return true;
}

/* The type-data of an EAP-TLS packet (flags, [length], data) of `direction`. */
static void eap_tls(run_t *run, unsigned direction, uint8_t identifier, const uint8_t *body,
                    size_t length)
{
    session_t *session = run->session;
    direction_t *dir = &session->directions[direction];
    if (length < 1)
        return;
    uint8_t flags = body[0];
    size_t at = 1;
    if (flags & EAPTLS_LENGTH)
        at += 4; /* TLS Message Length: only a hint, the M bit ends a message */
    if (at > length)
        return;
    if (dir->id_known && dir->last_id == identifier)
        return; /* retransmitted: its data is already in */
    dir->id_known = true;
    dir->last_id = identifier;
    session->tls_seen = true;
    const uint8_t *data = body + at;
    size_t data_length = length - at;
    bool more = (flags & EAPTLS_MORE) != 0;
    if (data_length == 0) {
        /* An acknowledgement or the Start; an empty last fragment ends a message. */
        if (!more && dir->in_message) {
            dir->in_message = false;
            flush(run, direction);
        }
        return;
    }
    while (data_length > 0) {
        /* A message longer than the cap goes to the TLS scanner in pieces. */
        if (dir->have == MTLS_EAP_MAX_MESSAGE)
            flush(run, direction);
        size_t room = MTLS_EAP_MAX_MESSAGE - dir->have;
        size_t take = data_length < room ? data_length : room;
        if (!append(dir, data, take)) {
            /* No memory: what was kept goes now, this piece straight after it. */
            flush(run, direction);
            feed_tls(run, direction, data, take);
        }
        data += take;
        data_length -= take;
    }
    dir->in_message = more;
    if (!more)
        flush(run, direction);
}

static mtls_outer_t outer_of(int radius_code, uint8_t eap_code)
{
    switch (radius_code) {
    case RADIUS_ACCESS_ACCEPT:
        return eap_code == EAP_SUCCESS ? MTLS_OUTER_EAP_SUCCESS_ACCESS_ACCEPT
                                       : MTLS_OUTER_ACCESS_ACCEPT;
    case RADIUS_ACCESS_REJECT:
        return eap_code == EAP_FAILURE ? MTLS_OUTER_EAP_FAILURE_ACCESS_REJECT
                                       : MTLS_OUTER_ACCESS_REJECT;
    default: break;
    }
    if (eap_code == EAP_SUCCESS)
        return MTLS_OUTER_EAP_SUCCESS;
    if (eap_code == EAP_FAILURE)
        return MTLS_OUTER_EAP_FAILURE;
    return MTLS_OUTER_NONE;
}

/* The outer decision ends the session. */
static void decide(run_t *run, mtls_outer_t outer)
{
    session_t *session = run->session;
    if (outer != MTLS_OUTER_NONE && run->callbacks && run->callbacks->outer)
        run->callbacks->outer(run->context, &session->pub, outer);
    end_session(run->eap, session, run->callbacks, run->context);
    run->session = NULL;
}

/* The EAP header of a packet: code, identifier, and its length (checked). */
static bool eap_header(const uint8_t *eap, size_t length, size_t *eap_length)
{
    if (length < EAP_HEADER)
        return false;
    size_t declared = get16(eap + 2);
    if (declared < EAP_HEADER || declared > length)
        return false; /* cut or damaged: nothing of it is read */
    *eap_length = declared;
    return true;
}

/* One EAP packet of the run's session. `radius_code` is the RADIUS packet's (0
 * for EAPOL); a RADIUS Accept / Reject ends the session with or without EAP. */
static void eap_packet(run_t *run, const uint8_t *eap, size_t length, int radius_code)
{
    size_t eap_length = 0;
    bool valid = eap_header(eap, length, &eap_length);
    uint8_t code = valid ? eap[0] : 0;
    if (valid && (code == EAP_REQUEST || code == EAP_RESPONSE) && eap_length > EAP_HEADER &&
        eap[EAP_HEADER] == EAP_TYPE_TLS)
        eap_tls(run, code == EAP_REQUEST ? 1u : 0u, eap[1], eap + EAP_HEADER + 1,
                eap_length - EAP_HEADER - 1);
    if (radius_code == RADIUS_ACCESS_ACCEPT || radius_code == RADIUS_ACCESS_REJECT ||
        code == EAP_SUCCESS || code == EAP_FAILURE)
        decide(run, outer_of(radius_code, code));
}

/* ---- RADIUS ------------------------------------------------------------------ */

typedef struct {
    uint8_t code, identifier;
    const uint8_t *authenticator;
    uint8_t eap[RADIUS_MAX_LENGTH]; /* EAP-Message attributes, concatenated */
    size_t eap_length;
    bool has_eap;
    const uint8_t *state, *station, *user_name;
    uint8_t state_length, station_length, user_name_length;
} radius_t;

static bool parse_radius(const uint8_t *payload, size_t length, radius_t *out)
{
    if (!payload || length < RADIUS_HEADER)
        return false;
    out->code = payload[0];
    if (out->code != RADIUS_ACCESS_REQUEST && out->code != RADIUS_ACCESS_ACCEPT &&
        out->code != RADIUS_ACCESS_REJECT && out->code != RADIUS_ACCESS_CHALLENGE)
        return false;
    size_t declared = get16(payload + 2);
    if (declared < RADIUS_HEADER || declared > RADIUS_MAX_LENGTH)
        return false;
    if (declared < length)
        length = declared; /* UDP padding after the packet */
    out->identifier = payload[1];
    out->authenticator = payload + 4;
    out->eap_length = 0;
    out->has_eap = false;
    out->state = out->station = out->user_name = NULL;
    out->state_length = out->station_length = out->user_name_length = 0;
    for (size_t at = RADIUS_HEADER; at + 2 <= length;) {
        uint8_t type = payload[at];
        size_t attribute = payload[at + 1];
        if (attribute < 2 || at + attribute > length)
            break; /* damaged: the attributes before it are kept */
        const uint8_t *value = payload + at + 2;
        uint8_t value_length = (uint8_t)(attribute - 2);
        switch (type) {
        case ATTR_EAP_MESSAGE:
            /* Fits: the attributes lie inside at most RADIUS_MAX_LENGTH bytes. */
            memcpy(out->eap + out->eap_length, value, value_length);
            out->eap_length += value_length;
            out->has_eap = true;
            break;
        case ATTR_STATE:
            if (!out->state) {
                out->state = value;
                out->state_length = value_length;
            }
            break;
        case ATTR_CALLING_STATION_ID:
            if (!out->station) {
                out->station = value;
                out->station_length = value_length;
            }
            break;
        case ATTR_USER_NAME:
            if (!out->user_name) {
                out->user_name = value;
                out->user_name_length = value_length;
            }
            break;
        default: break;
        }
        at += attribute;
    }
    return true;
}

/* The NAS entry of a NAS key and server key; made (replacing the least recently
 * used one when full) when `create`. */
static nas_t *find_nas(mtls_eap_t *eap, const uint8_t *nas_key, size_t nas_length,
                       const uint8_t *server_key, size_t server_length, bool create)
{
    uint8_t key[2 * MTLS_EAP_MAX_KEY];
    if (nas_length > MTLS_EAP_MAX_KEY)
        nas_length = MTLS_EAP_MAX_KEY;
    if (server_length > MTLS_EAP_MAX_KEY)
        server_length = MTLS_EAP_MAX_KEY;
    /* Both keys with their lengths in front, so that no two pairs look alike. */
    size_t key_length = 0;
    key[key_length++] = (uint8_t)nas_length;
    if (nas_length)
        memcpy(key + key_length, nas_key, nas_length);
    key_length += nas_length;
    key[key_length++] = (uint8_t)server_length;
    if (server_length)
        memcpy(key + key_length, server_key, server_length);
    key_length += server_length;

    eap->clock++;
    nas_t *oldest = NULL;
    unsigned free_slot = MTLS_EAP_MAX_NAS;
    for (unsigned i = 0; i < MTLS_EAP_MAX_NAS; i++) {
        nas_t *nas = eap->nas[i];
        if (!nas) {
            if (free_slot == MTLS_EAP_MAX_NAS)
                free_slot = i;
            continue;
        }
        if (nas->key_length == key_length && memcmp(nas->key, key, key_length) == 0) {
            nas->used = eap->clock;
            return nas;
        }
        if (!oldest || nas->used < oldest->used)
            oldest = nas;
    }
    if (!create)
        return NULL;
    nas_t *nas;
    if (free_slot < MTLS_EAP_MAX_NAS) {
        nas = calloc(1, sizeof(*nas));
        if (!nas)
            return NULL;
        eap->nas[free_slot] = nas;
    } else {
        nas = oldest; /* forgotten: its pending answers will not be matched */
        memset(nas, 0, sizeof(*nas));
    }
    memcpy(nas->key, key, key_length);
    nas->key_length = key_length;
    nas->used = eap->clock;
    return nas;
}

static session_t *session_by_id(mtls_eap_t *eap, uint32_t id)
{
    for (session_t *session = eap->sessions; session && id; session = session->next)
        if (session->pub.id == id)
            return session;
    return NULL;
}

static bool same_key(const session_t *session, bool server, const uint8_t *key, size_t length)
{
    if (length > MTLS_EAP_MAX_KEY)
        length = MTLS_EAP_MAX_KEY;
    size_t have = server ? session->pub.server_length : session->pub.client_length;
    return have == length && memcmp(server ? session->server : session->client, key, length) == 0;
}

/* The RADIUS session whose last Access-Challenge (from this server) carried `state`. */
static session_t *session_by_state(mtls_eap_t *eap, const uint8_t *server_key, size_t server_length,
                                   const uint8_t *state, uint8_t length)
{
    for (session_t *session = eap->sessions; session; session = session->next)
        if (session->pub.radius && session->state_length == length && length > 0 &&
            memcmp(session->state, state, length) == 0 &&
            same_key(session, true, server_key, server_length))
            return session;
    return NULL;
}

static void radius_request(run_t *run, const mtls_eap_radius_packet_t *packet, const radius_t *r)
{
    mtls_eap_t *eap = run->eap;
    nas_t *nas =
        find_nas(eap, packet->src, packet->src_length, packet->dst, packet->dst_length, true);
    session_t *session = NULL;
    if (nas && nas->session[r->identifier] &&
        memcmp(nas->authenticator[r->identifier], r->authenticator, 16) == 0)
        session = session_by_id(eap, nas->session[r->identifier]); /* retransmitted request */
    if (!session && r->state)
        session = session_by_state(eap, packet->dst, packet->dst_length, r->state, r->state_length);
    if (!session && !r->has_eap)
        return; /* not an EAP conversation */
    if (!session) {
        /* A new conversation (or one whose start the capture missed). The same
         * station starting again ends its unfinished one. */
        if (!r->state && r->station) {
            session_t probe;
            set_label(&probe, r->station, r->station_length);
            for (session_t *old = eap->sessions; old; old = old->next)
                if (old->pub.radius && old->station_label && strcmp(probe.label, old->label) == 0 &&
                    same_key(old, false, packet->src, packet->src_length)) {
                    end_session(eap, old, run->callbacks, run->context);
                    break;
                }
        }
        session = new_session(run, true);
        if (!session)
            return;
        if (r->station) {
            set_label(session, r->station, r->station_length);
            session->station_label = true;
        } else if (r->user_name) {
            set_label(session, r->user_name, r->user_name_length);
        }
        set_key(session->client, &session->pub.client, &session->pub.client_length, packet->src,
                packet->src_length);
        set_key(session->server, &session->pub.server, &session->pub.server_length, packet->dst,
                packet->dst_length);
    }
    touch(eap, session);
    if (nas) {
        nas->session[r->identifier] = session->pub.id;
        memcpy(nas->authenticator[r->identifier], r->authenticator, 16);
    }
    run->session = session;
    if (r->has_eap)
        eap_packet(run, r->eap, r->eap_length, r->code);
}

static void radius_answer(run_t *run, const mtls_eap_radius_packet_t *packet, const radius_t *r)
{
    mtls_eap_t *eap = run->eap;
    nas_t *nas =
        find_nas(eap, packet->dst, packet->dst_length, packet->src, packet->src_length, false);
    if (!nas)
        return; /* its request was not seen */
    session_t *session = session_by_id(eap, nas->session[r->identifier]);
    if (!session)
        return;
    if (r->code != RADIUS_ACCESS_CHALLENGE)
        nas->session[r->identifier] = 0; /* answered for good */
    touch(eap, session);
    if (r->code == RADIUS_ACCESS_CHALLENGE && r->state) {
        memcpy(session->state, r->state, r->state_length);
        session->state_length = r->state_length;
    }
    run->session = session;
    eap_packet(run, r->has_eap ? r->eap : NULL, r->has_eap ? r->eap_length : 0, r->code);
}

bool mtls_eap_radius(mtls_eap_t *eap, const mtls_eap_radius_packet_t *packet,
                     const mtls_eap_callbacks_t *callbacks, void *context)
{
    if (!eap || !packet)
        return false;
    /* About 4 KB: on the heap, the callbacks may run deep. */
    radius_t *r = malloc(sizeof(*r));
    if (!r)
        return false;
    bool read = parse_radius(packet->payload, packet->length, r);
    if (read) {
        run_t run = {eap, callbacks, context, NULL, packet->frame, packet->time_ns};
        if (r->code == RADIUS_ACCESS_REQUEST)
            radius_request(&run, packet, r);
        else
            radius_answer(&run, packet, r);
    }
    free(r);
    return read;
}

/* ---- EAPOL ----------------------------------------------------------------- */

static void format_mac(char *out, const uint8_t mac[6])
{
    snprintf(out, MTLS_EAP_MAX_LABEL + 1, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
             mac[3], mac[4], mac[5]);
}

static session_t *eapol_session_of(mtls_eap_t *eap, const uint8_t mac[6], bool server)
{
    for (session_t *session = eap->sessions; session; session = session->next)
        if (!session->pub.radius && same_key(session, server, mac, 6))
            return session;
    return NULL;
}

bool mtls_eap_eapol(mtls_eap_t *eap, const mtls_eap_eapol_frame_t *frame,
                    const mtls_eap_callbacks_t *callbacks, void *context)
{
    if (!eap || !frame || !frame->eapol || frame->length < EAPOL_HEADER)
        return false;
    const uint8_t *eapol = frame->eapol;
    uint8_t type = eapol[1];
    size_t body_length = get16(eapol + 2);
    if (body_length > frame->length - EAPOL_HEADER)
        body_length = frame->length - EAPOL_HEADER; /* cut: the EAP length check decides */
    const uint8_t *body = eapol + EAPOL_HEADER;
    run_t run = {eap, callbacks, context, NULL, frame->frame, frame->time_ns};

    if (type == EAPOL_START || type == EAPOL_LOGOFF) {
        /* The supplicant starts again or leaves: a conversation that began TLS is over. */
        session_t *session = eapol_session_of(eap, frame->src, false);
        if (session && (type == EAPOL_LOGOFF || session->tls_seen))
            end_session(eap, session, callbacks, context);
        return true;
    }
    if (type != EAPOL_PACKET)
        return false;
    size_t eap_length;
    if (!eap_header(body, body_length, &eap_length))
        return false;
    uint8_t code = body[0];
    session_t *session = NULL;
    if (code == EAP_RESPONSE) {
        session = eapol_session_of(eap, frame->src, false);
        bool identity = eap_length > EAP_HEADER && body[EAP_HEADER] == EAP_TYPE_IDENTITY;
        if (session && identity && session->tls_seen) {
            end_session(eap, session, callbacks, context); /* a new authentication */
            session = NULL;
        }
        if (!session) {
            session = new_session(&run, false);
            if (!session)
                return true;
            set_key(session->client, &session->pub.client, &session->pub.client_length, frame->src,
                    6);
            format_mac(session->label, frame->src);
        }
    } else if (code == EAP_REQUEST || code == EAP_SUCCESS || code == EAP_FAILURE) {
        /* The authenticator: to a supplicant by name, else to the one it talks to. */
        if (!(frame->dst[0] & 1))
            session = eapol_session_of(eap, frame->dst, false);
        if (!session)
            session = eapol_session_of(eap, frame->src, true);
        if (!session)
            for (session_t *candidate = eap->sessions; candidate; candidate = candidate->next)
                if (!candidate->pub.radius && candidate->pub.server_length == 0) {
                    session = candidate;
                    break;
                }
        if (!session)
            return true;
        if (session->pub.server_length == 0)
            set_key(session->server, &session->pub.server, &session->pub.server_length, frame->src,
                    6);
    } else {
        return false;
    }
    touch(eap, session);
    run.session = session;
    eap_packet(&run, body, eap_length, 0);
    return true;
}

bool mtls_eap_ethernet_locate(const uint8_t *frame, size_t length, uint8_t src[6], uint8_t dst[6],
                              size_t *eapol_offset)
{
    if (!frame || length < 14)
        return false;
    size_t at = 12;
    uint16_t ethertype = get16(frame + at);
    for (int tags = 0; tags < 2 && (ethertype == 0x8100 || ethertype == 0x88a8); tags++) {
        at += 4;
        if (at + 2 > length)
            return false;
        ethertype = get16(frame + at);
    }
    if (ethertype != 0x888e)
        return false;
    memcpy(dst, frame, 6);
    memcpy(src, frame + 6, 6);
    *eapol_offset = at + 2;
    return *eapol_offset <= length;
}

/* ---- The whole scanner ------------------------------------------------------- */

void mtls_eap_free(mtls_eap_t *eap, const mtls_eap_callbacks_t *callbacks, void *context)
{
    if (!eap)
        return;
    while (eap->sessions)
        end_session(eap, eap->sessions, callbacks, context);
    for (unsigned i = 0; i < MTLS_EAP_MAX_NAS; i++)
        free(eap->nas[i]);
    free(eap);
}

size_t mtls_eap_memory(const mtls_eap_t *eap)
{
    if (!eap)
        return 0;
    size_t bytes = sizeof(*eap);
    for (unsigned i = 0; i < MTLS_EAP_MAX_NAS; i++)
        if (eap->nas[i])
            bytes += sizeof(nas_t);
    for (const session_t *session = eap->sessions; session; session = session->next) {
        bytes += sizeof(*session) + mtls_tls_stream_memory(session->tls);
        for (unsigned i = 0; i < 2; i++)
            bytes += session->directions[i].capacity;
    }
    return bytes;
}

unsigned mtls_eap_sessions(const mtls_eap_t *eap)
{
    return eap ? eap->session_count : 0;
}
