//! Reads captures back through plain tshark (Wireshark's own dissectors; dcomauth disabled even
//! when installed).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Expert-info severities as `_ws.expert.severity` stores them.
pub const SEVERITY_CHAT: u32 = 0x0020_0000;
pub const SEVERITY_NOTE: u32 = 0x0040_0000;
pub const SEVERITY_WARN: u32 = 0x0060_0000;
pub const SEVERITY_ERROR: u32 = 0x0080_0000;

/// Writes `bytes` to a fresh file in the temp dir; the name says which scenario it holds.
pub fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("dcomauth-{name}-{}-{n}.pcapng", std::process::id()));
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// `--disable-protocol dcomauth` when the plugin is installed: tshark 4.4 and 4.6 refuse the
/// option for a protocol they do not know ("No such protocol dcomauth").
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

/// Runs tshark on `path` with `args`; panics with its stderr when it fails.
pub fn run(path: &Path, args: &[&str]) -> String {
    // Even if dcomauth is installed, these checks are about Wireshark's own dissectors only.
    let out = Command::new("tshark")
        .args(disable_dcomauth())
        .arg("-n")
        .arg("-r")
        .arg(path)
        .args(args)
        .output()
        .expect("tshark must be installed to check the generated captures");
    assert!(
        out.status.success(),
        "tshark {args:?} on {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = if args.contains(&"fields") { fields_as_4_0(&out.stdout) } else { out.stdout };
    String::from_utf8(stdout).expect("tshark output is UTF-8")
}

/// `-T fields` output as tshark 4.0 prints it, so one set of expectations serves every version:
/// newer tshark (seen on 4.4 and 4.6) doubles each backslash in field values (`-E escape`) and
/// prints booleans as `True`/`False` instead of `1`/`0`.
/// (The same as `tests/harness`; the two helper modules are compiled into different tests.)
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

/// `-T fields` rows of the frames matching `filter`; multi-valued fields are joined with '|'.
pub fn fields(path: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    fields_with(path, &[], filter, fields)
}

/// `fields` with extra preferences, e.g. `["tcp.reassemble_out_of_order:TRUE"]`.
pub fn fields_with(path: &Path, prefs: &[&str], filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = Vec::new();
    for p in prefs {
        args.extend(["-o", p]);
    }
    args.extend(["-Y", filter, "-T", "fields", "-E", "separator=/t", "-E", "aggregator=|", "-E", "occurrence=a"]);
    for f in fields {
        args.extend(["-e", f]);
    }
    run(path, &args).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

/// Frame numbers matching `filter`.
pub fn frames(path: &Path, filter: &str) -> Vec<u32> {
    fields(path, filter, &["frame.number"]).iter().map(|r| r[0].parse().expect("frame number")).collect()
}

/// The values of one (possibly repeated) field in frame `frame`; empty when absent.
pub fn values(path: &Path, frame: u32, field: &str) -> Vec<String> {
    let rows = fields(path, &format!("frame.number == {frame}"), &[field]);
    match rows.first() {
        Some(r) if !r[0].is_empty() => r[0].split('|').map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Every expert item of severity warning or worse (malformed packets included) as
/// (frame, message), in frame order.
pub fn problems(path: &Path) -> Vec<(u32, String)> {
    let filter = format!("_ws.malformed || _ws.expert.severity >= {SEVERITY_WARN:#x}");
    let mut out = Vec::new();
    for row in fields(path, &filter, &["frame.number", "_ws.expert.message", "_ws.expert.severity"]) {
        let frame: u32 = row[0].parse().expect("frame number");
        let messages = row[1].split('|');
        let severities = row[2].split('|');
        for (m, s) in messages.zip(severities) {
            let s: u32 = s.parse().unwrap_or_else(|_| panic!("frame {frame}: severity {s:?}"));
            if s >= SEVERITY_WARN {
                out.push((frame, m.to_string()));
            }
        }
    }
    out
}

/// A capture file in the temp dir, removed when dropped unless the test is failing (then its
/// path is printed so it can be opened in Wireshark).
pub struct TempCapture {
    pub path: PathBuf,
}

impl TempCapture {
    pub fn new(name: &str, bytes: &[u8]) -> Self {
        TempCapture { path: write_temp(name, bytes) }
    }
}

impl Drop for TempCapture {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("capture kept for inspection: {}", self.path.display());
        } else {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
