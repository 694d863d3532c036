//! Indexing a folder on a background thread, reporting through a channel: the UI polls it each frame and
//! never waits on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};

use eframe::egui;
use hashlens_core::device::{ComputeDevice, DeviceChoice};
use hashlens_core::index::{CodeIndex, IndexEvent, IndexJob, IndexReport, update_index};

/// What the background indexer reports.
pub enum TaskEvent {
    /// The index as it was before this run (shown at once while the run goes on).
    Loaded(CodeIndex),
    /// Where the networks run.
    Device(String),
    Index(IndexEvent),
    /// The run ended: its report, and the index it saved.
    Done(Result<(IndexReport, CodeIndex), String>),
}

pub struct IndexTask {
    events: Receiver<TaskEvent>,
    cancel: Arc<AtomicBool>,
}

impl IndexTask {
    pub fn start(job: IndexJob, device: DeviceChoice, ctx: &egui::Context) -> Self {
        let (tx, events) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let (stop, ctx) = (cancel.clone(), ctx.clone());
        std::thread::Builder::new()
            .name("indexer".into())
            .spawn(move || {
                let send = |e: TaskEvent| {
                    let _ = tx.send(e);
                    ctx.request_repaint();
                };
                if let Ok(old) = CodeIndex::load(&job.index) {
                    send(TaskEvent::Loaded(old));
                }
                let device = match ComputeDevice::choose(device) {
                    Ok(d) => d,
                    Err(e) => return send(TaskEvent::Done(Err(e.to_string()))),
                };
                send(TaskEvent::Device(device.describe()));
                let result = update_index(&job, &device, &stop, &mut |e| {
                    // Photos arrive one by one; the UI is woken once per batch.
                    let wake = !matches!(e, IndexEvent::Encoded(..));
                    let _ = tx.send(TaskEvent::Index(e));
                    if wake {
                        ctx.request_repaint();
                    }
                })
                .map_err(|e| e.to_string())
                .and_then(|report| {
                    let index = CodeIndex::load(&job.index).map_err(|e| e.to_string())?;
                    Ok((report, index))
                });
                send(TaskEvent::Done(result));
            })
            .expect("a thread can be started");
        Self { events, cancel }
    }

    /// Asks the run to stop after the batch in flight (it saves what it finished).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancelling(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Events since the last call.
    pub fn poll(&self) -> Vec<TaskEvent> {
        self.events.try_iter().collect()
    }
}
