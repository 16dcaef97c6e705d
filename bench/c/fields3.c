/* A post-dissector that wants 3 fields (how a C post-dissector correlating DCE/RPC and NTLMSSP
 * would start): dcerpc.cn_call_id, dcerpc.pkt_type, ntlmssp.auth.username. Wanting fields makes
 * epan build a tree for every frame, even in `tshark -z expert`; that is the cost measured. */
#include <epan/packet.h>
#include <epan/proto.h>
#include <ws_version.h>

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = "0.1.0";
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;
WS_DLL_PUBLIC void plugin_register(void);

static int proto_benchf3 = -1;
static int hf_ids[3] = {-1, -1, -1};
static const char *names[3] = {"dcerpc.cn_call_id", "dcerpc.pkt_type", "ntlmssp.auth.username"};
/* Something the compiler cannot drop: how many values the frames carried. */
static guint64 seen;

static int dissect_benchf3(tvbuff_t *tvb _U_, packet_info *pinfo _U_, proto_tree *tree, void *data _U_)
{
    for (int i = 0; i < 3; i++) {
        if (hf_ids[i] < 0)
            continue;
        GPtrArray *found = proto_get_finfo_ptr_array(tree, hf_ids[i]);
        if (found)
            seen += found->len;
    }
    return 0;
}

static void register_benchf3(void)
{
    proto_benchf3 = proto_register_protocol("Bench 3-field post-dissector", "BENCHF3", "benchf3");
}

static void handoff_benchf3(void)
{
    dissector_handle_t h = create_dissector_handle(dissect_benchf3, proto_benchf3);
    register_postdissector(h);
    GArray *wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));
    for (int i = 0; i < 3; i++) {
        hf_ids[i] = proto_registrar_get_id_byname(names[i]);
        if (hf_ids[i] >= 0)
            g_array_append_val(wanted, hf_ids[i]);
    }
    set_postdissector_wanted_hfids(h, wanted);
}

void plugin_register(void)
{
    static proto_plugin plug;
    plug.register_protoinfo = register_benchf3;
    plug.register_handoff = handoff_benchf3;
    proto_register_plugin(&plug);
}
