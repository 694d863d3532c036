//! `hashlens bench …`: measurements that print a table or one JSON object, so that figures in notes and
//! issues can be reproduced with one command.

mod edits;
mod encode;
mod hashing;
mod index;
mod step;

use crate::cli::output::out;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use hashlens_core::search::{Kernel, Search};
use hashlens_core::{CodeBook, HashCode};
use serde::Serialize;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Exact top-k Hamming search: single-query latency and batched throughput.
    Search(SearchBench),
    /// Training-free hashing (PCA + ITQ vs LSH) on pretrained features under the cifar10 protocol, and
    /// the CPU feature-extraction throughput.
    Hashing(hashing::HashingBench),
    /// Photos to codes: first-batch time and steady-state images/s on the chosen device.
    Encode(encode::EncodeBench),
    /// One whole-network training step against its forward pass, per depthwise-gradient method.
    Step(step::StepBench),
    /// Opening a large index: memory-mapped against parsed whole, time to the first results and memory.
    Open(index::OpenBench),
    /// Radius search: multi-index hashing against the exact scan, results compared.
    Radius(index::RadiusBench),
    /// Everyday edits (resize, re-save, crop, mirror, turns, brightness, border, …): recall of the
    /// original, distances, and the precision and recall of the near-duplicate verdict.
    Edits(edits::EditsBench),
}

#[derive(Args, Debug)]
pub struct SearchBench {
    /// Database size (ignored with --codes).
    #[arg(long, default_value_t = 1_000_000)]
    n: usize,
    /// Code length in bits (a multiple of 8, at most 1024).
    #[arg(long, default_value_t = 64, value_parser = crate::cli::args::parse_bits)]
    bits: usize,
    /// Neighbours per query.
    #[arg(long, default_value_t = 100)]
    k: usize,
    /// Number of queries (each is timed on its own, then all together as a batch).
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Seed of the random codes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Force a scan kernel (default: the fastest this CPU supports).
    #[arg(long, value_enum)]
    kernel: Option<KernelArg>,
    /// Read the database from raw packed codes (bits/8 bytes per code, FAISS layout) instead of random ones.
    #[arg(long, requires = "query_codes")]
    codes: Option<PathBuf>,
    /// Read the queries from raw packed codes (with --codes).
    #[arg(long, requires = "codes")]
    query_codes: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KernelArg {
    Portable,
    Popcnt,
    Avx2,
}

#[derive(Serialize)]
struct SearchReport {
    n: usize,
    bits: usize,
    k: usize,
    queries: usize,
    threads: usize,
    kernel: Kernel,
    median_ms: f64,
    p95_ms: f64,
    mean_ms: f64,
    /// Single queries per second, one after another (1000 / mean_ms).
    qps: f64,
    /// Queries per second when all queries are answered as one batch.
    batch_qps: f64,
    /// Sum of every returned distance: equal across tools that return the same neighbours.
    distance_sum: u64,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Search(b) => search(b),
        BenchCommand::Hashing(b) => hashing::run(b),
        BenchCommand::Encode(b) => encode::run(b),
        BenchCommand::Step(b) => step::run(b),
        BenchCommand::Open(b) => index::open(b),
        BenchCommand::Radius(b) => index::radius(b),
        BenchCommand::Edits(b) => edits::run(b),
    }
}

fn search(b: SearchBench) -> anyhow::Result<()> {
    let search = match b.kernel {
        None => Search::default(),
        Some(k) => {
            let kernel = match k {
                KernelArg::Portable => Kernel::Portable,
                KernelArg::Popcnt => Kernel::Popcnt,
                KernelArg::Avx2 => Kernel::Avx2,
            };
            Search::with_kernel(kernel)
                .with_context(|| format!("this CPU cannot run the {} kernel", kernel.name()))?
        }
    };
    let (book, queries) = load_codes(&b)?;
    if queries.is_empty() || book.is_empty() {
        bail!("need at least one query and one database code");
    }
    let threads = b
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;

    let query_codes: Vec<HashCode> = (0..queries.len()).map(|i| queries.get(i)).collect();
    let (mut times_ms, distance_sum, batch_s) = pool.install(|| -> anyhow::Result<_> {
        // Warm-up: page in the codes and the caches.
        for q in query_codes.iter().take(3) {
            search.knn(&book, q, b.k)?;
        }
        let mut times = Vec::with_capacity(query_codes.len());
        let mut sum = 0u64;
        for q in &query_codes {
            let t = Instant::now();
            let found = search.knn(&book, q, b.k)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            sum += found.iter().map(|n| n.distance as u64).sum::<u64>();
        }
        let t = Instant::now();
        let batch = search.knn_batch(&book, &queries, b.k)?;
        let batch_s = t.elapsed().as_secs_f64();
        let batch_sum: u64 = batch.iter().flatten().map(|n| n.distance as u64).sum();
        anyhow::ensure!(batch_sum == sum, "batched and single-query results differ");
        Ok((times, sum, batch_s))
    })?;
    times_ms.sort_by(f64::total_cmp);
    let mean_ms = times_ms.iter().sum::<f64>() / times_ms.len() as f64;
    let report = SearchReport {
        n: book.len(),
        bits: book.bits(),
        k: b.k,
        queries: queries.len(),
        threads,
        kernel: search.kernel(),
        median_ms: percentile(&times_ms, 0.5),
        p95_ms: percentile(&times_ms, 0.95),
        mean_ms,
        qps: 1e3 / mean_ms,
        batch_qps: queries.len() as f64 / batch_s,
        distance_sum,
    };
    if b.json {
        return crate::cli::output::print_json(&report);
    }
    out!(
        "exact Hamming top-k search ({} kernel)",
        report.kernel.name()
    );
    out!(
        "  database        {} codes × {} bits",
        report.n,
        report.bits
    );
    out!("  queries, k      {}, {}", report.queries, report.k);
    out!("  threads         {}", report.threads);
    out!(
        "  single query    median {:.3} ms, p95 {:.3} ms, {:.0} queries/s",
        report.median_ms,
        report.p95_ms,
        report.qps
    );
    out!("  batched         {:.0} queries/s", report.batch_qps);
    Ok(())
}

fn load_codes(b: &SearchBench) -> anyhow::Result<(CodeBook, CodeBook)> {
    let (Some(db), Some(q)) = (&b.codes, &b.query_codes) else {
        let book = CodeBook::random(b.bits, b.n, b.seed)?;
        let queries = CodeBook::random(b.bits, b.queries, b.seed.wrapping_add(1))?;
        return Ok((book, queries));
    };
    let read = |p: &PathBuf| -> anyhow::Result<CodeBook> {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        CodeBook::from_bytes(b.bits, &bytes)
            .with_context(|| format!("{} does not hold {}-bit codes", p.display(), b.bits))
    };
    let book = read(db)?;
    let mut queries = read(q)?;
    if queries.len() > b.queries {
        queries = queries.select(&(0..b.queries).collect::<Vec<_>>());
    }
    Ok((book, queries))
}

/// Nearest-rank percentile of sorted values (panics on none).
fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
