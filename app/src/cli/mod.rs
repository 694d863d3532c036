//! Command-line interface: argument definitions and dispatch to one module per command.

mod bench;
mod bench_encode;
mod bench_hashing;
mod bench_step;
mod compare;
mod compare_cache;
mod compare_features;
mod compare_score;
mod compare_table;
mod dataset;
mod eval;
mod eval_model;
mod index;
mod logit_scale;
mod model;
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
    Bench(bench::BenchCommand),
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
    /// The photos of an index nearest to a query photo, by Hamming distance.
    Search(index::SearchArgs),
    /// Print the top-5 ImageNet classes the pretrained backbone sees in each photo.
    Inspect(model::InspectArgs),
    /// Train a hash model (DHD by default; DHN, CSQ, SHC, HybridHash) on a folder, a list file or a
    /// protocol's training split.
    Train(train::TrainArgs),
    /// Retrieval quality of a model file under a protocol (mAP@ALL, mAP@1000, P@1000, PR curve).
    Eval(eval_model::EvalArgs),
    /// Train several methods (DHD, DHN, CSQ, SHC, HybridHash; × bits; ± SdH) under one protocol split
    /// and print one table.
    Compare(compare::CompareArgs),
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Bench(b) => bench::run(b),
        Command::EvalCodes(a) => eval::run(a),
        Command::Scan(a) => dataset::scan(a),
        Command::Split(a) => dataset::split(a),
        Command::ConvertWeights(a) => model::convert(a),
        Command::Inspect(a) => model::inspect(a),
        Command::Index(a) => index::index(a),
        Command::Search(a) => index::search(a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval_model::run(a),
        Command::Compare(a) => compare::run(a),
    }
}

/// `println!` that returns the write error instead of panicking, so that `hashlens … | head` ends
/// quietly (see `main`) rather than with a broken-pipe panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}
pub(crate) use out;

/// A count from the command line (`-k`): a whole number, with an error that says so (clap's own
/// suggests `-- -1` for a negative number, which does not help here).
pub(crate) fn count(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .map_err(|_| "a count of results: a whole number such as 10".to_string())
}

/// `s` with its control characters escaped (`\n`, `\u{1b}`, …), for text output: a file name may hold a
/// newline or a terminal escape, which would otherwise break a line or fake one (JSON output escapes
/// them already).
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Prints a value as one line of JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// A line of a run's log, above its progress bar. indicatif's `println` prints nothing while the bar is
/// hidden, which it is whenever stderr is not a terminal (a log file, CI, a pipe): warnings about
/// unreadable photos and the epochs' losses would be lost exactly where they are kept. Then the line
/// goes to stderr directly.
pub fn log_line(bar: &indicatif::ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        eprintln!("{}", line.as_ref());
    } else {
        bar.println(line);
    }
}

/// `--bits`: a code length hashlens supports (a multiple of 8 up to 1,024), refused before any work
/// rather than after an index's photos are encoded or a model is trained.
pub fn parse_bits(s: &str) -> Result<usize, String> {
    let bits: usize = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of bits"))?;
    hashlens_core::code::check_bits(bits).map_err(|e| e.to_string())?;
    Ok(bits)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bits_are_multiples_of_8_up_to_1024() {
        assert_eq!(super::parse_bits("64"), Ok(64));
        assert_eq!(super::parse_bits("1024"), Ok(1024));
        for bad in ["12", "0", "2048", "sixty"] {
            let e = super::parse_bits(bad).unwrap_err();
            assert!(e.contains("bits"), "{bad}: {e}");
        }
    }
}
