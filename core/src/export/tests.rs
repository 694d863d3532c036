use super::*;
use crate::HashCode;
use crate::index::{CodeIndex, IndexedPhoto};

/// Three 16-bit codes with the bytes [1, 2], [255, 0] and [0, 128].
fn tiny(dir: &Path) -> MappedIndex {
    let mut index = CodeIndex::new(16, "mobilenet_v2+itq:0123").unwrap();
    for (i, bytes) in [[1u8, 2], [255, 0], [0, 128]].iter().enumerate() {
        let photo = IndexedPhoto {
            path: format!("/photos/{i}.jpg").into(),
            size: 1,
            mtime_ns: 1,
        };
        index
            .push(photo, &HashCode::from_bytes(16, bytes).unwrap())
            .unwrap();
    }
    let path = dir.join("index.hlindex");
    index.save(&path).unwrap();
    MappedIndex::open(&path).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn faiss_file_is_byte_for_byte_what_faiss_writes() {
    let dir = tempfile::tempdir().unwrap();
    let index = tiny(dir.path());
    let prefix = dir.path().join("out");
    let done = export(&index, Engine::Faiss, &prefix).unwrap();
    assert_eq!(done.files.len(), 3);
    // faiss.serialize_index_binary of an IndexBinaryFlat(16) holding these three codes (faiss-cpu 1.x).
    let expected = concat!(
        "49427846",         // "IBxF"
        "10000000",         // d = 16
        "02000000",         // code_size = 2
        "0300000000000000", // ntotal = 3
        "01",               // is_trained
        "01000000",         // metric_type = METRIC_L2
        "0600000000000000", // 6 bytes of codes
        "0102ff000080",
    );
    assert_eq!(
        hex(&std::fs::read(with_suffix(&prefix, ".faiss")).unwrap()),
        expected
    );
    let ids = std::fs::read_to_string(with_suffix(&prefix, ".ids.jsonl")).unwrap();
    assert_eq!(
        ids.lines().nth(2).unwrap(),
        r#"{"id":2,"path":"/photos/2.jpg"}"#
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(with_suffix(&prefix, ".meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["model"], "mobilenet_v2+itq:0123");
    assert_eq!(meta["count"], 3);
}

#[test]
fn milvus_rows_hold_bit_reversed_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let index = tiny(dir.path());
    let prefix = dir.path().join("out");
    export(&index, Engine::Milvus, &prefix).unwrap();
    let rows: serde_json::Value =
        serde_json::from_slice(&std::fs::read(with_suffix(&prefix, ".milvus.json")).unwrap())
            .unwrap();
    let codes: Vec<_> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].clone())
        .collect();
    // Bit 0 (byte 0's least significant bit in hashlens) is Milvus's dimension 0, its most significant.
    assert_eq!(
        codes,
        [
            serde_json::json!([128, 64]),
            serde_json::json!([255, 0]),
            serde_json::json!([0, 1])
        ]
    );
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(with_suffix(&prefix, ".milvus.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(schema["fields"][2]["dim"], 16);
    assert_eq!(schema["collection_name"], "hashlens_mobilenet_v2_itq_0123");
}

#[cfg(unix)]
#[test]
fn paths_that_are_not_utf8_keep_their_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let path = Path::new(std::ffi::OsStr::from_bytes(b"/p/caf\xe9.jpg"));
    assert_eq!(
        id_line(7, path),
        "{\"id\":7,\"path\":\"/p/caf\u{fffd}.jpg\",\"path_hex\":\"2f702f636166e92e6a7067\"}\n"
    );
}
