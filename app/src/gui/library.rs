//! An opened folder: its live index (photos become searchable as they are encoded), the background
//! indexer, the selection and its Hamming-ranked results.
//!
//! State changes here; drawing is in `library_view`. Searching runs on the UI thread on purpose: an exact
//! scan of 100,000 64-bit codes takes well under a millisecond.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::egui;
use hashlens_core::device::{ComputeDevice, DeviceChoice};
use hashlens_core::eval::VerdictRule;
use hashlens_core::index::model_path_for;
use hashlens_core::index::{
    Around, CodeIndex, DEFAULT_ARCH, IndexEvent, IndexJob, IndexReport, ModelChoice, Skipped,
    Stage, encode_photo, index_model, index_path_for,
};
use hashlens_core::model::{CodePurpose, ModelConfig};
use hashlens_core::train::Method;
use hashlens_core::{HashCode, Neighbor};

use super::codes_view::CodesTab;
use super::context::LibraryContext;
use super::duplicates::DuplicatesTab;
use super::flip_test::FlipTest;
use super::hash_compare::HashCompare;
use super::indexer::{IndexTask, TaskEvent, start_indexing};
use super::map_view::MapTab;
use super::prints::LibraryPrints;
use super::task::Task;
use super::thumbs::Thumbnails;

/// Progress of the running stage.
pub struct Progress {
    pub stage: &'static str,
    pub done: usize,
    pub total: usize,
    /// Photos the run still reads after this stage (those the fit's sample left out), each at about
    /// this stage's pace: counted in the time left, so that it is the run's, not the stage's.
    pub later: usize,
    started: Instant,
    /// Reports of the last [`Progress::WINDOW`] (when, photos done): the pace is read over them, so
    /// that a slow start (the first thumbnails compete for the cores) does not weigh on the estimate
    /// for the rest of the run.
    recent: VecDeque<(Instant, usize)>,
}

impl Progress {
    /// How far back the pace is read.
    const WINDOW: Duration = Duration::from_secs(10);

    fn new(stage: &'static str, done: usize, total: usize, later: usize, started: Instant) -> Self {
        Self {
            stage,
            done,
            total,
            later,
            started,
            recent: VecDeque::from([(started, 0)]),
        }
    }

    /// `done` photos at `now`.
    fn report(&mut self, done: usize, now: Instant) {
        self.done = done;
        self.recent.push_back((now, done));
        // Keep one report at least WINDOW old, to measure across the whole window.
        while self.recent.len() > 2 && now.duration_since(self.recent[1].0) >= Self::WINDOW {
            self.recent.pop_front();
        }
    }

    /// Photos per second over the last [`Progress::WINDOW`] of reports (since the stage began, until
    /// there are two reports).
    pub fn rate(&self) -> f64 {
        let (since, from) = match (self.recent.front(), self.recent.back()) {
            (Some(&(t0, d0)), Some(&(t1, _))) if t1 > t0 => (t1.duration_since(t0), d0),
            _ => (self.started.elapsed(), 0),
        };
        let s = since.as_secs_f64();
        if s > 0.0 {
            (self.done - from) as f64 / s
        } else {
            0.0
        }
    }

    /// Seconds left in the run at the current rate.
    pub fn eta(&self) -> Option<f64> {
        let r = self.rate();
        (r > 0.0).then(|| (self.total - self.done + self.later) as f64 / r)
    }
}

/// How long the user waited, from opening the folder: for the first photo that can be searched, the
/// first screen of thumbnails and the whole folder indexed. `HASHLENS_FRAME_STATS=1` prints it on exit.
#[derive(Clone, Copy, Debug)]
pub struct Timeline {
    pub opened: Instant,
    pub first_searchable: Option<Duration>,
    /// No thumbnail asked for is still missing, and some are shown.
    pub first_thumbnails: Option<Duration>,
    pub indexed: Option<Duration>,
}

impl Timeline {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            first_searchable: None,
            first_thumbnails: None,
            indexed: None,
        }
    }

    fn mark(&self, slot: Option<Duration>) -> Option<Duration> {
        slot.or_else(|| Some(self.opened.elapsed()))
    }

    /// One line for `HASHLENS_FRAME_STATS` (printed when the folder is indexed and on exit).
    pub fn summary(&self) -> String {
        let secs = |d: Option<Duration>| {
            d.map_or("not reached".to_string(), |d| {
                format!("{:.1} s", d.as_secs_f64())
            })
        };
        format!(
            "since the folder was opened: first photo searchable {}, first screen of thumbnails {}, all indexed {}",
            secs(self.first_searchable),
            secs(self.first_thumbnails),
            secs(self.indexed)
        )
    }
}

/// What the library view asks of the library. Drawing only reads the library and records these;
/// [`Library::apply`] carries them out, in one place, after the frame is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum LibraryCommand {
    ShowTab(Tab),
    /// Search with the index's photo at this position.
    Select(usize),
    /// Forget the query (a photo of the index or from outside).
    ClearQuery,
    SetQuery(Query),
    /// Stop the indexing run (what is encoded is kept).
    CancelIndexing,
    /// New teacher (`true`) or student views of the selected photo, encoded.
    FlipTest {
        teacher: bool,
    },
    /// Re-index with this model file, then show the photos.
    UseModel(PathBuf),
    /// Re-index with the built-in default (fitted anew with `refit`), then show the photos.
    UseDefault {
        refit: bool,
        /// The code length to fit it at.
        bits: usize,
        /// What its codes are for.
        purpose: CodePurpose,
    },
    /// Stop computing the perceptual prints (those finished are kept).
    CancelPrints,
    /// Group the near-duplicates again at the tab's radius.
    SearchDuplicatesAgain,
    /// Show the query under perceptual hashes beside the learned codes (hashing the library once).
    CompareHashes,
    /// Open the file manager at this photo's folder.
    Reveal(PathBuf),
    /// Move these photos to the system's trash (confirmed by the user), then update the index.
    Trash(Vec<PathBuf>),
}

/// How far apart the library's photos are from each other: a distance histogram over (a sample of) its
/// pairs, so that a result's distance can be read against this library's own (a code length and a
/// model spread distances differently; the fixed verdicts do not know that).
pub struct PairDistances {
    /// The index length and model it was computed for.
    pub for_len: usize,
    pub model: String,
    /// Pairs at each distance `0..=bits`.
    pub histogram: Vec<u64>,
}

impl PairDistances {
    /// Pairs sampled in large libraries (about 10 ms of popcounts).
    const PAIRS: usize = 100_000;

    fn of(index: &CodeIndex) -> Self {
        Self {
            for_len: index.len(),
            model: index.model().to_string(),
            histogram: hashlens_core::code::stats::distance_histogram(
                index.codes(),
                Self::PAIRS,
                0,
            ),
        }
    }

    /// The share of the library's pairs of photos that lie farther apart than `distance`.
    pub fn farther_than(&self, distance: u32) -> Option<f64> {
        let all: u64 = self.histogram.iter().sum();
        let farther: u64 = self.histogram.iter().skip(distance as usize + 1).sum();
        (all > 0).then(|| farther as f64 / all as f64)
    }
}

/// A query's results under the model an index had before it was re-encoded with another, kept so that
/// before and after can be compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Before {
    /// The earlier model, in words.
    pub model: String,
    /// The query photo.
    pub query: PathBuf,
    /// Its nearest photos then, with their distances (at most [`Before::SHOWN`]).
    pub results: Vec<(PathBuf, u32)>,
}

impl Before {
    pub const SHOWN: usize = 10;
}

/// How many of the first [`Before::SHOWN`] `results` sit in the same folder as `query`: a precision
/// at 10 for libraries whose folders are classes. `None` when the query is not in a sub-folder of
/// `root` or there are no results.
pub fn same_folder_at_10<'a>(
    root: &Path,
    query: &Path,
    results: impl IntoIterator<Item = &'a Path>,
) -> Option<(usize, usize)> {
    let folder = query.parent().filter(|f| *f != root)?;
    let (mut same, mut all) = (0, 0);
    for r in results.into_iter().take(Before::SHOWN) {
        all += 1;
        same += usize::from(r.parent() == Some(folder));
    }
    (all > 0).then_some((same, all))
}

/// The library's views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Photos,
    Duplicates,
    Map,
    Codes,
    Model,
}

/// How results are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Query {
    pub k: usize,
    /// Everything within this distance instead of the k nearest.
    pub radius: Option<u32>,
}

pub struct Library {
    pub folder: PathBuf,
    job: IndexJob,
    pub index: Option<CodeIndex>,
    /// While indexing: the photos of the scan not yet in `index`, in scan order. The grid shows them
    /// (thumbnails, not yet searchable) after the indexed ones.
    pub waiting: Vec<PathBuf>,
    /// The photos the running update found, for recomputing `waiting` when photos arrive.
    scanned: Vec<PathBuf>,
    waiting_stale: bool,
    task: Option<IndexTask>,
    pub progress: Option<Progress>,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
    pub device: String,
    pub model: String,
    /// What the index's codes are for (its model's head).
    pub purpose: CodePurpose,
    /// The live index holds the shipped reference's codes, shown while a first index fits this
    /// folder's own (they are replaced when the fit ends).
    pub provisional: bool,
    pub last_report: Option<IndexReport>,
    pub error: Option<String>,
    pub selected: Option<usize>,
    /// A photo from outside the library used as the query (dropped on the window), with its code.
    pub outside: Option<(PathBuf, HashCode)>,
    /// The outside photo being encoded.
    encoding: Option<Task<Result<(PathBuf, HashCode), String>>>,
    pub query: Query,
    /// The results of `searched` under `query`.
    pub results: Vec<Neighbor>,
    /// When a radius search found nothing: how far the nearest other photo is (what to widen it to).
    pub nearest_beyond: Option<u32>,
    /// How far apart the library's photos are, to read a result's distance against.
    pub pair_distances: Option<PairDistances>,
    /// The photos' perceptual prints: the near-duplicate verdict's second signal, computed after each
    /// index update.
    pub prints: LibraryPrints,
    /// The verdict thresholds of the index's model (its calibration, or fixed shares), with the model
    /// fingerprint they were read for.
    pub verdicts: Option<(String, VerdictRule)>,
    /// The library length whose distances the verdicts' "similar" was read from.
    similar_from: Option<usize>,
    /// The query's results under the previous model, after a re-index with another.
    pub before: Option<Before>,
    /// The photo to select again once the re-encoded index has it (the query survives a new model).
    follow: Option<PathBuf>,
    searched: Option<(usize, Query, usize)>,
    /// Moves photos to the system's trash ([`move_to_trash`]; a test puts a stand-in here).
    pub trash: fn(&[PathBuf]) -> Result<(), String>,
    /// The thumbnail cache. Drawing reads the library and asks this cache for thumbnails (which queues
    /// the missing ones): a cache, hence behind a `RefCell` so that drawing needs only `&Library`.
    pub thumbs: RefCell<Thumbnails>,
    pub tab: Tab,
    /// The near-duplicates tab.
    pub duplicates: DuplicatesTab,
    /// The photos laid out by their codes.
    pub map: MapTab,
    /// The query under perceptual hashes beside the learned codes.
    pub hashes: HashCompare,
    pub flip: Option<FlipTest>,
    /// Where networks run for this library (the app's setting when it was opened).
    pub device_choice: DeviceChoice,
    /// The Codes tab: statistics of the codes, and their retrieval metrics when sub-folders are
    /// classes.
    pub codes: CodesTab,
    /// The model tab: fine-tuning on this folder.
    pub model_panel: super::model_view::ModelPanel,
    /// When the last progress report (or the run) started: the next stage's clock starts there.
    last_progress: Instant,
    pub timeline: Timeline,
}

impl Library {
    /// Opens `folder` and starts bringing its index up to date; thumbnails are cached on disk in
    /// `thumbnail_cache` when given.
    pub fn open(
        folder: &Path,
        device: DeviceChoice,
        thumbnail_cache: Option<PathBuf>,
        data_dir: &Path,
        ctx: &egui::Context,
    ) -> Self {
        let mut job = IndexJob::new(folder, ModelChoice::current_or_default());
        job.index = index_path_for(folder, data_dir);
        // The CLI (or another window) may be updating this folder's index: queue behind it.
        job.wait = true;
        let index_dir = job
            .index
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut library = Self {
            folder: folder.to_path_buf(),
            job,
            index: None,
            waiting: Vec::new(),
            scanned: Vec::new(),
            waiting_stale: false,
            task: None,
            progress: None,
            skipped: Vec::new(),
            warnings: Vec::new(),
            device: String::from("choosing…"),
            model: String::new(),
            purpose: CodePurpose::Similar,
            provisional: false,
            last_report: None,
            error: None,
            selected: None,
            outside: None,
            encoding: None,
            query: Query {
                k: 24,
                radius: None,
            },
            results: Vec::new(),
            nearest_beyond: None,
            pair_distances: None,
            prints: LibraryPrints::default(),
            verdicts: None,
            similar_from: None,
            before: None,
            follow: None,
            searched: None,
            trash: move_to_trash,
            thumbs: RefCell::new(Thumbnails::new(ctx, 2, 800, thumbnail_cache.clone())),
            tab: Tab::Photos,
            duplicates: DuplicatesTab::default(),
            map: MapTab::default(),
            hashes: HashCompare::new(thumbnail_cache, index_dir, device),
            flip: None,
            device_choice: device,
            codes: CodesTab::default(),
            model_panel: Default::default(),
            last_progress: Instant::now(),
            timeline: Timeline::new(),
        };
        library.reindex(device, ctx);
        if let Some(dir) = library.job.index.parent() {
            library.model_panel.restore_last_run(dir.to_path_buf(), ctx);
        }
        library
    }

    /// Starts indexing (unless it runs already).
    pub fn reindex(&mut self, device: DeviceChoice, ctx: &egui::Context) {
        if self.task.is_none() {
            self.skipped.clear();
            self.warnings.clear();
            self.error = None;
            self.last_progress = Instant::now();
            self.prints.stop();
            self.task = Some(start_indexing(self.job.clone(), device, ctx));
        }
    }

    /// Re-indexes the folder with a model file (all photos are encoded anew: codes of two models do not
    /// mix).
    pub fn use_model(&mut self, model: PathBuf, device: DeviceChoice, ctx: &egui::Context) {
        if self.task.is_none() {
            self.job.model = ModelChoice::File(model);
            self.reindex(device, ctx);
        }
    }

    /// Re-indexes the folder with the built-in default at `bits` bits for `purpose`: fitted anew with
    /// `refit` (or when the index used another model, length or purpose).
    pub fn use_default(
        &mut self,
        refit: bool,
        bits: usize,
        purpose: CodePurpose,
        device: DeviceChoice,
        ctx: &egui::Context,
    ) {
        if self.task.is_none() {
            self.job.model = ModelChoice::Default {
                arch: DEFAULT_ARCH,
                bits,
                refit,
                purpose,
            };
            self.reindex(device, ctx);
        }
    }

    /// Where a model trained on this folder is written: beside its index, named by method and bits.
    pub fn trained_model_path(&self, method: Method, bits: usize) -> PathBuf {
        self.job
            .index
            .with_file_name(format!("{}-{bits}.hlmodel", method.name()))
    }

    pub fn indexing(&self) -> bool {
        self.task.is_some()
    }

    /// What the tabs read of this library.
    pub fn context(&self) -> LibraryContext<'_> {
        LibraryContext {
            folder: &self.folder,
            index: self.index.as_ref(),
            indexing: self.indexing(),
            verdicts: self.verdict_rule(),
            prints: self.prints.current(),
        }
    }

    pub fn cancelling(&self) -> bool {
        self.task.as_ref().is_some_and(IndexTask::cancelling)
    }

    pub fn cancel(&self) {
        if let Some(t) = &self.task {
            t.cancel();
        }
    }

    /// Applies what the background indexer reported. Call once per frame.
    pub fn poll(&mut self, ctx: &egui::Context) {
        let thumbs = self.thumbs.get_mut();
        thumbs.poll(ctx);
        if self.timeline.first_thumbnails.is_none() && thumbs.waiting() == 0 && thumbs.ready() > 0 {
            self.timeline.first_thumbnails = self.timeline.mark(None);
        }
        self.model_panel.poll(ctx);
        self.prints.poll();
        let view = LibraryContext {
            folder: &self.folder,
            index: self.index.as_ref(),
            indexing: self.task.is_some(),
            verdicts: self.verdicts.as_ref().map(|(_, rule)| rule),
            prints: self.prints.current(),
        };
        match self.tab {
            Tab::Codes => self.codes.update(&view, ctx),
            Tab::Duplicates => self.duplicates.update(&view, ctx),
            Tab::Map => self.map.update(&view, ctx),
            Tab::Photos | Tab::Model => {}
        }
        self.hashes.update(&view, self.selected, ctx);
        if let (Some(flip), Some(index)) = (&mut self.flip, &self.index) {
            flip.poll(index, ctx);
        }
        if let Some(result) = self.encoding.as_ref().and_then(|t| t.poll().pop()) {
            self.encoding = None;
            match result {
                Ok(query) => {
                    self.selected = None;
                    self.outside = Some(query);
                    self.searched = None;
                }
                Err(e) => self.error = Some(e),
            }
        }
        let events = self.task.as_ref().map(|t| t.poll()).unwrap_or_default();
        for event in events {
            match event {
                TaskEvent::Loaded(index) => self.index = Some(index),
                TaskEvent::Device(d) => self.device = d,
                TaskEvent::Index(e) => self.apply_index_event(e),
                TaskEvent::Done(result) => {
                    self.task = None;
                    self.progress = None;
                    self.scanned.clear();
                    self.waiting.clear();
                    self.waiting_stale = false;
                    match result {
                        Ok(done) => {
                            let (report, index) = *done;
                            // Only a model whose calibration reads prints needs them.
                            if self
                                .verdict_rule()
                                .is_some_and(|r| r.print_rule().is_some())
                            {
                                self.prints.start(
                                    self.job.index.clone(),
                                    index.photos().to_vec(),
                                    ctx,
                                );
                            }
                            self.index = Some(index);
                            self.last_report = Some(report);
                            self.timeline.indexed = self.timeline.mark(self.timeline.indexed);
                            if std::env::var_os("HASHLENS_FRAME_STATS").is_some() {
                                eprintln!("{}", self.timeline.summary());
                            }
                        }
                        Err(e) => {
                            // A first index stopped before its fit: the reference codes shown
                            // meanwhile were never saved, and go with the run.
                            if std::mem::take(&mut self.provisional) {
                                self.index = None;
                                self.model.clear();
                                self.selected = None;
                                self.results.clear();
                            }
                            self.error = Some(e);
                        }
                    }
                    // Positions may have changed: find the selected photo again.
                    self.searched = None;
                }
            }
        }
        if let (Some(path), Some(index)) = (&self.follow, &self.index)
            && let Some(i) = index.position(path)
        {
            self.selected = Some(i);
            self.follow = None;
        }
        if self.waiting_stale {
            self.waiting_stale = false;
            let index = self.index.as_ref();
            self.waiting = self
                .scanned
                .iter()
                .filter(|p| index.is_none_or(|i| i.position(p).is_none()))
                .cloned()
                .collect();
        }
    }

    /// Brings the live view up to date with what the indexer reports (tests feed it events directly).
    pub(super) fn apply_index_event(&mut self, event: IndexEvent) {
        match event {
            IndexEvent::Scanned { photos, .. } => {
                self.scanned = photos;
                self.waiting_stale = true;
            }
            IndexEvent::Warning(w) => self.warnings.push(w),
            IndexEvent::Model {
                description,
                fingerprint,
                bits,
                provisional,
                verdicts,
                purpose,
                ..
            } => {
                self.purpose = purpose;
                // The rule comes with the model: a first index's model file is not written yet.
                self.verdicts = Some((fingerprint.clone(), verdicts));
                self.similar_from = None;
                let previous = std::mem::replace(&mut self.model, description);
                let was_provisional = std::mem::replace(&mut self.provisional, provisional);
                let stale = self
                    .index
                    .as_ref()
                    .is_some_and(|i| i.model() != fingerprint);
                if stale || self.index.is_none() {
                    // Codes of another model cannot be compared with the new ones. The query and its
                    // results are kept: it is selected again once encoded, beside what it found before
                    // (unless those were the provisional codes of a first index: nothing to compare).
                    if stale && let (Some(sel), Some(old)) = (self.selected, &self.index) {
                        let query = old.photos()[sel].path.clone();
                        if !was_provisional {
                            self.before = Some(Before {
                                model: previous,
                                results: self
                                    .results
                                    .iter()
                                    .take(Before::SHOWN)
                                    .map(|n| (old.photos()[n.index].path.clone(), n.distance))
                                    .collect(),
                                query: query.clone(),
                            });
                        }
                        self.follow = Some(query);
                    }
                    self.index = CodeIndex::new(bits, &fingerprint).ok();
                    self.waiting_stale = true;
                    self.selected = None;
                    self.results.clear();
                }
            }
            IndexEvent::Progress { stage, done, total } => {
                match &mut self.progress {
                    Some(p) if p.stage == stage => p.report(done, Instant::now()),
                    _ => {
                        // The stage began when the previous report came: its first batch is done now.
                        // Reading for the fit reads a sample; a first index or a refit encodes every
                        // photo the scan found, so the rest follow.
                        let later = if stage == Stage::READ_FOR_FIT {
                            self.scanned.len().saturating_sub(total)
                        } else {
                            0
                        };
                        let mut progress =
                            Progress::new(stage, done, total, later, self.last_progress);
                        progress.report(done, Instant::now());
                        self.progress = Some(progress);
                    }
                }
                self.last_progress = Instant::now();
            }
            IndexEvent::Skipped(s) => self.skipped.push(s),
            IndexEvent::Encoded(photo, code) => {
                self.waiting_stale = true;
                if let Some(index) = &mut self.index {
                    match index.position(&photo.path) {
                        // A changed photo keeps its place until the run ends.
                        Some(_) => {}
                        None => {
                            if index.push(photo, &code).is_ok() {
                                self.timeline.first_searchable =
                                    self.timeline.mark(self.timeline.first_searchable);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The code of the photo at `i`.
    pub fn code(&self, i: usize) -> Option<HashCode> {
        let index = self.index.as_ref()?;
        (i < index.len()).then(|| index.codes().get(i))
    }

    /// Carries out `commands` in order, then brings the results up to date with the query.
    pub fn apply(&mut self, commands: Vec<LibraryCommand>, ctx: &egui::Context) {
        for command in commands {
            match command {
                LibraryCommand::ShowTab(tab) => self.tab = tab,
                LibraryCommand::Select(i) => self.select(i),
                LibraryCommand::ClearQuery => {
                    self.selected = None;
                    self.outside = None;
                    self.follow = None;
                }
                LibraryCommand::SetQuery(query) => self.query = query,
                LibraryCommand::CancelIndexing => self.cancel(),
                LibraryCommand::CancelPrints => self.prints.cancel(),
                LibraryCommand::FlipTest { teacher } => self.flip_test(teacher, ctx),
                LibraryCommand::UseModel(path) => {
                    self.use_model(path, self.device_choice, ctx);
                    self.tab = Tab::Photos;
                }
                LibraryCommand::UseDefault {
                    refit,
                    bits,
                    purpose,
                } => {
                    self.use_default(refit, bits, purpose, self.device_choice, ctx);
                    self.tab = Tab::Photos;
                }
                LibraryCommand::SearchDuplicatesAgain => {
                    let view = LibraryContext {
                        folder: &self.folder,
                        index: self.index.as_ref(),
                        indexing: self.task.is_some(),
                        verdicts: self.verdicts.as_ref().map(|(_, rule)| rule),
                        prints: self.prints.current(),
                    };
                    self.duplicates.search_again(&view, ctx);
                }
                LibraryCommand::CompareHashes => self.hashes.open(),
                LibraryCommand::Reveal(path) => {
                    if let Err(e) = reveal(&path) {
                        self.warnings.push(e);
                    }
                }
                LibraryCommand::Trash(paths) => {
                    let moved = (self.trash)(&paths);
                    // The index drops what is gone (the groups are made again, without it).
                    self.reindex(self.device_choice, ctx);
                    self.duplicates.forget_search();
                    self.warnings.push(match moved {
                        Ok(()) => format!(
                            "Moved {} {} to the trash (restore from there if needed)",
                            paths.len(),
                            if paths.len() == 1 { "photo" } else { "photos" }
                        ),
                        Err(e) => e,
                    });
                }
            }
        }
        self.update_results();
    }

    /// The thumbnail of `path` when it is ready (asked for otherwise).
    pub fn thumbnail(&self, path: &Path) -> Option<egui::TextureHandle> {
        self.thumbs.borrow_mut().get(path).cloned()
    }

    pub fn select(&mut self, i: usize) {
        if self.index.as_ref().is_some_and(|x| i < x.len()) {
            self.follow = None;
            self.selected = Some(i);
            self.outside = None;
        }
    }

    /// Draws new teacher or student views of the selected photo and encodes them (background).
    pub fn flip_test(&mut self, teacher: bool, ctx: &egui::Context) {
        let (Some(sel), Some(index)) = (self.selected, &self.index) else {
            return;
        };
        let seed = self.flip.as_ref().map_or(0, |f| f.seed + 1);
        let path = index.photos()[sel].path.clone();
        self.flip = Some(FlipTest::start(
            sel,
            &path,
            self.job.index.clone(),
            index,
            teacher,
            seed,
            self.device_choice,
            ctx,
        ));
    }

    /// Whether an outside photo is being encoded.
    pub fn encoding(&self) -> bool {
        self.encoding.is_some()
    }

    /// Searches with a photo from outside the library: it is encoded on a background thread by the
    /// index's own model (the one beside the index), then becomes the query.
    pub fn query_by_file(&mut self, photo: &Path, device: DeviceChoice, ctx: &egui::Context) {
        let Some(fingerprint) = self.index.as_ref().map(|i| i.model().to_string()) else {
            self.error = Some("the library has no index yet to search".into());
            return;
        };
        let (index_path, photo) = (self.job.index.clone(), photo.to_path_buf());
        self.encoding = Some(Task::spawn("outside query", ctx, move |r| {
            r.send(encode_outside(&index_path, &fingerprint, &photo, device))
        }));
    }

    /// Where the index is kept.
    #[cfg(test)]
    pub fn index_path(&self) -> &Path {
        &self.job.index
    }

    /// The thresholds of the verdicts on the index's codes.
    pub fn verdict_rule(&self) -> Option<&VerdictRule> {
        self.verdicts.as_ref().map(|(_, rule)| rule)
    }

    /// The query's code and its position in the index (`None` for an outside photo).
    pub fn query_code(&self) -> Option<(HashCode, Option<usize>)> {
        match (self.selected, &self.outside) {
            (Some(i), _) => self.code(i).map(|c| (c, Some(i))),
            (None, Some((_, code))) => Some((code.clone(), None)),
            (None, None) => None,
        }
    }

    /// Recomputes the results when the selection, the query or the index changed.
    pub fn update_results(&mut self) {
        // The library's own distances, once indexing has settled (not every batch).
        if let Some(index) = &self.index
            && self.task.is_none()
            && self
                .pair_distances
                .as_ref()
                .is_none_or(|p| p.for_len != index.len() || p.model != index.model())
        {
            self.pair_distances = Some(PairDistances::of(index));
        }
        // The model's verdict thresholds, read from its settings when the index was loaded (a run
        // announces them with its model).
        if let Some(index) = &self.index
            && self
                .verdicts
                .as_ref()
                .is_none_or(|(model, _)| model != index.model())
        {
            let rule = ModelConfig::read(&model_path_for(&self.job.index))
                .ok()
                .filter(|c| c.bits == index.bits())
                .map(|c| c.verdict_rule())
                .unwrap_or_else(|| VerdictRule::fixed(index.bits()));
            self.verdicts = Some((index.model().to_string(), rule));
            self.similar_from = None;
        }
        // "Similar" read from this library's own distances, once they are known for these codes.
        if let (Some(p), Some((model, rule))) = (&self.pair_distances, &mut self.verdicts)
            && p.model == *model
            && self.similar_from != Some(p.for_len)
        {
            *rule = rule.clone().for_library(&p.histogram);
            self.similar_from = Some(p.for_len);
        }
        let (Some((code, sel)), Some(index)) = (self.query_code(), &self.index) else {
            self.results.clear();
            return;
        };
        let key = (sel.unwrap_or(usize::MAX), self.query, index.len());
        if self.searched == Some(key) {
            return;
        }
        let around = match self.query.radius {
            Some(r) => Around::Within(r),
            None => Around::Nearest(self.query.k),
        };
        let found = index.neighbours(&code, around, sel).unwrap_or_default();
        self.nearest_beyond = match around {
            Around::Within(_) if found.is_empty() => {
                index.nearest_distance(&code, sel).ok().flatten()
            }
            _ => None,
        };
        self.results = found;
        self.searched = Some(key);
    }
}

/// Encodes one photo with the model beside the index at `index_path` (checked against the index).
fn encode_outside(
    index_path: &Path,
    fingerprint: &str,
    photo: &Path,
    device: DeviceChoice,
) -> Result<(PathBuf, HashCode), String> {
    let device = ComputeDevice::choose(device).map_err(|e| e.to_string())?;
    let model = index_model(index_path, fingerprint, &device.device).map_err(|e| e.to_string())?;
    let code = encode_photo(&model, photo, &device.device).map_err(|e| e.to_string())?;
    Ok((photo.to_path_buf(), code))
}

/// Moves photos to the system's trash (the freedesktop trash on Linux, the recycle bin or the Finder's
/// trash elsewhere), from where the user can restore them; says which could not be moved and why.
pub fn move_to_trash(paths: &[PathBuf]) -> Result<(), String> {
    trash::delete_all(paths).map_err(|e| format!("could not move the photos to the trash: {e}"))
}

/// Opens the folder holding `path` in the system's file manager (without waiting for it); says why
/// not when the opener cannot be started (no `xdg-open` on a bare Linux system).
fn reveal(path: &std::path::Path) -> Result<(), String> {
    let folder = path.parent().unwrap_or(path);
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(folder)
        .spawn()
        .map(drop)
        .map_err(|e| {
            format!(
                "cannot show {} in the file manager ({opener}: {e}); its path can be copied instead",
                folder.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The time left counts the photos read after the stage: 100 of 400 read in 10 s, 600 more to
    /// read after the fit's sample, at 10 photos/s: (300 + 600) / 10 s.
    #[test]
    fn the_time_left_is_the_runs_not_the_stages() {
        let now = Instant::now();
        let progress = |later| {
            let mut p = Progress::new(Stage::READ_FOR_FIT, 0, 400, later, now);
            p.report(100, now + Duration::from_secs(10));
            p
        };
        assert_eq!(progress(600).eta(), Some(90.0));
        assert_eq!(progress(0).eta(), Some(30.0));
    }

    /// The pace is read over the last ten seconds: a slow start (10 photos in the first 10 s) then
    /// 20 photos/s for 20 s gives 20 photos/s, not the 410 / 30 s of the whole stage.
    #[test]
    fn the_pace_is_the_recent_one() {
        let t0 = Instant::now();
        let mut p = Progress::new(Stage::ENCODE, 0, 1000, 0, t0);
        p.report(10, t0 + Duration::from_secs(10));
        for s in 1..=20 {
            p.report(10 + 20 * s, t0 + Duration::from_secs(10 + s as u64));
        }
        assert_eq!(p.rate(), 20.0);
        assert_eq!(p.eta(), Some(590.0 / 20.0));
        // One report so far: the pace since the stage began.
        let mut q = Progress::new(Stage::ENCODE, 0, 100, 0, t0);
        q.report(40, t0 + Duration::from_secs(4));
        assert_eq!(q.rate(), 10.0);
    }

    #[test]
    fn same_folder_counts_the_first_ten_results_in_the_querys_folder() {
        let root = Path::new("/photos");
        let query = root.join("cats/1.jpg");
        let results: Vec<PathBuf> = (0..12)
            .map(|i| {
                root.join(if i % 3 == 0 { "dogs" } else { "cats" })
                    .join(format!("{i}.jpg"))
            })
            .collect();
        // Of the first ten (0..10), 0, 3, 6 and 9 are dogs.
        assert_eq!(
            same_folder_at_10(root, &query, results.iter().map(PathBuf::as_path)),
            Some((6, 10))
        );
        assert_eq!(
            same_folder_at_10(
                root,
                &root.join("loose.jpg"),
                results.iter().map(PathBuf::as_path)
            ),
            None,
            "a photo loose in the root has no folder to compare"
        );
        assert_eq!(same_folder_at_10(root, &query, std::iter::empty()), None);
    }
}
