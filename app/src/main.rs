//! hashlens: the desktop app when started without arguments, a command-line tool otherwise.
//!
//! Both faces are thin: every computation lives in `hashlens-core`, so the GUI and the CLI cannot disagree.

mod cli;
mod gui;
mod panics;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let result = match args.command {
        None => gui::run(args.folder),
        Some(command) => cli::run(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of our output went away (`hashlens … | head`): not an error.
        Err(err)
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("hashlens: error: {}", report(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// `err` and its causes, each said once. hashlens' error types name their cause in their own message
/// (the GUI shows only that message), so anyhow's `{:#}`, which appends every cause, would say it twice.
fn report(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain().map(|c| c.to_string()) {
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text += ": ";
        }
        text += &cause;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_says_each_cause_once() {
        let missing = hashlens_core::dataset::scan_images(std::path::Path::new("/no/such/folder"))
            .unwrap_err();
        let err = anyhow::Error::new(missing).context("reading the photos");
        assert_eq!(
            report(&err),
            "reading the photos: /no/such/folder: No such file or directory (os error 2)"
        );
        // Causes that the message does not name are kept.
        let io = std::io::Error::other("disk on fire");
        let err = anyhow::Error::new(io).context("saving the index");
        assert_eq!(report(&err), "saving the index: disk on fire");
    }
}
