/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The symbols Wireshark looks for when it loads the plugin.
 */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <epan/proto.h>

#include "mtls_compat.h"
#include "packet-mtls.h"

#ifndef PLUGIN_VERSION
#error PLUGIN_VERSION must be defined by the build
#endif

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = PLUGIN_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);

MTLS_DEFINE_PLUGIN_DESCRIBE

void plugin_register(void)
{
    static proto_plugin mtls_plugin;

    mtls_plugin.register_protoinfo = proto_register_mtls;
    mtls_plugin.register_handoff = proto_reg_handoff_mtls;
    proto_register_plugin(&mtls_plugin);
}
