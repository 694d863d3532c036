//! `hashlens index` and `hashlens search`: a folder's photos into an index of hash codes, and the photos
//! nearest to a query by Hamming distance.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::Args;
use hashlens_core::index::{
    Around, CodeIndex, DEFAULT_ARCH, DEFAULT_BITS, IndexEvent, IndexJob, ModelChoice, data_dir,
    encode_photo, index_model, index_path_for, update_index,
};
use hashlens_core::model::BackboneArch;
use hashlens_core::{HashCode, Neighbor};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

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
    #[command(flatten)]
    device: DeviceArgs,
    /// Photos per network batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
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
    if a.json {
        return crate::cli::output::print_json(&report);
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

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("query").required(true).args(["image", "indexed"])))]
#[command(group(clap::ArgGroup::new("which").required(true).args(["index", "folder"])))]
pub struct SearchArgs {
    /// The index to search.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The folder whose index to search (where `hashlens index` and the app keep it).
    #[arg(long)]
    folder: Option<PathBuf>,
    /// A photo to search with (encoded by the index's model).
    image: Option<PathBuf>,
    /// Search with a photo already in the index (itself is left out of the results).
    #[arg(long)]
    indexed: Option<PathBuf>,
    /// How many results.
    #[arg(short, default_value_t = 10, allow_negative_numbers = true, value_parser = crate::cli::args::count)]
    k: usize,
    /// Every photo within this Hamming distance instead of the k nearest.
    #[arg(long)]
    radius: Option<u32>,
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Hit {
    path: String,
    distance: u32,
}

#[derive(Serialize)]
struct SearchResult {
    query: String,
    code: String,
    results: Vec<Hit>,
}

impl SearchArgs {
    /// The index file to search.
    fn index_path(&self) -> PathBuf {
        match (&self.index, &self.folder) {
            (Some(index), _) => index.clone(),
            (None, Some(folder)) => index_path_for(folder, &data_dir()),
            (None, None) => unreachable!("clap requires one"),
        }
    }
}

pub fn search(a: SearchArgs) -> anyhow::Result<()> {
    let index_path = a.index_path();
    let index = CodeIndex::load(&index_path)?;
    let (query, code, exclude) = match (&a.image, &a.indexed) {
        (Some(image), _) => (image.clone(), encode_query(&a, &index, image)?, None),
        (None, Some(path)) => {
            let pos = find_indexed(&index, path)?;
            (path.clone(), index.codes().get(pos), Some(pos))
        }
        (None, None) => unreachable!("clap requires a query"),
    };
    let around = match a.radius {
        Some(r) => Around::Within(r),
        None => Around::Nearest(a.k),
    };
    let hits: Vec<Neighbor> = index.neighbours(&code, around, exclude)?;
    let result = SearchResult {
        query: query.to_string_lossy().into_owned(),
        code: code.to_string(),
        results: hits
            .iter()
            .map(|n| Hit {
                path: index.photos()[n.index].path.to_string_lossy().into_owned(),
                distance: n.distance,
            })
            .collect(),
    };
    if a.json {
        return crate::cli::output::print_json(&result);
    }
    out!(
        "{} ({} bits: {})",
        crate::cli::output::printable(&result.query),
        code.bits(),
        result.code
    );
    for h in &result.results {
        out!(
            "{:>4}  {}",
            h.distance,
            crate::cli::output::printable(&h.path)
        );
    }
    Ok(())
}

/// Encodes an outside photo with the model beside the index, after checking it made the index.
fn encode_query(a: &SearchArgs, index: &CodeIndex, image: &Path) -> anyhow::Result<HashCode> {
    let device = a.device.open()?;
    let model = index_model(&a.index_path(), index.model(), &device.device)?;
    Ok(encode_photo(&model, image, &device.device)?)
}

/// Position of `path` in the index: as given, or as the absolute path it names.
fn find_indexed(index: &CodeIndex, path: &Path) -> anyhow::Result<usize> {
    if let Some(i) = index.position(path) {
        return Ok(i);
    }
    let absolute = std::fs::canonicalize(path).ok();
    absolute
        .as_deref()
        .and_then(|p| {
            index.position(p).or_else(|| {
                index
                    .photos()
                    .iter()
                    .position(|e| std::fs::canonicalize(&e.path).ok().as_deref() == Some(p))
            })
        })
        .with_context(|| format!("{} is not in the index", path.display()))
}
