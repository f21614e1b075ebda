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
    cairn::cli::main()
}
