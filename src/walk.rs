//! Walking: find the files of a repository worth indexing, and read them.
//!
//! Built on the `ignore` crate (ripgrep's walker): `.gitignore`, `.ignore` and
//! `.cseekignore` files are honoured (the latter with gitignore syntax, so `!pattern`
//! re-includes), hidden files and directories are skipped, and so are well-known build
//! and vendor directories. Everything that is left out for a reason a user might not
//! expect — too large, binary, unreadable, an unsupported file type — is counted by
//! reason in [`WalkStats`], so `cseek status` can say what is missing and why.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lang::Language;

/// Directory names skipped everywhere unless `use_default_excludes` is off: build output,
/// dependency caches and virtual environments, which are large and rarely what a
/// question about the code is about.
pub const DEFAULT_EXCLUDED_DIRS: &[&str] = &[
    "node_modules",
    "bower_components",
    "target",
    "dist",
    "build",
    "out",
    "vendor",
    "third_party",
    "venv",
    ".venv",
    "env",
    "__pycache__",
    "site-packages",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".gradle",
    "Pods",
    "DerivedData",
    "coverage",
];

/// File names that are generated or lock files: huge, machine-written, never an answer.
const GENERATED_NAMES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Pipfile.lock",
    "composer.lock",
    "Gemfile.lock",
    "go.sum",
    "uv.lock",
];

/// File name suffixes of generated or minified files.
const GENERATED_SUFFIXES: &[&str] = &[".min.js", ".min.css", ".js.map", ".css.map", ".pb.go"];

/// Extensions without a grammar that are still worth indexing as plain text.
const TEXT_EXTENSIONS: &[&str] = &["toml", "yaml", "yml", "ini", "cfg", "conf", "properties"];

/// File names without an extension that are indexed as text.
const TEXT_NAMES: &[&str] = &["Makefile", "Dockerfile", "Justfile", "CMakeLists.txt"];

/// Settings of the walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkOptions {
    /// Files larger than this many bytes are skipped (default 1 MiB).
    pub max_file_bytes: u64,
    /// Extra gitignore-style globs, relative to the root, to leave out.
    pub exclude: Vec<String>,
    /// Skip [`DEFAULT_EXCLUDED_DIRS`] (default true).
    pub use_default_excludes: bool,
    /// Follow symbolic links (default false). Loops are detected and counted, never fatal.
    pub follow_links: bool,
    /// Files that are not valid UTF-8 are decoded lossily (invalid bytes become U+FFFD)
    /// when true (default), skipped when false.
    pub lossy_utf8: bool,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            max_file_bytes: 1024 * 1024,
            exclude: Vec::new(),
            use_default_excludes: true,
            follow_links: false,
            lossy_utf8: true,
        }
    }
}

/// Why a file was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Larger than [`WalkOptions::max_file_bytes`].
    TooLarge,
    /// Contains NUL bytes: a binary file, whatever its extension.
    Binary,
    /// Not valid UTF-8 and lossy decoding is off.
    NotUtf8,
    /// Could not be read (permissions, vanished during the walk, I/O error).
    Unreadable,
    /// A lock file, minified or generated file.
    Generated,
    /// A file type cseek does not index (images, data files, unknown extensions).
    UnsupportedType,
    /// A symbolic link that was not followed (see [`WalkOptions::follow_links`]).
    Symlink,
    /// The walker could not enter a path: a symlink loop, a permission error on a
    /// directory.
    WalkError,
}

impl SkipReason {
    /// Short name used in `cseek status` and JSON.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::TooLarge => "too-large",
            SkipReason::Binary => "binary",
            SkipReason::NotUtf8 => "not-utf8",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Generated => "generated",
            SkipReason::UnsupportedType => "unsupported-type",
            SkipReason::Symlink => "symlink",
            SkipReason::WalkError => "walk-error",
        }
    }
}

/// How many examples of each skip reason are kept for `cseek status`.
const MAX_EXAMPLES: usize = 5;

/// Counts of what the walk left out, by reason, with a few example paths each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkStats {
    /// Number of files skipped per reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Up to five root-relative example paths per reason.
    pub examples: BTreeMap<SkipReason, Vec<String>>,
    /// Files that were not valid UTF-8 and were decoded lossily (still indexed).
    pub lossy_utf8: u64,
}

impl WalkStats {
    /// Record one skipped file.
    pub fn skip(&mut self, reason: SkipReason, path: &str) {
        *self.skipped.entry(reason).or_insert(0) += 1;
        let ex = self.examples.entry(reason).or_default();
        if ex.len() < MAX_EXAMPLES {
            ex.push(path.to_string());
        }
    }

    /// Total number of skipped files.
    pub fn total_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Merge another set of counts into this one.
    pub fn merge(&mut self, other: WalkStats) {
        for (reason, n) in other.skipped {
            *self.skipped.entry(reason).or_insert(0) += n;
        }
        for (reason, paths) in other.examples {
            let ex = self.examples.entry(reason).or_default();
            for p in paths {
                if ex.len() < MAX_EXAMPLES {
                    ex.push(p);
                }
            }
        }
        self.lossy_utf8 += other.lossy_utf8;
    }
}

/// A file the walk selected for indexing (not yet read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Absolute (or root-joined) path to read from.
    pub abs_path: PathBuf,
    /// Path relative to the root with `/` separators; what users see.
    pub rel_path: String,
    /// Language chosen from the file name.
    pub language: Language,
    /// Size in bytes at walk time.
    pub size: u64,
    /// Modification time at walk time, nanoseconds since the Unix epoch; 0 when unknown.
    /// With `size` it tells an incremental run which files may have changed.
    pub mtime_ns: u64,
}

/// The content of a file that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileText {
    /// The text (lossily decoded when the file was not valid UTF-8).
    pub text: String,
    /// blake3 hash of the raw bytes, for change detection.
    pub hash: [u8; 32],
    /// Whether lossy decoding was needed.
    pub lossy: bool,
}

/// Walk `root` and return the files to index, sorted by relative path, plus what was
/// skipped. Only an unusable root is an error; problems with single files and
/// directories are counted in the stats.
///
/// `skip_dir` is an extra directory never to enter (the index directory itself, when it
/// lives inside the root under a non-hidden name).
pub fn walk(
    root: &Path,
    opts: &WalkOptions,
    skip_dir: Option<&Path>,
) -> Result<(Vec<Candidate>, WalkStats)> {
    walk_scoped(root, opts, skip_dir, None)
}

/// Like [`walk`], but only for the given root-relative paths (`/`-separated): the walk
/// enters just the directories on the way to them, so its cost is that of their parent
/// directories, not of the tree, while every rule of a full walk (ignore files at every
/// level, hidden and default-excluded directories, size and type checks) applies exactly
/// as it would. A directory among the paths is walked whole. A path that does not exist,
/// or that a full walk would leave out, is simply absent from the result; skips among the
/// paths are counted in the stats.
pub fn walk_paths(
    root: &Path,
    opts: &WalkOptions,
    skip_dir: Option<&Path>,
    paths: &[String],
) -> Result<(Vec<Candidate>, WalkStats)> {
    walk_scoped(root, opts, skip_dir, Some(Scope::new(paths)))
}

/// The paths a scoped walk may visit: the paths asked for, whatever is below them (a
/// directory asked for is walked whole), and the directories above them.
#[derive(Default)]
pub(crate) struct Scope {
    paths: std::collections::HashSet<String>,
    dirs: std::collections::HashSet<String>,
}

impl Scope {
    /// The scope of these root-relative paths.
    pub(crate) fn new(paths: &[String]) -> Scope {
        let mut scope = Scope::default();
        for p in paths {
            let p = p.trim_matches('/');
            if p.is_empty() {
                continue;
            }
            let mut dir = p;
            while let Some((parent, _)) = dir.rsplit_once('/') {
                scope.dirs.insert(parent.to_string());
                dir = parent;
            }
            scope.paths.insert(p.to_string());
        }
        scope
    }

    /// Whether `rel` is one of the paths or below one of them.
    pub(crate) fn covers(&self, rel: &str) -> bool {
        let mut p = rel;
        loop {
            if self.paths.contains(p) {
                return true;
            }
            match p.rsplit_once('/') {
                Some((parent, _)) => p = parent,
                None => return false,
            }
        }
    }

    fn admits(&self, rel: &str, is_dir: bool) -> bool {
        (is_dir && self.dirs.contains(rel)) || self.covers(rel)
    }
}

fn walk_scoped(
    root: &Path,
    opts: &WalkOptions,
    skip_dir: Option<&Path>,
    scope: Option<Scope>,
) -> Result<(Vec<Candidate>, WalkStats)> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io("reading", root, e))?;
    if !meta.is_dir() {
        return Err(Error::InvalidOption(format!(
            "{} is not a directory",
            root.display()
        )));
    }

    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(true)
        .parents(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .ignore(true)
        // .gitignore files apply even when the tree is not a git checkout (an unpacked
        // tarball, a copied folder): users expect them to.
        .require_git(false)
        .follow_links(opts.follow_links)
        .add_custom_ignore_filename(".cseekignore")
        .sort_by_file_name(|a, b| a.cmp(b));

    if !opts.exclude.is_empty() {
        let mut ob = ignore::overrides::OverrideBuilder::new(root);
        for pat in &opts.exclude {
            // In an override set a leading `!` means "ignore this".
            ob.add(&format!("!{pat}"))
                .map_err(|e| Error::InvalidOption(format!("bad exclude glob {pat:?}: {e}")))?;
        }
        let ov = ob
            .build()
            .map_err(|e| Error::InvalidOption(format!("bad exclude globs: {e}")))?;
        builder.overrides(ov);
    }

    let use_defaults = opts.use_default_excludes;
    let skip_dir = skip_dir.map(|p| p.to_path_buf());
    let scope_root = root.to_path_buf();
    builder.filter_entry(move |entry| {
        if entry.depth() == 0 {
            return true;
        }
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if let Some(scope) = &scope {
            if !scope.admits(&rel_path(&scope_root, entry.path()), is_dir) {
                return false;
            }
        }
        if !is_dir {
            return true;
        }
        if let Some(skip) = &skip_dir {
            if entry.path() == skip.as_path() {
                return false;
            }
        }
        if use_defaults {
            if let Some(name) = entry.file_name().to_str() {
                return !DEFAULT_EXCLUDED_DIRS.contains(&name);
            }
        }
        true
    });

    let mut stats = WalkStats::default();
    let mut files = Vec::new();
    for result in builder.build() {
        let entry = match result {
            Ok(e) => e,
            Err(err) => {
                let path = error_path(&err)
                    .map(|p| rel_path(root, &p))
                    .unwrap_or_else(|| err.to_string());
                stats.skip(SkipReason::WalkError, &path);
                continue;
            }
        };
        let Some(ft) = entry.file_type() else {
            continue; // stdin; cannot happen for a directory walk
        };
        if ft.is_dir() {
            continue;
        }
        let rel = rel_path(root, entry.path());
        if ft.is_symlink() {
            // Only reached when links are not followed.
            stats.skip(SkipReason::Symlink, &rel);
            continue;
        }
        if !ft.is_file() {
            continue; // sockets, fifos, devices
        }
        let file_name = entry.file_name().to_string_lossy();
        if is_generated(&file_name) {
            stats.skip(SkipReason::Generated, &rel);
            continue;
        }
        let Some(language) = language_of(entry.path()) else {
            stats.skip(SkipReason::UnsupportedType, &rel);
            continue;
        };
        let (size, mtime_ns) = match entry.metadata() {
            Ok(m) => (m.len(), mtime_ns(&m)),
            Err(_) => {
                stats.skip(SkipReason::Unreadable, &rel);
                continue;
            }
        };
        if size > opts.max_file_bytes {
            stats.skip(SkipReason::TooLarge, &rel);
            continue;
        }
        files.push(Candidate {
            abs_path: entry.path().to_path_buf(),
            rel_path: rel,
            language,
            size,
            mtime_ns,
        });
    }
    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok((files, stats))
}

/// A file's modification time in nanoseconds since the Unix epoch (0 when the platform
/// does not say, which makes an incremental run read the file to compare hashes).
pub fn mtime_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Read a candidate and decide whether it is indexable text.
///
/// Reads at most `max_bytes + 1` bytes, so a file that grew since the walk cannot blow
/// up memory.
pub fn read_file(
    candidate: &Candidate,
    opts: &WalkOptions,
) -> std::result::Result<FileText, SkipReason> {
    let file = std::fs::File::open(&candidate.abs_path).map_err(|_| SkipReason::Unreadable)?;
    // The walk's size, bounded by the limit: a huge (or sparse) file must not make us
    // allocate its size up front, and a failed reservation is a skip, not an abort.
    let mut bytes = Vec::new();
    let want = usize::try_from(candidate.size.min(opts.max_file_bytes.saturating_add(1)))
        .unwrap_or(usize::MAX);
    bytes
        .try_reserve_exact(want)
        .map_err(|_| SkipReason::TooLarge)?;
    file.take(opts.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|_| SkipReason::Unreadable)?;
    if bytes.len() as u64 > opts.max_file_bytes {
        return Err(SkipReason::TooLarge);
    }
    decode(bytes, opts.lossy_utf8)
}

/// Classify raw bytes: binary (NUL byte anywhere) is refused; invalid UTF-8 is decoded
/// lossily or refused, as asked.
pub fn decode(bytes: Vec<u8>, lossy_utf8: bool) -> std::result::Result<FileText, SkipReason> {
    if memchr_nul(&bytes) {
        return Err(SkipReason::Binary);
    }
    let hash = *blake3::hash(&bytes).as_bytes();
    match String::from_utf8(bytes) {
        Ok(text) => Ok(FileText {
            text,
            hash,
            lossy: false,
        }),
        Err(e) if lossy_utf8 => Ok(FileText {
            text: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            hash,
            lossy: true,
        }),
        Err(_) => Err(SkipReason::NotUtf8),
    }
}

fn memchr_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0)
}

/// The language a file is indexed as, or `None` when cseek does not index its type.
pub fn language_of(path: &Path) -> Option<Language> {
    if let Some(lang) = Language::from_path(path) {
        return Some(lang);
    }
    let name = path.file_name()?.to_str()?;
    if TEXT_NAMES.contains(&name) {
        return Some(Language::Text);
    }
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    (TEXT_EXTENSIONS.contains(&ext.as_str())
        || crate::lang::CODE_WITHOUT_GRAMMAR.contains(&ext.as_str()))
    .then_some(Language::Text)
}

fn is_generated(file_name: &str) -> bool {
    GENERATED_NAMES.contains(&file_name)
        || GENERATED_SUFFIXES.iter().any(|s| file_name.ends_with(s))
}

/// Path of `path` relative to `root`, with `/` separators.
pub fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for (i, comp) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&comp.as_os_str().to_string_lossy());
    }
    out
}

/// `path` relative to an indexed root, `/`-separated, as the index records it. `path` may
/// be relative to the root already, or absolute under the root as given (`given_root`) or
/// canonicalized (`root`): a deleted file cannot be canonicalized, so both spellings of
/// the root are tried. A path outside the root, or the root itself, is
/// [`Error::InvalidOption`].
pub fn relative_to_root(given_root: &Path, root: &Path, path: &Path) -> Result<String> {
    let outside = || {
        Error::InvalidOption(format!(
            "{} is not under the indexed root {}",
            path.display(),
            root.display()
        ))
    };
    let rel = if path.is_absolute() {
        let canonical = std::fs::canonicalize(path).ok();
        let given_root =
            std::path::absolute(given_root).unwrap_or_else(|_| given_root.to_path_buf());
        canonical
            .as_deref()
            .and_then(|p| p.strip_prefix(root).ok())
            .or_else(|| path.strip_prefix(root).ok())
            .or_else(|| path.strip_prefix(&given_root).ok())
            .ok_or_else(outside)?
            .to_path_buf()
    } else {
        path.to_path_buf()
    };
    let mut out = Vec::new();
    for comp in rel.components() {
        match comp {
            std::path::Component::Normal(c) => out.push(c.to_string_lossy().into_owned()),
            std::path::Component::CurDir => {}
            _ => return Err(outside()),
        }
    }
    if out.is_empty() {
        return Err(Error::InvalidOption(format!(
            "{} names the root itself; use a full update",
            path.display()
        )));
    }
    Ok(out.join("/"))
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_mean_binary() {
        assert_eq!(
            decode(b"fn main() {\0}".to_vec(), true),
            Err(SkipReason::Binary)
        );
    }

    #[test]
    fn invalid_utf8_is_lossy_or_skipped() {
        let latin1 = b"# caf\xe9\nprint(1)\n".to_vec();
        let ok = decode(latin1.clone(), true).expect("lossy decode");
        assert!(ok.lossy);
        assert!(ok.text.contains("caf\u{FFFD}"));
        assert_eq!(decode(latin1, false), Err(SkipReason::NotUtf8));
    }

    #[test]
    fn generated_names() {
        assert!(is_generated("Cargo.lock"));
        assert!(is_generated("jquery.min.js"));
        assert!(!is_generated("main.js"));
    }

    #[test]
    fn language_of_text_files() {
        assert_eq!(language_of(Path::new("a/Cargo.toml")), Some(Language::Text));
        assert_eq!(language_of(Path::new("a/b.py")), Some(Language::Python));
        assert_eq!(language_of(Path::new("a/logo.png")), None);
    }
}
