//! Event-time text: parsing RFC 3339, SQL timestamp text (`2026-03-25 10:00:01.123`, UTC) and
//! dates, and formatting RFC 3339 UTC with milliseconds (`2026-03-25T10:00:00.000Z`). Pure
//! calendar arithmetic (proleptic Gregorian); no clock is read here.

use std::fmt::Write as _;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn write_rfc3339(ms: i64, out: &mut String) {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z"
    );
}

pub fn format_rfc3339(ms: i64) -> String {
    let mut s = String::with_capacity(24);
    write_rfc3339(ms, &mut s);
    s
}

/// SQL timestamp text `YYYY-MM-DD HH:MM:SS.fff` (UTC), as `CAST(ts AS STRING)` gives it.
pub fn format_sql(ms: i64) -> String {
    let mut s = format_rfc3339(ms);
    s.pop();
    s.replace_range(10..11, " ");
    s
}

/// `YYYY-MM-DD` of an instant (UTC).
pub fn format_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    Some(v)
}

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space and `HH:MM[:SS[.fff...]]`, and an
/// optional zone (`Z`, `+HH:MM`, `-HH:MM`, `+HHMM`). Text without a zone is UTC. Returns ms.
pub fn parse(text: &str) -> Option<i64> {
    parse_bytes(text.trim().as_bytes())
}

/// `parse` on raw bytes (no trimming); anything it accepts is ASCII.
pub fn parse_bytes(b: &[u8]) -> Option<i64> {
    parse_bytes_cached(b, &mut DayCache::default())
}

/// The day number of the last date `parse_bytes_cached` decoded, keyed by its ten bytes: the
/// timestamps of a stream mostly share their date, and the calendar arithmetic is the costly
/// part of a parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct DayCache {
    date: [u8; 10],
    days: Option<i64>,
}

/// `parse_bytes`, skipping the date's validation and arithmetic when its ten bytes are those
/// of the last date decoded through `cache` (same bytes, same result).
pub fn parse_bytes_cached(b: &[u8], cache: &mut DayCache) -> Option<i64> {
    // A fixed-size array comparison compiles to two loads, not a memcmp call.
    let date: Option<[u8; 10]> = b.get(..10).and_then(|d| d.try_into().ok());
    let days = match (date, cache.days) {
        (Some(date), Some(days)) if date == cache.date => days,
        _ => {
            let (y, mo, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
            if b.get(4) != Some(&b'-')
                || b.get(7) != Some(&b'-')
                || !(1..=12).contains(&mo)
                || !(1..=31).contains(&d)
            {
                return None;
            }
            let days = days_from_civil(y, mo as u32, d as u32);
            cache.date.copy_from_slice(&b[..10]);
            cache.days = Some(days);
            days
        }
    };
    let mut ms = days * MS_PER_DAY;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (h, mi) = (digits(b, 11, 2)?, digits(b, 14, 2)?);
    if b.get(13) != Some(&b':') || h > 23 || mi > 59 {
        return None;
    }
    ms += h * 3_600_000 + mi * 60_000;
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        let s = digits(b, i + 1, 2)?;
        if s > 60 {
            return None;
        }
        ms += s * 1000;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            let mut frac = 0i64;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    frac = frac * 10 + (b[i] - b'0') as i64;
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            for _ in (i - start)..3 {
                frac *= 10;
            }
            ms += frac;
        }
    }
    match b.get(i) {
        None => Some(ms),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(ms),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let om = match b.get(i + 3) {
                Some(b':') => digits(b, i + 4, 2)?,
                Some(_) => digits(b, i + 3, 2)?,
                None => 0,
            };
            let offset = (oh * 60 + om) * 60_000;
            Some(if sign == b'+' {
                ms - offset
            } else {
                ms + offset
            })
        }
        _ => None,
    }
}

/// Flink's `TO_TIMESTAMP` text: `yyyy-[M]M-[d]d`, optionally followed by a space and
/// `[H]H:[m]m:[s]s` with an optional fraction of up to 9 digits (kept to the millisecond), all
/// UTC. No `T`, no zone, no surrounding spaces. This is Flink's default timestamp format and
/// the `java.sql.Timestamp`/`Date.valueOf` fallback it tries when a pattern does not match.
pub fn parse_flink(text: &str) -> Option<i64> {
    fn number(part: &str, min: usize, max: usize) -> Option<i64> {
        if part.len() < min || part.len() > max || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    }
    let (date, time) = match text.split_once(' ') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut ymd = date.split('-');
    let y = number(ymd.next()?, 4, 4)?;
    let m = number(ymd.next()?, 1, 2)?;
    let d = number(ymd.next()?, 1, 2)?;
    if ymd.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m as u32, d as u32) * MS_PER_DAY;
    if let Some(time) = time {
        let (hms, fraction) = match time.split_once('.') {
            Some((hms, f)) => (hms, Some(f)),
            None => (time, None),
        };
        let mut parts = hms.split(':');
        let h = number(parts.next()?, 1, 2)?;
        let mi = number(parts.next()?, 1, 2)?;
        let sec = number(parts.next()?, 1, 2)?;
        if parts.next().is_some() || h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        ms += h * 3_600_000 + mi * 60_000 + sec * 1_000;
        if let Some(f) = fraction {
            if f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            ms += format!("{:0<3}", &f[..f.len().min(3)])
                .parse::<i64>()
                .ok()?;
        }
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TO_TIMESTAMP's text as Flink reads it (found by processor/tests/flink/
    /// to_timestamp_fallback; issue 14).
    #[test]
    fn flink_timestamp_text() {
        let base = parse("2026-03-05T07:08:09Z").unwrap();
        assert_eq!(parse_flink("2026-3-5 7:8:9"), Some(base));
        assert_eq!(parse_flink("2026-03-05 07:08:09.5"), Some(base + 500));
        assert_eq!(
            parse_flink("2026-03-05 07:08:09.123456789"),
            Some(base + 123)
        );
        assert_eq!(parse_flink("2026-03-05"), Some(base - 25_689_000));
        for refused in [
            "2026-03-05T07:08:09",
            "2026-03-05 07:08",
            "2026-03-05 07:08:09Z",
            " 2026-03-05",
            "2026-13-05",
            "26-03-05",
            "2026-03-05 07:08:09.1234567890",
        ] {
            assert_eq!(parse_flink(refused), None, "{refused}");
        }
    }

    #[test]
    fn formats_rfc3339_with_milliseconds() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        let t = parse("2026-03-25T10:00:01.123Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-03-25T10:00:01.123Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_sql_text_rfc3339_and_zones_alike() {
        let a = parse("2026-03-25 10:00:01.123").unwrap();
        assert_eq!(parse("2026-03-25T10:00:01.123Z"), Some(a));
        assert_eq!(parse("2026-03-25T12:00:01.123+02:00"), Some(a));
        assert_eq!(parse("2026-03-25T10:00:01.1234567Z"), Some(a));
        assert_eq!(parse("2026-03-25 10:00"), Some(a - 1123));
        assert_eq!(parse("2026-03-25"), Some(a - 36_001_123));
        assert_eq!(parse("2026-13-25"), None);
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn the_day_cache_never_changes_a_result() {
        let mut cache = DayCache::default();
        for text in [
            "2026-03-25T10:00:01.123Z",
            "2026-03-25T23:59:59.999Z",
            "2026-03-25",
            "2026-03-25T25:00:00Z",
            "2026-03-26T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-13-25T00:00:00Z",
            "2026-03-2",
            "2026-03-26 00:00+01:00",
            "2026-03-25T10:00:01.123Z",
            "1969-12-31T23:59:59.999Z",
        ] {
            assert_eq!(
                parse_bytes_cached(text.as_bytes(), &mut cache),
                parse_bytes(text.as_bytes()),
                "{text}"
            );
        }
    }

    #[test]
    fn civil_days_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 19_000, 20_537, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
