/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The exchange as a picture: a sequence analysis on the "mtls" tap. Each
 * client-authentication event of an exchange becomes one arrow between two
 * nodes, "client <address>:<port>" and "server <address>:<port>" (named, not
 * bare addresses, so that a loopback capture still has two sides): the
 * ClientHello, the CertificateRequest with its CA count, the client's
 * Certificate (chain of N, empty, none), its CertificateVerify and the decision
 * (alert, server went on, close) with the verdict on it. The label over an
 * arrow is short (tshark's text ladder cuts labels at 20 characters); the
 * comment beside it says the frame and the whole event.
 *
 * The tap is queued once per frame and exchange shown there (packet-mtls.c).
 * An event is drawn at its own frame; one whose frame the engine learnt only
 * later (an inferred exchange) is drawn, in frame order, when the tap first
 * shows it, without a time.
 */
#include "mtls_flow.h"

#include <wireshark.h>

#include <epan/address.h>
#include <epan/packet.h>
#include <epan/tap.h>
#include <epan/to_str.h>

#include "mtls_compat.h"
#include "mtls_diagnosis.h"
#include "mtls_engine.h"
#include "packet-mtls-diagnosis.h"
#include "packet-mtls.h"

#if MTLS_HAVE_SEQ_ANALYSIS

/* The events of an exchange, in the order they happen. */
typedef enum {
    EVENT_START,
    EVENT_REQUEST,
    EVENT_RESPONSE,
    EVENT_VERIFY,
    EVENT_DECISION,
    EVENT_COUNT
} event_t;

/* tshark's text ladder writes this much of a label over an arrow. */
#define LABEL_WIDTH 20

typedef struct {
    guint32 frame;
    gboolean from_server;
    char label[LABEL_WIDTH + 1];
    char comment[256];
} arrow_t;

/* Which events of each exchange a graph holds already: per graph (tshark and the
 * GUI may fill several at once), exchange -> one bit per event_t. A graph that is
 * empty, or filled again from an earlier frame (a retap), starts over. */
typedef struct {
    GHashTable *drawn;
    guint32 last_frame;
} graph_state_t;

static GHashTable *graphs; /* seq_analysis_info_t * -> graph_state_t * */

static void graph_state_free(gpointer data)
{
    graph_state_t *state = (graph_state_t *)data;
    g_hash_table_destroy(state->drawn);
    g_free(state);
}

static void flow_cleanup(void)
{
    if (graphs)
        g_hash_table_destroy(graphs);
    graphs = NULL;
}

static GHashTable *drawn_in(const seq_analysis_info_t *sainfo, guint32 frame)
{
    if (!graphs)
        graphs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, graph_state_free);
    graph_state_t *state = (graph_state_t *)g_hash_table_lookup(graphs, sainfo);
    if (!state) {
        state = g_new0(graph_state_t, 1);
        state->drawn = g_hash_table_new(g_direct_hash, g_direct_equal);
        g_hash_table_insert(graphs, (gpointer)sainfo, state);
    } else if (g_queue_is_empty(sainfo->items) || frame < state->last_frame) {
        g_hash_table_remove_all(state->drawn);
    }
    state->last_frame = frame;
    return state->drawn;
}

static const char *record_name(mtls_record_t record)
{
    switch (record) {
    case MTLS_RECORD_CHANGE_CIPHER_SPEC: return "ChangeCipherSpec";
    case MTLS_RECORD_FINISHED: return "Finished";
    case MTLS_RECORD_NEW_SESSION_TICKET: return "NewSessionTicket";
    case MTLS_RECORD_APPLICATION_DATA: return "application data";
    case MTLS_RECORD_HANDSHAKE: return "a handshake message";
    case MTLS_RECORD_SERVER_HELLO_DONE: return "ServerHelloDone";
    case MTLS_RECORD_FIN: return "TCP FIN";
    case MTLS_RECORD_RST: return "TCP RST";
    case MTLS_RECORD_CLOSE_NOTIFY: return "close_notify";
    case MTLS_RECORD_ENCRYPTED: return "a protected record";
    case MTLS_RECORD_ENCRYPTED_ALERT: return "an alert-sized protected record";
    case MTLS_RECORD_NONE: break;
    }
    return "a record";
}

static gboolean is_close(mtls_record_t record)
{
    return record == MTLS_RECORD_FIN || record == MTLS_RECORD_RST ||
           record == MTLS_RECORD_CLOSE_NOTIFY;
}

/* "the fatal alert bad_certificate (42)", "the fatal alert 200", "an encrypted alert" */
static void alert_phrase(int alert, char *buffer, size_t size)
{
    const char *name = alert >= 0 ? mtls_alert_name(alert) : NULL;
    if (alert < 0)
        g_strlcpy(buffer, "an encrypted alert", size);
    else if (name)
        g_snprintf(buffer, (gulong)size, "the fatal alert %s (%d)", name, alert);
    else
        g_snprintf(buffer, (gulong)size, "the fatal alert %d", alert);
}

static void set_label(arrow_t *arrow, gboolean inferred, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
static void set_label(arrow_t *arrow, gboolean inferred, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_vsnprintf(arrow->label, sizeof(arrow->label), format, args);
    va_end(args);
    if (inferred) /* a "?" says the arrow is inferred, within the width */
        g_strlcat(arrow->label, "?", sizeof(arrow->label));
}

static void set_comment(arrow_t *arrow, const mtls_exchange_t *exchange,
                        const char *inferred_confidence, const char *format, ...)
    G_GNUC_PRINTF(4, 5);
static void set_comment(arrow_t *arrow, const mtls_exchange_t *exchange,
                        const char *inferred_confidence, const char *format, ...)
{
    char what[192];
    va_list args;
    va_start(args, format);
    g_vsnprintf(what, sizeof(what), format, args);
    va_end(args);
    g_snprintf(arrow->comment, sizeof(arrow->comment), "frame %u: %s%s%s%s (exchange %u, %s)",
               arrow->frame, what, inferred_confidence ? ", inferred from record sizes (" : "",
               inferred_confidence ? inferred_confidence : "", inferred_confidence ? ")" : "",
               exchange->number, mtls_phase_name(exchange->phase));
}

/* Who sent the deciding record, from how the engine decided. */
static gboolean decided_by_server(const mtls_exchange_t *exchange)
{
    switch (exchange->cause) {
    case MTLS_CAUSE_CLIENT_ALERT:
    case MTLS_CAUSE_INFERRED_FLIGHT: return FALSE;
    default: return TRUE;
    }
}

/* The decision: label "<verdict> (<what>)" when it fits, else the verdict. */
static void decision_arrow(arrow_t *arrow, const mtls_exchange_t *exchange, mtls_verdict_t verdict)
{
    const char *confidence = exchange->inferred ? mtls_confidence_name(exchange->confidence) : NULL;
    const char *verdict_name = mtls_verdict_name(verdict);
    const char *record = record_name(exchange->decision_record);
    char alert[64];
    char short_what[32];
    alert_phrase(exchange->alert, alert, sizeof(alert));
    arrow->from_server = decided_by_server(exchange);
    switch (exchange->cause) {
    case MTLS_CAUSE_SERVER_ALERT:
    case MTLS_CAUSE_CLIENT_ALERT:
        set_comment(arrow, exchange, confidence, "%s sent %s; verdict %s",
                    exchange->cause == MTLS_CAUSE_SERVER_ALERT ? "server" : "client", alert,
                    verdict_name);
        if (exchange->alert >= 0)
            g_snprintf(short_what, sizeof(short_what), "alert %d", exchange->alert);
        else
            g_strlcpy(short_what, "alert", sizeof(short_what));
        break;
    case MTLS_CAUSE_SERVER_CLOSE:
        set_comment(arrow, exchange, confidence, "server closed the connection with %s; verdict %s",
                    record, verdict_name);
        g_strlcpy(short_what, is_close(exchange->decision_record) ? record : "close",
                  sizeof(short_what));
        break;
    case MTLS_CAUSE_SERVER_WENT_ON:
        set_comment(arrow, exchange, confidence, "server went on with %s; verdict %s", record,
                    verdict_name);
        g_strlcpy(short_what, "went on", sizeof(short_what));
        break;
    case MTLS_CAUSE_SERVER_FLIGHT_END:
        set_comment(arrow, exchange, confidence, "server ended its flight with %s; verdict %s",
                    record, verdict_name);
        g_strlcpy(short_what, "flight end", sizeof(short_what));
        break;
    case MTLS_CAUSE_ABBREVIATED:
        set_comment(arrow, exchange, confidence,
                    "abbreviated handshake, server sent %s; verdict %s", record, verdict_name);
        g_strlcpy(short_what, "resumed", sizeof(short_what));
        break;
    case MTLS_CAUSE_ANSWER_MISSING:
        set_comment(arrow, exchange, confidence,
                    "server went on with %s, the client's answer is not in the capture; "
                    "verdict %s",
                    record, verdict_name);
        g_strlcpy(short_what, "went on", sizeof(short_what));
        break;
    case MTLS_CAUSE_CLIENT_CLOSED:
        set_comment(arrow, exchange, confidence,
                    "server closed with %s after the client closed; verdict %s", record,
                    verdict_name);
        g_strlcpy(short_what, "close", sizeof(short_what));
        break;
    case MTLS_CAUSE_ENDED_BEFORE_REQUEST:
        set_comment(arrow, exchange, confidence,
                    "handshake ended with %s before the server's flight; verdict %s", record,
                    verdict_name);
        g_strlcpy(short_what, "ended", sizeof(short_what));
        break;
    case MTLS_CAUSE_OUTER_FAILURE:
    case MTLS_CAUSE_OUTER_SUCCESS: {
        const char *outer = mtls_outer_name(exchange->outer);
        set_comment(arrow, exchange, confidence, "server answered with %s; verdict %s",
                    outer ? outer : "an outer decision", verdict_name);
        /* "EAP-Failure", "QUIC CONNECTION_CLOSE": the label keeps "EAP", "QUIC" */
        g_strlcpy(short_what, outer ? outer : "outer", sizeof(short_what));
        char *cut = strpbrk(short_what, "; -");
        if (cut)
            *cut = '\0';
        break;
    }
    case MTLS_CAUSE_INFERRED_FLIGHT:
        set_comment(arrow, exchange, confidence,
                    "client's second flight was Finished alone; verdict %s", verdict_name);
        g_strlcpy(short_what, "Finished", sizeof(short_what));
        break;
    default:
        set_comment(arrow, exchange, confidence, "%s; verdict %s", record, verdict_name);
        g_strlcpy(short_what, is_close(exchange->decision_record) ? record : "decided",
                  sizeof(short_what));
        break;
    }
    if (strlen(verdict_name) + strlen(short_what) + 3 + (exchange->inferred ? 1 : 0) <= LABEL_WIDTH)
        set_label(arrow, exchange->inferred, "%s (%s)", verdict_name, short_what);
    else
        set_label(arrow, exchange->inferred, "%s", verdict_name);
}

/* The exchange's events known now, in order; `events[i]` says which each is. */
static size_t exchange_arrows(const mtls_exchange_t *exchange, gboolean final, arrow_t *arrows,
                              event_t *events)
{
    size_t count = 0;
    const mtls_diagnosis_t *diagnosis = mtls_diagnosis_of(exchange);
    const char *flight_confidence =
        exchange->inferred ? mtls_confidence_name(exchange->flight_confidence) : NULL;
    gboolean start_is_request = exchange->first_frame == exchange->request_frame;

    if (exchange->first_frame && !exchange->start_missing && !start_is_request) {
        arrow_t *arrow = &arrows[count];
        events[count++] = EVENT_START;
        arrow->frame = exchange->first_frame;
        if (exchange->phase == MTLS_PHASE_HANDSHAKE) {
            arrow->from_server = FALSE;
            set_label(arrow, FALSE, "ClientHello");
            set_comment(arrow, exchange, NULL, "ClientHello%s",
                        exchange->pha_offered ? ", offering post_handshake_auth" : "");
        } else {
            /* a HelloRequest or the ClientHello: the side comes from the frame */
            arrow->from_server = FALSE;
            set_label(arrow, FALSE, "renegotiation");
            set_comment(arrow, exchange, NULL, "renegotiation starts");
        }
    }
    if (exchange->request_frame) {
        arrow_t *arrow = &arrows[count];
        events[count++] = EVENT_REQUEST;
        arrow->frame = exchange->request_frame;
        arrow->from_server = TRUE;
        if (diagnosis && diagnosis->has_ca_names) {
            unsigned names = diagnosis->ca_names_count;
            set_label(arrow, exchange->inferred, "CertRequest, %u CA%s", names,
                      names == 1 ? "" : "s");
            set_comment(arrow, exchange, flight_confidence,
                        "CertificateRequest naming %u CA%s (%u bytes)", names,
                        names == 1 ? "" : "s", (unsigned)diagnosis->ca_names_length);
        } else {
            set_label(arrow, exchange->inferred, "CertificateRequest");
            set_comment(arrow, exchange, flight_confidence, "CertificateRequest");
        }
    }
    if (exchange->response_frame) {
        arrow_t *arrow = &arrows[count];
        events[count++] = EVENT_RESPONSE;
        arrow->frame = exchange->response_frame;
        arrow->from_server = FALSE;
        gboolean with_verify = exchange->verify_frame == exchange->response_frame;
        unsigned chain = diagnosis && diagnosis->has_chain ? diagnosis->chain_length : 0;
        switch (exchange->response) {
        case MTLS_RESPONSE_CERTIFICATE:
            if (chain)
                set_label(arrow, exchange->inferred, "Cert chain of %u%s", chain,
                          with_verify ? " +CV" : "");
            else
                set_label(arrow, exchange->inferred, "%s",
                          with_verify ? "Cert chain +CV" : "Certificate chain");
            if (chain)
                set_comment(arrow, exchange, flight_confidence,
                            "client Certificate, a chain of %u%s", chain,
                            with_verify ? ", and CertificateVerify" : "");
            else
                set_comment(arrow, exchange, flight_confidence, "client Certificate, a chain%s",
                            with_verify ? ", and CertificateVerify" : "");
            break;
        case MTLS_RESPONSE_EMPTY:
            set_label(arrow, exchange->inferred, "Certificate (empty)");
            set_comment(arrow, exchange, flight_confidence,
                        "client Certificate, empty: no certificate");
            break;
        case MTLS_RESPONSE_NONE:
            set_label(arrow, exchange->inferred, "no Certificate");
            set_comment(arrow, exchange, flight_confidence,
                        "client's flight without a Certificate: none");
            break;
        case MTLS_RESPONSE_NO_CERTIFICATE_ALERT:
            set_label(arrow, exchange->inferred, "no_certificate");
            set_comment(arrow, exchange, flight_confidence,
                        "client warning alert no_certificate (41): none");
            break;
        case MTLS_RESPONSE_PENDING:
            count--; /* no answer yet */
            break;
        }
    }
    if (exchange->verify_frame && exchange->verify_frame != exchange->response_frame) {
        arrow_t *arrow = &arrows[count];
        events[count++] = EVENT_VERIFY;
        arrow->frame = exchange->verify_frame;
        arrow->from_server = FALSE;
        set_label(arrow, exchange->inferred, "CertificateVerify");
        set_comment(arrow, exchange, flight_confidence, "client CertificateVerify");
    }
    if (exchange->decision_frame) {
        arrow_t *arrow = &arrows[count];
        events[count++] = EVENT_DECISION;
        arrow->frame = exchange->decision_frame;
        decision_arrow(arrow, exchange, mtls_exchange_verdict(exchange, final));
    }
    return count;
}

static gint by_frame(gconstpointer a, gconstpointer b, gpointer user_data _U_)
{
    guint32 frame_a = ((const seq_analysis_item_t *)a)->frame_number;
    guint32 frame_b = ((const seq_analysis_item_t *)b)->frame_number;
    return frame_a < frame_b ? -1 : frame_a > frame_b;
}

/* "client 127.0.0.1:49206": a node of the graph, copied into `out`. */
static void node_address(packet_info *pinfo, const mtls_connection_info_t *info, gboolean server,
                         address *out)
{
    address ip;
    mtls_connection_address(info, server, &ip);
    char *ip_text = address_to_str(pinfo->pool, &ip);
    gboolean v6 = ip.type == AT_IPv6;
    char *name =
        ip.type == AT_ETHER /* EAPOL: MAC addresses, no ports */
            ? wmem_strdup_printf(pinfo->pool, "%s %s", server ? "server" : "client", ip_text)
            : wmem_strdup_printf(pinfo->pool, "%s %s%s%s:%u", server ? "server" : "client",
                                 v6 ? "[" : "", ip_text, v6 ? "]" : "",
                                 server ? info->server_port : info->client_port);
    address text;
    set_address(&text, AT_STRINGZ, (int)strlen(name) + 1, name);
    free_address(out);
    copy_address(out, &text);
}

static void add_arrow(seq_analysis_info_t *sainfo, packet_info *pinfo,
                      const mtls_connection_info_t *info, const arrow_t *arrow)
{
    seq_analysis_item_t *sai = sequence_analysis_create_sai_with_addresses(pinfo, sainfo);
    if (!sai && sainfo->any_addr) {
        /* "standard" mode wants network addresses, which EAPOL frames have none
         * of: take the frame's own (its MACs); node_address() names the nodes
         * anyway. */
        sainfo->any_addr = FALSE;
        sai = sequence_analysis_create_sai_with_addresses(pinfo, sainfo);
        sainfo->any_addr = TRUE;
    }
    if (!sai)
        return;
    sai->frame_number = arrow->frame;
    node_address(pinfo, info, arrow->from_server, &sai->src_addr);
    node_address(pinfo, info, !arrow->from_server, &sai->dst_addr);
    sai->port_src = arrow->from_server ? info->server_port : info->client_port;
    sai->port_dst = arrow->from_server ? info->client_port : info->server_port;
    if (arrow->frame != pinfo->num) { /* drawn after the fact: its time is not at hand */
        g_free(sai->time_str);
        sai->time_str = g_strdup("");
    }
    sai->frame_label = g_strdup(arrow->label);
    sai->comment = g_strdup(arrow->comment);
    sai->conv_num = (guint16)info->stream;
    sai->line_style = 1;
    sai->display = TRUE;
    GList *last = g_queue_peek_tail_link(sainfo->items);
    if (!last || ((const seq_analysis_item_t *)last->data)->frame_number <= arrow->frame)
        g_queue_push_tail(sainfo->items, sai);
    else
        g_queue_insert_sorted(sainfo->items, sai, by_frame, NULL);
}

/* Is this frame sent by the connection's server? */
static gboolean frame_from_server(packet_info *pinfo, const mtls_connection_info_t *info)
{
    address server;
    mtls_connection_address(info, TRUE, &server);
    return pinfo->srcport == info->server_port && addresses_equal(&pinfo->src, &server);
}

static tap_packet_status flow_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_,
                                     const void *data, tap_flags_t flags _U_)
{
    seq_analysis_info_t *sainfo = (seq_analysis_info_t *)tapdata;
    const mtls_tap_info_t *tap = (const mtls_tap_info_t *)data;
    if (!sainfo || !tap || !tap->exchange || !tap->connection ||
        tap->connection->address_type == AT_NONE)
        return TAP_PACKET_DONT_REDRAW;
    if (!sainfo->items)
        return TAP_PACKET_DONT_REDRAW;
    GHashTable *drawn = drawn_in(sainfo, pinfo->num);

    const mtls_exchange_t *exchange = tap->exchange;
    arrow_t arrows[EVENT_COUNT];
    event_t events[EVENT_COUNT];
    size_t count = exchange_arrows(exchange, tap->final, arrows, events);
    guint done = GPOINTER_TO_UINT(g_hash_table_lookup(drawn, exchange));
    /* The last frame that shows a final exchange draws what is left. */
    gboolean last = tap->final && pinfo->num >= exchange->last_frame;
    gboolean added = FALSE;
    for (size_t i = 0; i < count; i++) {
        guint bit = 1u << events[i];
        if ((done & bit) || (arrows[i].frame > pinfo->num && !last))
            continue;
        if (arrows[i].frame == pinfo->num)
            arrows[i].from_server = frame_from_server(pinfo, tap->connection);
        add_arrow(sainfo, pinfo, tap->connection, &arrows[i]);
        done |= bit;
        added = TRUE;
    }
    g_hash_table_insert(drawn, (gpointer)exchange, GUINT_TO_POINTER(done));
    return added ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
}

void mtls_flow_register(int proto)
{
    register_seq_analysis("mtls", "mTLS", proto, "mtls", TL_REQUIRES_NOTHING, flow_packet);
    register_cleanup_routine(flow_cleanup);
}

#else /* a Wireshark whose sequence analysis layout is not declared */

void mtls_flow_register(int proto _U_)
{
}

#endif
