//! Committed files a test compares its output with (golden files, generated captures), and the
//! mode that rewrites them: with the mode's variable set (to anything) every compared file is
//! written instead, and the test then FAILS saying how many it wrote, so that a rewrite never
//! passes silently and is always a reviewed `git diff`.
use std::fs;
use std::path::{Path, PathBuf};

/// Rewrites golden files (`tests/golden/`).
pub const BLESS: &str = "DCOMAUTH_BLESS";
/// Rewrites the committed generated captures (`tests/captures/*.pcapng`).
pub const REGENERATE: &str = "DCOMAUTH_REGENERATE";

/// The files one test compares, and whether it rewrites them.
pub struct Pinned {
    var: &'static str,
    rewrite: bool,
    written: Vec<PathBuf>,
    differing: Vec<String>,
}

impl Pinned {
    /// Compares, or rewrites when the environment variable `var` is set.
    pub fn from_env(var: &'static str) -> Pinned {
        Pinned::new(var, std::env::var_os(var).is_some())
    }

    pub fn new(var: &'static str, rewrite: bool) -> Pinned {
        Pinned { var, rewrite, written: Vec::new(), differing: Vec::new() }
    }

    /// Compares `actual` with the committed file at `path` (or writes it in rewrite mode);
    /// `show` renders the content for the failure message.
    pub fn bytes(&mut self, path: &Path, actual: &[u8], show: impl Fn(&[u8]) -> String) {
        if self.rewrite {
            fs::write(path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            self.written.push(path.to_owned());
            return;
        }
        match fs::read(path) {
            Ok(on_disk) if on_disk == actual => {}
            Ok(_) => self.differing.push(format!("{} differs:\n{}", path.display(), show(actual))),
            Err(e) => self.differing.push(format!("{}: {e}", path.display())),
        }
    }

    /// `bytes` for a text file, showing the new text when it differs.
    pub fn text(&mut self, path: &Path, actual: &str) {
        self.bytes(path, actual.as_bytes(), |b| String::from_utf8_lossy(b).into_owned());
    }

    /// Ends the comparison: fails when a file differed, and always in rewrite mode.
    pub fn finish(self) {
        assert!(
            !self.rewrite,
            "blessed {} files; re-run without {} (and review the git diff): {:?}",
            self.written.len(),
            self.var,
            self.written
        );
        assert!(
            self.differing.is_empty(),
            "{} committed files differ (after a reviewed change, rewrite them with {}=1):\n{}",
            self.differing.len(),
            self.var,
            self.differing.join("\n")
        );
    }
}
