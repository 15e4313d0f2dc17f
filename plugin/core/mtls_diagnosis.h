/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Why an exchange went the way it did: what the client's certificate, the
 * server's CA list and the first application response say. Plain C with no
 * Wireshark includes: the glue feeds what it read, this judges and words it.
 */
#ifndef MTLS_DIAGNOSIS_H
#define MTLS_DIAGNOSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls_certs.h"
#include "mtls_engine.h"
#include "mtls_index.h"

/* Windows (SChannel) fails past about this size of CA list. */
#define MTLS_CA_NAMES_LARGE 12288

typedef enum {
    MTLS_CA_MATCH_UNKNOWN = 0, /* no list, no chain, or not compared */
    MTLS_CA_MATCH_NO,
    MTLS_CA_MATCH_YES,
} mtls_ca_match_t;

/* One exchange's diagnosis: 32 bytes, zero when empty, so that a capture of
 * millions of exchanges can keep them in a table (packet-mtls-diagnosis.c). The
 * frames of the client's Certificate and of the CertificateRequest are the
 * exchange's response_frame and request_frame. */
typedef struct {
    /* The client's leaf, from its Certificate message: shared, parsed when read
     * (mtls_diagnosis_certificate) */
    const mtls_cert_t *certificate;
    /* Seconds since 1970: the capture's clock at that frame, with
     * has_certificate_time (a clock before 1970 or after 2105 has none) */
    uint32_t certificate_time;
    /* What the application answered after the exchange (plugin/app/mtls_app.h) */
    uint32_t app_frame;    /* 0: no answer read */
    uint32_t app_reply_id; /* mtls_diagnosis_app_reply() */
    /* The CertificateRequest's CA list (TLS carries it in under 64 KiB: the
     * 16-bit counts saturate only on hostile input) */
    uint16_t ca_names_count;
    uint16_t ca_names_length; /* bytes of the list, as in the message */
    uint16_t chain_length;    /* certificates in the client's chain (saturated) */
    uint16_t app_status;      /* with app_has_status */
    uint8_t app_protocol;     /* the caller's protocol number, 0 = unknown */
    bool has_chain : 1;       /* the client's chain was read (its leaf may not parse) */
    bool has_certificate_time : 1;
    bool has_ca_names : 1;
    bool app_has_status : 1;
    bool app_refused : 1;
    mtls_ca_match_t ca_names_match : 8;
} mtls_diagnosis_t;

/* The CA names of a CertificateRequest, copied: kept by the caller from the
 * request until the client's chain is matched against them. */
typedef struct mtls_ca_list mtls_ca_list_t;

typedef enum {
    MTLS_PROBLEM_CERT_EXPIRED,
    MTLS_PROBLEM_CERT_NOT_YET_VALID,
    MTLS_PROBLEM_CERT_NO_CLIENT_AUTH_EKU,
    MTLS_PROBLEM_CA_NAMES_NO_MATCH,
    MTLS_PROBLEM_CA_NAMES_NO_CERT,
    MTLS_PROBLEM_CA_NAMES_EMPTY,
    MTLS_PROBLEM_CA_NAMES_LARGE,
    MTLS_PROBLEM_APP_REFUSED,
    MTLS_PROBLEM_COUNT
} mtls_problem_t;

mtls_diagnosis_t *mtls_diagnosis_new(void);
void mtls_diagnosis_free(mtls_diagnosis_t *diagnosis);
/* Releases what `diagnosis` holds and zeroes it (for diagnoses kept in place). */
void mtls_diagnosis_clear(mtls_diagnosis_t *diagnosis);
bool mtls_diagnosis_is_empty(const mtls_diagnosis_t *diagnosis);

/* `names` are DER distinguished names; NULL when there are none (or no memory). */
mtls_ca_list_t *mtls_ca_list_new(const mtls_der_t *names, size_t count);
void mtls_ca_list_free(mtls_ca_list_t *list);

/* The CertificateRequest's list: how many names, and its length in the message. */
void mtls_diagnosis_set_ca_names(mtls_diagnosis_t *diagnosis, size_t count, uint32_t list_length);
/* The client's non-empty chain, leaf first, seen at `time` (seconds); matched
 * against `requested`, the request's CA names, when given (from the issuers'
 * bytes). The leaf is kept, not parsed (mtls_diagnosis_certificate parses it).
 * Returns false when there is no leaf to keep. */
bool mtls_diagnosis_set_chain(mtls_diagnosis_t *diagnosis, const mtls_der_t *chain, size_t count,
                              const mtls_ca_list_t *requested, int64_t time);
/* The application's answer after the exchange, read in `frame`: its protocol
 * (the caller's number, 0 = unknown), its numeric status when it has one (one
 * above 65535, which no protocol here sends, counts as none),
 * whether it refused the client by the protocol's own rules, and its text
 * (NULL or "" for none; copied once for all the diagnoses that quote it, and
 * kept until mtls_diagnosis_forget_replies()). Records the first answer only;
 * returns true when it did. */
bool mtls_diagnosis_set_app_answer(mtls_diagnosis_t *diagnosis, uint8_t protocol, bool has_status,
                                   uint32_t status, bool refused, const char *reply,
                                   uint32_t frame);
/* The application's answer as it said it (see above), or NULL. */
const char *mtls_diagnosis_app_reply(const mtls_diagnosis_t *diagnosis);
/* Forgets the replies' texts: call it when no diagnosis is left (when the
 * capture is closed). */
void mtls_diagnosis_forget_replies(void);

/* The client's leaf, parsed at the first call; NULL when there is none or GnuTLS
 * cannot parse it. */
const mtls_cert_info_t *mtls_diagnosis_certificate(const mtls_diagnosis_t *diagnosis);
bool mtls_diagnosis_expired(const mtls_diagnosis_t *diagnosis);
bool mtls_diagnosis_not_yet_valid(const mtls_diagnosis_t *diagnosis);
/* Whether `problem` applies to this exchange, given what the engine says of it. */
bool mtls_diagnosis_has_problem(const mtls_diagnosis_t *diagnosis, const mtls_exchange_t *exchange,
                                mtls_verdict_t verdict, mtls_problem_t problem);
/* The frame that shows `problem` (its expert info), or 0. */
uint32_t mtls_diagnosis_problem_frame(const mtls_diagnosis_t *diagnosis,
                                      const mtls_exchange_t *exchange, mtls_problem_t problem);
/* The full sentence of an expert info, a student can act on it. Returns `buffer`. */
char *mtls_diagnosis_message(const mtls_diagnosis_t *diagnosis, mtls_verdict_t verdict,
                             mtls_problem_t problem, char *buffer, size_t size);

/* Appends the problems to an evidence line when the exchange was rejected or
 * ignored, or refused above TLS: "...; the client certificate expired 3 days
 * before this capture." Returns `evidence`. */
char *mtls_diagnosis_append_evidence_line(const mtls_diagnosis_t *diagnosis,
                                          const mtls_exchange_t *exchange, mtls_verdict_t verdict,
                                          char *evidence, size_t size);

/* "3 days", "5 hours", "1 minute", "40 seconds": an interval as a person says it. */
char *mtls_format_interval(int64_t seconds, char *buffer, size_t size);

#endif /* MTLS_DIAGNOSIS_H */
