/// mimalloc rather than the system allocator: a check allocates and frees many small buffers (HTTP
/// requests and answers, decoded claims, result rows) across the runtime's threads, and glibc's malloc
/// spent about a fifth of a sweep's CPU on it, much of that consolidating its free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    consent_portal::cli::main()
}
