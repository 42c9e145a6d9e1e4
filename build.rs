//! Build script: fingerprints the source of the indexing stages, so that cached eval
//! indexes (`src/eval/cache.rs`) are rebuilt whenever the code that produced them changes,
//! not only when the crate version or the index format version does.

use std::hash::Hasher;
use std::path::Path;

/// Sources whose changes can change what an index's vectors contain (hashed separately:
/// a lexical-only index does not depend on them).
const EMBEDDING_SOURCES: &[&str] = &["src/embed", "src/vector", "src/fuse/calibrate.rs"];

/// Sources whose changes can change what any index contains.
const INDEXING_SOURCES: &[&str] = &[
    "grammars",
    "src/chunk",
    "src/lexical",
    "src/index.rs",
    "src/lang.rs",
    "src/store.rs",
    "src/walk.rs",
];

fn main() {
    for (var, sources) in [
        ("CSEEK_INDEXING_CODE_HASH", INDEXING_SOURCES),
        ("CSEEK_EMBEDDING_CODE_HASH", EMBEDDING_SOURCES),
    ] {
        // FNV-1a: stable across toolchains (std's DefaultHasher is not guaranteed to be).
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        for src in sources {
            println!("cargo:rerun-if-changed={src}");
            hash_path(Path::new(src), &mut h);
        }
        println!("cargo:rustc-env={var}={:016x}", h.finish());
    }
}

fn hash_path(path: &Path, h: &mut Fnv) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for p in entries {
            hash_path(&p, h);
        }
    } else if let Ok(bytes) = std::fs::read(path) {
        h.write(path.to_string_lossy().as_bytes());
        h.write(&bytes);
    }
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
