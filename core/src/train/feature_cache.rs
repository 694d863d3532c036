//! Backbone features of augmented views, computed once: what head-only training learns from, and what
//! CSQ's and SHC's centres are placed with.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::augment::{AugmentGroup, ViewParams, augment, first_view_rgb};
use super::config::TrainConfig;
use super::data::TrainImages;
use super::events::{TrainError, TrainEvent, ViewPreview};
use super::seed::rng;
use crate::model::Backbone;

/// Backbone features of augmented views of every training photo, computed once by the frozen
/// pretrained backbone: what head-only training learns from. Runs that differ only in the head's
/// objective (a comparison of methods) share one cache.
pub struct FeatureCache {
    backbone: Backbone,
    /// `[photo][view] → features`, flattened: `len × views × dim`.
    teacher: Vec<f32>,
    student: Vec<f32>,
    views: usize,
    dim: usize,
    /// Whether the backbone is not the built-in pretrained one (a weight file's).
    own_backbone: bool,
    /// The settings the views were drawn with (a cache only serves runs with the same ones).
    key: String,
}

impl FeatureCache {
    /// Width of a feature row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The frozen backbone the features came from.
    pub fn backbone(&self) -> &Backbone {
        &self.backbone
    }

    /// Whether the backbone is not the built-in pretrained one (a weight file's).
    pub fn own_backbone(&self) -> bool {
        self.own_backbone
    }

    /// One cached view of each photo at `items`, drawn with `rng`, of the teacher's group or the
    /// student's: `items.len() × dim` values.
    pub(crate) fn one_view_each(
        &self,
        teacher: bool,
        items: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> Vec<f32> {
        let features = if teacher {
            &self.teacher
        } else {
            &self.student
        };
        let mut v = Vec::with_capacity(items.len() * self.dim);
        for &i in items {
            let at = (i * self.views + rng.random_range(0..self.views)) * self.dim;
            v.extend_from_slice(&features[at..at + self.dim]);
        }
        v
    }

    /// The settings a run's views are drawn with, in words: a cache serves only runs with the same
    /// (and a saved cache is reused only under the same).
    pub fn key_for(config: &TrainConfig) -> String {
        format!(
            "{} {:?} seed {} views {} side {} batch {} s_T {}{}",
            config.backbone.name(),
            config.backbone_weights,
            config.seed,
            config.cached_views.max(1),
            config.image_size,
            config.batch,
            config.teacher_scale,
            // Absent without edit views, so that earlier caches keep their keys.
            config
                .edit_views
                .map(|share| format!(" edit views {share}"))
                .unwrap_or_default(),
        )
    }

    /// The teacher views' features: `len × views` rows of `dim` (photo-major), `views`, `dim`.
    pub(crate) fn teacher_rows(&self) -> (&[f32], usize, usize) {
        (&self.teacher, self.views, self.dim)
    }

    /// Whether this cache holds the views a run with `config` would draw.
    pub fn serves(&self, config: &TrainConfig) -> bool {
        self.key == Self::key_for(config)
    }

    /// The teacher and the student views' features (each `len × views × dim`, photo-major), to be
    /// saved and given back to [`FeatureCache::from_views`].
    pub fn views(&self) -> (&[f32], &[f32]) {
        (&self.teacher, &self.student)
    }

    /// A cache of features computed earlier by [`FeatureCache::compute`] for `config` (its frozen
    /// backbone is loaded again). Refused when the lengths are not `len × views × dim` for `config`.
    pub fn from_views(
        config: &TrainConfig,
        teacher: Vec<f32>,
        student: Vec<f32>,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let views = config.cached_views.max(1);
        let dim = config.backbone.feature_dim();
        let per = views * dim;
        if teacher.len() != student.len() || !teacher.len().is_multiple_of(per) {
            return Err(TrainError::Settings(format!(
                "saved features of {} and {} values are not photos × {views} views × {dim}",
                teacher.len(),
                student.len()
            )));
        }
        let (backbone, _) = config.starting_backbone(device)?;
        Ok(Self::assemble(config, backbone, teacher, student))
    }

    fn assemble(
        config: &TrainConfig,
        backbone: Backbone,
        teacher: Vec<f32>,
        student: Vec<f32>,
    ) -> Self {
        Self {
            backbone,
            own_backbone: config.backbone_weights.is_some(),
            teacher,
            student,
            views: config.cached_views.max(1),
            dim: config.backbone.feature_dim(),
            key: Self::key_for(config),
        }
    }

    /// Computes the cache on `device` (a plain device) in batches of `config.batch`.
    pub fn compute(
        config: &TrainConfig,
        images: &TrainImages,
        device: &Device,
        cancel: &AtomicBool,
        on_event: &mut dyn FnMut(TrainEvent),
    ) -> Result<Self, TrainError> {
        let arch = config.backbone;
        let (frozen, note) = config.starting_backbone(device)?;
        if let Some(note) = note {
            on_event(TrainEvent::Note(note));
        }
        let views = config.cached_views.max(1);
        let dim = arch.feature_dim();
        let pre = config.input();
        let n = images.len();
        let mut cache = [vec![0f32; n * views * dim], vec![0f32; n * views * dim]];
        let inference = frozen.for_inference(device);
        let groups = [
            AugmentGroup::teacher(config.teacher_scale),
            AugmentGroup::student(),
        ];
        let all: Vec<usize> = (0..n).collect();
        let total = 2 * views * n;
        let mut done = 0;
        for (g, group) in groups.iter().enumerate() {
            for v in 0..views {
                for (c, chunk) in all.chunks(config.batch.max(1)).enumerate() {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(TrainError::Cancelled { checkpoint: None });
                    }
                    let mut rng = rng(config.seed, &[0xCAC4E, g as u64, v as u64, c as u64]);
                    let pixels = match g {
                        0 => images.pixels(chunk, device),
                        _ => images.student_pixels(chunk, device, config.edit_views, &mut rng),
                    };
                    let x = augment(
                        pixels,
                        &ViewParams::draw(group, chunk.len(), &mut rng),
                        &pre,
                    );
                    if c == 0 {
                        let (side, rgb) = first_view_rgb(&x, &pre);
                        on_event(TrainEvent::View(ViewPreview {
                            teacher: g == 0,
                            view: v,
                            side,
                            rgb,
                        }));
                    }
                    let f: Vec<f32> = inference
                        .features(x)
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .expect("f32 features");
                    for (k, &i) in chunk.iter().enumerate() {
                        let at = (i * views + v) * dim;
                        cache[g][at..at + dim].copy_from_slice(&f[k * dim..(k + 1) * dim]);
                    }
                    done += chunk.len();
                    on_event(TrainEvent::Stage {
                        name: "caching backbone features of augmented views",
                        done,
                        total,
                    });
                }
            }
        }
        let [teacher, student] = cache;
        Ok(Self::assemble(config, frozen, teacher, student))
    }
}
