//! The persistent embedding cache: round trips, model separation, torn tails, random
//! damage, a writer killed with SIGKILL, and garbage collection.

use std::collections::HashSet;
use std::path::Path;

use cseek::cache::{cache_key, EmbeddingCache};

/// Small deterministic generator (splitmix64), so every failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Entry `i` of a test model: its key and a vector derived from `i` alone, so any reader
/// can check a vector it gets back. Includes a NaN and signed zero to check bit identity.
fn key(i: u64) -> [u8; 32] {
    cache_key("test-model", &format!("chunk text {i}"))
}

fn vector(i: u64, dims: usize) -> Vec<f32> {
    let mut rng = Rng(i.wrapping_mul(7919) ^ dims as u64);
    let mut v: Vec<f32> = (0..dims)
        .map(|_| (rng.next() as i64 as f64 / i64::MAX as f64) as f32)
        .collect();
    if i.is_multiple_of(5) {
        v[0] = -0.0;
    }
    if i.is_multiple_of(7) {
        v[dims - 1] = f32::from_bits(0x7fc0_1234);
    }
    v
}

fn insert_range(cache: &mut EmbeddingCache, range: std::ops::Range<u64>) {
    let dims = cache.dims();
    let vecs: Vec<(u64, Vec<f32>)> = range.map(|i| (i, vector(i, dims))).collect();
    let entries: Vec<([u8; 32], &[f32])> =
        vecs.iter().map(|(i, v)| (key(*i), v.as_slice())).collect();
    cache.insert_batch(&entries).unwrap();
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Entry `i` is present with exactly its vector.
fn has(cache: &EmbeddingCache, i: u64) -> bool {
    let mut out = vec![0f32; cache.dims()];
    let got = cache.get_into(&key(i), &mut out);
    assert_eq!(
        got,
        cache.contains(&key(i)),
        "get_into and contains disagree on {i}"
    );
    if got {
        assert_eq!(
            bits(&out),
            bits(&vector(i, cache.dims())),
            "wrong vector for {i}"
        );
    }
    got
}

fn flip_bytes(path: &Path, rng: &mut Rng, flips: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    for _ in 0..flips {
        let at = rng.below(bytes.len() as u64) as usize;
        bytes[at] ^= 1 + rng.below(255) as u8;
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn cache_is_send() {
    fn send<T: Send>() {}
    send::<EmbeddingCache>();
}

#[test]
fn cache_key_separates_identity_from_text() {
    assert_ne!(cache_key("ab", "c"), cache_key("a", "bc"));
    assert_ne!(cache_key("", "x"), cache_key("x", ""));
    assert_eq!(cache_key("m", "t"), cache_key("m", "t"));
}

#[test]
fn round_trip_survives_reopen_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let dims = 256;
    {
        let mut cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
        assert!(cache.is_empty());
        for start in (0..1000).step_by(100) {
            insert_range(&mut cache, start..start + 100);
        }
        // Existing keys are ignored, repeated ones in a batch too.
        let before = cache.disk_bytes();
        insert_range(&mut cache, 0..10);
        let v = vector(5000, dims);
        cache
            .insert_batch(&[(key(5000), &v[..]), (key(5000), &v[..])])
            .unwrap();
        assert_eq!(cache.len(), 1001);
        assert_eq!(cache.disk_bytes(), before + (40 + 4 * dims as u64));
        cache.sync().unwrap();
    }
    let cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
    assert_eq!(cache.len(), 1001);
    assert!((0..1000).all(|i| has(&cache, i)));
    assert!(has(&cache, 5000));
    assert!(!has(&cache, 1000));
    let mut short = vec![0f32; dims - 1];
    assert!(!cache.get_into(&key(1), &mut short));
    // A vector of the wrong length is refused.
    let mut cache = cache;
    assert!(cache.insert_batch(&[(key(9999), &short[..])]).is_err());
}

#[test]
fn other_identity_or_dims_is_a_separate_empty_cache() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = EmbeddingCache::open(dir.path(), "test-model", 64).unwrap();
    insert_range(&mut a, 0..50);
    let b = EmbeddingCache::open(dir.path(), "other-model", 64).unwrap();
    let c = EmbeddingCache::open(dir.path(), "test-model", 32).unwrap();
    assert!(b.is_empty() && c.is_empty());
    assert!(!b.contains(&key(1)) && !c.contains(&key(1)));
    let paths: HashSet<_> = [a.path(), b.path(), c.path()].into_iter().collect();
    assert_eq!(paths.len(), 3);
    drop((a, b, c));
    let a = EmbeddingCache::open(dir.path(), "test-model", 64).unwrap();
    assert_eq!(a.len(), 50);
}

#[test]
fn torn_tail_drops_partial_record_and_is_overwritten() {
    let dims = 48;
    let rec = 40 + 4 * dims as u64;
    let mut rng = Rng(11);
    for trial in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let mut cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
            insert_range(&mut cache, 0..30);
            cache.path().to_path_buf()
        };
        let full = std::fs::metadata(&path).unwrap().len();
        // Cut 1..3 records' worth, mostly not on a record boundary.
        let cut = 1 + rng.below(3 * rec - 1);
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(full - cut).unwrap();
        drop(file);
        let whole = 30 - cut.div_ceil(rec);

        let mut cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
        assert_eq!(cache.len() as u64, whole, "trial {trial} cut {cut}");
        assert!((0..whole).all(|i| has(&cache, i)));
        assert!((whole..30).all(|i| !has(&cache, i)));
        insert_range(&mut cache, 100..102);
        assert_eq!(
            cache.disk_bytes(),
            32 + (whole + 2) * rec,
            "partial record overwritten"
        );
        drop(cache);

        let cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
        assert_eq!(cache.len() as u64, whole + 2);
        assert!((0..whole).all(|i| has(&cache, i)));
        assert!(has(&cache, 100) && has(&cache, 101));
    }
}

#[test]
fn random_damage_never_yields_a_wrong_vector() {
    let dims = 16;
    let n = 40;
    let src = tempfile::tempdir().unwrap();
    let original = {
        let mut cache = EmbeddingCache::open(src.path(), "test-model", dims).unwrap();
        insert_range(&mut cache, 0..n);
        std::fs::read(cache.path()).unwrap()
    };
    let mut rng = Rng(2024);
    let mut survivors = 0;
    for trial in 0..300 {
        let dir = tempfile::tempdir().unwrap();
        let path = EmbeddingCache::open(dir.path(), "test-model", dims)
            .unwrap()
            .path()
            .to_path_buf();
        std::fs::write(&path, &original).unwrap();
        let flips = 1 + rng.below(4) as usize;
        flip_bytes(&path, &mut rng, flips);
        if trial % 10 == 0 {
            // Sometimes also a torn tail.
            let len = std::fs::metadata(&path).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(len - 1 - rng.below(len)).unwrap();
        }
        let mut cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
        let present = (0..n).filter(|&i| has(&cache, i)).count();
        assert_eq!(present, cache.len(), "trial {trial}");
        survivors += present;
        // Still writable after damage, and what it wrote reads back.
        insert_range(&mut cache, 1000..1003);
        drop(cache);
        let cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
        assert!((1000..1003).all(|i| has(&cache, i)), "trial {trial}");
        assert_eq!((0..n).filter(|&i| has(&cache, i)).count(), present);
    }
    // Flips cost a record each (or the whole file when they hit the header), not more.
    assert!(survivors > 300 * (n as usize) / 2, "{survivors}");
}

#[test]
fn gc_keeps_pinned_and_newest_and_shrinks_file() {
    let dir = tempfile::tempdir().unwrap();
    let dims = 32;
    let mut cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
    for start in (0..1000).step_by(50) {
        insert_range(&mut cache, start..start + 50);
    }
    let keep: HashSet<[u8; 32]> = (0..200)
        .step_by(4)
        .map(key)
        .chain([key(777_777)]) // unknown keys are ignored
        .collect();
    let bytes = cache.disk_bytes();
    let stats = cache.gc(&keep, 300).unwrap();
    assert!(stats.rewritten);
    assert_eq!((stats.before, stats.after), (1000, 300));
    assert_eq!(stats.bytes_before, bytes);
    assert!(stats.bytes_after < bytes / 3);
    assert_eq!(stats.bytes_after, cache.disk_bytes());
    let expect = |i: u64| (i < 200 && i.is_multiple_of(4)) || i >= 750;
    let check = |cache: &EmbeddingCache| {
        for i in 0..1000 {
            assert_eq!(has(cache, i), expect(i), "entry {i}");
        }
    };
    check(&cache);
    // Appends after a rewrite land in the new file.
    insert_range(&mut cache, 2000..2010);
    cache.sync().unwrap();
    drop(cache);
    let mut cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
    assert_eq!(cache.len(), 310);
    check(&cache);
    assert!((2000..2010).all(|i| has(&cache, i)));

    // Nothing worth dropping: the file is left alone.
    let stats = cache.gc(&keep, 305).unwrap();
    assert!(!stats.rewritten);
    assert_eq!((stats.after, stats.bytes_after), (310, stats.bytes_before));
    // `keep` larger than the bound: all of it stays, nothing else.
    let stats = cache.gc(&keep, 10).unwrap();
    assert_eq!(stats.after, 50);
    assert!((0..200).step_by(4).all(|i| has(&cache, i)));
    assert!(!has(&cache, 2009));
}

const KILL_ENV: &str = "CSEEK_CACHE_TEST_KILL_DIR";

/// The child side of `killed_writer_keeps_complete_records`: appends entries forever,
/// logging each finished batch; does nothing when run normally.
#[test]
#[ignore = "helper process for killed_writer_keeps_complete_records"]
fn kill_child_writer() {
    let Ok(dir) = std::env::var(KILL_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let start: u64 = std::env::var("CSEEK_CACHE_TEST_START")
        .unwrap()
        .parse()
        .unwrap();
    let mut cache = EmbeddingCache::open(&dir.join("cache"), "test-model", 256).unwrap();
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join("progress"))
        .unwrap();
    let mut rng = Rng(start);
    let mut next = start;
    loop {
        // Large batches too, so the kill often lands inside a write.
        let n = 1 + rng.below(400);
        insert_range(&mut cache, next..next + n);
        next += n;
        std::io::Write::write_all(&mut log, format!("{next}\n").as_bytes()).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn killed_writer_keeps_complete_records() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let progress = dir.path().join("progress");
    let done = |p: &Path| -> u64 {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.parse().ok())
            .max() // a line read mid-write parses as a smaller number
            .unwrap_or(0)
    };
    let mut rng = Rng(99);
    let mut start = 0u64;
    for round in 0..4 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kill_child_writer",
                "--ignored",
                "--test-threads=1",
            ])
            .env(KILL_ENV, dir.path())
            .env("CSEEK_CACHE_TEST_START", start.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let target = start + 2000 + rng.below(3000);
        let deadline = Instant::now() + Duration::from_secs(120);
        while done(&progress) < target {
            assert!(Instant::now() < deadline, "child made no progress");
            assert!(child.try_wait().unwrap().is_none(), "child exited");
            std::thread::sleep(Duration::from_millis(1 + rng.below(5)));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let finished = done(&progress);

        let mut cache = EmbeddingCache::open(&dir.path().join("cache"), "test-model", 256).unwrap();
        assert!((0..finished).all(|i| has(&cache, i)), "round {round}");
        // Records written after the last logged batch may be there too, whole and right.
        let extra = (finished..finished + 1000)
            .filter(|&i| has(&cache, i))
            .count();
        // Plus one entry of each earlier round, inserted below.
        let total = finished + extra as u64 + round;
        assert_eq!(cache.len() as u64, total, "round {round}");
        insert_range(&mut cache, 1_000_000 + round..1_000_001 + round);
        start = finished;
    }
    let cache = EmbeddingCache::open(&dir.path().join("cache"), "test-model", 256).unwrap();
    assert!((1_000_000..1_000_004).all(|i| has(&cache, i)));
}

/// Sizes and open time, for the record: `cargo test --test cache -- --ignored --nocapture
/// measure`.
#[test]
#[ignore = "measurement, prints numbers"]
fn measure_disk_and_open_time() {
    use std::time::Instant;
    for dims in [256usize, 384] {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = EmbeddingCache::open(dir.path(), "test-model", dims).unwrap();
        for start in (0..10_000).step_by(1000) {
            insert_range(&mut cache, start..start + 1000);
        }
        println!("{dims}-d: {} bytes per 10k entries", cache.disk_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000u64;
    let t = Instant::now();
    {
        let mut cache = EmbeddingCache::open(dir.path(), "test-model", 256).unwrap();
        for start in (0..n).step_by(1000) {
            insert_range(&mut cache, start..start + 1000);
        }
        cache.sync().unwrap();
        println!(
            "256-d, {n} entries: {} bytes, insert+sync {:.2?} (incl. making vectors)",
            cache.disk_bytes(),
            t.elapsed()
        );
    }
    for _ in 0..3 {
        let t = Instant::now();
        let cache = EmbeddingCache::open(dir.path(), "test-model", 256).unwrap();
        let opened = t.elapsed();
        let mut out = vec![0f32; 256];
        let t = Instant::now();
        let hits = (0..n)
            .filter(|&i| cache.get_into(&key(i), &mut out))
            .count();
        println!(
            "open {n}: {opened:.2?}; get_into all: {:.2?} ({hits} hits)",
            t.elapsed()
        );
    }
    let mut cache = EmbeddingCache::open(dir.path(), "test-model", 256).unwrap();
    let t = Instant::now();
    let keep: HashSet<[u8; 32]> = (0..n).step_by(2).map(key).collect();
    let stats = cache.gc(&keep, 60_000).unwrap();
    println!("gc 100k -> {}: {:.2?}", stats.after, t.elapsed());
}
