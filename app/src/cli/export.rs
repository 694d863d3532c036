//! `hashlens export`: an index's codes for FAISS or Milvus (core `export`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hashlens_core::export::{Engine, export};
use hashlens_core::index::{MappedIndex, data_dir, index_path_for};

use crate::cli::output::{out, printable};

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["index", "folder"])))]
pub struct ExportArgs {
    /// The index to export.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The folder whose index to export (where `hashlens index` and the app keep it).
    #[arg(long)]
    folder: Option<PathBuf>,
    /// The engine to write for.
    #[arg(long, value_enum)]
    format: EngineArg,
    /// Where to write: PREFIX.faiss (FAISS) or PREFIX.milvus.json and PREFIX.milvus.schema.json
    /// (Milvus), with PREFIX.ids.jsonl (id → path) and PREFIX.meta.json (bits, model) beside.
    #[arg(long)]
    out: PathBuf,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EngineArg {
    /// A FAISS IndexBinaryFlat file (`faiss.read_index_binary`).
    Faiss,
    /// A Milvus collection schema and its rows for bulk insert.
    Milvus,
}

pub fn run(a: ExportArgs) -> anyhow::Result<()> {
    let path = match (&a.index, &a.folder) {
        (Some(index), _) => index.clone(),
        (None, Some(folder)) => index_path_for(folder, &data_dir()),
        (None, None) => unreachable!("clap requires one"),
    };
    let index = MappedIndex::open(&path)?;
    let engine = match a.format {
        EngineArg::Faiss => Engine::Faiss,
        EngineArg::Milvus => Engine::Milvus,
    };
    let done = export(&index, engine, &a.out)?;
    if a.json {
        return crate::cli::output::print_json(&done);
    }
    out!(
        "{} codes of {} bits (model {}) exported for {}:",
        done.count,
        done.bits,
        done.model,
        done.engine
    );
    for f in &done.files {
        out!("  {}", printable(&f.to_string_lossy()));
    }
    Ok(())
}
