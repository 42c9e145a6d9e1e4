//! An editor's view of cseek: keep a repository's index live while files change, and
//! search it. Runs on its own (`cargo run --example live [DIR]`): without a directory it
//! makes a small repository in a temporary directory, edits it, and shows each update.
//!
//! What a host does, in order: one [`Indexer`] per workspace (it keeps the embedding
//! model loaded between updates), one [`Searcher`] shared by every query (`Send + Sync`),
//! unsaved buffers given to the searcher as overlays, an update of the files saved
//! (`update_paths`) or of the whole tree (`update`; `cseek::watch::watch` runs it on file
//! events), and a `reload` when the searcher is no longer current.

use std::path::PathBuf;

use cseek::index::{IndexOptions, Indexer, ModelChoice, NoProgress};
use cseek::search::{SearchRequest, Searcher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (root, _tmp) = match std::env::args_os().nth(1) {
        Some(dir) => (PathBuf::from(dir), None),
        None => {
            let tmp = std::env::temp_dir().join(format!("cseek-live-{}", std::process::id()));
            std::fs::create_dir_all(&tmp)?;
            std::fs::write(
                tmp.join("files.py"),
                "def read_file(path):\n    \"\"\"Read a whole file.\"\"\"\n    return open(path).read()\n",
            )?;
            (tmp.clone(), Some(TempDir(tmp)))
        }
    };
    let mut opts = IndexOptions::new(&root);
    // Lexical-only keeps the example self-contained; name a model to add vectors.
    opts.model = ModelChoice::Off;
    let mut indexer = Indexer::new(opts.clone());
    let summary = indexer.update(&NoProgress)?;
    println!("indexed {} files, {} chunks", summary.files, summary.chunks);
    let mut searcher = Searcher::open(&opts.index_dir)?;
    show(&searcher, "read a file")?;

    if _tmp.is_some() {
        // The user types in an editor: the unsaved buffer is searched instead of the file,
        // with no write and no commit.
        let buffer = "def read_file(path):\n    \"\"\"Read a whole file.\"\"\"\n    return open(path).read()\n\n\ndef write_file(path, text):\n    \"\"\"Write text to a file, replacing it.\"\"\"\n    open(path, 'w').write(text)\n";
        searcher.set_overlay("files.py", buffer)?;
        show(&searcher, "write text to a file")?;

        // The buffer is saved: update just that file, switch to the new generation, and
        // drop the overlay (the index has the same text now).
        std::fs::write(root.join("files.py"), buffer)?;
        let s = indexer.update_paths(&["files.py"], &NoProgress)?;
        report("save files.py", &s);
        searcher.reload()?;
        searcher.clear_overlay("files.py")?;
        show(&searcher, "write text to a file")?;

        // Another tool adds a file: a full update finds it (a walk; only it is read).
        std::fs::write(
            root.join("config.py"),
            "def parse_config(text):\n    \"\"\"Parse the configuration.\"\"\"\n    return dict(line.split('=') for line in text.splitlines())\n",
        )?;
        report("update", &indexer.update(&NoProgress)?);
        if !searcher.is_current() {
            searcher.reload()?;
        }
        show(&searcher, "parse the configuration")?;
        // Nothing changed: nothing is written.
        report("update", &indexer.update(&NoProgress)?);
    }
    Ok(())
}

fn report(what: &str, s: &cseek::index::IndexSummary) {
    println!(
        "{what}: {} changed, {} removed ({} in {:.0} ms)",
        s.files_changed,
        s.files_removed,
        s.kind.name(),
        s.seconds * 1e3
    );
}

fn show(searcher: &Searcher, query: &str) -> cseek::Result<()> {
    println!("query {query:?}:");
    for hit in searcher.search(&SearchRequest::new(query).top_k(3))?.hits {
        println!(
            "  {}:{}-{}  {}",
            hit.path,
            hit.start_line,
            hit.end_line,
            hit.symbol.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

/// Removes the example's own temporary repository at the end.
struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
