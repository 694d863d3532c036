//! The journal: photos encoded since the index was last saved, appended one record at a time so that a
//! killed run loses nothing it finished.
//!
//! Layout: `b"HLJOURN\n"`, version `u32`, bits `u32`, model fingerprint (`u32` length + UTF-8), then records,
//! each `u32` length + an index record (see `format`) + the record's CRC-32. Replay stops at the first
//! record that is incomplete or fails its checksum (the write the kill interrupted) and cuts it off. A
//! journal of another model or code length is discarded: its codes cannot be mixed with the new ones.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::IndexedPhoto;
use super::format::{read_record, write_record, write_str};
use crate::code::HashCode;
use crate::io::{ByteReader, FileError};

const MAGIC: &[u8; 8] = b"HLJOURN\n";
const VERSION: u32 = 1;

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: File,
    bits: usize,
}

impl Journal {
    /// The journal that belongs to the index at `index_path`.
    pub fn path_for(index_path: &Path) -> PathBuf {
        let mut name = index_path.file_name().unwrap_or_default().to_os_string();
        name.push(".journal");
        index_path.with_file_name(name)
    }

    /// Opens (or creates) the journal of `index_path` for codes of `bits` bits from `model`, returning the
    /// photos it already holds.
    pub fn open(
        index_path: &Path,
        bits: usize,
        model: &str,
    ) -> Result<(Journal, Vec<(IndexedPhoto, HashCode)>), FileError> {
        let path = Self::path_for(index_path);
        let io = |source| FileError::io(&path)(source);
        let header = header(bits, model);
        let (done, valid_len) = match std::fs::read(&path) {
            Ok(bytes) if bytes.starts_with(&header) => replay(&bytes[header.len()..], bits),
            Ok(_) => (Vec::new(), 0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), 0),
            Err(e) => return Err(io(e)),
        };
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if valid_len == 0 && done.is_empty() {
            // New, foreign or unreadable: start over with our header.
            file.set_len(0).map_err(io)?;
            file.write_all(&header).map_err(io)?;
        } else {
            // Cut off a torn last record so that appends follow the last good one.
            file.set_len((header.len() + valid_len) as u64)
                .map_err(io)?;
        }
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0)).map_err(io)?;
        Ok((Journal { path, file, bits }, done))
    }

    /// Appends one encoded photo. The write reaches the OS at once (a killed process loses nothing);
    /// call [`Journal::sync`] to also survive a power cut.
    pub fn append(&mut self, photo: &IndexedPhoto, code: &HashCode) -> Result<(), FileError> {
        assert_eq!(code.bits(), self.bits, "journal code length");
        let mut body = Vec::new();
        write_record(&mut body, photo, code);
        let mut rec = Vec::with_capacity(body.len() + 8);
        rec.extend_from_slice(&(body.len() as u32).to_le_bytes());
        rec.extend_from_slice(&body);
        rec.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        self.file.write_all(&rec).map_err(FileError::io(&self.path))
    }

    /// Flushes appended records to the disk.
    pub fn sync(&mut self) -> Result<(), FileError> {
        self.file.sync_data().map_err(FileError::io(&self.path))
    }

    /// Deletes the journal (after its photos were saved in the index).
    pub fn remove(self) -> Result<(), FileError> {
        drop(self.file);
        std::fs::remove_file(&self.path).map_err(FileError::io(&self.path))
    }
}

fn header(bits: usize, model: &str) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&(bits as u32).to_le_bytes());
    write_str(&mut h, model.as_bytes());
    h
}

/// The records that are whole and intact, and how many bytes they span.
fn replay(mut bytes: &[u8], bits: usize) -> (Vec<(IndexedPhoto, HashCode)>, usize) {
    let mut done = Vec::new();
    let mut valid = 0;
    loop {
        let mut r = ByteReader::new(bytes);
        let Some(len) = r.u32().map(|n| n as usize) else {
            break;
        };
        let (Some(body), Some(crc)) = (r.take(len), r.u32()) else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        let Some(rec) = read_record(&mut ByteReader::new(body), bits) else {
            break;
        };
        done.push(rec);
        valid += 8 + len;
        bytes = &bytes[8 + len..];
    }
    (done, valid)
}
