//! Charts shared by the views. Curves (loss, learning rate, mAP, precision–recall) are egui_plot's; the
//! one drawn here is a heatmap of values in [−1, 1] (bit correlations, proxy similarities), where a
//! diverging scale keeps "opposite" (−1, blue) as visible as "the same" (+1, red).

use eframe::egui::{self, Sense, vec2};

use super::colours::diverging;

/// An `n × n` grid of `values` (row-major) in at most `size` points; hovering a cell names it (by
/// `names` where given, else "`what` i and j"). Given `names`, each row is labelled on its left (the
/// columns are in the same order) where the rows are tall enough for a name.
pub fn heatmap(
    ui: &mut egui::Ui,
    values: &[f64],
    n: usize,
    size: f32,
    what: &str,
    names: &[String],
) {
    let cell = (size / n as f32).clamp(2.0, 24.0);
    let small = egui::TextStyle::Small.resolve(ui.style());
    if names.len() == n && cell >= small.size {
        let width = names
            .iter()
            .map(|name| {
                let colour = ui.visuals().text_color();
                ui.painter()
                    .layout_no_wrap(name.clone(), small.clone(), colour)
                    .size()
                    .x
            })
            .fold(0.0, f32::max);
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing = vec2(6.0, 0.0);
            ui.vertical(|ui| {
                ui.spacing_mut().item_spacing.y = 0.0;
                for name in names {
                    ui.add_sized(
                        vec2(width, cell),
                        egui::Label::new(egui::RichText::new(name).small()),
                    );
                }
            });
            grid(ui, values, n, cell, what, names);
        });
    } else {
        grid(ui, values, n, cell, what, names);
    }
}

/// The cells of [`heatmap`], `cell` points each.
fn grid(ui: &mut egui::Ui, values: &[f64], n: usize, cell: f32, what: &str, names: &[String]) {
    let (rect, response) =
        ui.allocate_exact_size(vec2(cell * n as f32, cell * n as f32), Sense::hover());
    let painter = ui.painter_at(rect);
    let dark = ui.visuals().dark_mode;
    for i in 0..n {
        for j in 0..n {
            let r = egui::Rect::from_min_size(
                rect.min + vec2(j as f32 * cell, i as f32 * cell),
                vec2(cell, cell),
            );
            painter.rect_filled(r, 0.0, diverging(values[i * n + j], dark));
        }
    }
    if let Some(pos) = response.hover_pos() {
        let j = (((pos.x - rect.min.x) / cell) as usize).min(n - 1);
        let i = (((pos.y - rect.min.y) / cell) as usize).min(n - 1);
        let text = match (names.get(i), names.get(j)) {
            (Some(a), Some(b)) => format!("{a} and {b}: {:+.2}", values[i * n + j]),
            _ => format!("{what} {i} and {j}: {:+.2}", values[i * n + j]),
        };
        response.on_hover_text(text);
    }
}
