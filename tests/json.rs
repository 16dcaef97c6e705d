//! `tshark -q -z dcomauth,json`: the seed captures' lines pinned in `tests/golden/*.jsonl`; every
//! line of the seed, generated and reference captures valid against
//! `docs/schema/associations.schema.json` (Python's `jsonschema`); the lines agree with the
//! expert entries, the `-z dcomauth,table` rows and the facts `ORIGINS.tsv` lists; hostile user
//! names and capture labels come back byte for byte.
mod harness;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use capgen::net::{Capture, Dir};
use capgen::ntlmssp::Credentials;
use capgen::rpc::Drep;
use capgen::scenarios::{self, administrator, client_flow, play, steady_association, Assoc};
use harness::pinned::{Pinned, BLESS};
use harness::{reference_captures, tshark_with_plugin, TempDir, Tshark};
use serde_json::Value;

const SEEDS: [&str; 3] = ["seed-winpe", "seed-fullos", "seed-hotfix"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_path() -> PathBuf {
    root().join("docs/schema/associations.schema.json")
}

/// The JSON lines of `capture`, labelled `label` when given.
fn json_lines(tshark: &Tshark, capture: &Path, label: Option<&str>, extra: &[&str]) -> String {
    let path = capture.to_string_lossy();
    let z = label.map_or_else(|| "dcomauth,json".to_string(), |l| format!("dcomauth,json,capture={l}"));
    let mut args = vec!["-r", &*path, "-q", "-z", &z];
    args.extend(extra);
    tshark.run_on(capture, &args)
}

fn parse(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

fn reference_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(reference_captures())
        .expect("reference captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap"))
        .collect();
    files.sort();
    files
}

fn seed_file(name: &str) -> PathBuf {
    root().join(format!("tests/captures/{name}.pcapng"))
}

#[test]
fn seed_captures_json_is_pinned_and_the_same_in_two_passes() {
    let tshark = tshark_with_plugin();
    let mut pinned = Pinned::from_env(BLESS);
    for name in SEEDS {
        let capture = seed_file(name);
        let label = format!("{name}.pcapng");
        let one = json_lines(&tshark, &capture, Some(&label), &[]);
        let two = json_lines(&tshark, &capture, Some(&label), &["-2"]);
        assert_eq!(one, two, "{name}: one pass and -2 differ");
        assert!(!one.is_empty(), "{name}: no associations");
        for v in parse(&one) {
            assert_eq!(v["capture"], label.as_str());
        }
        pinned.text(&root().join(format!("tests/golden/{name}.jsonl")), &one);
    }
    pinned.finish();
}

/// What the case study says of the WinPE capture, read from the JSON alone.
#[test]
fn winpe_json_has_the_changes_faults_and_aborts_of_the_case_study() {
    let tshark = tshark_with_plugin();
    let cap = scenarios::seed_winpe();
    let path = tshark.capture("winpe.pcapng", &cap.bytes());
    let lines = parse(&json_lines(&tshark, &path, None, &[]));
    assert_eq!(lines.len(), 3, "three associations");
    assert!(lines.iter().all(|l| l.get("capture").is_none()), "no label asked for, none written");
    let changes: Vec<(u64, String)> = lines
        .iter()
        .flat_map(|l| l["changes"].as_array().unwrap().clone())
        .map(|c| (c["frame"].as_u64().unwrap(), c["to"]["name"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        changes,
        vec![
            (u64::from(cap.frame("a1_change")), "REDMOND\\jiangyue".to_owned()),
            (u64::from(cap.frame("a2_change")), "REDMOND\\jiangyue".to_owned()),
        ]
    );
    let a1 = &lines[0];
    assert_eq!(a1["baseline"]["name"], "\\administrator");
    assert_eq!(a1["baseline"]["domainname"], "");
    assert_eq!(a1["id.orig_h"], "10.0.0.10");
    assert_eq!(a1["id.resp_h"], "10.0.0.20");
    assert_eq!(a1["id.resp_p"], 49157);
    let fault = a1["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["frame"] == cap.frame("a1_fault_721"))
        .expect("the 0x721 fault")
        .clone();
    assert_eq!(fault["status"], 0x721);
    assert_eq!(fault["status_name"], "nca_s_fault_sec_pkg_error");
    assert_eq!(fault["hresult"], "0x80070721");
    assert_eq!(fault["call"], "IRemUnknown2::RemQueryInterface(IManagedObject)");
    assert_eq!(fault["call_frame"], cap.frame("a1_qi_managed"));
    assert_eq!(fault["identity"]["name"], "REDMOND\\jiangyue");
    assert_eq!(fault["changed"], true);
    assert_eq!(fault["change"], "changed");
    let ended = &a1["ended"];
    assert_eq!((ended["by"].as_str(), ended["close"].as_str()), (Some("server"), Some("FIN")));
    assert_eq!(ended["frame"], cap.frame("a1_server_fin"));
    assert_eq!(a1["abort"]["expert"], "dcomauth.abort_after_change");
    assert_eq!(a1["abort"]["identity"]["name"], "REDMOND\\jiangyue");
    assert_eq!(a1["abort"]["change_frame"], cap.frame("a1_change"));
    // since_change_ms is the FIN's time minus the change's, to the microsecond.
    let us = cap.frame_time_us(cap.frame("a1_server_fin")) - cap.frame_time_us(cap.frame("a1_change"));
    let since = a1["abort"]["since_change_ms"].as_f64().unwrap();
    assert!((since - us as f64 / 1000.0).abs() < 0.0005, "since_change_ms {since}, expected {us} us");
    assert_eq!(ended["since_change_ms"], a1["abort"]["since_change_ms"]);
    // The first frame's time, to the microsecond.
    let first = cap.frame_time_us(a1["first_frame"].as_u64().unwrap() as u32) as f64 / 1e6;
    assert!((a1["ts"].as_f64().unwrap() - first).abs() < 1e-6);
    // The third association is the hotfixed-looking one: no change, a clean close.
    assert!(lines[2]["changes"].as_array().unwrap().is_empty());
    // Its first identity differs from nothing; its history counts the two before it.
    assert_eq!(lines[2]["history"]["earlier"], 2);
    assert_eq!(lines[2]["history"]["with_change"], 2);
    assert_eq!(lines[2]["history"]["with_abort"], 2);
}

/// Every finding in the JSON is an expert entry tshark shows at that frame, and every entry of
/// ours appears in exactly one association's findings; the table rows have the same counts.
fn assert_agrees_with_entries_and_table(tshark: &Tshark, capture: &Path) -> usize {
    let path = capture.to_string_lossy();
    let all = tshark
        .run_on(capture, &["-r", &path, "-q", "-z", "dcomauth,json", "-z", "dcomauth,summary", "-z", "dcomauth,table"]);
    let json: String = all.lines().filter(|l| l.starts_with('{')).map(|l| format!("{l}\n")).collect();
    let lines = &parse(&json)[..];
    let (summary, table) = (&all, &all);
    let name = capture.display();
    let mut from_json: Vec<(u32, String, String)> = Vec::new();
    for l in lines {
        for f in l["findings"].as_array().unwrap() {
            from_json.push((
                f["frame"].as_u64().unwrap() as u32,
                f["expert"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            ));
        }
    }
    from_json.sort();
    // The expert name is the one the message is filed under.
    for (frame, n, m) in &from_json {
        assert!(harness::is_ours(n, m), "{name}: frame {frame}: {m:?} is not a {n} message");
    }
    // The full messages (_ws.expert.message is never truncated) are exactly the JSON's.
    let filter = harness::EXPERT_NAMES.join(" || ");
    let mut from_tshark: Vec<(u32, String)> = Vec::new();
    for line in tshark.field_lines(capture, &[], '\u{1f}', &filter, &["frame.number", "_ws.expert.message"]) {
        let (frame, messages) = line.split_once('\t').unwrap_or((&line, ""));
        for m in messages.split('\u{1f}') {
            if harness::EXPERT_NAMES.iter().any(|n| harness::is_ours(n, m)) {
                from_tshark.push((frame.parse().unwrap(), m.to_owned()));
            }
        }
    }
    from_tshark.sort();
    let json_messages: Vec<(u32, String)> = from_json.iter().map(|(f, _, m)| (*f, m.clone())).collect();
    assert_eq!(json_messages, from_tshark, "{name}: findings in JSON vs expert messages");

    // Table rows: "stream |client |server |interfaces |identities |changes |faults |ended |".
    let rows: Vec<Vec<String>> = table
        .lines()
        .map(|r| r.split('|').map(|c| c.trim().to_owned()).collect::<Vec<_>>())
        .filter(|c| c.len() == 9 && c[0].parse::<u32>().is_ok())
        .collect();
    // The table lists the associations that queued tap data (authenticated, or closed); the summary
    // lists them all, with their frames.
    let heads: Vec<String> = summary
        .lines()
        .filter(|l| l.starts_with("Association "))
        .map(|l| l.split_once(": ").unwrap().1.to_owned())
        .collect();
    assert_eq!(heads.len(), lines.len(), "{name}: summary associations vs JSON lines:\n{summary}");
    let mut table_rows_matched = 0;
    for l in lines {
        let endpoint = |h: &str, p: &str| {
            let host = l[h].as_str().unwrap();
            let host = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
            format!("{host}:{}", l[p])
        };
        let changes = l["changes"].as_array().unwrap().len() as u64 + l["changes_dropped"].as_u64().unwrap();
        let ended = match l["ended"]["by"].as_str() {
            Some(by) => format!("{by} {} in frame {}", l["ended"]["close"].as_str().unwrap(), l["ended"]["frame"]),
            None => "open at capture end".to_owned(),
        };
        let expected = vec![
            l["tcp_stream"].to_string(),
            endpoint("id.orig_h", "id.orig_p"),
            endpoint("id.resp_h", "id.resp_p"),
            changes.to_string(),
            l["fault_count"].to_string(),
            ended,
        ];
        let head = format!(
            "TCP stream {}, client {} -> server {}, frames {}-{}",
            l["tcp_stream"], expected[1], expected[2], l["first_frame"], l["last_frame"]
        );
        assert!(heads.contains(&head), "{name}: no summary association {head:?} in\n{summary}");
        let Some(row) = rows.iter().find(|r| r[0] == expected[0]) else { continue };
        table_rows_matched += 1;
        let cells =
            vec![row[0].clone(), row[1].clone(), row[2].clone(), row[5].clone(), row[6].clone(), row[7].clone()];
        assert_eq!(cells, expected, "{name}: table row vs JSON");
    }
    assert_eq!(table_rows_matched, rows.len(), "{name}: table rows without a JSON line:\n{table}");
    lines.len()
}

#[test]
fn json_agrees_with_expert_entries_and_the_table() {
    let tshark = tshark_with_plugin();
    let mut files: Vec<PathBuf> = SEEDS.iter().map(|s| seed_file(s)).collect();
    for (name, build) in scenarios::all() {
        files.push(tshark.capture(&format!("{name}.pcapng"), &build().bytes()));
    }
    files.extend(reference_files());
    let mut total = 0;
    for capture in &files {
        total += assert_agrees_with_entries_and_table(&tshark, capture);
    }
    assert!(total > 40, "only {total} associations over {} captures", files.len());
}

/// Faults and server-first closes of the reference captures, as `ORIGINS.tsv` lists them from
/// plain tshark, are the JSON's.
#[test]
fn reference_json_matches_origins_faults_and_server_closes() {
    let tshark = tshark_with_plugin();
    let text = fs::read_to_string(reference_captures().join("ORIGINS.tsv")).expect("ORIGINS.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (file, faults, closes) = (col("file"), col("faults(frame:status)"), col("server_first_close"));
    let mut checked = 0;
    for line in lines {
        let c: Vec<&str> = line.split('\t').collect();
        let list = |s: &str| -> Vec<String> {
            if s == "-" {
                Vec::new()
            } else {
                s.split(' ').map(str::to_owned).collect()
            }
        };
        let expected_faults: BTreeSet<(u64, u64)> = list(c[faults])
            .iter()
            .map(|f| {
                let (frame, status) = f.split_once(':').unwrap();
                (frame.parse().unwrap(), u64::from_str_radix(status.trim_start_matches("0x"), 16).unwrap())
            })
            .collect();
        let server_closes: BTreeSet<String> = list(c[closes]).into_iter().collect();
        let json = parse(&json_lines(&tshark, &reference_captures().join(c[file]), None, &[]));
        let got_faults: BTreeSet<(u64, u64)> = json
            .iter()
            .flat_map(|l| l["faults"].as_array().unwrap().clone())
            .filter(|f| f["type"] == "fault")
            .map(|f| (f["frame"].as_u64().unwrap(), f["status"].as_u64().unwrap()))
            .collect();
        assert_eq!(got_faults, expected_faults, "{}: faults", c[file]);
        for l in &json {
            if l["ended"]["by"] == "server" {
                let key =
                    format!("s{}:{}{}", l["tcp_stream"], l["ended"]["frame"], l["ended"]["close"].as_str().unwrap());
                assert!(server_closes.contains(&key), "{}: {key} not in ORIGINS {server_closes:?}", c[file]);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, reference_files().len());
}

/// A Python with `jsonschema`: the system's, else Debian's package (as root), else a venv under
/// target/ with a pinned version from PyPI.
fn python_with_jsonschema() -> PathBuf {
    let has = |py: &Path| Command::new(py).args(["-c", "import jsonschema"]).output().is_ok_and(|o| o.status.success());
    let system = PathBuf::from("python3");
    if has(&system) {
        return system;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", "python3-jsonschema"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        if has(&system) {
            return system;
        }
    }
    let venv = root().join("target/pyvenv-jsonschema");
    let py = venv.join("bin/python3");
    if !has(&py) {
        let ok = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().is_ok_and(|s| s.success())
            && Command::new(&py)
                .args(["-m", "pip", "install", "-q", "jsonschema==4.23.0"])
                .status()
                .is_ok_and(|s| s.success());
        assert!(ok && has(&py), "could not install jsonschema (apt python3-jsonschema or pip jsonschema==4.23.0)");
    }
    py
}

const VALIDATE: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
n = 0
for i, line in enumerate(open(sys.argv[2], encoding="utf-8")):
    n += 1
    for e in v.iter_errors(json.loads(line)):
        bad += 1
        print("line %d: %s at %s" % (i + 1, e.message, list(e.absolute_path)))
print("validated %d lines" % n)
sys.exit(1 if bad or n == 0 else 0)
"#;

/// Runs the validator over `lines`; Ok(stdout) when every line is valid.
fn validate(py: &Path, dir: &Path, lines: &str) -> Result<String, String> {
    let file = dir.join("lines.jsonl");
    fs::write(&file, lines).unwrap();
    let out = Command::new(py).arg("-c").arg(VALIDATE).arg(schema_path()).arg(&file).output().expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

#[test]
fn every_line_is_valid_against_the_schema_and_the_schema_rejects_drift() {
    let py = python_with_jsonschema();
    let tshark = tshark_with_plugin();
    let dir = TempDir::new("json-schema");
    let mut all = String::new();
    for s in SEEDS {
        all.push_str(&json_lines(&tshark, &seed_file(s), Some(&format!("{s}.pcapng")), &[]));
    }
    for (name, build) in scenarios::all() {
        let path = tshark.capture(&format!("{name}.pcapng"), &build().bytes());
        all.push_str(&json_lines(&tshark, &path, Some(&path.to_string_lossy()), &[]));
    }
    for path in reference_files() {
        all.push_str(&json_lines(&tshark, &path, None, &[]));
    }
    let n = all.lines().count();
    let ok = validate(&py, &dir.path, &all).unwrap_or_else(|e| panic!("schema violations:\n{e}"));
    assert!(ok.contains(&format!("validated {n} lines")), "{ok}");

    // The validator is not a rubber stamp: a missing key, an unknown key and a wrong type fail.
    let first = all.lines().next().unwrap();
    let mut v: Value = serde_json::from_str(first).unwrap();
    v.as_object_mut().unwrap().remove("tcp_stream");
    assert!(validate(&py, &dir.path, &format!("{v}\n")).is_err(), "a line without tcp_stream passed");
    let mut v: Value = serde_json::from_str(first).unwrap();
    v["surprise"] = Value::Bool(true);
    assert!(validate(&py, &dir.path, &format!("{v}\n")).is_err(), "an undocumented key passed");
    let mut v: Value = serde_json::from_str(first).unwrap();
    v["contexts"][0]["change"] = Value::from("maybe");
    assert!(validate(&py, &dir.path, &format!("{v}\n")).is_err(), "an undocumented change kind passed");
}

/// A user name and domain built to break naive JSON writers, and a capture label with quotes,
/// commas and a backslash: the parsed strings are exactly what was sent.
#[test]
fn hostile_names_and_labels_come_back_exactly() {
    let domain = "EV\"IL\\";
    let user = "a\"b\\c\u{1}\u{1f}\u{7f}\n\r\t\u{2028}\u{2029}é😀</script>%s";
    let mut cap = Capture::new();
    let mut a = Assoc::connect(&mut cap, client_flow(59916), Drep::Little);
    let steps = steady_association(&mut a, &administrator(), &Credentials::new(domain, user), 80001);
    play(&mut cap, a.flow, &steps, "");
    cap.close_by(a.flow, Dir::Client);
    let tshark = tshark_with_plugin();
    let path = tshark.capture("hostile.pcapng", &cap.bytes());
    let label = "we\"ird, name\\ = x.pcapng";
    let text = json_lines(&tshark, &path, Some(label), &[]);
    assert!(
        text.trim_end_matches('\n').chars().all(|c| c >= ' ' && c != '\u{7f}' && c != '\u{2028}'),
        "raw control characters in {text:?}"
    );
    let lines = parse(&text);
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    assert_eq!(l["capture"], label);
    let change = &l["changes"][0]["to"];
    assert_eq!(change["domainname"], domain);
    assert_eq!(change["username"], user);
    assert_eq!(change["name"], format!("{domain}\\{user}").as_str());
    let message = l["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains(user), "{message:?}");
}

#[test]
fn no_association_prints_nothing_and_a_wrong_argument_is_refused() {
    let tshark = tshark_with_plugin();
    // A capture with no packets at all.
    let path = tshark.capture("empty.pcapng", &Capture::new().bytes());
    let p = path.to_string_lossy();
    assert_eq!(tshark.run(&["-r", &p, "-q", "-z", "dcomauth,json"]), "");
    let out = tshark.output(&["-r", &p, "-q", "-z", "dcomauth,json,capture"]);
    assert!(!out.status.success(), "a malformed -z argument was accepted");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}
