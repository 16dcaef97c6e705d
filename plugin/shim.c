/* See shim.h. Compiled by the root build.rs against the installed headers, so every field access
 * below follows the layout of the Wireshark the plugin is built for. */
#include "shim.h"

#include <stdio.h>
#include <string.h>

#include <ws_version.h>
#include <epan/conversation.h>
#include <epan/dissectors/packet-tcp.h>
#include <epan/proto.h>
#include <wsutil/wmem/wmem_list.h>

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
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);
    if (conv == NULL)
        return 0;
    struct tcp_analysis *tcpd = (struct tcp_analysis *)conversation_get_proto_data(conv, proto_tcp);
    if (tcpd == NULL)
        return 0;
    *stream = tcpd->stream;
    return 1;
}

const uint8_t *dcomauth_tvb_bytes(tvbuff_t *tvb, uint32_t *len)
{
    *len = 0;
    if (tvb == NULL)
        return NULL;
    guint n = tvb_captured_length(tvb);
    if (n == 0)
        return NULL;
    *len = n;
    /* Within the captured length tvb_get_ptr cannot throw. */
    return tvb_get_ptr(tvb, 0, (gint)n);
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

proto_item *dcomauth_add_text(proto_tree *tree, int hf, tvbuff_t *tvb, const char *value)
{
    return proto_tree_add_string(tree, hf, tvb, 0, 0, value);
}

proto_item *dcomauth_add_uint(proto_tree *tree, int hf, tvbuff_t *tvb, uint32_t value)
{
    return proto_tree_add_uint(tree, hf, tvb, 0, 0, value);
}

proto_item *dcomauth_add_bool(proto_tree *tree, int hf, tvbuff_t *tvb, int value)
{
    return proto_tree_add_boolean(tree, hf, tvb, 0, 0, value ? 1 : 0);
}

proto_item *dcomauth_add_double(proto_tree *tree, int hf, tvbuff_t *tvb, double value)
{
    return proto_tree_add_double(tree, hf, tvb, 0, 0, value);
}

proto_item *dcomauth_add_subtree_label(proto_tree *tree, int hf_text, tvbuff_t *tvb, const char *label,
                                       int ett, proto_tree **subtree)
{
    proto_item *item = proto_tree_add_string_format(tree, hf_text, tvb, 0, 0, label, "%s", label);
    *subtree = proto_item_add_subtree(item, ett);
    return item;
}

void dcomauth_append_text(proto_item *item, const char *text) { proto_item_append_text(item, "%s", text); }

void dcomauth_set_generated(proto_item *item) { proto_item_set_generated(item); }

void dcomauth_set_hidden(proto_item *item) { proto_item_set_hidden(item); }

void dcomauth_expert(packet_info *pinfo, proto_item *item, expert_field *ei, const char *text)
{
    expert_add_info_format(pinfo, item, ei, "%s", text);
}

void dcomauth_print(const char *text)
{
    fputs(text, stdout);
    fflush(stdout);
}
