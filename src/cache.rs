//! The persistent embedding cache: chunk text → vector, shared by all generations of an
//! index, so a chunk embedded once (in any earlier run, even a killed one) is never
//! embedded again.
//!
//! One append-only file per model, `<dir>/emb-<16 hex>.bin`, the name derived from the
//! model identity and dimensions so switching models never mixes vectors. Layout, all
//! little-endian:
//!
//! ```text
//! header (32 bytes): magic "CSKEMBC\0" | version u32 | dims u32 | 16 bytes of the file id hash
//! record (40 + 4*dims bytes): key [u8; 32] | dims × f32 | checksum = blake3(key ‖ vector)[..8]
//! ```
//!
//! Records are fixed-size, so a record's place is its slot number. Appends are plain
//! `write`s (they survive a kill of the process; [`EmbeddingCache::sync`] makes them
//! survive a crash of the machine). Whatever happened to the file (a torn final record,
//! flipped bytes, zero-filled blocks after a power loss), a record whose checksum fails
//! is treated as missing, and every read re-checks the checksum, so a wrong vector is
//! never returned. A header that does not match means a fresh file.
//!
//! Only the memory for the key → slot table (about 50 bytes an entry) is held; vectors
//! are read from the file on demand with positioned reads (no memory map, so a file
//! changed underneath cannot fault the process).

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};

const MAGIC: [u8; 8] = *b"CSKEMBC\0";
const VERSION: u32 = 1;
const HEADER_LEN: u64 = 32;
const CHECKSUM_LEN: usize = 8;
/// Records read per block when scanning the file at open.
const SCAN_RECORDS: usize = 1024;

/// The cache key of one embedded text: blake3 (derive-key mode, so it cannot collide with
/// other blake3 uses) over the model identity, length-prefixed so that no two
/// `(identity, text)` pairs hash the same input, then the text.
///
/// `model_identity` should name everything that changes the vector (model, revision,
/// prefixes, template, Matryoshka dimension); `text` is the exact text embedded.
pub fn cache_key(model_identity: &str, text: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("cseek embedding cache key v1");
    h.update(&(model_identity.len() as u64).to_le_bytes());
    h.update(model_identity.as_bytes());
    h.update(text.as_bytes());
    *h.finalize().as_bytes()
}

/// What [`EmbeddingCache::gc`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcStats {
    /// Entries before.
    pub before: usize,
    /// Entries after (equal to `before` when the file was not rewritten).
    pub after: usize,
    /// File bytes before.
    pub bytes_before: u64,
    /// File bytes after.
    pub bytes_after: u64,
    /// Whether the file was rewritten (only when that shrinks it meaningfully).
    pub rewritten: bool,
}

/// A persistent map from [`cache_key`] to an `f32` vector of fixed dimensions, for one
/// model. Open it only while holding the index lock: opening may repair the file (replace
/// a bad header, drop a leftover temporary file) and appends assume a single writer.
pub struct EmbeddingCache {
    path: PathBuf,
    file: File,
    dims: usize,
    id: [u8; 16],
    /// Key → slot (record number) of its valid record.
    slots: HashMap<[u8; 32], u32>,
    /// Slots in the file, valid or not; the next append goes to this slot.
    n_slots: u64,
    /// Bytes past the last whole slot (a torn record) still to cut before appending.
    torn_tail: bool,
}

impl std::fmt::Debug for EmbeddingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the key table: it can hold millions of entries.
        f.debug_struct("EmbeddingCache")
            .field("path", &self.path)
            .field("dims", &self.dims)
            .field("len", &self.slots.len())
            .field("slots", &self.n_slots)
            .finish()
    }
}

impl EmbeddingCache {
    /// Open (creating if missing) the cache for one model identity in `dir` (e.g.
    /// `<index>/cache`). Different identities or dimensions live in different files (file
    /// name derived from a hash of identity + dims), so switching models never mixes
    /// vectors. A file with a wrong header is replaced by an empty one; damaged records
    /// are skipped.
    pub fn open(dir: &Path, model_identity: &str, dims: usize) -> Result<Self> {
        if dims == 0 || dims > (u32::MAX as usize - 64) / 4 {
            return Err(Error::InvalidOption(format!(
                "embedding cache: {dims} dimensions"
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        let id = file_id(model_identity, dims);
        let name = format!("emb-{}.bin", hex(&id[..8]));
        let path = dir.join(&name);
        // A gc killed before its rename leaves this behind; we are the only writer.
        let _ = std::fs::remove_file(tmp_path(&path));

        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_fresh(&path, dims, &id)?,
            Err(e) => return Err(Error::io("opening", &path, e)),
        };
        let mut cache = EmbeddingCache {
            path,
            file,
            dims,
            id,
            slots: HashMap::new(),
            n_slots: 0,
            torn_tail: false,
        };
        if !cache.header_ok()? {
            cache.file = write_fresh(&cache.path, dims, &id)?;
        }
        cache.scan()?;
        Ok(cache)
    }

    /// Vector dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Number of entries (valid records).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The cache file of this model.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copy the cached vector into `out` (`out.len() == dims`); false when absent or
    /// damaged (the record is checked again on every read), or when `out` has the wrong
    /// length. On false, `out` may have been overwritten.
    pub fn get_into(&self, key: &[u8; 32], out: &mut [f32]) -> bool {
        if out.len() != self.dims {
            return false;
        }
        let Some(&slot) = self.slots.get(key) else {
            return false;
        };
        let mut rec = vec![0u8; self.record_len()];
        if read_at(&self.file, &mut rec, self.offset(slot as u64)).is_err() {
            return false;
        }
        if !record_ok(&rec) || rec[..32] != key[..] {
            return false;
        }
        for (o, b) in out.iter_mut().zip(rec[32..].chunks_exact(4)) {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        true
    }

    /// Whether `key` has a (checksum-valid at open) entry.
    pub fn contains(&self, key: &[u8; 32]) -> bool {
        self.slots.contains_key(key)
    }

    /// Append entries and hand them to the OS (write, no fsync) so they survive a kill -9
    /// of this process; keys already present (or repeated in `entries`) are ignored.
    /// Every vector must have `dims` elements.
    pub fn insert_batch(&mut self, entries: &[([u8; 32], &[f32])]) -> Result<()> {
        let rec_len = self.record_len();
        let mut buf = Vec::new();
        let mut new_keys: Vec<[u8; 32]> = Vec::new();
        let mut seen = HashSet::new();
        for (key, vector) in entries {
            if vector.len() != self.dims {
                return Err(Error::InvalidOption(format!(
                    "embedding cache: a vector of {} dimensions in a cache of {}",
                    vector.len(),
                    self.dims
                )));
            }
            if self.slots.contains_key(key) || !seen.insert(*key) {
                continue;
            }
            let start = buf.len();
            buf.reserve(rec_len);
            buf.extend_from_slice(key);
            for v in vector.iter() {
                buf.extend_from_slice(&v.to_le_bytes());
            }
            let sum = checksum(&buf[start..]);
            buf.extend_from_slice(&sum);
            new_keys.push(*key);
        }
        if new_keys.is_empty() {
            return Ok(());
        }
        if self.n_slots + new_keys.len() as u64 > u32::MAX as u64 {
            return Err(Error::InvalidOption(
                "embedding cache: too many entries".into(),
            ));
        }
        let end = self.offset(self.n_slots);
        if self.torn_tail {
            // Cut the partial record so the file stays a whole number of slots.
            self.file
                .set_len(end)
                .map_err(|e| Error::io("truncating", &self.path, e))?;
            self.torn_tail = false;
        }
        let written = self
            .file
            .seek(SeekFrom::Start(end))
            .and_then(|_| self.file.write_all(&buf));
        if let Err(e) = written {
            // Part of the batch may be in the file: cut it before the next append.
            self.torn_tail = true;
            return Err(Error::io("writing", &self.path, e));
        }
        for key in new_keys {
            self.slots.insert(key, self.n_slots as u32);
            self.n_slots += 1;
        }
        Ok(())
    }

    /// Flush appended entries to the disk (fsync), so they survive a crash of the machine;
    /// called at commit.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::io("syncing", &self.path, e))
    }

    /// Bytes on disk of this model's cache file.
    pub fn disk_bytes(&self) -> u64 {
        self.file.metadata().map(|m| m.len()).unwrap_or(0)
    }

    /// Garbage collection: keep every key in `keep`, plus the most recently inserted
    /// other entries up to `max_entries` in total (more when `keep` alone is larger).
    /// The file is rewritten atomically (temp file + rename) only when that removes at
    /// least an eighth of its bytes, counting damaged records, so a cache near its bound
    /// is not rewritten at every commit; otherwise nothing changes.
    pub fn gc(&mut self, keep: &HashSet<[u8; 32]>, max_entries: usize) -> Result<GcStats> {
        let before = self.slots.len();
        let bytes_before = self.disk_bytes();
        // Newest first: slot order is insertion order.
        let mut by_age: Vec<(u32, [u8; 32])> = self.slots.iter().map(|(k, s)| (*s, *k)).collect();
        by_age.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
        let kept_keep = by_age.iter().filter(|(_, k)| keep.contains(k)).count();
        let mut others = max_entries.saturating_sub(kept_keep);
        let mut kept: Vec<(u32, [u8; 32])> = Vec::with_capacity(before.min(max_entries));
        for &(slot, key) in &by_age {
            if keep.contains(&key) {
                kept.push((slot, key));
            } else if others > 0 {
                others -= 1;
                kept.push((slot, key));
            }
        }
        let bytes_after = self.offset(kept.len() as u64);
        let unchanged = GcStats {
            before,
            after: before,
            bytes_before,
            bytes_after: bytes_before,
            rewritten: false,
        };
        let saved = bytes_before.saturating_sub(bytes_after);
        if saved == 0 || saved < bytes_before / 8 {
            return Ok(unchanged);
        }

        kept.sort_unstable_by_key(|(slot, _)| *slot);
        let tmp = tmp_path(&self.path);
        let (file, slots) = match self.write_compacted(&tmp, &kept) {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::rename(&tmp, &self.path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io("renaming", &tmp, e));
        }
        sync_dir(&self.path);
        // On Unix the handle follows the renamed file.
        self.file = file;
        self.n_slots = slots.len() as u64;
        self.slots = slots;
        self.torn_tail = false;
        Ok(GcStats {
            before,
            after: self.slots.len(),
            bytes_before,
            bytes_after: self.disk_bytes(),
            rewritten: true,
        })
    }

    fn record_len(&self) -> usize {
        32 + 4 * self.dims + CHECKSUM_LEN
    }

    fn offset(&self, slot: u64) -> u64 {
        HEADER_LEN + slot * self.record_len() as u64
    }

    fn header_ok(&self) -> Result<bool> {
        let mut h = [0u8; HEADER_LEN as usize];
        match read_at(&self.file, &mut h, 0) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(Error::io("reading", &self.path, e)),
        }
        Ok(h == header(self.dims, &self.id))
    }

    /// Read every record once, keeping the valid ones. The file is read in blocks
    /// sequentially (the fastest way through it); a partial final record is noted.
    fn scan(&mut self) -> Result<()> {
        let len = self.disk_bytes();
        let rec_len = self.record_len();
        let body = len.saturating_sub(HEADER_LEN);
        let n_slots = body / rec_len as u64;
        if n_slots > u32::MAX as u64 {
            return Err(Error::corrupt(&self.path, "embedding cache too large"));
        }
        self.torn_tail = !body.is_multiple_of(rec_len as u64);
        self.slots.reserve(n_slots as usize);
        let mut reader = &self.file;
        reader
            .seek(SeekFrom::Start(HEADER_LEN))
            .map_err(|e| Error::io("reading", &self.path, e))?;
        let mut block = vec![0u8; rec_len * SCAN_RECORDS];
        let mut slot = 0u64;
        while slot < n_slots {
            let n = (n_slots - slot).min(SCAN_RECORDS as u64) as usize;
            let buf = &mut block[..n * rec_len];
            reader
                .read_exact(buf)
                .map_err(|e| Error::io("reading", &self.path, e))?;
            // Checksums dominate the open time (about 2 µs a 1 KiB record): spread them.
            let ok: Vec<bool> = buf.par_chunks_exact(rec_len).map(record_ok).collect();
            for (rec, ok) in buf.chunks_exact(rec_len).zip(ok) {
                if ok {
                    let mut key = [0u8; 32];
                    key.copy_from_slice(&rec[..32]);
                    // First valid copy wins: it is what earlier reads returned.
                    self.slots.entry(key).or_insert(slot as u32);
                }
                slot += 1;
            }
        }
        self.n_slots = n_slots;
        Ok(())
    }

    /// Write header + the `kept` records (slot order) to `tmp`, re-checking each, and
    /// sync it. Returns the open file and its key → slot table.
    fn write_compacted(
        &self,
        tmp: &Path,
        kept: &[(u32, [u8; 32])],
    ) -> Result<(File, HashMap<[u8; 32], u32>)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| Error::io("creating", tmp, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, &file);
        let io = |e| Error::io("writing", tmp, e);
        out.write_all(&header(self.dims, &self.id)).map_err(io)?;
        let mut rec = vec![0u8; self.record_len()];
        let mut slots = HashMap::with_capacity(kept.len());
        for (slot, key) in kept {
            let read = read_at(&self.file, &mut rec, self.offset(*slot as u64));
            if read.is_err() || !record_ok(&rec) || rec[..32] != key[..] {
                continue; // damaged since open: drop it
            }
            out.write_all(&rec).map_err(io)?;
            slots.insert(*key, slots.len() as u32);
        }
        out.flush().map_err(io)?;
        drop(out);
        file.sync_all().map_err(io)?;
        Ok((file, slots))
    }
}

/// Hash naming a model's file (and checked in its header).
fn file_id(model_identity: &str, dims: usize) -> [u8; 16] {
    let mut h = blake3::Hasher::new_derive_key("cseek embedding cache file v1");
    h.update(&(dims as u64).to_le_bytes());
    h.update(model_identity.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.finalize().as_bytes()[..16]);
    id
}

fn header(dims: usize, id: &[u8; 16]) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(dims as u32).to_le_bytes());
    h[16..].copy_from_slice(id);
    h
}

fn checksum(key_and_vector: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut sum = [0u8; CHECKSUM_LEN];
    sum.copy_from_slice(&blake3::hash(key_and_vector).as_bytes()[..CHECKSUM_LEN]);
    sum
}

fn record_ok(rec: &[u8]) -> bool {
    let (body, sum) = rec.split_at(rec.len() - CHECKSUM_LEN);
    checksum(body) == sum
}

fn tmp_path(path: &Path) -> PathBuf {
    path.with_extension("tmp")
}

/// Create an empty cache file (header only) atomically, replacing whatever was there.
fn write_fresh(path: &Path, dims: usize, id: &[u8; 16]) -> Result<File> {
    let tmp = tmp_path(path);
    let io = |e| Error::io("writing", &tmp, e);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| Error::io("creating", &tmp, e))?;
    file.write_all(&header(dims, id)).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("renaming", &tmp, e))?;
    sync_dir(path);
    Ok(file)
}

/// Persist a rename; best effort on platforms without directory fsync.
fn sync_dir(path: &Path) {
    if let Some(d) = path.parent().and_then(|p| File::open(p).ok()) {
        let _ = d.sync_all();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Positioned read that leaves no shared cursor to race on (`get_into` takes `&self`).
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    // Racy cursor if shared across threads, but a garbled read fails its checksum.
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}
