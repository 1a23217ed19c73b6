//! Wall-clock helpers for the server and commands: now in epoch ms, and times given by users
//! (RFC 3339 / SQL timestamp text via `processor::timestamp`, or plain epoch milliseconds).

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Epoch ms from an RFC 3339 timestamp (`2026-03-25T10:00:00.123Z`, offsets allowed, `T` or a
/// space) or from a plain integer of epoch milliseconds. Times before 1970 are refused.
pub fn parse_time_ms(s: &str) -> Option<u64> {
    if let Ok(ms) = s.parse::<u64>() {
        return Some(ms);
    }
    processor::timestamp::parse(s).and_then(|ms| u64::try_from(ms).ok())
}

/// RFC 3339 UTC with milliseconds: `2026-03-25T10:00:00.000Z`.
pub fn format_time_ms(ms: u64) -> String {
    processor::timestamp::format_rfc3339(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let ms = parse_time_ms("2026-03-25T10:00:01.123Z").unwrap();
        assert_eq!(ms, 1_774_432_801_123);
        assert_eq!(format_time_ms(ms), "2026-03-25T10:00:01.123Z");
        assert_eq!(parse_time_ms("2026-03-25T12:00:01.123+02:00"), Some(ms));
        assert_eq!(parse_time_ms("2026-03-25 10:00:01.1"), Some(ms - 23));
        assert_eq!(parse_time_ms("1774432801123"), Some(ms));
        assert_eq!(parse_time_ms("yesterday"), None);
        assert_eq!(format_time_ms(0), "1970-01-01T00:00:00.000Z");
    }
}
