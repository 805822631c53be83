//! The review document (written by the server, read by every client) and review anchors in the
//! project document: a script-range anchor follows its words through other people's edits, a
//! thread whose shot or text is gone is orphaned.

// Helpers outside `#[test]` functions state their expectations with unwrap too (clippy.toml's
// allow-unwrap-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use api_types::{
    Anchor, Author, Comment, CommentId, PersonId, Thread, ThreadId, ThreadStatus, Verdict,
    VerdictKind, VersionId,
};
use shared_model::{
    Error, MetaPatch, NewScene, NewShot, Project, ProjectOptions, ReviewChanges, ReviewDoc,
    ScriptAnchor,
};

fn person(name: &str) -> Author {
    Author {
        id: Some(PersonId::from(format!("person-{name}"))),
        name: name.into(),
    }
}

fn comment(id: &str, author: &Author, at: i64, text: &str) -> Comment {
    Comment {
        id: CommentId::from(id),
        author: author.clone(),
        created_at_ms: at,
        edited_at_ms: None,
        text: text.into(),
        deleted: false,
        mentions: Vec::new(),
    }
}

fn thread(id: &str, anchor: Anchor, author: &Author, at: i64, text: &str) -> Thread {
    Thread {
        id: ThreadId::from(id),
        anchor,
        quote: "quoted".into(),
        version: Some(VersionId::from("v1")),
        author: author.clone(),
        created_at_ms: at,
        status: ThreadStatus::Open,
        resolved_by: None,
        resolved_at_ms: None,
        comments: vec![comment(&format!("{id}-c0"), author, at, text)],
        orphaned: false,
    }
}

/// The server's document and a browser's replica fed with its updates.
fn server_and_reader() -> (ReviewDoc, ReviewDoc) {
    let server = ReviewDoc::empty();
    let reader = ReviewDoc::empty();
    (server, reader)
}

fn sync(from: &ReviewDoc, to: &ReviewDoc) {
    to.apply_update(&from.encode_state()).unwrap();
}

#[test]
fn threads_and_comments_are_written_by_the_server_and_read_by_clients() {
    let (server, reader) = server_and_reader();
    let seen: Arc<Mutex<Vec<ReviewChanges>>> = Arc::default();
    let sink = seen.clone();
    reader.observe("ui", move |c| sink.lock().unwrap().push(c.clone()));

    let lin = person("Lin");
    let mo = person("Mo");
    let t2 = thread(
        "t2",
        Anchor::Shot {
            shot_id: "s1".into(),
        },
        &mo,
        2_000,
        "too dark",
    );
    let t1 = thread("t1", Anchor::Project, &lin, 1_000, "looks good @Mo");
    server.add_thread(&t2, Some("key-2")).unwrap();
    server.add_thread(&t1, None).unwrap();
    sync(&server, &reader);
    // Ordered by creation time, whatever the order of writing.
    assert_eq!(reader.threads(), vec![t1.clone(), t2.clone()]);

    // A reply, then its author edits it, then deletes the first comment.
    let reply = comment("t2-c1", &lin, 3_000, "agreed");
    server.add_comment(&t2.id, &reply, Some("key-3")).unwrap();
    server
        .edit_comment(&t2.id, &reply.id, "agreed, brighten it", 3_500)
        .unwrap();
    server
        .delete_comment(&t2.id, &t2.comments[0].id, 4_000)
        .unwrap();
    server
        .set_status(&t2.id, ThreadStatus::Resolved, Some(&lin), 5_000)
        .unwrap();
    sync(&server, &reader);

    let read = reader.thread(&t2.id).unwrap();
    assert_eq!(read.status, ThreadStatus::Resolved);
    assert_eq!(read.resolved_by.as_ref(), Some(&lin));
    assert_eq!(read.resolved_at_ms, Some(5_000));
    assert_eq!(read.comments.len(), 2);
    assert!(read.comments[0].deleted && read.comments[0].text.is_empty());
    assert_eq!(read.comments[1].text, "agreed, brighten it");
    assert_eq!(read.comments[1].edited_at_ms, Some(3_500));
    assert_eq!(read.comments[1].created_at_ms, 3_000);

    server
        .set_status(&t2.id, ThreadStatus::Open, None, 6_000)
        .unwrap();
    let reopened = server.thread(&t2.id).unwrap();
    assert_eq!(
        (
            reopened.status,
            reopened.resolved_by,
            reopened.resolved_at_ms
        ),
        (ThreadStatus::Open, None, None)
    );

    // Retried posts find what their first attempt created; another person's key does not.
    let mo_id = mo.id.clone().unwrap();
    let lin_id = lin.id.clone().unwrap();
    assert_eq!(
        server.find_client_key(&mo_id, "key-2"),
        Some((t2.id.clone(), None))
    );
    assert_eq!(
        server.find_client_key(&lin_id, "key-3"),
        Some((t2.id.clone(), Some(reply.id.clone())))
    );
    assert_eq!(server.find_client_key(&lin_id, "key-2"), None);

    // The reader was told which thread changed, once per update it received.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].threads.len(), 2);
    assert_eq!(seen[1].threads.iter().collect::<Vec<_>>(), vec![&t2.id]);
    assert!(!seen[1].verdicts);

    // A stored review document loads back to the same threads.
    let loaded = ReviewDoc::load(&server.encode_state()).unwrap();
    assert_eq!(loaded.threads(), server.threads());
}

#[test]
fn unknown_threads_and_comments_are_errors_that_change_nothing() {
    let server = ReviewDoc::empty();
    let lin = person("Lin");
    server
        .add_thread(&thread("t1", Anchor::Project, &lin, 1, "hi"), None)
        .unwrap();
    let before = server.encode_state();
    let missing = ThreadId::from("nope");
    let c = comment("c", &lin, 2, "x");
    assert!(matches!(
        server.add_comment(&missing, &c, None),
        Err(Error::NotFound { kind: "thread", .. })
    ));
    assert!(matches!(
        server.edit_comment(&ThreadId::from("t1"), &CommentId::from("nope"), "x", 3),
        Err(Error::NotFound {
            kind: "comment",
            ..
        })
    ));
    assert!(matches!(
        server.delete_comment(&missing, &c.id, 3),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        server.set_status(&missing, ThreadStatus::Resolved, Some(&lin), 3),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(server.encode_state(), before);
}

#[test]
fn one_verdict_per_person_and_version() {
    let (server, reader) = server_and_reader();
    let seen: Arc<Mutex<Vec<ReviewChanges>>> = Arc::default();
    let sink = seen.clone();
    reader.observe("ui", move |c| sink.lock().unwrap().push(c.clone()));
    let verdict = |who: &Author, version: &str, kind, at| Verdict {
        version: VersionId::from(version),
        author: who.clone(),
        verdict: kind,
        summary: format!("{} on {version}", who.name),
        created_at_ms: at,
        stale_shots: vec!["not stored".into()],
    };
    let (lin, mo) = (person("Lin"), person("Mo"));
    server
        .put_verdict(&verdict(&lin, "v1", VerdictKind::RequestChanges, 1))
        .unwrap();
    server
        .put_verdict(&verdict(&mo, "v1", VerdictKind::Comment, 2))
        .unwrap();
    server
        .put_verdict(&verdict(&lin, "v2", VerdictKind::Approve, 3))
        .unwrap();
    // Lin changes their mind on v1: it replaces the earlier one.
    server
        .put_verdict(&verdict(&lin, "v1", VerdictKind::Approve, 4))
        .unwrap();
    sync(&server, &reader);

    let on_v1 = reader.verdicts_on(&VersionId::from("v1"));
    let kinds: Vec<(&str, VerdictKind)> = on_v1
        .iter()
        .map(|v| (v.author.name.as_str(), v.verdict))
        .collect();
    assert_eq!(
        kinds,
        vec![("Mo", VerdictKind::Comment), ("Lin", VerdictKind::Approve)]
    );
    assert!(on_v1.iter().all(|v| v.stale_shots.is_empty()));
    assert_eq!(reader.verdicts().len(), 3);

    server.remove_verdicts_on(&VersionId::from("v1"));
    sync(&server, &reader);
    let left: Vec<VersionId> = reader.verdicts().into_iter().map(|v| v.version).collect();
    assert_eq!(left, vec![VersionId::from("v2")]);
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().all(|c| c.verdicts && c.threads.is_empty()),
        "{seen:?}"
    );
}

#[test]
fn a_script_thread_keeps_its_words_through_edits_before_and_inside_it() {
    let a = Project::create(&MetaPatch::default(), ProjectOptions::default());
    a.script_insert(0, "话说天下大势，分久必合，合久必分。\n周末七国分争。\n");
    let words = "分久必合";
    let script = a.script_text();
    let start = script[..script.find(words).unwrap()].encode_utf16().count() as u32;
    let range = a
        .script_anchor(start..start + words.encode_utf16().count() as u32)
        .unwrap();
    let anchor = Anchor::Script {
        anchor: range.to_base64(),
    };
    // The anchor travels as base64 and reads back the same.
    assert_eq!(
        ScriptAnchor::from_base64(&range.to_base64()).unwrap(),
        range
    );
    assert_eq!(a.anchor_text(&anchor).as_deref(), Some(words));

    // Another replica inserts before the range and inside it; the updates cross.
    let b = Project::empty(ProjectOptions::default());
    b.apply_update(&a.encode_state()).unwrap();
    b.script_insert(0, "第一回 ");
    let inside = start + "第一回 ".encode_utf16().count() as u32 + 2;
    b.script_insert(inside, "——");
    a.script_insert(a.script_len(), "（完）");
    a.apply_update(&b.encode_diff(&a.state_vector()).unwrap())
        .unwrap();
    b.apply_update(&a.encode_diff(&b.state_vector()).unwrap())
        .unwrap();

    for replica in [&a, &b] {
        assert_eq!(replica.anchor_text(&anchor).as_deref(), Some("分久——必合"));
        assert!(!replica.is_orphaned(&anchor));
    }

    // Deleting the whole range orphans the thread.
    let script = a.script_text();
    let at = script[..script.find("分久——必合").unwrap()]
        .encode_utf16()
        .count() as u32;
    a.script_delete(at, "分久——必合".encode_utf16().count() as u32);
    assert!(a.is_orphaned(&anchor));
    assert_eq!(a.anchor_text(&anchor), None);
}

#[test]
fn a_shot_thread_is_orphaned_when_its_shot_is_deleted() {
    let p = Project::create(&MetaPatch::default(), ProjectOptions::default());
    let scene = p.add_scene(&NewScene::default());
    let shot = p
        .add_shot(
            &scene,
            &NewShot {
                description: "雨夜".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let anchor = Anchor::Shot {
        shot_id: shot.clone(),
    };
    assert!(!p.is_orphaned(&anchor));
    assert_eq!(p.anchor_text(&anchor).as_deref(), Some("雨夜"));
    p.delete_shot(&shot).unwrap();
    assert!(p.is_orphaned(&anchor));
    assert_eq!(p.anchor_text(&anchor), None);
    assert!(!p.is_orphaned(&Anchor::Project));
    // An anchor that cannot be read points at nothing.
    for bad in ["", "not base64!", "AAAA", "/////w=="] {
        let anchor = Anchor::Script { anchor: bad.into() };
        assert!(p.is_orphaned(&anchor), "{bad}");
        assert_eq!(p.anchor_text(&anchor), None);
    }
}
