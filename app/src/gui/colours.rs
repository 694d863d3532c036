//! Every colour the app chooses, in one place: the bits (a 1, a 0, a bit that differs), the diverging
//! scale of the heatmaps, and the colours of errors and warnings. The rest comes from egui's visuals.

use eframe::egui::{self, Color32};

/// Colours of a 1 bit and a 0 bit; in high contrast while presenting (presentation mode sets
/// full-contrast text, which is what this reads), so that bits read from the back of a room.
pub fn bit_colour(ui: &egui::Ui, on: bool) -> Color32 {
    let visuals = ui.visuals();
    bit_colour_for(on, visuals.dark_mode, visuals.override_text_color.is_some())
}

fn bit_colour_for(on: bool, dark: bool, high_contrast: bool) -> Color32 {
    match (on, dark, high_contrast) {
        (true, _, false) => Color32::from_rgb(60, 120, 210),
        (false, true, false) => Color32::from_gray(70),
        (false, false, false) => Color32::from_gray(220),
        (true, true, true) => Color32::from_rgb(110, 185, 255),
        (false, true, true) => Color32::from_gray(28),
        (true, false, true) => Color32::from_rgb(0, 60, 170),
        (false, false, true) => Color32::from_gray(245),
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

    /// WCAG's contrast ratio between two colours (1 to 21).
    fn contrast(a: Color32, b: Color32) -> f64 {
        let luminance = |c: Color32| {
            let lin = |v: u8| {
                let v = v as f64 / 255.0;
                if v <= 0.03928 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b())
        };
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn presenting_bits_are_high_contrast() {
        for dark in [true, false] {
            let normal = contrast(
                bit_colour_for(true, dark, false),
                bit_colour_for(false, dark, false),
            );
            let presenting = contrast(
                bit_colour_for(true, dark, true),
                bit_colour_for(false, dark, true),
            );
            // WCAG's 7:1 for small text (AAA) between a 1 and a 0 while presenting.
            assert!(presenting >= 7.0, "dark {dark}: {presenting:.1}");
            assert!(
                presenting > normal * 1.5,
                "dark {dark}: {presenting:.1} against {normal:.1}"
            );
        }
    }
}
