//! Exports checked against the real engines (issue 21): an index of real photos is exported for FAISS
//! and for Milvus, loaded into each by `tests/engines/check_engines.py` (faiss-cpu; pymilvus with
//! milvus-lite, which embeds Milvus's engine and API), and the same queries must return the same
//! neighbours at the same distances as `hashlens search` (ties at the last distance may be broken
//! differently, so there only the distance is compared).
//!
//! Needs a Python with those packages: `$HASHLENS_ENGINES_PYTHON`, else `target/engines-venv/bin/python`
//! (what `.ci/run` makes). Without one, or without the CIFAR-10 archive for the photos, the test says
//! why and passes. On the way, multi-index radius search is checked against the exact scan on these
//! real codes.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{hashlens, json, json_lines};

/// The Python that has the engines, if any.
fn python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("HASHLENS_ENGINES_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/engines-venv/bin/python"));
    python.exists().then_some(python)
}

/// Every `step`-th JPEG of the CIFAR-10 archive (both splits, all classes), copied to `dir`.
fn cifar_photos(dir: &Path, step: usize) -> Option<usize> {
    let tgz = std::env::var_os("HASHLENS_CIFAR10_TGZ")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/cifar10-jpg.tar.gz")
        });
    let file = std::fs::File::open(&tgz).ok()?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    std::fs::create_dir_all(dir).unwrap();
    let mut n = 0;
    for (i, entry) in archive.entries().unwrap().enumerate() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().replace('/', "_");
        if !name.ends_with(".jpg") || i % step != 0 {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        n += 1;
    }
    Some(n)
}

/// `[(path, distance)]` of one query's results.
type Hits = Vec<(String, u64)>;

fn hits(result: &serde_json::Value) -> Hits {
    result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap().to_string(),
                h["distance"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The engine's results for the queries (ids), as paths, the query itself left out.
fn engine_hits(
    python: &Path,
    prefix: &Path,
    engine: &str,
    queries: &[usize],
    paths: &HashMap<u64, String>,
    search: &[&str],
) -> Option<Vec<Hits>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/engines/check_engines.py");
    let ids: Vec<String> = queries.iter().map(usize::to_string).collect();
    let out = Command::new(python)
        .arg(script)
        .args(["--prefix", prefix.to_str().unwrap(), "--engine", engine])
        .args(["--queries", &ids.join(",")])
        .args(search)
        .output()
        .expect("python runs");
    if out.status.code() == Some(3) {
        eprintln!(
            "skipping the {engine} check: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    let v = json(&out);
    assert_eq!(v["engine"], engine);
    Some(
        queries
            .iter()
            .map(|q| {
                v["results"][q.to_string()]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|pair| (pair[0].as_u64().unwrap(), pair[1].as_u64().unwrap()))
                    .filter(|&(id, _)| id != *q as u64)
                    .map(|(id, d)| (paths[&id].clone(), d))
                    .collect()
            })
            .collect(),
    )
}

/// Same distances in the same order; the same photos wherever the distance is below the last one.
fn assert_same(engine: &str, ours: &Hits, theirs: &Hits, k: Option<usize>) {
    let theirs: Hits = match k {
        Some(k) => theirs.iter().take(k).cloned().collect(),
        None => theirs.clone(),
    };
    let d = |h: &Hits| h.iter().map(|x| x.1).collect::<Vec<_>>();
    assert_eq!(d(ours), d(&theirs), "{engine}: distances differ");
    let last = ours.last().map_or(0, |x| x.1);
    let below = |h: &Hits| {
        let mut p: Vec<String> = h
            .iter()
            .filter(|x| x.1 < last || k.is_none())
            .map(|x| x.0.clone())
            .collect();
        p.sort();
        p
    };
    assert_eq!(below(ours), below(&theirs), "{engine}: different photos");
}

#[test]
fn exports_rank_like_hashlens_in_faiss_and_milvus() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    let Some(n) = cifar_photos(&photos, 300) else {
        eprintln!("skipping: the CIFAR-10 archive is not there");
        return;
    };
    assert!(n >= 150, "{n} photos");
    let index = dir.path().join("photos.hlindex");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = hashlens(&[
        "index",
        &s(&photos),
        "--index",
        &s(&index),
        "--bits",
        "64",
        "--device",
        "cpu",
        "--json",
    ]);
    assert_eq!(json(&out)["indexed"], n);

    let prefix = dir.path().join("export/photos");
    std::fs::create_dir_all(prefix.parent().unwrap()).unwrap();
    for format in ["faiss", "milvus"] {
        let out = hashlens(&[
            "export",
            "--index",
            &s(&index),
            "--format",
            format,
            "--out",
            &s(&prefix),
            "--json",
        ]);
        assert_eq!(json(&out)["count"], n);
    }
    // Multi-index hashing finds what the exact scan finds on these real codes too (the benchmark
    // compares every list and fails otherwise); the FAISS file's codes start after its 33-byte header.
    let faiss = std::fs::read(with(&prefix, ".faiss")).unwrap();
    let raw = dir.path().join("codes.u8");
    std::fs::write(&raw, &faiss[33..]).unwrap();
    let out = hashlens(&[
        "bench",
        "radius",
        "--codes",
        &s(&raw),
        "--bits",
        "64",
        "--radius",
        "0,2,4,8,12,16",
        "--queries",
        "40",
        "--json",
    ]);
    let rows = json(&out);
    assert_eq!(rows.as_array().unwrap().len(), 6);
    assert!(rows[5]["mean_results"].as_f64().unwrap() > 1.0, "{rows}");

    let Some(python) = python() else {
        eprintln!(
            "skipping the engines: no Python with faiss-cpu, pymilvus and milvus-lite (set \
             HASHLENS_ENGINES_PYTHON or run .ci/run, which makes target/engines-venv)"
        );
        return;
    };
    let paths: HashMap<u64, String> = std::fs::read_to_string(with(&prefix, ".ids.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_u64().unwrap(),
                v["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(paths.len(), n);
    let by_path: HashMap<&str, usize> = paths
        .iter()
        .map(|(id, p)| (p.as_str(), *id as usize))
        .collect();

    // Five photos of the index as queries, through `hashlens search --queries`.
    let chosen: Vec<usize> = (0..5).map(|i| i * n / 5).collect();
    let list = dir.path().join("queries.txt");
    let lines: Vec<&str> = chosen
        .iter()
        .map(|i| paths[&(*i as u64)].as_str())
        .collect();
    std::fs::write(&list, lines.join("\n")).unwrap();
    let queries: Vec<usize> = chosen
        .iter()
        .map(|i| by_path[paths[&(*i as u64)].as_str()])
        .collect();

    for (ours_args, engine_args, k) in [
        (vec!["-k", "10"], vec!["--k", "11"], Some(10)),
        (vec!["--radius", "18"], vec!["--radius", "18"], None),
    ] {
        let mut args = vec![
            "search".to_string(),
            "--index".into(),
            s(&index),
            "--queries".into(),
            s(&list),
            "--json".into(),
        ];
        args.extend(ours_args.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ours: Vec<Hits> = json_lines(&hashlens(&args)).iter().map(hits).collect();
        assert_eq!(ours.len(), 5);
        assert!(
            ours.iter().any(|h| !h.is_empty()),
            "some query finds neighbours"
        );
        for engine in ["faiss", "milvus"] {
            let Some(theirs) =
                engine_hits(&python, &prefix, engine, &queries, &paths, &engine_args)
            else {
                continue;
            };
            for (o, t) in ours.iter().zip(&theirs) {
                assert_same(engine, o, t, k);
            }
        }
    }
}

/// `prefix` with `suffix` appended to its file name.
pub fn with(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}
