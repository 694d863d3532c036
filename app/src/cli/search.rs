//! `hashlens search`: the photos of an index nearest to one query photo, or to each photo of a list.
//!
//! The index is memory-mapped ([`MappedIndex`]): an index of millions of photos answers its first query
//! at once. A list of queries is answered as one batch, which streams the codes once per group of
//! queries (`hashlens bench search` measures it).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::Args;
use hashlens_core::index::{Around, MappedIndex, index_model};
use hashlens_core::model::encode::encode_photos;
use hashlens_core::{CodeBook, HashCode, Neighbor};
use serde::Serialize;

use crate::cli::args::{DeviceArgs, IndexChoice};
use crate::cli::output::{out, printable};

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("query").required(true).args(["image", "indexed", "queries"])))]
pub struct SearchArgs {
    #[command(flatten)]
    which: IndexChoice,
    /// A photo to search with (encoded by the index's model).
    image: Option<PathBuf>,
    /// Search with a photo already in the index (itself is left out of the results).
    #[arg(long)]
    indexed: Option<PathBuf>,
    /// A text file listing query photos, one path per line (blank lines and lines starting with `#`
    /// are skipped): photos of the index are searched with their code and left out of their own
    /// results, others are encoded by the index's model. With --json, one line per query.
    #[arg(long)]
    queries: Option<PathBuf>,
    /// How many results.
    #[arg(short, default_value_t = 10, allow_negative_numbers = true, value_parser = crate::cli::args::count)]
    k: usize,
    /// Every photo within this Hamming distance instead of the k nearest.
    #[arg(long)]
    radius: Option<u32>,
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Hit {
    path: String,
    distance: u32,
}

#[derive(Serialize)]
struct SearchResult {
    query: String,
    code: String,
    results: Vec<Hit>,
}

/// One query: its photo, its code, and its position when the index holds it.
struct Query {
    photo: PathBuf,
    code: HashCode,
    exclude: Option<usize>,
}

impl SearchArgs {
    fn around(&self) -> Around {
        match self.radius {
            Some(r) => Around::Within(r),
            None => Around::Nearest(self.k),
        }
    }
}

pub fn search(a: SearchArgs) -> anyhow::Result<()> {
    let index = MappedIndex::open(&a.which.path())?;
    let photos: Vec<PathBuf> = match (&a.image, &a.indexed, &a.queries) {
        (Some(image), _, _) => vec![image.clone()],
        (None, Some(path), _) => vec![path.clone()],
        (None, None, Some(list)) => read_list(list)?,
        _ => unreachable!("clap requires a query"),
    };
    let queries = if a.indexed.is_some() {
        let pos = find_indexed(&index, &photos[0])?
            .with_context(|| format!("{} is not in the index", photos[0].display()))?;
        vec![Query {
            photo: photos[0].clone(),
            code: index.codes().get(pos),
            exclude: Some(pos),
        }]
    } else {
        queries_of(&a, &index, photos)?
    };
    let mut codes = CodeBook::new(index.bits())?;
    for q in &queries {
        codes.push(&q.code)?;
    }
    let exclude: Vec<Option<usize>> = queries.iter().map(|q| q.exclude).collect();
    let found = index.neighbours_batch(&codes, a.around(), &exclude)?;
    for (q, hits) in queries.iter().zip(found) {
        print_result(&a, &index, q, &hits)?;
    }
    Ok(())
}

fn print_result(
    a: &SearchArgs,
    index: &MappedIndex,
    q: &Query,
    hits: &[Neighbor],
) -> anyhow::Result<()> {
    let result = SearchResult {
        query: q.photo.to_string_lossy().into_owned(),
        code: q.code.to_string(),
        results: hits
            .iter()
            .map(|n| {
                Ok(Hit {
                    path: index.photo_path(n.index)?.to_string_lossy().into_owned(),
                    distance: n.distance,
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    if a.json {
        return crate::cli::output::print_json(&result);
    }
    out!(
        "{} ({} bits: {})",
        printable(&result.query),
        q.code.bits(),
        result.code
    );
    for h in &result.results {
        out!("{:>4}  {}", h.distance, printable(&h.path));
    }
    Ok(())
}

/// The queries for `photos`: codes from the index where it holds the photo, from the index's model
/// otherwise (loaded once, only when needed).
fn queries_of(
    a: &SearchArgs,
    index: &MappedIndex,
    photos: Vec<PathBuf>,
) -> anyhow::Result<Vec<Query>> {
    let positions = if a.queries.is_some() {
        find_listed(index, &photos)?
    } else {
        vec![None; photos.len()]
    };
    let outside: Vec<PathBuf> = photos
        .iter()
        .zip(&positions)
        .filter(|(_, pos)| pos.is_none())
        .map(|(p, _)| p.clone())
        .collect();
    let mut encoded = if outside.is_empty() {
        Vec::new()
    } else {
        let device = a.device.open()?;
        let model = index_model(&a.which.path(), index.model(), &device.device)?;
        encode_photos(
            &model,
            &outside,
            32,
            &device.device,
            &AtomicBool::new(false),
            |_, _| {},
        )
    }
    .into_iter();
    photos
        .into_iter()
        .zip(positions)
        .map(|(photo, pos)| {
            let (code, exclude) = match pos {
                Some(i) => (index.codes().get(i), Some(i)),
                None => {
                    let code = encoded
                        .next()
                        .flatten()
                        .expect("every photo encoded, never cancelled")
                        .with_context(|| format!("cannot search with {}", photo.display()))?;
                    (code, None)
                }
            };
            Ok(Query {
                photo,
                code,
                exclude,
            })
        })
        .collect()
}

/// The photos listed in `file`, one per line.
fn read_list(file: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the query list {}", file.display()))?;
    let photos: Vec<PathBuf> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect();
    if photos.is_empty() {
        bail!("{} lists no photos", file.display());
    }
    Ok(photos)
}

/// Positions of the listed photos in the index, as given or as the absolute paths they name, in one
/// scan of the index's paths.
fn find_listed(index: &MappedIndex, photos: &[PathBuf]) -> anyhow::Result<Vec<Option<usize>>> {
    let absolute: Vec<PathBuf> = photos
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let wanted: Vec<&Path> = photos
        .iter()
        .chain(&absolute)
        .map(PathBuf::as_path)
        .collect();
    let found = index.positions(&wanted)?;
    let (given, named) = found.split_at(photos.len());
    Ok(given.iter().zip(named).map(|(g, n)| g.or(*n)).collect())
}

/// Position of `path` in the index: as given, or as the absolute path it names (comparing with every
/// indexed photo's absolute path as a last resort).
fn find_indexed(index: &MappedIndex, path: &Path) -> anyhow::Result<Option<usize>> {
    if let Some(i) = index.position(path)? {
        return Ok(Some(i));
    }
    let Ok(absolute) = std::fs::canonicalize(path) else {
        return Ok(None);
    };
    if let Some(i) = index.position(&absolute)? {
        return Ok(Some(i));
    }
    for i in 0..index.len() {
        if std::fs::canonicalize(index.photo_path(i)?).ok().as_deref() == Some(absolute.as_path()) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}
