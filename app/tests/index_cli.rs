//! `hashlens index` and `hashlens search` as users and scripts run them, including a real `kill -9` in
//! the middle of indexing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{hashlens, json};

/// `n` distinct small photos (two colour families, so that neighbours are meaningful).
fn photos(root: &Path, n: u32) {
    std::fs::create_dir_all(root).unwrap();
    for i in 0..n {
        let warm = i % 2 == 0;
        let img = image::RgbImage::from_fn(40, 32, |x, y| {
            let t = ((x * 3 + y * 2 + i * 11) % 64) as u8;
            if warm {
                image::Rgb([200 + t / 2, 60 + t, 20])
            } else {
                image::Rgb([20, 60 + t, 200 + t / 2])
            }
        });
        img.save(root.join(format!("{i:03}.png"))).unwrap();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn index_then_search_by_outside_and_indexed_photos() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 10);
    std::fs::write(root.join("broken.jpg"), b"not a jpeg").unwrap();
    let index = dir.path().join("photos.hlindex");
    let index_args = [
        "index",
        s(&root),
        "--index",
        s(&index),
        "--bits",
        "16",
        "--device",
        "cpu",
        "--json",
    ];
    let out = hashlens(&index_args);
    // The log reaches stderr although it is no terminal here (as in a log file): the scan, the
    // warning that 10 photos are too few for PCA + ITQ, the model.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("10 photos found, 1 entries skipped"), "{log}");
    assert!(log.contains("warning: 10 photos are too few"), "{log}");
    assert!(log.contains("fitted model: LSH"), "{log}");
    let v = json(&out);
    assert_eq!(
        (v["indexed"].as_u64(), v["encoded"].as_u64()),
        (Some(10), Some(10))
    );
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0]["path"].as_str().unwrap().ends_with("broken.jpg"));
    assert!(skipped[0]["reason"].as_str().is_some());
    assert!(v["images_per_s"].as_f64().unwrap() >= 0.0);

    // Again: nothing to encode.
    let v = json(&hashlens(&index_args));
    assert_eq!(
        (
            v["indexed"].as_u64(),
            v["encoded"].as_u64(),
            v["kept"].as_u64()
        ),
        (Some(10), Some(0), Some(10))
    );

    // An indexed photo finds the others, itself left out, nearest first.
    let query = root.join("004.png");
    let v = json(&hashlens(&[
        "search",
        "--index",
        s(&index),
        "--indexed",
        s(&query),
        "-k",
        "9",
        "--json",
    ]));
    assert_eq!(v["query"], s(&query));
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 9);
    assert!(results.iter().all(|r| r["path"] != s(&query)));
    let d: Vec<u64> = results
        .iter()
        .map(|r| r["distance"].as_u64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]) && d[8] <= 16, "{d:?}");

    // An outside copy of that photo is encoded by the index's model to the same code: distance 0 to it.
    let outside = dir.path().join("copy.png");
    std::fs::copy(&query, &outside).unwrap();
    let v = json(&hashlens(&[
        "search",
        "--index",
        s(&index),
        s(&outside),
        "-k",
        "1",
        "--device",
        "cpu",
        "--json",
    ]));
    assert_eq!(v["results"][0]["distance"], 0);
    assert_eq!(v["code"].as_str().unwrap().len(), 16);

    // Radius search returns everything within r, and only that.
    let v = json(&hashlens(&[
        "search",
        "--index",
        s(&index),
        s(&outside),
        "--radius",
        "16",
        "--device",
        "cpu",
        "--json",
    ]));
    assert_eq!(v["results"].as_array().unwrap().len(), 10);

    // Not in the index, and a photo that cannot be read: clear errors.
    let out = hashlens(&["search", "--index", s(&index), "--indexed", "/nowhere.png"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the index"));
    let out = hashlens(&[
        "search",
        "--index",
        s(&index),
        s(&root.join("broken.jpg")),
        "--device",
        "cpu",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.jpg"));
}

#[test]
fn gpu_request_without_a_gpu_fails_clearly_and_auto_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 2);
    let out = hashlens(&[
        "index",
        s(&root),
        "--bits",
        "8",
        "--device",
        "auto",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("running on"), "{stderr}");
    let gpu = hashlens(&["index", s(&root), "--bits", "8", "--device", "gpu"]);
    if stderr.contains("CPU") {
        // No usable GPU here (CI): asking for one is an error that says so, not a panic.
        assert!(!gpu.status.success());
        assert!(String::from_utf8_lossy(&gpu.stderr).contains("no usable GPU"));
    }
}

#[test]
fn kill_9_during_indexing_loses_no_finished_work() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 4);
    // Fit a model on a small folder first, so that the run we kill encodes batch by batch.
    let fit_index = dir.path().join("fit.hlindex");
    json(&hashlens(&[
        "index",
        s(&root),
        "--index",
        s(&fit_index),
        "--bits",
        "8",
        "--device",
        "cpu",
        "--json",
    ]));
    let model = dir.path().join("fit.hlindex.model");
    let big = dir.path().join("big");
    photos(&big, 48);
    let index = dir.path().join("big.hlindex");
    let journal = dir.path().join("big.hlindex.journal");
    let args = [
        "index",
        s(&big),
        "--index",
        s(&index),
        "--model",
        s(&model),
        "--batch",
        "2",
        "--device",
        "cpu",
        "--json",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashlens"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a few records are in the journal, then kill without warning.
    let started = Instant::now();
    loop {
        let len = std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0);
        if len > 400 || started.elapsed() > Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(!index.exists() || journal.exists(), "killed before the end");

    let v = json(&hashlens(&args));
    let (resumed, encoded) = (
        v["resumed"].as_u64().unwrap(),
        v["encoded"].as_u64().unwrap(),
    );
    assert_eq!(v["indexed"], 48);
    assert!(resumed > 0, "{v}");
    assert_eq!(resumed + encoded, 48);

    // The same codes as an uninterrupted run.
    let clean = dir.path().join("clean.hlindex");
    json(&hashlens(&[
        "index",
        s(&big),
        "--index",
        s(&clean),
        "--model",
        s(&model),
        "--device",
        "cpu",
        "--json",
    ]));
    let code_of = |index: &Path, photo: &str| {
        let v = json(&hashlens(&[
            "search",
            "--index",
            s(index),
            "--indexed",
            s(&big.join(photo)),
            "--radius",
            "0",
            "--json",
        ]));
        v["code"].as_str().unwrap().to_string()
    };
    for photo in ["000.png", "017.png", "047.png"] {
        assert_eq!(code_of(&index, photo), code_of(&clean, photo));
    }
}

#[test]
fn search_takes_any_count_and_prints_crafted_names_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 4);
    // A name that, printed raw, would add a fake result line.
    let crafted = root.join("evil\n   0  fake-result.png");
    std::fs::copy(root.join("001.png"), &crafted).unwrap();
    let index = dir.path().join("photos.hlindex");
    json(&hashlens(&[
        "index",
        s(&root),
        "--index",
        s(&index),
        "--bits",
        "16",
        "--device",
        "cpu",
        "--json",
    ]));
    let query = root.join("000.png");

    // The largest count there is: every other photo (k + 1 used to wrap around to 0 results).
    let v = json(&hashlens(&[
        "search",
        "--index",
        s(&index),
        "--indexed",
        s(&query),
        "-k",
        "18446744073709551615",
        "--json",
    ]));
    assert_eq!(v["results"].as_array().unwrap().len(), 4);
    // JSON keeps the name as it is.
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["path"] == s(&crafted))
    );

    // Text output: one line for the query and one per result, the newline shown escaped.
    let out = hashlens(&["search", "--index", s(&index), "--indexed", s(&query)]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("evil\\n   0  fake-result.png")),
        "{text}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.trim_start().starts_with("0  fake-result")),
        "{text}"
    );

    // A negative count: said to be a count, without clap's "-- -1" hint.
    let out = hashlens(&[
        "search",
        "--index",
        s(&index),
        "--indexed",
        s(&query),
        "-k",
        "-1",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a count of results"), "{err}");
    assert!(!err.contains("-- -1"), "{err}");
}

#[test]
fn a_second_run_on_one_index_stops_or_queues_with_wait() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 6);
    let index = dir.path().join("photos.hlindex");
    let args = [
        "index",
        s(&root),
        "--index",
        s(&index),
        "--bits",
        "16",
        "--device",
        "cpu",
        "--json",
    ];
    // Another run holds the index (the lock is the operating system's: any other open file is
    // another holder, as another process would be).
    let held = std::fs::File::create(dir.path().join("photos.hlindex.lock")).unwrap();
    held.lock().unwrap();
    let out = hashlens(&args);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another hashlens run is updating") && err.contains("--wait"),
        "{err}"
    );
    assert!(!index.exists(), "the refused run wrote nothing");

    // With --wait it queues, and finishes once the other run lets go.
    let queued = Command::new(env!("CARGO_BIN_EXE_hashlens"))
        .args(args)
        .arg("--wait")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!index.exists(), "still waiting");
    drop(held);
    let out = queued.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(log.contains("waiting for it to finish"), "{log}");
    let v = json(&out);
    assert_eq!(v["indexed"].as_u64(), Some(6));
}
