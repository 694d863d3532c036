//! Near-duplicates: groups of photos whose codes lie within a few bits of each other, found on a
//! background thread, shown side by side with what tells copies apart (size, resolution, date).

use std::path::PathBuf;

use eframe::egui::{self, RichText, Vec2};
use hashlens_core::code::stats::near_duplicate_groups;
use hashlens_core::index::CodeIndex;

use super::context::LibraryContext;
use super::task::{Panicked, Task};
use super::thumbs::Thumbnails;

/// One photo of a group, with what a person compares.
pub struct Member {
    pub index: usize,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: u64,
    /// Width × height, read from the file's header.
    pub dimensions: Option<(u32, u32)>,
    /// Hamming distance to the group's first photo.
    pub distance: u32,
}

enum Event {
    Progress(usize, usize),
    Done(Vec<Vec<Member>>),
    Failed(String),
}

impl From<Panicked> for Event {
    fn from(p: Panicked) -> Self {
        Event::Failed(format!("the search for near-duplicates {p}"))
    }
}

/// A running or finished search for near-duplicates.
pub struct Duplicates {
    pub radius: u32,
    /// The index length the groups were computed for (stale when the index changed).
    pub for_len: usize,
    pub groups: Option<Vec<Vec<Member>>>,
    pub progress: Option<(usize, usize)>,
    pub error: Option<String>,
    task: Option<Task<Event>>,
}

impl Duplicates {
    /// A search at `radius` bits (the model's near-duplicate threshold to begin with).
    pub fn new(radius: u32) -> Self {
        Self {
            radius,
            for_len: 0,
            groups: None,
            progress: None,
            error: None,
            task: None,
        }
    }

    pub fn running(&self) -> bool {
        self.task.is_some()
    }

    /// Starts grouping the codes of `index` (a snapshot) within `self.radius`.
    pub fn start(&mut self, index: &CodeIndex, ctx: &egui::Context) {
        if let Some(old) = &self.task {
            old.cancel();
        }
        let (index, radius) = (index.clone(), self.radius);
        self.for_len = index.len();
        self.progress = Some((0, index.len()));
        self.error = None;
        self.task = Some(Task::spawn("near-duplicates", ctx, move |r| {
            let codes = index.codes();
            let groups = near_duplicate_groups(codes, radius, &r.cancel, |done, total| {
                r.send(Event::Progress(done, total))
            });
            let Some(groups) = groups else { return };
            let members = groups
                .into_iter()
                .map(|g| {
                    let first = codes.get(g[0]);
                    g.into_iter()
                        .map(|i| {
                            let photo = &index.photos()[i];
                            Member {
                                index: i,
                                path: photo.path.clone(),
                                size: photo.size,
                                mtime_ns: photo.mtime_ns,
                                dimensions: image::image_dimensions(&photo.path).ok(),
                                distance: first.hamming(&codes.get(i)).expect("same length"),
                            }
                        })
                        .collect()
                })
                .collect();
            r.send(Event::Done(members));
        }));
    }

    pub fn poll(&mut self) {
        let Some(task) = &self.task else { return };
        for e in task.poll() {
            match e {
                Event::Progress(d, t) => self.progress = Some((d, t)),
                Event::Done(groups) => {
                    self.groups = Some(groups);
                    self.progress = None;
                    self.task = None;
                }
                Event::Failed(e) => {
                    self.error = Some(e);
                    self.progress = None;
                    self.task = None;
                }
            }
        }
    }
}

impl Drop for Duplicates {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.cancel();
        }
    }
}

fn megabytes(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// What the user asked of the near-duplicates tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicatesCommand {
    /// Group the codes again at the chosen radius.
    SearchAgain,
    /// Search with this photo of the index (the Photos tab shows the results).
    SearchWith(usize),
}

/// The near-duplicates tab: the search it runs, kept current by [`DuplicatesTab::update`] (outside
/// drawing) and drawn by [`DuplicatesTab::show`].
#[derive(Default)]
pub struct DuplicatesTab {
    search: Option<Duplicates>,
}

impl DuplicatesTab {
    /// The first visit searches at once (a background scan; the view stays responsive); later ones
    /// collect its progress.
    pub fn update(&mut self, lib: &LibraryContext, ctx: &egui::Context) {
        if let (None, Some(index)) = (&self.search, lib.index) {
            let mut search = Duplicates::new(lib.near_duplicate_within(index.bits()));
            search.start(index, ctx);
            self.search = Some(search);
        }
        if let Some(search) = &mut self.search {
            search.poll();
        }
    }

    /// Groups the codes of `index` again at the chosen radius.
    pub fn search_again(&mut self, lib: &LibraryContext, ctx: &egui::Context) {
        let Some(index) = lib.index else { return };
        let search = self
            .search
            .get_or_insert_with(|| Duplicates::new(lib.near_duplicate_within(index.bits())));
        search.start(index, ctx);
    }

    /// The search, once started.
    #[cfg(test)]
    pub fn search(&self) -> Option<&Duplicates> {
        self.search.as_ref()
    }

    /// Draws the tab (its radius slider is the tab's own state); returns what the user asked for.
    pub fn show(
        &mut self,
        lib: &LibraryContext,
        thumbs: &mut Thumbnails,
        ui: &mut egui::Ui,
    ) -> Option<DuplicatesCommand> {
        let (Some(index), Some(dup)) = (lib.index, self.search.as_mut()) else {
            ui.label("No index yet.");
            return None;
        };
        show_search(dup, index, thumbs, ui)
    }
}

fn show_search(
    dup: &mut Duplicates,
    index: &CodeIndex,
    thumbs: &mut Thumbnails,
    ui: &mut egui::Ui,
) -> Option<DuplicatesCommand> {
    let bits = index.bits();
    let len = index.len();
    let mut command = None;
    ui.horizontal(|ui| {
        ui.label("Photos whose codes differ in at most");
        ui.add(egui::Slider::new(&mut dup.radius, 0..=(bits / 4) as u32).text("bits"));
        let label = if dup.groups.is_some() {
            "Search again"
        } else {
            "Find near-duplicates"
        };
        if ui
            .add_enabled(!dup.running(), egui::Button::new(label))
            .clicked()
        {
            command = Some(DuplicatesCommand::SearchAgain);
        }
        if let Some((done, total)) = dup.progress {
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .desired_width(160.0)
                    .text(format!("{done}/{total}")),
            );
        }
    });
    if let Some(e) = &dup.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    if dup.groups.is_some() && dup.for_len != len {
        ui.label(RichText::new("The library changed since: search again.").weak());
    }
    let Some(groups) = &dup.groups else {
        ui.label(
            "Near-duplicates are copies that differ by resizing, recompression, a crop or an edit: their \
             codes land a few bits apart, while merely similar photos are usually a quarter of the bits \
             or more apart.",
        );
        return command;
    };
    ui.label(format!("{} groups", groups.len()));
    egui::ScrollArea::vertical()
        .id_salt("duplicates-tab")
        .auto_shrink(false)
        .show(ui, |ui| {
            for (g, group) in groups.iter().enumerate() {
                ui.push_id(g, |ui| {
                    ui.separator();
                    ui.horizontal_wrapped(|ui| {
                        for m in group {
                            ui.vertical(|ui| {
                                ui.set_width(150.0);
                                let r = match thumbs.get(&m.path) {
                                    Some(t) => ui.add(
                                        egui::Image::new(t)
                                            .max_size(Vec2::splat(140.0))
                                            .sense(egui::Sense::click()),
                                    ),
                                    None => ui.add_sized([140.0, 100.0], egui::Button::new("…")),
                                };
                                if r.on_hover_text("search with this photo").clicked() {
                                    command = Some(DuplicatesCommand::SearchWith(m.index));
                                }
                                let name = m.path.file_name().unwrap_or_default().to_string_lossy();
                                ui.label(RichText::new(name).strong().small());
                                let dims = m
                                    .dimensions
                                    .map(|(w, h)| format!("{w} × {h}"))
                                    .unwrap_or_else(|| "? × ?".into());
                                ui.label(
                                    RichText::new(format!("{dims} · {}", megabytes(m.size)))
                                        .small(),
                                );
                                ui.label(RichText::new(super::format::minute(m.mtime_ns)).small());
                                ui.label(
                                    RichText::new(format!("{} bits from the first", m.distance))
                                        .small(),
                                );
                            });
                        }
                    });
                });
            }
        });
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(megabytes(1500), "2 KB");
        assert_eq!(megabytes(3 << 20), "3.0 MB");
    }
}
