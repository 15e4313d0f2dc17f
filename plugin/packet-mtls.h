/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PACKET_MTLS_H
#define PACKET_MTLS_H

void proto_register_mtls(void);
void proto_reg_handoff_mtls(void);

#endif /* PACKET_MTLS_H */
