//! `cargo xtask <command>`: the project's set-up, build and test steps in one place, so that a
//! fresh machine needs nothing but Rust to run the studio or the whole test suite.
//!
//! - `test`: installs what the tests need (the wasm32 target, the npm clients), runs every test of the
//!   workspace and checks that the browser-side crates build for wasm32.
//! - `run`: builds what the studio needs and starts it on the embedded defaults.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("run") => run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask test [cargo test args]\n       cargo xtask run [server args]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs a command, echoing it first so that a CI log shows which step failed.
fn step(what: &str, mut cmd: Command) -> Result {
    eprintln!("==> {what}");
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn ensure_wasm_target() -> Result {
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", "wasm32-unknown-unknown"]);
    step("install the wasm32 target", cmd)
}

/// The npm `yjs` + `y-websocket` clients that the interop tests drive.
fn ensure_npm_clients() -> Result {
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund", "--prefix", "tests/interop"]);
    step("install the npm interop clients", cmd)
}

/// The reference readers that check exports (Python `opentimelineio`, `pycmx`, `screenplain`)
/// and ffmpeg/ffprobe for animatics.
fn ensure_export_readers() -> Result {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--root-user-action=ignore",
        "-r",
        "exports/tests/readers/requirements.txt",
    ]);
    step("install the export reference readers", cmd)?;
    apt_install_if_missing("ffprobe", "ffmpeg")
}

/// Installs a Debian package when the program it provides is missing.
fn apt_install_if_missing(program: &str, package: &str) -> Result {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Ok(());
    }
    let mut update = Command::new("apt-get");
    update.args(["update", "-q"]);
    step("apt-get update", update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-q", package])
        .env("DEBIAN_FRONTEND", "noninteractive");
    step(&format!("install {package}"), install)
}

fn test(extra: &[String]) -> Result {
    ensure_wasm_target()?;
    ensure_npm_clients()?;
    ensure_export_readers()?;

    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]).args(extra);
    step("workspace tests", cmd)?;

    // Architecture invariant: the document model runs in the browser.
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--package",
        "shared-model",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    step("build shared-model for wasm32", cmd)?;

    // Benchmarks are not run here (their figures live in README), but they must keep compiling.
    let mut cmd = cargo();
    cmd.args(["check", "--workspace", "--benches"]);
    step("check benchmarks", cmd)
}

/// Starts the studio on the embedded defaults (SQLite and local files under `./data`); extra
/// arguments go to `sync-server serve` (see `--help`).
fn run(extra: &[String]) -> Result {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--package",
        "sync-server",
        "--",
        "serve",
    ])
    .args(extra);
    step("build and start the studio", cmd)
}
