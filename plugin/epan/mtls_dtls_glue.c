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

static int proto_dtls = -1;
static int proto_udp = -1;
static int udp_tap_id = -1;
static int udp_follow_tap_id = -1;
static gboolean follow_listener_registered;

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
    proto_udp = proto_get_id_by_filter_name("udp");
    udp_tap_id = find_tap_id("udp");
    udp_follow_tap_id = find_tap_id("udp_follow");
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

/* A listener without callbacks makes UDP queue each datagram's payload on
 * "udp_follow"; as a dissector helper it does not make tshark dissect more.
 * Registered at the first DTLS frame: frames before it are read from bytes. */
static void want_udp_payloads(void)
{
    static int follow_listener;
    if (follow_listener_registered || udp_follow_tap_id < 0)
        return;
    GString *error = register_tap_listener("udp_follow", &follow_listener, NULL,
                                           TL_IS_DISSECTOR_HELPER, NULL, NULL, NULL, NULL);
    if (error)
        g_string_free(error, TRUE);
    follow_listener_registered = TRUE; /* tried once; on error frames are read from bytes */
}

/* ---- The datagram of this frame ----------------------------------------- */

typedef struct {
    guint32 stream;
    address src, dst; /* pointing into pinfo or the tap data */
    guint32 srcport, dstport;
    const guint8 *payload;
    size_t length;
    gint payload_raw_offset; /* where the payload starts in the frame, for record ids */
} datagram_t;

/* From the udp and udp_follow taps: the last UDP layer with pinfo's ports (the
 * innermost), paired with the udp_follow entry of the same index. */
static gboolean datagram_from_taps(packet_info *pinfo, datagram_t *out)
{
    const e_udphdr *found = NULL;
    int index = -1;
    for (int i = 0; i < 16; i++) {
        const e_udphdr *udph = (const e_udphdr *)fetch_tapped_data(udp_tap_id, i);
        if (!udph)
            break;
        if (udph->uh_sport == pinfo->srcport && udph->uh_dport == pinfo->destport) {
            found = udph;
            index = i;
        }
    }
    if (!found)
        return FALSE;
    tvbuff_t *payload = (tvbuff_t *)fetch_tapped_data(udp_follow_tap_id, index);
    /* The payload tvb holds the UDP length's bytes (less the header). */
    if (!payload || found->uh_ulen < 8 || tvb_reported_length(payload) != found->uh_ulen - 8)
        return FALSE;
    out->stream = found->uh_stream;
    copy_address_shallow(&out->src, &found->ip_src);
    copy_address_shallow(&out->dst, &found->ip_dst);
    out->srcport = found->uh_sport;
    out->dstport = found->uh_dport;
    guint captured = tvb_captured_length(payload);
    out->length = captured;
    out->payload = captured ? tvb_get_ptr(payload, 0, (gint)captured) : NULL;
    out->payload_raw_offset = tvb_raw_offset(payload);
    return TRUE;
}

static guint16 get16(const guint8 *bytes)
{
    return (guint16)(bytes[0] << 8 | bytes[1]);
}

/* The UDP header after an IP header at `ip` whose addresses are pinfo's. */
static gboolean datagram_after_ip(const guint8 *frame, gint frame_length, gint ip,
                                  packet_info *pinfo, datagram_t *out)
{
    gint udp, end;
    if (pinfo->src.type == AT_IPv4) {
        gint header = (frame[ip] & 0x0f) * 4;
        if ((frame[ip] >> 4) != 4 || header < 20 || frame[ip + 9] != 17 ||
            (get16(frame + ip + 6) & 0x3fff) != 0) /* fragments are not read from bytes */
            return FALSE;
        udp = ip + header;
        end = ip + get16(frame + ip + 2);
    } else {
        if ((frame[ip] >> 4) != 6 || frame[ip + 6] != 17)
            return FALSE;
        udp = ip + 40;
        end = udp + get16(frame + ip + 4);
    }
    if (udp + 8 > frame_length || get16(frame + udp) != pinfo->srcport ||
        get16(frame + udp + 2) != pinfo->destport)
        return FALSE;
    guint16 udp_length = get16(frame + udp + 4);
    if (udp_length >= 8 && udp + udp_length <= end)
        end = udp + udp_length;
    gint payload = udp + 8;
    if (end < payload)
        return FALSE;
    out->length = (size_t)MAX(0, MIN(end, frame_length) - payload);
    out->payload = out->length ? frame + payload : NULL;
    out->payload_raw_offset = payload;
    return TRUE;
}

/* An IPv4 or IPv6 header at `ip` in the frame, with pinfo's addresses. */
static gboolean ip_header_at(const guint8 *frame, gint frame_length, gint ip,
                             const packet_info *pinfo)
{
    gboolean v4 = pinfo->src.type == AT_IPv4;
    gint source_at = v4 ? 12 : 8;
    gint length = pinfo->src.len;
    return ip + (v4 ? 20 : 40) + 8 <= frame_length && (frame[ip] >> 4) == (v4 ? 4 : 6) &&
           memcmp(frame + ip + source_at, pinfo->src.data, length) == 0 &&
           memcmp(frame + ip + source_at + length, pinfo->dst.data, length) == 0;
}

/* Where taps do not run: the innermost IP header with pinfo's addresses and the
 * UDP header with its ports, found in the frame's bytes; the stream index from
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
    /* Where link layers put the IP header (as for TCP): Ethernet (14, 18, 22
     * with VLAN tags), raw IP (0), BSD loopback (4), Linux cooked (16, 20). */
    static const gint usual[] = {14, 0, 4, 16, 18, 20, 22};
    gboolean found = FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS(usual) && !found; i++)
        found = ip_header_at(frame, frame_length, usual[i], pinfo) &&
                datagram_after_ip(frame, frame_length, usual[i], pinfo, out);
    if (!found)
        for (gint ip = 0; ip < frame_length; ip++)
            if (ip_header_at(frame, frame_length, ip, pinfo) &&
                datagram_after_ip(frame, frame_length, ip, pinfo, out))
                found = TRUE;
    if (!found)
        return FALSE;
    out->stream = udpd->stream;
    copy_address_shallow(&out->src, &pinfo->src);
    copy_address_shallow(&out->dst, &pinfo->dst);
    out->srcport = pinfo->srcport;
    out->dstport = pinfo->destport;
    return TRUE;
}

/* ---- From datagrams to the glue ------------------------------------------ */

typedef struct {
    packet_info *pinfo;
    guint32 layer;
    dtls_connection_t *state;
    const datagram_t *datagram;
    unsigned packet_direction;
    SslRecordInfo *records; /* the DTLS dissector's decrypted records of the frame */
    gboolean records_fetched;
} frame_context_t;

/* The scanner's name for a packet's sender: 0 for the lower endpoint. */
static unsigned direction_of(const datagram_t *datagram)
{
    if (datagram->srcport != datagram->dstport)
        return datagram->srcport < datagram->dstport ? 0 : 1;
    return cmp_address(&datagram->src, &datagram->dst) < 0 ? 0 : 1;
}

static void on_event(void *context, unsigned direction, const mtls_event_t *event,
                     const uint8_t *message, size_t message_length)
{
    frame_context_t *frame = (frame_context_t *)context;
    const datagram_t *d = frame->datagram;
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
    want_udp_payloads();
    datagram_t datagram;
    memset(&datagram, 0, sizeof(datagram));
    if (!datagram_from_taps(pinfo, &datagram) && !datagram_from_frame(tvb, pinfo, &datagram))
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
        .direction = direction_of(&datagram),
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
