//! What the integration tests share: two tshark runners, told apart by name, and the files they
//! read and write.
//!
//! - [`plain_tshark`]: Wireshark's own dissectors only (dcomauth disabled even when installed).
//!   It proves what a generated capture means, independently of the plugin.
//! - [`tshark_with_plugin`]: the plugin cargo just built, and no other plugin of the system's
//!   folders. As root Wireshark ignores WIRESHARK_PLUGIN_DIR, so this tshark then runs as `nobody`.
//!
//! Each runner owns a fresh temporary folder (removed when the runner is dropped) that is its
//! HOME, XDG_CONFIG_HOME and WIRESHARK_CONFIG_DIR, so no preference or profile of the machine's
//! users changes what a test sees, and where the test's captures are written.
#![allow(dead_code)]

pub mod pinned;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Expert-info severities as `_ws.expert.severity` stores them.
pub const SEVERITY_CHAT: u32 = 0x0020_0000;
pub const SEVERITY_NOTE: u32 = 0x0040_0000;
pub const SEVERITY_WARN: u32 = 0x0060_0000;
pub const SEVERITY_ERROR: u32 = 0x0080_0000;

/// A folder in the temp dir, removed with everything in it when dropped (also when the test
/// panics: a generated capture can always be built again from its scenario).
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("dcomauth-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Creates `path` (and its parents below `root`) open to every user, for a tshark run as `nobody`.
fn shared_dir(root: &Path, path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    let mut d = Some(path);
    while let Some(p) = d.filter(|p| p.starts_with(root)) {
        set_mode(p, 0o777);
        d = p.parent();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The cdylib cargo built for this test run: `cargo test` leaves it in target/<profile>/deps (next
/// to the test executable), `cargo build` in target/<profile>.
pub fn built_plugin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let candidates = [deps.join("libdcomauth.so"), deps.parent().unwrap_or(deps).join("libdcomauth.so")];
    candidates.into_iter().find(|p| p.exists()).expect("libdcomauth.so not built next to the tests")
}

/// One tshark configuration with its private folder.
pub struct Tshark {
    dir: TempDir,
    /// WIRESHARK_PLUGIN_DIR holding only our plugin; None for plain tshark.
    plugin_dir: Option<PathBuf>,
    home: PathBuf,
    config: PathBuf,
    captures: PathBuf,
}

/// tshark with Wireshark's own dissectors only: dcomauth is disabled even if it is installed,
/// and no plugin folder of ours is offered.
pub fn plain_tshark() -> Tshark {
    Tshark::new("plain", false)
}

/// tshark with the freshly built dcomauth plugin and nothing else from the plugin folders.
pub fn tshark_with_plugin() -> Tshark {
    Tshark::new("plugin", true)
}

impl Tshark {
    fn new(label: &str, with_plugin: bool) -> Tshark {
        let dir = TempDir::new(label);
        let root = dir.path.clone();
        let (home, config, captures) = (root.join("home"), root.join("config"), root.join("captures"));
        for d in [&home, &config.join("wireshark"), &captures] {
            shared_dir(&root, d);
        }
        let plugin_dir = with_plugin.then(|| {
            let plugins = root.join("plugins");
            let epan = plugins.join(env!("DCOMAUTH_WIRESHARK_VERSION")).join("epan");
            shared_dir(&root, &epan);
            let so = epan.join("libdcomauth.so");
            fs::copy(built_plugin(), &so).expect("copy plugin");
            set_mode(&so, 0o644);
            plugins
        });
        Tshark { dir, plugin_dir, home, config, captures }
    }

    pub fn with_plugin(&self) -> bool {
        self.plugin_dir.is_some()
    }

    /// Writes a capture into this tshark's folder, readable by it; returns its path.
    pub fn capture(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.captures.join(name);
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        set_mode(&path, 0o644);
        path
    }

    /// Runs tshark with `args` (after this configuration's own) and returns what it did.
    pub fn output(&self, args: &[&str]) -> Output {
        let mut cmd = match &self.plugin_dir {
            Some(plugins) if is_root() => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", "tshark"]);
                c.env("WIRESHARK_PLUGIN_DIR", plugins);
                c
            }
            Some(plugins) => {
                let mut c = Command::new("tshark");
                c.env("WIRESHARK_PLUGIN_DIR", plugins);
                c
            }
            None => {
                let mut c = Command::new("tshark");
                // Even if dcomauth is installed, these runs are about Wireshark's own dissectors.
                c.args(disable_dcomauth()).arg("-n").env_remove("WIRESHARK_PLUGIN_DIR");
                c
            }
        };
        cmd.args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.config)
            .env("WIRESHARK_CONFIG_DIR", self.config.join("wireshark"))
            .env("LC_ALL", "C.UTF-8");
        let mut out = cmd.output().expect("tshark must be installed");
        if args.windows(2).any(|w| w == ["-T", "fields"]) {
            out.stdout = fields_as_4_0(&out.stdout);
        }
        out
    }

    /// Runs tshark with `args`; returns stdout, panicking with stderr on failure.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "tshark {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("tshark output is UTF-8")
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
        String::from_utf8(out.stdout).expect("tshark output is UTF-8")
    }

    /// `-T fields` lines of the frames of `capture` matching `filter` (all when empty): the fields
    /// joined by tabs, every occurrence of a repeated field joined by `aggregator`. `extra` goes
    /// before the filter: `-2`, `-o pref:value`.
    pub fn field_lines(
        &self,
        capture: &Path,
        extra: &[&str],
        aggregator: char,
        filter: &str,
        fields: &[&str],
    ) -> Vec<String> {
        let path = capture.to_string_lossy();
        let aggregator = format!("aggregator={aggregator}");
        let mut args = vec!["-r", &path, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", &aggregator];
        args.extend(extra);
        if !filter.is_empty() {
            args.extend(["-Y", filter]);
        }
        for f in fields {
            args.extend(["-e", f]);
        }
        self.run_on(capture, &args).lines().map(str::to_owned).collect()
    }

    /// `run` for a generated capture; `run_truncated_ok` for a vendored reference capture, some of
    /// which were recorded cut short.
    pub fn run_on(&self, capture: &Path, args: &[&str]) -> String {
        if capture.starts_with(reference_captures()) {
            self.run_truncated_ok(args)
        } else {
            self.run(args)
        }
    }

    /// `field_lines` in one pass or with `-2`, repeated values joined by `|`.
    pub fn fields(&self, capture: &Path, two_pass: bool, filter: &str, fields: &[&str]) -> Vec<String> {
        self.field_lines(capture, passes(two_pass), '|', filter, fields)
    }

    /// `field_lines` split into columns, with extra arguments such as `["-o", "pref:TRUE"]`.
    pub fn rows(&self, capture: &Path, extra: &[&str], filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
        let lines = self.field_lines(capture, extra, '|', filter, fields);
        lines.iter().map(|l| l.split('\t').map(str::to_owned).collect()).collect()
    }

    /// Frame numbers matching `filter`.
    pub fn frames(&self, capture: &Path, filter: &str) -> Vec<u32> {
        let rows = self.rows(capture, &[], filter, &["frame.number"]);
        rows.iter().map(|r| r[0].parse().expect("frame number")).collect()
    }

    /// The values of one (possibly repeated) field in frame `frame`; empty when absent.
    pub fn values(&self, capture: &Path, frame: u32, field: &str) -> Vec<String> {
        let rows = self.rows(capture, &[], &format!("frame.number == {frame}"), &[field]);
        match rows.first() {
            Some(r) if !r[0].is_empty() => r[0].split('|').map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }

    /// Every expert item of severity warning or worse (malformed packets included) as
    /// (frame, message), in frame order.
    pub fn problems(&self, capture: &Path) -> Vec<(u32, String)> {
        let filter = format!("_ws.malformed || _ws.expert.severity >= {SEVERITY_WARN:#x}");
        let fields = ["frame.number", "_ws.expert.message", "_ws.expert.severity"];
        let mut out = Vec::new();
        for line in self.field_lines(capture, &[], '\u{1f}', &filter, &fields) {
            let cols: Vec<&str> = line.split('\t').collect();
            let frame: u32 = cols[0].parse().expect("frame number");
            for (m, s) in cols[1].split('\u{1f}').zip(cols[2].split('\u{1f}')) {
                let s: u32 = s.parse().unwrap_or_else(|_| panic!("frame {frame}: severity {s:?}"));
                if s >= SEVERITY_WARN {
                    out.push((frame, m.to_owned()));
                }
            }
        }
        out
    }

    /// Every expert entry of ours in `capture`, grouped by expert name, in frame order. One tshark
    /// run: which of our expert fields a frame carries says which name each message of ours has.
    pub fn entries(&self, capture: &Path, two_pass: bool) -> Vec<(&'static str, Entry)> {
        let filter = EXPERT_NAMES.join(" || ");
        let mut fields = vec!["frame.number", "_ws.expert"];
        fields.extend(EXPERT_NAMES);
        let mut out = Vec::new();
        for line in self.field_lines(capture, passes(two_pass), '\u{1f}', &filter, &fields) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (Some(frame), Some(items)) = (cols.first(), cols.get(1)) else { continue };
            let frame: u32 = frame.parse().expect("frame number");
            let present: Vec<&'static str> = EXPERT_NAMES
                .iter()
                .zip(cols.iter().skip(2))
                .filter(|(_, cell)| !cell.is_empty())
                .map(|(name, _)| *name)
                .collect();
            for (class, message) in items.split('\u{1f}').filter_map(expert_item) {
                if let Some(name) = present.iter().find(|name| is_ours(name, message)) {
                    out.push((*name, Entry { frame, class: class.to_owned(), message: message.to_owned() }));
                }
            }
        }
        out.sort_by_key(|(name, e)| (EXPERT_NAMES.iter().position(|n| n == name), e.frame));
        out
    }
}

/// The extra arguments of a one-pass or a two-pass (`-2`) run.
pub fn passes(two_pass: bool) -> &'static [&'static str] {
    if two_pass {
        &["-2"]
    } else {
        &[]
    }
}

/// "Expert Info (Warning/Security): text" as ("Warning/Security", "text").
pub fn expert_item(item: &str) -> Option<(&str, &str)> {
    item.strip_prefix("Expert Info (")?.split_once("): ")
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

/// `--disable-protocol dcomauth` only where tshark knows the protocol: 4.4 and 4.6 refuse the
/// option for one they do not know ("No such protocol dcomauth").
fn disable_dcomauth() -> &'static [&'static str] {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| {
        let out = Command::new("tshark").args(["-G", "protocols"]).output().expect("tshark -G protocols");
        String::from_utf8_lossy(&out.stdout).lines().any(|l| l.split('\t').nth(2) == Some("dcomauth"))
    });
    if installed {
        &["--disable-protocol", "dcomauth"]
    } else {
        &[]
    }
}

/// The reference captures vendored from public projects (origin and licence in `ORIGINS.tsv` there).
pub fn reference_captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures/reference")
}

/// Our expert entries, as tshark reports them: (frame, "Severity/Group", message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub frame: u32,
    pub class: String,
    pub message: String,
}

/// The expert infos the plugin registers, in the order tests list them.
pub const EXPERT_NAMES: [&str; 7] = [
    "dcomauth.identity_change",
    "dcomauth.fault_after_change",
    "dcomauth.abort_after_change",
    "dcomauth.abort_after_fault",
    "dcomauth.managed_object_qi",
    "dcomauth.possible_identity_change",
    "dcomauth.pair_identity_change",
];

/// Tells our messages from the other dissectors' in the same frame, per expert name.
pub fn is_ours(name: &str, message: &str) -> bool {
    let prefix = match name {
        "dcomauth.identity_change" => "Identity changed inside the association",
        "dcomauth.fault_after_change" => "Fault under changed identity",
        "dcomauth.abort_after_change" => "Server closed the association (",
        "dcomauth.abort_after_fault" => "Server closed the association (",
        "dcomauth.managed_object_qi" => "RemQueryInterface for IManagedObject",
        "dcomauth.possible_identity_change" => {
            return [
                "Possible identity change",
                "Fault under possibly changed identity",
                "Server closed the association (",
            ]
            .iter()
            .any(|p| message.starts_with(p))
        }
        "dcomauth.pair_identity_change" => {
            return message.starts_with("Identity differs from this client's")
                || message.starts_with("Server closed the association (")
                || (message.starts_with("Fault under ") && message.contains(", new on this host pair"))
        }
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
