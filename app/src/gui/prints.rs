//! The library's perceptual prints (`hashlens_core::index::update_prints`), computed on a background task
//! after each index update and kept beside the index: where both photos of a result have one, its
//! near-duplicate verdict reads the code and the print together, as the model's calibration measured
//! them (`benchmarks/results/codes-for-copies.md`). Until they are ready, the code alone decides.

use std::path::PathBuf;
use std::time::Instant;

use eframe::egui;
use hashlens_core::index::{IndexedPhoto, Prints, PrintsEvent, PrintsJob, update_prints};

use super::task::{Panicked, Task};

enum Event {
    Progress(usize, usize),
    Done(Result<Prints, String>),
}

impl From<Panicked> for Event {
    fn from(p: Panicked) -> Self {
        Event::Done(Err(format!("computing the perceptual prints {p}")))
    }
}

/// The prints, the photos they were computed for, and the task computing them.
#[derive(Default)]
pub struct LibraryPrints {
    task: Option<Task<Event>>,
    /// Photos with their print (or found unreadable), of the photos asked, while the task runs.
    pub progress: Option<(usize, usize)>,
    /// When the first progress came, and how many photos were done then (those read from the file):
    /// the pace since gives the time left.
    paced_from: Option<(Instant, usize)>,
    /// The photos the prints (or the running task) are for, in index order then.
    photos: Vec<IndexedPhoto>,
    prints: Option<Prints>,
    pub error: Option<String>,
}

impl LibraryPrints {
    /// Computes the prints of `photos` (the index at `index` in its order now), replacing a run for
    /// other photos.
    pub fn start(&mut self, index: PathBuf, photos: Vec<IndexedPhoto>, ctx: &egui::Context) {
        self.cancel();
        self.prints = None;
        self.error = None;
        self.progress = Some((0, photos.len()));
        self.paced_from = None;
        self.photos = photos.clone();
        let job = PrintsJob { index, photos };
        self.task = Some(Task::spawn("perceptual prints", ctx, move |r| {
            let result = update_prints(&job, &r.cancel, &mut |e| match e {
                PrintsEvent::Progress { done, total } => {
                    r.send_quietly(Event::Progress(done, total))
                }
            });
            r.send(Event::Done(result.map_err(|e| e.to_string())));
        }));
    }

    /// Applies what the task reported. Call once per frame.
    pub fn poll(&mut self) {
        let events = self.task.as_ref().map(|t| t.poll()).unwrap_or_default();
        for event in events {
            match event {
                Event::Progress(done, total) => {
                    self.paced_from.get_or_insert((Instant::now(), done));
                    self.progress = Some((done, total));
                }
                Event::Done(result) => {
                    self.task = None;
                    self.progress = None;
                    match result {
                        Ok(prints) => self.prints = Some(prints),
                        Err(e) => self.error = Some(e),
                    }
                }
            }
        }
    }

    /// Stops the task and forgets the prints: the index is about to change under them.
    pub fn stop(&mut self) {
        self.cancel();
        self.prints = None;
        self.photos.clear();
    }

    /// The prints, once computed for the index as it is (the library calls [`Self::stop`] before it
    /// changes the index).
    pub fn current(&self) -> Option<&Prints> {
        self.prints.as_ref()
    }

    /// Stops the running task at its next chunk (what it finished is kept in the file).
    pub fn cancel(&self) {
        if let Some(t) = &self.task {
            t.cancel();
        }
    }

    /// Seconds left at the pace since the first progress (`None` until there is a pace).
    pub fn seconds_left(&self) -> Option<f64> {
        let ((done, total), (since, from)) = (self.progress?, self.paced_from?);
        let elapsed = since.elapsed().as_secs_f64();
        (done > from && elapsed > 1.0)
            .then(|| elapsed / (done - from) as f64 * (total - done) as f64)
    }

    /// The print distance between photos `a` and `b` of `photos` (the index now), where both have one
    /// and the prints were computed for the photos at those positions.
    pub fn distance(&self, photos: &[IndexedPhoto], a: usize, b: usize) -> Option<u32> {
        let prints = self.prints.as_ref()?;
        let same = |i: usize| self.photos.get(i).is_some_and(|p| Some(p) == photos.get(i));
        (same(a) && same(b))
            .then(|| prints.distance(a, b))
            .flatten()
    }
}

impl Drop for LibraryPrints {
    fn drop(&mut self) {
        self.cancel();
    }
}
