//! What a training step's loss needs besides the network: the method's loss, each photo's centre (CSQ,
//! SHC), or the memory bank of every photo's latest code (HybridHash).

use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

use super::centres::photo_centres;
use super::class_centres::ClassCentres;
use super::{HashLoss, LossParts, Method, Reference, TrainConfig, TrainImages};

/// HybridHash's memory bank, on the device: each training photo's latest teacher code (detached), which
/// rows hold one yet, and every photo's target row (to tell similar photos).
struct MemoryBank {
    codes: Tensor<2>,
    visited: Tensor<1>,
    targets: Tensor<2>,
}

impl MemoryBank {
    fn new(images: &TrainImages, bits: usize, device: &Device) -> Self {
        let n = images.len();
        Self {
            codes: Tensor::zeros([n, bits], device),
            visited: Tensor::zeros([n], device),
            targets: Tensor::from_data(
                TensorData::new(images.target_rows().to_vec(), [n, images.classes]),
                device,
            ),
        }
    }

    /// Writes the batch's codes into the bank (as upstream, before the loss reads it) and returns the
    /// reference for the loss.
    fn update(&mut self, codes: Tensor<2>, targets: Tensor<2>, items: &[usize]) -> Reference {
        let device = codes.device();
        let idx: Vec<i64> = items.iter().map(|&i| i as i64).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [items.len()]), &device);
        // Assignment as an addition of the difference: every backend has the additive update, and a
        // batch never holds a photo twice.
        let old = self.codes.clone().select(0, idx.clone());
        self.codes = self.codes.clone().select_assign(
            0,
            idx.clone(),
            codes.detach() - old,
            IndexingUpdateOp::Add,
        );
        let seen = self.visited.clone().select(0, idx.clone());
        self.visited = self.visited.clone().select_assign(
            0,
            idx,
            seen.neg().add_scalar(1.0),
            IndexingUpdateOp::Add,
        );
        Reference::Bank {
            codes: self.codes.clone(),
            similar: targets
                .matmul(self.targets.clone().transpose())
                .greater_elem(0.0)
                .float(),
            visited: self.visited.clone(),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for t in [self.codes.clone().flatten::<1>(0, 1), self.visited.clone()] {
            let v: Vec<f32> = t.into_data().convert::<f32>().try_to_vec().expect("f32");
            out.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        }
        out
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let [n, bits] = self.codes.dims();
        if bytes.len() != (n * bits + n) * 4 {
            return Err("the checkpoint's memory bank is of another size".into());
        }
        let v: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let device = self.codes.device();
        self.codes = Tensor::from_data(TensorData::new(v[..n * bits].to_vec(), [n, bits]), &device);
        self.visited = Tensor::from_data(TensorData::new(v[n * bits..].to_vec(), [n]), &device);
        Ok(())
    }
}

/// A run's loss and what it compares codes with.
pub(super) struct Objective {
    loss: HashLoss,
    /// CSQ, SHC: every photo's hash centre (`len × bits`).
    centres: Option<Vec<f32>>,
    bank: Option<MemoryBank>,
    bits: usize,
}

impl Objective {
    pub(super) fn new(
        config: &TrainConfig,
        images: &TrainImages,
        centres: Option<&ClassCentres>,
        device: &Device,
    ) -> Self {
        let method = config.method.method;
        assert_eq!(
            centres.is_some(),
            method.uses_centres(),
            "centres exactly for the methods that use them"
        );
        let centres = centres.map(|c| {
            let rows = images.target_rows();
            photo_centres(&c.centres, config.bits, rows, images.classes, config.seed)
        });
        Self {
            loss: HashLoss::new(config.method.clone(), config.loss.clone()),
            centres,
            bank: (method == Method::HybridHash)
                .then(|| MemoryBank::new(images, config.bits, device)),
            bits: config.bits,
        }
    }

    /// Whether the student view enters the loss (DHD, or the SdH plug-in); otherwise it is not made.
    pub(super) fn distils(&self) -> bool {
        self.loss.method.distils()
    }

    pub(super) fn forward(
        &mut self,
        teacher: Tensor<2>,
        student: Option<Tensor<2>>,
        proxies: Tensor<2>,
        images: &TrainImages,
        items: &[usize],
        device: &Device,
    ) -> LossParts {
        let targets = images.targets(items, device);
        let reference = if let Some(c) = &self.centres {
            let rows: Vec<f32> = items
                .iter()
                .flat_map(|&i| c[i * self.bits..(i + 1) * self.bits].iter().copied())
                .collect();
            Reference::Centres(Tensor::from_data(
                TensorData::new(rows, [items.len(), self.bits]),
                device,
            ))
        } else if let Some(bank) = &mut self.bank {
            bank.update(teacher.clone(), targets.clone(), items)
        } else {
            Reference::None
        };
        let student = student.unwrap_or_else(|| teacher.clone());
        self.loss
            .forward(teacher, student, proxies, targets, reference)
    }

    /// State that a checkpoint must keep beside the network and optimisers (the memory bank).
    pub(super) fn state(&self) -> Option<Vec<u8>> {
        self.bank.as_ref().map(MemoryBank::to_bytes)
    }

    /// Takes the state of [`Objective::state`] back; `None` when the checkpoint has none.
    pub(super) fn restore(&mut self, state: Option<&Vec<u8>>) -> Result<(), String> {
        match (&mut self.bank, state) {
            (None, None) => Ok(()),
            (Some(bank), Some(bytes)) => bank.load(bytes),
            (Some(_), None) => Err("the checkpoint has no memory bank".into()),
            (None, Some(_)) => Err("the checkpoint has state this method does not use".into()),
        }
    }
}
