/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * packet-mtls.c: the epan glue of the TLS client-authentication post-dissector.
 *
 * It reads what the TLS dissector put in the tree, turns it into engine events
 * (first pass only), and renders the engine's exchanges: on the first pass the
 * state known at that frame, on visited frames (GUI, tshark -2) the final one.
 * The logic itself lives in mtls_engine.c, which knows nothing of Wireshark.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/proto.h>
#include <epan/tap.h>

#include "mtls_compat.h"
#include "mtls_engine.h"
#include "mtls_hello.h"
#include "mtls_index.h"
#include "mtls_reports.h"
#include "packet-mtls.h"
#include "packet-mtls-diagnosis.h"

/* TLS content types and handshake message types (RFC 8446, RFC 5246, RFC 8879). */
enum {
    CONTENT_CHANGE_CIPHER_SPEC = 20,
    CONTENT_ALERT = 21,
    CONTENT_HANDSHAKE = 22,
    CONTENT_APPLICATION_DATA = 23,
};
enum {
    HS_HELLO_REQUEST = 0,
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    HS_NEW_SESSION_TICKET = 4,
    HS_CERTIFICATE = 11,
    HS_SERVER_KEY_EXCHANGE = 12,
    HS_CERTIFICATE_REQUEST = 13,
    HS_SERVER_HELLO_DONE = 14,
    HS_CERTIFICATE_VERIFY = 15,
    HS_CLIENT_KEY_EXCHANGE = 16,
    HS_FINISHED = 20,
    HS_COMPRESSED_CERTIFICATE = 25,
};
#define TLS13_VERSION 0x0304
#define TCP_FLAG_FIN  0x01
#define TCP_FLAG_RST  0x04
/* A frame rarely holds more than a dozen TLS messages; a hostile one is cut here. */
#define MAX_EVENTS_PER_FRAME 64
/* Certificate and CertificateRequest messages of one frame kept for the diagnosis. */
#define MAX_DIAGNOSED_PER_FRAME 8

/* The fields the post-dissector reads, resolved by name in handoff. Each one
 * is created for real in every packet that has it, which costs: what can be read
 * from the bytes of a record or a hello is read there instead (a ClientHello
 * alone has dozens of cipher suites and extensions). */
enum wanted_field {
    WANTED_TCP_STREAM,
    WANTED_TCP_FLAGS,
    WANTED_TLS_RECORD,
    WANTED_RECORD_CONTENT_TYPE,
    WANTED_HANDSHAKE,
    WANTED_HANDSHAKE_TYPE,
    WANTED_CERTIFICATES_LENGTH,
    WANTED_REQUEST_CONTEXT_LENGTH,
    WANTED_ALERT_MESSAGE,
    WANTED_ALERT_LEVEL,
    WANTED_ALERT_DESCRIPTION,
    WANTED_CERTIFICATE,
    WANTED_DNAMES_LENGTH,
    WANTED_DNAME_LENGTH,
    WANTED_HTTP_STATUS,
    WANTED_HTTP2_STATUS,
    WANTED_FIELD_COUNT
};

static const char *const wanted_field_names[WANTED_FIELD_COUNT] = {
    [WANTED_TCP_STREAM] = "tcp.stream",
    [WANTED_TCP_FLAGS] = "tcp.flags",
    [WANTED_TLS_RECORD] = "tls.record",
    [WANTED_RECORD_CONTENT_TYPE] = "tls.record.content_type",
    [WANTED_HANDSHAKE] = "tls.handshake",
    [WANTED_HANDSHAKE_TYPE] = "tls.handshake.type",
    [WANTED_CERTIFICATES_LENGTH] = "tls.handshake.certificates_length",
    [WANTED_REQUEST_CONTEXT_LENGTH] = "tls.handshake.certificate_request_context_length",
    [WANTED_ALERT_MESSAGE] = "tls.alert_message",
    [WANTED_ALERT_LEVEL] = "tls.alert_message.level",
    [WANTED_ALERT_DESCRIPTION] = "tls.alert_message.desc",
    [WANTED_CERTIFICATE] = "tls.handshake.certificate",
    [WANTED_DNAMES_LENGTH] = "tls.handshake.dnames_len",
    [WANTED_DNAME_LENGTH] = "tls.handshake.dname_len",
    [WANTED_HTTP_STATUS] = "http.response.code",
    [WANTED_HTTP2_STATUS] = "http2.headers.status",
};

/* Some names are registered more than once (tls.record also names the SSLv2
 * record): every registration of a name is wanted and matched. */
#define MAX_REGISTRATIONS_PER_NAME 4
static int wanted_hf[WANTED_FIELD_COUNT][MAX_REGISTRATIONS_PER_NAME];
static int proto_tls = -1;

static int proto_mtls = -1;
static dissector_handle_t mtls_handle;

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

/* A TCP connection is the engine's mtls_conn_t; what the reports show of it,
 * mtls_connection_info_t, lives in the same allocation (mtls_conn_extra). */
static mtls_connection_info_t *info_of(mtls_conn_t *connection)
{
    return (mtls_connection_info_t *)mtls_conn_extra(connection);
}

/* Addresses longer than this (none over TCP/IP) leave the server unknown. */
#define MAX_ADDRESS_LENGTH 64

/* Every exchange once, with its connection, at its tag - 1 (tag 0: not yet
 * known to the index). */
typedef struct {
    const mtls_exchange_t *exchange;
    mtls_conn_t *connection;
} exchange_slot_t;

/* A frame shows at most this many exchanges (a frame holds at most
 * MAX_EVENTS_PER_FRAME events, plus the application status). */
#define MAX_EXCHANGES_PER_FRAME (MAX_EVENTS_PER_FRAME + 1)

static int mtls_tap = -1;

/* Tables grow in chunks, not by doubling: a capture holds millions of
 * connections, and nothing moves once stored. */
static mtls_table_t *connections;       /* mtls_conn_t * by tcp.stream */
static mtls_table_t *exchange_slots;    /* exchange_slot_t by tag - 1 */
static guint32 exchange_count;          /* tags given so far */
static mtls_frame_index_t *frame_index; /* frame -> tags shown there, about 2.2 bytes an entry */
static GPtrArray *server_names;         /* each SNI once, by id - 1: connections share it */
static GHashTable *server_name_ids;     /* SNI -> its id */

const char *mtls_connection_server_name(const mtls_connection_info_t *info)
{
    guint32 id = info->server_name_id;
    return server_names && id >= 1 && id <= server_names->len
               ? (const char *)g_ptr_array_index(server_names, id - 1)
               : NULL;
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

static void mtls_init(void)
{
    GArray *wanted = g_array_sized_new(FALSE, FALSE, (guint)sizeof(int), WANTED_FIELD_COUNT);
    for (int i = 0; i < WANTED_FIELD_COUNT; i++)
        for (int j = 0; j < MAX_REGISTRATIONS_PER_NAME; j++)
            if (wanted_hf[i][j] > 0)
                g_array_append_val(wanted, wanted_hf[i][j]);
    if (proto_tls > 0)
        g_array_append_val(wanted, proto_tls); /* keeps records under their PDU */
    set_postdissector_wanted_hfids(mtls_handle, wanted);

    connections = mtls_table_new(sizeof(mtls_conn_t *));
    exchange_slots = mtls_table_new(sizeof(exchange_slot_t));
    exchange_count = 0;
    frame_index = mtls_frame_index_new();
    server_names = g_ptr_array_new_with_free_func(g_free);
    server_name_ids = g_hash_table_new(g_str_hash, g_str_equal);
    mtls_diagnosis_init();
}

static void mtls_cleanup(void)
{
    set_postdissector_wanted_hfids(mtls_handle, NULL);
    if (connections)
        for (guint32 i = 0; i < mtls_table_length(connections); i++) {
            mtls_conn_t **connection = mtls_table_get(connections, i);
            if (connection)
                mtls_conn_free(*connection); /* NULL is fine */
        }
    mtls_table_free(connections);
    connections = NULL;
    mtls_table_free(exchange_slots);
    exchange_slots = NULL;
    exchange_count = 0;
    mtls_frame_index_free(frame_index);
    frame_index = NULL;
    g_hash_table_destroy(server_name_ids);
    server_name_ids = NULL;
    g_ptr_array_free(server_names, TRUE);
    server_names = NULL;
    mtls_diagnosis_cleanup();
}

/* ---- Reading the TLS dissector's tree ------------------------------------ */

static gboolean node_is(const proto_node *node, enum wanted_field field)
{
    const field_info *finfo = PNODE_FINFO(node);
    if (!finfo || !finfo->hfinfo)
        return FALSE;
    for (int j = 0; j < MAX_REGISTRATIONS_PER_NAME && wanted_hf[field][j] > 0; j++)
        if (finfo->hfinfo->id == wanted_hf[field][j])
            return TRUE;
    return FALSE;
}

static guint32 node_uint(proto_node *node)
{
    return mtls_field_uint(PNODE_FINFO(node));
}

/* The first descendant of `node` (depth first) that is `field`, or NULL. */
static proto_node *find_descendant(proto_node *node, enum wanted_field field)
{
    for (proto_node *child = node->first_child; child; child = child->next) {
        if (node_is(child, field))
            return child;
        proto_node *found = find_descendant(child, field);
        if (found)
            return found;
    }
    return NULL;
}

typedef struct {
    mtls_event_t events[MAX_EVENTS_PER_FRAME];
    unsigned count;
    char *server_name; /* from a ClientHello, in pinfo->pool */
    /* Certificate and CertificateRequest messages, read again for the diagnosis */
    struct {
        const mtls_event_t *event;
        proto_node *message;
    } diagnosed[MAX_DIAGNOSED_PER_FRAME];
    unsigned diagnosed_count;
} frame_events_t;

static void note_diagnosed(frame_events_t *frame, const mtls_event_t *event, proto_node *message)
{
    if (event && frame->diagnosed_count < MAX_DIAGNOSED_PER_FRAME) {
        frame->diagnosed[frame->diagnosed_count].event = event;
        frame->diagnosed[frame->diagnosed_count].message = message;
        frame->diagnosed_count++;
    }
}

static mtls_event_t *add_event(frame_events_t *frame, mtls_event_type_t type)
{
    if (frame->count >= MAX_EVENTS_PER_FRAME)
        return NULL;
    mtls_event_t *event = &frame->events[frame->count++];
    memset(event, 0, sizeof(*event));
    event->type = type;
    event->alert_level = MTLS_ALERT_UNKNOWN;
    event->alert_description = MTLS_ALERT_UNKNOWN;
    return event;
}

/* The bytes `node` covers, as far as they were captured, or NULL. */
static const guint8 *node_bytes(proto_node *node, guint *length)
{
    const field_info *finfo = PNODE_FINFO(node);
    if (!finfo || !finfo->ds_tvb || finfo->start < 0 || finfo->length <= 0)
        return NULL;
    gint available = tvb_captured_length_remaining(finfo->ds_tvb, finfo->start);
    if (available <= 0)
        return NULL;
    *length = (guint)MIN(finfo->length, available);
    return tvb_get_ptr(finfo->ds_tvb, finfo->start, (gint)*length);
}

/* A ClientHello or ServerHello: the tls.handshake item covers the message from
 * its type byte. Unreadable hellos leave `hello` zeroed. */
static void read_hello(proto_node *handshake, mtls_hello_t *hello)
{
    guint length = 0;
    const guint8 *bytes = node_bytes(handshake, &length);
    mtls_hello_parse(bytes, length, hello);
}

static void read_handshake(packet_info *pinfo, frame_events_t *frame, proto_node *handshake)
{
    proto_node *type_node = find_descendant(handshake, WANTED_HANDSHAKE_TYPE);
    if (!type_node) {
        mtls_event_t *encrypted = add_event(frame, MTLS_EV_OTHER_HANDSHAKE);
        if (encrypted)
            encrypted->encrypted = TRUE; /* no type visible: not decrypted */
        return;
    }
    mtls_event_t *event;
    proto_node *node;
    mtls_hello_t hello;
    switch (node_uint(type_node)) {
    case HS_HELLO_REQUEST: add_event(frame, MTLS_EV_HELLO_REQUEST); break;
    case HS_CLIENT_HELLO:
        event = add_event(frame, MTLS_EV_CLIENT_HELLO);
        read_hello(handshake, &hello);
        if (event)
            event->pha_offered = hello.pha_offered;
        if (hello.server_name_length > 0)
            frame->server_name = (char *)tvb_get_string_enc(
                pinfo->pool, PNODE_FINFO(handshake)->ds_tvb,
                PNODE_FINFO(handshake)->start + (gint)hello.server_name_offset,
                hello.server_name_length, ENC_ASCII);
        break;
    case HS_SERVER_HELLO:
        event = add_event(frame, MTLS_EV_SERVER_HELLO);
        if (!event)
            break;
        read_hello(handshake, &hello);
        event->tls13 = hello.selected_version == TLS13_VERSION;
        event->version = event->tls13 ? TLS13_VERSION : hello.legacy_version;
        event->cipher_suite = hello.cipher_suite;
        event->psk_accepted = hello.psk_accepted;
        event->hello_retry = hello.hello_retry;
        break;
    case HS_NEW_SESSION_TICKET: add_event(frame, MTLS_EV_NEW_SESSION_TICKET); break;
    case HS_CERTIFICATE:
    case HS_COMPRESSED_CERTIFICATE:
        event = add_event(frame, MTLS_EV_CERTIFICATE);
        node = find_descendant(handshake, WANTED_CERTIFICATES_LENGTH);
        if (event)
            event->empty = node && node_uint(node) == 0;
        note_diagnosed(frame, event, handshake);
        break;
    case HS_CERTIFICATE_REQUEST:
        event = add_event(frame, MTLS_EV_CERTIFICATE_REQUEST);
        node = find_descendant(handshake, WANTED_REQUEST_CONTEXT_LENGTH);
        if (event && node)
            event->context_length = (guint8)node_uint(node);
        note_diagnosed(frame, event, handshake);
        break;
    case HS_SERVER_HELLO_DONE: add_event(frame, MTLS_EV_SERVER_HELLO_DONE); break;
    case HS_CERTIFICATE_VERIFY: add_event(frame, MTLS_EV_CERTIFICATE_VERIFY); break;
    case HS_CLIENT_KEY_EXCHANGE: add_event(frame, MTLS_EV_CLIENT_KEY_EXCHANGE); break;
    case HS_FINISHED: add_event(frame, MTLS_EV_FINISHED); break;
    default: add_event(frame, MTLS_EV_OTHER_HANDSHAKE); break;
    }
}

static void read_alert(frame_events_t *frame, proto_node *alert)
{
    mtls_event_t *event = add_event(frame, MTLS_EV_ALERT);
    proto_node *level = find_descendant(alert, WANTED_ALERT_LEVEL);
    proto_node *description = find_descendant(alert, WANTED_ALERT_DESCRIPTION);
    if (event && level && description) {
        event->alert_level = (int)node_uint(level);
        event->alert_description = (int)node_uint(description);
    }
}

static void read_record(packet_info *pinfo, frame_events_t *frame, proto_node *record)
{
    int content_type = -1;
    gboolean opaque = FALSE, messages = FALSE;
    guint16 record_length = 0;
    unsigned first_event = frame->count;
    /* The record's header: type, version, length. A TLS 1.3 record that was not
     * decrypted shows no content type, only its outer (opaque) type 23. */
    guint header_length = 0;
    const guint8 *header = node_bytes(record, &header_length);
    if (header && header_length >= 5) {
        record_length = (guint16)(header[3] << 8 | header[4]);
        opaque = header[0] == CONTENT_APPLICATION_DATA && header[1] == 3;
    }
    for (proto_node *child = record->first_child; child; child = child->next) {
        if (node_is(child, WANTED_RECORD_CONTENT_TYPE)) {
            content_type = (int)node_uint(child);
        } else if (node_is(child, WANTED_HANDSHAKE)) {
            read_handshake(pinfo, frame, child);
            messages = TRUE;
        } else if (node_is(child, WANTED_ALERT_MESSAGE)) {
            read_alert(frame, child);
            messages = TRUE;
        }
    }
    switch (content_type) {
    case CONTENT_CHANGE_CIPHER_SPEC: add_event(frame, MTLS_EV_CHANGE_CIPHER_SPEC); break;
    case CONTENT_APPLICATION_DATA: add_event(frame, MTLS_EV_APPLICATION_DATA); break;
    case CONTENT_HANDSHAKE:
        if (!messages) {
            mtls_event_t *encrypted = add_event(frame, MTLS_EV_OTHER_HANDSHAKE);
            if (encrypted)
                encrypted->encrypted = TRUE;
        }
        break;
    case CONTENT_ALERT:
        if (!messages)
            add_event(frame, MTLS_EV_ALERT); /* encrypted alert */
        break;
    case -1:
        /* A TLS 1.3 record that was not decrypted has only its opaque type. */
        if (opaque)
            add_event(frame, MTLS_EV_ENCRYPTED_RECORD);
        break;
    default: break;
    }
    for (unsigned i = first_event; i < frame->count; i++)
        frame->events[i].record_length = record_length;
}

/* TLS records of this frame, in order. The TLS dissector adds its protocol
 * items at the top of the tree, one per reassembled PDU. */
static void read_tls_records(packet_info *pinfo, frame_events_t *frame, proto_tree *tree)
{
    for (proto_node *top = tree->first_child; top; top = top->next) {
        const field_info *finfo = PNODE_FINFO(top);
        if (!finfo || !finfo->hfinfo)
            continue;
        if (finfo->hfinfo->id == proto_tls) {
            for (proto_node *child = top->first_child; child; child = child->next)
                if (node_is(child, WANTED_TLS_RECORD))
                    read_record(pinfo, frame, child);
        } else if (node_is(top, WANTED_TLS_RECORD)) {
            read_record(pinfo, frame, top);
        }
    }
}

/* tcp.* fields are registered once: their first registration is the one. */
static field_info *last_field(proto_tree *tree, enum wanted_field field)
{
    GPtrArray *fields = proto_get_finfo_ptr_array(tree, wanted_hf[field][0]);
    if (!fields || fields->len == 0)
        return NULL;
    return (field_info *)g_ptr_array_index(fields, fields->len - 1);
}

static gboolean server_known(const mtls_connection_info_t *info)
{
    return info->address_type != AT_NONE;
}

static gboolean sent_by_server(const mtls_connection_info_t *info, const packet_info *pinfo)
{
    address server;
    mtls_connection_address(info, TRUE, &server);
    return pinfo->srcport == info->server_port && addresses_equal(&pinfo->src, &server);
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

/* The endpoint that sent the first server-only message, or received a ClientHello. */
static void learn_server(mtls_connection_info_t *info, packet_info *pinfo,
                         const frame_events_t *frame)
{
    for (unsigned i = 0; i < frame->count && !server_known(info); i++) {
        switch (frame->events[i].type) {
        case MTLS_EV_CLIENT_HELLO:
            set_endpoints(info, &pinfo->dst, pinfo->destport, &pinfo->src, pinfo->srcport);
            break;
        case MTLS_EV_SERVER_HELLO:
        case MTLS_EV_HELLO_REQUEST:
        case MTLS_EV_CERTIFICATE_REQUEST:
        case MTLS_EV_SERVER_HELLO_DONE:
        case MTLS_EV_NEW_SESSION_TICKET:
            set_endpoints(info, &pinfo->src, pinfo->srcport, &pinfo->dst, pinfo->destport);
            break;
        default: break;
        }
    }
}

/* Gives `exchange` its slot, once: the diagnosis keys on the tag too. */
static void tag_exchange(mtls_conn_t *connection, mtls_exchange_t *exchange)
{
    if (exchange->tag != 0)
        return;
    exchange_slot_t *slot = mtls_table_slot(exchange_slots, exchange_count);
    if (!slot)
        return; /* no memory, or past the table's limit: the exchange is not shown */
    slot->exchange = exchange;
    slot->connection = connection;
    exchange->tag = ++exchange_count;
}

/* Shows `exchange` on this frame (once). */
static void index_exchange(packet_info *pinfo, mtls_conn_t *connection, mtls_exchange_t *exchange)
{
    tag_exchange(connection, exchange);
    if (exchange->tag != 0)
        mtls_frame_index_add(frame_index, pinfo->num, exchange->tag);
}

/* ---- Reading what the diagnosis needs ------------------------------------- */

/* DER blobs under `node`: each certificate, or each distinguished name (the
 * bytes after its dname_len), valid while this frame is dissected. */
static void collect_der(proto_node *node, enum wanted_field field, wmem_array_t *ders)
{
    for (proto_node *child = node->first_child; child; child = child->next) {
        if (!node_is(child, field)) {
            collect_der(child, field, ders);
            continue;
        }
        field_info *finfo = PNODE_FINFO(child);
        gint offset = finfo->start, length = finfo->length;
        if (field == WANTED_DNAME_LENGTH) {
            offset += finfo->length;
            length = (gint)node_uint(child);
        }
        if (length <= 0 || !finfo->ds_tvb || !tvb_bytes_exist(finfo->ds_tvb, offset, length))
            continue;
        mtls_der_t der = {tvb_get_ptr(finfo->ds_tvb, offset, length), (size_t)length};
        wmem_array_append_one(ders, der);
    }
}

static void diagnose_event(packet_info *pinfo, const frame_events_t *frame,
                           const mtls_event_t *event, const mtls_exchange_t *exchange)
{
    proto_node *message = NULL;
    for (unsigned i = 0; i < frame->diagnosed_count && !message; i++)
        if (frame->diagnosed[i].event == event)
            message = frame->diagnosed[i].message;
    if (message && event->type == MTLS_EV_CERTIFICATE && !event->from_server && !event->empty) {
        wmem_array_t *chain = wmem_array_new(pinfo->pool, sizeof(mtls_der_t));
        collect_der(message, WANTED_CERTIFICATE, chain);
        mtls_diagnosis_read_chain(pinfo, exchange, (const mtls_der_t *)wmem_array_get_raw(chain),
                                  wmem_array_get_count(chain));
    } else if (message && event->type == MTLS_EV_CERTIFICATE_REQUEST && event->from_server) {
        /* A TLS 1.3 request without certificate_authorities lists no names. */
        proto_node *list_length = find_descendant(message, WANTED_DNAMES_LENGTH);
        wmem_array_t *names = wmem_array_new(pinfo->pool, sizeof(mtls_der_t));
        if (list_length)
            collect_der(message, WANTED_DNAME_LENGTH, names);
        mtls_diagnosis_read_ca_names(exchange, (const mtls_der_t *)wmem_array_get_raw(names),
                                     wmem_array_get_count(names),
                                     list_length ? node_uint(list_length) : 0);
    }
    mtls_diagnosis_exchange_updated(exchange);
}

/* The first HTTP/1.x or HTTP/2 response status of a server frame goes to the
 * connection's latest exchange, once; that frame then shows the exchange. */
static void read_app_status(packet_info *pinfo, proto_tree *tree, mtls_conn_t *connection)
{
    static const enum wanted_field status_fields[] = {WANTED_HTTP_STATUS, WANTED_HTTP2_STATUS};
    mtls_exchange_t *latest = mtls_conn_latest(connection);
    if (!latest)
        return;
    tag_exchange(connection, latest);
    for (size_t f = 0; f < G_N_ELEMENTS(status_fields); f++) {
        for (int j = 0; j < MAX_REGISTRATIONS_PER_NAME && wanted_hf[status_fields[f]][j] > 0; j++) {
            GPtrArray *found = proto_get_finfo_ptr_array(tree, wanted_hf[status_fields[f]][j]);
            if (!found || found->len == 0)
                continue;
            guint32 status = mtls_field_uint((field_info *)g_ptr_array_index(found, 0));
            if (mtls_diagnosis_read_app_status(pinfo, latest, (guint16)status))
                index_exchange(pinfo, connection, latest);
            return;
        }
    }
}

/* First pass: turn this frame's TLS messages into events for its connection. */
static void analyse_frame(packet_info *pinfo, proto_tree *tree)
{
    field_info *stream_field = last_field(tree, WANTED_TCP_STREAM);
    if (!stream_field)
        return;
    guint32 stream = mtls_field_uint(stream_field);
    mtls_conn_t **known = mtls_table_get(connections, stream);
    mtls_conn_t *connection = known ? *known : NULL;

    frame_events_t frame;
    frame.count = 0;
    frame.server_name = NULL;
    frame.diagnosed_count = 0;
    read_tls_records(pinfo, &frame, tree);

    field_info *flags_field = last_field(tree, WANTED_TCP_FLAGS);
    guint32 flags = flags_field ? mtls_field_uint(flags_field) : 0;
    if (connection && (flags & (TCP_FLAG_FIN | TCP_FLAG_RST))) {
        mtls_event_t *close = add_event(&frame, MTLS_EV_CLOSE);
        if (close)
            close->reset = (flags & TCP_FLAG_RST) != 0;
    }
    if (frame.count == 0)
        return;

    if (!connection) {
        /* Room for both addresses, as long as this packet's. */
        guint8 address_length =
            pinfo->src.len > 0 && pinfo->src.len <= MAX_ADDRESS_LENGTH ? (guint8)pinfo->src.len : 0;
        mtls_conn_t **cell = mtls_table_slot(connections, stream);
        if (!cell)
            return;
        connection = mtls_conn_new_with_extra(offsetof(mtls_connection_info_t, addresses) +
                                              2u * address_length);
        if (!connection)
            return;
        mtls_conn_set_inference(connection, pref_infer_without_keys);
        info_of(connection)->stream = stream;
        info_of(connection)->address_length = address_length;
        *cell = connection;
    }
    mtls_connection_info_t *info = info_of(connection);
    if (frame.server_name && !info->server_name_id) {
        guint id = GPOINTER_TO_UINT(g_hash_table_lookup(server_name_ids, frame.server_name));
        if (!id) {
            char *copy = g_strdup(frame.server_name);
            g_ptr_array_add(server_names, copy);
            id = server_names->len;
            g_hash_table_insert(server_name_ids, copy, GUINT_TO_POINTER(id));
        }
        info->server_name_id = id;
    }
    learn_server(info, pinfo, &frame);
    if (!server_known(info))
        return; /* mid-stream capture: no direction, no invented verdicts */

    gboolean from_server = sent_by_server(info, pinfo);
    gint64 time_ns = (gint64)pinfo->abs_ts.secs * 1000000000 + pinfo->abs_ts.nsecs;
    for (unsigned i = 0; i < frame.count; i++) {
        mtls_event_t *event = &frame.events[i];
        event->from_server = from_server;
        event->frame = pinfo->num;
        event->time_ns = time_ns;
        mtls_exchange_t *exchange = mtls_conn_feed(connection, event);
        if (exchange) {
            index_exchange(pinfo, connection, exchange);
            diagnose_event(pinfo, &frame, event, exchange);
        }
    }
    if (from_server)
        read_app_status(pinfo, tree, connection);
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
    if (decision && (decided_here || ended_here))
        expert_add_info_format(pinfo, item, decision, "%s", evidence);
    guint32 inferred_frame =
        exchange->decision_frame ? exchange->decision_frame : exchange->response_frame;
    if (exchange->inferred && frame == inferred_frame)
        expert_add_info_format(pinfo, item, &ei_mtls_inferred,
                               "Exchange %u deduced without keys from record sizes, confidence %s",
                               exchange->number, mtls_confidence_name(exchange->confidence));
}

static void render_exchange(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
                            const exchange_slot_t *slot, gboolean final)
{
    const mtls_exchange_t *exchange = slot->exchange;
    mtls_verdict_t verdict = mtls_exchange_verdict(exchange, final);
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
        gint64 delta = exchange->decision_time_ns - exchange->response_time_ns;
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
        add_string(mtls_tree, tvb, hf_mtls_evidence, evidence_line);
    }

    add_experts(pinfo, item, exchange, verdict, final, evidence);
    if (pref_info_column && pinfo->num == exchange->decision_frame)
        col_append_fstr(pinfo->cinfo, COL_INFO, " [mTLS: %s]", mtls_verdict_name(verdict));

    if (have_tap_listener(mtls_tap)) {
        mtls_tap_info_t *tap_info = wmem_new(pinfo->pool, mtls_tap_info_t);
        tap_info->exchange = exchange;
        tap_info->connection = info_of(slot->connection);
        tap_info->final = final;
        tap_queue_packet(mtls_tap, pinfo, tap_info);
    }
}

static int dissect_mtls(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    gboolean final = PINFO_FD_VISITED(pinfo);
    if (!final && tree)
        analyse_frame(pinfo, tree);

    guint32 tags[MAX_EXCHANGES_PER_FRAME];
    size_t shown = mtls_frame_index_lookup(frame_index, pinfo->num, tags, G_N_ELEMENTS(tags));
    for (size_t i = 0; i < shown && i < G_N_ELEMENTS(tags); i++) {
        const exchange_slot_t *slot =
            tags[i] >= 1 ? mtls_table_get(exchange_slots, tags[i] - 1) : NULL;
        if (slot && slot->exchange)
            render_exchange(tvb, pinfo, tree, slot, final);
    }
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
    };

    static gint *ett[] = {&ett_mtls};

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
}

void proto_reg_handoff_mtls(void)
{
    mtls_handle = create_dissector_handle(dissect_mtls, proto_mtls);
    register_postdissector(mtls_handle);

    proto_tls = proto_get_id_by_filter_name("tls");
    for (int i = 0; i < WANTED_FIELD_COUNT; i++) {
        int id = proto_registrar_get_id_byname(wanted_field_names[i]);
        for (int j = 0; j < MAX_REGISTRATIONS_PER_NAME; j++) {
            wanted_hf[i][j] = id;
            header_field_info *hfinfo = id > 0 ? proto_registrar_get_nth(id) : NULL;
            id = hfinfo ? hfinfo->same_name_prev_id : -1;
        }
    }
}
