/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_diagnosis.c: judging and wording what the client's certificate, the
 * server's CA list and the first application response say of an exchange.
 */
#include "mtls_diagnosis.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

mtls_diagnosis_t *mtls_diagnosis_new(void)
{
    return calloc(1, sizeof(mtls_diagnosis_t));
}

void mtls_diagnosis_clear(mtls_diagnosis_t *diagnosis)
{
    mtls_cert_unref(diagnosis->certificate);
    memset(diagnosis, 0, sizeof(*diagnosis));
}

void mtls_diagnosis_free(mtls_diagnosis_t *diagnosis)
{
    if (!diagnosis)
        return;
    mtls_diagnosis_clear(diagnosis);
    free(diagnosis);
}

bool mtls_diagnosis_is_empty(const mtls_diagnosis_t *diagnosis)
{
    return !diagnosis->has_chain && !diagnosis->has_ca_names && !diagnosis->app_frame;
}

/* The names back to back, after their lengths: one allocation. */
struct mtls_ca_list {
    size_t count;
    uint32_t *lengths;
    uint8_t *der;
};

mtls_ca_list_t *mtls_ca_list_new(const mtls_der_t *names, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (names[i].length > UINT32_MAX || total > SIZE_MAX - names[i].length)
            return NULL;
        total += names[i].length;
    }
    if (count == 0 || total == 0 || count > (SIZE_MAX - sizeof(mtls_ca_list_t) - total) / 4)
        return NULL;
    mtls_ca_list_t *list = malloc(sizeof(*list) + count * sizeof(uint32_t) + total);
    if (!list)
        return NULL;
    list->count = count;
    list->lengths = (uint32_t *)(list + 1);
    list->der = (uint8_t *)(list->lengths + count);
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(list->der + offset, names[i].data, names[i].length);
        list->lengths[i] = (uint32_t)names[i].length;
        offset += names[i].length;
    }
    return list;
}

void mtls_ca_list_free(mtls_ca_list_t *list)
{
    free(list);
}

static uint16_t saturate16(uint64_t value)
{
    return value > UINT16_MAX ? UINT16_MAX : (uint16_t)value;
}

void mtls_diagnosis_set_ca_names(mtls_diagnosis_t *diagnosis, size_t count, uint32_t list_length)
{
    diagnosis->has_ca_names = true;
    diagnosis->ca_names_count = saturate16(count);
    diagnosis->ca_names_length = saturate16(list_length);
    diagnosis->ca_names_match = MTLS_CA_MATCH_UNKNOWN;
}

static void match_ca_names(mtls_diagnosis_t *diagnosis, const mtls_der_t *chain, size_t count,
                           const mtls_ca_list_t *requested)
{
    if (!diagnosis->has_ca_names || diagnosis->ca_names_count == 0 || !requested)
        return;
    mtls_der_t *names = malloc(requested->count * sizeof(*names));
    if (!names)
        return;
    size_t offset = 0;
    for (size_t i = 0; i < requested->count; i++) {
        names[i].data = requested->der + offset;
        names[i].length = requested->lengths[i];
        offset += requested->lengths[i];
    }
    diagnosis->ca_names_match = mtls_chain_issuer_listed(chain, count, names, requested->count)
                                    ? MTLS_CA_MATCH_YES
                                    : MTLS_CA_MATCH_NO;
    free(names);
}

bool mtls_diagnosis_set_chain(mtls_diagnosis_t *diagnosis, const mtls_der_t *chain, size_t count,
                              const mtls_ca_list_t *requested, int64_t time)
{
    if (count == 0)
        return false;
    mtls_cert_unref(diagnosis->certificate);
    diagnosis->certificate = mtls_cert_ref(chain[0].data, chain[0].length);
    diagnosis->has_chain = true;
    diagnosis->chain_length = count > UINT16_MAX ? UINT16_MAX : (uint16_t)count;
    diagnosis->has_certificate_time = time >= 0 && time <= (int64_t)UINT32_MAX;
    diagnosis->certificate_time = diagnosis->has_certificate_time ? (uint32_t)time : 0;
    match_ca_names(diagnosis, chain, count, requested);
    return diagnosis->certificate != NULL;
}

/* The applications' replies, each once: many exchanges quote the same. */
static mtls_texts_t *reply_texts;

static mtls_texts_t *replies(void)
{
    if (!reply_texts)
        reply_texts = mtls_texts_new();
    return reply_texts;
}

bool mtls_diagnosis_set_app_answer(mtls_diagnosis_t *diagnosis, uint8_t protocol, bool has_status,
                                   uint32_t status, bool refused, const char *reply, uint32_t frame)
{
    if (diagnosis->app_frame || frame == 0)
        return false;
    diagnosis->app_frame = frame;
    diagnosis->app_protocol = protocol;
    diagnosis->app_has_status = has_status && status <= UINT16_MAX;
    diagnosis->app_status = diagnosis->app_has_status ? (uint16_t)status : 0;
    diagnosis->app_refused = refused;
    diagnosis->app_reply_id = mtls_texts_id(replies(), reply);
    return true;
}

const char *mtls_diagnosis_app_reply(const mtls_diagnosis_t *diagnosis)
{
    return mtls_texts_get(reply_texts, diagnosis->app_reply_id);
}

void mtls_diagnosis_forget_replies(void)
{
    mtls_texts_free(reply_texts);
    reply_texts = NULL;
}

const mtls_cert_info_t *mtls_diagnosis_certificate(const mtls_diagnosis_t *diagnosis)
{
    return mtls_cert_info(diagnosis->certificate);
}

/* When the client sent its certificate, in seconds since 1970. */
static int64_t certificate_time(const mtls_diagnosis_t *diagnosis)
{
    return (int64_t)diagnosis->certificate_time;
}

bool mtls_diagnosis_expired(const mtls_diagnosis_t *diagnosis)
{
    const mtls_cert_info_t *cert = mtls_diagnosis_certificate(diagnosis);
    return cert && diagnosis->has_certificate_time &&
           certificate_time(diagnosis) > (int64_t)cert->not_after;
}

bool mtls_diagnosis_not_yet_valid(const mtls_diagnosis_t *diagnosis)
{
    const mtls_cert_info_t *cert = mtls_diagnosis_certificate(diagnosis);
    return cert && diagnosis->has_certificate_time &&
           certificate_time(diagnosis) < (int64_t)cert->not_before;
}

static bool answered_without_chain(const mtls_exchange_t *exchange)
{
    return exchange->response == MTLS_RESPONSE_EMPTY || exchange->response == MTLS_RESPONSE_NONE ||
           exchange->response == MTLS_RESPONSE_NO_CERTIFICATE_ALERT;
}

bool mtls_diagnosis_has_problem(const mtls_diagnosis_t *diagnosis, const mtls_exchange_t *exchange,
                                mtls_verdict_t verdict, mtls_problem_t problem)
{
    switch (problem) {
    case MTLS_PROBLEM_CERT_EXPIRED: return mtls_diagnosis_expired(diagnosis);
    case MTLS_PROBLEM_CERT_NOT_YET_VALID: return mtls_diagnosis_not_yet_valid(diagnosis);
    case MTLS_PROBLEM_CERT_NO_CLIENT_AUTH_EKU:
        return mtls_diagnosis_certificate(diagnosis) &&
               !mtls_cert_allows_client_auth(mtls_diagnosis_certificate(diagnosis));
    case MTLS_PROBLEM_CA_NAMES_NO_MATCH:
        return mtls_diagnosis_certificate(diagnosis) &&
               diagnosis->ca_names_match == MTLS_CA_MATCH_NO;
    case MTLS_PROBLEM_CA_NAMES_NO_CERT:
        return diagnosis->has_ca_names && diagnosis->ca_names_count > 0 &&
               answered_without_chain(exchange);
    case MTLS_PROBLEM_CA_NAMES_EMPTY:
        return diagnosis->has_ca_names && diagnosis->ca_names_count == 0;
    case MTLS_PROBLEM_CA_NAMES_LARGE:
        return diagnosis->has_ca_names && diagnosis->ca_names_length > MTLS_CA_NAMES_LARGE;
    case MTLS_PROBLEM_APP_REFUSED:
        return diagnosis->app_refused &&
               (verdict == MTLS_VERDICT_SERVER_IGNORED || verdict == MTLS_VERDICT_ACCEPTED);
    default: return false;
    }
}

uint32_t mtls_diagnosis_problem_frame(const mtls_diagnosis_t *diagnosis,
                                      const mtls_exchange_t *exchange, mtls_problem_t problem)
{
    switch (problem) {
    case MTLS_PROBLEM_CERT_EXPIRED:
    case MTLS_PROBLEM_CERT_NOT_YET_VALID:
    case MTLS_PROBLEM_CERT_NO_CLIENT_AUTH_EKU:
    case MTLS_PROBLEM_CA_NAMES_NO_MATCH: return exchange->response_frame;
    case MTLS_PROBLEM_CA_NAMES_NO_CERT:
        return exchange->response_frame ? exchange->response_frame : exchange->decision_frame;
    case MTLS_PROBLEM_CA_NAMES_EMPTY:
    case MTLS_PROBLEM_CA_NAMES_LARGE: return exchange->request_frame;
    case MTLS_PROBLEM_APP_REFUSED: return diagnosis->app_frame;
    default: return 0;
    }
}

char *mtls_format_interval(int64_t seconds, char *buffer, size_t size)
{
    static const struct {
        int64_t seconds;
        const char *unit;
    } units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
    if (seconds < 0)
        seconds = seconds == INT64_MIN ? INT64_MAX : -seconds;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (seconds >= units[i].seconds || units[i].seconds == 1) {
            int64_t count = seconds / units[i].seconds;
            snprintf(buffer, size, "%lld %s%s", (long long)count, units[i].unit,
                     count == 1 ? "" : "s");
            break;
        }
    }
    return buffer;
}

static char *format_date(int64_t when, char *buffer, size_t size)
{
    time_t t = (time_t)when;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buffer, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else
        snprintf(buffer, size, "%lld", (long long)when);
    return buffer;
}

static const char *or_unknown(const char *text)
{
    return text && *text ? text : "(unknown)";
}

/* The application's answer for a sentence: its text, else "an answer". */
static const char *app_reply(const mtls_diagnosis_t *diagnosis)
{
    const char *reply = mtls_diagnosis_app_reply(diagnosis);
    return reply ? reply : "an answer";
}

char *mtls_diagnosis_message(const mtls_diagnosis_t *diagnosis, mtls_verdict_t verdict,
                             mtls_problem_t problem, char *buffer, size_t size)
{
    const mtls_cert_info_t *cert = mtls_diagnosis_certificate(diagnosis);
    char date[40], interval[40];
    switch (problem) {
    case MTLS_PROBLEM_CERT_EXPIRED:
        snprintf(buffer, size,
                 "The client certificate %s expired on %s, %s before this capture: renew it "
                 "(or fix the clock) and configure the client with the new one",
                 or_unknown(cert->subject), format_date(cert->not_after, date, sizeof(date)),
                 mtls_format_interval(mtls_difference(certificate_time(diagnosis), cert->not_after),
                                      interval, sizeof(interval)));
        break;
    case MTLS_PROBLEM_CERT_NOT_YET_VALID:
        snprintf(
            buffer, size,
            "The client certificate %s is not valid until %s, %s after this capture: check "
            "the clocks of the CA and of this host, or wait until it becomes valid",
            or_unknown(cert->subject), format_date(cert->not_before, date, sizeof(date)),
            mtls_format_interval(mtls_difference(cert->not_before, certificate_time(diagnosis)),
                                 interval, sizeof(interval)));
        break;
    case MTLS_PROBLEM_CERT_NO_CLIENT_AUTH_EKU:
        snprintf(buffer, size,
                 "The client certificate %s lacks clientAuth (1.3.6.1.5.5.7.3.2) in its "
                 "Extended Key Usage, so servers refuse it: reissue it with "
                 "extendedKeyUsage = clientAuth",
                 or_unknown(cert->subject));
        break;
    case MTLS_PROBLEM_CA_NAMES_NO_MATCH:
        snprintf(buffer, size,
                 "The client's chain (issuer %s) names none of the %u CA name%s the server "
                 "listed: use a certificate from a listed CA, or add its CA to the server's "
                 "client CA list",
                 or_unknown(cert->issuer), diagnosis->ca_names_count,
                 diagnosis->ca_names_count == 1 ? "" : "s");
        break;
    case MTLS_PROBLEM_CA_NAMES_NO_CERT:
        snprintf(buffer, size,
                 "The client sent no certificate although the server listed %u acceptable CA "
                 "name%s: it likely holds none from those CAs (a browser shows an empty "
                 "picker); install one from a listed CA",
                 diagnosis->ca_names_count, diagnosis->ca_names_count == 1 ? "" : "s");
        break;
    case MTLS_PROBLEM_CA_NAMES_EMPTY:
        snprintf(buffer, size,
                 "The server's CertificateRequest lists no CA names: clients then offer every "
                 "certificate they hold, and a wrong one may be sent; configure the server's "
                 "client CA list");
        break;
    case MTLS_PROBLEM_CA_NAMES_LARGE:
        snprintf(buffer, size,
                 "The server's CA list is %u bytes (%u names): Windows fails past about 12 KB "
                 "(%u bytes); send fewer CA names in the CertificateRequest",
                 diagnosis->ca_names_length, diagnosis->ca_names_count, MTLS_CA_NAMES_LARGE);
        break;
    case MTLS_PROBLEM_APP_REFUSED:
        if (verdict == MTLS_VERDICT_ACCEPTED)
            snprintf(buffer, size,
                     "TLS accepted the client certificate; the server then refused with %s in "
                     "frame %u: the application does not authorise this certificate",
                     app_reply(diagnosis), diagnosis->app_frame);
        else
            snprintf(buffer, size,
                     "TLS went on without a client certificate; the server then refused with %s "
                     "in frame %u: configure the client to send its certificate",
                     app_reply(diagnosis), diagnosis->app_frame);
        break;
    default: snprintf(buffer, size, "%s", ""); break;
    }
    return buffer;
}

/* The short clause of `problem` for an evidence line. */
static void evidence_clause(const mtls_diagnosis_t *diagnosis, mtls_verdict_t verdict,
                            mtls_problem_t problem, char *buffer, size_t size)
{
    char interval[40];
    switch (problem) {
    case MTLS_PROBLEM_CERT_EXPIRED:
        snprintf(
            buffer, size, "the client certificate expired %s before this capture",
            mtls_format_interval(mtls_difference(certificate_time(diagnosis),
                                                 mtls_diagnosis_certificate(diagnosis)->not_after),
                                 interval, sizeof(interval)));
        break;
    case MTLS_PROBLEM_CERT_NOT_YET_VALID:
        snprintf(
            buffer, size, "the client certificate only becomes valid %s after this capture",
            mtls_format_interval(mtls_difference(mtls_diagnosis_certificate(diagnosis)->not_before,
                                                 certificate_time(diagnosis)),
                                 interval, sizeof(interval)));
        break;
    case MTLS_PROBLEM_CERT_NO_CLIENT_AUTH_EKU:
        snprintf(buffer, size, "the client certificate's Extended Key Usage lacks clientAuth");
        break;
    case MTLS_PROBLEM_CA_NAMES_NO_MATCH:
        snprintf(buffer, size, "the client's chain names none of the server's %u listed CA%s",
                 diagnosis->ca_names_count, diagnosis->ca_names_count == 1 ? "" : "s");
        break;
    case MTLS_PROBLEM_CA_NAMES_NO_CERT:
        snprintf(buffer, size, "the client sent no certificate although the server listed %u CA%s",
                 diagnosis->ca_names_count, diagnosis->ca_names_count == 1 ? "" : "s");
        break;
    case MTLS_PROBLEM_APP_REFUSED:
        snprintf(buffer, size,
                 verdict == MTLS_VERDICT_ACCEPTED
                     ? "TLS accepted the client certificate; the server then refused with %s"
                     : "TLS went on without a client certificate; the server then refused with %s",
                 app_reply(diagnosis));
        break;
    default: buffer[0] = '\0'; break;
    }
}

char *mtls_diagnosis_append_evidence_line(const mtls_diagnosis_t *diagnosis,
                                          const mtls_exchange_t *exchange, mtls_verdict_t verdict,
                                          char *evidence, size_t size)
{
    /* A refusal above TLS first: it is what turned an accepted exchange into a failure. */
    static const mtls_problem_t shown[] = {
        MTLS_PROBLEM_APP_REFUSED,        MTLS_PROBLEM_CERT_EXPIRED,
        MTLS_PROBLEM_CERT_NOT_YET_VALID, MTLS_PROBLEM_CERT_NO_CLIENT_AUTH_EKU,
        MTLS_PROBLEM_CA_NAMES_NO_MATCH,  MTLS_PROBLEM_CA_NAMES_NO_CERT,
    };
    if (!diagnosis || size == 0)
        return evidence;
    bool failed =
        verdict == MTLS_VERDICT_REJECTED || verdict == MTLS_VERDICT_SERVER_IGNORED ||
        mtls_diagnosis_has_problem(diagnosis, exchange, verdict, MTLS_PROBLEM_APP_REFUSED);
    if (!failed)
        return evidence;
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        mtls_problem_t problem = shown[i];
        if (!mtls_diagnosis_has_problem(diagnosis, exchange, verdict, problem))
            continue;
        char clause[320];
        evidence_clause(diagnosis, verdict, problem, clause, sizeof(clause));
        size_t length = strlen(evidence);
        if (length > 0 && evidence[length - 1] == '.')
            evidence[--length] = '\0';
        snprintf(evidence + length, size - length, "%s%s.", length ? "; " : "", clause);
    }
    return evidence;
}
