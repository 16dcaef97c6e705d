//! NTLMSSP identities and the rule that says whether two of them are the same account.
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::maps::KeyedState;

/// An NTLMSSP identity, shown as `DOMAIN\user` (`\user` with an empty domain); an empty user is
/// the anonymous logon. The names are shared, not copied: every PDU view of an association carries them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub domain: Arc<str>,
    pub user: Arc<str>,
}

/// How two identities are compared (preference `dcomauth.compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Comparison {
    /// By the account they name: case-insensitive, UPN and DNS-domain spellings folded; spellings
    /// that may or may not be one account are `Match::Unsure`.
    #[default]
    Account,
    /// User names only, case-insensitive (`HOST\alice` and `CORP\alice` are one).
    UserName,
    /// Domain and user exactly as sent (case-sensitive).
    Exact,
}

/// What a comparison concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Same,
    Different,
    /// The spellings cannot tell (a UPN suffix against another NetBIOS domain, an empty domain
    /// against a named one with the same user).
    Unsure,
}

impl Identity {
    /// The very same shared names (not only equal text): a check that costs two compares.
    pub fn same_names(&self, other: &Identity) -> bool {
        Arc::ptr_eq(&self.domain, &other.domain) && Arc::ptr_eq(&self.user, &other.user)
    }

    pub fn is_anonymous(&self) -> bool {
        self.user.is_empty()
    }

    /// A computer account (`HOST$`).
    pub fn is_machine(&self) -> bool {
        self.user.ends_with('$')
    }

    /// (domain as sent or from a UPN suffix, user, whether the domain is a NetBIOS name).
    fn account(&self) -> (&str, &str, bool) {
        match self.user.rsplit_once('@') {
            Some((user, suffix)) if self.domain.is_empty() => (suffix, user, false),
            _ => (&self.domain, &self.user, !self.domain.contains('.')),
        }
    }

    /// Compares two identities by `rule`.
    pub fn compare(&self, other: &Identity, rule: Comparison) -> Match {
        let same = |b: bool| if b { Match::Same } else { Match::Different };
        if self.is_anonymous() || other.is_anonymous() {
            return same(self.is_anonymous() && other.is_anonymous());
        }
        // The same names sent again (most comparisons) are the same account under every rule.
        if self.domain == other.domain && self.user == other.user {
            return Match::Same;
        }
        match rule {
            Comparison::Exact => Match::Different,
            Comparison::UserName => same(fold_eq(self.account().1, other.account().1)),
            Comparison::Account => {
                let (d1, u1, nb1) = self.account();
                let (d2, u2, nb2) = other.account();
                if !fold_eq(u1, u2) {
                    return Match::Different;
                }
                if fold_eq(d1, d2) {
                    return Match::Same;
                }
                if d1.is_empty() || d2.is_empty() {
                    return Match::Unsure;
                }
                // Two NetBIOS names: two accounts (a local `HOST\alice` is not `CORP\alice`).
                if nb1 && nb2 {
                    return Match::Different;
                }
                fn label(d: &str) -> &str {
                    d.split('.').next().unwrap_or_default()
                }
                // Lowercasing depends on context beyond ASCII (a final sigma): whole names first.
                let same_label = if d1.is_ascii() && d2.is_ascii() {
                    label(d1).eq_ignore_ascii_case(label(d2))
                } else {
                    label(&d1.to_lowercase()) == label(&d2.to_lowercase())
                };
                if same_label {
                    Match::Same
                } else {
                    Match::Unsure
                }
            }
        }
    }
}

/// Equal ignoring case; ASCII names (nearly all) without allocating.
fn fold_eq(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// Distinct names a capture shares out (domains and users), beyond which a name is kept per use.
const MAX_NAMES: usize = 4096;

/// One copy of each domain and user name for the whole capture: the thousands of associations a
/// capture holds mostly repeat a few accounts, and names that are one allocation compare by pointer.
#[derive(Default)]
pub struct Names(HashSet<Arc<str>, KeyedState>);

impl Names {
    /// `identity` with its names replaced by the shared copies.
    pub fn share(&mut self, identity: Identity) -> Identity {
        Identity { domain: self.name(identity.domain), user: self.name(identity.user) }
    }

    fn name(&mut self, name: Arc<str>) -> Arc<str> {
        if let Some(known) = self.0.get(&*name) {
            return known.clone();
        }
        if self.0.len() < MAX_NAMES {
            self.0.insert(name.clone());
        }
        name
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_anonymous() {
            return f.write_str("NT AUTHORITY\\ANONYMOUS LOGON");
        }
        write!(f, "{}\\{}", self.domain, self.user)
    }
}

#[cfg(test)]
mod tests {
    use super::{Comparison, Identity, Match};

    fn id(domain: &str, user: &str) -> Identity {
        Identity { domain: domain.into(), user: user.into() }
    }

    fn account(a: &Identity, b: &Identity) -> Match {
        a.compare(b, Comparison::Account)
    }

    #[test]
    fn spellings_of_one_account_are_the_same_identity() {
        assert_eq!(account(&id("DOM", "alice"), &id("dom", "ALICE")), Match::Same);
        assert_eq!(account(&id("", "alice@dom.example"), &id("DOM", "alice")), Match::Same);
        assert_eq!(account(&id("dom.example", "alice"), &id("DOM", "Alice")), Match::Same);
        assert_eq!(account(&id("", ""), &id("X", "")), Match::Same);
        // Case folds beyond ASCII too.
        assert_eq!(account(&id("DOMÄNE", "Jürgen"), &id("domäne", "JÜRGEN")), Match::Same);
        assert_eq!(account(&id("", "jürgen@domäne.example"), &id("DOMÄNE", "JÜRGEN")), Match::Same);
        // A capital sigma ending a label lowercases as a final sigma only where the name ends.
        assert_eq!(account(&id("ΑΣ.example", "u"), &id("ας.corp", "u")), Match::Unsure);
    }

    #[test]
    fn other_accounts_are_other_identities() {
        assert_eq!(account(&id("", "administrator"), &id("REDMOND", "jiangyue")), Match::Different);
        // A local account and a domain account of the same name, as in lateral movement.
        assert_eq!(account(&id("HOST", "alice"), &id("CORP", "alice")), Match::Different);
        assert_eq!(account(&id("", ""), &id("", "administrator")), Match::Different);
    }

    #[test]
    fn spellings_the_rule_cannot_match_are_unsure() {
        assert_eq!(account(&id("", "alice@corp.example"), &id("OTHER", "alice")), Match::Unsure);
        assert_eq!(account(&id("", "administrator"), &id("REDMOND", "administrator")), Match::Unsure);
    }

    #[test]
    fn names_seen_before_are_shared() {
        let mut names = super::Names::default();
        let first = names.share(id("REDMOND", "jiangyue"));
        let again = names.share(id("REDMOND", "jiangyue"));
        assert!(first.same_names(&again));
        let other = names.share(id("REDMOND", "administrator"));
        assert!(std::sync::Arc::ptr_eq(&first.domain, &other.domain));
        assert!(!std::sync::Arc::ptr_eq(&first.user, &other.user));
    }

    #[test]
    fn a_flood_of_names_stops_being_shared_at_the_cap() {
        let mut names = super::Names::default();
        for i in 0..super::MAX_NAMES + 100 {
            names.share(id("D", &format!("user{i}")));
        }
        assert_eq!(names.0.len(), super::MAX_NAMES);
        assert_eq!(names.share(id("D", "user5")).user.as_ref(), "user5");
    }

    #[test]
    fn user_name_and_exact_rules() {
        assert_eq!(id("HOST", "alice").compare(&id("CORP", "ALICE"), Comparison::UserName), Match::Same);
        assert_eq!(id("", "alice@corp.example").compare(&id("X", "alice"), Comparison::UserName), Match::Same);
        assert_eq!(id("CORP", "alice").compare(&id("corp", "alice"), Comparison::Exact), Match::Different);
        assert_eq!(id("CORP", "alice").compare(&id("CORP", "alice"), Comparison::Exact), Match::Same);
    }
}
