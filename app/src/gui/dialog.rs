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

/// An open dialog.
pub struct Dialog(Receiver<Option<PathBuf>>);

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
        Ok(Self(rx))
    }

    /// `Some(choice)` once the dialog has closed (`Some(None)` when it was cancelled or failed).
    pub fn poll(&self) -> Option<Option<PathBuf>> {
        match self.0.try_recv() {
            Ok(chosen) => Some(chosen),
            Err(TryRecvError::Disconnected) => Some(None),
            Err(TryRecvError::Empty) => None,
        }
    }
}
