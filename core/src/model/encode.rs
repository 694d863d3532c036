//! One way from pixels or photo files to codes, used by indexing, queries, evaluation, training's
//! self-evaluation, the flip test and the CLI.
//!
//! A model's continuous output becomes a code by its signs (≥ 0 → bit 1, [`HashCode::from_signs`]);
//! that rule, and "one code per photo or the reason it could not be read", are written here once. A
//! model's output always has its own bit count, which [`HashModel`] validated when it was made or
//! loaded, so turning a row into a code cannot fail.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use burn::tensor::{Device, Tensor};

use super::HashModel;
use super::features::{Damaged, PhotoOutput, for_each_batch};
use crate::code::{CodeBook, HashCode};
use crate::photo::PhotoError;

/// A photo's code, or why the photo could not be read.
pub type PhotoCode = Result<HashCode, PhotoError>;

/// Codes of rows of continuous values (`bits` per row, back to back).
fn codes_of_rows(bits: usize, values: &[f32]) -> Vec<HashCode> {
    values
        .chunks(bits)
        .map(|row| HashCode::from_signs(row).expect("a model's rows have its valid bit count"))
        .collect()
}

/// Codes of a `[n, bits]` output tensor.
fn codes_of_output(bits: usize, output: Tensor<2>) -> Vec<HashCode> {
    let values: Vec<f32> = output
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 outputs");
    codes_of_rows(bits, &values)
}

impl HashModel {
    /// The codes of preprocessed images `[n, 3, crop, crop]`, in order.
    pub fn codes(&self, images: Tensor<4>) -> Vec<HashCode> {
        codes_of_output(self.bits(), self.forward(images))
    }

    /// The codes of backbone features `[n, dim]` under the model's hash head alone (for features
    /// computed once and encoded by several heads).
    pub fn codes_of_features(&self, features: Tensor<2>) -> Vec<HashCode> {
        codes_of_output(self.bits(), self.net().head.forward(features))
    }

    /// The codes of `images` as one book.
    pub fn code_book(&self, images: Tensor<4>) -> CodeBook {
        let mut book = CodeBook::new(self.bits()).expect("a model's bit count is valid");
        for code in self.codes(images) {
            book.push(&code).expect("same bit count");
        }
        book
    }
}

/// Encodes the photos at `paths` in batches of `batch` (decoding the next batch while the network runs
/// the current one, [`for_each_batch`]): `on_batch(first, codes, damaged)` receives each batch's codes
/// in order, `first` being the position of its first photo in `paths`. Setting `cancel` stops after the
/// batch in flight.
pub fn for_each_encoded(
    model: &HashModel,
    paths: &[PathBuf],
    batch: usize,
    device: &Device,
    cancel: &AtomicBool,
    mut on_batch: impl FnMut(usize, Vec<PhotoCode>, Damaged),
) {
    let bits = model.bits();
    for_each_batch(
        paths,
        &model.preprocess(),
        batch,
        device,
        cancel,
        |x| model.forward(x),
        |first, outputs: Vec<PhotoOutput>, damaged| {
            let codes = outputs
                .into_iter()
                .map(|o| o.map(|values| codes_of_rows(bits, &values).remove(0)))
                .collect();
            on_batch(first, codes, damaged)
        },
    );
}

/// The code of every photo at `paths`, or why it could not be read; `None` for photos not reached
/// because `cancel` was set. `progress(done, total)` follows each batch.
pub fn encode_photos(
    model: &HashModel,
    paths: &[PathBuf],
    batch: usize,
    device: &Device,
    cancel: &AtomicBool,
    mut progress: impl FnMut(usize, usize),
) -> Vec<Option<PhotoCode>> {
    let mut out: Vec<Option<PhotoCode>> = (0..paths.len()).map(|_| None).collect();
    let mut done = 0;
    for_each_encoded(model, paths, batch, device, cancel, |first, codes, _| {
        done += codes.len();
        for (i, c) in codes.into_iter().enumerate() {
            out[first + i] = Some(c);
        }
        progress(done, paths.len());
    });
    out
}
