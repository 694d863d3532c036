//! `hashlens index`: a folder's photos into an index of hash codes.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use hashlens_core::index::{
    CodeIndex, DEFAULT_ARCH, DEFAULT_BITS, IndexEvent, IndexJob, ModelChoice, PrintsEvent,
    PrintsJob, update_index, update_prints,
};
use hashlens_core::model::{BackboneArch, CodePurpose};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::args::{DeviceArgs, parse_backbone};
use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// The photo folder (searched recursively).
    folder: PathBuf,
    /// `default` (PCA + ITQ on ImageNet features, fitted on this folder) or a model file.
    #[arg(long, default_value = "default")]
    model: String,
    /// Where the index is written [default: FOLDER/.hashlens/index.hlindex, or for a folder that cannot
    /// be written, hashlens' data folder: where the app keeps it too].
    #[arg(long)]
    index: Option<PathBuf>,
    /// Code length of the default model (a multiple of 8).
    #[arg(long, default_value_t = DEFAULT_BITS, value_parser = crate::cli::args::parse_bits)]
    bits: usize,
    /// Backbone of the default model.
    #[arg(long, default_value = DEFAULT_ARCH.name(), value_parser = parse_backbone)]
    backbone: BackboneArch,
    /// Fit the default model anew even if the index already has one (re-encodes every photo).
    #[arg(long)]
    refit: bool,
    /// What the default model's codes are for: `similar` (photos like one) or `copies` (edited copies of
    /// one: resized, re-saved, cropped, turned, brightened; found more surely, at some cost in finding
    /// photos of the same kind).
    #[arg(long, default_value = "similar", value_parser = crate::cli::args::parse_purpose)]
    codes: CodePurpose,
    #[command(flatten)]
    device: DeviceArgs,
    /// Photos per network batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Then compute the photos' perceptual prints (pHash turned, mirrored and centre-cropped; kept beside
    /// the index as `INDEX.prints`), which the app's near-duplicate verdict reads beside the codes; only
    /// new or changed photos' are computed.
    #[arg(long)]
    prints: bool,
    /// When another hashlens run is updating this index, wait for it instead of stopping.
    #[arg(long)]
    wait: bool,
    /// Print one JSON summary as the last line.
    #[arg(long)]
    json: bool,
}

pub fn index(a: IndexArgs) -> anyhow::Result<()> {
    let model = match a.model.as_str() {
        "default" => ModelChoice::Default {
            arch: a.backbone,
            bits: a.bits,
            refit: a.refit,
            purpose: a.codes,
        },
        path => ModelChoice::File(PathBuf::from(path)),
    };
    let mut job = IndexJob::new(&a.folder, model);
    if let Some(index) = a.index {
        job.index = index;
    }
    job.batch = a.batch.max(1);
    job.wait = a.wait;
    let device = a.device.open()?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:>20} {bar:40} {pos}/{len} {per_sec} ETA {eta}")
            .expect("a valid template"),
    );
    let cancel = AtomicBool::new(false);
    let mut stage = "";
    let report = update_index(&job, &device, &cancel, &mut |event| match event {
        IndexEvent::Scanned {
            images, problems, ..
        } => crate::cli::output::log_line(
            &bar,
            format!("{images} photos found, {problems} entries skipped by the scan"),
        ),
        IndexEvent::Warning(w) => crate::cli::output::log_line(&bar, format!("warning: {w}")),
        // The reference codes a first index shows meanwhile are for a live view only.
        IndexEvent::Model {
            provisional: true, ..
        } => {}
        IndexEvent::Model {
            description,
            fitted,
            ..
        } => crate::cli::output::log_line(
            &bar,
            format!(
                "{} model: {description}",
                if fitted { "fitted" } else { "using" }
            ),
        ),
        IndexEvent::Progress {
            stage: s,
            done,
            total,
        } => {
            if s != stage {
                stage = s;
                bar.reset();
                bar.set_message(s);
                bar.set_length(total as u64);
            }
            bar.set_position(done as u64);
        }
        IndexEvent::Skipped(_) | IndexEvent::Encoded(..) => {}
    });
    bar.finish_and_clear();
    let report = report?;
    let prints = if a.prints {
        Some(prints(&job, &bar)?)
    } else {
        None
    };
    if a.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(p) = &prints {
            value["prints"] = serde_json::to_value(p)?;
        }
        return crate::cli::output::print_json(&value);
    }
    out!(
        "{} photos indexed in {}: {} encoded ({:.1} images/s), {} unchanged, {} recovered from an \
         interrupted run, {} removed",
        report.indexed,
        report.index,
        report.encoded,
        report.images_per_s,
        report.kept,
        report.resumed,
        report.removed
    );
    if let Some(p) = &prints {
        out!(
            "perceptual prints: {} of {} photos ({} computed in {:.1} s, {:.1} photos/s)",
            p.known,
            report.indexed,
            p.computed,
            p.seconds,
            p.per_s
        );
    }
    for (list, what) in [
        (&report.skipped, "skipped"),
        (
            &report.damaged,
            "damaged (indexed as far as they could be read)",
        ),
    ] {
        if !list.is_empty() {
            out!("{} {what}:", list.len());
            for s in list {
                out!("  {}: {}", crate::cli::output::printable(&s.path), s.reason);
            }
        }
    }
    Ok(())
}

/// What `--prints` did (the JSON summary's `prints`).
#[derive(serde::Serialize)]
struct PrintsReport {
    /// Photos with a print now.
    known: usize,
    /// Prints computed by this run (the others were read back).
    computed: usize,
    seconds: f64,
    /// Prints computed per second.
    per_s: f64,
}

/// Computes the perceptual prints the index at `job.index` lacks, with a progress bar.
fn prints(job: &IndexJob, bar: &ProgressBar) -> anyhow::Result<PrintsReport> {
    let index = CodeIndex::load(&job.index)?;
    let started = std::time::Instant::now();
    let mut first = None;
    bar.reset();
    bar.set_message("perceptual prints");
    let prints = update_prints(
        &PrintsJob {
            index: job.index.clone(),
            photos: index.photos().to_vec(),
        },
        &AtomicBool::new(false),
        &mut |PrintsEvent::Progress { done, total }| {
            first.get_or_insert(done);
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let computed = index.len() - first.unwrap_or(0);
    Ok(PrintsReport {
        known: prints.prints.iter().flatten().count(),
        computed,
        seconds,
        per_s: computed as f64 / seconds.max(1e-9),
    })
}
