// mimalloc rather than the system allocator: a no-op plan of 10,000 resources spent a third of
// its time in glibc's malloc and free, which its many small maps and strings keep busy, and
// most of the rest of process exit returning them (issue 14).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cairn::cli::main()
}
