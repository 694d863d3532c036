//! Integration tests of hashlens-core against reference implementations and real data. One test binary
//! (each would link Burn on its own).

mod cifar10;
mod dataset;
mod indexing;
mod metrics;
mod module_graph;
mod search;
