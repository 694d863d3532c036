//! Presentation mode (F5): for a room rather than a desk. Everything is drawn half as large again (bit
//! cells from 11 to 16.5 points), text at full contrast, and one line at the top says what the view on
//! screen shows, in words an audience follows. F5 again returns to the desk.

use eframe::egui::{self, Color32};

use super::library::Tab;

/// How much larger everything is drawn while presenting.
pub const ZOOM: f32 = 1.5;

/// Whether the app is presenting, and the zoom to go back to.
#[derive(Debug, Default)]
pub struct Presentation {
    pub on: bool,
    zoom_before: f32,
}

/// What is on screen, for the explanation line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnScreen {
    Welcome,
    Library { tab: Tab, query: bool },
}

impl Presentation {
    /// Switches presentation mode on or off.
    pub fn toggle(&mut self, ctx: &egui::Context) {
        self.on = !self.on;
        if self.on {
            self.zoom_before = ctx.zoom_factor();
            ctx.set_zoom_factor(self.zoom_before * ZOOM);
        } else {
            ctx.set_zoom_factor(self.zoom_before.max(0.2));
        }
        let on = self.on;
        ctx.all_styles_mut(|style| {
            let full = if style.visuals.dark_mode {
                Color32::WHITE
            } else {
                Color32::BLACK
            };
            style.visuals.override_text_color = on.then_some(full);
        });
    }

    /// The line that explains `view` while presenting.
    pub fn line(view: OnScreen) -> &'static str {
        match view {
            OnScreen::Welcome => {
                "hashlens gives every photo a short binary code; similar photos get codes that differ \
                 in few bits. Open the demo to see it."
            }
            OnScreen::Library {
                tab: Tab::Photos,
                query: false,
            } => {
                "Click a photo: every other photo is ranked by how many bits of its 64-bit code differ."
            }
            OnScreen::Library {
                tab: Tab::Photos,
                query: true,
            } => {
                "Each square is one bit of the query's code. Orange marks the bits in which a result \
                 differs: their count is the Hamming distance."
            }
            OnScreen::Library {
                tab: Tab::Duplicates,
                ..
            } => "Copies of a photo (resized, recompressed, cropped) land only a few bits apart.",
            OnScreen::Library { tab: Tab::Map, .. } => {
                "Each photo sits where its code puts it: photos whose codes differ in few bits land \
                 close together."
            }
            OnScreen::Library {
                tab: Tab::Codes, ..
            } => {
                "A good code sets each bit for about half the photos, and its bits do not repeat each \
                 other."
            }
            OnScreen::Library {
                tab: Tab::Model, ..
            } => {
                "Fine-tuning pulls the codes of one class together and pushes classes apart: the loss \
                 falls, the mAP rises."
            }
        }
    }

    /// Draws the explanation line across the top while presenting.
    pub fn show_line(&self, ui: &mut egui::Ui, view: OnScreen) {
        if !self.on {
            return;
        }
        egui::Panel::top("presentation-line").show(ui, |ui| {
            ui.add_space(4.0);
            ui.label(egui::RichText::new(Self::line(view)).size(18.0).strong());
            ui.add_space(4.0);
        });
    }
}
