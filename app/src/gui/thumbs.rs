//! Thumbnails for the grid: decoded and downscaled on worker threads, uploaded as textures on the UI
//! thread, kept in a bounded cache.
//!
//! Why not egui's image loaders: they keep every full-resolution image they ever loaded, which a grid over
//! a 100,000-photo library cannot afford. Here only the thumbnails near the screen are requested; the
//! newest requests are served first (the user scrolled there), stale ones are dropped, and the least
//! recently drawn textures are evicted past the cache's capacity. Thumbnails are also kept on disk, in
//! the platform's cache folder, keyed by path, size and modification time: a library opened again shows
//! at once, and an edited photo gets a new thumbnail.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use hashlens_core::photo::{DecodeLimits, decode_then};

/// Longest side of a thumbnail in pixels.
pub const SIDE: u32 = 160;
/// Requests waiting beyond this are dropped (oldest first): they were for rows scrolled past.
const MAX_PENDING: usize = 512;

enum Thumb {
    Ready(TextureHandle),
    Failed,
}

/// Requests shared with the workers, each with the frame that asked for it, and a flag to stop.
#[derive(Default)]
struct Queue {
    stack: Mutex<(Vec<(u64, PathBuf)>, bool)>,
    wake: Condvar,
}

/// The request to serve next: the newest frame's first (the user scrolled there, and a frame asks from
/// the top of the view down, so the view fills from the top), then the frame before it, and so on.
fn next_request(stack: &mut Vec<(u64, PathBuf)>) -> Option<PathBuf> {
    let newest = stack.last()?.0;
    let first = stack
        .iter()
        .rposition(|(frame, _)| *frame != newest)
        .map_or(0, |i| i + 1);
    Some(stack.remove(first).1)
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
    /// Starts `workers` decoding threads; `ctx` is woken when a thumbnail is ready. Thumbnails are cached
    /// on disk in `disk` when given.
    pub fn new(
        ctx: &egui::Context,
        workers: usize,
        capacity: usize,
        disk: Option<PathBuf>,
    ) -> Self {
        let queue = Arc::new(Queue::default());
        let (tx, done) = channel();
        for _ in 0..workers.max(1) {
            let (queue, tx, ctx, disk) = (queue.clone(), tx.clone(), ctx.clone(), disk.clone());
            std::thread::Builder::new()
                .name("thumbnails".into())
                .spawn(move || work(&queue, &tx, &ctx, disk.as_deref()))
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
            q.0.push((self.frame, path.to_path_buf()));
            if q.0.len() > MAX_PENDING {
                let excess = q.0.len() - MAX_PENDING;
                let stale: Vec<(u64, PathBuf)> = q.0.drain(..excess).collect();
                for (_, p) in stale {
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

    /// Thumbnails asked for and not yet back.
    pub fn waiting(&self) -> usize {
        self.requested.len()
    }

    /// Thumbnails ready to draw.
    pub fn ready(&self) -> usize {
        self.cache
            .values()
            .filter(|(t, _)| matches!(t, Thumb::Ready(_)))
            .count()
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

fn work(
    queue: &Queue,
    tx: &Sender<(PathBuf, Option<ColorImage>)>,
    ctx: &egui::Context,
    disk: Option<&Path>,
) {
    loop {
        let path = {
            let mut q = queue.stack.lock().expect("queue lock");
            loop {
                if q.1 {
                    return;
                }
                if let Some(p) = next_request(&mut q.0) {
                    break p;
                }
                q = queue.wake.wait(q).expect("queue lock");
            }
        };
        let image = thumbnail(&path, disk).map(|small| {
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

/// The platform's cache folder for thumbnails.
pub fn disk_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("hashlens").join("thumbnails"))
}

/// Where the thumbnail of the photo at `path` is cached: a digest of its path, size and mtime.
fn cache_file(disk: &Path, path: &Path) -> Option<PathBuf> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let mut key = hashlens_core::io::path_bytes(path).to_vec();
    key.extend_from_slice(&meta.len().to_le_bytes());
    key.extend_from_slice(&mtime.to_le_bytes());
    Some(disk.join(format!("{}.jpg", hashlens_core::io::fingerprint(&key))))
}

/// The photo downscaled to at most `SIDE` pixels a side: from the disk cache when it is there, otherwise
/// decoded (under the usual limits; a large JPEG at the smallest DCT scale that still covers `SIDE`) and
/// then cached. `None` for photos that cannot be decoded.
pub fn thumbnail(path: &Path, disk: Option<&Path>) -> Option<image::RgbImage> {
    let cached = disk.and_then(|d| cache_file(d, path));
    if let Some(img) = cached.as_ref().and_then(|c| image::open(c).ok()) {
        return Some(img.into_rgb8());
    }
    let small = decode_then(path, &DecodeLimits::default(), Some(SIDE), |img| {
        let scale = SIDE as f32 / img.width().max(img.height()) as f32;
        if scale < 1.0 {
            let w = ((img.width() as f32 * scale).round() as u32).max(1);
            let h = ((img.height() as f32 * scale).round() as u32).max(1);
            image::imageops::thumbnail(&img, w, h)
        } else {
            img
        }
    })
    .ok()?
    .value;
    if let Some(file) = cached {
        // A cache that cannot be written only costs speed.
        let mut jpeg = Vec::new();
        let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
            .encode_image(&small)
            .is_ok();
        if encoded && std::fs::create_dir_all(file.parent().expect("in a folder")).is_ok() {
            let _ = hashlens_core::io::write_atomic(&file, &jpeg);
        }
    }
    Some(small)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_newest_frame_is_served_first_from_the_top() {
        let req = |frame: u64, name: &str| (frame, PathBuf::from(name));
        // Frame 1 asked for a, b, c (top to bottom); the user scrolled and frame 2 asked for d, e.
        let mut stack = vec![
            req(1, "a"),
            req(1, "b"),
            req(1, "c"),
            req(2, "d"),
            req(2, "e"),
        ];
        let mut order = Vec::new();
        while let Some(p) = super::next_request(&mut stack) {
            order.push(p.to_string_lossy().into_owned());
        }
        assert_eq!(order, ["d", "e", "a", "b", "c"]);
    }

    use super::*;

    #[test]
    fn thumbnails_are_cached_by_path_size_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let (photo, disk) = (dir.path().join("p.png"), dir.path().join("cache"));
        image::RgbImage::from_pixel(640, 320, image::Rgb([10, 200, 10]))
            .save(&photo)
            .unwrap();
        let t = thumbnail(&photo, Some(&disk)).unwrap();
        assert_eq!(t.dimensions(), (SIDE, SIDE / 2));
        let cached = cache_file(&disk, &photo).unwrap();
        assert!(cached.exists());
        // What is in the cache is what comes back (replace it to tell).
        image::RgbImage::from_pixel(8, 4, image::Rgb([250, 0, 0]))
            .save_with_format(&cached, image::ImageFormat::Jpeg)
            .unwrap();
        assert_eq!(thumbnail(&photo, Some(&disk)).unwrap().dimensions(), (8, 4));
        // The photo changes (another size): a new key, a fresh thumbnail.
        image::RgbImage::from_pixel(300, 600, image::Rgb([0, 0, 200]))
            .save(&photo)
            .unwrap();
        assert_eq!(
            thumbnail(&photo, Some(&disk)).unwrap().dimensions(),
            (SIDE / 2, SIDE)
        );
        // Unreadable photos have no thumbnail; small ones are not enlarged.
        std::fs::write(&photo, b"broken").unwrap();
        assert!(thumbnail(&photo, None).is_none());
        image::RgbImage::from_pixel(20, 10, image::Rgb([1, 2, 3]))
            .save(&photo)
            .unwrap();
        assert_eq!(thumbnail(&photo, None).unwrap().dimensions(), (20, 10));
    }
}
