//! The index file.
//!
//! **Version 2** (written since December 2026) is laid out to be memory-mapped and searched where it lies
//! ([`super::MappedIndex`]): opening an index of ten million photos reads its header and checks the codes'
//! checksum, and parses no record. All integers are little-endian; every section starts at a multiple of 8
//! bytes from the start of the file, so that the codes can be read as `u64` words in place.
//!
//! | at | what |
//! |---|---|
//! | 0 | `b"HLINDEX\n"` |
//! | 8 | version `u32` = 2 |
//! | 12 | bits `u32` |
//! | 16 | photo count `u64` |
//! | 24 | length of the path bytes `u64` |
//! | 32 | length of the model fingerprint `u32` |
//! | 36 | CRC-32 of the codes section `u32` |
//! | 40 | CRC-32 of bytes 0..40 and of the fingerprint `u32` |
//! | 44 | zero `u32` |
//! | 48 | the model fingerprint (UTF-8), zero-padded to a multiple of 8 |
//! | codes | count × ⌈bits / 64⌉ `u64` words: bit `i` of a code is bit `i % 64` of its word `i / 64`, unused bits zero |
//! | sizes | count × `u64`: each photo's file size |
//! | mtimes | count × `u64`: modification times in ns since the Unix epoch |
//! | ends | count × `u64`: where each photo's path ends in the path bytes (it starts where the last one ended) |
//! | block CRCs | ⌈count / 4096⌉ × `u32`: CRC-32 of one block of 4,096 photos' sizes, mtimes, ends and path bytes |
//! | paths | the paths' bytes as the OS stores them, back to back; the file ends here |
//!
//! A reader checks the header's checksum, the file's exact length and the codes' checksum when it opens a
//! file (one pass over the codes, which the first search reads anyway), and a block's checksum before it
//! reads one of that block's photos.
//!
//! **Version 1** (still read, no longer written): `b"HLINDEX\n"`, version `u32`, bits `u32`, model
//! fingerprint (`u32` length + UTF-8), count `u64`, then per photo a record — path (`u32` length + bytes),
//! size `u64`, mtime `u64` (ns), code (`bits / 8` bytes, FAISS layout) — and finally the CRC-32 of everything
//! before it. Reading it means parsing every record. The journal's records keep this form.

use std::io::Write;
use std::ops::Range;

use super::{CodeIndex, IndexedPhoto};
use crate::code::{HashCode, words_for};
use crate::io::{ByteReader, path_bytes, path_from_bytes, unseal};

pub(super) const MAGIC: &[u8; 8] = b"HLINDEX\n";
pub(super) const VERSION: u32 = 2;
const VERSION_1: u32 = 1;
const HEADER: usize = 48;

/// Photos per block of record checksums: a block's CRC is checked in tens of microseconds.
pub(super) const BLOCK: usize = 4096;

/// Longest path accepted when reading (a corrupted length cannot make us allocate gigabytes).
const MAX_PATH: usize = 1 << 16;

/// Longest model fingerprint accepted when reading.
const MAX_MODEL: usize = 1 << 12;

/// Where the sections of a version 2 file lie, as byte ranges of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    pub bits: usize,
    pub count: usize,
    pub model: String,
    pub codes_crc: u32,
    pub codes: Range<usize>,
    pub sizes: Range<usize>,
    pub mtimes: Range<usize>,
    pub ends: Range<usize>,
    pub block_crcs: Range<usize>,
    pub paths: Range<usize>,
}

/// The format version of a file that starts with `head` (at least 12 bytes), or why it is no index.
pub(super) fn version(head: &[u8]) -> Result<u32, String> {
    if !head.starts_with(MAGIC) || head.len() < 12 {
        return Err("not a hashlens index".into());
    }
    let version = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    if version != VERSION && version != VERSION_1 {
        return Err(format!(
            "index format version {version} is not supported (this build reads versions \
             {VERSION_1} and {VERSION}); re-index the folder"
        ));
    }
    Ok(version)
}

fn pad8(n: usize) -> usize {
    n.next_multiple_of(8)
}

/// Reads and checks a version 2 header against the file's length `file_len`.
pub(super) fn layout(bytes: &[u8], file_len: usize) -> Result<Layout, String> {
    let truncated = || "the index is truncated".to_string();
    if bytes.len() < HEADER {
        return Err(truncated());
    }
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
    let model_len = u32_at(32) as usize;
    if model_len > MAX_MODEL {
        return Err("the header is corrupted (model fingerprint too long)".into());
    }
    let model_end = HEADER + model_len;
    if bytes.len() < model_end {
        return Err(truncated());
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[..40]);
    crc.update(&bytes[HEADER..model_end]);
    if crc.finalize() != u32_at(40) || u32_at(44) != 0 {
        return Err("checksum mismatch: the index header is corrupted".into());
    }
    let bits = u32_at(12) as usize;
    crate::code::check_bits(bits).map_err(|e| e.to_string())?;
    let model = String::from_utf8(bytes[HEADER..model_end].to_vec())
        .map_err(|_| "the model fingerprint is not UTF-8")?;
    let too_large = || "the header is corrupted (sizes overflow)".to_string();
    let count = usize::try_from(u64_at(16)).map_err(|_| too_large())?;
    let paths_len = usize::try_from(u64_at(24)).map_err(|_| too_large())?;
    let mut at = pad8(model_end);
    let mut section = |len: Option<usize>| -> Result<Range<usize>, String> {
        let len = len.ok_or_else(too_large)?;
        let start = at;
        let end = start.checked_add(len).ok_or_else(too_large)?;
        at = pad8(end);
        Ok(start..end)
    };
    let codes = section(count.checked_mul(words_for(bits) * 8))?;
    let sizes = section(count.checked_mul(8))?;
    let mtimes = section(count.checked_mul(8))?;
    let ends = section(count.checked_mul(8))?;
    let block_crcs = section(Some(count.div_ceil(BLOCK) * 4))?;
    let paths = section(Some(paths_len))?;
    if paths.end != file_len {
        return Err(format!(
            "the index is {} bytes where its header says {} (truncated or corrupted)",
            file_len, paths.end
        ));
    }
    Ok(Layout {
        bits,
        count,
        model,
        codes_crc: u32_at(36),
        codes,
        sizes,
        mtimes,
        ends,
        block_crcs,
        paths,
    })
}

/// Writes `index` as a version 2 file.
pub(super) fn write(index: &CodeIndex, out: &mut dyn Write) -> std::io::Result<()> {
    let count = index.len();
    let model = index.model.as_bytes();
    let codes: &[u64] = index.codes.words();
    let mut ends = Vec::with_capacity(count);
    let mut end = 0u64;
    for p in &index.photos {
        end += path_bytes(&p.path).len() as u64;
        ends.push(end);
    }
    let le = |words: &[u64]| -> Vec<u8> { words.iter().flat_map(|w| w.to_le_bytes()).collect() };
    let code_bytes = le(codes);
    let sizes = le(&index.photos.iter().map(|p| p.size).collect::<Vec<_>>());
    let mtimes = le(&index.photos.iter().map(|p| p.mtime_ns).collect::<Vec<_>>());
    let end_bytes = le(&ends);
    let mut block_crcs = Vec::with_capacity(count.div_ceil(BLOCK) * 4);
    for b in 0..count.div_ceil(BLOCK) {
        let r = b * BLOCK..((b + 1) * BLOCK).min(count);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&sizes[r.start * 8..r.end * 8]);
        crc.update(&mtimes[r.start * 8..r.end * 8]);
        crc.update(&end_bytes[r.start * 8..r.end * 8]);
        for p in &index.photos[r] {
            crc.update(path_bytes(&p.path));
        }
        block_crcs.extend_from_slice(&crc.finalize().to_le_bytes());
    }

    let mut header = Vec::with_capacity(pad8(HEADER + model.len()));
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&(index.bits() as u32).to_le_bytes());
    header.extend_from_slice(&(count as u64).to_le_bytes());
    header.extend_from_slice(&end.to_le_bytes());
    header.extend_from_slice(&(model.len() as u32).to_le_bytes());
    header.extend_from_slice(&crc32fast::hash(&code_bytes).to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&header);
    crc.update(model);
    header.extend_from_slice(&crc.finalize().to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(model);

    let mut written = 0usize;
    let mut put = |out: &mut dyn Write, bytes: &[u8]| -> std::io::Result<()> {
        out.write_all(bytes)?;
        written += bytes.len();
        let pad = pad8(written) - written;
        out.write_all(&[0u8; 8][..pad])?;
        written += pad;
        Ok(())
    };
    put(out, &header)?;
    put(out, &code_bytes)?;
    put(out, &sizes)?;
    put(out, &mtimes)?;
    put(out, &end_bytes)?;
    put(out, &block_crcs)?;
    for p in &index.photos {
        out.write_all(path_bytes(&p.path))?;
    }
    Ok(())
}

/// Reads a version 1 file whole.
pub(super) fn decode_v1(bytes: &[u8]) -> Result<CodeIndex, String> {
    let body = unseal(bytes).ok_or("checksum mismatch: the index is truncated or corrupted")?;
    let mut r = ByteReader::new(&body[MAGIC.len()..]);
    let truncated = || "the index is truncated".to_string();
    let _version = r.u32().ok_or_else(truncated)?;
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

/// One photo in the version 1 record form (also the journal's).
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

#[cfg(test)]
pub(super) mod v1 {
    //! The version 1 writer, kept for the tests that check old files are still read.
    use super::*;

    pub fn encode(index: &CodeIndex) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION_1.to_le_bytes());
        out.extend_from_slice(&(index.bits() as u32).to_le_bytes());
        write_str(&mut out, index.model.as_bytes());
        out.extend_from_slice(&(index.len() as u64).to_le_bytes());
        for (i, photo) in index.photos.iter().enumerate() {
            write_record(&mut out, photo, &index.codes.get(i));
        }
        crate::io::seal(out)
    }
}
