//! Drawing codes: a grid of K cells (one per bit) and a strip of a code XOR another, with the differing bits
//! lit — the picture of what a Hamming distance counts.

use eframe::egui::{self, Rect, Role, Sense, Stroke, StrokeKind, Vec2, WidgetInfo};
use hashlens_core::HashCode;

use super::colours::{DIFFERS, bit_colour};

/// A code as rows of `per_row` square cells; bits that differ from `other` are outlined. The widget's
/// accessible label is `"{name} {bits}"` (the bit string, bit 0 first).
pub fn code_grid(
    ui: &mut egui::Ui,
    name: &str,
    code: &HashCode,
    other: Option<&HashCode>,
    per_row: usize,
    cell: f32,
) -> egui::Response {
    let bits = code.bits();
    let rows = bits.div_ceil(per_row);
    let gap = 2.0;
    let size = Vec2::new(per_row as f32 * (cell + gap), rows as f32 * (cell + gap));
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    let label = format!("{name} {code}");
    response.widget_info(|| WidgetInfo::labeled(Role::Label, true, label.clone()));
    let painter = ui.painter_at(rect);
    for i in 0..bits {
        let (r, c) = (i / per_row, i % per_row);
        let min = rect.min + Vec2::new(c as f32 * (cell + gap), r as f32 * (cell + gap));
        let cell_rect = Rect::from_min_size(min, Vec2::splat(cell));
        painter.rect_filled(cell_rect, 2.0, bit_colour(ui, code.bit(i)));
        if other.is_some_and(|o| o.bit(i) != code.bit(i)) {
            painter.rect_stroke(
                cell_rect,
                2.0,
                Stroke::new(2.0, DIFFERS),
                StrokeKind::Inside,
            );
        }
    }
    response.on_hover_text(
        "One cell per bit (blue = 1). Outlined bits differ from the query: their count is the Hamming \
         distance.",
    )
}

/// One thin strip per bit of `a XOR b`: lit where the codes differ.
pub fn xor_strip(ui: &mut egui::Ui, a: &HashCode, b: &HashCode, width: f32) -> egui::Response {
    let bits = a.bits();
    let (rect, response) = ui.allocate_exact_size(Vec2::new(width, 8.0), Sense::hover());
    let w = width / bits as f32;
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 1.0, ui.visuals().faint_bg_color);
    for i in (0..bits).filter(|&i| a.bit(i) != b.bit(i)) {
        let x = rect.min.x + i as f32 * w;
        painter.rect_filled(
            Rect::from_min_max(
                egui::pos2(x, rect.min.y),
                egui::pos2(x + w.max(1.0), rect.max.y),
            ),
            0.0,
            DIFFERS,
        );
    }
    response.on_hover_text("query XOR result: the lit bits are the ones that differ")
}
