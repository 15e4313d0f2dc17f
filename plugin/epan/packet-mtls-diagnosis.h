/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The epan side of the diagnosis (mtls_diagnosis.c): its fields and expert
 * infos, and what it keeps per exchange between the first pass and rendering.
 */
#ifndef PACKET_MTLS_DIAGNOSIS_H
#define PACKET_MTLS_DIAGNOSIS_H

#include <epan/packet.h>

#include "mtls_app.h"
#include "mtls_certs.h"
#include "mtls_diagnosis.h"
#include "mtls_engine.h"

void mtls_diagnosis_register(int proto);
void mtls_diagnosis_init(void);
void mtls_diagnosis_cleanup(void);

/* First pass: what the glue read for an exchange at this frame. */
void mtls_diagnosis_read_chain(packet_info *pinfo, const mtls_exchange_t *exchange,
                               const mtls_der_t *chain, size_t count);
void mtls_diagnosis_read_ca_names(const mtls_exchange_t *exchange, const mtls_der_t *names,
                                  size_t count, guint32 list_length);
/* After every event: drops what the exchange no longer needs. */
void mtls_diagnosis_exchange_updated(const mtls_exchange_t *exchange);
/* What the application answered after the exchange, read in this frame; the
 * first answer only: TRUE when recorded. */
gboolean mtls_diagnosis_read_app_answer(packet_info *pinfo, const mtls_exchange_t *exchange,
                                        const mtls_app_answer_t *answer);

/* The application's answer for a report cell: its reply, else its protocol;
 * NULL when none was read. */
const char *mtls_diagnosis_app_label(const mtls_exchange_t *exchange);

/* What is known of an exchange (CA names, the client's chain, the application's
 * answer), or NULL. */
const mtls_diagnosis_t *mtls_diagnosis_of(const mtls_exchange_t *exchange);

/* Rendering. */
void mtls_diagnosis_append_evidence(const mtls_exchange_t *exchange, mtls_verdict_t verdict,
                                    char *evidence, size_t size);
void mtls_diagnosis_render(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, proto_item *item,
                           const mtls_exchange_t *exchange, mtls_verdict_t verdict);

#endif /* PACKET_MTLS_DIAGNOSIS_H */
