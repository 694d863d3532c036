//! `--dhn-scale` and `--hybrid-alpha`: the scale of a pairwise likelihood's logits θ = s·⟨u_i, u_j⟩,
//! as a number (½ in the ports) or per code length, `N/K`.
//!
//! Why per length: hashlens' head ends in LayerNorm → tanh, so every bit is about ±1 from the first
//! step and ⟨u_i, u_j⟩ spans ±K. At s = ½ the sigmoid saturates at ±K/2 (±32 at 64 bits), while
//! s = 2/K keeps θ within ±2 at every length. Measured on CIFAR-10 at held-out-chosen epochs
//! (`benchmarks/results/epochs-chosen-head-cpu-cifar10.md`), DHN at 2/K beat ½ at 16, 32 and 64 bits.

use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LogitScale {
    Fixed(f64),
    /// `N/K`: N divided by the run's bits.
    PerBit(f64),
}

impl LogitScale {
    /// The scale for a run with `bits`-bit codes.
    pub fn at(self, bits: usize) -> f64 {
        match self {
            Self::Fixed(s) => s,
            Self::PerBit(n) => n / bits.max(1) as f64,
        }
    }
}

/// As it is written on the command line (`0.5`, `2/K`), for the table.
impl std::fmt::Display for LogitScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(s) => write!(f, "{s}"),
            Self::PerBit(n) => write!(f, "{n}/K"),
        }
    }
}

impl FromStr for LogitScale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (number, per_bit) = match s.strip_suffix("/K") {
            Some(n) => (n, true),
            None => (s, false),
        };
        let v: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0)
            .ok_or_else(|| format!("{s:?}: expected a positive number, or N/K (e.g. 2/K)"))?;
        Ok(if per_bit {
            Self::PerBit(v)
        } else {
            Self::Fixed(v)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_per_bit_scales() {
        assert_eq!("0.5".parse(), Ok(LogitScale::Fixed(0.5)));
        let per_bit: LogitScale = "2/K".parse().unwrap();
        assert_eq!(
            (per_bit.at(16), per_bit.at(32), per_bit.at(64)),
            (0.125, 0.0625, 0.03125)
        );
        assert_eq!(LogitScale::Fixed(0.5).at(64), 0.5);
        assert_eq!(
            (per_bit.to_string(), LogitScale::Fixed(0.5).to_string()),
            ("2/K".into(), "0.5".into())
        );
        for bad in ["", "K", "/K", "-1", "0", "x/K", "nan"] {
            assert!(bad.parse::<LogitScale>().is_err(), "{bad}");
        }
    }
}
