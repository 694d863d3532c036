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
            eprintln!("hashlens: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
