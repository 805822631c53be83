//! Architecture invariant: shared-model performs no IO, so the same code runs in the browser
//! (wasm32), in the server and in tests. The wasm32 build is checked by `cargo xtask test`; this
//! test catches IO creeping into the sources on any platform.

const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::thread",
    "std::env",
    "SystemTime",
    "Instant::now",
    "tokio",
    "println!",
    "eprintln!",
];

#[test]
fn library_sources_perform_no_io() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        // Test support loads data files by design and is only compiled for tests and benches.
        if path.file_name().is_some_and(|n| n == "testing.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for word in FORBIDDEN {
            assert!(!text.contains(word), "{} uses {word}", path.display());
        }
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} source files found under {}",
        src.display()
    );
}
