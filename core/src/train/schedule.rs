//! Learning-rate schedules.

/// The cosine decay from `base` to 0 over `total` steps, at step `t`.
pub fn cosine_lr(base: f64, t: usize, total: usize) -> f64 {
    base * 0.5 * (1.0 + (std::f64::consts::PI * t as f64 / total.max(1) as f64).cos())
}
