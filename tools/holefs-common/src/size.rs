// SPDX-License-Identifier: GPL-2.0
//! Sizes on the command line: a number of bytes with an optional binary
//! suffix, `4096`, `4k`, `1m`, `2G`.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SizeError {
    #[error("bad size {0:?}: want a number of bytes with an optional k, m or g suffix")]
    Syntax(String),
    #[error("size {0:?} does not fit in 64 bits")]
    Overflow(String),
}

/// Bytes with an optional `k`, `m` or `g` suffix (powers of 1024, either
/// case).  Usable as a clap `value_parser`.
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let (num, shift) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    // `u64::from_str` takes a leading '+': sizes are plain digits.
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SizeError::Syntax(s.to_string()));
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| SizeError::Overflow(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("3M"), Ok(3 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn rejects() {
        for s in ["", "k", "-1", "+1", "1t", "1 k", "0x10", "1.5m"] {
            assert!(matches!(parse_size(s), Err(SizeError::Syntax(_))), "{s:?}");
        }
        assert!(matches!(
            parse_size("99999999999999999999"),
            Err(SizeError::Overflow(_))
        ));
        assert!(matches!(
            parse_size("99999999999999g"),
            Err(SizeError::Overflow(_))
        ));
    }
}
