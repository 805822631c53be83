//! Encode, decode and load a project holding the whole of 《三国演义》 (all 120 chapters, about
//! 600k characters) as its script plus 3,000 shots in 120 scenes.
//!
//! `cargo bench -p shared-model --bench project`

use std::sync::LazyLock;

use api_types::DiffSide;
use shared_model::testing::load_novel;
use shared_model::yrs::Update;
use shared_model::yrs::updates::decoder::Decode;
use shared_model::{
    MetaPatch, NewCharacter, NewScene, NewShot, Project, ProjectOptions, ShotId, ShotPatch,
};

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

/// A later version of the same project: a dozen shots edited, two deleted, two added, three
/// moved, the script edited in two places, a scene retitled.
static LATER: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let project = loaded();
    let scenes = project.scenes();
    let shots = project.shots();
    for shot in shots.iter().step_by(250) {
        let patch = ShotPatch {
            description: Some(format!("{}（改）", shot.description)),
            duration_ms: Some(4_500),
            ..Default::default()
        };
        project.update_shot(&shot.id, &patch).expect("shot exists");
    }
    project.delete_shot(&shots[10].id).expect("shot exists");
    project.delete_shot(&shots[2_010].id).expect("shot exists");
    for scene in [&scenes[3], &scenes[90]] {
        project
            .insert_shot(&ShotId::new(), &scene.id, 0, &NewShot::default())
            .expect("scene exists");
    }
    project
        .move_shot(&shots[100].id, &scenes[5].id, 0)
        .expect("move");
    project
        .move_shot(&shots[1_510].id, &scenes[60].id, 20)
        .expect("move");
    project
        .move_shot(&shots[2_900].id, &scenes[0].id, 3)
        .expect("move");
    project.script_insert(1_000, "（此处增补一段。）\n");
    project.script_delete(300_000, 40);
    project
        .set_scene_title(&scenes[7].id, "第八回（改）")
        .expect("scene exists");
    project.encode_state()
});

/// The diff of two versions as the server computes it: both loaded, snapshotted and diffed
/// (the budget is 200 ms).
#[divan::bench]
fn diff_two_versions(bencher: divan::Bencher) {
    let from = loaded();
    let to = Project::load(&LATER, ProjectOptions::default()).expect("load");
    let side = |label: &str| DiffSide {
        version: None,
        label: label.into(),
    };
    bencher.bench_local(|| {
        let diff = shared_model::diff(&from.snapshot(), &to.snapshot(), side("v1"), side("now"));
        assert_eq!(diff.shots.len(), 19);
        diff
    });
}

/// Restoring the earlier version into a document holding the later one.
#[divan::bench(sample_count = 20)]
fn restore_version(bencher: divan::Bencher) {
    let target = loaded();
    bencher
        .with_inputs(|| Project::load(&LATER, ProjectOptions::default()).expect("load"))
        .bench_local_values(|live| {
            live.restore(&target).expect("restore");
            live
        });
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
        "full-novel project: {} bytes encoded, {SHOTS} shots, {SCENES} scenes; later version {} bytes",
        STATE.len(),
        LATER.len()
    );
    divan::main();
}
