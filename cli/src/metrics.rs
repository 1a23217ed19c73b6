//! Prometheus text-format metrics: counters and histograms kept in ordered maps (so the
//! exposition is stable), plus gauges read from the store at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket upper bounds, seconds.
const BUCKETS_S: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Series kept per metric family; beyond it new label sets are folded into `other`.
const SERIES_MAX: usize = 10_000;

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    histograms: Mutex<BTreeMap<(&'static str, String), Histogram>>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{}{k}=\"{v}\"", if i == 0 { "" } else { "," });
    }
    s
}

impl Metrics {
    pub fn add(&self, name: &'static str, label_pairs: &[(&str, &str)], by: u64) {
        let mut map = self
            .counters
            .lock()
            .expect("metrics lock is never poisoned: no panics under it");
        let mut key = (name, labels(label_pairs));
        if !map.contains_key(&key) && map.len() >= SERIES_MAX {
            key.1 = labels(&[("series", "other")]);
        }
        *map.entry(key).or_default() += by;
    }

    pub fn observe(&self, name: &'static str, label_pairs: &[(&str, &str)], elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut map = self
            .histograms
            .lock()
            .expect("metrics lock is never poisoned: no panics under it");
        let mut key = (name, labels(label_pairs));
        if !map.contains_key(&key) && map.len() >= SERIES_MAX {
            key.1 = labels(&[("series", "other")]);
        }
        let h = map.entry(key).or_default();
        for (i, bound) in BUCKETS_S.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum_s += secs;
    }

    /// Renders counters and histograms; `gauges` are appended as given (name, labels, value).
    pub fn render(&self, gauges: &[(&str, String, f64)]) -> String {
        let mut out = String::new();
        let mut last = "";
        for ((name, l), v) in self.counters.lock().expect("metrics lock").iter() {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let _ = writeln!(out, "{name}{{{l}}} {v}");
        }
        let mut last = "";
        for ((name, l), h) in self.histograms.lock().expect("metrics lock").iter() {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} histogram");
                last = name;
            }
            let sep = if l.is_empty() { "" } else { "," };
            for (i, bound) in BUCKETS_S.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{{l}{sep}le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{l}}} {}", h.sum_s);
            let _ = writeln!(out, "{name}_count{{{l}}} {}", h.count);
        }
        let mut last = "";
        for (name, l, v) in gauges {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} gauge");
                last = name;
            }
            let _ = writeln!(out, "{name}{{{l}}} {v}");
        }
        out
    }

    /// Appends a histogram kept elsewhere (cumulative `(le, count)` buckets) in text format.
    pub fn render_histogram(
        out: &mut String,
        name: &str,
        buckets: &[(f64, u64)],
        count: u64,
        sum_s: f64,
    ) {
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (le, n) in buckets {
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum_s}");
        let _ = writeln!(out, "{name}_count {count}");
    }

    pub fn gauge_labels(pairs: &[(&str, &str)]) -> String {
        labels(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.add("kappa_records_in_total", &[("topic", "a\"b")], 3);
        m.observe(
            "kappa_request_seconds",
            &[("route", "x")],
            Duration::from_millis(2),
        );
        let text = m.render(&[("kappa_partition_end_offset", labels(&[("topic", "t")]), 7.0)]);
        assert!(
            text.contains("kappa_records_in_total{topic=\"a\\\"b\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("kappa_request_seconds_bucket{route=\"x\",le=\"0.0025\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("kappa_request_seconds_bucket{route=\"x\",le=\"0.001\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("kappa_partition_end_offset{topic=\"t\"} 7"),
            "{text}"
        );
    }
}
