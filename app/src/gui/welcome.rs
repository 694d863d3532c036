//! The first view, a place to start from: the demo library first (a presenter's one click), what the app
//! does and what a code is in two lines, a folder by its path, the system's folder dialog or a drop, and
//! the recent folders with a thumbnail and what each holds.
//!
//! The dialog (rfd) runs on its own thread: on Linux desktops without a portal or zenity it can return
//! nothing or never return, and the window must stay usable — the path field always works.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eframe::egui::{self, RichText};
use hashlens_core::index::{MappedIndex, index_path_for};

use super::dialog::{Dialog, Pick};
use super::playground::Playground;
use super::thumbs::Thumbnails;

/// What the user chose on the welcome view.
#[derive(Debug, PartialEq)]
pub enum Choice {
    Folder(PathBuf),
    Demo,
}

#[derive(Default)]
pub struct Welcome {
    pub path: String,
    dialog: Option<Dialog>,
    pub error: Option<String>,
    playground: Playground,
    /// What each recent folder holds, read from its index once, outside drawing (`refresh_recent`).
    recent_summaries: HashMap<PathBuf, Summary>,
    /// Thumbnails of the recent folders' first photos, made on a worker thread.
    thumbs: Option<Thumbnails>,
}

/// A recent folder as the welcome view shows it.
struct Summary {
    /// "1,204 photos · indexed 2026-12-01", or why there is no count.
    text: String,
    /// The folder's first indexed photo, for its thumbnail.
    photo: Option<PathBuf>,
}

impl Welcome {
    /// Opens the system's folder dialog without blocking the window.
    pub fn choose_folder(&mut self, ctx: &egui::Context) {
        if self.dialog.is_some() {
            return;
        }
        self.error = None;
        match Dialog::open(ctx, "Choose a photo folder", Pick::Folder) {
            Ok(d) => self.dialog = Some(d),
            Err(e) => self.error = Some(e),
        }
    }

    /// The folder chosen in the dialog once it has closed (`None` while it is open, or when it was
    /// cancelled; a system without a dialog leaves its error in `error`). Polled by whichever screen is
    /// shown: Ctrl+O opens the dialog over an open library.
    pub fn poll_dialog(&mut self) -> Option<PathBuf> {
        let answer = self.dialog.as_ref().and_then(Dialog::poll)?;
        self.dialog = None;
        answer.unwrap_or_else(|e| {
            self.error = Some(e.to_string());
            None
        })
    }

    /// Reads what the recent folders not yet summarised hold: their indexes' headers (memory-mapped; no
    /// photo is read). Called before drawing, so the view only shows what is known.
    pub fn refresh_recent(
        &mut self,
        ctx: &egui::Context,
        recent: &[PathBuf],
        data_dir: &Path,
        thumbnail_cache: Option<&Path>,
    ) {
        self.thumbs
            .get_or_insert_with(|| {
                Thumbnails::new(
                    ctx,
                    1,
                    2 * RECENT_SHOWN,
                    thumbnail_cache.map(Path::to_path_buf),
                )
            })
            .poll(ctx);
        for folder in recent {
            if !self.recent_summaries.contains_key(folder) {
                let summary = summarise(folder, data_dir);
                self.recent_summaries.insert(folder.clone(), summary);
            }
        }
    }

    /// Thumbnails of recent folders ready to draw.
    #[cfg(test)]
    pub fn thumbnails_ready(&self) -> usize {
        self.thumbs.as_ref().map_or(0, Thumbnails::ready)
    }

    /// Forgets what `folder` held (it was just open, and may hold more now).
    pub fn forget(&mut self, folder: &Path) {
        self.recent_summaries.remove(folder);
    }

    /// Draws the view; returns what the user chose.
    pub fn show(&mut self, ui: &mut egui::Ui, recent: &[PathBuf]) -> Option<Choice> {
        let mut chosen = self.poll_dialog().map(Choice::Folder);
        ui.add_space(16.0);
        ui.heading(RichText::new("hashlens").size(32.0));
        ui.label("Find similar photos by the Hamming distance between binary hash codes.");
        ui.label(
            RichText::new(
                "Each photo becomes a code of 64 bits; similar photos get codes that differ in few \
                 bits, so finding them is counting the bits that differ.",
            )
            .weak(),
        );
        ui.add_space(16.0);
        ui.horizontal(|ui| {
            let demo = ui.add(
                egui::Button::new(RichText::new("Open the demo library").size(20.0))
                    .min_size(egui::vec2(0.0, 40.0)),
            );
            if demo.clicked() {
                chosen = Some(Choice::Demo);
            }
            ui.label(
                "16 public-domain photos, five of them near-duplicates of others: click the cat.",
            );
        });
        ui.add_space(16.0);
        ui.strong("Your photos");
        ui.horizontal(|ui| {
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.path)
                    .hint_text("/path/to/photos")
                    .desired_width(420.0),
            );
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Open").clicked() || enter {
                chosen = self
                    .check(PathBuf::from(self.path.trim()))
                    .map(Choice::Folder);
            }
            let waiting = self.dialog.is_some();
            let pick = ui.add_enabled(!waiting, egui::Button::new("Choose folder…"));
            if pick.on_hover_text("Ctrl+O").clicked() {
                self.choose_folder(ui.ctx());
            }
            if waiting {
                ui.spinner();
                ui.label("waiting for the folder dialog (or type a path)");
            }
        });
        ui.label(
            RichText::new("…or drop a folder on this window. Photos are indexed on your computer; nothing leaves it.")
                .weak(),
        );
        if let Some(e) = &self.error {
            ui.colored_label(super::colours::ERROR, e);
        }
        if !recent.is_empty() {
            ui.add_space(16.0);
            ui.strong("Recent folders");
            for folder in recent.iter().take(RECENT_SHOWN) {
                let summary = self.recent_summaries.get(folder);
                let thumb = summary
                    .and_then(|s| s.photo.as_deref())
                    .zip(self.thumbs.as_mut())
                    .and_then(|(photo, thumbs)| thumbs.get(photo).cloned());
                let open = ui
                    .horizontal(|ui| {
                        let side = egui::vec2(RECENT_THUMB, RECENT_THUMB);
                        let picture = match &thumb {
                            Some(t) => ui.add(
                                egui::Image::new(t)
                                    .fit_to_exact_size(side)
                                    .sense(egui::Sense::click()),
                            ),
                            None => ui.allocate_response(side, egui::Sense::click()),
                        };
                        let link = ui.link(folder.display().to_string());
                        if let Some(summary) = summary {
                            ui.label(RichText::new(&summary.text).weak());
                        }
                        picture.clicked() || link.clicked()
                    })
                    .inner;
                if open {
                    chosen = self.check(folder.clone()).map(Choice::Folder);
                }
            }
        }
        ui.add_space(24.0);
        egui::CollapsingHeader::new("Hamming playground: what a distance between codes is")
            .id_salt("playground")
            .show(ui, |ui| self.playground.show(ui));
        chosen
    }

    /// The folder if it is one; otherwise says why not.
    pub fn check(&mut self, folder: PathBuf) -> Option<PathBuf> {
        if folder.is_dir() {
            self.error = None;
            Some(folder)
        } else {
            self.error = Some(format!("{} is not a folder", folder.display()));
            None
        }
    }
}

/// Recent folders listed.
const RECENT_SHOWN: usize = 8;

/// Side of a recent folder's thumbnail, in points.
const RECENT_THUMB: f32 = 48.0;

/// A folder's summary, with its first photo for the thumbnail.
fn summarise(folder: &Path, data_dir: &Path) -> Summary {
    let path = index_path_for(folder, data_dir);
    let no_index = |text: &str| Summary {
        text: text.into(),
        photo: None,
    };
    match MappedIndex::open(&path) {
        Ok(index) => {
            let when = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| format!(" · indexed {}", super::format::day(d.as_nanos() as u64)))
                .unwrap_or_default();
            let n = index.len();
            Summary {
                text: format!(
                    "{} photo{}{when}",
                    hashlens_core::eval::thousands(n as u64),
                    if n == 1 { "" } else { "s" }
                ),
                photo: (n > 0).then(|| index.photo_path(0).ok()).flatten(),
            }
        }
        Err(_) if !path.exists() => no_index("not indexed yet"),
        Err(_) => no_index("its index cannot be read: it will be rebuilt"),
    }
}
