//! A background job that reports through a channel: the UI polls it once per frame and never waits on
//! it; the job checks a cancel flag at its own safe points. Indexing and fine-tuning both run this way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui;

/// The job's side: sends events and wakes the UI.
pub struct Reporter<E> {
    tx: Sender<E>,
    ctx: egui::Context,
    pub cancel: Arc<AtomicBool>,
}

impl<E> Reporter<E> {
    /// Sends `e` and asks for a repaint.
    pub fn send(&self, e: E) {
        let _ = self.tx.send(e);
        self.ctx.request_repaint();
    }

    /// Sends `e` without waking the UI (for frequent events that a later one will follow).
    pub fn send_quietly(&self, e: E) {
        let _ = self.tx.send(e);
    }
}

/// The UI's side.
pub struct Task<E> {
    events: Receiver<E>,
    cancel: Arc<AtomicBool>,
}

impl<E: Send + 'static> Task<E> {
    /// Runs `job` on a new thread named `name`.
    pub fn spawn(
        name: &str,
        ctx: &egui::Context,
        job: impl FnOnce(Reporter<E>) + Send + 'static,
    ) -> Self {
        let (tx, events) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let reporter = Reporter {
            tx,
            ctx: ctx.clone(),
            cancel: cancel.clone(),
        };
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || job(reporter))
            .expect("a thread can be started");
        Self { events, cancel }
    }

    /// Asks the job to stop at its next safe point.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancelling(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Events since the last call.
    pub fn poll(&self) -> Vec<E> {
        self.events.try_iter().collect()
    }
}
