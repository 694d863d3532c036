//! The first view: choose a folder by typing its path, through the system's folder dialog, by dropping it
//! on the window, or from the recent ones.
//!
//! The dialog (rfd) runs on its own thread: on Linux desktops without a portal or zenity it can return
//! nothing or never return, and the window must stay usable — the path field always works.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eframe::egui::{self, RichText};
use hashlens_core::index::{MappedIndex, index_path_for};

use super::dialog::{Dialog, Pick};
use super::playground::Playground;

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
    /// What each recent folder holds ("1,204 photos · indexed 2026-12-01"), read from its index's
    /// header once, outside drawing (`refresh_recent`).
    recent_summaries: HashMap<PathBuf, String>,
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
    pub fn refresh_recent(&mut self, recent: &[PathBuf], data_dir: &Path) {
        for folder in recent {
            if !self.recent_summaries.contains_key(folder) {
                let summary = summarise(folder, data_dir);
                self.recent_summaries.insert(folder.clone(), summary);
            }
        }
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
        ui.add_space(16.0);
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
        ui.add_space(8.0);
        let demo = ui.button("Open the demo library").on_hover_text(
            "16 public-domain photos, five of them near-duplicates of others: try clicking the cat",
        );
        if demo.clicked() {
            chosen = Some(Choice::Demo);
        }
        if let Some(e) = &self.error {
            ui.colored_label(super::colours::ERROR, e);
        }
        if !recent.is_empty() {
            ui.add_space(16.0);
            ui.strong("Recent folders");
            for folder in recent {
                ui.horizontal(|ui| {
                    if ui.link(folder.display().to_string()).clicked() {
                        chosen = self.check(folder.clone()).map(Choice::Folder);
                    }
                    if let Some(summary) = self.recent_summaries.get(folder) {
                        ui.label(RichText::new(summary).weak());
                    }
                });
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

/// "1,204 photos · indexed 2026-12-01" for a folder with an index, "not indexed yet" without one.
fn summarise(folder: &Path, data_dir: &Path) -> String {
    let path = index_path_for(folder, data_dir);
    match MappedIndex::open(&path) {
        Ok(index) => {
            let when = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| format!(" · indexed {}", super::format::day(d.as_nanos() as u64)))
                .unwrap_or_default();
            let n = index.len();
            format!(
                "{} photo{}{when}",
                super::format::count(n),
                if n == 1 { "" } else { "s" }
            )
        }
        Err(_) if !path.exists() => "not indexed yet".into(),
        Err(_) => "its index cannot be read: it will be rebuilt".into(),
    }
}
