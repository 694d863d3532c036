//! hashlens-core: everything hashlens does that is not drawing pixels.
//!
//! - [`code`]: packed binary hash codes ([`HashCode`], [`CodeBook`]) and code files.
//! - [`search`]: exact Hamming search (k-NN, radius, full rankings) with SIMD kernels.
//! - [`eval`]: retrieval metrics with the DeepHash-pytorch definitions (mAP@k, P@k, R@k, PR curves).
//! - [`dataset`]: scanning photo folders, labels, list files and seeded protocol splits.
//! - [`device`]: where networks run: a GPU through wgpu when one is usable, the `flex` CPU backend otherwise.
//! - [`model`]: backbones in Burn (MobileNetV2, EfficientNet-Lite0, HybridHash's network), hash heads
//!   and model files, and [`model::encode`]: the one way from photos to codes.
//! - [`hashing`]: training-free hash functions on features (PCA + ITQ, LSH).
//! - [`export`]: codes handed to FAISS and Milvus, with identical rankings.
//! - [`index`]: the persisted code index of a folder, incremental and crash-safe; the indexer
//!   ([`index::update_index`]), the neighbours query and where an index lives.
//! - [`model_eval`]: a model's retrieval quality under a protocol split.
//! - [`train`]: training hash networks (DHD, DHN, CSQ, SHC, HybridHash's loss) and the training use case
//!   ([`train::run_train_job`]).
//! - [`photo`]: decoding photos under limits, upright and in RGB, and the network's input transform.
//!
//! The GUI and the CLI (crate `hashlens`) are thin layers over this crate; nothing here blocks on a UI.
//! Each job the CLI and the app both do has one function here that takes a job, a cancel flag and an
//! event callback (indexing, training, evaluating). No two modules import each other
//! (`tests/module_graph.rs`).

pub mod code;
pub mod dataset;
pub mod device;
pub mod eval;
pub mod export;
pub mod hashing;
pub mod index;
pub mod io;
pub mod model;
pub mod model_eval;
pub mod photo;
pub mod search;
pub mod train;

pub use code::{CodeBook, HashCode};
pub use search::{Neighbor, Search};
