/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of the client-certificate reader and the CA-list match
 * (plugin/core/mtls_certs.h, GnuTLS), and of the diagnosis built on them
 * (plugin/core/mtls_diagnosis.h), whose sentences quote what GnuTLS read.
 *
 * Input: one control byte, then DER elements back to back (a last one cut
 * short is kept as it is). An element whose content starts with a SET (0x31),
 * or is empty, is a distinguished name of the server's CA list; any other is a
 * certificate of the client's chain, leaf first.
 *
 * Control bits 0-1 choose the capture's clock: 0 a fixed date in 2026, 1 just
 * before the leaf's notBefore, 2 just after its notAfter, 3 read from the 9 bytes
 * after the control byte: a mode byte, then a big-endian 64-bit value v; mode & 3
 * is 0: v seconds, 1: INT64_MIN + (uint32_t)v, 2: INT64_MAX - (uint32_t)v, 3: the
 * fixed date + (int32_t)v. A hostile pcapng's timestamps reach both ends of
 * time_t (64-bit counts of its units, turned into seconds, wrap), so these are
 * clocks the glue can pass. Bit 2: the diagnosis is told the request listed the
 * CA names; bit 3: the application then answered 403.
 *
 * Seeds: the client certificates of the sample captures, with and without the
 * CA names of the server's request (tests/fuzz/make-corpus.sh).
 */
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "fuzz_common.h"
#include "mtls_certs.h"
#include "mtls_diagnosis.h"

#define MAX_CHAIN    16
#define MAX_CA_NAMES 64
#define CAPTURE_TIME INT64_C(1795464534) /* 2026-11-23, when the sample captures were made */

/* One DER element from `in`: tag, length (short or long form), content. */
static bool next_element(fuzz_input_t *in, mtls_der_t *element, bool *is_name)
{
    size_t start = in->offset;
    if (fuzz_left(in) == 0)
        return false;
    fuzz_u8(in); /* tag */
    size_t length = fuzz_u8(in);
    if (length & 0x80) {
        unsigned bytes = length & 0x7f;
        length = 0;
        for (unsigned i = 0; i < bytes && i < 4; i++)
            length = length << 8 | fuzz_u8(in);
    }
    size_t taken;
    const uint8_t *content = fuzz_bytes(in, length, &taken);
    element->data = in->data + start;
    element->length = in->offset - start;
    *is_name = taken == 0 || content[0] == 0x31;
    return true;
}

/* What the reader promises of a certificate it parsed. */
static void check_info(const mtls_cert_info_t *info, const uint8_t *der, size_t length)
{
    fuzz_touch_string(info->subject);
    fuzz_touch_string(info->issuer);
    fuzz_touch_string(info->serial);
    if (info->serial)
        for (const char *c = info->serial; *c; c++)
            FUZZ_CHECK((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'F'));
    FUZZ_CHECK(memchr(info->key, '\0', sizeof(info->key)) != NULL);
    FUZZ_CHECK(info->issuer_der != NULL || info->issuer_der_length == 0);
    if (info->issuer_der)
        fuzz_touch(info->issuer_der, info->issuer_der_length);
    FUZZ_CHECK(!info->eku_client_auth || info->has_eku);
    uint8_t digest[MTLS_SHA256_LENGTH];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der, length, digest) == 0)
        FUZZ_CHECK(memcmp(digest, info->sha256, sizeof(digest)) == 0);
    (void)mtls_cert_allows_client_auth(info);
}

/* The diagnosis of an exchange that answered with this chain, at `time`. */
static void diagnose(const mtls_der_t *chain, size_t chain_count, const mtls_der_t *names,
                     size_t name_count, uint8_t control, int64_t raw_time)
{
    mtls_diagnosis_t *diagnosis = mtls_diagnosis_new();
    mtls_ca_list_t *requested = mtls_ca_list_new(names, name_count);
    if (!diagnosis) {
        mtls_ca_list_free(requested);
        return;
    }
    size_t list_length = 0;
    for (size_t i = 0; i < name_count; i++)
        list_length += 2 + names[i].length;
    if (control & 0x04)
        mtls_diagnosis_set_ca_names(diagnosis, name_count, (uint32_t)list_length);

    const mtls_cert_info_t *leaf =
        chain_count ? mtls_cert_get(chain[0].data, chain[0].length) : NULL;
    int64_t time = CAPTURE_TIME;
    switch (control & 0x03) {
    case 1: time = leaf ? (int64_t)leaf->not_before - 1 : time; break;
    case 2: time = leaf ? (int64_t)leaf->not_after + 1 : time; break;
    case 3: time = raw_time; break;
    default: break;
    }
    bool leaf_parsed = leaf != NULL;
    mtls_cert_release(leaf);
    for (size_t i = 0; i < chain_count; i++) {
        /* The DER walk's issuer lies inside the certificate, and is GnuTLS's. */
        mtls_der_t issuer;
        if (!mtls_cert_issuer_der(chain[i].data, chain[i].length, &issuer))
            continue;
        FUZZ_CHECK(issuer.data >= chain[i].data &&
                   issuer.data + issuer.length <= chain[i].data + chain[i].length);
        const mtls_cert_info_t *parsed = mtls_cert_get(chain[i].data, chain[i].length);
        if (parsed && parsed->issuer_der)
            FUZZ_CHECK(parsed->issuer_der_length == issuer.length &&
                       memcmp(parsed->issuer_der, issuer.data, issuer.length) == 0);
        mtls_cert_release(parsed);
    }
    bool kept = mtls_diagnosis_set_chain(diagnosis, chain, chain_count, requested, time);
    FUZZ_CHECK(kept == (diagnosis->certificate != NULL));
    /* Parsed only when read: the same answer as the eager read above. */
    FUZZ_CHECK((mtls_diagnosis_certificate(diagnosis) != NULL) == leaf_parsed);
    bool expired = mtls_diagnosis_expired(diagnosis);
    bool not_yet_valid = mtls_diagnosis_not_yet_valid(diagnosis);
    /* A clock outside what the diagnosis holds (1970 to 2105) judges nothing. */
    if (time < 0 || time > (int64_t)UINT32_MAX)
        FUZZ_CHECK(!expired && !not_yet_valid);

    mtls_exchange_t exchange;
    memset(&exchange, 0, sizeof(exchange));
    exchange.requested = true;
    exchange.response = chain_count ? MTLS_RESPONSE_CERTIFICATE : MTLS_RESPONSE_EMPTY;
    exchange.request_frame = 4;
    exchange.response_frame = 8;
    exchange.decision_frame = 9;
    mtls_diagnosis_set_app_answer(diagnosis, 1, true, (control & 0x08) ? 403 : 200,
                                  (control & 0x08) != 0, (control & 0x10) ? "HTTP 403" : NULL, 10);
    static const mtls_verdict_t verdicts[] = {MTLS_VERDICT_REJECTED, MTLS_VERDICT_ACCEPTED,
                                              MTLS_VERDICT_SERVER_IGNORED};
    for (size_t v = 0; v < sizeof(verdicts) / sizeof(verdicts[0]); v++) {
        for (int problem = 0; problem < MTLS_PROBLEM_COUNT; problem++) {
            if (!mtls_diagnosis_has_problem(diagnosis, &exchange, verdicts[v], problem))
                continue;
            char message[1024];
            mtls_diagnosis_message(diagnosis, verdicts[v], problem, message, sizeof(message));
            FUZZ_CHECK(memchr(message, '\0', sizeof(message)) != NULL);
            fuzz_touch_string(message);
            (void)mtls_diagnosis_problem_frame(diagnosis, &exchange, problem);
        }
        char evidence[512] = "The server sent a fatal alert.";
        mtls_diagnosis_append_evidence_line(diagnosis, &exchange, verdicts[v], evidence,
                                            sizeof(evidence));
        FUZZ_CHECK(memchr(evidence, '\0', sizeof(evidence)) != NULL);
        fuzz_touch_string(evidence);
    }
    FUZZ_CHECK((control & 0x10) == 0 ||
               strcmp(mtls_diagnosis_app_reply(diagnosis), "HTTP 403") == 0);
    mtls_diagnosis_free(diagnosis);
    mtls_ca_list_free(requested);
    mtls_diagnosis_forget_replies();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size, 0};
    uint8_t control = fuzz_u8(&in);
    int64_t raw_time = 0;
    if ((control & 0x03) == 3) {
        uint8_t mode = fuzz_u8(&in);
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | fuzz_u8(&in);
        switch (mode & 0x03) {
        case 0: raw_time = (int64_t)bits; break;
        case 1: raw_time = INT64_MIN + (int64_t)(uint32_t)bits; break;
        case 2: raw_time = INT64_MAX - (int64_t)(uint32_t)bits; break;
        default: raw_time = CAPTURE_TIME + (int32_t)(uint32_t)bits; break;
        }
    }

    mtls_der_t chain[MAX_CHAIN], names[MAX_CA_NAMES];
    size_t chain_count = 0, name_count = 0;
    mtls_der_t element;
    bool is_name;
    while (next_element(&in, &element, &is_name)) {
        if (is_name && name_count < MAX_CA_NAMES)
            names[name_count++] = element;
        else if (!is_name && chain_count < MAX_CHAIN)
            chain[chain_count++] = element;
    }

    /* The copying reader, on the leaf. */
    if (chain_count > 0) {
        mtls_cert_info_t info;
        if (mtls_cert_parse(chain[0].data, chain[0].length, &info)) {
            check_info(&info, chain[0].data, chain[0].length);
            mtls_cert_info_clear(&info);
        } else {
            FUZZ_CHECK(info.subject == NULL && info.issuer_der == NULL);
        }
    }

    /* The shared reader: the same bytes give the same entry while it is cached. */
    bool expected_listed = false;
    for (size_t i = 0; i < chain_count; i++) {
        const mtls_cert_info_t *cert = mtls_cert_get(chain[i].data, chain[i].length);
        if (!cert)
            continue;
        check_info(cert, chain[i].data, chain[i].length);
        const mtls_cert_info_t *again = mtls_cert_get(chain[i].data, chain[i].length);
        FUZZ_CHECK(again == cert);
        mtls_cert_release(again);
        mtls_cert_release(cert);
    }
    /* The CA-list match reads each issuer with the DER walk (no GnuTLS): also
     * for a certificate GnuTLS refuses, as long as its issuer can be found. */
    for (size_t i = 0; i < chain_count; i++) {
        mtls_der_t issuer;
        if (!mtls_cert_issuer_der(chain[i].data, chain[i].length, &issuer))
            continue;
        for (size_t j = 0; j < name_count; j++)
            if (names[j].length == issuer.length &&
                memcmp(names[j].data, issuer.data, issuer.length) == 0)
                expected_listed = true;
    }
    FUZZ_CHECK(mtls_chain_issuer_listed(chain, chain_count, names, name_count) == expected_listed);

    diagnose(chain, chain_count, names, name_count, control, raw_time);
    /* Every input stands alone: nothing parsed here is remembered for the next. */
    mtls_cert_cache_clear();
    return 0;
}
