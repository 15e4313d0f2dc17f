/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_quic_glue.c: the QUIC transport adapter (mtls_transport.h).
 *
 * The QUIC dissector stores no TLS records: each packet it decrypts becomes a
 * data source "Decrypted QUIC" on pinfo->data_src (on every pass, also tshark
 * -2's first, which has no taps), in the order of the datagram's packets. The
 * adapter reads the datagram's packet headers itself (the udp and udp_follow
 * taps, or the frame's bytes where taps do not run), matches each decrypted
 * payload to its packet by the long header's Length field (an undecryptable
 * packet has no source; the short-header packet comes last), and feeds the
 * frames to the QUIC scanner (wire/mtls_quic.c), whose events go to the engine.
 * A connection is udp.stream; its server is the receiver of the first Initial.
 * Without keys only the Initial packets are read: the scanner does not count
 * Handshake packets for inference, because QUIC packet sizes are not TLS record
 * sizes (frames, coalescing, padding), and a wrong verdict is worse than none.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <epan/conversation.h>
#include <epan/dissectors/packet-udp.h>
#include <epan/packet.h>
#include <epan/proto_data.h>
#include <epan/tap.h>

#include "mtls_compat.h"
#include "mtls_quic.h"
#include "mtls_transport.h"
#include "mtls_udp.h"

/* The adapter's state of one QUIC connection (udp.stream). */
typedef struct {
    mtls_quic_t *scanner; /* NULL once the connection is over */
    mtls_conn_t *connection;
    address server, client; /* copies */
    guint32 server_port, client_port;
    gboolean server_known;
} quic_connection_t;

static GHashTable *quic_connections; /* udp.stream -> quic_connection_t */

static void free_quic_connection(gpointer data)
{
    quic_connection_t *qc = (quic_connection_t *)data;
    mtls_quic_free(qc->scanner);
    free_address(&qc->server);
    free_address(&qc->client);
    g_free(qc);
}

void mtls_quic_handoff(void)
{
}

void mtls_quic_init(void)
{
    quic_connections =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_quic_connection);
}

void mtls_quic_cleanup(void)
{
    if (quic_connections)
        g_hash_table_destroy(quic_connections);
    quic_connections = NULL;
}

/* ---- Scanner events to the engine ------------------------------------------ */

typedef struct {
    packet_info *pinfo;
    quic_connection_t *qc;
} frame_context_t;

static void on_event(void *context, const mtls_event_t *event, const guint8 *message,
                     size_t message_length)
{
    frame_context_t *frame = (frame_context_t *)context;
    quic_connection_t *qc = frame->qc;
    if (event->type == MTLS_EV_OUTER) {
        mtls_transport_outer_result(frame->pinfo, qc->connection, event->outer, event->quic_error);
        return;
    }
    mtls_endpoint_t server = {qc->server, qc->server_port};
    mtls_endpoint_t client = {qc->client, qc->client_port};
    mtls_transport_event(frame->pinfo, qc->connection, event->from_server ? &server : &client,
                         event->from_server ? &client : &server, event, message, message_length);
}

static const mtls_quic_callbacks_t scanner_callbacks = {.event = on_event};

/* This frame's "Decrypted QUIC" payloads, in the order QUIC added them. */
static guint decrypted_payloads(packet_info *pinfo, tvbuff_t **payloads, guint max)
{
    guint count = 0;
    for (GSList *source = pinfo->data_src; source && count < max; source = source->next)
        if (mtls_data_source_named((const struct data_source *)source->data, "Decrypted QUIC"))
            payloads[count++] = get_data_source_tvb((const struct data_source *)source->data);
    return count;
}

void mtls_quic_frame(tvbuff_t *tvb, packet_info *pinfo, guint32 layer _U_)
{
    if (!quic_connections)
        return;
    mtls_udp_want_payloads(); /* the next frames come from the taps */
    mtls_udp_datagram_t datagram;
    if (!mtls_udp_datagram(tvb, pinfo, &datagram) || !datagram.has_stream)
        return;
    if (!datagram.payload || datagram.length == 0)
        return;
    mtls_quic_header_t packets[MTLS_QUIC_MAX_PACKETS];
    size_t packet_count =
        mtls_quic_datagram(datagram.payload, datagram.length, packets, G_N_ELEMENTS(packets));
    if (packet_count == 0)
        return;

    quic_connection_t *qc = (quic_connection_t *)g_hash_table_lookup(
        quic_connections, GUINT_TO_POINTER(datagram.stream));
    if (!qc) {
        /* A connection starts with an Initial; its receiver is the server. */
        if (packets[0].type != MTLS_QUIC_INITIAL)
            return;
        mtls_conn_t *connection =
            mtls_transport_connection(MTLS_TRANSPORT_QUIC, datagram.stream, &datagram.src, TRUE);
        if (!connection)
            return;
        qc = g_new0(quic_connection_t, 1);
        qc->connection = connection;
        qc->scanner = mtls_quic_new();
        copy_address(&qc->server, &datagram.dst);
        copy_address(&qc->client, &datagram.src);
        qc->server_port = datagram.dstport;
        qc->client_port = datagram.srcport;
        g_hash_table_insert(quic_connections, GUINT_TO_POINTER(datagram.stream), qc);
        mtls_endpoint_t server = {qc->server, qc->server_port};
        mtls_endpoint_t client = {qc->client, qc->client_port};
        mtls_transport_set_server(connection, &server, &client);
        mtls_udp_want_payloads();
    }
    if (!qc->scanner)
        return; /* over, or no memory */
    gboolean from_server =
        datagram.srcport == qc->server_port && addresses_equal(&datagram.src, &qc->server);

    tvbuff_t *payloads[MTLS_QUIC_MAX_PACKETS];
    guint payload_count = decrypted_payloads(pinfo, payloads, G_N_ELEMENTS(payloads));
    guint next = 0;
    frame_context_t frame = {pinfo, qc};
    for (size_t i = 0; i < packet_count && next < payload_count; i++) {
        guint length = tvb_captured_length(payloads[next]);
        if (!mtls_quic_payload_fits(&packets[i], length))
            continue; /* not decrypted: no source of its own */
        mtls_quic_packet_t packet = {
            .from_server = from_server,
            .type = packets[i].type,
            .frame = pinfo->num,
            .time_ns = mtls_transport_time_ns(&pinfo->abs_ts),
            .payload = length ? tvb_get_ptr(payloads[next], 0, (gint)length) : NULL,
            .length = length,
        };
        next++;
        mtls_quic_packet(qc->scanner, &packet, &scanner_callbacks, &frame);
        if (mtls_quic_closed(qc->scanner))
            break;
    }
    if (mtls_quic_closed(qc->scanner)) {
        mtls_transport_closed(pinfo, qc->connection);
        mtls_quic_free(qc->scanner);
        qc->scanner = NULL;
    }
}
