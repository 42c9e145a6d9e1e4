//! Unsaved buffers: text an editor holds for a file, searched instead of the file on disk.
//!
//! An editor sets an overlay for each modified buffer ([`Searcher::set_overlay`]); searches
//! then see the buffer's chunks and not the indexed chunks of that file, without a commit
//! or a write. Overlays are few and small, so a search treats them as a second index held
//! in memory: the buffers' chunks get a BM25 index of their own, scored with the main
//! index's statistics (so the two lists merge by score), and their vectors are computed
//! on the first semantic query that needs them and compared exactly. Chunk ids at or above
//! the store's length name overlay chunks.
//!
//! A set of overlays is an immutable snapshot, replaced whole when a buffer changes:
//! a search in flight keeps the snapshot it started with, and what a snapshot derives
//! (chunks, the BM25 index, vectors) is computed once, on first use. Chunks are kept
//! per buffer and vectors per chunk text across snapshots, so typing in one buffer
//! re-chunks that buffer and re-embeds only the chunks whose text changed.
//!
//! [`Searcher::set_overlay`]: super::Searcher::set_overlay

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use crate::chunk::{chunk_file, include, Chunk, ChunkOptions};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::lang::Language;
use crate::lexical::{LexicalDoc, LexicalIndex};
use crate::store::{Store, StoredChunk};
use crate::vector::{normalize, VectorIndex};

/// One buffer's text and, once asked for, its chunks.
pub(crate) struct Buffer {
    path: String,
    language: Option<Language>,
    text: String,
    chunks: OnceLock<Vec<Chunk>>,
}

impl Buffer {
    pub(crate) fn new(path: String, text: String) -> Buffer {
        let language = crate::walk::language_of(std::path::Path::new(&path));
        Buffer {
            path,
            language,
            text,
            chunks: OnceLock::new(),
        }
    }

    /// Chunked as `cseek index` would chunk the file (a type it does not index: none),
    /// with the documentation it includes from files inside `root` (the indexed tree)
    /// as they are on disk.
    fn chunks(&self, opts: &ChunkOptions, root: &Path, lossy_utf8: bool) -> &[Chunk] {
        self.chunks.get_or_init(|| match self.language {
            Some(lang) => {
                let mut chunks = chunk_file(&self.path, &self.text, lang, opts);
                let docs = include::read_included_docs(
                    &root.join(&self.path),
                    root,
                    &self.text,
                    lang,
                    lossy_utf8,
                );
                include::attach_included_docs(&mut chunks, &docs);
                chunks
            }
            None => Vec::new(),
        })
    }
}

/// The overlays in effect, by root-relative path.
#[derive(Default)]
pub(crate) struct Overlays {
    buffers: BTreeMap<String, Arc<Buffer>>,
    prepared: OnceLock<std::result::Result<Arc<Prepared>, String>>,
}

impl Overlays {
    /// A snapshot with one buffer set (or replaced), the others shared with `self`.
    pub(crate) fn with(&self, buffer: Buffer) -> Overlays {
        let mut buffers = self.buffers.clone();
        buffers.insert(buffer.path.clone(), Arc::new(buffer));
        Overlays {
            buffers,
            prepared: OnceLock::new(),
        }
    }

    /// A snapshot without the buffer of `path`.
    pub(crate) fn without(&self, path: &str) -> Overlays {
        let mut buffers = self.buffers.clone();
        buffers.remove(path);
        Overlays {
            buffers,
            prepared: OnceLock::new(),
        }
    }

    /// The same buffers, for another generation of the index (derived data is redone).
    pub(crate) fn rebased(&self) -> Overlays {
        Overlays {
            buffers: self.buffers.clone(),
            prepared: OnceLock::new(),
        }
    }

    pub(crate) fn paths(&self) -> Vec<String> {
        self.buffers.keys().cloned().collect()
    }

    pub(crate) fn contains(&self, path: &str) -> bool {
        self.buffers.contains_key(path)
    }

    /// What searches need, computed on first use (`None` when there are no overlays).
    pub(crate) fn prepared(&self, store: &Store) -> Result<Option<Arc<Prepared>>> {
        if self.buffers.is_empty() {
            return Ok(None);
        }
        self.prepared
            .get_or_init(|| {
                Prepared::new(&self.buffers, store)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map(Some)
            .map_err(|e| Error::InvalidOption(format!("cannot search the unsaved buffers: {e}")))
    }
}

/// Overlays made ready for searching against one generation of the index.
pub(crate) struct Prepared {
    /// Id of the first overlay chunk: the store's length.
    base: u32,
    chunks: Vec<Chunk>,
    /// The buffers' paths.
    paths: Vec<String>,
    /// Live files of the store that a buffer stands in for.
    pub(crate) hidden_files: Vec<u32>,
    /// The store's chunks a vector search may return: live and not hidden (`None`: the
    /// overlays hide no indexed file).
    pub(crate) vector_mask: Option<Vec<bool>>,
    lexical: LexicalIndex,
    vectors: OnceLock<std::result::Result<Vec<Vec<f32>>, String>>,
}

impl Prepared {
    fn new(buffers: &BTreeMap<String, Arc<Buffer>>, store: &Store) -> Result<Prepared> {
        let opts = ChunkOptions {
            max_chunk_bytes: store.meta().max_chunk_bytes,
            ..ChunkOptions::default()
        };
        let meta = store.meta();
        // The root as the indexer saw it (canonical), so included files resolve alike.
        let root = meta
            .root
            .canonicalize()
            .unwrap_or_else(|_| meta.root.clone());
        let lossy = meta.walk.lossy_utf8;
        let chunks: Vec<Chunk> = buffers
            .values()
            .flat_map(|b| b.chunks(&opts, &root, lossy).iter().cloned())
            .collect();
        let base = u32::try_from(store.len())
            .ok()
            .filter(|b| {
                b.checked_add(u32::try_from(chunks.len()).unwrap_or(u32::MAX))
                    .is_some()
            })
            .ok_or_else(|| Error::InvalidOption("too many chunks in the unsaved buffers".into()))?;
        let hidden_files: Vec<u32> = store
            .live_files()
            .filter(|(_, f)| buffers.contains_key(&f.path))
            .map(|(id, _)| id)
            .collect();
        let vector_mask = (!hidden_files.is_empty()).then(|| {
            let mut mask = store.live_mask();
            for &id in &hidden_files {
                for c in store.files()[id as usize].chunk_ids() {
                    if let Some(m) = mask.get_mut(c as usize) {
                        *m = false;
                    }
                }
            }
            mask
        });
        let lexical = LexicalIndex::in_memory(
            chunks
                .iter()
                .enumerate()
                .map(|(i, c)| LexicalDoc::of_chunk(base + i as u32, 0, c)),
        )?;
        Ok(Prepared {
            base,
            chunks,
            paths: buffers.keys().cloned().collect(),
            hidden_files,
            vector_mask,
            lexical,
            vectors: OnceLock::new(),
        })
    }

    /// Number of overlay chunks.
    pub(crate) fn len(&self) -> usize {
        self.chunks.len()
    }

    /// The overlay chunk with this id, if it is one.
    pub(crate) fn chunk(&self, id: u32) -> Option<StoredChunk<'_>> {
        let c = self.chunks.get(id.checked_sub(self.base)? as usize)?;
        Some(StoredChunk {
            id,
            // No file of the store: overlay chunks are never filtered by file id.
            file_id: u32::MAX,
            path: &c.path,
            language: c.language,
            kind: c.kind,
            symbol: c.symbol.as_deref(),
            container: c.container.as_deref(),
            start_line: c.start_line,
            end_line: c.end_line,
            start_byte: u32::try_from(c.start_byte).unwrap_or(u32::MAX),
            end_byte: u32::try_from(c.end_byte).unwrap_or(u32::MAX),
            text: &c.text,
        })
    }

    /// Whether `path` has a buffer (which may have no chunks).
    pub(crate) fn has_buffer(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p == path)
    }

    /// Ids of the overlay chunks of `path`.
    pub(crate) fn chunks_of<'a>(&'a self, path: &'a str) -> impl Iterator<Item = u32> + 'a {
        self.chunks
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.path == path)
            .map(|(i, _)| self.base + i as u32)
    }

    /// BM25 hits among the overlay chunks that `keep` admits, scored with `main`'s
    /// statistics, best first, at most `limit`.
    pub(crate) fn lexical(
        &self,
        query: &str,
        limit: usize,
        main: &LexicalIndex,
        keep: &dyn Fn(&StoredChunk<'_>) -> bool,
    ) -> Result<Vec<(u32, f32)>> {
        // The overlay index is small: take every match, then filter.
        let all = usize::try_from(self.lexical.num_docs()).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for h in self
            .lexical
            .search_with(query, all, None, &[], Some(main))?
        {
            if self.chunk(h.chunk_id).is_some_and(|c| keep(&c)) {
                out.push((h.chunk_id, h.score));
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Whether `query` names a definition in the buffers (see
    /// [`LexicalIndex::defines_symbol`]).
    pub(crate) fn defines_symbol(&self, query: &str) -> Result<bool> {
        self.lexical.defines_symbol(query)
    }

    /// Cosine similarity of `query` (unit length) with the overlay chunks `keep` admits,
    /// best first, at most `limit`. Vectors are computed on first use.
    pub(crate) fn semantic(
        &self,
        query: &[f32],
        limit: usize,
        vectors: &VectorSource<'_>,
        keep: &dyn Fn(&StoredChunk<'_>) -> bool,
    ) -> Result<Vec<(u32, f32)>> {
        let mut out: Vec<(u32, f32)> = self
            .vectors(vectors)?
            .iter()
            .enumerate()
            .map(|(i, v)| (self.base + i as u32, dot(query, v)))
            .filter(|&(id, _)| self.chunk(id).is_some_and(|c| keep(&c)))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        Ok(out)
    }

    /// The vector of one overlay chunk.
    pub(crate) fn vector(&self, id: u32, source: &VectorSource<'_>) -> Result<Option<Vec<f32>>> {
        let Some(i) = id.checked_sub(self.base) else {
            return Ok(None);
        };
        Ok(self.vectors(source)?.get(i as usize).cloned())
    }

    fn vectors(&self, source: &VectorSource<'_>) -> Result<&[Vec<f32>]> {
        self.vectors
            .get_or_init(|| source.embed(&self.chunks).map_err(|e| e.to_string()))
            .as_deref()
            .map_err(|e| Error::InvalidOption(format!("cannot embed the unsaved buffers: {e}")))
    }
}

/// Where overlay chunks get their vectors: the vectors already computed for the same
/// text (kept by the searcher, or stored in the index for the file's saved version),
/// else the index's model.
pub(crate) struct VectorSource<'a> {
    pub(crate) embedder: &'a Embedder,
    pub(crate) store: &'a Store,
    pub(crate) vectors: &'a VectorIndex,
    pub(crate) cache: &'a VectorCache,
}

impl VectorSource<'_> {
    fn embed(&self, chunks: &[Chunk]) -> Result<Vec<Vec<f32>>> {
        let texts: Vec<String> = chunks.iter().map(embedding_text).collect();
        let keys: Vec<[u8; 32]> = texts
            .iter()
            .map(|t| *blake3::hash(t.as_bytes()).as_bytes())
            .collect();
        let mut found = self.cache.get(&keys);
        // The saved version of a buffer's file: its unchanged chunks keep their vectors.
        let mut saved: HashMap<[u8; 32], u32> = HashMap::new();
        for (_, f) in self
            .store
            .live_files()
            .filter(|(_, f)| chunks.iter().any(|c| c.path == f.path))
        {
            for id in f.chunk_ids() {
                let c = self.store.chunk(id)?;
                let text = crate::index::embedding_text(c.path, c.container, c.symbol, c.text);
                saved.insert(*blake3::hash(text.as_bytes()).as_bytes(), id);
            }
        }
        for (slot, key) in found.iter_mut().zip(&keys) {
            if slot.is_none() {
                *slot = saved.get(key).and_then(|&id| self.vectors.vector(id));
            }
        }
        let missing: Vec<usize> = (0..found.len()).filter(|&i| found[i].is_none()).collect();
        if !missing.is_empty() {
            let batch: Vec<&str> = missing.iter().map(|&i| texts[i].as_str()).collect();
            let embedded = self.embedder.embed_documents(&batch)?;
            for (&i, mut v) in missing.iter().zip(embedded) {
                normalize(&mut v);
                found[i] = Some(v);
            }
        }
        let out: Vec<Vec<f32>> = found.into_iter().map(Option::unwrap_or_default).collect();
        self.cache.put(keys.into_iter().zip(out.iter().cloned()));
        Ok(out)
    }
}

/// The text an overlay chunk is embedded as: what `cseek index` embeds for it.
fn embedding_text(c: &Chunk) -> String {
    crate::index::embedding_text(
        &c.path,
        c.container.as_deref(),
        c.symbol.as_deref(),
        &c.text,
    )
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Vectors of overlay chunk texts computed so far (by blake3 of the embedded text), so an
/// edit re-embeds only the chunks it changed. Bounded: emptied when it grows past
/// [`VectorCache::MAX_ENTRIES`].
#[derive(Default)]
pub(crate) struct VectorCache {
    map: Mutex<HashMap<[u8; 32], Vec<f32>>>,
}

impl VectorCache {
    /// Far more chunks than open buffers hold; a few tens of MB at most.
    const MAX_ENTRIES: usize = 20_000;

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Vec<f32>>> {
        // A panic while the lock was held left complete entries only: still usable.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, keys: &[[u8; 32]]) -> Vec<Option<Vec<f32>>> {
        let map = self.map();
        keys.iter().map(|k| map.get(k).cloned()).collect()
    }

    fn put(&self, entries: impl IntoIterator<Item = ([u8; 32], Vec<f32>)>) {
        let mut map = self.map();
        for (key, v) in entries {
            if map.len() >= Self::MAX_ENTRIES && !map.contains_key(&key) {
                map.clear();
            }
            map.insert(key, v);
        }
    }
}
