/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The client-authentication engine. See mtls_engine.h and ../shared/SPEC.md.
 *
 * A connection holds one exchange per (re)negotiation handshake, opened at the
 * ClientHello, plus one per TLS 1.3 post-handshake CertificateRequest. Each
 * exchange waits for three facts: was a certificate requested, what did the
 * client answer, and what did the server (or the client) do next.
 */
#include "mtls_engine.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ALERT_CLOSE_NOTIFY = 0, ALERT_NO_CERTIFICATE = 41, ALERT_USER_CANCELED = 90 };
enum { ALERT_LEVEL_WARNING = 1, ALERT_LEVEL_FATAL = 2 };

/* Exchange numbers stand for exchanges inside a connection: 1-based, 0 = none. */
typedef uint16_t exchange_number_t;
_Static_assert(MTLS_MAX_EXCHANGES_PER_CONNECTION <= UINT16_MAX,
               "exchange numbers and counts are uint16_t");

/* A capture holds millions of connections: every byte here counts. */
/* What is kept of a connection: its exchanges. The first one lives here, as
 * nearly every connection has exactly one; its `next` starts the list of later
 * ones, each allocated on its own. Unused while its number is 0. The machine
 * that fills them in, mtls_conn_state_t, is the caller's to keep while the
 * connection is open (mtls_engine.h). */
struct mtls_conn {
    mtls_exchange_t first;
};

/* A later exchange of a connection knows its connection (the first one is at
 * the connection's start): callers keep one pointer per exchange, not two. */
typedef struct {
    mtls_exchange_t exchange; /* first: a pointer to it is a pointer to this */
    mtls_conn_t *conn;
} later_exchange_t;

_Static_assert(offsetof(struct mtls_conn, first) == 0, "the first exchange starts the connection");

/* The caller's bytes start here, after the engine's, aligned to MTLS_CONN_ALIGN. */
#define EXTRA_OFFSET                                                                               \
    ((sizeof(struct mtls_conn) + MTLS_CONN_ALIGN - 1) / MTLS_CONN_ALIGN * MTLS_CONN_ALIGN)

/* The sizes this layout reaches on LP64 (x86_64, aarch64): what is kept of a
 * connection is its first exchange, 80 bytes, a multiple of 8, so the caller's
 * bytes follow without padding; the open state is 48 bytes. Smaller elsewhere. */
_Static_assert(sizeof(mtls_exchange_t) <= 80, "mtls_exchange_t grew");
_Static_assert(sizeof(struct mtls_conn) <= 80, "struct mtls_conn grew");
_Static_assert(sizeof(mtls_conn_state_t) <= 48, "mtls_conn_state_t grew");
_Static_assert(_Alignof(struct mtls_conn) <= MTLS_CONN_ALIGN, "a connection needs more alignment");
/* The exchange's narrow enum bit-fields hold every value, signed or not. */
_Static_assert(MTLS_PHASE_POST_HANDSHAKE < 4, "mtls_phase_t outgrew phase : 3");
_Static_assert(MTLS_CONFIDENCE_CERTAIN < 4, "mtls_confidence_t outgrew confidence : 3");
_Static_assert(MTLS_OUTER_QUIC_CLOSE < 8, "mtls_outer_t outgrew outer : 4");

size_t mtls_conn_alloc_size(size_t extra)
{
    if (extra > SIZE_MAX - EXTRA_OFFSET)
        return 0;
    return EXTRA_OFFSET + extra;
}

mtls_conn_t *mtls_conn_init(void *memory)
{
    if (!memory || (uintptr_t)memory % MTLS_CONN_ALIGN != 0)
        return NULL;
    return memory;
}

mtls_conn_t *mtls_conn_new_with_extra(size_t extra)
{
    size_t size = mtls_conn_alloc_size(extra);
    return size ? mtls_conn_init(calloc(1, size)) : NULL;
}

mtls_conn_t *mtls_conn_new(void)
{
    return mtls_conn_new_with_extra(0);
}

void *mtls_conn_extra(mtls_conn_t *conn)
{
    return conn ? (unsigned char *)conn + EXTRA_OFFSET : NULL;
}

const void *mtls_conn_extra_const(const mtls_conn_t *conn)
{
    return conn ? (const unsigned char *)conn + EXTRA_OFFSET : NULL;
}

mtls_conn_t *mtls_conn_of_extra(const void *extra)
{
    return extra ? (mtls_conn_t *)(uintptr_t)((const unsigned char *)extra - EXTRA_OFFSET) : NULL;
}

void mtls_conn_state_init(mtls_conn_state_t *st, mtls_conn_t *conn)
{
    if (!st)
        return;
    memset(st, 0, sizeof(*st));
    st->conn = conn;
    st->infer = true;
}

void mtls_conn_set_inference(mtls_conn_state_t *st, bool enabled)
{
    if (st)
        st->infer = enabled;
}

void mtls_conn_release(mtls_conn_t *conn)
{
    if (!conn)
        return;
    mtls_exchange_t *exchange = conn->first.next; /* the first one is part of conn */
    while (exchange) {
        mtls_exchange_t *next = exchange->next;
        free((later_exchange_t *)(uintptr_t)exchange);
        exchange = next;
    }
    conn->first.next = NULL;
}

void mtls_conn_free(mtls_conn_t *conn)
{
    mtls_conn_release(conn);
    free(conn);
}

const mtls_exchange_t *mtls_conn_exchanges(const mtls_conn_t *conn)
{
    return conn && conn->first.number ? &conn->first : NULL;
}

mtls_exchange_t *mtls_conn_latest(mtls_conn_t *conn)
{
    if (!conn || !conn->first.number)
        return NULL;
    mtls_exchange_t *exchange = &conn->first;
    while (exchange->next) /* at most MTLS_MAX_EXCHANGES_PER_CONNECTION steps */
        exchange = exchange->next;
    return exchange;
}

/* The exchange with this number, or NULL for 0. A walk of at most
 * MTLS_MAX_EXCHANGES_PER_CONNECTION steps, and nearly always none. */
static mtls_exchange_t *exchange_at(mtls_conn_state_t *st, exchange_number_t number)
{
    if (number == 0 || number > st->exchange_count)
        return NULL;
    mtls_exchange_t *exchange = &st->conn->first;
    while (exchange->number != number)
        exchange = exchange->next;
    return exchange;
}

static exchange_number_t number_of(const mtls_exchange_t *exchange)
{
    return exchange ? exchange->number : 0;
}

static mtls_exchange_t *exchanges(mtls_conn_state_t *st)
{
    return st->exchange_count ? &st->conn->first : NULL;
}

static mtls_exchange_t *newest(mtls_conn_state_t *st)
{
    return exchange_at(st, st->exchange_count);
}

mtls_conn_t *mtls_exchange_conn(const mtls_exchange_t *exchange)
{
    if (!exchange)
        return NULL;
    if (exchange->number <= 1)
        return (mtls_conn_t *)(uintptr_t)exchange;
    return ((const later_exchange_t *)(uintptr_t)exchange)->conn;
}

static mtls_exchange_t *exchange_open(mtls_conn_state_t *st, mtls_phase_t phase, uint32_t frame)
{
    if (st->exchange_count >= MTLS_MAX_EXCHANGES_PER_CONNECTION)
        return NULL; /* hostile input: keep every per-event walk bounded */
    /* The first one is inline, zeroed by calloc and unused so far. */
    mtls_exchange_t *exchange = &st->conn->first;
    if (st->exchange_count) {
        later_exchange_t *later = calloc(1, sizeof(*later));
        if (!later)
            return NULL;
        later->conn = st->conn;
        exchange = &later->exchange;
        newest(st)->next = exchange;
    }
    exchange->number = ++st->exchange_count;
    exchange->version = st->version;
    exchange->phase = phase;
    exchange->alert = -1;
    exchange->tls13 = st->tls13;
    exchange->pha_offered = st->pha_offered;
    exchange->first_frame = frame;
    return exchange;
}

static bool is_open(const mtls_exchange_t *exchange)
{
    return exchange && exchange->verdict == MTLS_VERDICT_PENDING;
}

static void decide(mtls_exchange_t *exchange, mtls_verdict_t verdict, mtls_cause_t cause,
                   const mtls_event_t *event)
{
    exchange->verdict = verdict;
    exchange->cause = cause;
    exchange->decision_frame = event->frame;
    exchange->decision_time_ns = event->time_ns;
}

/* The oldest open exchange whose CertificateRequest still awaits the client's answer. */
static mtls_exchange_t *awaiting_answer(mtls_conn_state_t *st)
{
    for (mtls_exchange_t *exchange = exchanges(st); exchange; exchange = exchange->next)
        if (is_open(exchange) && exchange->requested && exchange->response == MTLS_RESPONSE_PENDING)
            return exchange;
    return NULL;
}

static void answer(mtls_exchange_t *exchange, mtls_response_t response, const mtls_event_t *event)
{
    exchange->response = response;
    exchange->response_frame = event->frame;
    exchange->response_time_ns = event->time_ns;
}

/* The server sent something other than an alert: every exchange whose client
 * has answered is decided; in a TLS 1.2 handshake the server cannot go on
 * before the answer, so an unanswered request there means the capture lost it. */
static mtls_exchange_t *server_went_on(mtls_conn_state_t *st, const mtls_event_t *event,
                                       mtls_record_t record)
{
    mtls_exchange_t *decided = NULL;
    for (mtls_exchange_t *exchange = exchanges(st); exchange; exchange = exchange->next) {
        if (!is_open(exchange) || !exchange->requested)
            continue;
        if (exchange->response == MTLS_RESPONSE_PENDING) {
            bool handshake_switch =
                !st->tls13 && exchange->phase != MTLS_PHASE_POST_HANDSHAKE &&
                (record == MTLS_RECORD_CHANGE_CIPHER_SPEC || record == MTLS_RECORD_FINISHED);
            if (!handshake_switch)
                continue; /* TLS 1.3 servers may send data before reading the answer */
            decide(exchange, MTLS_VERDICT_UNDETERMINED, MTLS_CAUSE_ANSWER_MISSING, event);
        } else {
            decide(exchange,
                   exchange->response == MTLS_RESPONSE_CERTIFICATE ? MTLS_VERDICT_ACCEPTED
                                                                   : MTLS_VERDICT_SERVER_IGNORED,
                   MTLS_CAUSE_SERVER_WENT_ON, event);
        }
        exchange->decision_record = record;
        decided = exchange;
    }
    return decided;
}

/* One side ended the connection (fatal alert, or for the server a close too). */
static mtls_exchange_t *connection_ended(mtls_conn_state_t *st, const mtls_event_t *event,
                                         mtls_cause_t cause, mtls_record_t record)
{
    mtls_exchange_t *decided = NULL;
    for (mtls_exchange_t *exchange = exchanges(st); exchange; exchange = exchange->next) {
        if (!is_open(exchange))
            continue;
        if (!exchange->requested) {
            decide(exchange, MTLS_VERDICT_UNDETERMINED, MTLS_CAUSE_ENDED_BEFORE_REQUEST, event);
        } else if (cause == MTLS_CAUSE_SERVER_CLOSE && st->client_closed) {
            /* The server only answered the client's close: no decision shown. */
            decide(exchange, MTLS_VERDICT_UNDETERMINED, MTLS_CAUSE_CLIENT_CLOSED, event);
        } else if (cause == MTLS_CAUSE_CLIENT_ALERT) {
            decide(exchange, MTLS_VERDICT_CLIENT_ABORTED, cause, event);
        } else {
            decide(exchange, MTLS_VERDICT_REJECTED, cause, event);
        }
        if (event->type == MTLS_EV_ALERT && cause != MTLS_CAUSE_SERVER_CLOSE)
            exchange->alert = (int16_t)event->alert_description;
        if (exchange->inferred && exchange->confidence > MTLS_CONFIDENCE_LIKELY)
            exchange->confidence = MTLS_CONFIDENCE_LIKELY;
        exchange->decision_record = record;
        decided = exchange;
    }
    return decided;
}

static void handshake_reset(mtls_conn_state_t *st)
{
    st->hello_retry_pending = false;
    st->server_hello_seen = false;
    st->server_flight_done = false;
    st->server_ccs = false;
    st->client_ccs = false;
}

static mtls_exchange_t *on_client_hello(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *handshake = exchange_at(st, st->handshake);
    if (handshake && st->hello_retry_pending) {
        st->hello_retry_pending = false; /* the answer to a HelloRetryRequest */
        return handshake;
    }
    if (handshake && !st->handshake_done && !st->server_hello_seen)
        return handshake; /* a repeated ClientHello: still the same handshake */
    handshake_reset(st);
    st->pha_offered = event->pha_offered;
    handshake = exchange_open(
        st, st->handshake_done ? MTLS_PHASE_RENEGOTIATION : MTLS_PHASE_HANDSHAKE, event->frame);
    st->handshake = number_of(handshake);
    return handshake;
}

static mtls_exchange_t *on_server_hello(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *handshake = exchange_at(st, st->handshake);
    if (event->hello_retry) {
        st->hello_retry_pending = true;
        st->tls13 = true; /* only TLS 1.3 retries a hello */
        return handshake;
    }
    if (!handshake && !st->handshake_done && !exchanges(st)) {
        /* The capture starts after the ClientHello: the handshake is still here. */
        handshake = exchange_open(st, MTLS_PHASE_HANDSHAKE, event->frame);
        if (handshake)
            handshake->start_missing = true;
        st->handshake = number_of(handshake);
    }
    st->server_hello_seen = true;
    st->tls13 = event->tls13;
    st->version = event->version;
    st->sizes_known = mtls_cipher_sizes(event->cipher_suite, event->tls13, &st->sizes);
    st->infer_state = MTLS_STATE_INFER_SERVER_FLIGHT;
    st->inferring = st->handshake;
    if (handshake) {
        handshake->tls13 = event->tls13;
        handshake->version = event->version;
        if (event->tls13 && event->psk_accepted)
            handshake->resumed = true;
        /* Until a decrypted server message shows up, assume there are no keys. */
        handshake->undecrypted = event->tls13;
    }
    return handshake;
}

static mtls_exchange_t *on_certificate_request(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *exchange;
    mtls_exchange_t *handshake = exchange_at(st, st->handshake);
    bool post_handshake = st->tls13 && (st->handshake_done || event->context_length > 0);
    if (post_handshake) {
        exchange = exchange_open(st, MTLS_PHASE_POST_HANDSHAKE, event->frame);
    } else if (is_open(handshake) && !handshake->requested) {
        exchange = handshake;
    } else {
        /* The capture started inside this handshake. */
        exchange = exchange_open(
            st, st->handshake_done ? MTLS_PHASE_RENEGOTIATION : MTLS_PHASE_HANDSHAKE, event->frame);
        if (exchange)
            exchange->start_missing = true;
        st->handshake = number_of(exchange);
    }
    if (!exchange)
        return NULL;
    exchange->requested = true;
    exchange->request_frame = event->frame;
    /* No ServerHello in the capture: a request in clear is TLS 1.2 or older, and
     * its record's version is the negotiated one. */
    if (!exchange->version && !st->server_hello_seen && event->version >= 0x0300 &&
        event->version <= 0x0303)
        exchange->version = event->version;
    return exchange;
}

/* The server's handshake flight ended; without a CertificateRequest in it,
 * this handshake asks for no client certificate. */
static mtls_exchange_t *on_server_flight_end(mtls_conn_state_t *st, const mtls_event_t *event,
                                             mtls_cause_t cause, mtls_record_t record)
{
    mtls_exchange_t *exchange = exchange_at(st, st->handshake);
    st->server_flight_done = true;
    if (!is_open(exchange) || exchange->requested)
        return exchange;
    /* Without the ServerHello, a CertificateRequest may have gone uncaptured; without
     * the ClientHello, the capture cannot vouch for the whole handshake either. */
    if (!st->server_hello_seen || exchange->start_missing) {
        exchange->start_missing = true;
        return exchange;
    }
    decide(exchange, MTLS_VERDICT_NOT_REQUESTED, cause, event);
    exchange->decision_record = record;
    if (cause == MTLS_CAUSE_ABBREVIATED)
        exchange->resumed = true;
    return exchange;
}

static mtls_exchange_t *on_client_certificate(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *exchange = awaiting_answer(st);
    if (!exchange) {
        mtls_exchange_t *handshake = exchange_at(st, st->handshake);
        if (handshake && (handshake->requested || st->server_hello_seen))
            return handshake; /* unsolicited, or answered already: nothing to learn */
        /* A client only sends a Certificate when asked: the request went uncaptured. */
        exchange = exchange_open(
            st, st->handshake_done ? MTLS_PHASE_RENEGOTIATION : MTLS_PHASE_HANDSHAKE, event->frame);
        if (!exchange)
            return NULL;
        exchange->start_missing = true;
        exchange->requested = true;
        st->handshake = exchange->number;
    }
    answer(exchange, event->empty ? MTLS_RESPONSE_EMPTY : MTLS_RESPONSE_CERTIFICATE, event);
    return exchange;
}

static mtls_exchange_t *current(mtls_conn_state_t *st)
{
    return newest(st);
}

/* The newest exchange whose client sent a chain and no CertificateVerify yet. */
static mtls_exchange_t *awaiting_verify(mtls_conn_state_t *st)
{
    mtls_exchange_t *match = NULL;
    for (mtls_exchange_t *exchange = exchanges(st); exchange; exchange = exchange->next)
        if (exchange->response == MTLS_RESPONSE_CERTIFICATE && !exchange->verify_frame)
            match = exchange;
    return match;
}

static bool alert_is_fatal(const mtls_conn_state_t *st, const mtls_event_t *event)
{
    if (event->alert_description == ALERT_CLOSE_NOTIFY ||
        event->alert_description == ALERT_USER_CANCELED)
        return false;
    /* TLS 1.3 ignores the level: every other alert ends the connection. */
    return event->alert_level == ALERT_LEVEL_FATAL || st->tls13;
}

/* Records of a TLS 1.3 server flight when each message has its own record:
 * EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify, Finished. */
#define SERVER_FLIGHT_RECORDS_WITH_REQUEST 5

/* A client that aborts before its second flight leaves only the server's
 * flight to go by: its record count hints at a CertificateRequest. */
static void infer_request_from_server_flight(mtls_conn_state_t *st)
{
    mtls_exchange_t *exchange = exchange_at(st, st->inferring);
    if (!st->infer || !is_open(exchange) || !exchange->undecrypted || exchange->requested ||
        (st->infer_state != MTLS_STATE_INFER_SERVER_FLIGHT &&
         st->infer_state != MTLS_STATE_INFER_CLIENT_FLIGHT) ||
        st->server_flight_records != SERVER_FLIGHT_RECORDS_WITH_REQUEST)
        return;
    exchange->inferred = true;
    exchange->requested = true;
    exchange->request_frame = st->server_flight_frame;
    exchange->confidence = MTLS_CONFIDENCE_POSSIBLE;
    exchange->flight_confidence = MTLS_CONFIDENCE_POSSIBLE;
}

/* The exchange a silent refusal can end: the connection's latest, requested and
 * answered by the client, known from its messages (not inferred) from its start
 * (a cut capture cannot vouch for what the server sent), and the server has not
 * sent application data since the answer. */
static mtls_exchange_t *silent_candidate(mtls_conn_state_t *st)
{
    mtls_exchange_t *exchange = newest(st);
    if (!exchange || !exchange->requested || exchange->inferred || exchange->answered ||
        exchange->start_missing || exchange->response == MTLS_RESPONSE_PENDING)
        return NULL;
    return exchange;
}

static bool let_through(const mtls_exchange_t *exchange)
{
    return exchange->verdict == MTLS_VERDICT_ACCEPTED ||
           exchange->verdict == MTLS_VERDICT_SERVER_IGNORED;
}

/* The client's application data after its answer: remembered (the first one),
 * so that a server that then closes without a word can be told apart from one
 * that closes an idle connection. */
static void on_client_data(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *exchange = silent_candidate(st);
    if (!exchange || exchange->data_frame || st->client_closed ||
        !(is_open(exchange) || let_through(exchange)))
        return;
    exchange->data_frame = event->frame;
    int64_t delay = mtls_difference(event->time_ns, exchange->response_time_ns);
    exchange->data_delay_us = delay >= 0 && delay <= (int64_t)(MTLS_DATA_DELAY_UNKNOWN - 1) * 1000
                                  ? (uint32_t)((delay + 500) / 1000)
                                  : MTLS_DATA_DELAY_UNKNOWN;
}

int64_t mtls_exchange_data_time(const mtls_exchange_t *exchange)
{
    if (!exchange || !exchange->data_frame || exchange->data_delay_us == MTLS_DATA_DELAY_UNKNOWN)
        return INT64_MAX;
    int64_t delay = (int64_t)exchange->data_delay_us * 1000;
    return exchange->response_time_ns > INT64_MAX - delay ? INT64_MAX
                                                          : exchange->response_time_ns + delay;
}

/* The server closed (close_notify, FIN, RST) after it let the client through,
 * the client had sent application data, and the server sent none: it refused
 * in silence (slapd, Node.js with rejectUnauthorized). Not when the client
 * closed first: then the server only answered the close. */
static mtls_exchange_t *silent_refusal(mtls_conn_state_t *st, const mtls_event_t *event,
                                       mtls_record_t record)
{
    mtls_exchange_t *exchange = silent_candidate(st);
    if (!exchange || !exchange->data_frame || st->client_closed || !let_through(exchange))
        return NULL;
    decide(exchange, MTLS_VERDICT_REJECTED, MTLS_CAUSE_SILENT_CLOSE, event);
    exchange->decision_record = record;
    return exchange;
}

static mtls_exchange_t *on_alert(mtls_conn_state_t *st, const mtls_event_t *event)
{
    if (event->alert_level == MTLS_ALERT_UNKNOWN)
        return current(st); /* undecrypted: could be close_notify or fatal */
    if (!event->from_server && event->alert_description == ALERT_NO_CERTIFICATE &&
        event->alert_level == ALERT_LEVEL_WARNING) {
        mtls_exchange_t *exchange = awaiting_answer(st);
        if (exchange)
            answer(exchange, MTLS_RESPONSE_NO_CERTIFICATE_ALERT, event);
        return exchange ? exchange : current(st);
    }
    mtls_exchange_t *decided = NULL;
    if (alert_is_fatal(st, event)) {
        if (!event->from_server)
            infer_request_from_server_flight(st);
        /* A client that aborts instead of answering sent no Certificate at all. */
        mtls_exchange_t *unanswered = event->from_server ? NULL : awaiting_answer(st);
        if (unanswered)
            answer(unanswered, MTLS_RESPONSE_NONE, event);
        decided = connection_ended(
            st, event, event->from_server ? MTLS_CAUSE_SERVER_ALERT : MTLS_CAUSE_CLIENT_ALERT,
            MTLS_RECORD_NONE);
        if (event->from_server)
            st->server_closed = true;
    } else if (event->alert_description == ALERT_CLOSE_NOTIFY) {
        if (event->from_server) {
            mtls_exchange_t *silent =
                st->server_closed ? NULL : silent_refusal(st, event, MTLS_RECORD_CLOSE_NOTIFY);
            decided =
                connection_ended(st, event, MTLS_CAUSE_SERVER_CLOSE, MTLS_RECORD_CLOSE_NOTIFY);
            if (!decided)
                decided = silent;
            st->server_closed = true;
        } else {
            st->client_closed = true;
        }
    }
    return decided ? decided : current(st);
}

static mtls_exchange_t *on_close(mtls_conn_state_t *st, const mtls_event_t *event)
{
    if (!event->from_server) {
        st->client_closed = true; /* says nothing yet about the server's decision */
        return NULL;
    }
    if (st->server_closed)
        return NULL;
    st->server_closed = true;
    mtls_record_t record = event->reset ? MTLS_RECORD_RST : MTLS_RECORD_FIN;
    mtls_exchange_t *silent = silent_refusal(st, event, record);
    mtls_exchange_t *ended = connection_ended(st, event, MTLS_CAUSE_SERVER_CLOSE, record);
    return ended ? ended : silent;
}

bool mtls_outer_is_failure(mtls_outer_t outer)
{
    switch (outer) {
    case MTLS_OUTER_EAP_FAILURE:
    case MTLS_OUTER_ACCESS_REJECT:
    case MTLS_OUTER_EAP_FAILURE_ACCESS_REJECT:
    case MTLS_OUTER_QUIC_CLOSE: return true;
    case MTLS_OUTER_NONE:
    case MTLS_OUTER_EAP_SUCCESS:
    case MTLS_OUTER_ACCESS_ACCEPT:
    case MTLS_OUTER_EAP_SUCCESS_ACCESS_ACCEPT: return false;
    }
    return false;
}

const char *mtls_outer_name(mtls_outer_t outer)
{
    switch (outer) {
    case MTLS_OUTER_NONE: return NULL;
    case MTLS_OUTER_EAP_SUCCESS: return "EAP-Success";
    case MTLS_OUTER_EAP_FAILURE: return "EAP-Failure";
    case MTLS_OUTER_ACCESS_ACCEPT: return "Access-Accept";
    case MTLS_OUTER_ACCESS_REJECT: return "Access-Reject";
    case MTLS_OUTER_EAP_SUCCESS_ACCESS_ACCEPT: return "EAP-Success; Access-Accept";
    case MTLS_OUTER_EAP_FAILURE_ACCESS_REJECT: return "EAP-Failure; Access-Reject";
    case MTLS_OUTER_QUIC_CLOSE: return "QUIC CONNECTION_CLOSE";
    }
    return NULL;
}

/* QUIC crypto errors are 0x100 + a TLS alert (RFC 9001, 4.8). */
#define QUIC_CRYPTO_ERROR_FIRST 0x100u
#define QUIC_CRYPTO_ERROR_LAST  0x1ffu

/* Alerts that say what the client answered: certificate_required (RFC 8446) is
 * sent when a certificate was requested and none came; the certificate alerts
 * when one came and was refused. */
static mtls_response_t response_named_by_alert(int description)
{
    switch (description) {
    case 116: return MTLS_RESPONSE_EMPTY;      /* certificate_required */
    case 42:                                   /* bad_certificate */
    case 43:                                   /* unsupported_certificate */
    case 44:                                   /* certificate_revoked */
    case 45:                                   /* certificate_expired */
    case 46:                                   /* certificate_unknown */
    case 48: return MTLS_RESPONSE_CERTIFICATE; /* unknown_ca */
    default: return MTLS_RESPONSE_PENDING;
    }
}

/* A QUIC close carries its alert in clear even when the handshake could not be
 * decrypted (the server repeats it in an Initial packet): an alert that names
 * the client's answer shows that a certificate was requested and what came. The
 * exchange is then inferred, likely: the request and the answer themselves were
 * not seen. */
static void infer_from_close_alert(mtls_exchange_t *exchange, int description)
{
    mtls_response_t response = response_named_by_alert(description);
    if (!is_open(exchange) || !exchange->undecrypted || exchange->requested ||
        response == MTLS_RESPONSE_PENDING)
        return;
    exchange->inferred = true;
    exchange->requested = true;
    exchange->response = response;
    exchange->confidence = MTLS_CONFIDENCE_LIKELY;
    exchange->flight_confidence = MTLS_CONFIDENCE_LIKELY;
}

/* An outer protocol decided (EAP-Success/Failure in EAP or RADIUS, a server's
 * QUIC CONNECTION_CLOSE). A failure ends the connection like a server's fatal
 * alert (a QUIC crypto error is one: its alert is kept) and also takes back an
 * acceptance the TLS handshake showed: the outer protocol has the last word. A
 * success decides what the handshake left open, as the server going on would. */
static mtls_exchange_t *on_outer(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *latest = newest(st);
    mtls_exchange_t *decided = NULL;
    if (event->outer == MTLS_OUTER_NONE)
        return current(st);
    if (mtls_outer_is_failure(event->outer)) {
        if (st->server_closed)
            return NULL; /* a repeated close (QUIC's closing period) */
        mtls_event_t ended = *event;
        bool alert = event->outer == MTLS_OUTER_QUIC_CLOSE &&
                     event->quic_error >= QUIC_CRYPTO_ERROR_FIRST &&
                     event->quic_error <= QUIC_CRYPTO_ERROR_LAST;
        if (alert) {
            ended.type = MTLS_EV_ALERT;
            ended.alert_level = ALERT_LEVEL_FATAL;
            ended.alert_description = (int)(event->quic_error - QUIC_CRYPTO_ERROR_FIRST);
        }
        if (alert)
            infer_from_close_alert(latest, ended.alert_description);
        decided = connection_ended(st, &ended, MTLS_CAUSE_OUTER_FAILURE, MTLS_RECORD_NONE);
        if (!decided && latest && latest->requested && let_through(latest) &&
            !latest->start_missing) {
            decide(latest, MTLS_VERDICT_REJECTED, MTLS_CAUSE_OUTER_FAILURE, event);
            latest->decision_record = MTLS_RECORD_NONE;
            if (alert)
                latest->alert = (int16_t)ended.alert_description;
            decided = latest;
        }
        st->server_closed = true;
    } else {
        decided = server_went_on(st, event, MTLS_RECORD_NONE);
        for (mtls_exchange_t *exchange = exchanges(st); exchange; exchange = exchange->next)
            if (exchange == decided && exchange->cause == MTLS_CAUSE_SERVER_WENT_ON)
                exchange->cause = MTLS_CAUSE_OUTER_SUCCESS;
    }
    mtls_exchange_t *target = decided ? decided : latest;
    if (target) {
        target->outer = event->outer;
        target->quic_error = event->quic_error <= UINT16_MAX ? (uint16_t)event->quic_error : 0;
    }
    return target;
}

static mtls_exchange_t *on_server_record(mtls_conn_state_t *st, const mtls_event_t *event,
                                         mtls_record_t record)
{
    mtls_exchange_t *decided = server_went_on(st, event, record);
    return decided ? decided : current(st);
}

static mtls_confidence_t weaker(mtls_confidence_t a, mtls_confidence_t b)
{
    return a < b ? a : b;
}

/* The client's flight is read: record what it says about the request and answer. */
static void infer_flight(mtls_conn_state_t *st, mtls_exchange_t *exchange, mtls_flight_t shape,
                         mtls_confidence_t confidence, const mtls_event_t *event)
{
    exchange->inferred = true;
    exchange->confidence = confidence;
    exchange->flight_confidence = confidence;
    exchange->flight_records = st->flight.records;
    exchange->flight_bytes =
        (uint16_t)(st->flight.before_finished > UINT16_MAX ? UINT16_MAX
                                                           : st->flight.before_finished);
    if (exchange->phase != MTLS_PHASE_POST_HANDSHAKE)
        st->handshake_done = true;
    switch (shape) {
    case MTLS_FLIGHT_FINISHED_ONLY:
        /* Not requested, unless the capture misses the start of the handshake. */
        if (!exchange->start_missing) {
            decide(exchange, MTLS_VERDICT_NOT_REQUESTED, MTLS_CAUSE_INFERRED_FLIGHT, event);
            exchange->decision_record = MTLS_RECORD_ENCRYPTED;
        }
        st->infer_state = MTLS_STATE_INFER_AFTER;
        break;
    case MTLS_FLIGHT_EMPTY_CERTIFICATE:
    case MTLS_FLIGHT_CERTIFICATE:
        exchange->requested = true;
        if (!exchange->request_frame)
            exchange->request_frame = st->server_flight_frame;
        answer(exchange,
               shape == MTLS_FLIGHT_CERTIFICATE ? MTLS_RESPONSE_CERTIFICATE : MTLS_RESPONSE_EMPTY,
               event);
        st->infer_state = MTLS_STATE_INFER_DECISION;
        break;
    default:
        st->infer_state = MTLS_STATE_INFER_AFTER; /* sizes fit no shape: say nothing */
        break;
    }
}

/* The server's first protected record after the client's answer. */
static void infer_decision(mtls_conn_state_t *st, mtls_exchange_t *exchange,
                           const mtls_event_t *event)
{
    bool alert = mtls_tls13_alert_sized(event->record_length, &st->sizes);
    exchange->decision_record_length = event->record_length;
    /* An alert-sized record may be close_notify; data may predate the answer. */
    exchange->confidence = weaker(exchange->confidence, MTLS_CONFIDENCE_LIKELY);
    if (alert && st->client_closed && exchange->response == MTLS_RESPONSE_CERTIFICATE) {
        /* After the client's close_notify, most likely the server's answering one. */
        decide(exchange, MTLS_VERDICT_UNDETERMINED, MTLS_CAUSE_CLIENT_CLOSED, event);
        exchange->decision_record = MTLS_RECORD_ENCRYPTED_ALERT;
        exchange->confidence = MTLS_CONFIDENCE_POSSIBLE;
    } else if (alert) {
        /* Without a certificate, an alert even after the client's close is most
         * likely the refusal (certificate_required) racing it. */
        decide(exchange, MTLS_VERDICT_REJECTED, MTLS_CAUSE_SERVER_ALERT, event);
        exchange->decision_record = MTLS_RECORD_ENCRYPTED_ALERT;
        if (st->client_closed)
            exchange->confidence = MTLS_CONFIDENCE_POSSIBLE;
    } else {
        decide(exchange,
               exchange->response == MTLS_RESPONSE_CERTIFICATE ? MTLS_VERDICT_ACCEPTED
                                                               : MTLS_VERDICT_SERVER_IGNORED,
               MTLS_CAUSE_SERVER_WENT_ON, event);
        exchange->decision_record = MTLS_RECORD_ENCRYPTED;
    }
    st->infer_state = MTLS_STATE_INFER_AFTER;
}

/* Post-handshake authentication without keys: a server record, then a client
 * flight shaped like Certificate (+ CertificateVerify) + Finished. */
static mtls_exchange_t *infer_post_handshake(mtls_conn_state_t *st, const mtls_event_t *event,
                                             int plaintext)
{
    if (event->from_server) {
        st->last_server_frame = event->frame;
        memset(&st->flight, 0, sizeof(st->flight));
        st->flight.post_handshake = true;
        return NULL;
    }
    if (!st->pha_offered || !st->last_server_frame)
        return NULL;
    mtls_confidence_t confidence;
    mtls_flight_t shape = mtls_flight_add(&st->flight, plaintext, &st->sizes, &confidence);
    if (shape != MTLS_FLIGHT_EMPTY_CERTIFICATE && shape != MTLS_FLIGHT_CERTIFICATE) {
        if (shape != MTLS_FLIGHT_INCOMPLETE)
            st->last_server_frame = 0; /* ordinary data */
        return NULL;
    }
    mtls_exchange_t *exchange = exchange_open(st, MTLS_PHASE_POST_HANDSHAKE, event->frame);
    if (!exchange)
        return NULL;
    exchange->request_frame = st->last_server_frame;
    exchange->first_frame = st->last_server_frame;
    /* Application data can take this shape by chance: never more than possible. */
    infer_flight(st, exchange, shape, MTLS_CONFIDENCE_POSSIBLE, event);
    st->inferring = exchange->number;
    st->last_server_frame = 0;
    return exchange;
}

/* A protected TLS 1.3 record nobody could decrypt. */
static mtls_exchange_t *on_encrypted_record(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *exchange = exchange_at(st, st->inferring);
    if (!st->infer || !st->tls13 || !st->sizes_known || !exchange)
        return NULL;
    if (!exchange->undecrypted && !exchange->inferred)
        return NULL; /* keys are present: decrypted evidence wins */
    int plaintext = mtls_tls13_plaintext(event->record_length, &st->sizes);
    mtls_confidence_t confidence;
    mtls_flight_t shape;

    switch (st->infer_state) {
    case MTLS_STATE_INFER_SERVER_FLIGHT:
        if (event->from_server) {
            if (!st->server_flight_frame)
                st->server_flight_frame = event->frame;
            if (st->server_flight_records < UINT8_MAX)
                st->server_flight_records++;
            return exchange;
        }
        if (!st->server_flight_frame)
            return NULL; /* early data before the server's flight */
        memset(&st->flight, 0, sizeof(st->flight));
        st->infer_state = MTLS_STATE_INFER_CLIENT_FLIGHT;
        /* This record opens the client's flight. */
        /* FALLTHROUGH */
    case MTLS_STATE_INFER_CLIENT_FLIGHT:
        if (event->from_server) {
            shape = mtls_flight_close(&st->flight, &st->sizes, &confidence);
            infer_flight(st, exchange, shape, confidence, event);
            if (st->infer_state == MTLS_STATE_INFER_DECISION && is_open(exchange))
                infer_decision(st, exchange, event);
            return exchange;
        }
        if (st->flight.records == 0 && mtls_tls13_alert_sized(event->record_length, &st->sizes)) {
            /* The client's first protected record is an alert: it aborted. */
            infer_request_from_server_flight(st);
            if (exchange->requested) {
                answer(exchange, MTLS_RESPONSE_NONE, event);
                connection_ended(st, event, MTLS_CAUSE_CLIENT_ALERT, MTLS_RECORD_ENCRYPTED_ALERT);
                st->infer_state = MTLS_STATE_INFER_AFTER;
                return exchange;
            }
        }
        shape = mtls_flight_add(&st->flight, plaintext, &st->sizes, &confidence);
        if (shape != MTLS_FLIGHT_INCOMPLETE)
            infer_flight(st, exchange, shape, confidence, event);
        return exchange;
    case MTLS_STATE_INFER_DECISION:
        if (!event->from_server) {
            /* An alert-sized record from a client that has answered: its close_notify. */
            if (mtls_tls13_alert_sized(event->record_length, &st->sizes))
                st->client_closed = true;
            return NULL;
        }
        if (is_open(exchange))
            infer_decision(st, exchange, event);
        return exchange;
    case MTLS_STATE_INFER_AFTER:
        /* A verdict on data the server sent stays 'likely': a server may stream
         * data before it reads the client's flight and reject it afterwards. */
        return infer_post_handshake(st, event, plaintext);
    }
    return NULL;
}

/* An empty TLS 1.2 Certificate message: 4-byte header, 3-byte empty list. */
#define TLS12_EMPTY_CERTIFICATE 7

/* The client's renegotiation flight ended with its ChangeCipherSpec: one
 * record (ClientKeyExchange), two (+ empty Certificate) or three (+ Certificate
 * and CertificateVerify), when each message has a record of its own. */
static void infer_renegotiation_flight(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *exchange = exchange_at(st, st->reneg);
    exchange->flight_records = st->reneg_client_records;
    exchange->flight_bytes = st->reneg_first_client_record;
    /* Counting records is never exact arithmetic. */
    mtls_confidence_t confidence = MTLS_CONFIDENCE_POSSIBLE;
    switch (st->reneg_client_records) {
    case 1:
        decide(exchange, MTLS_VERDICT_NOT_REQUESTED, MTLS_CAUSE_INFERRED_FLIGHT, event);
        exchange->decision_record = MTLS_RECORD_CHANGE_CIPHER_SPEC;
        break;
    case 2:
    case 3:
        exchange->requested = true;
        answer(exchange,
               st->reneg_client_records == 3 ? MTLS_RESPONSE_CERTIFICATE : MTLS_RESPONSE_EMPTY,
               event);
        if (st->sizes_known && st->reneg_client_records == 2 &&
            st->reneg_first_client_record ==
                st->sizes.explicit_nonce + TLS12_EMPTY_CERTIFICATE + st->sizes.tag_length)
            confidence = MTLS_CONFIDENCE_LIKELY; /* the first record is an empty Certificate */
        else if (st->reneg_client_records == 3)
            confidence = MTLS_CONFIDENCE_LIKELY;
        break;
    default: break; /* coalesced or unusual: say nothing about the request */
    }
    exchange->confidence = confidence;
    exchange->flight_confidence = confidence;
}

/* TLS 1.2 renegotiation inside the encrypted tunnel, without keys: protected
 * handshake records after both Finished messages. Returns the exchange when
 * the event belongs to it. */
static mtls_exchange_t *infer_renegotiation(mtls_conn_state_t *st, const mtls_event_t *event)
{
    if (!st->infer || st->tls13 || !st->server_hello_seen)
        return NULL;
    if (event->type == MTLS_EV_CHANGE_CIPHER_SPEC) {
        if (event->from_server)
            st->server_finished_next = true;
        else
            st->client_finished_next = true;
        if (!event->from_server && st->reneg_state == MTLS_STATE_RENEG_CLIENT_FLIGHT) {
            infer_renegotiation_flight(st, event);
            st->reneg_state = MTLS_STATE_RENEG_DECISION;
            return exchange_at(st, st->reneg);
        }
        return NULL;
    }
    if (event->type == MTLS_EV_ALERT && event->alert_level == MTLS_ALERT_UNKNOWN &&
        event->from_server && st->reneg_state == MTLS_STATE_RENEG_DECISION) {
        mtls_exchange_t *reneg = exchange_at(st, st->reneg);
        if (is_open(reneg)) {
            decide(reneg, MTLS_VERDICT_REJECTED, MTLS_CAUSE_SERVER_ALERT, event);
            reneg->decision_record = MTLS_RECORD_ENCRYPTED_ALERT;
            reneg->decision_record_length = event->record_length;
            return reneg;
        }
    }
    if (event->type != MTLS_EV_OTHER_HANDSHAKE || !event->encrypted)
        return NULL;
    /* The Finished after this side's ChangeCipherSpec. */
    if (event->from_server && st->server_finished_next) {
        st->server_finished_next = false;
        return NULL;
    }
    if (!event->from_server && st->client_finished_next) {
        st->client_finished_next = false;
        return NULL;
    }
    if (!st->handshake_done)
        return NULL;
    mtls_exchange_t *reneg = exchange_at(st, st->reneg);
    switch (st->reneg_state) {
    case MTLS_STATE_RENEG_IDLE:
    case MTLS_STATE_RENEG_DECISION:
        reneg = exchange_open(st, MTLS_PHASE_RENEGOTIATION, event->frame);
        st->reneg = number_of(reneg);
        if (!reneg)
            return NULL;
        reneg->inferred = true;
        reneg->confidence = MTLS_CONFIDENCE_POSSIBLE;
        st->reneg_client_records = 0;
        st->reneg_state =
            event->from_server ? MTLS_STATE_RENEG_HELLO_REQUEST : MTLS_STATE_RENEG_CLIENT_HELLO;
        return reneg;
    case MTLS_STATE_RENEG_HELLO_REQUEST:
        if (!event->from_server)
            st->reneg_state = MTLS_STATE_RENEG_CLIENT_HELLO;
        return reneg;
    case MTLS_STATE_RENEG_CLIENT_HELLO:
    case MTLS_STATE_RENEG_SERVER_FLIGHT:
        if (event->from_server) {
            if (st->reneg_state == MTLS_STATE_RENEG_CLIENT_HELLO)
                reneg->request_frame = event->frame;
            st->reneg_state = MTLS_STATE_RENEG_SERVER_FLIGHT;
            return reneg;
        }
        if (st->reneg_state == MTLS_STATE_RENEG_CLIENT_HELLO)
            return reneg;
        st->reneg_state = MTLS_STATE_RENEG_CLIENT_FLIGHT;
        st->reneg_first_client_record = event->record_length;
        st->reneg_client_records = 1;
        return reneg;
    case MTLS_STATE_RENEG_CLIENT_FLIGHT:
        if (!event->from_server && st->reneg_client_records < UINT8_MAX)
            st->reneg_client_records++;
        return reneg;
    }
    return NULL;
}

/* The exchange an event belongs to, after applying it. */
static mtls_exchange_t *apply_event(mtls_conn_state_t *st, const mtls_event_t *event)
{
    mtls_exchange_t *exchange = NULL;
    if (event->from_server && st->handshake && event->type >= MTLS_EV_HELLO_REQUEST &&
        event->type <= MTLS_EV_OTHER_HANDSHAKE && !event->encrypted)
        exchange_at(st, st->handshake)->undecrypted = false;
    mtls_exchange_t *renegotiation = infer_renegotiation(st, event);
    if (renegotiation && event->type != MTLS_EV_CHANGE_CIPHER_SPEC)
        return renegotiation;

    switch (event->type) {
    case MTLS_EV_CLIENT_HELLO:
        if (event->from_server)
            return current(st);
        exchange = on_client_hello(st, event);
        break;
    case MTLS_EV_SERVER_HELLO:
        if (!event->from_server)
            return current(st);
        exchange = on_server_hello(st, event);
        break;
    case MTLS_EV_CERTIFICATE_REQUEST:
        if (!event->from_server)
            return current(st);
        exchange = on_certificate_request(st, event);
        break;
    case MTLS_EV_SERVER_HELLO_DONE:
        if (!event->from_server)
            return current(st);
        exchange = on_server_flight_end(st, event, MTLS_CAUSE_SERVER_FLIGHT_END,
                                        MTLS_RECORD_SERVER_HELLO_DONE);
        break;
    case MTLS_EV_CERTIFICATE:
        exchange = event->from_server ? current(st) : on_client_certificate(st, event);
        break;
    case MTLS_EV_CLIENT_KEY_EXCHANGE:
        if (!event->from_server) {
            exchange = awaiting_answer(st);
            if (exchange && exchange->phase != MTLS_PHASE_POST_HANDSHAKE)
                answer(exchange, MTLS_RESPONSE_NONE, event);
            else
                exchange = current(st);
        } else {
            exchange = current(st);
        }
        break;
    case MTLS_EV_CERTIFICATE_VERIFY:
        if (event->from_server)
            return current(st);
        exchange = awaiting_verify(st);
        if (exchange)
            exchange->verify_frame = event->frame;
        else
            exchange = current(st);
        break;
    case MTLS_EV_FINISHED:
        /* Read: the next protected handshake record is not this Finished. */
        if (event->from_server)
            st->server_finished_next = false;
        else
            st->client_finished_next = false;
        if (event->from_server) {
            if (st->tls13 && !st->server_flight_done && !st->handshake_done)
                exchange = on_server_flight_end(st, event, MTLS_CAUSE_SERVER_FLIGHT_END,
                                                MTLS_RECORD_FINISHED);
            else if (!st->tls13 && !st->server_flight_done && st->server_hello_seen)
                exchange =
                    on_server_flight_end(st, event, MTLS_CAUSE_ABBREVIATED, MTLS_RECORD_FINISHED);
            else
                exchange = on_server_record(st, event, MTLS_RECORD_FINISHED);
        } else {
            exchange = awaiting_answer(st);
            /* TLS 1.3: a client that ends its flight without a Certificate sent none. */
            if (exchange && st->tls13)
                answer(exchange, MTLS_RESPONSE_NONE, event);
            else
                exchange = current(st);
            if (st->tls13)
                st->handshake_done = true;
        }
        break;
    case MTLS_EV_CHANGE_CIPHER_SPEC:
        if (st->tls13)
            return NULL; /* middlebox-compatibility record, no meaning */
        if (event->from_server) {
            st->server_ccs = true;
            if (!st->server_flight_done && st->server_hello_seen)
                exchange = on_server_flight_end(st, event, MTLS_CAUSE_ABBREVIATED,
                                                MTLS_RECORD_CHANGE_CIPHER_SPEC);
            else
                exchange = on_server_record(st, event, MTLS_RECORD_CHANGE_CIPHER_SPEC);
        } else {
            st->client_ccs = true;
            exchange = current(st);
        }
        /* Both sides switched keys: the handshake is over, even when its
         * Finished messages could not be decrypted. */
        if (st->server_ccs && st->client_ccs)
            st->handshake_done = true;
        break;
    case MTLS_EV_NEW_SESSION_TICKET:
    case MTLS_EV_HELLO_REQUEST:
    case MTLS_EV_OTHER_HANDSHAKE:
        if (!event->from_server)
            return current(st);
        if (event->type == MTLS_EV_NEW_SESSION_TICKET && !st->tls13 && !st->server_flight_done &&
            st->server_hello_seen) {
            /* TLS 1.2 ticket resumption: NewSessionTicket before the server's CCS. */
            return current(st);
        }
        exchange = on_server_record(st, event,
                                    event->type == MTLS_EV_NEW_SESSION_TICKET
                                        ? MTLS_RECORD_NEW_SESSION_TICKET
                                        : MTLS_RECORD_HANDSHAKE);
        break;
    case MTLS_EV_APPLICATION_DATA:
        if (!event->from_server) {
            on_client_data(st, event);
            return NULL;
        }
        exchange = server_went_on(st, event, MTLS_RECORD_APPLICATION_DATA);
        {
            mtls_exchange_t *latest = newest(st);
            if (latest && latest->response != MTLS_RESPONSE_PENDING)
                latest->answered = true;
        }
        break;
    case MTLS_EV_ALERT: exchange = on_alert(st, event); break;
    case MTLS_EV_CLOSE: exchange = on_close(st, event); break;
    case MTLS_EV_ENCRYPTED_RECORD: exchange = on_encrypted_record(st, event); break;
    case MTLS_EV_OUTER: exchange = on_outer(st, event); break;
    }
    return exchange;
}

mtls_exchange_t *mtls_conn_feed(mtls_conn_state_t *st, const mtls_event_t *event)
{
    if (!st || !st->conn || !event)
        return NULL;
    /* Every path, early returns included: the glue shows the frame for it. */
    mtls_exchange_t *exchange = apply_event(st, event);
    if (exchange && event->frame > exchange->last_frame)
        exchange->last_frame = event->frame;
    return exchange;
}

mtls_verdict_t mtls_exchange_verdict(const mtls_exchange_t *exchange, bool final)
{
    if (final && exchange->verdict == MTLS_VERDICT_PENDING)
        return MTLS_VERDICT_UNDETERMINED;
    return exchange->verdict;
}

bool mtls_exchange_request_known(const mtls_exchange_t *exchange)
{
    return exchange->requested || exchange->verdict == MTLS_VERDICT_NOT_REQUESTED;
}

const char *mtls_verdict_name(mtls_verdict_t verdict)
{
    switch (verdict) {
    case MTLS_VERDICT_PENDING: return "pending";
    case MTLS_VERDICT_NOT_REQUESTED: return "not-requested";
    case MTLS_VERDICT_ACCEPTED: return "accepted";
    case MTLS_VERDICT_REJECTED: return "rejected";
    case MTLS_VERDICT_SERVER_IGNORED: return "server-ignored";
    case MTLS_VERDICT_CLIENT_ABORTED: return "client-aborted";
    case MTLS_VERDICT_UNDETERMINED: return "undetermined";
    }
    return "undetermined";
}

const char *mtls_response_name(mtls_response_t response)
{
    switch (response) {
    case MTLS_RESPONSE_PENDING: return "pending";
    case MTLS_RESPONSE_CERTIFICATE: return "certificate";
    case MTLS_RESPONSE_EMPTY: return "empty";
    case MTLS_RESPONSE_NONE: return "none";
    case MTLS_RESPONSE_NO_CERTIFICATE_ALERT: return "no_certificate-alert";
    }
    return "pending";
}

const char *mtls_phase_name(mtls_phase_t phase)
{
    switch (phase) {
    case MTLS_PHASE_HANDSHAKE: return "handshake";
    case MTLS_PHASE_RENEGOTIATION: return "renegotiation";
    case MTLS_PHASE_POST_HANDSHAKE: return "post-handshake";
    }
    return "handshake";
}

const char *mtls_alert_name(int description)
{
    switch (description) {
#define MTLS_ALERT(value, name)                                                                    \
    case value:                                                                                    \
        return name;
#include "mtls_alerts.def"
#undef MTLS_ALERT
    }
    return NULL;
}

int64_t mtls_difference(int64_t later, int64_t earlier)
{
    if (earlier < 0 && later > INT64_MAX + earlier)
        return INT64_MAX;
    if (earlier > 0 && later < INT64_MIN + earlier)
        return INT64_MIN;
    return later - earlier;
}

char *mtls_format_duration(int64_t duration_ns, char *buffer, size_t size)
{
    double ms = (double)duration_ns / 1e6;
    if (duration_ns < 0)
        snprintf(buffer, size, "?");
    else if (ms < 0.1)
        snprintf(buffer, size, "%.3f ms", ms);
    else if (ms < 1000.0)
        snprintf(buffer, size, "%.1f ms", ms);
    else
        snprintf(buffer, size, "%.3f s", ms / 1000.0);
    return buffer;
}

/* Appends to a bounded buffer; silently truncates. */
typedef struct {
    char *text;
    size_t size;
    size_t used;
} line_t;

#if defined(__GNUC__)
static void say(line_t *line, const char *format, ...) __attribute__((format(printf, 2, 3)));
#endif

static void say(line_t *line, const char *format, ...)
{
    if (line->used + 1 >= line->size)
        return;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(line->text + line->used, line->size - line->used, format, args);
    va_end(args);
    if (written > 0)
        line->used += (size_t)written;
    if (line->used >= line->size)
        line->used = line->size - 1;
}

static const char *answer_phrase(mtls_response_t response)
{
    switch (response) {
    case MTLS_RESPONSE_CERTIFICATE: return "Certificate";
    case MTLS_RESPONSE_EMPTY: return "empty Certificate";
    case MTLS_RESPONSE_NONE: return "flight without a Certificate";
    case MTLS_RESPONSE_NO_CERTIFICATE_ALERT: return "no_certificate alert";
    case MTLS_RESPONSE_PENDING: break;
    }
    return "answer";
}

static const char *record_phrase(mtls_record_t record)
{
    switch (record) {
    case MTLS_RECORD_CHANGE_CIPHER_SPEC: return "ChangeCipherSpec";
    case MTLS_RECORD_FINISHED: return "Finished";
    case MTLS_RECORD_NEW_SESSION_TICKET: return "NewSessionTicket";
    case MTLS_RECORD_APPLICATION_DATA: return "application data";
    case MTLS_RECORD_HANDSHAKE: return "a handshake message";
    case MTLS_RECORD_SERVER_HELLO_DONE: return "ServerHelloDone";
    case MTLS_RECORD_FIN: return "a TCP FIN";
    case MTLS_RECORD_RST: return "a TCP RST";
    case MTLS_RECORD_CLOSE_NOTIFY: return "close_notify";
    case MTLS_RECORD_ENCRYPTED: return "a protected record";
    case MTLS_RECORD_ENCRYPTED_ALERT: return "an alert-sized protected record";
    case MTLS_RECORD_NONE: break;
    }
    return "a record";
}

static void say_alert(line_t *line, int description)
{
    if (description < 0) {
        say(line, "an encrypted alert");
        return;
    }
    const char *name = mtls_alert_name(description);
    say(line, "fatal alert %s (%d)", name ? name : "unknown", description);
}

/* "EAP-Failure; Access-Reject", "QUIC CONNECTION_CLOSE 0x174 (certificate_required)" */
static void say_outer(line_t *line, const mtls_exchange_t *exchange)
{
    const char *name = mtls_outer_name(exchange->outer);
    say(line, "%s", name ? name : "an outer decision");
    if (exchange->outer == MTLS_OUTER_QUIC_CLOSE) {
        say(line, " 0x%x", exchange->quic_error);
        if (exchange->alert >= 0) {
            const char *alert = mtls_alert_name(exchange->alert);
            say(line, " (%s)", alert ? alert : "unknown alert");
        }
    }
}

/* ", 1.2 ms after the client's Certificate in frame 8" */
static void say_since_answer(line_t *line, const mtls_exchange_t *exchange)
{
    char duration[32];
    if (exchange->response != MTLS_RESPONSE_PENDING && exchange->response_frame == 0) {
        /* infer_from_close_alert: the answer is known from the alert only */
        say(line, "; the handshake is encrypted and the capture holds no keys: the request "
                  "and the client's answer are inferred from that alert");
        return;
    }
    if (exchange->response == MTLS_RESPONSE_PENDING) {
        if (exchange->request_frame)
            say(line, ", before the client answered the CertificateRequest in frame %u",
                exchange->request_frame);
        else
            say(line, ", before the client answered");
        return;
    }
    say(line, ", %s after the client's %s in frame %u",
        mtls_format_duration(
            mtls_difference(exchange->decision_time_ns, exchange->response_time_ns), duration,
            sizeof(duration)),
        answer_phrase(exchange->response), exchange->response_frame);
}

/* The client's renegotiation flight, told by its protected record count. */
static void say_renegotiation_flight(line_t *line, const mtls_exchange_t *exchange)
{
    static const char *const shapes[] = {
        "",
        "ClientKeyExchange alone: no CertificateRequest",
        "an empty Certificate and ClientKeyExchange: requested, no certificate sent",
        "Certificate, ClientKeyExchange and CertificateVerify: requested and provided",
    };
    unsigned records = exchange->flight_records;
    say(line,
        "the client's renegotiation flight had %u protected handshake records before its "
        "ChangeCipherSpec (frame %u)",
        records, exchange->response_frame ? exchange->response_frame : exchange->decision_frame);
    if (records >= 1 && records <= 3)
        say(line, ", the shape of %s", shapes[records]);
    else
        say(line, ", a shape this plugin does not know");
}

/* "Client sent a certificate chain in frame 8", "Client sent no certificate (...)" */
static void say_client_answer(line_t *line, const mtls_exchange_t *exchange)
{
    if (exchange->response != MTLS_RESPONSE_CERTIFICATE)
        say(line, "Client sent no certificate (%s in frame %u)", answer_phrase(exchange->response),
            exchange->response_frame);
    else if (exchange->verify_frame == exchange->response_frame)
        say(line, "Client sent a certificate chain and its CertificateVerify in frame %u",
            exchange->response_frame);
    else if (exchange->verify_frame)
        say(line,
            "Client sent a certificate chain in frame %u and its CertificateVerify in frame %u",
            exchange->response_frame, exchange->verify_frame);
    else
        say(line, "Client sent a certificate chain in frame %u", exchange->response_frame);
}

/* Why an exchange deduced from record sizes got its verdict. */
static void say_inferred(line_t *line, const mtls_exchange_t *exchange, mtls_verdict_t verdict)
{
    if (exchange->cause == MTLS_CAUSE_OUTER_FAILURE && exchange->response_frame == 0) {
        /* infer_from_close_alert: nothing of the handshake was readable */
        say(line,
            "Inferred without keys from the alert (%s): the handshake is encrypted, and the "
            "server closed the connection in frame %u with ",
            mtls_confidence_name(exchange->confidence), exchange->decision_frame);
        say_outer(line, exchange);
        say(line, "%s",
            exchange->response == MTLS_RESPONSE_EMPTY
                ? ": it had requested a client certificate and got none."
                : ": it had requested a client certificate and refused the one it got.");
        return;
    }
    say(line, "Inferred without keys from record sizes (%s): ",
        mtls_confidence_name(exchange->confidence));
    if (exchange->phase == MTLS_PHASE_POST_HANDSHAKE)
        say(line, "after the server's record in frame %u, ", exchange->request_frame);
    if (exchange->phase == MTLS_PHASE_RENEGOTIATION) {
        if (exchange->flight_records)
            say_renegotiation_flight(line, exchange);
        else
            say(line, "protected handshake records after the handshake: a renegotiation");
    } else if (exchange->cause == MTLS_CAUSE_INFERRED_FLIGHT) {
        say(line,
            "the client's second flight was Finished alone (frame %u), so no "
            "CertificateRequest was sent.",
            exchange->decision_frame);
        return;
    } else if (exchange->response == MTLS_RESPONSE_EMPTY) {
        say(line,
            "the client's flight carried %u bytes before Finished, an empty Certificate: "
            "requested, no certificate sent (frame %u, %s)",
            exchange->flight_bytes, exchange->response_frame,
            mtls_confidence_name(exchange->flight_confidence));
    } else if (exchange->response == MTLS_RESPONSE_CERTIFICATE) {
        say(line,
            "the client's flight carried %u bytes before Finished, a Certificate and "
            "CertificateVerify: requested and provided (frame %u, %s)",
            exchange->flight_bytes, exchange->response_frame,
            mtls_confidence_name(exchange->flight_confidence));
    } else if (exchange->cause == MTLS_CAUSE_CLIENT_ALERT) {
        say(line,
            "the server's flight had five protected records, the shape of "
            "EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify and "
            "Finished (frame %u); the client ended the connection in frame %u with ",
            exchange->request_frame, exchange->decision_frame);
    } else {
        say(line, "the client's flight fits no known shape");
    }
    switch (verdict) {
    case MTLS_VERDICT_NOT_REQUESTED: say(line, "."); break;
    case MTLS_VERDICT_REJECTED:
        if (exchange->cause == MTLS_CAUSE_OUTER_FAILURE) {
            say(line, "; then the server answered with ");
            say_outer(line, exchange);
            say(line, " in frame %u.", exchange->decision_frame);
        } else if (exchange->decision_record == MTLS_RECORD_ENCRYPTED_ALERT)
            say(line,
                "; then the server sent an alert-sized record (%u bytes) in frame %u and "
                "nothing else: a fatal alert, or a close_notify before it went on.",
                exchange->decision_record_length, exchange->decision_frame);
        else
            say(line,
                "; then the server closed the connection with %s in frame %u before "
                "going on.",
                record_phrase(exchange->decision_record), exchange->decision_frame);
        break;
    case MTLS_VERDICT_ACCEPTED:
    case MTLS_VERDICT_SERVER_IGNORED:
        if (exchange->decision_record != MTLS_RECORD_ENCRYPTED)
            say(line, "; then the server went on with %s in frame %u.",
                record_phrase(exchange->decision_record), exchange->decision_frame);
        else
            say(line,
                "; then the server sent a %u-byte record in frame %u, not an alert: it "
                "went on (a NewSessionTicket or data).",
                exchange->decision_record_length, exchange->decision_frame);
        break;
    case MTLS_VERDICT_CLIENT_ABORTED:
        say_alert(line, exchange->alert);
        say(line, " instead of answering.");
        break;
    default:
        if (exchange->cause == MTLS_CAUSE_CLIENT_CLOSED)
            say(line,
                "; then the client sent an alert-sized record (its close_notify) and the "
                "server answered with one in frame %u: it never showed its decision.",
                exchange->decision_frame);
        else
            say(line, "; the server's decision is not in the capture.");
        break;
    }
}

char *mtls_exchange_evidence(const mtls_exchange_t *exchange, bool final, char *buffer, size_t size)
{
    line_t line = {buffer, size, 0};
    if (size == 0)
        return buffer;
    buffer[0] = '\0';
    if (exchange->start_missing)
        say(&line, "The capture does not hold the start of this exchange. ");
    if (exchange->inferred) {
        say_inferred(&line, exchange, mtls_exchange_verdict(exchange, final));
        return buffer;
    }

    switch (mtls_exchange_verdict(exchange, final)) {
    case MTLS_VERDICT_NOT_REQUESTED:
        if (exchange->resumed)
            say(&line,
                "Resumed session (server %s in frame %u): no CertificateRequest is sent; any "
                "client identity comes from the original session.",
                record_phrase(exchange->decision_record), exchange->decision_frame);
        else
            say(&line,
                "The server finished its handshake flight (%s in frame %u) without a "
                "CertificateRequest.",
                record_phrase(exchange->decision_record), exchange->decision_frame);
        break;
    case MTLS_VERDICT_ACCEPTED:
    case MTLS_VERDICT_SERVER_IGNORED: {
        char duration[32];
        say_client_answer(&line, exchange);
        if (exchange->cause == MTLS_CAUSE_OUTER_SUCCESS) {
            say(&line, "; the server answered with ");
            say_outer(&line, exchange);
            say(&line, " in frame %u, %s later", exchange->decision_frame,
                mtls_format_duration(
                    mtls_difference(exchange->decision_time_ns, exchange->response_time_ns),
                    duration, sizeof(duration)));
        } else
            say(&line, "; the server went on with %s in frame %u, %s later",
                record_phrase(exchange->decision_record), exchange->decision_frame,
                mtls_format_duration(
                    mtls_difference(exchange->decision_time_ns, exchange->response_time_ns),
                    duration, sizeof(duration)));
        if (exchange->verdict == MTLS_VERDICT_SERVER_IGNORED)
            say(&line, ": optional client authentication, any refusal happens above TLS.");
        else
            say(&line, ".");
        break;
    }
    case MTLS_VERDICT_REJECTED:
        if (exchange->cause == MTLS_CAUSE_SILENT_CLOSE) {
            char duration[32];
            say_client_answer(&line, exchange);
            say(&line,
                "; the handshake completed, the client sent application data in frame %u, and "
                "the server closed the connection with %s in frame %u, %s later, without "
                "answering: a silent refusal.",
                exchange->data_frame, record_phrase(exchange->decision_record),
                exchange->decision_frame,
                mtls_format_duration(
                    mtls_difference(exchange->decision_time_ns, mtls_exchange_data_time(exchange)),
                    duration, sizeof(duration)));
            break;
        }
        if (exchange->cause == MTLS_CAUSE_OUTER_FAILURE) {
            if (exchange->response == MTLS_RESPONSE_CERTIFICATE)
                say(&line, "Server rejected the client certificate: ");
            else if (exchange->response == MTLS_RESPONSE_PENDING)
                say(&line, "Server ended the handshake: ");
            else
                say(&line, "Server refused to go on without a client certificate: ");
            say_outer(&line, exchange);
            say(&line, " in frame %u", exchange->decision_frame);
            say_since_answer(&line, exchange);
            say(&line, ".");
            break;
        }
        if (exchange->cause == MTLS_CAUSE_SERVER_ALERT) {
            if (exchange->response == MTLS_RESPONSE_CERTIFICATE)
                say(&line, "Server rejected the client certificate: ");
            else if (exchange->response == MTLS_RESPONSE_PENDING)
                say(&line, "Server ended the handshake: ");
            else
                say(&line, "Server refused to go on without a client certificate: ");
            say_alert(&line, exchange->alert);
            say(&line, " in frame %u", exchange->decision_frame);
        } else {
            say(&line, "Server ended the connection with %s in frame %u and no alert",
                record_phrase(exchange->decision_record), exchange->decision_frame);
        }
        say_since_answer(&line, exchange);
        say(&line, ".");
        break;
    case MTLS_VERDICT_CLIENT_ABORTED:
        say(&line, "Client ended the connection: ");
        say_alert(&line, exchange->alert);
        say(&line, " in frame %u", exchange->decision_frame);
        if (exchange->request_frame)
            say(&line, " after the CertificateRequest in frame %u", exchange->request_frame);
        say(&line, "%s",
            exchange->response_frame == exchange->decision_frame
                ? ", instead of answering: it had no matching certificate, or it rejected the "
                  "server."
                : ".");
        break;
    case MTLS_VERDICT_UNDETERMINED:
        if (exchange->undecrypted)
            say(&line, "The TLS 1.3 handshake after the ServerHello is encrypted and the capture "
                       "holds no keys for it; add the key log (editcap --inject-secrets) to see "
                       "client authentication.");
        else if (exchange->cause == MTLS_CAUSE_ANSWER_MISSING)
            say(&line,
                "The server went on in frame %u, but the client's answer to the "
                "CertificateRequest in frame %u is not in the capture.",
                exchange->decision_frame, exchange->request_frame);
        else if (exchange->cause == MTLS_CAUSE_CLIENT_CLOSED)
            say(&line,
                "The client closed the connection first; the server then closed it in "
                "frame %u without showing its decision.",
                exchange->decision_frame);
        else if (exchange->cause == MTLS_CAUSE_ENDED_BEFORE_REQUEST)
            say(&line,
                "The handshake ended in frame %u before the server's flight was complete; "
                "client authentication never came up.",
                exchange->decision_frame);
        else if (exchange->requested && exchange->response == MTLS_RESPONSE_PENDING)
            say(&line, "The capture ends before the client answered the CertificateRequest.");
        else if (exchange->requested)
            say(&line,
                "The client answered (%s in frame %u), but the capture ends before the "
                "server showed its decision.",
                answer_phrase(exchange->response), exchange->response_frame);
        else
            say(&line, "The capture ends before the server finished its handshake flight.");
        break;
    case MTLS_VERDICT_PENDING:
        if (exchange->undecrypted)
            say(&line, "TLS 1.3 handshake encrypted; no keys for it so far.");
        else if (!exchange->requested)
            say(&line, "Handshake in progress; no CertificateRequest so far.");
        else if (exchange->response == MTLS_RESPONSE_PENDING)
            say(&line, "Certificate requested in frame %u; waiting for the client's answer.",
                exchange->request_frame);
        else
            say(&line, "Client answered (%s in frame %u); waiting for the server's decision.",
                answer_phrase(exchange->response), exchange->response_frame);
        break;
    }
    return buffer;
}
