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

#endif /* MTLS_COMPAT_H */
