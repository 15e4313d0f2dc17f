/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PACKET_MTLS_H
#define PACKET_MTLS_H

#include <epan/address.h>

#include "mtls_engine.h"

/* What the reports know of a connection. It lives in the engine's connection
 * allocation (mtls_conn_extra), with both addresses in place: 24 bytes for
 * IPv4, so that a connection takes 104 bytes (its 80-byte first exchange and
 * this). What only some connections have (the state of an open one, a gap's
 * frame, an EAP session label) is kept beside it, by connection. */
typedef struct {
    guint32 stream;         /* tcp.stream, or the transport adapter's connection id */
    guint32 server_name_id; /* SNI of the first ClientHello: mtls_connection_server_name() */
    guint16 client_port;
    guint16 server_port;
    guint8 transport;      /* an mtls_transport_t (mtls_transport.h) */
    guint8 has_gap : 1;    /* part of the stream was missing: mtls_connection_gap_frame() */
    guint8 has_label : 1;  /* the adapter named the session: mtls_connection_session() */
    guint8 address_type;   /* an address_type; AT_NONE until the server is known */
    guint8 address_length; /* of each address below */
    guint8 addresses[];    /* the client's, then the server's */
} mtls_connection_info_t;

/* The connection's SNI, or NULL. Each name is kept once until the file is
 * closed: connections to one server share the pointer. */
const char *mtls_connection_server_name(const mtls_connection_info_t *info);
/* The first frame after which part of the stream was missing, or 0. */
guint32 mtls_connection_gap_frame(const mtls_connection_info_t *info);
/* "tcp", "dtls", "eap-tls", "quic". */
const char *mtls_connection_transport(const mtls_connection_info_t *info);
/* The text that names the connection within its transport: the stream number
 * (tcp.stream, udp.stream) or the adapter's label (EAP-TLS: the
 * Calling-Station-Id or the supplicant's MAC). Written into `buffer`, returned. */
const char *mtls_connection_session(const mtls_connection_info_t *info, char *buffer, size_t size);
/* The client's or the server's address, pointing into `info`. */
void mtls_connection_address(const mtls_connection_info_t *info, gboolean server, address *out);

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
