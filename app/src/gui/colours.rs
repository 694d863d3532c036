//! Every colour the app chooses, in one place: the bits (a 1, a 0, a bit that differs), the diverging
//! scale of the heatmaps, and the colours of errors and warnings. The rest comes from egui's visuals.

use eframe::egui::{self, Color32};

/// Colours of a 1 bit and a 0 bit.
pub fn bit_colour(ui: &egui::Ui, on: bool) -> Color32 {
    match (on, ui.visuals().dark_mode) {
        (true, _) => Color32::from_rgb(60, 120, 210),
        (false, true) => Color32::from_gray(70),
        (false, false) => Color32::from_gray(220),
    }
}

/// The colour that marks bits where two codes differ.
pub const DIFFERS: Color32 = Color32::from_rgb(235, 125, 25);

/// Text that says something stopped or failed.
pub const ERROR: Color32 = Color32::from_rgb(210, 60, 50);

/// Text that warns.
pub const WARNING: Color32 = Color32::from_rgb(200, 140, 20);

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

/// A colour per category (class), from Tableau's ten, repeating past ten.
pub fn category(k: usize) -> Color32 {
    const TEN: [Color32; 10] = [
        Color32::from_rgb(78, 121, 167),
        Color32::from_rgb(242, 142, 43),
        Color32::from_rgb(225, 87, 89),
        Color32::from_rgb(118, 183, 178),
        Color32::from_rgb(89, 161, 79),
        Color32::from_rgb(237, 201, 72),
        Color32::from_rgb(176, 122, 161),
        Color32::from_rgb(255, 157, 167),
        Color32::from_rgb(156, 117, 95),
        Color32::from_rgb(186, 176, 172),
    ];
    TEN[k % TEN.len()]
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
