/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The application-answer reader (mtls_app.h): recognises the protocol from the
 * first bytes of both directions, then hands every byte to that protocol's
 * reader (HTTP: mtls_http.c; SMTP, IMAP, POP3: mtls_app_text.c; LDAP, MySQL,
 * PostgreSQL, MQTT: mtls_app_binary.c).
 *
 * Recognition. The bytes are logged in arrival order (64 at most, with the
 * direction of each) until the side that spoke first says which protocol it is:
 *
 *   client first: an HTTP/1 request line ("GET /", "POST /"...); the HTTP/2
 *     preface "PRI * HTTP/2.0"; SMTP "EHLO "/"HELO "; an IMAP command "<tag>
 *     LOGIN|CAPABILITY|AUTHENTICATE|..."; a POP3 command USER, PASS, APOP, AUTH,
 *     CAPA, STLS; an LDAP message (BER SEQUENCE, INTEGER messageID, a request's
 *     [APPLICATION n] tag); a MySQL HandshakeResponse41 (3-byte length,
 *     sequence id 1 or 2, CLIENT_PROTOCOL_41, 19 zero filler bytes); a
 *     PostgreSQL StartupMessage (length 8..10000, protocol 3.x); an MQTT
 *     CONNECT (0x10, remaining length, "MQTT" level 4 or 5, "MQIsdp" level 3);
 *   server first: an SMTP greeting ("220 ", "554 "...: 3 digits 2-5xx, then
 *     SP, '-' or the line's end; not on the FTP ports 21 and 990); an IMAP
 *     greeting "* OK", "* PREAUTH", "* BYE"; a POP3 greeting "+OK", "-ERR"; an
 *     HTTP/2 server preface (a SETTINGS frame on stream 0).
 *
 * Several matches (e.g. "AUTH" from a POP3 or an SMTP client) are settled by the
 * server port (25/465/587 smtp, 143/993 imap, 110/995 pop3, 389/636 ldap, 3306
 * mysql, 5432 pgsql, 1883/8883 mqtt, 443/8443 http), then by the order above.
 * No match once every candidate has failed, or once the log is full, or once
 * the other side spoke while a candidate still wanted more of the first
 * speaker's bytes: the reader gives up. Then the logged bytes are replayed, in their order, into
 * the protocol's reader, and the rest goes to it directly.
 *
 * Restart (a renegotiation, a post-handshake authentication): the protocol's
 * reader starts afresh and expects the next bytes of each direction to start a
 * line or a message (HTTP/1: a status line), as they do at a TLS record
 * boundary after a new handshake; when they do not, it gives up. HTTP/2 has no
 * second exchange: its reader gives up.
 */
#include "mtls_app_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const protocol_names[MTLS_APP_PROTOCOL_COUNT] = {
    "", "http", "http2", "smtp", "imap", "pop3", "ldap", "mysql", "pgsql", "mqtt",
};

const char *mtls_app_protocol_name(mtls_app_protocol_t protocol)
{
    if ((unsigned)protocol >= MTLS_APP_PROTOCOL_COUNT)
        return "";
    return protocol_names[protocol];
}

/* Reply texts */

void mtls_app_text_clear(mtls_app_text_t *text)
{
    text->length = 0;
    text->cut = false;
    text->text[0] = '\0';
}

static void text_add_byte(mtls_app_text_t *text, uint8_t byte)
{
    if (text->length >= MTLS_APP_REPLY_SIZE - 1) {
        text->cut = true;
        return;
    }
    text->text[text->length++] = (byte >= 0x20 && byte <= 0x7e) ? (char)byte : '?';
    text->text[text->length] = '\0';
}

void mtls_app_text_add(mtls_app_text_t *text, const char *string)
{
    for (; *string; string++)
        text_add_byte(text, (uint8_t)*string);
}

void mtls_app_text_add_bytes(mtls_app_text_t *text, const uint8_t *bytes, size_t length)
{
    for (size_t i = 0; i < length && !text->cut; i++)
        text_add_byte(text, bytes[i]);
}

void mtls_app_text_finish(const mtls_app_text_t *text, char reply[MTLS_APP_REPLY_SIZE])
{
    size_t length = text->length < MTLS_APP_REPLY_SIZE - 1 ? text->length : MTLS_APP_REPLY_SIZE - 1;
    memcpy(reply, text->text, length);
    if (text->cut) {
        if (length > MTLS_APP_REPLY_SIZE - 4)
            length = MTLS_APP_REPLY_SIZE - 4;
        memcpy(reply + length, "...", 3);
        length += 3;
    }
    reply[length] = '\0';
}

void mtls_app_note_first(mtls_app_reader_t *reader, const mtls_app_answer_t *answer)
{
    if (reader->has_first)
        return;
    reader->first = *answer;
    reader->first.protocol = (mtls_app_protocol_t)reader->protocol;
    reader->first.refused = false;
    reader->has_first = true;
}

/* Recognition */

typedef enum { NO, MAYBE, MATCH } match_t;

static uint8_t lower(uint8_t byte)
{
    return (byte >= 'A' && byte <= 'Z') ? (uint8_t)(byte + 32) : byte;
}

/* `bytes` start with `word` (case-insensitive when `fold`): MATCH; they are a
 * shorter prefix of it: MAYBE. */
static match_t starts_with(const uint8_t *bytes, size_t length, const char *word, bool fold)
{
    size_t i = 0;
    for (; word[i]; i++) {
        if (i == length)
            return MAYBE;
        uint8_t a = bytes[i], b = (uint8_t)word[i];
        if (fold ? lower(a) != lower(b) : a != b)
            return NO;
    }
    return MATCH;
}

/* One of `words`, then one byte of `after` (a string of allowed bytes). */
static match_t starts_with_word(const uint8_t *bytes, size_t length, const char *const *words,
                                size_t count, const char *after, bool fold)
{
    match_t best = NO;
    for (size_t w = 0; w < count; w++) {
        size_t n = strlen(words[w]);
        match_t m = starts_with(bytes, length, words[w], fold);
        if (m == MATCH) {
            if (length == n)
                m = MAYBE;
            else if (bytes[n] == '\0' || !strchr(after, bytes[n]))
                m = NO;
        }
        if (m > best)
            best = m;
    }
    return best;
}

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static match_t client_http1(const uint8_t *c, size_t n)
{
    static const char *const methods[] = {"GET",   "HEAD",    "POST",    "PUT",  "DELETE",
                                          "PATCH", "OPTIONS", "CONNECT", "TRACE"};
    match_t best = NO;
    for (size_t i = 0; i < COUNT(methods); i++) {
        size_t m = strlen(methods[i]);
        match_t step = starts_with(c, n, methods[i], false);
        if (step == MATCH) {
            /* the method, one SP, then the target: '/', '*' or an absolute URI */
            if (n < m + 2)
                step = MAYBE;
            else if (c[m] != ' ' ||
                     (c[m + 1] != '/' && c[m + 1] != '*' && !(c[m + 1] >= 'a' && c[m + 1] <= 'z') &&
                      !(c[m + 1] >= 'A' && c[m + 1] <= 'Z')))
                step = NO;
        }
        if (step > best)
            best = step;
    }
    return best;
}

static match_t client_smtp(const uint8_t *c, size_t n)
{
    static const char *const words[] = {"EHLO", "HELO"};
    return starts_with_word(c, n, words, COUNT(words), " \r\n", true);
}

static match_t client_pop3(const uint8_t *c, size_t n)
{
    static const char *const words[] = {"USER", "PASS", "APOP", "AUTH", "CAPA", "STLS"};
    return starts_with_word(c, n, words, COUNT(words), " \r\n", true);
}

/* IMAP: a tag (1..32 bytes of ASTRING-CHAR but '+'), SP, a command that may
 * come first after TLS, then SP or the line's end (RFC 9051 6). */
static match_t client_imap(const uint8_t *c, size_t n)
{
    static const char *const commands[] = {
        "CAPABILITY", "LOGIN",  "AUTHENTICATE", "NOOP",   "LOGOUT",
        "ID",         "ENABLE", "STARTTLS",     "SELECT", "EXAMINE",
        "LIST",       "LSUB",   "NAMESPACE",    "STATUS", "COMPRESS",
    };
    size_t tag = 0;
    while (tag < n && c[tag] != ' ') {
        uint8_t b = c[tag];
        if (b <= 0x20 || b >= 0x7f || strchr("(){%*\"\\+", b) || tag >= MTLS_APP_TAG_MAX)
            return NO;
        tag++;
    }
    if (tag == n)
        return MAYBE;
    if (tag == 0)
        return NO;
    return starts_with_word(c + tag + 1, n - tag - 1, commands, COUNT(commands), " \r\n", true);
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* LDAP: LDAPMessage ::= SEQUENCE { messageID INTEGER (1..2^31-1), protocolOp }
 * with a request's tag (RFC 4511 4.1.1). */
static match_t client_ldap(const uint8_t *c, size_t n)
{
    static const uint8_t requests[] = {0x60, 0x42, 0x63, 0x66, 0x68, 0x4a, 0x6c, 0x6e, 0x50, 0x77};
    if (n < 1)
        return MAYBE;
    if (c[0] != 0x30)
        return NO;
    if (n < 2)
        return MAYBE;
    size_t at = 2;
    uint32_t length = c[1];
    if (c[1] & 0x80) {
        size_t bytes = c[1] & 0x7f;
        if (bytes == 0 || bytes > 4)
            return NO;
        if (n < 2 + bytes)
            return MAYBE;
        length = 0;
        for (size_t i = 0; i < bytes; i++)
            length = length << 8 | c[2 + i];
        at += bytes;
    }
    if (n < at + 2)
        return MAYBE;
    if (c[at] != 0x02 || c[at + 1] < 1 || c[at + 1] > 4)
        return NO;
    size_t id_length = c[at + 1];
    if (n < at + 2 + id_length + 1)
        return MAYBE;
    if (c[at + 2] & 0x80)
        return NO; /* negative */
    size_t op = at + 2 + id_length;
    if (length < op + 2 - at)
        return NO; /* the message is shorter than its own ID and operation */
    return memchr(requests, c[op], sizeof(requests)) ? MATCH : NO;
}

/* MySQL: HandshakeResponse41 (client capabilities with CLIENT_PROTOCOL_41, max
 * packet size, character set, then 19 zero bytes: MariaDB puts its extended
 * capabilities in the last 4 of MySQL's 23). */
static match_t client_mysql(const uint8_t *c, size_t n)
{
    if (n >= 4) {
        uint32_t length = c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16;
        if (length < 32 || (c[3] != 1 && c[3] != 2))
            return NO;
    }
    if (n >= 6 && !(c[5] & 0x02)) /* CLIENT_PROTOCOL_41 = 0x200 */
        return NO;
    for (size_t i = 13; i < 32 && i < n; i++)
        if (c[i] != 0)
            return NO;
    return n >= 32 ? MATCH : MAYBE;
}

/* PostgreSQL: StartupMessage (length, protocol 3.x). */
static match_t client_pgsql(const uint8_t *c, size_t n)
{
    if (n >= 4) {
        uint32_t length = be32(c);
        if (length < 8 || length > 10000)
            return NO;
    }
    if (n >= 6 && (c[4] != 0 || c[5] != 3))
        return NO;
    return n >= 8 ? MATCH : MAYBE;
}

int mtls_app_mqtt_connect_level(const uint8_t *c, size_t n)
{
    if (n < 1)
        return -1;
    if (c[0] != 0x10)
        return 0;
    size_t at = 1;
    uint32_t remaining = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (at == n)
            return -1;
        uint8_t b = c[at++];
        remaining |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        if (shift == 21)
            return 0;
    }
    static const uint8_t mqtt[] = {0x00, 0x04, 'M', 'Q', 'T', 'T'};
    static const uint8_t mqisdp[] = {0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p'};
    const uint8_t *name = mqtt;
    size_t name_length = sizeof(mqtt);
    if (at + 1 < n && c[at + 1] == 0x06) {
        name = mqisdp;
        name_length = sizeof(mqisdp);
    }
    for (size_t i = 0; i < name_length; i++) {
        if (at + i == n)
            return -1;
        if (c[at + i] != name[i])
            return 0;
    }
    at += name_length;
    if (at == n)
        return -1;
    uint8_t level = c[at];
    if ((name == mqtt && level != 4 && level != 5) || (name == mqisdp && level != 3))
        return 0;
    if (remaining < name_length + 4) /* name, level, flags, keep alive */
        return 0;
    return level;
}

static match_t client_mqtt(const uint8_t *c, size_t n)
{
    int level = mtls_app_mqtt_connect_level(c, n);
    return level < 0 ? MAYBE : level > 0 ? MATCH : NO;
}

static match_t client_http2(const uint8_t *c, size_t n)
{
    return starts_with(c, n, "PRI * HTTP/2.0", false);
}

/* An SMTP reply's first line: 3 digits, the first 2..5, then SP, '-' or the end. */
static match_t server_smtp(const uint8_t *s, size_t n, uint16_t port)
{
    if (port == 21 || port == 990)
        return NO; /* FTP greets the same way */
    for (size_t i = 0; i < 3; i++) {
        if (i == n)
            return MAYBE;
        if (s[i] < (i == 0 ? '2' : '0') || s[i] > (i == 0 ? '5' : '9'))
            return NO;
    }
    if (n == 3)
        return MAYBE;
    return strchr(" -\r\n", s[3]) && s[3] ? MATCH : NO;
}

static match_t server_imap(const uint8_t *s, size_t n)
{
    static const char *const greetings[] = {"* OK", "* PREAUTH", "* BYE"};
    return starts_with_word(s, n, greetings, COUNT(greetings), " \r\n", true);
}

static match_t server_pop3(const uint8_t *s, size_t n)
{
    static const char *const greetings[] = {"+OK", "-ERR"};
    return starts_with_word(s, n, greetings, COUNT(greetings), " \r\n", false);
}

/* The server preface: a SETTINGS frame (type 4, no ACK, stream 0, a multiple of
 * 6 bytes: RFC 9113 3.4, 6.5). */
static match_t server_http2(const uint8_t *s, size_t n)
{
    static const uint8_t settings[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < 9; i++) {
        if (i == n)
            return MAYBE;
        if (i < 3)
            continue;
        if (s[i] != settings[i])
            return NO;
    }
    uint32_t length = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
    return length % 6 == 0 && length <= 16384 ? MATCH : NO;
}

static mtls_app_protocol_t port_protocol(uint16_t port)
{
    switch (port) {
    case 25:
    case 465:
    case 587: return MTLS_APP_SMTP;
    case 143:
    case 993: return MTLS_APP_IMAP;
    case 110:
    case 995: return MTLS_APP_POP3;
    case 389:
    case 636: return MTLS_APP_LDAP;
    case 3306: return MTLS_APP_MYSQL;
    case 5432: return MTLS_APP_PGSQL;
    case 1883:
    case 8883: return MTLS_APP_MQTT;
    case 443:
    case 8443: return MTLS_APP_HTTP;
    default: return MTLS_APP_UNKNOWN;
    }
}

/* The protocol the logged bytes show; MTLS_APP_UNKNOWN with *wait when more
 * bytes may still tell, without when they cannot. */
static mtls_app_protocol_t recognise(const mtls_app_reader_t *reader, bool *wait)
{
    uint8_t bytes[2][sizeof(reader->log)];
    size_t count[2] = {0, 0};
    for (size_t i = 0; i < reader->logged; i++) {
        int side = (reader->log_from_server >> i) & 1;
        bytes[side][count[side]++] = reader->log[i];
    }
    bool server_first = reader->log_from_server & 1;
    match_t found[MTLS_APP_PROTOCOL_COUNT] = {NO};
    const uint8_t *c = bytes[0], *s = bytes[1];
    size_t cn = count[0], sn = count[1];
    if (server_first) {
        found[MTLS_APP_SMTP] = server_smtp(s, sn, reader->server_port);
        found[MTLS_APP_IMAP] = server_imap(s, sn);
        found[MTLS_APP_POP3] = server_pop3(s, sn);
        found[MTLS_APP_HTTP2] = server_http2(s, sn);
    } else {
        found[MTLS_APP_HTTP] = client_http1(c, cn);
        found[MTLS_APP_HTTP2] = client_http2(c, cn);
        found[MTLS_APP_SMTP] = client_smtp(c, cn);
        found[MTLS_APP_IMAP] = client_imap(c, cn);
        found[MTLS_APP_POP3] = client_pop3(c, cn);
        found[MTLS_APP_LDAP] = client_ldap(c, cn);
        found[MTLS_APP_MYSQL] = client_mysql(c, cn);
        found[MTLS_APP_PGSQL] = client_pgsql(c, cn);
        found[MTLS_APP_MQTT] = client_mqtt(c, cn);
    }
    /* Once the other side speaks, the first speaker's opening is complete: a
     * candidate still waiting for more of it has failed. */
    bool other_spoke = server_first ? cn > 0 : sn > 0;
    bool full = reader->logged == sizeof(reader->log);
    *wait = false;
    for (int p = 1; p < MTLS_APP_PROTOCOL_COUNT; p++)
        if (found[p] == MAYBE && !full && !other_spoke)
            *wait = true;
    if (*wait)
        return MTLS_APP_UNKNOWN;
    mtls_app_protocol_t hinted = port_protocol(reader->server_port);
    if (hinted == MTLS_APP_HTTP && found[MTLS_APP_HTTP2] == MATCH)
        hinted = MTLS_APP_HTTP2;
    if (hinted != MTLS_APP_UNKNOWN && found[hinted] == MATCH)
        return hinted;
    for (int p = 1; p < MTLS_APP_PROTOCOL_COUNT; p++)
        if (found[p] == MATCH)
            return (mtls_app_protocol_t)p;
    return MTLS_APP_UNKNOWN;
}

/* Reading */

static void start_protocol(mtls_app_reader_t *reader, bool restarting)
{
    memset(&reader->state, 0, sizeof(reader->state));
    switch (reader->protocol) {
    case MTLS_APP_HTTP:
    case MTLS_APP_HTTP2:
        mtls_http_reader_init_with_reason(&reader->state.http.reader);
        /* Mid-stream, the server's preface is behind. */
        reader->state.http.reader.first_frame_read = restarting;
        break;
    case MTLS_APP_SMTP:
    case MTLS_APP_IMAP:
    case MTLS_APP_POP3: mtls_app_text_init(reader); break;
    default: mtls_app_binary_init(reader); break;
    }
}

/* The status of the first final response: HTTP/1 interim (1xx) responses but
 * 101 are passed over to the empty line that ends their head (RFC 9110 15.2);
 * HTTP/2 ones give up (its reader reads one HEADERS frame). */
static mtls_app_step_t http_status(mtls_app_reader_t *reader, const uint8_t *data, size_t length,
                                   uint16_t *status, mtls_http_protocol_t *version)
{
    mtls_http_reader_t *http = &reader->state.http.reader;
    if (reader->protocol == MTLS_APP_HTTP2) {
        if (mtls_http_reader_feed(http, data, length, status, version))
            return *status < 200 ? MTLS_APP_GIVE_UP : MTLS_APP_DECISIVE;
        return mtls_http_reader_wants_data(http) ? MTLS_APP_MORE : MTLS_APP_GIVE_UP;
    }
    /* HTTP/1: one byte per call, to know where a status line ends. */
    for (size_t at = 0; at < length; at++) {
        uint8_t byte = data[at];
        if (reader->state.http.interim) {
            if (byte == '\n') {
                if (reader->state.http.line_start) {
                    reader->state.http.interim = false;
                    mtls_http_reader_init_with_reason(http);
                }
                reader->state.http.line_start = true;
            } else if (byte != '\r') {
                reader->state.http.line_start = false;
            }
            continue;
        }
        if (!mtls_http_reader_feed(http, &byte, 1, status, version)) {
            if (!mtls_http_reader_wants_data(http))
                return MTLS_APP_GIVE_UP;
            continue;
        }
        if (*version != MTLS_HTTP_1 || *status >= 200 || *status == 101)
            return MTLS_APP_DECISIVE;
        reader->state.http.interim = true;
        reader->state.http.line_start = true;
    }
    return MTLS_APP_MORE;
}

static mtls_app_step_t http_feed(mtls_app_reader_t *reader, bool from_server, const uint8_t *data,
                                 size_t length, mtls_app_answer_t *answer)
{
    if (!from_server)
        return MTLS_APP_MORE; /* the request says nothing of the answer */
    uint16_t status = 0;
    mtls_http_protocol_t version = 0;
    mtls_app_step_t step = http_status(reader, data, length, &status, &version);
    if (step != MTLS_APP_DECISIVE)
        return step;
    /* The answer must be in the request's own version. */
    if ((version == MTLS_HTTP_2) != (reader->protocol == MTLS_APP_HTTP2))
        return MTLS_APP_GIVE_UP;
    mtls_http_reader_t *http = &reader->state.http.reader;
    /* HTTP/2 has no reason phrase: the reply says what the server sent, ":status 403". */
    const char *reason = version == MTLS_HTTP_2 ? "" : mtls_http_reader_reason(http);
    mtls_app_text_t text;
    mtls_app_text_clear(&text);
    char code[4] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), '\0'};
    mtls_app_text_add(&text, "HTTP ");
    mtls_app_text_add(&text, code);
    if (*reason) {
        mtls_app_text_add(&text, " ");
        mtls_app_text_add(&text, reason);
    }
    answer->has_status = true;
    answer->status = status;
    /* The statuses servers refuse a client certificate with: 400 (nginx), 401,
     * 403 (IIS 403.7, Apache), 495 and 496 (nginx's SSL certificate errors). */
    answer->refused =
        status == 400 || status == 401 || status == 403 || status == 495 || status == 496;
    mtls_app_text_finish(&text, answer->reply);
    return MTLS_APP_DECISIVE;
}

static mtls_app_step_t protocol_feed(mtls_app_reader_t *reader, bool from_server,
                                     const uint8_t *data, size_t length, mtls_app_answer_t *answer)
{
    if (length == 0)
        return MTLS_APP_MORE;
    switch (reader->protocol) {
    case MTLS_APP_HTTP:
    case MTLS_APP_HTTP2: return http_feed(reader, from_server, data, length, answer);
    case MTLS_APP_SMTP:
    case MTLS_APP_IMAP:
    case MTLS_APP_POP3: return mtls_app_text_feed(reader, from_server, data, length, answer);
    default: return mtls_app_binary_feed(reader, from_server, data, length, answer);
    }
}

/* The logged bytes, in their order, one run of a direction at a time. */
static mtls_app_step_t replay_log(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    size_t start = 0;
    while (start < reader->logged) {
        bool from_server = (reader->log_from_server >> start) & 1;
        size_t end = start + 1;
        while (end < reader->logged && (bool)((reader->log_from_server >> end) & 1) == from_server)
            end++;
        mtls_app_step_t step =
            protocol_feed(reader, from_server, reader->log + start, end - start, answer);
        if (step != MTLS_APP_MORE)
            return step;
        start = end;
    }
    return MTLS_APP_MORE;
}

/* Logs bytes until the protocol is known; returns how many of `data` it took. */
static size_t log_and_recognise(mtls_app_reader_t *reader, bool from_server, const uint8_t *data,
                                size_t length, mtls_app_step_t *step, mtls_app_answer_t *answer)
{
    size_t taken = 0;
    *step = MTLS_APP_MORE;
    while (taken < length) {
        size_t at = reader->logged;
        reader->log[at] = data[taken++];
        if (from_server)
            reader->log_from_server |= (uint64_t)1 << at;
        reader->logged++;
        bool wait;
        mtls_app_protocol_t protocol = recognise(reader, &wait);
        if (wait)
            continue;
        if (protocol == MTLS_APP_UNKNOWN) {
            *step = MTLS_APP_GIVE_UP;
            return taken;
        }
        reader->protocol = (uint8_t)protocol;
        reader->phase = MTLS_APP_PHASE_READING;
        start_protocol(reader, false);
        if (protocol == MTLS_APP_MQTT) {
            /* The CONNECT's level says how to name the CONNACK's code. */
            uint8_t connect[sizeof(reader->log)];
            size_t n = 0;
            for (size_t i = 0; i < reader->logged; i++)
                if (!((reader->log_from_server >> i) & 1))
                    connect[n++] = reader->log[i];
            reader->state.binary.level = (uint8_t)mtls_app_mqtt_connect_level(connect, n);
        }
        *step = replay_log(reader, answer);
        return taken;
    }
    return taken;
}

mtls_app_reader_t *mtls_app_reader_new(uint16_t server_port)
{
    mtls_app_reader_t *reader = calloc(1, sizeof(*reader));
    if (!reader)
        return NULL;
    reader->server_port = server_port;
    reader->phase = MTLS_APP_PHASE_RECOGNISING;
    return reader;
}

void mtls_app_reader_free(mtls_app_reader_t *reader)
{
    free(reader);
}

void mtls_app_reader_restart(mtls_app_reader_t *reader)
{
    reader->has_first = false;
    if (reader->protocol == MTLS_APP_UNKNOWN) {
        reader->phase = MTLS_APP_PHASE_RECOGNISING;
        reader->logged = 0;
        reader->log_from_server = 0;
        return;
    }
    if (reader->protocol == MTLS_APP_HTTP2) {
        /* HTTP/2 forbids renegotiation and post-handshake authentication (RFC 9113
         * 9.2.1, RFC 8740), and its frames cannot be found again mid-stream. */
        reader->phase = MTLS_APP_PHASE_GAVE_UP;
        return;
    }
    uint8_t level = reader->state.binary.level;
    reader->phase = MTLS_APP_PHASE_READING;
    start_protocol(reader, true);
    if (reader->protocol == MTLS_APP_MQTT)
        reader->state.binary.level = level;
}

mtls_app_memo_t mtls_app_reader_memo(const mtls_app_reader_t *reader)
{
    mtls_app_memo_t memo = {reader->protocol, 0};
    if (reader->protocol == MTLS_APP_MQTT)
        memo.level = reader->state.binary.level;
    return memo;
}

mtls_app_reader_t *mtls_app_reader_from_memo(uint16_t server_port, mtls_app_memo_t memo)
{
    mtls_app_reader_t *reader = mtls_app_reader_new(server_port);
    if (!reader)
        return NULL;
    if (memo.protocol < MTLS_APP_PROTOCOL_COUNT)
        reader->protocol = memo.protocol;
    reader->state.binary.level = memo.level;
    mtls_app_reader_restart(reader);
    return reader;
}

bool mtls_app_reader_feed(mtls_app_reader_t *reader, bool from_server, const uint8_t *data,
                          size_t length, mtls_app_answer_t *answer)
{
    if (!mtls_app_reader_wants_data(reader) || length == 0)
        return false;
    mtls_app_answer_t found;
    memset(&found, 0, sizeof(found));
    mtls_app_step_t step = MTLS_APP_MORE;
    if (reader->phase == MTLS_APP_PHASE_RECOGNISING) {
        size_t taken = log_and_recognise(reader, from_server, data, length, &step, &found);
        data += taken;
        length -= taken;
    }
    if (step == MTLS_APP_MORE && reader->phase == MTLS_APP_PHASE_READING)
        step = protocol_feed(reader, from_server, data, length, &found);
    if (step == MTLS_APP_GIVE_UP)
        reader->phase = MTLS_APP_PHASE_GAVE_UP;
    if (step != MTLS_APP_DECISIVE)
        return false;
    reader->phase = MTLS_APP_PHASE_DECIDED;
    found.protocol = (mtls_app_protocol_t)reader->protocol;
    *answer = found;
    return true;
}

bool mtls_app_reader_first_answer(const mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    if (reader->phase == MTLS_APP_PHASE_DECIDED || !reader->has_first)
        return false;
    *answer = reader->first;
    return true;
}

bool mtls_app_reader_wants_data(const mtls_app_reader_t *reader)
{
    return reader->phase == MTLS_APP_PHASE_RECOGNISING || reader->phase == MTLS_APP_PHASE_READING;
}

size_t mtls_app_reader_memory(const mtls_app_reader_t *reader)
{
    return reader ? sizeof(*reader) : 0;
}

mtls_app_protocol_t mtls_app_reader_protocol(const mtls_app_reader_t *reader)
{
    if (!reader || (unsigned)reader->protocol >= MTLS_APP_PROTOCOL_COUNT)
        return MTLS_APP_UNKNOWN;
    return (mtls_app_protocol_t)reader->protocol;
}
