//! The lazy field extractor: one pass over a record's JSON bytes that decodes only the fields a
//! query uses (nested paths included) and skips everything else without building a tree. This
//! is what keeps per-record cost near the cost of scanning the bytes.

use crate::timestamp::DayCache;
use crate::value::Value;

/// The set of field paths a query reads; each path fills one slot.
#[derive(Debug, Clone, Default)]
pub struct FieldSet {
    root: Node,
    /// The width of a row this set fills: one past its highest slot.
    slots: usize,
    /// How many paths it holds (fewer than `slots` when another set numbers slots in between:
    /// the two sides of a join share one row).
    paths: usize,
    /// Slots whose strings are parsed as timestamps right away (no String is allocated).
    timestamps: Vec<bool>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(String, Node)>,
    slot: Option<usize>,
    /// This node's name needs no escaping in JSON (no quote, backslash or control byte), so
    /// its quoted form can be matched against the raw bytes of a key.
    plain_name: bool,
}

impl FieldSet {
    /// Adds a path (`["user", "id"]` for `user.id`) and returns its slot; the same path always
    /// gets the same slot.
    pub fn add(&mut self, path: &[String]) -> usize {
        self.add_numbered(path, self.slots)
    }

    /// `add`, giving a new path the slot `next` (at or above `slots()`) instead of the next one
    /// of its own: two sets numbering into one row.
    pub fn add_numbered(&mut self, path: &[String], next: usize) -> usize {
        debug_assert!(next >= self.slots, "slots are numbered upwards");
        let mut node = &mut self.root;
        for part in path {
            let i = match node.children.iter().position(|(n, _)| n == part) {
                Some(i) => i,
                None => {
                    let plain_name = part.bytes().all(|c| c >= 0x20 && c != b'"' && c != b'\\');
                    let child = Node {
                        plain_name,
                        ..Node::default()
                    };
                    node.children.push((part.clone(), child));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[i].1;
        }
        if let Some(slot) = node.slot {
            return slot;
        }
        node.slot = Some(next);
        self.paths += 1;
        self.slots = next + 1;
        self.timestamps.resize(self.slots, false);
        next
    }

    /// The dotted path of `slot` (for error messages; a walk of the tree).
    pub fn path_of(&self, slot: usize) -> Option<String> {
        fn walk(node: &Node, slot: usize, path: &mut Vec<String>) -> bool {
            if node.slot == Some(slot) {
                return true;
            }
            for (name, child) in &node.children {
                path.push(name.clone());
                if walk(child, slot, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        let mut path = Vec::new();
        walk(&self.root, slot, &mut path).then(|| path.join("."))
    }

    /// The slots this set fills, ascending.
    pub fn filled_slots(&self) -> Vec<usize> {
        fn walk(node: &Node, out: &mut Vec<usize>) {
            out.extend(node.slot);
            for (_, child) in &node.children {
                walk(child, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out.sort_unstable();
        out
    }

    /// Decodes strings in `slot` straight to `Value::Ts` when they parse as timestamps.
    pub fn parse_timestamps(&mut self, slot: usize) {
        self.timestamps[slot] = true;
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Fills `out` (length `slots()`) with the fields of `json`; absent fields are NULL.
    pub fn extract(&self, json: &[u8], out: &mut [Value]) -> Result<(), String> {
        self.extract_cached(json, out, &mut DayCache::default())
    }

    /// `extract`, with a day cache the caller keeps from record to record (timestamp slots).
    pub fn extract_cached(
        &self,
        json: &[u8],
        out: &mut [Value],
        days: &mut DayCache,
    ) -> Result<(), String> {
        // Strings left in `out` (by the caller, from an earlier record) keep their buffers for
        // the string of the same slot, saving an allocation per string field and record; every
        // slot this record does not fill is NULL again at the end.
        let reuse = out.len() <= FILLED_SLOTS_MAX;
        for v in out.iter_mut() {
            if !(reuse && matches!(v, Value::Str(_))) {
                *v = Value::Null;
            }
        }
        if self.paths == 0 {
            return Ok(());
        }
        let mut c = Cursor {
            b: json,
            i: 0,
            left: self.paths,
            timestamps: &self.timestamps,
            days,
            filled: 0,
        };
        c.ws();
        let result = if c.peek() != Some(b'{') {
            Err("the record value is not a JSON object".to_string())
        } else {
            c.object(&self.root, out)
        };
        if reuse {
            for (slot, v) in out.iter_mut().enumerate() {
                if c.filled & (1 << slot) == 0 {
                    *v = Value::Null;
                }
            }
        }
        result
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    /// Slots not filled yet: at 0 the rest of the record is not even scanned.
    left: usize,
    timestamps: &'a [bool],
    days: &'a mut DayCache,
    /// Bit `slot` is set once the slot is filled (used when slots <= FILLED_SLOTS_MAX).
    filled: u64,
}

/// Up to this many slots, `filled` tracks which were filled and string buffers are reused.
const FILLED_SLOTS_MAX: usize = 64;

/// The index of the first `"` or `\\` in `b`. Eight bytes at a time (SWAR): the lowest flagged
/// byte of `(x - 0x01..) & !x & 0x80..` is exactly the first zero byte of `x`, so short strings
/// end in one predictable step instead of a mispredicted branch per byte.
fn find_quote_or_backslash(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut i = 0;
    while i + 8 <= b.len() {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
        let m = zero(w ^ (LO * u64::from(b'"'))) | zero(w ^ (LO * u64::from(b'\\')));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|n| i + n)
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }
    fn err(&self, what: &str) -> String {
        format!("invalid JSON at byte {}: {what}", self.i)
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    /// Reads an object at the cursor, descending into fields `node` names.
    fn object(&mut self, node: &Node, out: &mut [Value]) -> Result<(), String> {
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            // A wanted key is recognised in place (`"name"`), without searching for its closing
            // quote; any other key is scanned, and then only an escaped one can still match.
            let child = match self.wanted_key(node) {
                Some(child) => Some(child),
                None => {
                    let (start, end, escaped) = self.string_span()?;
                    if escaped {
                        let key = decode_string(&self.b[start - 1..end + 1])?;
                        node.children.iter().find(|(n, _)| *n == key)
                    } else {
                        // Plain names were tried above; only an odd name may still match.
                        let key = &self.b[start..end];
                        node.children
                            .iter()
                            .find(|(n, c)| !c.plain_name && n.as_bytes() == key)
                    }
                }
            };
            // Most keys are followed directly by the colon: no whitespace scan then.
            if self.peek() == Some(b':') {
                self.i += 1;
            } else {
                self.expect(b':')?;
            }
            self.ws();
            match child {
                Some((_, child)) => self.field(child, out)?,
                None => self.skip()?,
            }
            if self.left == 0 {
                return Ok(());
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    /// The child of `node` whose name, quoted, starts at the cursor (the cursor moves past it).
    fn wanted_key<'n>(&mut self, node: &'n Node) -> Option<&'n (String, Node)> {
        let rest = self.b.get(self.i..)?;
        let (&b'"', rest) = rest.split_first()? else {
            return None;
        };
        let child = node.children.iter().find(|(n, c)| {
            let n = n.as_bytes();
            c.plain_name
                && rest.len() > n.len()
                && rest[n.len()] == b'"'
                && n.iter().zip(rest).all(|(a, b)| a == b)
        })?;
        self.i += child.0.len() + 2;
        Some(child)
    }

    fn fill(&mut self, slot: usize) {
        self.left -= 1;
        if slot < FILLED_SLOTS_MAX {
            self.filled |= 1 << slot;
        }
    }

    fn field(&mut self, node: &Node, out: &mut [Value]) -> Result<(), String> {
        let start = self.i;
        if !node.children.is_empty() && self.peek() == Some(b'{') {
            self.object(node, out)?;
            if let Some(slot) = node.slot {
                // The slot itself is still unfilled, so the scan above did not stop early.
                out[slot] =
                    Value::Json(String::from_utf8_lossy(&self.b[start..self.i]).into_owned());
                self.fill(slot);
            }
            return Ok(());
        }
        match node.slot {
            Some(slot) if self.timestamps[slot] && self.peek() == Some(b'"') => {
                let (s, e, escaped) = self.string_span()?;
                out[slot] = match crate::timestamp::parse_bytes_cached(&self.b[s..e], self.days) {
                    Some(ms) if !escaped => Value::Ts(ms),
                    _ if escaped => Value::Str(decode_string(&self.b[s - 1..e + 1])?),
                    _ => Value::Str(
                        std::str::from_utf8(&self.b[s..e])
                            .map_err(|_| self.err("invalid UTF-8"))?
                            .to_string(),
                    ),
                };
                self.fill(slot);
            }
            Some(slot) => {
                match (&mut out[slot], self.peek()) {
                    (Value::Str(buf), Some(b'"')) => {
                        let (s, e, escaped) = self.string_span()?;
                        if escaped {
                            *buf = decode_string(&self.b[s - 1..e + 1])?;
                        } else {
                            let text = std::str::from_utf8(&self.b[s..e])
                                .map_err(|_| self.err("invalid UTF-8"))?;
                            buf.clear();
                            buf.push_str(text);
                        }
                    }
                    (v, _) => *v = self.scalar()?,
                }
                self.fill(slot);
            }
            None => self.skip()?,
        }
        Ok(())
    }

    /// The span of the string's contents (between the quotes) and whether it has escapes.
    fn string_span(&mut self) -> Result<(usize, usize, bool), String> {
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string"));
        }
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            let Some(n) = find_quote_or_backslash(&self.b[self.i.min(self.b.len())..]) else {
                self.i = self.b.len();
                return Err(self.err("unterminated string"));
            };
            if self.b[self.i + n] == b'"' {
                self.i += n + 1;
                return Ok((start, self.i - 1, escaped));
            }
            escaped = true;
            self.i += n + 2;
        }
    }

    fn scalar(&mut self) -> Result<Value, String> {
        let start = self.i;
        match self.peek() {
            Some(b'"') => {
                let (s, e, escaped) = self.string_span()?;
                let text = if escaped {
                    decode_string(&self.b[s - 1..e + 1])?
                } else {
                    std::str::from_utf8(&self.b[s..e])
                        .map_err(|_| self.err("invalid UTF-8"))?
                        .to_string()
                };
                Ok(Value::Str(text))
            }
            Some(b'{' | b'[') => {
                self.skip()?;
                Ok(Value::Json(
                    String::from_utf8_lossy(&self.b[start..self.i]).into_owned(),
                ))
            }
            Some(b't') => self.word(b"true", Value::Bool(true)),
            Some(b'f') => self.word(b"false", Value::Bool(false)),
            Some(b'n') => self.word(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => {
                let mut float = false;
                while let Some(c) = self.peek() {
                    match c {
                        b'0'..=b'9' | b'-' | b'+' => {}
                        b'.' | b'e' | b'E' => float = true,
                        _ => break,
                    }
                    self.i += 1;
                }
                let bytes = &self.b[start..self.i];
                if float {
                    if let Some(f) = fast_decimal(bytes) {
                        return Ok(Value::Float(f));
                    }
                }
                let text = std::str::from_utf8(bytes).expect("ascii number");
                if !float {
                    if let Ok(i) = text.parse::<i64>() {
                        return Ok(Value::Int(i));
                    }
                }
                text.parse::<f64>()
                    .map(Value::Float)
                    .map_err(|_| self.err("invalid number"))
            }
            _ => Err(self.err("expected a value")),
        }
    }

    fn word(&mut self, w: &[u8], v: Value) -> Result<Value, String> {
        if self.b[self.i..].starts_with(w) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.err("expected a value"))
        }
    }

    /// Skips one value without decoding it.
    fn skip(&mut self) -> Result<(), String> {
        match self.peek() {
            Some(b'"') => self.string_span().map(|_| ()),
            Some(open @ (b'{' | b'[')) => {
                let close = if open == b'{' { b'}' } else { b']' };
                let mut depth = 0usize;
                loop {
                    match self.peek() {
                        Some(b'"') => {
                            self.string_span()?;
                            continue;
                        }
                        Some(c) if c == b'{' || c == b'[' => depth += 1,
                        Some(c) if c == b'}' || c == b']' => {
                            depth -= 1;
                            if depth == 0 {
                                if c != close {
                                    return Err(self.err("mismatched bracket"));
                                }
                                self.i += 1;
                                return Ok(());
                            }
                        }
                        Some(_) => {}
                        None => return Err(self.err("unterminated value")),
                    }
                    self.i += 1;
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.peek() {
                    self.i += 1;
                }
                if self.b[start..self.i].iter().any(u8::is_ascii_digit) {
                    Ok(())
                } else {
                    Err(self.err("invalid number"))
                }
            }
            Some(_) => self.scalar().map(|_| ()),
            None => Err(self.err("expected a value")),
        }
    }
}

/// Clinger's fast path for plain decimals (`-?digits.digits`, at most 15 significant digits):
/// the mantissa and the power of ten are exact doubles, so one IEEE division is the correctly
/// rounded result — bit-identical to `str::parse::<f64>`. Anything else returns None.
fn fast_decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut frac: Option<usize> = None;
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                count += 1;
            }
            b'.' if frac.is_none() && i > 0 && i + 1 < digits.len() => {
                frac = Some(digits.len() - i - 1)
            }
            _ => return None,
        }
    }
    if count == 0 || count > 15 {
        return None;
    }
    let f = mantissa as f64 / POW10[frac.unwrap_or(0)];
    Some(if neg { -f } else { f })
}

fn decode_string(quoted: &[u8]) -> Result<String, String> {
    serde_json::from_slice::<String>(quoted).map_err(|e| format!("invalid JSON string: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(String::from).collect()
    }

    #[test]
    fn extracts_only_the_named_fields_including_nested_ones() {
        let mut fs = FieldSet::default();
        let total = fs.add(&path("total"));
        let city = fs.add(&path("user.address.city"));
        let cat = fs.add(&path("category"));
        let missing = fs.add(&path("nope"));
        let mut out = vec![Value::Null; fs.slots()];
        let json = br#"{"id":"a\"b","tags":[1,{"x":"}"}],"total":12.5,"user":{"name":"x","address":{"city":"Oslo"}},"category":"bo\u006fks"}"#;
        fs.extract(json, &mut out).unwrap();
        assert_eq!(out[total], Value::Float(12.5));
        assert_eq!(out[city], Value::Str("Oslo".into()));
        assert_eq!(out[cat], Value::Str("books".into()));
        assert_eq!(out[missing], Value::Null);
    }

    #[test]
    fn whole_nested_objects_are_kept_as_raw_json() {
        let mut fs = FieldSet::default();
        let u = fs.add(&path("user"));
        let mut out = vec![Value::Null; 1];
        fs.extract(br#"{"user": {"a": [1, 2]}, "n": 3}"#, &mut out)
            .unwrap();
        assert_eq!(out[u], Value::Json(r#"{"a": [1, 2]}"#.into()));
    }

    #[test]
    fn timestamp_slots_decode_without_a_string_and_the_scan_stops_when_all_are_found() {
        let mut fs = FieldSet::default();
        let ts = fs.add(&path("ts"));
        fs.parse_timestamps(ts);
        let mut out = vec![Value::Null; 1];
        // The garbage after the last needed field is never looked at.
        fs.extract(br#"{"ts":"1970-01-01T00:00:01.5Z", "rest": ]]]"#, &mut out)
            .unwrap();
        assert_eq!(out[ts], Value::Ts(1500));
        fs.extract(br#"{"ts":"not a time"}"#, &mut out).unwrap();
        assert_eq!(out[ts], Value::Str("not a time".into()));
        let long = format!(
            r#"{{"pad":"{}\"x","ts":"1970-01-01T00:00:00Z"}}"#,
            "y".repeat(37)
        );
        fs.extract(long.as_bytes(), &mut out).unwrap();
        assert_eq!(out[ts], Value::Ts(0));
    }

    #[test]
    fn strings_left_in_the_row_are_refilled_or_become_null_when_absent() {
        let mut fs = FieldSet::default();
        let a = fs.add(&path("a"));
        let b = fs.add(&path("b"));
        let ts = fs.add(&path("ts"));
        fs.parse_timestamps(ts);
        // The caller leaves strings from an earlier record (as the GROUP BY key swap does).
        let mut out = vec![
            Value::Str("stale a".into()),
            Value::Str("stale b".into()),
            Value::Str("stale ts".into()),
        ];
        fs.extract(br#"{"a":"xA","ts":"1970-01-01T00:00:00.002Z"}"#, &mut out)
            .unwrap();
        assert_eq!(out[a], Value::Str("xA".into()));
        assert_eq!(out[b], Value::Null);
        assert_eq!(out[ts], Value::Ts(2));
        out[b] = Value::Str("stale b".into());
        fs.extract(br#"{"b":7,"a":"y"}"#, &mut out).unwrap();
        assert_eq!(out[a], Value::Str("y".into()));
        assert_eq!(out[b], Value::Int(7));
        assert_eq!(out[ts], Value::Null);
        out[ts] = Value::Str("stale ts".into());
        assert!(fs.extract(br#"{"b":1,"a":"z" ]"#, &mut out).is_err());
        assert_eq!(
            out[ts],
            Value::Null,
            "unfilled slots are NULL after an error too"
        );
    }

    #[test]
    fn keys_match_by_their_decoded_text_whether_escaped_or_odd() {
        let mut fs = FieldSet::default();
        let ts = fs.add(&path("ts"));
        let tsx = fs.add(&path("tsx"));
        let tab = fs.add(&["a\tb".to_string()]);
        let quote = fs.add(&["q\"".to_string()]);
        let mut out = vec![Value::Null; fs.slots()];
        let json = b"{\"tsx\":1,\"t\\u0073\":2,\"a\tb\":3,\"q\\\"\":4,\"ts\\\"\":5}";
        fs.extract(json, &mut out).unwrap();
        assert_eq!(out[tsx], Value::Int(1));
        assert_eq!(out[ts], Value::Int(2));
        assert_eq!(out[tab], Value::Int(3));
        assert_eq!(out[quote], Value::Int(4));
        // A key is matched whole: `ts` is not a prefix match of `ts"` (that key is `ts\"`).
        let mut fs = FieldSet::default();
        let ts = fs.add(&path("ts"));
        let mut out = vec![Value::Null; 1];
        fs.extract(br#"{"tsa":1,"t":2}"#, &mut out).unwrap();
        assert_eq!(out[ts], Value::Null);
    }

    #[test]
    fn the_decimal_fast_path_agrees_with_the_standard_parser() {
        for text in [
            "0.1",
            "123.45",
            "-2.675",
            "0.30000000000000004",
            "99999999999999.9",
            "1.0",
            "10.25",
            "-0.0",
        ] {
            let expected: f64 = text.parse().unwrap();
            match fast_decimal(text.as_bytes()) {
                Some(f) => assert_eq!(f.to_bits(), expected.to_bits(), "{text}"),
                None => assert!(text.len() > 16, "{text} should take the fast path"),
            }
        }
        let mut x: u64 = 12345;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let text = format!("{}.{}", x % 1_000_000, x / 7 % 100_000);
            let expected: f64 = text.parse().unwrap();
            assert_eq!(
                fast_decimal(text.as_bytes()).map(f64::to_bits),
                Some(expected.to_bits()),
                "{text}"
            );
        }
        for bad in ["1.", ".5", "1.2.3", "-", "1e5", "12345678901234567.5"] {
            assert_eq!(fast_decimal(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn quote_search_agrees_with_a_byte_scan() {
        let mut x: u64 = 99;
        for len in 0..40 {
            for _ in 0..200 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        [
                            b'a',
                            b'"',
                            b'\\',
                            0x80,
                            0x22 ^ 0x80,
                            0x5c ^ 0x01,
                            0xff,
                            b'z',
                        ][(x % 8) as usize]
                    })
                    .collect();
                let expected = b.iter().position(|&c| c == b'"' || c == b'\\');
                assert_eq!(find_quote_or_backslash(&b), expected, "{b:?}");
            }
        }
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        let mut fs = FieldSet::default();
        fs.add(&path("a"));
        let mut out = vec![Value::Null; 1];
        for bad in [
            &b"[1]"[..],
            b"{",
            b"{\"a\":",
            b"{\"a\" 1}",
            b"{\"a\":tru}",
            b"",
            b"{\"b\":[}",
        ] {
            assert!(
                fs.extract(bad, &mut out).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
