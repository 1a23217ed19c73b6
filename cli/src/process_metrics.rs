//! The `process_*` metrics every Prometheus client library exports (client_golang's names and
//! meanings), read from Linux's /proc at scrape time. Elsewhere they are simply absent.

use crate::metrics::Sample;

/// Linux reports CPU times in USER_HZ ticks, which is 100 on every architecture it supports.
const TICKS_PER_SECOND: f64 = 100.0;

pub fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return out;
    };
    // Fields after the command name (which may hold spaces) start at field 3, `state`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
    if let (Some(utime), Some(stime)) = (field(14), field(15)) {
        out.push(Sample::new(
            "process_cpu_seconds_total",
            &[],
            (utime + stime) / TICKS_PER_SECOND,
        ));
    }
    if let Some(vsize) = field(23) {
        out.push(Sample::new("process_virtual_memory_bytes", &[], vsize));
    }
    if let Some(rss_kib) = status_kib("VmRSS:") {
        out.push(Sample::new(
            "process_resident_memory_bytes",
            &[],
            rss_kib * 1024.0,
        ));
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.push(Sample::new("process_open_fds", &[], fds.count() as f64));
    }
    if let Some(max) = max_open_files() {
        out.push(Sample::new("process_max_fds", &[], max));
    }
    if let (Some(start_ticks), Some(boot_s)) = (field(22), boot_time_s()) {
        out.push(Sample::new(
            "process_start_time_seconds",
            &[],
            boot_s + start_ticks / TICKS_PER_SECOND,
        ));
    }
    out
}

fn status_kib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn max_open_files() -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn boot_time_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reports_cpu_memory_fds_and_start_time() {
        let samples = samples();
        let cpu = samples
            .iter()
            .find(|s| s.name == "process_cpu_seconds_total");
        assert!(
            cpu.is_some_and(|s| s.value >= 0.0),
            "process_cpu_seconds_total"
        );
        for name in [
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            let s = samples.iter().find(|s| s.name == name);
            assert!(s.is_some_and(|s| s.value > 0.0), "{name} missing or zero");
        }
        let start = samples
            .iter()
            .find(|s| s.name == "process_start_time_seconds")
            .unwrap()
            .value;
        let now = crate::time::now_ms() as f64 / 1000.0;
        assert!(
            start <= now + 1.0 && start > now - 86_400.0,
            "start {start}, now {now}"
        );
    }
}
