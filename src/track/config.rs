//! What a user may tune (Wireshark preferences map onto this); defaults are what the README states.
use super::identity::Comparison;

/// Tracker settings, fixed for one pass over a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub comparison: Comparison,
    /// A server close is blamed on a change only this long after the last changed-identity fault
    /// (or the change itself when nothing failed).
    pub abort_window_ns: i64,
    /// Computer accounts (`HOST$`) never count as a change, nor become a baseline.
    pub ignore_machine_accounts: bool,
    /// The anonymous logon never counts as a change, nor becomes a baseline.
    pub ignore_anonymous: bool,
    /// Associations kept for the summary and history (the oldest closed one goes first).
    pub max_associations: usize,
    /// Calls remembered per association (the oldest are forgotten first).
    pub max_calls: usize,
}

/// Default abort window: a server that tears down after a security fault does so within milliseconds;
/// seconds later the close has other causes.
pub const DEFAULT_ABORT_WINDOW_MS: u32 = 5000;

impl Default for Config {
    fn default() -> Self {
        Config {
            comparison: Comparison::Account,
            abort_window_ns: i64::from(DEFAULT_ABORT_WINDOW_MS) * 1_000_000,
            ignore_machine_accounts: false,
            ignore_anonymous: false,
            max_associations: 65536,
            max_calls: 4096,
        }
    }
}
