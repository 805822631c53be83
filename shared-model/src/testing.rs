//! Real inputs for tests and benchmarks: the editing traces and novels under `../shared/data`.

use std::path::PathBuf;

use serde::Deserialize;

/// `../shared/data` relative to the workspace root, or `SHOTWEAVE_SHARED_DATA`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("SHOTWEAVE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // The crate being tested or benchmarked, as cargo says at run time: checkouts that
            // share one target directory may run a library built in another checkout, whose
            // compiled-in directory can be gone. Every crate sits one level below the root.
            std::env::var_os("CARGO_MANIFEST_DIR")
                .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
                .join("../../shared/data")
        })
}

/// One edit: at `pos` (Unicode code points) delete `del` characters, then insert `ins`.
#[derive(Debug, Clone, Deserialize)]
pub struct Patch(pub usize, pub usize, pub String);

#[derive(Debug, Clone, Deserialize)]
pub struct Txn {
    #[serde(default)]
    pub parents: Vec<usize>,
    #[serde(default)]
    pub agent: usize,
    pub patches: Vec<Patch>,
}

/// An editing trace from Joseph Gentle's `editing-traces` data set (CC BY 4.0).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    #[serde(default)]
    pub start_content: String,
    pub end_content: String,
    #[serde(default)]
    pub num_agents: usize,
    pub txns: Vec<Txn>,
}

impl Trace {
    /// True when no text in the trace needs a UTF-16 surrogate pair, so that its code-point
    /// positions are also UTF-16 offsets.
    pub fn is_bmp_only(&self) -> bool {
        let bmp = |s: &str| s.chars().all(|c| c.len_utf16() == 1);
        bmp(&self.start_content)
            && bmp(&self.end_content)
            && self
                .txns
                .iter()
                .all(|t| t.patches.iter().all(|p| bmp(&p.2)))
    }
}

/// Loads `traces/<name>.json.gz`. Panics with the path when the data is missing: a test that
/// cannot find its data must fail loudly, not pass vacuously.
pub fn load_trace(name: &str) -> Trace {
    let path = data_dir().join("traces").join(format!("{name}.json.gz"));
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("cannot open trace {}: {e}", path.display()));
    // Decompress fully first: serde_json's reader path reads byte by byte and is many times
    // slower than parsing a slice.
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut json)
        .unwrap_or_else(|e| panic!("cannot decompress trace {}: {e}", path.display()));
    serde_json::from_slice(&json)
        .unwrap_or_else(|e| panic!("cannot parse trace {}: {e}", path.display()))
}

/// Reads `novels/<file>`.
pub fn load_novel(file: &str) -> String {
    let path = data_dir().join("novels").join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read novel {}: {e}", path.display()))
}
