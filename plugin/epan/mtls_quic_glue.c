/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_quic_glue.c: the QUIC transport adapter (mtls_transport.h). Not written
 * yet: it reads nothing, so QUIC connections show no exchanges.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include "mtls_transport.h"

void mtls_quic_handoff(void) {}

void mtls_quic_init(void) {}

void mtls_quic_cleanup(void) {}

void mtls_quic_frame(tvbuff_t *tvb _U_, packet_info *pinfo _U_, guint32 layer _U_) {}
