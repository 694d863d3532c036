//! `hashlens bench edits`: do codes survive the edits people apply to photos, and is the app's
//! near-duplicate verdict right? (issue 20's benchmark.)
//!
//! A sample of photos of DATA (spread over the folder) is copied into a work folder with its copies
//! edited every way `photo::edit` knows, each photo decoded once. The originals are indexed as a library
//! is (the training-free default fitted on those photos, or `--model`); each edited copy is encoded by
//! the same model and searched against the originals.
//!
//! Per edit: recall@1 and @10 of the original (a tie with another photo counts against it), the
//! distances between photos and their edits, and the share of copies the near-duplicate verdict finds.
//! Over all edits: precision and recall of the verdicts "near-duplicate" (the model's calibrated
//! threshold, else ≤ K/8 bits) and "similar" (as close as the originals' nearest 5 % of pairs, the app's
//! rule for a library), a pair being right when it is a photo and its own edit, and the widest threshold
//! that keeps precision ≥ 0.99 (a calibration). With class sub-folders, the distances between photos of
//! one class and of different classes, for comparison.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::Args;
use hashlens_core::dataset::{folder_classes, scan_images};
use hashlens_core::eval::{
    CALIBRATED_PRECISION, EditPairs, EitherScore, TwoSignalPairs, VerdictRule, VerdictScore,
};
use hashlens_core::hashing::{EditWhitening, LinearHash};
use hashlens_core::index::{
    CodeIndex, DEFAULT_ARCH, IndexJob, ModelChoice, index_model, update_index,
};
use hashlens_core::model::encode::encode_photos;
use hashlens_core::model::features::extract_features;
use hashlens_core::model::{CodePurpose, HashModel, HeadKind, Provenance};
use hashlens_core::photo::edit::{Edit, as_jpeg};
use hashlens_core::photo::perceptual::PerceptualPrint;
use hashlens_core::photo::{DecodeLimits, decode_file};
use hashlens_core::{CodeBook, HashCode};
use serde::Serialize;

use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct EditsBench {
    /// A photo folder (class sub-folders add the same-class and different-class distances).
    #[arg(long)]
    data: PathBuf,
    /// A model file; default: the training-free default fitted on the sampled photos, as a library.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Code length of the default model.
    #[arg(long, default_value_t = 64, value_parser = crate::cli::args::parse_bits)]
    bits: usize,
    /// What the default model's codes are for: `similar` or `copies` (after the shipped edit whitening).
    #[arg(long, default_value = "similar", value_parser = crate::cli::args::parse_purpose)]
    codes: CodePurpose,
    /// Photos sampled from DATA (evenly spread).
    #[arg(long, default_value_t = 200)]
    photos: usize,
    /// Where the originals and edited copies are written (kept); default: a temporary folder.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Instead of the plain default, fit PCA + ITQ after a whitening learned from the edits of these
    /// other photos (as many as `--photos`, edited the same fifteen ways): edit-shifted directions count
    /// for less (`EditWhitening`; `--codes copies` uses the shipped one).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["model", "codes"])]
    edit_whitening_from: Option<PathBuf>,
    /// With --edit-whitening-from: learn it from this many of its photos (default: as many as --photos).
    #[arg(long, value_name = "N")]
    whitening_photos: Option<usize>,
    /// With --edit-whitening-from: keep only its largest N eigenpairs (as the shipped one does).
    #[arg(long, value_name = "N")]
    whitening_rank: Option<usize>,
    /// With --edit-whitening-from: write the whitening learned to this file (what ships as
    /// `assets/models/edit-whitening-*.bin`).
    #[arg(long, value_name = "FILE", requires = "edit_whitening_from")]
    save_edit_whitening: Option<PathBuf>,
    /// With --edit-whitening-from: how far the shifts' covariance is shrunk toward its mean eigenvalue.
    #[arg(long, default_value_t = 0.1, value_parser = crate::cli::args::parse_weight)]
    shrink: f64,
    /// With --edit-whitening-from: learn it from these edits only (names as in the report; default:
    /// all fifteen), to see whether it carries over to edits it was not learned from.
    #[arg(long, value_delimiter = ',', value_parser = parse_edit)]
    whitening_edits: Vec<Edit>,
    /// Also score the two-signal rule "code ≤ C or print ≤ P" given as `C,P` (`verdict_rule_given`): to
    /// check a calibration made on other photos.
    #[arg(long, value_name = "C,P", value_parser = parse_rule)]
    score_rule: Option<(u32, u32)>,
    /// Write the model with the near-duplicate threshold calibrated here saved in it (its verdicts in
    /// the app then use it and say what it was measured on).
    #[arg(long, value_name = "MODEL")]
    save_calibrated: Option<PathBuf>,
    #[command(flatten)]
    device: crate::cli::args::DeviceArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct EditRow {
    recall_at_1: f64,
    recall_at_10: f64,
    distance_median: u32,
    distance_p90: u32,
    distance_max: u32,
    /// The share of this edit's copies the app calls near-duplicates of their original (within the
    /// model's threshold, `verdict.within`): which edits the verdict's recall loses.
    near_duplicate: f64,
    /// The median pHash distance (of 64 bits) between a photo and this edit of it.
    phash_distance_median: u32,
    /// The share of this edit's copies the verdict "code or pHash" (`code_or_phash`) finds.
    code_or_phash: f64,
    /// The same for "code or pHash of any turn or mirror image" (`code_or_phash_any_turn`).
    code_or_phash_any_turn: f64,
    /// The same for "code or perceptual print" (`code_or_print`).
    code_or_print: f64,
}

/// One edit's copies: each one's (code, pHash) distance to its original, with the copy's pHash as it is
/// and as the least over its turns and mirror images.
struct OwnDistances {
    edit: &'static str,
    plain: Vec<(u32, u32)>,
    turned: Vec<(u32, u32)>,
    printed: Vec<(u32, u32)>,
}

#[derive(Serialize)]
struct Spread {
    pairs: usize,
    p10: u32,
    median: u32,
    p90: u32,
}

#[derive(Serialize)]
struct EditsReport {
    photos: usize,
    bits: usize,
    model: String,
    edits: BTreeMap<&'static str, EditRow>,
    /// The near-duplicate verdict over all edits, with the model's own thresholds (as the app uses them).
    verdict: VerdictScore,
    /// Whether those thresholds come from a calibration saved with the model.
    verdict_calibrated: bool,
    /// The near-duplicate verdict over all edits with the model's own two-signal rule (code or
    /// perceptual print, as the app uses it once the prints are computed); null when its calibration has
    /// none.
    verdict_with_print: Option<EitherScore>,
    /// The rule given by `--score-rule`, scored on these photos.
    verdict_rule_given: Option<EitherScore>,
    /// Its code threshold alone, scored on these photos.
    verdict_rule_given_code_alone: Option<VerdictScore>,
    /// The near-duplicate verdict at the fixed share K/8.
    fixed: VerdictScore,
    /// The similar verdict (similar or closer, as close as the originals' nearest 5 % of pairs) over
    /// all edits.
    similar: VerdictScore,
    /// The widest threshold with precision ≥ 0.99 on these photos (null when there is none).
    calibrated: Option<VerdictScore>,
    same_class: Option<Spread>,
    different_class: Option<Spread>,
    /// The near-duplicate verdict by pHash alone, its widest threshold with precision ≥ 0.99 (what
    /// similar-photo finders compare).
    phash_calibrated: Option<VerdictScore>,
    /// The near-duplicate verdict "code or pHash within its threshold", both chosen together for the
    /// highest recall at precision ≥ 0.99.
    code_or_phash: Option<EitherScore>,
    /// As `code_or_phash`, the copy's pHash distance being the least over its four turns and their
    /// mirror images (a turned or mirrored copy then has its original's pHash).
    code_or_phash_any_turn: Option<EitherScore>,
    /// The near-duplicate verdict "code or perceptual print" (`PerceptualPrint::distance`: pHash of
    /// any turn, mirror image or centred crop, either way round), as the app reads it.
    code_or_print: Option<EitherScore>,
}

pub fn run(b: EditsBench) -> anyhow::Result<()> {
    let temp;
    let work = match &b.work {
        Some(w) => w.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot make a work folder")?;
            temp.path().to_path_buf()
        }
    };
    let originals = work.join("originals");
    let (sample, classes) = write_sample(&b.data, &work, b.photos)?;
    let device = b.device.open()?;

    // The originals become a library, indexed as the app and `hashlens index` do.
    let whitened = match &b.edit_whitening_from {
        Some(from) => Some(edit_whitened_model(
            &b,
            from,
            &sample,
            &work,
            &device.device,
        )?),
        None => None,
    };
    let mut job = IndexJob::new(
        &originals,
        match whitened.as_ref().or(b.model.as_ref()) {
            Some(m) => ModelChoice::File(m.clone()),
            None => ModelChoice::Default {
                arch: DEFAULT_ARCH,
                bits: b.bits,
                refit: true,
                purpose: b.codes,
            },
        },
    );
    job.index = work.join("originals.hlindex");
    eprintln!("indexing {} photos…", sample.len());
    let indexed = update_index(&job, &device, &AtomicBool::new(false), &mut |_| {})?;
    let index = CodeIndex::load(&job.index)?;
    let model = index_model(&job.index, index.model(), &device.device)?;
    let order: Vec<usize> = sample
        .iter()
        .map(|p| index.position(p).context("a sampled photo was not indexed"))
        .collect::<anyhow::Result<_>>()?;
    let book = index.codes().select(&order);
    let bits = book.bits();

    let mut rows = BTreeMap::new();
    // The app's rule for this library: "similar" read from the originals' own distances.
    let rule = model
        .verdict_rule()
        .for_library(&hashlens_core::code::stats::distance_histogram(
            &book, 100_000, 0,
        ));
    let mut pairs = EditPairs::new(bits);
    let near_within = rule.near_duplicate_within();
    // The perceptual print of each original and each copy as the files were written (as the app
    // computes it), for the perceptual verdicts.
    let prints_of = |paths: &[PathBuf]| -> anyhow::Result<Vec<PerceptualPrint>> {
        paths
            .iter()
            .map(|p| {
                PerceptualPrint::of_file(p).with_context(|| format!("cannot read {}", p.display()))
            })
            .collect()
    };
    let original_prints = prints_of(&sample)?;
    let mut phash_pairs = EditPairs::new(64);
    let mut both = TwoSignalPairs::new(bits, 64);
    let mut both_turns = TwoSignalPairs::new(bits, 64);
    let mut both_prints = TwoSignalPairs::new(bits, 64);
    // Per edit, each copy's (code, pHash) distance to its own original.
    let mut own_pairs: Vec<OwnDistances> = Vec::new();
    for edit in Edit::ALL {
        let paths: Vec<PathBuf> = (0..sample.len())
            .map(|i| edited_path(&work, edit, i))
            .collect();
        eprintln!("encoding {} copies: {}", paths.len(), edit.name());
        let codes: Vec<HashCode> = encode_photos(
            &model,
            &paths,
            32,
            &device.device,
            &AtomicBool::new(false),
            |_, _| {},
        )
        .into_iter()
        .map(|c| c.expect("never cancelled"))
        .collect::<Result<_, _>>()?;
        let copy_prints = prints_of(&paths)?;
        let mut own = Vec::with_capacity(codes.len());
        let mut own_phash = Vec::with_capacity(codes.len());
        let mut own_both = Vec::with_capacity(codes.len());
        let mut own_turned = Vec::with_capacity(codes.len());
        let mut own_printed = Vec::with_capacity(codes.len());
        let (mut at1, mut at10) = (0, 0);
        for (i, code) in codes.iter().enumerate() {
            let d: Vec<u32> = book
                .iter_words()
                .map(|w| hashlens_core::code::hamming_words(w, code.words()))
                .collect();
            // The original's rank, every other photo as close or closer counted before it.
            let ahead = d
                .iter()
                .enumerate()
                .filter(|&(j, &x)| j != i && x <= d[i])
                .count();
            at1 += usize::from(ahead == 0);
            at10 += usize::from(ahead < 10);
            own.push(d[i]);
            pairs.add(&d, i);
            let copy = &copy_prints[i];
            let to_copy = |f: &dyn Fn(&PerceptualPrint) -> u32| -> Vec<u32> {
                original_prints.iter().map(f).collect()
            };
            let p = to_copy(&|o| (o.phash() ^ copy.phash()).count_ones());
            own_phash.push(p[i]);
            own_both.push((d[i], p[i]));
            // The copy's pHash turned and mirrored every way against the original's as it is.
            let turned = to_copy(&|o| {
                copy.turns
                    .iter()
                    .map(|&t| (o.phash() ^ t).count_ones())
                    .min()
                    .expect("eight turns")
            });
            both_turns.add(&d, &turned, i);
            own_turned.push((d[i], turned[i]));
            let printed = to_copy(&|o| o.distance(copy));
            both_prints.add(&d, &printed, i);
            own_printed.push((d[i], printed[i]));
            phash_pairs.add(&p, i);
            both.add(&d, &p, i);
        }
        own.sort_unstable();
        own_phash.sort_unstable();
        let n = codes.len() as f64;
        rows.insert(
            edit.name(),
            EditRow {
                recall_at_1: at1 as f64 / n,
                recall_at_10: at10 as f64 / n,
                distance_median: quantile(&own, 0.5),
                distance_p90: quantile(&own, 0.9),
                distance_max: *own.last().unwrap_or(&0),
                near_duplicate: own.iter().filter(|&&d| d <= near_within).count() as f64 / n,
                phash_distance_median: quantile(&own_phash, 0.5),
                code_or_phash: 0.0,
                code_or_phash_any_turn: 0.0,
                code_or_print: 0.0,
            },
        );
        own_pairs.push(OwnDistances {
            edit: edit.name(),
            plain: own_both,
            turned: own_turned,
            printed: own_printed,
        });
    }
    let code_or_phash = both.best_either(CALIBRATED_PRECISION);
    let code_or_phash_any_turn = both_turns.best_either(CALIBRATED_PRECISION);
    let code_or_print = both_prints.best_either(CALIBRATED_PRECISION);
    let share = |rule: &Option<EitherScore>, own: &[(u32, u32)]| {
        rule.as_ref().map_or(0.0, |r| {
            let found = own.iter().filter(|&&(d, p)| r.covers(d, p)).count();
            found as f64 / own.len().max(1) as f64
        })
    };
    for own in &own_pairs {
        let row = rows.get_mut(own.edit).expect("a row per edit");
        row.code_or_phash = share(&code_or_phash, &own.plain);
        row.code_or_phash_any_turn = share(&code_or_phash_any_turn, &own.turned);
        row.code_or_print = share(&code_or_print, &own.printed);
    }
    let (same_class, different_class) = match &classes {
        Some(c) => {
            let (same, diff) = class_distances(&book, c);
            (Some(spread(same)), Some(spread(diff)))
        }
        None => (None, None),
    };
    let report = EditsReport {
        photos: sample.len(),
        bits,
        model: indexed.model_description,
        edits: rows,
        verdict: pairs.score(rule.near_duplicate_within()),
        verdict_calibrated: rule.calibration().is_some(),
        verdict_with_print: rule
            .print_rule()
            .map(|r| both_prints.score(r.code_within, r.perceptual_within)),
        verdict_rule_given: b
            .score_rule
            .map(|(c, p)| both_prints.score(Some(c), Some(p))),
        verdict_rule_given_code_alone: b.score_rule.map(|(c, _)| pairs.score(c)),
        fixed: pairs.score(VerdictRule::fixed(bits).near_duplicate_within()),
        similar: pairs.score(rule.similar_within()),
        calibrated: pairs.calibrated(CALIBRATED_PRECISION),
        same_class,
        different_class,
        phash_calibrated: phash_pairs.calibrated(CALIBRATED_PRECISION),
        code_or_phash,
        code_or_phash_any_turn,
        code_or_print,
    };
    if let Some(out) = &b.save_calibrated {
        let name = b.data.file_name().unwrap_or(b.data.as_os_str());
        let measured_on = format!(
            "{} edits of {} photos of {}",
            Edit::ALL.len(),
            sample.len(),
            name.to_string_lossy()
        );
        let Some(mut calibration) = pairs.calibration(measured_on) else {
            bail!(
                "no near-duplicate threshold keeps precision {CALIBRATED_PRECISION} on these photos, so \
                 none was saved"
            );
        };
        // With the two-signal rule measured here, where one keeps the precision.
        calibration.with_print = report.code_or_print;
        model
            .with_calibration(Some(calibration))?
            .save(out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("saved the calibrated model as {}", out.display());
    }
    if b.json {
        return crate::cli::output::print_json(&report);
    }
    print_table(&report)
}

/// Writes every n-th photo of `data` into `work/originals` (as JPEG, upright) and each of its edits
/// beside (`edited_path`), decoding each photo once; returns the originals' paths, with their classes
/// when `data` has class sub-folders.
fn write_sample(
    data: &Path,
    work: &Path,
    count: usize,
) -> anyhow::Result<(Vec<PathBuf>, Option<Vec<usize>>)> {
    let scan = scan_images(data)?;
    if scan.images.is_empty() {
        bail!("{} holds no photos", data.display());
    }
    let step = (scan.images.len() / count.max(1)).max(1);
    let chosen: Vec<&Path> = scan
        .images
        .iter()
        .step_by(step)
        .take(count)
        .map(|e| e.path.as_path())
        .collect();
    let classes = folder_classes(data, chosen.iter().copied()).map(|c| c.classes);
    let originals = work.join("originals");
    std::fs::create_dir_all(&originals)?;
    for edit in Edit::ALL {
        std::fs::create_dir_all(edited_path(work, edit, 0).parent().expect("in a folder"))?;
    }
    let mut written = Vec::with_capacity(chosen.len());
    for (i, photo) in chosen.iter().enumerate() {
        let img = decode_file(photo, &DecodeLimits::default())
            .with_context(|| format!("cannot read {}", photo.display()))?;
        let path = originals.join(format!("{i:05}.jpg"));
        std::fs::write(&path, as_jpeg(&img))?;
        for edit in Edit::ALL {
            std::fs::write(edited_path(work, edit, i), edit.apply(&img))?;
        }
        written.push(path);
    }
    Ok((written, classes))
}

/// Features (default backbone) of `count` photos of `from` and of their copies under every edit, written
/// into `work`: `(originals, copies)`, each original's row repeated once per edit so that row `r` of the
/// one pairs with row `r` of the other. What an edit whitening is learned from (`EditWhitening::learn`).
pub(super) fn edit_pairs(
    from: &Path,
    work: &Path,
    count: usize,
    edits: &[Edit],
    device: &burn::tensor::Device,
) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    let (their_originals, _) = write_sample(from, work, count)?;
    eprintln!(
        "learning the edit whitening from {} photos of {} and their edits…",
        their_originals.len(),
        from.display()
    );
    let base = default_features(&their_originals, device)?;
    let (mut originals, mut copies) = (Vec::new(), Vec::new());
    let edits = if edits.is_empty() {
        &Edit::ALL[..]
    } else {
        edits
    };
    for &edit in edits {
        let paths: Vec<PathBuf> = (0..their_originals.len())
            .map(|i| edited_path(work, edit, i))
            .collect();
        copies.extend(default_features(&paths, device)?);
        originals.extend_from_slice(&base);
    }
    Ok((originals, copies))
}

/// The default backbone's features of the photos at `paths`, row after row.
fn default_features(paths: &[PathBuf], device: &burn::tensor::Device) -> anyhow::Result<Vec<f32>> {
    let backbone = DEFAULT_ARCH.pretrained(device)?;
    let inference = backbone.for_inference(device);
    let rows = extract_features(
        paths,
        &DEFAULT_ARCH.preprocess(),
        32,
        device,
        &AtomicBool::new(false),
        |x| inference.features(x),
        |_, _| {},
    );
    let mut out = Vec::with_capacity(paths.len() * DEFAULT_ARCH.feature_dim());
    for (row, path) in rows.into_iter().zip(paths) {
        let row = row.context("never cancelled")?;
        out.extend(row.with_context(|| format!("cannot read {}", path.display()))?);
    }
    Ok(out)
}

/// PCA + ITQ fitted on the `sample` photos' features after the whitening learned from `from`'s photos
/// and their edited copies, written to the work folder; its path.
fn edit_whitened_model(
    b: &EditsBench,
    from: &Path,
    sample: &[PathBuf],
    work: &Path,
    device: &burn::tensor::Device,
) -> anyhow::Result<PathBuf> {
    if from.canonicalize().ok() == b.data.canonicalize().ok() {
        bail!("the edit whitening must be learned from other photos than the benchmark's");
    }
    let (originals, copies) = edit_pairs(
        from,
        &work.join("whitening"),
        b.whitening_photos.unwrap_or(b.photos),
        &b.whitening_edits,
        device,
    )?;
    let dim = DEFAULT_ARCH.feature_dim();
    let kinds = if b.whitening_edits.is_empty() {
        Edit::ALL.len()
    } else {
        b.whitening_edits.len()
    };
    let learned = format!(
        "{kinds} everyday edits of {} photos of {}",
        copies.len() / dim / kinds,
        from.file_name()
            .unwrap_or(from.as_os_str())
            .to_string_lossy()
    );
    let mut whitening = EditWhitening::learn(&originals, &copies, dim, b.shrink, learned)?;
    if let Some(rank) = b.whitening_rank {
        let total: f64 = whitening.eigenvalues().iter().map(|&l| l as f64).sum();
        let kept: f64 = whitening.eigenvalues()[..rank.min(dim)]
            .iter()
            .map(|&l| l as f64)
            .sum();
        eprintln!(
            "keeping the whitening's largest {rank} eigenpairs: {:.1} % of the shifts' variance \
             (floor {:.3e}, the largest left out {:.3e})",
            100.0 * kept / total,
            whitening.floor(),
            whitening.eigenvalues().get(rank).copied().unwrap_or(0.0)
        );
        whitening = whitening.truncated(rank);
    }
    if let Some(path) = &b.save_edit_whitening {
        hashlens_core::io::write_atomic(path, &whitening.to_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let library = default_features(sample, device)?;
    let hash = LinearHash::itq_after(&library, &whitening, b.bits, 50, 0)?;
    let provenance = Provenance {
        description: format!(
            "PCA + ITQ, {} bits, after an edit whitening (shrink {}) learned from {}",
            b.bits, b.shrink, whitening.description
        ),
        software: concat!("hashlens ", env!("CARGO_PKG_VERSION")).into(),
        seed: 0,
        images: sample.len(),
        settings: serde_json::json!({ "itq_iterations": 50, "edit_whitening_shrink": b.shrink }),
    };
    let model = HashModel::linear(
        DEFAULT_ARCH,
        HeadKind::ItqEditWhitened,
        &hash,
        provenance,
        device,
    )?;
    let path = work.join("edit-whitened.hlmodel");
    model.save(&path)?;
    Ok(path)
}

/// `--score-rule C,P`: two distances.
fn parse_rule(s: &str) -> Result<(u32, u32), String> {
    let (c, p) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?}: give the code's and the print's distance, e.g. 8,10"))?;
    let n = |x: &str| {
        x.trim()
            .parse::<u32>()
            .map_err(|_| format!("{x:?} is not a number of bits"))
    };
    Ok((n(c)?, n(p)?))
}

/// An edit by its name in the report (`jpeg_q50`, `rotate_5`, …).
fn parse_edit(name: &str) -> Result<Edit, String> {
    Edit::ALL
        .into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Edit::ALL.iter().map(|e| e.name()).collect();
            format!("{name:?} is not an edit: {}", names.join(", "))
        })
}

/// Where photo `i`'s copy under `edit` is written.
fn edited_path(work: &Path, edit: Edit, i: usize) -> PathBuf {
    work.join("edits")
        .join(edit.name())
        .join(format!("{i:05}.jpg"))
}

/// Distances between the originals: pairs of one class, and of different classes.
fn class_distances(book: &CodeBook, classes: &[usize]) -> (Vec<u32>, Vec<u32>) {
    let (mut same, mut diff) = (Vec::new(), Vec::new());
    for i in 0..book.len() {
        for j in i + 1..book.len() {
            let d = hashlens_core::code::hamming_words(book.code_words(i), book.code_words(j));
            if classes[i] == classes[j] {
                same.push(d);
            } else {
                diff.push(d);
            }
        }
    }
    (same, diff)
}

fn spread(mut d: Vec<u32>) -> Spread {
    d.sort_unstable();
    Spread {
        pairs: d.len(),
        p10: quantile(&d, 0.1),
        median: quantile(&d, 0.5),
        p90: quantile(&d, 0.9),
    }
}

/// Nearest-rank quantile of sorted distances (0 for none).
fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    super::percentile(sorted, q)
}

/// A two-signal rule's thresholds and figures, as the table prints them.
fn either_figures(v: &EitherScore) -> String {
    format!(
        "(code ≤ {}, pHash ≤ {}): precision {:.3}, recall {:.3}, other photos that close {:.1e}",
        v.code_within.map_or("—".into(), |t| t.to_string()),
        v.perceptual_within.map_or("—".into(), |t| t.to_string()),
        v.precision,
        v.recall,
        v.false_match_rate
    )
}

fn print_table(r: &EditsReport) -> anyhow::Result<()> {
    out!(
        "edit benchmark: {} photos, {} bits, {}",
        r.photos,
        r.bits,
        r.model
    );
    out!(
        "  edit              recall@1  recall@10  distance median / p90 / max  near-duplicate (≤ {} bits)  pHash median  code or pHash  … any turn",
        r.verdict.within
    );
    for (name, e) in &r.edits {
        out!(
            "  {:<16}  {:>8.3}  {:>9.3}  {:>3} / {:>3} / {:>3}              {:>5.3}                   {:>3}          {:>5.3}          {:>5.3}",
            name,
            e.recall_at_1,
            e.recall_at_10,
            e.distance_median,
            e.distance_p90,
            e.distance_max,
            e.near_duplicate,
            e.phash_distance_median,
            e.code_or_phash,
            e.code_or_phash_any_turn
        );
    }
    let calibrated = ("calibrated here to precision 0.99", r.calibrated.as_ref());
    let near = if r.verdict_calibrated {
        "near-duplicate (the model's calibration)"
    } else {
        "near-duplicate (K/8)"
    };
    let mut lines = vec![(near, Some(&r.verdict))];
    if r.verdict_calibrated {
        lines.push(("near-duplicate at K/8", Some(&r.fixed)));
    }
    lines.extend([("similar", Some(&r.similar)), calibrated]);
    for (what, v) in lines {
        let Some(v) = v else {
            out!("  verdict {what}: no threshold is that precise on these photos");
            continue;
        };
        out!(
            "  verdict {what} (≤ {} bits): precision {:.3}, recall {:.3}, other photos that close {:.1e}",
            v.within,
            v.precision,
            v.recall,
            v.false_match_rate
        );
    }
    match &r.phash_calibrated {
        Some(v) => out!(
            "  verdict by pHash alone, calibrated here to precision 0.99 (≤ {} of 64 bits): precision {:.3}, recall {:.3}, other photos that close {:.1e}",
            v.within,
            v.precision,
            v.recall,
            v.false_match_rate
        ),
        None => out!("  verdict by pHash alone: no threshold is that precise on these photos"),
    }
    for (what, rule) in [
        ("code or pHash", &r.code_or_phash),
        (
            "code or pHash of any turn or mirror image",
            &r.code_or_phash_any_turn,
        ),
        (
            "code or perceptual print (pHash of any turn, mirror image or centred crop)",
            &r.code_or_print,
        ),
    ] {
        match rule {
            Some(v) => out!(
                "  verdict by {what}, calibrated here to precision 0.99 {}",
                either_figures(v)
            ),
            None => {
                out!("  verdict by {what}: no pair of thresholds is that precise on these photos")
            }
        }
    }
    if let Some(v) = &r.verdict_with_print {
        out!(
            "  verdict by code or perceptual print with the model's own thresholds {}",
            either_figures(v)
        );
    }
    if let Some(v) = &r.verdict_rule_given {
        out!(
            "  verdict by code or perceptual print with the thresholds given {}",
            either_figures(v)
        );
    }
    if let Some(v) = &r.verdict_rule_given_code_alone {
        out!(
            "  verdict by the code alone at the threshold given (≤ {} bits): precision {:.3}, recall {:.3}, other photos that close {:.1e}",
            v.within,
            v.precision,
            v.recall,
            v.false_match_rate
        );
    }
    if let (Some(s), Some(d)) = (&r.same_class, &r.different_class) {
        for (what, x) in [("same class", s), ("different classes", d)] {
            out!(
                "  {what}: {} pairs, distance p10 / median / p90 {} / {} / {}",
                x.pairs,
                x.p10,
                x.median,
                x.p90
            );
        }
    }
    Ok(())
}
