//! Hamming playground: two codes as rows of bits; click a bit to flip it and watch the distance.
//!
//! The teaching view behind the app's main idea: the distance between two codes is the number of bits in
//! which they differ, and those bits are highlighted.

use eframe::egui::{self, Role, Sense, Vec2, WidgetInfo};
use hashlens_core::HashCode;

use super::colours::{DIFFERS, bit_colour};

const BITS: usize = 32;

pub struct Playground {
    a: HashCode,
    b: HashCode,
}

impl Default for Playground {
    fn default() -> Self {
        let a = HashCode::parse_bits("10110010011100101100101001011101").expect("32 valid bits");
        let mut b = a.clone();
        b = flip(&b, 3);
        b = flip(&b, 17);
        Self { a, b }
    }
}

fn flip(code: &HashCode, i: usize) -> HashCode {
    let mut words = code.words().to_vec();
    words[i / 64] ^= 1 << (i % 64);
    HashCode::from_words(code.bits(), &words).expect("same length")
}

impl Playground {
    pub fn distance(&self) -> u32 {
        self.a.hamming(&self.b).expect("both codes have BITS bits")
    }

    pub fn show(&mut self, ui: &mut egui::Ui) {
        ui.heading("Hamming playground");
        ui.label("Click a bit to flip it. Bits where the codes differ are marked; their count is the distance.");
        ui.add_space(8.0);
        if let Some(i) = bit_row(ui, "code A", &self.a, &self.b) {
            self.a = flip(&self.a, i);
        }
        if let Some(i) = bit_row(ui, "code B", &self.b, &self.a) {
            self.b = flip(&self.b, i);
        }
        ui.add_space(8.0);
        ui.label(
            egui::RichText::new(format!(
                "Hamming distance: {} of {BITS} bits",
                self.distance()
            ))
            .strong(),
        );
        if ui.button("Make B equal to A").clicked() {
            self.b = self.a.clone();
        }
    }
}

/// Draws one code; returns the bit that was clicked.
fn bit_row(ui: &mut egui::Ui, name: &str, code: &HashCode, other: &HashCode) -> Option<usize> {
    let mut clicked = None;
    ui.horizontal(|ui| {
        ui.add_sized([60.0, 20.0], egui::Label::new(name));
        ui.spacing_mut().item_spacing.x = 2.0;
        for i in 0..BITS {
            if i > 0 && i % 8 == 0 {
                ui.add_space(6.0);
            }
            let (rect, response) = ui.allocate_exact_size(Vec2::splat(18.0), Sense::click());
            let on = code.bit(i);
            let differs = on != other.bit(i);
            response.widget_info(|| {
                WidgetInfo::selected(Role::CheckBox, true, on, format!("{name} bit {i}"))
            });
            let fill = bit_colour(ui, on);
            let painter = ui.painter();
            painter.rect_filled(rect, 3.0, fill);
            if differs {
                painter.rect_stroke(
                    rect,
                    3.0,
                    egui::Stroke::new(2.5, DIFFERS),
                    egui::StrokeKind::Inside,
                );
            }
            if response.clicked() {
                clicked = Some(i);
            }
        }
    });
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    #[test]
    fn clicking_bits_changes_the_distance() {
        let mut harness =
            Harness::new_ui_state(|ui, p: &mut Playground| p.show(ui), Playground::default());
        harness.run();
        harness.get_by_label("Hamming distance: 2 of 32 bits");
        // Flipping bit 3 of A makes it agree with B there: one difference left.
        harness.get_by_label("code A bit 3").click();
        harness.run();
        assert_eq!(harness.state().distance(), 1);
        harness.get_by_label("Hamming distance: 1 of 32 bits");
        // A bit where both agree now differs.
        harness.get_by_label("code B bit 0").click();
        harness.run();
        harness.get_by_label("Hamming distance: 2 of 32 bits");
        harness.get_by_label("Make B equal to A").click();
        harness.run();
        harness.get_by_label("Hamming distance: 0 of 32 bits");
    }
}
