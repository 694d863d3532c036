//! The index file, version 1 (all integers little-endian):
//!
//! `b"HLINDEX\n"`, version `u32`, bits `u32`, model fingerprint (`u32` length + UTF-8), count `u64`, then per
//! photo a record — path (`u32` length + bytes as the OS stores them), size `u64`, mtime `u64` (ns), code
//! (`bits / 8` bytes, FAISS layout) — and finally the CRC-32 of everything before it.

use super::{CodeIndex, IndexedPhoto};
use crate::code::HashCode;
use crate::io::{ByteReader, path_bytes, path_from_bytes, seal, unseal};

const MAGIC: &[u8; 8] = b"HLINDEX\n";
const VERSION: u32 = 1;

/// Longest path accepted when reading (a corrupted length cannot make us allocate gigabytes).
const MAX_PATH: usize = 1 << 16;

pub(super) fn encode(index: &CodeIndex) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + index.len() * (64 + index.bits() / 8));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(index.bits() as u32).to_le_bytes());
    write_str(&mut out, index.model.as_bytes());
    out.extend_from_slice(&(index.len() as u64).to_le_bytes());
    for (i, photo) in index.photos.iter().enumerate() {
        write_record(&mut out, photo, &index.codes.get(i));
    }
    seal(out)
}

pub(super) fn decode(bytes: &[u8]) -> Result<CodeIndex, String> {
    if !bytes.starts_with(MAGIC) {
        return Err("not a hashlens index".into());
    }
    let body = unseal(bytes).ok_or("checksum mismatch: the index is truncated or corrupted")?;
    let mut r = ByteReader::new(&body[MAGIC.len()..]);
    let truncated = || "the index is truncated".to_string();
    let version = r.u32().ok_or_else(truncated)?;
    if version != VERSION {
        return Err(format!(
            "index format version {version} is not supported (this build reads version {VERSION}); \
             re-index the folder"
        ));
    }
    let bits = r.u32().ok_or_else(truncated)? as usize;
    let model = String::from_utf8(read_str(&mut r).ok_or_else(truncated)?.to_vec())
        .map_err(|_| "the model fingerprint is not UTF-8")?;
    let count = r.u64().ok_or_else(truncated)?;
    let mut index = CodeIndex::new(bits, &model).map_err(|e| e.to_string())?;
    for _ in 0..count {
        let (photo, code) = read_record(&mut r, bits).ok_or_else(truncated)?;
        index.push(photo, &code).map_err(|e| e.to_string())?;
    }
    if r.remaining() != 0 {
        return Err("unexpected bytes after the last photo".into());
    }
    Ok(index)
}

pub(super) fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

pub(super) fn read_str<'a>(r: &mut ByteReader<'a>) -> Option<&'a [u8]> {
    let n = r.u32()? as usize;
    if n > MAX_PATH {
        return None;
    }
    r.take(n)
}

pub(super) fn write_record(out: &mut Vec<u8>, photo: &IndexedPhoto, code: &HashCode) {
    write_str(out, path_bytes(&photo.path));
    out.extend_from_slice(&photo.size.to_le_bytes());
    out.extend_from_slice(&photo.mtime_ns.to_le_bytes());
    out.extend_from_slice(&code.to_bytes());
}

pub(super) fn read_record(r: &mut ByteReader<'_>, bits: usize) -> Option<(IndexedPhoto, HashCode)> {
    let path = path_from_bytes(read_str(r)?.to_vec());
    let size = r.u64()?;
    let mtime_ns = r.u64()?;
    let code = HashCode::from_bytes(bits, r.take(bits / 8)?).ok()?;
    Some((
        IndexedPhoto {
            path,
            size,
            mtime_ns,
        },
        code,
    ))
}
