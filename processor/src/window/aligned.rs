//! Tumbling, hopping and cumulating windows: every `[k·slide, k·slide + size)` containing the
//! event (a tumbling window is a hop whose slide equals its size); a cumulating window of step
//! s and size z is every `[start, start + k·s)` containing the event, `start` aligned to z. State is ordered by (end, start) so
//! complete windows are always a prefix; groups inside a window are ordered by key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::WINDOW_KEYS_MAX;
use crate::plan::aggregate::Acc;
use crate::window::{is_complete, Fired, Key};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlignedWindows {
    /// (end, start) -> key -> accumulators.
    windows: BTreeMap<(i64, i64), BTreeMap<Key, Vec<Acc>>>,
    groups: usize,
}

/// The windows containing `t`, latest start first.
pub fn windows_of(t: i64, slide_ms: i64, size_ms: i64) -> impl Iterator<Item = (i64, i64)> {
    let last_start = t - t.rem_euclid(slide_ms);
    (0..)
        .map(move |k| last_start - k * slide_ms)
        .take_while(move |s| *s > t - size_ms)
        .map(move |s| (s, s + size_ms))
}

/// The cumulating windows containing `t`, latest end first (Flink's `CUMULATE`).
pub fn cumulate_windows_of(t: i64, step_ms: i64, size_ms: i64) -> impl Iterator<Item = (i64, i64)> {
    let start = t - t.rem_euclid(size_ms);
    let first_end = start + (t - start) / step_ms * step_ms + step_ms;
    let last_end = start + size_ms;
    (0..)
        .map(move |k| last_end - k * step_ms)
        .take_while(move |e| *e >= first_end)
        .map(move |e| (start, e))
}

impl AlignedWindows {
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Adds a record at event time `t` to each of its windows still open, calling `update` on
    /// each group's accumulators. Returns false (late, nothing changed) if all are complete.
    pub fn add(
        &mut self,
        key: &Key,
        t: i64,
        (slide_ms, size_ms): (i64, i64),
        lateness_watermark: (i64, i64),
        new: impl Fn() -> Vec<Acc>,
        update: impl FnMut(&mut [Acc]) -> Result<()>,
    ) -> Result<bool> {
        let windows = windows_of(t, slide_ms, size_ms);
        self.add_to(key, windows, lateness_watermark, new, update)
    }

    /// `add`, for the given windows of the record, latest end first.
    pub fn add_to(
        &mut self,
        key: &Key,
        windows: impl Iterator<Item = (i64, i64)>,
        (lateness_ms, watermark_ms): (i64, i64),
        new: impl Fn() -> Vec<Acc>,
        mut update: impl FnMut(&mut [Acc]) -> Result<()>,
    ) -> Result<bool> {
        let mut joined = false;
        for (start, end) in windows {
            if is_complete(end, lateness_ms, watermark_ms) {
                // Earlier windows end earlier still: all complete.
                break;
            }
            joined = true;
            let groups = self.windows.entry((end, start)).or_default();
            match groups.get_mut(key) {
                Some(accs) => update(accs)?,
                None => {
                    if self.groups >= WINDOW_KEYS_MAX {
                        return Err(Error::Limit {
                            limit: "WINDOW_KEYS_MAX",
                            max: WINDOW_KEYS_MAX as u64,
                            what: "open (window, key) groups".into(),
                        });
                    }
                    let mut accs = new();
                    update(&mut accs)?;
                    groups.insert(key.clone(), accs);
                    self.groups += 1;
                }
            }
        }
        Ok(joined)
    }

    /// Removes and returns every window complete at `watermark_ms`, in (start, key) order.
    pub fn take_complete(&mut self, lateness_ms: i64, watermark_ms: i64, out: &mut Vec<Fired>) {
        while let Some(entry) = self.windows.first_entry() {
            let (end, start) = *entry.key();
            if !is_complete(end, lateness_ms, watermark_ms) {
                break;
            }
            let groups = entry.remove();
            self.groups -= groups.len();
            out.extend(groups.into_iter().map(|(key, accs)| Fired {
                start_ms: start,
                end_ms: end,
                key,
                accs,
            }));
        }
    }

    /// Removes and returns every window (end of a bounded run).
    pub fn take_all(&mut self, out: &mut Vec<Fired>) {
        self.take_complete(0, i64::MAX, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hopping_windows_cover_every_k_slide_containing_the_event() {
        let w: Vec<_> = windows_of(65_000, 30_000, 90_000).collect();
        assert_eq!(w, vec![(60_000, 150_000), (30_000, 120_000), (0, 90_000)]);
        let w: Vec<_> = windows_of(-1, 60_000, 60_000).collect();
        assert_eq!(w, vec![(-60_000, 0)]);
        let w: Vec<_> = windows_of(60_000, 60_000, 60_000).collect();
        assert_eq!(w, vec![(60_000, 120_000)]);
    }

    #[test]
    fn cumulating_windows_share_a_start_and_grow_by_steps() {
        let w: Vec<_> = cumulate_windows_of(65_000, 60_000, 180_000).collect();
        assert_eq!(w, vec![(0, 180_000), (0, 120_000)]);
        let w: Vec<_> = cumulate_windows_of(180_000, 60_000, 180_000).collect();
        assert_eq!(
            w,
            vec![(180_000, 360_000), (180_000, 300_000), (180_000, 240_000)]
        );
        let w: Vec<_> = cumulate_windows_of(179_999, 60_000, 180_000).collect();
        assert_eq!(w, vec![(0, 180_000)]);
    }
}
