//! The progress bar: only when standard error is a terminal, updated every [`EVERY`] rows.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Rows between two updates of the bar.
const EVERY: u64 = 1 << 14;

/// A bar over the file's bytes, or nothing when standard error is not a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
    next: u64,
}

impl Progress {
    /// A bar for reading `path` (its length from the file system).
    pub fn new(path: &Path) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let length = std::fs::metadata(path).map_or(0, |m| m.len());
            let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {binary_bytes}/{binary_total_bytes} {msg} ({binary_bytes_per_sec}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, next: 0 }
    }

    /// `rows` rows read, `read` bytes of the file.
    #[inline]
    pub fn tick(&mut self, rows: u64, read: u64) {
        if rows >= self.next {
            self.next = rows + EVERY;
            if let Some(bar) = &self.bar {
                bar.set_message(format!("{rows} rows"));
                bar.set_position(read);
            }
        }
    }

    /// Removes the bar (before the summary is written).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
