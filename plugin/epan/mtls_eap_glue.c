/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_eap_glue.c: the EAP transport adapter (mtls_transport.h). Not written
 * yet: it reads nothing, so EAP connections show no exchanges.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include "mtls_transport.h"

void mtls_eap_handoff(void) {}

void mtls_eap_init(void) {}

void mtls_eap_cleanup(void) {}

void mtls_eap_frame(tvbuff_t *tvb _U_, packet_info *pinfo _U_, guint32 layer _U_) {}
