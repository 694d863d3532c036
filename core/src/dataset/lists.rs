//! Label sources: class sub-folders, DeepHash-style list files and plain label files.
//!
//! A list file has one item per line: `relative/path l_1 … l_C` with each `l_c` 0 or 1 (one-hot or
//! multi-hot), no header (../shared/spec/methods.md §1.1). A label file is the same without the path, or one
//! class index per line. Paths are written with `%XX` escapes for whitespace, `%` and bytes that are not
//! UTF-8, so any file name survives a round trip; lists from other tools contain none of these and read as
//! they are.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::DatasetError;
use super::scan::ImageEntry;
use crate::eval::Labels;
use crate::io::path_from_bytes;

/// Errors reading list and label files.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {reason}")]
    Line {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

/// Label rows as read, before the class count is fixed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelRows {
    /// One class index per item.
    Indices(Vec<usize>),
    /// One 0/1 row per item.
    MultiHot(Vec<Vec<u8>>),
}

impl LabelRows {
    pub fn len(&self) -> usize {
        match self {
            LabelRows::Indices(v) => v.len(),
            LabelRows::MultiHot(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest class count that holds every row.
    pub fn classes_needed(&self) -> usize {
        match self {
            LabelRows::Indices(v) => v.iter().max().map_or(0, |m| m + 1),
            LabelRows::MultiHot(v) => v.first().map_or(0, Vec::len),
        }
    }

    /// Labels over `classes` classes (at least `classes_needed()`).
    pub fn to_labels(&self, classes: usize) -> Result<Labels, crate::eval::LabelError> {
        match self {
            LabelRows::Indices(v) => Labels::from_classes(classes, v),
            LabelRows::MultiHot(v) => Labels::from_multi_hot(classes, v),
        }
    }
}

/// A parsed list or label file: `paths` is empty for a label file.
#[derive(Clone, Debug)]
pub struct ListFile {
    pub paths: Vec<PathBuf>,
    pub rows: LabelRows,
}

/// Reads a list file (`path l_1 … l_C`) or a label file (`l_1 … l_C`, or one class index per line).
pub fn read_list_file(path: &Path) -> Result<ListFile, ListError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ListError::Io {
        path: name.clone(),
        source,
    })?;
    parse_list(&text).map_err(|(line, reason)| match line {
        0 => ListError::File { path: name, reason },
        line => ListError::Line {
            path: name,
            line,
            reason,
        },
    })
}

/// Parses list text; errors carry a 1-based line number (0 for the whole file).
pub fn parse_list(text: &str) -> Result<ListFile, (usize, String)> {
    let mut paths = Vec::new();
    let mut indices = Vec::new();
    let mut multi = Vec::new();
    let mut with_paths: Option<bool> = None;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut tokens: Vec<&str> = line.split_whitespace().collect();
        let has_path = tokens[0].parse::<u64>().is_err();
        if *with_paths.get_or_insert(has_path) != has_path {
            return Err((n, "some lines start with a path and others do not".into()));
        }
        if has_path {
            paths.push(unescape_path(tokens[0]).map_err(|e| (n, e))?);
            tokens.remove(0);
        }
        match tokens.len() {
            0 => return Err((n, "no labels after the path".into())),
            1 => {
                let c = tokens[0]
                    .parse::<usize>()
                    .map_err(|_| (n, format!("{:?} is not a class index", tokens[0])))?;
                indices.push(c);
            }
            _ => {
                let row = tokens
                    .iter()
                    .map(|t| match *t {
                        "0" => Ok(0u8),
                        "1" => Ok(1u8),
                        other => Err((n, format!("label values must be 0 or 1, got {other:?}"))),
                    })
                    .collect::<Result<Vec<u8>, _>>()?;
                if let Some(first) = multi.first().map(Vec::len)
                    && first != row.len()
                {
                    return Err((
                        n,
                        format!("{} label values, earlier lines have {first}", row.len()),
                    ));
                }
                multi.push(row);
            }
        }
        if !indices.is_empty() && !multi.is_empty() {
            return Err((n, "mixes class indices and 0/1 rows".into()));
        }
    }
    let rows = if multi.is_empty() {
        LabelRows::Indices(indices)
    } else {
        LabelRows::MultiHot(multi)
    };
    if rows.is_empty() {
        return Err((0, "no labelled items".into()));
    }
    Ok(ListFile { paths, rows })
}

/// Writes a list file: one line per entry, `%XX`-escaped path then the 0/1 label row.
pub fn format_list(entries: &[(&Path, Vec<usize>)], classes: usize) -> String {
    let mut out = String::new();
    for (path, set) in entries {
        out.push_str(&escape_path(path));
        for c in 0..classes {
            out.push_str(if set.contains(&c) { " 1" } else { " 0" });
        }
        out.push('\n');
    }
    out
}

/// Escapes bytes that would break the whitespace-separated format, `%`, and non-UTF-8 bytes.
pub fn escape_path(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(bytes.len());
    if matches!(text, std::borrow::Cow::Borrowed(_)) {
        for ch in text.chars() {
            if ch.is_whitespace() || ch == '%' || ch.is_control() {
                let mut buf = [0u8; 4];
                for b in ch.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            } else {
                out.push(ch);
            }
        }
    } else {
        for &b in bytes {
            if b.is_ascii_graphic() && b != b'%' {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The inverse of [`escape_path`].
pub fn unescape_path(s: &str) -> Result<PathBuf, String> {
    let src = s.as_bytes();
    let mut bytes = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        if src[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in path {s:?}"))?;
            bytes.push(hex);
            i += 3;
        } else {
            bytes.push(src[i]);
            i += 1;
        }
    }
    Ok(path_from_bytes(bytes))
}

/// Images labelled by the name of the folder that holds them: `root/<class>/image.jpg` and
/// `root/train/<class>/image.jpg` both give `<class>` (the CIFAR-10 JPEG layout is the second).
#[derive(Clone, Debug)]
pub struct FolderClasses {
    /// Class names, sorted byte-wise; a class's index is its position.
    pub names: Vec<String>,
    /// Class index per image, parallel to the images given.
    pub classes: Vec<usize>,
}

/// Assigns each image the class named by its parent folder. Images directly in the root have no class:
/// they are an error, named.
pub fn classes_from_folders(images: &[ImageEntry]) -> Result<FolderClasses, DatasetError> {
    classes_of_relative(images.iter().map(|e| e.relative.as_path()))
}

/// The labels of a library, as every part of hashlens reads them (the CLI's `train`, the app's Codes
/// and Model tabs): each photo's class is the folder that holds it ([`classes_from_folders`]), when every
/// photo sits in a folder below `root` and there are at least two such classes. `None` otherwise: the
/// library is unlabelled. `photos` are paths below `root`.
pub fn folder_classes<'a>(
    root: &Path,
    photos: impl IntoIterator<Item = &'a Path>,
) -> Option<FolderClasses> {
    let relative: Option<Vec<&Path>> = photos
        .into_iter()
        .map(|p| p.strip_prefix(root).ok())
        .collect();
    classes_of_relative(relative?.into_iter())
        .ok()
        .filter(|c| c.names.len() >= 2)
}

fn classes_of_relative<'a>(
    relative: impl Iterator<Item = &'a Path>,
) -> Result<FolderClasses, DatasetError> {
    let class_of = |rel: &Path| -> Result<OsString, DatasetError> {
        rel.parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_os_string())
            .ok_or_else(|| DatasetError::NotInClassFolder(rel.to_path_buf()))
    };
    let keys = relative.map(class_of).collect::<Result<Vec<_>, _>>()?;
    let mut names: Vec<OsString> = keys.clone();
    names.sort();
    names.dedup();
    let classes = keys
        .iter()
        .map(|k| names.binary_search(k).expect("every key is a name"))
        .collect();
    Ok(FolderClasses {
        names: names
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect(),
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_with_paths_one_hot_and_multi_hot() {
        let f = parse_list("image/a.jpg 0 1 0\nimage/b.jpg 1 1 0\n").unwrap();
        assert_eq!(
            f.paths,
            vec![PathBuf::from("image/a.jpg"), PathBuf::from("image/b.jpg")]
        );
        assert_eq!(
            f.rows,
            LabelRows::MultiHot(vec![vec![0, 1, 0], vec![1, 1, 0]])
        );
        let l = f.rows.to_labels(3).unwrap();
        assert_eq!(l.classes_of(1), vec![0, 1]);
    }

    #[test]
    fn folder_classes_name_the_folder_that_holds_each_photo() {
        let root = Path::new("/photos");
        let class_names = |paths: &[&str]| {
            let paths: Vec<PathBuf> = paths.iter().map(|p| root.join(p)).collect();
            folder_classes(root, paths.iter().map(PathBuf::as_path)).map(|c| (c.names, c.classes))
        };
        // CIFAR-10's own layout: the split folders above the classes are not classes.
        assert_eq!(
            class_names(&["train/cat/1.jpg", "test/dog/2.jpg", "test/cat/3.jpg"]),
            Some((vec!["cat".into(), "dog".into()], vec![0, 1, 0]))
        );
        assert_eq!(
            class_names(&["dog/a.jpg", "cat/b.jpg"]),
            Some((vec!["cat".into(), "dog".into()], vec![1, 0]))
        );
        // A photo loose in the root, one class only, or a photo outside the root: unlabelled.
        assert_eq!(class_names(&["dog/a.jpg", "b.jpg"]), None);
        assert_eq!(class_names(&["2024/a.jpg", "2024/b.jpg"]), None);
        let outside = [
            PathBuf::from("/elsewhere/cat/a.jpg"),
            root.join("dog/b.jpg"),
        ];
        assert!(folder_classes(root, outside.iter().map(PathBuf::as_path)).is_none());
    }

    #[test]
    fn label_files_without_paths() {
        let f = parse_list("3\n0\n# comment\n\n7\n").unwrap();
        assert!(f.paths.is_empty());
        assert_eq!(f.rows, LabelRows::Indices(vec![3, 0, 7]));
        assert_eq!(f.rows.classes_needed(), 8);
        let f = parse_list("0 1\n1 0\n").unwrap();
        assert_eq!(f.rows, LabelRows::MultiHot(vec![vec![0, 1], vec![1, 0]]));
        let f = parse_list("a.jpg 4\nb.jpg 2\n").unwrap();
        assert_eq!(f.rows, LabelRows::Indices(vec![4, 2]));
    }

    #[test]
    fn malformed_lists_name_the_line() {
        assert_eq!(parse_list("a.jpg 0 1\nb.jpg 0 1 1\n").unwrap_err().0, 2);
        assert_eq!(parse_list("a.jpg 0 2\n").unwrap_err().0, 1);
        assert_eq!(parse_list("a.jpg 0 1\n0 1\n").unwrap_err().0, 2);
        assert_eq!(parse_list("a.jpg\n").unwrap_err().0, 1);
        assert_eq!(parse_list("\n\n").unwrap_err().0, 0);
    }

    #[cfg(unix)]
    #[test]
    fn paths_round_trip_through_escapes() {
        use std::os::unix::ffi::OsStrExt;
        for raw in [
            &b"plain/a.jpg"[..],
            b"with space/50% off.jpg",
            b"bad\xff\xfe.jpg",
            b"tab\there",
        ] {
            let p = Path::new(std::ffi::OsStr::from_bytes(raw));
            let escaped = escape_path(p);
            assert!(!escaped.contains(char::is_whitespace), "{escaped}");
            assert_eq!(unescape_path(&escaped).unwrap(), p);
        }
        let text = format_list(&[(Path::new("x y.png"), vec![1])], 3);
        assert_eq!(text, "x%20y.png 0 1 0\n");
        let back = parse_list(&text).unwrap();
        assert_eq!(back.paths, vec![PathBuf::from("x y.png")]);
    }
}
