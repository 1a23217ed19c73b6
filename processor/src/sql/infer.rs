//! Column types for a topic read without `CREATE TABLE`, inferred from the records present
//! when the processor is created, so that `SUM(category)` over a text column or
//! `total > '100'` over a numeric one is refused at creation as with declared types, instead
//! of writing null rows or matching nothing (issue 9).
//!
//! Per top-level field of the sampled JSON objects: all booleans are BOOLEAN, all integers
//! BIGINT, all numbers DOUBLE, all text STRING — except text that all reads as timestamps,
//! which stays untyped (it may be an event-time column and is printed as written). Mixed
//! kinds, objects, arrays and fields never seen stay untyped. Nulls do not count. The result
//! is stored with the processor's version, so a restart compiles the same plan.

use crate::plan::expr::Type;
use crate::sql::table::Hints;

/// The kinds seen for one field.
#[derive(Default, Clone, Copy)]
struct Seen {
    bools: bool,
    ints: bool,
    floats: bool,
    texts: bool,
    timestamps_only: bool,
    other: bool,
}

/// Infers the column types of JSON object records (others are ignored).
pub fn infer<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Hints {
    let mut seen: std::collections::BTreeMap<String, Seen> = Default::default();
    for v in values {
        let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(v)
        else {
            continue;
        };
        for (k, x) in m {
            let s = seen.entry(k).or_insert(Seen {
                timestamps_only: true,
                ..Seen::default()
            });
            match x {
                serde_json::Value::Null => {}
                serde_json::Value::Bool(_) => s.bools = true,
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => s.ints = true,
                serde_json::Value::Number(_) => s.floats = true,
                serde_json::Value::String(t) => {
                    s.texts = true;
                    s.timestamps_only &= crate::timestamp::parse(&t).is_some();
                }
                _ => s.other = true,
            }
        }
    }
    seen.into_iter()
        .filter_map(|(k, s)| {
            let t = match (s.bools, s.ints || s.floats, s.texts, s.other) {
                (true, false, false, false) => Type::Bool,
                (false, true, false, false) if s.floats => Type::Double,
                (false, true, false, false) => Type::Int,
                (false, false, true, false) if !s.timestamps_only => Type::Str,
                _ => return None,
            };
            Some((k, t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_gets_the_one_kind_its_values_share() {
        let rows = [
            r#"{"category":"books","total":12,"n":1,"paid":true,"ts":"2026-03-25 10:00:00","x":1}"#,
            r#"{"category":"toys","total":7.5,"n":null,"paid":false,"ts":"2026-03-25T10:00:01Z","x":"a"}"#,
            r#"not json"#,
            r#"{"nested":{"a":1}}"#,
        ];
        let hints = infer(rows.iter().map(|r| r.as_bytes()));
        assert_eq!(hints.get("category"), Some(&Type::Str));
        assert_eq!(hints.get("total"), Some(&Type::Double));
        assert_eq!(hints.get("n"), Some(&Type::Int));
        assert_eq!(hints.get("paid"), Some(&Type::Bool));
        assert_eq!(hints.get("ts"), None, "timestamps stay untyped");
        assert_eq!(hints.get("x"), None, "mixed kinds stay untyped");
        assert_eq!(hints.get("nested"), None);
    }
}
