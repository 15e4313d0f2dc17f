/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Inside the application-answer reader (mtls_app.h): the reader's state, one
 * small state per protocol, and what the per-protocol readers share. Not for
 * the glue: it includes mtls_app.h only.
 */
#ifndef MTLS_APP_INTERNAL_H
#define MTLS_APP_INTERNAL_H

#include "mtls_app.h"
#include "mtls_http.h"

/* Where a reader is. */
typedef enum {
    MTLS_APP_PHASE_RECOGNISING, /* the protocol is not known yet: the first bytes are logged */
    MTLS_APP_PHASE_READING,     /* the protocol's reader is looking for the decisive answer */
    MTLS_APP_PHASE_DECIDED,     /* the decisive answer was returned */
    MTLS_APP_PHASE_GAVE_UP,     /* the stream is not readable for sure */
} mtls_app_phase_t;

/* A reply text being built, printable ASCII, cut with "..." when long. */
typedef struct {
    char text[MTLS_APP_REPLY_SIZE];
    uint8_t length;
    bool cut; /* more was said than the text holds */
} mtls_app_text_t;

void mtls_app_text_clear(mtls_app_text_t *text);
void mtls_app_text_add(mtls_app_text_t *text, const char *string);
void mtls_app_text_add_bytes(mtls_app_text_t *text, const uint8_t *bytes, size_t length);
/* Copies the text into an answer's reply, with "..." at the end when cut. */
void mtls_app_text_finish(const mtls_app_text_t *text, char reply[MTLS_APP_REPLY_SIZE]);

/* A text line being assembled (SMTP, IMAP, POP3): its first bytes, its last
 * bytes and its length; the line ends at LF, a CR before it is not kept. */
#define MTLS_APP_LINE_HEAD 160
#define MTLS_APP_LINE_TAIL 16
typedef struct {
    uint8_t head[MTLS_APP_LINE_HEAD];
    uint8_t tail[MTLS_APP_LINE_TAIL]; /* the last bytes, oldest first */
    uint32_t length;                  /* bytes of the line so far, LF excluded (saturated) */
    bool cr;                          /* a CR was read and not kept yet */
} mtls_app_line_t;

#define MTLS_APP_PENDING_MAX 16 /* SMTP, POP3: commands sent and not answered yet */
#define MTLS_APP_TAG_MAX     32 /* IMAP: the tag of LOGIN or AUTHENTICATE */

typedef struct {
    mtls_app_line_t line[2];               /* [0] client, [1] server */
    uint32_t literal_left[2];              /* IMAP literal / SMTP BDAT bytes still to pass over */
    bool continued[2];                     /* the line after a literal continues the same command */
    uint8_t pending[MTLS_APP_PENDING_MAX]; /* SMTP, POP3: the commands' kinds, oldest first */
    uint8_t pending_count;
    uint8_t client_mode; /* commands, a SASL response, a message body (mtls_app_text.c) */
    uint8_t server_mode; /* replies, a multi-line reply's lines, a POP3 listing */
    bool replied;        /* the server gave a complete reply already */
    bool logout_sent;    /* IMAP: LOGOUT (or SMTP QUIT, POP3 QUIT) was sent */
    bool login_pending;  /* IMAP: LOGIN or AUTHENTICATE awaits its tagged answer */
    uint8_t login_tag_length;
    char login_tag[MTLS_APP_TAG_MAX];
    uint16_t reply_code;   /* SMTP: the code of the reply being read */
    mtls_app_text_t reply; /* SMTP: the first line of the reply being read */
} mtls_app_text_state_t;

/* A binary message's start, buffered, then its rest skipped by counting. */
#define MTLS_APP_HEAD_MAX 24
typedef struct {
    uint8_t head[MTLS_APP_HEAD_MAX];
    uint8_t kept;          /* bytes of the message in head */
    uint8_t header_length; /* LDAP, MQTT: bytes of the tag and length; 0 while unknown */
    uint32_t total;        /* bytes of the whole message; 0 while unknown */
    uint32_t read;         /* bytes of the message read so far */
    uint8_t level;         /* MQTT: the protocol level of the client's CONNECT */
    /* MySQL ERR and PostgreSQL ErrorResponse: the fields of the answer */
    uint8_t field;          /* PostgreSQL: the field being read (0: a field type is next) */
    bool verbatim_severity; /* PostgreSQL: V was read (it wins over S) */
    uint8_t severity_length, code_length;
    char severity[16];
    char code[8];
    mtls_app_text_t message;
} mtls_app_binary_state_t;

struct mtls_app_reader {
    uint16_t server_port;
    uint8_t protocol; /* mtls_app_protocol_t */
    uint8_t phase;    /* mtls_app_phase_t */
    /* Recognition: the first bytes of both directions in arrival order. */
    uint8_t logged;
    uint8_t log[64];
    uint64_t log_from_server; /* bit i: log[i] came from the server */
    bool has_first;           /* `first` holds the first complete answer */
    mtls_app_answer_t first;
    union {
        struct {
            mtls_http_reader_t reader;
            bool interim;    /* HTTP/1: passing over a 1xx response's header lines */
            bool line_start; /* HTTP/1: at the start of a header line */
        } http;
        mtls_app_text_state_t text;
        mtls_app_binary_state_t binary;
    } state;
};

/* What the per-protocol readers tell the dispatcher after each call. */
typedef enum {
    MTLS_APP_MORE,     /* all bytes read, nothing decisive yet */
    MTLS_APP_DECISIVE, /* *answer holds the decisive answer */
    MTLS_APP_GIVE_UP,  /* not readable for sure */
} mtls_app_step_t;

/* Records the first complete answer the server gave, if none was recorded. */
void mtls_app_note_first(mtls_app_reader_t *reader, const mtls_app_answer_t *answer);

/* Per-protocol readers: a fresh state, then the bytes of one direction. */
void mtls_app_text_init(mtls_app_reader_t *reader);
mtls_app_step_t mtls_app_text_feed(mtls_app_reader_t *reader, bool from_server, const uint8_t *data,
                                   size_t length, mtls_app_answer_t *answer);
void mtls_app_binary_init(mtls_app_reader_t *reader);
mtls_app_step_t mtls_app_binary_feed(mtls_app_reader_t *reader, bool from_server,
                                     const uint8_t *data, size_t length, mtls_app_answer_t *answer);

/* MQTT: the protocol level of a CONNECT (3, 4 or 5) whose first bytes are these;
 * 0 when they are not a CONNECT, -1 while more bytes are needed. */
int mtls_app_mqtt_connect_level(const uint8_t *bytes, size_t length);

#endif /* MTLS_APP_INTERNAL_H */
