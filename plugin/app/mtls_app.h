/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the application said after a TLS exchange, read from the connection's
 * decrypted application data without a protocol tree. Plain C, no Wireshark.
 *
 * One reader per connection. It is fed the decrypted application data of both
 * directions in stream order, in chunks of any size (one byte per call
 * included). It recognises the protocol from the bytes themselves (the port is
 * only a hint that breaks ties), then reads the server's answers with a small
 * per-protocol reader (HTTP/1.x, HTTP/2, SMTP, IMAP, POP3, LDAP, MySQL/MariaDB,
 * PostgreSQL, MQTT) until it holds the answer that decides whether the
 * application let the client in:
 *
 *   - HTTP/1.x, HTTP/2: the first response (its status).
 *   - SMTP: the first 4xx/5xx reply after TLS (to any command up to DATA, or
 *     unprompted); otherwise the reply to RCPT, DATA or AUTH that accepted.
 *   - IMAP, POP3: the tagged answer / +OK -ERR to LOGIN, AUTHENTICATE, USER,
 *     PASS, APOP; an unprompted BYE; otherwise nothing decisive.
 *   - LDAP: the BindResponse's resultCode (saslBindInProgress is not decisive);
 *     an unsolicited Notice of Disconnection.
 *   - MySQL: the OK or ERR packet that answers the client's login.
 *   - PostgreSQL: the ErrorResponse during startup, or AuthenticationOk /
 *     ReadyForQuery.
 *   - MQTT: the CONNACK's return code (MQTT 3.1.1) or reason code (MQTT 5).
 *
 * It keeps a small bounded state, never reads past what it was given, and when
 * the answer cannot be read for sure it gives up: it never guesses.
 */
#ifndef MTLS_APP_H
#define MTLS_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MTLS_APP_UNKNOWN = 0,
    MTLS_APP_HTTP, /* HTTP/1.0, HTTP/1.1 */
    MTLS_APP_HTTP2,
    MTLS_APP_SMTP,
    MTLS_APP_IMAP,
    MTLS_APP_POP3,
    MTLS_APP_LDAP,
    MTLS_APP_MYSQL, /* MySQL and MariaDB */
    MTLS_APP_PGSQL,
    MTLS_APP_MQTT,
    MTLS_APP_PROTOCOL_COUNT
} mtls_app_protocol_t;

/* "http", "http2", "smtp", "imap", "pop3", "ldap", "mysql", "pgsql", "mqtt";
 * "" for MTLS_APP_UNKNOWN or out of range. */
const char *mtls_app_protocol_name(mtls_app_protocol_t protocol);

/* Longest reply text kept, with its terminating NUL. */
#define MTLS_APP_REPLY_SIZE 128

typedef struct {
    mtls_app_protocol_t protocol;
    bool has_status; /* the protocol has a numeric answer and it was read */
    uint32_t status; /* HTTP status, SMTP reply code, LDAP resultCode, MySQL error code
                        (0 for OK), MQTT CONNACK code; PostgreSQL has none */
    bool refused;    /* the answer refused the client, by the protocol's own rules */
    /* The answer as the application said it, short and readable, printable ASCII
     * only (anything else becomes '?'), NUL-terminated, cut with "..." when long:
     * "HTTP 403 Forbidden", "SMTP 421 4.7.1 Error: No client certificate presented",
     * "IMAP NO [ALERT] Client didn't present valid SSL certificate",
     * "LDAP bindResponse 49 invalidCredentials",
     * "MySQL ERROR 1045 (28000) Access denied for user ...",
     * "PostgreSQL FATAL 28000 connection requires a valid client certificate",
     * "MQTT CONNACK 5 not authorised". */
    char reply[MTLS_APP_REPLY_SIZE];
} mtls_app_answer_t;

typedef struct mtls_app_reader mtls_app_reader_t;

/* A reader at the start of a connection's application data; `server_port` is
 * only a hint (0 when unknown). NULL on OOM. */
mtls_app_reader_t *mtls_app_reader_new(uint16_t server_port);
void mtls_app_reader_free(mtls_app_reader_t *reader);

/* Starts over for the next answer (e.g. after a renegotiation), keeping the
 * protocol it recognised: the next decisive answer is reported again. */
void mtls_app_reader_restart(mtls_app_reader_t *reader);

/* All a reader keeps across mtls_app_reader_restart(), in two bytes: a caller
 * with many connections frees the reader once it has given its answer, keeps
 * the memo, and makes the reader for a later exchange from it. */
typedef struct {
    uint8_t protocol; /* mtls_app_protocol_t */
    uint8_t level;    /* MQTT: the CONNECT's protocol level */
} mtls_app_memo_t;
mtls_app_memo_t mtls_app_reader_memo(const mtls_app_reader_t *reader);
/* A reader as mtls_app_reader_restart() leaves the one the memo came from. NULL on OOM. */
mtls_app_reader_t *mtls_app_reader_from_memo(uint16_t server_port, mtls_app_memo_t memo);

/* Feeds decrypted application data, in stream order per direction. Returns true
 * once, on the call where the decisive answer becomes known, and fills *answer.
 * After that (until mtls_app_reader_restart), or once the stream is known not to
 * be readable, it returns false at once and reads nothing. `data` may be NULL
 * when `length` is 0. */
bool mtls_app_reader_feed(mtls_app_reader_t *reader, bool from_server, const uint8_t *data,
                          size_t length, mtls_app_answer_t *answer);

/* When the connection ends with no decisive answer: the first complete answer
 * the server gave (e.g. SMTP's 250 to EHLO, IMAP's greeting), refused = false;
 * returns false when there was none (or a decisive one was already reported). */
bool mtls_app_reader_first_answer(const mtls_app_reader_t *reader, mtls_app_answer_t *answer);

/* The protocol recognised so far (MTLS_APP_UNKNOWN until then). */
mtls_app_protocol_t mtls_app_reader_protocol(const mtls_app_reader_t *reader);

/* True while the reader still wants bytes: the caller can stop feeding it. */
bool mtls_app_reader_wants_data(const mtls_app_reader_t *reader);

/* Bytes the reader holds (for the memory benchmark). */
size_t mtls_app_reader_memory(const mtls_app_reader_t *reader);

#endif /* MTLS_APP_H */
