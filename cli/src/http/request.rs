//! Reading a request: query parameters and the body, under a byte limit.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::error::{ApiError, ApiResult};

/// Collects the body, refusing more than `max_bytes` with 413.
pub async fn body_bytes(body: Incoming, max_bytes: usize) -> ApiResult<Bytes> {
    match Limited::new(body, max_bytes).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::too_large(format!(
                "request body exceeds the limit of {max_bytes} bytes (--max-body-bytes)"
            )))
        }
        Err(e) => Err(ApiError::bad_request(
            "bad_body",
            format!("reading the request body: {e}"),
        )),
    }
}

pub async fn body_json<T: serde::de::DeserializeOwned>(
    body: Incoming,
    max_bytes: usize,
) -> ApiResult<T> {
    let bytes = body_bytes(body, max_bytes).await?;
    serde_json::from_slice(&bytes).map_err(|e| json_error(&bytes, &e))
}

/// A body that is not JSON is `bad_json`; valid JSON of the wrong shape (a missing field, a
/// string where a number goes) is `bad_request` naming the field — in JSON's words, not
/// serde's Rust type names (issue 15).
pub fn json_error(body: &[u8], e: &serde_json::Error) -> ApiError {
    let (line, column) = (e.line(), e.column());
    if !e.is_data() {
        return ApiError::bad_request(
            "bad_json",
            format!(
                "invalid JSON at line {line} column {column}: {}",
                plain(&e.to_string())
            ),
        );
    }
    let message = plain(&e.to_string());
    let message = match field_before(body, line, column) {
        Some(field) if !message.contains('`') => format!("field \"{field}\": {message}"),
        _ => message,
    };
    ApiError::bad_request("bad_request", format!("wrong request body: {message}"))
}

/// serde's message without its position suffix and with JSON type names for Rust's.
fn plain(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let mut out = message.to_string();
    for (rust, json) in [
        ("expected usize", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected u8", "expected a non-negative integer"),
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
    ] {
        out = out.replace(rust, json);
    }
    if let Some(i) = out.find("expected struct ") {
        out.replace_range(i.., "expected an object");
    }
    if let Some(i) = out.find("expected enum ") {
        out.replace_range(i.., "expected one of the documented values");
    }
    out
}

/// The name of the object key whose value ends at `line`:`column` (where serde stops).
fn field_before(body: &[u8], line: usize, column: usize) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let upto = text.get(..(start + column).min(text.len()))?;
    let colon = upto.rfind(':')?;
    let key_end = upto[..colon].trim_end().strip_suffix('"')?;
    let key_start = key_end.rfind('"')?;
    Some(key_end[key_start + 1..].to_string())
}

/// A JSON number that is a non-negative whole number, `5` or `5.0` alike (JSON Schema calls
/// both integers, and clients in languages without integers send the second).
pub fn whole_u64(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            // `u64::MAX as f64` is 2^64, one past the largest u64: strictly below it.
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// `deserialize_with` for whole-number fields: `5` and `5.0` alike, in JSON's words on error.
pub fn whole<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error;
    let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
    whole_u64(&v)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            D::Error::custom(format!(
                "invalid value {v}, expected a non-negative integer in range"
            ))
        })
}

/// `whole` for an optional field (null or absent is None).
pub fn whole_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error;
    let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    whole_u64(&v)
        .and_then(|n| T::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "invalid value {v}, expected a non-negative integer in range"
            ))
        })
}

/// Query parameters, percent-decoded.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: Option<&str>) -> Query {
        let pairs = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Query(pairs)
    }
    /// The parameter names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn parse_u64(&self, name: &str) -> ApiResult<Option<u64>> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(
                        "bad_parameter",
                        format!("query parameter {name}={v:?} is not a non-negative integer"),
                    )
                })
            })
            .transpose()
    }
}

/// Decodes `%XX` and `+`; invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Create {
        name: String,
        partitions: Option<u32>,
    }

    /// Issue 15: a type error in valid JSON was called "invalid JSON" with Rust type names.
    #[test]
    fn a_type_error_names_the_field_in_json_terms() {
        let body = br#"{"name": "x", "partitions": "a"}"#;
        let e = serde_json::from_slice::<Create>(body).unwrap_err();
        let api = json_error(body, &e);
        assert_eq!(api.code, "bad_request");
        assert!(!api.message.contains("invalid JSON"), "{}", api.message);
        assert!(!api.message.contains("u32"), "{}", api.message);
        assert!(api.message.contains("\"partitions\""), "{}", api.message);
        assert!(
            api.message.contains("non-negative integer"),
            "{}",
            api.message
        );

        let body = br#"{"partitions": 1}"#;
        let e = serde_json::from_slice::<Create>(body).unwrap_err();
        let api = json_error(body, &e);
        assert!(
            api.message.contains("missing field `name`"),
            "{}",
            api.message
        );

        let body = br#"[1]"#;
        let e = serde_json::from_slice::<Create>(body).unwrap_err();
        assert!(!json_error(body, &e).message.contains("Create"));

        let body = br#"{"name": "#;
        let e = serde_json::from_slice::<Create>(body).unwrap_err();
        assert_eq!(json_error(body, &e).code, "bad_json");
    }

    #[test]
    fn percent_decoding_handles_escapes_and_garbage() {
        assert_eq!(percent_decode("%2e%2e"), "..");
        assert_eq!(percent_decode("a+b%20c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
