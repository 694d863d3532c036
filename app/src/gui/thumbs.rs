//! Thumbnails for the grid: decoded and downscaled on worker threads, uploaded as textures on the UI
//! thread, kept in a bounded cache.
//!
//! Why not egui's image loaders: they keep every full-resolution image they ever loaded, which a grid over
//! a 100,000-photo library cannot afford. Here only the thumbnails near the screen are requested; the
//! newest requests are served first (the user scrolled there), stale ones are dropped, and the least
//! recently drawn textures are evicted past the cache's capacity.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use hashlens_core::photo::{DecodeLimits, decode_file};

/// Longest side of a thumbnail in pixels.
pub const SIDE: u32 = 160;
/// Requests waiting beyond this are dropped (oldest first): they were for rows scrolled past.
const MAX_PENDING: usize = 512;

enum Thumb {
    Ready(TextureHandle),
    Failed,
}

/// Requests shared with the workers: a stack (newest first) and a flag to stop.
#[derive(Default)]
struct Queue {
    stack: Mutex<(Vec<PathBuf>, bool)>,
    wake: Condvar,
}

pub struct Thumbnails {
    queue: Arc<Queue>,
    done: Receiver<(PathBuf, Option<ColorImage>)>,
    /// Each thumbnail with the frame it was last drawn in.
    cache: HashMap<PathBuf, (Thumb, u64)>,
    requested: HashSet<PathBuf>,
    frame: u64,
    capacity: usize,
}

impl Thumbnails {
    /// Starts `workers` decoding threads; `ctx` is woken when a thumbnail is ready.
    pub fn new(ctx: &egui::Context, workers: usize, capacity: usize) -> Self {
        let queue = Arc::new(Queue::default());
        let (tx, done) = channel();
        for _ in 0..workers.max(1) {
            let (queue, tx, ctx) = (queue.clone(), tx.clone(), ctx.clone());
            std::thread::Builder::new()
                .name("thumbnails".into())
                .spawn(move || work(&queue, &tx, &ctx))
                .expect("a thread can be started");
        }
        Self {
            queue,
            done,
            cache: HashMap::new(),
            requested: HashSet::new(),
            frame: 0,
            capacity,
        }
    }

    /// The thumbnail of `path` if it is ready; asks for it otherwise. `None` also for photos that failed.
    pub fn get(&mut self, path: &Path) -> Option<&TextureHandle> {
        if !self.cache.contains_key(path) && self.requested.insert(path.to_path_buf()) {
            let mut q = self.queue.stack.lock().expect("queue lock");
            q.0.push(path.to_path_buf());
            if q.0.len() > MAX_PENDING {
                let excess = q.0.len() - MAX_PENDING;
                let stale: Vec<PathBuf> = q.0.drain(..excess).collect();
                for p in stale {
                    self.requested.remove(&p);
                }
            }
            self.queue.wake.notify_one();
        }
        match self.cache.get_mut(path) {
            Some((thumb, used)) => {
                *used = self.frame;
                match thumb {
                    Thumb::Ready(t) => Some(t),
                    Thumb::Failed => None,
                }
            }
            None => None,
        }
    }

    /// Uploads finished thumbnails and evicts the least recently drawn past capacity. Call once per frame.
    pub fn poll(&mut self, ctx: &egui::Context) {
        self.frame += 1;
        for (path, image) in self.done.try_iter() {
            self.requested.remove(&path);
            let thumb = match image {
                Some(img) => Thumb::Ready(ctx.load_texture(
                    path.to_string_lossy(),
                    img,
                    TextureOptions::LINEAR,
                )),
                None => Thumb::Failed,
            };
            self.cache.insert(path, (thumb, self.frame));
        }
        if self.cache.len() > self.capacity {
            // Down to three quarters, so that eviction runs now and then rather than every frame.
            let mut by_use: Vec<(u64, PathBuf)> = self
                .cache
                .iter()
                .map(|(p, (_, used))| (*used, p.clone()))
                .collect();
            by_use.sort_unstable();
            for (_, p) in by_use
                .into_iter()
                .take(self.cache.len() - self.capacity * 3 / 4)
            {
                self.cache.remove(&p);
            }
        }
    }
}

impl Drop for Thumbnails {
    fn drop(&mut self) {
        self.queue.stack.lock().expect("queue lock").1 = true;
        self.queue.wake.notify_all();
    }
}

fn work(queue: &Queue, tx: &Sender<(PathBuf, Option<ColorImage>)>, ctx: &egui::Context) {
    loop {
        let path = {
            let mut q = queue.stack.lock().expect("queue lock");
            loop {
                if q.1 {
                    return;
                }
                if let Some(p) = q.0.pop() {
                    break p;
                }
                q = queue.wake.wait(q).expect("queue lock");
            }
        };
        let image = decode_file(&path, &DecodeLimits::default())
            .ok()
            .map(|img| {
                let small = image::imageops::thumbnail(
                    &img,
                    SIDE.min(img.width() * SIDE / img.width().max(img.height()))
                        .max(1),
                    SIDE.min(img.height() * SIDE / img.width().max(img.height()))
                        .max(1),
                );
                ColorImage::from_rgb(
                    [small.width() as usize, small.height() as usize],
                    small.as_raw(),
                )
            });
        if tx.send((path, image)).is_err() {
            return;
        }
        ctx.request_repaint();
    }
}
