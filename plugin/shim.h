/* The C side of dcomauth: what bindgen cannot give (macros, static inlines) and every access to a
 * structure whose layout moves between Wireshark minors. Rust never reads packet_info, frame_data,
 * field_info or tcp_analysis itself; it calls these. None of them throws: what epan throws inside
 * them is caught in C (see shim.c) and re-thrown only after Rust has returned. */
#ifndef DCOMAUTH_SHIM_H
#define DCOMAUTH_SHIM_H

#include <stdint.h>

#include <epan/packet.h>
#include <epan/expert.h>

/* Creates the post-dissector handle around `rust` and registers it: a C wrapper that re-throws, once
 * `rust` has returned, the first epan exception caught during the call (the tree calls below then
 * return NULL until the next frame). */
dissector_handle_t dcomauth_register_postdissector(dissector_t rust, int proto);

/* Frame facts */
int dcomauth_visited(const packet_info *pinfo);
uint32_t dcomauth_frame_num(const packet_info *pinfo);
int64_t dcomauth_abs_time_ns(const packet_info *pinfo);
/* Nonzero when a dissector of `proto_id` ran right on top of one of `below` in this frame (walks
 * pinfo->layers; allocates nothing). */
int dcomauth_layers_has_after(const packet_info *pinfo, int proto_id, int below);

/* TCP facts: 4 or 16 address bytes per side, ports; returns the address family (4/6) or 0 when the
 * frame's addresses are not an IP/TCP pair. */
int dcomauth_tcp_endpoints(const packet_info *pinfo, uint8_t src[16], uint8_t dst[16],
                           uint16_t *src_port, uint16_t *dst_port);
/* Wireshark's tcp.stream of this frame's conversation, read from TCP's conversation data. */
int dcomauth_tcp_stream(packet_info *pinfo, int proto_tcp, uint32_t *stream);
/* Non-zero when Wireshark (4.4+) splits conversations by interface, MAC or VLAN. */
int dcomauth_conversations_deinterlaced(void);

/* Captured bytes of the frame tvb and of the "Reassembled TCP" source (NULL/0 when absent). */
const uint8_t *dcomauth_tvb_bytes(tvbuff_t *tvb, uint32_t *len);
const uint8_t *dcomauth_reassembled_tcp(packet_info *pinfo, uint32_t *len);

/* Tree items: format strings are always "%s" so usernames with '%' stay text. NULL when there is
 * no tree, or when epan threw (past gui.max_tree_items, for instance). */
/* Does this tree need our detail items? No when it is an invisible tree (tshark -Y) whose filter
 * names none of our fields: epan would fake every item, so their text need not be formatted. */
int dcomauth_tree_wants_details(proto_tree *tree, int proto);
proto_item *dcomauth_add_protocol(proto_tree *tree, int proto, tvbuff_t *tvb, int ett, proto_tree **subtree);
proto_item *dcomauth_add_text(proto_tree *tree, int hf, tvbuff_t *tvb, const char *value);
proto_item *dcomauth_add_uint(proto_tree *tree, int hf, tvbuff_t *tvb, uint32_t value);
proto_item *dcomauth_add_bool(proto_tree *tree, int hf, tvbuff_t *tvb, int value);
proto_item *dcomauth_add_double(proto_tree *tree, int hf, tvbuff_t *tvb, double value);
proto_item *dcomauth_add_subtree_label(proto_tree *tree, int hf_text, tvbuff_t *tvb, const char *label,
                                       int ett, proto_tree **subtree);
void dcomauth_append_text(proto_item *item, const char *text);
void dcomauth_set_generated(proto_item *item);
void dcomauth_set_hidden(proto_item *item);
void dcomauth_expert(packet_info *pinfo, proto_item *item, expert_field *ei, const char *text);



/* Writes to tshark's own stdout so statistics interleave correctly with its other output. */
void dcomauth_print(const char *text);
#endif
