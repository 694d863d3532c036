//! What the library's tabs read of the open library: a read-only view built once per frame by the
//! library, so that a tab depends on this module and not on [`super::library::Library`] (which owns the
//! tabs: the `use` lines point down, `tests/module_graph.rs`).

use std::path::Path;

use hashlens_core::eval::VerdictRule;
use hashlens_core::index::{CodeIndex, Prints};

/// The open library as the tabs see it.
#[derive(Clone, Copy)]
pub struct LibraryContext<'a> {
    pub folder: &'a Path,
    /// The index so far (grows while indexing).
    pub index: Option<&'a CodeIndex>,
    /// Whether an indexing run is going on.
    pub indexing: bool,
    /// The verdict thresholds of the index's model.
    pub verdicts: Option<&'a VerdictRule>,
    /// The photos' perceptual prints, once computed for the index as it is.
    pub prints: Option<&'a Prints>,
}

impl LibraryContext<'_> {
    /// The prints and the print distance within which they link near-duplicates, where the model's
    /// calibration has a two-signal rule and the prints are computed for the index as it is.
    pub fn print_links(&self) -> Option<(&Prints, u32)> {
        let within = self.verdicts?.print_rule()?.perceptual_within?;
        let prints = self
            .prints
            .filter(|p| Some(p.prints.len()) == self.index.map(|i| i.len()))?;
        Some((prints, within))
    }

    /// The farthest distance read as a near-duplicate for the index's codes.
    pub fn near_duplicate_within(&self, bits: usize) -> u32 {
        self.verdicts
            .map_or_else(|| VerdictRule::fixed(bits), Clone::clone)
            .near_duplicate_within()
    }
}
