//! Declarations of `plugin/shim.c`: the macros, static inlines and layout-dependent reads.
use std::os::raw::{c_char, c_int};

use wireshark_sys as ws;
use wireshark_sys::{expert_field, packet_info, proto_item, proto_tree, tvbuff_t};

extern "C" {
    pub fn dcomauth_register_postdissector(rust: ws::dissector_t, proto: c_int) -> ws::dissector_handle_t;
    pub fn dcomauth_tree_wants_details(tree: *mut proto_tree, proto: c_int) -> c_int;
    pub fn dcomauth_add_protocol(
        tree: *mut proto_tree,
        proto: c_int,
        tvb: *mut tvbuff_t,
        ett: c_int,
        subtree: *mut *mut proto_tree,
    ) -> *mut proto_item;
    pub fn dcomauth_visited(pinfo: *const packet_info) -> c_int;
    pub fn dcomauth_frame_num(pinfo: *const packet_info) -> u32;
    pub fn dcomauth_abs_time_ns(pinfo: *const packet_info) -> i64;
    pub fn dcomauth_layers_has_after(pinfo: *const packet_info, proto_id: c_int, below: c_int) -> c_int;
    pub fn dcomauth_tcp_endpoints(
        pinfo: *const packet_info,
        src: *mut u8,
        dst: *mut u8,
        src_port: *mut u16,
        dst_port: *mut u16,
    ) -> c_int;
    pub fn dcomauth_tcp_stream(pinfo: *mut packet_info, proto_tcp: c_int, stream: *mut u32) -> c_int;
    pub fn dcomauth_conversations_deinterlaced() -> c_int;
    pub fn dcomauth_tvb_bytes(tvb: *mut tvbuff_t, len: *mut u32) -> *const u8;
    pub fn dcomauth_reassembled_tcp(pinfo: *mut packet_info, len: *mut u32) -> *const u8;
    pub fn dcomauth_add_text(
        tree: *mut proto_tree,
        hf: c_int,
        tvb: *mut tvbuff_t,
        value: *const c_char,
    ) -> *mut proto_item;
    pub fn dcomauth_add_uint(tree: *mut proto_tree, hf: c_int, tvb: *mut tvbuff_t, value: u32) -> *mut proto_item;
    pub fn dcomauth_add_bool(tree: *mut proto_tree, hf: c_int, tvb: *mut tvbuff_t, value: c_int) -> *mut proto_item;
    pub fn dcomauth_add_double(tree: *mut proto_tree, hf: c_int, tvb: *mut tvbuff_t, value: f64) -> *mut proto_item;
    pub fn dcomauth_add_subtree_label(
        tree: *mut proto_tree,
        hf_text: c_int,
        tvb: *mut tvbuff_t,
        label: *const c_char,
        ett: c_int,
        subtree: *mut *mut proto_tree,
    ) -> *mut proto_item;
    pub fn dcomauth_append_text(item: *mut proto_item, text: *const c_char);
    pub fn dcomauth_set_generated(item: *mut proto_item);
    pub fn dcomauth_set_hidden(item: *mut proto_item);
    pub fn dcomauth_expert(pinfo: *mut packet_info, item: *mut proto_item, ei: *mut expert_field, text: *const c_char);
}

extern "C" {
    pub fn dcomauth_print(text: *const c_char);
}
