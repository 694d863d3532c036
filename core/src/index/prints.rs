//! The perceptual prints of an index's photos ([`PerceptualPrint`]: pHash of each photo turned, mirrored
//! and cropped to its centre), kept beside the index as a cache (`INDEX.prints`): the near-duplicate
//! verdict's second signal beside the learned codes. With both, the default's codes for finding copies
//! find 0.995 of the edited copies at precision 0.993 on the edit benchmark at 64 bits (with thresholds
//! that also keep precision 0.99 on camera-sized photos: 0.993 at 0.992), where the code alone finds 0.782
//! (`benchmarks/results/codes-for-copies.md`).
//!
//! A cache, not part of the index: the codes are searchable without it, it is computed after them (one
//! more reduced decode per photo), it is keyed by each photo's path, size and modification time (a
//! changed photo gets a new print, a deleted one's is dropped), and a damaged or foreign file is
//! computed anew. Writes are atomic; a cancelled or killed run keeps what it saved (every
//! [`SAVE_EVERY`] prints).
//!
//! File format (little-endian), sealed by a CRC-32 of everything before it: `b"HLPRINT\n"`, version
//! `u32` = 2, count `u64`, then per photo its path (`u32` length + bytes as the OS stores them), size
//! `u64`, modification time `u64` (ns) and the print's 13 words `u64` (turns, then crops; version 1, with
//! three crops, is computed anew).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::IndexedPhoto;
use crate::code::{CodeBook, HashCode};
use crate::io::{ByteReader, FileError, path_bytes, path_from_bytes, seal, unseal, write_atomic};
use crate::photo::perceptual::PerceptualPrint;
use crate::search::Search;

const MAGIC: &[u8; 8] = b"HLPRINT\n";
const VERSION: u32 = 2;

/// Longest path accepted when reading (a corrupted length cannot make us allocate gigabytes).
const MAX_PATH: usize = 1 << 16;

/// Prints computed between two saves of the file.
pub const SAVE_EVERY: usize = 2_000;

/// Photos decoded between two progress reports (and cancellation checks).
const CHUNK: usize = 32;

/// The prints file kept beside an index.
pub fn prints_path_for(index: &Path) -> PathBuf {
    let mut name = index.file_name().unwrap_or_default().to_os_string();
    name.push(".prints");
    index.with_file_name(name)
}

/// A photo as the cache knows it: path, size and modification time.
type Key = (PathBuf, u64, u64);

fn key(photo: &IndexedPhoto) -> Key {
    (photo.path.clone(), photo.size, photo.mtime_ns)
}

/// What a prints run reports while it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum PrintsEvent {
    /// `done` of `total` photos have their prints (those read from the file count as done).
    Progress { done: usize, total: usize },
}

/// Everything a prints run needs to know.
#[derive(Clone, Debug)]
pub struct PrintsJob {
    /// The index the prints belong to (their file lies beside it).
    pub index: PathBuf,
    /// Its photos, in index order.
    pub photos: Vec<IndexedPhoto>,
}

/// The prints of an index's photos, in index order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prints {
    /// `None`: the photo could not be read, or the run was cancelled before it.
    pub prints: Vec<Option<PerceptualPrint>>,
    /// Every readable photo has its print (the run was not cancelled).
    pub complete: bool,
}

impl Prints {
    /// The print distance between photos `a` and `b` of the index, where both are known.
    pub fn distance(&self, a: usize, b: usize) -> Option<u32> {
        let (a, b) = (self.prints.get(a)?.as_ref()?, self.prints.get(b)?.as_ref()?);
        Some(a.distance(b))
    }
}

impl Prints {
    /// Every pair of photos whose prints are at most `within` bits apart ([`PerceptualPrint::distance`]),
    /// `(a, b)` with `a < b`: what joins copies into near-duplicate groups beside their codes. Each
    /// photo's thirteen pHashes (turns, mirror images, crops) are searched among the others' pHashes as
    /// they are, which covers both ways round of the distance. `progress(done, total)` as it goes;
    /// setting `cancel` returns `None`.
    pub fn links(
        &self,
        within: u32,
        cancel: &AtomicBool,
        mut progress: impl FnMut(usize, usize),
    ) -> Option<Vec<(usize, usize)>> {
        let n = self.prints.len();
        let mut plain = CodeBook::new(64).expect("64 bits");
        for p in &self.prints {
            let word = p.map_or(0, |p| p.phash());
            plain
                .push(&HashCode::from_words(64, &[word]).expect("64 bits"))
                .expect("64 bits");
        }
        let search = Search::default();
        let mut links = std::collections::BTreeSet::new();
        let chunk = 64;
        for start in (0..n).step_by(chunk) {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            let end = (start + chunk).min(n);
            let mut queries = CodeBook::new(64).expect("64 bits");
            let mut owners = Vec::new();
            for a in start..end {
                let Some(print) = &self.prints[a] else {
                    continue;
                };
                for w in print.to_words() {
                    queries
                        .push(&HashCode::from_words(64, &[w]).expect("64 bits"))
                        .expect("64 bits");
                    owners.push(a);
                }
            }
            if !owners.is_empty() {
                let found = search
                    .radius_batch(&plain, &queries, within)
                    .expect("64-bit books");
                for (hits, &a) in found.iter().zip(&owners) {
                    for hit in hits {
                        let b = hit.index;
                        if b != a && self.prints[b].is_some() {
                            links.insert((a.min(b), a.max(b)));
                        }
                    }
                }
            }
            progress(end, n);
        }
        Some(links.into_iter().collect())
    }
}

/// Reads the prints file beside `job.index`, computes the prints it lacks (in parallel, on the CPU) and
/// writes it back. Cancelling keeps what was computed (saved, and returned with `complete: false`).
pub fn update_prints(
    job: &PrintsJob,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(PrintsEvent),
) -> Result<Prints, FileError> {
    let path = prints_path_for(&job.index);
    let mut known = read_prints(&path).unwrap_or_default();
    let total = job.photos.len();
    let missing: Vec<usize> = (0..total)
        .filter(|&i| !known.contains_key(&key(&job.photos[i])))
        .collect();
    let mut done = total - missing.len();
    on_event(PrintsEvent::Progress { done, total });
    // Photos that cannot be read: not retried within a run, nor kept in the file.
    let mut unreadable = vec![false; total];
    let mut unsaved = 0;
    let mut cancelled = false;
    for chunk in missing.chunks(CHUNK) {
        if cancel.load(Ordering::Relaxed) {
            cancelled = true;
            break;
        }
        let computed: Vec<Option<PerceptualPrint>> = chunk
            .par_iter()
            .map(|&i| PerceptualPrint::of_file(&job.photos[i].path).ok())
            .collect();
        for (&i, print) in chunk.iter().zip(computed) {
            match print {
                Some(p) => {
                    known.insert(key(&job.photos[i]), p);
                    unsaved += 1;
                }
                None => unreadable[i] = true,
            }
        }
        done += chunk.len();
        on_event(PrintsEvent::Progress { done, total });
        if unsaved >= SAVE_EVERY {
            write_prints(&path, &job.photos, &known)?;
            unsaved = 0;
        }
    }
    if unsaved > 0 || known.len() != total {
        write_prints(&path, &job.photos, &known)?;
    }
    Ok(Prints {
        prints: job
            .photos
            .iter()
            .map(|p| known.get(&key(p)).copied())
            .collect(),
        complete: !cancelled,
    })
}

/// Writes the prints of `photos` that `known` holds (in index order; others are dropped).
fn write_prints(
    path: &Path,
    photos: &[IndexedPhoto],
    known: &HashMap<Key, PerceptualPrint>,
) -> Result<(), FileError> {
    let kept: Vec<(&IndexedPhoto, &PerceptualPrint)> = photos
        .iter()
        .filter_map(|p| Some((p, known.get(&key(p))?)))
        .collect();
    let mut out = Vec::with_capacity(24 + kept.len() * (128 + 8 * PerceptualPrint::WORDS));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(kept.len() as u64).to_le_bytes());
    for (photo, print) in kept {
        let bytes = path_bytes(&photo.path);
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
        out.extend_from_slice(&photo.size.to_le_bytes());
        out.extend_from_slice(&photo.mtime_ns.to_le_bytes());
        for w in print.to_words() {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    write_atomic(path, &seal(out)).map_err(FileError::io(path))
}

/// The prints a file holds, by photo; an error says why it is none (missing, damaged, foreign).
fn read_prints(path: &Path) -> Result<HashMap<Key, PerceptualPrint>, FileError> {
    let bytes = crate::io::read_regular(path).map_err(FileError::io(path))?;
    let invalid = |why: &str| FileError::invalid(path, why);
    let body = unseal(&bytes).ok_or_else(|| invalid("its checksum does not match"))?;
    let mut r = ByteReader::new(body);
    if r.take(8) != Some(&MAGIC[..]) {
        return Err(invalid("not a hashlens prints file"));
    }
    if r.u32() != Some(VERSION) {
        return Err(invalid("a prints format this build does not read"));
    }
    let count = r.u64().ok_or_else(|| invalid("cut short"))? as usize;
    // Each record takes at least 4 + 16 + 88 bytes: a count the file cannot hold is refused before any
    // allocation.
    if count > r.remaining() / (20 + 8 * PerceptualPrint::WORDS) {
        return Err(invalid("it claims more prints than it holds"));
    }
    let mut known = HashMap::with_capacity(count);
    for _ in 0..count {
        let record = (|| {
            let len = r.u32()? as usize;
            if len > MAX_PATH {
                return None;
            }
            let photo = path_from_bytes(r.take(len)?.to_vec());
            let (size, mtime) = (r.u64()?, r.u64()?);
            let mut words = [0u64; PerceptualPrint::WORDS];
            for w in &mut words {
                *w = r.u64()?;
            }
            Some(((photo, size, mtime), PerceptualPrint::from_words(&words)))
        })();
        let (k, print) = record.ok_or_else(|| invalid("a record is cut short"))?;
        known.insert(k, print);
    }
    if r.remaining() != 0 {
        return Err(invalid("bytes after its last record"));
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(dir: &Path, name: &str, seed: u8) -> IndexedPhoto {
        let path = dir.join(name);
        image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([
                (x as u8).wrapping_mul(seed),
                (y as u8).wrapping_mul(3),
                seed ^ (x ^ y) as u8,
            ])
        })
        .save(&path)
        .unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        IndexedPhoto {
            path,
            size: meta.len(),
            mtime_ns: 7,
        }
    }

    /// Prints are computed once: a second run reads them back, a changed photo (another size) gets a
    /// new one, an unreadable one none, and a damaged file is computed anew.
    #[test]
    fn prints_are_kept_by_photo_and_computed_only_where_missing() {
        let dir = tempfile::tempdir().unwrap();
        let a = photo(dir.path(), "a.png", 3);
        let b = photo(dir.path(), "b.png", 11);
        std::fs::write(dir.path().join("bad.png"), b"not a png").unwrap();
        let bad = IndexedPhoto {
            path: dir.path().join("bad.png"),
            size: 9,
            mtime_ns: 1,
        };
        let mut job = PrintsJob {
            index: dir.path().join("x.hlindex"),
            photos: vec![a.clone(), bad.clone(), b.clone()],
        };
        let mut events = Vec::new();
        let run = |job: &PrintsJob, events: &mut Vec<PrintsEvent>| {
            update_prints(job, &AtomicBool::new(false), &mut |e| events.push(e)).unwrap()
        };
        let first = run(&job, &mut events);
        assert!(first.complete);
        assert_eq!(
            first.prints,
            vec![
                Some(PerceptualPrint::of_file(&a.path).unwrap()),
                None,
                Some(PerceptualPrint::of_file(&b.path).unwrap())
            ]
        );
        assert_eq!(
            events.first(),
            Some(&PrintsEvent::Progress { done: 0, total: 3 })
        );
        assert_eq!(
            events.last(),
            Some(&PrintsEvent::Progress { done: 3, total: 3 })
        );
        assert_eq!(first.distance(0, 0), Some(0));
        assert_eq!(first.distance(0, 1), None);

        // The file holds a and b: a second run decodes nothing (the photos are gone, yet read back).
        std::fs::remove_file(&a.path).unwrap();
        events.clear();
        let again = run(&job, &mut events);
        assert_eq!(again.prints[0], first.prints[0]);
        assert_eq!(events[0], PrintsEvent::Progress { done: 2, total: 3 });

        // Another size is another photo: computed anew (here unreadable, as the file is gone).
        job.photos[0].size += 1;
        assert_eq!(run(&job, &mut events).prints[0], None);

        // A damaged file is not trusted: everything is computed again.
        let file = prints_path_for(&job.index);
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 9;
        bytes[last] ^= 0x40;
        std::fs::write(&file, &bytes).unwrap();
        assert!(read_prints(&file).is_err());
        events.clear();
        let rebuilt = run(&job, &mut events);
        assert_eq!(events[0], PrintsEvent::Progress { done: 0, total: 3 });
        assert_eq!(rebuilt.prints[2], first.prints[2]);
    }

    /// Links are the pairs within the threshold by the print distance itself, checked against every
    /// pair by hand.
    #[test]
    fn links_are_the_pairs_within_by_print_distance() {
        let cat = image::open(format!(
            "{}/../assets/demo/chelsea.jpg",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .into_rgb8();
        let others = ["brick", "horse", "coffee"].map(|name| {
            image::open(format!(
                "{}/../assets/demo/{name}.jpg",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
            .into_rgb8()
        });
        let mut prints = vec![
            Some(PerceptualPrint::of(&cat)),
            Some(PerceptualPrint::of(&image::imageops::rotate90(&cat))),
            None,
        ];
        prints.extend(others.iter().map(|o| Some(PerceptualPrint::of(o))));
        prints.push(Some(PerceptualPrint::of(
            &image::imageops::flip_horizontal(&others[1]),
        )));
        let prints = Prints {
            prints,
            complete: true,
        };
        for within in [0, 10, 20] {
            let links = prints
                .links(within, &AtomicBool::new(false), |_, _| {})
                .unwrap();
            let mut expected = Vec::new();
            for a in 0..prints.prints.len() {
                for b in a + 1..prints.prints.len() {
                    if prints.distance(a, b).is_some_and(|d| d <= within) {
                        expected.push((a, b));
                    }
                }
            }
            assert_eq!(links, expected, "within {within}");
            if within == 10 {
                assert_eq!(
                    links,
                    [(0, 1), (4, 6)],
                    "the turned cat, the mirrored horse"
                );
            }
        }
        assert!(
            prints
                .links(10, &AtomicBool::new(true), |_, _| {})
                .is_none()
        );
    }

    /// A cancelled run returns (and keeps) what it finished; a forged count is refused unallocated.
    #[test]
    fn a_cancelled_run_is_incomplete_and_forged_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let job = PrintsJob {
            index: dir.path().join("x.hlindex"),
            photos: vec![photo(dir.path(), "a.png", 5)],
        };
        let cancelled = update_prints(&job, &AtomicBool::new(true), &mut |_| {}).unwrap();
        assert_eq!(
            (cancelled.complete, cancelled.prints.clone()),
            (false, vec![None])
        );

        let mut forged = MAGIC.to_vec();
        forged.extend_from_slice(&VERSION.to_le_bytes());
        forged.extend_from_slice(&u64::MAX.to_le_bytes());
        let file = prints_path_for(&job.index);
        std::fs::write(&file, seal(forged)).unwrap();
        let err = read_prints(&file).unwrap_err().to_string();
        assert!(err.contains("more prints than it holds"), "{err}");
    }
}
