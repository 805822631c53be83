//! Hostile and broken input: each bad connection gets a clear close code (or an HTTP error
//! before the upgrade) and everyone else keeps being served.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use sync_server::auth::{Claims, Role, TokenSigner};
use sync_server::test_support::{Closed, TestServer, WsClient};
use tokio_tungstenite::tungstenite;

const WAIT: Duration = Duration::from_secs(10);

/// Opens a bystander pair (writer + reader) on the same document, so each case can check the
/// room still serves others afterwards.
struct Bystanders {
    writer: WsClient,
    reader: WsClient,
    n: usize,
}

impl Bystanders {
    async fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            writer: WsClient::connect_synced(url).await?,
            reader: WsClient::connect_synced(url).await?,
            n: 0,
        })
    }

    async fn still_served(&mut self) -> anyhow::Result<()> {
        self.n += 1;
        let marker = format!("[ok {}]", self.n);
        self.writer.append_script(&marker).await?;
        self.reader
            .pump_until(WAIT, |c| c.script().contains(&marker))
            .await?;
        Ok(())
    }
}

async fn send_and_expect_close(url: &str, frame: Vec<u8>) -> anyhow::Result<Closed> {
    let mut bad = WsClient::connect_synced(url).await?;
    bad.send_raw(frame).await?;
    bad.wait_closed(WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_close_only_their_connection() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.max_frame_bytes = 64 * 1024).await;
    let (project, owner) = server.project().await;
    let url = server.ws_url(project.as_str(), &owner);
    let mut others = Bystanders::new(&url).await?;

    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("truncated varint", vec![0x80], 1002, "malformed"),
        (
            "truncated update",
            vec![0, 2, 50, 1, 2, 3],
            1002,
            "malformed",
        ),
        (
            "unknown sync type",
            vec![0, 9, 1, 0],
            1002,
            "unknown sync message type",
        ),
        (
            "unknown message type",
            vec![42, 1, 0],
            1003,
            "unknown message type 42",
        ),
        ("empty frame", vec![], 1002, "empty frame"),
        (
            "garbage update",
            vec![0, 2, 4, 0xff, 0xff, 0xff, 0xff],
            1002,
            "malformed",
        ),
        (
            "oversized frame",
            {
                let mut big = vec![0, 2];
                big.extend(std::iter::repeat_n(0u8, 100 * 1024));
                big
            },
            1009,
            "message too big",
        ),
    ];
    for (name, frame, code, reason) in cases {
        let closed = send_and_expect_close(&url, frame).await?;
        assert_eq!(closed.code, code, "{name}: {closed:?}");
        assert!(closed.reason.contains(reason), "{name}: {closed:?}");
        others.still_served().await?;
    }

    // Text frames are not part of the protocol.
    let mut text = WsClient::connect_synced(&url).await?;
    text.send_text("hello").await?;
    let closed = text.wait_closed(WAIT).await?;
    assert_eq!(closed.code, 1003, "{closed:?}");
    others.still_served().await?;

    // Random bytes, seeded so a failure can be replayed.
    let seed: u64 = rand::rng().random();
    eprintln!("random frames seed: {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for _ in 0..20 {
        let len = rng.random_range(1..200);
        let frame: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let mut bad = WsClient::connect_synced(&url).await?;
        bad.send_raw(frame.clone()).await?;
        // Random bytes can happen to be a valid message; then nothing closes, and the
        // connection must simply keep working.
        bad.pump_for(Duration::from_millis(100)).await?;
        if let Some(closed) = &bad.closed {
            assert!(
                matches!(closed.code, 1002 | 1003 | 1007),
                "seed {seed}, frame {frame:?}: {closed:?}"
            );
            assert!(!closed.reason.is_empty());
        }
    }
    others.still_served().await?;
    assert!(others.writer.closed.is_none() && others.reader.closed.is_none());
    server.stop().await;
    Ok(())
}

async fn upgrade_status(url: &str) -> Option<u16> {
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => None,
        Err(tungstenite::Error::Http(response)) => Some(response.status().as_u16()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_before_the_upgrade() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let (other_project, other_owner) = server.project().await;
    let doc = project.as_str();
    let mut others = Bystanders::new(&server.ws_url(doc, &owner)).await?;

    let expired = server.token(&project, Role::Editor, Some(1));
    let forged = TokenSigner::new(b"not the server's secret, at all!").sign(&Claims {
        project: project.clone(),
        role: Role::Owner,
        expires_at: None,
        link: None,
        person: None,
    });
    let tampered = {
        let (head, _sig) = owner.rsplit_once('.').expect("token");
        format!("{head}.AAAA")
    };
    let base = format!("ws://{}/sync/{doc}", server.addr);
    assert_eq!(upgrade_status(&base).await, Some(401), "no token");
    for (name, token) in [
        ("expired", expired),
        ("forged", forged),
        ("tampered", tampered),
        ("junk", "junk".to_owned()),
    ] {
        assert_eq!(
            upgrade_status(&server.ws_url(doc, &token)).await,
            Some(401),
            "{name}"
        );
    }
    // A valid token for another project.
    assert_eq!(
        upgrade_status(&server.ws_url(doc, &other_owner)).await,
        Some(403)
    );
    // Unknown document names.
    assert_eq!(
        upgrade_status(&server.ws_url("not-a-project", &owner)).await,
        Some(404)
    );
    assert_eq!(
        upgrade_status(&server.ws_url(&format!("{other_project}.review"), &owner)).await,
        Some(403)
    );
    others.still_served().await?;
    server.stop().await;
    Ok(())
}

/// Updates whose first varint declares far more clients than the bytes could hold. yrs
/// reserves a hash map for the declared count before reading any client: unguarded, 2^28
/// costs about 0.4 s and 0.5 GB per frame here, and 2^32 - 1 gigabytes more where the
/// allocator grants it (on this machine it fails fast).
const HOSTILE_UPDATES: [&[u8]; 2] = [
    &[0x80, 0x80, 0x80, 0x80, 0x01],
    &[0xff, 0xff, 0xff, 0xff, 0x0f],
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_client_counts_close_their_connection_quickly() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let url = server.ws_url(project.as_str(), &owner);
    let mut others = Bystanders::new(&url).await?;

    const ROUNDS: usize = 20;
    let started = std::time::Instant::now();
    for round in 0..ROUNDS {
        let update = HOSTILE_UPDATES[round % 2];
        // As a sync step 2 and as a sync update: both carry an update.
        let sub = if round % 4 < 2 { 1 } else { 2 };
        let mut frame = vec![0, sub, update.len() as u8];
        frame.extend(update);
        let closed = send_and_expect_close(&url, frame).await?;
        assert_eq!(closed.code, 1002, "round {round}: {closed:?}");
        assert!(
            closed.reason.contains("clients"),
            "round {round}: {closed:?}"
        );
        others.still_served().await?;
    }
    // A round is a handshake, a close and a bystander edit: milliseconds. Unguarded, the
    // decoder alone would take about 4 s for the ten 2^28 frames.
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "{ROUNDS} hostile frames took {elapsed:?}"
    );
    assert!(others.writer.closed.is_none() && others.reader.closed.is_none());
    server.stop().await;
    Ok(())
}
