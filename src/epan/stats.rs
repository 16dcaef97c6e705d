//! `tshark -z dcomauth,summary`: the per-association report a user pastes into a bug report,
//! printed when tshark finishes reading the capture.
use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::{Mutex, MutexGuard};

use once_cell::sync::Lazy;
use std::os::raw::{c_char, c_void};
use std::ptr::null_mut;

use wireshark_sys as ws;

use super::{c_text, dissect, guard, shim, tap_stream};

/// The tap our post-dissector's listeners attach to; it never carries per-packet data for this report.
pub const TAP_NAME: &std::ffi::CStr = c"dcomauth";

/// `tap_plugin.register_tap_listener`: makes `-z dcomauth,summary` known to tshark.
pub extern "C" fn register_tap_listeners() {
    guard((), || {
        register_report(c"DCOM Authentication Tracker", c"dcomauth,summary", Some(summary_init));
        register_table();
        super::json::register();
    })
}

/// Registers a `-z CLI` report tshark prints when it has read the capture.
pub(super) fn register_report(title: &'static CStr, cli: &'static CStr, init: ws::stat_tap_init_cb) {
    let ui = Box::leak(Box::new(ws::stat_tap_ui {
        group: ws::register_stat_group_e_REGISTER_STAT_GROUP_GENERIC,
        title: title.as_ptr(),
        cli_string: cli.as_ptr(),
        tap_init_cb: init,
        nparams: 0,
        params: null_mut(),
    }));
    // SAFETY: `ui` is leaked, so it outlives epan's reference to it.
    unsafe { ws::register_stat_tap_ui(ui, null_mut()) };
}

/// Listens on our tap for a report: nothing per packet, `draw(tapdata)` once the capture is read.
pub(super) fn listen_for_report(tapdata: *mut c_void, draw: ws::tap_draw_cb) -> ws::stat_tap_init_result {
    // SAFETY: static names and callbacks; epan hands `tapdata` back to `draw`; a failure comes back
    // as a GString we free.
    unsafe {
        let err = ws::register_tap_listener(
            TAP_NAME.as_ptr(),
            tapdata,
            std::ptr::null(),
            ws::TL_REQUIRES_NOTHING,
            None,
            Some(no_packet),
            draw,
            None,
        );
        if !err.is_null() {
            ws::g_string_free(err, 1);
            return ws::STAT_TAP_INIT_FAILED;
        }
    }
    ws::STAT_TAP_INIT_OK
}

extern "C" fn summary_init(_opt_arg: *const c_char, _userdata: *mut c_void) -> ws::stat_tap_init_result {
    guard(ws::STAT_TAP_INIT_FAILED, || listen_for_report(null_mut(), Some(summary_draw)))
}

unsafe extern "C" fn no_packet(
    _tapdata: *mut c_void,
    _pinfo: *mut ws::packet_info,
    _edt: *mut ws::epan_dissect_t,
    _data: *const c_void,
    _flags: ws::tap_flags_t,
) -> ws::tap_packet_status {
    ws::tap_packet_status_TAP_PACKET_DONT_REDRAW
}

extern "C" fn summary_draw(_tapdata: *mut c_void) {
    guard((), || {
        let text = dissect::with_session(|s| s.tracker().render_summary());
        let rule = "=".repeat(100);
        let out = format!("\n{rule}\nDCOM Authentication Tracker: associations\n{rule}\n{text}{rule}\n");
        let out = c_text(&out);
        // SAFETY: NUL-terminated text; the shim writes it to stdout.
        unsafe { shim::dcomauth_print(out.as_ptr()) };
    })
}

const TABLE_NAME: &std::ffi::CStr = c"DCOM/DCE-RPC associations";

/// Columns of the Statistics table; `row_cells` fills them in this order.
const COLUMNS: [(&std::ffi::CStr, ws::stat_tap_table_item_enum, ws::tap_alignment_type); 8] = [
    (c"Stream", ws::stat_tap_table_item_enum_TABLE_ITEM_UINT, ws::tap_alignment_type_TAP_ALIGN_RIGHT),
    (c"Client", ws::stat_tap_table_item_enum_TABLE_ITEM_STRING, ws::tap_alignment_type_TAP_ALIGN_LEFT),
    (c"Server", ws::stat_tap_table_item_enum_TABLE_ITEM_STRING, ws::tap_alignment_type_TAP_ALIGN_LEFT),
    (c"Interfaces", ws::stat_tap_table_item_enum_TABLE_ITEM_STRING, ws::tap_alignment_type_TAP_ALIGN_LEFT),
    (c"Identities (frame)", ws::stat_tap_table_item_enum_TABLE_ITEM_STRING, ws::tap_alignment_type_TAP_ALIGN_LEFT),
    (c"Changes", ws::stat_tap_table_item_enum_TABLE_ITEM_UINT, ws::tap_alignment_type_TAP_ALIGN_RIGHT),
    (c"Faults", ws::stat_tap_table_item_enum_TABLE_ITEM_UINT, ws::tap_alignment_type_TAP_ALIGN_RIGHT),
    (c"Ended", ws::stat_tap_table_item_enum_TABLE_ITEM_STRING, ws::tap_alignment_type_TAP_ALIGN_LEFT),
];

/// Registers the Statistics-menu table (also `tshark -z dcomauth,table`).
pub fn register_table() {
    let fields: Vec<ws::stat_tap_table_item> = COLUMNS
        .iter()
        .map(|(name, kind, align)| ws::stat_tap_table_item {
            type_: *kind,
            align: *align,
            column_name: name.as_ptr(),
            // tshark prints each cell with this as its printf format.
            field_format: if *kind == ws::stat_tap_table_item_enum_TABLE_ITEM_UINT { c"%u" } else { c"%s" }.as_ptr(),
        })
        .collect();
    let fields = Box::leak(fields.into_boxed_slice());
    let ui = Box::leak(Box::new(ws::stat_tap_table_ui {
        // The group Wireshark's Qt UI lists at the bottom of the Statistics menu.
        group: ws::register_stat_group_e_REGISTER_PACKET_STAT_GROUP_UNSORTED,
        title: c"DCOM Authentication Tracker".as_ptr(),
        tap_name: TAP_NAME.as_ptr(),
        cli_string: c"dcomauth,table".as_ptr(),
        stat_tap_init_cb: Some(table_init),
        packet_func: Some(table_packet),
        stat_tap_reset_table_cb: Some(table_reset),
        stat_tap_free_table_item_cb: Some(table_free_item),
        stat_filter_check_cb: None,
        nfields: fields.len(),
        fields: fields.as_mut_ptr(),
        nparams: 0,
        params: null_mut(),
        tables: null_mut(),
        refcount: 0,
    }));
    // SAFETY: `ui` and its columns are leaked: epan keeps them for the process.
    unsafe { ws::register_stat_tap_table_ui(ui) };
}

unsafe extern "C" fn table_init(ui: *mut ws::stat_tap_table_ui) {
    guard((), || {
        // SAFETY: `ui` is the registered table UI epan hands back; names are static.
        unsafe {
            if ws::stat_tap_find_table(ui, TABLE_NAME.as_ptr()).is_null() {
                let table = ws::stat_tap_init_table(TABLE_NAME.as_ptr(), COLUMNS.len() as i32, 0, std::ptr::null());
                ws::stat_tap_add_table(ui, table);
            }
        }
    })
}

/// One queued verdict: refresh the row of its association from the tracker's summary.
unsafe extern "C" fn table_packet(
    tapdata: *mut c_void,
    _pinfo: *mut ws::packet_info,
    _edt: *mut ws::epan_dissect_t,
    data: *const c_void,
    _flags: ws::tap_flags_t,
) -> ws::tap_packet_status {
    guard(ws::tap_packet_status_TAP_PACKET_DONT_REDRAW, || {
        let Some(stream) = tap_stream(data) else { return ws::tap_packet_status_TAP_PACKET_DONT_REDRAW };
        // SAFETY: epan passes the stat_data_t it registered.
        let table = unsafe {
            let stat = tapdata as *mut ws::stat_data_t;
            if stat.is_null() {
                return ws::tap_packet_status_TAP_PACKET_DONT_REDRAW;
            }
            ws::stat_tap_find_table((*stat).stat_tap_data, TABLE_NAME.as_ptr())
        };
        if table.is_null() {
            return ws::tap_packet_status_TAP_PACKET_DONT_REDRAW;
        }
        // The row is rebuilt only when what it shows changed: most tapped frames change nothing.
        let row = dissect::with_session(|s| {
            let a = s.tracker().association(stream)?;
            let key = a.row_key();
            let (index, changed) = row_of(table, stream, key);
            changed.then(|| (index, a.table_row()))
        });
        let Some((index, row)) = row else { return ws::tap_packet_status_TAP_PACKET_DONT_REDRAW };
        // SAFETY: `table` belongs to this UI; set_row frees what the row held before.
        unsafe { set_row(table, index, &row) };
        ws::tap_packet_status_TAP_PACKET_REDRAW
    })
}

/// Per table, the row of each stream and the `row_key` it was last built from: rows in the order
/// associations first reach the table (a display filter may skip some). A map, so a tapped frame
/// finds its row without a scan.
type Rows = HashMap<usize, HashMap<u32, (u32, u64)>>;
static ROWS: Lazy<Mutex<Rows>> = Lazy::new(|| Mutex::new(HashMap::new()));

fn rows() -> MutexGuard<'static, Rows> {
    ROWS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The row of `stream` in `table`, and whether it must be (re)built for `key`.
fn row_of(table: *mut ws::stat_tap_table, stream: u32, key: u64) -> (u32, bool) {
    let mut rows = rows();
    let streams = rows.entry(table as usize).or_default();
    let next = streams.len() as u32;
    match streams.entry(stream) {
        std::collections::hash_map::Entry::Occupied(mut e) => {
            let (index, old) = *e.get();
            e.insert((index, key));
            (index, old != key)
        }
        std::collections::hash_map::Entry::Vacant(e) => (e.insert((next, key)).0, true),
    }
}

fn uint_item(v: u32) -> ws::stat_tap_table_item_type {
    let mut item =
        ws::stat_tap_table_item_type { type_: ws::stat_tap_table_item_enum_TABLE_ITEM_UINT, ..Default::default() };
    item.value.uint_value = v;
    item
}

fn string_item(s: &str) -> ws::stat_tap_table_item_type {
    let text = c_text(s);
    let mut item =
        ws::stat_tap_table_item_type { type_: ws::stat_tap_table_item_enum_TABLE_ITEM_STRING, ..Default::default() };
    // SAFETY: g_strdup copies the text; the table's free callback releases it.
    item.value.string_value = unsafe { ws::g_strdup(text.as_ptr()) };
    item
}

/// # Safety
/// `table` must be a live table with `COLUMNS.len()` fields.
unsafe fn set_row(table: *mut ws::stat_tap_table, index: u32, row: &crate::track::TableRow) {
    let cells = [
        uint_item(row.stream),
        string_item(&row.client),
        string_item(&row.server),
        string_item(&row.interfaces),
        string_item(&row.identities),
        uint_item(row.changes),
        uint_item(row.faults),
        string_item(&row.ended),
    ];
    // SAFETY: per the function contract; old strings of an existing row are freed before the copy.
    unsafe {
        if index < (*table).num_elements {
            for col in 0..cells.len() as u32 {
                free_item(ws::stat_tap_get_field_data(table, index, col));
            }
        }
        ws::stat_tap_init_table_row(table, index, cells.len() as u32, cells.as_ptr());
    }
}

/// # Safety
/// `item` is NULL or a table cell whose string, if any, came from `g_strdup`.
unsafe fn free_item(item: *mut ws::stat_tap_table_item_type) {
    // SAFETY: per the function contract.
    unsafe {
        if !item.is_null() && (*item).type_ == ws::stat_tap_table_item_enum_TABLE_ITEM_STRING {
            ws::g_free((*item).value.string_value as *mut c_void);
            (*item).value.string_value = std::ptr::null();
        }
    }
}

/// Empties the table before a retap, so a filtered retap lists only its own rows (no blank ones).
/// The row arrays are parked, never freed: another open dialog of this table may still point into
/// them until its own reset, and a handful of small leaked arrays per reset is the price.
unsafe extern "C" fn table_reset(table: *mut ws::stat_tap_table) {
    guard((), || {
        rows().remove(&(table as usize));
        // SAFETY: epan hands us one of our tables; every string cell holds a g_strdup of ours.
        unsafe {
            if table.is_null() {
                return;
            }
            for row in 0..(*table).num_elements {
                for col in 0..(*table).num_fields {
                    let item = ws::stat_tap_get_field_data(table, row, col);
                    free_item(item);
                    if !item.is_null() {
                        (*item).type_ = ws::stat_tap_table_item_enum_TABLE_ITEM_NONE;
                    }
                }
            }
            // stat_tap_init_table_row allocates fresh rows from here on; the old ones stay valid.
            (*table).num_elements = 0;
        }
    })
}

unsafe extern "C" fn table_free_item(
    _table: *mut ws::stat_tap_table,
    _row: u32,
    _column: u32,
    field: *mut ws::stat_tap_table_item_type,
) {
    // SAFETY: epan frees a cell of ours.
    guard((), || unsafe { free_item(field) })
}
