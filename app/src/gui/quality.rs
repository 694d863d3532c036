//! How well the library's codes retrieve, when its sub-folders are classes: a sample of photos searches
//! the others (held out, so no photo finds itself) and the usual metrics come back — mAP, precision at
//! k, and the precision–recall curve over Hamming radii. Computed on a background thread: ranking a
//! large library for hundreds of queries takes seconds.

use std::path::PathBuf;

use eframe::egui::{self, RichText};
use egui_plot::{Line, Plot, PlotPoints, Points};
use hashlens_core::CodeBook;
use hashlens_core::dataset::folder_classes;
use hashlens_core::eval::{Depth, EvalConfig, EvalReport, Labels, evaluate_held_out};

use super::task::Task;

/// Queries drawn from the library.
const QUERIES: usize = 500;

/// The report and the number of classes; `None` when the folder has no class sub-folders.
type Outcome = Result<Option<(EvalReport, usize)>, String>;

/// The evaluation of one state of the index.
pub struct Quality {
    /// (photos, model fingerprint) it was computed for.
    pub key: (usize, String),
    task: Option<Task<Outcome>>,
    result: Option<Outcome>,
}

impl Quality {
    /// Starts evaluating `codes` of the photos at `paths` under `root`.
    pub fn start(
        key: (usize, String),
        root: PathBuf,
        paths: Vec<PathBuf>,
        codes: CodeBook,
        ctx: &egui::Context,
    ) -> Self {
        let task = Task::spawn("quality", ctx, move |r| {
            let result = (|| {
                let Some(fc) = folder_classes(&root, paths.iter().map(|p| p.as_path())) else {
                    return Ok(None);
                };
                let classes = fc.names.len();
                let labels =
                    Labels::from_classes(classes, &fc.classes).map_err(|e| e.to_string())?;
                let cfg = EvalConfig {
                    map_depths: vec![Depth::All, Depth::Top(100)],
                    at_k: vec![10, 100],
                    radius: 2,
                    pr_step: 100,
                };
                let report = evaluate_held_out(&codes, &labels, QUERIES, 0, &cfg)
                    .map_err(|e| e.to_string())?;
                Ok(Some((report, classes)))
            })();
            r.send(result);
        });
        Self {
            key,
            task: Some(task),
            result: None,
        }
    }

    pub fn poll(&mut self) {
        if let Some(r) = self.task.as_ref().and_then(|t| t.poll().pop()) {
            self.result = Some(r);
            self.task = None;
        }
    }

    #[cfg(test)]
    pub fn done(&self) -> bool {
        self.result.is_some()
    }

    pub fn show(&self, ui: &mut egui::Ui) {
        let Some(result) = &self.result else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("measuring retrieval on the folder's classes…");
            });
            return;
        };
        let (r, classes) = match result {
            Ok(Some(r)) => r,
            Ok(None) => {
                ui.label(
                    RichText::new(
                        "The folder has no class sub-folders, so there is nothing to score against: put \
                         photos of each kind in their own sub-folder to see mAP and the PR curve here.",
                    )
                    .weak(),
                );
                return;
            }
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
        };
        let get = |d| r.map_at(d).unwrap_or_default();
        ui.label(format!(
            "{} photos of {} searched the other {} ({classes} classes from the sub-folders): \
             mAP@ALL {:.3}, mAP@100 {:.3}, P@10 {:.3}, P@100 {:.3}, precision within 2 bits {:.3}.",
            r.queries,
            r.queries + r.database,
            r.database,
            get(Depth::All),
            get(Depth::Top(100)),
            r.at_k[0].precision,
            r.at_k[1].precision,
            r.precision_within_radius.precision,
        ))
        .on_hover_text(
            "mAP: for each query, the precision at every rank where a photo of its class appears, \
             averaged; then averaged over queries. 1 = every same-class photo ranks before any other.",
        );
        // One point per Hamming radius r: everything within r bits is retrieved.
        let points: Vec<[f64; 2]> = r
            .pr_by_radius
            .iter()
            .filter(|p| p.mean_retrieved > 0.0)
            .map(|p| [p.recall, p.precision])
            .collect();
        ui.label("Precision–recall over Hamming radii (r = 0 at the left)");
        Plot::new("pr-radius")
            .width(ui.available_width().min(420.0))
            .height(220.0)
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(1.0)
            .x_axis_label("recall")
            .y_axis_label("precision")
            .allow_scroll(false)
            .show(ui, |p| {
                p.line(Line::new("PR", PlotPoints::from(points.clone())));
                p.points(Points::new("radius", PlotPoints::from(points)).radius(2.5));
            });
    }
}
