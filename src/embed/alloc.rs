//! Keeping freed memory in the process (lever 2 of `../shared/notes/cpu-inference.md`).
//!
//! glibc malloc serves blocks above 128 KiB–32 MiB (its adaptive mmap threshold) with
//! fresh `mmap`s and returns them on `free`, and trims the heap top eagerly. Every large
//! intermediate tensor of a forward pass is then new memory, and first touch of new memory
//! costs a page fault per 4 KiB: at 32×256 a third of the CPU time was the kernel serving
//! those faults. Disabling mmap for allocations and raising the trim threshold makes freed
//! blocks reusable by the next batch, at the cost of holding on to the peak heap.
//!
//! It is process-wide, so only a program that owns its process opts in: the `cseek`
//! binary calls [`tune_malloc`] at start (`CSEEK_MALLOC_TUNE=0` opts out), benchmarks
//! toggle [`set_malloc_reuse`]; the library never does (an editor linking it keeps its own
//! allocator behaviour). Other C libraries (musl, macOS, Windows): no-op.

use std::sync::atomic::{AtomicBool, Ordering};

static TUNED: AtomicBool = AtomicBool::new(false);

/// Whether the environment leaves malloc tuning on (`CSEEK_MALLOC_TUNE` not `0`/`off`).
fn enabled_by_env() -> bool {
    !matches!(
        std::env::var("CSEEK_MALLOC_TUNE").as_deref(),
        Ok("0") | Ok("off") | Ok("false")
    )
}

/// Applies the tuning once per process (unless opted out); returns whether it is active.
pub fn tune_malloc() -> bool {
    if TUNED.load(Ordering::Relaxed) {
        return true;
    }
    if !enabled_by_env() {
        return false;
    }
    set_malloc_reuse(true)
}

/// Turns reuse of freed memory on (`true`) or back to glibc's defaults (`false`); returns
/// whether the setting took effect. The benchmark toggles it to measure the lever.
pub fn set_malloc_reuse(on: bool) -> bool {
    let ok = imp::set(on);
    if ok {
        TUNED.store(on, Ordering::Relaxed);
    }
    ok
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    /// glibc defaults: mmap threshold 128 KiB (adaptive), up to 65,536 mmaps, trim 128 KiB.
    pub fn set(on: bool) -> bool {
        let (mmap_max, trim, top_pad) = if on {
            (0, 1 << 30, 64 << 20)
        } else {
            (65_536, 128 * 1024, 0)
        };
        // SAFETY: mallopt only updates malloc's tunables under its own lock; it has no
        // memory-safety preconditions.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, mmap_max) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, trim) == 1
                && libc::mallopt(libc::M_TOP_PAD, top_pad) == 1
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn set(_on: bool) -> bool {
        false
    }
}
