//! Code files: how codes travel between hashlens, scripts and other tools.
//!
//! Two forms are read, told apart by their first bytes:
//! - **binary** (what hashlens writes): `b"HLCODES\n"`, format version (`u32`), bits (`u32`), count (`u64`),
//!   the codes in the FAISS-compatible byte layout, then a CRC-32 of everything before it. All integers are
//!   little-endian. A truncated or corrupted file is refused.
//! - **text**, one code per line: either a `0`/`1` string (bit 0 first), or whitespace-separated numbers that
//!   are binarised by sign (±1 codes or raw tanh outputs exported from PyTorch, say). Blank lines and lines
//!   starting with `#` are ignored.

use std::path::Path;

use super::{CodeBook, HashCode};
use crate::io::{FileError, seal, unseal, write_atomic};

const MAGIC: &[u8; 8] = b"HLCODES\n";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 8;

/// Writes `book` to `path` in the binary form, atomically.
pub fn write_codes_atomic(path: &Path, book: &CodeBook) -> Result<(), FileError> {
    let mut out = Vec::with_capacity(HEADER + book.len() * book.bits() / 8 + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(book.bits() as u32).to_le_bytes());
    out.extend_from_slice(&(book.len() as u64).to_le_bytes());
    out.extend_from_slice(&book.to_bytes());
    write_atomic(path, &seal(out)).map_err(FileError::io(path))
}

/// Reads a code file in either form.
pub fn read_codes(path: &Path) -> Result<CodeBook, FileError> {
    let bytes = std::fs::read(path).map_err(FileError::io(path))?;
    let invalid = |reason: String| FileError::invalid(path, reason);
    if bytes.starts_with(MAGIC) {
        parse_binary(&bytes).map_err(invalid)
    } else {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| invalid("neither a hashlens code file nor UTF-8 text".into()))?;
        parse_text(text).map_err(invalid)
    }
}

fn parse_binary(bytes: &[u8]) -> Result<CodeBook, String> {
    let body = unseal(bytes).ok_or("checksum mismatch: the file is truncated or corrupted")?;
    if body.len() < HEADER {
        return Err("header is truncated".into());
    }
    let u32_at = |o: usize| u32::from_le_bytes(body[o..o + 4].try_into().unwrap());
    let version = u32_at(8);
    if version != VERSION {
        return Err(format!(
            "code file format version {version} is not supported (this build reads version {VERSION})"
        ));
    }
    let bits = u32_at(12) as usize;
    let count = u64::from_le_bytes(body[16..24].try_into().unwrap());
    let payload = &body[HEADER..];
    if bits == 0 || (payload.len() as u64) != count.saturating_mul(bits as u64 / 8) {
        return Err(format!(
            "header says {count} codes of {bits} bits but {} bytes follow",
            payload.len()
        ));
    }
    CodeBook::from_bytes(bits, payload).map_err(|e| e.to_string())
}

fn parse_text(text: &str) -> Result<CodeBook, String> {
    let mut book: Option<CodeBook> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("line {}: {e}", n + 1);
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let code = if tokens.len() == 1
            && line.len() > 1
            && line.bytes().all(|b| b == b'0' || b == b'1')
        {
            HashCode::parse_bits(line).map_err(|e| at(e.to_string()))?
        } else if tokens.iter().all(|t| *t == "0" || *t == "1") {
            // Whitespace-separated 0/1 values are bits, not numbers to binarise by sign (0 would become 1).
            HashCode::parse_bits(&tokens.concat()).map_err(|e| at(e.to_string()))?
        } else {
            let values = tokens
                .iter()
                .map(|t| {
                    t.parse::<f32>()
                        .map_err(|_| at(format!("{t:?} is not a number")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            HashCode::from_signs(&values).map_err(|e| at(e.to_string()))?
        };
        let book = match &mut book {
            Some(b) => b,
            None => book.insert(CodeBook::new(code.bits()).map_err(|e| at(e.to_string()))?),
        };
        book.push(&code).map_err(|e| at(e.to_string()))?;
    }
    book.ok_or_else(|| "no codes in the file".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.hlcodes");
        let book = CodeBook::from_signs(
            16,
            &(0..64).map(|i| (i % 3) as f32 - 1.0).collect::<Vec<_>>(),
        )
        .unwrap();
        write_codes_atomic(&p, &book).unwrap();
        assert_eq!(read_codes(&p).unwrap(), book);

        let mut bytes = std::fs::read(&p).unwrap();
        bytes[HEADER + 1] ^= 0x40;
        std::fs::write(&p, &bytes).unwrap();
        let err = read_codes(&p).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");

        std::fs::write(&p, &bytes[..HEADER - 3]).unwrap();
        assert!(read_codes(&p).is_err());
    }

    #[test]
    fn text_forms() {
        let book = parse_text("# codes\n10110000\n\n01100000\n").unwrap();
        assert_eq!(book.len(), 2);
        assert_eq!(book.get(1).to_string(), "01100000");
        let signs = parse_text("1 -1 1 1 -1 -1 -1 1\n-0.2 0.3 0 -5 2 2 -1 -1\n").unwrap();
        assert_eq!(signs.get(0).to_string(), "10110001");
        assert_eq!(signs.get(1).to_string(), "01101100");
        let spaced = parse_text("1 0 1 1 0 0 0 0\n").unwrap();
        assert_eq!(spaced.get(0).to_string(), "10110000");
        assert!(parse_text("1011\n").unwrap_err().contains("line 1"));
        assert!(
            parse_text("10110000\n1011000011110000\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            parse_text("1 x 1 1 1 1 1 1\n")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(parse_text("\n").is_err());
    }
}
