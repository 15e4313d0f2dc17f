/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Every difference between the Wireshark versions the plugin supports (4.0 to
 * 4.6) lives here, so the rest of the code reads the same on all of them.
 */
#ifndef MTLS_COMPAT_H
#define MTLS_COMPAT_H

#include <epan/proto.h>
#include <epan/tvbuff.h>
#include <ws_version.h>

#define MTLS_WIRESHARK_AT_LEAST(major, minor)                                                      \
    (WIRESHARK_VERSION_MAJOR > (major) ||                                                          \
     (WIRESHARK_VERSION_MAJOR == (major) && WIRESHARK_VERSION_MINOR >= (minor)))

/* field_info.value became a pointer in 4.2. */
static inline guint32 mtls_field_uint(field_info *field)
{
#if MTLS_WIRESHARK_AT_LEAST(4, 2)
    return fvalue_get_uinteger(field->value);
#else
    return fvalue_get_uinteger(&field->value);
#endif
}

/* Boolean preferences are bool from 4.4 on, gboolean before. */
#if MTLS_WIRESHARK_AT_LEAST(4, 4)
typedef bool mtls_pref_bool_t;
#else
typedef gboolean mtls_pref_bool_t;
#endif

/* 4.4 asks plugins to describe themselves; earlier versions do not look. */
#if MTLS_WIRESHARK_AT_LEAST(4, 4)
#include <wsutil/plugins.h>
#define MTLS_DEFINE_PLUGIN_DESCRIBE                                                                \
    WS_DLL_PUBLIC uint32_t plugin_describe(void);                                                  \
    uint32_t plugin_describe(void)                                                                 \
    {                                                                                              \
        return WS_PLUGIN_DESC_DISSECTOR;                                                           \
    }
#else
#define MTLS_DEFINE_PLUGIN_DESCRIBE
#endif

/* The init callback of a stat_tap_ui (`-z name[,args]`) returns bool from 4.5 (the
 * 4.6 series: 4.6.9 checked) on, false when it refuses its arguments; before, it
 * returned void and exited on error. Define one as
 *     static MTLS_STAT_TAP_INIT_TYPE name(const char *opt_arg, void *userdata)
 * and end it with MTLS_STAT_TAP_INIT_OK or MTLS_STAT_TAP_INIT_FAILED.
 * The table reports' callbacks (stat_tap_table_ui) are the same in 4.0, 4.2, 4.4
 * and 4.6 (only guint became unsigned). */
#if MTLS_WIRESHARK_AT_LEAST(4, 5)
#define MTLS_STAT_TAP_INIT_TYPE   bool
#define MTLS_STAT_TAP_INIT_OK     return true
#define MTLS_STAT_TAP_INIT_FAILED return false
#else
#define MTLS_STAT_TAP_INIT_TYPE   void
#define MTLS_STAT_TAP_INIT_OK     return
#define MTLS_STAT_TAP_INIT_FAILED exit(1)
#endif

/* TCP's "tcp_follow" tap data, a struct private to packet-tcp.c (the same in
 * 4.0 to 4.6: the payload tvb, the tcp tap's header, the conversation data).
 * The glue checks it at run time (its tcph is the tcp tap's entry, the tvb
 * holds th_seglen bytes) and reads segments from the frame's bytes if not. */
typedef struct {
    tvbuff_t *tvb;
    struct tcpheader *tcph;
    struct tcp_analysis *tcpd;
} mtls_tcp_follow_tap_data_t;

/* A wmem list frame, a struct private to wsutil/wmem/wmem_list.c (the same in
 * 4.0 to 4.6): the post-dissector walks pinfo->layers on every frame, and two
 * library calls per layer cost more than the walk itself. The glue checks the
 * layout on the first frames (each frame's next and data as the API gives
 * them) and walks with wmem_list_frame_next() if it ever differs. */
typedef struct mtls_wmem_list_frame {
    struct mtls_wmem_list_frame *next, *prev;
    void *data;
} mtls_wmem_list_frame_t;

/* ==== Sequence analysis (Statistics > Flow Graph, `-z flow,<name>`) ==========
 *
 * libwireshark 4.0 to 4.6 exports register_seq_analysis() and the
 * sequence_analysis_* helpers, but does not install epan/sequence_analysis.h.
 * What mtls_flow.c uses of it is declared here, per version, and checked
 * against that version's Debian library (x86-64 disassembly of the exported
 * functions, see README "Flow graph"); the static assertions below hold with the
 * headers of Debian's libwireshark-dev 4.0.17, 4.4.19 and 4.6.9 (mtls_flow.c
 * compiled against each). 4.0.17's declarations are from its own header. The
 * 4.4.19 and 4.6.9 source packages could not be fetched (the Debian mirror here
 * answers 404 for their .dsc and .orig.tar), so theirs were written from the
 * upstream header's later text (read through code search, version unnamed:
 * one with bool members and occurrence[], one with free_info_ptr as well) and
 * each was matched to a library by the offsets and sizes below:
 *
 *   4.0.17 (bookworm) epan/sequence_analysis.h of /work/ws-src/wireshark-v4.0.17;
 *          libwireshark.so.16.0.17: sequence_analysis_create_sai_with_addresses()
 *          allocates 0x90 bytes, sequence_analysis_use_color_filter() writes
 *          has_color_filter as 4 bytes at 0x6c, sequence_analysis_dump_to_file()
 *          reads display as 4 bytes at 0x70; any_addr is read as 4 bytes at 8.
 *   4.4.19 (trixie) the gboolean members became bool, guint16/guint/gpointer
 *          became uint16_t/unsigned/void *, info_type became an enum
 *          (ga_info_type, int-sized), seq_analysis_info_t gained
 *          occurrence[MAX_NUM_NODES] before num_nodes. libwireshark.so.18.0.19:
 *          the item is 0x88 bytes, has_color_filter one byte at 0x6c, display one
 *          byte at 0x6d; any_addr one byte at 8.
 *   4.6.9 (sid) as 4.4, and the item ends with free_info_ptr, a callback that
 *          frees info_ptr. libwireshark.so.19.1.9: the item is 0x90 bytes,
 *          has_color_filter at 0x6c and display at 0x6d, one byte each.
 *
 * Where they differ, and what the plugin does about it:
 *   - the item's members up to bg_color (frame_number, the addresses and ports,
 *     frame_label, time_str, comment, conv_num, the colours) sit at the same
 *     offsets in all three; has_color_filter, display, src_node, dst_node,
 *     line_style and info_ptr move (gboolean 4 bytes in 4.0, bool 1 byte after),
 *     and the size differs (0x90, 0x88, 0x90). The plugin never allocates,
 *     copies or frees an item: sequence_analysis_create_sai_with_addresses()
 *     allocates it with the library's own size and Wireshark frees it; the
 *     plugin writes only members declared below for the running version.
 *   - seq_analysis_info_t: name, any_addr, nconv and items are at the same
 *     offsets in all three (any_addr's padding absorbs gboolean -> bool); the
 *     plugin reads only `items`. It never allocates one (tshark and the GUI do).
 *   - the functions' prototypes are the same in 4.0, 4.4 and 4.6 (guint became
 *     unsigned); tap_packet_cb comes from the installed <epan/tap.h>.
 * Only these three series get the flow graph (MTLS_HAVE_SEQ_ANALYSIS 1): 4.2
 * (in no Debian release) and the odd development series were not compared, and
 * get none until their header has been compared here. The offsets were checked
 * on x86-64; the static assertions below hold the declarations to them there. */
#include <epan/address.h>
#include <epan/tap.h>
#include <glib.h>

#if WIRESHARK_VERSION_MAJOR == 4 &&                                                                \
    (WIRESHARK_VERSION_MINOR == 0 || WIRESHARK_VERSION_MINOR == 4 || WIRESHARK_VERSION_MINOR == 6)
#define MTLS_HAVE_SEQ_ANALYSIS 1

#define MTLS_SEQ_MAX_NUM_NODES 40 /* MAX_NUM_NODES, the same in 4.0 to 4.6 */

#if MTLS_WIRESHARK_AT_LEAST(4, 4)
/* 4.4.19 and 4.6.9 epan/sequence_analysis.h */
typedef bool mtls_seq_bool_t;
#else
/* 4.0.17 epan/sequence_analysis.h */
typedef gboolean mtls_seq_bool_t;
#endif

typedef struct _seq_analysis_item {
    guint32 frame_number;
    address src_addr;
    guint16 port_src;
    address dst_addr;
    guint16 port_dst;
    gchar *frame_label; /* the label on top of the arrow */
    gchar *time_str;
    gchar *comment; /* at the right of the graph */
    guint16 conv_num;
    unsigned fg_color;
    unsigned bg_color;
    mtls_seq_bool_t has_color_filter;
    mtls_seq_bool_t display;
    unsigned src_node;
    unsigned dst_node;
    guint16 line_style;
    int info_type; /* guint32 in 4.0, the enum ga_info_type from 4.4 on */
    void *info_ptr;
#if MTLS_WIRESHARK_AT_LEAST(4, 6)
    void (*free_info_ptr)(void *info_ptr); /* ga_info_ptr_free_cb, 4.6 only */
#endif
} seq_analysis_item_t;

typedef struct _seq_analysis_info {
    const char *name;
    mtls_seq_bool_t any_addr;
    int nconv;
    GQueue *items; /* of seq_analysis_item_t * */
    GHashTable *ht;
    address nodes[MTLS_SEQ_MAX_NUM_NODES];
#if MTLS_WIRESHARK_AT_LEAST(4, 4)
    guint8 occurrence[MTLS_SEQ_MAX_NUM_NODES];
#endif
    guint32 num_nodes;
} seq_analysis_info_t;

WS_DLL_PUBLIC void register_seq_analysis(const char *name, const char *ui_name, const int proto_id,
                                         const char *tap_listener, guint tap_flags,
                                         tap_packet_cb tap_func);
WS_DLL_PUBLIC seq_analysis_item_t *
sequence_analysis_create_sai_with_addresses(packet_info *pinfo, seq_analysis_info_t *sainfo);

/* The layouts above against the offsets read in each library (x86-64). */
#if GLIB_SIZEOF_VOID_P == 8
G_STATIC_ASSERT(G_STRUCT_OFFSET(seq_analysis_item_t, frame_label) == 72);
G_STATIC_ASSERT(G_STRUCT_OFFSET(seq_analysis_item_t, comment) == 88);
G_STATIC_ASSERT(G_STRUCT_OFFSET(seq_analysis_item_t, has_color_filter) == 0x6c);
#if MTLS_WIRESHARK_AT_LEAST(4, 4)
G_STATIC_ASSERT(G_STRUCT_OFFSET(seq_analysis_item_t, display) == 0x6d);
#else
G_STATIC_ASSERT(G_STRUCT_OFFSET(seq_analysis_item_t, display) == 0x70);
#endif
#if MTLS_WIRESHARK_AT_LEAST(4, 6) || !MTLS_WIRESHARK_AT_LEAST(4, 4)
G_STATIC_ASSERT(sizeof(seq_analysis_item_t) == 0x90);
#else
G_STATIC_ASSERT(sizeof(seq_analysis_item_t) == 0x88);
#endif
G_STATIC_ASSERT(G_STRUCT_OFFSET(seq_analysis_info_t, items) == 16);
#endif
#else
#define MTLS_HAVE_SEQ_ANALYSIS 0
#endif
/* ==== End of sequence analysis ============================================== */

/* ---- Byte-order helpers (wsutil/pint.h) ----------------------------------
 * 4.6 renamed pntoh16/pntoh32/pntoh64 to pntohu16/pntohu32/pntohu64 and dropped
 * the old names (4.4.19: only the old names; 4.6.9: only the new ones). The
 * plugin keeps writing the old names; on 4.5 and later they mean the new ones. */
#include <wsutil/pint.h>
#if MTLS_WIRESHARK_AT_LEAST(4, 5)
#ifndef pntoh16
#define pntoh16 pntohu16
#endif
#ifndef pntoh32
#define pntoh32 pntohu32
#endif
#ifndef pntoh64
#define pntoh64 pntohu64
#endif
#endif
/* ---- end of byte-order helpers ------------------------------------------ */

/* ---- The TLS dissector's decrypted records of a frame (SslPacketInfo) ------
 * The TLS dissector keeps a frame's decrypted records in an SslPacketInfo stored
 * with p_add_proto_data(wmem_file_scope(), pinfo, proto_tls, KEY, ...):
 *   4.0   KEY is 0 for every call of TLS in the frame (one list for all).
 *   4.4, 4.6  KEY is pinfo->curr_proto_layer_num: 1 for TLS's first call in the
 *         frame, 2 for its second (TCP calls TLS twice in a frame that ends one
 *         reassembled PDU and carries the next), ... Checked on 4.4.19 and 4.6.9
 *         by listing the keys present on every sample capture's frames.
 *   4.2   added curr_proto_layer_num; not checked here (Debian has no 4.2):
 *         both schemes are tried.
 * mtls_tls_decrypted_records() returns the records of all of TLS's calls in the
 * frame, in dissection order: the list itself when there is one, else a copy of
 * the lists' nodes chained in pinfo->pool (the records' data is TLS's, not
 * copied). Only for the post-dissector: it counts the TLS layers in pinfo->layers. */
#include <epan/packet.h>
#include <epan/proto_data.h>
#include <epan/dissectors/packet-tls-utils.h>

static inline SslRecordInfo *mtls_tls_decrypted_records(packet_info *pinfo, int proto_tls)
{
    SslPacketInfo *info = (SslPacketInfo *)p_get_proto_data(wmem_file_scope(), pinfo, proto_tls, 0);
#if MTLS_WIRESHARK_AT_LEAST(4, 2)
    if (!info) {
        guint32 calls = 0;
        for (wmem_list_frame_t *layer = wmem_list_head(pinfo->layers); layer;
             layer = wmem_list_frame_next(layer))
            if (GPOINTER_TO_INT(wmem_list_frame_data(layer)) == proto_tls)
                calls++;
        if (calls <= 1) {
            info = (SslPacketInfo *)p_get_proto_data(wmem_file_scope(), pinfo, proto_tls, 1);
        } else {
            SslRecordInfo *head = NULL, **tail = &head;
            for (guint32 key = 1; key <= calls; key++) {
                SslPacketInfo *part =
                    (SslPacketInfo *)p_get_proto_data(wmem_file_scope(), pinfo, proto_tls, key);
                for (SslRecordInfo *record = part ? part->records : NULL; record;
                     record = record->next) {
                    SslRecordInfo *copy = wmem_new(pinfo->pool, SslRecordInfo);
                    *copy = *record;
                    copy->next = NULL;
                    *tail = copy;
                    tail = &copy->next;
                }
            }
            return head;
        }
    }
#endif
    return info ? info->records : NULL;
}
/* ---- end of decrypted records ------------------------------------------- */

/* ---- The DTLS dissector's decrypted records of a frame -------------------
 * DTLS stores them like TLS (ssl_add_record_info(proto_dtls, ...)), under
 *   4.0   KEY = pinfo->curr_layer_num when DTLS was called: its 1-based position
 *         in pinfo->layers when no tree is built (checked on 4.0.17's sample
 *         captures). With a tree, layers that added no item leave pinfo->layers
 *         without lowering the count, so the key can be higher: the next few are
 *         tried too.
 *   4.2 and later: as TLS, pinfo->curr_proto_layer_num is likely (1 for the
 *         first DTLS of the frame); not checked here (no 4.2/4.4/4.6 DTLS
 *         capture run yet): key 1 is tried first, then the 4.0 scheme.
 * `layer` is DTLS's position in pinfo->layers. Each record's id is the raw
 * offset of its protected body in the frame. */
static inline SslRecordInfo *mtls_dtls_decrypted_records(packet_info *pinfo, int proto_dtls,
                                                         guint32 layer)
{
    SslPacketInfo *info = NULL;
#if MTLS_WIRESHARK_AT_LEAST(4, 2)
    info = (SslPacketInfo *)p_get_proto_data(wmem_file_scope(), pinfo, proto_dtls, 1);
#endif
    for (guint32 key = layer; !info && key < layer + 8 && key <= G_MAXUINT8; key++)
        info = (SslPacketInfo *)p_get_proto_data(wmem_file_scope(), pinfo, proto_dtls, key);
    return info ? info->records : NULL;
}
/* ---- end of DTLS decrypted records -------------------------------------- */

/* ---- Did TLS see this frame? ----------------------------------------------
 * 4.0 lists TLS in pinfo->layers for every TCP segment it is called on, also one
 * where it only asks TCP for more bytes (a record split over segments). From 4.2
 * on (4.4.19 and 4.6.9 checked), a call that dissects nothing leaves no layer:
 * the first segments of a record split over several show no TLS, and the first
 * frame with TLS is the one that completes the record (a ClientHello sent one byte
 * per segment shows TLS only in its last frame). The TLS dissector has set up its
 * session on the conversation by then, on every version (ssl_get_session), so a
 * frame is TLS's when TLS is among its layers or its conversation has TLS data. */
#include <epan/conversation.h>

static inline gboolean mtls_tls_saw_frame(packet_info *pinfo, int proto_tls, gboolean tls_layer)
{
    if (tls_layer)
        return TRUE;
#if MTLS_WIRESHARK_AT_LEAST(4, 2)
    conversation_t *conversation = find_conversation_pinfo(pinfo, 0);
    return conversation && conversation_get_proto_data(conversation, proto_tls) != NULL;
#else
    (void)pinfo;
    (void)proto_tls;
    return FALSE;
#endif
}
/* ---- end of did TLS see this frame -------------------------------------- */

/* ---- Data sources by name -------------------------------------------------
 * pinfo->data_src is a GSList of struct data_source (opaque). 4.0.17 and 4.4.19
 * export get_data_source_name(), 4.6.9 renamed it get_data_source_description()
 * (headers compared, symbols checked in libwireshark.so.16, .18 and .19); both
 * return "NAME (N bytes)" from wmem_strdup_printf(NULL, ...) (4.6.9 disassembled).
 * mtls_data_source_named() is TRUE when the source's name is `name`. */
#include <string.h>
#include <epan/packet.h>

static inline gboolean mtls_data_source_named(const struct data_source *source, const char *name)
{
#if MTLS_WIRESHARK_AT_LEAST(4, 5)
    char *text = get_data_source_description(source);
#else
    char *text = get_data_source_name(source);
#endif
    size_t length = strlen(name);
    gboolean named =
        text && strncmp(text, name, length) == 0 && text[length] == ' ' && text[length + 1] == '(';
    wmem_free(NULL, text);
    return named;
}
/* ---- end of data sources by name ---------------------------------------- */

#endif /* MTLS_COMPAT_H */
