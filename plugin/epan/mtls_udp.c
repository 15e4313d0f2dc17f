/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_udp.c: the UDP datagram of this frame (mtls_udp.h).
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <epan/conversation.h>
#include <epan/dissectors/packet-udp.h>
#include <epan/packet.h>
#include <epan/tap.h>

#include "mtls_udp.h"

static int proto_udp = -1;
static int udp_tap_id = -1;
static int udp_follow_tap_id = -1;

void mtls_udp_handoff(void)
{
    proto_udp = proto_get_id_by_filter_name("udp");
    udp_tap_id = find_tap_id("udp");
    udp_follow_tap_id = find_tap_id("udp_follow");
}

/* A listener without callbacks makes UDP queue each datagram's payload on
 * "udp_follow"; as a dissector helper it does not make `tshark -r in -w out`
 * dissect. Registered once, at the first frame an adapter reads. */
void mtls_udp_want_payloads(void)
{
    static int follow_listener;
    static gboolean registered;
    if (registered || udp_follow_tap_id < 0)
        return;
    GString *error = register_tap_listener("udp_follow", &follow_listener, NULL,
                                           TL_IS_DISSECTOR_HELPER, NULL, NULL, NULL, NULL);
    if (error)
        g_string_free(error, TRUE);
    registered = TRUE; /* tried once; on error frames are read from bytes */
}

static gboolean from_taps(packet_info *pinfo, mtls_udp_datagram_t *out)
{
    if (udp_tap_id < 0 || udp_follow_tap_id < 0)
        return FALSE;
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
    if (!payload || found->uh_ulen < 8 || tvb_reported_length(payload) != found->uh_ulen - 8U)
        return FALSE;
    out->stream = found->uh_stream;
    out->has_stream = TRUE;
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

/* An IPv4 or IPv6 header at `ip` with pinfo's addresses, and the UDP header
 * with pinfo's ports after it: the payload. */
static gboolean after_ip(const guint8 *frame, gint frame_length, gint ip, const packet_info *pinfo,
                         mtls_udp_datagram_t *out)
{
    gboolean v4 = pinfo->src.type == AT_IPv4;
    gint address_length = v4 ? 4 : 16;
    gint source_at = v4 ? 12 : 8;
    if (ip + (v4 ? 20 : 40) + 8 > frame_length || (frame[ip] >> 4) != (v4 ? 4 : 6) ||
        pinfo->src.len != address_length || pinfo->dst.len != address_length ||
        memcmp(frame + ip + source_at, pinfo->src.data, (size_t)address_length) != 0 ||
        memcmp(frame + ip + source_at + address_length, pinfo->dst.data, (size_t)address_length) !=
            0)
        return FALSE;
    gint udp, end;
    if (v4) {
        gint header = (frame[ip] & 0x0f) * 4;
        if (header < 20 || frame[ip + 9] != 17 ||
            (get16(frame + ip + 6) & 0x3fff) != 0) /* fragments are not read from bytes */
            return FALSE;
        udp = ip + header;
        end = ip + get16(frame + ip + 2);
    } else {
        if (frame[ip + 6] != 17)
            return FALSE; /* extension headers are not walked */
        udp = ip + 40;
        end = udp + get16(frame + ip + 4);
    }
    if (udp + 8 > frame_length || get16(frame + udp) != pinfo->srcport ||
        get16(frame + udp + 2) != pinfo->destport)
        return FALSE;
    guint16 udp_length = get16(frame + udp + 4);
    if (udp_length < 8)
        return FALSE;
    if (udp + udp_length <= end)
        end = udp + udp_length;
    gint payload = udp + 8;
    if (end < payload)
        return FALSE;
    out->length = (size_t)MAX(0, MIN(end, frame_length) - payload);
    out->payload = out->length ? frame + payload : NULL;
    out->payload_raw_offset = payload;
    return TRUE;
}

static gboolean from_frame(tvbuff_t *tvb, packet_info *pinfo, mtls_udp_datagram_t *out)
{
    if (pinfo->ptype != PT_UDP || (pinfo->src.type != AT_IPv4 && pinfo->src.type != AT_IPv6) ||
        pinfo->dst.type != pinfo->src.type)
        return FALSE;
    gint frame_length = (gint)tvb_captured_length(tvb);
    const guint8 *frame = tvb_get_ptr(tvb, 0, frame_length);
    /* Where link layers put the IP header (as for TCP): Ethernet (14, 18, 22
     * with VLAN tags), raw IP (0), BSD loopback (4), Linux cooked (16, 20). */
    static const gint usual[] = {14, 0, 4, 16, 18, 20, 22};
    gboolean found = FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS(usual) && !found; i++)
        found = after_ip(frame, frame_length, usual[i], pinfo, out);
    if (!found)
        for (gint ip = 0; ip < frame_length; ip++)
            if (after_ip(frame, frame_length, ip, pinfo, out))
                found = TRUE; /* tunnels: the last match is the innermost */
    if (!found)
        return FALSE;
    /* UDP's own conversation, by addresses and ports: find_conversation_pinfo()
     * finds the one pinfo points at, which is QUIC's connection-ID conversation
     * on 4.4 and later (checked on 4.4.19 and 4.6.9; the same call on all three). */
    conversation_t *conversation = find_conversation(
        pinfo->num, &pinfo->src, &pinfo->dst, CONVERSATION_UDP, pinfo->srcport, pinfo->destport, 0);
    struct udp_analysis *udpd =
        conversation && proto_udp >= 0
            ? (struct udp_analysis *)conversation_get_proto_data(conversation, proto_udp)
            : NULL;
    out->has_stream = udpd != NULL;
    out->stream = udpd ? udpd->stream : 0;
    copy_address_shallow(&out->src, &pinfo->src);
    copy_address_shallow(&out->dst, &pinfo->dst);
    out->srcport = pinfo->srcport;
    out->dstport = pinfo->destport;
    return TRUE;
}

gboolean mtls_udp_datagram(tvbuff_t *tvb, packet_info *pinfo, mtls_udp_datagram_t *out)
{
    memset(out, 0, sizeof(*out));
    return from_taps(pinfo, out) || from_frame(tvb, pinfo, out);
}

unsigned mtls_udp_direction(const mtls_udp_datagram_t *datagram)
{
    if (datagram->srcport != datagram->dstport)
        return datagram->srcport < datagram->dstport ? 0 : 1;
    return cmp_address(&datagram->src, &datagram->dst) < 0 ? 0 : 1;
}
