//! Checkpoints of long teacher passes (distillation's token rows, training's targets):
//! fixed-width f32 rows appended to a file as they are computed, beside a JSON record of
//! what they belong to, so a run that is interrupted or cancelled resumes where it
//! stopped instead of running the teacher again.
//!
//! The rows file is raw little-endian f32. A torn last row (a write cut short) is dropped
//! on reopening; a record that differs from the new run's (another teacher, other texts)
//! starts over.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::{EmbedError, Result};

/// An open checkpoint: rows already on disk are returned by [`Checkpoint::open`], new
/// ones are added with [`Checkpoint::append`], and [`Checkpoint::remove`] deletes both
/// files once the run's result is written.
pub(crate) struct Checkpoint {
    rows_path: PathBuf,
    meta_path: PathBuf,
    file: std::fs::File,
    width: usize,
}

impl Checkpoint {
    /// Opens the checkpoint `dir/{name}.f32` (+ `.json`) of rows `width` wide for the run
    /// described by `meta`. Returns it and the rows a previous run of the same `meta` left
    /// (empty when `resume` is false or nothing matches).
    pub(crate) fn open(
        dir: &Path,
        name: &str,
        meta: &Value,
        width: usize,
        resume: bool,
    ) -> Result<(Checkpoint, Vec<f32>)> {
        let rows_path = dir.join(format!("{name}.f32"));
        let meta_path = dir.join(format!("{name}.json"));
        let width = width.max(1);
        let same = resume
            && std::fs::read_to_string(&meta_path)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|m| &m == meta);
        let rows = if same {
            read_rows(&rows_path, width)?
        } else {
            Vec::new()
        };
        let text = serde_json::to_string_pretty(meta)
            .map_err(|e| EmbedError::InvalidOption(e.to_string()))?;
        std::fs::write(&meta_path, text)
            .map_err(|source| EmbedError::io("writing", &meta_path, source))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&rows_path)
            .map_err(|source| EmbedError::io("opening", &rows_path, source))?;
        // Keep the whole rows (none when starting over), then append after them.
        file.set_len((rows.len() * 4) as u64)
            .and_then(|_| file.seek(std::io::SeekFrom::End(0)))
            .map_err(|source| EmbedError::io("truncating", &rows_path, source))?;
        Ok((
            Checkpoint {
                rows_path,
                meta_path,
                file,
                width,
            },
            rows,
        ))
    }

    /// Appends whole rows (`rows.len()` a multiple of the width).
    pub(crate) fn append(&mut self, rows: &[f32]) -> Result<()> {
        debug_assert_eq!(rows.len() % self.width, 0);
        let bytes: Vec<u8> = rows.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.file
            .write_all(&bytes)
            .map_err(|source| EmbedError::io("writing", &self.rows_path, source))
    }

    /// Deletes the checkpoint: the run it served is complete.
    pub(crate) fn remove(self) -> Result<()> {
        drop(self.file);
        for p in [&self.rows_path, &self.meta_path] {
            std::fs::remove_file(p).map_err(|source| EmbedError::io("removing", p, source))?;
        }
        Ok(())
    }
}

/// The whole rows of a rows file (none when it is missing).
fn read_rows(path: &Path, width: usize) -> Result<Vec<f32>> {
    let mut bytes = Vec::new();
    match std::fs::File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)
                .map_err(|source| EmbedError::io("reading", path, source))?;
        }
        Err(_) => return Ok(Vec::new()),
    }
    let whole = bytes.len() / (4 * width) * width;
    Ok(bytes
        .chunks_exact(4)
        .take(whole)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_reopening_and_a_torn_row_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let meta = serde_json::json!({"teacher": "t", "texts": 3});
        let (mut c, rows) = Checkpoint::open(tmp.path(), ".p", &meta, 2, true).unwrap();
        assert!(rows.is_empty());
        c.append(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        drop(c);
        // A write cut short after one float of the third row.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(tmp.path().join(".p.f32"))
            .unwrap();
        f.write_all(&5f32.to_le_bytes()).unwrap();
        drop(f);
        let (mut c, rows) = Checkpoint::open(tmp.path(), ".p", &meta, 2, true).unwrap();
        assert_eq!(rows, [1.0, 2.0, 3.0, 4.0]);
        c.append(&[6.0, 7.0]).unwrap();
        drop(c);
        let (_, rows) = Checkpoint::open(tmp.path(), ".p", &meta, 2, true).unwrap();
        assert_eq!(rows, [1.0, 2.0, 3.0, 4.0, 6.0, 7.0]);
        // Another run's record, or no resuming, starts over.
        let other = serde_json::json!({"teacher": "u", "texts": 3});
        let (c, rows) = Checkpoint::open(tmp.path(), ".p", &other, 2, true).unwrap();
        assert!(rows.is_empty());
        drop(c);
        let (c, rows) = Checkpoint::open(tmp.path(), ".p", &other, 2, false).unwrap();
        assert!(rows.is_empty());
        c.remove().unwrap();
        assert!(!tmp.path().join(".p.f32").exists() && !tmp.path().join(".p.json").exists());
    }
}
