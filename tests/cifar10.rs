//! The real CIFAR-10 JPEGs (../shared/data/cifar10-jpg.tar.gz): scanning 60,000 files and drawing the
//! deep-hashing protocol splits. Skipped, with a message, when the archive is absent; set
//! `HASHLENS_CIFAR10_TGZ` to point elsewhere.

use std::path::{Path, PathBuf};

use hashlens_core::dataset::{DatabaseRule, SplitSpec, classes_from_folders, scan_images, split};

fn archive() -> Option<PathBuf> {
    let path = std::env::var_os("HASHLENS_CIFAR10_TGZ")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/cifar10-jpg.tar.gz")
        });
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: CIFAR-10 archive not found at {}", path.display());
        None
    }
}

/// Extracts the archive once into the target folder (a completion marker makes it resumable).
fn extracted(tgz: &Path) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cifar10-jpg");
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let file = std::fs::File::open(tgz).unwrap();
        tar::Archive::new(flate2::read::GzDecoder::new(file))
            .unpack(&dir)
            .unwrap();
        std::fs::write(&done, b"").unwrap();
    }
    dir
}

#[test]
fn scan_and_protocol_splits_on_real_cifar10() {
    let Some(tgz) = archive() else { return };
    let root = extracted(&tgz);
    let report = scan_images(&root).unwrap();
    assert_eq!(report.images.len(), 60_000);
    assert!(
        report.problems.is_empty(),
        "{:?}",
        &report.problems[..report.problems.len().min(5)]
    );
    assert!(
        report
            .images
            .iter()
            .all(|i| i.format == image::ImageFormat::Jpeg)
    );

    let fc = classes_from_folders(&report.images).unwrap();
    assert_eq!(
        fc.names,
        [
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck"
        ]
    );
    for c in 0..10 {
        assert_eq!(fc.classes.iter().filter(|&&x| x == c).count(), 6_000);
    }

    let spec = SplitSpec::named("cifar10").unwrap();
    let s = split(&fc.classes, &fc.names, &spec, 0).unwrap();
    assert_eq!(
        (s.query.len(), s.train.len(), s.database.len()),
        (1_000, 5_000, 54_000)
    );
    for c in 0..10 {
        assert_eq!(s.query.iter().filter(|&&i| fc.classes[i] == c).count(), 100);
        assert_eq!(s.train.iter().filter(|&&i| fc.classes[i] == c).count(), 500);
    }
    assert_eq!(
        split(&fc.classes, &fc.names, &spec, 0).unwrap(),
        s,
        "same seed, same split"
    );

    let s1 = split(
        &fc.classes,
        &fc.names,
        &SplitSpec::named("cifar10-1").unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(s1.database.len(), 59_000);
    assert_eq!(
        SplitSpec::named("cifar10-1").unwrap().database,
        DatabaseRule::AllButQuery
    );
    let mut q1 = s1.query.clone();
    q1.sort();
    let mut db1 = s1.database.clone();
    db1.sort();
    assert!(q1.iter().all(|q| db1.binary_search(q).is_err()));
}
