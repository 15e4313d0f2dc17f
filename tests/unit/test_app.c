/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of plugin/app/mtls_app.c: what the application said after TLS,
 * read from the decrypted bytes of both directions. Every transcript is written
 * byte for byte from the protocol's RFC or documentation (the server texts are
 * the ones the servers of issue 12 send), and is fed turn by turn, one byte
 * per call, and in random chunks; each way must give the same answer, once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_app.h"
#include "unit_bytes.h"
#include "unit_check.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* One direction's bytes, as one TLS record would carry them. */
typedef struct {
    bool from_server;
    const uint8_t *bytes;
    size_t length;
} turn_t;

#define C(text)                                                                                    \
    {                                                                                              \
        false, (const uint8_t *)(text), sizeof(text) - 1                                           \
    }
#define S(text)                                                                                    \
    {                                                                                              \
        true, (const uint8_t *)(text), sizeof(text) - 1                                            \
    }
#define CB(b)                                                                                      \
    {                                                                                              \
        false, (b)->bytes, (b)->length                                                             \
    }
#define SB(b)                                                                                      \
    {                                                                                              \
        true, (b)->bytes, (b)->length                                                              \
    }

/* What a transcript must give. */
typedef struct {
    mtls_app_protocol_t protocol;
    const char *reply; /* the decisive answer's text; NULL: none */
    bool has_status;
    uint32_t status;
    bool refused;
    bool waiting;      /* no decisive answer: the reader still wants data at the end */
    const char *first; /* no decisive answer: the first answer's text (NULL: none) */
} expect_t;

static expect_t refused(mtls_app_protocol_t protocol, const char *reply, bool has_status,
                        uint32_t status)
{
    return (expect_t){protocol, reply, has_status, status, true, false, NULL};
}

static expect_t accepted(mtls_app_protocol_t protocol, const char *reply, bool has_status,
                         uint32_t status)
{
    return (expect_t){protocol, reply, has_status, status, false, false, NULL};
}

static expect_t undecided(bool waiting, const char *first)
{
    return (expect_t){MTLS_APP_UNKNOWN, NULL, false, 0, false, waiting, first};
}

typedef struct {
    int decisive_count;
    mtls_app_answer_t answer;
    bool wants_data;
    bool has_first;
    mtls_app_answer_t first;
} outcome_t;

enum { FEED_TURNS, FEED_BYTES, FEED_RANDOM };

static outcome_t run(const turn_t *turns, size_t count, uint16_t port, int feeding, uint32_t seed)
{
    outcome_t outcome;
    memset(&outcome, 0, sizeof(outcome));
    mtls_app_reader_t *reader = mtls_app_reader_new(port);
    if (!reader)
        abort();
    uint32_t random = seed * 2654435761u + 7;
    for (size_t t = 0; t < count; t++) {
        size_t at = 0;
        while (at < turns[t].length) {
            size_t chunk = turns[t].length - at;
            if (feeding == FEED_BYTES)
                chunk = 1;
            if (feeding == FEED_RANDOM) {
                random = random * 1103515245u + 12345u;
                size_t size = 1 + (random >> 16) % 9;
                chunk = size < chunk ? size : chunk;
                /* an empty call now and then */
                if ((random >> 8) % 5 == 0)
                    mtls_app_reader_feed(reader, turns[t].from_server, NULL, 0, &outcome.answer);
            }
            mtls_app_answer_t answer;
            memset(&answer, 0x5a, sizeof(answer));
            if (mtls_app_reader_feed(reader, turns[t].from_server, turns[t].bytes + at, chunk,
                                     &answer)) {
                outcome.decisive_count++;
                outcome.answer = answer;
            }
            at += chunk;
        }
    }
    outcome.wants_data = mtls_app_reader_wants_data(reader);
    outcome.has_first = mtls_app_reader_first_answer(reader, &outcome.first);
    mtls_app_reader_free(reader);
    return outcome;
}

static bool outcome_matches(const outcome_t *o, const expect_t *e, const char *how)
{
    bool ok;
    if (e->reply) {
        ok = o->decisive_count == 1 && o->answer.protocol == e->protocol &&
             o->answer.has_status == e->has_status &&
             (!e->has_status || o->answer.status == e->status) && o->answer.refused == e->refused &&
             strcmp(o->answer.reply, e->reply) == 0 && !o->wants_data && !o->has_first;
    } else {
        ok = o->decisive_count == 0 && o->wants_data == e->waiting &&
             o->has_first == (e->first != NULL) &&
             (!e->first || (strcmp(o->first.reply, e->first) == 0 && !o->first.refused));
    }
    if (!ok)
        fprintf(stderr,
                "  fed %s: %d decisive, protocol %s, status %d/%u, refused %d, reply \"%s\"; "
                "wants data %d, first \"%s\"\n  expected %s \"%s\" status %d/%u refused %d; "
                "waiting %d first \"%s\"\n",
                how, o->decisive_count, mtls_app_protocol_name(o->answer.protocol),
                o->answer.has_status, o->answer.status, o->answer.refused,
                o->decisive_count ? o->answer.reply : "", o->wants_data,
                o->has_first ? o->first.reply : "(none)", mtls_app_protocol_name(e->protocol),
                e->reply ? e->reply : "(none)", e->has_status, e->status, e->refused, e->waiting,
                e->first ? e->first : "(none)");
    return ok;
}

/* Every way of feeding gives the expected answer. */
static bool reads_as(const turn_t *turns, size_t count, uint16_t port, expect_t expect)
{
    outcome_t o = run(turns, count, port, FEED_TURNS, 0);
    bool ok = outcome_matches(&o, &expect, "by turns");
    o = run(turns, count, port, FEED_BYTES, 0);
    ok = outcome_matches(&o, &expect, "byte by byte") && ok;
    for (uint32_t seed = 1; seed <= 12 && ok; seed++) {
        o = run(turns, count, port, FEED_RANDOM, seed);
        ok = outcome_matches(&o, &expect, "in random chunks") && ok;
    }
    return ok;
}

#define READS(turns, port, expect) CHECK(reads_as(turns, COUNT(turns), port, expect))

/* SMTP (RFC 5321; Postfix's texts) */

static void smtp_starttls_no_certificate_421(void)
{
    /* Postfix with smtpd_tls_req_ccert: after STARTTLS the client says EHLO,
     * the server refuses and closes. */
    static const turn_t turns[] = {
        C("EHLO client.example.org\r\n"),
        S("421 4.7.1 mail.example.org Error: No client certificate presented\r\n"),
    };
    READS(turns, 25,
          refused(MTLS_APP_SMTP,
                  "SMTP 421 4.7.1 mail.example.org Error: No client certificate presented", true,
                  421));
}

static void smtp_unprompted_421_before_ehlo(void)
{
    /* The same refusal sent as soon as the handshake is over, before the
     * client's EHLO: the server speaks first. */
    static const turn_t turns[] = {
        S("421 4.7.1 mail.example.org Error: Client certificate not trusted\r\n"),
        C("EHLO client.example.org\r\n"),
    };
    READS(turns, 25,
          refused(MTLS_APP_SMTP,
                  "SMTP 421 4.7.1 mail.example.org Error: Client certificate not trusted", true,
                  421));
}

static void smtp_relay_denied_at_rcpt(void)
{
    /* smtpd_tls_ask_ccert: no certificate, so no relay. */
    static const turn_t turns[] = {
        C("EHLO client.example.org\r\n"),
        S("250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
          "250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
          "250-SMTPUTF8\r\n250 CHUNKING\r\n"),
        C("MAIL FROM:<alice@client.example.org>\r\n"),
        S("250 2.1.0 Ok\r\n"),
        C("RCPT TO:<bob@elsewhere.example.net>\r\n"),
        S("554 5.7.1 <bob@elsewhere.example.net>: Relay access denied\r\n"),
        C("QUIT\r\n"),
        S("221 2.0.0 Bye\r\n"),
    };
    READS(turns, 587,
          refused(MTLS_APP_SMTP, "SMTP 554 5.7.1 <bob@elsewhere.example.net>: Relay access denied",
                  true, 554));
}

static void smtp_rcpt_accepted(void)
{
    static const turn_t turns[] = {
        C("EHLO client.example.org\r\n"),
        S("250-mail.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
        C("MAIL FROM:<alice@client.example.org>\r\n"),
        S("250 2.1.0 Ok\r\n"),
        C("RCPT TO:<bob@elsewhere.example.net>\r\n"),
        S("250 2.1.5 Ok\r\n"),
        C("DATA\r\n"),
        S("354 End data with <CR><LF>.<CR><LF>\r\n"),
    };
    READS(turns, 25, accepted(MTLS_APP_SMTP, "SMTP 250 2.1.5 Ok", true, 250));
}

static void smtp_implicit_tls_greeting_then_ehlo_is_not_decisive(void)
{
    /* Port 465: the server speaks first; EHLO's multi-line 250 is one reply. */
    static const turn_t turns[] = {
        S("220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n"),
        C("EHLO client.example.org\r\n"),
        S("250-mail.example.org\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"),
    };
    READS(turns, 465, undecided(true, "SMTP 220 mail.example.org ESMTP Postfix (Debian/GNU)"));
    /* Without the port too: only SMTP greets with three digits. */
    READS(turns, 0, undecided(true, "SMTP 220 mail.example.org ESMTP Postfix (Debian/GNU)"));
}

static void smtp_greeting_refusal(void)
{
    static const turn_t turns[] = {
        S("554 5.7.1 mail.example.org: client certificate required\r\n"),
    };
    READS(turns, 465,
          refused(MTLS_APP_SMTP, "SMTP 554 5.7.1 mail.example.org: client certificate required",
                  true, 554));
}

static void smtp_pipelined_replies_in_order(void)
{
    /* RFC 2920: MAIL, RCPT, DATA in one go; the replies come in that order. */
    static const turn_t turns[] = {
        C("EHLO c\r\n"),
        S("250-m\r\n250 PIPELINING\r\n"),
        C("MAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nDATA\r\n"),
        S("250 2.1.0 Ok\r\n554 5.7.1 <b@d>: Relay access denied\r\n"
          "554 5.5.1 Error: no valid recipients\r\n"),
    };
    READS(turns, 25,
          refused(MTLS_APP_SMTP, "SMTP 554 5.7.1 <b@d>: Relay access denied", true, 554));
}

static void smtp_auth_challenge_then_failure(void)
{
    /* RFC 4954: AUTH PLAIN, an empty challenge, the credentials, 535. */
    static const turn_t turns[] = {
        C("EHLO c\r\n"),
        S("250-m\r\n250 AUTH PLAIN\r\n"),
        C("AUTH PLAIN\r\n"),
        S("334 \r\n"),
        C("AGFsaWNlAHNlY3JldA==\r\n"),
        S("535 5.7.8 Error: authentication failed: authentication failure\r\n"),
    };
    READS(turns, 587,
          refused(MTLS_APP_SMTP,
                  "SMTP 535 5.7.8 Error: authentication failed: authentication failure", true,
                  535));
}

static void smtp_auth_success(void)
{
    static const turn_t turns[] = {
        C("EHLO c\r\n"),
        S("250 m\r\n"),
        C("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
        S("235 2.7.0 Authentication successful\r\n"),
    };
    READS(turns, 587,
          accepted(MTLS_APP_SMTP, "SMTP 235 2.7.0 Authentication successful", true, 235));
}

static void smtp_mail_and_noop_are_not_decisive(void)
{
    static const turn_t turns[] = {
        C("EHLO c\r\n"),       S("250 m\r\n"), C("MAIL FROM:<a@c>\r\n"),
        S("250 2.1.0 Ok\r\n"), C("NOOP\r\n"),  S("250 2.0.0 Ok\r\n"),
    };
    READS(turns, 25, undecided(true, "SMTP 250 m"));
}

static void smtp_overlong_line_is_cut_but_read(void)
{
    static char line[600];
    static turn_t turns[2] = {C("EHLO c\r\n")};
    memset(line, 0, sizeof(line));
    strcpy(line, "421 4.7.0 ");
    size_t at = strlen(line);
    for (; at < 500; at++)
        line[at] = (char)('a' + at % 26);
    memcpy(line + at, "\r\n", 2);
    turns[1] = (turn_t){true, (const uint8_t *)line, at + 2};
    outcome_t o = run(turns, 2, 25, FEED_TURNS, 0);
    REQUIRE(o.decisive_count == 1);
    CHECK(o.answer.status == 421 && o.answer.refused);
    CHECK(strlen(o.answer.reply) == MTLS_APP_REPLY_SIZE - 1);
    CHECK(strncmp(o.answer.reply, "SMTP 421 4.7.0 ", 15) == 0);
    CHECK(strcmp(o.answer.reply + MTLS_APP_REPLY_SIZE - 4, "...") == 0);
    CHECK(reads_as(turns, 2, 25, refused(MTLS_APP_SMTP, o.answer.reply, true, 421)));
}

static void smtp_malformed_replies_give_up(void)
{
    static const turn_t changed_code[] = {C("EHLO c\r\n"), S("250-m\r\n251 PIPELINING\r\n")};
    READS(changed_code, 25, undecided(false, NULL));
    static const turn_t no_code[] = {C("EHLO c\r\n"), S("hello there\r\n")};
    READS(no_code, 25, undecided(false, NULL));
    static const turn_t bad_separator[] = {C("EHLO c\r\n"), S("250_m\r\n")};
    READS(bad_separator, 25, undecided(false, NULL));
    /* A 421 after the garbage is never read. */
    static const turn_t then_refusal[] = {C("EHLO c\r\n"), S("xyz\r\n421 4.7.1 Bye\r\n")};
    READS(then_refusal, 25, undecided(false, NULL));
}

static void smtp_truncated_reply_waits(void)
{
    static const turn_t turns[] = {C("EHLO c\r\n"), S("421 4.7.1 mail.example.org Err")};
    READS(turns, 25, undecided(true, NULL));
    static const turn_t multi[] = {C("EHLO c\r\n"), S("250-m\r\n250-PIPELINING\r\n")};
    READS(multi, 25, undecided(true, NULL));
}

/* IMAP (RFC 9051; Dovecot's texts) */

static void imap_starttls_login_no(void)
{
    /* Dovecot with ssl_verify_client_cert and no certificate. */
    static const turn_t turns[] = {
        C("a1 CAPABILITY\r\n"),
        S("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN\r\n"
          "a1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"),
        C("a2 LOGIN alice secret\r\n"),
        S("a2 NO [ALERT] Client didn't present valid SSL certificate\r\n"),
    };
    READS(turns, 143,
          refused(MTLS_APP_IMAP, "IMAP NO [ALERT] Client didn't present valid SSL certificate",
                  false, 0));
}

static void imaps_greeting_then_login_ok(void)
{
    static const turn_t turns[] = {
        S("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
          "AUTH=PLAIN] Dovecot (Debian) ready.\r\n"),
        C("A001 LOGIN alice secret\r\n"),
        S("A001 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
    };
    READS(turns, 993,
          accepted(MTLS_APP_IMAP, "IMAP OK [CAPABILITY IMAP4rev1 IDLE] Logged in", false, 0));
    /* Cut before the login's answer: the greeting is the first answer. */
    CHECK(reads_as(turns, 2, 993,
                   undecided(true, "IMAP OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID "
                                   "ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready.")));
}

static void imaps_greeting_is_the_first_answer(void)
{
    static const turn_t turns[] = {
        S("* OK Dovecot (Debian) ready.\r\n"),
        C("A001 LOGIN alice secret\r\n"),
    };
    READS(turns, 0, undecided(true, "IMAP OK Dovecot (Debian) ready."));
}

static void imap_unprompted_bye(void)
{
    static const turn_t turns[] = {
        C("a1 CAPABILITY\r\n"),
        S("* BYE Disconnected: client certificate required\r\n"),
    };
    READS(turns, 143,
          refused(MTLS_APP_IMAP, "IMAP BYE Disconnected: client certificate required", false, 0));
    static const turn_t greeting[] = {S("* BYE Too many connections\r\n")};
    READS(greeting, 993, refused(MTLS_APP_IMAP, "IMAP BYE Too many connections", false, 0));
}

static void imap_bye_after_logout_is_not_decisive(void)
{
    static const turn_t turns[] = {
        C("a1 CAPABILITY\r\n"),
        S("* CAPABILITY IMAP4rev1\r\na1 OK done\r\n"),
        C("a2 LOGOUT\r\n"),
        S("* BYE Logging out\r\na2 OK Logout completed.\r\n"),
    };
    READS(turns, 143, undecided(true, "IMAP OK done"));
}

static void imap_authenticate_with_continuation(void)
{
    static const turn_t turns[] = {
        C("a1 AUTHENTICATE PLAIN\r\n"),
        S("+ \r\n"),
        /* a response that looks like a tagged command must not be one */
        C("a9 LOGIN x y\r\n"),
        S("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
    };
    READS(
        turns, 143,
        refused(MTLS_APP_IMAP, "IMAP NO [AUTHENTICATIONFAILED] Authentication failed.", false, 0));
}

static void imap_bad_to_login(void)
{
    static const turn_t turns[] = {
        C("x LOGIN\r\n"),
        S("x BAD Error in IMAP command LOGIN: Missing arguments\r\n"),
    };
    READS(turns, 143,
          refused(MTLS_APP_IMAP, "IMAP BAD Error in IMAP command LOGIN: Missing arguments", false,
                  0));
}

static void imap_literals_are_passed_over(void)
{
    /* LOGIN with a synchronising and a non-synchronising literal (RFC 9051 4.3,
     * RFC 7888); then a server literal whose bytes look like the tagged answer. */
    static const turn_t turns[] = {
        C("a2 LOGIN {5}\r\n"),         S("+ OK\r\n"),
        C("alice {6+}\r\nsecret\r\n"), S("* 1 FETCH (BODY[] {22}\r\na2 NO not the answer\r\n)\r\n"),
        S("a2 OK Logged in\r\n"),
    };
    READS(turns, 143, accepted(MTLS_APP_IMAP, "IMAP OK Logged in", false, 0));
}

static void imap_other_tags_are_not_decisive(void)
{
    static const turn_t turns[] = {
        C("a1 LOGIN alice secret\r\n"),
        S("b7 NO something else\r\n"),
    };
    READS(turns, 143, undecided(true, "IMAP NO something else"));
}

static void imap_malformed_answer_gives_up(void)
{
    static const turn_t turns[] = {C("a1 LOGIN alice secret\r\n"), S("a1 MAYBE later\r\n")};
    READS(turns, 143, undecided(false, NULL));
    static const turn_t empty[] = {C("a1 LOGIN alice secret\r\n"), S("\r\na1 NO x\r\n")};
    READS(empty, 143, undecided(false, NULL));
}

/* POP3 (RFC 1939, RFC 2449, RFC 5034) */

static void pop3_stls_pass_refused(void)
{
    static const turn_t turns[] = {
        C("CAPA\r\n"),
        S("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n"
          "USER\r\nSASL PLAIN\r\n.\r\n"),
        C("USER alice\r\n"),
        S("+OK\r\n"),
        C("PASS secret\r\n"),
        S("-ERR [AUTH] Authentication failed.\r\n"),
    };
    READS(turns, 110, refused(MTLS_APP_POP3, "POP3 -ERR [AUTH] Authentication failed.", false, 0));
}

static void pop3s_greeting_user_pass_ok(void)
{
    static const turn_t turns[] = {
        S("+OK Dovecot (Debian) ready.\r\n"),
        C("USER alice\r\n"),
        S("+OK\r\n"),
        C("PASS secret\r\n"),
        S("+OK Logged in.\r\n"),
    };
    READS(turns, 995, accepted(MTLS_APP_POP3, "POP3 +OK Logged in.", false, 0));
    CHECK(reads_as(turns, 4, 0, undecided(true, "POP3 +OK Dovecot (Debian) ready.")));
}

static void pop3_user_refused(void)
{
    static const turn_t turns[] = {
        S("+OK ready\r\n"),
        C("USER alice\r\n"),
        S("-ERR [AUTH] Plaintext authentication disallowed on non-secure connections.\r\n"),
    };
    READS(turns, 995,
          refused(MTLS_APP_POP3,
                  "POP3 -ERR [AUTH] Plaintext authentication disallowed on non-secure "
                  "connections.",
                  false, 0));
}

static void pop3_auth_with_challenge(void)
{
    static const turn_t turns[] = {
        C("AUTH PLAIN\r\n"),
        S("+ \r\n"),
        C("AGFsaWNlAHNlY3JldA==\r\n"),
        S("+OK Logged in.\r\n"),
    };
    READS(turns, 110, accepted(MTLS_APP_POP3, "POP3 +OK Logged in.", false, 0));
}

static void pop3_listing_lines_are_not_answers(void)
{
    /* A CAPA listing line that reads like -ERR is not the answer to USER. */
    static const turn_t turns[] = {
        C("CAPA\r\nUSER alice\r\n"),
        S("+OK\r\n-ERR looks like an answer\r\n.\r\n+OK\r\n"),
    };
    READS(turns, 110, undecided(true, "POP3 +OK"));
}

static void pop3_garbage_gives_up(void)
{
    static const turn_t turns[] = {C("USER alice\r\n"), S("OK fine\r\n")};
    READS(turns, 110, undecided(false, NULL));
}

/* HTTP */

static void http1_request_400(void)
{
    /* nginx with ssl_verify_client on and no certificate. */
    static const turn_t turns[] = {
        C("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
        S("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
          "Content-Length: 246\r\nConnection: close\r\n\r\n<html>"),
    };
    READS(turns, 443, refused(MTLS_APP_HTTP, "HTTP 400 Bad Request", true, 400));
    READS(turns, 8080, refused(MTLS_APP_HTTP, "HTTP 400 Bad Request", true, 400));
}

static void http1_statuses_and_reasons(void)
{
    static const turn_t ok[] = {C("GET /ok HTTP/1.1\r\n\r\n"), S("HTTP/1.1 200 OK\r\n\r\n")};
    READS(ok, 443, accepted(MTLS_APP_HTTP, "HTTP 200 OK", true, 200));
    static const turn_t cert[] = {C("POST /api HTTP/1.1\r\n\r\n"),
                                  S("HTTP/1.1 496 SSL Certificate Required\r\n\r\n")};
    READS(cert, 443, refused(MTLS_APP_HTTP, "HTTP 496 SSL Certificate Required", true, 496));
    static const turn_t unauthorised[] = {C("GET / HTTP/1.1\r\n\r\n"), S("HTTP/1.1 401 \r\n\r\n")};
    READS(unauthorised, 443, refused(MTLS_APP_HTTP, "HTTP 401", true, 401));
    static const turn_t moved[] = {C("GET / HTTP/1.0\r\n\r\n"),
                                   S("HTTP/1.0 302 Found\nLocation: /x\n\n")};
    READS(moved, 443, accepted(MTLS_APP_HTTP, "HTTP 302 Found", true, 302));
    static const turn_t iis[] = {C("GET / HTTP/1.1\r\n\r\n"),
                                 S("HTTP/1.1 403 Forbidden: Client certificate required\r\n\r\n")};
    READS(iis, 443, refused(MTLS_APP_HTTP, "HTTP 403 Forbidden: Client certificat...", true, 403));
}

static void http1_interim_responses_are_passed_over(void)
{
    /* RFC 9110 15.2: 100 Continue and 103 Early Hints come before the answer. */
    static const turn_t turns[] = {
        C("POST /upload HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"),
        S("HTTP/1.1 100 Continue\r\n\r\n"),
        C("abc"),
        S("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
          "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
    };
    READS(turns, 443, refused(MTLS_APP_HTTP, "HTTP 403 Forbidden", true, 403));
    static const turn_t upgrade[] = {
        C("GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
        S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"),
    };
    READS(upgrade, 443, accepted(MTLS_APP_HTTP, "HTTP 101 Switching Protocols", true, 101));
    static const turn_t only_interim[] = {
        C("POST / HTTP/1.1\r\n\r\n"),
        S("HTTP/1.1 100 Continue\r\n\r\n"),
    };
    READS(only_interim, 443, undecided(true, NULL));
}

/* HTTP/2 frames (RFC 9113 4.1). */
static void put_frame(unit_bytes_t *b, unsigned type, unsigned flags, uint32_t stream,
                      const uint8_t *payload, size_t length)
{
    put24(b, (unsigned)length);
    put8(b, type);
    put8(b, flags);
    put16(b, stream >> 16);
    put16(b, stream & 0xffff);
    if (length)
        put(b, payload, length);
}

static void http2_preface_then_403(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    put(&client, preface, sizeof(preface) - 1);
    put_frame(&client, 4, 0, 0, NULL, 0);
    static const uint8_t settings[] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x80};
    put_frame(&server, 4, 0, 0, settings, sizeof(settings));
    put_frame(&server, 4, 1, 0, NULL, 0);
    static const uint8_t block[] = {0x48, 0x03, '4', '0', '3'}; /* :status 403, literal */
    put_frame(&server, 1, 4, 1, block, sizeof(block));
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 443, refused(MTLS_APP_HTTP2, "HTTP 403", true, 403));
    /* The server's SETTINGS first (TLS 1.3 lets it speak before the client). */
    turn_t server_first[] = {SB(&server), CB(&client)};
    READS(server_first, 443, refused(MTLS_APP_HTTP2, "HTTP 403", true, 403));
}

static void http2_indexed_200(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    put(&client, preface, sizeof(preface) - 1);
    put_frame(&server, 4, 0, 0, NULL, 0);
    static const uint8_t block[] = {0x88}; /* :status 200, static index 8 */
    put_frame(&server, 1, 5, 1, block, sizeof(block));
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 0, accepted(MTLS_APP_HTTP2, "HTTP 200", true, 200));
}

static void http2_interim_response_gives_up(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    put(&client, preface, sizeof(preface) - 1);
    put_frame(&server, 4, 0, 0, NULL, 0);
    static const uint8_t block[] = {0x48, 0x03, '1', '0', '3'};
    put_frame(&server, 1, 4, 1, block, sizeof(block));
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 443, undecided(false, NULL));
}

static void http_version_mismatch_gives_up(void)
{
    static unit_bytes_t server;
    server.length = 0;
    put_frame(&server, 4, 0, 0, NULL, 0);
    static const uint8_t block[] = {0x88};
    put_frame(&server, 1, 5, 1, block, sizeof(block));
    turn_t turns[] = {C("GET / HTTP/1.1\r\n\r\n"), SB(&server)};
    READS(turns, 443, undecided(false, NULL));
    static const turn_t h1[] = {C("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
                                S("HTTP/1.1 200 OK\r\n\r\n")};
    READS(h1, 443, undecided(false, NULL));
}

/* LDAP (RFC 4511, BER as X.690 definite lengths) */

/* LDAPMessage { messageID, protocolOp [APPLICATION op] { resultCode, matchedDN,
 * diagnosticMessage } }, short lengths. */
static void put_ldap_result(unit_bytes_t *b, unsigned id, unsigned op, unsigned code,
                            const char *message)
{
    size_t m = strlen(message);
    size_t result = 3 + 2 + 2 + m;
    put8(b, 0x30);
    put8(b, (unsigned)(3 + 2 + result));
    put8(b, 0x02), put8(b, 1), put8(b, id);
    put8(b, op), put8(b, (unsigned)result);
    put8(b, 0x0a), put8(b, 1), put8(b, code);
    put8(b, 0x04), put8(b, 0);
    put8(b, 0x04), put8(b, (unsigned)m);
    put(b, message, m);
}

/* BindRequest { version 3, name, simple password } */
static void put_simple_bind(unit_bytes_t *b, unsigned id, const char *name, const char *password)
{
    size_t n = strlen(name), p = strlen(password);
    size_t request = 3 + 2 + n + 2 + p;
    put8(b, 0x30);
    put8(b, (unsigned)(3 + 2 + request));
    put8(b, 0x02), put8(b, 1), put8(b, id);
    put8(b, 0x60), put8(b, (unsigned)request);
    put8(b, 0x02), put8(b, 1), put8(b, 3);
    put8(b, 0x04), put8(b, (unsigned)n);
    put(b, name, n);
    put8(b, 0x80), put8(b, (unsigned)p);
    put(b, password, p);
}

static void ldap_bind_invalid_credentials(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_simple_bind(&client, 1, "cn=alice,dc=example,dc=org", "secret");
    put_ldap_result(&server, 1, 0x61, 49, "");
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 636, refused(MTLS_APP_LDAP, "LDAP bindResponse 49 invalidCredentials", true, 49));
    /* The diagnosticMessage is not shown. */
    server.length = 0;
    put_ldap_result(&server, 1, 0x61, 8, "TLS client certificate required");
    turns[1] = (turn_t)SB(&server);
    READS(turns, 389, refused(MTLS_APP_LDAP, "LDAP bindResponse 8 strongerAuthRequired", true, 8));
}

static void ldap_bind_success(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_simple_bind(&client, 1, "", "");
    put_ldap_result(&server, 1, 0x61, 0, "");
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 636, accepted(MTLS_APP_LDAP, "LDAP bindResponse 0 success", true, 0));
}

static void ldap_sasl_in_progress_is_not_decisive(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_simple_bind(&client, 1, "", "");
    put_ldap_result(&server, 1, 0x61, 14, "");
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 636, undecided(true, "LDAP bindResponse 14 saslBindInProgress"));
    put_ldap_result(&server, 2, 0x61, 48, "");
    turns[1] = (turn_t)SB(&server);
    READS(turns, 636,
          refused(MTLS_APP_LDAP, "LDAP bindResponse 48 inappropriateAuthentication", true, 48));
}

static void ldap_notice_of_disconnection(void)
{
    /* ExtendedResponse, messageID 0, responseName 1.3.6.1.4.1.1466.20036. */
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_simple_bind(&client, 1, "", "");
    static const char oid[] = "1.3.6.1.4.1.1466.20036";
    static const char text[] = "connection lost";
    size_t op = 3 + 2 + 2 + (sizeof(text) - 1) + 2 + (sizeof(oid) - 1);
    put8(&server, 0x30), put8(&server, (unsigned)(3 + 2 + op));
    put8(&server, 0x02), put8(&server, 1), put8(&server, 0);
    put8(&server, 0x78), put8(&server, (unsigned)op);
    put8(&server, 0x0a), put8(&server, 1), put8(&server, 52);
    put8(&server, 0x04), put8(&server, 0);
    put8(&server, 0x04), put8(&server, sizeof(text) - 1);
    put(&server, text, sizeof(text) - 1);
    put8(&server, 0x8a), put8(&server, sizeof(oid) - 1);
    put(&server, oid, sizeof(oid) - 1);
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 389, refused(MTLS_APP_LDAP, "LDAP extendedResponse 52 unavailable", true, 52));
}

static void ldap_short_bind_then_answer(void)
{
    /* An anonymous bind with messageID 2 is 14 bytes: its first bytes also fit
     * the start of a MySQL packet, which would need 32; the server's answer
     * ends the wait. */
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_simple_bind(&client, 2, "", "");
    put_ldap_result(&server, 2, 0x61, 0, "");
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 0, accepted(MTLS_APP_LDAP, "LDAP bindResponse 0 success", true, 0));
}

static void ldap_long_form_lengths_and_search(void)
{
    /* An anonymous search (no bind): entries then searchResDone, not decisive.
     * The search request uses a long-form length (0x84 + 4 bytes). */
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    static const uint8_t search[] = {
        0x30, 0x84, 0x00, 0x00, 0x00, 0x25, 0x02, 0x01, 0x02, 0x63, 0x20, 0x04, 0x00, 0x0a, 0x01,
        0x00, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x0b,
        'o',  'b',  'j',  'e',  'c',  't',  'c',  'l',  'a',  's',  's',  0x30, 0x00,
    };
    put(&client, search, sizeof(search));
    /* searchResEntry { objectName "", attributes {} } with a long-form length */
    static const uint8_t entry[] = {0x30, 0x81, 0x09, 0x02, 0x01, 0x02,
                                    0x64, 0x04, 0x04, 0x00, 0x30, 0x00};
    put(&server, entry, sizeof(entry));
    put_ldap_result(&server, 2, 0x65, 0, "");
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 389, undecided(true, "LDAP searchResDone 0 success"));
}

static void ldap_malformed_gives_up(void)
{
    static unit_bytes_t client;
    client.length = 0;
    put_simple_bind(&client, 1, "", "");
    turn_t indefinite[] = {CB(&client),
                           S("\x30\x80\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00")};
    READS(indefinite, 389, undecided(false, NULL));
    turn_t not_ber[] = {CB(&client), S("HTTP/1.1 400 Bad Request\r\n")};
    READS(not_ber, 389, undecided(false, NULL));
    /* A request tag where a response belongs. */
    turn_t request[] = {CB(&client), S("\x30\x0c\x02\x01\x01\x60\x07\x0a\x01\x31\x04\x00\x04\x00")};
    READS(request, 389, undecided(false, NULL));
    /* Truncated: the BindResponse's last byte missing. */
    turn_t cut[] = {CB(&client), S("\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04")};
    READS(cut, 389, undecided(true, NULL));
}

/* MySQL / MariaDB (client/server protocol: HandshakeResponse41, OK, ERR) */

static void put_le(unit_bytes_t *b, uint32_t value, int bytes)
{
    for (int i = 0; i < bytes; i++)
        put8(b, (value >> (8 * i)) & 0xff);
}

static void put_mysql_packet(unit_bytes_t *b, unsigned sequence, const uint8_t *payload,
                             size_t length)
{
    put_le(b, (uint32_t)length, 3);
    put8(b, sequence);
    put(b, payload, length);
}

/* HandshakeResponse41 after SSLRequest (sequence 2). */
static void put_handshake_response(unit_bytes_t *b, bool mariadb)
{
    unit_bytes_t p = {.length = 0};
    /* LONG_PASSWORD (not MariaDB's), PROTOCOL_41, SSL, SECURE_CONNECTION, PLUGIN_AUTH */
    uint32_t capabilities = 0x00000200 | 0x00000800 | 0x00008000 | 0x00080000;
    if (!mariadb)
        capabilities |= 1;
    put_le(&p, capabilities, 4);
    put_le(&p, 0x01000000, 4);
    put8(&p, 0x21);
    uint8_t filler[23] = {0};
    if (mariadb)
        filler[19] = 0x1d; /* MariaDB's extended capabilities */
    put(&p, filler, sizeof(filler));
    put(&p, "alice", 6);
    put8(&p, 0); /* no auth response */
    put(&p, "mysql_native_password", 22);
    put_mysql_packet(b, 2, p.bytes, p.length);
}

static void mysql_access_denied(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_handshake_response(&client, true);
    static const char err[] = "\xff\x15\x04#28000Access denied for user 'alice'@'localhost' "
                              "(using password: NO)";
    put_mysql_packet(&server, 3, (const uint8_t *)err, sizeof(err) - 1);
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 3306,
          refused(MTLS_APP_MYSQL,
                  "MySQL ERROR 1045 (28000) Access denied for user 'alice'@'localhost' (using "
                  "password: NO)",
                  true, 1045));
    READS(turns, 0,
          refused(MTLS_APP_MYSQL,
                  "MySQL ERROR 1045 (28000) Access denied for user 'alice'@'localhost' (using "
                  "password: NO)",
                  true, 1045));
}

static void mysql_ok_after_auth_switch(void)
{
    static unit_bytes_t client, server, client2, server2;
    client.length = server.length = client2.length = server2.length = 0;
    put_handshake_response(&client, false);
    /* AuthSwitchRequest: 0xfe, plugin name, 20-byte scramble + NUL */
    unit_bytes_t p = {.length = 0};
    put8(&p, 0xfe);
    put(&p, "mysql_native_password", 22);
    for (int i = 0; i < 20; i++)
        put8(&p, 0x30 + i);
    put8(&p, 0);
    put_mysql_packet(&server, 3, p.bytes, p.length);
    static const uint8_t scramble[20] = {1, 2, 3};
    put_mysql_packet(&client2, 4, scramble, sizeof(scramble));
    static const uint8_t ok[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    put_mysql_packet(&server2, 5, ok, sizeof(ok));
    turn_t turns[] = {CB(&client), SB(&server), CB(&client2), SB(&server2)};
    READS(turns, 3306, accepted(MTLS_APP_MYSQL, "MySQL OK", true, 0));
    /* Cut after the switch request: nothing decisive yet. */
    turn_t cut[] = {CB(&client), SB(&server), CB(&client2)};
    READS(cut, 3306, undecided(true, NULL));
}

static void mysql_error_without_sql_state(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_handshake_response(&client, false);
    static const char err[] = "\xff\x10\x04Too many connections";
    put_mysql_packet(&server, 3, (const uint8_t *)err, sizeof(err) - 1);
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 3306,
          refused(MTLS_APP_MYSQL, "MySQL ERROR 1040 Too many connections", true, 1040));
}

static void mysql_unexpected_packet_gives_up(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_handshake_response(&client, false);
    static const uint8_t row[] = {0x03, 'a', 'b', 'c'};
    put_mysql_packet(&server, 3, row, sizeof(row));
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 3306, undecided(false, NULL));
}

/* PostgreSQL (frontend/backend protocol 3.0) */

static void put_be32(unit_bytes_t *b, uint32_t value)
{
    put16(b, value >> 16);
    put16(b, value & 0xffff);
}

static void put_startup(unit_bytes_t *b)
{
    static const char parameters[] = "user\0alice\0database\0shop\0application_name\0psql\0";
    put_be32(b, (uint32_t)(8 + sizeof(parameters))); /* the final NUL included */
    put_be32(b, 196608);
    put(b, parameters, sizeof(parameters));
}

static void put_pg_message(unit_bytes_t *b, char type, const void *payload, size_t length)
{
    put8(b, (uint8_t)type);
    put_be32(b, (uint32_t)(4 + length));
    put(b, payload, length);
}

static void pgsql_fatal_no_certificate(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_startup(&client);
    /* PostgreSQL 15's fields: S, V, C, M, F, L, R, then the terminating NUL. */
    static const char fields[] = "SFATAL\0VFATAL\0C28000\0Mconnection requires a valid client "
                                 "certificate\0Fauth.c\0L354\0RClientAuthentication\0";
    put_pg_message(&server, 'E', fields, sizeof(fields));
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 5432,
          refused(MTLS_APP_PGSQL,
                  "PostgreSQL FATAL 28000 connection requires a valid client certificate", false,
                  0));
}

static void pgsql_localised_severity_yields_to_v(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_startup(&client);
    static const char fields[] = "SSCHWERWIEGEND\0VFATAL\0C28P01\0MPasswort-Authentifizierung "
                                 "fehlgeschlagen\0";
    put_pg_message(&server, 'E', fields, sizeof(fields));
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 5432,
          refused(MTLS_APP_PGSQL,
                  "PostgreSQL FATAL 28P01 Passwort-Authentifizierung fehlgeschlagen", false, 0));
}

static void pgsql_sasl_then_authentication_ok(void)
{
    static unit_bytes_t client, server, client2, server2;
    client.length = server.length = client2.length = server2.length = 0;
    put_startup(&client);
    static const uint8_t sasl[] = {0,   0,   0,   10,  'S', 'C', 'R', 'A', 'M', '-',
                                   'S', 'H', 'A', '-', '2', '5', '6', 0,   0};
    put_pg_message(&server, 'R', sasl, sizeof(sasl));
    static const char initial[] = "SCRAM-SHA-256\0\0\0\0\x20n,,n=,r=abcdefghijklmnopqrstuvwx";
    put_pg_message(&client2, 'p', initial, sizeof(initial) - 1);
    static const uint8_t ok[] = {0, 0, 0, 0};
    static const char status[] = "server_version\00015.5\0";
    put_pg_message(&server2, 'R', ok, sizeof(ok));
    put_pg_message(&server2, 'S', status, sizeof(status) - 1);
    turn_t turns[] = {CB(&client), SB(&server), CB(&client2), SB(&server2)};
    READS(turns, 5432, accepted(MTLS_APP_PGSQL, "PostgreSQL AuthenticationOk", false, 0));
    turn_t cut[] = {CB(&client), SB(&server), CB(&client2)};
    READS(cut, 5432, undecided(true, NULL));
}

static void pgsql_malformed_gives_up(void)
{
    static unit_bytes_t client, server;
    client.length = server.length = 0;
    put_startup(&client);
    static const char unterminated[] = "SFATAL\0C28000\0Mno end";
    put_pg_message(&server, 'E', unterminated, sizeof(unterminated) - 1);
    turn_t turns[] = {CB(&client), SB(&server)};
    READS(turns, 5432, undecided(false, NULL));
    /* Protocol 2's error: 'E' and a bare string. */
    turn_t old[] = {CB(&client), S("EFATAL:  no pg_hba.conf entry\n")};
    READS(old, 5432, undecided(false, NULL));
    static const uint8_t data_row[] = {0, 1, 0, 0, 0, 1, 'x'};
    server.length = 0;
    put_pg_message(&server, 'D', data_row, sizeof(data_row));
    turns[1] = (turn_t)SB(&server);
    READS(turns, 5432, undecided(false, NULL));
}

/* MQTT (3.1.1 OASIS standard, 5.0 OASIS standard, 3.1 IBM) */

static void put_connect(unit_bytes_t *b, const char *name, unsigned level)
{
    size_t n = strlen(name);
    size_t remaining = 2 + n + 1 + 1 + 2 + (level == 5 ? 1 : 0) + 2 + 4;
    put8(b, 0x10);
    put8(b, (unsigned)remaining);
    put16(b, (unsigned)n);
    put(b, name, n);
    put8(b, level);
    put8(b, 0x02); /* clean session */
    put16(b, 60);
    if (level == 5)
        put8(b, 0); /* no properties */
    put16(b, 4);
    put(b, "test", 4);
}

static void mqtt_311_not_authorised(void)
{
    static unit_bytes_t client;
    client.length = 0;
    put_connect(&client, "MQTT", 4);
    turn_t turns[] = {CB(&client), S("\x20\x02\x00\x05")};
    READS(turns, 8883, refused(MTLS_APP_MQTT, "MQTT CONNACK 5 not authorised", true, 5));
    turn_t ok[] = {CB(&client), S("\x20\x02\x00\x00")};
    READS(ok, 8883, accepted(MTLS_APP_MQTT, "MQTT CONNACK 0 accepted", true, 0));
}

static void mqtt_5_not_authorized(void)
{
    static unit_bytes_t client;
    client.length = 0;
    put_connect(&client, "MQTT", 5);
    /* CONNACK: flags, reason 0x87, properties: reason string "no" */
    turn_t turns[] = {CB(&client), S("\x20\x08\x00\x87\x05\x1f\x00\x02no")};
    READS(turns, 8883, refused(MTLS_APP_MQTT, "MQTT CONNACK 135 Not authorized", true, 135));
    /* AUTH (enhanced authentication) first, then a successful CONNACK */
    turn_t auth[] = {CB(&client), S("\xf0\x02\x18\x00"), S("\x20\x03\x00\x00\x00")};
    READS(auth, 8883, accepted(MTLS_APP_MQTT, "MQTT CONNACK 0 Success", true, 0));
}

static void mqtt_31_bad_credentials(void)
{
    static unit_bytes_t client;
    client.length = 0;
    put_connect(&client, "MQIsdp", 3);
    turn_t turns[] = {CB(&client), S("\x20\x02\x00\x04")};
    READS(turns, 1883, refused(MTLS_APP_MQTT, "MQTT CONNACK 4 bad user name or password", true, 4));
}

static void mqtt_malformed_gives_up(void)
{
    static unit_bytes_t client;
    client.length = 0;
    put_connect(&client, "MQTT", 4);
    turn_t publish[] = {CB(&client), S("\x30\x05\x00\x01t\x68i")};
    READS(publish, 1883, undecided(false, NULL));
    turn_t long_connack[] = {CB(&client), S("\x20\x03\x00\x00\x00")};
    READS(long_connack, 1883, undecided(false, NULL));
    turn_t flags[] = {CB(&client), S("\x20\x02\x02\x00")};
    READS(flags, 1883, undecided(false, NULL));
    turn_t length[] = {CB(&client), S("\x20\xff\xff\xff\xff\x00")};
    READS(length, 1883, undecided(false, NULL));
    turn_t cut[] = {CB(&client), S("\x20\x02\x00")};
    READS(cut, 1883, undecided(true, NULL));
}

/* Recognition */

static void unknown_protocols_give_up(void)
{
    static const turn_t text[] = {C("hello server, how are you?\r\n"), S("fine\r\n")};
    READS(text, 443, undecided(false, NULL));
    static const turn_t ssh[] = {S("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")};
    READS(ssh, 0, undecided(false, NULL));
    static const turn_t binary[] = {C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")};
    READS(binary, 0, undecided(false, NULL));
    /* FTP greets like SMTP; on FTP's ports it is not taken for SMTP. */
    static const turn_t ftp[] = {S("220 ProFTPD Server ready.\r\n")};
    READS(ftp, 990, undecided(false, NULL));
}

static void recognition_waits_for_enough_bytes(void)
{
    static const turn_t partial[] = {C("GE")};
    READS(partial, 443, undecided(true, NULL));
    static const turn_t tag[] = {C("a0001")};
    READS(tag, 143, undecided(true, NULL));
}

static void port_breaks_ties(void)
{
    /* "EHLO login" reads as SMTP EHLO and as an IMAP tag "EHLO" with LOGIN. */
    static const turn_t turns[] = {C("EHLO login\r\n"), S("421 4.7.1 go away\r\n")};
    READS(turns, 25, refused(MTLS_APP_SMTP, "SMTP 421 4.7.1 go away", true, 421));
    READS(turns, 0, refused(MTLS_APP_SMTP, "SMTP 421 4.7.1 go away", true, 421));
    static const turn_t imap[] = {C("EHLO login\r\n"), S("EHLO NO no\r\n")};
    READS(imap, 143, refused(MTLS_APP_IMAP, "IMAP NO no", false, 0));
}

/* The interface */

static void protocol_names(void)
{
    static const char *const names[] = {"",     "http", "http2", "smtp",  "imap",
                                        "pop3", "ldap", "mysql", "pgsql", "mqtt"};
    for (int p = 0; p < MTLS_APP_PROTOCOL_COUNT; p++)
        CHECK(strcmp(mtls_app_protocol_name((mtls_app_protocol_t)p), names[p]) == 0);
    CHECK(strcmp(mtls_app_protocol_name(MTLS_APP_PROTOCOL_COUNT), "") == 0);
    CHECK(strcmp(mtls_app_protocol_name((mtls_app_protocol_t)-1), "") == 0);
}

static void after_the_answer_nothing_is_read(void)
{
    mtls_app_reader_t *reader = mtls_app_reader_new(25);
    REQUIRE(reader);
    mtls_app_answer_t answer;
    CHECK(mtls_app_reader_wants_data(reader));
    CHECK(!mtls_app_reader_feed(reader, false, NULL, 0, &answer));
    CHECK(!mtls_app_reader_first_answer(reader, &answer));
    /* 250 to EHLO is not decisive; the unprompted 550 is. */
    static const char ehlo[] = "EHLO c\r\n", reply[] = "250 m\r\n550 5.7.1 no\r\n";
    CHECK(!mtls_app_reader_feed(reader, false, (const uint8_t *)ehlo, sizeof(ehlo) - 1, &answer));
    CHECK(mtls_app_reader_feed(reader, true, (const uint8_t *)reply, sizeof(reply) - 1, &answer));
    CHECK(answer.protocol == MTLS_APP_SMTP && answer.status == 550 && answer.refused);
    CHECK(strcmp(answer.reply, "SMTP 550 5.7.1 no") == 0);
    CHECK(!mtls_app_reader_wants_data(reader));
    CHECK(!mtls_app_reader_feed(reader, true, (const uint8_t *)reply, sizeof(reply) - 1, &answer));
    CHECK(!mtls_app_reader_first_answer(reader, &answer));
    mtls_app_reader_free(reader);
}

/* The answer to a second request, after a renegotiation. */
static const char http_ok[] = "HTTP/1.1 200 OK\r\n\r\n";

/* An HTTP reader that has read a GET and its 403 answer (NULL on failure). */
static mtls_app_reader_t *http_reader_refused(mtls_app_answer_t *answer)
{
    static const char request[] = "GET / HTTP/1.1\r\n\r\n";
    static const char refusal[] = "HTTP/1.1 403 Forbidden\r\n\r\n";
    mtls_app_reader_t *reader = mtls_app_reader_new(443);
    if (!reader)
        return NULL;
    CHECK(!mtls_app_reader_feed(reader, false, (const uint8_t *)request, sizeof(request) - 1,
                                answer));
    CHECK(
        mtls_app_reader_feed(reader, true, (const uint8_t *)refusal, sizeof(refusal) - 1, answer));
    CHECK(answer->refused && answer->status == 403);
    return reader;
}

static void decisive_once_then_restart(void)
{
    mtls_app_answer_t answer;
    mtls_app_reader_t *reader = http_reader_refused(&answer);
    REQUIRE(reader);
    CHECK(!mtls_app_reader_wants_data(reader));
    CHECK(!mtls_app_reader_feed(reader, true, (const uint8_t *)http_ok, sizeof(http_ok) - 1,
                                &answer));
    CHECK(!mtls_app_reader_first_answer(reader, &answer));
    /* After a renegotiation, the next answer is read again. */
    mtls_app_reader_restart(reader);
    CHECK(mtls_app_reader_wants_data(reader));
    REQUIRE(
        mtls_app_reader_feed(reader, true, (const uint8_t *)http_ok, sizeof(http_ok) - 1, &answer));
    CHECK(answer.protocol == MTLS_APP_HTTP && answer.status == 200 && !answer.refused);
    CHECK(strcmp(answer.reply, "HTTP 200 OK") == 0);
    mtls_app_reader_free(reader);
    mtls_app_reader_free(NULL);

    /* HTTP/2 has no second exchange: after a restart the reader gives up. */
    reader = mtls_app_reader_new(443);
    REQUIRE(reader);
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    CHECK(!mtls_app_reader_feed(reader, false, (const uint8_t *)preface, sizeof(preface) - 1,
                                &answer));
    mtls_app_reader_restart(reader);
    CHECK(!mtls_app_reader_wants_data(reader));
    mtls_app_reader_free(reader);
}

/* A reader freed after its answer and made again from its memo reads the next
 * exchange's answer as a restarted one would. */
static void memo_then_next_answer(void)
{
    mtls_app_answer_t answer;
    mtls_app_reader_t *reader = http_reader_refused(&answer);
    REQUIRE(reader);
    mtls_app_memo_t memo = mtls_app_reader_memo(reader);
    mtls_app_reader_free(reader);
    CHECK(memo.protocol == MTLS_APP_HTTP);
    reader = mtls_app_reader_from_memo(443, memo);
    REQUIRE(reader);
    CHECK(mtls_app_reader_wants_data(reader));
    CHECK(mtls_app_reader_protocol(reader) == MTLS_APP_HTTP);
    REQUIRE(
        mtls_app_reader_feed(reader, true, (const uint8_t *)http_ok, sizeof(http_ok) - 1, &answer));
    CHECK(answer.protocol == MTLS_APP_HTTP && answer.status == 200 && !answer.refused);
    mtls_app_reader_free(reader);

    /* MQTT: the CONNECT's level survives, so a 5.0 reason code keeps its 5.0 name. */
    static unit_bytes_t client;
    client.length = 0;
    put_connect(&client, "MQTT", 5);
    reader = mtls_app_reader_new(8883);
    REQUIRE(reader);
    static const uint8_t connack[] = {0x20, 0x03, 0x00, 0x87, 0x00};
    CHECK(!mtls_app_reader_feed(reader, false, client.bytes, client.length, &answer));
    REQUIRE(mtls_app_reader_feed(reader, true, connack, sizeof(connack), &answer));
    CHECK(strcmp(answer.reply, "MQTT CONNACK 135 Not authorized") == 0);
    memo = mtls_app_reader_memo(reader);
    mtls_app_reader_free(reader);
    CHECK(memo.protocol == MTLS_APP_MQTT && memo.level == 5);
    reader = mtls_app_reader_from_memo(8883, memo);
    REQUIRE(reader);
    REQUIRE(mtls_app_reader_feed(reader, true, connack, sizeof(connack), &answer));
    CHECK(strcmp(answer.reply, "MQTT CONNACK 135 Not authorized") == 0);
    mtls_app_reader_free(reader);

    /* HTTP/2 and out-of-range memos: a reader that wants nothing, or a fresh one. */
    reader = mtls_app_reader_from_memo(443, (mtls_app_memo_t){MTLS_APP_HTTP2, 0});
    REQUIRE(reader);
    CHECK(!mtls_app_reader_wants_data(reader));
    mtls_app_reader_free(reader);
    reader = mtls_app_reader_from_memo(443, (mtls_app_memo_t){0xff, 0xff});
    REQUIRE(reader);
    CHECK(mtls_app_reader_wants_data(reader));
    CHECK(mtls_app_reader_protocol(reader) == MTLS_APP_UNKNOWN);
    mtls_app_reader_free(reader);
}

static void memory_is_small(void)
{
    mtls_app_reader_t *reader = mtls_app_reader_new(0);
    REQUIRE(reader);
    size_t memory = mtls_app_reader_memory(reader);
    printf("  reader: %zu bytes\n", memory);
    CHECK(memory > 0 && memory <= 1024);
    CHECK(mtls_app_reader_memory(NULL) == 0);
    mtls_app_reader_free(reader);
}

/* Hostile input: random bytes and mutated transcripts, in both directions,
 * never read out of bounds (valgrind, sanitizers), give one answer at most,
 * with a NUL-terminated printable reply, the same however they are chunked. */
static void random_and_mutated_bytes_are_safe(void)
{
    static unit_bytes_t seeds[12];
    static const char *const texts[] = {
        "EHLO c\r\n|250-m\r\n250 x\r\n421 4.7.1 no\r\n",
        "a1 LOGIN a b {3}\r\n|+ go\r\n* 1 FETCH {5}\r\nabc\r\n)\r\na1 NO [ALERT] x\r\n",
        "CAPA\r\nUSER a\r\nPASS b\r\n|+OK\r\nX\r\n.\r\n+OK\r\n-ERR [AUTH] nope\r\n",
        "GET / HTTP/1.1\r\n\r\n|HTTP/1.1 403 Forbidden\r\n\r\n",
    };
    size_t seed_count = 0;
    for (size_t i = 0; i < COUNT(texts); i++) {
        seeds[seed_count].length = 0;
        put(&seeds[seed_count], texts[i], strlen(texts[i]));
        seed_count++;
    }
    unit_bytes_t *b = &seeds[seed_count++];
    b->length = 0;
    put_simple_bind(b, 1, "cn=a", "b");
    put8(b, '|');
    put_ldap_result(b, 1, 0x61, 14, "x");
    put_ldap_result(b, 2, 0x61, 49, "y");
    b = &seeds[seed_count++];
    b->length = 0;
    put_handshake_response(b, true);
    put8(b, '|');
    static const char err[] = "\xff\x15\x04#28000Access denied";
    put_mysql_packet(b, 3, (const uint8_t *)err, sizeof(err) - 1);
    b = &seeds[seed_count++];
    b->length = 0;
    put_startup(b);
    put8(b, '|');
    static const char fields[] = "SFATAL\0C28000\0Mno\0";
    put_pg_message(b, 'E', fields, sizeof(fields));
    b = &seeds[seed_count++];
    b->length = 0;
    put_connect(b, "MQTT", 5);
    put8(b, '|');
    put(b, "\x20\x03\x00\x87\x00", 5);

    uint32_t state = 2026;
    for (int round = 0; round < 4000; round++) {
        static uint8_t bytes[600];
        size_t length;
        state = state * 1103515245u + 12345u;
        if (round % 4 == 0) {
            length = 1 + (state >> 16) % 300;
            for (size_t i = 0; i < length; i++) {
                state = state * 1103515245u + 12345u;
                bytes[i] = (uint8_t)(state >> 16);
            }
        } else {
            const unit_bytes_t *seed = &seeds[(state >> 16) % seed_count];
            length = seed->length;
            memcpy(bytes, seed->bytes, length);
            for (int flips = 1 + round % 3; flips > 0; flips--) {
                state = state * 1103515245u + 12345u;
                bytes[(state >> 16) % length] = (uint8_t)(state >> 8);
            }
        }
        /* '|' splits the client's bytes from the server's; without one, the
         * bytes alternate direction every 7. */
        turn_t turns[80];
        size_t count = 0;
        const uint8_t *bar = memchr(bytes, '|', length);
        if (bar) {
            turns[count++] = (turn_t){false, bytes, (size_t)(bar - bytes)};
            turns[count++] = (turn_t){true, bar + 1, length - (size_t)(bar - bytes) - 1};
        } else {
            for (size_t at = 0; at < length && count < COUNT(turns); at += 7, count++)
                turns[count] =
                    (turn_t){(count & 1) != 0, bytes + at, length - at < 7 ? length - at : 7};
        }
        outcome_t whole = run(turns, count, (uint16_t)(state >> 20), FEED_TURNS, 0);
        outcome_t single = run(turns, count, (uint16_t)(state >> 20), FEED_BYTES, 0);
        outcome_t chunks = run(turns, count, (uint16_t)(state >> 20), FEED_RANDOM, (uint32_t)round);
        CHECK(whole.decisive_count <= 1);
        CHECK(whole.decisive_count == single.decisive_count &&
              whole.decisive_count == chunks.decisive_count);
        CHECK(whole.wants_data == single.wants_data && whole.wants_data == chunks.wants_data);
        CHECK(whole.has_first == single.has_first && whole.has_first == chunks.has_first);
        if (whole.decisive_count == 1 && single.decisive_count == 1 && chunks.decisive_count == 1) {
            CHECK(memchr(whole.answer.reply, '\0', MTLS_APP_REPLY_SIZE) != NULL);
            CHECK(whole.answer.protocol > MTLS_APP_UNKNOWN &&
                  whole.answer.protocol < MTLS_APP_PROTOCOL_COUNT);
            CHECK(strcmp(whole.answer.reply, single.answer.reply) == 0);
            CHECK(strcmp(whole.answer.reply, chunks.answer.reply) == 0);
            CHECK(whole.answer.refused == single.answer.refused &&
                  whole.answer.status == chunks.answer.status);
            for (const char *c = whole.answer.reply; *c; c++)
                CHECK(*c >= 0x20 && *c <= 0x7e);
        }
        if (whole.has_first && single.has_first)
            CHECK(strcmp(whole.first.reply, single.first.reply) == 0);
        if (test_failed)
            return;
    }
}

static const unit_test_t tests[] = {
    UNIT_TEST(smtp_starttls_no_certificate_421),
    UNIT_TEST(smtp_unprompted_421_before_ehlo),
    UNIT_TEST(smtp_relay_denied_at_rcpt),
    UNIT_TEST(smtp_rcpt_accepted),
    UNIT_TEST(smtp_implicit_tls_greeting_then_ehlo_is_not_decisive),
    UNIT_TEST(smtp_greeting_refusal),
    UNIT_TEST(smtp_pipelined_replies_in_order),
    UNIT_TEST(smtp_auth_challenge_then_failure),
    UNIT_TEST(smtp_auth_success),
    UNIT_TEST(smtp_mail_and_noop_are_not_decisive),
    UNIT_TEST(smtp_overlong_line_is_cut_but_read),
    UNIT_TEST(smtp_malformed_replies_give_up),
    UNIT_TEST(smtp_truncated_reply_waits),
    UNIT_TEST(imap_starttls_login_no),
    UNIT_TEST(imaps_greeting_then_login_ok),
    UNIT_TEST(imaps_greeting_is_the_first_answer),
    UNIT_TEST(imap_unprompted_bye),
    UNIT_TEST(imap_bye_after_logout_is_not_decisive),
    UNIT_TEST(imap_authenticate_with_continuation),
    UNIT_TEST(imap_bad_to_login),
    UNIT_TEST(imap_literals_are_passed_over),
    UNIT_TEST(imap_other_tags_are_not_decisive),
    UNIT_TEST(imap_malformed_answer_gives_up),
    UNIT_TEST(pop3_stls_pass_refused),
    UNIT_TEST(pop3s_greeting_user_pass_ok),
    UNIT_TEST(pop3_user_refused),
    UNIT_TEST(pop3_auth_with_challenge),
    UNIT_TEST(pop3_listing_lines_are_not_answers),
    UNIT_TEST(pop3_garbage_gives_up),
    UNIT_TEST(http1_request_400),
    UNIT_TEST(http1_statuses_and_reasons),
    UNIT_TEST(http2_preface_then_403),
    UNIT_TEST(http2_indexed_200),
    UNIT_TEST(http1_interim_responses_are_passed_over),
    UNIT_TEST(http2_interim_response_gives_up),
    UNIT_TEST(http_version_mismatch_gives_up),
    UNIT_TEST(ldap_bind_invalid_credentials),
    UNIT_TEST(ldap_bind_success),
    UNIT_TEST(ldap_sasl_in_progress_is_not_decisive),
    UNIT_TEST(ldap_notice_of_disconnection),
    UNIT_TEST(ldap_short_bind_then_answer),
    UNIT_TEST(ldap_long_form_lengths_and_search),
    UNIT_TEST(ldap_malformed_gives_up),
    UNIT_TEST(mysql_access_denied),
    UNIT_TEST(mysql_ok_after_auth_switch),
    UNIT_TEST(mysql_error_without_sql_state),
    UNIT_TEST(mysql_unexpected_packet_gives_up),
    UNIT_TEST(pgsql_fatal_no_certificate),
    UNIT_TEST(pgsql_localised_severity_yields_to_v),
    UNIT_TEST(pgsql_sasl_then_authentication_ok),
    UNIT_TEST(pgsql_malformed_gives_up),
    UNIT_TEST(mqtt_311_not_authorised),
    UNIT_TEST(mqtt_5_not_authorized),
    UNIT_TEST(mqtt_31_bad_credentials),
    UNIT_TEST(mqtt_malformed_gives_up),
    UNIT_TEST(unknown_protocols_give_up),
    UNIT_TEST(recognition_waits_for_enough_bytes),
    UNIT_TEST(port_breaks_ties),
    UNIT_TEST(protocol_names),
    UNIT_TEST(after_the_answer_nothing_is_read),
    UNIT_TEST(decisive_once_then_restart),
    UNIT_TEST(memo_then_next_answer),
    UNIT_TEST(memory_is_small),
    UNIT_TEST(random_and_mutated_bytes_are_safe),
};

int main(void)
{
    return run_unit_tests(tests, COUNT(tests));
}
