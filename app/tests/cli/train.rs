//! `hashlens train` and `hashlens eval` end to end on the CPU: a small two-class folder (red and blue
//! photos with noise), head-only training at a small input size, the protocol evaluation, and a resume
//! of a finished run that gives back the same model.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::{hashlens, json};

/// A temporary folder holding [`two_classes`] in `photos/` (returned beside it); the folder lives as
/// long as the `TempDir`.
fn two_class_folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("photos");
    two_classes(&data);
    (dir, data)
}

/// 600 noisy 16 × 16 photos per class: reddish ones and bluish ones.
fn two_classes(root: &Path) {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for (name, base) in [("blue", [40u8, 60, 200]), ("red", [200, 50, 40])] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..600 {
            let img = RgbImage::from_fn(16, 16, |_, _| {
                Rgb(base.map(|c| c.saturating_add(rng.random_range(0..40)).saturating_sub(20)))
            });
            img.save(dir.join(format!("{i:03}.png"))).unwrap();
        }
    }
}

/// `hashlens train --json` on `data` with the small head-only settings the training tests share (16 bits,
/// 32-pixel views of photos kept at 16, one cached view, the CPU), writing `out`, then `extra`.
fn head_run<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--data",
        data,
        "--mode",
        "head",
        "--bits",
        "16",
        "--image-size",
        "32",
        "--keep-side",
        "16",
        "--cached-views",
        "1",
        "--device",
        "cpu",
        "--out",
        out,
        "--json",
    ];
    args.extend_from_slice(extra);
    args
}

/// `hashlens compare` on the two-class folder with the settings every test here shares (a 200/50/300
/// split of 32-pixel photos, one cached view, the CPU), then `extra`.
fn compare(data: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "compare",
        "--data",
        data.to_str().unwrap(),
        "--protocol",
        "cifar10-1",
        "--seed",
        "3",
        "--lr-head",
        "0.01",
        "--batch",
        "50",
        "--train",
        "200",
        "--queries",
        "50",
        "--database",
        "300",
        "--image-size",
        "32",
        "--keep-side",
        "16",
        "--cached-views",
        "1",
        "--device",
        "cpu",
    ];
    args.extend(extra);
    hashlens(&args)
}

#[test]
fn train_head_then_eval_and_resume() {
    let (dir, data) = two_class_folder();
    let model = dir.path().join("m.hlmodel");
    let (d, m) = (data.to_str().unwrap(), model.to_str().unwrap());
    let args = head_run(
        d,
        m,
        &[
            "--protocol",
            "cifar10-1",
            "--seed",
            "3",
            "--epochs",
            "2",
            "--batch",
            "100",
        ],
    );
    let trained = json(&hashlens(&args));
    for key in [
        "map_all",
        "map_1000",
        "p_1000",
        "p_r2",
        "bits",
        "pr_curve",
        "train_images_per_s",
        "device",
        "history",
    ] {
        assert!(trained.get(key).is_some(), "missing {key} in {trained}");
    }
    assert_eq!(trained["bits"], 16);
    assert_eq!(trained["train_images"], 1000, "500 per class");
    assert_eq!(trained["queries"], 200);
    assert_eq!(
        trained["database"], 1000,
        "cifar10-1: every non-query photo"
    );
    assert_eq!(trained["history"].as_array().unwrap().len(), 2);
    // Red and blue photos are told apart by any sensible code.
    let map_all = trained["map_all"].as_f64().unwrap();
    assert!(map_all > 0.9, "mAP {map_all}");
    assert!(model.exists() && dir.path().join("m.hlmodel.ckpt").exists());

    // `eval` on the same split scores the same model the same.
    let e = json(&hashlens(&[
        "eval",
        "--model",
        m,
        "--data",
        d,
        "--protocol",
        "cifar10-1",
        "--seed",
        "3",
        "--device",
        "cpu",
        "--json",
    ]));
    assert_eq!(e["map_all"], trained["map_all"]);
    assert_eq!(e["model_fingerprint"], trained["model_fingerprint"]);

    // Resuming a finished run trains nothing more and writes the same model.
    let ckpt = dir.path().join("m.hlmodel.ckpt");
    let mut again: Vec<&str> = args.clone();
    again.extend(["--resume", ckpt.to_str().unwrap()]);
    let resumed = json(&hashlens(&again));
    assert_eq!(resumed["model_fingerprint"], trained["model_fingerprint"]);

    // Other settings are refused with the reason, and nothing is overwritten.
    let mut other: Vec<&str> = again.clone();
    let bits = other.iter().position(|a| *a == "--bits").unwrap();
    other[bits + 1] = "32";
    let out = hashlens(&other);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("other settings"), "{err}");
}

/// CIFAR-10's own layout, `train/<class>/…` beside `test/<class>/…`: the classes are the folders that
/// hold the photos (the rule the app's tabs use too), not "train" and "test".
#[test]
fn train_on_a_train_and_test_layout_learns_the_real_classes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cifar");
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for part in ["train", "test"] {
        for (class, base) in [("blue", [40u8, 60, 200]), ("red", [200, 50, 40])] {
            let folder = data.join(part).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..6 {
                let img = RgbImage::from_fn(16, 16, |_, _| {
                    Rgb(base.map(|c| c.saturating_add(rng.random_range(0..40))))
                });
                img.save(folder.join(format!("{i}.png"))).unwrap();
            }
        }
    }
    let model = dir.path().join("m.hlmodel");
    let (d, m) = (data.to_str().unwrap(), model.to_str().unwrap());
    let trained = json(&hashlens(&head_run(
        d,
        m,
        &["--epochs", "1", "--batch", "8"],
    )));
    assert_eq!(trained["labels"], "2 classes from sub-folders");
    assert_eq!(trained["train_images"], 24);
}

/// `hashlens train --unlabelled`: the labels are not read; the two k-means clusters of the photos'
/// features are the targets, and the codes still tell red from blue (scored with the labels).
#[test]
fn train_without_labels_on_clusters() {
    let (dir, data) = two_class_folder();
    let model = dir.path().join("m.hlmodel");
    let (d, m) = (data.to_str().unwrap(), model.to_str().unwrap());
    let trained = json(&hashlens(&head_run(
        d,
        m,
        &[
            "--protocol",
            "cifar10-1",
            "--seed",
            "3",
            "--unlabelled",
            "--pseudo-labels",
            "clusters:2",
            "--epochs",
            "3",
            "--batch",
            "100",
        ],
    )));
    assert_eq!(
        trained["labels"],
        "unlabelled (2 k-means clusters of the backbone's features)"
    );
    let map_all = trained["map_all"].as_f64().unwrap();
    assert!(map_all > 0.9, "mAP {map_all}");
    // A count that is not a count is refused before any work.
    let out = hashlens(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--unlabelled",
        "--pseudo-labels",
        "clusters:x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a positive count"));
    // So is a temperature τ that L_HP cannot divide by, in `train` and in `compare`.
    for command in ["train", "compare"] {
        let out = hashlens(&[
            command,
            "--data",
            data.to_str().unwrap(),
            "--temperature",
            "0",
        ]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("τ must be a positive number"), "{stderr}");
    }
}

/// `hashlens compare`: the training-free baseline and each method (± SdH, with labels and with cluster
/// targets) on one split, with deformed queries too, as Markdown tables and a JSON file; then again
/// from the features it saved.
#[test]
fn compare_methods_on_one_split() {
    let (dir, data) = two_class_folder();
    let out = dir.path().join("table.json");
    let features = dir.path().join("features.safetensors");
    let run = compare(
        &data,
        &[
            "--methods",
            "dhd,csq,shc",
            "--bits",
            "16",
            "--with-sdh",
            "--labels",
            "both",
            // Without labels: two k-means clusters of the photos' features, which SHC can use too.
            "--pseudo-labels",
            "clusters:2",
            "--robustness",
            // CSQ's centre BCE needs about a hundred steps here (DHD's scaled cross-entropy far fewer).
            // Two counts: every method trains once per count.
            "--epochs",
            "30,40",
            "--out",
            out.to_str().unwrap(),
            "--feature-cache",
            features.to_str().unwrap(),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.starts_with("| method | targets | SdH | bits | epochs | mAP@ALL"),
        "{stdout}"
    );
    let table: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        (table["queries"].as_u64(), table["database"].as_u64()),
        (Some(50), Some(300))
    );
    let rows = table["rows"].as_array().unwrap();
    let names: Vec<(String, String, bool, Option<u64>)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["labels"].as_bool().unwrap(), r["targets"] == "labels");
            (
                r["method"].as_str().unwrap().to_string(),
                r["targets"].as_str().unwrap().to_string(),
                r["sdh"].as_bool().unwrap(),
                r["epochs"].as_u64(),
            )
        })
        .collect();
    let (t, f) = (true, false);
    let (l, c) = ("labels", "clusters:2");
    let expected = [
        ("pca-itq", "none", f, None),
        ("dhd", l, t, Some(30)),
        ("dhd", l, t, Some(40)),
        ("csq", l, f, Some(30)),
        ("csq", l, t, Some(30)),
        ("csq", l, f, Some(40)),
        ("csq", l, t, Some(40)),
        ("shc", l, f, Some(30)),
        ("shc", l, t, Some(30)),
        ("shc", l, f, Some(40)),
        ("shc", l, t, Some(40)),
        ("dhd", c, t, Some(30)),
        ("dhd", c, t, Some(40)),
        ("csq", c, f, Some(30)),
        ("csq", c, t, Some(30)),
        ("csq", c, f, Some(40)),
        ("csq", c, t, Some(40)),
        ("shc", c, f, Some(30)),
        ("shc", c, t, Some(30)),
        ("shc", c, f, Some(40)),
        ("shc", c, t, Some(40)),
    ];
    assert_eq!(
        names,
        expected
            .map(|(m, l, s, e)| (m.to_string(), l.to_string(), s, e))
            .to_vec()
    );
    assert_eq!(table["epochs"], serde_json::json!([30, 40]));
    // Both tables: header and rule, then the rows (the baseline has no robustness row).
    let table_lines = stdout.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(
        table_lines,
        (2 + rows.len()) + (2 + rows.len() - 1),
        "{stdout}"
    );
    assert!(stdout.contains("Robustness"), "{stdout}");
    for r in rows {
        let deformed = r
            .get("robustness")
            .and_then(|v| v.as_array())
            .map_or(0, Vec::len);
        assert_eq!(
            deformed,
            if r["method"] == "pca-itq" { 0 } else { 7 },
            "{r}"
        );
        let map = r["map_all"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&map), "{r}");
        // Red and blue photos are told apart by the baseline and by every method, trained with the
        // labels or with the two clusters the photos' features fall into.
        assert!(map > 0.9, "{r}");
    }

    // Again from the saved features: they are not computed again, and a run gives the same codes.
    let again = compare(
        &data,
        &[
            "--methods",
            "dhd",
            "--bits",
            "16",
            "--robustness",
            "--epochs",
            "30",
            "--out",
            out.to_str().unwrap(),
            "--feature-cache",
            features.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("backbone features from"), "{stderr}");
    assert!(!stderr.contains("saved in"), "{stderr}");
    let second: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let dhd = |rows: &serde_json::Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["method"] == "dhd" && r["targets"] == "labels" && r["epochs"] == 30)
            .cloned()
            .unwrap()
    };
    let (a, b) = (dhd(&table["rows"]), dhd(&second["rows"]));
    for key in ["map_all", "map_1000", "p_1000", "p_r2", "robustness"] {
        assert_eq!(a[key], b[key], "{key}");
    }
}

/// `--validation`: the held-out training photos are not trained on, score every run, and choose one
/// epoch count (and DHD's τ and DHN's logit scale) per method and bit count, the run that scored
/// best on them.
#[test]
fn compare_chooses_epochs_on_held_out_photos() {
    let (dir, data) = two_class_folder();
    let out = dir.path().join("table.json");
    let run = compare(
        &data,
        &[
            "--methods",
            "dhd,csq,dhn",
            "--dhn-scale",
            "0.5,2/K",
            "--temperature",
            "0.2,0.5",
            "--bits",
            "16",
            "--epochs",
            "1,30",
            "--validation",
            "50",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let table: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(table["train_images"], 150);
    assert_eq!(table["validation"], 50);
    let rows = table["rows"].as_array().unwrap();
    for (method, settings) in [("dhd", 4), ("csq", 2), ("dhn", 4)] {
        let runs: Vec<&serde_json::Value> = rows.iter().filter(|r| r["method"] == method).collect();
        assert_eq!(
            runs.len(),
            settings,
            "{method}: one run per epoch count and scale"
        );
        let chosen: Vec<&&serde_json::Value> =
            runs.iter().filter(|r| r["chosen"] == true).collect();
        assert_eq!(chosen.len(), 1, "{method}: {runs:?}");
        let best = runs
            .iter()
            .map(|r| r["val_map_all"].as_f64().unwrap())
            .fold(f64::MIN, f64::max);
        assert_eq!(chosen[0]["val_map_all"].as_f64().unwrap(), best);
    }
    // DHN once per scale as given and DHD once per τ, each with both epoch counts; CSQ has neither.
    let with = |method: &str, key: &str, value: serde_json::Value| {
        rows.iter()
            .filter(|r| r["method"] == method && r[key] == value)
            .count()
    };
    assert_eq!(
        (
            with("dhn", "logit_scale", "0.5".into()),
            with("dhn", "logit_scale", "2/K".into())
        ),
        (2, 2)
    );
    assert_eq!(
        (
            with("dhd", "temperature", 0.2.into()),
            with("dhd", "temperature", 0.5.into())
        ),
        (2, 2)
    );
    assert!(
        rows.iter()
            .all(|r| r["method"] == "dhn" || r.get("logit_scale").is_none())
    );
    assert!(
        rows.iter()
            .all(|r| r["method"] == "dhd" || r.get("temperature").is_none())
    );
    let baseline = rows.iter().find(|r| r["method"] == "pca-itq").unwrap();
    assert!(baseline.get("val_map_all").is_none() && baseline.get("chosen").is_none());
    // The second table: the baseline and the three chosen rows.
    let stdout = String::from_utf8_lossy(&run.stdout);
    let (_, chosen_table) = stdout
        .split_once("Epochs chosen by the held-out")
        .unwrap_or_else(|| panic!("{stdout}"));
    let chosen_rows = chosen_table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| method"))
        .count();
    assert_eq!(chosen_rows, 4, "{stdout}");
    // Holding out all but one training photo is refused before any work.
    let refused = hashlens(&[
        "compare",
        "--data",
        data.to_str().unwrap(),
        "--protocol",
        "cifar10-1",
        "--train",
        "20",
        "--validation",
        "19",
        "--device",
        "cpu",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("hold out fewer"));
}
