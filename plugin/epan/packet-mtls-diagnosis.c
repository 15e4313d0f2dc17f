/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * packet-mtls-diagnosis.c: fields and expert infos that say why an exchange
 * went the way it did (mtls.client_cert.*, mtls.ca_names.*, mtls.app_*).
 *
 * packet-mtls.c reads the client's chain, the CertificateRequest's CA names and
 * the application's answer on the first pass and hands them here; this keeps a
 * 40-byte record per exchange, by the exchange's tag, until the capture file is
 * closed, and renders it. The CA names themselves are kept only until the
 * client answers.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/proto.h>

#include "mtls_diagnosis.h"
#include "mtls_certs.h"
#include "mtls_index.h"
#include "packet-mtls-diagnosis.h"
#include "packet-mtls.h"

static int hf_client_cert_subject = -1;
static int hf_client_cert_issuer = -1;
static int hf_client_cert_serial = -1;
static int hf_client_cert_not_before = -1;
static int hf_client_cert_not_after = -1;
static int hf_client_cert_expired = -1;
static int hf_client_cert_not_yet_valid = -1;
static int hf_client_cert_client_auth_eku = -1;
static int hf_client_cert_sha256 = -1;
static int hf_client_cert_key = -1;
static int hf_ca_names_count = -1;
static int hf_ca_names_length = -1;
static int hf_ca_names_match = -1;
static int hf_app_protocol = -1;
static int hf_app_status = -1;
static int hf_app_reply = -1;
static int hf_app_refused = -1;

static expert_field ei_problem[MTLS_PROBLEM_COUNT] = {EI_INIT, EI_INIT, EI_INIT, EI_INIT,
                                                      EI_INIT, EI_INIT, EI_INIT, EI_INIT};

/* mtls_diagnosis_t by exchange tag - 1 (the glue tags every exchange it shows),
 * in place: 32 bytes an exchange, all zero for those with nothing to diagnose. */
static mtls_table_t *diagnoses;
/* mtls_ca_list_t by exchange tag: a CertificateRequest's names, kept only until
 * the client answers. */
static GHashTable *pending_ca_lists;

static void ca_list_free(gpointer data)
{
    mtls_ca_list_free((mtls_ca_list_t *)data);
}

void mtls_diagnosis_init(void)
{
    diagnoses = mtls_table_new(sizeof(mtls_diagnosis_t));
    pending_ca_lists = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, ca_list_free);
}

void mtls_diagnosis_cleanup(void)
{
    if (diagnoses)
        for (guint32 i = 0; i < mtls_table_length(diagnoses); i++) {
            mtls_diagnosis_t *diagnosis = mtls_table_get(diagnoses, i);
            if (diagnosis)
                mtls_diagnosis_clear(diagnosis); /* releases the shared certificate */
        }
    mtls_table_free(diagnoses);
    diagnoses = NULL;
    if (pending_ca_lists)
        g_hash_table_destroy(pending_ca_lists);
    pending_ca_lists = NULL;
    mtls_cert_cache_clear();
    mtls_diagnosis_forget_replies();
}

static mtls_diagnosis_t *lookup(const mtls_exchange_t *exchange)
{
    if (!diagnoses || !exchange || exchange->tag == 0)
        return NULL;
    mtls_diagnosis_t *diagnosis = mtls_table_get(diagnoses, exchange->tag - 1);
    return diagnosis && !mtls_diagnosis_is_empty(diagnosis) ? diagnosis : NULL;
}

const char *mtls_diagnosis_app_label(const mtls_exchange_t *exchange)
{
    const mtls_diagnosis_t *diagnosis = lookup(exchange);
    if (!diagnosis || !diagnosis->app_frame)
        return NULL;
    const char *reply = mtls_diagnosis_app_reply(diagnosis);
    if (reply)
        return reply;
    const char *name = mtls_app_protocol_name((mtls_app_protocol_t)diagnosis->app_protocol);
    return name[0] ? name : NULL;
}

static mtls_diagnosis_t *lookup_or_add(const mtls_exchange_t *exchange)
{
    if (!diagnoses || !exchange || exchange->tag == 0)
        return NULL;
    return mtls_table_slot(diagnoses, exchange->tag - 1);
}

const mtls_diagnosis_t *mtls_diagnosis_of(const mtls_exchange_t *exchange)
{
    return lookup(exchange);
}

static gpointer tag_key(const mtls_exchange_t *exchange)
{
    return GUINT_TO_POINTER(exchange->tag);
}

void mtls_diagnosis_read_chain(packet_info *pinfo, const mtls_exchange_t *exchange,
                               const mtls_der_t *chain, size_t count)
{
    if (count == 0)
        return;
    mtls_diagnosis_t *diagnosis = lookup_or_add(exchange);
    if (!diagnosis)
        return;
    const mtls_ca_list_t *requested = g_hash_table_lookup(pending_ca_lists, tag_key(exchange));
    mtls_diagnosis_set_chain(diagnosis, chain, count, requested, (int64_t)pinfo->abs_ts.secs);
    g_hash_table_remove(pending_ca_lists, tag_key(exchange)); /* matched once */
}

void mtls_diagnosis_read_ca_names(const mtls_exchange_t *exchange, const mtls_der_t *names,
                                  size_t count, guint32 list_length)
{
    mtls_diagnosis_t *diagnosis = lookup_or_add(exchange);
    if (!diagnosis)
        return;
    mtls_diagnosis_set_ca_names(diagnosis, count, list_length);
    mtls_ca_list_t *list = mtls_ca_list_new(names, count);
    if (list)
        g_hash_table_replace(pending_ca_lists, tag_key(exchange), list);
    else
        g_hash_table_remove(pending_ca_lists, tag_key(exchange));
}

void mtls_diagnosis_exchange_updated(const mtls_exchange_t *exchange)
{
    /* An answer without a chain will not be matched: drop the names. */
    if (exchange && exchange->tag && exchange->response != MTLS_RESPONSE_PENDING &&
        exchange->response != MTLS_RESPONSE_CERTIFICATE && pending_ca_lists)
        g_hash_table_remove(pending_ca_lists, tag_key(exchange));
}

gboolean mtls_diagnosis_read_app_answer(packet_info *pinfo, const mtls_exchange_t *exchange,
                                        const mtls_app_answer_t *answer)
{
    mtls_diagnosis_t *diagnosis = lookup_or_add(exchange);
    /* Replies repeat ("HTTP 403 Forbidden"): each text is kept once. */
    return diagnosis && mtls_diagnosis_set_app_answer(diagnosis, (guint8)answer->protocol,
                                                      answer->has_status, answer->status,
                                                      answer->refused, answer->reply, pinfo->num);
}

void mtls_diagnosis_append_evidence(const mtls_exchange_t *exchange, mtls_verdict_t verdict,
                                    char *evidence, size_t size)
{
    const mtls_diagnosis_t *diagnosis = lookup(exchange);
    if (diagnosis)
        mtls_diagnosis_append_evidence_line(diagnosis, exchange, verdict, evidence, size);
}

static void add_generated(proto_item *item)
{
    proto_item_set_generated(item);
}

static void render_certificate(tvbuff_t *tvb, proto_tree *tree, const mtls_diagnosis_t *diagnosis,
                               const mtls_cert_info_t *cert)
{
    if (cert->subject)
        add_generated(
            proto_tree_add_string(tree, hf_client_cert_subject, tvb, 0, 0, cert->subject));
    if (cert->issuer)
        add_generated(proto_tree_add_string(tree, hf_client_cert_issuer, tvb, 0, 0, cert->issuer));
    if (cert->serial)
        add_generated(proto_tree_add_string(tree, hf_client_cert_serial, tvb, 0, 0, cert->serial));
    nstime_t not_before = {cert->not_before, 0};
    nstime_t not_after = {cert->not_after, 0};
    add_generated(proto_tree_add_time(tree, hf_client_cert_not_before, tvb, 0, 0, &not_before));
    add_generated(proto_tree_add_time(tree, hf_client_cert_not_after, tvb, 0, 0, &not_after));
    add_generated(proto_tree_add_boolean(tree, hf_client_cert_expired, tvb, 0, 0,
                                         mtls_diagnosis_expired(diagnosis)));
    add_generated(proto_tree_add_boolean(tree, hf_client_cert_not_yet_valid, tvb, 0, 0,
                                         mtls_diagnosis_not_yet_valid(diagnosis)));
    add_generated(proto_tree_add_boolean(tree, hf_client_cert_client_auth_eku, tvb, 0, 0,
                                         mtls_cert_allows_client_auth(cert)));
    add_generated(proto_tree_add_bytes_with_length(tree, hf_client_cert_sha256, tvb, 0, 0,
                                                   cert->sha256, (gint)sizeof(cert->sha256)));
    add_generated(proto_tree_add_string(tree, hf_client_cert_key, tvb, 0, 0, cert->key));
}

void mtls_diagnosis_render(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, proto_item *item,
                           const mtls_exchange_t *exchange, mtls_verdict_t verdict)
{
    const mtls_diagnosis_t *diagnosis = lookup(exchange);
    if (!diagnosis)
        return;
    /* Without a tree nothing here is shown: the leaf stays unparsed. */
    const mtls_cert_info_t *cert = tree ? mtls_diagnosis_certificate(diagnosis) : NULL;
    if (cert)
        render_certificate(tvb, tree, diagnosis, cert);
    if (diagnosis->has_ca_names) {
        add_generated(
            proto_tree_add_uint(tree, hf_ca_names_count, tvb, 0, 0, diagnosis->ca_names_count));
        add_generated(
            proto_tree_add_uint(tree, hf_ca_names_length, tvb, 0, 0, diagnosis->ca_names_length));
        if (diagnosis->ca_names_match != MTLS_CA_MATCH_UNKNOWN)
            add_generated(proto_tree_add_boolean(tree, hf_ca_names_match, tvb, 0, 0,
                                                 diagnosis->ca_names_match == MTLS_CA_MATCH_YES));
    }
    if (diagnosis->app_frame) {
        add_generated(proto_tree_add_string(
            tree, hf_app_protocol, tvb, 0, 0,
            mtls_app_protocol_name((mtls_app_protocol_t)diagnosis->app_protocol)));
        if (diagnosis->app_has_status)
            add_generated(
                proto_tree_add_uint(tree, hf_app_status, tvb, 0, 0, diagnosis->app_status));
        const char *reply = mtls_diagnosis_app_reply(diagnosis);
        if (reply)
            add_generated(proto_tree_add_string(tree, hf_app_reply, tvb, 0, 0, reply));
        add_generated(
            proto_tree_add_boolean(tree, hf_app_refused, tvb, 0, 0, diagnosis->app_refused));
    }

    for (int problem = 0; problem < MTLS_PROBLEM_COUNT; problem++) {
        if (pinfo->num != mtls_diagnosis_problem_frame(diagnosis, exchange, problem) ||
            !mtls_diagnosis_has_problem(diagnosis, exchange, verdict, problem))
            continue;
        char message[512];
        mtls_diagnosis_message(diagnosis, verdict, problem, message, sizeof(message));
        expert_add_info_format(pinfo, item, &ei_problem[problem], "%s", message);
    }
}

void mtls_diagnosis_register(int proto)
{
    static hf_register_info hf[] = {
        {&hf_client_cert_subject,
         {"Client certificate subject", "mtls.client_cert.subject", FT_STRING, BASE_NONE, NULL, 0x0,
          "Subject of the client's leaf certificate (RFC 4514)", HFILL}},
        {&hf_client_cert_issuer,
         {"Client certificate issuer", "mtls.client_cert.issuer", FT_STRING, BASE_NONE, NULL, 0x0,
          "Issuer of the client's leaf certificate (RFC 4514)", HFILL}},
        {&hf_client_cert_serial,
         {"Client certificate serial", "mtls.client_cert.serial", FT_STRING, BASE_NONE, NULL, 0x0,
          "Serial number of the client's leaf certificate, in hex", HFILL}},
        {&hf_client_cert_not_before,
         {"Client certificate not before", "mtls.client_cert.not_before", FT_ABSOLUTE_TIME,
          ABSOLUTE_TIME_UTC, NULL, 0x0, "Start of the leaf's validity", HFILL}},
        {&hf_client_cert_not_after,
         {"Client certificate not after", "mtls.client_cert.not_after", FT_ABSOLUTE_TIME,
          ABSOLUTE_TIME_UTC, NULL, 0x0, "End of the leaf's validity", HFILL}},
        {&hf_client_cert_expired,
         {"Client certificate expired", "mtls.client_cert.expired", FT_BOOLEAN, BASE_NONE, NULL,
          0x0, "The leaf had expired when the client sent it (capture timestamp)", HFILL}},
        {&hf_client_cert_not_yet_valid,
         {"Client certificate not yet valid", "mtls.client_cert.not_yet_valid", FT_BOOLEAN,
          BASE_NONE, NULL, 0x0,
          "The leaf was not yet valid when the client sent it (capture timestamp)", HFILL}},
        {&hf_client_cert_client_auth_eku,
         {"Client certificate allows clientAuth", "mtls.client_cert.client_auth_eku", FT_BOOLEAN,
          BASE_NONE, NULL, 0x0,
          "False when the leaf has an Extended Key Usage without id-kp-clientAuth", HFILL}},
        {&hf_client_cert_sha256,
         {"Client certificate SHA-256", "mtls.client_cert.sha256", FT_BYTES, SEP_COLON, NULL, 0x0,
          "SHA-256 fingerprint of the client's leaf certificate", HFILL}},
        {&hf_client_cert_key,
         {"Client certificate key", "mtls.client_cert.key", FT_STRING, BASE_NONE, NULL, 0x0,
          "Public key of the leaf, e.g. EC P-256, RSA 2048", HFILL}},
        {&hf_ca_names_count,
         {"CA names", "mtls.ca_names.count", FT_UINT32, BASE_DEC, NULL, 0x0,
          "Number of CA distinguished names in the CertificateRequest", HFILL}},
        {&hf_ca_names_length,
         {"CA names length", "mtls.ca_names.length", FT_UINT32, BASE_DEC, NULL, 0x0,
          "Bytes of the CertificateRequest's CA list", HFILL}},
        {&hf_ca_names_match,
         {"CA names match", "mtls.ca_names.match", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The issuer of a certificate in the client's chain is one of the listed CA names",
          HFILL}},
        {&hf_app_protocol,
         {"Application protocol", "mtls.app_protocol", FT_STRING, BASE_NONE, NULL, 0x0,
          "The application protocol spoken after the exchange: http, http2, smtp, imap, pop3, "
          "ldap, mysql, pgsql, mqtt, or empty when unknown",
          HFILL}},
        {&hf_app_status,
         {"Application status", "mtls.app_status", FT_UINT32, BASE_DEC, NULL, 0x0,
          "The application's numeric answer after the exchange: HTTP status, SMTP reply code, "
          "LDAP resultCode, MySQL error code (0: OK), MQTT CONNACK code",
          HFILL}},
        {&hf_app_reply,
         {"Application reply", "mtls.app_reply", FT_STRING, BASE_NONE, NULL, 0x0,
          "The application's answer after the exchange, as it said it", HFILL}},
        {&hf_app_refused,
         {"Application refused", "mtls.app_refused", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The application's answer refused the client, by the protocol's own rules", HFILL}},
    };

    static ei_register_info ei[] = {
        {&ei_problem[MTLS_PROBLEM_CERT_EXPIRED],
         {"mtls.expert.cert_expired", PI_SECURITY, PI_WARN, "The client certificate had expired",
          EXPFILL}},
        {&ei_problem[MTLS_PROBLEM_CERT_NOT_YET_VALID],
         {"mtls.expert.cert_not_yet_valid", PI_SECURITY, PI_WARN,
          "The client certificate was not yet valid", EXPFILL}},
        {&ei_problem[MTLS_PROBLEM_CERT_NO_CLIENT_AUTH_EKU],
         {"mtls.expert.cert_no_client_auth_eku", PI_SECURITY, PI_WARN,
          "The client certificate's Extended Key Usage lacks clientAuth", EXPFILL}},
        {&ei_problem[MTLS_PROBLEM_CA_NAMES_NO_MATCH],
         {"mtls.expert.ca_names_no_match", PI_SECURITY, PI_WARN,
          "The client's chain matches none of the server's CA names", EXPFILL}},
        {&ei_problem[MTLS_PROBLEM_CA_NAMES_NO_CERT],
         {"mtls.expert.ca_names_no_cert", PI_SECURITY, PI_WARN,
          "The client sent no certificate although the server listed CA names", EXPFILL}},
        {&ei_problem[MTLS_PROBLEM_CA_NAMES_EMPTY],
         {"mtls.expert.ca_names_empty", PI_SECURITY, PI_NOTE,
          "The server's CertificateRequest lists no CA names", EXPFILL}},
        {&ei_problem[MTLS_PROBLEM_CA_NAMES_LARGE],
         {"mtls.expert.ca_names_large", PI_SECURITY, PI_WARN, "The server's CA list is very large",
          EXPFILL}},
        {&ei_problem[MTLS_PROBLEM_APP_REFUSED],
         {"mtls.expert.app_refused", PI_SECURITY, PI_WARN,
          "The server refused the client above TLS, in the application's own protocol", EXPFILL}},
    };

    proto_register_field_array(proto, hf, array_length(hf));
    expert_module_t *expert = expert_register_protocol(proto);
    expert_register_field_array(expert, ei, array_length(ei));
}
