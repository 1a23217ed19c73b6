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
