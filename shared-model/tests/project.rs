//! The typed API: create, read, update, move and delete for every part of a project.

// Helpers outside `#[test]` functions state their expectations with unwrap too (clippy.toml's
// allow-unwrap-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

use shared_model::{
    Asset, AssetId, CharacterPatch, Cost, Diagnostic, JobId, JobKind, JobStatus, JobSummary,
    MetaPatch, NewCharacter, NewScene, NewShot, Project, ProjectOptions, ProjectSnapshot,
    Provenance, ScenePatch, ShotPatch,
};

fn project() -> Project {
    Project::create(
        &MetaPatch {
            title: Some("三国演义".into()),
            language: Some("zh".into()),
            ..Default::default()
        },
        ProjectOptions::default(),
    )
}

fn sync(a: &Project, b: &Project) {
    b.apply_update(&a.encode_diff(&b.state_vector()).unwrap())
        .unwrap();
    a.apply_update(&b.encode_diff(&a.state_vector()).unwrap())
        .unwrap();
}

fn asset(n: u8) -> Asset {
    let sha = format!("{n:064x}");
    Asset {
        id: AssetId::from(sha.as_str()),
        sha256: sha,
        mime: "image/png".into(),
        size: 100,
        name: format!("take {n}"),
        width: Some(1280),
        height: Some(720),
        duration_ms: None,
        created_at_ms: n as f64,
        provenance: Some(Provenance {
            provider: "offline".into(),
            model: "storyboard-v1".into(),
            recipe_id: "default-frame".into(),
            recipe_version: "1".into(),
            prompt: "wide shot, peach garden".into(),
            seed: Some(42),
            parameters: serde_json::json!({"size": "1280x720"}),
            reference_asset_ids: vec![],
            job_id: JobId::from("job-1"),
            cost: Some(Cost {
                amount: 0.0,
                currency: "USD".into(),
            }),
        }),
    }
}

#[test]
fn meta_round_trips_and_carries_the_schema_version() {
    let p = project();
    let meta = p.meta();
    assert_eq!(meta.title, "三国演义");
    assert_eq!(meta.language, "zh");
    assert_eq!(meta.aspect_ratio, "16:9");
    assert_eq!(meta.schema_version, shared_model::schema::SCHEMA_VERSION);
    p.update_meta(&MetaPatch {
        aspect_ratio: Some("2.39:1".into()),
        ..Default::default()
    });
    let loaded = Project::load(&p.encode_state(), ProjectOptions::default()).unwrap();
    assert_eq!(loaded.meta().aspect_ratio, "2.39:1");
}

#[test]
fn scenes_and_shots_keep_their_order_through_moves_and_deletes() {
    let p = project();
    let s1 = p.add_scene(&NewScene {
        title: "桃园".into(),
        ..Default::default()
    });
    let s2 = p.add_scene(&NewScene {
        title: "黄巾".into(),
        ..Default::default()
    });
    let shots: Vec<_> = (0..4)
        .map(|i| {
            p.add_shot(
                &s1,
                &NewShot {
                    description: format!("s1-{i}"),
                    ..Default::default()
                },
            )
            .unwrap()
        })
        .collect();
    let descriptions = |p: &Project| {
        p.shots()
            .into_iter()
            .map(|s| s.description)
            .collect::<Vec<_>>()
    };
    assert_eq!(descriptions(&p), ["s1-0", "s1-1", "s1-2", "s1-3"]);

    p.move_shot(&shots[3], &s1, 0).unwrap();
    assert_eq!(descriptions(&p), ["s1-3", "s1-0", "s1-1", "s1-2"]);
    p.move_shot(&shots[0], &s2, 0).unwrap();
    assert_eq!(descriptions(&p), ["s1-3", "s1-1", "s1-2", "s1-0"]);
    assert_eq!(p.scene_shots(&s2).len(), 1);

    p.move_scene(&s2, 0).unwrap();
    assert_eq!(
        p.scenes()
            .iter()
            .map(|s| s.title.as_str())
            .collect::<Vec<_>>(),
        ["黄巾", "桃园"]
    );
    assert_eq!(descriptions(&p), ["s1-0", "s1-3", "s1-1", "s1-2"]);

    p.update_scene(
        &s2,
        &ScenePatch {
            location: Some("涿县".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(p.scene(&s2).unwrap().location, "涿县");

    p.delete_shot(&shots[1]).unwrap();
    assert!(p.shot(&shots[1]).is_none());
    p.delete_scene(&s1).unwrap();
    assert_eq!(
        descriptions(&p),
        ["s1-0"],
        "deleting a scene deletes its shots"
    );
    assert!(p.delete_shot(&shots[1]).is_err());
    assert!(
        p.add_shot(&s1, &NewShot::default()).is_err(),
        "a deleted scene takes no shots"
    );
}

#[test]
fn concurrent_moves_of_one_shot_leave_exactly_one_shot() {
    let a = project();
    let s1 = a.add_scene(&NewScene::default());
    let s2 = a.add_scene(&NewScene::default());
    let ids: Vec<_> = (0..3)
        .map(|_| a.add_shot(&s1, &NewShot::default()).unwrap())
        .collect();
    let b = Project::load(&a.encode_state(), ProjectOptions::default()).unwrap();

    a.move_shot(&ids[0], &s2, 0).unwrap();
    b.move_shot(&ids[0], &s1, 2).unwrap();
    sync(&a, &b);

    assert_eq!(a.snapshot(), b.snapshot());
    let shots = a.shots();
    assert_eq!(shots.len(), 3);
    assert_eq!(shots.iter().filter(|s| s.id == ids[0]).count(), 1);
}

#[test]
fn a_concurrent_move_and_delete_deletes() {
    let a = project();
    let s1 = a.add_scene(&NewScene::default());
    let shot = a.add_shot(&s1, &NewShot::default()).unwrap();
    let b = Project::load(&a.encode_state(), ProjectOptions::default()).unwrap();
    a.delete_shot(&shot).unwrap();
    b.move_shot(&shot, &s1, 0).unwrap();
    b.update_shot(
        &shot,
        &ShotPatch {
            description: Some("late edit".into()),
            ..Default::default()
        },
    )
    .unwrap();
    sync(&a, &b);
    assert!(a.shots().is_empty() && b.shots().is_empty());
}

#[test]
fn shot_fields_characters_and_takes() {
    let p = project();
    let scene = p.add_scene(&NewScene::default());
    let liu = p.add_character(&NewCharacter {
        name: "刘备".into(),
        aliases: vec!["玄德".into()],
        ..Default::default()
    });
    let guan = p.add_character(&NewCharacter {
        name: "关羽".into(),
        ..Default::default()
    });
    let shot = p
        .add_shot(
            &scene,
            &NewShot {
                character_ids: vec![liu.clone()],
                ..Default::default()
            },
        )
        .unwrap();
    p.update_shot(
        &shot,
        &ShotPatch {
            description: Some("三人结义".into()),
            dialogue: Some("念刘备、关羽、张飞，虽然异姓……".into()),
            camera: Some("slow push in".into()),
            framing: Some("wide".into()),
            duration_ms: Some(4_500),
            character_ids: Some(vec![liu.clone(), guan.clone()]),
            recipe_id: Some(Some("default-frame".into())),
        },
    )
    .unwrap();
    let s = p.shot(&shot).unwrap();
    assert_eq!((s.framing.as_str(), s.duration_ms), ("wide", 4_500));
    assert_eq!(s.character_ids.len(), 2);
    assert_eq!(p.find_character("玄德").unwrap().id, liu);

    p.add_asset(&asset(1)).unwrap();
    p.add_asset(&asset(2)).unwrap();
    p.add_take(&shot, &asset(1).id, true).unwrap();
    p.add_take(&shot, &asset(2).id, false).unwrap();
    let s = p.shot(&shot).unwrap();
    assert_eq!(s.takes, vec![asset(1).id, asset(2).id]);
    assert_eq!(s.selected_take, Some(asset(1).id));
    p.select_take(&shot, Some(&asset(2).id)).unwrap();
    assert!(
        p.select_take(&shot, Some(&asset(9).id)).is_err(),
        "only a take can be selected"
    );
    assert_eq!(
        p.asset(&asset(1).id).unwrap(),
        asset(1),
        "provenance round-trips"
    );
    assert!(
        p.add_asset(&Asset {
            sha256: "other".into(),
            ..asset(3)
        })
        .is_err()
    );

    p.update_character(
        &guan,
        &CharacterPatch {
            aliases: Some(vec!["云长".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    p.delete_character(&liu).unwrap();
    assert_eq!(p.shot(&shot).unwrap().character_ids, vec![guan]);
    assert!(p.validate().is_empty(), "{:?}", p.validate());
}

#[test]
fn validation_reports_instead_of_panicking() {
    let a = project();
    let scene = a.add_scene(&NewScene::default());
    let zhang = a.add_character(&NewCharacter {
        name: "张飞".into(),
        ..Default::default()
    });
    let shot = a.add_shot(&scene, &NewShot::default()).unwrap();
    let b = Project::load(&a.encode_state(), ProjectOptions::default()).unwrap();
    // b names the character while a deletes it; b adds a shot to the scene a deletes.
    b.update_shot(
        &shot,
        &ShotPatch {
            character_ids: Some(vec![zhang.clone()]),
            ..Default::default()
        },
    )
    .unwrap();
    let orphan = b.add_shot(&scene, &NewShot::default()).unwrap();
    a.delete_character(&zhang).unwrap();
    a.delete_scene(&scene).unwrap();
    sync(&a, &b);

    let diagnostics = a.validate();
    assert!(diagnostics.contains(&Diagnostic::ShotWithoutScene {
        shot: orphan.clone(),
        scene: Some(scene)
    }));
    assert_eq!(a.shots().len(), 1, "the orphaned shot is kept, not lost");
    assert!(diagnostics.iter().all(|d| !d.to_string().is_empty()));
}

#[test]
fn jobs_and_the_json_snapshot() {
    let p = project();
    let job = JobSummary {
        id: JobId::from("job-7"),
        kind: JobKind::Frame,
        status: JobStatus::Running,
        provider: "offline".into(),
        shot_id: None,
        character_id: None,
        error: None,
        updated_at_ms: 1.0,
    };
    p.put_job(&job).unwrap();
    p.put_job(&JobSummary {
        status: JobStatus::Succeeded,
        updated_at_ms: 2.0,
        ..job.clone()
    })
    .unwrap();
    assert_eq!(p.jobs().len(), 1);
    assert_eq!(p.job(&job.id).unwrap().status, JobStatus::Succeeded);

    let scene = p.add_scene(&NewScene::default());
    p.add_shot(
        &scene,
        &NewShot {
            description: "雨夜".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let json = p.to_json();
    let back: ProjectSnapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p.snapshot());
    assert!(json.contains("\"status\": \"succeeded\""), "{json}");
}

#[test]
fn a_scene_with_its_shots_in_one_go_keeps_their_order() {
    let p = project();
    let first = p.add_scene(&NewScene::default());
    p.add_shot(
        &first,
        &NewShot {
            description: "before".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let shots: Vec<NewShot> = (0..50)
        .map(|i| NewShot {
            description: format!("{i}"),
            ..Default::default()
        })
        .collect();
    let (scene, ids) = p.add_scene_with_shots(
        &NewScene {
            title: "batch".into(),
            ..Default::default()
        },
        &shots,
    );
    assert_eq!(ids.len(), 50);
    let board: Vec<String> = p
        .scene_shots(&scene)
        .into_iter()
        .map(|s| s.description)
        .collect();
    assert_eq!(board, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(p.shots().len(), 51);
    assert!(p.validate().is_empty());
    // A later insert into the batch still finds a gap.
    p.insert_shot(
        &shared_model::ShotId::new(),
        &scene,
        25,
        &NewShot::default(),
    )
    .unwrap();
    assert_eq!(p.scene_shots(&scene).len(), 51);
}
