/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the certificate reader (plugin/mtls_certs.[ch]) and of the
 * diagnosis built on it (plugin/mtls_diagnosis.[ch]).
 *
 * The certificates are in test_certs_data.h, made by make-test-certs.sh with
 * fixed names, serials, dates and extensions; every expected value below is
 * what that script asked openssl for (its output is in the header's comments).
 */
#include "mtls_certs.h"
#include "mtls_diagnosis.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_certs_data.h"
#include "unit_check.h"

/* ---------------------------------------------------------------- runner -- */

#define CHECK_STR(actual, expected)                                                                \
    do {                                                                                           \
        const char *a_ = (actual), *e_ = (expected);                                               \
        if (!a_ || strcmp(a_, e_) != 0) {                                                          \
            fprintf(stderr, "%s:%d: got \"%s\", expected \"%s\"\n", __FILE__, __LINE__,            \
                    a_ ? a_ : "(null)", e_);                                                       \
            test_failed = true;                                                                    \
        }                                                                                          \
    } while (0)

#define DER(array) ((mtls_der_t){array, sizeof(array)})

/* UTC instants the certificates were made with (date -u -d ... +%s). */
#define T_2020_01_01 1577836800
#define T_2021_01_01 1609459200
#define T_2024_01_01 1704067200
#define T_2034_01_01 2019686400
#define DAY          86400

static bool fingerprint_is(const uint8_t digest[MTLS_SHA256_LENGTH], const char *hex)
{
    char text[2 * MTLS_SHA256_LENGTH + 1];
    for (int i = 0; i < MTLS_SHA256_LENGTH; i++)
        snprintf(text + 2 * i, 3, "%02X", digest[i]);
    return strcmp(text, hex) == 0;
}

/* ------------------------------------------------------------ certificates -- */

static void ec_client_cert_with_client_auth_reads_known_values(void)
{
    mtls_cert_info_t info;
    REQUIRE(mtls_cert_parse(alice_der, sizeof(alice_der), &info));
    CHECK_STR(info.subject, "CN=alice,O=mtls tests");
    CHECK_STR(info.issuer, "CN=mtls test CA,O=mtls tests");
    CHECK_STR(info.serial, "1001");
    CHECK(info.not_before == T_2024_01_01);
    CHECK(info.not_after == T_2034_01_01);
    CHECK(fingerprint_is(info.sha256, alice_sha256));
    CHECK_STR(info.key, "EC P-256");
    CHECK(info.has_eku);
    CHECK(info.eku_client_auth);
    CHECK(mtls_cert_allows_client_auth(&info));
    mtls_cert_info_clear(&info);
}

static void rsa_cert_with_server_auth_only_lacks_client_auth(void)
{
    mtls_cert_info_t info;
    REQUIRE(mtls_cert_parse(bob_der, sizeof(bob_der), &info));
    CHECK_STR(info.subject, "CN=bob");
    CHECK_STR(info.serial, "A1B2"); /* DER 00 A1 B2: the sign byte is not shown */
    CHECK_STR(info.key, "RSA 2048");
    CHECK(fingerprint_is(info.sha256, bob_sha256));
    CHECK(info.has_eku);
    CHECK(!info.eku_client_auth);
    CHECK(!mtls_cert_allows_client_auth(&info));
    mtls_cert_info_clear(&info);
}

static void ed25519_cert_without_eku_allows_client_auth(void)
{
    mtls_cert_info_t info;
    REQUIRE(mtls_cert_parse(dave_der, sizeof(dave_der), &info));
    CHECK_STR(info.subject, "CN=dave");
    CHECK_STR(info.issuer, "CN=mtls other CA");
    CHECK_STR(info.serial, "7F");
    CHECK_STR(info.key, "Ed25519");
    CHECK(!info.has_eku);
    CHECK(mtls_cert_allows_client_auth(&info));
    mtls_cert_info_clear(&info);
}

static void expired_cert_reads_its_validity(void)
{
    mtls_cert_info_t info;
    REQUIRE(mtls_cert_parse(carol_der, sizeof(carol_der), &info));
    CHECK_STR(info.serial, "0C");
    CHECK(info.not_before == T_2020_01_01);
    CHECK(info.not_after == T_2021_01_01);
    CHECK(fingerprint_is(info.sha256, carol_sha256));
    mtls_cert_info_clear(&info);
}

static void garbage_is_not_a_certificate(void)
{
    static const uint8_t garbage[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01};
    mtls_cert_info_t info;
    CHECK(!mtls_cert_parse(garbage, sizeof(garbage), &info));
    CHECK(info.subject == NULL && info.serial == NULL);
    CHECK(!mtls_cert_parse(alice_der, 40, &info)); /* truncated */
    CHECK(!mtls_cert_parse(NULL, 0, &info));
    mtls_cert_info_clear(&info);
}

static void same_certificate_is_parsed_once_and_shared(void)
{
    const mtls_cert_info_t *first = mtls_cert_get(alice_der, sizeof(alice_der));
    const mtls_cert_info_t *again = mtls_cert_get(alice_der, sizeof(alice_der));
    REQUIRE(first != NULL);
    CHECK(again == first);
    const mtls_cert_info_t *other = mtls_cert_get(bob_der, sizeof(bob_der));
    REQUIRE(other != NULL);
    CHECK(other != first);
    /* Closing the file forgets the cache; references still held stay readable. */
    mtls_cert_cache_clear();
    CHECK_STR(first->subject, "CN=alice,O=mtls tests");
    CHECK(first->issuer_der_length == sizeof(ca_subject_der) &&
          memcmp(first->issuer_der, ca_subject_der, sizeof(ca_subject_der)) == 0);
    const mtls_cert_info_t *fresh = mtls_cert_get(alice_der, sizeof(alice_der));
    REQUIRE(fresh != NULL);
    CHECK_STR(fresh->subject, first->subject);
    mtls_cert_release(fresh);
    mtls_cert_release(other);
    mtls_cert_release(again);
    mtls_cert_release(first);
    CHECK(mtls_cert_get(alice_der, 40) == NULL); /* truncated */
    CHECK(mtls_cert_get(NULL, 0) == NULL);
    mtls_cert_cache_clear();
}

/* Every distinct certificate held is kept once, however many there are: a
 * later reference to the same bytes finds the same entry (no eviction that
 * would copy it again per exchange), and a freed one leaves the index. */
static void many_certificates_each_kept_once(void)
{
    enum { COUNT = 3000 };
    static const mtls_cert_t *held[COUNT];
    uint8_t der[64];
    memset(der, 0x30, sizeof(der));
    for (unsigned i = 0; i < COUNT; i++) {
        memcpy(der + sizeof(der) - sizeof(i), &i, sizeof(i));
        held[i] = mtls_cert_ref(der, sizeof(der));
        REQUIRE(held[i] != NULL);
    }
    for (unsigned i = 0; i < COUNT; i++) {
        memcpy(der + sizeof(der) - sizeof(i), &i, sizeof(i));
        const mtls_cert_t *again = mtls_cert_ref(der, sizeof(der));
        CHECK(again == held[i]);
        mtls_cert_unref(again);
    }
    /* Not a certificate: nothing parses, the bytes are still shared. */
    CHECK(mtls_cert_info(held[0]) == NULL);
    for (unsigned i = 0; i < COUNT; i += 2)
        mtls_cert_unref(held[i]);
    for (unsigned i = 1; i < COUNT; i += 2) {
        memcpy(der + sizeof(der) - sizeof(i), &i, sizeof(i));
        const mtls_cert_t *again = mtls_cert_ref(der, sizeof(der));
        CHECK(again == held[i]);
        mtls_cert_unref(again);
        mtls_cert_unref(held[i]);
    }
    mtls_cert_cache_clear();
}

/* The issuer read by the small DER walk is GnuTLS's raw issuer, byte for byte,
 * for every test certificate; truncations and garbage give none. A reference
 * does not parse until the info is read. */
static void issuer_walk_agrees_with_gnutls(void)
{
    static const struct {
        const unsigned char *der;
        size_t length;
    } certs[] = {{ca_der, sizeof(ca_der)},       {intermediate_der, sizeof(intermediate_der)},
                 {other_der, sizeof(other_der)}, {alice_der, sizeof(alice_der)},
                 {bob_der, sizeof(bob_der)},     {carol_der, sizeof(carol_der)},
                 {dave_der, sizeof(dave_der)},   {erin_der, sizeof(erin_der)}};
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
        mtls_der_t issuer;
        REQUIRE(mtls_cert_issuer_der(certs[i].der, certs[i].length, &issuer));
        mtls_cert_info_t info;
        REQUIRE(mtls_cert_parse(certs[i].der, certs[i].length, &info));
        CHECK(issuer.length == info.issuer_der_length &&
              memcmp(issuer.data, info.issuer_der, issuer.length) == 0);
        mtls_cert_info_clear(&info);
        for (size_t cut = 0; cut < certs[i].length; cut += 7) {
            /* A cut certificate: the outer length no longer fits. */
            CHECK(!mtls_cert_issuer_der(certs[i].der, cut, &issuer));
        }
    }
    static const uint8_t garbage[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01};
    mtls_der_t issuer;
    CHECK(!mtls_cert_issuer_der(garbage, sizeof(garbage), &issuer));
    CHECK(!mtls_cert_issuer_der(NULL, 0, &issuer));

    mtls_cert_cache_clear();
    const mtls_cert_t *lazy = mtls_cert_ref(garbage, sizeof(garbage));
    REQUIRE(lazy != NULL); /* kept: garbage is only found out when read */
    CHECK(mtls_cert_info(lazy) == NULL);
    CHECK(mtls_cert_info(lazy) == NULL); /* and stays unparsable */
    mtls_cert_unref(lazy);
    const mtls_cert_t *alice = mtls_cert_ref(alice_der, sizeof(alice_der));
    REQUIRE(alice != NULL);
    const mtls_cert_info_t *info = mtls_cert_info(alice);
    REQUIRE(info != NULL);
    CHECK_STR(info->subject, "CN=alice,O=mtls tests");
    CHECK(mtls_cert_info(alice) == info);
    mtls_cert_unref(alice);
    mtls_cert_cache_clear();
}

static void leaf_issuer_matches_listed_ca(void)
{
    mtls_der_t chain[] = {DER(alice_der)};
    mtls_der_t listed[] = {DER(other_subject_der), DER(ca_subject_der)};
    CHECK(mtls_chain_issuer_listed(chain, 1, listed, 2));
    CHECK(!mtls_chain_issuer_listed(chain, 1, listed, 1)); /* only the other CA */
    CHECK(!mtls_chain_issuer_listed(chain, 1, listed, 0));
}

static void intermediate_issuer_matches_root_listed(void)
{
    mtls_der_t chain[] = {DER(erin_der), DER(intermediate_der)};
    mtls_der_t root[] = {DER(ca_subject_der)};
    mtls_der_t intermediate[] = {DER(intermediate_subject_der)};
    CHECK(mtls_chain_issuer_listed(chain, 2, root, 1));
    CHECK(!mtls_chain_issuer_listed(chain, 1, root, 1)); /* the leaf alone names the intermediate */
    CHECK(mtls_chain_issuer_listed(chain, 1, intermediate, 1));
}

static void names_compare_as_whole_der(void)
{
    mtls_der_t chain[] = {DER(alice_der)};
    mtls_der_t prefix[] = {{ca_subject_der, sizeof(ca_subject_der) - 1}};
    CHECK(!mtls_chain_issuer_listed(chain, 1, prefix, 1));
}

/* --------------------------------------------------------------- diagnosis -- */

static mtls_exchange_t exchange_answered(mtls_response_t response)
{
    mtls_exchange_t exchange;
    memset(&exchange, 0, sizeof(exchange));
    exchange.number = 1;
    exchange.requested = true;
    exchange.response = response;
    exchange.request_frame = 6;
    exchange.response_frame = 8;
    exchange.decision_frame = 9;
    exchange.alert = -1;
    return exchange;
}

static void expired_cert_is_judged_at_capture_time(void)
{
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    mtls_der_t chain[] = {DER(carol_der)};
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, chain, 1, NULL, T_2021_01_01 + 3 * DAY + 5));
    CHECK(mtls_diagnosis_expired(diagnosis));
    CHECK(!mtls_diagnosis_not_yet_valid(diagnosis));
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_CERTIFICATE);
    CHECK(mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_REJECTED,
                                     MTLS_PROBLEM_CERT_EXPIRED));
    CHECK(mtls_diagnosis_problem_frame(diagnosis, &exchange, MTLS_PROBLEM_CERT_EXPIRED) == 8);
    char message[512];
    mtls_diagnosis_message(diagnosis, MTLS_VERDICT_REJECTED, MTLS_PROBLEM_CERT_EXPIRED, message,
                           sizeof(message));
    CHECK(strstr(message, "CN=carol") && strstr(message, "2021-01-01 00:00:00 UTC") &&
          strstr(message, "3 days before this capture"));

    char evidence[512] =
        "Server rejected the client certificate: fatal alert bad_certificate (42).";
    mtls_diagnosis_append_evidence_line(diagnosis, &exchange, MTLS_VERDICT_REJECTED, evidence,
                                        sizeof(evidence));
    CHECK_STR(evidence, "Server rejected the client certificate: fatal alert bad_certificate (42); "
                        "the client certificate expired 3 days before this capture.");

    /* The same certificate, captured while it was valid. */
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, chain, 1, NULL, T_2020_01_01 + DAY));
    CHECK(!mtls_diagnosis_expired(diagnosis));
    CHECK(!mtls_diagnosis_not_yet_valid(diagnosis));
    /* ... and before it was. */
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, chain, 1, NULL, T_2020_01_01 - 2 * DAY));
    CHECK(mtls_diagnosis_not_yet_valid(diagnosis));
    /* A clock the diagnosis cannot hold (before 1970, after 2105) judges
     * nothing, rather than something wrong. */
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, chain, 1, NULL, -1));
    CHECK(!mtls_diagnosis_expired(diagnosis) && !mtls_diagnosis_not_yet_valid(diagnosis));
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, chain, 1, NULL, (int64_t)UINT32_MAX + 1));
    CHECK(!mtls_diagnosis_expired(diagnosis) && !mtls_diagnosis_not_yet_valid(diagnosis));
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, chain, 1, NULL, (int64_t)UINT32_MAX));
    CHECK(mtls_diagnosis_expired(diagnosis));
    mtls_diagnosis_free(diagnosis);
}

static void accepted_exchange_gets_no_certificate_clauses(void)
{
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    mtls_der_t chain[] = {DER(bob_der)};
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, chain, 1, NULL, T_2024_01_01 + DAY));
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_CERTIFICATE);
    CHECK(mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_ACCEPTED,
                                     MTLS_PROBLEM_CERT_NO_CLIENT_AUTH_EKU));
    char evidence[256] = "Client sent a certificate chain; the server went on.";
    mtls_diagnosis_append_evidence_line(diagnosis, &exchange, MTLS_VERDICT_ACCEPTED, evidence,
                                        sizeof(evidence));
    CHECK_STR(evidence, "Client sent a certificate chain; the server went on.");
    mtls_diagnosis_append_evidence_line(diagnosis, &exchange, MTLS_VERDICT_REJECTED, evidence,
                                        sizeof(evidence));
    CHECK(strstr(evidence, "; the client certificate's Extended Key Usage lacks clientAuth.") !=
          NULL);
    mtls_diagnosis_free(diagnosis);
}

static void ca_names_match_is_decided_when_the_chain_arrives(void)
{
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    CHECK(mtls_diagnosis_is_empty(diagnosis));
    mtls_der_t names[] = {DER(ca_subject_der)};
    mtls_ca_list_t *requested = mtls_ca_list_new(names, 1);
    REQUIRE(requested != NULL);
    mtls_diagnosis_set_ca_names(diagnosis, 1, (uint32_t)(2 + sizeof(ca_subject_der)));
    CHECK(diagnosis->has_ca_names && diagnosis->ca_names_count == 1);
    CHECK(!mtls_diagnosis_is_empty(diagnosis));
    CHECK(diagnosis->ca_names_match == MTLS_CA_MATCH_UNKNOWN);
    mtls_der_t untrusted[] = {DER(dave_der)};
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, untrusted, 1, requested, T_2024_01_01 + DAY));
    CHECK(diagnosis->ca_names_match == MTLS_CA_MATCH_NO);
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_CERTIFICATE);
    CHECK(mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_REJECTED,
                                     MTLS_PROBLEM_CA_NAMES_NO_MATCH));
    mtls_diagnosis_free(diagnosis);

    diagnosis = mtls_diagnosis_new();
    mtls_diagnosis_set_ca_names(diagnosis, 1, (uint32_t)(2 + sizeof(ca_subject_der)));
    mtls_der_t good[] = {DER(erin_der), DER(intermediate_der)};
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, good, 2, requested, T_2024_01_01 + DAY));
    CHECK(diagnosis->ca_names_match == MTLS_CA_MATCH_YES);
    CHECK(!mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_ACCEPTED,
                                      MTLS_PROBLEM_CA_NAMES_NO_MATCH));
    mtls_diagnosis_free(diagnosis);

    /* Without the list (not kept, or no memory) the match stays unknown. */
    diagnosis = mtls_diagnosis_new();
    mtls_diagnosis_set_ca_names(diagnosis, 1, (uint32_t)(2 + sizeof(ca_subject_der)));
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, good, 2, NULL, T_2024_01_01 + DAY));
    CHECK(diagnosis->ca_names_match == MTLS_CA_MATCH_UNKNOWN);
    mtls_diagnosis_free(diagnosis);
    mtls_ca_list_free(requested);
    CHECK(mtls_ca_list_new(names, 0) == NULL);
}

static void diagnosis_counts_saturate(void)
{
    mtls_diagnosis_t diagnosis;
    memset(&diagnosis, 0, sizeof(diagnosis));
    mtls_diagnosis_set_ca_names(&diagnosis, 70000, 100000);
    CHECK(diagnosis.ca_names_count == UINT16_MAX && diagnosis.ca_names_length == UINT16_MAX);
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_CERTIFICATE);
    CHECK(mtls_diagnosis_has_problem(&diagnosis, &exchange, MTLS_VERDICT_REJECTED,
                                     MTLS_PROBLEM_CA_NAMES_LARGE));
    mtls_diagnosis_clear(&diagnosis);
    CHECK(mtls_diagnosis_is_empty(&diagnosis));
    /* 40 with issue 12's reply pointer; 32 again with the reply's id and the
     * time in 32 bits (a table of them holds one per exchange). */
    CHECK(sizeof(mtls_diagnosis_t) <= 32);
}

static void no_certificate_despite_listed_cas_is_a_problem(void)
{
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    mtls_diagnosis_set_ca_names(diagnosis, 2, 100);
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_EMPTY);
    CHECK(mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_SERVER_IGNORED,
                                     MTLS_PROBLEM_CA_NAMES_NO_CERT));
    CHECK(mtls_diagnosis_problem_frame(diagnosis, &exchange, MTLS_PROBLEM_CA_NAMES_NO_CERT) == 8);
    CHECK(!mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_SERVER_IGNORED,
                                      MTLS_PROBLEM_CA_NAMES_EMPTY));
    char message[512];
    mtls_diagnosis_message(diagnosis, MTLS_VERDICT_SERVER_IGNORED, MTLS_PROBLEM_CA_NAMES_NO_CERT,
                           message, sizeof(message));
    CHECK(strstr(message, "listed 2 acceptable CA names") != NULL);
    mtls_diagnosis_free(diagnosis);
}

static void empty_and_large_ca_lists_are_flagged(void)
{
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_EMPTY);
    mtls_diagnosis_set_ca_names(diagnosis, 0, 0);
    CHECK(mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_SERVER_IGNORED,
                                     MTLS_PROBLEM_CA_NAMES_EMPTY));
    CHECK(mtls_diagnosis_problem_frame(diagnosis, &exchange, MTLS_PROBLEM_CA_NAMES_EMPTY) == 6);
    CHECK(!mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_SERVER_IGNORED,
                                      MTLS_PROBLEM_CA_NAMES_NO_CERT));

    mtls_diagnosis_set_ca_names(diagnosis, 1, MTLS_CA_NAMES_LARGE);
    CHECK(!mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_SERVER_IGNORED,
                                      MTLS_PROBLEM_CA_NAMES_LARGE));
    mtls_diagnosis_set_ca_names(diagnosis, 1, 13000);
    CHECK(mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_SERVER_IGNORED,
                                     MTLS_PROBLEM_CA_NAMES_LARGE));
    char message[512];
    mtls_diagnosis_message(diagnosis, MTLS_VERDICT_SERVER_IGNORED, MTLS_PROBLEM_CA_NAMES_LARGE,
                           message, sizeof(message));
    CHECK(strstr(message, "13000 bytes") != NULL);
    mtls_diagnosis_free(diagnosis);
}

static void http_refusal_after_server_ignored_is_explained(void)
{
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_EMPTY);
    CHECK(mtls_diagnosis_set_app_answer(diagnosis, 1, true, 400, true, "HTTP 400 Bad Request", 12));
    /* the first answer only */
    CHECK(!mtls_diagnosis_set_app_answer(diagnosis, 1, true, 200, false, "HTTP 200 OK", 20));
    CHECK(diagnosis->app_status == 400 && diagnosis->app_frame == 12 && diagnosis->app_refused);
    CHECK_STR(mtls_diagnosis_app_reply(diagnosis), "HTTP 400 Bad Request");
    CHECK(mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_SERVER_IGNORED,
                                     MTLS_PROBLEM_APP_REFUSED));
    CHECK(!mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_NOT_REQUESTED,
                                      MTLS_PROBLEM_APP_REFUSED));
    char evidence[512] = "Client sent no certificate; the server went on.";
    mtls_diagnosis_append_evidence_line(diagnosis, &exchange, MTLS_VERDICT_SERVER_IGNORED, evidence,
                                        sizeof(evidence));
    CHECK_STR(evidence, "Client sent no certificate; the server went on; TLS went on without a "
                        "client certificate; the server then refused with HTTP 400 Bad Request.");
    char message[512];
    mtls_diagnosis_message(diagnosis, MTLS_VERDICT_SERVER_IGNORED, MTLS_PROBLEM_APP_REFUSED,
                           message, sizeof(message));
    CHECK(strncmp(message,
                  "TLS went on without a client certificate; the server then refused with HTTP "
                  "400 Bad Request in frame 12",
                  103) == 0);
    mtls_diagnosis_free(diagnosis);
}

/* An answer that did not refuse is kept, and is no problem; an answer without a
 * text or status (only the protocol) neither; a long reply is kept whole, once
 * for all that quote it, and the frame 0 (no frame) is refused. */
static void app_answers_that_did_not_refuse_are_no_problem(void)
{
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_CERTIFICATE);
    CHECK(!mtls_diagnosis_set_app_answer(diagnosis, 3, true, 250, false, "SMTP 250 ok", 0));
    CHECK(mtls_diagnosis_is_empty(diagnosis));
    CHECK(mtls_diagnosis_set_app_answer(diagnosis, 3, true, 250, false, "SMTP 250 2.1.5 Ok", 30));
    CHECK(!mtls_diagnosis_is_empty(diagnosis));
    CHECK(!mtls_diagnosis_has_problem(diagnosis, &exchange, MTLS_VERDICT_ACCEPTED,
                                      MTLS_PROBLEM_APP_REFUSED));
    mtls_diagnosis_clear(diagnosis);
    CHECK(mtls_diagnosis_set_app_answer(diagnosis, 6, false, 0, false, NULL, 31));
    CHECK(mtls_diagnosis_app_reply(diagnosis) == NULL && diagnosis->app_protocol == 6 &&
          !diagnosis->app_has_status);
    mtls_diagnosis_clear(diagnosis);
    char long_reply[400];
    memset(long_reply, 'x', sizeof(long_reply) - 1);
    long_reply[sizeof(long_reply) - 1] = '\0';
    CHECK(mtls_diagnosis_set_app_answer(diagnosis, 3, true, 421, true, long_reply, 32));
    CHECK_STR(mtls_diagnosis_app_reply(diagnosis), long_reply); /* copied whole */
    CHECK(mtls_diagnosis_app_reply(diagnosis) != long_reply);
    /* Another diagnosis quoting the same reply shares its one copy. */
    mtls_diagnosis_t *other = mtls_diagnosis_new();
    CHECK(mtls_diagnosis_set_app_answer(other, 3, true, 421, true, long_reply, 40));
    CHECK(mtls_diagnosis_app_reply(other) == mtls_diagnosis_app_reply(diagnosis));
    mtls_diagnosis_free(other);
    char evidence[1024] = "Client sent a certificate chain; the server went on.";
    mtls_diagnosis_append_evidence_line(diagnosis, &exchange, MTLS_VERDICT_ACCEPTED, evidence,
                                        sizeof(evidence));
    CHECK(strstr(evidence, "the server then refused with xxx") != NULL);
    mtls_diagnosis_free(diagnosis);
}

static void http_refusal_after_accepted_expired_cert_names_both(void)
{
    /* nginx ssl_verify_client on: TLS accepts an expired certificate, HTTP says 400. */
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    mtls_der_t chain[] = {DER(carol_der)};
    REQUIRE(mtls_diagnosis_set_chain(diagnosis, chain, 1, NULL, T_2021_01_01 + 10 * DAY));
    CHECK(mtls_diagnosis_set_app_answer(diagnosis, 1, true, 400, true, "HTTP 400 Bad Request", 14));
    mtls_exchange_t exchange = exchange_answered(MTLS_RESPONSE_CERTIFICATE);
    char evidence[512] = "Client sent a certificate chain; the server went on.";
    mtls_diagnosis_append_evidence_line(diagnosis, &exchange, MTLS_VERDICT_ACCEPTED, evidence,
                                        sizeof(evidence));
    CHECK_STR(evidence, "Client sent a certificate chain; the server went on; TLS accepted the "
                        "client certificate; the server then refused with HTTP 400 Bad Request; "
                        "the client certificate expired 10 days before this capture.");
    mtls_diagnosis_free(diagnosis);
}

static void intervals_read_as_people_say_them(void)
{
    char text[40];
    CHECK_STR(mtls_format_interval(3 * DAY + 7200, text, sizeof(text)), "3 days");
    CHECK_STR(mtls_format_interval(DAY, text, sizeof(text)), "1 day");
    CHECK_STR(mtls_format_interval(5 * 3600 + 59, text, sizeof(text)), "5 hours");
    CHECK_STR(mtls_format_interval(60, text, sizeof(text)), "1 minute");
    CHECK_STR(mtls_format_interval(40, text, sizeof(text)), "40 seconds");
    CHECK_STR(mtls_format_interval(0, text, sizeof(text)), "0 seconds");
    CHECK_STR(mtls_format_interval(-2 * DAY, text, sizeof(text)), "2 days");
}

/* ------------------------------------------------------------------ main -- */

static const unit_test_t tests[] = {
    UNIT_TEST(ec_client_cert_with_client_auth_reads_known_values),
    UNIT_TEST(rsa_cert_with_server_auth_only_lacks_client_auth),
    UNIT_TEST(ed25519_cert_without_eku_allows_client_auth),
    UNIT_TEST(expired_cert_reads_its_validity),
    UNIT_TEST(garbage_is_not_a_certificate),
    UNIT_TEST(same_certificate_is_parsed_once_and_shared),
    UNIT_TEST(many_certificates_each_kept_once),
    UNIT_TEST(issuer_walk_agrees_with_gnutls),
    UNIT_TEST(leaf_issuer_matches_listed_ca),
    UNIT_TEST(intermediate_issuer_matches_root_listed),
    UNIT_TEST(names_compare_as_whole_der),
    UNIT_TEST(expired_cert_is_judged_at_capture_time),
    UNIT_TEST(accepted_exchange_gets_no_certificate_clauses),
    UNIT_TEST(ca_names_match_is_decided_when_the_chain_arrives),
    UNIT_TEST(diagnosis_counts_saturate),
    UNIT_TEST(no_certificate_despite_listed_cas_is_a_problem),
    UNIT_TEST(empty_and_large_ca_lists_are_flagged),
    UNIT_TEST(http_refusal_after_server_ignored_is_explained),
    UNIT_TEST(app_answers_that_did_not_refuse_are_no_problem),
    UNIT_TEST(http_refusal_after_accepted_expired_cert_names_both),
    UNIT_TEST(intervals_read_as_people_say_them),
};

int main(void)
{
    int failed = run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
    mtls_diagnosis_forget_replies();
    return failed;
}
