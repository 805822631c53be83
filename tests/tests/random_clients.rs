//! Randomized multi-client runs through the real server, as zed's collab tests do: native
//! clients (shared-model documents over `WsClient`) connect, edit the script, scenes, shots and
//! characters (the prose texts included, by offset and by whole-value writes), go offline and
//! keep editing, and reconnect, in a seeded random order. At the end every client, a fresh
//! client and the server's store hold the same project, and no edit anybody made is lost:
//! every inserted piece of text that nobody deleted is there exactly once, nothing deleted
//! came back, and every shot created and not deleted exists.
//!
//! Half the runs start from an empty project (stamped with the current schema by the server),
//! half from a stored schema-1 document that the server converts when the room loads it.
//!
//! The seed is printed; replay with `SHOTWEAVE_SEED=<seed> cargo test -p tests --test
//! random_clients`. Every choice comes from the seed, and after each message a client sends it
//! waits for the server's answer to an awareness query (which the server sends after it has
//! handled everything before it), so a replay also reproduces what each client had received
//! when it acted.

// Helpers outside `#[test]` functions state their expectations with unwrap too (clippy.toml's
// allow-unwrap-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shared_model::schema::SCHEMA_VERSION;
use shared_model::{
    CharacterId, CharacterPatch, NewCharacter, NewScene, NewShot, Project, ProjectOptions,
    ProjectSnapshot, ProseField, SceneId, ScenePatch, ShotId, ShotPatch,
};
use sync_server::test_support::{TestServer, WsClient};
use yrs::sync::Message;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, Transact};

/// A document written by the schema-1 build (see `shared-model/tests/prose.rs`).
const SCHEMA1: &[u8] = include_bytes!("../../shared-model/tests/data/schema1.ydoc");
const WAIT: Duration = Duration::from_secs(10);
const RUNS: usize = 4;
const STEPS: usize = 220;

/// Where a piece of text lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place {
    Script,
    Prose(ProseField),
}

struct Client {
    project: Project,
    ws: Option<WsClient>,
}

struct Run {
    rng: ChaCha8Rng,
    url: String,
    clients: Vec<Client>,
    /// Every piece of text inserted, with where it went. Pieces start with a character no other
    /// piece (and no text of the schema-1 document) starts with and end with `|`, and are only
    /// inserted between pieces and deleted whole, so a whole-value write's minimal splice is
    /// exactly that insert or delete and each piece stays contiguous through any merge.
    pieces: Vec<(String, Place)>,
    deleted_pieces: BTreeSet<String>,
    /// Text that was there before the run (the schema-1 document's), never edited inside.
    base: Vec<(String, Place)>,
    created_shots: BTreeSet<ShotId>,
    deleted_shots: BTreeSet<ShotId>,
    ops: BTreeMap<&'static str, usize>,
    counter: u32,
}

/// Sends an awareness query and reads until its answer: the server answers after it has
/// applied every earlier message of this connection and sent this client everything it
/// broadcast before, so afterwards the client and the server agree.
async fn barrier(ws: &mut WsClient) -> anyhow::Result<()> {
    let before = ws.awareness_received;
    ws.send_raw(Message::AwarenessQuery.encode_v1()).await?;
    ws.pump_until(WAIT, |c| c.awareness_received > before).await
}

fn text_of(project: &Project, place: &Place) -> Option<String> {
    match place {
        Place::Script => Some(project.script_text()),
        Place::Prose(field) => project.prose(field),
    }
}

/// UTF-16 offsets where a piece may go: the start, after the base text, and after every piece.
fn boundaries(text: &str, base: Option<&str>) -> Vec<u32> {
    let mut out = vec![0];
    if let Some(base) = base.filter(|b| !b.is_empty())
        && let Some(at) = text.find(base)
    {
        out.push(text[..at + base.len()].encode_utf16().count() as u32);
    }
    let mut units = 0u32;
    for c in text.chars() {
        units += c.len_utf16() as u32;
        if c == '|' {
            out.push(units);
        }
    }
    out
}

impl Run {
    fn new(seed: u64, url: String, clients: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let clients = (0..clients)
            .map(|_| Client {
                project: Project::empty(ProjectOptions {
                    client_id: Some(rng.random_range(1..1u64 << 52)),
                    skip_gc: false,
                }),
                ws: None,
            })
            .collect();
        Run {
            rng,
            url,
            clients,
            pieces: Vec::new(),
            deleted_pieces: BTreeSet::new(),
            base: Vec::new(),
            created_shots: BTreeSet::new(),
            deleted_shots: BTreeSet::new(),
            ops: BTreeMap::new(),
            counter: 0,
        }
    }

    fn count(&mut self, op: &'static str) {
        *self.ops.entry(op).or_default() += 1;
    }

    /// A new piece of text for `place`: a Hangul syllable of its own (neither the schema-1
    /// document nor any other piece starts with it), sometimes an emoji (a UTF-16 surrogate
    /// pair), then `|`.
    fn piece(&mut self, place: Place) -> String {
        self.counter += 1;
        let first = char::from_u32(0xAC00 + self.counter).unwrap();
        let extra = match self.rng.random_range(0..4) {
            0 => "🎬",
            1 => "刘备",
            2 => " rain",
            _ => "",
        };
        let piece = format!("{first}{extra}|");
        self.pieces.push((piece.clone(), place));
        piece
    }

    fn fresh_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}-{:08x}", self.counter, self.rng.random::<u32>())
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.rng.random_range(0..items.len())].clone())
    }

    fn base_of(&self, place: &Place) -> Option<String> {
        self.base
            .iter()
            .find(|(_, p)| p == place)
            .map(|(b, _)| b.clone())
    }

    async fn connect(&mut self, c: usize) -> anyhow::Result<()> {
        let doc = self.clients[c].project.doc().clone();
        let mut ws = WsClient::connect_with_doc(&self.url, doc).await?;
        ws.wait_synced().await?;
        // Our answer to the server's step 1 (everything made offline) is applied after this.
        barrier(&mut ws).await?;
        self.clients[c].ws = Some(ws);
        Ok(())
    }

    async fn disconnect(&mut self, c: usize) {
        if let Some(ws) = self.clients[c].ws.take() {
            ws.close().await;
        }
    }

    /// One random step.
    async fn step(&mut self) -> anyhow::Result<()> {
        let c = self.rng.random_range(0..self.clients.len());
        // Offline spells last a few steps of their client, not most of the run.
        let come_back = self.clients[c].ws.is_none() && self.rng.random_bool(0.25);
        match self.rng.random_range(0..100) {
            _ if come_back => {
                self.count("reconnect");
                self.connect(c).await?;
            }
            0..=7 => {
                if self.clients[c].ws.is_some() {
                    self.count("go offline");
                    self.disconnect(c).await;
                } else {
                    self.count("reconnect");
                    self.connect(c).await?;
                }
            }
            8..=19 => {
                if let Some(ws) = self.clients[c].ws.as_mut() {
                    barrier(ws).await?;
                    self.count("receive");
                }
            }
            _ => {
                let before = self.clients[c].project.state_vector();
                self.edit(c);
                let client = &mut self.clients[c];
                if let Some(ws) = client.ws.as_mut() {
                    let update = client.project.encode_diff(&before)?;
                    ws.send_raw(Message::Sync(yrs::sync::SyncMessage::Update(update)).encode_v1())
                        .await?;
                    barrier(ws).await?;
                } else {
                    self.count("offline edit");
                }
            }
        }
        Ok(())
    }

    /// One random edit on client `c`'s own document.
    fn edit(&mut self, c: usize) {
        let p = &self.clients[c].project;
        let scenes: Vec<SceneId> = p.scenes().into_iter().map(|s| s.id).collect();
        let shots: Vec<ShotId> = p.shots().into_iter().map(|s| s.id).collect();
        let chars: Vec<CharacterId> = p.characters().into_iter().map(|c| c.id).collect();
        match self.rng.random_range(0..20) {
            0..=2 => {
                let place = Place::Script;
                let text = text_of(&self.clients[c].project, &place).unwrap();
                let at = self.pick(&boundaries(&text, self.base_of(&place).as_deref()));
                let piece = self.piece(place);
                self.clients[c].project.script_insert(at.unwrap(), &piece);
                self.count("script insert");
            }
            3 if self.delete_piece(c, Place::Script) => self.count("script delete"),
            4 => {
                let id = SceneId::from(self.fresh_id("scene"));
                let title = self.piece(Place::Prose(ProseField::SceneTitle(id.clone())));
                let index = self.rng.random_range(0..=scenes.len());
                self.clients[c].project.insert_scene(
                    &id,
                    index,
                    &NewScene {
                        title,
                        ..Default::default()
                    },
                );
                self.count("add scene");
            }
            5 | 6 if !scenes.is_empty() => {
                let scene = self.pick(&scenes).unwrap();
                let id = ShotId::from(self.fresh_id("shot"));
                let description = self.piece(Place::Prose(ProseField::ShotDescription(id.clone())));
                let dialogue = if self.rng.random_bool(0.5) {
                    self.piece(Place::Prose(ProseField::ShotDialogue(id.clone())))
                } else {
                    String::new()
                };
                let index = self.rng.random_range(0..=shots.len());
                let character_ids = chars
                    .iter()
                    .filter(|_| self.rng.random_bool(0.3))
                    .cloned()
                    .collect();
                let new = NewShot {
                    description,
                    dialogue,
                    character_ids,
                    ..Default::default()
                };
                self.clients[c]
                    .project
                    .insert_shot(&id, &scene, index, &new)
                    .unwrap();
                self.created_shots.insert(id);
                self.count("add shot");
            }
            7 => {
                let id = CharacterId::from(self.fresh_id("char"));
                let description =
                    self.piece(Place::Prose(ProseField::CharacterDescription(id.clone())));
                self.clients[c].project.insert_character(
                    &id,
                    &NewCharacter {
                        name: format!("character {}", self.counter),
                        description,
                        ..Default::default()
                    },
                );
                self.count("add character");
            }
            8..=12 => {
                if let Some(field) = self.pick_field(&scenes, &shots, &chars) {
                    self.insert_piece(c, field);
                }
            }
            13 | 14 => {
                if let Some(field) = self.pick_field(&scenes, &shots, &chars)
                    && self.delete_piece(c, Place::Prose(field))
                {
                    self.count("prose delete");
                }
            }
            15 | 16 if !shots.is_empty() && !scenes.is_empty() => {
                let shot = self.pick(&shots).unwrap();
                let scene = self.pick(&scenes).unwrap();
                let index = self.rng.random_range(0..shots.len());
                self.clients[c]
                    .project
                    .move_shot(&shot, &scene, index)
                    .unwrap();
                self.count("move shot");
            }
            17 if !shots.is_empty() && self.rng.random_bool(0.3) => {
                let shot = self.pick(&shots).unwrap();
                self.clients[c].project.delete_shot(&shot).unwrap();
                self.deleted_shots.insert(shot);
                self.count("delete shot");
            }
            18 | 19 if !shots.is_empty() => {
                // Short fields stay last-writer-wins values.
                let shot = self.pick(&shots).unwrap();
                let patch = ShotPatch {
                    camera: Some(format!("camera {}", self.rng.random_range(0..5))),
                    duration_ms: Some(self.rng.random_range(500..8_000)),
                    ..Default::default()
                };
                self.clients[c].project.update_shot(&shot, &patch).unwrap();
                self.count("short fields");
            }
            _ => {}
        }
    }

    fn pick_field(
        &mut self,
        scenes: &[SceneId],
        shots: &[ShotId],
        chars: &[CharacterId],
    ) -> Option<ProseField> {
        match self.rng.random_range(0..4) {
            0 => self.pick(scenes).map(ProseField::SceneTitle),
            1 => self.pick(shots).map(ProseField::ShotDescription),
            2 => self.pick(shots).map(ProseField::ShotDialogue),
            _ => self.pick(chars).map(ProseField::CharacterDescription),
        }
    }

    /// Inserts a new piece between two pieces of `field`, by offset or by writing the whole new
    /// value through one of the setters a form would use.
    fn insert_piece(&mut self, c: usize, field: ProseField) {
        let place = Place::Prose(field.clone());
        let text = text_of(&self.clients[c].project, &place).unwrap();
        let at = self
            .pick(&boundaries(&text, self.base_of(&place).as_deref()))
            .unwrap();
        let piece = self.piece(place);
        if self.rng.random_bool(0.5) {
            self.clients[c]
                .project
                .prose_insert(&field, at, &piece)
                .unwrap();
            self.count("prose insert");
        } else {
            let units: Vec<u16> = text.encode_utf16().collect();
            let value = format!(
                "{}{piece}{}",
                String::from_utf16(&units[..at as usize]).unwrap(),
                String::from_utf16(&units[at as usize..]).unwrap()
            );
            self.write_whole(c, &field, value);
            self.count("prose whole-value insert");
        }
    }

    /// Deletes one piece the client sees at `place`, by offset or by a whole-value write.
    /// Returns false when there was none.
    fn delete_piece(&mut self, c: usize, place: Place) -> bool {
        let text = text_of(&self.clients[c].project, &place).unwrap();
        let here: Vec<String> = self
            .pieces
            .iter()
            .filter(|(piece, p)| *p == place && text.contains(piece.as_str()))
            .map(|(piece, _)| piece.clone())
            .collect();
        let Some(piece) = self.pick(&here) else {
            return false;
        };
        let byte = text.find(&piece).unwrap();
        let at = text[..byte].encode_utf16().count() as u32;
        let len = piece.encode_utf16().count() as u32;
        match &place {
            Place::Script => self.clients[c].project.script_delete(at, len),
            Place::Prose(field) => {
                if self.rng.random_bool(0.5) {
                    self.clients[c]
                        .project
                        .prose_delete(field, at, len)
                        .unwrap();
                } else {
                    let value = text.replacen(&piece, "", 1);
                    self.write_whole(c, field, value);
                }
            }
        }
        self.deleted_pieces.insert(piece);
        true
    }

    /// Writes a prose field's whole value through a patch or a named setter.
    fn write_whole(&mut self, c: usize, field: &ProseField, value: String) {
        let project = &self.clients[c].project;
        let patch = self.rng.random_bool(0.5);
        let result = match (field, patch) {
            (ProseField::ShotDescription(id), true) => project.update_shot(
                id,
                &ShotPatch {
                    description: Some(value),
                    ..Default::default()
                },
            ),
            (ProseField::ShotDialogue(id), true) => project.update_shot(
                id,
                &ShotPatch {
                    dialogue: Some(value),
                    ..Default::default()
                },
            ),
            (ProseField::SceneTitle(id), true) => project.update_scene(
                id,
                &ScenePatch {
                    title: Some(value),
                    ..Default::default()
                },
            ),
            (ProseField::CharacterDescription(id), true) => project.update_character(
                id,
                &CharacterPatch {
                    description: Some(value),
                    ..Default::default()
                },
            ),
            (ProseField::ShotDescription(id), false) => project.set_shot_description(id, &value),
            (ProseField::ShotDialogue(id), false) => project.set_shot_dialogue(id, &value),
            (ProseField::SceneTitle(id), false) => project.set_scene_title(id, &value),
            (ProseField::CharacterDescription(id), false) => {
                project.set_character_description(id, &value)
            }
        };
        result.unwrap();
    }

    /// Records the text each field had when the run started (the converted schema-1 document's).
    fn record_base(&mut self) {
        let p = &self.clients[0].project;
        let mut base = vec![(p.script_text(), Place::Script)];
        for s in p.scenes() {
            base.push((s.title, Place::Prose(ProseField::SceneTitle(s.id))));
        }
        for s in p.shots() {
            self.created_shots.insert(s.id.clone());
            base.push((
                s.description,
                Place::Prose(ProseField::ShotDescription(s.id.clone())),
            ));
            base.push((s.dialogue, Place::Prose(ProseField::ShotDialogue(s.id))));
        }
        for ch in p.characters() {
            base.push((
                ch.description,
                Place::Prose(ProseField::CharacterDescription(ch.id)),
            ));
        }
        self.base = base;
    }
}

fn place_exists(snapshot: &ProjectSnapshot, place: &Place) -> bool {
    match place {
        Place::Script => true,
        Place::Prose(ProseField::SceneTitle(id)) => snapshot.scenes.iter().any(|s| &s.id == id),
        Place::Prose(ProseField::ShotDescription(id) | ProseField::ShotDialogue(id)) => {
            snapshot.shots.iter().any(|s| &s.id == id)
        }
        Place::Prose(ProseField::CharacterDescription(id)) => {
            snapshot.characters.iter().any(|c| &c.id == id)
        }
    }
}

async fn run_once(seed: u64, from_schema1: bool) -> anyhow::Result<BTreeMap<&'static str, usize>> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let doc = project.as_str();
    if from_schema1 {
        // What an import stores: the document as the project's first snapshot.
        server.state.store().write_snapshot(doc, 0, SCHEMA1).await?;
    }
    let clients = 3 + (seed % 3) as usize;
    let mut run = Run::new(seed, server.ws_url(doc, &owner), clients);
    for c in 0..clients {
        run.connect(c).await?;
        let meta = run.clients[c].project.meta();
        ensure!(
            meta.schema_version == SCHEMA_VERSION,
            "client {c} was served schema {}",
            meta.schema_version
        );
    }
    if from_schema1 {
        // The server converted the document before serving it, without changing its text.
        let mut converted = run.clients[0].project.snapshot();
        let original = Project::load(SCHEMA1, ProjectOptions::default())?.snapshot();
        converted.meta.schema_version = original.meta.schema_version;
        ensure!(converted == original, "the conversion changed the document");
        run.record_base();
    }

    for step in 0..STEPS {
        run.step()
            .await
            .with_context(|| format!("step {step} of seed {seed}"))?;
    }

    // Everyone comes back; two rounds of barriers: first the server has everything, then
    // every client has everything the server has.
    for c in 0..clients {
        if run.clients[c].ws.is_none() {
            run.connect(c).await?;
        }
    }
    for _ in 0..2 {
        for client in &mut run.clients {
            barrier(client.ws.as_mut().unwrap()).await?;
        }
    }

    let reference = run.clients[0].project.snapshot();
    // Compared decoded: the encoding's client order is a hash map's.
    let sv = |p: &Project| p.doc().transact().state_vector();
    let reference_sv = sv(&run.clients[0].project);
    for (c, client) in run.clients.iter().enumerate() {
        ensure!(
            client.project.snapshot() == reference,
            "client {c} diverged from client 0 (seed {seed})"
        );
        ensure!(
            sv(&client.project) == reference_sv,
            "client {c}'s state vector differs"
        );
    }
    let fresh = WsClient::connect_synced(&server.ws_url(doc, &owner)).await?;
    ensure!(
        Project::from_doc(fresh.doc.clone()).snapshot() == reference,
        "a fresh client diverged (seed {seed})"
    );
    let stored = server.state.store().load_doc(doc).await?;
    let from_store = Project::empty(ProjectOptions::default());
    for update in stored
        .snapshot
        .iter()
        .chain(stored.tail.iter().map(|(_, u)| u))
    {
        from_store.apply_update(update)?;
    }
    ensure!(
        from_store.snapshot() == reference,
        "the store diverged (seed {seed})"
    );
    ensure!(reference.meta.schema_version == SCHEMA_VERSION);
    let p = &run.clients[0].project;
    // Nobody deletes scenes or characters here, so no concurrent edit leaves a dangling link.
    ensure!(p.validate().is_empty(), "{:?}", p.validate());

    // No edit lost: the shots, and every piece of text.
    let shots: BTreeSet<ShotId> = reference.shots.iter().map(|s| s.id.clone()).collect();
    let expected: BTreeSet<ShotId> = run
        .created_shots
        .difference(&run.deleted_shots)
        .cloned()
        .collect();
    ensure!(shots == expected, "shots lost or resurrected (seed {seed})");
    let mut remaining: BTreeMap<String, (Place, String)> = BTreeMap::new();
    let mut key_of = |place: &Place| -> Option<String> {
        if !place_exists(&reference, place) {
            return None;
        }
        let key = format!("{place:?}");
        remaining
            .entry(key.clone())
            .or_insert_with(|| (place.clone(), text_of(p, place).unwrap_or_default()));
        Some(key)
    };
    let mut checks = Vec::new();
    for (text, place) in run.base.iter().chain(run.pieces.iter()) {
        if let Some(key) = key_of(place) {
            checks.push((key, text.clone(), place.clone()));
        }
    }
    for (key, text, place) in checks {
        let (_, current) = remaining.get_mut(&key).unwrap();
        let found = current.matches(text.as_str()).count();
        if run.deleted_pieces.contains(&text) {
            ensure!(
                found == 0,
                "deleted {text:?} is back in {place:?} (seed {seed})"
            );
        } else if !text.is_empty() {
            ensure!(
                found == 1,
                "{text:?} is in {place:?} {found} times, not once (seed {seed}): {current:?}"
            );
            *current = current.replacen(text.as_str(), "", 1);
        }
    }
    for (place, rest) in remaining.values() {
        ensure!(
            rest.is_empty(),
            "{place:?} holds text nobody wrote: {rest:?} (seed {seed})"
        );
    }

    for client in &mut run.clients {
        if let Some(ws) = client.ws.take() {
            ws.close().await;
        }
    }
    fresh.close().await;
    server.stop().await;
    Ok(run.ops)
}

fn base_seed() -> u64 {
    match std::env::var("SHOTWEAVE_SEED") {
        Ok(s) => s.parse().expect("SHOTWEAVE_SEED must be a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(42),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_clients_through_the_server_converge_and_lose_nothing() -> anyhow::Result<()> {
    let base = base_seed();
    eprintln!("random_clients seed = {base} (replay with SHOTWEAVE_SEED={base})");
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(base);
    let mut total: BTreeMap<&'static str, usize> = BTreeMap::new();
    for run in 0..RUNS {
        let seed = rng.random::<u64>();
        let ops = run_once(seed, run % 2 == 1)
            .await
            .with_context(|| format!("run {run} (replay with SHOTWEAVE_SEED={base})"))?;
        for (op, n) in ops {
            *total.entry(op).or_default() += n;
        }
    }
    eprintln!("{RUNS} runs in {:?}: {total:?}", started.elapsed());
    // The runs exercised what they claim to.
    for op in [
        "go offline",
        "reconnect",
        "offline edit",
        "receive",
        "add shot",
        "prose insert",
        "prose whole-value insert",
        "prose delete",
        "script insert",
        "move shot",
    ] {
        ensure!(
            total.get(op).copied().unwrap_or(0) > 0,
            "no {op:?} in any run: {total:?}"
        );
    }
    Ok(())
}
