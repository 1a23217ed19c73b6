//! Prometheus text-format metrics: counters and histograms kept in ordered maps (so the
//! exposition is stable), plus samples read from the store, the processors and the process at
//! scrape time. Every family is listed in `FAMILIES` with its type and `# HELP` text.

use crate::limits::METRIC_SERIES_MAX;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket upper bounds, seconds.
const BUCKETS_S: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every family the server exposes: name, type, help. docs/operations.md lists the same.
pub const FAMILIES: &[(&str, Kind, &str)] = &[
    ("kappa_build_info", Kind::Gauge, "Always 1; the version label names the running build."),
    ("process_cpu_seconds_total", Kind::Counter, "User and system CPU time spent, in seconds."),
    ("process_resident_memory_bytes", Kind::Gauge, "Resident memory size, in bytes."),
    ("process_virtual_memory_bytes", Kind::Gauge, "Virtual memory size, in bytes."),
    ("process_open_fds", Kind::Gauge, "Open file descriptors."),
    ("process_max_fds", Kind::Gauge, "Limit on open file descriptors."),
    ("process_start_time_seconds", Kind::Gauge, "Start time of the process since the Unix epoch, in seconds."),
    ("kappa_http_requests_total", Kind::Counter, "HTTP requests answered, by route, method and status."),
    ("kappa_http_request_duration_seconds", Kind::Histogram, "Time to answer an HTTP request, by route and method."),
    ("kappa_produce_duration_seconds", Kind::Histogram, "Time to answer a produce request (POST /v1/topics/{t}/events), until acknowledged."),
    ("kappa_consume_duration_seconds", Kind::Histogram, "Time to answer a consume request (GET /v1/topics/{t}/events), long-poll waits included."),
    ("kappa_fsync_duration_seconds", Kind::Histogram, "Time of one flush (msync/fdatasync) of the log."),
    ("kappa_topic_records_in_total", Kind::Counter, "Records appended to the topic over HTTP."),
    ("kappa_topic_bytes_in_total", Kind::Counter, "Event bytes appended to the topic over HTTP."),
    ("kappa_topic_records_out_total", Kind::Counter, "Records read from the topic by any reader (consumers, SSE tails, processors) since the server started."),
    ("kappa_topic_bytes_out_total", Kind::Counter, "Record frame bytes read from the topic by any reader (consumers, SSE tails, processors) since the server started."),
    ("kappa_partition_start_offset", Kind::Gauge, "First offset still stored in the partition (retention moves it)."),
    ("kappa_partition_end_offset", Kind::Gauge, "Next offset to be written in the partition (the published end)."),
    ("kappa_partition_bytes", Kind::Gauge, "Bytes of records stored in the partition."),
    ("kappa_partition_failed", Kind::Gauge, "1 while a failed flush makes the partition refuse appends (until a restart)."),
    ("kappa_partition_damaged_ranges", Kind::Gauge, "Damaged log ranges found at startup in the partition (reads of them fail)."),
    ("kappa_group_offset", Kind::Gauge, "The consumer group's committed offset (the next offset to read)."),
    ("kappa_group_lag", Kind::Gauge, "Records between the group's committed offset and the partition's end."),
    ("kappa_processor_records_in_total", Kind::Counter, "Input records the processor version has read."),
    ("kappa_processor_records_out_total", Kind::Counter, "Records the processor version has written to its output."),
    ("kappa_processor_late_records_total", Kind::Counter, "Late records the processor version has sent to its .late topic."),
    ("kappa_processor_invalid_records_total", Kind::Counter, "Records the processor version could not read (sent to .late as invalid)."),
    ("kappa_processor_lag", Kind::Gauge, "Records the processor version is behind, over all inputs."),
    ("kappa_processor_input_lag", Kind::Gauge, "Records the processor version is behind on one input partition."),
    ("kappa_processor_watermark_seconds", Kind::Gauge, "The processor version's watermark, epoch seconds (absent before its first event time)."),
    ("kappa_processor_input_watermark_seconds", Kind::Gauge, "One input partition's watermark, epoch seconds (absent before its first event time)."),
    ("kappa_processor_state_bytes", Kind::Gauge, "Serialized operator state at the version's last checkpoint."),
    ("kappa_processor_up", Kind::Gauge, "1 for the processor version's current status (running, caught_up, finished, failed, stopped)."),
];

fn family(name: &str) -> (Kind, &'static str) {
    FAMILIES
        .iter()
        .find(|f| f.0 == name)
        .map(|f| (f.1, f.2))
        .unwrap_or_else(|| panic!("metric family {name} is not listed in FAMILIES"))
}

/// A value read at scrape time (gauges, and counters kept elsewhere).
pub struct Sample {
    pub name: &'static str,
    pub labels: String,
    pub value: f64,
}

impl Sample {
    pub fn new(name: &'static str, labels: &[(&str, &str)], value: f64) -> Sample {
        Sample {
            name,
            labels: labels_text(labels),
            value,
        }
    }
}

fn header(out: &mut String, name: &str) {
    let (kind, help) = family(name);
    let kind = match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `{a="b",c="d"}`, or nothing without labels.
fn braces(l: &str) -> String {
    if l.is_empty() {
        String::new()
    } else {
        format!("{{{l}}}")
    }
}

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

fn labels_text(pairs: &[(&str, &str)]) -> String {
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
        let mut key = (name, labels_text(label_pairs));
        if !map.contains_key(&key) && map.len() >= METRIC_SERIES_MAX {
            key.1 = labels_text(&[("series", "other")]);
        }
        *map.entry(key).or_default() += by;
    }

    pub fn observe(&self, name: &'static str, label_pairs: &[(&str, &str)], elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut map = self
            .histograms
            .lock()
            .expect("metrics lock is never poisoned: no panics under it");
        let mut key = (name, labels_text(label_pairs));
        if !map.contains_key(&key) && map.len() >= METRIC_SERIES_MAX {
            key.1 = labels_text(&[("series", "other")]);
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

    /// Forgets counter and histogram series whose `label` is not in `keep` (a deleted topic's).
    pub fn retain_label(&self, label: &str, keep: &std::collections::BTreeSet<String>) {
        let needle = format!("{label}=\"");
        let alive = |l: &str| match l.find(&needle) {
            None => true,
            Some(i) => {
                let rest = &l[i + needle.len()..];
                let value = rest.split('"').next().unwrap_or("");
                keep.contains(value)
            }
        };
        self.counters
            .lock()
            .expect("metrics lock")
            .retain(|(_, l), _| alive(l));
        self.histograms
            .lock()
            .expect("metrics lock")
            .retain(|(_, l), _| alive(l));
    }

    /// The exposition: counters and histograms kept here, then `scraped` samples (grouped by
    /// family in the order given), each family with `# HELP` and `# TYPE` once.
    pub fn render(&self, scraped: &[Sample]) -> String {
        let mut out = String::new();
        let mut last = "";
        for ((name, l), v) in self.counters.lock().expect("metrics lock").iter() {
            if *name != last {
                header(&mut out, name);
                last = name;
            }
            let _ = writeln!(out, "{name}{} {v}", braces(l));
        }
        let mut last = "";
        for ((name, l), h) in self.histograms.lock().expect("metrics lock").iter() {
            if *name != last {
                header(&mut out, name);
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
            let _ = writeln!(out, "{name}_sum{} {}", braces(l), h.sum_s);
            let _ = writeln!(out, "{name}_count{} {}", braces(l), h.count);
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in scraped {
            if seen.insert(s.name) {
                header(&mut out, s.name);
                for same in scraped.iter().filter(|x| x.name == s.name) {
                    let _ = writeln!(out, "{}{} {}", same.name, braces(&same.labels), same.value);
                }
            }
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
        header(out, name);
        for (le, n) in buckets {
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum_s}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.add("kappa_topic_records_in_total", &[("topic", "a\"b")], 3);
        m.observe(
            "kappa_http_request_duration_seconds",
            &[("route", "x")],
            Duration::from_millis(2),
        );
        let text = m.render(&[Sample::new(
            "kappa_partition_end_offset",
            &[("topic", "t")],
            7.0,
        )]);
        assert!(
            text.contains("kappa_topic_records_in_total{topic=\"a\\\"b\"} 3"),
            "{text}"
        );
        assert!(
            text.contains(
                "kappa_http_request_duration_seconds_bucket{route=\"x\",le=\"0.0025\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("kappa_http_request_duration_seconds_bucket{route=\"x\",le=\"0.001\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("kappa_partition_end_offset{topic=\"t\"} 7"),
            "{text}"
        );
    }

    #[test]
    fn every_family_has_help_and_type_once() {
        let m = Metrics::default();
        m.add("kappa_topic_records_in_total", &[("topic", "a")], 1);
        m.add("kappa_topic_records_in_total", &[("topic", "b")], 1);
        let text = m.render(&[
            Sample::new("kappa_build_info", &[("version", "1")], 1.0),
            Sample::new("process_open_fds", &[], 9.0),
        ]);
        assert_eq!(
            text.matches("# HELP kappa_topic_records_in_total ").count(),
            1
        );
        assert_eq!(
            text.matches("# TYPE kappa_topic_records_in_total counter")
                .count(),
            1
        );
        assert!(text.contains("# HELP kappa_build_info "), "{text}");
        assert!(text.contains("\nprocess_open_fds 9\n"), "{text}");
    }

    #[test]
    fn series_of_a_deleted_topic_are_forgotten() {
        let m = Metrics::default();
        m.add("kappa_topic_records_in_total", &[("topic", "gone")], 1);
        m.add("kappa_topic_records_in_total", &[("topic", "kept")], 1);
        m.add("kappa_http_requests_total", &[("route", "/x")], 1);
        m.retain_label("topic", &["kept".to_string()].into_iter().collect());
        let text = m.render(&[]);
        assert!(!text.contains("gone"), "{text}");
        assert!(text.contains("kept") && text.contains("/x"), "{text}");
    }

    #[test]
    fn the_operations_manual_lists_every_family() {
        let manual = include_str!("../../docs/operations.md");
        for (name, _, _) in FAMILIES {
            assert!(
                manual.contains(name),
                "docs/operations.md does not list {name}"
            );
        }
    }
}
