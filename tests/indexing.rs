//! Indexing real folders end to end on the CPU backend: hostile folders, incremental updates, resuming
//! from a journal, determinism, the model beside the index.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use hashlens_core::HashCode;
use hashlens_core::device::ComputeDevice;
use hashlens_core::index::{
    CodeIndex, IndexEvent, IndexJob, IndexReport, IndexedPhoto, Journal, ModelChoice, encode_photo,
    model_path_for, update_index,
};
use hashlens_core::model::reference::{reference_model, shipped_edit_whitening};
use hashlens_core::model::{BackboneArch, CodePurpose, HashModel, HeadKind};
use image::{ImageFormat, Rgb, RgbImage};

/// A photo-like image: a seeded mix of gradients and blobs, different for each `seed`.
fn picture(seed: u32) -> RgbImage {
    let (a, b, c) = (seed * 37 % 255, seed * 91 % 255, seed * 53 % 255);
    RgbImage::from_fn(48, 40, |x, y| {
        let blob = ((x as i32 - (seed % 40) as i32).pow(2) + (y as i32 - 20).pow(2) < 120) as u32;
        Rgb([
            ((a + x * 5 + blob * 120) % 256) as u8,
            ((b + y * 6) % 256) as u8,
            ((c + (x ^ y) * 3 + blob * 60) % 256) as u8,
        ])
    })
}

fn write_picture(path: &Path, seed: u32, format: ImageFormat) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    picture(seed).save_with_format(path, format).unwrap();
}

fn cpu() -> ComputeDevice {
    ComputeDevice::cpu(None)
}

fn default_model(bits: usize) -> ModelChoice {
    ModelChoice::Default {
        arch: BackboneArch::MobilenetV2,
        bits,
        refit: false,
        purpose: CodePurpose::Similar,
    }
}

fn run(job: &IndexJob) -> (IndexReport, Vec<IndexEvent>) {
    let mut events = Vec::new();
    let report = update_index(job, &cpu(), &AtomicBool::new(false), &mut |e| {
        events.push(e)
    })
    .expect("indexing runs");
    (report, events)
}

fn job(folder: &Path, index: &Path, model: ModelChoice) -> IndexJob {
    let mut job = IndexJob::new(folder, model);
    job.index = index.to_path_buf();
    job.batch = 4;
    job
}

fn relative(index: &CodeIndex, root: &Path) -> Vec<String> {
    index
        .photos()
        .iter()
        .map(|p| {
            p.path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn hostile_folder_indexes_every_good_photo_and_reports_every_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    write_picture(&root.join("a/one.jpg"), 1, ImageFormat::Jpeg);
    write_picture(&root.join("a/two.png"), 2, ImageFormat::Png);
    write_picture(&root.join("b/liar.jpg"), 3, ImageFormat::Png); // wrong extension: still a photo
    write_picture(&root.join("b/grey.png"), 4, ImageFormat::Png);
    let grey = image::open(root.join("b/grey.png")).unwrap().to_luma16();
    grey.save(root.join("b/grey16.png")).unwrap();
    // Bad: garbage behind a photo's name, an empty file, a truncated JPEG, a 30,000² PNG header.
    fs::write(
        root.join("c/garbage.jpg").parent_made(),
        b"plain text, not a JPEG",
    )
    .unwrap();
    fs::write(root.join("c/zero.jpg"), b"").unwrap();
    let mut jpeg = Vec::new();
    picture(5)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    fs::write(root.join("c/truncated.jpg"), &jpeg[..jpeg.len() / 3]).unwrap();
    fs::write(root.join("c/huge.png"), huge_png_header(30_000, 30_000)).unwrap();
    let mut good = vec![
        "a/one.jpg",
        "a/two.png",
        "b/grey.png",
        "b/grey16.png",
        "b/liar.jpg",
    ];
    let mut bad = vec![
        "c/garbage.jpg",
        "c/huge.png",
        "c/truncated.jpg",
        "c/zero.jpg",
    ];
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.png");
        write_picture(&root.join("b").join(odd), 6, ImageFormat::Png);
        good.insert(2, "b/caf\u{FFFD}.png");
        std::os::unix::fs::symlink(&root, root.join("c/loop")).unwrap();
        bad.push("c/loop");
    }

    let index_path = dir.path().join("idx/photos.hlindex");
    let (report, _) = run(&job(&root, &index_path, default_model(8)));
    let index = CodeIndex::load(&index_path).unwrap();
    assert_eq!(relative(&index, &root), good);
    assert_eq!((report.indexed, report.encoded), (good.len(), good.len()));
    let mut reported: Vec<String> = report
        .skipped
        .iter()
        .map(|s| {
            Path::new(&s.path)
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    reported.sort();
    bad.sort();
    assert_eq!(reported, bad, "{:#?}", report.skipped);
    let huge = report.skipped.iter().find(|s| s.path.ends_with("huge.png"));
    assert!(huge.unwrap().reason.contains("too large"), "{huge:?}");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        assert!(
            index
                .photos()
                .iter()
                .any(|p| p.path.as_os_str().as_bytes().ends_with(b"caf\xe9.png")),
            "the non-UTF-8 name is kept byte-exact"
        );
    }
    // Six photos are too few for 8-bit ITQ: the model says it fell back to LSH.
    let model = HashModel::load(&model_path_for(&index_path), &cpu().device).unwrap();
    assert_eq!(model.config.head, HeadKind::Lsh);
    assert_eq!(model.fingerprint(), index.model());
    assert!(!Journal::path_for(&index_path).exists(), "journal removed");
}

/// A PNG signature and IHDR chunk announcing `w × h` pixels, with no pixel data behind them.
fn huge_png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

trait ParentMade {
    fn parent_made(self) -> PathBuf;
}

impl ParentMade for PathBuf {
    fn parent_made(self) -> PathBuf {
        fs::create_dir_all(self.parent().unwrap()).unwrap();
        self
    }
}

fn folder_of(n: u32, root: &Path) {
    for i in 0..n {
        write_picture(
            &root.join(format!("p{i:02}.png")),
            100 + i,
            ImageFormat::Png,
        );
    }
}

#[test]
fn updates_are_incremental_and_codes_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(40, &root);
    let first = dir.path().join("one.hlindex");
    let (r1, events) = run(&job(&root, &first, default_model(8)));
    assert_eq!((r1.indexed, r1.encoded, r1.kept), (40, 40, 0));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, IndexEvent::Model { fitted: true, .. }))
    );
    let model = HashModel::load(&model_path_for(&first), &cpu().device).unwrap();
    assert_eq!(model.config.head, HeadKind::Itq, "40 photos fit 8-bit ITQ");

    // The same folder indexed afresh elsewhere: the same model and the same codes.
    let second = dir.path().join("two.hlindex");
    run(&job(&root, &second, default_model(8)));
    let (a, b) = (
        CodeIndex::load(&first).unwrap(),
        CodeIndex::load(&second).unwrap(),
    );
    assert_eq!(a.model(), b.model());
    assert_eq!(a.codes(), b.codes());
    // The codes have information: not all equal.
    assert!((1..a.len()).any(|i| a.codes().get(i) != a.codes().get(0)));

    // Change one photo, delete one, add one: only two are encoded, and by the same model.
    write_picture(&root.join("p03.png"), 999, ImageFormat::Png);
    fs::remove_file(root.join("p07.png")).unwrap();
    write_picture(&root.join("p99.png"), 998, ImageFormat::Png);
    let (r2, events) = run(&job(&root, &first, default_model(8)));
    assert_eq!(
        (r2.indexed, r2.encoded, r2.kept, r2.removed),
        (40, 2, 38, 1)
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, IndexEvent::Model { fitted: false, .. }))
    );
    let updated = CodeIndex::load(&first).unwrap();
    assert_eq!(updated.model(), a.model());
    let p05 = updated.position(&root.join("p05.png")).unwrap();
    assert_eq!(
        updated.codes().get(p05),
        a.codes().get(5),
        "unchanged code kept"
    );
    assert!(updated.position(&root.join("p07.png")).is_none());

    // Another code length is another model: everything is encoded again.
    let (r3, _) = run(&job(&root, &first, default_model(16)));
    assert_eq!((r3.encoded, r3.kept, r3.bits), (40, 0, 16));
}

#[test]
fn a_killed_run_resumes_from_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(12, &root);
    let model_index = dir.path().join("fit.hlindex");
    run(&job(&root, &model_index, default_model(8)));
    let model_file = model_path_for(&model_index);
    let model = HashModel::load(&model_file, &cpu().device).unwrap();

    // An uninterrupted run with that model file.
    let clean = dir.path().join("clean.hlindex");
    run(&job(&root, &clean, ModelChoice::File(model_file.clone())));
    let clean = CodeIndex::load(&clean).unwrap();

    // A "killed" run: five photos reached the journal (the last record torn), the index was never saved.
    let killed = dir.path().join("killed.hlindex");
    let (mut journal, _) = Journal::open(&killed, 8, model.fingerprint()).unwrap();
    for i in 0..5 {
        journal
            .append(&clean.photos()[i], &clean.codes().get(i))
            .unwrap();
    }
    drop(journal);
    let journal_path = Journal::path_for(&killed);
    let len = fs::metadata(&journal_path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&journal_path)
        .unwrap()
        .set_len(len - 3)
        .unwrap();

    let (r, _) = run(&job(&root, &killed, ModelChoice::File(model_file)));
    assert_eq!((r.resumed, r.encoded, r.indexed), (4, 8, 12));
    let resumed = CodeIndex::load(&killed).unwrap();
    assert_eq!(
        resumed, clean,
        "same photos, codes and model as the uninterrupted run"
    );
    assert!(!journal_path.exists());
}

#[test]
fn a_cancelled_run_keeps_what_it_finished_and_a_damaged_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(10, &root);
    let fit = dir.path().join("fit.hlindex");
    run(&job(&root, &fit, default_model(8)));
    let index_path = dir.path().join("photos.hlindex");
    let j = job(&root, &index_path, ModelChoice::File(model_path_for(&fit)));
    let cancel = AtomicBool::new(false);
    let report = update_index(&j, &cpu(), &cancel, &mut |e| {
        if let IndexEvent::Progress { .. } = e {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    })
    .unwrap();
    // Cancelled after the first batch of four: those are saved and searchable.
    assert!(report.cancelled);
    assert_eq!((report.indexed, report.encoded), (4, 4));
    assert_eq!(CodeIndex::load(&index_path).unwrap().len(), 4);
    let (r, _) = run(&j);
    assert_eq!((r.indexed, r.kept, r.encoded), (10, 4, 6));

    fs::write(&index_path, b"HLINDEX\ngarbage").unwrap();
    let (r, events) = run(&j);
    assert_eq!((r.indexed, r.kept), (10, 0));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, IndexEvent::Warning(w) if w.contains("rebuilding")))
    );
    let mut aside = index_path.clone().into_os_string();
    aside.push(".damaged");
    assert!(Path::new(&aside).exists(), "the damaged file is kept aside");
}

#[test]
fn a_wrong_model_file_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(2, &root);
    let bogus = dir.path().join("bogus.model");
    fs::write(&bogus, b"not a model").unwrap();
    let j = job(&root, &dir.path().join("i"), ModelChoice::File(bogus));
    let err = update_index(&j, &cpu(), &AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a hashlens model"), "{err}");
}

#[test]
fn an_up_to_date_index_is_not_written_and_crash_leftovers_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(12, &root);
    let index = dir.path().join("place/photos.hlindex");
    run(&job(&root, &index, default_model(8)));
    let saved = fs::read(&index).unwrap();

    // What a run killed between writing and renaming leaves: an old temporary file (removed), and one
    // just written (another run's write in progress: kept).
    let stale = index.with_file_name(".hashlens-abc123.tmp");
    fs::write(&stale, b"partial").unwrap();
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    let fresh = index.with_file_name(".hashlens-def456.tmp");
    fs::write(&fresh, b"partial").unwrap();
    // Where the journal goes, something that cannot be written to (as in a read-only folder): an
    // index with nothing to do needs no journal.
    let mut journal = index.as_os_str().to_owned();
    journal.push(".journal");
    fs::create_dir(&journal).unwrap();

    let (r, _) = run(&job(&root, &index, default_model(8)));
    assert_eq!((r.indexed, r.encoded, r.kept, r.removed), (12, 0, 12, 0));
    assert_eq!(
        fs::read(&index).unwrap(),
        saved,
        "the index is not rewritten"
    );
    assert!(!stale.exists(), "a crash's leftover is removed");
    assert!(fresh.exists(), "a write in progress is left alone");
}

/// A model file with its settings edited by `edit` and its checksum dropped (as a hand-crafted file
/// would come), tensors as they were.
fn crafted_model(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let meta = header["__metadata__"].as_object_mut().unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(meta["hashlens"].as_str().unwrap()).unwrap();
    edit(&mut config);
    meta.insert("hashlens".into(), config.to_string().into());
    meta.remove("hashlens.checksum");
    let mut json = header.to_string().into_bytes();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

/// `bytes` with the first value of the tensor whose name contains `tensor` set to `value`, and the
/// checksum dropped.
fn with_value(bytes: &[u8], tensor: &str, value: f32) -> Vec<u8> {
    let mut out = crafted_model(bytes, |_| {});
    let n = u64::from_le_bytes(out[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&out[8..8 + n]).unwrap();
    let (_, info) = header
        .as_object()
        .unwrap()
        .iter()
        .find(|(name, _)| name.contains(tensor))
        .unwrap_or_else(|| panic!("a tensor named like {tensor}: {header}"));
    let start = 8 + n + info["data_offsets"][0].as_u64().unwrap() as usize;
    out[start..start + 4].copy_from_slice(&value.to_le_bytes());
    out
}

#[test]
fn hostile_model_settings_and_weights_are_refused_before_use() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(12, &root);
    let index = dir.path().join("made/photos.hlindex");
    run(&job(&root, &index, default_model(8)));
    let good = fs::read(model_path_for(&index)).unwrap();

    let set = |key: &'static str, field: &'static str, v: serde_json::Value| {
        move |c: &mut serde_json::Value| c[key][field] = v
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "crop 0",
            crafted_model(&good, set("input", "crop", 0.into())),
            "input crop 0",
        ),
        (
            "crop 30000",
            crafted_model(&good, set("input", "crop", 30000.into())),
            "input crop 30000",
        ),
        (
            "resize 60000",
            crafted_model(&good, set("input", "resize", 60000.into())),
            "input resize 60000",
        ),
        (
            "zero std",
            crafted_model(
                &good,
                set("input", "std", serde_json::json!([0.2, 0.0, 0.2])),
            ),
            "standard deviations",
        ),
        (
            "a million classes",
            crafted_model(&good, |c| c["classes"] = 1_000_000.into()),
            "classes",
        ),
        (
            "NaN projection",
            with_value(&good, "projection", f32::NAN),
            "NaN",
        ),
        (
            "infinite mean",
            with_value(&good, "mean", f32::INFINITY),
            "NaN or infinite",
        ),
    ];
    for (what, bytes, reason) in cases {
        let file = dir.path().join(format!("{what}.hlmodel"));
        fs::write(&file, &bytes).unwrap();
        let fresh = dir.path().join(format!("{what}/photos.hlindex"));
        let j = job(&root, &fresh, ModelChoice::File(file));
        let err = update_index(&j, &cpu(), &AtomicBool::new(false), &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains(reason), "{what}: {err}");
        assert!(
            !model_path_for(&fresh).exists(),
            "{what}: nothing is copied beside the index"
        );
    }

    // A byte flipped in the model beside the index: found by its checksum, set aside, a new model
    // fitted, and the run says so.
    let beside = model_path_for(&index);
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x10;
    fs::write(&beside, &flipped).unwrap();
    let (r, events) = run(&job(&root, &index, default_model(8)));
    assert_eq!(r.indexed, 12);
    let warned = events.iter().any(|e| {
        matches!(e, IndexEvent::Warning(w) if w.contains("damaged") && w.contains("fitting a new model"))
    });
    assert!(warned, "{events:?}");
    let mut aside = beside.as_os_str().to_owned();
    aside.push(".damaged");
    assert_eq!(fs::read(&aside).unwrap(), flipped);
    HashModel::load(&beside, &cpu().device).expect("a sound model replaces it");
}

#[test]
fn cut_and_forged_jpegs_are_never_indexed_silently() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(12, &root);
    let noisy = RgbImage::from_fn(1200, 900, |x, y| {
        let v = ((x * 7919 + y * 104_729) % 251) as u8;
        Rgb([v, v.wrapping_mul(3), 255 - v])
    });
    let mut jpeg = Vec::new();
    noisy
        .write_to(&mut std::io::Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    fs::write(root.join("half.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    // 958 bytes or so that claim 18000 × 18000 pixels.
    let mut forged = Vec::new();
    picture(3)
        .write_to(&mut std::io::Cursor::new(&mut forged), ImageFormat::Jpeg)
        .unwrap();
    let sof = forged.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
    forged[sof + 5..sof + 9].copy_from_slice(&[0x46, 0x50, 0x46, 0x50]);
    fs::write(root.join("forged.jpg"), &forged).unwrap();

    let (r, events) = run(&job(&root, &dir.path().join("i.hlindex"), default_model(8)));
    for name in ["half.jpg", "forged.jpg"] {
        let damaged = r.damaged.iter().find(|s| s.path.ends_with(name));
        let skipped = r.skipped.iter().find(|s| s.path.ends_with(name));
        match (damaged, skipped) {
            (Some(d), None) => {
                assert!(
                    events.iter().any(
                        |e| matches!(e, IndexEvent::Warning(w) if w.contains(name) && w.contains(&d.reason))
                    ),
                    "{name}: a warning while indexing"
                );
            }
            (None, Some(s)) => assert!(!s.reason.is_empty()),
            other => panic!("{name} must be reported once: {other:?}"),
        }
    }
    assert!(r.indexed >= 12);
}

/// A first index shows its photos with the shipped reference codes while it reads them for its own fit,
/// then announces the fitted model, whose codes replace them; the saved index holds only the fitted
/// model's codes, and a later run (an index exists) shows nothing provisional.
#[test]
fn a_first_index_is_searchable_with_the_reference_codes_until_its_own_fit() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(24, &root);
    let index_path = dir.path().join("i.hlindex");
    let (report, events) = run(&job(&root, &index_path, default_model(16)));
    assert_eq!(report.indexed, 24);
    let device = cpu().device;
    let (reference, _) = reference_model(BackboneArch::MobilenetV2, 16, &device)
        .unwrap()
        .unwrap();
    let models: Vec<(usize, &String, bool, bool)> = events
        .iter()
        .enumerate()
        .filter_map(|(at, e)| match e {
            IndexEvent::Model {
                fingerprint,
                fitted,
                provisional,
                ..
            } => Some((at, fingerprint, *fitted, *provisional)),
            _ => None,
        })
        .collect();
    assert_eq!(models.len(), 2, "the reference, then the fitted model");
    let ((first, provisional_fp, _, true), (second, fitted_fp, true, false)) =
        (models[0], models[1])
    else {
        panic!("provisional first, fitted second: {models:?}");
    };
    assert_eq!(provisional_fp, reference.fingerprint());
    let saved = CodeIndex::load(&index_path).unwrap();
    assert_eq!(saved.model(), fitted_fp.as_str());
    assert_ne!(fitted_fp, provisional_fp);
    // Between the two announcements: every photo, with the reference model's code for it (computed
    // here through the whole network, not from the fit's features).
    let provisional: Vec<&IndexedPhoto> = events[first..second]
        .iter()
        .filter_map(|e| match e {
            IndexEvent::Encoded(photo, code) => {
                let want = encode_photo(&reference, &photo.path, &device).unwrap();
                assert_eq!(code, &want, "{}", photo.path.display());
                Some(photo)
            }
            _ => None,
        })
        .collect();
    assert_eq!(provisional.len(), 24);
    // After the fitted model: every photo again, with the saved codes.
    let fitted: Vec<(&IndexedPhoto, &HashCode)> = events[second..]
        .iter()
        .filter_map(|e| match e {
            IndexEvent::Encoded(photo, code) => Some((photo, code)),
            _ => None,
        })
        .collect();
    assert_eq!(fitted.len(), 24);
    for (photo, code) in fitted {
        let at = saved.position(&photo.path).unwrap();
        assert_eq!(&saved.codes().get(at), code);
    }

    // A second run has an index to show: nothing provisional.
    write_picture(&root.join("new.png"), 777, ImageFormat::Png);
    let (_, events) = run(&job(&root, &index_path, default_model(16)));
    assert!(!events.iter().any(|e| matches!(
        e,
        IndexEvent::Model {
            provisional: true,
            ..
        }
    )));
}

/// A folder with no more photos than bits cannot have its own PCA + ITQ: it gets the shipped reference
/// (calibrated verdicts included), with a warning that says how to move on.
#[test]
fn a_folder_too_small_for_its_own_fit_gets_the_shipped_reference() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(10, &root);
    let index_path = dir.path().join("i.hlindex");
    let (_, events) = run(&job(&root, &index_path, default_model(32)));
    let device = cpu().device;
    let (reference, _) = reference_model(BackboneArch::MobilenetV2, 32, &device)
        .unwrap()
        .unwrap();
    let beside = HashModel::load(&model_path_for(&index_path), &device).unwrap();
    assert_eq!(beside.fingerprint(), reference.fingerprint());
    assert!(beside.config.verdict.is_some());
    let index = CodeIndex::load(&index_path).unwrap();
    assert_eq!(index.model(), reference.fingerprint());
    let p = root.join("p03.png");
    assert_eq!(
        index.codes().get(index.position(&p).unwrap()),
        encode_photo(&reference, &p, &device).unwrap()
    );
    assert!(events.iter().any(|e| matches!(
        e,
        IndexEvent::Warning(w) if w.contains("too few") && w.contains("shipped PCA + ITQ")
    )));
    // Not fitted by this run.
    assert!(events.iter().any(|e| matches!(
        e,
        IndexEvent::Model {
            fitted: false,
            provisional: false,
            ..
        }
    )));
}

/// `P` (`d × K`, row-major) has orthonormal columns after `pre` (`d × d`): `(pre · P)ᵀ (pre · P) = I`.
fn orthonormal_after(pre: &nalgebra::DMatrix<f64>, projection: &[f32], d: usize, k: usize) -> bool {
    let p = nalgebra::DMatrix::from_row_iterator(d, k, projection.iter().map(|&x| x as f64));
    let q = pre * p;
    ((q.transpose() * q) - nalgebra::DMatrix::identity(k, k)).amax() < 1e-3
}

/// Codes for finding copies are PCA + ITQ in the space the shipped edit whitening `W` makes: their
/// projection is `W` times orthonormal columns (a plain fit's columns are orthonormal themselves). An
/// index keeps a default of the purpose it was asked for, and fits anew when asked for the other.
#[test]
fn codes_for_copies_are_fitted_after_the_shipped_whitening_and_kept_per_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    folder_of(20, &root);
    let index = dir.path().join("copies.hlindex");
    let copies = |refit| ModelChoice::Default {
        arch: BackboneArch::MobilenetV2,
        bits: 8,
        refit,
        purpose: CodePurpose::Copies,
    };
    let (first, events) = run(&job(&root, &index, copies(false)));
    assert_eq!(first.encoded, 20);
    assert!(events.iter().any(|e| matches!(
        e,
        IndexEvent::Model {
            fitted: true,
            purpose: CodePurpose::Copies,
            ..
        }
    )));
    let model = HashModel::load(&model_path_for(&index), &cpu().device).unwrap();
    assert_eq!(model.config.head, HeadKind::ItqEditWhitened);
    let description = &model.config.provenance.description;
    assert!(description.contains("for finding copies"), "{description}");
    let hash = model.linear_hash().unwrap();
    let whitening = shipped_edit_whitening(BackboneArch::MobilenetV2).unwrap();
    let w = whitening.matrix();
    let (d, k) = (hash.dim, hash.bits);
    let identity = nalgebra::DMatrix::identity(d, d);
    assert!(!orthonormal_after(&identity, &hash.projection, d, k));
    assert!(orthonormal_after(
        &w.try_inverse().unwrap(),
        &hash.projection,
        d,
        k
    ));

    // The same purpose again: kept. The other purpose: fitted anew, plain PCA + ITQ.
    let (again, _) = run(&job(&root, &index, copies(false)));
    assert_eq!((again.encoded, again.kept), (0, 20));
    let (similar, _) = run(&job(&root, &index, default_model(8)));
    assert_eq!(similar.encoded, 20);
    let model = HashModel::load(&model_path_for(&index), &cpu().device).unwrap();
    assert_eq!(model.config.head, HeadKind::Itq);
    let plain = model.linear_hash().unwrap();
    assert!(orthonormal_after(&identity, &plain.projection, d, k));
}
