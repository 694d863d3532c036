//! What a run reports as it goes ([`TrainEvent`], [`EpochStats`], [`LossValues`]) and why it stops
//! early ([`TrainError`], whose `Cancelled` is the one meaning of "cancelled" in training).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Mean losses of a stretch of steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossValues {
    /// The method's main term: L_HP (DHD), the pairwise likelihood (DHN), the centre BCE (CSQ).
    pub main: f64,
    pub sdh: f64,
    pub q: f64,
    pub total: f64,
}

impl LossValues {
    pub(crate) fn from_sums(sums: &[f32], steps: usize) -> Self {
        let m = |i: usize| sums[i] as f64 / steps.max(1) as f64;
        Self {
            main: m(0),
            sdh: m(1),
            q: m(2),
            total: m(3),
        }
    }

    pub(crate) fn finite(&self) -> bool {
        [self.main, self.sdh, self.q, self.total]
            .iter()
            .all(|v| v.is_finite())
    }
}

/// One finished epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    pub loss: LossValues,
    /// Learning rates at the epoch's last step.
    pub lr_backbone: f64,
    pub lr_head: f64,
    pub seconds: f64,
    /// Training photos per second (each counted once per step, though seen in two views).
    pub images_per_s: f64,
    /// mAP from the run's evaluation hook, on the epochs it runs.
    pub map: Option<f64>,
}

/// What a run reports as it goes.
#[derive(Clone, Debug)]
pub enum TrainEvent {
    /// A preparation stage (decoding, targets, feature cache, preparing the GPU).
    Stage {
        name: &'static str,
        done: usize,
        total: usize,
    },
    /// Every `log_every` steps: position, mean losses since the last report, rates and time left.
    Step {
        epoch: usize,
        epochs: usize,
        step: usize,
        steps: usize,
        loss: LossValues,
        lr_backbone: f64,
        lr_head: f64,
        images_per_s: f64,
        eta_s: f64,
    },
    Epoch(EpochStats),
    Checkpoint(PathBuf),
    /// What the user should know about how the run was set up (e.g. which tensors of a weight file it
    /// used).
    Note(String),
    /// One augmented view of the first training photo as the network sees it, sent once per view while
    /// the features of augmented views are cached: something to look at during the longest wait, and
    /// DHD's idea in pictures (the codes of weak and strong views of one photo are trained to agree).
    View(ViewPreview),
}

/// An augmented view, un-normalised to RGB.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewPreview {
    /// A teacher (weak) view, or a student (strong) one.
    pub teacher: bool,
    /// Which of the cached views of its group.
    pub view: usize,
    /// Side of the square view in pixels (the network's input size).
    pub side: usize,
    /// `side × side` RGB pixels, row by row.
    pub rgb: Vec<u8>,
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cannot build the network: {0}")]
    Model(String),
    #[error("{0}")]
    Settings(String),
    #[error("training needs at least 2 photos; there are {0}")]
    TooFewPhotos(usize),
    #[error("cannot write the model: {0}")]
    Save(String),
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    /// The photos or their labels could not be read (a folder, a list file, a protocol split).
    #[error("{0}")]
    Photos(String),
    #[error("cannot resume from {path}: {reason}")]
    Resume { path: PathBuf, reason: String },
    #[error(transparent)]
    File(#[from] crate::io::FileError),
    #[error(
        "training diverged at epoch {epoch}, step {step} (a loss became {value}); {kept}. Try a lower learning rate"
    )]
    Diverged {
        epoch: usize,
        step: usize,
        value: f64,
        kept: String,
    },
    #[error("cancelled{}", match .checkpoint { Some(p) => format!("; progress kept in {}", p.display()), None => String::new() })]
    Cancelled { checkpoint: Option<PathBuf> },
}
