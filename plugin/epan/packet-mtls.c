/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * packet-mtls.c: the epan glue of the TLS client-authentication post-dissector.
 *
 * It never asks Wireshark for a protocol tree. On the first pass it takes each
 * TCP segment from the taps of the same frame (or, where taps do not run, from
 * the frame's bytes), hands it to the TLS stream scanner (wire/mtls_tls_stream.c)
 * with the TLS dissector's decrypted records of the frame, and feeds the events
 * to the engine (core/mtls_engine.c). It renders the engine's exchanges: on the
 * first pass the state known at that frame, on visited frames (GUI, tshark -2)
 * the final one.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <epan/charsets.h>
#include <epan/conversation.h>
#include <epan/dissectors/packet-tcp.h>
#include <epan/dissectors/packet-tls-utils.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/proto.h>
#include <epan/proto_data.h>
#include <epan/tap.h>
#include <wsutil/pint.h>

#include "mtls_compat.h"
#include "mtls_engine.h"
#include "mtls_hello.h"
#include "mtls_app.h"
#include "mtls_index.h"
#include "mtls_messages.h"
#include "mtls_flow.h"
#include "mtls_reports.h"
#include "mtls_tls_stream.h"
#include "mtls_transport.h"
#include "mtls_udp.h"
#include "packet-mtls.h"
#include "packet-mtls-diagnosis.h"

/* Certificates of a client chain and CA names of a CertificateRequest read for
 * the diagnosis; longer lists are read this far. */
#define MAX_CHAIN_CERTIFICATES 16
#define MAX_CA_NAMES           512

static int proto_tls = -1;
static int proto_tcp = -1;
static int tcp_tap_id = -1;
static int tcp_follow_tap_id = -1;
static int expert_tap_id = -1; /* Wireshark's "expert" tap: the Expert Information dialog */
/* The helper listener that makes TCP queue its segments (see mtls_init). */
static gboolean follow_listener_registered;
/* FALSE once the tcp_follow data failed the layout check: frames are read from bytes. */
static gboolean follow_layout_ok = TRUE;

static int proto_mtls = -1;
static dissector_handle_t mtls_handle;
static protocol_t *mtls_protocol; /* to tell whether it is enabled (--disable-protocol mtls) */
static const char *mtls_short_name = "mTLS";

static int hf_mtls_verdict = -1;
static int hf_mtls_requested = -1;
static int hf_mtls_provided = -1;
static int hf_mtls_response = -1;
static int hf_mtls_accepted = -1;
static int hf_mtls_rejected = -1;
static int hf_mtls_server_ignored = -1;
static int hf_mtls_client_aborted = -1;
static int hf_mtls_phase = -1;
static int hf_mtls_exchange = -1;
static int hf_mtls_request_frame = -1;
static int hf_mtls_response_frame = -1;
static int hf_mtls_verify_frame = -1;
static int hf_mtls_decision_frame = -1;
static int hf_mtls_alert = -1;
static int hf_mtls_time_to_decision = -1;
static int hf_mtls_pha_offered = -1;
static int hf_mtls_resumed = -1;
static int hf_mtls_inferred = -1;
static int hf_mtls_confidence = -1;
static int hf_mtls_evidence = -1;
static int hf_mtls_evidence_clause = -1;
static int hf_mtls_evidence_continued = -1;
static int hf_mtls_transport = -1;
static int hf_mtls_session = -1;
static int hf_mtls_outer_result = -1;
static gint ett_mtls_evidence = -1;
static gint ett_mtls_evidence_clause = -1;

static gint ett_mtls = -1;

static expert_field ei_mtls_requested = EI_INIT;
static expert_field ei_mtls_provided = EI_INIT;
static expert_field ei_mtls_empty = EI_INIT;
static expert_field ei_mtls_accepted = EI_INIT;
static expert_field ei_mtls_rejected = EI_INIT;
static expert_field ei_mtls_server_ignored = EI_INIT;
static expert_field ei_mtls_client_aborted = EI_INIT;
static expert_field ei_mtls_undetermined = EI_INIT;
static expert_field ei_mtls_inferred = EI_INIT;

static mtls_pref_bool_t pref_info_column = TRUE;
static mtls_pref_bool_t pref_infer_without_keys = TRUE;

static const value_string mtls_alert_names[] = {
#define MTLS_ALERT(value, name) {value, name},
#include "mtls_alerts.def"
#undef MTLS_ALERT
    {0, NULL}};

/* What a connection needs only while it is open: the engine's state, the
 * scanner and the reader of the application's answer (made at the first
 * application data, freed once it has answered or given up with nothing to
 * tell: its memo is then enough). Freed when the connection closes. */
typedef struct {
    mtls_conn_state_t engine; /* engine.conn: whose state this is; NULL while free */
    mtls_tls_stream_t *scanner;
    mtls_app_reader_t *app;
    /* The connection's ref (connection_ref_t); while the entry is free, 1 + the
     * index of the next free one (0: none). */
    guint32 ref;
    guint16 app_exchange;     /* the exchange the application reader answers for */
    guint8 app_done : 1;      /* it gave that exchange its answer */
    guint8 app_gave_up : 1;   /* it could not read the stream, and heard no answer */
    mtls_app_memo_t app_memo; /* app_done or app_gave_up: what the freed reader knew */
} live_connection_t;

static void app_reader_drop(live_connection_t *live)
{
    live->app_memo = mtls_app_reader_memo(live->app);
    mtls_app_reader_free(live->app);
    live->app = NULL;
}

/* A TCP connection is the engine's mtls_conn_t; what the reports show of it,
 * mtls_connection_info_t, lives in the same allocation (mtls_conn_extra). */
static mtls_connection_info_t *info_of(mtls_conn_t *connection)
{
    return (mtls_connection_info_t *)mtls_conn_extra(connection);
}

/* Addresses longer than this (none over TCP/IP) leave the server unknown. */
#define MAX_ADDRESS_LENGTH 16

/* Connections live until the file is closed, so they are kept back to back in
 * tables, one per size (by address length: five sizes), not one malloc each:
 * no malloc header and rounding, so an IPv4 connection takes 104 bytes where a
 * malloc of it would take 112. The engine's state of an open connection is in
 * its live_connection_t, dropped when it closes. */
#define CONNECTION_SIZE(address_length)                                                            \
    ((mtls_conn_alloc_size(offsetof(mtls_connection_info_t, addresses) + 2u * (address_length)) +  \
      MTLS_CONN_ALIGN - 1) /                                                                       \
     MTLS_CONN_ALIGN * MTLS_CONN_ALIGN)
#define CONNECTION_SIZES (2u * MAX_ADDRESS_LENGTH / MTLS_CONN_ALIGN + 1u)
static struct {
    mtls_table_t *table;
    guint32 used;
} connection_memory[CONNECTION_SIZES];

/* A connection named in 32 bits, where tables hold many (half a pointer): 1 +
 * its size class << 28 + its index in that class's table; 0 names none. Below
 * CELL_LIVE, whose bit marks an open connection's cell. */
typedef guint32 connection_ref_t;
#define CELL_LIVE      0x80000000u
#define REF_INDEX_BITS 28
G_STATIC_ASSERT(MTLS_TABLE_MAX_INDEX <= (1u << REF_INDEX_BITS));
G_STATIC_ASSERT((guint64)CONNECTION_SIZES << REF_INDEX_BITS < CELL_LIVE);

/* Zeroed memory for a connection with addresses of this length, and its ref;
 * NULL when there is none. */
static void *connection_memory_for(guint8 address_length, connection_ref_t *ref)
{
    size_t size = CONNECTION_SIZE(address_length);
    size_t size_class = (size - CONNECTION_SIZE(0)) / MTLS_CONN_ALIGN;
    if (size_class >= CONNECTION_SIZES)
        return NULL;
    if (!connection_memory[size_class].table)
        connection_memory[size_class].table = mtls_table_new(size);
    guint32 index = connection_memory[size_class].used;
    void *memory = mtls_table_slot(connection_memory[size_class].table, index);
    if (!memory)
        return NULL;
    connection_memory[size_class].used++;
    *ref = ((guint32)size_class << REF_INDEX_BITS | index) + 1;
    return memory;
}

static mtls_conn_t *connection_of_ref(connection_ref_t ref)
{
    if (ref == 0 || ref >= CELL_LIVE)
        return NULL;
    guint32 size_class = (ref - 1) >> REF_INDEX_BITS;
    guint32 index = (ref - 1) & ((1u << REF_INDEX_BITS) - 1);
    return size_class < CONNECTION_SIZES
               ? (mtls_conn_t *)mtls_table_get(connection_memory[size_class].table, index)
               : NULL;
}

/* A frame shows at most this many exchanges. */
#define MAX_EXCHANGES_PER_FRAME 65

static int mtls_tap = -1;

/* Tables grow in chunks, not by doubling: a capture holds millions of
 * connections, and nothing moves once stored. */
/* By tcp.stream, and by each transport adapter's connection id, a connection
 * cell: the connection_ref_t of a closed connection, or while it is open
 * CELL_LIVE | the index of its live_connection_t in live_table (the state of
 * open connections is found with the connection, and costs closed ones
 * nothing); 0 for none. */
static mtls_table_t *connections[MTLS_TRANSPORT_COUNT];
typedef guint32 connection_cell_t;
/* Open connections' state; entries of closed ones are reused (live_free). */
static mtls_table_t *live_table;
static guint32 live_made; /* entries made so far */
static guint32 live_free; /* 1 + the index of a free entry, 0: none */
/* Every exchange's connection_ref_t, at its tag - 1 (tag 0: not yet known to
 * the index): exchange_of_tag() finds the exchange in its connection. */
static mtls_table_t *exchange_slots;
static guint32 exchange_count;          /* tags given so far */
static mtls_frame_index_t *frame_index; /* frame -> tags shown there, about 2.2 bytes an entry */
/* Texts many connections share (SNIs, EAP session labels), each once until
 * the file is closed. */
static mtls_texts_t *texts;

const char *mtls_connection_server_name(const mtls_connection_info_t *info)
{
    return mtls_texts_get(texts, info->server_name_id);
}

const char *mtls_transport_name(mtls_transport_t transport)
{
    switch (transport) {
    case MTLS_TRANSPORT_TCP: return "tcp";
    case MTLS_TRANSPORT_DTLS: return "dtls";
    case MTLS_TRANSPORT_EAP_TLS: return "eap-tls";
    case MTLS_TRANSPORT_QUIC: return "quic";
    case MTLS_TRANSPORT_COUNT: break;
    }
    return "?";
}

const char *mtls_connection_transport(const mtls_connection_info_t *info)
{
    return mtls_transport_name((mtls_transport_t)info->transport);
}

/* Beside the connections, by connection (mtls_conn_t *): the frame of a gap, an
 * adapter's session label id. */
static GHashTable *gap_frames, *session_labels;

/* The connection whose reports' info this is. */
static const void *connection_key(const mtls_connection_info_t *info)
{
    return mtls_conn_of_extra(info);
}

guint32 mtls_connection_gap_frame(const mtls_connection_info_t *info)
{
    return info->has_gap && gap_frames
               ? GPOINTER_TO_UINT(g_hash_table_lookup(gap_frames, connection_key(info)))
               : 0;
}

static live_connection_t *cell_live(connection_cell_t cell)
{
    return (cell & CELL_LIVE) ? mtls_table_get(live_table, cell & ~CELL_LIVE) : NULL;
}

static mtls_conn_t *cell_connection(connection_cell_t cell)
{
    if (!(cell & CELL_LIVE))
        return connection_of_ref(cell);
    live_connection_t *live = cell_live(cell);
    return live ? live->engine.conn : NULL;
}

static connection_cell_t *cell_of(const mtls_conn_t *connection)
{
    if (!connection)
        return NULL;
    const mtls_connection_info_t *info = info_of((mtls_conn_t *)(uintptr_t)connection);
    if (info->transport >= MTLS_TRANSPORT_COUNT || !connections[info->transport])
        return NULL;
    return mtls_table_get(connections[info->transport], info->stream);
}

static live_connection_t *live_of(const mtls_conn_t *connection)
{
    connection_cell_t *cell = cell_of(connection);
    live_connection_t *live = cell ? cell_live(*cell) : NULL;
    return live && live->engine.conn == connection ? live : NULL;
}

const char *mtls_connection_session(const mtls_connection_info_t *info, char *buffer, size_t size)
{
    const char *label = info->has_label && session_labels
                            ? mtls_texts_get(texts, GPOINTER_TO_UINT(g_hash_table_lookup(
                                                        session_labels, connection_key(info))))
                            : NULL;
    if (label)
        g_strlcpy(buffer, label, size);
    else
        g_snprintf(buffer, (gulong)size, "%u", info->stream);
    return buffer;
}

void mtls_connection_address(const mtls_connection_info_t *info, gboolean server, address *out)
{
    if (info->address_type == AT_NONE) {
        clear_address(out);
        return;
    }
    set_address(out, info->address_type, info->address_length,
                info->addresses + (server ? info->address_length : 0));
}

/* Connections whose scanner runs: while there is none, frames the TLS dissector
 * did not read are skipped at once. */
static guint32 live_connections;

/* The ref of a connection that has a cell. */
static connection_ref_t ref_of(const mtls_conn_t *connection)
{
    connection_cell_t *cell = cell_of(connection);
    if (!cell)
        return 0;
    live_connection_t *live = cell_live(*cell);
    return live ? live->ref : *cell;
}

/* The exchange with this tag, and its connection; NULL when there is none. */
static const mtls_exchange_t *exchange_of_tag(guint32 tag, mtls_conn_t **connection)
{
    const connection_ref_t *ref = tag >= 1 ? mtls_table_get(exchange_slots, tag - 1) : NULL;
    *connection = ref ? connection_of_ref(*ref) : NULL;
    for (const mtls_exchange_t *exchange = *connection ? mtls_conn_exchanges(*connection) : NULL;
         exchange; exchange = exchange->next)
        if (exchange->tag == tag)
            return exchange;
    return NULL;
}

static void free_live(mtls_conn_t *connection)
{
    live_connection_t *live = live_of(connection);
    if (!live)
        return;
    connection_cell_t *cell = cell_of(connection);
    mtls_tls_stream_free(live->scanner);
    mtls_app_reader_free(live->app);
    connection_ref_t ref = live->ref;
    memset(live, 0, sizeof(*live));
    live->ref = live_free;
    live_free = (*cell & ~CELL_LIVE) + 1;
    *cell = ref;
    if (info_of(connection)->transport == MTLS_TRANSPORT_TCP)
        live_connections--;
}

/* A zeroed entry for an open connection's state, and its index; NULL when there
 * is no memory. */
static live_connection_t *new_live(guint32 *index)
{
    if (live_free) {
        *index = live_free - 1;
        live_connection_t *live = mtls_table_get(live_table, *index);
        live_free = live->ref;
        live->ref = 0;
        return live;
    }
    live_connection_t *live = mtls_table_slot(live_table, live_made);
    if (live)
        *index = live_made++;
    return live;
}

static void mtls_init(void)
{
    for (int transport = 0; transport < MTLS_TRANSPORT_COUNT; transport++)
        connections[transport] = mtls_table_new(sizeof(connection_cell_t));
    live_table = mtls_table_new(sizeof(live_connection_t));
    live_made = live_free = 0;
    exchange_slots = mtls_table_new(sizeof(connection_ref_t));
    exchange_count = 0;
    frame_index = mtls_frame_index_new();
    texts = mtls_texts_new();
    gap_frames = g_hash_table_new(g_direct_hash, g_direct_equal);
    session_labels = g_hash_table_new(g_direct_hash, g_direct_equal);
    follow_layout_ok = TRUE;
    live_connections = 0;
    /* Registered by the expert module's own init, after the handoffs. */
    expert_tap_id = find_tap_id("expert");
    mtls_diagnosis_init();
    mtls_dtls_init();
    mtls_eap_init();
    mtls_quic_init();
}

static void mtls_cleanup(void)
{
    mtls_dtls_cleanup();
    mtls_eap_cleanup();
    mtls_quic_cleanup();
    for (int transport = 0; transport < MTLS_TRANSPORT_COUNT; transport++) {
        mtls_table_t *table = connections[transport];
        for (guint32 i = 0; table && i < mtls_table_length(table); i++) {
            connection_cell_t *cell = mtls_table_get(table, i);
            if (cell && *cell) {
                mtls_conn_t *connection = cell_connection(*cell);
                free_live(connection);
                mtls_conn_release(connection);
            }
        }
        mtls_table_free(table);
        connections[transport] = NULL;
    }
    for (size_t size_class = 0; size_class < CONNECTION_SIZES; size_class++) {
        mtls_table_free(connection_memory[size_class].table);
        connection_memory[size_class].table = NULL;
        connection_memory[size_class].used = 0;
    }
    mtls_table_free(live_table);
    live_table = NULL;
    live_made = live_free = 0;
    mtls_table_free(exchange_slots);
    exchange_slots = NULL;
    exchange_count = 0;
    mtls_frame_index_free(frame_index);
    frame_index = NULL;
    mtls_diagnosis_cleanup();
    mtls_texts_free(texts);
    texts = NULL;
    g_hash_table_destroy(gap_frames);
    gap_frames = NULL;
    g_hash_table_destroy(session_labels);
    session_labels = NULL;
    live_connections = 0;
}

/* ---- The TCP segment of this frame -------------------------------------- */

typedef struct {
    guint32 stream;
    address src, dst; /* pointing into pinfo or the tap data */
    guint32 srcport, dstport;
    mtls_tcp_segment_t segment;
    gint payload_raw_offset; /* where the payload starts in the frame, for record ids */
} frame_segment_t;

static guint8 tcp_flags(guint16 th_flags)
{
    return (guint8)(((th_flags & 0x01) ? MTLS_TCP_FIN : 0) |
                    ((th_flags & 0x02) ? MTLS_TCP_SYN : 0) |
                    ((th_flags & 0x04) ? MTLS_TCP_RST : 0));
}

/* A frame's first entry on a tap: its (outermost) TCP layer, on tcp and
 * tcp_follow alike; the layout check below pairs them. */
static const void *first_tapped(int tap_id)
{
    return fetch_tapped_data(tap_id, 0);
}

/* From the tcp and tcp_follow taps of this frame: FALSE when taps did not run
 * (tshark -2's first pass) or their data did not pass the layout check. */
static gboolean segment_from_taps(frame_segment_t *out)
{
    const struct tcpheader *tcph = (const struct tcpheader *)first_tapped(tcp_tap_id);
    if (!tcph)
        return FALSE;
    /* A segment without payload (most ACKs) needs no follow data. */
    gboolean empty = tcph->th_have_seglen && tcph->th_seglen == 0;
    const mtls_tcp_follow_tap_data_t *follow =
        follow_layout_ok && !empty
            ? (const mtls_tcp_follow_tap_data_t *)first_tapped(tcp_follow_tap_id)
            : NULL;
    tvbuff_t *payload = NULL;
    if (follow) {
        if (follow->tcph != tcph ||
            (tcph->th_have_seglen && tvb_reported_length(follow->tvb) != tcph->th_seglen)) {
            follow_layout_ok = FALSE;
            ws_warning("mtls: TCP's follow data has an unexpected layout in Wireshark %s; "
                       "reading segments from the frame's bytes instead",
                       epan_get_version());
            return FALSE;
        }
        payload = follow->tvb;
    } else if (tcph->th_have_seglen && tcph->th_seglen > 0) {
        return FALSE; /* no follow data for a segment with payload */
    }
    out->stream = tcph->th_stream;
    copy_address_shallow(&out->src, &tcph->ip_src);
    copy_address_shallow(&out->dst, &tcph->ip_dst);
    out->srcport = tcph->th_sport;
    out->dstport = tcph->th_dport;
    out->segment.seq = tcph->th_rawseq;
    out->segment.ack = tcph->th_rawack;
    out->segment.has_ack = (tcph->th_flags & 0x10) != 0;
    out->segment.flags = tcp_flags(tcph->th_flags);
    if (payload) {
        guint captured = tvb_captured_length(payload);
        out->segment.length = captured;
        out->segment.reported_length = MAX(tvb_reported_length(payload), captured);
        out->segment.payload = captured ? tvb_get_ptr(payload, 0, (gint)captured) : NULL;
        out->payload_raw_offset = tvb_raw_offset(payload);
    }
    return TRUE;
}

static guint16 get16(const guint8 *bytes)
{
    return (guint16)(bytes[0] << 8 | bytes[1]);
}

/* The TCP header after an IP header at `ip` whose addresses are pinfo's. */
static gboolean segment_after_ip(const guint8 *frame, gint frame_length, gint ip,
                                 packet_info *pinfo, frame_segment_t *out)
{
    gint tcp, end;
    if (pinfo->src.type == AT_IPv4) {
        gint header = (frame[ip] & 0x0f) * 4;
        if ((frame[ip] >> 4) != 4 || header < 20 || frame[ip + 9] != 6 ||
            (get16(frame + ip + 6) & 0x3fff) != 0) /* fragments are not read from bytes */
            return FALSE;
        tcp = ip + header;
        end = ip + get16(frame + ip + 2);
    } else {
        if ((frame[ip] >> 4) != 6 || frame[ip + 6] != 6)
            return FALSE;
        tcp = ip + 40;
        end = tcp + get16(frame + ip + 4);
    }
    if (tcp + 20 > frame_length || get16(frame + tcp) != pinfo->srcport ||
        get16(frame + tcp + 2) != pinfo->destport)
        return FALSE;
    gint payload = tcp + (frame[tcp + 12] >> 4) * 4;
    if (payload < tcp + 20 || end < payload)
        return FALSE;
    out->segment.seq = pntoh32(frame + tcp + 4);
    out->segment.ack = pntoh32(frame + tcp + 8);
    out->segment.has_ack = (frame[tcp + 13] & 0x10) != 0;
    out->segment.flags = tcp_flags(frame[tcp + 13]);
    out->segment.reported_length = (size_t)(end - payload);
    out->segment.length = (size_t)MAX(0, MIN(end, frame_length) - payload);
    out->segment.payload = out->segment.length ? frame + payload : NULL;
    out->payload_raw_offset = payload;
    return TRUE;
}

/* Where taps do not run (tshark -2's first pass): the stream index from TCP's
 * conversation data. */
static gboolean stream_from_conversation(packet_info *pinfo, guint32 *stream)
{
    if (pinfo->ptype != PT_TCP)
        return FALSE;
    conversation_t *conversation = find_conversation_pinfo(pinfo, 0);
    struct tcp_analysis *tcpd =
        conversation ? (struct tcp_analysis *)conversation_get_proto_data(conversation, proto_tcp)
                     : NULL;
    if (!tcpd)
        return FALSE;
    *stream = tcpd->stream;
    return TRUE;
}

/* An IPv4 or IPv6 header at `ip` in the frame, with pinfo's addresses. */
static gboolean ip_header_at(const guint8 *frame, gint frame_length, gint ip,
                             const packet_info *pinfo)
{
    gboolean v4 = pinfo->src.type == AT_IPv4;
    gint source_at = v4 ? 12 : 8; /* IPv4: source at 12, destination at 16; IPv6: 8, 24 */
    gint length = pinfo->src.len;
    return ip + (v4 ? 20 : 40) + 20 <= frame_length && (frame[ip] >> 4) == (v4 ? 4 : 6) &&
           memcmp(frame + ip + source_at, pinfo->src.data, length) == 0 &&
           memcmp(frame + ip + source_at + length, pinfo->dst.data, length) == 0;
}

/* ... and the segment: the innermost IP header with pinfo's addresses and the
 * TCP header with its ports, found in the frame's bytes. */
static gboolean segment_from_frame(tvbuff_t *tvb, packet_info *pinfo, frame_segment_t *out)
{
    if ((pinfo->src.type != AT_IPv4 && pinfo->src.type != AT_IPv6) ||
        pinfo->dst.type != pinfo->src.type)
        return FALSE;
    gint frame_length = (gint)tvb_captured_length(tvb);
    const guint8 *frame = tvb_get_ptr(tvb, 0, frame_length);
    /* Where link layers put the IP header: Ethernet (14, with one or two VLAN
     * tags 18, 22), raw IP (0), BSD loopback (4), Linux cooked (16, 20). */
    static const gint usual[] = {14, 0, 4, 16, 18, 20, 22};
    gboolean found = FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS(usual) && !found; i++)
        found = ip_header_at(frame, frame_length, usual[i], pinfo) &&
                segment_after_ip(frame, frame_length, usual[i], pinfo, out);
    /* Tunnels and other link layers: the last match in the frame is the innermost. */
    if (!found)
        for (gint ip = 0; ip < frame_length; ip++)
            if (ip_header_at(frame, frame_length, ip, pinfo) &&
                segment_after_ip(frame, frame_length, ip, pinfo, out))
                found = TRUE;
    if (!found)
        return FALSE;
    copy_address_shallow(&out->src, &pinfo->src);
    copy_address_shallow(&out->dst, &pinfo->dst);
    out->srcport = pinfo->srcport;
    out->dstport = pinfo->destport;
    return TRUE;
}

/* ---- From segments to engine events -------------------------------------- */

static gboolean server_known(const mtls_connection_info_t *info)
{
    return info->address_type != AT_NONE;
}

static gboolean is_server(const mtls_connection_info_t *info, const address *addr, guint32 port)
{
    address server;
    mtls_connection_address(info, TRUE, &server);
    return port == info->server_port && addresses_equal(addr, &server);
}

/* Stores both endpoints once; addresses the connection has no room for (another
 * type or length than its first packet's) leave the server unknown. */
static void set_endpoints(mtls_connection_info_t *info, const address *server, guint32 server_port,
                          const address *client, guint32 client_port)
{
    if (server->type == AT_NONE || server->type > G_MAXUINT8 || client->type != server->type ||
        server->len != (int)info->address_length || client->len != server->len ||
        server_port > G_MAXUINT16 || client_port > G_MAXUINT16)
        return;
    if (info->address_length > 0) {
        memcpy(info->addresses, client->data, info->address_length);
        memcpy(info->addresses + info->address_length, server->data, info->address_length);
    }
    info->client_port = (guint16)client_port;
    info->server_port = (guint16)server_port;
    info->address_type = (guint8)server->type;
}

/* Gives `exchange` its slot, once: the diagnosis keys on the tag too. */
static void tag_exchange(mtls_exchange_t *exchange)
{
    if (exchange->tag != 0)
        return;
    connection_ref_t ref = ref_of(mtls_exchange_conn(exchange));
    connection_ref_t *slot = ref ? mtls_table_slot(exchange_slots, exchange_count) : NULL;
    if (!slot)
        return; /* no memory, or past the table's limit: the exchange is not shown */
    *slot = ref;
    exchange->tag = ++exchange_count;
}

/* Shows `exchange` on this frame (once). */
static void index_exchange(packet_info *pinfo, mtls_exchange_t *exchange)
{
    tag_exchange(exchange);
    if (exchange->tag != 0)
        mtls_frame_index_add(frame_index, pinfo->num, exchange->tag);
}

/* What the scanner's callbacks need of this frame. */
typedef struct {
    packet_info *pinfo;
    mtls_conn_t *connection;
    live_connection_t *live;
    const frame_segment_t *segment;
    unsigned packet_direction;  /* the scanner's name for this packet's sender */
    SslRecordInfo *next_record; /* the TLS dissector's decrypted records not yet matched */
    gboolean records_fetched;   /* next_record was looked up (on the first protected record) */
} frame_context_t;

static void remember_server_name(mtls_connection_info_t *info, packet_info *pinfo,
                                 const guint8 *message, size_t length)
{
    mtls_hello_t hello;
    mtls_hello_parse(message, length, &hello);
    if (hello.server_name_length == 0 ||
        (size_t)hello.server_name_offset + hello.server_name_length > length)
        return;
    char *name = (char *)get_ascii_string(pinfo->pool, message + hello.server_name_offset,
                                          hello.server_name_length);
    info->server_name_id = mtls_texts_id(texts, name);
}

static void diagnose_message(packet_info *pinfo, const mtls_event_t *event,
                             const mtls_exchange_t *exchange, const guint8 *message, size_t length)
{
    gboolean tls13 = exchange->tls13;
    if (event->type == MTLS_EV_CERTIFICATE && !event->from_server && !event->empty && message) {
        mtls_der_t chain[MAX_CHAIN_CERTIFICATES];
        mtls_certificate_msg_t certificate;
        mtls_certificate_parse(message, length, tls13, chain, G_N_ELEMENTS(chain), &certificate);
        if (certificate.count > 0)
            mtls_diagnosis_read_chain(pinfo, exchange, chain, certificate.count);
    } else if (event->type == MTLS_EV_CERTIFICATE_REQUEST && event->from_server && message) {
        mtls_der_t *names = wmem_alloc_array(pinfo->pool, mtls_der_t, MAX_CA_NAMES);
        mtls_certificate_request_msg_t request;
        mtls_certificate_request_parse(message, length, tls13, names, MAX_CA_NAMES, &request);
        /* A TLS 1.3 request without certificate_authorities lists no names. */
        mtls_diagnosis_read_ca_names(exchange, names, request.has_ca_list ? request.count : 0,
                                     request.has_ca_list ? request.ca_list_length : 0);
    }
    mtls_diagnosis_exchange_updated(exchange);
}

/* The sender of an event the scanner reports for `direction`. */
static void sender_of(const frame_context_t *frame, unsigned direction, const address **addr,
                      guint32 *port, const address **peer, guint32 *peer_port)
{
    gboolean same = direction == frame->packet_direction;
    *addr = same ? &frame->segment->src : &frame->segment->dst;
    *port = same ? frame->segment->srcport : frame->segment->dstport;
    *peer = same ? &frame->segment->dst : &frame->segment->src;
    *peer_port = same ? frame->segment->dstport : frame->segment->srcport;
}

/* One event of a connection, from `sender` to `receiver`: the server is learned
 * from the first server-only message (or the receiver of a ClientHello), then
 * the event goes to the engine, its exchange is shown on this frame and its
 * message read for the diagnosis. */
static void feed_event(packet_info *pinfo, live_connection_t *live, const address *sender,
                       guint32 sender_port, const address *receiver, guint32 receiver_port,
                       const mtls_event_t *scanned, const uint8_t *message, size_t message_length)
{
    mtls_connection_info_t *info = info_of(live->engine.conn);
    if (!server_known(info)) {
        /* The endpoint that sent the first server-only message, or received a ClientHello. */
        switch (scanned->type) {
        case MTLS_EV_CLIENT_HELLO:
            set_endpoints(info, receiver, receiver_port, sender, sender_port);
            break;
        case MTLS_EV_SERVER_HELLO:
        case MTLS_EV_HELLO_REQUEST:
        case MTLS_EV_CERTIFICATE_REQUEST:
        case MTLS_EV_SERVER_HELLO_DONE:
        case MTLS_EV_NEW_SESSION_TICKET:
            set_endpoints(info, sender, sender_port, receiver, receiver_port);
            break;
        default: break;
        }
        if (!server_known(info))
            return; /* mid-stream capture: no direction, no invented verdicts */
    }
    if (scanned->type == MTLS_EV_CLIENT_HELLO && !info->server_name_id && message)
        remember_server_name(info, pinfo, message, message_length);
    mtls_event_t event = *scanned;
    event.from_server = is_server(info, sender, sender_port);
    mtls_exchange_t *exchange = mtls_conn_feed(&live->engine, &event);
    if (!exchange)
        return;
    index_exchange(pinfo, exchange);
    diagnose_message(pinfo, &event, exchange, message, message_length);
}

static void on_event(void *context, unsigned direction, const mtls_event_t *scanned,
                     const uint8_t *message, size_t message_length)
{
    frame_context_t *frame = (frame_context_t *)context;
    const address *sender, *receiver;
    guint32 sender_port, receiver_port;
    sender_of(frame, direction, &sender, &sender_port, &receiver, &receiver_port);
    feed_event(frame->pinfo, frame->live, sender, sender_port, receiver, receiver_port, scanned,
               message, message_length);
}

/* The application's answer goes to the exchange it follows: the connection's
 * latest when the answer is read, once; that frame then shows the exchange. */
static void record_app_answer(packet_info *pinfo, mtls_exchange_t *exchange,
                              const mtls_app_answer_t *answer)
{
    tag_exchange(exchange);
    if (mtls_diagnosis_read_app_answer(pinfo, exchange, answer))
        index_exchange(pinfo, exchange);
}

/* Decrypted application data of both directions feeds the application reader
 * (the client's requests tell it the protocol and what the server answers). */
static void app_data(packet_info *pinfo, mtls_conn_t *connection, live_connection_t *live,
                     gboolean from_server, const uint8_t *data, size_t length)
{
    mtls_connection_info_t *info = info_of(connection);
    if (!server_known(info) || !live || live->app_gave_up)
        return; /* a reader that gave up reads nothing more, as mtls_app_reader_feed() */
    mtls_exchange_t *latest = mtls_conn_latest(connection);
    if (!latest)
        return;
    if (live->app_done) {
        /* Answered: read the next answer only for a later exchange. */
        if (latest->number == live->app_exchange)
            return;
        if (!(live->app = mtls_app_reader_from_memo(info->server_port, live->app_memo)))
            return;
        live->app_done = FALSE;
    } else if (!live->app && !(live->app = mtls_app_reader_new(info->server_port))) {
        return;
    }
    live->app_exchange = latest->number;
    mtls_app_answer_t answer;
    if (!mtls_app_reader_feed(live->app, from_server, data, length, &answer)) {
        /* Given up, with no first answer to tell at the end: the protocol is all
         * the connection's end needs (app_connection_ended). */
        if (!mtls_app_reader_wants_data(live->app) &&
            !mtls_app_reader_first_answer(live->app, &answer)) {
            live->app_gave_up = TRUE;
            app_reader_drop(live);
        }
        return;
    }
    live->app_done = TRUE;
    app_reader_drop(live);
    record_app_answer(pinfo, latest, &answer);
}

static void on_application_data(void *context, unsigned direction, uint32_t frame_number _U_,
                                const uint8_t *data, size_t length)
{
    frame_context_t *frame = (frame_context_t *)context;
    mtls_connection_info_t *info = info_of(frame->connection);
    const address *sender, *receiver;
    guint32 sender_port, receiver_port;
    sender_of(frame, direction, &sender, &sender_port, &receiver, &receiver_port);
    if (!server_known(info))
        return;
    app_data(frame->pinfo, frame->connection, frame->live, is_server(info, sender, sender_port),
             data, length);
}

/* The connection ends without a decisive answer: its exchange keeps what the
 * application said first, or at least which protocol the client spoke. */
static void app_connection_ended(packet_info *pinfo, mtls_conn_t *connection,
                                 live_connection_t *live)
{
    if ((!live->app && !live->app_gave_up) || live->app_done)
        return;
    mtls_exchange_t *latest = mtls_conn_latest(connection);
    if (!latest || latest->number != live->app_exchange)
        return;
    mtls_app_answer_t answer;
    if (!live->app || !mtls_app_reader_first_answer(live->app, &answer)) {
        memset(&answer, 0, sizeof(answer));
        answer.protocol = live->app ? mtls_app_reader_protocol(live->app)
                                    : (mtls_app_protocol_t)live->app_memo.protocol;
        if (answer.protocol == MTLS_APP_UNKNOWN || answer.protocol >= MTLS_APP_PROTOCOL_COUNT)
            return;
    }
    live->app_done = TRUE;
    record_app_answer(pinfo, latest, &answer);
}

/* Where the protocols the plugin reads sit in this frame's layers (1-based, 0:
 * absent); one walk of pinfo->layers per frame on the first pass. */
typedef struct {
    guint32 tls, dtls, eap, quic;
    int eap_carrier; /* the protocol at `eap`: radius, eapol or eap */
} frame_layers_t;

static int proto_dtls = -1;
static int proto_eap = -1;
static int proto_eapol = -1;
static int proto_radius = -1;
static int proto_quic = -1;

/* What each protocol is to find_layers: a direct-mapped table by protocol id
 * (ids are field indices, far apart: a table over their span would be large),
 * sized so the six ids fall in distinct slots. One load and one compare per
 * layer instead of a comparison with each protocol. */
enum { LAYER_OTHER, LAYER_TLS, LAYER_DTLS, LAYER_EAP, LAYER_QUIC };
#define LAYER_SLOTS_MAX 4096u
typedef struct {
    int proto;
    guint8 kind;
} layer_slot_t;
static layer_slot_t layer_slots[LAYER_SLOTS_MAX];
static guint layer_mask; /* slots - 1 */

static void layer_kinds_build(void)
{
    const int ids[] = {proto_tls, proto_dtls, proto_eap, proto_eapol, proto_radius, proto_quic};
    const guint8 kinds[] = {LAYER_TLS, LAYER_DTLS, LAYER_EAP, LAYER_EAP, LAYER_EAP, LAYER_QUIC};
    guint slots = 8;
    for (; slots < LAYER_SLOTS_MAX; slots *= 2) {
        gboolean distinct = TRUE;
        for (size_t i = 0; i < G_N_ELEMENTS(ids) && distinct; i++)
            for (size_t j = 0; j < i; j++)
                if (ids[i] >= 0 && ids[j] >= 0 && ids[i] != ids[j] &&
                    ((guint)ids[i] & (slots - 1)) == ((guint)ids[j] & (slots - 1)))
                    distinct = FALSE;
        if (distinct)
            break;
    }
    /* At LAYER_SLOTS_MAX a collision (never seen) leaves the later id unfound. */
    layer_mask = slots - 1;
    for (guint i = 0; i < slots; i++) /* the only ones find_layers reads */
        layer_slots[i].proto = -1;
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++)
        if (ids[i] >= 0 && layer_slots[(guint)ids[i] & layer_mask].proto < 0) {
            layer_slots[(guint)ids[i] & layer_mask].proto = ids[i];
            layer_slots[(guint)ids[i] & layer_mask].kind = kinds[i];
        }
}

/* mtls_compat.h: the layers' list frames read in place once their layout was
 * checked against the API on LAYOUT_CHECKS frames; through the API otherwise. */
#define LAYOUT_CHECKS 16
static guint layout_checks_left = LAYOUT_CHECKS;
static gboolean layout_ok = TRUE;

static gboolean list_layout_matches(wmem_list_t *list)
{
    for (wmem_list_frame_t *frame = wmem_list_head(list); frame;
         frame = wmem_list_frame_next(frame)) {
        const mtls_wmem_list_frame_t *mine = (const mtls_wmem_list_frame_t *)frame;
        if ((const void *)mine->next != (const void *)wmem_list_frame_next(frame) ||
            mine->data != wmem_list_frame_data(frame))
            return FALSE;
    }
    return TRUE;
}

static void find_layers(packet_info *pinfo, frame_layers_t *found)
{
    guint32 position = 0;
    memset(found, 0, sizeof(*found));
    if (layout_checks_left > 0 && layout_ok) {
        layout_checks_left--;
        if (!list_layout_matches(pinfo->layers)) {
            layout_ok = FALSE;
            ws_warning("mtls: wmem list frames have an unexpected layout in Wireshark %s; "
                       "walking frame layers through the API instead",
                       epan_get_version());
        }
    }
    const mtls_wmem_list_frame_t *next = NULL;
    wmem_list_frame_t *layer = wmem_list_head(pinfo->layers);
    for (; layer;
         layer = layout_ok ? (wmem_list_frame_t *)(void *)next : wmem_list_frame_next(layer)) {
        int proto;
        if (layout_ok) {
            const mtls_wmem_list_frame_t *mine = (const mtls_wmem_list_frame_t *)(void *)layer;
            next = mine->next;
            proto = GPOINTER_TO_INT(mine->data);
        } else {
            proto = GPOINTER_TO_INT(wmem_list_frame_data(layer));
        }
        const layer_slot_t *slot = &layer_slots[(guint)proto & layer_mask];
        position++;
        if (slot->proto != proto || slot->kind == LAYER_OTHER)
            continue;
        guint32 *first[] = {NULL, &found->tls, &found->dtls, &found->eap, &found->quic};
        if (*first[slot->kind])
            continue; /* the outermost one counts */
        *first[slot->kind] = position;
        if (slot->kind == LAYER_EAP)
            found->eap_carrier = proto;
    }
}

/* TLS was called on this frame (mtls_compat.h: from 4.2 on a call that only asks
 * for more bytes leaves no layer). */
static gboolean tls_in_frame(packet_info *pinfo, const frame_layers_t *layers)
{
    return mtls_tls_saw_frame(pinfo, proto_tls, layers->tls != 0);
}

/* The TLS dissector's decrypted records of this frame (SslPacketInfo): where
 * they are stored differs between versions (mtls_compat.h). */
static SslRecordInfo *decrypted_records(packet_info *pinfo)
{
    return mtls_tls_decrypted_records(pinfo, proto_tls);
}

/* The TLS dissector's plaintext of a protected record: its decrypted records of
 * this frame carry the record's position (the payload's offset in the frame,
 * plus the record's, plus its header). A record that began in an earlier
 * segment was read from reassembled data: it takes the next record not matched
 * by position, when its plaintext fits the protected length. */
static bool on_plaintext(void *context, unsigned direction,
                         const mtls_tls_protected_record_t *record, mtls_tls_plaintext_t *plaintext)
{
    frame_context_t *frame = (frame_context_t *)context;
    if (!frame->records_fetched) {
        frame->next_record = decrypted_records(frame->pinfo);
        frame->records_fetched = TRUE;
    }
    if (direction != frame->packet_direction || !frame->next_record)
        return false;
    const frame_segment_t *segment = frame->segment;
    SslRecordInfo *match = NULL;
    if (record->header_offset >= 0 && (size_t)record->header_offset < segment->segment.length) {
        gint id = segment->payload_raw_offset + (gint)record->header_offset + 5;
        for (SslRecordInfo *candidate = frame->next_record; candidate; candidate = candidate->next)
            if (candidate->id == id) {
                match = candidate;
                break;
            }
    }
    if (!match && frame->next_record->data_len <= record->length)
        match = frame->next_record;
    if (!match)
        return false;
    frame->next_record = match->next;
    plaintext->content_type = (uint8_t)match->type;
    plaintext->data = match->plain_data;
    plaintext->length = match->data_len;
    return true;
}

/* A listener without callbacks makes TCP queue each segment's payload on
 * "tcp_follow", where the post-dissector fetches it in the same frame. It is
 * registered with the first TLS connection, so captures without TLS do not pay
 * for it; frames before it are read from their bytes. As a dissector helper it
 * does not make `tshark -r in -w out` dissect. */
static void want_tcp_segments(void)
{
    static int follow_listener;
    if (follow_listener_registered || tcp_follow_tap_id < 0)
        return;
    GString *error = register_tap_listener("tcp_follow", &follow_listener, NULL,
                                           TL_IS_DISSECTOR_HELPER, NULL, NULL, NULL, NULL);
    if (error)
        g_string_free(error, TRUE);
    follow_listener_registered = TRUE; /* tried once; on error frames are read from bytes */
}

static mtls_conn_t *new_connection(mtls_transport_t transport, guint32 stream, const address *src)
{
    /* Room for both addresses, as long as this packet's. */
    guint8 address_length = src->len > 0 && src->len <= MAX_ADDRESS_LENGTH ? (guint8)src->len : 0;
    connection_cell_t *cell = mtls_table_slot(connections[transport], stream);
    if (!cell)
        return NULL;
    connection_ref_t ref = 0;
    mtls_conn_t *connection = mtls_conn_init(connection_memory_for(address_length, &ref));
    if (!connection)
        return NULL;
    mtls_connection_info_t *info = info_of(connection);
    info->stream = stream;
    info->transport = (guint8)transport;
    info->address_length = address_length;
    guint32 live_index = 0;
    live_connection_t *live = new_live(&live_index);
    if (!live) {
        *cell = ref; /* closed from the start: it is known, and shows nothing */
        return connection;
    }
    mtls_conn_state_init(&live->engine, connection);
    mtls_conn_set_inference(&live->engine, pref_infer_without_keys);
    live->ref = ref;
    if (transport == MTLS_TRANSPORT_TCP) {
        live->scanner = mtls_tls_stream_new();
        live_connections++;
        want_tcp_segments();
    }
    *cell = CELL_LIVE | live_index;
    return connection;
}

/* ---- What the transport adapters call (mtls_transport.h) ------------------ */

mtls_conn_t *mtls_transport_connection(mtls_transport_t transport, guint32 id,
                                       const address *first_sender, gboolean create)
{
    if ((int)transport <= MTLS_TRANSPORT_TCP || transport >= MTLS_TRANSPORT_COUNT ||
        !connections[transport])
        return NULL;
    connection_cell_t *known = mtls_table_get(connections[transport], id);
    if (known && *known)
        return cell_connection(*known);
    return create ? new_connection(transport, id, first_sender) : NULL;
}

void mtls_transport_set_session_label(mtls_conn_t *connection, const char *label)
{
    if (connection && label && *label) {
        g_hash_table_insert(session_labels, connection,
                            GUINT_TO_POINTER(mtls_texts_id(texts, label)));
        info_of(connection)->has_label = 1;
    }
}

void mtls_transport_set_server(mtls_conn_t *connection, const mtls_endpoint_t *server,
                               const mtls_endpoint_t *client)
{
    mtls_connection_info_t *info = connection ? info_of(connection) : NULL;
    if (info && !server_known(info))
        set_endpoints(info, &server->addr, server->port, &client->addr, client->port);
}

void mtls_transport_event(packet_info *pinfo, mtls_conn_t *connection,
                          const mtls_endpoint_t *sender, const mtls_endpoint_t *receiver,
                          const mtls_event_t *event, const guint8 *message, size_t message_length)
{
    live_connection_t *live = live_of(connection);
    if (!live)
        return;
    feed_event(pinfo, live, &sender->addr, sender->port, &receiver->addr, receiver->port, event,
               message, message_length);
}

void mtls_transport_outer_result(packet_info *pinfo, mtls_conn_t *connection, mtls_outer_t outer,
                                 guint64 quic_error)
{
    live_connection_t *live = live_of(connection);
    if (!live || !server_known(info_of(connection)))
        return;
    mtls_event_t event;
    memset(&event, 0, sizeof(event));
    event.type = MTLS_EV_OUTER;
    event.from_server = TRUE;
    event.frame = pinfo->num;
    event.time_ns = mtls_transport_time_ns(&pinfo->abs_ts);
    event.outer = outer;
    event.quic_error = quic_error;
    event.alert_description = -1;
    mtls_exchange_t *exchange = mtls_conn_feed(&live->engine, &event);
    if (exchange) {
        index_exchange(pinfo, exchange);
        mtls_diagnosis_exchange_updated(exchange);
    }
}

void mtls_transport_application_data(packet_info *pinfo, mtls_conn_t *connection,
                                     gboolean from_server, const guint8 *data, size_t length)
{
    if (connection)
        app_data(pinfo, connection, live_of(connection), from_server, data, length);
}

void mtls_transport_closed(packet_info *pinfo, mtls_conn_t *connection)
{
    if (!connection)
        return;
    live_connection_t *live = live_of(connection);
    if (!live)
        return;
    app_connection_ended(pinfo, connection, live);
    free_live(connection);
}

/* A capture timestamp in nanoseconds, saturated: hostile files carry any time_t. */
gint64 mtls_transport_time_ns(const nstime_t *when)
{
    const gint64 limit = G_MAXINT64 / 1000000000 - 1;
    if ((gint64)when->secs > limit)
        return G_MAXINT64;
    if ((gint64)when->secs < -limit)
        return G_MININT64;
    return (gint64)when->secs * 1000000000 + when->nsecs;
}

/* The scanner's name for a packet's sender: 0 for the lower endpoint. */
static unsigned direction_of(const frame_segment_t *segment)
{
    if (segment->srcport != segment->dstport)
        return segment->srcport < segment->dstport ? 0 : 1;
    return cmp_address(&segment->src, &segment->dst) < 0 ? 0 : 1;
}

static const mtls_tls_stream_callbacks_t scanner_callbacks = {
    .event = on_event,
    .application_data = on_application_data,
    .plaintext = on_plaintext,
};

/* A connection starts at a frame TLS dissected, or, where TLS is known only
 * from its conversation (mtls_compat.h: 4.2 and later), at a segment that
 * begins like a TLS record: a STARTTLS reply after TLS was announced on the
 * conversation (PostgreSQL's 'S' to the SSLRequest) is not TLS yet. */
static gboolean starts_like_tls(const frame_layers_t *layers, const mtls_tcp_segment_t *segment)
{
    if (layers->tls != 0)
        return TRUE;
    if (segment->length == 0 || !segment->payload)
        return FALSE;
    guint8 type = segment->payload[0];
    if (type < 20 || type > 24)
        return FALSE;
    return segment->length < 2 || segment->payload[1] == 3;
}

/* First pass: this frame's TCP segment through its connection's scanner. A
 * connection is tracked from the first frame the TLS dissector reads; frames of
 * other connections cost a stream lookup. */
static void analyse_frame(tvbuff_t *tvb, packet_info *pinfo, const frame_layers_t *layers)
{
    /* While no connection is open, only a frame the TLS dissector read matters. */
    if (live_connections == 0 && !tls_in_frame(pinfo, layers))
        return;
    frame_segment_t segment;
    memset(&segment, 0, sizeof(segment));
    gboolean tapped = segment_from_taps(&segment);
    if (!tapped && !stream_from_conversation(pinfo, &segment.stream))
        return;
    connection_cell_t *known = mtls_table_get(connections[MTLS_TRANSPORT_TCP], segment.stream);
    live_connection_t *live = known ? cell_live(*known) : NULL;
    mtls_conn_t *connection = live ? live->engine.conn : known ? cell_connection(*known) : NULL;
    if (!connection && !tls_in_frame(pinfo, layers))
        return;
    if (!tapped && !segment_from_frame(tvb, pinfo, &segment))
        return;
    if (!connection && !starts_like_tls(layers, &segment.segment))
        return;
    if (!connection) {
        if (!(connection = new_connection(MTLS_TRANSPORT_TCP, segment.stream, &segment.src)))
            return;
        live = live_of(connection); /* made just now */
    }
    mtls_connection_info_t *info = info_of(connection);
    if (!live || !live->scanner)
        return; /* closed, or no memory */

    segment.segment.direction = direction_of(&segment);
    segment.segment.frame = pinfo->num;
    segment.segment.time_ns = mtls_transport_time_ns(&pinfo->abs_ts);
    frame_context_t frame = {
        .pinfo = pinfo,
        .connection = connection,
        .live = live,
        .segment = &segment,
        .packet_direction = segment.segment.direction,
    };
    mtls_tls_stream_result_t result =
        mtls_tls_stream_segment(live->scanner, &segment.segment, &scanner_callbacks, &frame);
    if (result.gap && !info->has_gap) {
        g_hash_table_insert(gap_frames, connection, GUINT_TO_POINTER(pinfo->num));
        info->has_gap = 1;
    }
    if (mtls_tls_stream_closed(live->scanner)) {
        app_connection_ended(pinfo, connection, live);
        free_live(connection);
    }
}

/* ---- Rendering ------------------------------------------------------------ */

static void add_frame(proto_tree *tree, tvbuff_t *tvb, int hf, guint32 frame)
{
    if (frame)
        proto_item_set_generated(proto_tree_add_uint(tree, hf, tvb, 0, 0, frame));
}

static void add_boolean(proto_tree *tree, tvbuff_t *tvb, int hf, gboolean value)
{
    proto_item_set_generated(proto_tree_add_boolean(tree, hf, tvb, 0, 0, value));
}

static void add_string(proto_tree *tree, tvbuff_t *tvb, int hf, const char *value)
{
    proto_item_set_generated(proto_tree_add_string(tree, hf, tvb, 0, 0, value));
}

/* ---- The evidence in the packet details ---------------------------------- */

/* A label holds ITEM_LABEL_LENGTH - 1 characters; these prefixes come before the text. */
#define EVIDENCE_PREFIX "Evidence: "
#define CLAUSE_PREFIX   "Clause: "
#define CLAUSE_ROOM     (ITEM_LABEL_LENGTH - 1 - (int)sizeof(CLAUSE_PREFIX))

/* A clause longer than a label: its line shows the part up to a ", " that fits,
 * and each further part is a line under it, none cut. */
static void add_clause_parts(proto_item *item, tvbuff_t *tvb, const char *clause)
{
    size_t length = strlen(clause);
    size_t start = 0;
    gboolean first = TRUE;
    proto_tree *parts = proto_item_add_subtree(item, ett_mtls_evidence_clause);
    while (start < length) {
        size_t room = (size_t)CLAUSE_ROOM - 4;
        size_t end = length;
        if (length - start > room) {
            end = start + room;
            /* back to the last ", " or " " inside the room, else cut there */
            size_t cut = end;
            while (cut > start + 1 && !(clause[cut - 1] == ',' && clause[cut] == ' '))
                cut--;
            if (cut <= start + 1) {
                cut = end;
                while (cut > start + 1 && clause[cut] != ' ')
                    cut--;
            }
            end = cut > start + 1 ? cut : end;
            while (end > start && (clause[end] & 0xC0) == 0x80) /* not inside a UTF-8 character */
                end--;
        }
        int part = (int)(end - start);
        if (first)
            proto_item_set_text(item, CLAUSE_PREFIX "%.*s", part, clause + start);
        else
            proto_item_set_generated(proto_tree_add_none_format(
                parts, hf_mtls_evidence_continued, tvb, 0, 0, "... %.*s", part, clause + start));
        first = FALSE;
        start = end;
        while (start < length && clause[start] == ' ')
            start++;
    }
}

/* mtls.evidence keeps the whole text (for -T fields and filters); its line says
 * it short, and one mtls.evidence.clause per "; " clause below it says it whole. */
static void add_evidence(proto_tree *tree, tvbuff_t *tvb, const char *evidence,
                         mtls_verdict_t verdict)
{
    guint clauses = 1;
    for (const char *at = strstr(evidence, "; "); at; at = strstr(at + 2, "; "))
        clauses++;
    const char *first_end = strstr(evidence, "; ");
    size_t first_length = first_end ? (size_t)(first_end - evidence) : strlen(evidence);
    size_t room = ITEM_LABEL_LENGTH - 1 - sizeof(EVIDENCE_PREFIX) - 32;
    proto_item *item;
    if (strlen(evidence) <= room)
        item = proto_tree_add_string(tree, hf_mtls_evidence, tvb, 0, 0, evidence);
    else if (first_length <= room)
        item = proto_tree_add_string_format_value(tree, hf_mtls_evidence, tvb, 0, 0, evidence,
                                                  "%.*s; ... (%u clauses below)", (int)first_length,
                                                  evidence, clauses);
    else
        item = proto_tree_add_string_format_value(tree, hf_mtls_evidence, tvb, 0, 0, evidence,
                                                  "%s; the %u clauses below say why",
                                                  mtls_verdict_name(verdict), clauses);
    proto_item_set_generated(item);
    proto_tree *clause_tree = proto_item_add_subtree(item, ett_mtls_evidence);
    const char *start = evidence;
    while (start) {
        const char *end = strstr(start, "; ");
        size_t length = end ? (size_t)(end - start) : strlen(start);
        char *clause = g_strndup(start, length);
        proto_item *clause_item =
            proto_tree_add_string(clause_tree, hf_mtls_evidence_clause, tvb, 0, 0, clause);
        proto_item_set_generated(clause_item);
        if (length > (size_t)CLAUSE_ROOM)
            add_clause_parts(clause_item, tvb, clause);
        g_free(clause);
        start = end ? end + 2 : NULL;
    }
}

static int verdict_field(mtls_verdict_t verdict)
{
    switch (verdict) {
    case MTLS_VERDICT_ACCEPTED: return hf_mtls_accepted;
    case MTLS_VERDICT_REJECTED: return hf_mtls_rejected;
    case MTLS_VERDICT_SERVER_IGNORED: return hf_mtls_server_ignored;
    case MTLS_VERDICT_CLIENT_ABORTED: return hf_mtls_client_aborted;
    default: return -1;
    }
}

static expert_field *verdict_expert(mtls_verdict_t verdict)
{
    switch (verdict) {
    case MTLS_VERDICT_ACCEPTED: return &ei_mtls_accepted;
    case MTLS_VERDICT_REJECTED: return &ei_mtls_rejected;
    case MTLS_VERDICT_SERVER_IGNORED: return &ei_mtls_server_ignored;
    case MTLS_VERDICT_CLIENT_ABORTED: return &ei_mtls_client_aborted;
    case MTLS_VERDICT_UNDETERMINED: return &ei_mtls_undetermined;
    default: return NULL;
    }
}

static void add_experts(packet_info *pinfo, proto_item *item, const mtls_exchange_t *exchange,
                        mtls_verdict_t verdict, gboolean final, const char *evidence)
{
    guint32 frame = pinfo->num;
    if (frame == exchange->request_frame)
        expert_add_info_format(pinfo, item, &ei_mtls_requested,
                               "Server requested a client certificate (exchange %u, %s)",
                               exchange->number, mtls_phase_name(exchange->phase));
    if (frame == exchange->response_frame) {
        if (exchange->response == MTLS_RESPONSE_CERTIFICATE)
            expert_add_info_format(pinfo, item, &ei_mtls_provided,
                                   "Client sent a certificate chain (exchange %u)",
                                   exchange->number);
        else
            expert_add_info_format(pinfo, item, &ei_mtls_empty,
                                   "Client answered the certificate request without a "
                                   "certificate (%s, exchange %u)",
                                   mtls_response_name(exchange->response), exchange->number);
    }
    expert_field *decision = verdict_expert(verdict);
    gboolean decided_here = frame == exchange->decision_frame;
    /* An exchange the capture leaves open is flagged where its connection ends. */
    gboolean ended_here = final && verdict == MTLS_VERDICT_UNDETERMINED &&
                          !exchange->decision_frame && frame == exchange->last_frame;
    if (decision && (decided_here || ended_here)) {
        if (strlen(evidence) < ITEM_LABEL_LENGTH)
            expert_add_info_format(pinfo, item, decision, "%s", evidence);
        else /* an expert text is cut at ITEM_LABEL_LENGTH: say it short, whole */
            expert_add_info_format(
                pinfo, item, decision,
                "Client authentication %s in frame %u (exchange %u%s%s); the full account is "
                "in mtls.evidence.",
                mtls_verdict_name(verdict), frame, exchange->number,
                exchange->inferred ? ", inferred from record sizes, " : "",
                exchange->inferred ? mtls_confidence_name(exchange->confidence) : "");
    }
    guint32 inferred_frame =
        exchange->decision_frame ? exchange->decision_frame : exchange->response_frame;
    if (exchange->inferred && frame == inferred_frame)
        expert_add_info_format(pinfo, item, &ei_mtls_inferred,
                               "Exchange %u deduced without keys from record sizes, confidence %s",
                               exchange->number, mtls_confidence_name(exchange->confidence));
}

static void queue_tap(packet_info *pinfo, mtls_conn_t *connection, const mtls_exchange_t *exchange,
                      gboolean final)
{
    if (have_tap_listener(mtls_tap)) {
        mtls_tap_info_t *tap_info = wmem_new(pinfo->pool, mtls_tap_info_t);
        tap_info->exchange = exchange;
        tap_info->connection = info_of(connection);
        tap_info->final = final;
        tap_queue_packet(mtls_tap, pinfo, tap_info);
    }
}

/* mtls.outer_result: one item per outer decision (RADIUS carries EAP's too), so
 * that mtls.outer_result == "Access-Reject" matches as well as "EAP-Failure". */
static void add_outer_result(proto_tree *tree, tvbuff_t *tvb, const mtls_exchange_t *exchange)
{
    switch (exchange->outer) {
    case MTLS_OUTER_NONE: return;
    case MTLS_OUTER_EAP_SUCCESS_ACCESS_ACCEPT:
        add_string(tree, tvb, hf_mtls_outer_result, "EAP-Success");
        add_string(tree, tvb, hf_mtls_outer_result, "Access-Accept");
        return;
    case MTLS_OUTER_EAP_FAILURE_ACCESS_REJECT:
        add_string(tree, tvb, hf_mtls_outer_result, "EAP-Failure");
        add_string(tree, tvb, hf_mtls_outer_result, "Access-Reject");
        return;
    case MTLS_OUTER_QUIC_CLOSE: {
        char text[96];
        const char *alert = exchange->alert >= 0 ? mtls_alert_name(exchange->alert) : NULL;
        if (alert)
            g_snprintf(text, sizeof(text), "QUIC CONNECTION_CLOSE 0x%x (%s)", exchange->quic_error,
                       alert);
        else
            g_snprintf(text, sizeof(text), "QUIC CONNECTION_CLOSE 0x%x", exchange->quic_error);
        add_string(tree, tvb, hf_mtls_outer_result, text);
        return;
    }
    case MTLS_OUTER_EAP_SUCCESS:
    case MTLS_OUTER_EAP_FAILURE:
    case MTLS_OUTER_ACCESS_ACCEPT:
    case MTLS_OUTER_ACCESS_REJECT:
        add_string(tree, tvb, hf_mtls_outer_result, mtls_outer_name(exchange->outer));
        return;
    }
}

static void render_exchange(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
                            mtls_conn_t *connection, const mtls_exchange_t *exchange,
                            gboolean final)
{
    mtls_verdict_t verdict = mtls_exchange_verdict(exchange, final);
    if (!tree) {
        /* Nothing is shown or filtered: only the Info column and the reports,
         * and the expert infos when something listens to them without a tree
         * (the Expert Information dialog, tshark -z expert). */
        if (expert_tap_id >= 0 && have_tap_listener(expert_tap_id)) {
            char sentence[512] = "";
            if (pinfo->num == exchange->decision_frame ||
                (final && pinfo->num == exchange->last_frame))
                mtls_exchange_evidence(exchange, final, sentence, sizeof(sentence));
            add_experts(pinfo, NULL, exchange, verdict, final, sentence);
            mtls_diagnosis_render(tvb, pinfo, NULL, NULL, exchange, verdict);
        }
        if (pref_info_column && pinfo->num == exchange->decision_frame)
            col_append_fstr(pinfo->cinfo, COL_INFO, " [mTLS: %s]", mtls_verdict_name(verdict));
        queue_tap(pinfo, connection, exchange, final);
        return;
    }
    /* The evidence sentences are written only where they are read: the field in
     * a tree that is shown or filtered on, the sentence in the expert info of the
     * frame that decided (or ended) the exchange. Most frames need neither. */
    gboolean evidence_shown = proto_field_is_referenced(tree, hf_mtls_evidence);
    char evidence[512] = "";
    if (evidence_shown || pinfo->num == exchange->decision_frame ||
        (final && pinfo->num == exchange->last_frame))
        mtls_exchange_evidence(exchange, final, evidence, sizeof(evidence));

    proto_item *item = proto_tree_add_item(tree, proto_mtls, tvb, 0, 0, ENC_NA);
    proto_item_append_text(item, ": exchange %u (%s), %s", exchange->number,
                           mtls_phase_name(exchange->phase), mtls_verdict_name(verdict));
    proto_item_set_generated(item);
    proto_tree *mtls_tree = proto_item_add_subtree(item, ett_mtls);

    add_string(mtls_tree, tvb, hf_mtls_verdict, mtls_verdict_name(verdict));
    if (mtls_exchange_request_known(exchange))
        add_boolean(mtls_tree, tvb, hf_mtls_requested, exchange->requested);
    if (exchange->requested) {
        if (exchange->response != MTLS_RESPONSE_PENDING)
            add_boolean(mtls_tree, tvb, hf_mtls_provided,
                        exchange->response == MTLS_RESPONSE_CERTIFICATE);
        add_string(mtls_tree, tvb, hf_mtls_response, mtls_response_name(exchange->response));
    }
    int flag = verdict_field(verdict);
    if (flag != -1)
        add_boolean(mtls_tree, tvb, flag, TRUE);
    add_string(mtls_tree, tvb, hf_mtls_phase, mtls_phase_name(exchange->phase));
    const mtls_connection_info_t *connection_info = info_of(connection);
    char session[64];
    add_string(mtls_tree, tvb, hf_mtls_transport, mtls_connection_transport(connection_info));
    add_string(mtls_tree, tvb, hf_mtls_session,
               mtls_connection_session(connection_info, session, sizeof(session)));
    add_outer_result(mtls_tree, tvb, exchange);
    proto_item_set_generated(
        proto_tree_add_uint(mtls_tree, hf_mtls_exchange, tvb, 0, 0, exchange->number));
    add_frame(mtls_tree, tvb, hf_mtls_request_frame, exchange->request_frame);
    add_frame(mtls_tree, tvb, hf_mtls_response_frame, exchange->response_frame);
    add_frame(mtls_tree, tvb, hf_mtls_verify_frame, exchange->verify_frame);
    add_frame(mtls_tree, tvb, hf_mtls_decision_frame, exchange->decision_frame);
    if (exchange->alert >= 0)
        proto_item_set_generated(
            proto_tree_add_uint(mtls_tree, hf_mtls_alert, tvb, 0, 0, (guint32)exchange->alert));
    if (exchange->decision_frame && exchange->response_frame &&
        exchange->decision_time_ns >= exchange->response_time_ns) {
        gint64 delta = mtls_difference(exchange->decision_time_ns, exchange->response_time_ns);
        nstime_t time_to_decision = {(time_t)(delta / 1000000000), (int)(delta % 1000000000)};
        proto_item_set_generated(
            proto_tree_add_time(mtls_tree, hf_mtls_time_to_decision, tvb, 0, 0, &time_to_decision));
    }
    add_boolean(mtls_tree, tvb, hf_mtls_pha_offered, exchange->pha_offered);
    add_boolean(mtls_tree, tvb, hf_mtls_resumed, exchange->resumed);
    if (exchange->inferred) {
        add_boolean(mtls_tree, tvb, hf_mtls_inferred, TRUE);
        add_string(mtls_tree, tvb, hf_mtls_confidence, mtls_confidence_name(exchange->confidence));
    }
    mtls_diagnosis_render(tvb, pinfo, mtls_tree, item, exchange, verdict);
    if (evidence_shown) {
        /* mtls.evidence adds the diagnosis; the decision's expert keeps the
         * verdict's sentence (expert texts are cut at ITEM_LABEL_LENGTH). */
        char evidence_line[1024];
        g_strlcpy(evidence_line, evidence, sizeof(evidence_line));
        mtls_diagnosis_append_evidence(exchange, verdict, evidence_line, sizeof(evidence_line));
        guint32 gap_frame = mtls_connection_gap_frame(info_of(connection));
        if (gap_frame && exchange->last_frame >= gap_frame) {
            size_t used = strlen(evidence_line);
            if (used > 0 && evidence_line[used - 1] == '.')
                evidence_line[--used] = '\0';
            g_snprintf(evidence_line + used, (gulong)(sizeof(evidence_line) - used),
                       "; the capture misses part of the TCP stream (bytes before frame %u), "
                       "so messages of this exchange may be missing.",
                       gap_frame);
        }
        add_evidence(mtls_tree, tvb, evidence_line, verdict);
    }

    add_experts(pinfo, item, exchange, verdict, final, evidence);
    if (pref_info_column && pinfo->num == exchange->decision_frame)
        col_append_fstr(pinfo->cinfo, COL_INFO, " [mTLS: %s]", mtls_verdict_name(verdict));

    queue_tap(pinfo, connection, exchange, final);
}

static int dissect_mtls(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    if (!proto_is_protocol_enabled(mtls_protocol))
        return 0;
    /* What call_dissector_work() does for a handle with a protocol: expert
     * infos name their protocol from it (-z expert). */
    const char *saved_proto = pinfo->current_proto;
    pinfo->current_proto = mtls_short_name;
    gboolean final = PINFO_FD_VISITED(pinfo);
    if (!final) {
        frame_layers_t layers;
        find_layers(pinfo, &layers);
        analyse_frame(tvb, pinfo, &layers);
        if (layers.dtls)
            mtls_dtls_frame(tvb, pinfo, layers.dtls);
        if (layers.eap)
            mtls_eap_frame(tvb, pinfo, layers.eap_carrier);
        if (layers.quic)
            mtls_quic_frame(tvb, pinfo, layers.quic);
    }

    guint32 tags[MAX_EXCHANGES_PER_FRAME];
    size_t shown = mtls_frame_index_lookup(frame_index, pinfo->num, tags, G_N_ELEMENTS(tags));
    for (size_t i = 0; i < shown && i < G_N_ELEMENTS(tags); i++) {
        mtls_conn_t *connection;
        const mtls_exchange_t *exchange = exchange_of_tag(tags[i], &connection);
        if (exchange)
            render_exchange(tvb, pinfo, tree, connection, exchange, final);
    }
    pinfo->current_proto = saved_proto;
    return 0;
}

/* ---- Registration --------------------------------------------------------- */

void proto_register_mtls(void)
{
    static hf_register_info hf[] = {
        {&hf_mtls_verdict,
         {"Verdict", "mtls.verdict", FT_STRING, BASE_NONE, NULL, 0x0,
          "not-requested, pending, accepted, rejected, server-ignored, client-aborted or "
          "undetermined",
          HFILL}},
        {&hf_mtls_requested,
         {"Certificate requested", "mtls.requested", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The server sent a CertificateRequest", HFILL}},
        {&hf_mtls_provided,
         {"Certificate provided", "mtls.provided", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The client answered with a non-empty certificate chain", HFILL}},
        {&hf_mtls_response,
         {"Client response", "mtls.response", FT_STRING, BASE_NONE, NULL, 0x0,
          "certificate, empty, none, no_certificate-alert or pending", HFILL}},
        {&hf_mtls_accepted,
         {"Accepted", "mtls.accepted", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The client sent a certificate chain and the server went on", HFILL}},
        {&hf_mtls_rejected,
         {"Rejected", "mtls.rejected", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "After the request, the server ended the connection", HFILL}},
        {&hf_mtls_server_ignored,
         {"Server ignored missing certificate", "mtls.server_ignored", FT_BOOLEAN, BASE_NONE, NULL,
          0x0, "The client sent no usable certificate and the server went on", HFILL}},
        {&hf_mtls_client_aborted,
         {"Client aborted", "mtls.client_aborted", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The client ended the connection after the request", HFILL}},
        {&hf_mtls_phase,
         {"Phase", "mtls.phase", FT_STRING, BASE_NONE, NULL, 0x0,
          "handshake, renegotiation or post-handshake", HFILL}},
        {&hf_mtls_exchange,
         {"Exchange", "mtls.exchange", FT_UINT32, BASE_DEC, NULL, 0x0,
          "1-based number of the client-authentication exchange in its connection", HFILL}},
        {&hf_mtls_request_frame,
         {"CertificateRequest in frame", "mtls.request_frame", FT_FRAMENUM, BASE_NONE,
          FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0, NULL, HFILL}},
        {&hf_mtls_response_frame,
         {"Client answer in frame", "mtls.response_frame", FT_FRAMENUM, BASE_NONE,
          FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0,
          "The client's Certificate, or what stood in its place", HFILL}},
        {&hf_mtls_verify_frame,
         {"CertificateVerify in frame", "mtls.verify_frame", FT_FRAMENUM, BASE_NONE,
          FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0, NULL, HFILL}},
        {&hf_mtls_decision_frame,
         {"Decided in frame", "mtls.decision_frame", FT_FRAMENUM, BASE_NONE,
          FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0, "The record that decided the outcome", HFILL}},
        {&hf_mtls_alert,
         {"Alert", "mtls.alert", FT_UINT8, BASE_DEC, VALS(mtls_alert_names), 0x0,
          "The fatal alert that rejected or aborted the exchange", HFILL}},
        {&hf_mtls_time_to_decision,
         {"Time to decision", "mtls.time_to_decision", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0,
          "From the client's answer to the decision", HFILL}},
        {&hf_mtls_pha_offered,
         {"Post-handshake auth offered", "mtls.pha_offered", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The ClientHello offered post_handshake_auth", HFILL}},
        {&hf_mtls_resumed,
         {"Resumed session", "mtls.resumed", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The handshake resumed an earlier session", HFILL}},
        {&hf_mtls_inferred,
         {"Inferred", "mtls.inferred", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
          "The exchange was deduced from encrypted record sizes, without keys", HFILL}},
        {&hf_mtls_confidence,
         {"Confidence", "mtls.confidence", FT_STRING, BASE_NONE, NULL, 0x0,
          "For inferred exchanges: certain (exact size arithmetic), likely or possible", HFILL}},
        {&hf_mtls_evidence,
         {"Evidence", "mtls.evidence", FT_STRING, BASE_NONE, NULL, 0x0, "Why this verdict", HFILL}},
        {&hf_mtls_evidence_clause,
         {"Clause", "mtls.evidence.clause", FT_STRING, BASE_NONE, NULL, 0x0,
          "One clause of mtls.evidence (its parts between \"; \"), in order", HFILL}},
        {&hf_mtls_evidence_continued,
         {"Continued", "mtls.evidence.continued", FT_NONE, BASE_NONE, NULL, 0x0,
          "The rest of a clause longer than a line", HFILL}},
        {&hf_mtls_transport,
         {"Transport", "mtls.transport", FT_STRING, BASE_NONE, NULL, 0x0,
          "What carries the TLS connection: tcp, dtls, eap-tls or quic", HFILL}},
        {&hf_mtls_session,
         {"Session", "mtls.session", FT_STRING, BASE_NONE, NULL, 0x0,
          "The connection within its transport: tcp.stream, udp.stream, or the EAP-TLS "
          "session's Calling-Station-Id or supplicant MAC",
          HFILL}},
        {&hf_mtls_outer_result,
         {"Outer result", "mtls.outer_result", FT_STRING, BASE_NONE, NULL, 0x0,
          "The decision of the protocol around TLS: EAP-Success, EAP-Failure, Access-Accept, "
          "Access-Reject, QUIC CONNECTION_CLOSE",
          HFILL}},
    };

    static gint *ett[] = {&ett_mtls, &ett_mtls_evidence, &ett_mtls_evidence_clause};

    static ei_register_info ei[] = {
        {&ei_mtls_requested,
         {"mtls.expert.requested", PI_SECURITY, PI_CHAT, "Server requested a client certificate",
          EXPFILL}},
        {&ei_mtls_provided,
         {"mtls.expert.provided", PI_SECURITY, PI_CHAT, "Client sent a certificate chain",
          EXPFILL}},
        {&ei_mtls_empty,
         {"mtls.expert.empty", PI_SECURITY, PI_NOTE, "Client answered with no certificate",
          EXPFILL}},
        {&ei_mtls_accepted,
         {"mtls.expert.accepted", PI_SECURITY, PI_CHAT, "Server accepted the client certificate",
          EXPFILL}},
        {&ei_mtls_rejected,
         {"mtls.expert.rejected", PI_SECURITY, PI_WARN, "Server rejected client authentication",
          EXPFILL}},
        {&ei_mtls_server_ignored,
         {"mtls.expert.server_ignored", PI_SECURITY, PI_WARN,
          "Server went on without a client certificate", EXPFILL}},
        {&ei_mtls_client_aborted,
         {"mtls.expert.client_aborted", PI_SECURITY, PI_WARN,
          "Client ended the connection after the certificate request", EXPFILL}},
        {&ei_mtls_inferred,
         {"mtls.expert.inferred", PI_SECURITY, PI_NOTE,
          "Exchange deduced without keys from record sizes", EXPFILL}},
        {&ei_mtls_undetermined,
         {"mtls.expert.undetermined", PI_SECURITY, PI_NOTE,
          "Client authentication outcome undetermined", EXPFILL}},
    };

    proto_mtls = proto_register_protocol("TLS Client Authentication", "mTLS", "mtls");
    proto_register_field_array(proto_mtls, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    expert_module_t *expert_mtls = expert_register_protocol(proto_mtls);
    expert_register_field_array(expert_mtls, ei, array_length(ei));
    mtls_diagnosis_register(proto_mtls);

    /* Preferences "mtls.info_column" and "mtls.infer_without_keys" of SPEC.md. */
    module_t *mtls_module = prefs_register_protocol(proto_mtls, NULL);
    prefs_register_bool_preference(mtls_module, "info_column", "Show verdicts in the Info column",
                                   "Append [mTLS: <verdict>] to the Info column of the frame "
                                   "that decided a client-authentication exchange",
                                   &pref_info_column);
    prefs_register_bool_preference(
        mtls_module, "infer_without_keys", "Infer client authentication without keys",
        "Deduce client-authentication exchanges from the sizes of encrypted TLS 1.3 records "
        "when the capture holds no keys; decrypted evidence always wins",
        &pref_infer_without_keys);

    mtls_tap = register_tap("mtls");
    register_init_routine(mtls_init);
    register_cleanup_routine(mtls_cleanup);
    mtls_reports_register();
    mtls_flow_register(proto_mtls);
}

void proto_reg_handoff_mtls(void)
{
    /* A handle without a protocol: call_dissector_work() then neither adds a
     * layer for every frame nor removes it again when nothing was added (a
     * wmem list append and remove, and three map lookups, per frame: a
     * post-dissector's layer comes after frame.protocols is written anyway).
     * dissect_mtls checks that the protocol is enabled itself. */
    mtls_protocol = find_protocol_by_id(proto_mtls);
    mtls_short_name = proto_get_protocol_short_name(mtls_protocol);
    mtls_handle = create_dissector_handle(dissect_mtls, -1);
    register_postdissector(mtls_handle);

    proto_tls = proto_get_id_by_filter_name("tls");
    proto_tcp = proto_get_id_by_filter_name("tcp");
    tcp_tap_id = find_tap_id("tcp");
    tcp_follow_tap_id = find_tap_id("tcp_follow");
    proto_dtls = proto_get_id_by_filter_name("dtls");
    proto_eap = proto_get_id_by_filter_name("eap");
    proto_eapol = proto_get_id_by_filter_name("eapol");
    proto_radius = proto_get_id_by_filter_name("radius");
    proto_quic = proto_get_id_by_filter_name("quic");
    layer_kinds_build();
    mtls_udp_handoff();
    mtls_dtls_handoff();
    mtls_eap_handoff();
    mtls_quic_handoff();
}
