//! The upsert table of a non-windowed GROUP BY: key -> accumulators, bounded by TABLE_KEYS_MAX.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::TABLE_KEYS_MAX;
use crate::plan::aggregate::Acc;
use crate::window::Key;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Table {
    rows: BTreeMap<Key, Vec<Acc>>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Updates (creating if new) the row of `key`; returns its accumulators after the update.
    pub fn upsert(
        &mut self,
        key: &Key,
        new: impl Fn() -> Vec<Acc>,
        update: impl FnOnce(&mut [Acc]) -> Result<()>,
    ) -> Result<&[Acc]> {
        if !self.rows.contains_key(key) {
            if self.rows.len() >= TABLE_KEYS_MAX {
                return Err(Error::Limit {
                    limit: "TABLE_KEYS_MAX",
                    max: TABLE_KEYS_MAX as u64,
                    what: "keys in a GROUP BY table".into(),
                });
            }
            self.rows.insert(key.clone(), new());
        }
        let accs = self.rows.get_mut(key).expect("inserted above");
        update(accs)?;
        Ok(accs)
    }

    /// The accumulators of `key`, if it has a row.
    pub fn get(&self, key: &Key) -> Option<&[Acc]> {
        self.rows.get(key).map(Vec::as_slice)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Vec<Acc>)> {
        self.rows.iter()
    }
}
