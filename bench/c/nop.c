/* The floor of any post-dissector: registered, called on every frame, does nothing. */
#include <epan/packet.h>
#include <epan/proto.h>
#include <ws_version.h>

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = "0.1.0";
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;
WS_DLL_PUBLIC void plugin_register(void);

static int proto_benchnop = -1;

static int dissect_benchnop(tvbuff_t *tvb _U_, packet_info *pinfo _U_, proto_tree *tree _U_, void *data _U_)
{
    return 0;
}

static void register_benchnop(void)
{
    proto_benchnop = proto_register_protocol("Bench do-nothing post-dissector", "BENCHNOP", "benchnop");
}

static void handoff_benchnop(void)
{
    register_postdissector(create_dissector_handle(dissect_benchnop, proto_benchnop));
}

void plugin_register(void)
{
    static proto_plugin plug;
    plug.register_protoinfo = register_benchnop;
    plug.register_handoff = handoff_benchnop;
    proto_register_plugin(&plug);
}
