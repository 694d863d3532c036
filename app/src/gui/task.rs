//! A background job that reports through a channel: the UI polls it once per frame and never waits on
//! it; the job checks a cancel flag at its own safe points. Indexing, fine-tuning, the evaluation, the
//! flip test, near-duplicates and outside queries all run this way.
//!
//! A job that panics (a GPU driver's out-of-memory, a bug) must not leave its view "running" forever:
//! the panic is caught and arrives as the job's last event, through `E: From<Panicked>`, which each event
//! type maps to its own failure.

use std::panic::{AssertUnwindSafe, catch_unwind};
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

/// A job that panicked, with the panic's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Panicked(pub String);

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stopped unexpectedly: {}", self.0)
    }
}

/// Jobs whose last event is a `Result` with a message fail with the panic's.
impl<T> From<Panicked> for Result<T, String> {
    fn from(p: Panicked) -> Self {
        Err(p.to_string())
    }
}

/// The UI's side.
pub struct Task<E> {
    events: Receiver<E>,
    cancel: Arc<AtomicBool>,
}

impl<E: From<Panicked> + Send + 'static> Task<E> {
    /// Runs `job` on a new thread named `name`; a panic in it becomes its last event.
    pub fn spawn(
        name: &str,
        ctx: &egui::Context,
        job: impl FnOnce(Reporter<E>) + Send + 'static,
    ) -> Self {
        let (tx, events) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let reporter = Reporter {
            tx: tx.clone(),
            ctx: ctx.clone(),
            cancel: cancel.clone(),
        };
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| job(reporter))) {
                    let _ = tx.send(Panicked(crate::panics::message(payload.as_ref())).into());
                    ctx.request_repaint();
                }
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for<E: From<Panicked> + Send + 'static>(task: &Task<E>) -> Vec<E> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let events = task.poll();
            if !events.is_empty() || std::time::Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn a_panicking_job_ends_with_its_message_as_a_failure() {
        let ctx = egui::Context::default();
        let buffers = 3;
        let task: Task<Result<u32, String>> = Task::spawn("test", &ctx, move |_r| {
            panic!("out of memory allocating {buffers} buffers");
        });
        assert_eq!(
            wait_for(&task),
            vec![Err(
                "stopped unexpectedly: out of memory allocating 3 buffers".to_string()
            )]
        );
    }

    #[test]
    fn a_job_that_ends_normally_sends_only_its_own_events() {
        let ctx = egui::Context::default();
        let task: Task<Result<u32, String>> = Task::spawn("test", &ctx, |r| r.send(Ok(7)));
        assert_eq!(wait_for(&task), vec![Ok(7)]);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(task.poll().is_empty());
    }
}
