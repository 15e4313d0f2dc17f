/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The exchange as a picture: a sequence analysis "mtls" on the mtls tap, shown by
 * Statistics > Flow Graph (flow type "mTLS") and by tshark's `-z flow,mtls,standard`.
 * See SPEC.md "Reports" and README "Flow graph".
 */
#ifndef MTLS_FLOW_H
#define MTLS_FLOW_H

/* Registers the sequence analysis (nothing on a Wireshark whose layout of it the
 * plugin does not know, see mtls_compat.h). Call from proto_register_mtls(). */
void mtls_flow_register(int proto);

#endif /* MTLS_FLOW_H */
