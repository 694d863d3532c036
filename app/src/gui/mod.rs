//! The desktop app: a welcome view to choose a folder, then the library view (thumbnail grid, results
//! ranked by Hamming distance, the bits themselves). UI code only draws and records intents: scanning,
//! encoding and thumbnail decoding run on background threads that report through channels.

mod bits;
mod charts;
mod codes_view;
mod colours;
mod context;
mod demo;
mod dialog;
mod duplicates;
mod flip_test;
mod format;
mod hash_compare;
mod indexer;
mod library;
mod library_view;
mod map_view;
mod model_view;
mod playground;
mod presentation;
mod prints;
mod quality;
mod task;
mod thumbs;
mod training;
mod welcome;

use std::path::{Path, PathBuf};

use eframe::egui;
use hashlens_core::device::DeviceChoice;
use serde::{Deserialize, Serialize};

use library::Library;
use library_view::LibraryIntent;
use welcome::{Choice, Welcome};

/// Opens the main window (on `folder` when given); returns an error (never panics) when no display is
/// available.
pub fn run(folder: Option<PathBuf>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("hashlens")
            .with_app_id("hashlens")
            .with_icon(icon())
            .with_inner_size([1200.0, 800.0])
            .with_min_inner_size([640.0, 420.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "hashlens",
        options,
        Box::new(move |cc| {
            let settings = cc
                .storage
                .and_then(|s| s.get_string(SETTINGS_KEY))
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default();
            let mut app = HashlensApp::new(settings);
            if let Some(folder) = folder {
                app.open(&folder, &cc.egui_ctx);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot open the hashlens window ({e}). Is a display available (DISPLAY or WAYLAND_DISPLAY)? \
             The command-line tool works without one: hashlens --help"
        )
    })
}

/// The window icon: the packaging icon, embedded.
fn icon() -> egui::IconData {
    let png = include_bytes!("../../../assets/icon.png");
    let img = image::load_from_memory(png)
        .expect("the embedded icon is a PNG")
        .into_rgba8();
    egui::IconData {
        width: img.width(),
        height: img.height(),
        rgba: img.into_raw(),
    }
}

const SETTINGS_KEY: &str = "hashlens-settings";

/// What persists between runs (eframe's storage, as JSON).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Settings {
    /// Most recent first.
    pub recent: Vec<PathBuf>,
    pub dark: Option<bool>,
    pub device: Option<DeviceChoice>,
}

enum Screen {
    Welcome,
    Library(Box<Library>),
}

pub struct HashlensApp {
    pub settings: Settings,
    /// Where the demo library is written (the platform's data folder; a temporary one in tests).
    pub data_dir: PathBuf,
    /// Where thumbnails are cached (the platform's cache folder; none in tests).
    pub thumbnail_cache: Option<PathBuf>,
    welcome: Welcome,
    screen: Screen,
    /// Presentation mode (F5): larger, full contrast, one line explaining the view.
    pub presentation: presentation::Presentation,
    /// The dialog choosing an outside photo to search with.
    query_dialog: Option<dialog::Dialog>,
    /// CPU time of each frame drawn while indexing ran and while fine-tuning ran, in seconds (kept when
    /// HASHLENS_FRAME_STATS is set).
    frame_times: Option<[Vec<f32>; 2]>,
}

/// What the "Search with a photo…" dialog offers (any file can still be pasted or dropped).
const QUERY_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "webp", "tif", "tiff", "bmp", "gif", "heic", "heif", "avif", "dng",
    "cr2", "cr3", "nef", "arw", "raf", "orf", "rw2", "JPG", "JPEG", "PNG", "HEIC",
];

impl HashlensApp {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            data_dir: hashlens_core::index::data_dir(),
            thumbnail_cache: thumbs::disk_cache_dir(),
            welcome: Welcome::default(),
            screen: Screen::Welcome,
            presentation: Default::default(),
            query_dialog: None,
            frame_times: std::env::var_os("HASHLENS_FRAME_STATS").map(|_| Default::default()),
        }
    }

    /// Opens `folder` in the library view and starts indexing it.
    pub fn open(&mut self, folder: &Path, ctx: &egui::Context) {
        let Some(folder) = self.welcome.check(folder.to_path_buf()) else {
            self.screen = Screen::Welcome;
            return;
        };
        // A folder already listed keeps its place, so that the same spot opens the same folder; a
        // new one goes first.
        if !self.settings.recent.contains(&folder) {
            self.settings.recent.insert(0, folder.clone());
            self.settings.recent.truncate(8);
        }
        let device = self.settings.device.unwrap_or_default();
        let cache = self.thumbnail_cache.clone();
        let library = Library::open(&folder, device, cache, &self.data_dir, ctx);
        self.screen = Screen::Library(Box::new(library));
    }

    /// The opened library, if any.
    #[cfg(test)]
    pub fn library(&self) -> Option<&Library> {
        match &self.screen {
            Screen::Library(l) => Some(l),
            Screen::Welcome => None,
        }
    }

    #[cfg(test)]
    pub fn library_mut(&mut self) -> Option<&mut Library> {
        match &mut self.screen {
            Screen::Library(l) => Some(l),
            Screen::Welcome => None,
        }
    }

    /// Draws the whole app into `ui`.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if let Some(dark) = self.settings.dark {
            ctx.set_theme(if dark {
                egui::Theme::Dark
            } else {
                egui::Theme::Light
            });
        }
        // A folder dropped on the window opens it; a photo dropped on a library searches with it.
        let dropped: Option<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .find(|p| !p.as_os_str().is_empty())
        });
        // So does a path pasted while no text field has the keyboard, and a photo chosen in the dialog.
        let pasted: Option<PathBuf> = if ctx.memory(|m| m.focused().is_none()) {
            ctx.input(|i| {
                i.events.iter().find_map(|e| match e {
                    egui::Event::Paste(text) => {
                        Some(PathBuf::from(text.trim())).filter(|p| p.exists())
                    }
                    _ => None,
                })
            })
        } else {
            None
        };
        let chosen = match self.query_dialog.as_ref().and_then(dialog::Dialog::poll) {
            Some(answer) => {
                self.query_dialog = None;
                match answer {
                    Ok(photo) => photo,
                    Err(e) => {
                        if let Screen::Library(lib) = &mut self.screen {
                            lib.warnings.push(e.to_string());
                        }
                        None
                    }
                }
            }
            None => None,
        };
        match (dropped.or(pasted).or(chosen), &mut self.screen) {
            (Some(path), _) if path.is_dir() => self.open(&path, &ctx),
            (Some(photo), Screen::Library(lib)) => {
                lib.query_by_file(&photo, self.settings.device.unwrap_or_default(), &ctx)
            }
            _ => {}
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::F5)) {
            self.presentation.toggle(&ctx);
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Q)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::O)) {
            // The library stays open until a folder is chosen.
            self.welcome.choose_folder(&ctx);
        }
        if let Screen::Library(lib) = &mut self.screen {
            if let Some(folder) = self.welcome.poll_dialog() {
                self.open(&folder, &ctx);
            } else if let Some(e) = self.welcome.error.take() {
                // No dialog on this system: the welcome screen has the path field, and says why.
                lib.cancel();
                self.welcome.error = Some(e);
                self.screen = Screen::Welcome;
            }
        }
        let mut theme = self
            .settings
            .dark
            .unwrap_or(ctx.theme() == egui::Theme::Dark);
        let on_screen = match &self.screen {
            Screen::Welcome => presentation::OnScreen::Welcome,
            Screen::Library(lib) => presentation::OnScreen::Library {
                tab: lib.tab,
                query: lib.query_code().is_some(),
            },
        };
        self.presentation.show_line(ui, on_screen);
        if matches!(self.screen, Screen::Welcome) {
            self.welcome.refresh_recent(
                &ctx,
                &self.settings.recent,
                &self.data_dir,
                self.thumbnail_cache.as_deref(),
            );
        }
        let mut present = false;
        let intent = match &mut self.screen {
            Screen::Welcome => {
                let chosen = egui::CentralPanel::default()
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                                if ui.selectable_label(theme, "Dark theme").clicked() {
                                    theme = !theme;
                                    self.settings.dark = Some(theme);
                                }
                                present = ui
                                    .selectable_label(self.presentation.on, "Presenting (F5)")
                                    .on_hover_text(
                                        "Everything half as large again, full-contrast text, and \
                                         one line saying what the view shows. F5 anywhere.",
                                    )
                                    .clicked();
                            });
                        });
                        self.welcome.show(ui, &self.settings.recent)
                    })
                    .inner;
                match chosen {
                    Some(Choice::Folder(folder)) => self.open(&folder, &ctx),
                    Some(Choice::Demo) => match demo::demo_folder(&self.data_dir) {
                        Ok(folder) => self.open(&folder, &ctx),
                        Err(e) => {
                            self.welcome.error = Some(format!("cannot write the demo library: {e}"))
                        }
                    },
                    None => {}
                }
                LibraryIntent::None
            }
            Screen::Library(lib) => {
                lib.poll(&ctx);
                library_view::show(lib, ui)
            }
        };
        if present {
            self.presentation.toggle(&ctx);
        }
        match intent {
            LibraryIntent::None => {}
            LibraryIntent::Close => {
                if let Screen::Library(lib) = &self.screen {
                    lib.cancel();
                    self.welcome.forget(&lib.folder);
                }
                self.screen = Screen::Welcome;
            }
            LibraryIntent::Reindex => {
                let device = self.settings.device.unwrap_or_default();
                if let Screen::Library(lib) = &mut self.screen {
                    lib.reindex(device, &ctx);
                }
            }
            LibraryIntent::ChooseQueryPhoto if self.query_dialog.is_none() => {
                let pick = dialog::Pick::File {
                    kind: "photo",
                    extensions: QUERY_EXTENSIONS,
                };
                match dialog::Dialog::open(&ctx, "Search with a photo", pick) {
                    Ok(d) => self.query_dialog = Some(d),
                    Err(e) => {
                        if let Screen::Library(lib) = &mut self.screen {
                            lib.warnings.push(e);
                        }
                    }
                }
            }
            LibraryIntent::ChooseQueryPhoto => {}
        }
    }
}

impl eframe::App for HashlensApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.show(ui);
        let busy = match &self.screen {
            Screen::Library(l) => [l.indexing(), l.model_panel.training()],
            Screen::Welcome => [false, false],
        };
        if let (Some(times), Some(cpu)) = (&mut self.frame_times, frame.info().cpu_usage) {
            for (t, _) in times.iter_mut().zip(busy).filter(|(_, b)| *b) {
                t.push(cpu);
            }
        }
    }

    /// With HASHLENS_FRAME_STATS set, prints how long frames took while indexing and fine-tuning ran.
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        let Some(times) = self.frame_times.take() else {
            return;
        };
        if let Screen::Library(lib) = &self.screen {
            eprintln!("{}", lib.timeline.summary());
        }
        for (mut t, what) in times.into_iter().zip(["indexing", "fine-tuning"]) {
            if t.is_empty() {
                continue;
            }
            t.sort_by(f32::total_cmp);
            let ms = |q: f64| 1000.0 * t[((t.len() - 1) as f64 * q) as usize];
            eprintln!(
                "frames while {what}: {}, median {:.2} ms, p99 {:.2} ms, max {:.2} ms (CPU time per frame)",
                t.len(),
                ms(0.5),
                ms(0.99),
                ms(1.0)
            );
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if let Ok(json) = serde_json::to_string(&self.settings) {
            storage.set_string(SETTINGS_KEY, json);
        }
    }
}

#[cfg(test)]
mod tests;
