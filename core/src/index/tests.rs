use super::*;
use std::io::Write;

fn photo(path: &str, size: u64, mtime_ns: u64) -> IndexedPhoto {
    IndexedPhoto {
        path: PathBuf::from(path),
        size,
        mtime_ns,
    }
}

fn entry(path: &str, size: u64, mtime_ns: u128) -> ImageEntry {
    ImageEntry {
        path: PathBuf::from(path),
        relative: PathBuf::from(path),
        format: crate::photo::PhotoFormat::Image(image::ImageFormat::Jpeg),
        size,
        mtime_ns,
    }
}

fn code(s: &str) -> HashCode {
    HashCode::parse_bits(s).unwrap()
}

fn sample() -> CodeIndex {
    let mut index = CodeIndex::new(16, "mobilenet_v2+itq:abc").unwrap();
    index
        .push(photo("/p/a.jpg", 10, 100), &code("1010101010101010"))
        .unwrap();
    index
        .push(photo("/p/b.jpg", 20, 200), &code("1111000011110000"))
        .unwrap();
    index
}

#[test]
fn save_load_round_trip_and_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photos.hlindex");
    let mut index = sample();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = PathBuf::from(std::ffi::OsStr::from_bytes(b"/p/caf\xe9.jpg"));
        index
            .push(
                IndexedPhoto {
                    path: odd,
                    size: 1,
                    mtime_ns: 2,
                },
                &code("0000000000000001"),
            )
            .unwrap();
    }
    index.save(&path).unwrap();
    let back = CodeIndex::load(&path).unwrap();
    assert_eq!(back, index);

    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert!(
        CodeIndex::load(&path)
            .unwrap_err()
            .to_string()
            .contains("checksum")
    );
    std::fs::write(&path, &bytes[..n / 2]).unwrap();
    assert!(CodeIndex::load(&path).is_err());
    std::fs::write(&path, b"something else entirely").unwrap();
    assert!(
        CodeIndex::load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a hashlens index")
    );
}

#[test]
fn future_versions_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photos.hlindex");
    sample().save(&path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = CodeIndex::load(&path).unwrap_err().to_string();
    assert!(err.contains("version 3 is not supported"), "{err}");
}

#[test]
fn version_1_files_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photos.hlindex");
    let index = sample();
    std::fs::write(&path, format::v1::encode(&index)).unwrap();
    assert_eq!(CodeIndex::load(&path).unwrap(), index);
    let mapped = MappedIndex::open(&path).unwrap();
    assert_eq!(mapped.codes(), index.codes());
    assert_eq!(mapped.photo(1).unwrap(), index.photos()[1]);
    assert_eq!(mapped.position(Path::new("/p/b.jpg")).unwrap(), Some(1));
    // Saving writes the current version, which reads back the same.
    index.save(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap()[8], format::VERSION as u8);
    assert_eq!(CodeIndex::load(&path).unwrap(), index);
}

/// `n` photos with 72-bit codes (a code spans two words) and paths of varied lengths.
fn many(n: usize) -> CodeIndex {
    let book = CodeBook::random(72, n, 11).unwrap();
    let mut index = CodeIndex::new(72, "m:many").unwrap();
    for i in 0..n {
        let path = format!("/photos/{}/IMG_{i:04}.jpg", "x".repeat(i % 7));
        index
            .push(photo(&path, i as u64 * 3, i as u64 * 5), &book.get(i))
            .unwrap();
    }
    index
}

#[test]
fn a_mapped_index_reads_what_was_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photos.hlindex");
    let index = many(format::BLOCK + 100);
    index.save(&path).unwrap();
    let mapped = MappedIndex::open(&path).unwrap();
    assert_eq!(
        (mapped.len(), mapped.bits(), mapped.model()),
        (index.len(), 72, "m:many")
    );
    assert_eq!(mapped.codes(), index.codes());
    for i in [0, 1, 4095, 4096, index.len() - 1] {
        assert_eq!(mapped.photo(i).unwrap(), index.photos()[i]);
    }
    let last = &index.photos()[index.len() - 1].path;
    assert_eq!(mapped.position(last).unwrap(), Some(index.len() - 1));
    assert_eq!(mapped.position(Path::new("/elsewhere.jpg")).unwrap(), None);
    let query = index.codes().get(17);
    for around in [Around::Nearest(5), Around::Within(30)] {
        assert_eq!(
            mapped.neighbours(&query, around, Some(17)).unwrap(),
            index.neighbours(&query, around, Some(17)).unwrap()
        );
    }
    assert_eq!(CodeIndex::load(&path).unwrap(), index);
    // An empty index too.
    CodeIndex::new(64, "m:0").unwrap().save(&path).unwrap();
    assert!(MappedIndex::open(&path).unwrap().is_empty());
}

#[test]
fn a_mapped_index_finds_damage_where_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photos.hlindex");
    let index = many(format::BLOCK + 100);
    index.save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let damaged = |at: usize| {
        let mut bytes = good.clone();
        bytes[at] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
    };
    let err = |r: Result<MappedIndex, FileError>| r.err().expect("refused").to_string();

    // The header and the codes are checked on opening.
    damaged(13);
    assert!(err(MappedIndex::open(&path)).contains("header is corrupted"));
    let header = 48 + "m:many".len().next_multiple_of(8);
    damaged(header + 3);
    assert!(err(MappedIndex::open(&path)).contains("codes are corrupted"));
    // A path in the last block: that block's photos are refused, the first block's still read.
    damaged(good.len() - 3);
    let mapped = MappedIndex::open(&path).unwrap();
    assert_eq!(mapped.photo(0).unwrap(), index.photos()[0]);
    let e = mapped.photo(index.len() - 1).unwrap_err().to_string();
    assert!(e.contains("photos 4096 to 4195 are corrupted"), "{e}");
    assert!(CodeIndex::load(&path).is_err());
    // Cut short, or grown.
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    assert!(err(MappedIndex::open(&path)).contains("truncated"));
    std::fs::write(&path, [&good[..], b"x"].concat()).unwrap();
    assert!(err(MappedIndex::open(&path)).contains("truncated or corrupted"));
    std::fs::write(&path, &good[..30]).unwrap();
    assert!(err(MappedIndex::open(&path)).contains("truncated"));
}

#[test]
fn plans_keep_unchanged_and_encode_the_rest() {
    let index = sample();
    let scan = vec![
        entry("/p/0new.jpg", 5, 5),
        entry("/p/a.jpg", 10, 100),
        entry("/p/c.jpg", 30, 300),
    ];
    let plan = index.plan(&scan, "mobilenet_v2+itq:abc");
    assert_eq!(plan.keep, vec![(1, 0)]);
    assert_eq!(plan.encode, vec![0, 2]);
    assert_eq!(plan.removed, 1, "b.jpg is gone");

    // A touched file (same size, new mtime) and a rewritten one (new size) are encoded again.
    let touched = vec![entry("/p/a.jpg", 10, 101), entry("/p/b.jpg", 21, 200)];
    let plan = index.plan(&touched, "mobilenet_v2+itq:abc");
    assert!(plan.keep.is_empty());
    assert_eq!(plan.encode, vec![0, 1]);

    // Another model: nothing is kept.
    let same = vec![entry("/p/a.jpg", 10, 100), entry("/p/b.jpg", 20, 200)];
    assert_eq!(index.plan(&same, "mobilenet_v2+itq:abc").keep.len(), 2);
    let plan = index.plan(&same, "efficientnet_lite0+itq:def");
    assert!(plan.keep.is_empty());
    assert_eq!(plan.encode, vec![0, 1]);
}

#[test]
fn journal_survives_a_kill_and_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    let index_path = dir.path().join("photos.hlindex");
    let model = "m:1";
    {
        let (mut j, done) = Journal::open(&index_path, 16, model).unwrap();
        assert!(done.is_empty());
        j.append(&photo("/p/a.jpg", 1, 1), &code("1000000000000000"))
            .unwrap();
        j.append(&photo("/p/b.jpg", 2, 2), &code("0100000000000000"))
            .unwrap();
        // Dropped without `remove`: as if the process were killed here.
    }
    // A kill in the middle of a write leaves part of a record.
    let jpath = Journal::path_for(&index_path);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&jpath)
        .unwrap();
    f.write_all(&[40, 0, 0, 0, 1, 2, 3]).unwrap();
    drop(f);

    let (mut j, done) = Journal::open(&index_path, 16, model).unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(done[1].0, photo("/p/b.jpg", 2, 2));
    assert_eq!(done[1].1, code("0100000000000000"));
    j.append(&photo("/p/c.jpg", 3, 3), &code("0010000000000000"))
        .unwrap();
    j.sync().unwrap();
    drop(j);
    let (j, done) = Journal::open(&index_path, 16, model).unwrap();
    assert_eq!(done.len(), 3, "appends continue after the last good record");
    j.remove().unwrap();
    assert!(!jpath.exists());

    // A journal of another model is discarded.
    let (mut j, _) = Journal::open(&index_path, 16, model).unwrap();
    j.append(&photo("/p/a.jpg", 1, 1), &code("1000000000000000"))
        .unwrap();
    drop(j);
    let (_, done) = Journal::open(&index_path, 16, "other:2").unwrap();
    assert!(done.is_empty());
}
