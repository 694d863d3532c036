//! The system's file and folder dialogs (rfd), each on its own thread: on Linux desktops without a
//! portal or zenity a dialog can return nothing or never return, and the window must stay usable (every
//! dialog has a path field beside it).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use eframe::egui;

/// What a dialog picks.
pub enum Pick {
    Folder,
    /// A file whose name ends in one of `extensions`, described as `kind`.
    File {
        kind: &'static str,
        extensions: &'static [&'static str],
    },
}

/// An open dialog, and when it was opened.
pub struct Dialog(Receiver<Option<PathBuf>>, std::time::Instant);

/// A dialog that returns nothing sooner than this after opening was not cancelled by a person: the
/// system has no dialog to show (no portal, no zenity), and the user is told so.
const TOO_QUICK: std::time::Duration = std::time::Duration::from_millis(400);

/// Said when the system showed no dialog.
pub const NO_DIALOG: &str =
    "this system has no file dialog to show (no desktop portal or zenity): type the path instead";

impl Dialog {
    /// Opens a dialog titled `title`; the window is woken when it closes.
    pub fn open(ctx: &egui::Context, title: &'static str, pick: Pick) -> Result<Self, String> {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let dialog = rfd::FileDialog::new().set_title(title);
                let chosen = match pick {
                    Pick::Folder => dialog.pick_folder(),
                    Pick::File { kind, extensions } => {
                        dialog.add_filter(kind, extensions).pick_file()
                    }
                };
                let _ = tx.send(chosen);
                ctx.request_repaint();
            })
            .map_err(|e| format!("cannot open the dialog: {e}"))?;
        Ok(Self(rx, std::time::Instant::now()))
    }

    /// `Some(choice)` once the dialog has closed: `Ok(None)` when it was cancelled, an error when the
    /// system showed none ([`outcome`]).
    pub fn poll(&self) -> Option<Result<Option<PathBuf>, &'static str>> {
        let chosen = match self.0.try_recv() {
            Ok(chosen) => chosen,
            Err(TryRecvError::Disconnected) => None,
            Err(TryRecvError::Empty) => return None,
        };
        Some(outcome(chosen, self.1.elapsed()))
    }
}

/// What a dialog's answer means: nothing back within [`TOO_QUICK`] of opening is no dialog at all.
fn outcome(
    chosen: Option<PathBuf>,
    open_for: std::time::Duration,
) -> Result<Option<PathBuf>, &'static str> {
    match chosen {
        None if open_for < TOO_QUICK => Err(NO_DIALOG),
        chosen => Ok(chosen),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn nothing_back_at_once_means_no_dialog_and_later_means_cancelled() {
        assert_eq!(outcome(None, Duration::from_millis(30)), Err(NO_DIALOG));
        assert_eq!(outcome(None, Duration::from_secs(3)), Ok(None));
        let p = PathBuf::from("/photos");
        assert_eq!(outcome(Some(p.clone()), Duration::ZERO), Ok(Some(p)));
    }
}
