//! How commands print: results on stdout (text or one line of JSON, never a panic on a closed pipe),
//! progress and notes on stderr.

/// `println!` that returns the write error instead of panicking, so that `hashlens … | head` ends
/// quietly (see `main`) rather than with a broken-pipe panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}
pub(crate) use out;

/// `s` with its control characters escaped (`\n`, `\u{1b}`, …), for text output: a file name may hold a
/// newline or a terminal escape, which would otherwise break a line or fake one (JSON output escapes
/// them already).
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Prints a value as one line of JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// A line of a run's log, above its progress bar. indicatif's `println` prints nothing while the bar is
/// hidden, which it is whenever stderr is not a terminal (a log file, CI, a pipe): warnings about
/// unreadable photos and the epochs' losses would be lost exactly where they are kept. Then the line
/// goes to stderr directly.
pub fn log_line(bar: &indicatif::ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        eprintln!("{}", line.as_ref());
    } else {
        bar.println(line);
    }
}

/// A progress bar for `len` steps titled `what`, with its rate and time left.
pub fn progress_bar(len: usize, what: &str) -> indicatif::ProgressBar {
    indicatif::ProgressBar::new(len as u64).with_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} ETA {{eta}}"
        ))
        .expect("a valid template"),
    )
}
