//! The `dsms` binary.

fn main() -> std::process::ExitCode {
    dsms::cli::main()
}
