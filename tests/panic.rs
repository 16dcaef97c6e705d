//! A panic inside the tracker never crosses the C ABI: tshark says so once, keeps dissecting, and
//! the next association still gets its verdicts (the trigger exists in debug builds only).
mod harness;

use capgen::scenarios;
use harness::tshark_with_plugin;

#[test]
fn a_panic_in_the_tracker_is_reported_once_and_later_associations_keep_their_verdicts() {
    let cap = scenarios::tracker_panic_then_winpe();
    let tshark = tshark_with_plugin();
    let path = tshark.capture("tracker-panic.pcapng", &cap.bytes());
    for two_pass in [false, true] {
        let p = path.to_string_lossy();
        let mut args = vec!["-r", &p, "-q", "-z", "expert"];
        args.extend(harness::passes(two_pass));
        let out = tshark.output(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "tshark failed: {stderr}");
        assert_eq!(stderr.matches("dcomauth: internal error").count(), 1, "two_pass={two_pass}: {stderr}");
        assert!(stderr.contains("dcomauth test trigger"), "{stderr}");
        let got: Vec<(&str, u32)> = tshark.entries(&path, two_pass).iter().map(|(n, e)| (*n, e.frame)).collect();
        let mut want = vec![
            ("dcomauth.identity_change", cap.frame("a1_change")),
            ("dcomauth.fault_after_change", cap.frame("a1_fault_721")),
            ("dcomauth.fault_after_change", cap.frame("a1_fault_5")),
            ("dcomauth.abort_after_change", cap.frame("a1_server_fin")),
            ("dcomauth.managed_object_qi", cap.frame("a1_qi_managed")),
        ];
        want.sort_by_key(|(n, f)| (harness::EXPERT_NAMES.iter().position(|x| x == n), *f));
        assert_eq!(got, want, "two_pass={two_pass}");
    }
}
