//! Watching: keep an index current while the files of its root change.
//!
//! [`watch`] indexes the root once, then listens for file events (inotify, FSEvents,
//! ReadDirectoryChangesW through the `notify` crate) and runs one [`build_index`](crate::index::build_index) per
//! burst of changes: events are collected until the tree has been quiet for
//! [`WatchOptions::debounce`] (or at most [`WatchOptions::max_delay`] after the first
//! one, so a never-ending stream still updates). A `git checkout` touching a thousand
//! files is one update. Events are only a trigger: every update walks the tree, so a
//! missed or misnamed event never leaves a wrong index once anything else happens, and
//! an event that changed nothing costs one walk.
//!
//! Never a trigger: events inside the index directory (so writing the index cannot
//! trigger the next update), in version-control metadata (`.git`, `.hg`, `.svn`, `.jj`)
//! and, unless [`WalkOptions::use_default_excludes`](crate::walk::WalkOptions) is off, in
//! the build and vendor directories the walk always skips (`target`, `node_modules`, …);
//! and read-only access. Other hidden and git-ignored paths do trigger: an ignore file's
//! `!pattern` can re-include them, and only the walk knows.
//!
//! On Linux, where inotify watches one directory at a time, only directories that can
//! hold indexed files are watched (new ones are added as they appear), which keeps
//! `node_modules` and `target` from using up the inotify watch limit. Elsewhere the OS
//! watches the tree recursively and events are filtered.
//!
//! When the root disappears (deleted, moved away, or the disk unmounted) watching
//! reports [`WatchEvent::RootMissing`] and checks every [`WatchOptions::poll_interval`]
//! whether it is back; when it is, [`WatchEvent::RootBack`] and an update that recreates
//! the index if it vanished with the root. An index directory deleted under a running
//! watch is rebuilt the same way.
//!
//! ```no_run
//! use cseek::index::IndexOptions;
//! use cseek::watch::{watch, StopHandle, WatchEvent, WatchOptions};
//!
//! # fn main() -> cseek::Result<()> {
//! let opts = IndexOptions::new("/path/to/repo");
//! let stop = StopHandle::new();
//! let stopper = stop.clone(); // stopper.stop() from any thread ends the watch
//! watch(&opts, &WatchOptions::default(), &stop, &mut |event| {
//!     if let WatchEvent::Updated(update) = event {
//!         // Reopen the `Searcher` to see the new generation.
//!         eprintln!("{} files indexed", update.summary.files);
//!     }
//! })?;
//! # drop(stopper);
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use crate::error::{Error, Result};
use crate::index::{IndexOptions, IndexSummary, Indexer, Progress};
use crate::walk::DEFAULT_EXCLUDED_DIRS;

/// Version-control metadata directories: never indexed, and busy during every commit,
/// checkout or fetch.
const VCS_DIRS: &[&str] = &[".git", ".hg", ".svn", ".jj"];

/// The longest wait before retrying a failed update.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// How many changed paths a [`Trigger`] names.
const EXAMPLES: usize = 5;

/// Timing settings of [`watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// Update once the tree has been quiet this long after a change (default 200 ms).
    pub debounce: Duration,
    /// Update at the latest this long after the first change of a burst, even if changes
    /// keep coming (default 2 s).
    pub max_delay: Duration,
    /// How often to check that the root (and the index directory) still exist while
    /// nothing happens, and, while the root is missing, whether it is back (default 1 s;
    /// at least 10 ms).
    pub poll_interval: Duration,
    /// Build a fresh index in the start update (`--rebuild`); later updates are always
    /// incremental.
    pub rebuild_first: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            poll_interval: Duration::from_secs(1),
            rebuild_first: false,
        }
    }
}

/// Stops a running [`watch`] from any thread. Clones share the same flag.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<StopInner>);

#[derive(Debug, Default)]
struct StopInner {
    stopped: AtomicBool,
    /// One sender per running `watch` using this handle, to wake it at once.
    wakers: Mutex<Vec<Sender<Msg>>>,
}

impl StopHandle {
    /// A handle that has not been stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask every [`watch`] using this handle to return. An update in progress finishes
    /// first (it commits atomically either way); a watch waiting for events returns at
    /// once. Calling it before `watch` starts makes `watch` return immediately.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        let wakers = self.0.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        for tx in wakers.iter() {
            // A watch that already returned dropped its receiver; nothing to wake.
            let _ = tx.send(Msg::Stop);
        }
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    fn register(&self, tx: Sender<Msg>) {
        let mut wakers = self.0.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget watches that have returned, so a long-lived handle does not grow.
        wakers.retain(|w| w.send(Msg::Ping).is_ok());
        wakers.push(tx);
    }
}

/// Why an update ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The update that starts every watch.
    Start,
    /// Files changed.
    Changes,
    /// The OS dropped events (e.g. the inotify queue overflowed): anything may have
    /// changed.
    Rescan,
    /// The root came back after [`WatchEvent::RootMissing`].
    RootBack,
    /// The index directory disappeared while the root stayed.
    IndexMissing,
}

impl Cause {
    /// Lower-case name, for messages and JSON: `start`, `changes`, `rescan`,
    /// `root-back`, `index-missing`.
    pub fn name(self) -> &'static str {
        match self {
            Cause::Start => "start",
            Cause::Changes => "changes",
            Cause::Rescan => "rescan",
            Cause::RootBack => "root-back",
            Cause::IndexMissing => "index-missing",
        }
    }
}

/// What set off an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// Why the update ran.
    pub cause: Cause,
    /// File events that counted (one per path per event; 0 when not caused by changes).
    pub events: u64,
    /// Distinct paths among them.
    pub paths: usize,
    /// A few of those paths, relative to the root, sorted.
    pub examples: Vec<String>,
}

/// One finished update.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// What [`build_index`](crate::index::build_index) reported.
    pub summary: IndexSummary,
    /// What set it off.
    pub trigger: Trigger,
    /// From the first change of the burst being seen to the new index being committed
    /// (debounce wait included): how long a change took to become searchable. For the
    /// start update, the time the update took.
    pub latency: Duration,
    /// How long the [`build_index`](crate::index::build_index) call took (all of it; `summary.seconds` stops before
    /// the commit's final syncs).
    pub took: Duration,
}

/// What [`watch`] reports, in order, to its callback.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WatchEvent {
    /// An update committed a new index generation: reopen searchers to see it. (Boxed:
    /// the summary is large, the other events small.)
    Updated(Box<Update>),
    /// The start update is done and events are being listened to: from now on every
    /// change is picked up. Sent once per watch.
    Watching {
        /// The root watched (canonical).
        root: PathBuf,
        /// The index kept current.
        index_dir: PathBuf,
    },
    /// An update failed; the previous index stays in place and watching goes on. The
    /// update is retried after `retry_in` (or with the next change, debounced as usual,
    /// whichever is later).
    Error {
        /// The error, as a user would read it.
        message: String,
        /// What set off the failed update.
        trigger: Trigger,
        /// When the update is retried: [`WatchOptions::max_delay`] after the first
        /// failure, doubling with each further one, at most a minute.
        retry_in: Duration,
    },
    /// Something the user should know that is not an update's failure: what
    /// [`build_index`](crate::index::build_index) warns about (each distinct warning once), a directory that could
    /// not be watched, dropped file events.
    Warning(String),
    /// The root no longer exists (deleted, moved away, unmounted). Watching waits for it,
    /// checking every [`WatchOptions::poll_interval`].
    RootMissing {
        /// The root as given.
        root: PathBuf,
    },
    /// The root exists again; an update follows at once.
    RootBack {
        /// The root as given.
        root: PathBuf,
    },
}

/// Index `opts.root` now, then keep the index current until `stop` is stopped; every
/// update is one [`build_index`](crate::index::build_index) call with `opts`, reported to `on_event` on this
/// thread.
///
/// Errors before watching starts are returned: the root is missing or not a directory,
/// the OS refuses to watch it (e.g. the inotify watch limit), or the start update fails
/// (a model that cannot be loaded, another writer holding the index). After
/// [`WatchEvent::Watching`], nothing ends the watch but `stop`: a failed update is a
/// [`WatchEvent::Error`], a vanished root a [`WatchEvent::RootMissing`].
///
/// The embedding model is loaded once (by the first update with chunks to embed) and
/// kept for every later update ([`Indexer`]), so an update costs the changed chunks'
/// embedding, not a model load, and a model appearing or disappearing mid-watch does not
/// switch the index's model.
pub fn watch(
    opts: &IndexOptions,
    settings: &WatchOptions,
    stop: &StopHandle,
    on_event: &mut dyn FnMut(WatchEvent),
) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    stop.register(tx.clone());
    if stop.is_stopped() {
        return Ok(());
    }
    let mut first = opts.clone();
    first.rebuild = settings.rebuild_first;
    let mut w = Watch {
        opts: opts.clone(),
        indexer: Indexer::new(first),
        settings: WatchOptions {
            poll_interval: settings.poll_interval.max(Duration::from_millis(10)),
            ..settings.clone()
        },
        tx,
        warned: HashSet::new(),
        index_seen: false,
        retry: None,
        backoff: Duration::ZERO,
    };
    // Listen before the start update, so a change made while it runs is not lost.
    let armed = w.arm()?;
    let (summary, warnings, took) = w.build();
    w.warn_new(warnings, on_event);
    let summary = summary?;
    w.index_seen = true;
    w.indexer.set_rebuild(false);
    on_event(WatchEvent::Updated(Box::new(Update {
        summary,
        trigger: Trigger::without_changes(Cause::Start),
        latency: took,
        took,
    })));
    on_event(WatchEvent::Watching {
        root: armed.root.clone(),
        index_dir: armed.filter.index_dir.clone(),
    });
    w.run(armed, &rx, stop, on_event);
    Ok(())
}

/// Messages to the watching thread.
#[derive(Debug)]
enum Msg {
    Fs(notify::Result<notify::Event>),
    Stop,
    /// Checks that a watch is still listening; ignored.
    Ping,
}

/// The state of one [`watch`] call.
struct Watch {
    opts: IndexOptions,
    /// Runs the updates, keeping the loaded model between them.
    indexer: Indexer,
    settings: WatchOptions,
    tx: Sender<Msg>,
    /// Warnings already reported (build_index repeats its warnings on every run).
    warned: HashSet<String>,
    /// An index was committed since the root (re)appeared; when its directory vanishes,
    /// it is rebuilt. Not set after failures, so a broken index location cannot make
    /// every poll retry.
    index_seen: bool,
    /// A failed update, waiting to be retried.
    retry: Option<Batch>,
    /// The wait before the next retry.
    backoff: Duration,
}

/// A root being listened to.
struct Armed {
    /// Canonical root: event paths start with it.
    root: PathBuf,
    /// Identity of the root directory, to notice it being replaced between two checks.
    id: Option<DirId>,
    filter: Filter,
    watcher: RecommendedWatcher,
    /// Directories watched one by one (inotify); empty when the OS watches recursively.
    watched: BTreeSet<PathBuf>,
}

/// Changes seen but not yet indexed.
struct Batch {
    cause: Cause,
    first: Instant,
    last: Instant,
    events: u64,
    paths: HashSet<PathBuf>,
    /// A retry waits for this.
    not_before: Option<Instant>,
}

enum RootState {
    Same,
    Missing,
    /// Another directory now stands at the root's path (deleted and recreated, or moved
    /// and replaced, between two checks): the old watches are dead.
    Replaced,
}

impl Watch {
    fn run(
        &mut self,
        armed: Armed,
        rx: &Receiver<Msg>,
        stop: &StopHandle,
        on_event: &mut dyn FnMut(WatchEvent),
    ) {
        let poll = self.settings.poll_interval;
        let mut armed = Some(armed);
        let mut batch: Option<Batch> = None;
        let mut last_check = Instant::now();
        while !stop.is_stopped() {
            let Some(a) = armed.as_mut() else {
                // Root missing: wait for it without watching anything (its parent may be
                // gone too); a stop wakes the wait at once.
                match rx.recv_timeout(poll) {
                    Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                    // Events of the dropped watcher, still queued: the tree they name is gone.
                    Ok(Msg::Fs(_) | Msg::Ping) | Err(RecvTimeoutError::Timeout) => {}
                }
                if self.opts.root.is_dir() {
                    armed = self.come_back(on_event);
                    last_check = Instant::now();
                }
                continue;
            };

            self.pending(&mut batch);
            let now = Instant::now();
            // Wake for the pending update, and for the root check even while an update
            // waits (a retry can wait a minute).
            let deadline = match &batch {
                Some(b) => b.due(&self.settings).min(last_check + poll),
                None => last_check + poll,
            };
            let mut check_root = false;
            match rx.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(Msg::Ping) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Msg::Fs(Ok(event))) => {
                    let mut warnings = Vec::new();
                    if event.need_rescan() {
                        // Events were dropped, the creation of directories perhaps.
                        if PER_DIRECTORY {
                            let root = a.root.clone();
                            if let Err(err) = a.watch_tree(&root, &mut warnings) {
                                warnings.push(err.to_string());
                            }
                        }
                        batch.get_or_insert_with(|| Batch::new(Cause::Rescan)).cause =
                            Cause::Rescan;
                    }
                    let (changed, root_touched) = a.handle(&event, &mut warnings);
                    check_root |= root_touched;
                    if !changed.is_empty() {
                        let b = batch.get_or_insert_with(|| Batch::new(Cause::Changes));
                        b.last = Instant::now();
                        b.events += changed.len() as u64;
                        b.paths.extend(changed);
                    }
                    self.warn_new(warnings, on_event);
                }
                Ok(Msg::Fs(Err(err))) => {
                    // The event source itself failed (read error, watch lost): anything
                    // may have changed, so update.
                    self.warn_new(vec![format!("file events: {err}")], on_event);
                    batch.get_or_insert_with(|| Batch::new(Cause::Rescan));
                }
            }

            if check_root || last_check.elapsed() >= poll {
                last_check = Instant::now();
                match a.root_state(&self.opts.root) {
                    RootState::Same => {
                        if self.index_seen && !self.opts.index_dir.exists() && batch.is_none() {
                            batch = Some(Batch::new(Cause::IndexMissing));
                        }
                    }
                    RootState::Missing => {
                        self.go_missing(&mut armed, &mut batch, on_event);
                        continue;
                    }
                    RootState::Replaced => {
                        self.go_missing(&mut armed, &mut batch, on_event);
                        armed = self.come_back(on_event);
                        continue;
                    }
                }
            }

            if batch
                .as_ref()
                .is_some_and(|b| Instant::now() >= b.due(&self.settings))
            {
                if let Some(b) = batch.take() {
                    self.update(b, &a.root, on_event);
                }
                // A failed update may be the first sign of a vanished root.
                if !self.opts.root.is_dir() {
                    self.go_missing(&mut armed, &mut batch, on_event);
                }
            }
        }
    }

    /// Stop listening (the root is gone) and say so.
    fn go_missing(
        &mut self,
        armed: &mut Option<Armed>,
        batch: &mut Option<Batch>,
        on_event: &mut dyn FnMut(WatchEvent),
    ) {
        *armed = None;
        *batch = None;
        self.retry = None;
        self.backoff = Duration::ZERO;
        self.index_seen = false;
        on_event(WatchEvent::RootMissing {
            root: self.opts.root.clone(),
        });
    }

    /// The root is back: listen again and update (recreating the index if it went with
    /// the root). Stays missing when listening fails (the root vanished again, say).
    fn come_back(&mut self, on_event: &mut dyn FnMut(WatchEvent)) -> Option<Armed> {
        match self.arm() {
            Ok(armed) => {
                on_event(WatchEvent::RootBack {
                    root: self.opts.root.clone(),
                });
                let mut b = Batch::new(Cause::RootBack);
                b.first = Instant::now();
                self.update(b, &armed.root, on_event);
                Some(armed)
            }
            Err(err) => {
                if self.opts.root.is_dir() {
                    // There, but cannot be watched: say why, retry at the next poll.
                    self.warn_new(
                        vec![format!("cannot watch the root again: {err}")],
                        on_event,
                    );
                }
                None
            }
        }
    }

    /// Run the update `batch` asks for. A failed one is retried (into `self.retry`) after
    /// [`WatchOptions::max_delay`], doubling up to [`MAX_RETRY_DELAY`]: another writer
    /// holding the index may be done by then, and the changes would otherwise wait for
    /// the next one.
    fn update(&mut self, mut batch: Batch, root: &Path, on_event: &mut dyn FnMut(WatchEvent)) {
        let trigger = batch.trigger(root);
        let first = batch.first;
        let (result, warnings, took) = self.build();
        self.warn_new(warnings, on_event);
        if result.is_err() && self.opts.root.is_dir() {
            self.backoff = (self.backoff * 2)
                .max(self.settings.max_delay)
                .min(MAX_RETRY_DELAY);
            batch.not_before = Some(Instant::now() + self.backoff);
            self.retry = Some(batch);
        } else {
            self.backoff = Duration::ZERO;
            self.retry = None;
        }
        match result {
            Ok(summary) => {
                self.index_seen = true;
                on_event(WatchEvent::Updated(Box::new(Update {
                    summary,
                    trigger,
                    latency: first.elapsed(),
                    took,
                })));
            }
            // A root that vanished mid-update is reported as RootMissing by the caller;
            // the "cannot open" error would only repeat it.
            Err(_) if !self.opts.root.is_dir() => {}
            Err(err) => on_event(WatchEvent::Error {
                message: err.to_string(),
                trigger,
                retry_in: self.backoff,
            }),
        }
    }

    /// The batch to collect changes into: the failed one waiting for its retry, if any.
    fn pending(&mut self, batch: &mut Option<Batch>) {
        if batch.is_none() {
            *batch = self.retry.take();
        }
    }

    /// One [`Indexer::update`] run, with its warnings collected rather than printed.
    fn build(&mut self) -> (Result<IndexSummary>, Vec<String>, Duration) {
        let progress = CollectWarnings::default();
        let started = Instant::now();
        let result = self.indexer.update(&progress);
        let took = started.elapsed();
        let warnings = progress
            .0
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        (result, warnings, took)
    }

    fn warn_new(&mut self, warnings: Vec<String>, on_event: &mut dyn FnMut(WatchEvent)) {
        for w in warnings {
            if self.warned.insert(w.clone()) {
                on_event(WatchEvent::Warning(w));
            }
        }
    }

    /// Start listening to the root.
    fn arm(&self) -> Result<Armed> {
        let given = &self.opts.root;
        let root = std::fs::canonicalize(given).map_err(|e| Error::io("opening", given, e))?;
        let meta = std::fs::metadata(&root).map_err(|e| Error::io("reading", &root, e))?;
        if !meta.is_dir() {
            return Err(Error::InvalidOption(format!(
                "{} is not a directory",
                given.display()
            )));
        }
        let filter = Filter::new(&root, &self.opts);
        let tx = self.tx.clone();
        let config = notify::Config::default().with_follow_symlinks(self.opts.walk.follow_links);
        let watcher = RecommendedWatcher::new(
            move |event| {
                // The receiver is gone only when the watch has returned.
                let _ = tx.send(Msg::Fs(event));
            },
            config,
        )
        .map_err(|e| watch_error(&root, e))?;
        let mut armed = Armed {
            id: dir_id(&meta),
            root,
            filter,
            watcher,
            watched: BTreeSet::new(),
        };
        if PER_DIRECTORY {
            let root = armed.root.clone();
            armed
                .watcher
                .watch(&root, RecursiveMode::NonRecursive)
                .map_err(|e| watch_error(&root, e))?;
            armed.watched.insert(root.clone());
            // Reaching the watch limit at the start is an error: a watch that silently
            // misses changes in part of the tree is worse than none. Other directories
            // that cannot be watched are left out, like the index walk leaves them out.
            let mut ignored = Vec::new();
            armed.watch_tree(&root, &mut ignored)?;
        } else {
            armed
                .watcher
                .watch(&armed.root, RecursiveMode::Recursive)
                .map_err(|e| watch_error(&armed.root, e))?;
        }
        Ok(armed)
    }
}

/// Whether directories are watched one by one (inotify has no recursive watch; notify
/// would otherwise add one per directory of the whole tree, `node_modules` included).
const PER_DIRECTORY: bool = cfg!(any(target_os = "linux", target_os = "android"));

fn watch_error(path: &Path, err: notify::Error) -> Error {
    let source = match err.kind {
        notify::ErrorKind::Io(e) => e,
        notify::ErrorKind::MaxFilesWatch => std::io::Error::other(
            "the OS limit on watched directories is reached; raise it, e.g. \
             `sudo sysctl fs.inotify.max_user_watches=524288`",
        ),
        notify::ErrorKind::PathNotFound => std::io::Error::from(std::io::ErrorKind::NotFound),
        other => std::io::Error::other(format!("{other:?}")),
    };
    Error::io("watching", path, source)
}

impl Armed {
    /// Process one event: the changed paths that count, and whether it concerns the root
    /// itself (deleted or moved: check it). Keeps per-directory watches in step with
    /// directories appearing and disappearing; directories that cannot be watched are
    /// added to `warnings`.
    fn handle(
        &mut self,
        event: &notify::Event,
        warnings: &mut Vec<String>,
    ) -> (Vec<PathBuf>, bool) {
        let mut changed = Vec::new();
        let mut root_touched = false;
        // Opening and reading files (our own walk does, on every update) changes nothing.
        if matches!(event.kind, EventKind::Access(a) if a != AccessKind::Close(AccessMode::Write)) {
            return (changed, false);
        }
        for (i, path) in event.paths.iter().enumerate() {
            if path == &self.root {
                root_touched = true;
                continue;
            }
            if !self.filter.counts(path) {
                continue;
            }
            if PER_DIRECTORY {
                let gone = match event.kind {
                    EventKind::Remove(_) => true,
                    EventKind::Modify(ModifyKind::Name(RenameMode::From)) => true,
                    EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => i == 0,
                    _ => false,
                };
                // Forget first: a directory deleted and recreated under the same name
                // needs a fresh watch, and a renamed one its new name.
                if gone {
                    self.unwatch_tree(path);
                }
                if self.filter.is_dir(path) && !self.watched.contains(path) {
                    if let Err(err) = self.watch_tree(path, warnings) {
                        warnings.push(err.to_string());
                    }
                }
            }
            changed.push(path.clone());
        }
        (changed, root_touched)
    }

    /// Watch `dir` and every directory below it that can hold indexed files. Directories
    /// that cannot be watched are added to `warnings`; reaching the OS limit on watches
    /// stops and is the error.
    fn watch_tree(&mut self, dir: &Path, warnings: &mut Vec<String>) -> Result<()> {
        let filter = self.filter.clone();
        let top = dir.to_path_buf();
        let mut walker = ignore::WalkBuilder::new(dir);
        walker
            .standard_filters(false)
            .follow_links(self.filter.follow_links)
            .filter_entry(move |e| {
                e.file_type().is_some_and(|t| t.is_dir())
                    && (e.path() == top.as_path() || filter.counts(e.path()))
            });
        for entry in walker.build() {
            // Unreadable directories are skipped by the index walk too.
            let Ok(entry) = entry else { continue };
            if !entry.file_type().is_some_and(|t| t.is_dir()) || self.watched.contains(entry.path())
            {
                continue;
            }
            match self
                .watcher
                .watch(entry.path(), RecursiveMode::NonRecursive)
            {
                Ok(()) => {
                    self.watched.insert(entry.path().to_path_buf());
                }
                Err(err) => match err.kind {
                    // Past the limit every further directory fails the same way.
                    notify::ErrorKind::MaxFilesWatch => {
                        return Err(watch_error(entry.path(), err));
                    }
                    // Deleted since the walk saw it: its parent's event covers it.
                    notify::ErrorKind::PathNotFound => {}
                    notify::ErrorKind::Io(ref e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    _ => warnings.push(watch_error(entry.path(), err).to_string()),
                },
            }
        }
        Ok(())
    }

    /// Forget the watches of `dir` and the directories below it.
    fn unwatch_tree(&mut self, dir: &Path) {
        let below: Vec<PathBuf> = self
            .watched
            .range(dir.to_path_buf()..)
            .take_while(|p| p.starts_with(dir))
            .cloned()
            .collect();
        for p in below {
            // The kernel drops the watch of a deleted directory by itself.
            let _ = self.watcher.unwatch(&p);
            self.watched.remove(&p);
        }
    }

    fn root_state(&self, given: &Path) -> RootState {
        match std::fs::metadata(given) {
            Ok(m) if m.is_dir() => {
                if self.id.is_some() && dir_id(&m) != self.id {
                    RootState::Replaced
                } else {
                    RootState::Same
                }
            }
            _ => RootState::Missing,
        }
    }
}

/// Which event paths can matter to the index.
#[derive(Clone)]
struct Filter {
    root: PathBuf,
    /// The index directory, absolute (and canonical when it exists).
    index_dir: PathBuf,
    /// The index directory as given, made absolute (it may differ from the canonical
    /// form through symlinks).
    index_dir_given: PathBuf,
    default_excludes: bool,
    follow_links: bool,
}

impl Filter {
    fn new(root: &Path, opts: &IndexOptions) -> Filter {
        let given = std::path::absolute(&opts.index_dir).unwrap_or_else(|_| opts.index_dir.clone());
        // The index may not exist yet; its parent usually does.
        let index_dir = std::fs::canonicalize(&given).unwrap_or_else(|_| {
            match (given.parent(), given.file_name()) {
                (Some(parent), Some(name)) => std::fs::canonicalize(parent)
                    .map(|p| p.join(name))
                    .unwrap_or_else(|_| given.clone()),
                _ => given.clone(),
            }
        });
        Filter {
            root: root.to_path_buf(),
            index_dir,
            index_dir_given: given,
            default_excludes: opts.walk.use_default_excludes,
            follow_links: opts.walk.follow_links,
        }
    }

    /// Whether a change at `path` may change the index.
    fn counts(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return false;
        };
        if rel.as_os_str().is_empty()
            || path.starts_with(&self.index_dir)
            || path.starts_with(&self.index_dir_given)
        {
            return false;
        }
        // No file with one of these names is indexed either (none has an extension the
        // walk takes), so the last component can be checked like the directories.
        !rel.components().any(|c| {
            c.as_os_str().to_str().is_some_and(|name| {
                VCS_DIRS.contains(&name)
                    || (self.default_excludes && DEFAULT_EXCLUDED_DIRS.contains(&name))
            })
        })
    }

    /// Whether `path` is a directory the walk would enter (symlinks only when followed).
    fn is_dir(&self, path: &Path) -> bool {
        let meta = if self.follow_links {
            std::fs::metadata(path)
        } else {
            std::fs::symlink_metadata(path)
        };
        meta.is_ok_and(|m| m.is_dir())
    }
}

impl Batch {
    fn new(cause: Cause) -> Batch {
        let now = Instant::now();
        Batch {
            cause,
            first: now,
            last: now,
            events: 0,
            paths: HashSet::new(),
            not_before: None,
        }
    }

    /// When to update: after `debounce` of quiet, at the latest `max_delay` after the
    /// first change.
    fn due(&self, s: &WatchOptions) -> Instant {
        let due = if self.cause == Cause::Rescan {
            // Dropped events are rare; waiting the longest keeps a flood (our own walk
            // opening every file counts as events too) from becoming a loop of rescans.
            self.first + s.max_delay
        } else {
            (self.last + s.debounce).min(self.first + s.max_delay)
        };
        self.not_before.map_or(due, |t| t.max(due))
    }

    fn trigger(&self, root: &Path) -> Trigger {
        let mut examples: Vec<String> = self
            .paths
            .iter()
            .map(|p| crate::walk::rel_path(root, p))
            .collect();
        examples.sort();
        examples.truncate(EXAMPLES);
        Trigger {
            cause: self.cause,
            events: self.events,
            paths: self.paths.len(),
            examples,
        }
    }
}

impl Trigger {
    fn without_changes(cause: Cause) -> Trigger {
        Trigger {
            cause,
            events: 0,
            paths: 0,
            examples: Vec::new(),
        }
    }
}

/// A [`Progress`] that keeps the warnings, so they become [`WatchEvent::Warning`]s.
#[derive(Default)]
struct CollectWarnings(Mutex<Vec<String>>);

impl Progress for CollectWarnings {
    fn warn(&self, message: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message.to_string());
    }
}

/// Device and inode of a directory (Unix); elsewhere only existence is checked.
type DirId = (u64, u64);

#[cfg(unix)]
fn dir_id(meta: &std::fs::Metadata) -> Option<DirId> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn dir_id(_meta: &std::fs::Metadata) -> Option<DirId> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(root: &str, index: &str) -> Filter {
        Filter {
            root: PathBuf::from(root),
            index_dir: PathBuf::from(index),
            index_dir_given: PathBuf::from(index),
            default_excludes: true,
            follow_links: false,
        }
    }

    #[test]
    fn filter_skips_index_vcs_and_build_dirs() {
        let f = filter("/r", "/r/.cseek");
        assert!(f.counts(Path::new("/r/src/main.rs")));
        assert!(f.counts(Path::new("/r/.gitignore")));
        assert!(f.counts(Path::new("/r/.github/workflows/ci.yml")));
        assert!(!f.counts(Path::new("/r")));
        assert!(!f.counts(Path::new("/r/.cseek")));
        assert!(!f.counts(Path::new("/r/.cseek/gen-1/chunks.bin")));
        assert!(!f.counts(Path::new("/r/.git/index.lock")));
        assert!(!f.counts(Path::new("/r/target/debug/x.rs")));
        assert!(!f.counts(Path::new("/r/web/node_modules/a/index.js")));
        assert!(!f.counts(Path::new("/elsewhere/a.rs")));
        // A name that merely starts like the index directory is not inside it.
        assert!(f.counts(Path::new("/r/.cseek2/a.rs")));
        let mut keep = filter("/r", "/idx");
        keep.default_excludes = false;
        assert!(keep.counts(Path::new("/r/target/gen.rs")));
        assert!(!keep.counts(Path::new("/r/.git/HEAD")));
    }

    #[test]
    fn batch_is_due_after_quiet_or_max_delay() {
        let s = WatchOptions {
            debounce: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            ..WatchOptions::default()
        };
        let mut b = Batch::new(Cause::Changes);
        assert_eq!(b.due(&s), b.first + s.debounce);
        b.last = b.first + Duration::from_secs(5);
        assert_eq!(b.due(&s), b.first + s.max_delay);
    }

    #[test]
    fn stop_before_start_returns_at_once() {
        let stop = StopHandle::new();
        stop.stop();
        let opts = IndexOptions::new("/definitely/not/there");
        let mut events = Vec::new();
        watch(&opts, &WatchOptions::default(), &stop, &mut |e| {
            events.push(e)
        })
        .expect("a stopped watch does nothing");
        assert!(events.is_empty());
    }
}
