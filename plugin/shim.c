/* See shim.h. Compiled by the root build.rs against the installed headers, so every field access
 * below follows the layout of the Wireshark the plugin is built for. */
#include "shim.h"

#include <stdio.h>
#include <string.h>

#include <ws_version.h>
#include <epan/conversation.h>
#include <epan/dissectors/packet-tcp.h>
#include <epan/exceptions.h>
#include <epan/prefs.h>
#include <epan/prefs-int.h>
#include <epan/proto.h>
#include <wsutil/wmem/wmem_list.h>

/* epan reports errors by THROW, a longjmp to the nearest TRY. One that crossed the Rust frames
 * between the post-dissector and these functions would skip their destructors and leave Rust's
 * state half-updated (undefined behaviour). So every call below that can throw runs inside
 * TRY/CATCH_ALL; the first exception of a post-dissector run is kept here, every later tree call
 * of that run returns NULL without asking epan (Rust then adds nothing more to that tree; its
 * expert infos are still raised, without a tree item), and dcomauth_postdissector re-throws it
 * once Rust has returned, in C, so Wireshark shows it as it does for any dissector
 * ("[Dissector bug, protocol DCOMAUTH: ...]"). epan dissects on one thread at a time. */
static struct {
    int pending;
    unsigned long code;
    char message[512];
} caught;

static void record(unsigned long code, const char *message)
{
    if (caught.pending)
        return;
    caught.pending = 1;
    caught.code = code;
    /* The message may live in a pool the exception frees; keep a copy. */
    snprintf(caught.message, sizeof caught.message, "%s", message ? message : "exception in epan");
}

/* Runs `call` (a statement) unless an exception is already pending; records the one it throws. */
#define GUARDED(call)                                  \
    do {                                               \
        if (!caught.pending) {                         \
            TRY { call; }                              \
            CATCH_ALL { record(EXCEPT_CODE, GET_MESSAGE); } \
            ENDTRY;                                    \
        }                                              \
    } while (0)

#ifdef _WIN32
/* The Windows cross-build uses wireshark-sys/windows/glibconfig.h (LLP64); Wireshark's own
 * Windows build has these widths. */
_Static_assert(sizeof(glong) == 4 && sizeof(gint64) == 8, "LLP64 GLib integer widths");
_Static_assert(sizeof(gsize) == sizeof(void *) && sizeof(gintptr) == sizeof(void *), "LLP64 GLib pointer widths");
#endif

static dissector_t rust_postdissector;

static int dcomauth_postdissector(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    caught.pending = 0;
    int consumed = rust_postdissector(tvb, pinfo, tree, data);
    if (caught.pending) {
        caught.pending = 0;
        /* Only C frames (this one and epan's) lie between here and epan's TRY. */
        THROW_MESSAGE(caught.code, wmem_strdup(pinfo->pool, caught.message));
    }
    return consumed;
}

dissector_handle_t dcomauth_register_postdissector(dissector_t rust, int proto)
{
    rust_postdissector = rust;
    dissector_handle_t handle = create_dissector_handle(dcomauth_postdissector, proto);
    register_postdissector(handle);
    return handle;
}

int dcomauth_visited(const packet_info *pinfo) { return PINFO_FD_VISITED(pinfo) ? 1 : 0; }

uint32_t dcomauth_frame_num(const packet_info *pinfo) { return pinfo->num; }

int64_t dcomauth_abs_time_ns(const packet_info *pinfo)
{
    /* Saturate instead of overflowing (undefined in C) on absurd timestamps. */
    int64_t secs = (int64_t)pinfo->abs_ts.secs;
    if (secs > INT64_MAX / 1000000000 - 1)
        return INT64_MAX;
    if (secs < INT64_MIN / 1000000000 + 1)
        return INT64_MIN;
    return secs * 1000000000 + (int64_t)pinfo->abs_ts.nsecs;
}

int dcomauth_layers_has_after(const packet_info *pinfo, int proto_id, int below)
{
    if (proto_id < 0 || below < 0 || pinfo->layers == NULL)
        return 0;
    int previous = -1;
    for (wmem_list_frame_t *f = wmem_list_head(pinfo->layers); f != NULL; f = wmem_list_frame_next(f)) {
        int id = GPOINTER_TO_INT(wmem_list_frame_data(f));
        if (id == proto_id && previous == below)
            return 1;
        previous = id;
    }
    return 0;
}

static int copy_ip(const address *a, uint8_t out[16])
{
    if (a->type == AT_IPv4 && a->len == 4) {
        memcpy(out, a->data, 4);
        return 4;
    }
    if (a->type == AT_IPv6 && a->len == 16) {
        memcpy(out, a->data, 16);
        return 6;
    }
    return 0;
}

int dcomauth_tcp_endpoints(const packet_info *pinfo, uint8_t src[16], uint8_t dst[16],
                           uint16_t *src_port, uint16_t *dst_port)
{
    if (pinfo->ptype != PT_TCP)
        return 0;
    int fs = copy_ip(&pinfo->src, src);
    int fd = copy_ip(&pinfo->dst, dst);
    if (fs == 0 || fs != fd)
        return 0;
    *src_port = (uint16_t)pinfo->srcport;
    *dst_port = (uint16_t)pinfo->destport;
    return fs;
}

int dcomauth_tcp_stream(packet_info *pinfo, int proto_tcp, uint32_t *stream)
{
    if (proto_tcp < 0)
        return 0;
    /* The lookup TCP itself makes: from 4.4 it honours conversation deinterlacing, which
       find_conversation_pinfo does not (it would find no TCP conversation at all then). */
#if WIRESHARK_VERSION_MAJOR > 4 || WIRESHARK_VERSION_MINOR >= 6
    conversation_t *conv = find_conversation_strat(pinfo, CONVERSATION_TCP, 0, false);
#elif WIRESHARK_VERSION_MINOR >= 4
    conversation_t *conv = find_conversation_strat(pinfo, CONVERSATION_TCP, 0);
#else
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);
#endif
    if (conv == NULL)
        return 0;
    struct tcp_analysis *tcpd = (struct tcp_analysis *)conversation_get_proto_data(conv, proto_tcp);
    if (tcpd == NULL)
        return 0;
    *stream = tcpd->stream;
    return 1;
}

int dcomauth_conversations_deinterlaced(void)
{
    /* 4.0 has no such preference: the lookup finds nothing. */
    module_t *protocols = prefs_find_module("protocols");
    pref_t *key = protocols != NULL ? prefs_find_preference(protocols, "conversation_deinterlacing_key") : NULL;
    return key != NULL && prefs_get_enum_value(key, pref_current) != 0;
}

const uint8_t *dcomauth_tvb_bytes(tvbuff_t *tvb, uint32_t *len)
{
    *len = 0;
    if (tvb == NULL)
        return NULL;
    guint n = tvb_captured_length(tvb);
    if (n == 0)
        return NULL;
    const uint8_t *volatile bytes = NULL;
    GUARDED(bytes = tvb_get_ptr(tvb, 0, (gint)n));
    if (bytes != NULL)
        *len = n;
    return bytes;
}

const uint8_t *dcomauth_reassembled_tcp(packet_info *pinfo, uint32_t *len)
{
#if WIRESHARK_VERSION_MAJOR > 4 || WIRESHARK_VERSION_MINOR >= 6
    /* 4.6 made data sources opaque and dropped get_data_source_tvb_by_name. */
    struct data_source *src = get_data_source_by_name(pinfo, "Reassembled TCP");
    return dcomauth_tvb_bytes(src != NULL ? get_data_source_tvb(src) : NULL, len);
#else
    return dcomauth_tvb_bytes(get_data_source_tvb_by_name(pinfo, "Reassembled TCP"), len);
#endif
}

int dcomauth_tree_wants_details(proto_tree *tree, int proto)
{
    /* True when the tree is shown, or a filter, column or -e names one of proto's fields: epan
     * marks a field's protocol referenced with it. Only reads registrar data; never throws. */
    return tree != NULL && proto_field_is_referenced(tree, proto);
}

proto_item *dcomauth_add_protocol(proto_tree *tree, int proto, tvbuff_t *tvb, int ett, proto_tree **subtree)
{
    proto_item *volatile item = NULL; /* set inside TRY: volatile, so a longjmp cannot leave it stale */
    *subtree = NULL;
    GUARDED(item = proto_tree_add_item(tree, proto, tvb, 0, 0, ENC_NA));
    if (item != NULL)
        GUARDED(*subtree = proto_item_add_subtree(item, ett));
    return item;
}

proto_item *dcomauth_add_text(proto_tree *tree, int hf, tvbuff_t *tvb, const char *value)
{
    proto_item *volatile item = NULL;
    GUARDED(item = proto_tree_add_string(tree, hf, tvb, 0, 0, value));
    return item;
}

proto_item *dcomauth_add_uint(proto_tree *tree, int hf, tvbuff_t *tvb, uint32_t value)
{
    proto_item *volatile item = NULL;
    GUARDED(item = proto_tree_add_uint(tree, hf, tvb, 0, 0, value));
    return item;
}

proto_item *dcomauth_add_bool(proto_tree *tree, int hf, tvbuff_t *tvb, int value)
{
    proto_item *volatile item = NULL;
    GUARDED(item = proto_tree_add_boolean(tree, hf, tvb, 0, 0, value ? 1 : 0));
    return item;
}

proto_item *dcomauth_add_double(proto_tree *tree, int hf, tvbuff_t *tvb, double value)
{
    proto_item *volatile item = NULL;
    GUARDED(item = proto_tree_add_double(tree, hf, tvb, 0, 0, value));
    return item;
}

proto_item *dcomauth_add_subtree_label(proto_tree *tree, int hf_text, tvbuff_t *tvb, const char *label,
                                       int ett, proto_tree **subtree)
{
    proto_item *volatile item = NULL;
    *subtree = NULL;
    GUARDED(item = proto_tree_add_string_format(tree, hf_text, tvb, 0, 0, label, "%s", label));
    if (item != NULL)
        GUARDED(*subtree = proto_item_add_subtree(item, ett));
    return item;
}

void dcomauth_append_text(proto_item *item, const char *text) { GUARDED(proto_item_append_text(item, "%s", text)); }

/* Flag setters (FI_SET_FLAG on the item's field_info): they cannot throw. */
void dcomauth_set_generated(proto_item *item) { proto_item_set_generated(item); }

void dcomauth_set_hidden(proto_item *item) { proto_item_set_hidden(item); }

static void expert_without_tree(packet_info *pinfo, expert_field *ei, const char *text)
{
    /* Without an item epan adds no tree nodes, so the limit cannot strike; still guarded. */
    TRY { expert_add_info_format(pinfo, NULL, ei, "%s", text); }
    CATCH_ALL { record(EXCEPT_CODE, GET_MESSAGE); }
    ENDTRY;
}

void dcomauth_expert(packet_info *pinfo, proto_item *item, expert_field *ei, const char *text)
{
    /* After an exception the tree is off limits, but the finding still reaches the expert tap
     * (tshark -z expert, the Expert Information dialog). epan adds the entry's tree nodes before
     * it queues it to the tap, so one that threw on its nodes is raised again without them. */
    if (caught.pending) {
        expert_without_tree(pinfo, ei, text);
        return;
    }
    GUARDED(expert_add_info_format(pinfo, item, ei, "%s", text));
    if (caught.pending)
        expert_without_tree(pinfo, ei, text);
}

void dcomauth_print(const char *text)
{
    fputs(text, stdout);
    fflush(stdout);
}
