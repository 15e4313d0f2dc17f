/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The text-line protocols of the application-answer reader: SMTP (RFC 5321,
 * RFC 4954 AUTH, RFC 3030 BDAT), IMAP (RFC 9051) and POP3 (RFC 1939, RFC 5034
 * AUTH). Both directions are cut into lines (LF, a CR before it dropped); of a
 * line only its first 160 and last 16 bytes are kept, so a long line is cut but
 * still read for its code. The client's lines say which command each server
 * reply answers: SMTP and POP3 answer in order (a queue of up to 16 commands,
 * pipelining included), IMAP by tag.
 *
 * Decisive answers, and whether they refused the client:
 *
 *   SMTP: any 4xx or 5xx reply (to a command, or unprompted, the greeting
 *     included): refused. A 2xx reply to RCPT or BDAT, 235 to AUTH, or 354 to
 *     DATA: accepted. Other replies (220 greeting, 250 to EHLO or MAIL, 334 AUTH
 *     challenges) are not decisive. A multi-line reply ("250-...") is one reply,
 *     ended by its "code SP" line; its text is its first line.
 *   IMAP: the tagged OK (accepted) or NO/BAD (refused) that answers LOGIN or
 *     AUTHENTICATE; an untagged BYE the client did not ask for with LOGOUT:
 *     refused. The greeting and other answers are not decisive.
 *   POP3: -ERR to USER, PASS, APOP or AUTH: refused; +OK to PASS, APOP or AUTH:
 *     accepted (+OK to USER is not decisive: PASS follows). Multi-line answers
 *     (CAPA, LIST, UIDL, RETR, TOP, AUTH without mechanism) are skipped to ".".
 *
 * Lines that do not fit the protocol (an SMTP reply without its 3 digits, a
 * multi-line reply whose code changes, an IMAP answer without OK/NO/BAD, a POP3
 * answer without +OK/-ERR) make the reader give up. IMAP literals ({n}, {n+})
 * are passed over by counting, in both directions, and so are SMTP BDAT chunks.
 */
#include "mtls_app_internal.h"

#include <string.h>

enum { CLIENT = 0, SERVER = 1 };

/* What the client's lines are. */
enum {
    CLIENT_COMMANDS, /* commands */
    CLIENT_SASL,     /* the response to an AUTH challenge (IMAP: until the tagged answer) */
    CLIENT_BODY,     /* SMTP: the message after 354, up to "." */
};

/* What the server's lines are. */
enum {
    SERVER_REPLIES, /* replies */
    SERVER_MORE,    /* SMTP: the next line of a multi-line reply */
    SERVER_LISTING, /* POP3: the lines of a multi-line answer, up to "." */
};

/* The commands whose answers matter (SMTP and POP3 share the queue). */
enum {
    COMMAND_OTHER,
    COMMAND_RCPT,
    COMMAND_DATA,
    COMMAND_DATA_END, /* SMTP: the "." that ends the message */
    COMMAND_BDAT,
    COMMAND_AUTH,
    COMMAND_USER,
    COMMAND_PASS,
    COMMAND_APOP,
    COMMAND_QUIT,
    COMMAND_MULTILINE = 0x80, /* POP3: a +OK answer is followed by lines up to "." */
};

void mtls_app_text_init(mtls_app_reader_t *reader)
{
    memset(&reader->state.text, 0, sizeof(reader->state.text));
}

/* Lines */

static void line_add(mtls_app_line_t *line, uint8_t byte)
{
    if (line->length == UINT32_MAX)
        return;
    if (line->length < MTLS_APP_LINE_HEAD)
        line->head[line->length] = byte;
    if (line->length < MTLS_APP_LINE_TAIL) {
        line->tail[line->length] = byte;
    } else {
        memmove(line->tail, line->tail + 1, MTLS_APP_LINE_TAIL - 1);
        line->tail[MTLS_APP_LINE_TAIL - 1] = byte;
    }
    line->length++;
}

static size_t line_kept(const mtls_app_line_t *line)
{
    return line->length < MTLS_APP_LINE_HEAD ? line->length : MTLS_APP_LINE_HEAD;
}

/* The IMAP literal announced at the line's end ("{12}", "{12+}"), or -1. */
static int64_t line_literal(const mtls_app_line_t *line)
{
    size_t n = line->length < MTLS_APP_LINE_TAIL ? line->length : MTLS_APP_LINE_TAIL;
    const uint8_t *tail = line->tail;
    if (n < 3 || tail[n - 1] != '}')
        return -1;
    size_t end = n - 1;
    if (tail[end - 1] == '+')
        end--;
    size_t start = end;
    while (start > 0 && tail[start - 1] >= '0' && tail[start - 1] <= '9')
        start--;
    if (start == end || start == 0 || tail[start - 1] != '{' || end - start > 9)
        return -1;
    int64_t value = 0;
    for (size_t i = start; i < end; i++)
        value = value * 10 + (tail[i] - '0');
    return value;
}

/* The first word from `from` up to SP or the end of what is kept. */
static size_t word_end(const mtls_app_line_t *line, size_t from)
{
    size_t kept = line_kept(line);
    while (from < kept && line->head[from] != ' ')
        from++;
    return from;
}

static bool word_is(const mtls_app_line_t *line, size_t start, size_t end, const char *word)
{
    size_t n = strlen(word);
    if (end - start != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t a = line->head[start + i], b = (uint8_t)word[i];
        if ((a >= 'a' && a <= 'z' ? a - 32 : a) != b)
            return false;
    }
    return true;
}

/* "PREFIX " + the line from `from`, cut when the line was. */
static void line_text(const mtls_app_line_t *line, size_t from, const char *prefix,
                      mtls_app_text_t *text)
{
    mtls_app_text_clear(text);
    mtls_app_text_add(text, prefix);
    size_t kept = line_kept(line);
    if (from < kept)
        mtls_app_text_add_bytes(text, line->head + from, kept - from);
    if (line->length > MTLS_APP_LINE_HEAD)
        text->cut = true;
}

static mtls_app_step_t decide(mtls_app_reader_t *reader, const mtls_app_text_t *text,
                              bool has_status, uint32_t status, bool refused,
                              mtls_app_answer_t *answer)
{
    (void)reader;
    answer->has_status = has_status;
    answer->status = status;
    answer->refused = refused;
    mtls_app_text_finish(text, answer->reply);
    return MTLS_APP_DECISIVE;
}

static void note(mtls_app_reader_t *reader, const mtls_app_text_t *text, bool has_status,
                 uint32_t status)
{
    mtls_app_answer_t answer;
    memset(&answer, 0, sizeof(answer));
    answer.has_status = has_status;
    answer.status = status;
    mtls_app_text_finish(text, answer.reply);
    mtls_app_note_first(reader, &answer);
}

/* The queue of commands awaiting their answers. */
static bool push_command(mtls_app_text_state_t *state, uint8_t command)
{
    if (state->pending_count == MTLS_APP_PENDING_MAX)
        return false;
    state->pending[state->pending_count++] = command;
    return true;
}

static uint8_t pop_command(mtls_app_text_state_t *state)
{
    if (state->pending_count == 0)
        return COMMAND_OTHER; /* the greeting, or unprompted */
    uint8_t command = state->pending[0];
    memmove(state->pending, state->pending + 1, --state->pending_count);
    return command;
}

/* SMTP */

static mtls_app_step_t smtp_client_line(mtls_app_reader_t *reader)
{
    mtls_app_text_state_t *state = &reader->state.text;
    const mtls_app_line_t *line = &state->line[CLIENT];
    if (state->client_mode == CLIENT_SASL) {
        state->client_mode = CLIENT_COMMANDS; /* one response per challenge */
        return MTLS_APP_MORE;
    }
    if (state->client_mode == CLIENT_BODY) {
        if (line->length == 1 && line->head[0] == '.') {
            state->client_mode = CLIENT_COMMANDS;
            return push_command(state, COMMAND_DATA_END) ? MTLS_APP_MORE : MTLS_APP_GIVE_UP;
        }
        return MTLS_APP_MORE;
    }
    size_t end = word_end(line, 0);
    uint8_t command = COMMAND_OTHER;
    if (word_is(line, 0, end, "RCPT"))
        command = COMMAND_RCPT;
    else if (word_is(line, 0, end, "DATA"))
        command = COMMAND_DATA;
    else if (word_is(line, 0, end, "AUTH"))
        command = COMMAND_AUTH;
    else if (word_is(line, 0, end, "QUIT"))
        command = COMMAND_QUIT;
    else if (word_is(line, 0, end, "BDAT")) {
        /* BDAT <size> [LAST]: the chunk's bytes follow the line (RFC 3030). */
        command = COMMAND_BDAT;
        size_t at = end + 1, size_end = word_end(line, at);
        uint64_t size = 0;
        if (at >= size_end || size_end - at > 10)
            return MTLS_APP_GIVE_UP;
        for (size_t i = at; i < size_end; i++) {
            if (line->head[i] < '0' || line->head[i] > '9')
                return MTLS_APP_GIVE_UP;
            size = size * 10 + (line->head[i] - '0');
        }
        if (size > UINT32_MAX)
            return MTLS_APP_GIVE_UP;
        state->literal_left[CLIENT] = (uint32_t)size;
    }
    if (command == COMMAND_QUIT)
        state->logout_sent = true;
    return push_command(state, command) ? MTLS_APP_MORE : MTLS_APP_GIVE_UP;
}

static mtls_app_step_t smtp_server_line(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    mtls_app_text_state_t *state = &reader->state.text;
    const mtls_app_line_t *line = &state->line[SERVER];
    const uint8_t *b = line->head;
    /* "ddd", "ddd text", "ddd-text" (RFC 5321 4.2) */
    if (line->length < 3 || b[0] < '2' || b[0] > '5' || b[1] < '0' || b[1] > '9' || b[2] < '0' ||
        b[2] > '9')
        return MTLS_APP_GIVE_UP;
    uint16_t code = (uint16_t)((b[0] - '0') * 100 + (b[1] - '0') * 10 + (b[2] - '0'));
    uint8_t separator = line->length > 3 ? b[3] : ' ';
    if (separator != ' ' && separator != '-')
        return MTLS_APP_GIVE_UP;
    if (state->server_mode == SERVER_MORE) {
        if (code != state->reply_code)
            return MTLS_APP_GIVE_UP;
    } else {
        state->reply_code = code;
        line_text(line, 0, "SMTP ", &state->reply);
    }
    if (separator == '-') {
        state->server_mode = SERVER_MORE;
        return MTLS_APP_MORE;
    }
    state->server_mode = SERVER_REPLIES;
    uint8_t command = state->pending_count ? state->pending[0] : COMMAND_OTHER;
    if (code == 334 && command == COMMAND_AUTH) {
        state->client_mode = CLIENT_SASL; /* a challenge: AUTH is still waiting */
        return MTLS_APP_MORE;
    }
    pop_command(state);
    if (code >= 400)
        return decide(reader, &state->reply, true, code, true, answer);
    if (code == 354 && command == COMMAND_DATA)
        state->client_mode = CLIENT_BODY;
    bool accepted = (code < 300 && (command == COMMAND_RCPT || command == COMMAND_BDAT ||
                                    command == COMMAND_AUTH)) ||
                    (code == 354 && command == COMMAND_DATA);
    if (accepted)
        return decide(reader, &state->reply, true, code, false, answer);
    note(reader, &state->reply, true, code);
    return MTLS_APP_MORE;
}

/* IMAP */

static mtls_app_step_t imap_client_line(mtls_app_reader_t *reader)
{
    mtls_app_text_state_t *state = &reader->state.text;
    const mtls_app_line_t *line = &state->line[CLIENT];
    if (state->client_mode == CLIENT_SASL)
        return MTLS_APP_MORE; /* AUTHENTICATE's responses, until its tagged answer */
    size_t tag_end = word_end(line, 0);
    if (tag_end >= line_kept(line))
        return MTLS_APP_MORE; /* "DONE" after IDLE, or nothing to read */
    size_t command_end = word_end(line, tag_end + 1);
    bool login = word_is(line, tag_end + 1, command_end, "LOGIN");
    bool authenticate = word_is(line, tag_end + 1, command_end, "AUTHENTICATE");
    if (word_is(line, tag_end + 1, command_end, "LOGOUT"))
        state->logout_sent = true;
    if (!login && !authenticate)
        return MTLS_APP_MORE;
    if (tag_end == 0 || tag_end > MTLS_APP_TAG_MAX)
        return MTLS_APP_GIVE_UP;
    memcpy(state->login_tag, line->head, tag_end);
    state->login_tag_length = (uint8_t)tag_end;
    state->login_pending = true;
    if (authenticate)
        state->client_mode = CLIENT_SASL;
    return MTLS_APP_MORE;
}

static mtls_app_step_t imap_server_line(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    mtls_app_text_state_t *state = &reader->state.text;
    const mtls_app_line_t *line = &state->line[SERVER];
    if (line->length >= 1 && line->head[0] == '+')
        return MTLS_APP_MORE; /* a continuation request */
    size_t tag_end = word_end(line, 0);
    if (tag_end == 0 || tag_end >= line_kept(line))
        return MTLS_APP_GIVE_UP;
    size_t status_end = word_end(line, tag_end + 1);
    bool ok = word_is(line, tag_end + 1, status_end, "OK");
    bool no = word_is(line, tag_end + 1, status_end, "NO");
    bool bad = word_is(line, tag_end + 1, status_end, "BAD");
    mtls_app_text_t text;
    line_text(line, tag_end + 1, "IMAP ", &text);
    if (tag_end == 1 && line->head[0] == '*') {
        if (word_is(line, tag_end + 1, status_end, "BYE")) {
            if (!state->logout_sent)
                return decide(reader, &text, false, 0, true, answer);
            note(reader, &text, false, 0);
        } else if (ok || no || bad || word_is(line, tag_end + 1, status_end, "PREAUTH")) {
            note(reader, &text, false, 0);
        }
        return MTLS_APP_MORE; /* untagged data: CAPABILITY, FLAGS, EXISTS... */
    }
    if (!ok && !no && !bad)
        return MTLS_APP_GIVE_UP;
    if (state->login_pending && tag_end == state->login_tag_length &&
        memcmp(line->head, state->login_tag, tag_end) == 0) {
        state->login_pending = false;
        state->client_mode = CLIENT_COMMANDS;
        return decide(reader, &text, false, 0, !ok, answer);
    }
    note(reader, &text, false, 0);
    return MTLS_APP_MORE;
}

/* POP3 */

static mtls_app_step_t pop3_client_line(mtls_app_reader_t *reader)
{
    mtls_app_text_state_t *state = &reader->state.text;
    const mtls_app_line_t *line = &state->line[CLIENT];
    if (state->client_mode == CLIENT_SASL) {
        state->client_mode = CLIENT_COMMANDS;
        return MTLS_APP_MORE;
    }
    size_t end = word_end(line, 0);
    bool has_argument = end < line_kept(line);
    uint8_t command = COMMAND_OTHER;
    if (word_is(line, 0, end, "USER"))
        command = COMMAND_USER;
    else if (word_is(line, 0, end, "PASS"))
        command = COMMAND_PASS;
    else if (word_is(line, 0, end, "APOP"))
        command = COMMAND_APOP;
    else if (word_is(line, 0, end, "AUTH"))
        command = has_argument ? COMMAND_AUTH : (COMMAND_AUTH | COMMAND_MULTILINE);
    else if (word_is(line, 0, end, "QUIT"))
        command = COMMAND_QUIT;
    else if (word_is(line, 0, end, "CAPA") || word_is(line, 0, end, "RETR") ||
             word_is(line, 0, end, "TOP"))
        command = COMMAND_OTHER | COMMAND_MULTILINE;
    else if ((word_is(line, 0, end, "LIST") || word_is(line, 0, end, "UIDL")) && !has_argument)
        command = COMMAND_OTHER | COMMAND_MULTILINE;
    return push_command(state, command) ? MTLS_APP_MORE : MTLS_APP_GIVE_UP;
}

static mtls_app_step_t pop3_server_line(mtls_app_reader_t *reader, mtls_app_answer_t *answer)
{
    mtls_app_text_state_t *state = &reader->state.text;
    const mtls_app_line_t *line = &state->line[SERVER];
    if (state->server_mode == SERVER_LISTING) {
        if (line->length == 1 && line->head[0] == '.')
            state->server_mode = SERVER_REPLIES;
        return MTLS_APP_MORE;
    }
    size_t end = word_end(line, 0);
    bool ok = word_is(line, 0, end, "+OK"), error = word_is(line, 0, end, "-ERR");
    uint8_t command = state->pending_count ? state->pending[0] : COMMAND_OTHER;
    if (!ok && !error) {
        /* "+ challenge": AUTH's SASL exchange (RFC 5034 4) */
        if (line->length >= 1 && line->head[0] == '+' &&
            (line->length == 1 || line->head[1] == ' ') &&
            (command & ~COMMAND_MULTILINE) == COMMAND_AUTH) {
            state->client_mode = CLIENT_SASL;
            return MTLS_APP_MORE;
        }
        return MTLS_APP_GIVE_UP;
    }
    pop_command(state);
    bool multiline = command & COMMAND_MULTILINE;
    command &= (uint8_t)~COMMAND_MULTILINE;
    mtls_app_text_t text;
    line_text(line, 0, "POP3 ", &text);
    if (error && (command == COMMAND_USER || command == COMMAND_PASS || command == COMMAND_APOP ||
                  command == COMMAND_AUTH))
        return decide(reader, &text, false, 0, true, answer);
    if (ok && (command == COMMAND_PASS || command == COMMAND_APOP ||
               (command == COMMAND_AUTH && !multiline)))
        return decide(reader, &text, false, 0, false, answer);
    if (ok && multiline)
        state->server_mode = SERVER_LISTING;
    note(reader, &text, false, 0);
    return MTLS_APP_MORE;
}

/* A complete line of one direction. */
static mtls_app_step_t on_line(mtls_app_reader_t *reader, int side, mtls_app_answer_t *answer)
{
    mtls_app_text_state_t *state = &reader->state.text;
    mtls_app_line_t *line = &state->line[side];
    mtls_app_step_t step = MTLS_APP_MORE;
    bool imap = reader->protocol == MTLS_APP_IMAP;
    /* An IMAP line that follows a literal continues the same command or answer. */
    if (!(imap && state->continued[side])) {
        switch (reader->protocol) {
        case MTLS_APP_SMTP:
            step = side == SERVER ? smtp_server_line(reader, answer) : smtp_client_line(reader);
            break;
        case MTLS_APP_IMAP:
            step = side == SERVER ? imap_server_line(reader, answer) : imap_client_line(reader);
            break;
        default:
            step = side == SERVER ? pop3_server_line(reader, answer) : pop3_client_line(reader);
            break;
        }
    }
    if (imap) {
        int64_t literal = line_literal(line);
        state->continued[side] = literal >= 0;
        if (literal > UINT32_MAX)
            step = MTLS_APP_GIVE_UP;
        else if (literal > 0)
            state->literal_left[side] = (uint32_t)literal;
    }
    line->length = 0;
    line->cr = false;
    return step;
}

mtls_app_step_t mtls_app_text_feed(mtls_app_reader_t *reader, bool from_server, const uint8_t *data,
                                   size_t length, mtls_app_answer_t *answer)
{
    mtls_app_text_state_t *state = &reader->state.text;
    int side = from_server ? SERVER : CLIENT;
    mtls_app_line_t *line = &state->line[side];
    size_t at = 0;
    while (at < length) {
        if (state->literal_left[side]) {
            size_t skip =
                length - at < state->literal_left[side] ? length - at : state->literal_left[side];
            state->literal_left[side] -= (uint32_t)skip;
            at += skip;
            continue;
        }
        uint8_t byte = data[at++];
        if (byte == '\n') {
            mtls_app_step_t step = on_line(reader, side, answer);
            if (step != MTLS_APP_MORE)
                return step;
            continue;
        }
        if (line->cr)
            line_add(line, '\r'); /* a CR inside a line */
        line->cr = byte == '\r';
        if (!line->cr)
            line_add(line, byte);
    }
    return MTLS_APP_MORE;
}
