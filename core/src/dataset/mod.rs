//! Data sets: which images a folder holds, what their labels are, and how they split for evaluation.

mod error;
mod lists;
mod protocol;
mod scan;
mod split;

pub use error::DatasetError;
pub use lists::{
    FolderClasses, LabelRows, ListError, ListFile, classes_from_folders, escape_path,
    folder_classes, format_list, parse_list, read_list_file, unescape_path,
};
pub use protocol::{ProtocolData, protocol_split};
pub use scan::{ImageEntry, ScanError, ScanProblem, ScanReport, scan_images};
pub use split::{DatabaseRule, Split, SplitSpec, split};
