//! Preferences reach the tracker through tshark's `-o`, and tshark lists them.
mod harness;

use std::path::{Path, PathBuf};

use harness::{tshark_with_plugin, Tshark};

fn capture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Our expert messages in `capture` with extra tshark options.
fn entries(tshark: &Tshark, capture: &Path, opts: &[&str]) -> Vec<String> {
    let path = capture.to_string_lossy();
    let mut args =
        vec!["-r", &path, "-Y", "dcomauth", "-T", "fields", "-E", "aggregator=|", "-e", "_ws.expert.message"];
    for o in opts {
        args.extend(["-o", o]);
    }
    let text = tshark.run(&args);
    let mut names: Vec<String> =
        text.lines().flat_map(|l| l.split('|')).filter(|m| !m.is_empty()).map(str::to_owned).collect();
    // TCP's own entries on the same frames.
    names.retain(|m| !m.starts_with("Connection") && !m.starts_with("This frame"));
    names
}

#[test]
fn tshark_lists_the_preferences_with_their_defaults() {
    let prefs = tshark_with_plugin().run(&["-G", "defaultprefs"]);
    for line in [
        "#dcomauth.compare: Account (case, UPN and DNS domain folded)",
        "#dcomauth.abort_window_ms: 5000",
        "#dcomauth.ignore_machine_accounts: FALSE",
        "#dcomauth.ignore_anonymous: FALSE",
        "#dcomauth.max_associations: 65536",
        "#dcomauth.max_calls: 4096",
    ] {
        assert!(prefs.lines().any(|l| l == line), "{line} missing from -G defaultprefs");
    }
}

#[test]
fn the_abort_window_decides_whether_a_close_is_blamed_on_the_change() {
    let tshark = tshark_with_plugin();
    let winpe = capture("tests/captures/seed-winpe.pcapng");
    let blamed = |opts: &[&str]| {
        entries(&tshark, &winpe, opts)
            .iter()
            .filter(|m| m.starts_with("Server closed the association"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let default = blamed(&[]);
    assert_eq!(default.len(), 2);
    assert!(default.iter().all(|m| m.contains("after the identity change")), "{default:?}");
    let narrow = blamed(&["dcomauth.abort_window_ms:0"]);
    assert_eq!(narrow.len(), 2);
    assert!(narrow.iter().all(|m| m.contains("after a fault with no identity change")), "{narrow:?}");
}

#[test]
fn the_comparison_rule_is_a_preference() {
    let tshark = tshark_with_plugin();
    let empty_domain = capture("tests/live/captures/same_user_empty_domain.pcapng");
    let account = entries(&tshark, &empty_domain, &[]);
    assert!(account.iter().any(|m| m.starts_with("Possible identity change")), "{account:?}");
    assert!(entries(&tshark, &empty_domain, &["dcomauth.compare:user"]).is_empty());
    let exact = entries(&tshark, &empty_domain, &["dcomauth.compare:exact"]);
    assert!(exact.iter().any(|m| m.starts_with("Identity changed inside the association")), "{exact:?}");
}

/// The severity of any entry is Wireshark's own preference (the Expert Info severity table).
#[test]
fn the_severity_of_identity_change_can_be_raised_or_lowered() {
    let tshark = tshark_with_plugin();
    let winpe = capture("tests/captures/seed-winpe.pcapng");
    let path = winpe.to_string_lossy();
    let severities = |opts: &[&str]| {
        let mut args = vec!["-r", &path, "-Y", "dcomauth.identity_change", "-T", "fields", "-e", "_ws.expert.severity"];
        args.extend(opts);
        tshark.run(&args).lines().map(str::to_owned).collect::<Vec<_>>()
    };
    let warn = harness::SEVERITY_WARN.to_string();
    let error = harness::SEVERITY_ERROR.to_string();
    assert_eq!(severities(&[]), [warn.clone(), warn]);
    let raised = severities(&["-o", "uat:expert_severity:\"dcomauth.identity_change\",\"Error\""]);
    assert_eq!(raised, [error.clone(), error]);
}

#[test]
fn ignoring_anonymous_logons_and_capping_calls_take_effect() {
    let tshark = tshark_with_plugin();
    let anon = tshark.capture("prefs-anonymous.pcapng", &capgen::scenarios::anonymous_logon().bytes());
    let changes =
        |opts: &[&str]| entries(&tshark, &anon, opts).into_iter().filter(|m| m.starts_with("Identity changed")).count();
    assert_eq!(changes(&[]), 1);
    assert_eq!(changes(&["dcomauth.ignore_anonymous:TRUE"]), 0);
    let winpe = capture("tests/captures/seed-winpe.pcapng");
    let limits = |opts: &[&str]| {
        entries(&tshark, &winpe, opts).into_iter().filter(|m| m.starts_with("State limit reached")).collect::<Vec<_>>()
    };
    assert!(limits(&[]).is_empty());
    let capped = limits(&["dcomauth.max_calls:2"]);
    assert_eq!(capped.len(), 1, "{capped:?}");
    assert!(capped[0].contains("more than 2 calls in one association"), "{capped:?}");
}
