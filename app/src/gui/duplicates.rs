//! Near-duplicates: groups of photos whose codes lie within a few bits of each other, found on a
//! background thread, shown side by side with what tells copies apart (size, resolution, date) and what
//! each copy looks like next to the group's likely original (resized, cropped, made grey…).
//!
//! Acting on them: photos are selected with their check boxes ("select the others", beside the likely
//! original, is a suggestion, never applied unasked), two can be compared side by side, a group's list
//! copied, a photo shown in the file manager, and the selected ones moved to the system's trash after a confirmation
//! that names every file. The app never deletes a photo and never moves one the user did not select.

use std::collections::BTreeSet;
use std::path::PathBuf;

use eframe::egui::{self, RichText, Vec2};
use hashlens_core::code::stats::near_duplicate_groups;
use hashlens_core::index::{CodeIndex, Prints};
use hashlens_core::photo::edit::{LooksLike, Version, likely_original, looks_like};

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
    /// Hamming distance to the group's first photo (its likely original).
    pub distance: u32,
    /// What it looks like next to the group's first photo (`None` for the first, or when either
    /// photo could not be read).
    pub looks_like: Option<LooksLike>,
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
    /// The groups join photos whose perceptual prints are near as well as those whose codes are.
    pub with_prints: bool,
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
            with_prints: false,
            task: None,
        }
    }

    pub fn running(&self) -> bool {
        self.task.is_some()
    }

    /// Starts grouping the codes of `index` (a snapshot) within `self.radius`, and the photos whose
    /// `prints` lie within their distance where given.
    pub fn start(
        &mut self,
        index: &CodeIndex,
        prints: Option<(&Prints, u32)>,
        ctx: &egui::Context,
    ) {
        if let Some(old) = &self.task {
            old.cancel();
        }
        let (index, radius) = (index.clone(), self.radius);
        let prints = prints.map(|(p, within)| (p.clone(), within));
        self.with_prints = prints.is_some();
        self.for_len = index.len();
        self.progress = Some((0, index.len()));
        self.error = None;
        self.task = Some(Task::spawn("near-duplicates", ctx, move |r| {
            let links = match &prints {
                Some((p, within)) => {
                    let found = p.links(*within, &r.cancel, |done, total| {
                        r.send(Event::Progress(done / 2, total))
                    });
                    let Some(found) = found else { return };
                    found
                }
                None => Vec::new(),
            };
            let codes = index.codes();
            let half = if prints.is_some() { index.len() / 2 } else { 0 };
            let groups = near_duplicate_groups(codes, radius, &links, &r.cancel, |done, total| {
                r.send(Event::Progress(
                    half + done * (total - half) / total.max(1),
                    total,
                ))
            });
            let Some(groups) = groups else { return };
            let mut members = Vec::with_capacity(groups.len());
            for g in groups {
                if r.cancel.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                // Photos moved away since they were indexed (e.g. to the trash) are left out.
                let present: Vec<usize> = g
                    .into_iter()
                    .filter(|&i| index.photos()[i].path.exists())
                    .collect();
                if present.len() > 1 {
                    members.push(group_members(&index, present));
                }
            }
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

/// A group's photos, the likely original first (`photo::edit::likely_original`: the one the others look
/// derived from, else the largest), which the others are compared with.
fn group_members(index: &CodeIndex, group: Vec<usize>) -> Vec<Member> {
    let codes = index.codes();
    let mut members: Vec<Member> = group
        .into_iter()
        .map(|i| {
            let photo = &index.photos()[i];
            Member {
                index: i,
                path: photo.path.clone(),
                size: photo.size,
                mtime_ns: photo.mtime_ns,
                dimensions: image::image_dimensions(&photo.path).ok(),
                distance: 0,
                looks_like: None,
            }
        })
        .collect();
    // The likely original first (the one the others derive from), compared with each of the others.
    let smalls: Vec<Option<image::RgbImage>> = members
        .iter()
        .map(|m| super::thumbs::thumbnail(&m.path, None))
        .collect();
    let versions: Option<Vec<Version>> = members
        .iter()
        .zip(&smalls)
        .map(|(m, small)| {
            let ((width, height), small) = (m.dimensions?, small.as_ref()?);
            Some(Version {
                width,
                height,
                bytes: m.size,
                small,
            })
        })
        .collect();
    let first = match &versions {
        // Pairwise comparisons: small groups only (a large one is rarely one photo's copies).
        Some(v) if v.len() <= 16 => likely_original(v),
        _ => {
            let pixels = |m: &Member| m.dimensions.map_or(0, |(w, h)| w as u64 * h as u64);
            (0..members.len())
                .max_by_key(|&k| (pixels(&members[k]), members[k].size, std::cmp::Reverse(k)))
                .unwrap_or(0)
        }
    };
    for k in 0..members.len() {
        members[k].distance = codes
            .get(members[first].index)
            .hamming(&codes.get(members[k].index))
            .expect("same length");
        members[k].looks_like = match &versions {
            Some(v) if k != first => Some(looks_like(&v[first], &v[k])),
            _ => None,
        };
    }
    members.swap(0, first);
    // The rest by distance to it, then by position.
    members[1..].sort_by_key(|m| (m.distance, m.index));
    members
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DuplicatesCommand {
    /// Group the codes again at the chosen radius.
    SearchAgain,
    /// Search with this photo of the index (the Photos tab shows the results).
    SearchWith(usize),
    /// Open the file manager at this photo's folder.
    Reveal(PathBuf),
    /// Put this text on the clipboard (a group's paths, one per line).
    Copy(String),
    /// Move these photos to the system's trash (the user confirmed, with every file named).
    Trash(Vec<PathBuf>),
}

/// The near-duplicates tab: the search it runs, kept current by [`DuplicatesTab::update`] (outside
/// drawing) and drawn by [`DuplicatesTab::show`].
#[derive(Default)]
pub struct DuplicatesTab {
    search: Option<Duplicates>,
    /// The photos ticked, by path (they survive a new search).
    pub selected: BTreeSet<PathBuf>,
    /// Two photos shown side by side, large.
    pub compare: Option<Comparison>,
    /// Two photos the user asked to compare (the comparison starts outside drawing).
    compare_request: Option<[PathBuf; 2]>,
    /// The photos the user asked to move to the trash, waiting for the confirmation.
    pub confirm_trash: Option<Vec<PathBuf>>,
    /// The groups were dropped because the library is being updated: search again once it is.
    after_update: bool,
}

impl DuplicatesTab {
    /// The first visit searches at once (a background scan; the view stays responsive); later ones
    /// collect its progress.
    pub fn update(&mut self, lib: &LibraryContext, ctx: &egui::Context) {
        if let Some(paths) = self.compare_request.take() {
            self.compare = Some(Comparison::start(paths, ctx));
        }
        if let Some(c) = &mut self.compare {
            c.poll(ctx);
        }
        if self.after_update && lib.indexing {
            return;
        }
        self.after_update = false;
        if let (None, Some(index)) = (&self.search, lib.index) {
            let mut search = Duplicates::new(lib.near_duplicate_within(index.bits()));
            search.start(index, lib.print_links(), ctx);
            self.search = Some(search);
        }
        // The prints came after the groups were made: make them again with the prints.
        if let (Some(search), Some(index)) = (&mut self.search, lib.index)
            && !search.running()
            && !search.with_prints
            && search.groups.is_some()
            && lib.print_links().is_some()
        {
            search.start(index, lib.print_links(), ctx);
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
        search.start(index, lib.print_links(), ctx);
    }

    /// Drops the groups (the library is being updated under them); they are made again once the update
    /// has ended.
    pub fn forget_search(&mut self) {
        self.search = None;
        self.compare = None;
        self.compare_request = None;
        self.after_update = true;
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
        let mut command = None;
        if let Some(files) = &self.confirm_trash {
            match confirm_trash(files, ui) {
                Some(true) => {
                    command = Some(DuplicatesCommand::Trash(files.clone()));
                    for f in files {
                        self.selected.remove(f);
                    }
                    self.confirm_trash = None;
                }
                Some(false) => self.confirm_trash = None,
                None => {}
            }
        }
        if let Some(comparison) = &self.compare
            && !side_by_side(comparison, dup, ui)
        {
            self.compare = None;
        }
        let selection = Selection {
            selected: &mut self.selected,
            compare: &mut self.compare_request,
            confirm_trash: &mut self.confirm_trash,
        };
        show_search(dup, index, thumbs, selection, ui).or(command)
    }
}

/// The tab's own choices, which its drawing changes (as a slider changes its value).
struct Selection<'a> {
    selected: &'a mut BTreeSet<PathBuf>,
    compare: &'a mut Option<[PathBuf; 2]>,
    confirm_trash: &'a mut Option<Vec<PathBuf>>,
}

/// The confirmation before photos go to the trash, naming each: `Some(true)` to go ahead,
/// `Some(false)` to cancel, `None` while it waits.
fn confirm_trash(files: &[PathBuf], ui: &mut egui::Ui) -> Option<bool> {
    let mut answer = None;
    egui::Modal::new(egui::Id::unique("confirm-trash")).show(ui.ctx(), |ui| {
        ui.set_max_width(560.0);
        ui.heading(format!(
            "Move {} {} to the trash?",
            files.len(),
            if files.len() == 1 { "photo" } else { "photos" }
        ));
        ui.label(
            "They can be restored from the system's trash. Nothing else is moved, and nothing is deleted.",
        );
        egui::ScrollArea::vertical().max_height(240.0).show(ui, |ui| {
            for f in files {
                ui.label(RichText::new(f.display().to_string()).monospace().small());
            }
        });
        ui.horizontal(|ui| {
            if ui.button("Move to the trash").clicked() {
                answer = Some(true);
            }
            if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                answer = Some(false);
            }
        });
    });
    answer
}

/// Two photos side by side, each decoded on a background task at a size fit for a large screen.
pub struct Comparison {
    pub paths: [PathBuf; 2],
    task: Task<PreviewEvent>,
    textures: [Option<egui::TextureHandle>; 2],
    failed: [Option<String>; 2],
}

enum PreviewEvent {
    Ready(usize, egui::ColorImage),
    Failed(usize, String),
}

impl From<Panicked> for PreviewEvent {
    fn from(p: Panicked) -> Self {
        PreviewEvent::Failed(0, format!("the preview {p}"))
    }
}

/// The longest side of a photo in the comparison, in pixels.
const PREVIEW_SIDE: u32 = 960;

impl Comparison {
    fn start(paths: [PathBuf; 2], ctx: &egui::Context) -> Self {
        let job_paths = paths.clone();
        let task = Task::spawn("compare-previews", ctx, move |r| {
            for (k, path) in job_paths.iter().enumerate() {
                if r.cancel.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                let limits = hashlens_core::photo::DecodeLimits::default();
                match hashlens_core::photo::decode_at_least(path, &limits, Some(PREVIEW_SIDE)) {
                    Ok(img) => {
                        let f =
                            (PREVIEW_SIDE as f32 / img.width().max(img.height()) as f32).min(1.0);
                        let size = |n: u32| ((n as f32 * f).round() as u32).max(1);
                        let img =
                            image::imageops::thumbnail(&img, size(img.width()), size(img.height()));
                        let colour = egui::ColorImage::from_rgb(
                            [img.width() as usize, img.height() as usize],
                            img.as_raw(),
                        );
                        r.send(PreviewEvent::Ready(k, colour));
                    }
                    Err(e) => r.send(PreviewEvent::Failed(k, e.to_string())),
                }
            }
        });
        Self {
            paths,
            task,
            textures: [None, None],
            failed: [None, None],
        }
    }

    /// Whether both photos are decoded.
    #[cfg(test)]
    pub fn ready(&self) -> bool {
        self.textures.iter().all(Option::is_some)
    }

    fn poll(&mut self, ctx: &egui::Context) {
        for e in self.task.poll() {
            match e {
                PreviewEvent::Ready(k, image) => {
                    self.textures[k] = Some(ctx.load_texture(
                        format!("compare-{k}"),
                        image,
                        egui::TextureOptions::LINEAR,
                    ));
                }
                PreviewEvent::Failed(k, e) => self.failed[k] = Some(e),
            }
        }
    }
}

impl Drop for Comparison {
    fn drop(&mut self) {
        self.task.cancel();
    }
}

/// Two photos side by side, as large as the view allows, with what differs; `false` once closed.
fn side_by_side(comparison: &Comparison, dup: &Duplicates, ui: &mut egui::Ui) -> bool {
    let member = |p: &PathBuf| dup.groups.iter().flatten().flatten().find(|m| &m.path == p);
    let mut open = true;
    ui.group(|ui| {
        ui.horizontal(|ui| {
            ui.strong("Side by side");
            if ui.button("Close").clicked() {
                open = false;
            }
        });
        ui.horizontal(|ui| {
            let side = ((ui.available_width() - 24.0) / 2.0).clamp(160.0, PREVIEW_SIDE as f32);
            let height = (ui.available_height() * 0.6).clamp(120.0, side);
            for (k, p) in comparison.paths.iter().enumerate() {
                ui.vertical(|ui| {
                    ui.set_width(side);
                    match (&comparison.textures[k], &comparison.failed[k]) {
                        (Some(t), _) => {
                            ui.add(egui::Image::new(t).max_size(Vec2::new(side, height)));
                        }
                        (None, Some(e)) => {
                            ui.colored_label(ui.visuals().error_fg_color, e);
                        }
                        (None, None) => {
                            ui.add_sized([side, height], egui::Spinner::new());
                        }
                    }
                    ui.label(RichText::new(p.display().to_string()).small());
                    if let Some(m) = member(p) {
                        ui.label(caption(m));
                    }
                });
            }
        });
    });
    open
}

/// A photo's size, bytes and date in one line.
fn caption(m: &Member) -> String {
    let dims = m
        .dimensions
        .map(|(w, h)| format!("{w} × {h}"))
        .unwrap_or_else(|| "? × ?".into());
    format!(
        "{dims} · {} · {}",
        megabytes(m.size),
        super::format::minute(m.mtime_ns)
    )
}

fn show_search(
    dup: &mut Duplicates,
    index: &CodeIndex,
    thumbs: &mut Thumbnails,
    choice: Selection,
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
    ui.horizontal(|ui| {
        ui.label(format!("{} groups", groups.len()));
        if dup.with_prints {
            ui.label(RichText::new("· with photos whose perceptual prints match").weak())
                .on_hover_text(
                    "Besides codes within the radius, photos whose perceptual prints (pHash turned, \
                     mirrored or cropped to its centre) lie within the model's calibrated distance are \
                     grouped: turned, mirrored and cropped copies whose codes moved further.",
                );
        }
        let chosen: Vec<&PathBuf> = choice.selected.iter().collect();
        if !chosen.is_empty() {
            ui.separator();
            ui.label(format!("{} selected", chosen.len()));
            if ui
                .add_enabled(chosen.len() == 2, egui::Button::new("Compare side by side"))
                .on_disabled_hover_text("Select two photos to compare them")
                .clicked()
            {
                *choice.compare = Some([chosen[0].clone(), chosen[1].clone()]);
            }
            if ui.button("Move to the trash…").clicked() {
                *choice.confirm_trash = Some(chosen.iter().map(|p| (*p).clone()).collect());
            }
            if ui.button("Clear the selection").clicked() {
                choice.selected.clear();
            }
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("duplicates-tab")
        .auto_shrink(false)
        .show(ui, |ui| {
            for (g, group) in groups.iter().enumerate() {
                ui.push_id(g, |ui| {
                    ui.separator();
                    ui.horizontal(|ui| {
                        let original = &group[0];
                        let name = original
                            .path
                            .file_name()
                            .unwrap_or_default()
                            .to_string_lossy();
                        ui.label(
                            RichText::new(format!(
                                "Suggestion: keep {name}, which the others look like copies of"
                            ))
                            .weak(),
                        );
                        if ui
                            .small_button("Select the others")
                            .on_hover_text(
                                "Ticks the others; nothing happens until you act on them",
                            )
                            .clicked()
                        {
                            choice
                                .selected
                                .extend(group[1..].iter().map(|m| m.path.clone()));
                        }
                        if ui
                            .small_button("Copy list")
                            .on_hover_text(
                                "The group's paths, one per line, the likely original first",
                            )
                            .clicked()
                        {
                            let list: Vec<String> =
                                group.iter().map(|m| m.path.display().to_string()).collect();
                            command = Some(DuplicatesCommand::Copy(list.join("\n")));
                        }
                    });
                    ui.horizontal_wrapped(|ui| {
                        for (k, m) in group.iter().enumerate() {
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
                                let mut ticked = choice.selected.contains(&m.path);
                                if ui
                                    .checkbox(&mut ticked, RichText::new(name).strong().small())
                                    .changed()
                                {
                                    if ticked {
                                        choice.selected.insert(m.path.clone());
                                    } else {
                                        choice.selected.remove(&m.path);
                                    }
                                }
                                ui.label(RichText::new(caption(m)).small());
                                let relation = if k == 0 {
                                    "likely the original".to_string()
                                } else {
                                    let seen = m
                                        .looks_like
                                        .map(|l| format!("likely {}", l.describe()))
                                        .unwrap_or_else(|| "a copy".into());
                                    let unit = if m.distance == 1 { "bit" } else { "bits" };
                                    format!("{seen} · {} {unit} from it", m.distance)
                                };
                                ui.label(RichText::new(relation).small());
                                if ui.small_button("show in folder").clicked() {
                                    command = Some(DuplicatesCommand::Reveal(m.path.clone()));
                                }
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
