//! Command-line interface: the commands and their dispatch. The product's commands (`index`, `search`, `export`,
//! `train`, `eval`, `inspect`, `scan`, `split`, …) have a module each here; the lab's (`compare`,
//! `bench`) live under [`lab`]. Shared arguments are in [`args`], printing and progress in [`output`].

mod args;
mod dataset;
mod eval;
mod eval_model;
mod export;
mod index;
mod lab;
mod model;
mod output;
mod search;
mod train;

use clap::{Parser, Subcommand};

/// Find similar photos by learned binary hash codes. Without a command, opens the desktop app (on FOLDER
/// when one is given).
#[derive(Parser, Debug)]
#[command(
    name = "hashlens",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A photo folder to open in the app.
    pub folder: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Measure hashlens's building blocks and print a table (or JSON).
    #[command(subcommand)]
    Bench(lab::bench::BenchCommand),
    /// Retrieval metrics (mAP@k, P@k, R@k, PR curves) for query and database codes with labels.
    EvalCodes(eval::EvalCodesArgs),
    /// List the images in a folder and the entries that had to be skipped.
    Scan(dataset::ScanArgs),
    /// Split a folder labelled by class sub-folders into query / train / database list files.
    Split(dataset::SplitArgs),
    /// Convert a PyTorch state dict into the safetensors weights hashlens loads.
    ConvertWeights(model::ConvertArgs),
    /// Index a photo folder: encode every photo to a hash code (only new or changed ones on later runs).
    Index(index::IndexArgs),
    /// The photos of an index nearest to a query photo (or to each photo of a list), by Hamming distance.
    Search(search::SearchArgs),
    /// Write an index's codes for FAISS (a binary index file) or Milvus (a collection schema and rows).
    Export(export::ExportArgs),
    /// Print the top-5 ImageNet classes the pretrained backbone sees in each photo.
    Inspect(model::InspectArgs),
    /// Train a hash model (DHD by default; DHN, CSQ, SHC, HybridHash) on a folder, a list file or a
    /// protocol's training split.
    Train(train::TrainArgs),
    /// Retrieval quality of a model file under a protocol (mAP@ALL, mAP@1000, P@1000, PR curve).
    Eval(eval_model::EvalArgs),
    /// Train several methods (DHD, DHN, CSQ, SHC, HybridHash; × bits; ± SdH) under one protocol split
    /// and print one table.
    Compare(lab::compare::CompareArgs),
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Bench(b) => lab::bench::run(b),
        Command::EvalCodes(a) => eval::run(a),
        Command::Scan(a) => dataset::scan(a),
        Command::Split(a) => dataset::split(a),
        Command::ConvertWeights(a) => model::convert(a),
        Command::Inspect(a) => model::inspect(a),
        Command::Index(a) => index::index(a),
        Command::Search(a) => search::search(a),
        Command::Export(a) => export::run(a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval_model::run(a),
        Command::Compare(a) => lab::compare::run(a),
    }
}
