/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PACKET_MTLS_H
#define PACKET_MTLS_H

#include <epan/address.h>

#include "mtls_engine.h"

/* What the reports know of a connection. */
typedef struct {
    address client_address;
    address server_address;
    const char *server_name; /* SNI of the first ClientHello, or NULL; kept until the file closes */
    guint32 stream;          /* tcp.stream */
    guint32 client_port;
    guint32 server_port;
} mtls_connection_info_t;

/* Queued on the "mtls" tap for every exchange shown on a frame. The exchange
 * lives until the capture file is closed, so a report may keep the pointer
 * and read its final state when it draws. */
typedef struct {
    const mtls_exchange_t *exchange;
    const mtls_connection_info_t *connection;
    gboolean final; /* the frame was rendered with the final verdict */
} mtls_tap_info_t;

void proto_register_mtls(void);
void proto_reg_handoff_mtls(void);

#endif /* PACKET_MTLS_H */
