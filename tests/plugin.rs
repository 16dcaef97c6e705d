//! The plugin as Wireshark sees it: it loads, registers its protocol, fields and expert infos,
//! and nothing in it names a symbol libwireshark lacks.
mod harness;

use harness::tshark_with_plugin;

#[test]
fn tshark_lists_the_plugin_with_our_version() {
    let plugins = tshark_with_plugin().run(&["-G", "plugins"]);
    let line = plugins.lines().find(|l| l.starts_with("libdcomauth.so")).expect("libdcomauth.so listed");
    let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
    assert_eq!(cols.get(1), Some(&env!("CARGO_PKG_VERSION")), "{line}");
    assert!(line.contains("dissector"), "{line}");
}

#[test]
fn tshark_knows_the_protocol_and_its_filter_name() {
    let protocols = tshark_with_plugin().run(&["-G", "protocols"]);
    assert!(
        protocols
            .lines()
            // Newer tshark (4.4, 4.6) appends the protocol's enabled/heuristic flags.
            .any(|l| l.split('\t').take(3).collect::<Vec<_>>()
                == ["DCOM Authentication Tracker", "DCOMAUTH", "dcomauth"]),
        "DCOMAUTH missing from -G protocols"
    );
}

#[test]
fn the_fields_and_expert_infos_users_type_are_registered() {
    let fields = tshark_with_plugin().run(&["-G", "fields"]);
    for name in ["dcomauth.identity", "dcomauth.baseline", "dcomauth.interface", "dcomauth.auth_context_id"] {
        assert!(fields.lines().any(|l| l.split('\t').nth(2) == Some(name)), "{name} not in -G fields");
    }
    // tshark 4.0 lists expert infos as FT_NONE fields of their protocol; severities are checked
    // where entries are raised (tests/seed.rs, tests/real_captures.rs).
    for name in harness::EXPERT_NAMES {
        let line =
            fields.lines().find(|l| l.split('\t').nth(2) == Some(name)).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(line.split('\t').nth(4), Some("dcomauth"), "{line}");
    }
}

#[test]
fn display_filters_on_our_names_are_accepted() {
    let capture = harness::reference_captures().join("zeek_dce_rpc_ntlm.pcapng");
    let tshark = tshark_with_plugin();
    for filter in ["dcomauth", "dcomauth.identity_change", "dcomauth.fault_after_change", "dcomauth.abort_after_change"]
    {
        let out = tshark.output(&["-r", &capture.to_string_lossy(), "-Y", filter]);
        assert!(out.status.success(), "{filter}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn a_filter_job_that_names_none_of_our_fields_still_gives_them_to_whoever_asks() {
    // tshark -Y builds an invisible tree; the plugin skips its detail items there unless a filter,
    // column or -e names one of its fields, as each of these runs does.
    let tshark = tshark_with_plugin();
    let cap = tshark.capture("winpe.pcapng", &capgen::scenarios::seed_winpe().bytes());
    let faults = tshark.rows(&cap, &[], "dcerpc.pkt_type == 3", &["frame.number", "dcomauth.identity"]);
    assert_eq!(faults.len(), 4, "{faults:?}");
    assert!(faults.iter().all(|r| r[1] == "REDMOND\\jiangyue"), "{faults:?}");
    let named = tshark.frames(&cap, "dcomauth.identity contains \"jiangyue\" && dcerpc.pkt_type == 3");
    assert_eq!(named, faults.iter().map(|r| r[0].parse::<u32>().unwrap()).collect::<Vec<_>>());
    let verbose = tshark.run(&["-r", &cap.to_string_lossy(), "-V", "-Y", "dcerpc.pkt_type == 3"]);
    assert_eq!(verbose.matches("Identity: REDMOND\\jiangyue [changed]").count(), 4, "{verbose}");
    // An expert filter still finds the entries of frames whose details were skipped.
    let severities = tshark.rows(&cap, &[], "dcomauth.fault_after_change", &["_ws.expert.severity"]);
    assert_eq!(severities.len(), 4, "{severities:?}");
}

#[test]
fn every_symbol_the_plugin_imports_resolves_at_load_time() {
    let so = harness::built_plugin();
    let path = std::ffi::CString::new(so.to_string_lossy().as_bytes()).expect("path");
    // SAFETY: loading our own library; RTLD_NOW makes a missing symbol fail here instead of in Wireshark.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        // SAFETY: dlerror returns a C string describing the failure.
        let err = unsafe { std::ffi::CStr::from_ptr(libc::dlerror()) };
        panic!("dlopen(RTLD_NOW) failed: {}", err.to_string_lossy());
    }
    for sym in [c"plugin_version", c"plugin_want_major", c"plugin_want_minor", c"plugin_register", c"plugin_describe"] {
        // SAFETY: handle is live; names are NUL-terminated.
        assert!(!unsafe { libc::dlsym(handle, sym.as_ptr()) }.is_null(), "{sym:?} not exported");
    }
}
