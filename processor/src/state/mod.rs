//! Keyed state other than windows: the upsert table of a non-windowed GROUP BY and the
//! materialized results view. Everything is a BTreeMap, so iteration order is key order and
//! never depends on hashing.

pub mod results;
pub mod table;
