//! Calendar arithmetic on event-time instants (ms since the epoch, UTC) for the SQL time
//! functions, with Flink's (Calcite's) rules: `EXTRACT`, `FLOOR/CEIL(ts TO unit)`,
//! `TIMESTAMPDIFF`, and Java `SimpleDateFormat`-style patterns for `DATE_FORMAT` and
//! `TO_TIMESTAMP`. Pure: no clock is read here.

use std::fmt::Write as _;

use crate::timestamp::{civil_from_days, days_from_civil};

const MS_PER_DAY: i64 = 86_400_000;

/// A unit of time named in SQL (`EXTRACT(HOUR FROM ts)`, `FLOOR(ts TO DAY)`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    /// Day of week, 1 = Sunday .. 7 = Saturday (EXTRACT only).
    DayOfWeek,
    /// Day of year, 1 .. 366 (EXTRACT only).
    DayOfYear,
}

impl TimeUnit {
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Second => "SECOND",
            TimeUnit::Minute => "MINUTE",
            TimeUnit::Hour => "HOUR",
            TimeUnit::Day => "DAY",
            TimeUnit::Week => "WEEK",
            TimeUnit::Month => "MONTH",
            TimeUnit::Quarter => "QUARTER",
            TimeUnit::Year => "YEAR",
            TimeUnit::DayOfWeek => "DOW",
            TimeUnit::DayOfYear => "DOY",
        }
    }

    /// The unit named `name` (SQL keyword, singular or plural), if any.
    pub fn parse(name: &str) -> Option<TimeUnit> {
        Some(match name.to_ascii_uppercase().trim_end_matches('S') {
            "SECOND" => TimeUnit::Second,
            "MINUTE" => TimeUnit::Minute,
            "HOUR" => TimeUnit::Hour,
            "DAY" => TimeUnit::Day,
            "WEEK" => TimeUnit::Week,
            "MONTH" => TimeUnit::Month,
            "QUARTER" => TimeUnit::Quarter,
            "YEAR" => TimeUnit::Year,
            "DOW" | "DAYOFWEEK" => TimeUnit::DayOfWeek,
            "DOY" | "DAYOFYEAR" => TimeUnit::DayOfYear,
            _ => return None,
        })
    }

    /// The fixed length of a unit shorter than a month.
    fn fixed_ms(self) -> Option<i64> {
        Some(match self {
            TimeUnit::Second => 1000,
            TimeUnit::Minute => 60_000,
            TimeUnit::Hour => 3_600_000,
            TimeUnit::Day => MS_PER_DAY,
            TimeUnit::Week => 7 * MS_PER_DAY,
            _ => return None,
        })
    }
}

/// The parts of an instant: (year, month, day, hour, minute, second, millisecond).
fn parts(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let (y, m, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    let rem = ms.rem_euclid(MS_PER_DAY);
    (
        y,
        m,
        d,
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    )
}

/// `EXTRACT(unit FROM ts)`.
pub fn extract(unit: TimeUnit, ms: i64) -> i64 {
    let (y, m, d, h, min, s, _) = parts(ms);
    let days = ms.div_euclid(MS_PER_DAY);
    match unit {
        TimeUnit::Second => s,
        TimeUnit::Minute => min,
        TimeUnit::Hour => h,
        TimeUnit::Day => d as i64,
        TimeUnit::Month => m as i64,
        TimeUnit::Quarter => (m as i64 - 1) / 3 + 1,
        TimeUnit::Year => y,
        // 1970-01-01 was a Thursday (5 with Sunday = 1).
        TimeUnit::DayOfWeek => (days + 4).rem_euclid(7) + 1,
        TimeUnit::DayOfYear => days - days_from_civil(y, 1, 1) + 1,
        TimeUnit::Week => iso_week(y, days),
    }
}

/// The ISO 8601 week number of day `days` (in year `y`).
fn iso_week(y: i64, days: i64) -> i64 {
    // Monday = 0.
    let weekday = (days + 3).rem_euclid(7);
    let thursday = days - weekday + 3;
    let (ty, _, _) = civil_from_days(thursday);
    let _ = y;
    (thursday - days_from_civil(ty, 1, 1)) / 7 + 1
}

/// `FLOOR(ts TO unit)`: the start of the unit containing `ms` (weeks start on Sunday, as in
/// Calcite).
pub fn floor(unit: TimeUnit, ms: i64) -> i64 {
    if unit == TimeUnit::Week {
        // 1970-01-04 was a Sunday.
        let origin = 3 * MS_PER_DAY;
        let w = 7 * MS_PER_DAY;
        return (ms - origin).div_euclid(w) * w + origin;
    }
    if let Some(len) = unit.fixed_ms() {
        return ms.div_euclid(len) * len;
    }
    let (y, m, _, _, _, _, _) = parts(ms);
    let (y, m) = match unit {
        TimeUnit::Month => (y, m),
        TimeUnit::Quarter => (y, (m - 1) / 3 * 3 + 1),
        _ => (y, 1),
    };
    days_from_civil(y, m, 1) * MS_PER_DAY
}

/// `CEIL(ts TO unit)`: `ms` itself when it is a unit boundary, else the next one.
pub fn ceil(unit: TimeUnit, ms: i64) -> i64 {
    let f = floor(unit, ms);
    if f == ms {
        return ms;
    }
    match unit.fixed_ms() {
        Some(len) => f + len,
        None => {
            let (y, m, _, _, _, _, _) = parts(f);
            let months = match unit {
                TimeUnit::Month => 1,
                TimeUnit::Quarter => 3,
                _ => 12,
            };
            add_months(y, m, months)
        }
    }
}

fn add_months(y: i64, m: u32, n: i64) -> i64 {
    let total = y * 12 + (m as i64 - 1) + n;
    days_from_civil(total.div_euclid(12), (total.rem_euclid(12) + 1) as u32, 1) * MS_PER_DAY
}

/// `TIMESTAMPDIFF(unit, a, b)`: whole units from `a` to `b`, truncated toward zero; months,
/// quarters and years count calendar months (a month is complete when the day and time of day
/// are reached), as Calcite does.
pub fn diff(unit: TimeUnit, a: i64, b: i64) -> i64 {
    if let Some(len) = unit.fixed_ms() {
        return (b - a) / len;
    }
    let (ya, ma, da, ..) = parts(a);
    let (yb, mb, db, ..) = parts(b);
    let mut months = (yb - ya) * 12 + (mb as i64 - ma as i64);
    let rest = |d: u32, ms: i64| (d as i64) * MS_PER_DAY + ms.rem_euclid(MS_PER_DAY);
    let (ra, rb) = (rest(da, a), rest(db, b));
    if months > 0 && rb < ra {
        months -= 1;
    } else if months < 0 && rb > ra {
        months += 1;
    }
    match unit {
        TimeUnit::Quarter => months / 3,
        TimeUnit::Year => months / 12,
        _ => months,
    }
}

/// One element of a date pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A field letter repeated `n` times (`yyyy`, `MM`, `SSS`).
    Field(char, usize),
    Lit(String),
}

/// A `SimpleDateFormat`-style pattern: `y M d H m s S` fields, `'quoted'` text, other
/// characters as themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePattern(Vec<Token>);

impl DatePattern {
    /// Parses a pattern; Err names a letter that is not supported.
    pub fn parse(p: &str) -> Result<DatePattern, String> {
        let mut tokens = Vec::new();
        let mut chars = p.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                let mut lit = String::new();
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    lit.push(q);
                }
                // '' is a literal quote.
                tokens.push(Token::Lit(if lit.is_empty() { "'".into() } else { lit }));
            } else if c.is_ascii_alphabetic() {
                if !matches!(c, 'y' | 'M' | 'd' | 'H' | 'm' | 's' | 'S') {
                    return Err(format!("pattern letter {c:?} is not supported"));
                }
                let mut n = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    n += 1;
                }
                tokens.push(Token::Field(c, n));
            } else {
                tokens.push(Token::Lit(c.to_string()));
            }
        }
        Ok(DatePattern(tokens))
    }

    pub fn format(&self, ms: i64) -> String {
        let (y, m, d, h, min, s, milli) = parts(ms);
        let mut out = String::new();
        for t in &self.0 {
            match t {
                Token::Lit(l) => out.push_str(l),
                Token::Field(c, n) => {
                    let v = match c {
                        'y' if *n == 2 => y.rem_euclid(100),
                        'y' => y,
                        'M' => m as i64,
                        'd' => d as i64,
                        'H' => h,
                        'm' => min,
                        's' => s,
                        _ => {
                            // Fraction of a second: the first n digits of the milliseconds.
                            let digits = format!("{milli:03}");
                            let mut f: String = digits.chars().take(*n).collect();
                            while f.len() < *n {
                                f.push('0');
                            }
                            out.push_str(&f);
                            continue;
                        }
                    };
                    let _ = write!(out, "{v:0width$}", width = *n);
                }
            }
        }
        out
    }

    /// Reads `text` with this pattern (UTC); None when it does not match.
    pub fn read(&self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        let mut at = 0;
        let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut ms) = (1970, 1, 1, 0, 0, 0, 0);
        for (i, t) in self.0.iter().enumerate() {
            match t {
                Token::Lit(l) => {
                    if !text.get(at..)?.starts_with(l.as_str()) {
                        return None;
                    }
                    at += l.len();
                }
                Token::Field(c, n) => {
                    // A field followed by another field reads exactly n digits; else as many
                    // as there are (SimpleDateFormat's lenient numbers).
                    let fixed = matches!(self.0.get(i + 1), Some(Token::Field(..)));
                    let start = at;
                    while at < b.len() && b[at].is_ascii_digit() && (!fixed || at - start < *n) {
                        at += 1;
                    }
                    if at == start || at - start > 9 {
                        return None;
                    }
                    let v: i64 = text[start..at].parse().ok()?;
                    match c {
                        'y' => y = v,
                        'M' => mo = v,
                        'd' => d = v,
                        'H' => h = v,
                        'm' => mi = v,
                        's' => s = v,
                        _ => {
                            let digits = (at - start) as u32;
                            ms = if digits >= 3 {
                                v / 10i64.pow(digits - 3)
                            } else {
                                v * 10i64.pow(3 - digits)
                            };
                        }
                    }
                }
            }
        }
        if at != b.len()
            || !(1..=12).contains(&mo)
            || !(1..=31).contains(&d)
            || h > 23
            || mi > 59
            || s > 59
        {
            return None;
        }
        let days = days_from_civil(y, mo as u32, d as u32);
        Some(days * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + s * 1000 + ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::parse;

    fn t(s: &str) -> i64 {
        parse(s).unwrap()
    }

    #[test]
    fn extract_gives_calendar_fields() {
        let ms = t("2026-03-25 10:20:30.456"); // a Wednesday
        assert_eq!(extract(TimeUnit::Year, ms), 2026);
        assert_eq!(extract(TimeUnit::Quarter, ms), 1);
        assert_eq!(extract(TimeUnit::Month, ms), 3);
        assert_eq!(extract(TimeUnit::Day, ms), 25);
        assert_eq!(extract(TimeUnit::Hour, ms), 10);
        assert_eq!(extract(TimeUnit::Minute, ms), 20);
        assert_eq!(extract(TimeUnit::Second, ms), 30);
        assert_eq!(extract(TimeUnit::DayOfWeek, ms), 4);
        assert_eq!(extract(TimeUnit::DayOfYear, ms), 84);
        assert_eq!(extract(TimeUnit::Week, ms), 13);
        assert_eq!(extract(TimeUnit::Week, t("2027-01-01")), 53);
    }

    #[test]
    fn floor_and_ceil_align_to_units() {
        let ms = t("2026-03-25 10:20:30.456");
        assert_eq!(floor(TimeUnit::Hour, ms), t("2026-03-25 10:00:00"));
        assert_eq!(floor(TimeUnit::Day, ms), t("2026-03-25"));
        assert_eq!(floor(TimeUnit::Week, ms), t("2026-03-22"));
        assert_eq!(floor(TimeUnit::Month, ms), t("2026-03-01"));
        assert_eq!(floor(TimeUnit::Quarter, ms), t("2026-01-01"));
        assert_eq!(floor(TimeUnit::Year, ms), t("2026-01-01"));
        assert_eq!(ceil(TimeUnit::Minute, ms), t("2026-03-25 10:21:00"));
        assert_eq!(ceil(TimeUnit::Month, ms), t("2026-04-01"));
        assert_eq!(ceil(TimeUnit::Day, t("2026-03-25")), t("2026-03-25"));
    }

    #[test]
    fn timestampdiff_truncates_and_counts_calendar_months() {
        let a = t("2026-01-31 10:00:00");
        assert_eq!(diff(TimeUnit::Hour, a, t("2026-01-31 12:59:59")), 2);
        assert_eq!(diff(TimeUnit::Hour, t("2026-01-31 12:59:59"), a), -2);
        assert_eq!(diff(TimeUnit::Month, a, t("2026-02-28 10:00:00")), 0);
        assert_eq!(diff(TimeUnit::Month, a, t("2026-03-31 10:00:00")), 2);
        assert_eq!(diff(TimeUnit::Year, a, t("2027-01-31 09:59:59")), 0);
        assert_eq!(diff(TimeUnit::Day, a, t("2026-02-02 09:00:00")), 1);
    }

    #[test]
    fn patterns_format_and_read_back() {
        let p = DatePattern::parse("yyyy-MM-dd HH:mm:ss.SSS").unwrap();
        let ms = t("2026-03-05 07:08:09.010");
        assert_eq!(p.format(ms), "2026-03-05 07:08:09.010");
        assert_eq!(p.read("2026-03-05 07:08:09.010"), Some(ms));
        let p = DatePattern::parse("yyyyMMdd'T'HH").unwrap();
        assert_eq!(p.format(ms), "20260305T07");
        assert_eq!(p.read("20260305T07"), Some(t("2026-03-05 07:00:00")));
        assert_eq!(p.read("2026-03-05"), None);
        assert!(DatePattern::parse("EEE").is_err());
    }
}
