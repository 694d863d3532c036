//! What a search returns.

/// One search result.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Neighbor {
    /// Hamming distance to the query (compared first).
    pub distance: u32,
    /// Position of the code in the book.
    pub index: usize,
}
