//! Bringing a folder's index up to date: scan, choose the model, encode what is new or changed, save.
//!
//! The CLI's `hashlens index` and the app's background indexer both call [`update_index`]; they differ
//! only in how they show [`IndexEvent`]s. Every photo finished is in the journal at once, so a killed run
//! resumes where it stopped; a cancelled run saves what it finished (those photos are searchable).
//!
//! The index's model always lives beside it (`<index>.model`), so that a query photo is encoded by exactly
//! the model that made the index, even if the file it came from moves.
//!
//! A first index fits the default model on a sample of up to 2,000 photos before it can save a code.
//! Meanwhile each photo read is announced with the code of the shipped reference model
//! ([`crate::model::reference`]) under a `provisional` [`IndexEvent::Model`], so that an app can search
//! from the first batch; those codes are never journaled or saved.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{CodeIndex, IndexedPhoto, Journal};
use crate::code::HashCode;
use crate::dataset::{ImageEntry, scan_images};
use crate::device::ComputeDevice;
use crate::eval::VerdictRule;
use crate::hashing::LinearHash;
use crate::model::encode::for_each_encoded;
use crate::model::features::for_each_batch;
use crate::model::reference::{reference_model, shipped_edit_whitening};
use crate::model::{BackboneArch, CodePurpose, HashModel, HeadKind, ModelError, Provenance};

/// Which model makes the codes.
#[derive(Clone, Debug)]
pub enum ModelChoice {
    /// The training-free default: ImageNet `arch` features, PCA + ITQ fitted on the folder itself (after
    /// the shipped edit whitening for [`CodePurpose::Copies`]). A model already beside the index with the
    /// same backbone, length and purpose is reused (so codes stay comparable across runs) unless `refit`.
    Default {
        arch: BackboneArch,
        bits: usize,
        refit: bool,
        purpose: CodePurpose,
    },
    /// A model file (a trained DHD model, or a default model fitted elsewhere).
    File(PathBuf),
    /// Whatever model the index uses already (a fine-tuned model stays in use when a folder is opened
    /// again); the default with `arch` and `bits` when there is none or it cannot be read.
    Current { arch: BackboneArch, bits: usize },
}

/// The built-in default's backbone and code length: what a folder is indexed with until the user
/// chooses otherwise, in the app and the CLI alike.
pub const DEFAULT_ARCH: BackboneArch = BackboneArch::MobilenetV2;
pub const DEFAULT_BITS: usize = 64;

impl ModelChoice {
    /// The training-free default ([`DEFAULT_ARCH`], [`DEFAULT_BITS`]); `refit` fits it anew even where
    /// the index has one.
    pub fn default_model(refit: bool) -> Self {
        Self::Default {
            arch: DEFAULT_ARCH,
            bits: DEFAULT_BITS,
            refit,
            purpose: CodePurpose::Similar,
        }
    }

    /// The model the index uses already, else the default.
    pub fn current_or_default() -> Self {
        Self::Current {
            arch: DEFAULT_ARCH,
            bits: DEFAULT_BITS,
        }
    }
}

/// Everything an index update needs to know.
#[derive(Clone, Debug)]
pub struct IndexJob {
    pub folder: PathBuf,
    pub index: PathBuf,
    pub model: ModelChoice,
    /// Photos per network batch.
    pub batch: usize,
    /// Most photos whose features fit the default model. 2,000 by default: fewer would show the first
    /// results sooner, but cost up to 0.01 mAP@ALL (`benchmarks/results/fit-sample-pca-itq-cpu-cifar10.md`).
    pub fit_sample: usize,
    pub seed: u64,
    /// When another run holds the index's lock: wait for it (`true`) or refuse at once.
    pub wait: bool,
}

impl IndexJob {
    /// The defaults for `folder`, with the index where [`super::index_path_for`] keeps it: in
    /// `folder/.hashlens/` (hidden, so scans skip it), or for a folder that cannot be written, in
    /// hashlens' data folder.
    pub fn new(folder: &Path, model: ModelChoice) -> Self {
        Self {
            folder: folder.to_path_buf(),
            index: super::index_path_for(folder, &super::data_dir()),
            model,
            batch: 32,
            fit_sample: 2000,
            seed: 0,
            wait: false,
        }
    }
}

/// The model file kept beside an index.
pub fn model_path_for(index: &Path) -> PathBuf {
    let mut name = index.file_name().unwrap_or_default().to_os_string();
    name.push(".model");
    index.with_file_name(name)
}

/// ITQ needs more photos than bits (PCA's K components from at least K + 1 samples); below that the
/// default model falls back to LSH. Measured (CIFAR-10, 64 bits, MobileNetV2 features, 200 queries over
/// 1,000): ITQ fitted on only 100 photos already beats LSH, mAP@all 0.271 vs 0.191; on 220, 0.270 vs 0.190.
fn itq_possible(photos: usize, bits: usize) -> bool {
    photos > bits
}

/// A photo the index does not hold, and why.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Skipped {
    /// Lossy UTF-8 for display; the index keeps paths byte-exact.
    pub path: String,
    pub reason: String,
}

impl Skipped {
    fn new(path: &Path, reason: impl ToString) -> Self {
        Self {
            path: path.to_string_lossy().into_owned(),
            reason: reason.to_string().trim_end().to_string(),
        }
    }
}

/// What an update reports while it runs.
#[derive(Clone, Debug)]
pub enum IndexEvent {
    /// The folder was scanned: `photos` are the photos found, in scan order (an app can show them
    /// before they are encoded).
    Scanned {
        images: usize,
        problems: usize,
        photos: Vec<PathBuf>,
    },
    /// Something the user should know that does not stop the run.
    Warning(String),
    /// The model that makes the codes, `fitted` to this folder by this run or not. A `provisional`
    /// model (the shipped reference, while a folder's first index computes its own fit) makes codes
    /// for the live view only: the run announces the model it saves later, whose codes replace them.
    Model {
        description: String,
        fingerprint: String,
        bits: usize,
        fitted: bool,
        provisional: bool,
        /// The thresholds of the verdicts on its codes (its calibration, or fixed shares).
        verdicts: VerdictRule,
        /// What its codes are for.
        purpose: CodePurpose,
    },
    /// A photo was encoded by the last announced model (callers showing a live index add it: it is
    /// searchable from now on).
    Encoded(IndexedPhoto, HashCode),
    /// Work on `stage` (one of [`Stage`]'s names): `done` of `total` photos (of one step for
    /// [`Stage::FIT`]).
    Progress {
        stage: &'static str,
        done: usize,
        total: usize,
    },
    /// A photo could not be used.
    Skipped(Skipped),
}

/// The stages of an update, named as a user would say them.
pub struct Stage;

impl Stage {
    /// Reading the sample of photos the default model is fitted on (searchable meanwhile with the
    /// shipped reference codes on a first index).
    pub const READ_FOR_FIT: &'static str = "reading photos to fit the codes";
    /// PCA + ITQ on the sample's features (seconds; one step).
    pub const FIT: &'static str = "fitting the codes to this folder";
    /// Encoding the photos the fit did not read.
    pub const ENCODE: &'static str = "encoding photos";
}

/// The result of an update (the JSON summary of `hashlens index`).
#[derive(Clone, Debug, Serialize)]
pub struct IndexReport {
    /// Photos in the index after the run.
    pub indexed: usize,
    /// Photos encoded by this run.
    pub encoded: usize,
    /// Photos whose codes were kept from the previous index.
    pub kept: usize,
    /// Photos recovered from an interrupted run's journal.
    pub resumed: usize,
    /// Photos dropped because they left the folder.
    pub removed: usize,
    pub skipped: Vec<Skipped>,
    /// Photos indexed although their file is damaged (a truncated JPEG, shown grey where data is
    /// missing), with what is wrong: their codes describe what could be read.
    pub damaged: Vec<Skipped>,
    /// Photos encoded per second of the run after the scan (loading or fitting the model included: what
    /// a user waits for), 0 when none were encoded.
    pub images_per_s: f64,
    pub seconds: f64,
    pub cancelled: bool,
    pub bits: usize,
    pub model: String,
    pub model_description: String,
    pub index: String,
    pub device: String,
}

/// Why an update could not run at all (single photos never cause this).
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Scan(#[from] crate::dataset::ScanError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    File(#[from] crate::io::FileError),
    #[error(transparent)]
    Lock(#[from] super::LockError),
    #[error("cannot create {path}: {source}; choose another place for the index")]
    Place {
        path: String,
        source: std::io::Error,
    },
    #[error("the model makes {model} bits, the index holds {index}-bit codes")]
    Bits { model: usize, index: usize },
    #[error("cannot fit the default model: {0}")]
    Fit(String),
    #[error("the folder has no photo that could be read")]
    NoPhotos,
    #[error("cancelled before the model was fitted: nothing was indexed")]
    Cancelled,
}

/// Updates (or creates) the index of `job.folder`. See the module documentation.
pub fn update_index(
    job: &IndexJob,
    device: &ComputeDevice,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(IndexEvent),
) -> Result<IndexReport, IndexError> {
    let started = Instant::now();
    let scan = scan_images(&job.folder)?;
    on_event(IndexEvent::Scanned {
        images: scan.images.len(),
        problems: scan.problems.len(),
        photos: scan.images.iter().map(|e| e.path.clone()).collect(),
    });
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut skip = |s: Skipped, on_event: &mut dyn FnMut(IndexEvent)| {
        on_event(IndexEvent::Skipped(s.clone()));
        skipped.push(s);
    };
    let mut damaged: Vec<Skipped> = Vec::new();
    let mut note_damage = |s: Skipped, on_event: &mut dyn FnMut(IndexEvent)| {
        on_event(IndexEvent::Warning(format!("{}: {}", s.path, s.reason)));
        damaged.push(s);
    };
    for p in &scan.problems {
        skip(Skipped::new(&p.path, &p.reason), on_event);
    }
    if let Some(dir) = job.index.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Place {
            path: dir.display().to_string(),
            source,
        })?;
    }
    // One writer per index, from reading the old one to saving the new one.
    let _lock = super::lock_index(&job.index, job.wait, cancel, || {
        on_event(IndexEvent::Warning(
            "another hashlens run is updating this index; waiting for it to finish".into(),
        ))
    })?;
    if let Some(dir) = job.index.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::io::remove_stale_temporaries(dir);
    }
    let old = load_or_set_aside(&job.index, on_event);
    let work_started = Instant::now();
    let images = &scan.images;

    // The model; fitting one yields features of a sample that need not be computed again.
    // A first index shows photos searchable with the reference codes while its own fit is computed.
    let provisional = old.is_none();
    let (model, mut fitted) = resolve_model(job, images, device, provisional, cancel, on_event)?;
    on_event(IndexEvent::Model {
        description: model.config.provenance.description.clone(),
        fingerprint: model.fingerprint().to_string(),
        bits: model.bits(),
        fitted: fitted.as_ref().is_some_and(|f| !f.reference),
        provisional: false,
        verdicts: model.verdict_rule(),
        purpose: model.config.head.purpose(),
    });
    let bits = model.bits();
    let fp = model.fingerprint().to_string();

    let plan = match &old {
        Some(old) if old.bits() == bits => old.plan(images, &fp),
        _ => CodeIndex::new(bits, &fp)
            .expect("model lengths are valid")
            .plan(images, &fp),
    };
    let description = model.config.provenance.description.clone();
    let report =
        |indexed, encoded, kept, resumed, removed, skipped, damaged, images_per_s| IndexReport {
            indexed,
            encoded,
            kept,
            resumed,
            removed,
            skipped,
            damaged,
            images_per_s,
            seconds: started.elapsed().as_secs_f64(),
            cancelled: cancel.load(std::sync::atomic::Ordering::Relaxed),
            bits,
            model: fp.clone(),
            model_description: description.clone(),
            index: job.index.to_string_lossy().into_owned(),
            device: device.describe(),
        };
    // Nothing new, changed or gone: the index on disk is already this run's result, and nothing is
    // written (so an up-to-date index in a read-only folder is reported unchanged, not as an error).
    if plan.encode.is_empty()
        && plan.removed == 0
        && old
            .as_ref()
            .is_some_and(|o| o.model() == fp && o.len() == plan.keep.len())
    {
        return Ok(report(
            plan.keep.len(),
            0,
            plan.keep.len(),
            0,
            0,
            skipped,
            Vec::new(),
            0.0,
        ));
    }
    let mut codes: HashMap<usize, HashCode> = plan
        .keep
        .iter()
        .map(|&(s, i)| (s, old.as_ref().expect("kept codes").codes().get(i)))
        .collect();

    let (mut journal, journaled) = Journal::open(&job.index, bits, &fp)?;
    let journaled: HashMap<IndexedPhoto, HashCode> = journaled.into_iter().collect();
    let mut resumed = 0;
    let mut todo = Vec::new();
    for &s in &plan.encode {
        if let Some(code) = journaled.get(&IndexedPhoto::from_entry(&images[s])) {
            codes.insert(s, code.clone());
            resumed += 1;
        } else {
            todo.push(s);
        }
    }

    // Photos whose features the fit computed: encode them without running the network again.
    let mut encoded = 0;
    if let Some(fitted) = fitted.as_mut() {
        todo.retain(|s| match fitted.failed.get(s) {
            Some(reason) => {
                skip(Skipped::new(&images[*s].path, reason), on_event);
                false
            }
            None => true,
        });
        let (first, rest): (Vec<usize>, Vec<usize>) =
            todo.iter().partition(|s| fitted.features.contains_key(s));
        for s in first {
            if let Some(why) = fitted.damaged.remove(&s) {
                note_damage(Skipped::new(&images[s].path, &why), on_event);
            }
            let f = fitted.features.remove(&s).expect("partitioned on it");
            let code = fitted.hash.encode(&f).expect("feature width").get(0);
            let photo = IndexedPhoto::from_entry(&images[s]);
            journal.append(&photo, &code)?;
            on_event(IndexEvent::Encoded(photo, code.clone()));
            codes.insert(s, code);
            encoded += 1;
        }
        todo = rest;
    }

    let paths: Vec<PathBuf> = todo.iter().map(|&s| images[s].path.clone()).collect();
    let mut done = 0;
    let mut failure: Option<crate::io::FileError> = None;
    for_each_encoded(
        &model,
        &paths,
        job.batch,
        &device.device,
        cancel,
        |start, outputs, hurt| {
            for (p, why) in hurt {
                note_damage(Skipped::new(&images[todo[p]].path, &why), on_event);
            }
            for (i, out) in outputs.into_iter().enumerate() {
                let s = todo[start + i];
                match out {
                    Ok(code) => {
                        let photo = IndexedPhoto::from_entry(&images[s]);
                        if let Err(e) = journal.append(&photo, &code) {
                            failure.get_or_insert(e);
                        }
                        on_event(IndexEvent::Encoded(photo, code.clone()));
                        codes.insert(s, code);
                        encoded += 1;
                    }
                    Err(e) => skip(Skipped::new(&images[s].path, e), on_event),
                }
                done += 1;
            }
            on_event(IndexEvent::Progress {
                stage: Stage::ENCODE,
                done,
                total: paths.len(),
            });
        },
    );
    if let Some(e) = failure {
        return Err(e.into());
    }
    let work_seconds = work_started.elapsed().as_secs_f64();

    let mut index = CodeIndex::new(bits, &fp).expect("model lengths are valid");
    for (s, entry) in images.iter().enumerate() {
        if let Some(code) = codes.get(&s) {
            index
                .push(IndexedPhoto::from_entry(entry), code)
                .expect("codes have the model's length");
        }
    }
    if index.is_empty() && !images.is_empty() && !cancel.load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err(IndexError::NoPhotos);
    }
    index.save(&job.index)?;
    journal.remove()?;
    let images_per_s = if encoded > 0 && work_seconds > 0.0 {
        encoded as f64 / work_seconds
    } else {
        0.0
    };
    Ok(report(
        index.len(),
        encoded,
        plan.keep.len(),
        resumed,
        plan.removed,
        skipped,
        damaged,
        images_per_s,
    ))
}

/// Renames a damaged file to `NAME.damaged` (kept for a look, out of the way of the next run); says
/// where it went, for a warning.
fn set_aside(path: &Path) -> String {
    let mut aside = path.as_os_str().to_os_string();
    aside.push(".damaged");
    if std::fs::rename(path, &aside).is_ok() {
        format!(" (the old file is kept as {})", Path::new(&aside).display())
    } else {
        String::new()
    }
}

/// The previous index, or `None` when there is none or it is damaged (moved aside, with a warning:
/// an index can always be rebuilt from the photos).
fn load_or_set_aside(path: &Path, on_event: &mut dyn FnMut(IndexEvent)) -> Option<CodeIndex> {
    if !path.exists() {
        return None;
    }
    match CodeIndex::load(path) {
        Ok(index) => Some(index),
        Err(e) => {
            on_event(IndexEvent::Warning(format!(
                "{e}; rebuilding the index{}",
                set_aside(path)
            )));
            None
        }
    }
}

/// A freshly fitted default model's hash, the features it was fitted on and the sampled photos that
/// could not be read (by scan position).
struct Fitted {
    hash: LinearHash,
    /// The hash is the shipped reference's (the folder was too small for its own fit).
    reference: bool,
    features: HashMap<usize, Vec<f32>>,
    failed: HashMap<usize, String>,
    /// Photos decoded in spite of damage (scan position → what is wrong).
    damaged: HashMap<usize, String>,
}

/// Loads the job's model, or fits the default one, and keeps it beside the index. `provisional`: a fit
/// shows photos with the reference codes as it reads them.
fn resolve_model(
    job: &IndexJob,
    images: &[ImageEntry],
    device: &ComputeDevice,
    provisional: bool,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(IndexEvent),
) -> Result<(HashModel, Option<Fitted>), IndexError> {
    let beside = model_path_for(&job.index);
    let fit_and_keep = |arch, bits, purpose, on_event: &mut dyn FnMut(IndexEvent)| {
        let fitted = fit_default(
            job,
            (arch, bits, purpose),
            images,
            device,
            provisional,
            cancel,
            on_event,
        )?;
        fitted.0.save(&beside)?;
        Ok((fitted.0, Some(fitted.1)))
    };
    match &job.model {
        ModelChoice::File(path) => {
            let model = HashModel::load(path, &device.device)?;
            let same = std::fs::read(&beside)
                .ok()
                .and_then(|b| crate::model::hash_model::fingerprint(&b).ok());
            if same.as_deref() != Some(model.fingerprint()) {
                model.save(&beside)?;
            }
            Ok((model, None))
        }
        ModelChoice::Current { arch, bits } => {
            if beside.exists() {
                match HashModel::load(&beside, &device.device) {
                    Ok(m) => return Ok((m, None)),
                    Err(e) => on_event(IndexEvent::Warning(format!(
                        "{e}; fitting a new model{}",
                        set_aside(&beside)
                    ))),
                }
            }
            fit_and_keep(*arch, *bits, CodePurpose::Similar, on_event)
        }
        ModelChoice::Default {
            arch,
            bits,
            refit,
            purpose,
        } => {
            if !refit && beside.exists() {
                match HashModel::load(&beside, &device.device) {
                    Ok(m)
                        if m.bits() == *bits
                            && m.config.backbone == *arch
                            && m.config.head != HeadKind::Trained
                            && m.config.head.purpose() == *purpose =>
                    {
                        return Ok((m, None));
                    }
                    Ok(_) => {}
                    Err(e) => on_event(IndexEvent::Warning(format!(
                        "{e}; fitting a new model{}",
                        set_aside(&beside)
                    ))),
                }
            }
            fit_and_keep(*arch, *bits, *purpose, on_event)
        }
    }
}

/// Fits PCA + ITQ on a seeded sample of the folder's photos (after the shipped edit whitening for
/// [`CodePurpose::Copies`]). A folder too small for PCA gets the shipped reference model (LSH where none
/// ships for `arch` and `bits`). `provisional`: the photos read are announced with the reference's codes
/// as they come (see [`IndexEvent::Model`]).
fn fit_default(
    job: &IndexJob,
    (arch, bits, purpose): (BackboneArch, usize, CodePurpose),
    images: &[ImageEntry],
    device: &ComputeDevice,
    provisional: bool,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(IndexEvent),
) -> Result<(HashModel, Fitted), IndexError> {
    crate::code::check_bits(bits).map_err(|e| IndexError::Fit(e.to_string()))?;
    let whitening = match purpose {
        CodePurpose::Similar => None,
        CodePurpose::Copies => Some(shipped_edit_whitening(arch).ok_or_else(|| {
            IndexError::Fit(format!(
                "codes for finding copies need the edit whitening shipped for {}; none ships for {}",
                crate::model::reference::REFERENCE_ARCH.name(),
                arch.name()
            ))
        })?),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(job.seed);
    let n = images.len().min(job.fit_sample.max(1));
    let mut sample = rand::seq::index::sample(&mut rng, images.len(), n).into_vec();
    sample.sort_unstable();
    let paths: Vec<PathBuf> = sample.iter().map(|&s| images[s].path.clone()).collect();
    // The reference (loading it builds the backbone once more) is needed now only to show photos
    // meanwhile; a folder too small for its own fit loads it below.
    let reference = if provisional {
        reference_model(arch, bits, &device.device)?
    } else {
        None
    };
    let live = reference.as_ref();
    if let Some((model, _)) = live {
        on_event(IndexEvent::Model {
            description: model.config.provenance.description.clone(),
            fingerprint: model.fingerprint().to_string(),
            bits,
            fitted: false,
            provisional: true,
            verdicts: model.verdict_rule(),
            purpose: model.config.head.purpose(),
        });
    }
    let backbone = arch.pretrained(&device.device).map_err(ModelError::from)?;
    let backbone = backbone.for_inference(&device.device);
    let mut features = HashMap::new();
    let mut failed = HashMap::new();
    let mut damaged = HashMap::new();
    let mut rows = Vec::new();
    let mut done = 0;
    for_each_batch(
        &paths,
        &arch.preprocess(),
        job.batch,
        &device.device,
        cancel,
        |x| backbone.features(x),
        |start, outputs, hurt| {
            damaged.extend(hurt.into_iter().map(|(p, why)| (sample[p], why)));
            for (i, out) in outputs.into_iter().enumerate() {
                let s = sample[start + i];
                match out {
                    Ok(f) => {
                        if let Some((_, hash)) = live {
                            let code = hash.encode(&f).expect("feature width").get(0);
                            on_event(IndexEvent::Encoded(
                                IndexedPhoto::from_entry(&images[s]),
                                code,
                            ));
                        }
                        rows.extend_from_slice(&f);
                        features.insert(s, f);
                    }
                    Err(e) => {
                        failed.insert(s, e.to_string());
                    }
                }
                done += 1;
            }
            on_event(IndexEvent::Progress {
                stage: Stage::READ_FOR_FIT,
                done,
                total: paths.len(),
            });
        },
    );
    // A model fitted on part of the sample would differ from the one a full run fits: fit all or nothing.
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(IndexError::Cancelled);
    }
    if features.is_empty() {
        return Err(IndexError::NoPhotos);
    }
    let dim = arch.feature_dim();
    let count = features.len();
    let reference = match reference {
        Some(r) => Some(r),
        None if !itq_possible(count, bits) => reference_model(arch, bits, &device.device)?,
        None => None,
    };
    if !itq_possible(count, bits)
        && let Some((model, hash)) = reference
    {
        on_event(IndexEvent::Warning(format!(
            "{count} photos are too few to fit {bits}-bit PCA + ITQ to this folder (it needs {}); \
             using the shipped PCA + ITQ, fitted on 2,000 CIFAR-10 photos, until the folder grows, \
             then fit the default again (`hashlens index --refit`, or \"Fit the default again\" in \
             the app's Model tab){}",
            bits + 1,
            if purpose == CodePurpose::Copies {
                "; its codes are for finding photos like one, not copies of it"
            } else {
                ""
            }
        )));
        let fitted = Fitted {
            hash,
            reference: true,
            features,
            failed,
            damaged,
        };
        return Ok((model, fitted));
    }
    let fit_stage = |done| IndexEvent::Progress {
        stage: Stage::FIT,
        done,
        total: 1,
    };
    on_event(fit_stage(0));
    let (kind, hash) = if !itq_possible(count, bits) {
        on_event(IndexEvent::Warning(format!(
            "{count} photos are too few to fit {bits}-bit PCA + ITQ (it needs {}); using random \
             projections (LSH) until the folder grows, then fit the default again (`hashlens index \
             --refit`, or \"Fit the default again\" in the app's Model tab)",
            bits + 1
        )));
        (HeadKind::Lsh, LinearHash::lsh(&rows, dim, bits, job.seed))
    } else if let Some(whitening) = &whitening {
        (
            HeadKind::ItqEditWhitened,
            LinearHash::itq_after(&rows, whitening, bits, 50, job.seed),
        )
    } else {
        (
            HeadKind::Itq,
            LinearHash::itq(&rows, dim, bits, 50, job.seed),
        )
    };
    let hash = hash.map_err(|e| IndexError::Fit(e.to_string()))?;
    on_event(fit_stage(1));
    let method = match (kind, &whitening) {
        (HeadKind::ItqEditWhitened, Some(w)) => format!(
            "PCA + ITQ for finding copies (after a whitening learned from {})",
            w.description
        ),
        (HeadKind::Lsh, _) => "LSH".into(),
        _ => "PCA + ITQ".into(),
    };
    let provenance = Provenance {
        description: format!(
            "{method}, {bits} bits, on ImageNet {} features of {count} photos of {}",
            arch.name(),
            job.folder.display()
        ),
        software: concat!("hashlens ", env!("CARGO_PKG_VERSION")).into(),
        seed: job.seed,
        images: count,
        settings: serde_json::json!({ "itq_iterations": 50, "fit_sample": job.fit_sample }),
    };
    let mut model = HashModel::linear(arch, kind, &hash, provenance, &device.device)?;
    // The default's calibrations were measured for its fits on the default backbone only.
    if arch == DEFAULT_ARCH && kind != HeadKind::Lsh {
        let calibration = match kind.purpose() {
            CodePurpose::Similar => crate::eval::default_calibration(bits),
            CodePurpose::Copies => crate::eval::copies_calibration(bits),
        };
        model = model.with_calibration(calibration)?;
    }
    Ok((
        model,
        Fitted {
            hash,
            reference: false,
            features,
            failed,
            damaged,
        },
    ))
}
