//! The materialized results view behind `GET /v1/processors/{p}/results`: the latest row per
//! (window start, key), or the latest rows of a plain map. A tombstone of an updating result
//! removes its key's row, so the view is the current table. Bounded by RESULTS_ROWS_MAX; the
//! oldest windows (or rows) are evicted first. It is part of the checkpointed state.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::limits::RESULTS_ROWS_MAX;

/// One row of the materialized results: the JSON text as written, so its columns stay in
/// SELECT order.
pub type ResultRow = Box<serde_json::value::RawValue>;

/// Which rows the results endpoint returns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResultsFilter {
    /// The row's key as text (a single string key is its text; others their JSON).
    pub key: Option<String>,
    /// Only rows of the window starting at this time (ms since the epoch).
    pub window_start_ms: Option<i64>,
    /// At most this many rows (the newest windows are kept when cut).
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    /// (window start or i64::MIN, key text, 0) -> the latest JSON row of that window and key.
    rows: BTreeMap<(i64, String, u64), String>,
    /// Keyless rows of a plain map, oldest first.
    recent: VecDeque<String>,
}

impl Results {
    /// Records a row: it replaces the previous row of the same window and key. Keyless rows of
    /// a plain map are kept in arrival order instead.
    pub fn put(&mut self, window_start_ms: Option<i64>, key: Option<&[u8]>, row: &str) {
        if key.is_none() && window_start_ms.is_none() {
            // At the ceiling the oldest row's buffer takes the new row (no allocation per row),
            // unless it is much larger: memory follows the rows held, not the largest ever seen.
            let full = self.recent.len() >= RESULTS_ROWS_MAX;
            let mut kept = full
                .then(|| self.recent.pop_front())
                .flatten()
                .filter(|old| old.capacity() <= 2 * row.len().max(64))
                .unwrap_or_default();
            kept.clear();
            kept.push_str(row);
            self.recent.push_back(kept);
            return;
        }
        let key = key
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        self.rows.insert(
            (window_start_ms.unwrap_or(i64::MIN), key, 0),
            row.to_string(),
        );
        while self.rows.len() > RESULTS_ROWS_MAX {
            self.rows.pop_first();
        }
    }

    /// Removes the row of `key` (a tombstone of an updating result).
    pub fn remove(&mut self, window_start_ms: Option<i64>, key: &[u8]) {
        let key = String::from_utf8_lossy(key).into_owned();
        self.rows
            .remove(&(window_start_ms.unwrap_or(i64::MIN), key, 0));
    }

    /// Rows held (keyed and recent).
    pub fn len(&self) -> usize {
        self.rows.len() + self.recent.len()
    }

    pub fn get(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        let matches = |(w, k, _): &(i64, String, u64)| {
            filter.key.as_ref().is_none_or(|f| f == k)
                && filter.window_start_ms.is_none_or(|f| f == *w)
        };
        // Keyless rows of a plain map have neither key nor window: a filter on either excludes them.
        let keyless = filter.key.is_none() && filter.window_start_ms.is_none();
        let mut rows: Vec<&String> = self
            .rows
            .iter()
            .filter(|(k, _)| matches(k))
            .map(|(_, v)| v)
            .chain(self.recent.iter().filter(|_| keyless))
            .collect();
        if let Some(limit) = filter.limit {
            let cut = rows.len().saturating_sub(limit);
            rows.drain(..cut);
        }
        rows.into_iter()
            .map(|r| {
                serde_json::value::RawValue::from_string(r.clone()).expect("rows are JSON we wrote")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(rows: Vec<ResultRow>) -> Vec<String> {
        rows.iter().map(|r| r.get().to_string()).collect()
    }

    #[test]
    fn keyless_rows_of_a_plain_map_are_served_oldest_first() {
        let mut r = Results::default();
        r.put(None, None, r#"{"id":1}"#);
        r.put(None, None, r#"{"id":2}"#);
        r.put(None, None, r#"{"id":3}"#);
        let all = ResultsFilter::default();
        assert_eq!(
            texts(r.get(&all)),
            [r#"{"id":1}"#, r#"{"id":2}"#, r#"{"id":3}"#]
        );
        let last = ResultsFilter {
            limit: Some(2),
            ..ResultsFilter::default()
        };
        assert_eq!(texts(r.get(&last)), [r#"{"id":2}"#, r#"{"id":3}"#]);
        let by_key = ResultsFilter {
            key: Some("a".into()),
            ..ResultsFilter::default()
        };
        assert!(r.get(&by_key).is_empty(), "keyless rows match no key");
    }

    #[test]
    fn keyless_rows_past_the_ceiling_drop_the_oldest() {
        let mut r = Results::default();
        for i in 0..RESULTS_ROWS_MAX + 2 {
            // The first two are longer than the two that take their place: a reused buffer
            // keeps nothing of them.
            let pad = if i < 2 { "xxxx" } else { "" };
            r.put(None, None, &format!(r#"{{"id":{i},"pad":"{pad}"}}"#));
        }
        let rows = texts(r.get(&ResultsFilter::default()));
        assert_eq!(rows.len(), RESULTS_ROWS_MAX);
        assert_eq!(rows[0], r#"{"id":2,"pad":""}"#);
        let last = format!(r#"{{"id":{},"pad":""}}"#, RESULTS_ROWS_MAX + 1);
        assert_eq!(rows[RESULTS_ROWS_MAX - 1], last);
    }

    #[test]
    fn keyed_rows_are_the_latest_per_window_and_key() {
        let mut r = Results::default();
        r.put(None, Some(b"b"), r#"{"k":"b","n":1}"#);
        r.put(None, Some(b"a"), r#"{"k":"a","n":1}"#);
        r.put(None, Some(b"b"), r#"{"k":"b","n":2}"#);
        assert_eq!(
            texts(r.get(&ResultsFilter::default())),
            [r#"{"k":"a","n":1}"#, r#"{"k":"b","n":2}"#]
        );
    }

    #[test]
    fn a_tombstone_removes_its_keys_row() {
        let mut r = Results::default();
        r.put(None, Some(b"a"), r#"{"k":"a","n":1}"#);
        r.put(None, Some(b"b"), r#"{"k":"b","n":1}"#);
        r.remove(None, b"a");
        r.remove(None, b"never-shown");
        assert_eq!(
            texts(r.get(&ResultsFilter::default())),
            [r#"{"k":"b","n":1}"#]
        );
        assert_eq!(r.len(), 1);
    }
}
