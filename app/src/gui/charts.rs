//! Charts shared by the views. Curves (loss, learning rate, mAP, precision–recall) are egui_plot's; the
//! one drawn here is a heatmap of values in [−1, 1] (bit correlations, proxy similarities), where a
//! diverging scale keeps "opposite" (−1, blue) as visible as "the same" (+1, red).

use eframe::egui::{self, Color32, Sense, vec2};

/// Colour of `v` in [−1, 1]: blue through the background's neutral to red.
pub fn diverging(v: f64, dark: bool) -> Color32 {
    let t = v.clamp(-1.0, 1.0) as f32;
    let neutral: [f32; 3] = if dark {
        [40.0, 40.0, 40.0]
    } else {
        [245.0, 245.0, 245.0]
    };
    let end: [f32; 3] = if t >= 0.0 {
        [215.0, 48.0, 39.0]
    } else {
        [49.0, 104.0, 189.0]
    };
    let a = t.abs();
    let mix = |i: usize| (neutral[i] + (end[i] - neutral[i]) * a).round() as u8;
    Color32::from_rgb(mix(0), mix(1), mix(2))
}

/// An `n × n` grid of `values` (row-major) in at most `size` points; hovering a cell names it (by
/// `names` where given, else "`what` i and j").
pub fn heatmap(
    ui: &mut egui::Ui,
    values: &[f64],
    n: usize,
    size: f32,
    what: &str,
    names: &[String],
) {
    let cell = (size / n as f32).clamp(2.0, 24.0);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_runs_from_blue_through_neutral_to_red() {
        assert_eq!(diverging(0.0, false), Color32::from_rgb(245, 245, 245));
        assert_eq!(diverging(1.0, false), Color32::from_rgb(215, 48, 39));
        assert_eq!(diverging(-1.0, true), Color32::from_rgb(49, 104, 189));
        assert_eq!(diverging(7.0, true), diverging(1.0, true), "clamped");
        // Halfway: the mean of neutral and the end, per channel.
        assert_eq!(diverging(0.5, false), Color32::from_rgb(230, 147, 142));
    }
}
