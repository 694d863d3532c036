//! The pretrained weights are really loaded right: `hashlens inspect` must name the ImageNet class of
//! real photos. The photos are foolbox's 20 ImageNet JPEGs (`imagenet_NN_<class>.jpg`, MIT), fetched by
//! `.ci/run` with `pip download --no-deps foolbox==3.3.4` into target/fixtures; the test skips with a
//! message when they are absent (set `HASHLENS_FOOLBOX_DATA` to point elsewhere).

use std::path::PathBuf;
use std::process::Command;

fn foolbox_images() -> Option<Vec<(PathBuf, usize)>> {
    let dir = std::env::var_os("HASHLENS_FOOLBOX_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fixtures/foolbox/data")
        });
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "skipping: foolbox's ImageNet photos not found in {} (see .ci/run)",
            dir.display()
        );
        return None;
    };
    let mut images: Vec<(PathBuf, usize)> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_stem()?.to_str()?.to_string();
            let class = name
                .strip_prefix("imagenet_")?
                .split('_')
                .nth(1)?
                .parse()
                .ok()?;
            Some((path, class))
        })
        .collect();
    images.sort();
    Some(images)
}

/// Top-1 predictions of `backbone` that name the photo's class.
fn correct_top1(backbone: &str, images: &[(PathBuf, usize)]) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_hashlens"))
        .args([
            "inspect",
            "--json",
            "--device",
            "cpu",
            "--backbone",
            backbone,
        ])
        .args(images.iter().map(|(p, _)| p))
        .output()
        .unwrap();
    let lines = crate::common::json_lines(&out);
    assert_eq!(lines.len(), images.len());
    let mut correct = 0;
    for ((path, class), v) in images.iter().zip(&lines) {
        let top = &v["top5"][0];
        println!(
            "{backbone} {}: {} {} ({:.2})",
            path.display(),
            top["class"],
            top["name"],
            top["prob"].as_f64().unwrap()
        );
        assert_eq!(v["top5"].as_array().unwrap().len(), 5);
        if top["class"].as_u64() == Some(*class as u64) {
            correct += 1;
        }
    }
    correct
}

#[test]
fn mobilenet_v2_recognises_real_photos() {
    let Some(images) = foolbox_images() else {
        return;
    };
    assert_eq!(images.len(), 20);
    // torchvision's MobileNetV2 gets 18 of these 20 right in PyTorch.
    let correct = correct_top1("mobilenet_v2", &images);
    assert!(
        correct >= 17,
        "only {correct} of 20 top-1 predictions are right"
    );
}

#[test]
fn efficientnet_lite0_recognises_real_photos() {
    let Some(images) = foolbox_images() else {
        return;
    };
    // 17 of 20 with TensorFlow's input scaling ((x − 127) / 128); ImageNet statistics give 15, and
    // misread weights (a wrong padding, epsilon or stride order) give almost none.
    let correct = correct_top1("efficientnet_lite0", &images);
    assert!(
        correct >= 16,
        "only {correct} of 20 top-1 predictions are right"
    );
}
