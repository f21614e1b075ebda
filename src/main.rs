// mimalloc rather than the system allocator: a no-op plan of 10,000 resources spent a third of
// its time in glibc's malloc and free, which its many small maps and strings keep busy, and
// most of the rest of process exit returning them (issue 14).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e` of the v3 `mimalloc.h` that
/// libmimalloc-sys builds; the crate's bindings name the options around it but not this one).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Never hand freed pages back to the system: the process is short-lived, and returning them
    // only to fault them in again cost a 10,000-resource no-op plan 1,200 of its 1,700 minor
    // faults and most of its 0.1–0.3 s of system time (issue 14). Set here rather than through
    // MIMALLOC_PURGE_DELAY, which the allocator reads before main runs.
    // SAFETY: mi_option_set only stores the value in the allocator's option table; no allocation
    // made so far depends on it.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
    no_transparent_huge_pages();
    cairn::cli::main()
}

/// Turns off transparent huge pages for this process. mimalloc asks for them on its arenas, and
/// each first touch of one then zeroes 2 MiB at once, used or not: a 10,000-resource no-op plan
/// spent a quarter of its CPU time in the kernel clearing such pages, and held 10 MB more
/// (issue 14). With 4 KiB pages only what is used is cleared. The flag is checked when a page
/// is faulted in, so it holds for the arena mimalloc reserved before `main` too; mimalloc's own
/// `allow_thp` option is read before `main`, too early to set here.
#[cfg(target_os = "linux")]
fn no_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process; it reads no memory of ours.
    // A kernel without it refuses, and the process runs as before.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() {}
