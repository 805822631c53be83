//! `cargo xtask <command>`: the project's set-up, build and test steps in one place, so that a
//! fresh machine needs nothing but Rust to run the studio or the whole test suite.
//!
//! - `test`: installs what the tests need (the wasm32 target, the npm clients, Chromium), runs every
//!   test of the workspace, checks that the browser-side crates build for wasm32, and runs the
//!   browser studio's tests in headless Chromium.
//! - `run`: builds what the studio needs (the server and the browser bundle) and starts it on the
//!   embedded defaults.
//! - `web`: only builds the browser bundle into `client-wasm/dist` (for the benchmark script).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("run") => run(&args[1..]),
        Some("web") => build_web(),
        _ => {
            eprintln!(
                "usage: cargo xtask test [cargo test args]\n       cargo xtask run [server args]\n       cargo xtask web    (only build the browser bundle)"
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

/// The reference readers that check exports (Python `opentimelineio`, `pycmx`, `screenplain`),
/// ffmpeg/ffprobe for animatics, and poppler (`pdftoppm`, `pdftotext`) for the review PDF.
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
    apt_install_if_missing("ffprobe", "ffmpeg")?;
    apt_install_if_missing("pdftoppm", "poppler-utils")
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
    step("check benchmarks", cmd)?;

    browser_tests()
}

fn workspace_root() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR for the process too; prefer it to the path baked in
    // at compile time, which names whichever checkout last built this binary when several
    // checkouts share one target directory.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives inside the workspace")
        .to_owned()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::env::current_dir()
            .map(|cwd| cwd.join(&dir))
            .unwrap_or_else(|_| dir.into()),
        None => workspace_root().join("target"),
    }
}

/// Where the browser bundle goes; sync-server's `--web-dir` defaults to the same place.
fn web_dir() -> PathBuf {
    workspace_root().join("client-wasm/dist")
}

/// A short content hash (FNV-1a), used as the bundle's build id for cache busting.
fn build_id(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Every file under `dir`, as URL paths relative to `root`.
fn url_paths(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            url_paths(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(format!("/{}", rel.to_string_lossy().replace('\\', "/")));
        }
    }
    Ok(())
}

/// Builds the browser studio: the client crate for wasm32 (release), wasm-bindgen's JavaScript
/// for it, and the static files from `client-wasm/web` with the build id filled in.
fn build_web() -> Result {
    ensure_wasm_target()?;
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--package",
        "client-wasm",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
    ]);
    step("build the browser studio (wasm32)", cmd)?;

    eprintln!("==> generate the browser bundle");
    let wasm = target_dir().join("wasm32-unknown-unknown/release/client_wasm.wasm");
    let dist = web_dir();
    if dist.exists() {
        std::fs::remove_dir_all(&dist).map_err(|e| format!("clearing {}: {e}", dist.display()))?;
    }
    let pkg = dist.join("pkg");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e}"))?
        .typescript(false)
        .generate(&pkg)
        .map_err(|e| format!("wasm-bindgen on {}: {e}", wasm.display()))?;

    let module = std::fs::read(pkg.join("client_wasm_bg.wasm")).map_err(|e| e.to_string())?;
    let build = build_id(&module);
    let source = workspace_root().join("client-wasm/web");
    let mut files = vec!["/".to_owned()];
    url_paths(&dist, &dist, &mut files)?;
    files.extend(["/index.html".to_owned(), "/style.css".to_owned()]);
    let shell = format!(
        "[{}]",
        files
            .iter()
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for name in ["index.html", "style.css", "sw.js"] {
        let text = std::fs::read_to_string(source.join(name))
            .map_err(|e| format!("reading {name}: {e}"))?;
        let text = text
            .replace("__BUILD__", &build)
            .replace("__SHELL__", &shell);
        std::fs::write(dist.join(name), text).map_err(|e| format!("writing {name}: {e}"))?;
    }
    eprintln!("    {} (build {build})", dist.display());
    Ok(())
}

/// Debian's Chromium and a CJK font (so that Chinese text renders in screenshots).
fn ensure_chromium() -> Result {
    apt_install_if_missing("chromium", "chromium")?;
    let has_cjk_font = Command::new("fc-list")
        .arg(":lang=zh")
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if has_cjk_font {
        return Ok(());
    }
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-q", "fonts-noto-cjk"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    step("install fonts-noto-cjk", install)
}

/// The browser studio in real headless Chromium against the real server binary.
fn browser_tests() -> Result {
    build_web()?;
    ensure_chromium()?;
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund", "--prefix", "tests/browser"]);
    step("install the browser test driver", cmd)?;
    let mut cmd = cargo();
    cmd.args(["build", "--package", "sync-server"]);
    step("build the server for the browser tests", cmd)?;

    let mut cmd = Command::new("node");
    cmd.current_dir(workspace_root().join("tests/browser"))
        .args(["--test", "--test-concurrency=1"])
        .args([
            "studio.test.mjs",
            "generate.test.mjs",
            "board.test.mjs",
            "versions.test.mjs",
            "review.test.mjs",
        ])
        .env(
            "SHOTWEAVE_SERVER_BIN",
            target_dir().join("debug/sync-server"),
        )
        .env("SHOTWEAVE_WEB_DIR", web_dir());
    step("browser tests (headless Chromium)", cmd)
}

/// Starts the studio on the embedded defaults (SQLite and local files under `./data`); extra
/// arguments go to `sync-server serve` (see `--help`).
fn run(extra: &[String]) -> Result {
    build_web()?;
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--package",
        "sync-server",
        "--",
        "serve",
    ])
    .args(extra)
    .env("SHOTWEAVE_WEB_DIR", web_dir());
    // A first start imports Alice in Wonderland, so a new user sees a storyboard at once.
    let demo = std::path::Path::new("../shared/data/novels/alice-in-wonderland.en.txt");
    if demo.is_file() && std::env::var_os("SHOTWEAVE_DEMO_NOVEL").is_none() {
        cmd.env("SHOTWEAVE_DEMO_NOVEL", demo);
    }
    step("build and start the studio", cmd)
}
