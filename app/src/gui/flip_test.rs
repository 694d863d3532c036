//! The flip test — DHD's central idea made visible: augment the selected photo the way the teacher (weak)
//! or the student (strong) view is augmented, encode each view with the library's model, and show which
//! bits flip and where the original photo then ranks. A good hash model keeps the bits of weak views.

use std::path::{Path, PathBuf};

use eframe::egui::{self, ColorImage, RichText, TextureHandle, TextureOptions, Vec2};
use hashlens_core::HashCode;
use hashlens_core::device::{ComputeDevice, DeviceChoice};
use hashlens_core::index::Around;
use hashlens_core::index::{CodeIndex, index_model};
use hashlens_core::model::image_batch;
use hashlens_core::photo::augment::AugmentGroup;
use hashlens_core::photo::{DecodeLimits, decode_file};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::bits::code_grid;
use super::task::Task;

/// Views drawn per test.
const VIEWS: usize = 6;

/// One augmented view: what it looks like, its code, what was done, where the original ranks.
pub struct View {
    pub texture: TextureHandle,
    pub code: HashCode,
    pub ops: Vec<&'static str>,
    /// 1-based rank of the original photo among this view's nearest neighbours.
    pub rank: usize,
}

type Encoded = Vec<(ColorImage, HashCode, Vec<&'static str>)>;

pub struct FlipTest {
    pub photo: usize,
    pub teacher: bool,
    pub seed: u64,
    pub views: Vec<View>,
    pub error: Option<String>,
    pending: Option<Task<Result<Encoded, String>>>,
}

impl FlipTest {
    /// Starts drawing and encoding views of the photo at `photo` (its position in `index`).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        photo: usize,
        path: &Path,
        index_path: PathBuf,
        index: &CodeIndex,
        teacher: bool,
        seed: u64,
        device: DeviceChoice,
        ctx: &egui::Context,
    ) -> Self {
        let (path, fingerprint) = (path.to_path_buf(), index.model().to_string());
        let task = Task::spawn("flip test", ctx, move |r| {
            r.send(encode_views(
                &path,
                &index_path,
                &fingerprint,
                teacher,
                seed,
                device,
            ))
        });
        Self {
            photo,
            teacher,
            seed,
            views: Vec::new(),
            error: None,
            pending: Some(task),
        }
    }

    pub fn running(&self) -> bool {
        self.pending.is_some()
    }

    /// Takes finished views (ranking the original among each view's neighbours in `index`).
    pub fn poll(&mut self, index: &CodeIndex, ctx: &egui::Context) {
        let Some(result) = self.pending.as_ref().and_then(|t| t.poll().pop()) else {
            return;
        };
        self.pending = None;
        match result {
            Ok(views) => {
                self.views = views
                    .into_iter()
                    .enumerate()
                    .map(|(i, (image, code, ops))| {
                        let d = code
                            .hamming(&index.codes().get(self.photo))
                            .expect("same model");
                        let ranking = index
                            .neighbours(&code, Around::Nearest(index.len()), None)
                            .expect("same model");
                        let rank = ranking
                            .iter()
                            .position(|n| n.index == self.photo)
                            .map_or(index.len(), |p| p + 1);
                        debug_assert!(ranking.iter().take(rank - 1).all(|n| n.distance <= d));
                        View {
                            texture: ctx.load_texture(
                                format!("flip-view-{i}"),
                                image,
                                TextureOptions::LINEAR,
                            ),
                            code,
                            ops,
                            rank,
                        }
                    })
                    .collect();
            }
            Err(e) => self.error = Some(e),
        }
    }
}

fn encode_views(
    path: &Path,
    index_path: &Path,
    fingerprint: &str,
    teacher: bool,
    seed: u64,
    device: DeviceChoice,
) -> Result<Encoded, String> {
    let device = ComputeDevice::choose(device).map_err(|e| e.to_string())?;
    let model = index_model(index_path, fingerprint, &device.device).map_err(|e| e.to_string())?;
    let img = decode_file(path, &DecodeLimits::default()).map_err(|e| e.to_string())?;
    // Augment at network scale (the shorter side 256), as DHD does.
    let scale = 256.0 / img.width().min(img.height()) as f32;
    let (w, h) = (
        ((img.width() as f32 * scale).round() as u32).max(1),
        ((img.height() as f32 * scale).round() as u32).max(1),
    );
    let img = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
    let group = if teacher {
        AugmentGroup::teacher(0.5)
    } else {
        AugmentGroup::student()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pre = model.preprocess();
    let mut pixels = Vec::with_capacity(VIEWS * pre.len());
    let mut shown = Vec::new();
    for _ in 0..VIEWS {
        let (view, ops) = group.apply(&img, &mut rng);
        pre.apply(&view, &mut pixels);
        let small = image::imageops::thumbnail(&view, w * 96 / w.max(h), h * 96 / w.max(h));
        let size = [small.width() as usize, small.height() as usize];
        shown.push((ColorImage::from_rgb(size, small.as_raw()), ops));
    }
    let codes = model.codes(image_batch(pixels, pre.crop as usize, &device.device));
    Ok(shown
        .into_iter()
        .zip(codes)
        .map(|((image, ops), code)| (image, code, ops))
        .collect())
}

/// Draws the test's views against the query's code.
pub fn show(test: &FlipTest, query: &HashCode, ui: &mut egui::Ui) {
    if test.running() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("augmenting and encoding…");
        });
    }
    if !test.views.is_empty() {
        ui.label(format!(
            "{} views (draw {}), each against the photo's own code:",
            if test.teacher { "Teacher" } else { "Student" },
            test.seed + 1
        ));
    }
    if let Some(e) = &test.error {
        ui.colored_label(super::colours::ERROR, e);
    }
    for (i, v) in test.views.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.add(egui::Image::new(&v.texture).max_size(Vec2::splat(72.0)));
            ui.vertical(|ui| {
                let flipped = v.code.hamming(query).expect("same length");
                ui.label(
                    RichText::new(format!(
                        "view {}: {flipped} bits flipped · original ranks #{}",
                        i + 1,
                        v.rank
                    ))
                    .strong(),
                );
                ui.label(
                    RichText::new(if v.ops.is_empty() {
                        "unchanged".into()
                    } else {
                        v.ops.join(", ")
                    })
                    .small(),
                );
                code_grid(
                    ui,
                    &format!("view {} code", i + 1),
                    &v.code,
                    Some(query),
                    32,
                    6.0,
                );
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::AtomicBool;

    use hashlens_core::device::{ComputeDevice, DeviceChoice};
    use hashlens_core::hashing::LinearHash;
    use hashlens_core::index::{CodeIndex, IndexJob, ModelChoice, update_index};
    use hashlens_core::model::reference::{REFERENCE_ARCH, reference_model};
    use hashlens_core::model::{HashModel, HeadKind, Provenance};

    /// Mean bits flipped by the flip test's six views of each photo of the index, weak (teacher)
    /// views and strong (student) views.
    fn mean_flips(index_path: &Path) -> (f64, f64) {
        let index = CodeIndex::load(index_path).unwrap();
        let mut sums = [0usize; 2];
        for (i, photo) in index.photos().iter().enumerate() {
            let own = index.codes().get(i);
            for (g, teacher) in [true, false].into_iter().enumerate() {
                let views = super::encode_views(
                    &photo.path,
                    index_path,
                    index.model(),
                    teacher,
                    i as u64,
                    DeviceChoice::Cpu,
                )
                .unwrap();
                sums[g] += views
                    .iter()
                    .map(|(_, code, _)| code.hamming(&own).unwrap() as usize)
                    .sum::<usize>();
            }
        }
        let per = (index.len() * super::VIEWS) as f64;
        (sums[0] as f64 / per, sums[1] as f64 / per)
    }

    /// The flip test's lesson (weak views keep more bits than strong ones) shows on the demo library
    /// with the model it is indexed with (the shipped PCA + ITQ: it is too small for its own fit). The
    /// random projections it had before are measured beside it (the numbers in
    /// `benchmarks/results/reference-model.md` come from this test's output).
    #[test]
    fn on_the_demo_weak_views_flip_fewer_bits_than_strong_ones() {
        let dir = tempfile::tempdir().unwrap();
        let folder = super::super::demo::demo_folder(dir.path()).unwrap();
        let cpu = ComputeDevice::cpu(None);
        let index = |name: &str, model: ModelChoice| {
            let mut job = IndexJob::new(&folder, model);
            job.index = dir.path().join(name);
            update_index(&job, &cpu, &AtomicBool::new(false), &mut |_| {}).unwrap();
            job.index
        };
        let shipped = index("shipped.hlindex", ModelChoice::default_model(false));
        let (reference, hash) = reference_model(REFERENCE_ARCH, 64, &cpu.device)
            .unwrap()
            .unwrap();
        assert_eq!(
            CodeIndex::load(&shipped).unwrap().model(),
            reference.fingerprint()
        );
        // LSH as the demo had it: seeded Gaussian projections of centred features (centred here on
        // the reference's mean).
        let lsh = LinearHash::lsh(&hash.mean, hash.dim, 64, 0).unwrap();
        let lsh = HashModel::linear(
            REFERENCE_ARCH,
            HeadKind::Lsh,
            &lsh,
            Provenance::default(),
            &cpu.device,
        )
        .unwrap();
        let lsh_path = dir.path().join("lsh.hlmodel");
        lsh.save(&lsh_path).unwrap();
        let random = index("lsh.hlindex", ModelChoice::File(lsh_path));

        let (weak, strong) = mean_flips(&shipped);
        let (lsh_weak, lsh_strong) = mean_flips(&random);
        eprintln!(
            "demo, 64 bits, mean bits flipped per view (weak / strong): shipped PCA + ITQ \
             {weak:.2} / {strong:.2}, LSH {lsh_weak:.2} / {lsh_strong:.2}"
        );
        assert!(
            weak < 0.8 * strong,
            "weak views flip {weak:.2} bits, strong ones {strong:.2}"
        );
    }
}
