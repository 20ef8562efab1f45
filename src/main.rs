fn main() -> std::process::ExitCode {
    consent_portal::cli::main()
}
