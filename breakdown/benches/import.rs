//! Import plus offline breakdown of all 120 chapters of 《三国演义》 (`sanguo-full.zh.txt`,
//! about 600k characters), and the same plus writing it into a project document.
//!
//! `cargo bench -p breakdown --bench import`

use std::sync::LazyLock;

use breakdown::{ImportOptions, apply, import, offline};
use shared_model::testing::data_dir;
use shared_model::{Project, ProjectOptions};

static BYTES: LazyLock<Vec<u8>> = LazyLock::new(|| {
    std::fs::read(data_dir().join("novels/sanguo-full.zh.txt")).expect("novel present")
});

fn options() -> ImportOptions {
    ImportOptions {
        file_name: Some("sanguo-full.zh.txt".into()),
        ..Default::default()
    }
}

#[divan::bench(sample_count = 10)]
fn import_and_breakdown() -> usize {
    let novel = import(&BYTES, &options()).expect("import");
    offline::breakdown(&novel).shot_count()
}

#[divan::bench(sample_count = 10)]
fn import_breakdown_and_write_document() -> usize {
    let novel = import(&BYTES, &options()).expect("import");
    let breakdown = offline::breakdown(&novel);
    let project = Project::empty(ProjectOptions::default());
    apply(&novel, &breakdown, &project).shots.len()
}

fn main() {
    let start = std::time::Instant::now();
    let shots = import_breakdown_and_write_document();
    let secs = start.elapsed().as_secs_f64();
    let novel = import(&BYTES, &options()).expect("import");
    let b = offline::breakdown(&novel);
    println!(
        "sanguo-full: {} chapters, {} scenes, {shots} shots, {} characters; one end-to-end run {secs:.2} s = {:.0} shots/s",
        novel.chapters.len(),
        b.scenes.len(),
        b.characters.len(),
        shots as f64 / secs
    );
    divan::main();
}
