//! `hashlens bench open` and `hashlens bench radius`: what a large index costs to open and to search
//! within a radius, each against its baseline in the same run.
//!
//! - `open`: a synthetic index of N photos (random codes, camera-like paths) is written once, then opened
//!   in a fresh process per measurement (the median of three is reported) — memory-mapped ([`MappedIndex`], what `hashlens search`
//!   does) and parsed whole ([`CodeIndex::load`], what it did before) — timing the open and the first
//!   query, and reading the process's resident memory before and after.
//! - `radius`: multi-index hashing ([`MultiIndex`]) against the exact scan on the same codes and
//!   queries, every result list compared.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clap::{Args, ValueEnum};
use hashlens_core::index::{Around, CodeIndex, IndexedPhoto, MappedIndex};
use hashlens_core::search::{MultiIndex, Search};
use hashlens_core::{CodeBook, HashCode};
use serde::{Deserialize, Serialize};

use super::percentile;
use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct OpenBench {
    /// Index sizes (photos).
    #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
    n: Vec<usize>,
    /// Code length in bits.
    #[arg(long, default_value_t = 64, value_parser = crate::cli::args::parse_bits)]
    bits: usize,
    /// Where the synthetic indexes are written (kept for the next run).
    #[arg(long, default_value = "target/bench-open")]
    dir: PathBuf,
    /// Empty the page cache before each measurement (Linux, as root: `/proc/sys/vm/drop_caches`), so
    /// that the index is read from the disk, as on the first search after a reboot.
    #[arg(long)]
    cold: bool,
    /// Measurements of each way; the one with the median time to the first results is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Measure one way of opening in this process (used by the benchmark itself).
    #[arg(long, value_enum, hide = true, requires = "index")]
    measure: Option<OpenWay>,
    #[arg(long, hide = true)]
    index: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum OpenWay {
    /// Memory-mapped (MappedIndex::open).
    Mapped,
    /// Parsed whole into memory (CodeIndex::load).
    Parsed,
}

/// One way of opening one index, measured in a fresh process.
#[derive(Serialize, Deserialize)]
struct Opened {
    way: OpenWay,
    open_ms: f64,
    first_query_ms: f64,
    /// Open plus first query: the wait before the first results.
    to_first_results_ms: f64,
    rss_mib_after_open: f64,
    rss_mib_after_query: f64,
}

#[derive(Serialize)]
struct OpenRow {
    n: usize,
    bits: usize,
    /// Whether the page cache was emptied before each measurement.
    cold: bool,
    file_mib: f64,
    mapped: Opened,
    parsed: Opened,
    /// Parsed time to first results / mapped time to first results.
    speedup: f64,
}

pub fn open(b: OpenBench) -> anyhow::Result<()> {
    if let (Some(way), Some(index)) = (b.measure, &b.index) {
        let measured = measure_open(way, index)?;
        println!("{}", serde_json::to_string(&measured)?);
        return Ok(());
    }
    std::fs::create_dir_all(&b.dir)
        .with_context(|| format!("cannot create {}", b.dir.display()))?;
    let mut rows = Vec::new();
    for &n in &b.n {
        let file = b.dir.join(format!("open-{n}x{}.hlindex", b.bits));
        ensure_synthetic(&file, n, b.bits)?;
        let mapped = median_of(b.repeat, || {
            measure_in_child(OpenWay::Mapped, &file, b.cold)
        })?;
        let parsed = median_of(b.repeat, || {
            measure_in_child(OpenWay::Parsed, &file, b.cold)
        })?;
        rows.push(OpenRow {
            n,
            bits: b.bits,
            cold: b.cold,
            file_mib: std::fs::metadata(&file)?.len() as f64 / (1 << 20) as f64,
            speedup: parsed.to_first_results_ms / mapped.to_first_results_ms,
            mapped,
            parsed,
        });
    }
    if b.json {
        return crate::cli::output::print_json(&rows);
    }
    out!(
        "opening an index and answering its first query (k = 10), {} page cache",
        if b.cold { "empty" } else { "warm" }
    );
    out!("  photos      file MiB  way     open ms  1st query ms  RSS MiB (open / query)");
    for r in &rows {
        for o in [&r.mapped, &r.parsed] {
            out!(
                "  {:>10}  {:>8.0}  {:<6}  {:>7.1}  {:>12.1}  {:>7.0} / {:.0}",
                r.n,
                r.file_mib,
                if o.way == OpenWay::Mapped {
                    "mapped"
                } else {
                    "parsed"
                },
                o.open_ms,
                o.first_query_ms,
                o.rss_mib_after_open,
                o.rss_mib_after_query
            );
        }
        out!(
            "  {:>10}  first results {:.0}× sooner mapped",
            "",
            r.speedup
        );
    }
    Ok(())
}

/// Writes a synthetic index of `n` photos unless one is already there.
fn ensure_synthetic(file: &Path, n: usize, bits: usize) -> anyhow::Result<()> {
    if let Ok(index) = MappedIndex::open(file)
        && index.len() == n
        && index.bits() == bits
    {
        return Ok(());
    }
    eprintln!(
        "writing a synthetic index of {n} photos to {}…",
        file.display()
    );
    let codes = CodeBook::random(bits, n, 42)?;
    let mut index = CodeIndex::new(bits, "synthetic:0")?;
    for i in 0..n {
        let photo = IndexedPhoto {
            path: format!(
                "/home/someone/Pictures/{}/{:02}/IMG_{}_{i:08}.jpg",
                2010 + i % 16,
                1 + i % 12,
                20100101 + i % 9000
            )
            .into(),
            size: 3_000_000 + (i as u64 % 5_000_000),
            mtime_ns: 1_700_000_000_000_000_000 + i as u64,
        };
        index.push(photo, &codes.get(i))?;
    }
    index.save(file)?;
    Ok(())
}

/// The run with the median time to the first results among `n` (at least one).
fn median_of(n: usize, mut run: impl FnMut() -> anyhow::Result<Opened>) -> anyhow::Result<Opened> {
    let mut runs = (0..n.max(1))
        .map(|_| run())
        .collect::<anyhow::Result<Vec<_>>>()?;
    runs.sort_by(|a, b| a.to_first_results_ms.total_cmp(&b.to_first_results_ms));
    Ok(runs.swap_remove(runs.len() / 2))
}

fn measure_in_child(way: OpenWay, file: &Path, cold: bool) -> anyhow::Result<Opened> {
    if cold {
        std::process::Command::new("sync")
            .status()
            .context("cannot run sync")?;
        std::fs::write("/proc/sys/vm/drop_caches", "3")
            .context("cannot empty the page cache (--cold needs Linux and root)")?;
    }
    let exe = std::env::current_exe().context("cannot find the hashlens executable")?;
    let way_name = match way {
        OpenWay::Mapped => "mapped",
        OpenWay::Parsed => "parsed",
    };
    let out = std::process::Command::new(exe)
        .args(["bench", "open", "--measure", way_name, "--index"])
        .arg(file)
        .output()
        .context("cannot start the measuring process")?;
    if !out.status.success() {
        bail!(
            "measuring {way_name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(serde_json::from_str(
        text.trim().lines().last().unwrap_or(""),
    )?)
}

fn measure_open(way: OpenWay, file: &Path) -> anyhow::Result<Opened> {
    let query = HashCode::from_words(64, &[0x5555_5555_5555_5555])?;
    let t = Instant::now();
    let (open_ms, first_query_ms, after_open, after_query) = match way {
        OpenWay::Mapped => {
            let index = MappedIndex::open(file)?;
            let open_ms = ms(t);
            let after_open = rss_mib();
            let q = sized(&query, index.bits())?;
            let t = Instant::now();
            let hits = index.neighbours(&q, Around::Nearest(10), None)?;
            let _ = index.photo_path(hits[0].index)?;
            (open_ms, ms(t), after_open, rss_mib())
        }
        OpenWay::Parsed => {
            let index = CodeIndex::load(file)?;
            let open_ms = ms(t);
            let after_open = rss_mib();
            let q = sized(&query, index.bits())?;
            let t = Instant::now();
            let hits = index.neighbours(&q, Around::Nearest(10), None)?;
            let _ = &index.photos()[hits[0].index].path;
            (open_ms, ms(t), after_open, rss_mib())
        }
    };
    Ok(Opened {
        way,
        open_ms,
        first_query_ms,
        to_first_results_ms: open_ms + first_query_ms,
        rss_mib_after_open: after_open,
        rss_mib_after_query: after_query,
    })
}

/// `code` repeated or cut to `bits` bits.
fn sized(code: &HashCode, bits: usize) -> anyhow::Result<HashCode> {
    let words = vec![code.words()[0]; bits.div_ceil(64)];
    Ok(HashCode::from_words(bits, &words)?)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// This process's resident memory (Linux; 0 elsewhere).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Args, Debug)]
pub struct RadiusBench {
    /// Database sizes.
    #[arg(long, value_delimiter = ',', default_value = "1000000")]
    n: Vec<usize>,
    /// Code lengths in bits.
    #[arg(long, value_delimiter = ',', default_value = "64", value_parser = crate::cli::args::parse_bits)]
    bits: Vec<usize>,
    /// Radii.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4,6,8")]
    radius: Vec<u32>,
    /// Queries per radius: database codes (they find at least themselves), each timed on its own.
    #[arg(long, default_value_t = 100)]
    queries: usize,
    /// Read the database from raw packed codes (bits/8 bytes per code, FAISS layout; one --bits).
    #[arg(long)]
    codes: Option<PathBuf>,
    /// Worker threads of the exact scan (multi-index hashing answers a query on one thread).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct RadiusRow {
    n: usize,
    bits: usize,
    substrings: usize,
    build_s: f64,
    tables_mib: f64,
    radius: u32,
    mean_results: f64,
    scan_median_ms: f64,
    multi_index_median_ms: f64,
    /// Scan time / multi-index time (medians).
    speedup: f64,
}

pub fn radius(b: RadiusBench) -> anyhow::Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(b.threads)
        .build()
        .context("cannot start the worker threads")?;
    let mut rows = Vec::new();
    for &bits in &b.bits {
        for &n in &b.n {
            let book = match &b.codes {
                Some(p) => {
                    let bytes =
                        std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
                    CodeBook::from_bytes(bits, &bytes)?
                }
                None => CodeBook::random(bits, n, 7)?,
            };
            ensure!(!book.is_empty(), "no codes");
            let t = Instant::now();
            let mih = MultiIndex::build(&book);
            let build_s = t.elapsed().as_secs_f64();
            let step = (book.len() / b.queries.max(1)).max(1);
            let queries: Vec<HashCode> = (0..b.queries.min(book.len()))
                .map(|i| book.get(i * step))
                .collect();
            let scan = Search::default();
            for &r in &b.radius {
                let (mut scan_ms, mut mih_ms, mut results) = (Vec::new(), Vec::new(), 0usize);
                pool.install(|| -> anyhow::Result<()> {
                    for q in &queries {
                        let t = Instant::now();
                        let exact = scan.radius(&book, q, r)?;
                        scan_ms.push(ms(t));
                        let t = Instant::now();
                        let fast = mih.radius(&book, q, r)?;
                        mih_ms.push(ms(t));
                        ensure!(fast == exact, "multi-index results differ at radius {r}");
                        results += exact.len();
                    }
                    Ok(())
                })?;
                scan_ms.sort_by(f64::total_cmp);
                mih_ms.sort_by(f64::total_cmp);
                let (s, m) = (percentile(&scan_ms, 0.5), percentile(&mih_ms, 0.5));
                rows.push(RadiusRow {
                    n: book.len(),
                    bits,
                    substrings: mih.substrings(),
                    build_s,
                    tables_mib: mih.memory_bytes() as f64 / (1 << 20) as f64,
                    radius: r,
                    mean_results: results as f64 / queries.len() as f64,
                    scan_median_ms: s,
                    multi_index_median_ms: m,
                    speedup: s / m,
                });
            }
            if b.codes.is_some() {
                break;
            }
        }
    }
    if b.json {
        return crate::cli::output::print_json(&rows);
    }
    out!(
        "radius search: multi-index hashing against the exact scan ({} scan threads)",
        b.threads
    );
    out!("  codes × bits      m  build s  tables MiB  radius  results  scan ms  MIH ms  speedup");
    for r in &rows {
        out!(
            "  {:>9} × {:<4}  {:>2}  {:>7.2}  {:>10.0}  {:>6}  {:>7.1}  {:>7.3}  {:>6.3}  {:>6.1}×",
            r.n,
            r.bits,
            r.substrings,
            r.build_s,
            r.tables_mib,
            r.radius,
            r.mean_results,
            r.scan_median_ms,
            r.multi_index_median_ms,
            r.speedup
        );
    }
    Ok(())
}
