//! HybridHash's shapes, parameter count, layout and gradients, on the CPU.

use super::*;
use burn::tensor::TensorData;

fn device() -> Device {
    Device::flex()
}

/// 64 px, patch 4: a 16×16 grid, blocks of 4×4, level maps 16/8/4, hash map 2.
fn small() -> HybridHashConfig {
    HybridHashConfig::new()
        .with_image_size(64)
        .with_dims(vec![8, 16, 32])
        .with_heads(vec![2, 2, 4])
        .with_depths(vec![1, 1, 1])
        .with_global_heads(2)
}

/// Deterministic, image-like input; `phase` changes it.
fn images(batch: usize, side: usize, phase: f32) -> Tensor<4> {
    let n = batch * 3 * side * side;
    let values: Vec<f32> = (0..n)
        .map(|i| ((i as f32 * 0.37 + phase).sin() + (i as f32 * 0.011).cos()) * 0.8)
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, 3, side, side]), &device())
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Parameters counted layer by layer from the formulas, independently of the module code.
fn expected_params(c: &HybridHashConfig) -> usize {
    let levels = c.dims.len();
    let n = c.block_size() * c.block_size();
    let ln = |d: usize| 2 * d;
    let mut total = c.patch_size * c.patch_size * c.in_chans * c.dims[0] + c.dims[0];
    for i in 0..levels {
        let d = c.dims[i];
        let blocks = 1 << (2 * (levels - 1 - i));
        total += blocks * n * d; // pos_embed
        let attn = (3 * d * d + 3 * d) + (d * d + d);
        let mlp = (d * 4 * d + 4 * d) + (4 * d * d + d);
        total += c.depths[i] * (ln(d) + attn + ln(d) + mlp);
        if i > 0 {
            let d_in = c.dims[i - 1];
            let local = 9 * d_in * d + d;
            let global = d_in * d + 3 * d * d + (d * d + d) + 4 * blocks * d;
            total += local + global + ln(d);
        }
    }
    let d = c.dims[levels - 1];
    total += ln(d); // final norm
    total += 2 * (3 * d * d + d); // convS1, convS2
    total += 3 * d * d + (d * d + d) + d; // global attention, one-token pos_embed_glo
    total
}

#[test]
fn default_config_matches_the_paper() {
    let c = HybridHashConfig::new();
    assert!(c.validate().is_ok());
    assert_eq!(c.block_size(), 14);
    assert_eq!(
        (0..3).map(|i| c.blocks_at(i)).collect::<Vec<_>>(),
        [16, 4, 1]
    );
    let rates = c.drop_path_rates();
    assert_eq!(rates.len(), 19);
    assert_eq!(rates[0], 0.0);
    assert!((rates[18] - 0.5).abs() < 1e-12);
    assert!((rates[1] - 0.5 / 18.0).abs() < 1e-12);
    assert!(small().with_dims(vec![8, 16, 30]).validate().is_err());
    assert!(small().with_global_heads(3).validate().is_err());
    assert!(small().with_image_size(60).validate().is_err());
}

#[test]
fn full_network_has_the_logged_parameter_count() {
    let c = HybridHashConfig::new();
    let net = c.init(&device());
    let n = net.num_params();
    assert_eq!(n, expected_params(&c));
    assert_eq!(n, 55_553_408);
    // The log's 55.6 M includes upstream's 1×1 hash convolution 512 → K (K ≤ 64).
    let with_hash = n + 512 * 64 + 64;
    assert!(
        with_hash.abs_diff(55_600_000) <= 150_000,
        "{with_hash} parameters"
    );
    assert_eq!(net.feature_dim(), 512);
    assert_eq!(net.levels[2].transformer_encoder.len(), 15);
    assert!(net.levels[0].pool.is_none());
    assert_eq!(net.levels[2].pos_embed.dims(), [1, 1, 196, 512]);
    assert_eq!(
        net.levels[1]
            .pool
            .as_ref()
            .unwrap()
            .global_attention
            .pos_embed_glo
            .dims(),
        [1, 16, 256]
    );
}

/// One 224 px image through the full network (several seconds on a CPU: run with `--ignored`).
#[test]
#[ignore]
fn full_size_forward() {
    let net = HybridHashConfig::new().init(&device());
    let x = images(1, 224, 0.0);
    let maps = net.level_maps(x.clone());
    let dims: Vec<[usize; 4]> = maps.iter().map(|m| m.dims()).collect();
    assert_eq!(dims, [[1, 128, 56, 56], [1, 256, 28, 28], [1, 512, 14, 14]]);
    let fmap = net.forward_features(x);
    assert_eq!(
        net.hash_layer.forward_map(fmap.clone()).dims(),
        [1, 512, 7, 7]
    );
    let f = values(net.hash_layer.forward(fmap));
    assert_eq!(f.len(), 512);
    assert!(f.iter().all(|v| v.is_finite()));
}

#[test]
fn small_network_shapes() {
    let c = small();
    assert_eq!(c.block_size(), 4);
    let net = c.init(&device());
    assert_eq!(net.num_params(), expected_params(&c));
    let x = images(2, 64, 0.0);
    let maps = net.level_maps(x.clone());
    let dims: Vec<[usize; 4]> = maps.iter().map(|m| m.dims()).collect();
    assert_eq!(dims, [[2, 8, 16, 16], [2, 16, 8, 8], [2, 32, 4, 4]]);
    let fmap = net.forward_features(x.clone());
    assert_eq!(fmap.dims(), [2, 32, 4, 4]);
    assert_eq!(net.hash_layer.forward_map(fmap).dims(), [2, 32, 2, 2]);
    assert_eq!(net.features(x).dims(), [2, 32]);
}

#[test]
fn features_are_finite_deterministic_and_input_dependent() {
    for upstream in [true, false] {
        let net = small()
            .with_upstream_global_reshape(upstream)
            .init(&device());
        let a = values(net.features(images(2, 64, 0.0)));
        let a2 = values(net.features(images(2, 64, 0.0)));
        let b = values(net.features(images(2, 64, 1.3)));
        assert_eq!(a.len(), 64);
        assert!(a.iter().chain(&b).all(|v| v.is_finite()));
        // No drop path outside autodiff training: same input, same output.
        assert_eq!(a, a2);
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(diff > 1e-4, "features barely depend on the input ({diff})");
        // The two images of a batch differ too.
        let rows = a[..32]
            .iter()
            .zip(&a[32..])
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(rows > 1e-4, "both images gave the same features");
    }
}

#[test]
fn blockify_follows_upstream_layout_and_round_trips() {
    // [1, 4, 4, 1] with value = 4 · row + col; blocks of 2: block 1 is rows 0–1, cols 2–3.
    let x = Tensor::<4>::from_data(
        TensorData::new((0..16).map(|v| v as f32).collect::<Vec<_>>(), [1, 4, 4, 1]),
        &device(),
    );
    let blocks = blockify(x.clone(), 2);
    assert_eq!(blocks.dims(), [1, 4, 4, 1]);
    assert_eq!(
        values(blocks.clone()),
        [
            0., 1., 4., 5., 2., 3., 6., 7., 8., 9., 12., 13., 10., 11., 14., 15.
        ]
    );
    assert_eq!(values(deblockify(blocks, 2)), values(x));
}

#[test]
fn attention_concatenates_heads_channel_major() {
    // One token: softmax is 1, so the output is v, heads interleaved as c' · heads + h.
    let heads = 2;
    let v: Vec<f32> = vec![10., 11., 12., 20., 21., 22.]; // head 0: 10..12, head 1: 20..22
    let mut qkv = vec![0.0f32; 12];
    qkv.extend(&v);
    let t = Tensor::<3>::from_data(TensorData::new(qkv, [1, 1, 18]), &device());
    assert_eq!(values(attend(t, heads)), [10., 20., 11., 21., 12., 22.]);
}

fn grad_norm<const D: usize>(grad: Option<Tensor<D>>) -> f32 {
    values(grad.expect("a gradient").abs().sum())[0]
}

#[test]
fn gradients_reach_every_branch() {
    let ad = device().autodiff();
    let net = small().with_drop_path(0.0).init(&ad);
    let x = images(2, 64, 0.0).to_device(&ad);
    let grads = net.features(x).powf_scalar(2.0).sum().backward();
    let pool = net.levels[1].pool.as_ref().unwrap();
    let mlp = &net.levels[2].transformer_encoder[0].mlp;
    let hash = &net.hash_layer;
    let norms = [
        grad_norm(net.patch_embed.proj.weight.val().grad(&grads)),
        grad_norm(net.levels[0].pos_embed.val().grad(&grads)),
        grad_norm(pool.conv.weight.val().grad(&grads)),
        grad_norm(pool.conv_glo.weight.val().grad(&grads)),
        grad_norm(pool.global_attention.qkv.weight.val().grad(&grads)),
        grad_norm(pool.global_attention.pos_embed_glo.val().grad(&grads)),
        grad_norm(mlp.fc1.weight.val().grad(&grads)),
        grad_norm(hash.conv_s1.weight.val().grad(&grads)),
        grad_norm(hash.global_attention.proj.weight.val().grad(&grads)),
    ];
    assert!(norms.iter().all(|n| n.is_finite() && *n > 0.0), "{norms:?}");
}

#[test]
fn drop_path_drops_whole_samples_only_when_training_on_autodiff() {
    let dp = DropPath::new(0.5);
    let ones = |d: &Device| Tensor::<3>::ones([64, 2, 3], d);
    let plain = values(dp.forward(ones(&device())));
    assert!(plain.iter().all(|&v| v == 1.0));
    let ad = device().autodiff();
    let out = values(dp.forward(ones(&ad)));
    let samples: Vec<&[f32]> = out.chunks(6).collect();
    assert!(samples.iter().all(|s| s.iter().all(|&v| v == s[0])));
    assert!(samples.iter().all(|s| s[0] == 0.0 || s[0] == 2.0));
    assert!(samples.iter().any(|s| s[0] == 0.0) && samples.iter().any(|s| s[0] == 2.0));
    let valid = values(dp.valid().forward(ones(&ad)));
    assert!(valid.iter().all(|&v| v == 1.0));
}
