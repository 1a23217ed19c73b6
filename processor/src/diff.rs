//! Comparing two versions' outputs, as a reviewer compares code: rows added, removed and changed.
//!
//! A row's identity is its record key plus its string-valued columns (the group key and the
//! window bounds, which are text); its numeric columns are its values. The latest record of an
//! identity wins (outputs are upserts per key), and a tombstone (a keyed record with an empty
//! value) removes its key's rows. Windowed outputs are compared only over windows
//! both versions have emitted: rows whose `window_start` is past the other side's newest are left
//! out (one version may simply be further along).

use crate::limits::DIFF_EXAMPLES_MAX;
use std::collections::BTreeMap;

use serde_json::{json, Value};

pub struct Row {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

type Table = BTreeMap<String, Value>;

fn table(rows: &[Row]) -> (Table, Option<String>) {
    let mut t = Table::new();
    let mut newest_window: Option<String> = None;
    for r in rows {
        let mut id = String::from_utf8_lossy(r.key.as_deref().unwrap_or(b"")).into_owned();
        if r.key.is_some() && r.value.is_empty() {
            // A tombstone: the key's rows are gone from the updating result.
            let prefix = format!("{id}\u{1f}");
            let gone: Vec<String> = t
                .range(id.clone()..)
                .map(|(k, _)| k)
                .take_while(|k| **k == id || k.starts_with(&prefix))
                .cloned()
                .collect();
            for k in gone {
                t.remove(&k);
            }
            continue;
        }
        let v: Value = serde_json::from_slice(&r.value).unwrap_or(Value::Null);
        if let Value::Object(m) = &v {
            for (k, x) in m {
                if let Value::String(s) = x {
                    id.push_str(&format!("\u{1f}{k}={s}"));
                }
            }
            if let Some(Value::String(w)) = m.get("window_start") {
                if newest_window.as_ref().is_none_or(|n| w > n) {
                    newest_window = Some(w.clone());
                }
            }
        }
        t.insert(id, v);
    }
    (t, newest_window)
}

fn window_of(v: &Value) -> Option<&str> {
    v.get("window_start").and_then(Value::as_str)
}

/// `live` against `other`: what `other` adds, removes and changes.
pub fn diff(live: &[Row], other: &[Row]) -> Value {
    let (a, wa) = table(live);
    let (b, wb) = table(other);
    let through = match (wa, wb) {
        (Some(x), Some(y)) => Some(x.min(y)),
        _ => None,
    };
    let compared = |v: &Value| match (&through, window_of(v)) {
        (Some(t), Some(w)) => w <= t.as_str(),
        _ => true,
    };
    let (mut added, mut removed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut n_added, mut n_removed, mut n_changed, mut n_same) = (0, 0, 0, 0);
    for (id, v) in a.iter().filter(|(_, v)| compared(v)) {
        match b.get(id) {
            None => {
                n_removed += 1;
                if removed.len() < DIFF_EXAMPLES_MAX {
                    removed.push(v.clone());
                }
            }
            Some(w) if w != v => {
                n_changed += 1;
                if changed.len() < DIFF_EXAMPLES_MAX {
                    changed.push(json!({"live": v, "new": w}));
                }
            }
            Some(_) => n_same += 1,
        }
    }
    for (id, w) in b.iter().filter(|(_, w)| compared(w)) {
        if !a.contains_key(id) {
            n_added += 1;
            if added.len() < DIFF_EXAMPLES_MAX {
                added.push(w.clone());
            }
        }
    }
    let truncated = n_added > added.len() || n_removed > removed.len() || n_changed > changed.len();
    json!({
        "compared_through_window": through,
        "truncated": truncated,
        "counts": {"added": n_added, "removed": n_removed, "changed": n_changed, "unchanged": n_same},
        "added": added, "removed": removed, "changed": changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, v: Value) -> Row {
        Row {
            key: Some(key.as_bytes().to_vec()),
            value: v.to_string().into_bytes(),
        }
    }

    #[test]
    fn rows_are_matched_by_key_and_text_columns_over_common_windows() {
        let live = vec![
            row(
                "books",
                json!({"window_start": "2026-03-25T10:00:00.000Z", "category": "books", "revenue": 10.0}),
            ),
            row(
                "toys",
                json!({"window_start": "2026-03-25T10:00:00.000Z", "category": "toys", "revenue": 5.0}),
            ),
            row(
                "books",
                json!({"window_start": "2026-03-25T10:01:00.000Z", "category": "books", "revenue": 1.0}),
            ),
        ];
        let other = vec![
            row(
                "books",
                json!({"window_start": "2026-03-25T10:00:00.000Z", "category": "books", "revenue": 12.0}),
            ),
            row(
                "garden",
                json!({"window_start": "2026-03-25T10:00:00.000Z", "category": "garden", "revenue": 3.0}),
            ),
        ];
        let d = diff(&live, &other);
        assert_eq!(
            d["counts"],
            json!({"added": 1, "removed": 1, "changed": 1, "unchanged": 0}),
            "{d}"
        );
        assert_eq!(
            d["compared_through_window"], "2026-03-25T10:00:00.000Z",
            "10:01 is only in the live output"
        );
        assert_eq!(d["changed"][0]["new"]["revenue"], 12.0);
        assert_eq!(d["truncated"], false);
    }

    #[test]
    fn a_diff_with_more_rows_than_it_lists_says_truncated() {
        let other: Vec<Row> = (0..DIFF_EXAMPLES_MAX + 5)
            .map(|i| {
                row(
                    &format!("k{i}"),
                    json!({"category": format!("c{i}"), "n": i}),
                )
            })
            .collect();
        let d = diff(&[], &other);
        assert_eq!(d["counts"]["added"], DIFF_EXAMPLES_MAX + 5);
        assert_eq!(d["added"].as_array().unwrap().len(), DIFF_EXAMPLES_MAX);
        assert_eq!(d["truncated"], true);
    }

    #[test]
    fn a_tombstone_removes_its_keys_row_from_the_compared_table() {
        let live = vec![
            row("books", json!({"category": "books", "revenue": 10.0})),
            row("toys", json!({"category": "toys", "revenue": 5.0})),
        ];
        let mut other = live
            .iter()
            .map(|r| Row {
                key: r.key.clone(),
                value: r.value.clone(),
            })
            .collect::<Vec<_>>();
        other.push(Row {
            key: Some(b"toys".to_vec()),
            value: Vec::new(),
        });
        let d = diff(&live, &other);
        assert_eq!(d["counts"]["removed"], 1, "{d}");
        assert_eq!(d["counts"]["unchanged"], 1, "{d}");
        assert_eq!(d["removed"][0]["category"], "toys");
    }
}
