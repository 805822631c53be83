//! The prose fields as collaborative texts (schema 2): concurrent edits of one description
//! merge, an old document converts once without losing text, and odd values never panic.
//!
//! `data/schema1.ydoc` was written by the schema-1 build (commit be41783) through its public
//! API: the literal texts below are what that program wrote, not something this build produced.

use shared_model::yrs::{Any, Map, MapRef, Out, ReadTxn, Transact, WriteTxn};
use shared_model::{
    CharacterPatch, Diagnostic, Error, MetaPatch, NewCharacter, NewScene, NewShot, Project,
    ProjectOptions, ProseField, ScenePatch, ShotId, ShotPatch, schema,
};

const SCHEMA1: &[u8] = include_bytes!("data/schema1.ydoc");

fn replica(id: u64) -> Project {
    Project::empty(ProjectOptions {
        client_id: Some(id),
        ..Default::default()
    })
}

/// Sends each side what the other lacks, as sync step 1/2 does.
fn sync(a: &Project, b: &Project) {
    b.apply_update(&a.encode_diff(&b.state_vector()).expect("state vector"))
        .expect("update");
    a.apply_update(&b.encode_diff(&a.state_vector()).expect("state vector"))
        .expect("update");
}

/// What the document stores under `key` of entity `id` in `root`, by kind.
fn stored_kind(p: &Project, root: &str, id: &str, key: &str) -> &'static str {
    let txn = p.doc().transact();
    let Some(root) = txn.get_map(root) else {
        return "no root";
    };
    match root.get(&txn, id) {
        Some(Out::YMap(entity)) => match entity.get(&txn, key) {
            Some(Out::YText(_)) => "text",
            Some(Out::Any(Any::String(_))) => "string",
            None => "absent",
            Some(_) => "other",
        },
        _ => "no entity",
    }
}

fn raw_entity(p: &Project, root: &str, id: &str) -> MapRef {
    let mut txn = p.doc().transact_mut();
    let root = txn.get_or_insert_map(root);
    match root.get(&txn, id) {
        Some(Out::YMap(m)) => m,
        other => panic!("{id} is not a map: {other:?}"),
    }
}

#[test]
fn concurrent_edits_of_one_description_both_survive() {
    let a = Project::create(
        &MetaPatch::default(),
        ProjectOptions {
            client_id: Some(1),
            ..Default::default()
        },
    );
    let scene = a.add_scene(&NewScene {
        title: "Hall".into(),
        ..Default::default()
    });
    let shot = a
        .add_shot(
            &scene,
            &NewShot {
                description: "The hall is dark.".into(),
                dialogue: "刘备：走吧。".into(),
                ..Default::default()
            },
        )
        .expect("shot");
    let character = a.add_character(&NewCharacter {
        name: "Guan Yu".into(),
        description: "long beard".into(),
        ..Default::default()
    });
    let b = replica(2);
    b.apply_update(&a.encode_state()).expect("state");
    assert_eq!(
        stored_kind(&b, schema::SHOTS, shot.as_str(), "description"),
        "text"
    );

    // A rewrites the whole value, as a form does; B, offline, appends in place. Neither has
    // seen the other's edit.
    a.update_shot(
        &shot,
        &ShotPatch {
            description: Some("The great hall is dark.".into()),
            ..Default::default()
        },
    )
    .expect("patch");
    b.prose_insert(
        &ProseField::ShotDescription(shot.clone()),
        "The hall is dark.".encode_utf16().count() as u32,
        " Rain falls.",
    )
    .expect("insert");
    // The dialogue: A inserts an emoji after "刘备" (UTF-16 offsets), B replaces the line's end.
    a.prose_insert(&ProseField::ShotDialogue(shot.clone()), 2, "🎬")
        .expect("insert");
    b.set_shot_dialogue(&shot, "刘备：走吧，快走！")
        .expect("set");
    // A scene title and a character description, the same way.
    a.update_scene(
        &scene,
        &ScenePatch {
            title: Some("Great Hall".into()),
            ..Default::default()
        },
    )
    .expect("scene");
    b.set_scene_title(&scene, "Hall, night").expect("title");
    a.update_character(
        &character,
        &CharacterPatch {
            description: Some("red face, long beard".into()),
            ..Default::default()
        },
    )
    .expect("character");
    b.prose_insert(
        &ProseField::CharacterDescription(character.clone()),
        u32::MAX,
        ", green robe",
    )
    .expect("append");

    sync(&a, &b);
    assert_eq!(a.snapshot(), b.snapshot());
    let merged = a.shot(&shot).expect("shot");
    assert_eq!(merged.description, "The great hall is dark. Rain falls.");
    assert_eq!(merged.dialogue, "刘备🎬：走吧，快走！");
    assert_eq!(a.scene(&scene).expect("scene").title, "Great Hall, night");
    assert_eq!(
        a.character(&character).expect("character").description,
        "red face, long beard, green robe"
    );
    assert!(a.validate().is_empty(), "{:?}", a.validate());
}

#[test]
fn splices_clamp_and_never_cut_a_character() {
    let p = Project::create(&MetaPatch::default(), ProjectOptions::default());
    let scene = p.add_scene(&NewScene::default());
    let shot = p.add_shot(&scene, &NewShot::default()).expect("shot");
    let field = ProseField::ShotDescription(shot.clone());
    assert_eq!(p.prose(&field).as_deref(), Some(""));
    p.prose_insert(&field, 99, "a🎬b").expect("insert");
    // Offset 2 falls inside the emoji's surrogate pair: the delete starts after the emoji and
    // so removes nothing; one starting before it takes the whole emoji.
    p.prose_delete(&field, 2, 1).expect("delete");
    assert_eq!(p.prose(&field).as_deref(), Some("a🎬b"));
    p.prose_delete(&field, 1, 1).expect("delete");
    assert_eq!(p.prose(&field).as_deref(), Some("ab"));
    p.prose_insert(&field, 1, "🎬").expect("insert");
    p.prose_delete(&field, 3, 1).expect("delete");
    assert_eq!(p.prose(&field).as_deref(), Some("a🎬"));
    p.prose_splice(&field, 1, 2, "-").expect("splice");
    assert_eq!(p.prose(&field).as_deref(), Some("a-"));
    p.prose_delete(&field, 0, u32::MAX).expect("delete all");
    assert_eq!(p.prose(&field).as_deref(), Some(""));

    let missing = ProseField::ShotDescription(ShotId::from("nope"));
    assert!(p.prose(&missing).is_none());
    assert!(matches!(
        p.set_prose(&missing, "x"),
        Err(Error::NotFound { kind: "shot", .. })
    ));
    assert!(p.prose_insert(&missing, 0, "x").is_err());
}

/// The texts the schema-1 program wrote, by field.
fn schema1_texts(p: &Project) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let mut descriptions: Vec<String> = p.shots().into_iter().map(|s| s.description).collect();
    let mut dialogues: Vec<String> = p.shots().into_iter().map(|s| s.dialogue).collect();
    let mut titles: Vec<String> = p.scenes().into_iter().map(|s| s.title).collect();
    let mut characters: Vec<String> = p.characters().into_iter().map(|c| c.description).collect();
    for v in [
        &mut descriptions,
        &mut dialogues,
        &mut titles,
        &mut characters,
    ] {
        v.sort();
    }
    (descriptions, dialogues, titles, characters)
}

fn assert_schema1_texts(p: &Project) {
    let (descriptions, dialogues, titles, characters) = schema1_texts(p);
    assert_eq!(
        descriptions,
        [
            "Close-up on the wine cups",
            "Night. A lantern sways in the wind.",
            "Wide: three men under blossoming trees 🌸",
        ]
    );
    assert_eq!(
        dialogues,
        ["", "\"Brothers!\"", "念刘备、关羽、张飞，虽然异姓……"]
    );
    assert_eq!(titles, ["", "桃园 Peach garden"]);
    assert_eq!(
        characters,
        ["red face, long beard", "双耳垂肩，双手过膝 👂"]
    );
    assert_eq!(
        p.script_text(),
        "第一回 宴桃园豪杰三结义\nINT. GARDEN - DAY\n"
    );
    assert_eq!(p.meta().title, "桃园 🎬 Garden");
}

#[test]
fn an_old_document_reads_its_strings_and_converts_once_without_losing_text() {
    let old = Project::load(SCHEMA1, ProjectOptions::default()).expect("schema 1 loads");
    assert_eq!(old.meta().schema_version, 1);
    assert!(old.needs_upgrade());
    assert_schema1_texts(&old);
    let before = old.snapshot();
    let shot = old.shots()[0].id.clone();
    assert_eq!(
        stored_kind(&old, schema::SHOTS, shot.as_str(), "description"),
        "string"
    );

    let update = old
        .upgrade()
        .expect("upgrade")
        .expect("an old document changes");
    assert_eq!(old.meta().schema_version, schema::SCHEMA_VERSION);
    assert!(!old.needs_upgrade());
    assert_schema1_texts(&old);
    let mut after = old.snapshot();
    after.meta.schema_version = before.meta.schema_version;
    assert_eq!(
        after, before,
        "the conversion changed something besides the layout"
    );
    for s in old.scenes() {
        assert_eq!(
            stored_kind(&old, schema::SCENES, s.id.as_str(), "title"),
            "text"
        );
    }
    for s in old.shots() {
        for key in ["description", "dialogue"] {
            assert_eq!(stored_kind(&old, schema::SHOTS, s.id.as_str(), key), "text");
        }
        // Fields that are not prose stay plain values.
        assert_eq!(
            stored_kind(&old, schema::SHOTS, s.id.as_str(), "camera"),
            "string"
        );
    }
    for c in old.characters() {
        assert_eq!(
            stored_kind(&old, schema::CHARACTERS, c.id.as_str(), "description"),
            "text"
        );
    }

    // Idempotent: a second run (the next time a room loads the document) changes nothing.
    let state = old.encode_state();
    assert!(old.upgrade().expect("upgrade").is_none());
    assert_eq!(old.encode_state(), state);
    let reloaded = Project::load(&state, ProjectOptions::default()).expect("reload");
    assert!(reloaded.upgrade().expect("upgrade").is_none());
    assert_schema1_texts(&reloaded);

    // The update is all another replica needs to see the converted document.
    let other = Project::load(SCHEMA1, ProjectOptions::default()).expect("load");
    other.apply_update(&update).expect("apply");
    assert_eq!(other.snapshot(), old.snapshot());
    assert_eq!(
        stored_kind(&other, schema::SHOTS, shot.as_str(), "description"),
        "text"
    );
}

#[test]
fn a_client_writes_strings_until_the_document_is_upgraded() {
    // An offline client holding the old document writes plain strings: it must not create
    // texts that would compete with the server's conversion.
    let offline = replica(7);
    offline.apply_update(SCHEMA1).expect("load");
    let shots = offline.shots();
    let (first, second) = (shots[0].id.clone(), shots[1].id.clone());
    offline
        .set_shot_description(&first, "Wide: three sworn brothers 🌸")
        .expect("set");
    offline
        .prose_insert(&ProseField::ShotDialogue(second.clone()), 0, "(softly) ")
        .expect("insert");
    assert_eq!(
        stored_kind(&offline, schema::SHOTS, first.as_str(), "description"),
        "string"
    );
    assert_eq!(
        stored_kind(&offline, schema::SHOTS, second.as_str(), "dialogue"),
        "string"
    );
    assert_eq!(
        offline.shot(&first).expect("shot").description,
        "Wide: three sworn brothers 🌸"
    );
    assert_eq!(offline.shot(&second).expect("shot").dialogue, "(softly) ");

    // Meanwhile the server converts its copy. When the client comes back, each field it wrote
    // holds one whole value (schema 1's last-writer-wins, as before the conversion), the rest
    // of the document is converted, and both sides agree.
    let server = replica(8);
    server.apply_update(SCHEMA1).expect("load");
    server.upgrade().expect("upgrade").expect("converted");
    sync(&offline, &server);
    assert_eq!(offline.snapshot(), server.snapshot());
    assert_eq!(offline.meta().schema_version, schema::SCHEMA_VERSION);
    let description = server.shot(&first).expect("shot").description;
    assert!(
        description == "Wide: three sworn brothers 🌸"
            || description == "Wide: three men under blossoming trees 🌸",
        "{description:?}"
    );

    // From now on both write into texts, and concurrent edits of that field merge, whichever
    // value won above.
    server
        .prose_insert(&ProseField::ShotDescription(first.clone()), 0, "[A] ")
        .expect("insert");
    offline
        .prose_insert(
            &ProseField::ShotDescription(first.clone()),
            u32::MAX,
            " [B]",
        )
        .expect("insert");
    sync(&offline, &server);
    assert_eq!(offline.snapshot(), server.snapshot());
    assert_eq!(
        server.shot(&first).expect("shot").description,
        format!("[A] {description} [B]")
    );
    assert!(server.validate().is_empty(), "{:?}", server.validate());
}

#[test]
fn a_field_already_holding_text_is_spliced_even_in_an_old_document() {
    // A text reached a document that still says schema 1 (written by a peer that had seen the
    // conversion of this field only). Writing a string over it would drop every concurrent
    // edit of it, so writers splice it.
    let old = replica(3);
    old.apply_update(SCHEMA1).expect("load");
    let shot = old.shots()[1].id.clone();
    {
        let entity = raw_entity(&old, schema::SHOTS, shot.as_str());
        let mut txn = old.doc().transact_mut();
        entity.insert(
            &mut txn,
            "description",
            shared_model::yrs::TextPrelim::new("Close-up on the wine cups"),
        );
    }
    assert_eq!(old.meta().schema_version, 1);
    old.set_shot_description(&shot, "Close-up on the two wine cups")
        .expect("set");
    assert_eq!(
        stored_kind(&old, schema::SHOTS, shot.as_str(), "description"),
        "text"
    );
    assert_eq!(
        old.shot(&shot).expect("shot").description,
        "Close-up on the two wine cups"
    );
}

fn raw_entity_meta(p: &Project) -> MapRef {
    let mut txn = p.doc().transact_mut();
    txn.get_or_insert_map(schema::META)
}

#[test]
fn odd_values_in_prose_fields_read_as_empty_are_reported_and_replaced_on_write() {
    let p = Project::create(&MetaPatch::default(), ProjectOptions::default());
    let scene = p.add_scene(&NewScene {
        title: "Deck".into(),
        ..Default::default()
    });
    let shot = p
        .add_shot(
            &scene,
            &NewShot {
                description: "Wide on the deck".into(),
                ..Default::default()
            },
        )
        .expect("shot");
    // A hostile or buggy peer writes a number and a map where text belongs.
    {
        let entity = raw_entity(&p, schema::SHOTS, shot.as_str());
        let mut txn = p.doc().transact_mut();
        entity.insert(&mut txn, "description", 42.0);
        entity.insert(
            &mut txn,
            "dialogue",
            shared_model::yrs::MapPrelim::default(),
        );
    }
    let read = p.shot(&shot).expect("shot");
    assert_eq!(
        (read.description.as_str(), read.dialogue.as_str()),
        ("", "")
    );
    let _ = p.snapshot();
    let diagnostics = p.validate();
    for field in ["description", "dialogue"] {
        assert!(
            diagnostics.contains(&Diagnostic::MalformedField {
                root: schema::SHOTS,
                id: shot.to_string(),
                field,
            }),
            "{diagnostics:?}"
        );
    }
    // An old document with such a value converts the rest and leaves the odd value alone.
    {
        let meta = raw_entity_meta(&p);
        let mut txn = p.doc().transact_mut();
        meta.insert(&mut txn, schema::meta::SCHEMA_VERSION, 1.0);
    }
    assert!(p.upgrade().expect("upgrade").is_some());
    assert_eq!(
        stored_kind(&p, schema::SHOTS, shot.as_str(), "description"),
        "other"
    );
    assert_eq!(p.scene(&scene).expect("scene").title, "Deck");

    // Writing replaces it with a text; inserting into it starts from empty.
    p.set_shot_description(&shot, "Wide on the deck, again")
        .expect("set");
    p.prose_insert(&ProseField::ShotDialogue(shot.clone()), 5, "Ahoy")
        .expect("insert");
    let read = p.shot(&shot).expect("shot");
    assert_eq!(read.description, "Wide on the deck, again");
    assert_eq!(read.dialogue, "Ahoy");
    assert_eq!(
        stored_kind(&p, schema::SHOTS, shot.as_str(), "dialogue"),
        "text"
    );
    assert!(p.validate().is_empty(), "{:?}", p.validate());
}

#[test]
fn a_newer_schema_is_not_upgraded() {
    let p = Project::create(&MetaPatch::default(), ProjectOptions::default());
    {
        let meta = raw_entity_meta(&p);
        let mut txn = p.doc().transact_mut();
        meta.insert(&mut txn, schema::meta::SCHEMA_VERSION, 99.0);
    }
    assert!(matches!(p.upgrade(), Err(Error::NewerSchema { found: 99 })));
    assert!(Project::load(&p.encode_state(), ProjectOptions::default()).is_err());
}

#[test]
fn an_empty_document_is_stamped_so_its_first_writers_create_texts() {
    let server = replica(5);
    let update = server.upgrade().expect("upgrade").expect("stamped");
    let client = replica(6);
    client.apply_update(&update).expect("apply");
    assert_eq!(client.meta().schema_version, schema::SCHEMA_VERSION);
    let scene = client.add_scene(&NewScene {
        title: "First".into(),
        ..Default::default()
    });
    assert_eq!(
        stored_kind(&client, schema::SCENES, scene.as_str(), "title"),
        "text"
    );
}
