/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_dtls_glue.c: the DTLS transport adapter (mtls_transport.h).
 *
 * For each frame the DTLS dissector read (first pass only), the UDP payload and
 * udp.stream come from the `udp` and `udp_follow` taps of the same frame (the
 * i-th entry of one pairs with the i-th of the other), or, where taps do not run
 * (tshark -2's first pass), from the frame's bytes and UDP's conversation data.
 * The payload goes through the connection's DTLS scanner (wire/mtls_dtls.c) with
 * the DTLS dissector's decrypted records of the frame (SslPacketInfo, found by
 * each record's position), and its events go to the glue. A connection is a
 * udp.stream; UDP has no close, so nothing ends one before the capture does.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <epan/conversation.h>
#include <epan/dissectors/packet-tls-utils.h>
#include <epan/dissectors/packet-udp.h>
#include <epan/packet.h>
#include <epan/tap.h>

#include "mtls_compat.h"
#include "mtls_dtls.h"
#include "mtls_transport.h"
#include "mtls_udp.h"

static int proto_dtls = -1;

/* The adapter's own state of a connection: its scanner, and which direction
 * (0: the lower endpoint, as for TCP) is the client once a hello shows it. */
typedef struct {
    mtls_conn_t *connection;
    mtls_dtls_t *scanner;
    int client_direction; /* -1 while unknown */
} dtls_connection_t;

static GHashTable *dtls_connections; /* udp.stream -> dtls_connection_t */

static void free_connection(gpointer data)
{
    dtls_connection_t *c = (dtls_connection_t *)data;
    mtls_dtls_free(c->scanner);
    g_free(c);
}

void mtls_dtls_handoff(void)
{
    proto_dtls = proto_get_id_by_filter_name("dtls");
}

void mtls_dtls_init(void)
{
    dtls_connections = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_connection);
}

void mtls_dtls_cleanup(void)
{
    if (dtls_connections)
        g_hash_table_destroy(dtls_connections);
    dtls_connections = NULL;
}

/* ---- From datagrams to the glue ------------------------------------------ */

typedef struct {
    packet_info *pinfo;
    guint32 layer;
    dtls_connection_t *state;
    const mtls_udp_datagram_t *datagram;
    unsigned packet_direction;
    SslRecordInfo *records; /* the DTLS dissector's decrypted records of the frame */
    gboolean records_fetched;
} frame_context_t;

static void on_event(void *context, unsigned direction, const mtls_event_t *event,
                     const uint8_t *message, size_t message_length)
{
    frame_context_t *frame = (frame_context_t *)context;
    const mtls_udp_datagram_t *d = frame->datagram;
    gboolean same = direction == frame->packet_direction;
    mtls_endpoint_t sender, receiver;
    copy_address_shallow(&sender.addr, same ? &d->src : &d->dst);
    sender.port = same ? d->srcport : d->dstport;
    copy_address_shallow(&receiver.addr, same ? &d->dst : &d->src);
    receiver.port = same ? d->dstport : d->srcport;
    /* Who the client is, for the application data (the glue learns the server the
     * same way from the same events). */
    if (frame->state->client_direction < 0) {
        switch (event->type) {
        case MTLS_EV_CLIENT_HELLO: frame->state->client_direction = (int)direction; break;
        case MTLS_EV_SERVER_HELLO:
        case MTLS_EV_HELLO_REQUEST:
        case MTLS_EV_CERTIFICATE_REQUEST:
        case MTLS_EV_SERVER_HELLO_DONE:
        case MTLS_EV_NEW_SESSION_TICKET:
            frame->state->client_direction = (int)(direction ^ 1u);
            break;
        default: break;
        }
    }
    mtls_transport_event(frame->pinfo, frame->state->connection, &sender, &receiver, event, message,
                         message_length);
}

static void on_application_data(void *context, unsigned direction, uint32_t frame_number _U_,
                                const uint8_t *data, size_t length)
{
    frame_context_t *frame = (frame_context_t *)context;
    if (frame->state->client_direction < 0)
        return;
    mtls_transport_application_data(frame->pinfo, frame->state->connection,
                                    (int)direction != frame->state->client_direction, data, length);
}

/* The DTLS dissector's plaintext of a protected record: the decrypted record
 * whose id is the record body's position in the frame (the payload's raw
 * offset, plus the body's offset in the datagram). */
static bool on_plaintext(void *context, unsigned direction _U_,
                         const mtls_dtls_protected_record_t *record,
                         mtls_dtls_plaintext_t *plaintext)
{
    frame_context_t *frame = (frame_context_t *)context;
    if (!frame->records_fetched) {
        frame->records = mtls_dtls_decrypted_records(frame->pinfo, proto_dtls, frame->layer);
        frame->records_fetched = TRUE;
    }
    gint id = frame->datagram->payload_raw_offset + (gint)record->body_offset;
    for (SslRecordInfo *candidate = frame->records; candidate; candidate = candidate->next) {
        if (candidate->id != id)
            continue;
        plaintext->content_type = (uint8_t)candidate->type;
        plaintext->data = candidate->plain_data;
        plaintext->length = candidate->data_len;
        return true;
    }
    return false;
}

static const mtls_dtls_callbacks_t scanner_callbacks = {
    .event = on_event,
    .application_data = on_application_data,
    .plaintext = on_plaintext,
};

void mtls_dtls_frame(tvbuff_t *tvb, packet_info *pinfo, guint32 layer)
{
    if (!dtls_connections)
        return;
    mtls_udp_want_payloads();
    mtls_udp_datagram_t datagram;
    if (!mtls_udp_datagram(tvb, pinfo, &datagram) || !datagram.has_stream)
        return;
    dtls_connection_t *state = (dtls_connection_t *)g_hash_table_lookup(
        dtls_connections, GUINT_TO_POINTER(datagram.stream));
    if (!state) {
        mtls_conn_t *connection =
            mtls_transport_connection(MTLS_TRANSPORT_DTLS, datagram.stream, &datagram.src, TRUE);
        if (!connection)
            return;
        state = g_new0(dtls_connection_t, 1);
        state->connection = connection;
        state->scanner = mtls_dtls_new();
        state->client_direction = -1;
        g_hash_table_insert(dtls_connections, GUINT_TO_POINTER(datagram.stream), state);
    }
    if (!state->scanner)
        return; /* no memory */
    mtls_dtls_datagram_t input = {
        .direction = mtls_udp_direction(&datagram),
        .frame = pinfo->num,
        .time_ns = mtls_transport_time_ns(&pinfo->abs_ts),
        .payload = datagram.payload,
        .length = datagram.length,
    };
    frame_context_t frame = {
        .pinfo = pinfo,
        .layer = layer,
        .state = state,
        .datagram = &datagram,
        .packet_direction = input.direction,
    };
    mtls_dtls_datagram(state->scanner, &input, &scanner_callbacks, &frame);
}
