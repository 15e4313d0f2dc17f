/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The binary protocols of the application-answer reader: LDAP (RFC 4511, BER),
 * MySQL/MariaDB (client/server protocol), PostgreSQL (frontend/backend protocol
 * 3) and MQTT (3.1, 3.1.1, 5). Only the server's messages are read, one at a
 * time: the first 24 bytes of each are kept, the rest is passed over by
 * counting (the text of a MySQL ERR or a PostgreSQL ErrorResponse is read as it
 * comes), and a message counts once all its bytes are there.
 *
 * Decisive answers, and whether they refused the client:
 *
 *   LDAP: a BindResponse: resultCode 0 accepted, any other refused, except 14
 *     saslBindInProgress (not decisive); an unsolicited Notice of Disconnection
 *     (an ExtendedResponse with messageID 0): refused. Text "LDAP bindResponse
 *     49 invalidCredentials" (RFC 4511 resultCode names; the diagnosticMessage
 *     is not shown).
 *   MySQL: the OK packet (accepted, "MySQL OK", status 0) or ERR packet
 *     (refused, "MySQL ERROR 1045 (28000) Access denied ...") that answers the
 *     login; AuthSwitchRequest and AuthMoreData are not decisive.
 *   PostgreSQL: an ErrorResponse during startup: refused, "PostgreSQL FATAL
 *     28000 connection requires a valid client certificate" (the V severity
 *     when there is one, else S; then C and M); AuthenticationOk (or
 *     ReadyForQuery): accepted. Other authentication requests (password, SASL),
 *     notices and NegotiateProtocolVersion are not decisive.
 *   MQTT: the CONNACK: return code (3.1, 3.1.1) or reason code (5) 0 accepted,
 *     any other refused, "MQTT CONNACK 5 not authorised".
 *
 * A message that does not fit (a length form LDAP forbids, a MySQL packet that
 * is neither OK, ERR nor an authentication step, a PostgreSQL message type not
 * sent during startup, an MQTT packet before CONNACK other than AUTH) makes the
 * reader give up.
 */
#include "mtls_app_internal.h"

#include <stdio.h>
#include <string.h>

void mtls_app_binary_init(mtls_app_reader_t *reader)
{
    memset(&reader->state.binary, 0, sizeof(reader->state.binary));
}

/* Starts the next message. */
static void next_message(mtls_app_binary_state_t *state)
{
    state->kept = 0;
    state->header_length = 0;
    state->total = 0;
    state->read = 0;
    state->field = 0;
    state->verbatim_severity = false;
    state->severity_length = 0;
    state->code_length = 0;
    memset(state->severity, 0, sizeof(state->severity));
    memset(state->code, 0, sizeof(state->code));
    mtls_app_text_clear(&state->message);
}

typedef enum { HEADER_MORE, HEADER_DONE, HEADER_BAD } header_t;

/* The message's whole length from its first bytes (state->head, state->kept). */
static header_t message_length(mtls_app_protocol_t protocol, mtls_app_binary_state_t *state)
{
    const uint8_t *h = state->head;
    size_t n = state->kept;
    switch (protocol) {
    case MTLS_APP_LDAP: {
        if (h[0] != 0x30)
            return HEADER_BAD;
        if (n < 2)
            return HEADER_MORE;
        size_t bytes = h[1] & 0x80 ? h[1] & 0x7fu : 0;
        if (h[1] & 0x80 && (bytes == 0 || bytes > 4))
            return HEADER_BAD; /* indefinite or too long: not LDAP (RFC 4511 5.1) */
        if (n < 2 + bytes)
            return HEADER_MORE;
        uint32_t length = bytes ? 0 : h[1];
        for (size_t i = 0; i < bytes; i++)
            length = length << 8 | h[2 + i];
        if (length < 5 || length > 0x7fffffff - 6)
            return HEADER_BAD; /* messageID and protocolOp take 5 bytes at least */
        state->header_length = (uint8_t)(2 + bytes);
        state->total = (uint32_t)(2 + bytes) + length;
        return HEADER_DONE;
    }
    case MTLS_APP_MYSQL: {
        if (n < 4)
            return HEADER_MORE;
        uint32_t length = h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16;
        if (length == 0)
            return HEADER_BAD;
        state->header_length = 4;
        state->total = 4 + length;
        return HEADER_DONE;
    }
    case MTLS_APP_PGSQL: {
        if (!((h[0] >= 'A' && h[0] <= 'Z') || (h[0] >= 'a' && h[0] <= 'z')))
            return HEADER_BAD;
        if (n < 5)
            return HEADER_MORE;
        uint32_t length = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
        if (length < 4 || length > (1u << 20))
            return HEADER_BAD;
        state->header_length = 5;
        state->total = 1 + length;
        return HEADER_DONE;
    }
    default: { /* MQTT: fixed header, remaining length (1 to 4 bytes, MQTT 3.1.1 2.2.3) */
        if (n < 2)
            return HEADER_MORE;
        uint32_t remaining = 0;
        for (size_t i = 1; i < n; i++) {
            remaining |= (uint32_t)(h[i] & 0x7f) << (7 * (i - 1));
            if (!(h[i] & 0x80)) {
                state->header_length = (uint8_t)(i + 1);
                state->total = (uint32_t)(i + 1) + remaining;
                return HEADER_DONE;
            }
            if (i == 4)
                return HEADER_BAD;
        }
        return HEADER_MORE;
    }
    }
}

/* Names */

static const char *ldap_result_name(uint32_t code)
{
    static const struct {
        uint8_t code;
        const char *name;
    } names[] = {
        {0, "success"},
        {1, "operationsError"},
        {2, "protocolError"},
        {3, "timeLimitExceeded"},
        {4, "sizeLimitExceeded"},
        {5, "compareFalse"},
        {6, "compareTrue"},
        {7, "authMethodNotSupported"},
        {8, "strongerAuthRequired"},
        {10, "referral"},
        {11, "adminLimitExceeded"},
        {12, "unavailableCriticalExtension"},
        {13, "confidentialityRequired"},
        {14, "saslBindInProgress"},
        {16, "noSuchAttribute"},
        {17, "undefinedAttributeType"},
        {18, "inappropriateMatching"},
        {19, "constraintViolation"},
        {20, "attributeOrValueExists"},
        {21, "invalidAttributeSyntax"},
        {32, "noSuchObject"},
        {33, "aliasProblem"},
        {34, "invalidDNSyntax"},
        {36, "aliasDereferencingProblem"},
        {48, "inappropriateAuthentication"},
        {49, "invalidCredentials"},
        {50, "insufficientAccessRights"},
        {51, "busy"},
        {52, "unavailable"},
        {53, "unwillingToPerform"},
        {54, "loopDetect"},
        {64, "namingViolation"},
        {65, "objectClassViolation"},
        {66, "notAllowedOnNonLeaf"},
        {67, "notAllowedOnRDN"},
        {68, "entryAlreadyExists"},
        {69, "objectClassModsProhibited"},
        {71, "affectsMultipleDSAs"},
        {80, "other"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == code)
            return names[i].name;
    return "";
}

/* LDAP responses that carry an LDAPResult (RFC 4511 4.2 to 4.12). */
static const char *ldap_response_name(uint8_t tag)
{
    switch (tag) {
    case 0x61: return "bindResponse";
    case 0x65: return "searchResDone";
    case 0x67: return "modifyResponse";
    case 0x69: return "addResponse";
    case 0x6b: return "delResponse";
    case 0x6d: return "modDNResponse";
    case 0x6f: return "compareResponse";
    case 0x78: return "extendedResponse";
    default: return NULL;
    }
}

static const char *mqtt_return_name(uint8_t level, uint32_t code)
{
    if (level < 5) { /* MQTT 3.1 and 3.1.1 (3.2.2.3) */
        static const char *const names[] = {
            "accepted",           "unacceptable protocol version", "identifier rejected",
            "server unavailable", "bad user name or password",     "not authorised",
        };
        return code < sizeof(names) / sizeof(names[0]) ? names[code] : "";
    }
    static const struct { /* MQTT 5 (3.2.2.2) */
        uint8_t code;
        const char *name;
    } names[] = {
        {0, "Success"},
        {128, "Unspecified error"},
        {129, "Malformed Packet"},
        {130, "Protocol Error"},
        {131, "Implementation specific error"},
        {132, "Unsupported Protocol Version"},
        {133, "Client Identifier not valid"},
        {134, "Bad User Name or Password"},
        {135, "Not authorized"},
        {136, "Server unavailable"},
        {137, "Server busy"},
        {138, "Banned"},
        {140, "Bad authentication method"},
        {144, "Topic Name invalid"},
        {149, "Packet too large"},
        {151, "Quota exceeded"},
        {153, "Payload format invalid"},
        {154, "Retain not supported"},
        {155, "QoS not supported"},
        {156, "Use another server"},
        {157, "Server moved"},
        {159, "Connection rate exceeded"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == code)
            return names[i].name;
    return "";
}

/* "<prefix> <code> <name>" into an answer. */
static mtls_app_step_t coded_answer(const char *prefix, uint32_t code, const char *name,
                                    bool refused, mtls_app_answer_t *answer)
{
    mtls_app_text_t text;
    char number[16];
    snprintf(number, sizeof(number), " %u", (unsigned)code);
    mtls_app_text_clear(&text);
    mtls_app_text_add(&text, prefix);
    mtls_app_text_add(&text, number);
    if (*name) {
        mtls_app_text_add(&text, " ");
        mtls_app_text_add(&text, name);
    }
    answer->has_status = true;
    answer->status = code;
    answer->refused = refused;
    mtls_app_text_finish(&text, answer->reply);
    return MTLS_APP_DECISIVE;
}

/* LDAP */

/* A BER tag and definite length at *at in the kept bytes. */
static bool ber_header(const mtls_app_binary_state_t *state, size_t *at, uint8_t *tag,
                       uint32_t *length)
{
    const uint8_t *h = state->head;
    size_t n = state->kept;
    if (*at + 2 > n)
        return false;
    *tag = h[*at];
    uint8_t first = h[*at + 1];
    *at += 2;
    if (!(first & 0x80)) {
        *length = first;
        return true;
    }
    size_t bytes = first & 0x7fu;
    if (bytes == 0 || bytes > 4 || *at + bytes > n)
        return false;
    *length = 0;
    for (size_t i = 0; i < bytes; i++)
        *length = *length << 8 | h[(*at)++];
    return true;
}

static mtls_app_step_t ldap_message(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    const mtls_app_binary_state_t *state = &reader->state.binary;
    const uint8_t *h = state->head;
    size_t at = state->header_length;
    uint8_t tag;
    uint32_t length;
    /* messageID INTEGER */
    if (!ber_header(state, &at, &tag, &length) || tag != 0x02 || length < 1 || length > 4 ||
        at + length > state->kept)
        return MTLS_APP_GIVE_UP;
    uint32_t id = 0;
    for (uint32_t i = 0; i < length; i++)
        id = id << 8 | h[at++];
    /* protocolOp */
    uint8_t op;
    if (!ber_header(state, &at, &op, &length))
        return MTLS_APP_GIVE_UP;
    const char *name = ldap_response_name(op);
    if (!name) {
        /* searchResEntry, searchResRef, intermediateResponse carry no result */
        return (op == 0x64 || op == 0x73 || op == 0x79) ? MTLS_APP_MORE : MTLS_APP_GIVE_UP;
    }
    /* LDAPResult: resultCode ENUMERATED */
    if (!ber_header(state, &at, &tag, &length) || tag != 0x0a || length < 1 || length > 4 ||
        at + length > state->kept)
        return MTLS_APP_GIVE_UP;
    uint32_t code = 0;
    for (uint32_t i = 0; i < length; i++)
        code = code << 8 | h[at++];
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "LDAP %s", name);
    if (op == 0x61 && code != 14)
        return coded_answer(prefix, code, ldap_result_name(code), code != 0, answer);
    if (op == 0x78 && id == 0) /* Notice of Disconnection (RFC 4511 4.4.1) */
        return coded_answer(prefix, code, ldap_result_name(code), true, answer);
    mtls_app_answer_t first;
    memset(&first, 0, sizeof(first));
    coded_answer(prefix, code, ldap_result_name(code), false, &first);
    mtls_app_note_first(reader, &first);
    return MTLS_APP_MORE;
}

/* MySQL */

/* An ERR packet's payload byte at `offset` (0 is the 0xff): the code (1, 2),
 * "#" and the SQL state (3..8), then the message (RFC-less: MySQL's
 * ERR_Packet with CLIENT_PROTOCOL_41). */
static void mysql_error_byte(mtls_app_binary_state_t *state, uint32_t offset, uint8_t byte)
{
    if (offset == 3 && byte == '#') {
        state->field = '#';
        return;
    }
    if (state->field == '#' && offset >= 4 && offset <= 8) {
        state->code[state->code_length++] = (char)byte;
        return;
    }
    if (offset >= 3)
        mtls_app_text_add_bytes(&state->message, &byte, 1);
}

static mtls_app_step_t mysql_message(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    mtls_app_binary_state_t *state = &reader->state.binary;
    uint32_t payload = state->total - 4;
    uint8_t kind = state->head[4];
    if (kind == 0x00 && payload >= 7) {
        answer->has_status = true;
        answer->status = 0;
        answer->refused = false;
        snprintf(answer->reply, sizeof(answer->reply), "MySQL OK");
        return MTLS_APP_DECISIVE;
    }
    if (kind == 0xff && payload >= 3) {
        uint32_t code = state->head[5] | (uint32_t)state->head[6] << 8;
        mtls_app_text_t text;
        char number[48];
        if (state->code_length == 5)
            snprintf(number, sizeof(number), "MySQL ERROR %u (%.5s)", (unsigned)code, state->code);
        else
            snprintf(number, sizeof(number), "MySQL ERROR %u", (unsigned)code);
        mtls_app_text_clear(&text);
        mtls_app_text_add(&text, number);
        if (state->message.length) {
            mtls_app_text_add(&text, " ");
            mtls_app_text_add(&text, state->message.text);
        }
        if (state->message.cut)
            text.cut = true;
        answer->has_status = true;
        answer->status = code;
        answer->refused = true;
        mtls_app_text_finish(&text, answer->reply);
        return MTLS_APP_DECISIVE;
    }
    if (kind == 0xfe || kind == 0x01)
        return MTLS_APP_MORE; /* AuthSwitchRequest, AuthMoreData */
    return MTLS_APP_GIVE_UP;
}

/* PostgreSQL */

/* An ErrorResponse's payload byte: fields of a type byte and a NUL-terminated
 * string, then a NUL (protocol 3, "Error and Notice Message Fields"). */
#define PG_FIELDS_ENDED 0xff
#define PG_MALFORMED    0xfe
static void pgsql_error_byte(mtls_app_binary_state_t *state, uint8_t byte)
{
    if (state->field == PG_FIELDS_ENDED || state->field == PG_MALFORMED) {
        state->field = PG_MALFORMED; /* bytes after the terminator */
        return;
    }
    if (state->field == 0) {
        state->field = byte ? byte : PG_FIELDS_ENDED;
        if (byte == 'V') {
            state->verbatim_severity = true;
            state->severity_length = 0;
        }
        return;
    }
    if (byte == 0) {
        state->field = 0;
        return;
    }
    switch (state->field) {
    case 'S':
        if (state->verbatim_severity)
            break;
        /* fall through */
    case 'V':
        if (state->severity_length < sizeof(state->severity) - 1)
            state->severity[state->severity_length++] = (char)byte;
        state->severity[state->severity_length] = '\0';
        break;
    case 'C':
        if (state->code_length < sizeof(state->code) - 1)
            state->code[state->code_length++] = (char)byte;
        state->code[state->code_length] = '\0';
        break;
    case 'M': mtls_app_text_add_bytes(&state->message, &byte, 1); break;
    default: break;
    }
}

static mtls_app_step_t pgsql_message(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    mtls_app_binary_state_t *state = &reader->state.binary;
    const uint8_t *h = state->head;
    switch (h[0]) {
    case 'R': { /* Authentication*: int32 code */
        if (state->total < 9)
            return MTLS_APP_GIVE_UP;
        uint32_t code = (uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8];
        if (code != 0)
            return MTLS_APP_MORE; /* password, SASL...: a step, not the answer */
        if (state->total != 9)
            return MTLS_APP_GIVE_UP;
        answer->has_status = false;
        answer->refused = false;
        snprintf(answer->reply, sizeof(answer->reply), "PostgreSQL AuthenticationOk");
        return MTLS_APP_DECISIVE;
    }
    case 'Z':
        answer->has_status = false;
        answer->refused = false;
        snprintf(answer->reply, sizeof(answer->reply), "PostgreSQL ReadyForQuery");
        return MTLS_APP_DECISIVE;
    case 'E': {
        if (state->field != PG_FIELDS_ENDED)
            return MTLS_APP_GIVE_UP;
        mtls_app_text_t text;
        mtls_app_text_clear(&text);
        mtls_app_text_add(&text, "PostgreSQL");
        if (state->severity_length) {
            mtls_app_text_add(&text, " ");
            mtls_app_text_add(&text, state->severity);
        }
        if (state->code_length) {
            mtls_app_text_add(&text, " ");
            mtls_app_text_add(&text, state->code);
        }
        if (state->message.length) {
            mtls_app_text_add(&text, " ");
            mtls_app_text_add(&text, state->message.text);
        }
        if (state->message.cut)
            text.cut = true;
        answer->has_status = false;
        answer->refused = true;
        mtls_app_text_finish(&text, answer->reply);
        return MTLS_APP_DECISIVE;
    }
    case 'N': /* NoticeResponse */
    case 'v': /* NegotiateProtocolVersion */
    case 'S': /* ParameterStatus */
    case 'K': /* BackendKeyData */ return MTLS_APP_MORE;
    default: return MTLS_APP_GIVE_UP;
    }
}

/* MQTT */

static mtls_app_step_t mqtt_message(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    const mtls_app_binary_state_t *state = &reader->state.binary;
    const uint8_t *h = state->head;
    uint32_t remaining = state->total - state->header_length;
    if (h[0] == 0xf0 && state->level == 5)
        return MTLS_APP_MORE; /* AUTH: enhanced authentication goes on */
    if (h[0] != 0x20 || remaining < 2 || (state->level < 5 && remaining != 2))
        return MTLS_APP_GIVE_UP;
    uint8_t flags = h[state->header_length], code = h[state->header_length + 1];
    if (flags & 0xfe)
        return MTLS_APP_GIVE_UP; /* reserved bits of the acknowledge flags */
    return coded_answer("MQTT CONNACK", code, mqtt_return_name(state->level, code), code != 0,
                        answer);
}

static mtls_app_step_t on_message(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    switch (reader->protocol) {
    case MTLS_APP_LDAP: return ldap_message(reader, answer);
    case MTLS_APP_MYSQL: return mysql_message(reader, answer);
    case MTLS_APP_PGSQL: return pgsql_message(reader, answer);
    default: return mqtt_message(reader, answer);
    }
}

/* The payload bytes that are read as text as they come. */
static void payload_byte(mtls_app_reader_t *reader, uint8_t byte)
{
    mtls_app_binary_state_t *state = &reader->state.binary;
    uint32_t offset = state->read - state->header_length; /* in the payload */
    if (reader->protocol == MTLS_APP_MYSQL && state->head[4] == 0xff)
        mysql_error_byte(state, offset, byte);
    else if (reader->protocol == MTLS_APP_PGSQL && state->head[0] == 'E')
        pgsql_error_byte(state, byte);
}

static bool reads_text(const mtls_app_reader_t *reader)
{
    const mtls_app_binary_state_t *state = &reader->state.binary;
    return (reader->protocol == MTLS_APP_MYSQL && state->head[4] == 0xff) ||
           (reader->protocol == MTLS_APP_PGSQL && state->head[0] == 'E');
}

mtls_app_step_t mtls_app_binary_feed(mtls_app_reader_t *reader, bool from_server,
                                     const uint8_t *data, size_t length, mtls_app_answer_t *answer)
{
    if (!from_server)
        return MTLS_APP_MORE; /* the client's requests say nothing of the answer */
    mtls_app_binary_state_t *state = &reader->state.binary;
    size_t at = 0;
    while (at < length) {
        if (state->total == 0) {
            /* The message's header, one byte at a time. */
            state->head[state->kept++] = data[at++];
            state->read++;
            header_t header = message_length((mtls_app_protocol_t)reader->protocol, state);
            if (header == HEADER_BAD)
                return MTLS_APP_GIVE_UP;
            if (header == HEADER_MORE)
                continue;
        } else {
            size_t left = state->total - state->read;
            size_t count = length - at < left ? length - at : left;
            /* The first bytes are kept; the text ones read as they come. */
            for (size_t i = 0; i < count; i++) {
                uint8_t byte = data[at + i];
                if (state->kept < MTLS_APP_HEAD_MAX)
                    state->head[state->kept++] = byte;
                if (reads_text(reader))
                    payload_byte(reader, byte);
                else if (state->kept >= MTLS_APP_HEAD_MAX) {
                    state->read += (uint32_t)(count - i);
                    break;
                }
                state->read++;
            }
            at += count;
        }
        if (state->read == state->total) {
            mtls_app_step_t step = on_message(reader, answer);
            if (step != MTLS_APP_MORE)
                return step;
            next_message(state);
        }
    }
    return MTLS_APP_MORE;
}
