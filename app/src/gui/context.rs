//! What the library's tabs read of the open library: a read-only view built once per frame by the
//! library, so that a tab depends on this module and not on [`super::library::Library`] (which owns the
//! tabs: the `use` lines point down, `tests/module_graph.rs`).

use std::path::Path;

use hashlens_core::index::CodeIndex;

/// The open library as the tabs see it.
#[derive(Clone, Copy)]
pub struct LibraryContext<'a> {
    pub folder: &'a Path,
    /// The index so far (grows while indexing).
    pub index: Option<&'a CodeIndex>,
    /// Whether an indexing run is going on.
    pub indexing: bool,
}
