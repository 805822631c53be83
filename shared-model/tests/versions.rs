//! Versions: the diff between two states of a project, and restoring one as a forward change
//! (with a peer that was offline during the restore merging its own edits afterwards).

// Helpers outside `#[test]` functions state their expectations with unwrap too (clippy.toml's
// allow-unwrap-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use api_types::{ChangeKind, DiffSide, LineOp, VersionId};
use shared_model::{
    Asset, AssetId, CharacterId, MetaPatch, NewCharacter, NewScene, NewShot, Project,
    ProjectOptions, ProjectSnapshot, SceneId, ShotId, ShotPatch, changed_shots, diff,
};

fn side(label: &str) -> DiffSide {
    DiffSide {
        version: Some(VersionId::from(label)),
        label: label.into(),
    }
}

fn asset(name: &str, bytes: &str) -> Asset {
    // Not a real digest: the model checks only that the id equals the sha256 field.
    let sha = format!("{bytes:0>64}");
    Asset {
        id: AssetId::from(sha.as_str()),
        sha256: sha,
        mime: "image/png".into(),
        size: 10,
        name: name.into(),
        width: None,
        height: None,
        duration_ms: None,
        created_at_ms: 1.0,
        provenance: None,
    }
}

fn without_jobs(mut s: ProjectSnapshot) -> ProjectSnapshot {
    s.jobs.clear();
    s
}

fn sync(from: &Project, to: &Project) {
    to.apply_update(&from.encode_diff(&to.state_vector()).unwrap())
        .unwrap();
}

/// A project of two scenes (five and three shots), two characters, a script and one take.
struct Board {
    project: Project,
    scenes: Vec<SceneId>,
    shots: Vec<ShotId>,
    liu: CharacterId,
    guan: CharacterId,
    take: AssetId,
}

fn board() -> Board {
    let project = Project::create(
        &MetaPatch {
            title: Some("桃园".into()),
            ..Default::default()
        },
        ProjectOptions::default(),
    );
    project.script_insert(
        0,
        "第一回\n宴桃园豪杰三结义\n斩黄巾英雄首立功\n话说天下大势\n分久必合\n合久必分\n",
    );
    let liu = project.add_character(&NewCharacter {
        name: "刘备".into(),
        ..Default::default()
    });
    let guan = project.add_character(&NewCharacter {
        name: "关羽".into(),
        ..Default::default()
    });
    let mut scenes = Vec::new();
    let mut shots = Vec::new();
    for (s, count) in [("桃园", 5), ("涿郡", 3)] {
        let anchor = project.script_anchor(4..12).unwrap();
        let scene = project.add_scene(&NewScene {
            title: s.into(),
            location: "EXT".into(),
            script_range: Some(anchor),
            ..Default::default()
        });
        for i in 0..count {
            let id = project
                .add_shot(
                    &scene,
                    &NewShot {
                        description: format!("{s} shot {i}"),
                        character_ids: vec![liu.clone()],
                        ..Default::default()
                    },
                )
                .unwrap();
            shots.push(id);
        }
        scenes.push(scene);
    }
    let take = asset("take one", "a1");
    project.add_asset(&take).unwrap();
    project.add_take(&shots[0], &take.id, true).unwrap();
    Board {
        project,
        scenes,
        shots,
        liu,
        guan,
        take: take.id,
    }
}

/// Three shots changed, one deleted, one added (at the front of scene 1), one moved, the script
/// edited. Returns the added shot.
fn edit_after_v1(b: &Board) -> ShotId {
    let p = &b.project;
    p.update_shot(
        &b.shots[1],
        &ShotPatch {
            description: Some("桃园 shot 1, at dawn".into()),
            duration_ms: Some(4_500),
            ..Default::default()
        },
    )
    .unwrap();
    p.update_shot(
        &b.shots[2],
        &ShotPatch {
            character_ids: Some(vec![b.liu.clone(), b.guan.clone()]),
            camera: Some("low angle".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let second = asset("take two", "b2");
    p.add_asset(&second).unwrap();
    p.add_take(&b.shots[0], &second.id, true).unwrap();
    p.delete_shot(&b.shots[3]).unwrap();
    let added = ShotId::from("added-shot");
    p.insert_shot(
        &added,
        &b.scenes[0],
        0,
        &NewShot {
            description: "a new opening".into(),
            ..Default::default()
        },
    )
    .unwrap();
    // The last shot of scene 2 goes to its front.
    p.move_shot(&b.shots[7], &b.scenes[1], 0).unwrap();
    let at = "第一回\n宴桃园豪杰三结义\n".encode_utf16().count() as u32;
    p.script_insert(at, "（新增一行）\n");
    added
}

#[test]
fn the_diff_names_exactly_what_changed_field_by_field() {
    let b = board();
    let v1 = b.project.snapshot();
    let added = edit_after_v1(&b);
    let now = b.project.snapshot();

    let d = diff(&v1, &now, side("v1"), side("now"));
    let kinds: Vec<(ShotId, ChangeKind)> = d
        .shots
        .iter()
        .map(|c| (c.shot_id.clone(), c.kind))
        .collect();
    // Storyboard order of `now`, the removed shot last. Inserting a shot at the front of scene
    // 1 moved none of the others; moving shot 7 to the front of scene 2 moved only shot 7.
    assert_eq!(
        kinds,
        vec![
            (added.clone(), ChangeKind::Added),
            (b.shots[0].clone(), ChangeKind::Changed),
            (b.shots[1].clone(), ChangeKind::Changed),
            (b.shots[2].clone(), ChangeKind::Changed),
            (b.shots[7].clone(), ChangeKind::Moved),
            (b.shots[3].clone(), ChangeKind::Removed),
        ]
    );
    let by_id = |id: &ShotId| d.shots.iter().find(|c| &c.shot_id == id).unwrap();
    let fields = |id: &ShotId| {
        by_id(id)
            .fields
            .iter()
            .map(|f| (f.field.as_str(), f.old.as_str(), f.new.as_str()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fields(&b.shots[1]),
        vec![
            ("description", "桃园 shot 1", "桃园 shot 1, at dawn"),
            ("duration_ms", "3.0 s", "4.5 s"),
        ]
    );
    assert_eq!(
        fields(&b.shots[2]),
        vec![
            ("camera", "", "low angle"),
            ("characters", "刘备", "关羽, 刘备"),
        ]
    );
    assert_eq!(
        fields(&b.shots[0]),
        vec![
            ("takes", "1 take", "2 takes"),
            ("selected_take", "take one", "take two")
        ]
    );
    let take = by_id(&b.shots[0]).take.clone().unwrap();
    assert_eq!(take.old, Some(b.take.clone()));
    assert_ne!(take.new, take.old);
    assert!(!by_id(&b.shots[1]).moved && by_id(&b.shots[7]).moved);
    let moved = by_id(&b.shots[7]);
    assert_eq!(
        (
            moved.from.as_ref().unwrap().index,
            moved.to.as_ref().unwrap().index
        ),
        (3, 1)
    );
    assert_eq!(moved.to.as_ref().unwrap().scene_title, "涿郡");
    // Shot 4 now sits at index 5 of its scene (one inserted before it) but did not move.
    assert!(d.shots.iter().all(|c| c.shot_id != b.shots[4]));

    assert!(d.scenes.is_empty() && d.characters.is_empty() && d.meta.is_empty());
    assert_eq!(d.script.len(), 1);
    let hunk = &d.script[0];
    assert_eq!((hunk.old_start, hunk.new_start), (1, 1));
    let ops: Vec<(LineOp, &str)> = hunk.lines.iter().map(|l| (l.op, l.text.as_str())).collect();
    assert_eq!(
        ops,
        vec![
            (LineOp::Same, "第一回"),
            (LineOp::Same, "宴桃园豪杰三结义"),
            (LineOp::Added, "（新增一行）"),
            (LineOp::Same, "斩黄巾英雄首立功"),
            (LineOp::Same, "话说天下大势"),
        ]
    );

    // What makes a verdict on v1 stale: the changed, moved and removed shots, in v1's order.
    assert_eq!(
        changed_shots(&v1, &now),
        vec![
            b.shots[0].clone(),
            b.shots[1].clone(),
            b.shots[2].clone(),
            b.shots[3].clone(),
            b.shots[7].clone(),
        ]
    );
    assert!(diff(&now, &now, side("a"), side("b")).is_empty());
}

#[test]
fn scenes_characters_and_meta_are_diffed_too() {
    let b = board();
    let v1 = b.project.snapshot();
    b.project.move_scene(&b.scenes[1], 0).unwrap();
    b.project
        .update_scene(
            &b.scenes[0],
            &shared_model::ScenePatch {
                time_of_day: Some("NIGHT".into()),
                ..Default::default()
            },
        )
        .unwrap();
    b.project
        .update_character(
            &b.guan,
            &shared_model::CharacterPatch {
                aliases: Some(vec!["云长".into(), "关公".into()]),
                ..Default::default()
            },
        )
        .unwrap();
    b.project.delete_character(&b.liu).unwrap();
    b.project.update_meta(&MetaPatch {
        aspect_ratio: Some("2.39:1".into()),
        ..Default::default()
    });
    let d = diff(&v1, &b.project.snapshot(), side("v1"), side("now"));

    let scenes: Vec<(SceneId, ChangeKind)> = d
        .scenes
        .iter()
        .map(|c| (c.scene_id.clone(), c.kind))
        .collect();
    // Swapping two scenes: one of them is the one that moved (the other kept its order
    // relative to the rest); the one with a changed field is Changed either way.
    assert_eq!(scenes.len(), 2, "{scenes:?}");
    assert!(scenes.contains(&(b.scenes[0].clone(), ChangeKind::Changed)));
    assert!(scenes.contains(&(b.scenes[1].clone(), ChangeKind::Moved)));
    let changed = d
        .scenes
        .iter()
        .find(|c| c.kind == ChangeKind::Changed)
        .unwrap();
    assert_eq!(changed.fields[0].field, "time_of_day");
    assert_eq!(
        (
            changed.fields[0].old.as_str(),
            changed.fields[0].new.as_str()
        ),
        ("", "NIGHT")
    );

    let chars: Vec<(&str, ChangeKind)> = d
        .characters
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(
        chars,
        vec![("关羽", ChangeKind::Changed), ("刘备", ChangeKind::Removed)]
    );
    assert_eq!(d.characters[0].fields[0].new, "云长, 关公");
    assert_eq!(d.meta.len(), 1);
    assert_eq!(
        (d.meta[0].old.as_str(), d.meta[0].new.as_str()),
        ("16:9", "2.39:1")
    );
    // Every shot named 刘备, which is gone: their characters changed.
    assert!(d.shots.iter().all(|c| c.kind == ChangeKind::Changed));
    assert_eq!(d.shots.len(), 8);
}

#[test]
fn restore_brings_back_a_version_and_merges_an_offline_peer() {
    let b = board();
    let live = &b.project;
    let v1_state = live.encode_state();
    let v1 = without_jobs(live.snapshot());
    // A second replica, in sync now, goes offline.
    let offline = Project::empty(ProjectOptions::default());
    sync(live, &offline);

    edit_after_v1(&b);
    let before_state = live.encode_state();
    let before = without_jobs(live.snapshot());
    assert_ne!(before, v1);
    // Every live client sees the restore as one update.
    let peer = Project::empty(ProjectOptions::default());
    sync(live, &peer);
    live.restore(&Project::load(&v1_state, ProjectOptions::default()).unwrap())
        .unwrap();
    assert_eq!(without_jobs(live.snapshot()), v1);
    sync(live, &peer);
    assert_eq!(without_jobs(peer.snapshot()), v1);
    // Restoring what is already there changes nothing at all.
    let sv = live.state_vector();
    live.restore(&Project::load(&v1_state, ProjectOptions::default()).unwrap())
        .unwrap();
    assert_eq!(live.state_vector(), sv, "a no-op restore wrote something");

    // Meanwhile, offline: its own edit to a shot the restore did not touch (shot 5).
    offline
        .update_shot(
            &b.shots[5],
            &ShotPatch {
                dialogue: Some("大哥！".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync(&offline, live);
    sync(live, &offline);
    let merged = live.snapshot();
    assert_eq!(merged, offline.snapshot());
    let edited = merged.shots.iter().find(|s| s.id == b.shots[5]).unwrap();
    assert_eq!(edited.dialogue, "大哥！");
    // Nothing duplicated or resurrected: v1's shots, in v1's order, and only they.
    let ids: Vec<&ShotId> = merged.shots.iter().map(|s| &s.id).collect();
    let v1_ids: Vec<&ShotId> = v1.shots.iter().map(|s| &s.id).collect();
    assert_eq!(ids, v1_ids);
    let descriptions: BTreeSet<&str> = merged
        .shots
        .iter()
        .map(|s| s.description.as_str())
        .collect();
    assert_eq!(descriptions.len(), merged.shots.len());

    // Restoring the state from just before the restore brings that state back exactly (the
    // offline edit came later and is not part of it).
    live.restore(&Project::load(&before_state, ProjectOptions::default()).unwrap())
        .unwrap();
    assert_eq!(without_jobs(live.snapshot()), before);
}

#[test]
fn restore_keeps_concurrent_edits_to_other_fields_and_script_anchors_outside_the_change() {
    let b = board();
    let live = &b.project;
    let v1_state = live.encode_state();
    let line = "斩黄巾英雄首立功";
    let script = live.script_text();
    let start = script[..script.find(line).unwrap()].encode_utf16().count() as u32;
    let anchor = live
        .script_anchor(start..start + line.encode_utf16().count() as u32)
        .unwrap();
    live.update_shot(
        &b.shots[1],
        &ShotPatch {
            description: Some("changed after v1".into()),
            ..Default::default()
        },
    )
    .unwrap();
    live.script_insert(0, "序\n");
    let offline = Project::empty(ProjectOptions::default());
    sync(live, &offline);
    // Offline, someone retimes the shot whose description the restore puts back.
    offline
        .update_shot(
            &b.shots[1],
            &ShotPatch {
                framing: Some("close-up".into()),
                ..Default::default()
            },
        )
        .unwrap();
    live.restore(&Project::load(&v1_state, ProjectOptions::default()).unwrap())
        .unwrap();
    sync(&offline, live);
    let shot = live.shot(&b.shots[1]).unwrap();
    assert_eq!(shot.description, "桃园 shot 1");
    assert_eq!(shot.framing, "close-up");
    // The restore removed "序\n" only: the anchored line kept its words.
    assert_eq!(live.anchored_text(&anchor).unwrap(), line);
}

#[test]
fn restore_refuses_a_newer_schema_and_changes_nothing() {
    let b = board();
    let newer = Project::empty(ProjectOptions::default());
    sync(&b.project, &newer);
    {
        use shared_model::yrs::{Map, Transact};
        let meta = newer.doc().get_or_insert_map(shared_model::schema::META);
        let mut txn = newer.doc().transact_mut();
        meta.insert(&mut txn, shared_model::schema::meta::SCHEMA_VERSION, 99.0);
    }
    b.project.delete_shot(&b.shots[0]).unwrap();
    let sv = b.project.state_vector();
    assert!(matches!(
        b.project.restore(&newer),
        Err(shared_model::Error::NewerSchema { found: 99 })
    ));
    assert_eq!(b.project.state_vector(), sv);
}

/// One random edit of `p`: scenes, shots, characters, takes, the script and meta.
fn random_edit(p: &Project, rng: &mut rand_chacha::ChaCha8Rng, n: &mut u64) {
    use rand::Rng;
    const WORDS: &[&str] = &["rain", "刘备", "door", "云长", "night", "🎬", "wide"];
    let word = |rng: &mut rand_chacha::ChaCha8Rng| WORDS[rng.random_range(0..WORDS.len())];
    *n += 1;
    let scenes = p.scenes();
    let shots = p.shots();
    let chars = p.characters();
    let pick = |rng: &mut rand_chacha::ChaCha8Rng, len: usize| rng.random_range(0..len);
    match rng.random_range(0..16) {
        0 => {
            let id = SceneId::from(format!("scene{n}"));
            let index = rng.random_range(0..=scenes.len());
            let title = word(rng).to_owned();
            p.insert_scene(
                &id,
                index,
                &NewScene {
                    title,
                    ..Default::default()
                },
            );
        }
        1 if !scenes.is_empty() => {
            let s = &scenes[pick(rng, scenes.len())];
            p.move_scene(&s.id, rng.random_range(0..scenes.len()))
                .unwrap();
        }
        2 if scenes.len() > 2 && rng.random_bool(0.3) => {
            p.delete_scene(&scenes[pick(rng, scenes.len())].id).unwrap();
        }
        3 | 4 if !scenes.is_empty() => {
            let s = &scenes[pick(rng, scenes.len())];
            let character_ids = chars
                .iter()
                .filter(|_| rng.random_bool(0.3))
                .map(|c| c.id.clone())
                .collect();
            let new = NewShot {
                description: word(rng).to_owned(),
                character_ids,
                ..Default::default()
            };
            p.insert_shot(&ShotId::from(format!("shot{n}")), &s.id, rng.random_range(0..8), &new)
                .unwrap();
        }
        5 if !shots.is_empty() && !scenes.is_empty() => {
            let shot = &shots[pick(rng, shots.len())];
            let s = &scenes[pick(rng, scenes.len())];
            p.move_shot(&shot.id, &s.id, rng.random_range(0..8)).unwrap();
        }
        6 | 7 if !shots.is_empty() => {
            let shot = &shots[pick(rng, shots.len())];
            let patch = ShotPatch {
                description: rng
                    .random_bool(0.6)
                    .then(|| format!("{} {}", shot.description, word(rng))),
                dialogue: rng.random_bool(0.3).then(|| word(rng).to_owned()),
                camera: rng.random_bool(0.3).then(|| word(rng).to_owned()),
                duration_ms: rng
                    .random_bool(0.3)
                    .then(|| rng.random_range(500..9_000)),
                character_ids: rng.random_bool(0.3).then(|| {
                    chars
                        .iter()
                        .filter(|_| rng.random_bool(0.5))
                        .map(|c| c.id.clone())
                        .collect()
                }),
                recipe_id: rng
                    .random_bool(0.2)
                    .then(|| rng.random_bool(0.5).then(|| "storyboard-sketch".to_owned())),
                ..Default::default()
            };
            p.update_shot(&shot.id, &patch).unwrap();
        }
        8 if !shots.is_empty() && rng.random_bool(0.5) => {
            p.delete_shot(&shots[pick(rng, shots.len())].id).unwrap();
        }
        9 => {
            p.insert_character(
                &CharacterId::from(format!("char{n}")),
                &NewCharacter {
                    name: word(rng).to_owned(),
                    aliases: vec![word(rng).to_owned()],
                    ..Default::default()
                },
            );
        }
        10 if !chars.is_empty() => {
            let c = &chars[pick(rng, chars.len())];
            let patch = shared_model::CharacterPatch {
                description: Some(format!("{} {}", c.description, word(rng))),
                color: rng.random_bool(0.3).then(|| "#123456".to_owned()),
                aliases: rng.random_bool(0.3).then(|| vec![word(rng).to_owned()]),
                ..Default::default()
            };
            p.update_character(&c.id, &patch).unwrap();
        }
        11 if !chars.is_empty() && rng.random_bool(0.3) => {
            p.delete_character(&chars[pick(rng, chars.len())].id).unwrap();
        }
        12 if !shots.is_empty() => {
            let shot = &shots[pick(rng, shots.len())];
            let take = asset(&format!("take {n}"), &format!("{n:x}"));
            p.add_asset(&take).unwrap();
            p.add_take(&shot.id, &take.id, rng.random_bool(0.7)).unwrap();
        }
        13 => {
            let len = p.script_len();
            p.script_insert(rng.random_range(0..=len), &format!("{}\n", word(rng)));
        }
        14 if p.script_len() > 0 => {
            let len = p.script_len();
            let at = rng.random_range(0..len);
            p.script_delete(at, rng.random_range(1..6));
        }
        15 => p.update_meta(&MetaPatch {
            title: Some(word(rng).to_owned()),
            ..Default::default()
        }),
        _ => {}
    }
}

#[test]
fn random_edits_versions_and_restores_always_restore_exactly() {
    use rand::{Rng, SeedableRng};
    let seed = std::env::var("SHOTWEAVE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    println!("seed {seed} (replay with SHOTWEAVE_SEED={seed})");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let options = |rng: &mut rand_chacha::ChaCha8Rng| ProjectOptions {
        client_id: Some(rng.random_range(1..1u64 << 52)),
        skip_gc: false,
    };
    let live = Project::create(&MetaPatch::default(), options(&mut rng));
    let offline = Project::empty(options(&mut rng));
    // Both start from the created document (as every client starts from the server's).
    sync(&live, &offline);
    let mut online = true;
    let mut versions: Vec<(Vec<u8>, ProjectSnapshot)> = Vec::new();
    let mut n = 0u64;
    let mut restores = 0;
    for step in 0..400 {
        match rng.random_range(0..20) {
            0..=11 => random_edit(&live, &mut rng, &mut n),
            12 | 13 => versions.push((live.encode_state(), without_jobs(live.snapshot()))),
            14 | 15 if !versions.is_empty() => {
                let (state, snapshot) = &versions[rng.random_range(0..versions.len())];
                let target = Project::load(state, ProjectOptions::default()).unwrap();
                live.restore(&target).unwrap();
                restores += 1;
                assert_eq!(
                    without_jobs(live.snapshot()),
                    *snapshot,
                    "seed {seed} step {step}: restore did not give the version back"
                );
            }
            16 | 17 => random_edit(&offline, &mut rng, &mut n),
            _ => online = !online,
        }
        if online {
            sync(&live, &offline);
            sync(&offline, &live);
        }
    }
    sync(&live, &offline);
    sync(&offline, &live);
    assert_eq!(live.snapshot(), offline.snapshot(), "seed {seed}: peers diverged");
    assert!(restores > 10, "seed {seed}: only {restores} restores");
    // After all the merging, restoring still gives a version back exactly, on both peers.
    if let Some((state, snapshot)) = versions.first() {
        live.restore(&Project::load(state, ProjectOptions::default()).unwrap())
            .unwrap();
        sync(&live, &offline);
        assert_eq!(without_jobs(offline.snapshot()), *snapshot, "seed {seed}");
    }
}
