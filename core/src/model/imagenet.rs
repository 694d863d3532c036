//! ImageNet-1k class names and top-k predictions: how a user (and a test) sees that weights loaded right.

use serde::Serialize;

/// The 1,000 class names in index order (torchvision's list, BSD-3; see assets/NOTICE).
pub fn class_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        include_str!("../../../assets/imagenet_classes.txt")
            .lines()
            .collect()
    })
}

/// One predicted class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// ImageNet-1k class index.
    pub class: usize,
    pub name: String,
    /// Softmax probability.
    pub prob: f32,
}

/// The `k` most probable classes from one row of logits, most probable first.
pub fn top_k(logits: &[f32], k: usize) -> Vec<Prediction> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|class| Prediction {
            class,
            name: class_names().get(class).copied().unwrap_or("?").to_string(),
            prob: exp[class] / sum,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_top_k() {
        assert_eq!(class_names().len(), 1000);
        assert_eq!(class_names()[281], "tabby");
        let mut logits = vec![0.0f32; 1000];
        logits[281] = 2.0;
        logits[7] = 1.0;
        let top = top_k(&logits, 2);
        assert_eq!((top[0].class, top[0].name.as_str()), (281, "tabby"));
        assert_eq!(top[1].class, 7);
        let z = 2f32.exp() + 1f32.exp() + 998.0;
        assert!((top[0].prob - 2f32.exp() / z).abs() < 1e-6);
    }
}
