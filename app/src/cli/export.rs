//! `hashlens export`: an index's codes for FAISS or Milvus (core `export`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hashlens_core::export::{Engine, export};
use hashlens_core::index::MappedIndex;

use crate::cli::args::IndexChoice;
use crate::cli::output::{out, printable};

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    which: IndexChoice,
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
    let index = MappedIndex::open(&a.which.path())?;
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
