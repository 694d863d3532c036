//! `hashlens compare`: deep-hashing methods side by side under one protocol split — the same backbone,
//! photos, augmentations, optimiser, evaluation code — trained and scored one after another into one
//! table (Markdown on stdout, JSON with `--out`).
//!
//! Head mode (the one a CPU can run) shares what every run would repeat: the backbone features of the
//! training views and of the query and database photos are computed once ([`super::compare_features`]);
//! each run then trains its hash layer and encodes by applying it to those features. Full mode trains
//! and encodes each run end to end (a GPU's job).
//!
//! In head mode the table also has the training-free default as a baseline: PCA + ITQ fitted on the
//! training photos' features. `--labels without` (or `both`) trains without the labels, as for a personal
//! library, once per `--pseudo-labels` source (the backbone's ImageNet classes, or k-means clusters of
//! its features); the evaluation always uses them.
//! `--robustness` (head mode) also scores every run with deformed queries against the clean database
//! (DHD's Table 4; the deformations are in `hashlens_core::photo::deform`).

mod cache;
mod features;
mod score;
mod table;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use hashlens_core::model::BackboneArch;
use hashlens_core::train::{
    DhdLossConfig, Method, MethodConfig, PseudoLabels, TrainConfig, TrainEvent, TrainHooks,
    TrainImages, data, train_cached,
};

use crate::cli::args::LogitScale;
use crate::cli::args::ProtocolArgs;
use crate::cli::args::{DeviceArgs, parse_backbone};
use crate::cli::args::{MethodArg, Mode, parse_temperature};
use crate::cli::output::progress_bar;
use cache::SharedFeatures;
use features::head_features;
use score::Scorer;
use table::{Row, Table, mark_chosen, print_markdown};

#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
enum LabelUse {
    With,
    Without,
    Both,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    split: ProtocolArgs,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "dhd,dhn,csq,shc,hybridhash"
    )]
    methods: Vec<MethodArg>,
    #[arg(long, value_delimiter = ',', default_value = "16,32,64", value_parser = crate::cli::args::parse_bits)]
    bits: Vec<usize>,
    /// Also run the other methods with DHD's self-distillation term (DHD always has it).
    #[arg(long)]
    with_sdh: bool,
    /// Train with the protocol's labels, without them (targets: `--pseudo-labels`), or both.
    #[arg(long, value_enum, default_value = "with")]
    labels: LabelUse,
    /// Without labels: where targets come from, one set of runs each: clusters[:K] (k-means of the
    /// backbone's features; 10 without K) or imagenet[:TOP] (its TOP most likely ImageNet classes).
    #[arg(long, value_delimiter = ',', default_value = "clusters")]
    pseudo_labels: Vec<PseudoLabels>,
    #[arg(long, value_enum, default_value = "head")]
    mode: Mode,
    /// Epochs; several (e.g. 30,100,300) train every method once per count on the same cached
    /// features. Measured here: the pairwise likelihoods (DHN, HybridHash's) need ten times the steps of
    /// the proxy and centre losses, which meanwhile overfit, so one count favours one family.
    #[arg(long, value_delimiter = ',', default_value = "30")]
    epochs: Vec<usize>,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Whole-network mode: at most this many photos through the network at a time, with the whole
    /// batch's gradient (as `train --micro-batch`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    micro_batch: Option<u32>,
    /// Use only the first N photos of the training split (default: all).
    #[arg(long)]
    train: Option<usize>,
    /// Use only the first N queries (default: all).
    #[arg(long)]
    queries: Option<usize>,
    /// Use only the first N database photos (default: all).
    #[arg(long)]
    database: Option<usize>,
    #[arg(long, default_value = "mobilenet_v2", value_parser = parse_backbone)]
    backbone: BackboneArch,
    #[arg(long, default_value_t = 224)]
    image_size: usize,
    #[arg(long, default_value_t = 256)]
    keep_side: usize,
    #[arg(long, default_value_t = 4)]
    cached_views: usize,
    #[arg(long, default_value_t = 1e-4)]
    lr_backbone: f64,
    #[arg(long, default_value_t = 1e-3)]
    lr_head: f64,
    /// DHD: temperature τ of L_HP (0.2, the paper's for ImageNet); several (e.g. 0.2,0.5) train DHD
    /// once per value.
    #[arg(long, value_delimiter = ',', default_value = "0.2", value_parser = parse_temperature)]
    temperature: Vec<f64>,
    /// DHN: logits θ = scale·⟨u_i, u_j⟩: a number (½ in the PyTorch ports) or N/K per code length
    /// (2/K did better at every length here); several (e.g. 0.5,2/K) train DHN once per scale.
    #[arg(long, value_delimiter = ',', default_value = "0.5")]
    dhn_scale: Vec<LogitScale>,
    /// HybridHash's loss: θ = α·⟨u_i, U_j⟩. A number (½ upstream) or N/K; several train it once each.
    #[arg(long, value_delimiter = ',', default_value = "0.5")]
    hybrid_alpha: Vec<LogitScale>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Head mode: also score each run with deformed queries (cutout, dropout, zoom, rotation, shear,
    /// noise) against the clean database.
    #[arg(long)]
    robustness: bool,
    /// Write the table as JSON here too.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Hold out the last N training photos: they are not trained on, and after each run half of them
    /// search the other half (as queries search the database, neither trained on). For each method,
    /// targets, SdH and bits, the epoch count (of `--epochs`) and the method's own setting (DHD's τ,
    /// the logit scale of DHN and HybridHash's loss) that do best there are marked chosen, and the
    /// chosen rows are printed as a second table: a ranking at settings chosen without looking at the
    /// test split.
    #[arg(long)]
    validation: Option<usize>,
    /// Head mode: keep the backbone features in this file and reuse them while the settings and
    /// photos are the same (a sweep over head-only settings then skips the forward passes).
    #[arg(long)]
    feature_cache: Option<PathBuf>,
}

pub fn run(a: CompareArgs) -> anyhow::Result<()> {
    let seed = a.split.seed;
    let mut split = a.split.split()?.first(a.queries, a.train, a.database);
    let held_out = match a.validation {
        Some(n) => {
            anyhow::ensure!(
                n >= 1 && n + 2 <= split.train.len(),
                "--validation {n}: the training split has {} photos; hold out fewer",
                split.train.len()
            );
            split.train.split_off(split.train.len() - n)
        }
        None => Vec::new(),
    };
    let device = a.device.open()?;
    let classes = split.classes.len();
    let paths: Vec<PathBuf> = split.train.iter().map(|(p, _)| p.clone()).collect();
    let rows = data::one_hot(
        &split.train.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        classes,
    );
    let cancel = AtomicBool::new(false);
    let bar = progress_bar(paths.len(), "decoding training photos");
    let (labelled, skipped) =
        TrainImages::load(&paths, &rows, classes, a.keep_side, &cancel, |d, _| {
            bar.set_position(d as u64)
        })
        .context("cancelled")?;
    bar.finish_and_clear();
    anyhow::ensure!(
        skipped.is_empty(),
        "{} training photos could not be read",
        skipped.len()
    );
    let images = &labelled;

    // The values of a method's own setting it is trained at: one run each (none for CSQ and SHC).
    let knobs = |method: Method| -> Vec<Option<Knob>> {
        match method {
            Method::Dhd => a
                .temperature
                .iter()
                .map(|&t| Some(Knob::Temperature(t)))
                .collect(),
            Method::Dhn => a.dhn_scale.iter().map(|&s| Some(Knob::Scale(s))).collect(),
            Method::HybridHash => a
                .hybrid_alpha
                .iter()
                .map(|&s| Some(Knob::Scale(s)))
                .collect(),
            Method::Csq | Method::Shc => vec![None],
        }
    };
    let base = |method: Method, knob: Option<Knob>, sdh: bool, bits: usize, epochs: usize| {
        let mut m = MethodConfig::new().with_method(method).with_sdh(sdh);
        let mut loss = DhdLossConfig::new();
        match knob {
            Some(Knob::Temperature(t)) => loss = loss.with_temperature(t),
            Some(Knob::Scale(s)) if method == Method::Dhn => m = m.with_dhn_scale(s.at(bits)),
            Some(Knob::Scale(s)) => m = m.with_hybrid_alpha(s.at(bits)),
            None => {}
        }
        TrainConfig::new(a.backbone, loss)
            .with_method(m)
            .with_bits(bits)
            .with_epochs(epochs)
            .with_batch(a.batch.min(images.len()))
            .with_micro_batch(a.micro_batch.map(|m| m as usize))
            .with_lr_backbone(a.lr_backbone)
            .with_lr_head(a.lr_head)
            .with_mode(a.mode.into())
            .with_image_size(a.image_size)
            .with_cached_views(a.cached_views)
            .with_seed(seed)
    };
    // The settings every run shares (the feature cache's), as the first run has them.
    let (m0, bits0, epochs0) = match (a.methods.first(), a.bits.first(), a.epochs.first()) {
        (Some(m), Some(&b), Some(&e)) => (m.method(), b, e),
        _ => anyhow::bail!("no method, bit count or epoch count to compare"),
    };
    let first = &base(m0, knobs(m0)[0], m0 == Method::Dhd, bits0, epochs0);

    // Head mode: the shared work, once.
    let shared = match a.mode {
        Mode::Head => Some(head_features(
            first,
            images,
            &split,
            &held_out,
            a.robustness,
            a.feature_cache.as_deref(),
            &device.device,
            &cancel,
        )?),
        Mode::Full => None,
    };

    let unlabelled = match a.labels {
        LabelUse::With => Vec::new(),
        _ => pseudo_labelled(&a, first, images, shared.as_ref(), &device.device, &cancel)?,
    };
    // (training photos, what their targets are; "labels" when they carry the labels)
    let mut sets = Vec::new();
    if a.labels != LabelUse::Without {
        sets.push((&labelled, "labels".to_string()));
    }
    for (images, source) in &unlabelled {
        sets.push((images, source.clone()));
    }
    let mut runs = Vec::new();
    for (set, targets) in &sets {
        for &m in &a.methods {
            let method = m.method();
            if method == Method::Shc && set.classes > 256 {
                eprintln!(
                    "hashlens: SHC needs classes (labels or clusters); it is left out of the runs \
                     with {targets} targets"
                );
                continue;
            }
            for &bits in &a.bits {
                for knob in knobs(method) {
                    for &epochs in &a.epochs {
                        let dhd = method == Method::Dhd;
                        let run =
                            |sdh| (base(method, knob, sdh, bits, epochs), *set, targets, knob);
                        runs.push(run(dhd));
                        if a.with_sdh && !dhd {
                            runs.push(run(true));
                        }
                    }
                }
            }
        }
    }
    let scorer = Scorer::new(&split, &held_out, shared.as_ref(), seed, &device.device)?;
    let mut table = scorer.baselines(&a.bits)?;
    for (config, set, targets, knob) in &runs {
        let started = Instant::now();
        let mut on_event = |_: TrainEvent| {};
        let hooks = TrainHooks {
            checkpoint: None,
            resume: None,
            evaluate: None,
            eval_every: 0,
            cancel: &cancel,
            on_event: &mut on_event,
        };
        let name = run_name(config, targets, *knob);
        eprintln!("hashlens: training {name}…");
        let cache = shared.as_ref().map(|s| s.cache.clone());
        let outcome = train_cached(config, set, &device.device, hooks, cache)?;
        let train_s = started.elapsed().as_secs_f64();
        let scores = scorer.score_model(&outcome.model)?;
        let row = Row {
            method: config.method.method.name(),
            labels: *targets == "labels",
            targets: targets.to_string(),
            sdh: config.method.distils(),
            bits: config.bits,
            epochs: Some(config.epochs),
            temperature: match knob {
                Some(Knob::Temperature(t)) => Some(*t),
                _ => None,
            },
            logit_scale: match knob {
                Some(Knob::Scale(s)) => Some(s.to_string()),
                _ => None,
            },
            map_all: scores.map_all,
            map_1000: scores.map_1000,
            p_1000: scores.p_1000,
            p_r2: scores.p_r2,
            train_s,
            robustness: scores.robustness,
            val_map_all: scores.val_map_all,
            chosen: false,
        };
        eprintln!(
            "hashlens: {name}: mAP@ALL {:.4}, mAP@1000 {:.4} ({train_s:.0} s)",
            row.map_all, row.map_1000
        );
        table.push(row);
    }
    mark_chosen(&mut table);
    print_markdown(&table);
    if let Some(out) = &a.out {
        let t = Table {
            protocol: a.split.protocol.clone(),
            seed,
            backbone: a.backbone.name(),
            mode: a.mode.name(),
            epochs: a.epochs.clone(),
            batch: first.batch,
            image_size: a.image_size,
            train_images: images.len(),
            queries: split.query.len(),
            database: split.database.len(),
            validation: a.validation,
            device: device.describe(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            rows: table,
        };
        hashlens_core::io::write_atomic(out, serde_json::to_string_pretty(&t)?.as_bytes())?;
        eprintln!("hashlens: wrote {}", out.display());
    }
    Ok(())
}

/// The training photos once per `--pseudo-labels` source, with that source's targets instead of the
/// labels, each named for the table. In head mode the cluster sources cluster the training photos'
/// features the comparison already has.
fn pseudo_labelled(
    a: &CompareArgs,
    first: &TrainConfig,
    labelled: &TrainImages,
    shared: Option<&SharedFeatures>,
    device: &burn::tensor::Device,
    cancel: &AtomicBool,
) -> anyhow::Result<Vec<(TrainImages, String)>> {
    let backbone = first.backbone.pretrained(device)?;
    let pre = first.input();
    // The ImageNet sources share the probabilities, the cluster sources the features.
    let mut outputs: [Option<Vec<f32>>; 2] = [None, shared.map(|s| s.train.concat())];
    let mut out = Vec::new();
    for &source in &a.pseudo_labels {
        eprintln!(
            "hashlens: targets without labels: {}…",
            source.describe(labelled.len())
        );
        let rows = match &mut outputs[usize::from(!source.needs_classifier())] {
            Some(rows) => rows,
            slot => {
                slot.insert(source.network_outputs(labelled, &backbone, &pre, 64, device, cancel)?)
            }
        };
        let (t, classes) = source.targets_from_outputs(rows, labelled.len());
        let mut images = labelled.clone();
        images.set_targets(t, classes);
        let name = match source {
            PseudoLabels::Clusters { k: None } => format!("clusters:{classes}"),
            _ => source.to_string(),
        };
        out.push((images, name));
    }
    Ok(out)
}

/// The one setting of a method that `compare` trains at several values for `--validation` to choose
/// among: DHD's temperature τ (L_HP's sharpness), the logit scale of DHN and HybridHash's loss.
#[derive(Clone, Copy, Debug)]
enum Knob {
    Temperature(f64),
    Scale(LogitScale),
}

impl std::fmt::Display for Knob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Temperature(t) => write!(f, "τ {t}"),
            Self::Scale(s) => write!(f, "scale {s}"),
        }
    }
}

/// How a run is named in the progress lines: method (+SdH), setting, bits, epochs, targets.
fn run_name(config: &TrainConfig, targets: &str, knob: Option<Knob>) -> String {
    let m = &config.method;
    format!(
        "{}{}{} {} bits, {} epochs{}",
        m.method.name(),
        if m.sdh && m.method != Method::Dhd {
            "+SdH"
        } else {
            ""
        },
        knob.map_or(String::new(), |k| format!(" ({k})")),
        config.bits,
        config.epochs,
        match targets {
            "labels" => String::new(),
            _ => format!(" without labels ({targets})"),
        }
    )
}
