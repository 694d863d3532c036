//! The first view: choose a folder by typing its path, through the system's folder dialog, by dropping it
//! on the window, or from the recent ones.
//!
//! The dialog (rfd) runs on its own thread: on Linux desktops without a portal or zenity it can return
//! nothing or never return, and the window must stay usable — the path field always works.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

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
                if ui.link(folder.display().to_string()).clicked() {
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
