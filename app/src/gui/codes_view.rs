//! The library's codes as a whole, for teaching: how often each bit is 1 (a useful bit splits the photos
//! about in half), whether bits repeat each other (correlation), how Hamming distances between photos
//! are spread, and — when sub-folders are classes — how well the codes retrieve.

use eframe::egui::{self, Color32, Rect, RichText, Sense, Stroke, Vec2, pos2};
use hashlens_core::code::stats::{bit_balance, bit_correlation, distance_histogram};

use super::charts::heatmap;
use super::colours::{DIFFERS, bit_colour};
use super::context::LibraryContext;
use super::quality::Quality;
use hashlens_core::train::data::sample_indices;

/// Pairs sampled for the histogram of large libraries.
const PAIRS: usize = 200_000;
/// Codes the correlation is measured on (O(N·K²): evenly spaced photos of a large library).
const CORRELATION_CODES: usize = 5_000;

/// Statistics of one state of the index (recomputed when it grows or changes).
pub struct CodeStats {
    pub for_len: usize,
    pub balance: Vec<f64>,
    pub histogram: Vec<u64>,
    /// `K × K`, and how many codes it was measured on.
    pub correlation: (Vec<f64>, usize),
}

/// The Codes tab: its statistics and the retrieval evaluation, kept current by [`CodesTab::update`]
/// (outside drawing) and drawn by [`CodesTab::show`].
#[derive(Default)]
pub struct CodesTab {
    stats: Option<CodeStats>,
    quality: Option<Quality>,
}

impl CodesTab {
    /// Recomputes the statistics when the index changed and (re)starts the evaluation for the current
    /// codes; collects a finished evaluation. While indexing adds photos every frame, the statistics of
    /// the moment the tab opened are kept (recomputing them per frame is O(N·K)); they catch up when the
    /// run ends.
    pub fn update(&mut self, lib: &LibraryContext, ctx: &egui::Context) {
        if let Some(q) = &mut self.quality {
            q.poll();
        }
        let Some(index) = lib.index.filter(|i| i.len() > 1) else {
            return;
        };
        let stale = match &self.stats {
            None => true,
            Some(s) => s.for_len != index.len() && !lib.indexing,
        };
        if stale {
            self.stats = Some(CodeStats {
                for_len: index.len(),
                balance: bit_balance(index.codes()),
                histogram: distance_histogram(index.codes(), PAIRS, 0),
                correlation: {
                    let picked = sample_indices(index.len(), CORRELATION_CODES);
                    (
                        bit_correlation(&index.codes().select(&picked)),
                        picked.len(),
                    )
                },
            });
        }
        let key = (index.len(), index.model().to_string());
        if !lib.indexing && self.quality.as_ref().is_none_or(|q| q.key != key) {
            let paths = index.photos().iter().map(|p| p.path.clone()).collect();
            self.quality = Some(Quality::start(
                key,
                lib.folder.to_path_buf(),
                paths,
                index.codes().clone(),
                ctx,
            ));
        }
    }

    /// The statistics of the codes, once computed.
    #[cfg(test)]
    pub fn stats(&self) -> Option<&CodeStats> {
        self.stats.as_ref()
    }

    /// The retrieval evaluation of the current codes, once started.
    #[cfg(test)]
    pub fn quality(&self) -> Option<&Quality> {
        self.quality.as_ref()
    }

    pub fn show(&self, lib: &LibraryContext, ui: &mut egui::Ui) {
        let Some(index) = lib.index.filter(|i| i.len() > 1) else {
            ui.label("The statistics need at least two indexed photos.");
            return;
        };
        let Some(stats) = &self.stats else {
            // The tab was opened this frame: the next one has them.
            ui.spinner();
            return;
        };
        show_stats(stats, index.len(), ui);
        ui.add_space(12.0);
        ui.heading("Retrieval quality");
        if let Some(q) = &self.quality {
            q.show(ui);
        }
    }
}

fn show_stats(stats: &CodeStats, indexed: usize, ui: &mut egui::Ui) {
    let bits = stats.balance.len();
    if stats.for_len != indexed {
        ui.label(
            RichText::new(format!(
                "(as of {} photos; indexing goes on)",
                stats.for_len
            ))
            .weak(),
        );
    }
    ui.heading("Bit balance");
    ui.label(
        "For each bit, the share of photos in which it is 1. A bit that is (almost) always 0 or always 1 \
         cannot tell photos apart; ITQ and DHD's quantisation push every bit toward one half.",
    );
    bars(ui, &stats.balance, 1.0, Some(0.5), |ui, on| {
        bit_colour(ui, on)
    });
    let unbalanced = stats
        .balance
        .iter()
        .filter(|&&f| !(0.1..=0.9).contains(&f))
        .count();
    ui.label(format!(
        "{unbalanced} of {bits} bits are 1 in fewer than 10 % or more than 90 % of the photos."
    ));
    ui.add_space(12.0);
    ui.heading("Distances between photos");
    let pairs: u64 = stats.histogram.iter().sum();
    let mean = stats
        .histogram
        .iter()
        .enumerate()
        .map(|(d, &c)| d as f64 * c as f64)
        .sum::<f64>()
        / pairs.max(1) as f64;
    ui.label(format!(
        "How many pairs of photos lie at each Hamming distance ({pairs} pairs{}). Unrelated photos gather \
         around K/2 = {}; near-duplicates sit at the far left. Mean: {mean:.1}.",
        if pairs as usize >= PAIRS { ", sampled" } else { "" },
        bits / 2
    ));
    let max = *stats.histogram.iter().max().unwrap_or(&1) as f64;
    let norm: Vec<f64> = stats
        .histogram
        .iter()
        .map(|&c| c as f64 / max.max(1.0))
        .collect();
    bars(ui, &norm, 1.0, None, |_, _| DIFFERS);
    ui.label(RichText::new(format!("0 … {bits} bits")).small().weak());
    ui.add_space(12.0);
    ui.heading("Bit correlation");
    let (corr, measured) = &stats.correlation;
    let strong = (0..bits)
        .flat_map(|i| (i + 1..bits).map(move |j| (i, j)))
        .filter(|&(i, j)| corr[i * bits + j].abs() > 0.5)
        .count();
    ui.label(format!(
        "How much each pair of bits goes together over {measured} photos: red = the two bits agree, blue = \
         they disagree, pale = independent. Correlated bits repeat each other and waste code length. \
         {strong} of {} pairs correlate more than ±0.5.",
        bits * (bits - 1) / 2
    ));
    heatmap(ui, corr, bits, 320.0, "bits", &[]);
}

/// A bar chart of `values` in `[0, top]`, with an optional reference line.
fn bars(
    ui: &mut egui::Ui,
    values: &[f64],
    top: f64,
    line: Option<f64>,
    colour: impl Fn(&egui::Ui, bool) -> Color32,
) {
    let width = ui.available_width().min(900.0);
    let (rect, response) = ui.allocate_exact_size(Vec2::new(width, 120.0), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().faint_bg_color);
    let w = rect.width() / values.len() as f32;
    for (i, &v) in values.iter().enumerate() {
        let h = (v / top).clamp(0.0, 1.0) as f32 * rect.height();
        let x = rect.min.x + i as f32 * w;
        painter.rect_filled(
            Rect::from_min_max(pos2(x + 0.5, rect.max.y - h), pos2(x + w - 0.5, rect.max.y)),
            0.0,
            colour(ui, true),
        );
    }
    if let Some(l) = line {
        let y = rect.max.y - (l / top) as f32 * rect.height();
        painter.hline(
            rect.x_range(),
            y,
            Stroke::new(1.0, ui.visuals().text_color()),
        );
    }
    if let Some(pos) = response.hover_pos() {
        let i = (((pos.x - rect.min.x) / w) as usize).min(values.len() - 1);
        response.on_hover_text(format!("{i}: {:.3}", values[i]));
    }
}
