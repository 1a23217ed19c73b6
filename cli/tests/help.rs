//! Every command of DESIGN.md §6 is present and has `--help`. (Also makes `cargo test` build the
//! `kappa` binary that the end-to-end tests in `tests/` spawn.)

use std::process::Command;

#[test]
fn every_command_has_help() {
    let kappa = env!("CARGO_BIN_EXE_kappa");
    let out = Command::new(kappa)
        .arg("--help")
        .output()
        .expect("kappa runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "serve",
        "demo",
        "topics",
        "produce",
        "consume",
        "processors",
        "replay",
        "verify",
        "bench",
    ] {
        assert!(text.contains(cmd), "--help lists {cmd}: {text}");
        let out = Command::new(kappa)
            .args([cmd, "--help"])
            .output()
            .expect("kappa runs");
        assert!(out.status.success(), "{cmd} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{cmd} --help prints usage"
        );
    }
}
