//! Bytes from the network or a damaged database must be rejected with an error, never panic
//! (and never leave a half-applied document).

// Helpers outside `#[test]` functions state their expectations with unwrap too (clippy.toml's
// allow-unwrap-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shared_model::{Error, NewScene, NewShot, Project, ProjectOptions, ReviewDoc};

fn sample_state() -> Vec<u8> {
    let p = Project::create(&Default::default(), ProjectOptions::default());
    p.script_insert(
        0,
        "CHAPTER I. Down the Rabbit-Hole\n第一回 宴桃园豪杰三结义\n",
    );
    let scene = p.add_scene(&NewScene {
        title: "Riverbank".into(),
        ..Default::default()
    });
    for i in 0..5 {
        let new = NewShot {
            description: format!("shot {i}"),
            ..Default::default()
        };
        p.add_shot(&scene, &new).unwrap();
    }
    p.encode_state()
}

/// Feeds `bytes` to a fresh project; it must either apply cleanly or fail with an error.
/// Panics are caught only to report them as test failures with the offending input.
fn feed(bytes: &[u8], what: &str) -> Result<(), Error> {
    let bytes = bytes.to_vec();
    std::panic::catch_unwind(move || {
        let p = Project::empty(ProjectOptions::default());
        let result = p.apply_update(&bytes);
        // Reading the result must not panic either.
        let _ = p.snapshot();
        let _ = p.validate();
        result
    })
    .unwrap_or_else(|_| panic!("{what} panicked"))
}

#[test]
fn random_bytes_are_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut rejected = 0;
    for i in 0..2_000 {
        let len = rng.random_range(0..256);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if feed(&bytes, &format!("random input {i} {bytes:?}")).is_err() {
            rejected += 1;
        }
    }
    assert!(
        rejected > 1_500,
        "only {rejected} of 2000 random inputs were rejected"
    );
}

#[test]
fn truncated_updates_are_rejected() {
    let state = sample_state();
    for cut in 1..state.len() {
        let result = feed(&state[..cut], &format!("truncated at {cut}"));
        assert!(
            result.is_err(),
            "an update truncated at {cut}/{} was accepted",
            state.len()
        );
    }
}

#[test]
fn bit_flipped_updates_never_panic() {
    let state = sample_state();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for i in 0..3_000 {
        let mut bytes = state.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..bytes.len());
            bytes[at] ^= 1 << rng.random_range(0..8);
        }
        let _ = feed(&bytes, &format!("bit flip {i}"));
    }
}

#[test]
fn corrupt_state_vectors_are_rejected() {
    let p = Project::empty(ProjectOptions::default());
    assert!(matches!(
        p.encode_diff(&[0xff, 0xff, 0xff]),
        Err(Error::InvalidStateVector(_))
    ));
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_error() {
    let newer = Project::create(&Default::default(), ProjectOptions::default());
    {
        use shared_model::yrs::{Map, Transact};
        let meta = newer.doc().get_or_insert_map(shared_model::schema::META);
        let mut txn = newer.doc().transact_mut();
        meta.insert(&mut txn, shared_model::schema::meta::SCHEMA_VERSION, 99.0);
    }
    let err = Project::load(&newer.encode_state(), ProjectOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NewerSchema { found: 99 }));
    assert!(err.to_string().contains("upgrade Shotweave"), "{err}");

    let current = Project::load(&sample_state(), ProjectOptions::default()).unwrap();
    assert_eq!(
        current.meta().schema_version,
        shared_model::schema::SCHEMA_VERSION
    );
}

#[test]
fn an_allocation_bomb_is_refused_before_decoding() {
    // 5 bytes declaring 2^32-1 clients: yrs would reserve a table for all of them.
    let p = Project::empty(ProjectOptions::default());
    let err = p.apply_update(&[0xff, 0xff, 0xff, 0xff, 0x0f]).unwrap_err();
    assert!(
        err.to_string().contains("declares 4294967295 clients"),
        "{err}"
    );
}

fn sample_review_state() -> Vec<u8> {
    use api_types::{Anchor, Author, Comment, Thread, ThreadStatus};
    let review = ReviewDoc::empty();
    let author = Author {
        id: Some("p1".into()),
        name: "Lin".into(),
    };
    let thread = Thread {
        id: "t1".into(),
        anchor: Anchor::Shot {
            shot_id: "s1".into(),
        },
        quote: "雨夜".into(),
        version: None,
        author: author.clone(),
        created_at_ms: 1,
        status: ThreadStatus::Open,
        resolved_by: None,
        resolved_at_ms: None,
        comments: vec![Comment {
            id: "c1".into(),
            author,
            created_at_ms: 1,
            edited_at_ms: None,
            text: "too dark".into(),
            deleted: false,
            mentions: Vec::new(),
        }],
        orphaned: false,
    };
    review.add_thread(&thread, Some("k")).unwrap();
    review.encode_state()
}

/// Feeds `bytes` to a fresh review document: an error or a clean load whose reads work.
fn feed_review(bytes: &[u8], what: &str) -> Result<(), Error> {
    let bytes = bytes.to_vec();
    std::panic::catch_unwind(move || {
        let review = ReviewDoc::load(&bytes)?;
        let _ = review.threads();
        let _ = review.verdicts();
        let _ = review.find_client_key(&"p1".into(), "k");
        Ok(())
    })
    .unwrap_or_else(|_| panic!("{what} panicked"))
}

#[test]
fn corrupt_review_documents_are_rejected_without_panicking() {
    let state = sample_review_state();
    assert!(feed_review(&state, "the sample").is_ok());
    for cut in 1..state.len() {
        assert!(
            feed_review(&state[..cut], &format!("review truncated at {cut}")).is_err(),
            "a review state truncated at {cut}/{} was accepted",
            state.len()
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for i in 0..2_000 {
        let mut bytes = state.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..bytes.len());
            bytes[at] ^= 1 << rng.random_range(0..8);
        }
        let _ = feed_review(&bytes, &format!("review bit flip {i}"));
        let len = rng.random_range(0..128);
        let random: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let _ = feed_review(&random, &format!("random review input {i}"));
    }
}

#[test]
fn corrupt_script_anchors_never_panic() {
    use shared_model::ScriptAnchor;
    let p = Project::create(&Default::default(), ProjectOptions::default());
    p.script_insert(0, "话说天下大势");
    let good = p.script_anchor(1..3).unwrap().encode();
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for i in 0..2_000 {
        let mut bytes = good.clone();
        let at = rng.random_range(0..bytes.len());
        bytes[at] ^= 1 << rng.random_range(0..8);
        if rng.random_bool(0.3) {
            bytes.truncate(rng.random_range(0..bytes.len()));
        }
        let text = base64_of(&bytes);
        let anchor = api_types::Anchor::Script { anchor: text };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = ScriptAnchor::decode(&bytes);
            let _ = p.is_orphaned(&anchor);
            let _ = p.anchor_text(&anchor);
        }))
        .unwrap_or_else(|_| panic!("anchor {i} {bytes:?} panicked"));
    }
    // A position naming a client id wider than 53 bits (yrs asserts on those).
    // Each half: tag 0 (an item id), the client as a varint of 56 one-bits, clock 0, assoc 0.
    let half = [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0];
    let mut wide = (half.len() as u32).to_le_bytes().to_vec();
    wide.extend_from_slice(&half);
    wide.extend_from_slice(&half);
    assert!(ScriptAnchor::decode(&wide).is_err());
    assert!(ScriptAnchor::from_base64("%%%").is_err());
    assert!(ScriptAnchor::from_base64("AAE=").is_err());
}

/// Standard base64, written out here so that the test does not trust the code under test.
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
