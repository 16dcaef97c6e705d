//! Runs the real tshark with the freshly built plugin and nothing else from the system's plugin
//! folders. As root Wireshark ignores WIRESHARK_PLUGIN_DIR, so tshark then runs as `nobody`.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub struct Tshark {
    plugin_dir: PathBuf,
    home: PathBuf,
    scratch: PathBuf,
}

/// The cdylib cargo built for this test run: `cargo test` leaves it in target/<profile>/deps (next
/// to the test executable), `cargo build` in target/<profile>.
pub fn built_plugin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let candidates = [deps.join("libdcomauth.so"), deps.parent().unwrap_or(deps).join("libdcomauth.so")];
    candidates.into_iter().find(|p| p.exists()).expect("libdcomauth.so not built next to the tests")
}

fn world_readable(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub fn tshark() -> &'static Tshark {
    static T: OnceLock<Tshark> = OnceLock::new();
    T.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("dcomauth-it-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let epan = root.join("plugins").join(env!("DCOMAUTH_WIRESHARK_VERSION")).join("epan");
        let home = root.join("home");
        let scratch = root.join("captures");
        for d in [&epan, &home, &scratch] {
            fs::create_dir_all(d).expect("mkdir");
        }
        fs::copy(built_plugin(), epan.join("libdcomauth.so")).expect("copy plugin");
        for d in [
            root.clone(),
            root.join("plugins"),
            epan.parent().unwrap().to_path_buf(),
            epan.clone(),
            home.clone(),
            scratch.clone(),
        ] {
            world_readable(&d, 0o777);
        }
        world_readable(&epan.join("libdcomauth.so"), 0o644);
        Tshark { plugin_dir: root.join("plugins"), home, scratch }
    })
}

impl Tshark {
    /// Runs tshark with `args`; returns stdout, panicking with stderr on failure.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "tshark {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Like `run`, but a capture that ends in the middle of a packet (tshark exits 2 after reading
    /// everything before it) is not a failure.
    pub fn run_truncated_ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || stderr.contains("cut short in the middle of a packet"),
            "tshark {args:?} failed: {}\n{stderr}",
            out.status
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn output(&self, args: &[&str]) -> Output {
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", "tshark"]);
            c
        } else {
            Command::new("tshark")
        };
        cmd.args(args)
            .env("WIRESHARK_PLUGIN_DIR", &self.plugin_dir)
            .env("HOME", &self.home)
            .env_remove("WIRESHARK_CONFIG_DIR")
            .env("LC_ALL", "C.UTF-8");
        let mut out = cmd.output().expect("run tshark");
        if args.windows(2).any(|w| w == ["-T", "fields"]) {
            out.stdout = fields_as_4_0(&out.stdout);
        }
        out
    }

    /// Writes a generated capture where the unprivileged tshark can read it.
    pub fn capture(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.scratch.join(name);
        fs::write(&path, bytes).expect("write capture");
        world_readable(&path, 0o644);
        path
    }

    /// `-T fields` rows for `filter`, each the listed fields joined by tabs.
    pub fn fields(&self, capture: &Path, two_pass: bool, filter: &str, fields: &[&str]) -> Vec<String> {
        let path = capture.to_string_lossy();
        let mut args = vec!["-r", &path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"];
        if two_pass {
            args.push("-2");
        }
        if !filter.is_empty() {
            args.extend(["-Y", filter]);
        }
        for f in fields {
            args.extend(["-e", f]);
        }
        self.run(&args).lines().map(str::to_owned).collect()
    }
}

/// `-T fields` output as tshark 4.0 prints it, so one set of expectations serves every version:
/// newer tshark (seen on 4.4 and 4.6) doubles each backslash in field values (`-E escape`) and
/// prints booleans as `True`/`False` instead of `1`/`0`.
pub fn fields_as_4_0(text: &[u8]) -> Vec<u8> {
    if env!("DCOMAUTH_WIRESHARK_VERSION") == "4.0" {
        return text.to_vec();
    }
    let mut out = Vec::with_capacity(text.len());
    let mut cell_start = 0;
    let mut bytes = text.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if matches!(b, b'\t' | b'\n' | b'|' | 0x1f) {
            bool_cell(&mut out, cell_start);
            out.push(b);
            cell_start = out.len();
            continue;
        }
        out.push(b);
        if b == b'\\' && bytes.peek() == Some(&b'\\') {
            bytes.next();
        }
    }
    bool_cell(&mut out, cell_start);
    out
}

fn bool_cell(out: &mut Vec<u8>, start: usize) {
    let digit = match &out[start..] {
        b"True" => b'1',
        b"False" => b'0',
        _ => return,
    };
    out.truncate(start);
    out.push(digit);
}

/// The shared reference captures (read-only, never copied into the repo): `DCOMAUTH_SHARED_CAPTURES`,
/// else `../shared/captures` beside the checkout, else the workplace's `/work/shared/captures`.
pub fn shared_captures() -> PathBuf {
    let candidates = [
        std::env::var_os("DCOMAUTH_SHARED_CAPTURES").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures")),
        Some(PathBuf::from("/work/shared/captures")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("ORIGINS.tsv").exists())
        .expect("shared reference captures not found; set DCOMAUTH_SHARED_CAPTURES")
}

/// Our expert entries, as tshark reports them: (frame, "Severity/Group", message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub frame: u32,
    pub class: String,
    pub message: String,
}

/// The expert infos the plugin registers, in the order tests list them.
pub const EXPERT_NAMES: [&str; 5] = [
    "dcomauth.identity_change",
    "dcomauth.fault_after_change",
    "dcomauth.abort_after_change",
    "dcomauth.abort_after_fault",
    "dcomauth.managed_object_qi",
];

impl Tshark {
    /// Every expert entry of ours in `capture`, grouped by expert name, in frame order.
    pub fn entries(&self, capture: &Path, two_pass: bool) -> Vec<(&'static str, Entry)> {
        let mut out = Vec::new();
        for name in EXPERT_NAMES {
            for row in self.fields_sep(capture, two_pass, name, &["frame.number", "_ws.expert"]) {
                let mut cols = row.splitn(2, '\t');
                let frame: u32 = cols.next().and_then(|f| f.parse().ok()).expect("frame number");
                for item in cols.next().unwrap_or_default().split('\u{1f}') {
                    // "Expert Info (Warning/Security): text"
                    let Some(rest) = item.strip_prefix("Expert Info (") else { continue };
                    let Some((class, message)) = rest.split_once("): ") else { continue };
                    if is_ours(name, message) {
                        out.push((name, Entry { frame, class: class.to_owned(), message: message.to_owned() }));
                    }
                }
            }
        }
        out
    }

    fn fields_sep(&self, capture: &Path, two_pass: bool, filter: &str, fields: &[&str]) -> Vec<String> {
        let path = capture.to_string_lossy();
        let mut args = vec!["-r", &path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\u{1f}"];
        if two_pass {
            args.push("-2");
        }
        args.extend(["-Y", filter]);
        for f in fields {
            args.extend(["-e", f]);
        }
        self.run(&args).lines().map(str::to_owned).collect()
    }
}

/// Tells our messages from the other dissectors' in the same frame, per expert name.
pub fn is_ours(name: &str, message: &str) -> bool {
    let prefix = match name {
        "dcomauth.identity_change" => "Identity changed inside the association",
        "dcomauth.fault_after_change" => "Fault under changed identity",
        "dcomauth.abort_after_change" => "Server closed the association (",
        "dcomauth.abort_after_fault" => "Server closed the association (",
        "dcomauth.managed_object_qi" => "RemQueryInterface for IManagedObject",
        _ => return false,
    };
    let after_change = message.contains("after the identity change");
    message.starts_with(prefix)
        && match name {
            "dcomauth.abort_after_change" => after_change,
            "dcomauth.abort_after_fault" => !after_change,
            _ => true,
        }
}
