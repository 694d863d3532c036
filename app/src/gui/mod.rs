//! The desktop app. This release shows the Hamming playground; folder indexing and search views arrive
//! with the model issues. UI code only draws and records intents: long work belongs on background threads.

mod playground;

use eframe::egui;
use playground::Playground;

/// Opens the main window; returns an error (never panics) when no display is available.
pub fn run() -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("hashlens")
            .with_inner_size([900.0, 600.0])
            .with_min_inner_size([480.0, 360.0]),
        ..Default::default()
    };
    eframe::run_native(
        "hashlens",
        options,
        Box::new(|_cc| Ok(Box::new(HashlensApp::default()))),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot open the hashlens window ({e}). Is a display available (DISPLAY or WAYLAND_DISPLAY)? \
             The command-line tool works without one: hashlens --help"
        )
    })
}

/// Application state: one field per view.
#[derive(Default)]
pub struct HashlensApp {
    playground: Playground,
}

impl HashlensApp {
    /// Draws the whole app into `ui`.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        ui.heading("hashlens");
        ui.label("Similar photos by the Hamming distance between learned binary codes.");
        ui.separator();
        self.playground.show(ui);
    }
}

impl eframe::App for HashlensApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| self.show(ui));
    }
}
