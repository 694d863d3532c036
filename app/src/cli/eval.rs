//! `hashlens eval-codes`: the retrieval metrics of `hashlens_core::eval` on codes and labels from files.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use hashlens_core::code::read_codes;
use hashlens_core::dataset::{LabelRows, read_list_file};
use hashlens_core::eval::{Depth, EvalConfig, EvalReport, evaluate};

use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct EvalCodesArgs {
    /// Database codes: a hashlens code file, or text (0/1 strings or ±1/real values per line).
    #[arg(long)]
    codes: PathBuf,
    /// Database labels: one class index or 0/1 row per line, optionally after a path (DeepHash list).
    #[arg(long)]
    labels: PathBuf,
    /// Query codes (same forms as --codes).
    #[arg(long)]
    query_codes: PathBuf,
    /// Query labels (same forms as --labels).
    #[arg(long)]
    query_labels: PathBuf,
    /// mAP depths, comma-separated: a number, `all` (the whole database) or `deephash-all` (the
    /// DeepHash-pytorch slice that drops the last item; for comparison with published numbers only).
    #[arg(long, value_delimiter = ',', default_value = "all,1000", value_parser = parse_depth)]
    map_at: Vec<Depth>,
    /// Ranks for precision@k and recall@k, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
    at_k: Vec<usize>,
    /// Hamming radius for "precision within radius".
    #[arg(long, default_value_t = 2)]
    radius: u32,
    /// Sample the precision–recall-by-rank curve every this many ranks.
    #[arg(long, default_value_t = 100)]
    pr_step: usize,
    /// Number of classes when labels are class indices (default: the largest index + 1).
    #[arg(long)]
    classes: Option<usize>,
    /// Print the full report as one JSON object.
    #[arg(long)]
    json: bool,
}

fn parse_depth(s: &str) -> Result<Depth, String> {
    Depth::parse(s)
        .ok_or_else(|| format!("{s:?} is not a depth (a positive number, `all` or `deephash-all`)"))
}

pub fn run(a: EvalCodesArgs) -> anyhow::Result<()> {
    let db = read_codes(&a.codes)?;
    let queries = read_codes(&a.query_codes)?;
    let db_rows = read_labels(&a.labels)?;
    let q_rows = read_labels(&a.query_labels)?;
    let classes = match (&db_rows, &q_rows) {
        (LabelRows::Indices(_), LabelRows::Indices(_)) => {
            let needed = db_rows.classes_needed().max(q_rows.classes_needed());
            match a.classes {
                Some(c) if c < needed => bail!(
                    "--classes {c} is too small: labels go up to class {}",
                    needed - 1
                ),
                Some(c) => c,
                None => needed,
            }
        }
        (LabelRows::MultiHot(_), LabelRows::MultiHot(_)) => db_rows.classes_needed(),
        _ => bail!(
            "one label file holds class indices and the other 0/1 rows: use one form for both"
        ),
    };
    let db_labels = db_rows
        .to_labels(classes)
        .with_context(|| a.labels.display().to_string())?;
    let q_labels = q_rows
        .to_labels(classes)
        .with_context(|| a.query_labels.display().to_string())?;
    let cfg = EvalConfig {
        map_depths: a.map_at,
        at_k: a.at_k,
        radius: a.radius,
        pr_step: a.pr_step,
    };
    let report = evaluate(&db, &db_labels, &queries, &q_labels, &cfg)?;
    if a.json {
        return crate::cli::output::print_json(&report);
    }
    print_summary(&report)
}

fn read_labels(path: &Path) -> anyhow::Result<LabelRows> {
    Ok(read_list_file(path)?.rows)
}

fn print_summary(r: &EvalReport) -> anyhow::Result<()> {
    out!(
        "{} queries against {} database codes of {} bits",
        r.queries,
        r.database,
        r.bits
    );
    for m in &r.map {
        out!("  mAP@{:<12} {:.4}", m.depth, m.map);
    }
    for p in &r.at_k {
        out!(
            "  P@{:<6} {:.4}   R@{:<6} {:.4}",
            p.k,
            p.precision,
            p.k,
            p.recall
        );
    }
    let w = &r.precision_within_radius;
    out!(
        "  precision within radius {}: {:.4} (recall {:.4}, {:.1} items retrieved on average)",
        w.radius,
        w.precision,
        w.recall,
        w.mean_retrieved
    );
    if r.queries_without_relevant > 0 {
        out!(
            "  note: {} queries have no relevant item in the database (they score 0)",
            r.queries_without_relevant
        );
    }
    if r.unlabelled_queries > 0 {
        out!(
            "  note: {} queries have no label at all",
            r.unlabelled_queries
        );
    }
    out!("  (--json prints every metric, the PR curves by rank and by radius included)");
    Ok(())
}
