//! Folder scanning on folders built here, including the entries that break naive scanners.

use std::fs;
use std::path::{Path, PathBuf};

use hashlens_core::dataset::{classes_from_folders, scan_images};
use image::{ImageFormat, Rgb, RgbImage};

fn write_image(path: &Path, format: ImageFormat) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = RgbImage::from_fn(8, 6, |x, y| Rgb([x as u8 * 30, y as u8 * 40, 128]));
    img.save_with_format(path, format).unwrap();
}

#[test]
fn hostile_folder_keeps_every_good_image_and_reports_every_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_image(&root.join("b/photo.jpg"), ImageFormat::Jpeg);
    write_image(&root.join("a/Photo.PNG"), ImageFormat::Png);
    write_image(&root.join("a/x.bmp"), ImageFormat::Bmp);
    write_image(&root.join("a/x.gif"), ImageFormat::Gif);
    write_image(&root.join("a/x.tiff"), ImageFormat::Tiff);
    write_image(&root.join("a/x.webp"), ImageFormat::WebP);
    // A PNG that says it is a JPEG, and one without an extension: the content decides.
    write_image(&root.join("b/liar.jpg"), ImageFormat::Png);
    write_image(&root.join("b/noext.png"), ImageFormat::Png);
    fs::rename(root.join("b/noext.png"), root.join("b/noext")).unwrap();
    // Skipped silently: hidden, caches, non-image extensions.
    write_image(&root.join(".hidden/secret.png"), ImageFormat::Png);
    write_image(&root.join("@eaDir/thumb.png"), ImageFormat::Png);
    write_image(&root.join("b/.dotfile.png"), ImageFormat::Png);
    fs::write(root.join("b/notes.txt"), "not an image").unwrap();
    // Reported: empty files and garbage behind an image extension. (A truncated but well-started image
    // passes the scan, which reads only the first bytes; decoding is where it fails.)
    fs::write(root.join("c/zero.png").tap_parent(), b"").unwrap();
    fs::write(
        root.join("c/garbage.jpg"),
        b"this is plain text, not a JPEG",
    )
    .unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        // A file name that is not UTF-8 is found and kept byte for byte.
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.png");
        write_image(&root.join("b").join(name), ImageFormat::Png);
        // A symlink loop and a dangling link are reported, not followed forever.
        std::os::unix::fs::symlink(root, root.join("c/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere.jpg"), root.join("c/dangling.jpg")).unwrap();
    }

    let report = scan_images(root).unwrap();
    let found: Vec<String> = report
        .images
        .iter()
        .map(|i| i.relative.to_string_lossy().into_owned())
        .collect();
    let mut expected = vec![
        "a/Photo.PNG",
        "a/x.bmp",
        "a/x.gif",
        "a/x.tiff",
        "a/x.webp",
        "b/liar.jpg",
        "b/noext",
        "b/photo.jpg",
    ];
    if cfg!(unix) {
        expected.insert(5, "b/caf\u{FFFD}.png");
    }
    assert_eq!(
        found, expected,
        "deterministic byte-wise order, folder by folder"
    );
    let liar = report
        .images
        .iter()
        .find(|i| i.relative.ends_with("liar.jpg"))
        .unwrap();
    assert_eq!(
        liar.format,
        hashlens_core::photo::PhotoFormat::Image(ImageFormat::Png)
    );
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = &report.images[5];
        assert_eq!(odd.relative.file_name().unwrap().as_bytes(), b"caf\xe9.png");
        assert!(fs::metadata(&odd.path).is_ok(), "the exact path opens");
    }

    let problems: Vec<(String, &str)> = report
        .problems
        .iter()
        .map(|p| {
            (
                p.path
                    .strip_prefix(root)
                    .unwrap_or(&p.path)
                    .to_string_lossy()
                    .into_owned(),
                p.reason.as_str(),
            )
        })
        .collect();
    let has = |name: &str, reason: &str| {
        assert!(
            problems
                .iter()
                .any(|(p, r)| p.ends_with(name) && r.contains(reason)),
            "expected {name} ({reason}) among {problems:?}"
        )
    };
    has("c/zero.png", "empty");
    has("c/garbage.jpg", "not a supported image");
    if cfg!(unix) {
        has("c/loop", "loop");
        has("c/dangling.jpg", "cannot read");
        assert_eq!(problems.len(), 4, "{problems:?}");
    } else {
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}

#[cfg(unix)]
#[test]
fn unreadable_entries_are_reported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_image(&root.join("ok/a.png"), ImageFormat::Png);
    write_image(&root.join("locked/b.png"), ImageFormat::Png);
    write_image(&root.join("ok/c.png"), ImageFormat::Png);
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(root.join("ok/c.png"), fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(root.join("ok/c.png")).is_ok() {
        // Running as root: permissions do not stop us, so there is nothing unreadable to report.
        eprintln!(
            "skipping the unreadable-entry assertions: this process can read mode-000 files (root)"
        );
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
        return;
    }
    let report = scan_images(root).unwrap();
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(report.images.len(), 1);
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(report.problems.iter().all(|p| p.reason.contains("cannot")));
}

#[test]
fn pipes_and_devices_named_like_photos_are_reported_without_being_opened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_image(&root.join("a.png"), ImageFormat::Png);
    // A FIFO: opening it would block the scan until a writer came.
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("photo.jpg"))
        .status()
        .unwrap();
    assert!(made.success());
    // A link to an endless device.
    std::os::unix::fs::symlink("/dev/zero", root.join("x.png")).unwrap();
    // Not named like a photo: not a candidate, not reported.
    std::os::unix::fs::symlink("/dev/null", root.join("notes.txt")).unwrap();
    let report = scan_images(root).unwrap();
    assert_eq!(report.images.len(), 1);
    let mut problems: Vec<(String, String)> = report
        .problems
        .iter()
        .map(|p| {
            let name = p.path.file_name().unwrap().to_string_lossy().into_owned();
            (name, p.reason.clone())
        })
        .collect();
    problems.sort();
    assert_eq!(
        problems,
        [
            (
                "photo.jpg".into(),
                "not a regular file (a named pipe)".into()
            ),
            ("x.png".into(), "not a regular file (a device)".into()),
        ]
    );
}

#[test]
fn bad_roots_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(scan_images(&dir.path().join("missing")).is_err());
    let file = dir.path().join("f.png");
    write_image(&file, ImageFormat::Png);
    assert!(
        scan_images(&file)
            .unwrap_err()
            .to_string()
            .contains("not a folder")
    );
}

#[test]
fn class_folders_give_labels() {
    let dir = tempfile::tempdir().unwrap();
    for (class, n) in [("dog", 3), ("cat", 2)] {
        for i in 0..n {
            write_image(
                &dir.path().join(format!("train/{class}/{i}.png")),
                ImageFormat::Png,
            );
        }
    }
    write_image(&dir.path().join("test/bird/0.png"), ImageFormat::Png);
    let report = scan_images(dir.path()).unwrap();
    let fc = classes_from_folders(&report.images).unwrap();
    assert_eq!(fc.names, vec!["bird", "cat", "dog"]);
    assert_eq!(fc.classes, vec![0, 1, 1, 2, 2, 2]);

    write_image(&dir.path().join("loose.png"), ImageFormat::Png);
    let report = scan_images(dir.path()).unwrap();
    assert!(
        classes_from_folders(&report.images)
            .unwrap_err()
            .to_string()
            .contains("loose.png")
    );
}

trait TapParent {
    fn tap_parent(self) -> PathBuf;
}

impl TapParent for PathBuf {
    /// Creates the parent folder and returns the path unchanged.
    fn tap_parent(self) -> PathBuf {
        fs::create_dir_all(self.parent().unwrap()).unwrap();
        self
    }
}

#[test]
fn a_pipe_given_as_a_photo_an_index_or_a_model_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.jpg");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Each would block forever on opening the pipe.
    let err =
        hashlens_core::photo::decode_at_least(&fifo, &Default::default(), Some(256)).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = hashlens_core::index::CodeIndex::load(&fifo).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let device = hashlens_core::device::ComputeDevice::cpu(None).device;
    let err = hashlens_core::model::HashModel::load(&fifo, &device).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}
