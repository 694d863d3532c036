//! Indexing a folder on a background thread (a [`Task`]): the UI polls it each frame and never waits on it.

use eframe::egui;
use hashlens_core::device::{ComputeDevice, DeviceChoice};
use hashlens_core::index::{CodeIndex, IndexEvent, IndexJob, IndexReport, update_index};

use super::task::{Panicked, Task};

/// What the background indexer reports.
pub enum TaskEvent {
    /// The index as it was before this run (shown at once while the run goes on).
    Loaded(CodeIndex),
    /// Where the networks run.
    Device(String),
    Index(IndexEvent),
    /// The run ended: its report, and the index it saved.
    Done(Result<Box<(IndexReport, CodeIndex)>, String>),
}

impl From<Panicked> for TaskEvent {
    fn from(p: Panicked) -> Self {
        TaskEvent::Done(Err(format!("indexing {p}")))
    }
}

/// Indexing in the background.
pub type IndexTask = Task<TaskEvent>;

/// Starts bringing the index of `job` up to date on `device`.
pub fn start_indexing(job: IndexJob, device: DeviceChoice, ctx: &egui::Context) -> IndexTask {
    Task::spawn("indexer", ctx, move |r| {
        if let Ok(old) = CodeIndex::load(&job.index) {
            r.send(TaskEvent::Loaded(old));
        }
        let device = match ComputeDevice::choose(device) {
            Ok(d) => d,
            Err(e) => return r.send(TaskEvent::Done(Err(e.to_string()))),
        };
        r.send(TaskEvent::Device(device.describe()));
        let result = update_index(&job, &device, &r.cancel, &mut |e| {
            // Photos arrive one by one; the UI is woken once per batch.
            if matches!(e, IndexEvent::Encoded(..)) {
                r.send_quietly(TaskEvent::Index(e));
            } else {
                r.send(TaskEvent::Index(e));
            }
        })
        .map_err(|e| e.to_string())
        .and_then(|report| {
            let index = CodeIndex::load(&job.index).map_err(|e| e.to_string())?;
            Ok(Box::new((report, index)))
        });
        r.send(TaskEvent::Done(result));
    })
}
