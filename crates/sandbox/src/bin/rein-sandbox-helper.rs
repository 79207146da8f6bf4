//! The `linux` backend's helper as a stand-alone binary, for this crate's tests (the `rein`
//! binary runs the same code through `rein_sandbox::run_helper_if_requested`).

fn main() -> std::process::ExitCode {
    let code = rein_sandbox::run_helper();
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
