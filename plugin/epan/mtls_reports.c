/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_reports.c: the reports of SPEC.md, fed by the "mtls" tap.
 *
 * The dissector queues one mtls_tap_info_t per exchange shown on a frame: on the
 * first pass with the state known at that frame, on visited frames (tshark -2,
 * GUI) with the final one. Exchanges live until the file is closed, so the
 * reports keep the pointers, count each exchange once and read its latest state;
 * an exchange still pending at the end counts as undetermined. With a filter, all
 * of them select exchanges by one rule (report_selects). That way a single pass
 * and -2 print the same report. Nothing is registered on the tap unless a report
 * is asked for.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <epan/address.h>
#include <epan/packet.h>
#include <epan/stat_tap_ui.h>
#include <epan/stats_tree.h>
#include <epan/stats_tree_priv.h> /* stats_tree.filter: the same in 4.0 to 4.6 */
#include <epan/tap.h>
#include <epan/to_str.h>

#include "mtls_compat.h"
#include "mtls_engine.h"
#include "mtls_reports.h"
#include "packet-mtls-diagnosis.h"
#include "packet-mtls.h"

#define MTLS_TAP_NAME "mtls"
#define CONV_CLI      "mtls,conv"

/* Bumped each time a capture file is opened: a report never follows a pointer
 * kept from a file that has since been closed. */
static guint file_generation;

static void reports_init(void)
{
    file_generation++;
}

/* ---- Labels shared by both reports ---------------------------------------- */

static const char *version_label(uint16_t version, char *buffer, size_t size)
{
    switch (version) {
    case 0: return "unknown";
    case 0x0300: return "SSL 3.0";
    case 0x0301: return "TLS 1.0";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default: snprintf(buffer, size, "0x%04x", version); return buffer;
    }
}

/* "192.0.2.1:443" or "[2001:db8::1]:443"; g_free() the result. */
static char *endpoint_label(const mtls_connection_info_t *connection, gboolean server)
{
    address addr;
    mtls_connection_address(connection, server, &addr);
    guint port = server ? connection->server_port : connection->client_port;
    char *text = address_to_str(NULL, &addr);
    /* EAPOL's endpoints are MAC addresses, without ports. */
    char *label = addr.type == AT_ETHER  ? g_strdup(text)
                  : addr.type == AT_IPv6 ? g_strdup_printf("[%s]:%u", text, port)
                                         : g_strdup_printf("%s:%u", text, port);
    wmem_free(NULL, text);
    return label;
}

static const char *requested_label(const mtls_exchange_t *exchange)
{
    if (!mtls_exchange_request_known(exchange))
        return "?";
    return exchange->requested ? "yes" : "no";
}

/* "no", or "yes (likely)": deduced from encrypted record sizes, with its confidence. */
static char *inferred_label(const mtls_exchange_t *exchange)
{
    if (!exchange->inferred)
        return g_strdup("no");
    return g_strdup_printf("yes (%s)", mtls_confidence_name(exchange->confidence));
}

/* ---- Which exchanges a report with a filter selects ------------------------------ */

/* Every report follows one rule, so that a single pass and -2 agree: an exchange is
 * reported when the report's filter matched a frame that showed its final state,
 * or, while it is undecided, any frame that showed it. In the GUI and with -2 every
 * frame shows the final state; in a single pass the frames before the decision show
 * it `pending`, and may match a filter its decision frame does not (`!mtls.rejected`).
 * Without a filter, -z mtls,conv and the tree report every exchange shown. */
static gboolean frame_shows_final(const mtls_tap_info_t *tap_info)
{
    return tap_info->final || tap_info->exchange->verdict != MTLS_VERDICT_PENDING;
}

/* What a frame showing its exchange decided says of the decision: its frame + 1.
 * A decision can be taken back once: a server that let the client through and
 * then closed on its data without a word refused it after all (silent refusal),
 * so a match counts as final only while the exchange keeps the decision that
 * frame showed. */
static guint32 shown_decision(const mtls_tap_info_t *tap_info)
{
    return tap_info->exchange->decision_frame + 1;
}

static gboolean report_selects(gboolean matched_any, guint32 matched_final,
                               const mtls_exchange_t *exchange)
{
    gboolean final = matched_final != 0 && matched_final == exchange->decision_frame + 1;
    return final || (matched_any && exchange->verdict == MTLS_VERDICT_PENDING);
}

/* ---- -z mtls,tree and the Statistics menu ---------------------------------- */

/* The tree counts the exchanges the rule above selects, each under its latest
 * state. Wireshark gives a stats_tree only the frames its filter matches, which
 * is not enough in a single pass: the frame that decides an exchange (and so may
 * drop or keep it) need not match. So the tree registers with
 * TL_IGNORE_DISPLAY_FILTER: its listener gets every frame of the "mtls" tap, those
 * the filter rejects flagged TL_DISPLAY_FILTER_IGNORED; these only bring the
 * exchanges already selected up to date, they never select one. (A stats_tree's
 * rates are computed over the frames its listener gets: with a filter, from the
 * first to the last mtls frame rather than the first to the last matching one.)
 * Rows that may drop back to zero in a single pass, when the filter matched only
 * the pending frames of every exchange of a server, stay listed with zero. */

#define NODE_VERDICT "Verdict"
#define NODE_SERVER  "Server (address:port, SNI)"
#define NODE_ALERT   "Rejecting alert"
#define NODE_VERSION "TLS version"
#define NODE_PHASE   "Phase"
#define NODE_APP     "Refused above TLS (protocol)"
#define NO_SNI       "(no SNI)"
#define NO_ALERT     "none seen (close, reset or encrypted alert)"

/* tree_record_t.alert when the exchange is not counted under NODE_ALERT. */
#define ALERT_NOT_COUNTED (-2)
#define ALERT_NONE_SEEN   (-1)

/* One exchange a matching frame showed, and what it is counted as: that may
 * change while a single pass goes on (pending, then decided; version unknown
 * until the ServerHello), and so may whether it is counted at all. */
typedef struct {
    const mtls_exchange_t *exchange;
    const mtls_connection_info_t *connection;
    gboolean matched_any;  /* the tree's filter matched a frame that showed it */
    guint32 matched_final; /* ... a frame that showed it decided: shown_decision() */
    gboolean counted;      /* it is in the counts, as the fields below say */
    int server_node;       /* its address:port row, once counted */
    const char *sni;       /* counted under the server: the connection's SNI as it was */
    mtls_verdict_t verdict;
    uint16_t version;
    int alert;
    int app_refused; /* the refusing application's protocol number, or -1 */
} tree_record_t;

typedef struct {
    guint generation;
    GHashTable *records;     /* exchange -> tree_record_t */
    GHashTable *connections; /* mtls_connection_info_t -> GPtrArray of tree_record_t */
    gboolean filtered;       /* the tree has a filter */
    guint32 last_frame;
    int verdict_node;
    int server_node;
    int alert_node;
    int version_node;
    int phase_node;
    int app_node;
} tree_state_t;

static GHashTable *tree_states; /* stats_tree -> tree_state_t */

/* Rows that every report shows, so a transient state of a single pass (pending,
 * version unknown) leaves no row a -2 run would not have. */
static const mtls_verdict_t verdict_order[] = {
    MTLS_VERDICT_NOT_REQUESTED,  MTLS_VERDICT_ACCEPTED,       MTLS_VERDICT_REJECTED,
    MTLS_VERDICT_SERVER_IGNORED, MTLS_VERDICT_CLIENT_ABORTED, MTLS_VERDICT_UNDETERMINED,
};
static const uint16_t version_order[] = {0x0303, 0x0304, 0};
static const mtls_phase_t phase_order[] = {
    MTLS_PHASE_HANDSHAKE,
    MTLS_PHASE_RENEGOTIATION,
    MTLS_PHASE_POST_HANDSHAKE,
};

static void tree_state_clear(tree_state_t *state)
{
    g_hash_table_remove_all(state->connections);
    g_hash_table_remove_all(state->records);
    state->last_frame = 0;
    state->generation = file_generation;
}

static void tree_state_free(gpointer data)
{
    tree_state_t *state = (tree_state_t *)data;
    g_hash_table_destroy(state->connections);
    g_hash_table_destroy(state->records);
    g_free(state);
}

static void tree_init(stats_tree *st)
{
    if (!tree_states)
        tree_states = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, tree_state_free);
    tree_state_t *state = g_new0(tree_state_t, 1);
    state->records = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    state->connections = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                               (GDestroyNotify)g_ptr_array_unref);
    state->generation = file_generation;
    /* Wireshark's dialog passes "" when its filter field is empty. */
    state->filtered = st->filter && *st->filter;
    g_hash_table_replace(tree_states, st, state);

    char buffer[16];
    state->verdict_node = stats_tree_create_node(st, NODE_VERDICT, 0, STAT_DT_INT, TRUE);
    for (size_t i = 0; i < G_N_ELEMENTS(verdict_order); i++)
        stats_tree_create_node(st, mtls_verdict_name(verdict_order[i]), state->verdict_node,
                               STAT_DT_INT, FALSE);
    state->server_node = stats_tree_create_node(st, NODE_SERVER, 0, STAT_DT_INT, TRUE);
    state->alert_node = stats_tree_create_node(st, NODE_ALERT, 0, STAT_DT_INT, TRUE);
    state->version_node = stats_tree_create_node(st, NODE_VERSION, 0, STAT_DT_INT, TRUE);
    for (size_t i = 0; i < G_N_ELEMENTS(version_order); i++)
        stats_tree_create_node(st, version_label(version_order[i], buffer, sizeof(buffer)),
                               state->version_node, STAT_DT_INT, FALSE);
    state->phase_node = stats_tree_create_node(st, NODE_PHASE, 0, STAT_DT_INT, TRUE);
    for (size_t i = 0; i < G_N_ELEMENTS(phase_order); i++)
        stats_tree_create_node(st, mtls_phase_name(phase_order[i]), state->phase_node, STAT_DT_INT,
                               FALSE);
    /* One row per protocol that refused, made when the first one is counted. */
    state->app_node = stats_tree_create_node(st, NODE_APP, 0, STAT_DT_INT, TRUE);
}

static void tree_cleanup(stats_tree *st)
{
    if (tree_states)
        g_hash_table_remove(tree_states, st);
}

/* Adds `sign` (+1 or -1) to the rows that depend on the exchange's outcome. */
static void tree_count_outcome(stats_tree *st, const tree_state_t *state,
                               const tree_record_t *record, int sign)
{
    char buffer[64];
    increase_stat_node(st, mtls_verdict_name(record->verdict), state->verdict_node, FALSE, sign);
    increase_stat_node(st, version_label(record->version, buffer, sizeof(buffer)),
                       state->version_node, FALSE, sign);
    if (record->app_refused >= 0) {
        increase_stat_node(st, NODE_APP, 0, TRUE, sign);
        increase_stat_node(st, mtls_app_protocol_name((mtls_app_protocol_t)record->app_refused),
                           state->app_node, FALSE, sign);
    }
    if (record->alert == ALERT_NOT_COUNTED)
        return;
    increase_stat_node(st, NODE_ALERT, 0, TRUE, sign);
    if (record->alert == ALERT_NONE_SEEN) {
        increase_stat_node(st, NO_ALERT, state->alert_node, FALSE, sign);
    } else {
        const char *name = mtls_alert_name(record->alert);
        if (name)
            snprintf(buffer, sizeof(buffer), "%s (%d)", name, record->alert);
        else
            snprintf(buffer, sizeof(buffer), "alert %d", record->alert);
        increase_stat_node(st, buffer, state->alert_node, FALSE, sign);
    }
}

/* Adds `sign` to the rows that never change once the exchange is known: totals,
 * server address and SNI (as record->sni says), phase. */
static void tree_count_exchange(stats_tree *st, const tree_state_t *state, tree_record_t *record,
                                int sign)
{
    const mtls_connection_info_t *connection = record->connection;
    increase_stat_node(st, NODE_VERDICT, 0, TRUE, sign);
    increase_stat_node(st, NODE_SERVER, 0, TRUE, sign);
    char *server = endpoint_label(connection, TRUE);
    record->server_node = increase_stat_node(st, server, state->server_node, TRUE, sign);
    g_free(server);
    if (record->server_node > 0)
        increase_stat_node(st, record->sni ? record->sni : NO_SNI, record->server_node, FALSE,
                           sign);
    increase_stat_node(st, NODE_VERSION, 0, TRUE, sign);
    increase_stat_node(st, NODE_PHASE, 0, TRUE, sign);
    increase_stat_node(st, mtls_phase_name(record->exchange->phase), state->phase_node, FALSE,
                       sign);
}

/* What the exchange is counted as now. */
static void tree_take_outcome(tree_record_t *record)
{
    const mtls_exchange_t *exchange = record->exchange;
    record->verdict = mtls_exchange_verdict(exchange, TRUE);
    record->version = exchange->version;
    record->alert = ALERT_NOT_COUNTED;
    const mtls_diagnosis_t *diagnosis = mtls_diagnosis_of(exchange);
    record->app_refused = diagnosis && diagnosis->app_refused && diagnosis->app_protocol
                              ? diagnosis->app_protocol
                              : -1;
    if (record->verdict == MTLS_VERDICT_REJECTED)
        record->alert = exchange->alert >= 0 ? exchange->alert : ALERT_NONE_SEEN;
}

/* Counts the record, or takes it out of the counts, as the selection rule says,
 * and moves it to the rows of its latest state. */
static void tree_refresh(stats_tree *st, const tree_state_t *state, tree_record_t *record)
{
    gboolean selected = !state->filtered || report_selects(record->matched_any,
                                                           record->matched_final, record->exchange);
    if (!selected) {
        if (record->counted) {
            tree_count_outcome(st, state, record, -1);
            tree_count_exchange(st, state, record, -1);
            record->counted = FALSE;
        }
        return;
    }
    if (!record->counted) {
        record->sni = mtls_connection_server_name(record->connection);
        tree_take_outcome(record);
        tree_count_exchange(st, state, record, 1);
        tree_count_outcome(st, state, record, 1);
        record->counted = TRUE;
        return;
    }
    /* The SNI is learnt from the first ClientHello that carries one, which may
     * come after the exchange was first counted. */
    const char *sni = mtls_connection_server_name(record->connection);
    if (record->sni != sni && record->server_node > 0) {
        increase_stat_node(st, record->sni ? record->sni : NO_SNI, record->server_node, FALSE, -1);
        record->sni = sni;
        tick_stat_node(st, sni ? sni : NO_SNI, record->server_node, FALSE);
    }
    tree_record_t now = *record;
    tree_take_outcome(&now);
    if (now.verdict == record->verdict && now.version == record->version &&
        now.alert == record->alert && now.app_refused == record->app_refused)
        return;
    tree_count_outcome(st, state, record, -1);
    tree_take_outcome(record);
    tree_count_outcome(st, state, record, 1);
}

static tap_packet_status tree_packet(stats_tree *st, packet_info *pinfo, epan_dissect_t *edt _U_,
                                     const void *data, tap_flags_t flags)
{
    const mtls_tap_info_t *tap_info = (const mtls_tap_info_t *)data;
    tree_state_t *state = tree_states ? g_hash_table_lookup(tree_states, st) : NULL;
    if (!state || !tap_info || !tap_info->exchange || !tap_info->connection)
        return TAP_PACKET_DONT_REDRAW;
    /* A retap (its counters were reset) starts again from the first frame. */
    if (state->generation != file_generation || pinfo->num < state->last_frame)
        tree_state_clear(state);
    state->last_frame = pinfo->num;

    gboolean matched = !(flags & TL_DISPLAY_FILTER_IGNORED);
    GPtrArray *siblings = g_hash_table_lookup(state->connections, tap_info->connection);
    tree_record_t *record = g_hash_table_lookup(state->records, tap_info->exchange);
    if (!matched && !siblings)
        return TAP_PACKET_DONT_REDRAW; /* no exchange of this connection selected */
    if (matched) {
        if (!siblings) {
            siblings = g_ptr_array_new();
            g_hash_table_insert(state->connections, (gpointer)tap_info->connection, siblings);
        }
        if (!record) {
            record = g_new0(tree_record_t, 1);
            record->exchange = tap_info->exchange;
            record->connection = tap_info->connection;
            g_hash_table_insert(state->records, (gpointer)tap_info->exchange, record);
            g_ptr_array_add(siblings, record);
        }
        record->matched_any = TRUE;
        if (frame_shows_final(tap_info))
            record->matched_final = shown_decision(tap_info);
    }
    /* This frame's events may have decided any exchange of its connection. */
    for (guint i = 0; i < siblings->len; i++)
        tree_refresh(st, state, (tree_record_t *)g_ptr_array_index(siblings, i));
    return TAP_PACKET_REDRAW;
}

/* ---- -z mtls,conv[,filter] --------------------------------------------------- */

typedef struct {
    const mtls_exchange_t *exchange;
    const mtls_connection_info_t *connection;
    /* The filter matched a frame that showed the exchange's final state. In a
     * single pass the frames before the decision show it pending. */
    guint32 matched_final; /* shown_decision() of the last matching decided frame */
} conv_record_t;

typedef struct {
    char *filter;
    guint generation;
    GHashTable *records; /* exchange -> conv_record_t */
    GPtrArray *order;    /* conv_record_t, owned */
} conv_state_t;

enum conv_column {
    COLUMN_TRANSPORT,
    COLUMN_STREAM,
    COLUMN_CLIENT,
    COLUMN_SERVER,
    COLUMN_SNI,
    COLUMN_VERSION,
    COLUMN_PHASE,
    COLUMN_REQUESTED,
    COLUMN_RESPONSE,
    COLUMN_VERDICT,
    COLUMN_ALERT,
    COLUMN_DECISION,
    COLUMN_INFERRED,
    COLUMN_APP, /* last: the application's reply is the longest cell */
    COLUMN_COUNT
};

static const char *const conv_titles[COLUMN_COUNT] = {
    [COLUMN_TRANSPORT] = "Transport",
    [COLUMN_STREAM] = "Stream",
    [COLUMN_CLIENT] = "Client",
    [COLUMN_SERVER] = "Server",
    [COLUMN_SNI] = "SNI",
    [COLUMN_VERSION] = "Version",
    [COLUMN_PHASE] = "Phase",
    [COLUMN_REQUESTED] = "Requested",
    [COLUMN_RESPONSE] = "Response",
    [COLUMN_VERDICT] = "Verdict",
    [COLUMN_ALERT] = "Alert",
    [COLUMN_DECISION] = "Decision",
    [COLUMN_INFERRED] = "Inferred",
    [COLUMN_APP] = "App reply",
};

static void conv_reset(void *tapdata)
{
    conv_state_t *state = (conv_state_t *)tapdata;
    g_hash_table_remove_all(state->records);
    g_ptr_array_set_size(state->order, 0);
    state->generation = file_generation;
}

static tap_packet_status conv_packet(void *tapdata, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                                     const void *data, tap_flags_t flags _U_)
{
    conv_state_t *state = (conv_state_t *)tapdata;
    const mtls_tap_info_t *tap_info = (const mtls_tap_info_t *)data;
    if (!tap_info || !tap_info->exchange || !tap_info->connection)
        return TAP_PACKET_DONT_REDRAW;
    if (state->generation != file_generation)
        conv_reset(state);
    conv_record_t *record = g_hash_table_lookup(state->records, tap_info->exchange);
    if (!record) {
        record = g_new0(conv_record_t, 1);
        record->exchange = tap_info->exchange;
        record->connection = tap_info->connection;
        g_hash_table_insert(state->records, (gpointer)tap_info->exchange, record);
        g_ptr_array_add(state->order, record);
    }
    if (frame_shows_final(tap_info))
        record->matched_final = shown_decision(tap_info);
    return TAP_PACKET_REDRAW;
}

static gint conv_compare(gconstpointer a, gconstpointer b)
{
    const conv_record_t *left = *(const conv_record_t *const *)a;
    const conv_record_t *right = *(const conv_record_t *const *)b;
    if (left->connection->transport != right->connection->transport)
        return left->connection->transport < right->connection->transport ? -1 : 1;
    if (left->connection->stream != right->connection->stream)
        return left->connection->stream < right->connection->stream ? -1 : 1;
    if (left->exchange->number != right->exchange->number)
        return left->exchange->number < right->exchange->number ? -1 : 1;
    return 0;
}

/* The cells of one exchange's row, g_strdup'ed into `cells`; the GUI table
 * (-z mtls,exchanges) shows the same. */
static void conv_cells(const mtls_exchange_t *exchange, const mtls_connection_info_t *connection,
                       char *cells[COLUMN_COUNT])
{
    char buffer[32];
    mtls_verdict_t verdict = mtls_exchange_verdict(exchange, TRUE);

    char session[64];
    cells[COLUMN_TRANSPORT] = g_strdup(mtls_connection_transport(connection));
    cells[COLUMN_STREAM] = g_strdup(mtls_connection_session(connection, session, sizeof(session)));
    cells[COLUMN_CLIENT] = endpoint_label(connection, FALSE);
    cells[COLUMN_SERVER] = endpoint_label(connection, TRUE);
    const char *sni = mtls_connection_server_name(connection);
    cells[COLUMN_SNI] = g_strdup(sni ? sni : "-");
    cells[COLUMN_VERSION] = g_strdup(version_label(exchange->version, buffer, sizeof(buffer)));
    cells[COLUMN_PHASE] = g_strdup(mtls_phase_name(exchange->phase));
    cells[COLUMN_REQUESTED] = g_strdup(requested_label(exchange));
    cells[COLUMN_RESPONSE] =
        g_strdup(exchange->requested ? mtls_response_name(exchange->response) : "-");
    cells[COLUMN_VERDICT] = g_strdup(mtls_verdict_name(verdict));
    if (exchange->alert < 0)
        cells[COLUMN_ALERT] = g_strdup("-");
    else if (mtls_alert_name(exchange->alert))
        cells[COLUMN_ALERT] = g_strdup(mtls_alert_name(exchange->alert));
    else
        cells[COLUMN_ALERT] = g_strdup_printf("%d", exchange->alert);
    cells[COLUMN_DECISION] =
        exchange->decision_frame ? g_strdup_printf("%u", exchange->decision_frame) : g_strdup("-");
    cells[COLUMN_INFERRED] = inferred_label(exchange);
    const char *app = mtls_diagnosis_app_label(exchange);
    cells[COLUMN_APP] = g_strdup(app ? app : "-");
}

static void print_row(const char *const *cells, const size_t widths[COLUMN_COUNT])
{
    GString *line = g_string_new(NULL);
    for (int column = 0; column < COLUMN_COUNT; column++) {
        if (column > 0)
            g_string_append(line, "  ");
        if (column == COLUMN_STREAM || column == COLUMN_DECISION) /* numbers to the right */
            g_string_append_printf(line, "%*s", (int)widths[column], cells[column]);
        else if (column == COLUMN_COUNT - 1)
            g_string_append(line, cells[column]);
        else
            g_string_append_printf(line, "%-*s", (int)widths[column], cells[column]);
    }
    printf("%s\n", line->str);
    g_string_free(line, TRUE);
}

static void print_rule(char fill, size_t width)
{
    for (size_t i = 0; i < width; i++)
        putchar(fill);
    putchar('\n');
}

static void conv_draw(void *tapdata)
{
    conv_state_t *state = (conv_state_t *)tapdata;
    /* The exchanges of a closed file are gone: nothing to show. */
    if (state->generation != file_generation)
        conv_reset(state);

    GPtrArray *shown = g_ptr_array_new();
    for (guint i = 0; i < state->order->len; i++) {
        conv_record_t *record = g_ptr_array_index(state->order, i);
        /* Only frames the filter matched made records. */
        if (!state->filter || report_selects(TRUE, record->matched_final, record->exchange))
            g_ptr_array_add(shown, record);
    }
    g_ptr_array_sort(shown, conv_compare);

    size_t widths[COLUMN_COUNT];
    for (int column = 0; column < COLUMN_COUNT; column++)
        widths[column] = strlen(conv_titles[column]);
    gsize cell_count = (gsize)shown->len * COLUMN_COUNT;
    char **rows = g_new0(char *, cell_count + 1); /* NULL-terminated for g_strfreev */
    guint totals[MTLS_VERDICT_UNDETERMINED + 1] = {0};
    for (guint i = 0; i < shown->len; i++) {
        const conv_record_t *record = g_ptr_array_index(shown, i);
        char **cells = &rows[(gsize)i * COLUMN_COUNT];
        conv_cells(record->exchange, record->connection, cells);
        for (int column = 0; column < COLUMN_COUNT; column++)
            widths[column] = MAX(widths[column], strlen(cells[column]));
        mtls_verdict_t verdict = mtls_exchange_verdict(record->exchange, TRUE);
        if ((unsigned)verdict < G_N_ELEMENTS(totals))
            totals[verdict]++;
    }
    size_t width = 0;
    for (int column = 0; column < COLUMN_COUNT; column++)
        width += widths[column] + (column > 0 ? 2 : 0);

    printf("\n");
    print_rule('=', width);
    printf("mTLS client-authentication exchanges\n");
    if (state->filter)
        printf("Filter: %s\n", state->filter);
    print_rule('-', width);
    print_row(conv_titles, widths);
    for (guint i = 0; i < shown->len; i++)
        print_row((const char *const *)&rows[(gsize)i * COLUMN_COUNT], widths);
    print_rule('-', width);
    printf("Totals: %u exchange%s\n", shown->len, shown->len == 1 ? "" : "s");
    for (size_t i = 0; i < G_N_ELEMENTS(verdict_order); i++)
        if (totals[verdict_order[i]])
            printf("  %-16s%u\n", mtls_verdict_name(verdict_order[i]), totals[verdict_order[i]]);
    print_rule('=', width);

    g_strfreev(rows);
    g_ptr_array_free(shown, TRUE);
}

static void conv_finish(void *tapdata)
{
    conv_state_t *state = (conv_state_t *)tapdata;
    g_hash_table_destroy(state->records);
    g_ptr_array_free(state->order, TRUE);
    g_free(state->filter);
    g_free(state);
}

static MTLS_STAT_TAP_INIT_TYPE conv_init(const char *opt_arg, void *userdata _U_)
{
    conv_state_t *state = g_new0(conv_state_t, 1);
    const char *prefix = CONV_CLI ",";
    if (opt_arg && strncmp(opt_arg, prefix, strlen(prefix)) == 0 && opt_arg[strlen(prefix)])
        state->filter = g_strdup(opt_arg + strlen(prefix));
    /* conv_record_t are owned by `order`; `records` only indexes them. */
    state->records = g_hash_table_new(g_direct_hash, g_direct_equal);
    state->order = g_ptr_array_new_with_free_func(g_free);
    state->generation = file_generation;

    GString *error = register_tap_listener(MTLS_TAP_NAME, state, state->filter, TL_REQUIRES_NOTHING,
                                           conv_reset, conv_packet, conv_draw, conv_finish);
    if (error) {
        fprintf(stderr, "tshark: Couldn't register " CONV_CLI " tap: %s\n", error->str);
        g_string_free(error, TRUE);
        conv_finish(state);
        MTLS_STAT_TAP_INIT_FAILED;
    }
    MTLS_STAT_TAP_INIT_OK;
}

/* ---- -z mtls,exchanges and Statistics > mTLS Client Authentication Exchanges ---- */

/* The rows of -z mtls,conv as a stat_tap_table_ui: Wireshark shows it in a dialog
 * (SimpleStatisticsDialog) and tshark prints it with its generic table printer.
 * Neither calls back at draw time, so the rows are kept right as the tap goes:
 * every event of a connection rewrites the rows of that connection's exchanges
 * whose state changed, and the rows stay sorted by stream, then exchange.
 *
 * Which exchanges are listed follows -z mtls,conv: one whose final state a frame
 * matching the filter showed, or, while it is undecided, one any matching frame
 * showed. In the GUI (and with tshark -2) every frame shows the final state. In a
 * single tshark pass with a filter, a frame that decides an exchange need not
 * match the filter, so a second listener without filter (registered from the
 * filter check, which only tshark calls) keeps those rows up to date.
 *
 * The table is Wireshark's, one per stat_tap_table_ui: every instance of the
 * report (two -z mtls,exchanges arguments, two dialogs) shares its rows. */

#define EXCHANGES_CLI   "mtls,exchanges"
#define EXCHANGES_TABLE "Exchanges"

enum table_column {
    TABLE_TRANSPORT,
    TABLE_STREAM,
    TABLE_EXCHANGE,
    TABLE_CLIENT,
    TABLE_SERVER,
    TABLE_SNI,
    TABLE_VERSION,
    TABLE_PHASE,
    TABLE_REQUESTED,
    TABLE_RESPONSE,
    TABLE_VERDICT,
    TABLE_ALERT,
    TABLE_DECISION,
    TABLE_INFERRED,
    TABLE_APP,
    TABLE_COLUMN_COUNT
};

/* The text columns, from the -z mtls,conv cells. */
static const enum conv_column table_from_conv[TABLE_COLUMN_COUNT] = {
    [TABLE_TRANSPORT] = COLUMN_TRANSPORT,
    [TABLE_STREAM] = COLUMN_STREAM,
    [TABLE_CLIENT] = COLUMN_CLIENT,
    [TABLE_SERVER] = COLUMN_SERVER,
    [TABLE_SNI] = COLUMN_SNI,
    [TABLE_VERSION] = COLUMN_VERSION,
    [TABLE_PHASE] = COLUMN_PHASE,
    [TABLE_REQUESTED] = COLUMN_REQUESTED,
    [TABLE_RESPONSE] = COLUMN_RESPONSE,
    [TABLE_VERDICT] = COLUMN_VERDICT,
    [TABLE_ALERT] = COLUMN_ALERT,
    [TABLE_DECISION] = COLUMN_DECISION,
    [TABLE_INFERRED] = COLUMN_INFERRED,
    [TABLE_APP] = COLUMN_APP,
};

/* tshark prints each cell with field_format followed by " |". */
static stat_tap_table_item table_fields[TABLE_COLUMN_COUNT] = {
    [TABLE_TRANSPORT] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Transport", "%s"},
    /* tcp.stream or udp.stream, or an EAP-TLS session's Calling-Station-Id or MAC */
    [TABLE_STREAM] = {TABLE_ITEM_STRING, TAP_ALIGN_RIGHT, "Stream", "%s"},
    [TABLE_EXCHANGE] = {TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "Exchange", "%u"},
    [TABLE_CLIENT] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Client", "%s"},
    [TABLE_SERVER] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Server", "%s"},
    [TABLE_SNI] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "SNI", "%s"},
    [TABLE_VERSION] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Version", "%s"},
    [TABLE_PHASE] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Phase", "%s"},
    [TABLE_REQUESTED] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Requested", "%s"},
    [TABLE_RESPONSE] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Response", "%s"},
    [TABLE_VERDICT] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Verdict", "%s"},
    [TABLE_ALERT] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Alert", "%s"},
    [TABLE_DECISION] = {TABLE_ITEM_STRING, TAP_ALIGN_RIGHT, "Decision", "%s"},
    [TABLE_INFERRED] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Inferred", "%s"},
    [TABLE_APP] = {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "App reply", "%s"},
};

/* What a row shows of its exchange, to tell when it must be rewritten. */
typedef struct {
    const char *server_name;
    const char *app_label;
    uint32_t decision_frame;
    uint16_t version;
    int16_t alert;
    uint8_t verdict, response, phase, request_known, requested, inferred, confidence;
    uint8_t zero; /* no padding: keys are compared with memcmp */
} row_key_t;

typedef struct {
    const mtls_exchange_t *exchange;
    const mtls_connection_info_t *connection;
    gboolean matched_any;  /* the report's filter matched a frame that showed it */
    guint32 matched_final; /* ... a frame that showed it decided: shown_decision() */
    gboolean listed;       /* it has a row: its index in table_model.listed */
    row_key_t shown;       /* what its row shows */
} table_record_t;

typedef struct {
    guint generation;
    GHashTable *records;     /* exchange -> table_record_t, owned */
    GHashTable *connections; /* mtls_connection_info_t -> GPtrArray of table_record_t */
    GPtrArray *listed;       /* the records with a row, in row order */
    GPtrArray *retired_rows; /* rows a second open dialog may still read */
    gboolean helper_registered;
} table_model_t;

static table_model_t table_model;
static stat_tap_table_ui exchanges_ui;

static row_key_t row_key(const table_record_t *record)
{
    const mtls_exchange_t *exchange = record->exchange;
    row_key_t key;
    memset(&key, 0, sizeof(key));
    key.server_name = mtls_connection_server_name(record->connection);
    key.app_label = mtls_diagnosis_app_label(exchange);
    key.decision_frame = exchange->decision_frame;
    key.version = exchange->version;
    key.alert = exchange->alert;
    key.verdict = (uint8_t)mtls_exchange_verdict(exchange, TRUE);
    key.response = (uint8_t)exchange->response;
    key.phase = (uint8_t)exchange->phase;
    key.request_known = mtls_exchange_request_known(exchange);
    key.requested = exchange->requested;
    key.inferred = exchange->inferred;
    key.confidence = (uint8_t)exchange->confidence;
    return key;
}

static gint record_order(const table_record_t *left, const table_record_t *right)
{
    if (left->connection->transport != right->connection->transport)
        return left->connection->transport < right->connection->transport ? -1 : 1;
    if (left->connection->stream != right->connection->stream)
        return left->connection->stream < right->connection->stream ? -1 : 1;
    if (left->exchange->number != right->exchange->number)
        return left->exchange->number < right->exchange->number ? -1 : 1;
    return 0;
}

/* Index of `record` in the listed records, or where it would go. */
static guint listed_position(const table_record_t *record)
{
    guint low = 0, high = table_model.listed->len;
    while (low < high) {
        guint middle = low + (high - low) / 2;
        if (record_order(g_ptr_array_index(table_model.listed, middle), record) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

static void free_row_cells(stat_tap_table_item_type *row)
{
    for (int column = 0; column < TABLE_COLUMN_COUNT; column++) {
        if (row[column].type == TABLE_ITEM_STRING) {
            g_free((char *)row[column].value.string_value);
            row[column].value.string_value = NULL;
        }
    }
}

/* Writes the record's cells into row `index`, a new last row when index is
 * num_elements. The table owns the strings. */
static void write_row(stat_tap_table *table, guint index, const table_record_t *record)
{
    char *text[COLUMN_COUNT];
    conv_cells(record->exchange, record->connection, text);
    stat_tap_table_item_type cells[TABLE_COLUMN_COUNT];
    memset(cells, 0, sizeof(cells));
    cells[TABLE_EXCHANGE].type = TABLE_ITEM_UINT;
    cells[TABLE_EXCHANGE].value.uint_value = record->exchange->number;
    for (int column = 0; column < TABLE_COLUMN_COUNT; column++) {
        if (column == TABLE_EXCHANGE)
            continue;
        cells[column].type = TABLE_ITEM_STRING;
        cells[column].value.string_value = text[table_from_conv[column]];
        text[table_from_conv[column]] = NULL;
    }
    for (int column = 0; column < COLUMN_COUNT; column++)
        g_free(text[column]); /* those the table did not take */
    if (index < table->num_elements)
        free_row_cells(stat_tap_get_field_data(table, index, 0));
    stat_tap_init_table_row(table, index, TABLE_COLUMN_COUNT, cells);
}

/* Rows keep their place (a dialog holds each row's cells); to insert or remove
 * one, the contents of the rows after it move, strings and all. */
static void insert_row(stat_tap_table *table, guint position, const table_record_t *record)
{
    stat_tap_table_item_type empty[TABLE_COLUMN_COUNT];
    memset(empty, 0, sizeof(empty));
    guint last = table->num_elements;
    stat_tap_init_table_row(table, last, TABLE_COLUMN_COUNT, empty);
    for (guint i = last; i > position; i--)
        memcpy(table->elements[i], table->elements[i - 1], sizeof(empty));
    memcpy(table->elements[position], empty, sizeof(empty));
    write_row(table, position, record);
}

static void remove_row(stat_tap_table *table, guint position)
{
    guint last = table->num_elements - 1;
    free_row_cells(table->elements[position]);
    for (guint i = position; i < last; i++)
        memcpy(table->elements[i], table->elements[i + 1],
               sizeof(stat_tap_table_item_type) * TABLE_COLUMN_COUNT);
    g_free(table->elements[last]);
    table->num_elements = last;
}

static void free_rows(GPtrArray *rows)
{
    for (guint i = 0; i < rows->len; i++) {
        free_row_cells(g_ptr_array_index(rows, i));
        g_free(g_ptr_array_index(rows, i));
    }
    g_ptr_array_set_size(rows, 0);
}

static void table_model_clear(void)
{
    g_hash_table_remove_all(table_model.connections);
    g_hash_table_remove_all(table_model.records);
    g_ptr_array_set_size(table_model.listed, 0);
    table_model.generation = file_generation;
}

/* Empties the table and the model: a new retap, or a new file. */
static void table_reset(stat_tap_table *table)
{
    /* The cells of a dialog still open on the same report may be read when it
     * sorts or copies: keep its rows until only one dialog is left. */
    GPtrArray *retired = g_ptr_array_new();
    for (guint i = 0; i < table->num_elements; i++)
        g_ptr_array_add(exchanges_ui.refcount > 1 ? table_model.retired_rows : retired,
                        table->elements[i]);
    if (exchanges_ui.refcount <= 1)
        free_rows(table_model.retired_rows);
    free_rows(retired);
    g_ptr_array_free(retired, TRUE);
    g_free(table->elements);
    table->elements = NULL;
    table->num_elements = 0;
    table_model_clear();
}

static void table_free_item(stat_tap_table *table _U_, guint row _U_, guint column _U_,
                            stat_tap_table_item_type *field_data)
{
    if (field_data->type == TABLE_ITEM_STRING) {
        g_free((char *)field_data->value.string_value);
        field_data->value.string_value = NULL;
    }
}

static void table_init(stat_tap_table_ui *ui)
{
    stat_tap_table *table = stat_tap_find_table(ui, EXCHANGES_TABLE);
    if (table) {
        table_reset(table);
        return;
    }
    /* The model's rows were in a table Wireshark has freed. */
    table_model_clear();
    if (ui->refcount <= 1)
        free_rows(table_model.retired_rows);
    stat_tap_add_table(ui, stat_tap_init_table(EXCHANGES_TABLE, TABLE_COLUMN_COUNT, 0, NULL));
}

/* Gives the record the row it should have, or none, and rewrites its row when
 * what it shows changed. */
static void table_refresh(stat_tap_table *table, table_record_t *record)
{
    gboolean listed = report_selects(record->matched_any, record->matched_final, record->exchange);
    row_key_t key = row_key(record);
    if (listed && !record->listed) {
        guint position = listed_position(record);
        g_ptr_array_insert(table_model.listed, (gint)position, record);
        record->listed = TRUE;
        record->shown = key;
        insert_row(table, position, record);
    } else if (!listed && record->listed) {
        /* Only in a single tshark pass with a filter: no dialog holds the rows. */
        guint position = listed_position(record);
        g_ptr_array_remove_index(table_model.listed, position);
        record->listed = FALSE;
        remove_row(table, position);
    } else if (listed && memcmp(&key, &record->shown, sizeof(key)) != 0) {
        record->shown = key;
        write_row(table, listed_position(record), record);
    }
}

/* One event of the tap: `matched` when the report's own listener (with its
 * filter) saw it, not when the helper without filter did. */
static void table_observe(const mtls_tap_info_t *tap_info, gboolean matched)
{
    stat_tap_table *table = stat_tap_find_table(&exchanges_ui, EXCHANGES_TABLE);
    if (!table || !tap_info || !tap_info->exchange || !tap_info->connection)
        return;
    /* The exchanges of a closed file are gone. */
    if (table_model.generation != file_generation)
        table_reset(table);

    table_record_t *record = g_hash_table_lookup(table_model.records, tap_info->exchange);
    GPtrArray *siblings = g_hash_table_lookup(table_model.connections, tap_info->connection);
    if (!siblings) {
        siblings = g_ptr_array_new();
        g_hash_table_insert(table_model.connections, (gpointer)tap_info->connection, siblings);
    }
    if (!record) {
        record = g_new0(table_record_t, 1);
        record->exchange = tap_info->exchange;
        record->connection = tap_info->connection;
        g_hash_table_insert(table_model.records, (gpointer)tap_info->exchange, record);
        g_ptr_array_add(siblings, record);
    }
    if (matched) {
        record->matched_any = TRUE;
        if (frame_shows_final(tap_info))
            record->matched_final = shown_decision(tap_info);
    }
    /* This frame's events may have changed any exchange of its connection. */
    for (guint i = 0; i < siblings->len; i++)
        table_refresh(table, g_ptr_array_index(siblings, i));
}

static tap_packet_status table_packet(void *tapdata _U_, packet_info *pinfo _U_,
                                      epan_dissect_t *edt _U_, const void *data,
                                      tap_flags_t flags _U_)
{
    table_observe((const mtls_tap_info_t *)data, TRUE);
    return TAP_PACKET_REDRAW;
}

static tap_packet_status table_helper_packet(void *tapdata _U_, packet_info *pinfo _U_,
                                             epan_dissect_t *edt _U_, const void *data,
                                             tap_flags_t flags _U_)
{
    table_observe((const mtls_tap_info_t *)data, FALSE);
    return TAP_PACKET_DONT_REDRAW;
}

/* Called by tshark only, before it registers the report's listener with `filter`. */
static void table_filter_check(const char *opt_arg _U_, const char **filter, char **err)
{
    if (!*filter || !**filter || table_model.helper_registered)
        return;
    GString *error = register_tap_listener(MTLS_TAP_NAME, &table_model, NULL, TL_REQUIRES_NOTHING,
                                           NULL, table_helper_packet, NULL, NULL);
    if (error) {
        *err = g_strdup_printf("Couldn't register the " EXCHANGES_CLI " tap: %s", error->str);
        g_string_free(error, TRUE);
        return;
    }
    table_model.helper_registered = TRUE;
}

static void table_register(void)
{
    static tap_param params[] = {{PARAM_FILTER, "filter", "Filter", NULL, TRUE}};

    table_model.records = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    table_model.connections = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                                    (GDestroyNotify)g_ptr_array_unref);
    table_model.listed = g_ptr_array_new();
    table_model.retired_rows = g_ptr_array_new();

    exchanges_ui.group = REGISTER_PACKET_STAT_GROUP_UNSORTED;
    exchanges_ui.title = "mTLS Client Authentication Exchanges";
    exchanges_ui.tap_name = MTLS_TAP_NAME;
    exchanges_ui.cli_string = EXCHANGES_CLI;
    exchanges_ui.stat_tap_init_cb = table_init;
    exchanges_ui.packet_func = table_packet;
    exchanges_ui.stat_tap_reset_table_cb = table_reset;
    exchanges_ui.stat_tap_free_table_item_cb = table_free_item;
    exchanges_ui.stat_filter_check_cb = table_filter_check;
    exchanges_ui.nfields = G_N_ELEMENTS(table_fields);
    exchanges_ui.fields = table_fields;
    exchanges_ui.nparams = G_N_ELEMENTS(params);
    exchanges_ui.params = params;
    register_stat_tap_table_ui(&exchanges_ui);
}

/* ---- Registration -------------------------------------------------------------- */

void mtls_reports_register(void)
{
    static tap_param conv_params[] = {{PARAM_FILTER, "filter", "Filter", NULL, TRUE}};
    static stat_tap_ui conv_ui = {
        .group = REGISTER_PACKET_STAT_GROUP_UNSORTED,
        .title = "mTLS Exchanges",
        .cli_string = CONV_CLI,
        .tap_init_cb = conv_init,
        .nparams = G_N_ELEMENTS(conv_params),
        .params = conv_params,
    };

    register_init_routine(reports_init);
    /* The tree's listener gets the frames its filter rejects too, flagged (see the tree). */
    stats_tree_register_plugin(MTLS_TAP_NAME, "mtls", "mTLS Client Authentication",
                               TL_IGNORE_DISPLAY_FILTER, tree_packet, tree_init, tree_cleanup);
    register_stat_tap_ui(&conv_ui, NULL);
    table_register();
}
