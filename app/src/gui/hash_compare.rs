//! One query under several fingerprints side by side: dHash and pHash (`hashlens_core::photo::perceptual`,
//! what similar-photo finders compare), the index's learned codes and, when a model file beside the
//! index differs from the index's model (a fine-tuned model not yet used to re-index, say), that
//! model's codes. Each column lists the query's ten nearest photos with their distances and, when the
//! folder's sub-folders are classes, its P@10 (the share of the ten in the query's class): perceptual
//! hashes find copies of a photo, learned codes also photos of the same kind of thing, and fine-tuning
//! should raise the P@10 of its column.
//!
//! The perceptual hashes of the whole library are computed once, on a background task, when the user
//! opens the comparison (from the thumbnails, which are on disk for photos already seen); then, on
//! another, the other model encodes the library. Drawing only reads them.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use eframe::egui::{self, RichText, Vec2};
use hashlens_core::CodeBook;
use hashlens_core::code::hamming_words;
use hashlens_core::dataset::folder_classes;
use hashlens_core::device::{ComputeDevice, DeviceChoice};
use hashlens_core::index::{Around, CodeIndex};
use hashlens_core::model::HashModel;
use hashlens_core::model::encode::encode_photos;
use hashlens_core::photo::perceptual::{dhash, phash};
use rayon::prelude::*;

use super::context::LibraryContext;
use super::task::{Panicked, Task};
use super::thumbs::Thumbnails;

/// The library's perceptual hashes, in index order.
struct PerceptualCodes {
    for_len: usize,
    dhash: CodeBook,
    phash: CodeBook,
    /// Photos that could not be read (their hashes are all zeros and they are left out of the lists).
    unreadable: Vec<bool>,
    /// Each photo's class, when the sub-folders are classes.
    classes: Option<Vec<usize>>,
}

enum Event {
    Progress(usize, usize),
    Done(PerceptualCodes),
    Failed(String),
}

impl From<Panicked> for Event {
    fn from(p: Panicked) -> Self {
        Event::Failed(format!("computing the perceptual hashes {p}"))
    }
}

/// Another model's codes of the library, in index order.
struct OtherCodes {
    /// The index (model fingerprint, length) they were made for.
    for_index: (String, usize),
    /// What the column is called: the file's name without `.hlmodel`, and the code length.
    name: String,
    book: CodeBook,
    /// Photos the model could not encode (left out of its list).
    unreadable: Vec<bool>,
}

enum OtherEvent {
    Progress(String, usize, usize),
    /// `None`: no model file beside the index differs from the index's own.
    Done(Option<OtherCodes>),
    Failed(String),
}

impl From<Panicked> for OtherEvent {
    fn from(p: Panicked) -> Self {
        OtherEvent::Failed(format!("encoding the library with the other model {p}"))
    }
}

/// One fingerprint's list for the query.
pub struct Column {
    pub name: String,
    /// Positions in the index and distances, nearest first.
    pub nearest: Vec<(usize, u32)>,
    /// The share of the ten in the query's class.
    pub precision_at_10: Option<f64>,
}

/// The comparison's state: opened by the user, kept current by [`HashCompare::update`] (outside drawing).
pub struct HashCompare {
    pub open: bool,
    disk: Option<PathBuf>,
    /// Where the index and the model files beside it are.
    index_dir: PathBuf,
    device: DeviceChoice,
    codes: Option<PerceptualCodes>,
    task: Option<Task<Event>>,
    progress: Option<(usize, usize)>,
    error: Option<String>,
    /// The other model's codes, when there is one.
    other: Option<OtherCodes>,
    /// The index (model fingerprint, length) other models were last looked for.
    other_looked_for: Option<(String, usize)>,
    other_task: Option<Task<OtherEvent>>,
    /// The other model's name and progress while it encodes the library.
    other_progress: Option<(String, usize, usize)>,
    /// The columns, for this query and index length.
    pub columns: Option<((usize, usize), Vec<Column>)>,
}

impl HashCompare {
    /// Thumbnails are read from (and left in) `disk` when given; other models are looked for in
    /// `index_dir` and run on `device`.
    pub fn new(disk: Option<PathBuf>, index_dir: PathBuf, device: DeviceChoice) -> Self {
        Self {
            open: false,
            disk,
            index_dir,
            device,
            codes: None,
            task: None,
            progress: None,
            error: None,
            other: None,
            other_looked_for: None,
            other_task: None,
            other_progress: None,
            columns: None,
        }
    }

    /// Starts hashing the library when the comparison is open and the hashes are missing or stale,
    /// collects progress, and makes the columns for the query at `query` (a position in the index).
    pub fn update(&mut self, lib: &LibraryContext, query: Option<usize>, ctx: &egui::Context) {
        if let Some(task) = &self.task {
            for e in task.poll() {
                match e {
                    Event::Progress(done, total) => self.progress = Some((done, total)),
                    Event::Done(codes) => {
                        self.codes = Some(codes);
                        self.task = None;
                        self.progress = None;
                        self.columns = None;
                    }
                    Event::Failed(e) => {
                        self.error = Some(e);
                        self.task = None;
                        self.progress = None;
                    }
                }
            }
        }
        if let Some(task) = &self.other_task {
            for e in task.poll() {
                match e {
                    OtherEvent::Progress(name, done, total) => {
                        self.other_progress = Some((name, done, total))
                    }
                    OtherEvent::Done(other) => {
                        self.other = other;
                        self.other_task = None;
                        self.other_progress = None;
                        self.columns = None;
                    }
                    OtherEvent::Failed(e) => {
                        self.error = Some(e);
                        self.other_task = None;
                        self.other_progress = None;
                    }
                }
            }
        }
        let (true, Some(index)) = (self.open, lib.index) else {
            return;
        };
        let stale = self.codes.as_ref().is_none_or(|c| c.for_len != index.len());
        if stale && self.task.is_none() && !lib.indexing && self.error.is_none() {
            self.start(index, lib.folder.to_path_buf(), ctx);
        }
        // The other model once the perceptual hashes are in (one background job at a time).
        let key = (index.model().to_string(), index.len());
        if !stale
            && self.other_looked_for.as_ref() != Some(&key)
            && self.task.is_none()
            && self.other_task.is_none()
            && !lib.indexing
            && self.error.is_none()
        {
            self.start_other(index, ctx);
        }
        let (Some(codes), Some(q)) = (&self.codes, query) else {
            return;
        };
        if stale
            || self
                .columns
                .as_ref()
                .is_some_and(|(key, _)| *key == (q, index.len()))
        {
            return;
        }
        let other = self.other.as_ref().filter(|o| o.for_index == key);
        self.columns = Some(((q, index.len()), columns(codes, other, index, q)));
    }

    /// Opens the comparison, looking for another model beside the index again (one may have been
    /// saved since).
    pub fn open(&mut self) {
        self.open = true;
        self.other_looked_for = None;
        self.columns = None;
    }

    /// Looks for a model file beside the index other than the index's own, and encodes the library
    /// with it.
    fn start_other(&mut self, index: &CodeIndex, ctx: &egui::Context) {
        let paths: Vec<PathBuf> = index.photos().iter().map(|p| p.path.clone()).collect();
        let key = (index.model().to_string(), index.len());
        let (dir, device) = (self.index_dir.clone(), self.device);
        self.other_looked_for = Some(key.clone());
        self.other_task = Some(Task::spawn("other-model-codes", ctx, move |r| {
            let device = match ComputeDevice::choose(device) {
                Ok(d) => d,
                Err(e) => return r.send(OtherEvent::Failed(e.to_string())),
            };
            let Some((path, model)) = other_model(&dir, &key.0, &device) else {
                return r.send(OtherEvent::Done(None));
            };
            let name = format!(
                "{} ({} bits)",
                path.file_stem().unwrap_or_default().to_string_lossy(),
                model.bits()
            );
            r.send(OtherEvent::Progress(name.clone(), 0, paths.len()));
            let codes = encode_photos(&model, &paths, 32, &device.device, &r.cancel, |d, t| {
                r.send(OtherEvent::Progress(name.clone(), d, t))
            });
            if r.cancel.load(Ordering::Relaxed) {
                return;
            }
            let unreadable: Vec<bool> = codes.iter().map(|c| !matches!(c, Some(Ok(_)))).collect();
            let words = codes
                .iter()
                .flat_map(|c| match c {
                    Some(Ok(code)) => code.words().to_vec(),
                    _ => vec![0; hashlens_core::code::words_for(model.bits())],
                })
                .collect();
            let book = CodeBook::from_words(model.bits(), words).expect("the model's length");
            r.send(OtherEvent::Done(Some(OtherCodes {
                for_index: key,
                name,
                book,
                unreadable,
            })));
        }));
    }

    fn start(&mut self, index: &CodeIndex, folder: PathBuf, ctx: &egui::Context) {
        let paths: Vec<PathBuf> = index.photos().iter().map(|p| p.path.clone()).collect();
        let disk = self.disk.clone();
        self.progress = Some((0, paths.len()));
        self.columns = None;
        self.task = Some(Task::spawn("perceptual-hashes", ctx, move |r| {
            let total = paths.len();
            let done = std::sync::atomic::AtomicUsize::new(0);
            let hashes: Vec<Option<(u64, u64)>> = paths
                .par_iter()
                .map(|path| {
                    if r.cancel.load(Ordering::Relaxed) {
                        return None;
                    }
                    let hashes = super::thumbs::thumbnail(path, disk.as_deref())
                        .map(|t| (dhash(&t).words()[0], phash(&t).words()[0]));
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_multiple_of(64) {
                        r.send_quietly(Event::Progress(n, total));
                    }
                    hashes
                })
                .collect();
            if r.cancel.load(Ordering::Relaxed) {
                return;
            }
            let book = |pick: fn(&(u64, u64)) -> u64| {
                let words = hashes.iter().map(|h| h.as_ref().map_or(0, pick)).collect();
                CodeBook::from_words(64, words).expect("64-bit words")
            };
            let classes =
                folder_classes(&folder, paths.iter().map(PathBuf::as_path)).map(|c| c.classes);
            r.send(Event::Done(PerceptualCodes {
                for_len: total,
                dhash: book(|h| h.0),
                phash: book(|h| h.1),
                unreadable: hashes.iter().map(Option::is_none).collect(),
                classes,
            }));
        }));
    }

    pub fn show(&self, thumbs: &mut Thumbnails, index: &CodeIndex, ui: &mut egui::Ui) {
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if let Some((done, total)) = self.progress {
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32).text(format!(
                    "perceptual hashes of the photos: {done} of {total}"
                )),
            );
        }
        if let Some((name, done, total)) = &self.other_progress {
            ui.add(
                egui::ProgressBar::new(*done as f32 / (*total).max(1) as f32)
                    .text(format!("codes of {name}: {done} of {total} photos")),
            );
        }
        let Some((_, columns)) = &self.columns else {
            return;
        };
        ui.columns(columns.len(), |uis| {
            for (ui, column) in uis.iter_mut().zip(columns) {
                ui.strong(&column.name);
                match column.precision_at_10 {
                    Some(p) => ui.label(format!("P@10 {p:.1}")),
                    None => ui.label(RichText::new("P@10: no classes").weak()),
                };
                for &(i, d) in &column.nearest {
                    let path = &index.photos()[i].path;
                    ui.horizontal(|ui| {
                        match thumbs.get(path) {
                            Some(t) => ui.add(egui::Image::new(t).max_size(Vec2::splat(36.0))),
                            None => ui.add_sized([36.0, 36.0], egui::Label::new("…")),
                        }
                        .on_hover_text(path.display().to_string());
                        ui.label(format!("{d}"));
                    });
                }
            }
        });
        ui.label(
            RichText::new(
                "dHash and pHash are the 64-bit fingerprints similar-photo finders compare: they find \
                 copies of a photo. The learned codes also group photos of the same kind of thing. A \
                 model file beside the index that the index does not use (a fine-tuned model before \
                 re-indexing with it) gets a column of its own.",
            )
            .small()
            .weak(),
        );
    }
}

/// The ten nearest other photos of `query` in `book` (ties by position), leaving out unreadable photos.
fn nearest(book: &CodeBook, query: usize, skip: &[bool]) -> Vec<(usize, u32)> {
    let q = book.code_words(query);
    let mut all: Vec<(u32, usize)> = (0..book.len())
        .filter(|&i| i != query && !skip[i])
        .map(|i| (hamming_words(q, book.code_words(i)), i))
        .collect();
    all.sort_unstable();
    all.into_iter().take(10).map(|(d, i)| (i, d)).collect()
}

/// The newest `*.hlmodel` in `dir` whose fingerprint is not `current`, loaded.
fn other_model(dir: &Path, current: &str, device: &ComputeDevice) -> Option<(PathBuf, HashModel)> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "hlmodel"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    files.into_iter().rev().find_map(|(_, path)| {
        let model = HashModel::load(&path, &device.device).ok()?;
        (model.fingerprint() != current).then_some((path, model))
    })
}

fn columns(
    codes: &PerceptualCodes,
    other: Option<&OtherCodes>,
    index: &CodeIndex,
    query: usize,
) -> Vec<Column> {
    let precision = |list: &[(usize, u32)]| {
        codes
            .classes
            .as_ref()
            .filter(|_| !list.is_empty())
            .map(|c| {
                list.iter().filter(|&&(i, _)| c[i] == c[query]).count() as f64 / list.len() as f64
            })
    };
    let learned: Vec<(usize, u32)> = index
        .neighbours(&index.codes().get(query), Around::Nearest(10), Some(query))
        .unwrap_or_default()
        .into_iter()
        .map(|n| (n.index, n.distance))
        .collect();
    let mut out = Vec::new();
    if !codes.unreadable[query] {
        for (name, book) in [
            ("dHash (64 bits)", &codes.dhash),
            ("pHash (64 bits)", &codes.phash),
        ] {
            let list = nearest(book, query, &codes.unreadable);
            out.push(Column {
                name: name.into(),
                precision_at_10: precision(&list),
                nearest: list,
            });
        }
    }
    out.push(Column {
        name: format!("learned codes ({} bits)", index.bits()),
        precision_at_10: precision(&learned),
        nearest: learned,
    });
    if let Some(other) = other.filter(|o| !o.unreadable[query]) {
        let list = nearest(&other.book, query, &other.unreadable);
        out.push(Column {
            name: other.name.clone(),
            precision_at_10: precision(&list),
            nearest: list,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_by_hand() {
        // 8-bit codes: 0 is the query; 2 and 3 tie at one bit (by position), 1 is two bits away, 4 is
        // unreadable and left out.
        let book = CodeBook::from_words(8, vec![0b0000, 0b0011, 0b0001, 0b1000, 0b0000]).unwrap();
        let skip = [false, false, false, false, true];
        assert_eq!(nearest(&book, 0, &skip), [(2, 1), (3, 1), (1, 2)]);
    }
}
