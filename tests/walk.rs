//! The walker on awkward trees: ignore files, default excludes, binary and non-UTF-8
//! files, huge files, symlink loops, unreadable files.

use std::fs;
use std::path::Path;

use cseek::lang::Language;
use cseek::walk::{read_file, walk, Candidate, SkipReason, WalkOptions};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(p, bytes).unwrap();
}

fn paths(c: &[Candidate]) -> Vec<&str> {
    c.iter().map(|c| c.rel_path.as_str()).collect()
}

#[test]
fn empty_directory_yields_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (files, stats) = walk(dir.path(), &WalkOptions::default(), None).unwrap();
    assert!(files.is_empty());
    assert_eq!(stats.total_skipped(), 0);
}

#[test]
fn missing_root_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(walk(&dir.path().join("nope"), &WalkOptions::default(), None).is_err());
}

#[test]
fn ignore_files_and_default_excludes() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "src/main.rs", b"fn main() {}\n");
    write(r, "src/gen.rs", b"fn gen() {}\n");
    write(r, "notes.md", b"# Notes\n");
    write(r, "node_modules/x/index.js", b"module.exports = 1;\n");
    write(r, "target/debug/build.rs", b"fn x() {}\n");
    write(r, ".hidden/secret.py", b"x = 1\n");
    write(r, "logs/a.py", b"x = 1\n");
    write(r, "logs/keep.py", b"x = 1\n");
    write(r, "Cargo.lock", b"# lock\n");
    write(r, "logo.png", b"\x89PNG....");
    write(r, ".gitignore", b"src/gen.rs\n");
    // .cseekignore uses gitignore syntax, `!` re-includes.
    write(r, ".cseekignore", b"logs/\n");
    write(r, "logs/.cseekignore", b"!keep.py\n");
    let (files, stats) = walk(r, &WalkOptions::default(), None).unwrap();
    assert_eq!(paths(&files), vec!["notes.md", "src/main.rs"]);
    assert_eq!(stats.skipped.get(&SkipReason::Generated), Some(&1));
    assert_eq!(stats.skipped.get(&SkipReason::UnsupportedType), Some(&1));
    assert_eq!(files[1].language, Language::Rust);

    // A re-include inside an ignored directory cannot work (git's rule: the directory
    // is never entered), but a re-include of a file ignored by pattern does.
    write(r, ".cseekignore", b"logs/*.py\n!logs/keep.py\n");
    let (files, _) = walk(r, &WalkOptions::default(), None).unwrap();
    assert_eq!(
        paths(&files),
        vec!["logs/keep.py", "notes.md", "src/main.rs"]
    );

    let opts = WalkOptions {
        use_default_excludes: false,
        ..WalkOptions::default()
    };
    let (files, _) = walk(r, &opts, None).unwrap();
    assert!(paths(&files).contains(&"node_modules/x/index.js"));
    assert!(paths(&files).contains(&"target/debug/build.rs"));
}

#[test]
fn exclude_globs_apply_relative_to_root() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "a/x.c", b"int x;\n");
    write(r, "a/y.py", b"y = 1\n");
    write(r, "a/.hash/z.py", b"z = 1\n");
    let opts = WalkOptions {
        exclude: vec!["**/*.c".into(), "**/.hash/**".into()],
        ..WalkOptions::default()
    };
    let (files, _) = walk(r, &opts, None).unwrap();
    assert_eq!(paths(&files), vec!["a/y.py"]);
}

#[test]
fn size_limit_binary_and_non_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "big.js", &vec![b'a'; 2000]);
    write(r, "bin.py", b"import os\0\0\x01\x02");
    write(r, "latin1.py", b"# caf\xe9\nx = 1\n");
    let opts = WalkOptions {
        max_file_bytes: 1000,
        ..WalkOptions::default()
    };
    let (files, stats) = walk(r, &opts, None).unwrap();
    assert_eq!(stats.skipped.get(&SkipReason::TooLarge), Some(&1));
    assert_eq!(stats.examples[&SkipReason::TooLarge], vec!["big.js"]);
    assert_eq!(paths(&files), vec!["bin.py", "latin1.py"]);
    assert_eq!(read_file(&files[0], &opts), Err(SkipReason::Binary));
    let latin = read_file(&files[1], &opts).unwrap();
    assert!(latin.lossy);
    let strict = WalkOptions {
        lossy_utf8: false,
        ..opts
    };
    assert_eq!(read_file(&files[1], &strict), Err(SkipReason::NotUtf8));
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_abort() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "a/real.py", b"x = 1\n");
    std::os::unix::fs::symlink(r.join("a"), r.join("a/loop")).unwrap();
    std::os::unix::fs::symlink(r.join("missing"), r.join("dangling.py")).unwrap();

    // Not following links: links are counted, never entered.
    let (files, stats) = walk(r, &WalkOptions::default(), None).unwrap();
    assert_eq!(paths(&files), vec!["a/real.py"]);
    assert_eq!(stats.skipped.get(&SkipReason::Symlink), Some(&2));

    // Following links: the loop is detected and counted, the walk completes.
    let follow = WalkOptions {
        follow_links: true,
        ..WalkOptions::default()
    };
    let (files, stats) = walk(r, &follow, None).unwrap();
    assert_eq!(paths(&files), vec!["a/real.py"]);
    assert_eq!(stats.skipped.get(&SkipReason::WalkError), Some(&2)); // loop + dangling
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_counted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "secret.py", b"x = 1\n");
    let secret = r.join("secret.py");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    let (files, _) = walk(r, &WalkOptions::default(), None).unwrap();
    assert_eq!(files.len(), 1);
    if fs::read(&secret).is_ok() {
        // Running as root: permissions do not stop us, so make the file vanish between
        // walk and read instead — the same code path (open fails) must report it.
        fs::remove_file(&secret).unwrap();
    }
    assert_eq!(
        read_file(&files[0], &WalkOptions::default()),
        Err(SkipReason::Unreadable)
    );
}
