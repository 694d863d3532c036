//! A Milvus collection: its schema and its rows as a bulk-insert JSON file.
//!
//! - `PREFIX.milvus.schema.json`: the collection — `id` (`INT64`, primary key, given), `path`
//!   (`VARCHAR`, long enough for the longest path) and `code` (`BINARY_VECTOR` of the code's bits) — and
//!   its index (`BIN_FLAT`, metric `HAMMING`; for collections of millions, `BIN_IVF_FLAT` is the other
//!   binary index Milvus has).
//! - `PREFIX.milvus.json`: `{"rows": [{"id": 0, "path": "…", "code": [12, 255, …]}, …]}`, the row-based
//!   JSON that Milvus's bulk insert reads, a binary vector written as its bytes (`bits / 8` integers);
//!   each byte is bit-reversed from hashlens's layout (module `export`).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{with_suffix, write_per_photo};
use crate::index::MappedIndex;
use crate::io::{FileError, path_bytes, write_atomic_with};

/// Milvus's longest `VARCHAR`.
const MAX_VARCHAR: usize = 65_535;

/// Writes `PREFIX.milvus.schema.json` and `PREFIX.milvus.json`.
pub fn write_milvus(index: &MappedIndex, prefix: &Path) -> Result<Vec<PathBuf>, FileError> {
    let rows = with_suffix(prefix, ".milvus.json");
    let mut longest = 1;
    let mut bytes = Vec::with_capacity(index.bits() / 8);
    write_per_photo(index, &rows, b"{\"rows\": [\n", b"]}\n", |i, path| {
        let shown = String::from_utf8_lossy(path_bytes(path)).into_owned();
        longest = longest.max(shown.len());
        bytes.clear();
        crate::code::write_bytes(index.bits(), index.codes().code_words(i), &mut bytes);
        let code: Vec<u8> = bytes.iter().map(|b| b.reverse_bits()).collect();
        let sep = if i + 1 < index.len() { ",\n" } else { "\n" };
        json!({ "id": i, "path": shown, "code": code }).to_string() + sep
    })?;
    if longest > MAX_VARCHAR {
        return Err(FileError::invalid(
            &rows,
            format!(
                "a path of {longest} bytes is longer than Milvus's VARCHAR limit ({MAX_VARCHAR})"
            ),
        ));
    }

    let schema_file = with_suffix(prefix, ".milvus.schema.json");
    let schema = json!({
        "collection_name": collection_name(index.model()),
        "description": format!(
            "hashlens codes: {} photos, {} bits, model {}",
            index.len(), index.bits(), index.model()
        ),
        "fields": [
            {"name": "id", "type": "INT64", "is_primary": true, "auto_id": false},
            {"name": "path", "type": "VARCHAR", "max_length": longest.next_power_of_two().min(MAX_VARCHAR)},
            {"name": "code", "type": "BINARY_VECTOR", "dim": index.bits()},
        ],
        "index": {"field_name": "code", "index_type": "BIN_FLAT", "metric_type": "HAMMING"},
    });
    let text = serde_json::to_vec_pretty(&schema).expect("plain data");
    write_atomic_with(&schema_file, |out| out.write_all(&text))
        .map_err(FileError::io(&schema_file))?;
    Ok(vec![schema_file, rows])
}

/// A collection name Milvus accepts (letters, digits and underscores, starting with a letter) that
/// tells models apart.
fn collection_name(model: &str) -> String {
    let tail: String = model
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("hashlens_{tail}").chars().take(255).collect()
}
