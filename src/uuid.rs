//! DCE UUIDs (C706 appendix A): the value type every layer shares, parsed and printed.
use std::fmt;
use std::str::FromStr;

/// A UUID stored in its canonical field order (as printed), whatever the wire byte order was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

/// A string that is not a UUID in the `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUuid;

impl Uuid {
    /// The nil UUID (all zero).
    pub const NIL: Uuid = Uuid([0; 16]);

    /// Builds a UUID from its printed fields, e.g. `(0x000001a0, 0, 0, [0xc0, 0, 0, 0, 0, 0, 0, 0x46])`.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Uuid {
        let a = d1.to_be_bytes();
        let b = d2.to_be_bytes();
        let c = d3.to_be_bytes();
        Uuid([a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5], d4[6], d4[7]])
    }

    /// Parses the printed form (either case); usable in `const` tables.
    pub const fn parse(s: &str) -> Option<Uuid> {
        let mut rest = s.as_bytes();
        if rest.len() != 36 {
            return None;
        }
        let mut acc: u128 = 0;
        let mut pos = 0;
        while pos < 36 {
            // Dashes sit at fixed positions; hex pairs never straddle them.
            if pos == 8 || pos == 13 || pos == 18 || pos == 23 {
                match rest {
                    [b'-', tail @ ..] => rest = tail,
                    _ => return None,
                }
                pos += 1;
                continue;
            }
            let (hi, lo, tail) = match rest {
                [hi, lo, tail @ ..] => (*hi, *lo, tail),
                _ => return None,
            };
            let (Some(hi), Some(lo)) = (hex_digit(hi), hex_digit(lo)) else {
                return None;
            };
            acc = (acc << 8) | ((hi << 4) | lo) as u128;
            rest = tail;
            pos += 2;
        }
        Some(Uuid(acc.to_be_bytes()))
    }

    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

const fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Uuid {
    type Err = InvalidUuid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(s);
        Uuid::parse(trimmed).ok_or(InvalidUuid)
    }
}
