//! The shipped reference models: PCA + ITQ on the default backbone's ImageNet features, fitted once on
//! 2,000 CIFAR-10 training photos (200 per class) and calibrated on edits of 200 CIFAR-10 test photos
//! (`assets/models/make-reference.sh` makes them again; `assets/models/NOTICE` says what they are).
//!
//! They serve where a folder cannot have its own fit yet:
//! - a folder of no more photos than bits (PCA needs K + 1 photos for K components), such as the demo
//!   library, which had random projections (LSH) before: its codes carried no structure for the flip
//!   test to show;
//! - the first index of a large folder, *while* its own fit is being computed: photos are searchable
//!   with the reference codes as the fitting sample is read, instead of only once the fit ends.
//!
//! Measured against LSH and against a folder's own fit in `benchmarks/results/reference-model.md`.
//! A folder's own fit stays the default wherever it is possible: it is fitted on the photos it will
//! search, while the reference has only seen small, upscaled CIFAR-10 photos.

use burn::tensor::Device;

use super::{BackboneArch, HashModel, ModelError};
use crate::hashing::{EditWhitening, LinearHash};

/// The code lengths a reference model ships for.
pub const REFERENCE_BITS: [usize; 4] = [16, 32, 64, 128];

/// The backbone the reference models are fitted on (the index's default).
pub const REFERENCE_ARCH: BackboneArch = BackboneArch::MobilenetV2;

static REFERENCE_16: &[u8] = include_bytes!("../../../assets/models/reference-pca-itq-16.model");
static REFERENCE_32: &[u8] = include_bytes!("../../../assets/models/reference-pca-itq-32.model");
static REFERENCE_64: &[u8] = include_bytes!("../../../assets/models/reference-pca-itq-64.model");
static REFERENCE_128: &[u8] = include_bytes!("../../../assets/models/reference-pca-itq-128.model");

/// The edit whitening the default's codes for finding copies are fitted after
/// ([`super::CodePurpose::Copies`]): learned from the fifteen everyday edits of `bench edits` applied to
/// 400 CIFAR-10 *training* photos upscaled to 256 px (40 per class; none of the benchmark's), its top
/// 256 eigenpairs kept (`assets/models/make-reference.sh` makes it again).
static EDIT_WHITENING: &[u8] =
    include_bytes!("../../../assets/models/edit-whitening-mobilenet_v2.bin");

/// The shipped edit whitening for `arch`'s features, or `None` where none ships.
pub fn shipped_edit_whitening(arch: BackboneArch) -> Option<EditWhitening> {
    (arch == REFERENCE_ARCH).then(|| {
        EditWhitening::from_bytes(EDIT_WHITENING)
            .expect("the shipped edit whitening reads (tested)")
    })
}

/// A shipped reference model and its hash (to encode features already computed), or `None` where none
/// ships for `arch` and `bits`.
pub fn reference_model(
    arch: BackboneArch,
    bits: usize,
    device: &Device,
) -> Result<Option<(HashModel, LinearHash)>, ModelError> {
    if arch != REFERENCE_ARCH {
        return Ok(None);
    }
    let Some(bytes) = reference_bytes(bits) else {
        return Ok(None);
    };
    let model = HashModel::from_bytes(bytes, &format!("the shipped {bits}-bit reference"), device)?;
    let hash = model
        .linear_hash()
        .expect("the reference models have a linear head");
    Ok(Some((model, hash)))
}

/// The file of the reference with `bits`-bit codes.
fn reference_bytes(bits: usize) -> Option<&'static [u8]> {
    match bits {
        16 => Some(REFERENCE_16),
        32 => Some(REFERENCE_32),
        64 => Some(REFERENCE_64),
        128 => Some(REFERENCE_128),
        _ => None,
    }
}

/// The shipped reference model whose fingerprint is `fingerprint`, if one is (a first index's provisional
/// codes were made by one before any model file was written beside the index).
pub fn reference_with_fingerprint(fingerprint: &str, device: &Device) -> Option<HashModel> {
    // Matched on the files' bytes: only the one that matches is loaded (with its backbone).
    let bits = REFERENCE_BITS.into_iter().find(|&bits| {
        reference_bytes(bits)
            .is_some_and(|b| super::hash_model::fingerprint(b).is_ok_and(|f| f == fingerprint))
    })?;
    reference_model(REFERENCE_ARCH, bits, device)
        .ok()?
        .map(|(model, _)| model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_loads_with_its_length_and_a_calibrated_verdict() {
        let device = Device::flex();
        for bits in REFERENCE_BITS {
            let (model, hash) = reference_model(REFERENCE_ARCH, bits, &device)
                .unwrap()
                .unwrap();
            assert_eq!(model.bits(), bits);
            assert_eq!((hash.bits, hash.dim), (bits, REFERENCE_ARCH.feature_dim()));
            assert_eq!(model.config.backbone, REFERENCE_ARCH);
            // At 16 bits no threshold keeps precision 0.99 on the edits (as for a folder's own fit).
            assert_eq!(model.config.verdict.is_some(), bits != 16, "{bits} bits");
            assert!(
                model.config.provenance.description.contains("CIFAR-10"),
                "{}",
                model.config.provenance.description
            );
        }
        assert!(
            reference_model(REFERENCE_ARCH, 24, &device)
                .unwrap()
                .is_none()
        );
        assert!(
            reference_model(BackboneArch::EfficientnetLite0, 64, &device)
                .unwrap()
                .is_none()
        );
    }

    /// An index whose codes a reference made can be searched before any model file is beside it.
    #[test]
    fn a_reference_is_found_by_its_fingerprint() {
        let device = Device::flex();
        let (model, _) = reference_model(REFERENCE_ARCH, 32, &device)
            .unwrap()
            .unwrap();
        let found = reference_with_fingerprint(model.fingerprint(), &device).unwrap();
        assert_eq!(found.bits(), 32);
        assert!(reference_with_fingerprint("0123456789abcdef", &device).is_none());
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("no-model-yet.hlindex");
        let beside = crate::index::index_model(&index, model.fingerprint(), &device).unwrap();
        assert_eq!(beside.fingerprint(), model.fingerprint());
        assert!(crate::index::index_model(&index, "0123456789abcdef", &device).is_err());
    }

    #[test]
    fn the_shipped_edit_whitening_reads_for_the_default_backbone_only() {
        let w = shipped_edit_whitening(REFERENCE_ARCH).unwrap();
        assert_eq!(w.dim, REFERENCE_ARCH.feature_dim());
        assert_eq!(w.rank(), 256);
        assert_eq!(w.pairs, 400 * 15);
        assert!(w.description.contains("CIFAR-10"), "{}", w.description);
        assert!(shipped_edit_whitening(BackboneArch::EfficientnetLite0).is_none());
    }

    /// The reference is PCA + ITQ: its projection's columns are orthonormal (a rotation of principal
    /// directions), which random projections are not.
    #[test]
    fn the_reference_projection_has_orthonormal_columns() {
        let (_, hash) = reference_model(REFERENCE_ARCH, 32, &Device::flex())
            .unwrap()
            .unwrap();
        let (d, k) = (hash.dim, hash.bits);
        for a in 0..k {
            for b in a..k {
                let dot: f64 = (0..d)
                    .map(|i| hash.projection[i * k + a] as f64 * hash.projection[i * k + b] as f64)
                    .sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-3, "columns {a}, {b}: {dot}");
            }
        }
    }
}
