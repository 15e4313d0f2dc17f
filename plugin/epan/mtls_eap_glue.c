/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_eap_glue.c: the EAP-TLS transport adapter (mtls_transport.h). RADIUS
 * packets and EAPOL frames go to the plain-C EAP scanner (wire/mtls_eap.c),
 * which keeps the sessions, reassembles EAP-TLS and reads the TLS records; this
 * file gets the bytes without a protocol tree, names the endpoints and hands
 * the scanner's events, the TLS dissector's plaintexts and the outer results to
 * the glue.
 *
 * Bytes: RADIUS from the udp / udp_follow taps of the frame (the payload after
 * IP reassembly), else from the frame's own bytes (tshark -2's first pass has
 * no taps; an IP-fragmented RADIUS packet is then not read). EAPOL from the
 * frame (Ethernet, 802.1Q). Wireshark's own EAP reassembly is not used: it
 * keeps its state per conversation, which mixes the supplicants that share one
 * NAS socket.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <epan/address.h>
#include <epan/dissectors/packet-tls-utils.h>
#include <epan/dissectors/packet-udp.h>
#include <epan/packet.h>
#include <epan/tap.h>

#include "mtls_compat.h"
#include "mtls_eap.h"
#include "mtls_transport.h"
#include "mtls_udp.h"

static int proto_radius_id = -1;
static int proto_eapol_id = -1;
static int proto_tls_id = -1;

static mtls_eap_t *scanner;

/* The PAE group address: the authenticator's endpoint while its MAC is unknown. */
static const guint8 pae_group[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x03};

/* Endpoint keys the scanner keeps for RADIUS: type, length, address, port. */
#define KEY_ADDRESS_MAX 16

/* What the glue keeps per scanner session. */
typedef struct {
    mtls_conn_t *connection;
    guint8 client_bytes[KEY_ADDRESS_MAX], server_bytes[KEY_ADDRESS_MAX];
    mtls_endpoint_t client, server;
    /* A protected record of the server was not decrypted: from then on none is
     * read (see on_plaintext). */
    gboolean no_plaintext;
} session_user_t;

/* One frame: what the scanner's callbacks need. */
typedef struct {
    packet_info *pinfo;
    SslRecordInfo *next_record; /* the TLS dissector's decrypted records not yet matched */
    gboolean records_fetched;
} frame_context_t;

static size_t make_key(guint8 *key, const address *addr, guint32 port)
{
    if (addr->len <= 0 || addr->len > KEY_ADDRESS_MAX || addr->type > G_MAXUINT8)
        return 0;
    key[0] = (guint8)addr->type;
    key[1] = (guint8)addr->len;
    memcpy(key + 2, addr->data, (size_t)addr->len);
    key[2 + addr->len] = (guint8)(port >> 8);
    key[3 + addr->len] = (guint8)port;
    return 4u + (size_t)addr->len;
}

/* An endpoint from a RADIUS key (make_key) or a MAC. */
static void endpoint_from(mtls_endpoint_t *out, guint8 *storage, gboolean radius, const guint8 *key,
                          size_t length)
{
    if (radius && length >= 4 && key[1] <= KEY_ADDRESS_MAX && length == 4u + key[1]) {
        memcpy(storage, key + 2, key[1]);
        set_address(&out->addr, key[0], key[1], storage);
        out->port = (guint32)(key[2 + key[1]] << 8 | key[3 + key[1]]);
    } else if (!radius && length == 6) {
        memcpy(storage, key, 6);
        set_address(&out->addr, AT_ETHER, 6, storage);
        out->port = 0;
    } else {
        clear_address(&out->addr);
        out->port = 0;
    }
}

/* The session's connection, made at its first TLS event: the server is the
 * RADIUS server / the authenticator. */
static mtls_conn_t *connection_of(mtls_eap_session_t *session)
{
    session_user_t *user = (session_user_t *)session->user;
    if (!user) {
        user = g_new0(session_user_t, 1);
        session->user = user;
    }
    if (user->connection)
        return user->connection;
    endpoint_from(&user->client, user->client_bytes, session->radius, session->client,
                  session->client_length);
    if (session->server_length)
        endpoint_from(&user->server, user->server_bytes, session->radius, session->server,
                      session->server_length);
    else
        endpoint_from(&user->server, user->server_bytes, FALSE, pae_group, sizeof(pae_group));
    if (user->client.addr.type == AT_NONE || user->server.addr.type == AT_NONE)
        return NULL;
    user->connection =
        mtls_transport_connection(MTLS_TRANSPORT_EAP_TLS, session->id, &user->client.addr, TRUE);
    if (!user->connection)
        return NULL;
    mtls_transport_set_session_label(user->connection, session->label);
    mtls_transport_set_server(user->connection, &user->server, &user->client);
    return user->connection;
}

static void on_event(void *context, mtls_eap_session_t *session, bool from_server,
                     const mtls_event_t *event, const uint8_t *message, size_t message_length)
{
    frame_context_t *frame = (frame_context_t *)context;
    mtls_conn_t *connection = frame ? connection_of(session) : NULL;
    if (!connection)
        return;
    session_user_t *user = (session_user_t *)session->user;
    const mtls_endpoint_t *sender = from_server ? &user->server : &user->client;
    const mtls_endpoint_t *receiver = from_server ? &user->client : &user->server;
    mtls_transport_event(frame->pinfo, connection, sender, receiver, event, message,
                         message_length);
}

/* The TLS dissector read the reassembled EAP-TLS message of this frame, so its
 * record ids do not name our records: they are matched in order, each taking the
 * next decrypted record when its plaintext fits the protected length (as TCP's
 * records that began in an earlier segment are).
 *
 * Half a handshake decrypted misleads the engine more than none: over EAPOL the
 * TLS dissector never decrypts the server's records (it cannot tell the server
 * without ports) but does decrypt the client's, and sessions sharing a NAS socket
 * mix its per-conversation state so that only some flights are decrypted. So once
 * a protected record of the server is not decrypted, the session is read as
 * without keys (inference, then the outer result). */
static bool on_plaintext(void *context, mtls_eap_session_t *session, bool from_server,
                         const mtls_tls_protected_record_t *record, mtls_tls_plaintext_t *plaintext)
{
    frame_context_t *frame = (frame_context_t *)context;
    session_user_t *user = (session_user_t *)session->user;
    if (!frame || !user || user->no_plaintext)
        return false;
    if (!frame->records_fetched) {
        frame->next_record = mtls_tls_decrypted_records(frame->pinfo, proto_tls_id);
        frame->records_fetched = TRUE;
    }
    SslRecordInfo *match = frame->next_record;
    if (!match || match->data_len > record->length) {
        if (from_server)
            user->no_plaintext = TRUE;
        return false;
    }
    frame->next_record = match->next;
    plaintext->content_type = (uint8_t)match->type;
    plaintext->data = match->plain_data;
    plaintext->length = match->data_len;
    return true;
}

static void on_outer(void *context, mtls_eap_session_t *session, mtls_outer_t outer)
{
    frame_context_t *frame = (frame_context_t *)context;
    session_user_t *user = (session_user_t *)session->user;
    if (frame && user && user->connection)
        mtls_transport_outer_result(frame->pinfo, user->connection, outer, 0);
}

static void on_session_end(void *context, mtls_eap_session_t *session)
{
    frame_context_t *frame = (frame_context_t *)context;
    session_user_t *user = (session_user_t *)session->user;
    /* Without a frame (cleanup) the glue frees the connections itself. */
    if (frame && user && user->connection)
        mtls_transport_closed(frame->pinfo, user->connection);
    g_free(user);
    session->user = NULL;
}

static const mtls_eap_callbacks_t callbacks = {
    .event = on_event,
    .plaintext = on_plaintext,
    .outer = on_outer,
    .session_end = on_session_end,
};

/* ---- RADIUS bytes ---------------------------------------------------------- */

static void radius_frame(tvbuff_t *tvb, packet_info *pinfo, frame_context_t *frame)
{
    mtls_udp_want_payloads();
    mtls_udp_datagram_t datagram;
    if (!mtls_udp_datagram(tvb, pinfo, &datagram))
        return;
    guint8 src[4 + KEY_ADDRESS_MAX], dst[4 + KEY_ADDRESS_MAX];
    mtls_eap_radius_packet_t packet = {
        .frame = pinfo->num,
        .time_ns = mtls_transport_time_ns(&pinfo->abs_ts),
        .payload = datagram.payload,
        .length = datagram.length,
        .src = src,
        .src_length = make_key(src, &pinfo->src, pinfo->srcport),
        .dst = dst,
        .dst_length = make_key(dst, &pinfo->dst, pinfo->destport),
    };
    if (packet.src_length && packet.dst_length)
        mtls_eap_radius(scanner, &packet, &callbacks, frame);
}

static void eapol_frame(tvbuff_t *tvb, packet_info *pinfo, frame_context_t *frame)
{
    guint length = tvb_captured_length(tvb);
    const guint8 *bytes = tvb_get_ptr(tvb, 0, (gint)length);
    mtls_eap_eapol_frame_t eapol = {
        .frame = pinfo->num,
        .time_ns = mtls_transport_time_ns(&pinfo->abs_ts),
    };
    size_t offset;
    if (!mtls_eap_ethernet_locate(bytes, length, eapol.src, eapol.dst, &offset))
        return;
    eapol.eapol = bytes + offset;
    eapol.length = length - offset;
    mtls_eap_eapol(scanner, &eapol, &callbacks, frame);
}

/* ---- The adapter ------------------------------------------------------------ */

void mtls_eap_handoff(void)
{
    proto_radius_id = proto_get_id_by_filter_name("radius");
    proto_eapol_id = proto_get_id_by_filter_name("eapol");
    proto_tls_id = proto_get_id_by_filter_name("tls");
}

void mtls_eap_init(void)
{
    scanner = mtls_eap_new();
}

void mtls_eap_cleanup(void)
{
    mtls_eap_free(scanner, &callbacks, NULL);
    scanner = NULL;
}

void mtls_eap_frame(tvbuff_t *tvb, packet_info *pinfo, int carrier)
{
    if (!scanner)
        return;
    /* RADIUS or EAPOL carry the bytes; EAP over anything else is not read. */
    frame_context_t frame = {.pinfo = pinfo};
    if (carrier == proto_radius_id && proto_radius_id != -1)
        radius_frame(tvb, pinfo, &frame);
    else if (carrier == proto_eapol_id && proto_eapol_id != -1)
        eapol_frame(tvb, pinfo, &frame);
}
