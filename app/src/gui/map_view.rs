//! The Map tab: the library's photos laid out by their codes (`hashlens_core::code::map`, t-SNE on the
//! Hamming distances), each drawn as its thumbnail. Hovering names a photo, clicking searches with it,
//! and the query and its first results are ringed, so that a teacher can show that photos a few bits
//! apart are neighbours on the map, and a presenter can start a search from a region of it.
//!
//! The layout is computed on a background task when the tab is shown and the index has settled, and
//! again when the index or its model changed; drawing only reads it.

use std::sync::atomic::AtomicBool;

use eframe::egui::{self, Color32, Rect, RichText, Sense, Vec2};
use hashlens_core::code::map::{MAP_POINTS, MapSettings, code_map, map_gap, map_sample};
use hashlens_core::dataset::folder_classes;

use super::colours;
use super::context::LibraryContext;
use super::task::{Panicked, Task};
use super::thumbs::Thumbnails;

/// Positions of (a sample of) the library's photos.
pub struct MapLayout {
    /// The index length and model it was made for.
    pub for_len: usize,
    pub model: String,
    /// The photo's position in the index, and where it sits on the map (each coordinate in [−1, 1]).
    pub points: Vec<(usize, [f32; 2])>,
    /// Per point, its class (the folder holding it) when the library's sub-folders are classes.
    pub classes: Option<Vec<usize>>,
}

enum Event {
    Progress(usize, usize),
    Done(MapLayout),
    Failed(String),
}

impl From<Panicked> for Event {
    fn from(p: Panicked) -> Self {
        Event::Failed(format!("making the map {p}"))
    }
}

/// What the user asked of the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapCommand {
    /// Search with this photo of the index (the Photos tab shows the results).
    SearchWith(usize),
}

/// What the map rings: the query and its results (positions in the index).
pub struct Highlights<'a> {
    pub query: Option<usize>,
    pub results: &'a [usize],
}

#[derive(Default)]
pub struct MapTab {
    pub layout: Option<MapLayout>,
    task: Option<Task<Event>>,
    progress: Option<(usize, usize)>,
    error: Option<String>,
}

impl MapTab {
    /// Starts a layout when there is none for the current index (once indexing has settled), and
    /// collects the running one's progress.
    pub fn update(&mut self, lib: &LibraryContext, ctx: &egui::Context) {
        if let Some(task) = &self.task {
            for e in task.poll() {
                match e {
                    Event::Progress(done, total) => self.progress = Some((done, total)),
                    Event::Done(layout) => {
                        self.layout = Some(layout);
                        self.task = None;
                        self.progress = None;
                    }
                    Event::Failed(e) => {
                        self.error = Some(e);
                        self.task = None;
                        self.progress = None;
                    }
                }
            }
        }
        let Some(index) = lib.index else { return };
        let stale = self
            .layout
            .as_ref()
            .is_none_or(|l| l.for_len != index.len() || l.model != index.model());
        if !stale || self.task.is_some() || lib.indexing || self.error.is_some() || index.is_empty()
        {
            return;
        }
        let index = index.clone();
        let folder = lib.folder.to_path_buf();
        self.progress = Some((0, MapSettings::default().iterations));
        self.task = Some(Task::spawn("code-map", ctx, move |r| {
            let sample = map_sample(index.len());
            let cancel: &AtomicBool = &r.cancel;
            let Some(positions) = code_map(
                index.codes(),
                &sample,
                &MapSettings::default(),
                cancel,
                |done, total| r.send(Event::Progress(done, total)),
            ) else {
                return;
            };
            let classes = folder_classes(
                &folder,
                sample.iter().map(|&i| index.photos()[i].path.as_path()),
            )
            .map(|c| c.classes);
            r.send(Event::Done(MapLayout {
                for_len: index.len(),
                model: index.model().to_string(),
                points: sample.into_iter().zip(positions).collect(),
                classes,
            }));
        }));
    }

    pub fn show(
        &self,
        lib: &LibraryContext,
        thumbs: &mut Thumbnails,
        highlights: Highlights,
        ui: &mut egui::Ui,
    ) -> Option<MapCommand> {
        let Some(index) = lib.index else {
            ui.label("No index yet.");
            return None;
        };
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(layout) = &self.layout else {
            match self.progress {
                Some((done, total)) => {
                    ui.add(
                        egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                            .desired_width(240.0)
                            .text(format!(
                                "placing the photos by their codes: step {done} of {total}"
                            )),
                    );
                }
                None => {
                    ui.label("The map is made once the folder is indexed.");
                }
            }
            return None;
        };
        let sampled = if layout.points.len() < layout.for_len {
            format!(
                " (a sample of {} of the {} photos, spread over the library)",
                MAP_POINTS, layout.for_len
            )
        } else {
            String::new()
        };
        ui.label(format!(
            "{} photos placed by their {}-bit codes{sampled}: photos whose codes differ in few bits land \
             close together. Neighbours on the map are mostly neighbours in Hamming distance; distances \
             between far-apart groups mean little (t-SNE). Click a photo to search with it.",
            layout.points.len(),
            index.bits()
        ));
        if layout.for_len != index.len() || layout.model != index.model() {
            ui.label(
                RichText::new(
                    "The library changed since: the map is made again once indexing ends.",
                )
                .weak(),
            );
        }
        let size = ui.available_size().max(Vec2::splat(240.0));
        let (area, _) = ui.allocate_exact_size(size, Sense::hover());
        ui.painter()
            .rect_filled(area, 6.0, ui.visuals().extreme_bg_color);
        // Thumbnails as wide as the gap the layout keeps between photos.
        let side = (map_gap(layout.points.len()) * area.width().min(area.height()) / 2.0 * 0.85)
            .clamp(16.0, 96.0);
        let inner = area.shrink(side / 2.0 + 4.0);
        let at = |p: [f32; 2]| {
            inner.center() + Vec2::new(p[0] * inner.width() / 2.0, p[1] * inner.height() / 2.0)
        };
        let mut command = None;
        let results: std::collections::HashSet<usize> =
            highlights.results.iter().copied().collect();
        for (k, &(i, p)) in layout.points.iter().enumerate() {
            let rect = Rect::from_center_size(at(p), Vec2::splat(side));
            let path = &index.photos()[i].path;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let response = ui.interact(rect, ui.scope_id().with(("map-photo", i)), Sense::click());
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Button, true, format!("map photo {name}"))
            });
            match thumbs.get(path) {
                Some(t) => {
                    let size = t.size_vec2();
                    let scale = (side / size.x).min(side / size.y);
                    ui.painter().image(
                        t.id(),
                        Rect::from_center_size(rect.center(), size * scale),
                        Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                        Color32::WHITE,
                    );
                }
                None => {
                    let colour = layout
                        .classes
                        .as_ref()
                        .map_or(ui.visuals().weak_text_color(), |c| colours::category(c[k]));
                    ui.painter()
                        .circle_filled(rect.center(), side / 5.0, colour);
                }
            }
            let ring = if highlights.query == Some(i) {
                Some((ui.visuals().selection.stroke.color, 3.0))
            } else if results.contains(&i) {
                Some((colours::DIFFERS, 2.0))
            } else {
                None
            };
            if let Some((colour, width)) = ring {
                ui.painter().rect_stroke(
                    rect.expand(2.0),
                    3.0,
                    egui::Stroke::new(width, colour),
                    egui::StrokeKind::Outside,
                );
            }
            let response = response.on_hover_ui(|ui| {
                if let Some(t) = thumbs.get(path) {
                    ui.add(egui::Image::new(t).max_size(Vec2::splat(160.0)));
                }
                ui.label(path.display().to_string());
            });
            if response.clicked() {
                command = Some(MapCommand::SearchWith(i));
            }
        }
        command
    }
}
