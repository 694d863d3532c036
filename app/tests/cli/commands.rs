//! The command line as users and scripts call it: exit codes, JSON shapes and error messages.

use std::path::Path;

use crate::common::{hashlens, json};

#[test]
fn bench_search_prints_the_documented_fields() {
    let out = hashlens(&[
        "bench",
        "search",
        "--n",
        "3000",
        "--bits",
        "64",
        "--k",
        "10",
        "--queries",
        "5",
        "--threads",
        "1",
        "--json",
    ]);
    let v = json(&out);
    for key in [
        "n",
        "bits",
        "k",
        "threads",
        "median_ms",
        "p95_ms",
        "qps",
        "batch_qps",
        "kernel",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["n"], 3000);
    assert_eq!(v["threads"], 1);
    assert!(v["qps"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_search_reads_raw_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Two 16-bit codes in the database, one query equal to the second: the nearest is at distance 0,
    // the other at popcount(0x00FF ^ 0x0F0F) = 8.
    std::fs::write(dir.path().join("db.u8"), [0xFF, 0x00, 0x0F, 0x0F]).unwrap();
    std::fs::write(dir.path().join("q.u8"), [0x0F, 0x0F]).unwrap();
    let db = dir.path().join("db.u8");
    let q = dir.path().join("q.u8");
    let out = hashlens(&[
        "bench",
        "search",
        "--bits",
        "16",
        "--k",
        "2",
        "--codes",
        db.to_str().unwrap(),
        "--query-codes",
        q.to_str().unwrap(),
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(v["n"], 2);
    assert_eq!(v["distance_sum"], 8);
}

/// The edit benchmark end to end on 12 small photos in two class folders: every edit reported, scores
/// that are shares, and the EXIF-only turn read back upright (so its code barely moves, where the
/// same pixels turned for real move it).
#[test]
fn bench_edits_reports_every_edit_and_the_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..12u32 {
        let class = dir.path().join(if i % 2 == 0 { "warm" } else { "cool" });
        std::fs::create_dir_all(&class).unwrap();
        image::RgbImage::from_fn(64, 48, |x, y| {
            let t = ((x * (i + 2) + y * 3 + i * 17) % 97) as u8;
            if i % 2 == 0 {
                image::Rgb([150 + t, 40 + t, 20 + t / 2])
            } else {
                image::Rgb([20 + t / 2, 60 + t, 140 + t])
            }
        })
        .save(class.join(format!("{i}.png")))
        .unwrap();
    }
    let data = dir.path().to_str().unwrap();
    let v = json(&hashlens(&[
        "bench",
        "edits",
        "--data",
        data,
        "--photos",
        "12",
        "--bits",
        "24",
        "--device",
        "cpu",
        "--score-rule",
        "3,10",
        "--json",
    ]));
    // The rule given is scored: with the print beside the code it finds at least what the code
    // alone finds at the same distance (here the fixed K/8, 3 bits).
    let given = &v["verdict_rule_given"];
    assert_eq!(
        (
            given["code_within"].as_u64(),
            given["perceptual_within"].as_u64()
        ),
        (Some(3), Some(10))
    );
    assert!(given["recall"].as_f64().unwrap() >= v["fixed"]["recall"].as_f64().unwrap());
    assert_eq!(v["photos"], 12);
    let edits = v["edits"].as_object().unwrap();
    assert_eq!(edits.len(), 15);
    for name in [
        "resize_50",
        "jpeg_q50",
        "mirror",
        "brightness_+30",
        "border",
        "rotate_90_exif",
    ] {
        let r1 = edits[name]["recall_at_1"].as_f64().unwrap();
        let r10 = edits[name]["recall_at_10"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&r1) && r1 <= r10 && r10 <= 1.0,
            "{name}: {r1} {r10}"
        );
    }
    let exif = edits["rotate_90_exif"]["distance_median"].as_u64().unwrap();
    let turned = edits["rotate_90"]["distance_median"].as_u64().unwrap();
    assert!(
        exif < turned,
        "EXIF turn {exif} bits, pixel turn {turned} bits"
    );
    for verdict in ["verdict", "similar"] {
        let p = v[verdict]["precision"].as_f64().unwrap();
        let r = v[verdict]["recall"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&r),
            "{verdict}"
        );
    }
    assert_eq!(v["verdict"]["within"], 3, "K/8 at 24 bits");
    // Every edit has one copy per photo, so the verdict's recall over all edits is the mean of the
    // shares it finds per edit.
    let shares: Vec<f64> = edits
        .values()
        .map(|e| e["near_duplicate"].as_f64().unwrap())
        .collect();
    let mean = shares.iter().sum::<f64>() / shares.len() as f64;
    let recall = v["verdict"]["recall"].as_f64().unwrap();
    assert!((mean - recall).abs() < 1e-9, "{mean} against {recall}");
    // "Code or pHash" may use either signal alone, so it finds at least as many copies as the code's
    // and pHash's own calibrations; per edit, its shares average to its recall.
    let either = &v["code_or_phash"];
    let either_recall = either["recall"].as_f64().unwrap();
    assert!(either["precision"].as_f64().unwrap() >= 0.99, "{either}");
    for single in [&v["calibrated"], &v["phash_calibrated"]] {
        if let Some(r) = single["recall"].as_f64() {
            assert!(either_recall >= r, "{either_recall} against {single}");
        }
    }
    let mean = edits
        .values()
        .map(|e| e["code_or_phash"].as_f64().unwrap())
        .sum::<f64>()
        / edits.len() as f64;
    assert!(
        (mean - either_recall).abs() < 1e-9,
        "{mean} against {either_recall}"
    );
    // The calibrated threshold keeps precision ≥ 0.99 and is the widest that does.
    let calibrated = &v["calibrated"];
    assert!(
        calibrated["precision"].as_f64().unwrap() >= 0.99,
        "{calibrated}"
    );
    assert_eq!(v["same_class"]["pairs"], 30, "2 × C(6, 2)");
    assert_eq!(v["different_class"]["pairs"], 36);
    assert_eq!(
        v["verdict_calibrated"], false,
        "12 photos get LSH at 24 bits (no reference model ships for 24), uncalibrated"
    );

    // Saved with the model, the calibration becomes the model's own verdict.
    // Outside the photo folder, so that the second run samples the same photos.
    let out = tempfile::tempdir().unwrap();
    let saved = out.path().join("calibrated.hlmodel");
    let work = out.path().join("work");
    hashlens(&[
        "bench",
        "edits",
        "--data",
        data,
        "--photos",
        "12",
        "--bits",
        "24",
        "--device",
        "cpu",
        "--work",
        work.to_str().unwrap(),
        "--save-calibrated",
        saved.to_str().unwrap(),
    ]);
    let again = json(&hashlens(&[
        "bench",
        "edits",
        "--data",
        data,
        "--photos",
        "12",
        "--model",
        saved.to_str().unwrap(),
        "--device",
        "cpu",
        "--json",
    ]));
    assert_eq!(again["verdict_calibrated"], true);
    // The same photos, edits and model: the calibrated threshold measured again is the one saved.
    assert_eq!(again["verdict"]["within"], again["calibrated"]["within"]);
    assert_eq!(again["fixed"]["within"], 3);
}

/// `bench edits --edit-whitening-from`: the library's default is fitted after a whitening learned from
/// another folder's edited photos (the model says so), and learning it from the benchmark's own photos is
/// refused.
#[test]
fn bench_edits_fits_an_edit_whitened_default_from_other_photos() {
    let dir = tempfile::tempdir().unwrap();
    let folder = |name: &str, seed: u32| {
        let root = dir.path().join(name);
        std::fs::create_dir_all(&root).unwrap();
        for i in 0..12u32 {
            image::RgbImage::from_fn(64, 48, |x, y| {
                let t = ((x * (i + seed) + y * (3 + seed) + i * 17) % 97) as u8;
                image::Rgb([40 + t, 120 + t / 2, 200 - t])
            })
            .save(root.join(format!("{i}.png")))
            .unwrap();
        }
        root.to_str().unwrap().to_string()
    };
    let (data, other) = (folder("library", 2), folder("other", 5));
    let args = |from: &str| -> Vec<String> {
        [
            "bench",
            "edits",
            "--data",
            &data,
            "--photos",
            "12",
            "--bits",
            "8",
            "--edit-whitening-from",
            from,
            "--device",
            "cpu",
            "--json",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let run = |from: &str, extra: &[&str]| {
        let owned = args(from);
        let mut all: Vec<&str> = owned.iter().map(String::as_str).collect();
        all.extend(extra);
        hashlens(&all)
    };
    // Its largest 3 eigenpairs kept and written: a whitening file of the 1,280-wide features.
    let saved = dir.path().join("whitening.bin");
    let v = json(&run(
        &other,
        &[
            "--whitening-rank",
            "3",
            "--save-edit-whitening",
            saved.to_str().unwrap(),
        ],
    ));
    let bytes = std::fs::read(&saved).unwrap();
    assert_eq!(&bytes[..8], b"HLWHITE\n");
    let field = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((field(12), field(16)), (1280, 3), "dim and rank");
    assert!(
        v["model"]
            .as_str()
            .unwrap()
            .contains("after an edit whitening"),
        "{}",
        v["model"]
    );
    assert_eq!(v["edits"].as_object().unwrap().len(), 15);
    let refused = run(&data, &[]);
    assert!(!refused.status.success());
    let unknown = hashlens(&[
        "bench",
        "edits",
        "--data",
        &data,
        "--edit-whitening-from",
        &other,
        "--whitening-edits",
        "jpeg_q50,sepia",
    ]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("\"sepia\" is not an edit"));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("other photos than the benchmark's"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn eval_codes_reports_named_metrics() {
    // The hand-computed case of hashlens_core::eval's unit tests, through files.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let codes = write(
        d,
        "db.txt",
        "10000000\n00000000\n11100000\n00000001\n11111111\n",
    );
    let labels = write(
        d,
        "db_labels.txt",
        "a.jpg 0 1\nb.jpg 1 0\nc.jpg 1 0\nd.jpg 1 0\ne.jpg 0 1\n",
    );
    let qcodes = write(d, "q.txt", "-1 -1 -1 -1 -1 -1 -1 -1\n");
    let qlabels = write(d, "q_labels.txt", "q.jpg 1 0\n");
    let inputs = [
        "eval-codes",
        "--codes",
        &codes,
        "--labels",
        &labels,
        "--query-codes",
        &qcodes,
        "--query-labels",
        &qlabels,
    ];
    let out = hashlens(
        &[
            &inputs[..],
            &["--map-at", "all,2", "--radius", "1", "--json"],
        ]
        .concat(),
    );
    let v = json(&out);
    let map_all = v["map"][0]["map"].as_f64().unwrap();
    assert_eq!(v["map"][0]["depth"], "all");
    assert!((map_all - (1.0 + 2.0 / 3.0 + 0.75) / 3.0).abs() < 1e-12);
    assert_eq!(v["map"][1]["map"], 1.0);
    assert!(
        (v["precision_within_radius"]["precision"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12
    );
    assert!(!v["pr_by_rank"].as_array().unwrap().is_empty());
    assert_eq!(v["pr_by_radius"].as_array().unwrap().len(), 9);

    // Human output mentions mAP.
    let out = hashlens(&inputs);
    assert!(String::from_utf8_lossy(&out.stdout).contains("mAP@all"));
}

#[test]
fn bad_inputs_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let codes = write(d, "db.txt", "10000000\n0000\n");
    let labels = write(d, "l.txt", "0\n1\n");
    let out = hashlens(&[
        "eval-codes",
        "--codes",
        &codes,
        "--labels",
        &labels,
        "--query-codes",
        &codes,
        "--query-labels",
        &labels,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("db.txt") && err.contains("line 2"), "{err}");

    let out = hashlens(&["scan", d.join("missing").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));
}

#[test]
fn scan_and_split_a_labelled_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    for class in ["cat", "dog"] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..6 {
            let img = image::RgbImage::from_pixel(4, 4, image::Rgb([i * 40, 10, 10]));
            img.save(root.join(class).join(format!("{i} x.png")))
                .unwrap();
        }
    }
    std::fs::write(root.join("cat/broken.jpg"), b"nope").unwrap();
    let v = json(&hashlens(&["scan", root.to_str().unwrap(), "--json"]));
    assert_eq!(v["images"], 12);
    assert_eq!(v["formats"]["png"], 12);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 1);

    let out_dir = dir.path().join("lists");
    let v = json(&hashlens(&[
        "split",
        root.to_str().unwrap(),
        "--query-per-class",
        "1",
        "--train-per-class",
        "2",
        "--seed",
        "3",
        "--out",
        out_dir.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(
        (
            v["query"].as_u64(),
            v["train"].as_u64(),
            v["database"].as_u64()
        ),
        (Some(2), Some(4), Some(6))
    );
    let query = std::fs::read_to_string(out_dir.join("query.txt")).unwrap();
    assert_eq!(query.lines().count(), 2);
    assert!(query.lines().all(|l| l.contains("%20x.png ")), "{query}");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("classes.txt")).unwrap(),
        "cat\ndog\n"
    );
}
