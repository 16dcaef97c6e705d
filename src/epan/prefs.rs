//! The protocol's preferences (Edit → Preferences → Protocols → DCOMAUTH, `tshark -o dcomauth.…`).
//! epan writes the values into these statics; `config` reads them when a pass starts.
use std::os::raw::{c_int, c_uint};
use std::ptr::{addr_of_mut, null};

use wireshark_sys as ws;

use crate::track::{Comparison, Config, DEFAULT_ABORT_WINDOW_MS};

static mut COMPARE: c_int = 0;
static mut ABORT_WINDOW_MS: c_uint = DEFAULT_ABORT_WINDOW_MS;
static mut IGNORE_MACHINE: ws::pref_bool = ws::PREF_FALSE;
static mut IGNORE_ANONYMOUS: ws::pref_bool = ws::PREF_FALSE;
static mut MAX_ASSOCIATIONS: c_uint = 65536;
static mut MAX_CALLS: c_uint = 4096;

const COMPARISONS: [(Comparison, &std::ffi::CStr, &std::ffi::CStr); 3] = [
    (Comparison::Account, c"account", c"Account (case, UPN and DNS domain folded)"),
    (Comparison::UserName, c"user", c"User name only"),
    (Comparison::Exact, c"exact", c"Domain and user exactly as sent"),
];

/// The settings as the user left them.
pub fn config() -> Config {
    // SAFETY: epan writes these only while applying preferences, on the thread that dissects.
    let (compare, window, machine, anonymous, assocs, calls) =
        unsafe { (COMPARE, ABORT_WINDOW_MS, IGNORE_MACHINE, IGNORE_ANONYMOUS, MAX_ASSOCIATIONS, MAX_CALLS) };
    Config {
        comparison: COMPARISONS.get(compare as usize).map_or(Comparison::Account, |c| c.0),
        abort_window_ns: i64::from(window) * 1_000_000,
        ignore_machine_accounts: machine != ws::PREF_FALSE,
        ignore_anonymous: anonymous != ws::PREF_FALSE,
        max_associations: (assocs as usize).max(1),
        max_calls: (calls as usize).max(1),
    }
}

/// Registers the preferences of protocol `proto`.
pub fn register(proto: c_int) {
    let values: Vec<ws::enum_val_t> = COMPARISONS
        .iter()
        .enumerate()
        .map(|(i, (_, name, description))| ws::enum_val_t {
            name: name.as_ptr(),
            description: description.as_ptr(),
            value: i as c_int,
        })
        .chain(std::iter::once(ws::enum_val_t { name: null(), description: null(), value: 0 }))
        .collect();
    // epan keeps the table for the life of the process.
    let values: &'static [ws::enum_val_t] = Box::leak(values.into_boxed_slice());
    // SAFETY: registration on the main thread; names are static; the variables are statics epan
    // writes when preferences are applied.
    unsafe {
        let module = ws::prefs_register_protocol(proto, None);
        ws::prefs_register_enum_preference(
            module,
            c"compare".as_ptr(),
            c"Compare identities by".as_ptr(),
            c"How two NTLMSSP identities are judged the same account (see the README's table)".as_ptr(),
            addr_of_mut!(COMPARE),
            values.as_ptr(),
            ws::PREF_FALSE,
        );
        ws::prefs_register_uint_preference(
            module,
            c"abort_window_ms".as_ptr(),
            c"Abort window (ms)".as_ptr(),
            c"A server close is blamed on an identity change only this long after its last fault".as_ptr(),
            10,
            addr_of_mut!(ABORT_WINDOW_MS),
        );
        ws::prefs_register_bool_preference(
            module,
            c"ignore_machine_accounts".as_ptr(),
            c"Ignore machine accounts".as_ptr(),
            c"Computer accounts (HOST$) never count as a change nor become a baseline".as_ptr(),
            addr_of_mut!(IGNORE_MACHINE),
        );
        ws::prefs_register_bool_preference(
            module,
            c"ignore_anonymous".as_ptr(),
            c"Ignore anonymous logons".as_ptr(),
            c"The anonymous logon never counts as a change nor becomes a baseline".as_ptr(),
            addr_of_mut!(IGNORE_ANONYMOUS),
        );
        ws::prefs_register_uint_preference(
            module,
            c"max_associations".as_ptr(),
            c"Associations kept".as_ptr(),
            c"Associations remembered for the summary and history; the oldest closed one goes first".as_ptr(),
            10,
            addr_of_mut!(MAX_ASSOCIATIONS),
        );
        ws::prefs_register_uint_preference(
            module,
            c"max_calls".as_ptr(),
            c"Calls kept per association".as_ptr(),
            c"Calls remembered per association to match their answers; the oldest go first".as_ptr(),
            10,
            addr_of_mut!(MAX_CALLS),
        );
    }
}
