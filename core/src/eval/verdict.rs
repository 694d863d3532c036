//! What a Hamming distance reads as to a person: the verdict the app shows beside every result, and the
//! one the edit benchmark (`hashlens bench edits`) scores.
//!
//! At K bits: within K/8 (8 of 64) a near-duplicate — in the demo library a half-size, recompressed copy
//! of a photo lands 5 bits away and the nearest other photo 29 — within K/4 similar, beyond that
//! different. These fixed shares are what the edit benchmark measures; issue 20 asks for thresholds
//! calibrated on it per model.

/// A distance in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    SameCode,
    NearDuplicate,
    Similar,
    Different,
}

impl Verdict {
    /// The verdict for two `bits`-bit codes `distance` bits apart.
    pub fn of(distance: u32, bits: usize) -> Self {
        let d = distance as usize;
        if d == 0 {
            Verdict::SameCode
        } else if d * 8 <= bits {
            Verdict::NearDuplicate
        } else if d * 4 <= bits {
            Verdict::Similar
        } else {
            Verdict::Different
        }
    }

    /// The farthest distance read as a near-duplicate (same code included) at `bits` bits.
    pub fn near_duplicate_within(bits: usize) -> u32 {
        (bits / 8) as u32
    }

    /// The farthest distance read as similar or closer at `bits` bits.
    pub fn similar_within(bits: usize) -> u32 {
        (bits / 4) as u32
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::SameCode => "same code",
            Verdict::NearDuplicate => "near-duplicate",
            Verdict::Similar => "similar",
            Verdict::Different => "different",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_at_64_bits() {
        let v: Vec<&str> = [0, 1, 8, 9, 16, 17]
            .iter()
            .map(|&d| Verdict::of(d, 64).name())
            .collect();
        assert_eq!(
            v,
            [
                "same code",
                "near-duplicate",
                "near-duplicate",
                "similar",
                "similar",
                "different"
            ]
        );
        assert_eq!(Verdict::near_duplicate_within(64), 8);
        assert_eq!(Verdict::similar_within(64), 16);
        assert_eq!(
            Verdict::of(Verdict::similar_within(48), 48),
            Verdict::Similar
        );
    }
}
