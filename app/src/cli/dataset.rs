//! `hashlens scan` and `hashlens split`: what a folder holds, and protocol splits of labelled folders.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use hashlens_core::dataset::{
    SplitSpec, classes_from_folders, format_list, scan_images, split as draw_split,
};
use hashlens_core::io::write_atomic;
use serde::Serialize;

use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The folder to scan (recursively).
    folder: PathBuf,
    /// Print one JSON object: counts per format, and every skipped entry with its reason.
    #[arg(long)]
    json: bool,
    /// Also list every image found (relative paths).
    #[arg(long)]
    list: bool,
}

#[derive(Serialize)]
struct Problem {
    path: String,
    reason: String,
}

#[derive(Serialize)]
struct ScanSummary {
    root: String,
    images: usize,
    formats: BTreeMap<String, usize>,
    skipped: Vec<Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list: Option<Vec<String>>,
}

pub fn scan(a: ScanArgs) -> anyhow::Result<()> {
    let report = scan_images(&a.folder)?;
    let mut formats = BTreeMap::new();
    for img in &report.images {
        *formats.entry(img.format.key()).or_insert(0) += 1;
    }
    let summary = ScanSummary {
        root: a.folder.to_string_lossy().into_owned(),
        images: report.images.len(),
        formats,
        skipped: report
            .problems
            .iter()
            .map(|p| Problem {
                path: p.path.to_string_lossy().into_owned(),
                reason: p.reason.clone(),
            })
            .collect(),
        list: a.list.then(|| {
            report
                .images
                .iter()
                .map(|i| i.relative.to_string_lossy().into_owned())
                .collect()
        }),
    };
    if a.json {
        return crate::cli::output::print_json(&summary);
    }
    if let Some(list) = &summary.list {
        for p in list {
            out!("{}", crate::cli::output::printable(p));
        }
    }
    let formats: Vec<String> = summary
        .formats
        .iter()
        .map(|(f, n)| format!("{n} {f}"))
        .collect();
    out!(
        "{} images in {} ({})",
        summary.images,
        summary.root,
        formats.join(", ")
    );
    if !summary.skipped.is_empty() {
        out!("{} entries skipped:", summary.skipped.len());
        for p in &summary.skipped {
            out!("  {}: {}", crate::cli::output::printable(&p.path), p.reason);
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct SplitArgs {
    /// A folder with one sub-folder per class.
    folder: PathBuf,
    /// `cifar10` (per class 100 query, 500 train, the rest database) or `cifar10-1` (database: all
    /// non-query images).
    #[arg(long, default_value = "cifar10")]
    protocol: String,
    /// Override the protocol's query images per class.
    #[arg(long)]
    query_per_class: Option<usize>,
    /// Override the protocol's training images per class.
    #[arg(long)]
    train_per_class: Option<usize>,
    /// Seed of the split (the same seed gives the same split on any machine).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write query.txt, train.txt, database.txt and classes.txt.
    #[arg(long)]
    out: PathBuf,
    /// Print a JSON summary.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SplitSummary {
    protocol: String,
    seed: u64,
    classes: usize,
    query: usize,
    train: usize,
    database: usize,
    spec: SplitSpec,
    out: String,
}

pub fn split(a: SplitArgs) -> anyhow::Result<()> {
    let Some(mut spec) = SplitSpec::named(&a.protocol) else {
        bail!(
            "unknown protocol {:?}: use cifar10 or cifar10-1",
            a.protocol
        );
    };
    spec.query_per_class = a.query_per_class.unwrap_or(spec.query_per_class);
    spec.train_per_class = a.train_per_class.unwrap_or(spec.train_per_class);
    let report = scan_images(&a.folder)?;
    if let Some(p) = report.problems.first() {
        eprintln!(
            "warning: {} entries skipped (first: {}: {})",
            report.problems.len(),
            p.path.display(),
            p.reason
        );
    }
    let classes = classes_from_folders(&report.images)?;
    let s = draw_split(&classes.classes, &classes.names, &spec, a.seed)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    for (name, part) in [
        ("query", &s.query),
        ("train", &s.train),
        ("database", &s.database),
    ] {
        let entries: Vec<_> = part
            .iter()
            .map(|&i| {
                (
                    report.images[i].relative.as_path(),
                    vec![classes.classes[i]],
                )
            })
            .collect();
        let path = a.out.join(format!("{name}.txt"));
        write_atomic(&path, format_list(&entries, classes.names.len()).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let names = classes.names.join("\n") + "\n";
    write_atomic(&a.out.join("classes.txt"), names.as_bytes())
        .context("cannot write classes.txt")?;
    let summary = SplitSummary {
        protocol: a.protocol,
        seed: a.seed,
        classes: classes.names.len(),
        query: s.query.len(),
        train: s.train.len(),
        database: s.database.len(),
        spec,
        out: a.out.to_string_lossy().into_owned(),
    };
    if a.json {
        return crate::cli::output::print_json(&summary);
    }
    out!(
        "{} classes: {} query, {} train, {} database (seed {}) → {}",
        summary.classes,
        summary.query,
        summary.train,
        summary.database,
        summary.seed,
        summary.out
    );
    Ok(())
}
