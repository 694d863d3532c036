//! Arguments and parsers that several commands share: the device, the index searched or exported, the backbone, code lengths, counts,
//! training methods and modes, protocol splits, temperatures and logit scales. A command's own
//! arguments stay beside it.

mod logit_scale;

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hashlens_core::dataset::{ProtocolData, protocol_split};
use hashlens_core::device::{ComputeDevice, DeviceChoice};
use hashlens_core::model::BackboneArch;
use hashlens_core::train::{Method, TrainMode};

pub use logit_scale::LogitScale;

/// `--device`, shared by every command that runs a network.
#[derive(Args, Debug)]
pub struct DeviceArgs {
    /// Where networks run: a GPU when one is usable (auto), a GPU or an error (gpu), or the CPU.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
}

impl DeviceArgs {
    /// The chosen device, announced on stderr (stdout stays machine-readable).
    pub fn open(&self) -> anyhow::Result<ComputeDevice> {
        let device = ComputeDevice::choose(self.device)?;
        eprintln!("hashlens: running on {}", device.describe());
        Ok(device)
    }
}

/// `--index FILE` or `--folder DIR`: the index a command reads.
#[derive(Args, Debug)]
#[group(id = "which", required = true, multiple = false)]
pub struct IndexChoice {
    /// The index file.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The folder whose index to use (where `hashlens index` and the app keep it).
    #[arg(long)]
    folder: Option<PathBuf>,
}

impl IndexChoice {
    /// The index file chosen.
    pub fn path(&self) -> PathBuf {
        match (&self.index, &self.folder) {
            (Some(index), _) => index.clone(),
            (None, Some(folder)) => {
                hashlens_core::index::index_path_for(folder, &hashlens_core::index::data_dir())
            }
            (None, None) => unreachable!("clap requires one"),
        }
    }
}

pub fn parse_backbone(s: &str) -> Result<BackboneArch, String> {
    BackboneArch::from_name(s).ok_or_else(|| {
        let known: Vec<_> = BackboneArch::ALL.iter().map(|a| a.name()).collect();
        format!("unknown backbone {s:?} (known: {})", known.join(", "))
    })
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Mode {
    /// Backbone and head (use a GPU).
    Full,
    /// Head only, on cached features of augmented views (fine on a CPU).
    Head,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodArg {
    /// Deep Hash Distillation: hash proxies, self-distillation, BCE quantisation.
    Dhd,
    /// Deep Hashing Network: pairwise likelihood within the batch, log-cosh quantisation.
    Dhn,
    /// Central Similarity Quantisation: pull codes to Hadamard hash centres.
    Csq,
    /// Semantic Hash Centres: centres placed by a classifier's class similarity, then CSQ's loss.
    Shc,
    /// HybridHash's loss: weighted pairwise likelihood against a memory bank of every photo's code
    /// (the HybridHash network itself is `--backbone hybridhash`).
    Hybridhash,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Head => "head",
        }
    }
}

impl From<Mode> for TrainMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Full => TrainMode::Full,
            Mode::Head => TrainMode::Head,
        }
    }
}

impl MethodArg {
    pub fn method(self) -> Method {
        match self {
            MethodArg::Dhd => Method::Dhd,
            MethodArg::Dhn => Method::Dhn,
            MethodArg::Csq => Method::Csq,
            MethodArg::Shc => Method::Shc,
            MethodArg::Hybridhash => Method::HybridHash,
        }
    }
}

/// A protocol split of a class-folder collection (shared by `eval` and `compare`).
#[derive(Args, Debug)]
pub struct ProtocolArgs {
    /// A folder with one sub-folder per class (e.g. the CIFAR-10 JPEGs).
    #[arg(long)]
    pub data: PathBuf,
    /// The split: cifar10 (100 query / 500 train per class, the rest as database) or cifar10-1.
    #[arg(long, default_value = "cifar10")]
    pub protocol: String,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl ProtocolArgs {
    pub fn split(&self) -> anyhow::Result<ProtocolData> {
        Ok(protocol_split(&self.data, &self.protocol, self.seed)?)
    }
}

/// A count from the command line (`-k`): a whole number, with an error that says so (clap's own
/// suggests `-- -1` for a negative number, which does not help here).
pub fn count(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .map_err(|_| "a count of results: a whole number such as 10".to_string())
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

/// `--codes`: what the default's codes are for, by its name (`similar` or `copies`).
pub fn parse_purpose(s: &str) -> Result<hashlens_core::model::CodePurpose, String> {
    use hashlens_core::model::CodePurpose;
    CodePurpose::ALL
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| {
            format!(
                "{s:?}: codes are for `similar` photos (photos like one) or `copies` (edited copies \
                 of one)"
            )
        })
}

/// τ divides the cosines of L_HP: zero, negative or not a number would only surface later as a
/// "diverged" run, so it is refused up front.
pub fn parse_temperature(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t > 0.0)
        .ok_or_else(|| format!("{s:?}: τ must be a positive number (DHD uses 0.2)"))
}

/// A share from 0 to 1.
pub fn parse_share(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("{s:?}: a share from 0 to 1"))
}

/// A loss term's weight: a finite number ≥ 0.
pub fn parse_weight(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|w| w.is_finite() && *w >= 0.0)
        .ok_or_else(|| format!("{s:?}: a weight must be a number ≥ 0"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn weights_are_finite_and_not_negative() {
        use crate::cli::args::parse_weight;
        assert_eq!(parse_weight("0"), Ok(0.0));
        assert_eq!(parse_weight("2.5"), Ok(2.5));
        assert!(parse_weight("-1").is_err() && parse_weight("inf").is_err());
        assert!(parse_weight("NaN").is_err() && parse_weight("x").is_err());
    }

    #[test]
    fn shares_are_from_0_to_1() {
        use crate::cli::args::parse_share;
        assert_eq!(parse_share("0.5"), Ok(0.5));
        assert_eq!(parse_share("1"), Ok(1.0));
        assert!(parse_share("1.5").is_err() && parse_share("-0.1").is_err());
        assert!(parse_share("NaN").is_err() && parse_share("half").is_err());
    }

    #[test]
    fn bits_are_multiples_of_8_up_to_1024() {
        assert_eq!(crate::cli::args::parse_bits("64"), Ok(64));
        assert_eq!(crate::cli::args::parse_bits("1024"), Ok(1024));
        for bad in ["12", "0", "2048", "sixty"] {
            let e = crate::cli::args::parse_bits(bad).unwrap_err();
            assert!(e.contains("bits"), "{bad}: {e}");
        }
    }
}
