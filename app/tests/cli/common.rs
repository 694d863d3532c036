//! Running the built `hashlens` binary from integration tests.

use std::process::{Command, Output};

/// Runs `hashlens ARGS…` to completion.
pub fn hashlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hashlens"))
        .args(args)
        .output()
        .expect("the hashlens binary runs")
}

/// The last line of a successful run's stdout, parsed as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "hashlens failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).expect("the last line is JSON")
}

/// Every line of a successful run's stdout, each parsed as JSON (commands that print one object per
/// photo or query).
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "hashlens failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}
