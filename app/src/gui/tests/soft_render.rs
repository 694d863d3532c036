//! A CPU rasteriser of egui's tessellated meshes, so that snapshot tests render on machines without a
//! GPU (CI has neither a GPU nor a working software Vulkan, and kittest's own renderer is wgpu's).
//!
//! It does what egui's GPU painters do: triangles with per-vertex premultiplied colours times a texture
//! sample (bilinear, clamped), clipped to each primitive's rectangle, blended "premultiplied over". Pixel
//! centres sit at +0.5 and shared edges follow the top-left rule, so no pixel is painted twice by two
//! halves of a quad. Colours are interpolated in gamma space as the glow painter does. The result is
//! deterministic, which is what a snapshot needs; it is not meant to match a GPU bit for bit.

use std::collections::HashMap;

use eframe::egui::{self, Color32, TextureId, TexturesDelta, epaint};
use egui_kittest::TestRenderer;
use epaint::{ImageData, Primitive};

struct Texture {
    size: [usize; 2],
    pixels: Vec<Color32>,
}

#[derive(Default)]
pub struct SoftRenderer {
    textures: HashMap<TextureId, Texture>,
}

impl TestRenderer for SoftRenderer {
    fn handle_delta(&mut self, delta: &mut TexturesDelta) {
        for (id, patches) in &delta.set {
            for patch in patches {
                let ImageData::Color(image) = &patch.image;
                match patch.pos {
                    None => {
                        self.textures.insert(
                            *id,
                            Texture {
                                size: image.size,
                                pixels: image.pixels.clone(),
                            },
                        );
                    }
                    Some([x0, y0]) => {
                        if let Some(t) = self.textures.get_mut(id) {
                            for y in 0..image.size[1] {
                                for x in 0..image.size[0] {
                                    let (tx, ty) = (x0 + x, y0 + y);
                                    if tx < t.size[0] && ty < t.size[1] {
                                        t.pixels[ty * t.size[0] + tx] =
                                            image.pixels[y * image.size[0] + x];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for id in &delta.free {
            self.textures.remove(id);
        }
        delta.clear();
    }

    fn render(
        &mut self,
        ctx: &egui::Context,
        output: &egui::FullOutput,
    ) -> Result<image::RgbaImage, String> {
        let ppp = output.pixels_per_point;
        let screen = ctx.content_rect();
        let (w, h) = (
            (screen.width() * ppp).round() as usize,
            (screen.height() * ppp).round() as usize,
        );
        let mut canvas = vec![[0f32; 4]; w * h];
        for prim in ctx.tessellate(output.shapes.clone(), ppp) {
            let Primitive::Mesh(mesh) = prim.primitive else {
                continue;
            };
            let clip = [
                (prim.clip_rect.min.x * ppp).round().max(0.0) as usize,
                (prim.clip_rect.min.y * ppp).round().max(0.0) as usize,
                ((prim.clip_rect.max.x * ppp).round().max(0.0) as usize).min(w),
                ((prim.clip_rect.max.y * ppp).round().max(0.0) as usize).min(h),
            ];
            let texture = self.textures.get(&mesh.texture_id);
            for tri in mesh.indices.chunks_exact(3) {
                let v = [0, 1, 2].map(|i| &mesh.vertices[tri[i] as usize]);
                draw_triangle(&mut canvas, w, clip, ppp, v, texture);
            }
        }
        let bytes = canvas
            .iter()
            .flat_map(|p| p.map(|c| (c * 255.0).round().clamp(0.0, 255.0) as u8))
            .collect();
        image::RgbaImage::from_raw(w as u32, h as u32, bytes)
            .ok_or_else(|| "canvas size mismatch".to_string())
    }
}

fn draw_triangle(
    canvas: &mut [[f32; 4]],
    width: usize,
    clip: [usize; 4],
    ppp: f32,
    v: [&epaint::Vertex; 3],
    texture: Option<&Texture>,
) {
    let p = v.map(|v| [v.pos.x * ppp, v.pos.y * ppp]);
    let edge = |a: [f32; 2], b: [f32; 2], c: [f32; 2]| {
        (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    };
    let area = edge(p[0], p[1], p[2]);
    if area.abs() < 1e-12 {
        return;
    }
    // Make the winding counter-clockwise in y-down coordinates so that inside means all weights ≥ 0.
    let (p, v) = if area < 0.0 {
        ([p[0], p[2], p[1]], [v[0], v[2], v[1]])
    } else {
        (p, v)
    };
    let area = area.abs();
    // Top-left rule: a pixel centre exactly on an edge belongs to the triangle only for top or left
    // edges.
    let top_left = |a: [f32; 2], b: [f32; 2]| {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        (dy == 0.0 && dx < 0.0) || dy > 0.0
    };
    let edges = [(p[1], p[2]), (p[2], p[0]), (p[0], p[1])];
    let owns = edges.map(|(a, b)| top_left(a, b));
    let lo = |i: usize| {
        p.iter()
            .map(|q| q[i])
            .fold(f32::MAX, f32::min)
            .floor()
            .max(0.0) as usize
    };
    let hi = |i: usize| {
        p.iter()
            .map(|q| q[i])
            .fold(f32::MIN, f32::max)
            .ceil()
            .max(0.0) as usize
    };
    let (x0, x1) = (lo(0).max(clip[0]), hi(0).min(clip[2]));
    let (y0, y1) = (lo(1).max(clip[1]), hi(1).min(clip[3]));
    let colours = v.map(|v| v.color.to_array().map(|c| c as f32 / 255.0));
    for y in y0..y1 {
        for x in x0..x1 {
            let c = [x as f32 + 0.5, y as f32 + 0.5];
            let w = [0, 1, 2].map(|i| edge(edges[i].0, edges[i].1, c));
            if (0..3).any(|i| w[i] < 0.0 || (w[i] == 0.0 && !owns[i])) {
                continue;
            }
            let b = w.map(|wi| wi / area);
            let mut src = [0f32; 4];
            for (ch, s) in src.iter_mut().enumerate() {
                *s = (0..3).map(|i| b[i] * colours[i][ch]).sum();
            }
            if let Some(t) = texture {
                let u = (0..3).map(|i| b[i] * v[i].uv.x).sum::<f32>();
                let vv = (0..3).map(|i| b[i] * v[i].uv.y).sum::<f32>();
                let s = sample(t, u, vv);
                for ch in 0..4 {
                    src[ch] *= s[ch];
                }
            }
            let dst = &mut canvas[y * width + x];
            let keep = 1.0 - src[3];
            for ch in 0..4 {
                dst[ch] = src[ch] + dst[ch] * keep;
            }
        }
    }
}

/// Bilinear sample at normalised `(u, v)`, clamped to the edge, premultiplied RGBA in [0, 1].
fn sample(t: &Texture, u: f32, v: f32) -> [f32; 4] {
    let [tw, th] = t.size;
    let x = (u * tw as f32 - 0.5).clamp(0.0, (tw - 1) as f32);
    let y = (v * th as f32 - 0.5).clamp(0.0, (th - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(tw - 1), (y0 + 1).min(th - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let px = |x: usize, y: usize| t.pixels[y * tw + x].to_array().map(|c| c as f32 / 255.0);
    let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
    [0, 1, 2, 3].map(|i| {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bottom = c[i] + (d[i] - c[i]) * fx;
        top + (bottom - top) * fy
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vertex(x: f32, y: f32, color: Color32) -> epaint::Vertex {
        epaint::Vertex {
            pos: egui::pos2(x, y),
            uv: epaint::WHITE_UV,
            color,
        }
    }

    /// Two triangles of a 4 × 2 quad cover exactly its 8 pixels once each (half-transparent, so a pixel
    /// painted twice would show), and nothing outside.
    #[test]
    fn a_quad_covers_its_pixels_once() {
        let white = Texture {
            size: [1, 1],
            pixels: vec![Color32::WHITE],
        };
        let half = Color32::from_rgba_premultiplied(100, 0, 0, 128);
        let mut canvas = vec![[0f32; 4]; 6 * 4];
        let q = [
            vertex(1.0, 1.0, half),
            vertex(5.0, 1.0, half),
            vertex(5.0, 3.0, half),
            vertex(1.0, 3.0, half),
        ];
        for tri in [[0, 1, 2], [0, 2, 3]] {
            draw_triangle(
                &mut canvas,
                6,
                [0, 0, 6, 4],
                1.0,
                tri.map(|i| &q[i]),
                Some(&white),
            );
        }
        for y in 0..4 {
            for x in 0..6 {
                let inside = (1..5).contains(&x) && (1..3).contains(&y);
                let expected = if inside { 128.0 / 255.0 } else { 0.0 };
                assert!(
                    (canvas[y * 6 + x][3] - expected).abs() < 1e-6,
                    "pixel {x},{y}: {:?}",
                    canvas[y * 6 + x]
                );
            }
        }
    }

    #[test]
    fn bilinear_sampling_between_texels() {
        let t = Texture {
            size: [2, 1],
            pixels: vec![Color32::BLACK, Color32::WHITE],
        };
        // Texel centres at u = 0.25 and 0.75; halfway between them is grey, beyond them clamped.
        assert_eq!(sample(&t, 0.5, 0.5)[0], 0.5);
        assert_eq!(sample(&t, 0.0, 0.5)[0], 0.0);
        assert_eq!(sample(&t, 1.0, 0.5)[0], 1.0);
    }
}
