//! Mirroring a local index into a collection, per file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::schema::{self, FIELD_PATH, FIELD_REPO};
use super::{MilvusError, MilvusUrl};
use crate::error::{Error, Result};
use crate::store::{Store, VECTORS_DIR};
use crate::vector::VectorIndex;

/// Bytes of rows sent in one insert (well under gRPC's and Milvus's message limits).
const BATCH_BYTES: usize = 4 << 20;
/// Paths per delete expression.
const DELETE_PATHS: usize = 200;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncSummary {
    /// Backend URL.
    pub backend: String,
    /// Repository name in the collection.
    pub repo: String,
    /// Whether everything was sent (first sync, or the collection did not hold what the
    /// state file says).
    pub full: bool,
    /// Files whose chunks were sent.
    pub files_sent: u64,
    /// Chunks sent.
    pub chunks_sent: u64,
    /// Files whose chunks were deleted and not replaced (removed files).
    pub files_removed: u64,
    /// Chunks of the repository in the collection afterwards.
    pub chunks: u64,
    /// Wall time.
    pub seconds: f64,
}

/// What the collection holds for one repository, as of the last sync: the state file in
/// the index directory.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SyncState {
    backend: String,
    repo: String,
    /// Path → hex BLAKE3 of the content sent.
    files: BTreeMap<String, String>,
    /// Rows of the repository after the sync.
    chunks: u64,
    /// What else the rows depend on: chunker version and budget, model. Another value
    /// (e.g. a new chunker) sends everything again.
    #[serde(default)]
    config: String,
}

/// Mirror the index in `index_dir` into the collection of `url` as repository `repo`:
/// create the collection if needed (checking an existing one's schema, dimensions and
/// model), delete the chunks of changed and removed files, insert the chunks of changed
/// and new files with their stored vectors. A first sync, or one after the collection
/// lost track (its row count for the repository differs from the last sync's), replaces
/// the repository's rows wholesale.
pub fn sync_index(index_dir: &Path, url: &MilvusUrl, repo: &str) -> Result<SyncSummary> {
    let t = Instant::now();
    if repo.is_empty() {
        return Err(Error::InvalidOption("the repository name is empty".into()));
    }
    let store = Store::open(index_dir)?;
    let meta = store.meta();
    let embedding = meta.embedding.as_ref().ok_or_else(|| {
        MilvusError::NoVectors(
            meta.semantic_off_reason
                .clone()
                .unwrap_or_else(|| "built without a model".into()),
        )
    })?;
    let vectors = VectorIndex::open(&store.generation_dir().join(VECTORS_DIR))?;
    let client = Client::connect(url)?;
    let identity = crate::index::model_identity(embedding);
    let mut shares = std::collections::BTreeMap::new();
    match client.describe(&url.collection)? {
        None => {
            let embedding_json = serde_json::to_string(embedding)
                .map_err(|e| Error::InvalidOption(format!("serializing the model: {e}")))?;
            client.create(
                &url.collection,
                embedding.dims,
                vec![
                    (schema::PROP_FORMAT.into(), schema::FORMAT.into()),
                    (schema::PROP_MODEL.into(), identity.clone()),
                    (schema::PROP_EMBEDDING.into(), embedding_json),
                ],
            )?;
        }
        Some(info) => {
            let dims = schema::check(&url.collection, &info)?;
            if dims != embedding.dims {
                return Err(MilvusError::DimensionMismatch {
                    collection: url.collection.clone(),
                    found: dims,
                    expected: embedding.dims,
                    what: format!("this index's model `{}`", embedding.model),
                }
                .into());
            }
            if let Some(found) = info.properties.get(schema::PROP_MODEL) {
                if *found != identity {
                    return Err(MilvusError::ModelMismatch {
                        collection: url.collection.clone(),
                        found: found.clone(),
                        expected: identity,
                    }
                    .into());
                }
            }
            shares = schema::fusion_shares(&info.properties);
            client.load(&url.collection)?;
        }
    }

    let state_path = state_path(index_dir, url, repo);
    let backend = url.to_string();
    let old: Option<SyncState> = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|s: &SyncState| s.backend == backend && s.repo == repo);
    let config = format!(
        "chunker {} max {} model {identity}",
        meta.chunker_version, meta.max_chunk_bytes
    );
    let old = old.filter(|s| s.config == config);
    let repo_filter = schema::in_list(FIELD_REPO, &[repo]);
    let on_server = client.count(&url.collection, &repo_filter)?;
    let old = old.filter(|s| s.chunks == on_server);
    let full = old.is_none();
    let old_files = old.map(|s| s.files).unwrap_or_default();

    let mut live: BTreeMap<&str, (u32, String)> = BTreeMap::new();
    for (id, f) in store.live_files() {
        live.insert(f.path.as_str(), (id, hex(&f.hash)));
    }
    let changed: Vec<&str> = live
        .iter()
        .filter(|(p, (_, h))| old_files.get(**p) != Some(h))
        .map(|(p, _)| *p)
        .collect();
    let removed: Vec<&str> = old_files
        .keys()
        .map(String::as_str)
        .filter(|p| !live.contains_key(p))
        .collect();

    // Delete first: the chunks of changed files get new rows (their ids may repeat).
    if full {
        if on_server > 0 {
            client.delete(&url.collection, &repo_filter)?;
        }
    } else {
        let stale: Vec<&str> = changed
            .iter()
            .filter(|p| old_files.contains_key(**p))
            .chain(removed.iter())
            .copied()
            .collect();
        for batch in stale.chunks(DELETE_PATHS) {
            let filter = schema::all_of(&[repo_filter.clone(), schema::in_list(FIELD_PATH, batch)]);
            client.delete(&url.collection, &filter)?;
        }
    }

    let mut rows = Vec::new();
    let mut bytes = 0;
    let mut chunks_sent = 0u64;
    for path in &changed {
        let (file_id, hash) = &live[path];
        let file = &store.files()[*file_id as usize];
        for (ordinal, id) in file.chunk_ids().enumerate() {
            let chunk = store.chunk(id)?;
            let vector = vectors.vector(id).ok_or_else(|| {
                Error::corrupt(
                    store.generation_dir().join(VECTORS_DIR),
                    format!("no vector for chunk {id}"),
                )
            })?;
            bytes += chunk.text.len() * 2 + vector.len() * 12 + 256;
            rows.push(schema::row(repo, &chunk, ordinal as u32, hash, vector));
            chunks_sent += 1;
            if bytes >= BATCH_BYTES {
                client.insert(&url.collection, std::mem::take(&mut rows))?;
                bytes = 0;
            }
        }
    }
    if !rows.is_empty() {
        client.insert(&url.collection, rows)?;
    }
    // The repository's fitted fusion weight goes with its rows, for searches there.
    let before = shares.clone();
    match &meta.fusion {
        Some(fit) => shares.insert(repo.to_string(), fit.lexical_share),
        None => shares.remove(repo),
    };
    if shares != before {
        let json = serde_json::to_string(&shares)
            .map_err(|e| Error::InvalidOption(format!("serializing the fusion weights: {e}")))?;
        client.set_properties(
            &url.collection,
            std::collections::HashMap::from([(schema::PROP_FUSION.to_string(), json)]),
        )?;
    }

    let chunks = store.live_len() as u64;
    let state = SyncState {
        backend: backend.clone(),
        repo: repo.to_string(),
        files: live
            .iter()
            .map(|(p, (_, h))| (p.to_string(), h.clone()))
            .collect(),
        chunks,
        config,
    };
    let json = serde_json::to_vec(&state)
        .map_err(|e| Error::InvalidOption(format!("serializing the sync state: {e}")))?;
    let tmp = state_path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(|e| Error::io("writing", &tmp, e))?;
    std::fs::rename(&tmp, &state_path).map_err(|e| Error::io("renaming", &state_path, e))?;

    Ok(SyncSummary {
        backend,
        repo: repo.to_string(),
        full,
        files_sent: changed.len() as u64,
        chunks_sent,
        files_removed: removed.len() as u64,
        chunks,
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Where the state of the sync of this index to `url` as `repo` lives (in the index
/// directory, which garbage collection of generations leaves alone).
fn state_path(index_dir: &Path, url: &MilvusUrl, repo: &str) -> PathBuf {
    let key = blake3::hash(format!("{url}\0{repo}").as_bytes()).to_hex();
    index_dir.join(format!("milvus-sync-{}.json", &key[..16]))
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
