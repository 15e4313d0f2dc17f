/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_dtls_glue.c: the DTLS transport adapter (mtls_transport.h). Not written
 * yet: it reads nothing, so DTLS connections show no exchanges.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include "mtls_transport.h"

void mtls_dtls_handoff(void) {}

void mtls_dtls_init(void) {}

void mtls_dtls_cleanup(void) {}

void mtls_dtls_frame(tvbuff_t *tvb _U_, packet_info *pinfo _U_, guint32 layer _U_) {}
