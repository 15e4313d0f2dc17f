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

static int proto_udp = -1;
static int udp_tap_id = -1;
static int udp_follow_tap_id = -1;
static gboolean follow_listener_registered;

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
    proto_udp = proto_get_id_by_filter_name("udp");
    udp_tap_id = find_tap_id("udp");
    udp_follow_tap_id = find_tap_id("udp_follow");
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

/* A listener without callbacks makes UDP queue each datagram's payload on
 * "udp_follow" (as TCP's want_tcp_segments does for TCP): registered with the
 * first QUIC connection, frames before it are read from their bytes. */
static void want_udp_payloads(void)
{
    static int follow_listener;
    if (follow_listener_registered || udp_follow_tap_id < 0)
        return;
    GString *error = register_tap_listener("udp_follow", &follow_listener, NULL,
                                           TL_IS_DISSECTOR_HELPER, NULL, NULL, NULL, NULL);
    if (error)
        g_string_free(error, TRUE);
    follow_listener_registered = TRUE;
}

/* One UDP datagram of this frame. */
typedef struct {
    guint32 stream;
    address src, dst; /* shallow: pinfo's or the tap's */
    guint32 srcport, dstport;
    const guint8 *payload;
    size_t length;
} datagram_t;

/* From the udp and udp_follow taps: the innermost UDP layer (the i-th udp entry
 * pairs with the i-th udp_follow entry), checked against its header's length. */
static gboolean datagram_from_taps(packet_info *pinfo, datagram_t *out)
{
    const e_udphdr *udph = NULL;
    int index = -1;
    for (int i = 0;; i++) {
        const e_udphdr *next = (const e_udphdr *)fetch_tapped_data(udp_tap_id, i);
        if (!next)
            break;
        udph = next;
        index = i;
    }
    if (!udph || udph->uh_sport != pinfo->srcport || udph->uh_dport != pinfo->destport)
        return FALSE;
    tvbuff_t *payload = (tvbuff_t *)fetch_tapped_data(udp_follow_tap_id, index);
    if (!payload || udph->uh_ulen < 8 || tvb_reported_length(payload) != udph->uh_ulen - 8)
        return FALSE;
    out->stream = udph->uh_stream;
    copy_address_shallow(&out->src, &udph->ip_src);
    copy_address_shallow(&out->dst, &udph->ip_dst);
    out->srcport = udph->uh_sport;
    out->dstport = udph->uh_dport;
    out->length = tvb_captured_length(payload);
    out->payload = out->length ? tvb_get_ptr(payload, 0, (gint)out->length) : NULL;
    return TRUE;
}

static guint16 get16(const guint8 *bytes)
{
    return (guint16)(bytes[0] << 8 | bytes[1]);
}

/* An IPv4 or IPv6 header at `ip` with pinfo's addresses and the UDP header with
 * its ports after it (unfragmented IPv4, IPv6 without extension headers). */
static gboolean udp_after_ip(const guint8 *frame, gint frame_length, gint ip, packet_info *pinfo,
                             datagram_t *out)
{
    gboolean v4 = pinfo->src.type == AT_IPv4;
    gint length = pinfo->src.len;
    gint source_at = v4 ? 12 : 8;
    gint udp;
    if (ip + (v4 ? 20 : 40) + 8 > frame_length || (frame[ip] >> 4) != (v4 ? 4 : 6) ||
        memcmp(frame + ip + source_at, pinfo->src.data, length) != 0 ||
        memcmp(frame + ip + source_at + length, pinfo->dst.data, length) != 0)
        return FALSE;
    if (v4) {
        gint header = (frame[ip] & 0x0f) * 4;
        if (header < 20 || frame[ip + 9] != 17 || (get16(frame + ip + 6) & 0x3fff) != 0)
            return FALSE;
        udp = ip + header;
    } else {
        if (frame[ip + 6] != 17)
            return FALSE;
        udp = ip + 40;
    }
    if (udp + 8 > frame_length || get16(frame + udp) != pinfo->srcport ||
        get16(frame + udp + 2) != pinfo->destport)
        return FALSE;
    gint udp_length = get16(frame + udp + 4);
    if (udp_length < 8)
        return FALSE;
    gint end = MIN(udp + udp_length, frame_length);
    out->payload = frame + udp + 8;
    out->length = (size_t)MAX(0, end - (udp + 8));
    return TRUE;
}

/* Where taps do not run (tshark -2's first pass): the datagram from the frame's
 * bytes (the innermost IP header with pinfo's addresses) and udp.stream from
 * UDP's conversation data. */
static gboolean datagram_from_frame(tvbuff_t *tvb, packet_info *pinfo, datagram_t *out)
{
    if (pinfo->ptype != PT_UDP || (pinfo->src.type != AT_IPv4 && pinfo->src.type != AT_IPv6) ||
        pinfo->dst.type != pinfo->src.type)
        return FALSE;
    conversation_t *conversation = find_conversation_pinfo(pinfo, 0);
    struct udp_analysis *udpd =
        conversation ? (struct udp_analysis *)conversation_get_proto_data(conversation, proto_udp)
                     : NULL;
    if (!udpd)
        return FALSE;
    gint frame_length = (gint)tvb_captured_length(tvb);
    const guint8 *frame = tvb_get_ptr(tvb, 0, frame_length);
    static const gint usual[] = {14, 0, 4, 16, 18, 20, 22};
    gboolean found = FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS(usual) && !found; i++)
        found = udp_after_ip(frame, frame_length, usual[i], pinfo, out);
    if (!found)
        for (gint ip = 0; ip < frame_length; ip++)
            if (udp_after_ip(frame, frame_length, ip, pinfo, out))
                found = TRUE; /* the last match is the innermost */
    if (!found)
        return FALSE;
    out->stream = udpd->stream;
    copy_address_shallow(&out->src, &pinfo->src);
    copy_address_shallow(&out->dst, &pinfo->dst);
    out->srcport = pinfo->srcport;
    out->dstport = pinfo->destport;
    return TRUE;
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
    datagram_t datagram;
    memset(&datagram, 0, sizeof(datagram));
    if (!datagram_from_taps(pinfo, &datagram) && !datagram_from_frame(tvb, pinfo, &datagram))
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
        want_udp_payloads();
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
