//! Backbone features for many photos: decoding on CPU threads overlaps with the network's batches.
//!
//! A producer thread decodes and preprocesses the next batch in parallel (rayon) while the caller's thread
//! runs the current batch through the network, connected by a channel that holds one batch: neither side
//! waits on the other longer than the slower of the two. The last batch is padded to the full size so
//! that the network always sees one shape (GPU backends compile kernels per shape).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;

use burn::tensor::{Device, Tensor};
use rayon::prelude::*;

use super::image_batch;
use crate::photo::{DecodeLimits, Decoded, PhotoError, Preprocess, decode_then};

/// One batch ready for the network: preprocessed pixels, and per photo either its row or the error.
struct Prepared {
    pixels: Vec<f32>,
    rows: Vec<Result<usize, PhotoError>>,
    /// Photos decoded in spite of damage: position in the batch, what is wrong.
    damaged: Vec<(usize, String)>,
}

/// Photos of a batch that were decoded although their file is damaged (a truncated JPEG shows grey
/// where data is missing): position in the caller's list, what is wrong.
pub type Damaged = Vec<(usize, String)>;

/// What the network made of one photo (a row of its output), or why the photo could not be read.
pub type PhotoOutput = Result<Vec<f32>, PhotoError>;

/// How photos are decoded for a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decode {
    pub limits: DecodeLimits,
    /// JPEGs are decoded at a reduced size whose shorter side still covers this many pixels
    /// ([`decode_then`]); `None` decodes every photo at full size.
    pub side: Option<u32>,
}

impl Decode {
    /// At the reduced size that `pre`'s resize still covers, under the default limits.
    pub fn for_input(pre: &Preprocess) -> Self {
        Self {
            limits: DecodeLimits::default(),
            side: Some(pre.resize.max(pre.crop)),
        }
    }
}

/// Runs `network` over the photos at `paths` in batches of `batch`, decoding the next batch while the
/// current one runs. `on_batch(first, outputs, damaged)` receives each batch's outputs in order
/// (`first` = position of the batch's first photo in `paths`) and the photos among them decoded in
/// spite of damage. Setting `cancel` stops after the batch in flight. Photos are
/// decoded as [`Decode::for_input`] says.
pub fn for_each_batch(
    paths: &[PathBuf],
    pre: &Preprocess,
    batch: usize,
    device: &Device,
    cancel: &AtomicBool,
    network: impl FnMut(Tensor<4>) -> Tensor<2>,
    on_batch: impl FnMut(usize, Vec<PhotoOutput>, Damaged),
) {
    let decode = Decode::for_input(pre);
    for_each_batch_with(paths, pre, decode, batch, device, cancel, network, on_batch)
}

/// [`for_each_batch`] with the decoding given.
#[allow(clippy::too_many_arguments)]
pub fn for_each_batch_with(
    paths: &[PathBuf],
    pre: &Preprocess,
    decode: Decode,
    batch: usize,
    device: &Device,
    cancel: &AtomicBool,
    mut network: impl FnMut(Tensor<4>) -> Tensor<2>,
    mut on_batch: impl FnMut(usize, Vec<PhotoOutput>, Damaged),
) {
    let per_image = pre.len();
    let batch = batch.max(1);
    let (tx, rx) = sync_channel::<(usize, Prepared)>(1);
    std::thread::scope(|s| {
        s.spawn(|| {
            // Owned here, so the channel closes when this thread ends (normally or by panic).
            let tx = tx;
            for (b, chunk) in paths.chunks(batch).enumerate() {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                let decoded: Vec<Result<Decoded<Vec<f32>>, PhotoError>> = chunk
                    .par_iter()
                    .map(|p| {
                        // Resized while its share of the decode budget is held.
                        decode_then(p, &decode.limits, decode.side, |img| {
                            let mut v = Vec::with_capacity(per_image);
                            pre.apply(&img, &mut v);
                            v
                        })
                    })
                    .collect();
                let mut pixels = Vec::with_capacity(batch * per_image);
                let mut rows = Vec::with_capacity(chunk.len());
                let mut damaged = Vec::new();
                let mut n = 0;
                for (i, d) in decoded.into_iter().enumerate() {
                    rows.push(d.map(|d| {
                        if let Some(why) = d.damage {
                            damaged.push((b * batch + i, why));
                        }
                        pixels.extend_from_slice(&d.value);
                        n += 1;
                        n - 1
                    }));
                }
                let prepared = Prepared {
                    pixels,
                    rows,
                    damaged,
                };
                if tx.send((b * batch, prepared)).is_err() {
                    break;
                }
            }
        });
        for (start, prepared) in rx {
            let good = prepared.pixels.len() / per_image;
            let (values, width) = if good == 0 {
                (Vec::new(), 0)
            } else {
                let mut pixels = prepared.pixels;
                pixels.resize(batch * per_image, 0.0);
                let y = network(image_batch(pixels, pre.crop as usize, device));
                let width = y.dims()[1];
                let values = y
                    .into_data()
                    .try_to_vec::<f32>()
                    .expect("networks output f32");
                (values, width)
            };
            let outputs = prepared
                .rows
                .into_iter()
                .map(|row| row.map(|r| values[r * width..(r + 1) * width].to_vec()))
                .collect();
            on_batch(start, outputs, prepared.damaged);
            if cancel.load(Ordering::Relaxed) {
                break;
            }
        }
    });
}

/// `network`'s output for each photo (backbone features, continuous codes …), or why it could not be
/// read; `None` for photos not reached because `cancel` was set. `progress(done, total)` follows each batch.
pub fn extract_features(
    paths: &[PathBuf],
    pre: &Preprocess,
    batch: usize,
    device: &Device,
    cancel: &AtomicBool,
    network: impl FnMut(Tensor<4>) -> Tensor<2>,
    mut progress: impl FnMut(usize, usize),
) -> Vec<Option<PhotoOutput>> {
    let mut out: Vec<Option<PhotoOutput>> = (0..paths.len()).map(|_| None).collect();
    let mut done = 0;
    for_each_batch(
        paths,
        pre,
        batch,
        device,
        cancel,
        network,
        |start, outputs, _| {
            done += outputs.len();
            for (i, o) in outputs.into_iter().enumerate() {
                out[start + i] = Some(o);
            }
            progress(done, paths.len());
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    #[test]
    fn batches_keep_order_and_report_bad_photos() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (i, colour) in [[200u8, 30, 30], [30, 200, 30], [30, 30, 200]]
            .into_iter()
            .enumerate()
        {
            let p = dir.path().join(format!("{i}.png"));
            RgbImage::from_pixel(40, 30, Rgb(colour)).save(&p).unwrap();
            paths.push(p);
        }
        let broken = dir.path().join("broken.jpg");
        std::fs::write(&broken, b"not a photo").unwrap();
        paths.insert(1, broken);

        let device = Device::flex();
        let model = crate::model::BackboneArch::MobilenetV2
            .pretrained(&device)
            .unwrap();
        let cancel = AtomicBool::new(false);
        let mut calls = Vec::new();
        let pre = Preprocess::imagenet();
        let net = |x| model.features(x);
        let got = extract_features(&paths, &pre, 3, &device, &cancel, net, |d, t| {
            calls.push((d, t))
        });
        assert_eq!(calls, vec![(3, 4), (4, 4)]);
        assert!(matches!(got[1], Some(Err(_))));
        // Each photo's features equal those of the photo run on its own (batching and padding change nothing).
        for i in [0, 2, 3] {
            let alone =
                extract_features(&paths[i..i + 1], &pre, 1, &device, &cancel, net, |_, _| {});
            let (a, b) = (
                got[i].as_ref().unwrap().as_ref().unwrap(),
                alone[0].as_ref().unwrap().as_ref().unwrap(),
            );
            assert_eq!(a.len(), 1280);
            let diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(diff < 1e-4, "photo {i}: {diff}");
        }
        // Different photos give different features.
        let (a, c) = (
            got[0].as_ref().unwrap().as_ref().unwrap(),
            got[3].as_ref().unwrap().as_ref().unwrap(),
        );
        assert!(a.iter().zip(c).any(|(x, y)| (x - y).abs() > 1e-3));

        cancel.store(true, Ordering::Relaxed);
        let stopped = extract_features(&paths, &pre, 2, &device, &cancel, net, |_, _| {});
        assert!(
            stopped.iter().all(Option::is_none),
            "cancelled before the first batch"
        );
    }
}
