/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The client-authentication engine: TLS events of one connection in, exchanges
 * and verdicts out. Plain C with no Wireshark includes, so it is unit-tested
 * without tshark; ../shared/SPEC.md is the contract it implements.
 */
#ifndef MTLS_ENGINE_H
#define MTLS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls_infer.h"

/* Real connections hold a handful; a hostile one is cut here. */
#define MTLS_MAX_EXCHANGES_PER_CONNECTION 256

typedef enum {
    MTLS_VERDICT_PENDING = 0,
    MTLS_VERDICT_NOT_REQUESTED,
    MTLS_VERDICT_ACCEPTED,
    MTLS_VERDICT_REJECTED,
    MTLS_VERDICT_SERVER_IGNORED,
    MTLS_VERDICT_CLIENT_ABORTED,
    MTLS_VERDICT_UNDETERMINED,
} mtls_verdict_t;

/* What the client answered to a CertificateRequest. */
typedef enum {
    MTLS_RESPONSE_PENDING = 0,
    MTLS_RESPONSE_CERTIFICATE,
    MTLS_RESPONSE_EMPTY,
    MTLS_RESPONSE_NONE,
    MTLS_RESPONSE_NO_CERTIFICATE_ALERT,
} mtls_response_t;

typedef enum {
    MTLS_PHASE_HANDSHAKE = 0,
    MTLS_PHASE_RENEGOTIATION,
    MTLS_PHASE_POST_HANDSHAKE,
} mtls_phase_t;

/* One TLS message or record, or a TCP close, as the dissector saw it. */
typedef enum {
    MTLS_EV_CLIENT_HELLO,
    MTLS_EV_SERVER_HELLO,
    MTLS_EV_HELLO_REQUEST,
    MTLS_EV_CERTIFICATE_REQUEST,
    MTLS_EV_SERVER_HELLO_DONE,
    MTLS_EV_CERTIFICATE, /* Certificate or CompressedCertificate */
    MTLS_EV_CLIENT_KEY_EXCHANGE,
    MTLS_EV_CERTIFICATE_VERIFY,
    MTLS_EV_FINISHED,
    MTLS_EV_NEW_SESSION_TICKET,
    MTLS_EV_OTHER_HANDSHAKE, /* any other or undecryptable handshake message */
    MTLS_EV_CHANGE_CIPHER_SPEC,
    MTLS_EV_APPLICATION_DATA,
    MTLS_EV_ALERT,
    MTLS_EV_CLOSE,            /* TCP FIN or RST */
    MTLS_EV_ENCRYPTED_RECORD, /* TLS 1.3 protected record that was not decrypted */
    MTLS_EV_OUTER,            /* an outer protocol decided (EAP, RADIUS, QUIC): `outer` */
} mtls_event_type_t;

/* An outer protocol's decision (mtls.outer_result). RADIUS carries the EAP
 * result in the same packet: one value names both. */
typedef enum {
    MTLS_OUTER_NONE = 0,
    MTLS_OUTER_EAP_SUCCESS,
    MTLS_OUTER_EAP_FAILURE,
    MTLS_OUTER_ACCESS_ACCEPT,             /* without an EAP-Success in it */
    MTLS_OUTER_ACCESS_REJECT,             /* without an EAP-Failure in it */
    MTLS_OUTER_EAP_SUCCESS_ACCESS_ACCEPT, /* EAP-Success inside an Access-Accept */
    MTLS_OUTER_EAP_FAILURE_ACCESS_REJECT, /* EAP-Failure inside an Access-Reject */
    MTLS_OUTER_QUIC_CLOSE,                /* the server's CONNECTION_CLOSE 0x1c: error code in
                                             `quic_error` (0x100 + alert: crypto error) */
} mtls_outer_t;

/* True for the outer results that refuse (EAP-Failure, Access-Reject, a server's
 * QUIC close); false for NONE and the successes. */
bool mtls_outer_is_failure(mtls_outer_t outer);

#define MTLS_ALERT_UNKNOWN (-1) /* encrypted alert: level and description unseen */

typedef struct {
    mtls_event_type_t type;
    bool from_server;
    uint32_t frame;
    int64_t time_ns; /* capture timestamp */
    /* MTLS_EV_CLIENT_HELLO */
    bool pha_offered;
    /* MTLS_EV_SERVER_HELLO: negotiated, 0x0303 for TLS 1.2, 0x0304 for TLS 1.3;
     * other events from a record: that record's version field (0 when unknown) */
    uint16_t version;
    bool tls13;
    bool hello_retry;
    bool psk_accepted;
    /* MTLS_EV_CERTIFICATE */
    bool empty;
    /* MTLS_EV_CERTIFICATE_REQUEST: TLS 1.3 certificate_request_context length */
    uint8_t context_length;
    /* MTLS_EV_ALERT: level 1 warning, 2 fatal; MTLS_ALERT_UNKNOWN when encrypted */
    int alert_level;
    int alert_description;
    /* MTLS_EV_CLOSE */
    bool reset;
    /* MTLS_EV_OTHER_HANDSHAKE: a protected handshake record nobody could decrypt */
    bool encrypted;
    /* Every event from a record: its length field (protected size) */
    uint16_t record_length;
    /* MTLS_EV_SERVER_HELLO */
    uint16_t cipher_suite;
    /* MTLS_EV_OUTER; alert_description is the TLS alert a QUIC crypto error
     * carries (quic_error - 0x100), else -1 */
    mtls_outer_t outer;
    uint64_t quic_error;
} mtls_event_t;

/* How an exchange was decided; the evidence line is written from it. */
typedef enum {
    MTLS_CAUSE_NONE = 0,
    MTLS_CAUSE_SERVER_FLIGHT_END,    /* ServerHelloDone or TLS 1.3 server Finished */
    MTLS_CAUSE_ABBREVIATED,          /* TLS 1.2 resumption: server CCS after ServerHello */
    MTLS_CAUSE_SERVER_WENT_ON,       /* server record after the client's answer */
    MTLS_CAUSE_SERVER_ALERT,         /* fatal alert from the server */
    MTLS_CAUSE_SERVER_CLOSE,         /* close_notify, FIN or RST from the server */
    MTLS_CAUSE_CLIENT_ALERT,         /* fatal alert from the client */
    MTLS_CAUSE_ANSWER_MISSING,       /* server went on, the client's answer not captured */
    MTLS_CAUSE_ENDED_BEFORE_REQUEST, /* handshake ended before the server's flight */
    MTLS_CAUSE_CLIENT_CLOSED,        /* the client closed first, then the server */
    MTLS_CAUSE_INFERRED_FLIGHT,      /* inferred: the client's flight was Finished alone */
    MTLS_CAUSE_SILENT_CLOSE,         /* the handshake completed, the client sent data, the server
                                        closed without answering */
    MTLS_CAUSE_OUTER_FAILURE,        /* EAP-Failure, Access-Reject, QUIC CONNECTION_CLOSE */
    MTLS_CAUSE_OUTER_SUCCESS,        /* EAP-Success, Access-Accept */
} mtls_cause_t;

/* What the server sent when it went on, for the evidence line. */
typedef enum {
    MTLS_RECORD_NONE = 0,
    MTLS_RECORD_CHANGE_CIPHER_SPEC,
    MTLS_RECORD_FINISHED,
    MTLS_RECORD_NEW_SESSION_TICKET,
    MTLS_RECORD_APPLICATION_DATA,
    MTLS_RECORD_HANDSHAKE,
    MTLS_RECORD_SERVER_HELLO_DONE,
    MTLS_RECORD_FIN,
    MTLS_RECORD_RST,
    MTLS_RECORD_CLOSE_NOTIFY,
    MTLS_RECORD_ENCRYPTED,       /* inferred: a protected record, not alert-sized */
    MTLS_RECORD_ENCRYPTED_ALERT, /* inferred: a protected record the size of an alert */
} mtls_record_t;

typedef struct mtls_exchange {
    struct mtls_exchange *next;
    int64_t response_time_ns;
    int64_t decision_time_ns;
    uint32_t first_frame;
    uint32_t request_frame;
    uint32_t response_frame;
    uint32_t verify_frame;
    uint32_t decision_frame;
    uint32_t last_frame;
    uint32_t data_frame; /* the client's first application data after its answer, or 0 */
    uint32_t tag;        /* the caller's to use; the engine sets it to 0 only */
    /* From the client's answer to its first application data (data_frame), in
     * microseconds, rounded; MTLS_DATA_DELAY_UNKNOWN when over 71 minutes or
     * when the clock went back: mtls_exchange_data_time() */
    uint32_t data_delay_us;
    uint16_t number;       /* 1-based within its connection, <= MTLS_MAX_EXCHANGES_PER_CONNECTION */
    uint16_t version;      /* negotiated TLS version, 0 when the ServerHello was not seen */
    uint16_t flight_bytes; /* inferred: the client's flight, plaintext before Finished */
    uint16_t decision_record_length; /* inferred: the protected record that decided */
    int16_t alert;                   /* fatal alert that decided it, or -1 */
    /* One byte each, and one bit per flag: a capture holds millions of
     * exchanges (gcc and clang take enum bit-fields, and keep their type for
     * -Wswitch). Bit-fields have no address: read and assign them only. */
    mtls_verdict_t verdict : 8;
    mtls_response_t response : 8;
    mtls_cause_t cause : 8;
    mtls_record_t decision_record : 8;
    /* Fewer bits where the values are few (a spare bit each: whether an enum
     * bit-field is signed is the compiler's choice). */
    mtls_phase_t phase : 3;
    mtls_confidence_t confidence : 3;        /* of the verdict */
    mtls_confidence_t flight_confidence : 3; /* of requested/response, from the flight */
    mtls_outer_t outer : 4; /* the outer protocol's decision on this exchange, if any */
    uint8_t flight_records; /* inferred: the client's flight */
    bool requested : 1;     /* a CertificateRequest was seen (or implied by a client Certificate) */
    bool resumed : 1;
    bool pha_offered : 1;
    bool tls13 : 1;
    bool start_missing : 1; /* the capture did not hold the start of this exchange */
    bool undecrypted : 1;   /* TLS 1.3 handshake seen only up to the ServerHello: no keys */
    bool inferred : 1;      /* deduced from protected record sizes, without keys */
    bool answered : 1;      /* the server sent application data after the client's answer */
    uint16_t quic_error;    /* MTLS_OUTER_QUIC_CLOSE: its error code (0 when over 0xffff) */
} mtls_exchange_t;

#define MTLS_DATA_DELAY_UNKNOWN UINT32_MAX
/* When the client sent its first application data after its answer
 * (data_frame), in the events' clock; INT64_MAX when not known. */
int64_t mtls_exchange_data_time(const mtls_exchange_t *exchange);

/* What is kept of a connection: its exchanges (80 bytes on LP64, and the
 * caller's extra bytes). */
typedef struct mtls_conn mtls_conn_t;

/* What the engine needs of a connection only while the connection is open: the
 * handshake under way and the inference from record sizes (48 bytes on LP64).
 * The caller keeps it beside the connection from mtls_conn_state_init() and
 * feeds events through it; once the connection is closed (or the capture read)
 * it can drop it, and the connection keeps its exchanges. Its fields are the
 * engine's: the struct is here for its size only. */
typedef enum {
    MTLS_STATE_INFER_SERVER_FLIGHT = 0, /* after the ServerHello */
    MTLS_STATE_INFER_CLIENT_FLIGHT,     /* the client's second flight */
    MTLS_STATE_INFER_DECISION,          /* the server's next record decides */
    MTLS_STATE_INFER_AFTER,             /* decided: watch for proof and later requests */
} mtls_state_infer_t;
typedef enum {
    MTLS_STATE_RENEG_IDLE = 0,
    MTLS_STATE_RENEG_HELLO_REQUEST,
    MTLS_STATE_RENEG_CLIENT_HELLO,
    MTLS_STATE_RENEG_SERVER_FLIGHT,
    MTLS_STATE_RENEG_CLIENT_FLIGHT,
    MTLS_STATE_RENEG_DECISION,
} mtls_state_reneg_t;
typedef struct mtls_conn_state {
    mtls_conn_t *conn; /* whose exchanges this fills in */
    /* Inference without keys (TLS 1.3 protected records) */
    uint32_t server_flight_frame; /* first protected server record */
    uint32_t last_server_frame;   /* post-handshake: the request candidate */
    mtls_flight_reader_t flight;
    mtls_cipher_sizes_t sizes;
    uint8_t server_flight_records; /* saturates: only "exactly 5" matters */
    uint16_t version;              /* negotiated, from the ServerHello */
    uint16_t exchange_count;       /* <= MTLS_MAX_EXCHANGES_PER_CONNECTION */
    /* Exchange numbers (1-based, 0 = none) rather than pointers: half the size. */
    uint16_t handshake; /* exchange of the (re)negotiation in progress, if any */
    uint16_t inferring; /* the exchange inference works on */
    uint16_t reneg;     /* the renegotiation counted without keys */
    /* TLS 1.2 renegotiation without keys: counted protected handshake records */
    uint16_t reneg_first_client_record;
    uint8_t reneg_client_records; /* saturates */
    /* The two states below have a spare bit each: whether an enum bit-field is
     * signed is the compiler's choice. */
    mtls_state_infer_t infer_state : 3;
    mtls_state_reneg_t reneg_state : 4;
    /* One bit each. */
    bool tls13 : 1;
    bool pha_offered : 1;
    bool handshake_done : 1;      /* first handshake completed: later hellos renegotiate */
    bool hello_retry_pending : 1; /* a HelloRetryRequest awaits the second ClientHello */
    bool server_hello_seen : 1;   /* in the current handshake */
    bool server_flight_done : 1;  /* ServerHelloDone / TLS 1.3 server Finished seen */
    bool server_ccs : 1;          /* TLS 1.2: the server switched to the new keys */
    bool client_ccs : 1;
    bool server_closed : 1;
    bool client_closed : 1; /* FIN, RST or close_notify from the client */
    bool infer : 1;
    bool sizes_known : 1;
    bool client_finished_next : 1; /* the next protected client record is its Finished */
    bool server_finished_next : 1;
} mtls_conn_state_t;

mtls_conn_t *mtls_conn_new(void); /* mtls_conn_new_with_extra(0) */
/* A connection whose allocation also holds `extra` zeroed bytes for the caller,
 * aligned to MTLS_CONN_ALIGN (8: enough for integers and pointers), at
 * mtls_conn_extra(). NULL on OOM. */
mtls_conn_t *mtls_conn_new_with_extra(size_t extra);
/* The connection an exchange belongs to (NULL for NULL). */
mtls_conn_t *mtls_exchange_conn(const mtls_exchange_t *exchange);
/* The caller's bytes (just past the engine's when `extra` was 0); NULL for NULL. */
void *mtls_conn_extra(mtls_conn_t *conn);
const void *mtls_conn_extra_const(const mtls_conn_t *conn);
/* The connection whose extra bytes these are (mtls_conn_extra's inverse). */
mtls_conn_t *mtls_conn_of_extra(const void *extra);
/* Size of the one allocation mtls_conn_new_with_extra(extra) makes, which also
 * holds the first exchange (later ones are allocated on their own); 0 when it
 * would overflow size_t. */
size_t mtls_conn_alloc_size(size_t extra);
/* A connection in the caller's memory, for callers that keep many in one
 * block: `memory` is mtls_conn_alloc_size(extra) zeroed bytes, aligned to
 * MTLS_CONN_ALIGN (the extra bytes then are too). NULL when it is not. Give it
 * back with mtls_conn_release(), then free the memory as it was allocated. */
#define MTLS_CONN_ALIGN 8
mtls_conn_t *mtls_conn_init(void *memory);
/* Frees what a connection holds beyond its own allocation (later exchanges). */
void mtls_conn_release(mtls_conn_t *conn);
/* Starts the open state of `conn`, a connection no state has fed yet. */
void mtls_conn_state_init(mtls_conn_state_t *state, mtls_conn_t *conn);
/* Deduce exchanges from protected record sizes when there are no keys (default on). */
void mtls_conn_set_inference(mtls_conn_state_t *state, bool enabled);
/* Frees the connection, its exchanges and the caller's extra bytes (one made
 * by mtls_conn_new_with_extra). */
void mtls_conn_free(mtls_conn_t *conn);

/* Feeds one event of state's connection, in capture order. Returns the exchange
 * the event belongs to, or NULL when it belongs to none (e.g. application data
 * before any handshake). */
mtls_exchange_t *mtls_conn_feed(mtls_conn_state_t *state, const mtls_event_t *event);

/* The connection's exchanges, oldest first. Every exchange stays at its address
 * until mtls_conn_free(). */
const mtls_exchange_t *mtls_conn_exchanges(const mtls_conn_t *conn);
/* Its newest exchange, or NULL (a walk of its exchanges). */
mtls_exchange_t *mtls_conn_latest(mtls_conn_t *conn);

/* The verdict to show: `final` is true once the whole capture has been seen
 * (second pass, GUI), where a pending exchange is undetermined. */
mtls_verdict_t mtls_exchange_verdict(const mtls_exchange_t *exchange, bool final);

/* True when it is known whether the server requested a certificate. */
bool mtls_exchange_request_known(const mtls_exchange_t *exchange);

const char *mtls_verdict_name(mtls_verdict_t verdict);
const char *mtls_response_name(mtls_response_t response);
const char *mtls_phase_name(mtls_phase_t phase);
/* RFC name of a TLS alert description, or NULL when unknown. */
const char *mtls_alert_name(int description);
/* "EAP-Success", "EAP-Failure; Access-Reject", "QUIC CONNECTION_CLOSE": the
 * outer result's name without a QUIC error code; NULL for NONE. */
const char *mtls_outer_name(mtls_outer_t outer);

/* One readable sentence: why this verdict. Returns `buffer`. */
char *mtls_exchange_evidence(const mtls_exchange_t *exchange, bool final, char *buffer,
                             size_t size);

/* "1.2 ms", "3.456 s": a duration as a person reads it. Returns `buffer`. */
char *mtls_format_duration(int64_t duration_ns, char *buffer, size_t size);

/* later - earlier, saturated at the ends of int64_t: capture timestamps and
 * certificate dates of hostile files can be anything. */
int64_t mtls_difference(int64_t later, int64_t earlier);

#endif /* MTLS_ENGINE_H */
