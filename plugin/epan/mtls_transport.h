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
 * MTLS_EV_OUTER (see mtls_engine.h) at this frame. For a QUIC close with a TLS
 * alert set `alert_description` (error code - 0x100), else -1. */
void mtls_transport_outer_result(packet_info *pinfo, mtls_conn_t *connection,
                                 mtls_outer_t outer, int alert_description);

/* Decrypted application data of the connection, for the application reader. */
void mtls_transport_application_data(packet_info *pinfo, mtls_conn_t *connection,
                                     gboolean from_server, const guint8 *data, size_t length);

/* The connection is over (nothing more will be fed): the application reader
 * gives its last answer and the glue's per-connection state is freed. */
void mtls_transport_closed(packet_info *pinfo, mtls_conn_t *connection);

/* The same capture-time conversion as TCP's (saturated nanoseconds). */
gint64 mtls_transport_time_ns(const nstime_t *when);

/* Each adapter: registered in proto_reg_handoff_mtls, reset with the capture
 * file (init/cleanup), and called for every frame on the first pass. The frame
 * function must be cheap for frames that are not its transport's (check the
 * frame's layers first). */
void mtls_dtls_handoff(void);
void mtls_dtls_init(void);
void mtls_dtls_cleanup(void);
void mtls_dtls_frame(tvbuff_t *tvb, packet_info *pinfo);

void mtls_eap_handoff(void);
void mtls_eap_init(void);
void mtls_eap_cleanup(void);
void mtls_eap_frame(tvbuff_t *tvb, packet_info *pinfo);

void mtls_quic_handoff(void);
void mtls_quic_init(void);
void mtls_quic_cleanup(void);
void mtls_quic_frame(tvbuff_t *tvb, packet_info *pinfo);

#endif /* MTLS_TRANSPORT_H */
