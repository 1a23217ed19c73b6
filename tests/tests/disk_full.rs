//! A full disk: appends get 507 naming the cause, reads keep working, nothing acknowledged is
//! lost, and appends resume when space returns. Runs on a small tmpfs the test mounts (needs
//! root; skipped with a message otherwise).

use std::path::Path;
use std::process::Command;

use kappa_tests::{temp, Server};

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> Option<Mount> {
    std::fs::create_dir_all(at).ok()?;
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .status()
        .ok()?
        .success();
    ok.then(|| Mount(at.to_path_buf()))
}

#[test]
fn a_full_disk_gives_507_keeps_reads_and_recovers() {
    let dir = temp();
    let Some(mount) = mount_tmpfs(&dir.path().join("small"), "24m") else {
        eprintln!("SKIPPED a_full_disk_gives_507_keeps_reads_and_recovers: cannot mount a tmpfs (not root?)");
        return;
    };
    let data = mount.0.join("data");
    let s = Server::start(&data, &[]);
    let r = s.post_json(
        "/v1/topics",
        &serde_json::json!({"name": "t", "partitions": 1, "segment_bytes": 4194304}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let filler = mount.0.join("filler");
    let free = fs_free(&mount.0);
    std::fs::write(&filler, vec![1u8; (free - (6 << 20)) as usize]).unwrap();
    let event = format!("{{\"pad\":\"{}\"}}", "x".repeat(60_000));
    let batch = format!("[{}]", [event.as_str(); 8].join(","));
    let mut acked = 0u64;
    let mut full = None;
    for _ in 0..100 {
        let r = s.request("POST", "/v1/topics/t/events", &[], batch.as_bytes());
        match r.status {
            200 => acked += 8,
            _ => {
                full = Some(r);
                break;
            }
        }
    }
    let full = full.expect("the disk filled up");
    assert!(
        full.status == 507 || full.status == 503,
        "{} {}",
        full.status,
        full.text()
    );
    assert!(
        full.text().to_lowercase().contains("space"),
        "names the cause: {}",
        full.text()
    );
    let read = s.get(&format!(
        "/v1/topics/t/events?partition=0&offset=0&limit={acked}"
    ));
    assert_eq!(read.status, 200);
    assert_eq!(
        read.ndjson().len() as u64,
        acked,
        "reads keep working and nothing acknowledged is lost"
    );
    std::fs::remove_file(&filler).unwrap();
    let r = s.request("POST", "/v1/topics/t/events", &[], batch.as_bytes());
    assert_eq!(
        r.status,
        200,
        "appends resume when space returns: {}",
        r.text()
    );
    assert_eq!(
        r.json()["partitions"][0]["base_offset"].as_u64(),
        Some(acked),
        "offsets stay dense"
    );
}

fn fs_free(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Issue 10: a processor stopped by a full disk stayed failed after space returned, and
/// meanwhile reported `lag: 0`. Now it waits — status running, the cause in `error`, the lag of
/// its checkpoint — and resumes by itself from its checkpoint when space returns, writing its
/// output exactly once.
#[test]
fn a_processor_stopped_by_a_full_disk_resumes_by_itself() {
    let dir = temp();
    let Some(mount) = mount_tmpfs(&dir.path().join("small"), "24m") else {
        eprintln!("SKIPPED a_processor_stopped_by_a_full_disk_resumes_by_itself: cannot mount a tmpfs (not root?)");
        return;
    };
    let data = mount.0.join("data");
    let s = Server::start(&data, &[]);
    let r = s.post_json(
        "/v1/topics",
        &serde_json::json!({"name": "in", "partitions": 1, "segment_bytes": 4194304}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let batch: String = (0..8)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{}\"}}\n", "x".repeat(10_000)))
        .collect();
    let produce = || {
        let r = s.request(
            "POST",
            "/v1/topics/in/events",
            &[("content-type", "application/x-ndjson")],
            batch.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    produce();
    // Leave too little room for the output's first segment (reserved in 4 MiB steps).
    let filler = mount.0.join("filler");
    let free = fs_free(&mount.0);
    std::fs::write(&filler, vec![1u8; (free - (1 << 20)) as usize]).unwrap();
    let r = s.post_json(
        "/v1/processors",
        &serde_json::json!({"name": "copy", "sql": "SELECT * FROM `in`"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let status = |s: &Server| s.get("/v1/processors/copy").json();
    let wait = |what: &str, ok: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let st = status(&s);
            if ok(&st) {
                return st;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: {st}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let st = wait("the processor waits for space", &|st| {
        st["error"].as_str().is_some_and(|e| e.contains("space"))
    });
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(
        st["lag"], 8,
        "the lag is the unprocessed input, not 0: {st}"
    );
    produce(); // the input's own segment still has room
    std::fs::remove_file(&filler).unwrap();
    let st = wait("the processor resumes", &|st| {
        st["records_in"] == 16 && st["lag"] == 0 && st["error"].is_null()
    });
    assert_eq!(st["records_out"], 16, "{st}");
    let out = s
        .get("/v1/topics/copy/events?partition=0&offset=0&limit=100")
        .ndjson();
    let seen: Vec<u64> = out
        .iter()
        .map(|r| r["value"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seen,
        [(0..8).collect::<Vec<u64>>(), (0..8).collect()].concat()
    );
}
