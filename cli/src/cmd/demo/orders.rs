//! A generated order stream like the seed's: orders with categories, regions and statuses, event
//! times mostly a little behind the wall clock, some out of order and a few late. Seeded, so a
//! run is reproducible.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CATEGORIES: [&str; 5] = ["books", "electronics", "garden", "toys", "grocery"];
const REGIONS: [&str; 4] = ["eu-west", "us-east", "us-west", "apac"];

pub struct OrderGen {
    rng: StdRng,
    next_id: u64,
}

impl OrderGen {
    pub fn new(seed: u64) -> OrderGen {
        OrderGen {
            rng: StdRng::seed_from_u64(seed),
            next_id: 0,
        }
    }

    /// One order as a JSON line whose event time is near `now_ms`: usually 0–2 s behind it,
    /// 5 % up to 4 s out of order (within the seed query's 5 s watermark delay), 1 % late by
    /// 10–90 s (after its window closed; these go to the late topic).
    pub fn next(&mut self, now_ms: u64) -> String {
        let id = self.next_id;
        self.next_id += 1;
        let roll: f64 = self.rng.random();
        let behind_ms = if roll < 0.01 {
            self.rng.random_range(10_000..90_000)
        } else if roll < 0.06 {
            self.rng.random_range(2_000..4_000)
        } else {
            self.rng.random_range(0..2_000)
        };
        let ts = crate::time::format_time_ms(now_ms.saturating_sub(behind_ms));
        let ts = ts.trim_end_matches('Z').replace('T', " ");
        let status = match self.rng.random_range(0..10) {
            0 => "cancelled",
            1 => "pending",
            _ => "completed",
        };
        let total = self.rng.random_range(100..50_000) as f64 / 100.0;
        format!(
            r#"{{"order_id":"o-{id}","user_id":"u-{}","total":{total},"category":"{}","region":"{}","status":"{status}","ts":"{ts}"}}"#,
            self.rng.random_range(0..2_000),
            CATEGORIES[self.rng.random_range(0..CATEGORIES.len())],
            REGIONS[self.rng.random_range(0..REGIONS.len())],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_json_with_the_seed_fields_and_reproducible() {
        let (mut a, mut b) = (OrderGen::new(7), OrderGen::new(7));
        for _ in 0..100 {
            let line = a.next(1_774_432_800_000);
            assert_eq!(line, b.next(1_774_432_800_000));
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            for field in [
                "order_id", "user_id", "total", "category", "region", "status", "ts",
            ] {
                assert!(!v[field].is_null(), "{field} in {line}");
            }
            assert!(
                v["ts"].as_str().unwrap().starts_with("2026-03-25 "),
                "{line}"
            );
        }
    }
}
