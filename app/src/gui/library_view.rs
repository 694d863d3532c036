//! Drawing a [`Library`]: the virtualised thumbnail grid, the results panel with distances and bits, the
//! status bar with indexing progress. The Photos view reads the library and records what the user asks
//! as [`LibraryCommand`]s, which [`Library::apply`] carries out after the frame; the tabs that own their
//! state (near-duplicates, codes, model) draw themselves. Never waits on work.

use std::path::Path;

use eframe::egui::{self, Color32, Key, RichText, Sense, Vec2};
use hashlens_core::HashCode;
use hashlens_core::eval::VerdictRule;
use hashlens_core::index::DEFAULT_BITS;

use super::bits::{code_grid, xor_strip};
use super::colours;
use super::context::LibraryContext;
use super::duplicates::DuplicatesCommand;
use super::library::{Before, Library, LibraryCommand, Tab, same_folder_at_10};
use super::map_view::{Highlights, MapCommand};
use super::model_view::ModelIntent;

/// Side of a grid cell.
const CELL: f32 = 132.0;

/// What the user asked for that the app (not the library) handles.
#[derive(Debug, PartialEq)]
pub enum LibraryIntent {
    None,
    Close,
    Reindex,
    /// Pick a photo from outside the library to search with.
    ChooseQueryPhoto,
}

/// How a distance (and, where both photos have a perceptual print, the prints' distance) reads to a
/// person under `rule` ([`VerdictRule`], shared with the edit benchmark).
pub fn verdict(rule: &VerdictRule, distance: u32, print: Option<u32>) -> &'static str {
    rule.of_pair(distance, print).name()
}

/// A share as a percentage that does not round a near-certainty up to 100 % (or a rarity down to 0 %).
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 99.0 && p < 100.0 {
        format!("{:.1} %", (p * 10.0).floor() / 10.0)
    } else if p > 0.0 && p < 1.0 {
        format!("{:.1} %", (p * 10.0).ceil() / 10.0)
    } else {
        format!("{p:.0} %")
    }
}

/// Similarity in percent: the share of bits in which two codes agree.
pub fn similarity(distance: u32, bits: usize) -> f32 {
    100.0 * (1.0 - distance as f32 / bits as f32)
}

pub fn show(lib: &mut Library, ui: &mut egui::Ui) -> LibraryIntent {
    let mut intent = LibraryIntent::None;
    let mut commands = Vec::new();
    egui::Panel::top("library-top").show(ui, |ui| {
        ui.horizontal(|ui| {
            if ui
                .button("Folders")
                .on_hover_text("Back to the folder list")
                .clicked()
            {
                intent = LibraryIntent::Close;
            }
            ui.separator();
            let mut shown = lib.tab;
            for (tab, name) in [
                (Tab::Photos, "Photos"),
                (Tab::Duplicates, "Near-duplicates"),
                (Tab::Map, "Map"),
                (Tab::Codes, "Codes"),
                (Tab::Model, "Model"),
            ] {
                ui.selectable_value(&mut shown, tab, name);
            }
            if shown != lib.tab {
                commands.push(LibraryCommand::ShowTab(shown));
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .add_enabled(!lib.indexing(), egui::Button::new("Re-index"))
                    .clicked()
                {
                    intent = LibraryIntent::Reindex;
                }
                if ui
                    .add_enabled(
                        lib.index.is_some(),
                        egui::Button::new("Search with a photo…"),
                    )
                    .on_hover_text(
                        "A photo from anywhere, encoded by this library's model (or drop one on \
                         the window, or paste its path)",
                    )
                    .clicked()
                {
                    intent = LibraryIntent::ChooseQueryPhoto;
                }
                // The folder takes what room is left between the tabs and the buttons, shortened with
                // "…" (whole on hover), so that the bar fits at any window size and in presentation mode.
                ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                    ui.separator();
                    let folder = lib.folder.display().to_string();
                    ui.add(egui::Label::new(egui::RichText::new(&folder).strong()).truncate())
                        .on_hover_text(folder);
                });
            });
        });
    });
    status_bar(lib, ui, &mut commands);
    // The results belong to the photos: the Codes and Model tabs get the whole width.
    if lib.tab == Tab::Photos && lib.query_code().is_some() {
        egui::Panel::right("results")
            .default_size(420.0)
            .min_size(300.0)
            .show(ui, |ui| results_panel(lib, ui, &mut commands));
    }
    egui::CentralPanel::default().show(ui, |ui| match lib.tab {
        Tab::Photos => grid(lib, ui, &mut commands),
        Tab::Duplicates => {
            let view = LibraryContext {
                indexing: lib.indexing(),
                folder: &lib.folder,
                index: lib.index.as_ref(),
                verdicts: lib.verdicts.as_ref().map(|(_, rule)| rule),
                prints: lib.prints.current(),
            };
            match lib.duplicates.show(&view, &mut lib.thumbs.borrow_mut(), ui) {
                Some(DuplicatesCommand::SearchWith(i)) => commands.extend([
                    LibraryCommand::Select(i),
                    LibraryCommand::ShowTab(Tab::Photos),
                ]),
                Some(DuplicatesCommand::SearchAgain) => {
                    commands.push(LibraryCommand::SearchDuplicatesAgain)
                }
                Some(DuplicatesCommand::Reveal(path)) => {
                    commands.push(LibraryCommand::Reveal(path))
                }
                Some(DuplicatesCommand::Copy(text)) => ui.ctx().copy_text(text),
                Some(DuplicatesCommand::Trash(paths)) => {
                    commands.push(LibraryCommand::Trash(paths))
                }
                None => {}
            }
        }
        Tab::Map => {
            let results: Vec<usize> = lib.results.iter().take(10).map(|n| n.index).collect();
            let highlights = Highlights {
                query: lib.selected,
                results: &results,
            };
            let view = lib.context();
            if let Some(MapCommand::SearchWith(i)) =
                lib.map
                    .show(&view, &mut lib.thumbs.borrow_mut(), highlights, ui)
            {
                commands.extend([
                    LibraryCommand::Select(i),
                    LibraryCommand::ShowTab(Tab::Photos),
                ]);
            }
        }
        Tab::Codes => {
            // Each tab keeps its own scroll position.
            egui::ScrollArea::vertical()
                .id_salt("codes-tab")
                .show(ui, |ui| lib.codes.show(&lib.context(), ui));
        }
        Tab::Model => {
            let settings = &lib.model_panel.settings;
            let out = lib.trained_model_path(settings.method, settings.bits);
            let device = lib.device_choice;
            let photos = lib.index.as_ref().map_or(&[][..], |i| i.photos());
            let codes = (
                lib.index.as_ref().map_or(DEFAULT_BITS, |i| i.bits()),
                lib.purpose,
            );
            let shown = egui::ScrollArea::vertical()
                .id_salt("model-tab")
                .show(ui, |ui| {
                    lib.model_panel
                        .show(ui, &lib.folder, &lib.model, codes, photos, out, device)
                })
                .inner;
            match shown {
                ModelIntent::UseModel(path) => commands.push(LibraryCommand::UseModel(path)),
                ModelIntent::UseDefault {
                    refit,
                    bits,
                    purpose,
                } => commands.push(LibraryCommand::UseDefault {
                    refit,
                    bits,
                    purpose,
                }),
                ModelIntent::None => {}
            }
        }
    });
    // Esc clears the query; it never closes the library (one key too many would lose the view on
    // stage): "Folders" does that.
    if ui.input(|i| i.key_pressed(Key::Escape)) && lib.query_code().is_some() {
        commands.push(LibraryCommand::ClearQuery);
    }
    lib.apply(commands, ui.ctx());
    intent
}

fn status_bar(lib: &Library, ui: &mut egui::Ui, commands: &mut Vec<LibraryCommand>) {
    egui::Panel::bottom("library-status").show(ui, |ui| {
        ui.add_space(2.0);
        if let Some(p) = &lib.progress {
            ui.horizontal(|ui| {
                let frac = if p.total > 0 { p.done as f32 / p.total as f32 } else { 0.0 };
                let eta = p
                    .eta()
                    .map(|s| format!(", about {} left", super::format::duration(s)))
                    .unwrap_or_default();
                // A one-step stage (the fit) has no count worth showing.
                let text = if p.total > 1 {
                    format!("{} {}/{}", p.stage, p.done, p.total)
                } else {
                    format!("{}…", p.stage)
                };
                ui.add(
                    egui::ProgressBar::new(frac)
                        .desired_width(320.0)
                        .animate(p.total <= 1)
                        .text(text),
                );
                ui.label(format!("{:.1} photos/s{eta}", p.rate()));
                let cancel = ui.add_enabled(!lib.cancelling(), egui::Button::new("Cancel"));
                if cancel.clicked() {
                    commands.push(LibraryCommand::CancelIndexing);
                }
            });
        } else if lib.indexing() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Scanning the folder and preparing the model…");
                if ui.add_enabled(!lib.cancelling(), egui::Button::new("Cancel")).clicked() {
                    commands.push(LibraryCommand::CancelIndexing);
                }
            });
        }
        if lib.encoding() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Encoding the dropped photo…");
            });
        }
        if let (Some((done, total)), false) = (lib.prints.progress, lib.indexing()) {
            ui.horizontal(|ui| {
                let frac = if total > 0 { done as f32 / total as f32 } else { 0.0 };
                let eta = lib
                    .prints
                    .seconds_left()
                    .map(|s| format!(", about {} left", super::format::duration(s)))
                    .unwrap_or_default();
                ui.add(
                    egui::ProgressBar::new(frac)
                        .desired_width(320.0)
                        .text(format!("perceptual prints {done}/{total}")),
                )
                .on_hover_text(
                    "Each photo's pHash turned, mirrored and cropped to its centre: where two photos \
                     have one, the near-duplicate verdict reads it beside their codes and finds more \
                     edited copies. Searching does not wait for it.",
                );
                ui.label(format!("for the near-duplicate verdict{eta}"));
                if ui
                    .button("Stop")
                    .on_hover_text("Stop computing the prints; those finished are kept")
                    .clicked()
                {
                    commands.push(LibraryCommand::CancelPrints);
                }
            });
        }
        ui.horizontal_wrapped(|ui| {
            let n = lib.index.as_ref().map_or(0, |i| i.len());
            ui.label(format!("{n} photos searchable"));
            if lib.provisional {
                ui.label("for now with the shipped reference codes")
                    .on_hover_text(
                        "Until this folder's own codes are fitted, photos are searchable with PCA + ITQ \
                         fitted on 2,000 CIFAR-10 photos. When the fit ends, every photo gets this \
                         folder's codes (in seconds: the photos already read are not read again), \
                         and the query stays selected.",
                    );
            }
            ui.separator();
            ui.label(format!("device: {}", lib.device));
            if !lib.model.is_empty() {
                ui.separator();
                ui.label(format!("model: {}", lib.model)).on_hover_text(
                    "What makes the codes: the signs of projections of a network's features. The \
                     Model tab says more, and can fit or fine-tune one on this folder.",
                );
            }
            if let Some(r) = &lib.last_report {
                ui.separator();
                let encoded = if r.encoded > 0 {
                    format!("{} encoded at {:.1}/s", r.encoded, r.images_per_s)
                } else {
                    "nothing new to encode".to_string()
                };
                ui.label(format!(
                    "last run: {encoded}, {} unchanged, {} removed{}",
                    r.kept,
                    r.removed,
                    if r.cancelled { " (cancelled)" } else { "" }
                ));
            }
        });
        if let Some(e) = &lib.error {
            ui.colored_label(colours::ERROR, format!("Indexing stopped: {e}"));
        }
        for w in &lib.warnings {
            ui.colored_label(colours::WARNING, w);
        }
        if !lib.skipped.is_empty() {
            egui::CollapsingHeader::new(format!("{} files skipped", lib.skipped.len()))
                .id_salt("skipped")
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().max_height(120.0).show(ui, |ui| {
                        for s in &lib.skipped {
                            ui.label(format!("{}: {}", s.path, s.reason));
                        }
                    });
                });
        }
    });
}

/// `roll3/IMG_0004.jpg · 2026-11-02`: where a photo is in the library and the day its file was last
/// changed (phones name every folder's photos `IMG_0001.jpg`, so a bare name says little).
pub(super) fn photo_caption(folder: &Path, photo: &hashlens_core::index::IndexedPhoto) -> String {
    let relative = photo.path.strip_prefix(folder).unwrap_or(&photo.path);
    format!(
        "{} · {}",
        relative.display(),
        super::format::day(photo.mtime_ns)
    )
}

/// The virtualised grid: only the rows on screen are laid out and have thumbnails requested.
///
/// The index's photos come first; while indexing, the photos the scan found and the index does not have
/// yet follow them ([`Library::waiting`]), with their thumbnails but dimmed and not selectable.
fn grid(lib: &Library, ui: &mut egui::Ui, commands: &mut Vec<LibraryCommand>) {
    let indexed = lib.index.as_ref().map_or(0, |i| i.len());
    let count = indexed + lib.waiting.len();
    if count == 0 {
        ui.centered_and_justified(|ui| {
            ui.label(if lib.indexing() {
                "Looking for photos in this folder…"
            } else {
                "No photos found in this folder."
            })
        });
        return;
    }
    // A cell is `CELL - 4` wide, with the layout's spacing between cells (counting CELL alone let
    // the last column run past the right edge of wide windows).
    let spacing = ui.spacing().item_spacing.x;
    let columns =
        (((ui.available_width() + spacing) / (CELL - 4.0 + spacing)).floor() as usize).max(1);
    let moved_to = if indexed > 0 {
        keyboard(lib, ui, columns, indexed)
    } else {
        None
    };
    if let Some(i) = moved_to {
        commands.push(LibraryCommand::Select(i));
    }
    let rows = count.div_ceil(columns);
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show_rows(ui, CELL, rows, |ui, range| {
            for row in range {
                ui.horizontal(|ui| {
                    for i in row * columns..((row + 1) * columns).min(count) {
                        if i >= indexed {
                            waiting_cell(lib, ui, i - indexed);
                            continue;
                        }
                        let response = thumbnail_cell(lib, ui, i);
                        if response.clicked() {
                            commands.push(LibraryCommand::Select(i));
                        }
                        if moved_to == Some(i) {
                            response.scroll_to_me(None);
                        }
                    }
                });
            }
        });
}

/// Arrow keys move the selection (Enter selects the first photo), unless a widget has the keyboard;
/// returns the photo to select when the selection moves.
fn keyboard(lib: &Library, ui: &egui::Ui, columns: usize, count: usize) -> Option<usize> {
    if ui.memory(|m| m.focused().is_some()) {
        return None;
    }
    let (left, right, up, down, enter) = ui.input(|i| {
        (
            i.key_pressed(Key::ArrowLeft),
            i.key_pressed(Key::ArrowRight),
            i.key_pressed(Key::ArrowUp),
            i.key_pressed(Key::ArrowDown),
            i.key_pressed(Key::Enter),
        )
    });
    let Some(sel) = lib.selected else {
        return (enter || right || down).then_some(0);
    };
    let next = if left {
        sel.saturating_sub(1)
    } else if right {
        (sel + 1).min(count - 1)
    } else if up {
        sel.saturating_sub(columns)
    } else if down {
        (sel + columns).min(count - 1)
    } else {
        return None;
    };
    Some(next)
}

fn thumbnail_cell(lib: &Library, ui: &mut egui::Ui, i: usize) -> egui::Response {
    let path = lib.index.as_ref().expect("drawn with an index").photos()[i]
        .path
        .clone();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(CELL - 4.0), Sense::click());
    let selected = lib.selected == Some(i);
    let visuals = ui.style().interact_selectable(&response, selected);
    ui.painter().rect_filled(rect, 4.0, visuals.weak_bg_fill);
    if selected {
        ui.painter().rect_stroke(
            rect,
            4.0,
            egui::Stroke::new(3.0, ui.visuals().selection.stroke.color),
            egui::StrokeKind::Inside,
        );
    }
    let inner = rect.shrink(6.0);
    paint_thumbnail(lib, ui, &path, inner, Color32::WHITE);
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::Role::Button, true, selected, format!("photo {name}"))
    });
    let caption = lib
        .index
        .as_ref()
        .map(|index| photo_caption(&lib.folder, &index.photos()[i]))
        .unwrap_or_default();
    response.on_hover_text(format!("{caption}\n{}", path.display()))
}

/// The thumbnail of `path` fitted into `inner` (tinted by `tint`), or "…" until it is ready.
fn paint_thumbnail(lib: &Library, ui: &egui::Ui, path: &Path, inner: egui::Rect, tint: Color32) {
    match lib.thumbnail(path) {
        Some(tex) => {
            let size = tex.size_vec2();
            let scale = (inner.width() / size.x).min(inner.height() / size.y);
            let img_rect = egui::Rect::from_center_size(inner.center(), size * scale);
            ui.painter().image(
                tex.id(),
                img_rect,
                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                tint,
            );
        }
        None => {
            ui.painter().text(
                inner.center(),
                egui::Align2::CENTER_CENTER,
                "…",
                egui::FontId::proportional(18.0),
                ui.visuals().weak_text_color(),
            );
        }
    }
}

/// A photo found by the scan and not yet encoded: its thumbnail, dimmed, and no selection.
fn waiting_cell(lib: &Library, ui: &mut egui::Ui, i: usize) {
    let path = &lib.waiting[i];
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(CELL - 4.0), Sense::hover());
    ui.painter()
        .rect_filled(rect, 4.0, ui.visuals().faint_bg_color);
    let inner = rect.shrink(6.0);
    paint_thumbnail(lib, ui, path, inner, Color32::from_white_alpha(110));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Image, true, format!("waiting photo {name}"))
    });
    response.on_hover_text(format!(
        "{}\nNot searchable yet: it is being indexed.",
        path.display()
    ));
}

fn results_panel(lib: &Library, ui: &mut egui::Ui, commands: &mut Vec<LibraryCommand>) {
    let Some((code, sel)) = lib.query_code() else {
        return;
    };
    let bits = code.bits();
    let path = match (sel, &lib.outside) {
        (Some(i), _) => lib
            .index
            .as_ref()
            .expect("a selection implies an index")
            .photos()[i]
            .path
            .clone(),
        (None, Some((p, _))) => p.clone(),
        (None, None) => return,
    };
    ui.heading(if sel.is_some() {
        "Query"
    } else {
        "Query (a photo from outside the library)"
    });
    ui.horizontal(|ui| {
        if let Some(tex) = lib.thumbnail(&path) {
            ui.add(egui::Image::new(&tex).max_size(Vec2::splat(96.0)));
        }
        ui.vertical(|ui| {
            ui.label(RichText::new(path.display().to_string()).small());
            code_grid(ui, "query code", &code, None, 16, 11.0);
        });
    });
    ui.label(RichText::new(code.to_string()).monospace().small())
        .on_hover_text("The code as bits, bit 0 first");
    if let Some(sel) = sel {
        egui::CollapsingHeader::new("Flip test: which bits do augmentations flip?")
            .id_salt("flip-test")
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let busy = lib.flip.as_ref().is_some_and(|f| f.running());
                    let teacher = ui
                        .add_enabled(!busy, egui::Button::new("Teacher views"))
                        .on_hover_text("DHD's weak views: the student's probabilities × s_T = 0.5");
                    if teacher.clicked() {
                        commands.push(LibraryCommand::FlipTest { teacher: true });
                    }
                    let student = ui
                        .add_enabled(!busy, egui::Button::new("Student views"))
                        .on_hover_text(
                            "DHD's strong views: crop always, flip ½, colour jitter 0.8, grey 0.2, blur ½",
                        );
                    if student.clicked() {
                        commands.push(LibraryCommand::FlipTest { teacher: false });
                    }
                });
                ui.label(
                    RichText::new(
                        "DHD trains the codes of strong views to agree with those of weak ones: the fewer \
                         bits a view flips, the more robust the codes.",
                    )
                    .small()
                    .weak(),
                );
                if let Some(test) = lib.flip.as_ref().filter(|t| t.photo == sel) {
                    super::flip_test::show(test, &code, ui);
                }
            });
        egui::CollapsingHeader::new("Compare with perceptual hashes (dHash, pHash)")
            .id_salt("hash-compare")
            .show(ui, |ui| {
                if !lib.hashes.open {
                    commands.push(LibraryCommand::CompareHashes);
                }
                if let Some(index) = &lib.index {
                    lib.hashes.show(&mut lib.thumbs.borrow_mut(), index, ui);
                }
            });
    }
    ui.separator();
    ui.horizontal(|ui| {
        let mut query = lib.query;
        let mut within = query.radius.is_some();
        ui.checkbox(&mut within, "within radius").on_hover_text(
            "All photos whose codes differ from the query's in at most r bits (a Hamming ball)",
        );
        if within {
            let mut r = query.radius.unwrap_or(2);
            ui.add(egui::Slider::new(&mut r, 0..=bits as u32 / 2).text("r"));
            query.radius = Some(r);
        } else {
            query.radius = None;
            ui.add(egui::Slider::new(&mut query.k, 1..=200).text("k"));
        }
        if query != lib.query {
            commands.push(LibraryCommand::SetQuery(query));
        }
    });
    if let (Some(r), Some(d)) = (lib.query.radius, lib.nearest_beyond) {
        ui.label(
            RichText::new(format!(
                "No photo within {r} bits. The nearest is {d} bits away: widen the radius to {d} to see it."
            ))
            .color(ui.visuals().warn_fg_color),
        );
    }
    if let (Some(before), Some(index)) = (&lib.before, &lib.index)
        && before.query == path
    {
        before_and_after(lib, before, index, &path, ui);
    }
    ui.label(format!("{} results", lib.results.len())).on_hover_text(
        "Ranked by Hamming distance: the number of bits in which two codes differ. For codes of ±1 it \
         equals K/2·(1 − cos), so a small distance means similar features.",
    );
    ui.separator();
    let fixed;
    let rule = match lib.verdict_rule() {
        Some(rule) => rule,
        None => {
            fixed = VerdictRule::fixed(bits);
            &fixed
        }
    };
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            for n in &lib.results {
                let index = lib.index.as_ref().expect("results imply an index");
                let other_path = index.photos()[n.index].path.clone();
                let other: HashCode = index.codes().get(n.index);
                let print = sel.and_then(|q| lib.prints.distance(index.photos(), q, n.index));
                ui.horizontal(|ui| {
                    let thumb = lib.thumbnail(&other_path).map(|t| t.id());
                    let response = match thumb {
                        Some(id) => ui.add(
                            egui::Image::new((id, Vec2::splat(64.0)))
                                .sense(Sense::click())
                                .max_size(Vec2::splat(64.0)),
                        ),
                        None => ui.add_sized([64.0, 64.0], egui::Button::new("…")),
                    };
                    if response.clicked() {
                        commands.push(LibraryCommand::Select(n.index));
                    }
                    ui.vertical(|ui| {
                        let relative = lib
                            .pair_distances
                            .as_ref()
                            .and_then(|p| p.farther_than(n.distance))
                            .map(|f| format!(" · nearer than {} of pairs here", percent(f)))
                            .unwrap_or_default();
                        ui.label(
                            RichText::new(format!(
                                "distance {} · {:.0}% · {}{relative}",
                                n.distance,
                                similarity(n.distance, bits),
                                verdict(rule, n.distance, print)
                            ))
                            .strong(),
                        )
                        .on_hover_text(format!(
                            "{} \"Nearer than x % of pairs here\": the share of this library's pairs \
                             of photos whose codes differ in more bits.",
                            rule.explain(n.distance, print)
                        ));
                        xor_strip(ui, &code, &other, 240.0);
                        ui.horizontal(|ui| {
                            let caption = photo_caption(&lib.folder, &index.photos()[n.index]);
                            ui.label(RichText::new(caption).small())
                                .on_hover_text(other_path.display().to_string());
                            if ui.small_button("copy path").clicked() {
                                ui.ctx().copy_text(other_path.display().to_string());
                            }
                            if ui.small_button("show in folder").clicked() {
                                commands.push(LibraryCommand::Reveal(other_path.clone()));
                            }
                        });
                    });
                });
            }
        });
}

/// The query's nearest photos under the model before the re-index, beside the first ones now, with how
/// many of each ten share the query's folder (its class, when the folders are classes).
fn before_and_after(
    lib: &Library,
    before: &Before,
    index: &hashlens_core::index::CodeIndex,
    query: &Path,
    ui: &mut egui::Ui,
) {
    let now: Vec<(&Path, u32)> = lib
        .results
        .iter()
        .take(Before::SHOWN)
        .map(|n| (index.photos()[n.index].path.as_path(), n.distance))
        .collect();
    let same = |results: &[(&Path, u32)]| {
        same_folder_at_10(&lib.folder, query, results.iter().map(|r| r.0))
            .map(|(s, n)| format!(" · same folder: {s} of {n}"))
            .unwrap_or_default()
    };
    let then: Vec<(&Path, u32)> = before
        .results
        .iter()
        .map(|(p, d)| (p.as_path(), *d))
        .collect();
    egui::CollapsingHeader::new(format!(
        "Before and after the re-index{}",
        same(&now).replace(" · same folder:", ": now")
    ))
    .id_salt("before-after")
    .default_open(true)
    .show(ui, |ui| {
        ui.label(
            RichText::new(format!("before: {}", before.model))
                .small()
                .weak(),
        );
        ui.label(RichText::new(format!("now: {}", lib.model)).small().weak());
        egui::Grid::new("before-after-grid")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for (title, results) in [("before", &then), ("now", &now)] {
                    ui.label(RichText::new(format!("{title}{}", same(results))).strong())
                        .on_hover_text(
                            "the first ten results with their distances; \"same folder\" counts \
                             those in the query's folder (P@10 when the folders are classes)",
                        );
                }
                ui.end_row();
                for row in 0..then.len().max(now.len()) {
                    for results in [&then, &now] {
                        match results.get(row) {
                            Some((p, d)) => {
                                let name = p.file_name().unwrap_or_default().to_string_lossy();
                                ui.label(RichText::new(format!("{d} · {name}")).small())
                            }
                            None => ui.label(""),
                        };
                    }
                    ui.end_row();
                }
            });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_show_the_relative_path_and_the_day() {
        let photo = hashlens_core::index::IndexedPhoto {
            path: Path::new("/photos/roll3/IMG_0004.jpg").to_path_buf(),
            size: 1,
            mtime_ns: 1_700_000_000 * 1_000_000_000,
        };
        assert_eq!(
            photo_caption(Path::new("/photos"), &photo),
            "roll3/IMG_0004.jpg · 2023-11-14"
        );
    }

    #[test]
    fn shares_read_as_percentages_that_never_round_to_certainty() {
        assert_eq!(percent(0.5), "50 %");
        assert_eq!(percent(1.0), "100 %");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(percent(0.99987), "99.9 %");
        assert_eq!(percent(0.0004), "0.1 %");
    }

    #[test]
    fn a_distance_reads_against_the_librarys_own_pairs() {
        // 10 pairs: 1 at distance 2, 3 at 5, 6 at 9.
        let mut histogram = vec![0u64; 17];
        histogram[2] = 1;
        histogram[5] = 3;
        histogram[9] = 6;
        let p = crate::gui::library::PairDistances {
            for_len: 5,
            model: "m".into(),
            histogram,
        };
        assert_eq!(p.farther_than(2), Some(0.9));
        assert_eq!(p.farther_than(4), Some(0.9));
        assert_eq!(p.farther_than(5), Some(0.6));
        assert_eq!(p.farther_than(9), Some(0.0));
        assert_eq!(p.farther_than(16), Some(0.0));
    }

    #[test]
    fn similarity_at_64_bits() {
        assert_eq!(verdict(&VerdictRule::fixed(64), 9, None), "similar");
        assert_eq!(similarity(16, 64), 75.0);
    }
}
