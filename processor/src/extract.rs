//! The lazy field extractor: one pass over a record's JSON bytes that decodes only the fields a
//! query uses (nested paths included) and skips everything else without building a tree. This
//! is what keeps per-record cost near the cost of scanning the bytes.

use crate::value::Value;

/// The set of field paths a query reads; each path fills one slot.
#[derive(Debug, Clone, Default)]
pub struct FieldSet {
    root: Node,
    slots: usize,
}

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(String, Node)>,
    slot: Option<usize>,
}

impl FieldSet {
    /// Adds a path (`["user", "id"]` for `user.id`) and returns its slot; the same path always
    /// gets the same slot.
    pub fn add(&mut self, path: &[String]) -> usize {
        let mut node = &mut self.root;
        for part in path {
            let i = match node.children.iter().position(|(n, _)| n == part) {
                Some(i) => i,
                None => {
                    node.children.push((part.clone(), Node::default()));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[i].1;
        }
        if let Some(slot) = node.slot {
            return slot;
        }
        node.slot = Some(self.slots);
        self.slots += 1;
        self.slots - 1
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Fills `out` (length `slots()`) with the fields of `json`; absent fields are NULL.
    pub fn extract(&self, json: &[u8], out: &mut [Value]) -> Result<(), String> {
        for v in out.iter_mut() {
            *v = Value::Null;
        }
        if self.slots == 0 {
            return Ok(());
        }
        let mut c = Cursor { b: json, i: 0 };
        c.ws();
        if c.peek() != Some(b'{') {
            return Err("the record value is not a JSON object".into());
        }
        c.object(&self.root, out)?;
        Ok(())
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
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
            let (start, end, escaped) = self.string_span()?;
            self.expect(b':')?;
            self.ws();
            let child = if escaped {
                let key = decode_string(&self.b[start - 1..end + 1])?;
                node.children.iter().find(|(n, _)| *n == key)
            } else {
                let key = &self.b[start..end];
                node.children.iter().find(|(n, _)| n.as_bytes() == key)
            };
            match child {
                Some((_, child)) => self.field(child, out)?,
                None => self.skip()?,
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

    fn field(&mut self, node: &Node, out: &mut [Value]) -> Result<(), String> {
        let start = self.i;
        if !node.children.is_empty() && self.peek() == Some(b'{') {
            self.object(node, out)?;
            if let Some(slot) = node.slot {
                out[slot] =
                    Value::Json(String::from_utf8_lossy(&self.b[start..self.i]).into_owned());
            }
            return Ok(());
        }
        match node.slot {
            Some(slot) => out[slot] = self.scalar()?,
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
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok((start, self.i - 1, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    self.i += 2;
                }
                Some(_) => self.i += 1,
                None => return Err(self.err("unterminated string")),
            }
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
                let text = std::str::from_utf8(&self.b[start..self.i]).expect("ascii number");
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
            Some(_) => self.scalar().map(|_| ()),
            None => Err(self.err("expected a value")),
        }
    }
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
