//! Encode, decode and load a project holding the whole of 《三国演义》 (all 120 chapters, about
//! 600k characters) as its script plus 3,000 shots in 120 scenes.
//!
//! `cargo bench -p shared-model --bench project`

use std::sync::LazyLock;

use shared_model::testing::load_novel;
use shared_model::yrs::Update;
use shared_model::yrs::updates::decoder::Decode;
use shared_model::{MetaPatch, NewCharacter, NewScene, NewShot, Project, ProjectOptions};

const SHOTS: usize = 3_000;
const SCENES: usize = 120;

/// The encoded full-novel project, built once.
static STATE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let novel = load_novel("sanguo-full.zh.txt");
    let project = Project::create(
        &MetaPatch {
            title: Some("三国演义".into()),
            language: Some("zh".into()),
            ..Default::default()
        },
        ProjectOptions::default(),
    );
    // One big insert: yrs stores it as one block, which is how an import writes the script.
    project.script_insert(0, &novel);
    let characters: Vec<_> = ["刘备", "关羽", "张飞", "曹操", "诸葛亮", "孙权"]
        .iter()
        .map(|name| {
            project.add_character(&NewCharacter {
                name: (*name).into(),
                ..Default::default()
            })
        })
        .collect();
    for s in 0..SCENES {
        let scene = project.add_scene(&NewScene {
            title: format!("第{}回", s + 1),
            ..Default::default()
        });
        for i in 0..SHOTS / SCENES {
            let new = NewShot {
                description: format!(
                    "第{}回 第{}镜：{}",
                    s + 1,
                    i + 1,
                    "玄德引关、张二人，于桃园中结义。"
                ),
                dialogue: "念刘备、关羽、张飞，虽然异姓，既结为兄弟，则同心协力。".into(),
                framing: "wide".into(),
                character_ids: characters[..(i % 4) + 1].to_vec(),
                ..Default::default()
            };
            project.add_shot(&scene, &new).expect("scene exists");
        }
    }
    assert_eq!(project.shots().len(), SHOTS);
    project.encode_state()
});

fn loaded() -> Project {
    Project::load(&STATE, ProjectOptions::default()).expect("load")
}

#[divan::bench]
fn encode(bencher: divan::Bencher) {
    let project = loaded();
    bencher.bench_local(|| project.encode_state());
}

#[divan::bench]
fn decode(bencher: divan::Bencher) {
    bencher.bench(|| Update::decode_v1(&STATE).expect("decode"));
}

/// What opening a stored project costs: decode, integrate, check the schema.
#[divan::bench]
fn load() -> Project {
    loaded()
}

/// Loading plus reading the whole board in order, as the UI does on open.
#[divan::bench]
fn load_and_read_board() -> usize {
    loaded().shots().len()
}

fn main() {
    println!(
        "full-novel project: {} bytes encoded, {SHOTS} shots, {SCENES} scenes",
        STATE.len()
    );
    divan::main();
}
