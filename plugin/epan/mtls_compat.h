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

#if WIRESHARK_VERSION_MAJOR == 4 &&                                                              \
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

#endif /* MTLS_COMPAT_H */
