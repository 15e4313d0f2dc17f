/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_transport.h: what a transport adapter (DTLS, EAP-TLS, QUIC) calls in the
 * glue (packet-mtls.c). TCP is the glue's own adapter.
 *
 * An adapter turns its transport's bytes into the engine's events (whole TLS
 * handshake messages in TLS form: type byte, 3-byte length, body; records'
 * facts; alerts; closes; outer decisions) and hands them here, per connection
 * and with the sender's and receiver's endpoints. The glue keeps the
 * connections, learns which side is the server exactly as for TCP (or is told),
 * feeds the unchanged engine, reads the diagnosis from the messages, indexes the
 * exchanges on the frames and renders them. Adapters never build a protocol
 * tree and never want fields.
 *
 * Every function here is for the first pass only (the post-dissector calls the
 * adapters' frame functions only while !PINFO_FD_VISITED).
 */
#ifndef MTLS_TRANSPORT_H
#define MTLS_TRANSPORT_H

#include <epan/address.h>
#include <epan/packet_info.h>
#include <epan/tvbuff.h>

#include "mtls_engine.h"

typedef enum {
    MTLS_TRANSPORT_TCP = 0,
    MTLS_TRANSPORT_DTLS,
    MTLS_TRANSPORT_EAP_TLS,
    MTLS_TRANSPORT_QUIC,
    MTLS_TRANSPORT_COUNT
} mtls_transport_t;

/* "tcp", "dtls", "eap-tls", "quic" (mtls.transport). */
const char *mtls_transport_name(mtls_transport_t transport);

/* One end of a connection. `addr` is not copied by the caller's struct (a
 * shallow address); `port` is 0 where the transport has none (EAPOL). */
typedef struct {
    address addr;
    guint32 port;
} mtls_endpoint_t;

/* Connection `id` of `transport` (ids are the adapter's own: udp.stream for DTLS
 * and QUIC, a session number for EAP-TLS). When it does not exist yet and
 * `create` is TRUE it is made, with room for addresses as long as
 * `first_sender`'s (an address of another length later leaves the server
 * unknown). NULL when unknown and !create, or on OOM. */
mtls_conn_t *mtls_transport_connection(mtls_transport_t transport, guint32 id,
                                       const address *first_sender, gboolean create);

/* The text `-z mtls,conv`, `-z mtls,exchanges` and mtls.session show for the
 * connection; default: its id in decimal. EAP-TLS sets the Calling-Station-Id or
 * the supplicant's MAC. Copied (each distinct text is kept once). */
void mtls_transport_set_session_label(mtls_conn_t *connection, const char *label);

/* Tells the glue which side is the server when the adapter knows it (EAP: the
 * authenticator / RADIUS server; QUIC: the side that received the first Initial).
 * Without this call the server is learned from the first server-only message
 * (ServerHello, CertificateRequest, ...) or the receiver of a ClientHello. */
void mtls_transport_set_server(mtls_conn_t *connection, const mtls_endpoint_t *server,
                               const mtls_endpoint_t *client);

/* One engine event (event->from_server is set here from the endpoints).
 * `message` is the whole handshake message (from its type byte, 4-byte TLS
 * header) for ClientHello, ServerHello, Certificate and CertificateRequest, else
 * NULL; it is read during the call only (diagnosis: client chain, CA names,
 * SNI). */
void mtls_transport_event(packet_info *pinfo, mtls_conn_t *connection,
                          const mtls_endpoint_t *sender, const mtls_endpoint_t *receiver,
                          const mtls_event_t *event, const guint8 *message, size_t message_length);

/* An outer protocol's decision on this connection (EAP-Success/Failure,
 * Access-Accept/Reject, a QUIC CONNECTION_CLOSE): fed to the engine as
 * MTLS_EV_OUTER (see mtls_engine.h) at this frame, from the server. For
 * MTLS_OUTER_QUIC_CLOSE `quic_error` is the frame's error code (0x100 + a TLS
 * alert for a crypto error: the engine keeps that alert), else 0. Ignored until
 * the connection's server is known. */
void mtls_transport_outer_result(packet_info *pinfo, mtls_conn_t *connection, mtls_outer_t outer,
                                 guint64 quic_error);

/* Decrypted application data of the connection, for the application reader. */
void mtls_transport_application_data(packet_info *pinfo, mtls_conn_t *connection,
                                     gboolean from_server, const guint8 *data, size_t length);

/* The connection is over (nothing more will be fed): the application reader
 * gives its last answer and the glue's per-connection state is freed. */
void mtls_transport_closed(packet_info *pinfo, mtls_conn_t *connection);

/* The same capture-time conversion as TCP's (saturated nanoseconds). */
gint64 mtls_transport_time_ns(const nstime_t *when);

/* Each adapter: set up in proto_reg_handoff_mtls (look up protocols and taps),
 * reset with the capture file (init/cleanup, from the glue's own), and called on
 * the first pass for the frames whose layers (pinfo->layers, walked once by the
 * glue) hold its protocol; `layer` is that protocol's 1-based position there:
 *   DTLS:    "dtls"
 *   QUIC:    "quic"
 * EAP-TLS gets instead the protocol id of the first of "radius", "eapol", "eap"
 * in the layers (the one that carries the bytes). `tvb` is the frame's (the
 * post-dissector's). */
void mtls_dtls_handoff(void);
void mtls_dtls_init(void);
void mtls_dtls_cleanup(void);
void mtls_dtls_frame(tvbuff_t *tvb, packet_info *pinfo, guint32 layer);

void mtls_eap_handoff(void);
void mtls_eap_init(void);
void mtls_eap_cleanup(void);
void mtls_eap_frame(tvbuff_t *tvb, packet_info *pinfo, int carrier);

void mtls_quic_handoff(void);
void mtls_quic_init(void);
void mtls_quic_cleanup(void);
void mtls_quic_frame(tvbuff_t *tvb, packet_info *pinfo, guint32 layer);

#endif /* MTLS_TRANSPORT_H */
