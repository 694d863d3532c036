//! The demo library: public-domain and CC0 photos (assets/demo, see its NOTICE) embedded in the binary,
//! so that a fresh install shows search working offline. They are written to the user's data folder on
//! first use: the index lives beside the photos, and the binary's own files are read-only.

use std::path::{Path, PathBuf};

/// The demo photos by file name.
const PHOTOS: &[(&str, &[u8])] = &[
    (
        "astronaut.jpg",
        include_bytes!("../../../assets/demo/astronaut.jpg"),
    ),
    (
        "astronaut_brighter.jpg",
        include_bytes!("../../../assets/demo/astronaut_brighter.jpg"),
    ),
    (
        "brick.jpg",
        include_bytes!("../../../assets/demo/brick.jpg"),
    ),
    (
        "camera.jpg",
        include_bytes!("../../../assets/demo/camera.jpg"),
    ),
    (
        "camera_copy.jpg",
        include_bytes!("../../../assets/demo/camera_copy.jpg"),
    ),
    (
        "chelsea.jpg",
        include_bytes!("../../../assets/demo/chelsea.jpg"),
    ),
    (
        "chelsea_small.jpg",
        include_bytes!("../../../assets/demo/chelsea_small.jpg"),
    ),
    (
        "coffee.jpg",
        include_bytes!("../../../assets/demo/coffee.jpg"),
    ),
    (
        "coffee_crop.jpg",
        include_bytes!("../../../assets/demo/coffee_crop.jpg"),
    ),
    (
        "grass.jpg",
        include_bytes!("../../../assets/demo/grass.jpg"),
    ),
    (
        "gravel.jpg",
        include_bytes!("../../../assets/demo/gravel.jpg"),
    ),
    (
        "horse.jpg",
        include_bytes!("../../../assets/demo/horse.jpg"),
    ),
    (
        "hubble_deep_field.jpg",
        include_bytes!("../../../assets/demo/hubble_deep_field.jpg"),
    ),
    (
        "retina.jpg",
        include_bytes!("../../../assets/demo/retina.jpg"),
    ),
    (
        "rocket.jpg",
        include_bytes!("../../../assets/demo/rocket.jpg"),
    ),
    (
        "rocket_mirrored.jpg",
        include_bytes!("../../../assets/demo/rocket_mirrored.jpg"),
    ),
    ("NOTICE.txt", include_bytes!("../../../assets/demo/NOTICE")),
];

/// The demo library under `data`, written (atomically, file by file) where missing or different.
pub fn demo_folder(data: &Path) -> std::io::Result<PathBuf> {
    let folder = data.join("demo");
    std::fs::create_dir_all(&folder)?;
    for (name, bytes) in PHOTOS {
        let path = folder.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(*bytes) {
            hashlens_core::io::write_atomic(&path, bytes)?;
            // One date for the bundled photos (shown beside each result), whenever they were written.
            std::fs::File::options()
                .write(true)
                .open(&path)?
                .set_modified(demo_date())?;
        }
    }
    Ok(folder)
}

/// The date the demo photos carry (2026-12-01), not the day the demo was first opened.
fn demo_date() -> std::time::SystemTime {
    std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_083_200)
}

/// How many photos the demo holds.
#[cfg(test)]
pub fn photo_count() -> usize {
    PHOTOS.iter().filter(|(n, _)| n.ends_with(".jpg")).count()
}
