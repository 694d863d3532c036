//! `hashlens index` and `hashlens search` as users and scripts run them, including a real `kill -9` in
//! the middle of indexing.

use image::ImageEncoder;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{hashlens, json, json_lines};

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

/// `hashlens index ROOT --index INDEX`, 16 bits on the CPU, with a JSON summary.
fn index_args<'a>(root: &'a Path, index: &'a Path) -> [&'a str; 9] {
    [
        "index",
        s(root),
        "--index",
        s(index),
        "--bits",
        "16",
        "--device",
        "cpu",
        "--json",
    ]
}

#[test]
fn index_then_search_by_outside_and_indexed_photos() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 10);
    std::fs::write(root.join("broken.jpg"), b"not a jpeg").unwrap();
    let index = dir.path().join("photos.hlindex");
    let index_args = index_args(&root, &index);
    let out = hashlens(&index_args);
    // The log reaches stderr although it is no terminal here (as in a log file): the scan, the
    // warning that 10 photos are too few for their own PCA + ITQ, the shipped model used instead.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("10 photos found, 1 entries skipped"), "{log}");
    assert!(log.contains("warning: 10 photos are too few"), "{log}");
    assert!(
        log.contains(
            "using model: PCA + ITQ, 16 bits, on ImageNet mobilenet_v2 features of 2000 photos of \
             the CIFAR-10 training set"
        ),
        "{log}"
    );
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

    // A list of queries: an indexed photo (left out of its own results), the outside copy (encoded), and
    // a relative path to an indexed photo; one JSON line each, as the single searches answer them.
    let list = dir.path().join("queries.txt");
    let relative = Path::new("photos").join("007.png");
    std::fs::write(
        &list,
        format!(
            "# queries\n{}\n\n{}\n{}\n",
            s(&query),
            s(&outside),
            relative.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hashlens"))
        .current_dir(dir.path())
        .args([
            "search",
            "--index",
            s(&index),
            "--queries",
            s(&list),
            "-k",
            "9",
        ])
        .args(["--device", "cpu", "--json"])
        .output()
        .unwrap();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0]["results"],
        serde_json::Value::Array(results.clone()),
        "same as --indexed"
    );
    assert_eq!(lines[1]["results"][0]["distance"], 0);
    assert_eq!(lines[1]["results"].as_array().unwrap().len(), 9);
    let seventh = root.join("007.png");
    assert!(
        lines[2]["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["path"] != s(&seventh)),
        "an indexed photo named by a relative path is left out of its own results"
    );
    std::fs::write(&list, "# nothing\n").unwrap();
    let out = hashlens(&["search", "--index", s(&index), "--queries", s(&list)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("lists no photos"));

    // Exports: a missing index is a clear error; an export lists what it wrote.
    let out = hashlens(&[
        "export",
        "--index",
        "/nowhere.hlindex",
        "--format",
        "faiss",
        "--out",
        "x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nowhere.hlindex"));
    let prefix = dir.path().join("exported");
    let v = json(&hashlens(&[
        "export",
        "--index",
        s(&index),
        "--format",
        "milvus",
        "--out",
        s(&prefix),
        "--json",
    ]));
    assert_eq!(
        (v["count"].as_u64(), v["bits"].as_u64()),
        (Some(10), Some(16))
    );
    assert_eq!(v["files"].as_array().unwrap().len(), 4);
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
    json(&hashlens(&index_args(&root, &index)));
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
    let args = index_args(&root, &index);
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

/// Peak resident memory of a running process (`VmHWM`), polled until it exits; then its output.
fn run_measuring_peak(mut cmd: Command) -> (std::process::Output, u64) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watcher = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            // VmHWM only grows, so any reading after the peak holds it.
            while let Ok(s) = std::fs::read_to_string(&status) {
                let Some(kb) = s
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                else {
                    break;
                };
                peak.fetch_max(kb * 1024, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    watcher.join().unwrap();
    (out, peak.load(std::sync::atomic::Ordering::Relaxed))
}

#[test]
fn a_folder_of_decompression_bombs_stays_within_memory_and_two_indexers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 12);
    // Four 12000 × 12000 PNGs of zeros (432 MB each once decoded, a few hundred KB on disk): four
    // decoding threads at once would hold 1.7 GB.
    let zeros = image::RgbImage::new(12_000, 12_000);
    let bomb = root.join("bomb0.png");
    image::codecs::png::PngEncoder::new_with_quality(
        std::fs::File::create(&bomb).unwrap(),
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(
        zeros.as_raw(),
        12_000,
        12_000,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    drop(zeros);
    for i in 1..4 {
        std::fs::copy(&bomb, root.join(format!("bomb{i}.png"))).unwrap();
    }
    // Four JPEGs whose headers claim 18000 × 18000 pixels, and two cut in half.
    let mut small = Vec::new();
    image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    })
    .write_to(
        &mut std::io::Cursor::new(&mut small),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let sof = small.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
    let mut forged = small.clone();
    forged[sof + 5..sof + 9].copy_from_slice(&[0x46, 0x50, 0x46, 0x50]);
    for i in 0..4 {
        std::fs::write(root.join(format!("forged{i}.jpg")), &forged).unwrap();
    }
    let mut big = Vec::new();
    image::RgbImage::from_fn(2000, 1500, |x, y| {
        let v = ((x * 7919 + y * 104_729) % 251) as u8;
        image::Rgb([v, v / 2, 255 - v])
    })
    .write_to(
        &mut std::io::Cursor::new(&mut big),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    for i in 0..2 {
        std::fs::write(root.join(format!("cut{i}.jpg")), &big[..big.len() / 2]).unwrap();
    }

    let index = dir.path().join("photos.hlindex");
    let args = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hashlens"));
        cmd.args(index_args(&root, &index))
            .args(extra)
            .env("RAYON_NUM_THREADS", "4");
        cmd
    };
    let (out, peak) = run_measuring_peak(args(&[]));
    let v = json(&out);
    println!("peak resident memory: {} MB", peak >> 20);
    assert!(peak <= 1_500_000_000, "peak {} MB", peak >> 20);
    // Every bomb and every damaged file is accounted for: indexed with a warning, or skipped.
    let listed = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_string())
            .collect()
    };
    let (skipped, damaged) = (listed("skipped"), listed("damaged"));
    for name in ["forged0.jpg", "forged3.jpg", "cut0.jpg", "cut1.jpg"] {
        assert!(
            skipped.iter().chain(&damaged).any(|p| p.ends_with(name)),
            "{name}: {skipped:?} {damaged:?}"
        );
    }

    // Two indexers on one folder at once (as the app and a script might): one waits for the other,
    // both succeed, and the index left is whole and made by the model beside it.
    std::fs::remove_file(&index).unwrap();
    let mut a = args(&["--wait"]);
    let mut b = args(&["--wait"]);
    let (a, b) = (
        a.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        b.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (ra, rb) = (json(&a), json(&b));
    assert_eq!(ra["indexed"], v["indexed"]);
    assert_eq!(rb["indexed"], v["indexed"]);
    let check = hashlens(&[
        "search",
        "--index",
        s(&index),
        "--indexed",
        s(&root.join("000.png")),
        "-k",
        "3",
        "--json",
    ]);
    assert_eq!(json(&check)["results"].as_array().unwrap().len(), 3);
}

/// Without `--index` the index goes where the app keeps it too (`FOLDER/.hashlens/`), and
/// `search --folder` finds it there: the same results as naming the file.
#[test]
fn search_finds_a_folders_index_where_index_and_the_app_put_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 6);
    let v = json(&hashlens(&[
        "index",
        s(&root),
        "--bits",
        "16",
        "--device",
        "cpu",
        "--json",
    ]));
    assert_eq!(v["indexed"], 6);
    let index = root.join(".hashlens/index.hlindex");
    assert!(index.is_file());
    let query = root.join("002.png");
    let search = |which: &str, place: &Path| {
        json(&hashlens(&[
            "search",
            which,
            s(place),
            "--indexed",
            s(&query),
            "-k",
            "3",
            "--json",
        ]))
    };
    let by_folder = search("--folder", &root);
    assert_eq!(by_folder["results"].as_array().unwrap().len(), 3);
    assert_eq!(by_folder, search("--index", &index));
}

/// `--codes copies` fits the default after the shipped edit whitening and says so; an unknown purpose is
/// refused before any work, naming the two there are.
#[test]
fn index_fits_codes_for_finding_copies_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 20);
    let index = dir.path().join("photos.hlindex");
    let mut args = index_args(&root, &index).to_vec();
    args.extend(["--codes", "copies"]);
    let out = hashlens(&args);
    let v = json(&out);
    assert_eq!(
        (v["indexed"].as_u64(), v["bits"].as_u64()),
        (Some(20), Some(16))
    );
    let description = v["model_description"].as_str().unwrap();
    assert!(
        description.starts_with("PCA + ITQ for finding copies (after a whitening learned from"),
        "{description}"
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("for finding copies"), "{log}");
    // `--prints` computes the perceptual prints once: a second run reads them back.
    args.push("--prints");
    let first = json(&hashlens(&args));
    assert_eq!(first["prints"]["known"].as_u64(), Some(20));
    assert_eq!(first["prints"]["computed"].as_u64(), Some(20));
    assert!(index.with_file_name("photos.hlindex.prints").is_file());
    let second = json(&hashlens(&args));
    assert_eq!(second["prints"]["computed"].as_u64(), Some(0));
    assert_eq!(second["prints"]["known"].as_u64(), Some(20));
    args.pop();
    *args.last_mut().unwrap() = "duplicates";
    let refused = hashlens(&args);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("`similar`") && why.contains("`copies`"),
        "{why}"
    );
}
