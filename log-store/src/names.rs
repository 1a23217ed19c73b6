//! Validation of names that become directory names, so nothing outside the data dir is touched.

use crate::error::{Error, Result};
use crate::limits::NAME_BYTES_MAX;

/// Accepts `[A-Za-z0-9._-]{1,200}` except `.` and `..`; anything else is `Error::InvalidName`.
pub fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("is empty")
    } else if name.len() > NAME_BYTES_MAX {
        Some("is longer than 200 characters")
    } else if name == "." || name == ".." {
        Some("is a path component")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        Some("may only contain A-Z, a-z, 0-9, '.', '_' and '-'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            name: name.chars().take(64).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_the_data_dir_are_refused() {
        for bad in ["", ".", "..", "a/b", "%2e%2e", "a b", "ü", &"x".repeat(201)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for good in ["orders", "order-events", "a.b_c-1", &"x".repeat(200), "..."] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
    }
}
