//! Fine-tuning a hashing model on the open folder: the core training use case
//! ([`hashlens_core::train::run_train_job`], the same as `hashlens train`) on a background task whose
//! events the Model tab reads.

use std::path::PathBuf;

use eframe::egui;
use hashlens_core::device::{ComputeDevice, DeviceChoice};
use hashlens_core::train::{TrainEvent, TrainJob, run_train_job};

use super::task::{Panicked, Task};

/// A finished run: the model file and its class vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedModel {
    pub path: PathBuf,
    /// The classes' names where they have them (class folders); empty for targets found in the photos.
    pub class_names: Vec<String>,
    pub classes: usize,
    /// The class vectors' cosine similarities, `classes × classes`, row-major.
    pub similarities: Vec<f32>,
}

/// What the trainer reports.
pub enum TrainerEvent {
    Note(String),
    Train(TrainEvent),
    /// The model, or why not.
    Done(Result<TrainedModel, String>),
}

impl From<Panicked> for TrainerEvent {
    fn from(p: Panicked) -> Self {
        let hint = if crate::panics::out_of_memory(&p.0) {
            " — the GPU ran out of memory; \"hash layer only\" needs a small part of it, and the \
             command line's `train --micro-batch` trains the whole network in parts"
        } else {
            ""
        };
        TrainerEvent::Done(Err(format!("training {p}{hint}")))
    }
}

/// Fine-tuning in the background.
pub type TrainTask = Task<TrainerEvent>;

/// Starts `job` on `device`.
pub fn start_training(job: TrainJob, device: DeviceChoice, ctx: &egui::Context) -> TrainTask {
    Task::spawn("trainer", ctx, move |r| {
        let result = ComputeDevice::choose(device)
            .map_err(|e| e.to_string())
            .and_then(|device| {
                r.send(TrainerEvent::Note(format!(
                    "training on {}",
                    device.describe()
                )));
                run_train_job(&job, &device, &r.cancel, &mut |e| {
                    r.send(TrainerEvent::Train(e))
                })
                .map_err(|e| e.to_string())
            })
            .map(|report| TrainedModel {
                path: job.out.clone(),
                classes: report.classes(),
                class_names: report.class_names,
                similarities: report.class_similarities,
            });
        r.send(TrainerEvent::Done(result));
    })
}
