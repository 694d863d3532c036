use super::*;
use crate::code::CodeBook;
use burn::module::Param;

fn device() -> Device {
    Device::flex()
}

fn provenance() -> Provenance {
    Provenance {
        description: "test".into(),
        ..Provenance::default()
    }
}

/// Deterministic pseudo-random features.
fn features(n: usize, dim: usize) -> Vec<f32> {
    (0..n * dim)
        .map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * (1.0 + (i % dim) as f32 / 100.0))
        .collect()
}

/// An LSH model on MobileNetV2 features: `bits` bits, projections drawn with `seed`.
fn lsh_model(bits: usize, seed: u64, d: &Device) -> HashModel {
    let hash = LinearHash::lsh(&features(20, 1280), 1280, bits, seed).unwrap();
    HashModel::linear(
        BackboneArch::MobilenetV2,
        HeadKind::Lsh,
        &hash,
        provenance(),
        d,
    )
    .unwrap()
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn the_trained_head_is_linear_layernorm_tanh() {
    let d = device();
    let mut head = TrainedHead::new(2, 2, 3, &d);
    // Burn's Linear weight is [in, out]: y = x·W.
    head.hash.weight = Param::from_data(TensorData::new(vec![1f32, 0.0, 0.0, 2.0], [2, 2]), &d);
    let y = values(head.forward(Tensor::from_data(
        TensorData::new(vec![1f32, 2.0], [1, 2]),
        &d,
    )));
    // x·W = [1, 4]; LayerNorm: mean 2.5, variance 2.25 → [−1, 1] (eps 1e-5); tanh(±1) = ±0.761594.
    let n = 1.5 / (2.25f32 + 1e-5).sqrt();
    assert!(
        (y[0] + n.tanh()).abs() < 1e-5 && (y[1] - n.tanh()).abs() < 1e-5,
        "{y:?}"
    );
    assert_eq!(head.proxies.val().dims(), [3, 2]);
}

#[test]
fn linear_head_codes_match_the_fitted_hash() {
    let d = device();
    let (n, dim, bits) = (50, 16, 8);
    let x = features(n, dim);
    let hash = LinearHash::itq(&x, dim, bits, 10, 3).unwrap();
    let head = LinearHead::from_hash(&hash, &d);
    let out = values(head.forward(Tensor::from_data(TensorData::new(x.clone(), [n, dim]), &d)));
    assert_eq!(
        CodeBook::from_signs(bits, &out).unwrap(),
        hash.encode(&x).unwrap()
    );
}

#[test]
fn a_linear_model_gives_back_the_hash_it_was_made_from() {
    let d = device();
    let hash = LinearHash::lsh(&features(20, 1280), 1280, 16, 5).unwrap();
    let model = lsh_model(16, 5, &d);
    assert_eq!(model.linear_hash(), Some(hash));
}

#[test]
fn model_files_round_trip_with_a_stable_fingerprint() {
    let d = device();
    let dir = tempfile::tempdir().unwrap();
    let model = lsh_model(16, 1, &d);
    let path = dir.path().join("m.hlmodel");
    model.save(&path).unwrap();
    let back = HashModel::load(&path, &d).unwrap();
    assert_eq!(back.config, model.config);
    assert_eq!(back.fingerprint(), model.fingerprint());
    // Written again (its header's metadata map may come out in another order): same fingerprint.
    back.save(&path).unwrap();
    assert_eq!(
        HashModel::load(&path, &d).unwrap().fingerprint(),
        model.fingerprint()
    );
    // Only the head is stored: the built-in backbone is referenced, not copied.
    assert!(std::fs::metadata(&path).unwrap().len() < 200_000);
    // Same pixels, same continuous codes.
    let x = crate::model::image_batch(vec![0.3; 3 * 64 * 64], 64, &d);
    assert_eq!(values(back.forward(x.clone())), values(model.forward(x)));

    // Another projection is another model.
    let other = lsh_model(16, 2, &d);
    assert_ne!(other.fingerprint(), model.fingerprint());
}

#[test]
fn a_verdict_calibration_travels_with_the_model_file() {
    let d = device();
    let dir = tempfile::tempdir().unwrap();
    let model = lsh_model(16, 1, &d);
    let plain = model.fingerprint().to_string();
    assert_eq!(model.verdict_rule(), crate::eval::VerdictRule::fixed(16));
    let calibration = crate::eval::VerdictCalibration {
        near_duplicate_within: 3,
        precision: 0.993,
        recall: 0.7,
        false_match_rate: 1e-5,
        copies: 300,
        measured_on: "15 edits of 20 photos of test".into(),
        with_print: None,
    };
    let model = model.with_calibration(Some(calibration.clone())).unwrap();
    assert_ne!(model.fingerprint(), plain, "the settings changed");
    let path = dir.path().join("m.hlmodel");
    model.save(&path).unwrap();
    let back = HashModel::load(&path, &d).unwrap();
    assert_eq!(back.config.verdict.as_ref(), Some(&calibration));
    assert_eq!(back.fingerprint(), model.fingerprint());
    assert_eq!(back.verdict_rule().near_duplicate_within(), 3);
    // The header alone says the same, without the weights.
    assert_eq!(ModelConfig::read(&path).unwrap(), back.config);
    // Without a calibration nothing is written: the fingerprint is the one from before.
    let uncalibrated = back.with_calibration(None).unwrap();
    assert_eq!(uncalibrated.fingerprint(), plain);

    // A calibration no 16-bit model can have is refused, in the full read and the header read.
    let mut hostile = model.config.clone();
    hostile.verdict = Some(crate::eval::VerdictCalibration {
        near_duplicate_within: 40,
        ..calibration.clone()
    });
    let json = serde_json::to_string(&hostile).unwrap();
    let bytes =
        crate::model::weights::to_safetensors_bytes(&model.net.head, &[(CONFIG_KEY, &json)])
            .unwrap();
    let err = HashModel::from_bytes(&bytes, "m", &d)
        .unwrap_err()
        .to_string();
    assert!(err.contains("verdict calibration"), "{err}");
    std::fs::write(&path, &bytes).unwrap();
    let err = ModelConfig::read(&path).unwrap_err().to_string();
    assert!(err.contains("verdict calibration"), "{err}");
    let mut nan = hostile;
    nan.verdict = Some(crate::eval::VerdictCalibration {
        precision: f64::NAN,
        ..calibration
    });
    assert!(
        serde_json::to_string(&nan).is_err() || {
            let json = serde_json::to_string(&nan).unwrap();
            let bytes = crate::model::weights::to_safetensors_bytes(
                &model.net.head,
                &[(CONFIG_KEY, &json)],
            )
            .unwrap();
            HashModel::from_bytes(&bytes, "m", &d).is_err()
        }
    );
    // Not a model, cut short, or a header too long to be one: clear errors, nothing allocated.
    std::fs::write(&path, b"abc").unwrap();
    assert!(
        ModelConfig::read(&path)
            .unwrap_err()
            .to_string()
            .contains("too short")
    );
    std::fs::write(&path, u64::MAX.to_le_bytes()).unwrap();
    assert!(
        ModelConfig::read(&path)
            .unwrap_err()
            .to_string()
            .contains("header of")
    );
}

#[test]
fn fine_tuned_models_carry_their_backbone() {
    let d = device();
    let dir = tempfile::tempdir().unwrap();
    let backbone = BackboneArch::MobilenetV2.init(224, &d);
    let head = TrainedHead::new(1280, 32, 10, &d);
    let model = HashModel::trained(backbone, head, true, None, provenance()).unwrap();
    assert_eq!((model.config.bits, model.config.classes), (32, 10));
    let path = dir.path().join("dhd.hlmodel");
    model.save(&path).unwrap();
    let back = HashModel::load(&path, &d).unwrap();
    assert_eq!(back.fingerprint(), model.fingerprint());
    let x = crate::model::image_batch(vec![0.1; 3 * 32 * 32], 32, &d);
    assert_eq!(values(back.forward(x.clone())), values(model.forward(x)));
}

#[test]
fn wrong_files_are_refused_with_a_reason() {
    let d = device();
    let dir = tempfile::tempdir().unwrap();
    let err = |bytes: &[u8]| {
        HashModel::from_bytes(bytes, "m", &d)
            .unwrap_err()
            .to_string()
    };
    assert!(err(b"hello").contains("not a hashlens model"));
    // Plain weights (no hashlens settings) are not a model.
    let weights = dir.path().join("w.safetensors");
    crate::model::weights::save_safetensors(&TrainedHead::new(4, 8, 2, &d), &weights).unwrap();
    assert!(err(&std::fs::read(&weights).unwrap()).contains("not a hashlens model"));

    let model = lsh_model(8, 1, &d);
    let with = |config: &ModelConfig| {
        let json = serde_json::to_string(config).unwrap();
        crate::model::weights::to_safetensors_bytes(&model.net.head, &[(CONFIG_KEY, &json)])
            .unwrap()
    };
    let mut future = model.config.clone();
    future.format = MODEL_FORMAT + 1;
    assert!(err(&with(&future)).contains("format 2 is not supported"));
    let mut foreign = model.config.clone();
    foreign.backbone_weights = BackboneWeights::Builtin {
        fingerprint: "0123456789abcdef".into(),
    };
    assert!(err(&with(&foreign)).contains("ImageNet weights 0123456789abcdef"));
    let mut longer = model.config.clone();
    longer.bits = 16;
    assert!(
        err(&with(&longer)).contains("projection"),
        "{}",
        err(&with(&longer))
    );
}

/// A model file with a trained head, written by hashlens before the head's types were renamed
/// (`tests/fixtures/trained-head-v1.hlmodel`: 16 bits, 3 classes, the shipped MobileNetV2): it still
/// loads, and its head gives the codes recorded beside it when it was written
/// (`trained-head-v1.codes`, one code per line for [`features`]`(4, 1280)`).
/// `HASHLENS_WRITE_FIXTURES=1` writes both anew.
#[test]
fn a_trained_head_file_from_before_the_rename_still_loads() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/trained-head-v1.hlmodel");
    let codes_file = fixture.with_extension("codes");
    let d = device();
    let input = || Tensor::<2>::from_data(TensorData::new(features(4, 1280), [4, 1280]), &d);
    let codes = |m: &HashModel| -> String {
        let values = values(m.net().head.forward(input()));
        let book = CodeBook::from_signs(m.bits(), &values).unwrap();
        (0..book.len())
            .map(|i| format!("{}\n", book.get(i)))
            .collect()
    };
    if std::env::var_os("HASHLENS_WRITE_FIXTURES").is_some() {
        let backbone = BackboneArch::MobilenetV2.pretrained(&d).unwrap();
        let head = TrainedHead::seeded(1280, 16, 3, 7, &d);
        let model = HashModel::trained(backbone, head, false, None, provenance()).unwrap();
        model.save(&fixture).unwrap();
        std::fs::write(&codes_file, codes(&model)).unwrap();
    }
    let model = HashModel::load(&fixture, &d).unwrap();
    assert_eq!((model.bits(), model.config.classes), (16, 3));
    assert_eq!(codes(&model), std::fs::read_to_string(&codes_file).unwrap());
}
