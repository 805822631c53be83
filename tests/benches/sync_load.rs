//! Load generator for the sync server, side by side with the reference y-websocket server.
//!
//! N clients over M documents type small text edits at a target aggregate rate, on loopback,
//! first against the reference Node server (`@y/websocket-server@0.1.1` + `yjs@13`, installed
//! in `bench/reference/`) and then against our release `sync-server` on its embedded defaults
//! (SQLite in a temp data dir), with the same load. For every rate of the sweep it reports
//! connections held, updates/s sent, deliveries/s, fan-out latency (send until every other
//! client of the document has the edit) p50/p99, the server's CPU seconds and RSS, and the
//! generator's own CPU seconds.
//!
//! ```text
//! npm ci --prefix bench/reference
//! cargo build --release -p sync-server && cargo bench -p tests --bench sync_load
//! cargo bench -p tests --bench sync_load -- --rates 1000,5000 --secs 5 --servers ours
//! ```
//!
//! The generator is kept cheap because it shares the machine's cores with the server: one task
//! per client on a single-threaded runtime (`--threads` to change), every edit pre-encoded at
//! start-up, and on receipt only the first struct's client id and clock are read from the
//! update. Each client appends 4 characters per edit after its own previous edit, so every
//! update is a valid yrs/Yjs update whose `(client, clock)` names the edit: the receiver finds
//! the send time in a shared table and the last receiver of an edit records its latency.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// Characters each edit inserts; an edit's sequence number is its clock divided by this.
const EDIT_LEN: u64 = 4;
/// Client ids are `CLIENT_BASE + client index`.
const CLIENT_BASE: u64 = 1 << 20;
/// Sync step 1 with an empty state vector, as a fresh y-websocket client sends it.
const STEP1: [u8; 4] = [0, 0, 1, 0];
/// Sync step 2 carrying an empty update: the answer to the server's step 1.
const EMPTY_STEP2: [u8; 5] = [0, 1, 2, 0, 0];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerKind {
    Ours,
    Reference,
}

impl ServerKind {
    fn name(self) -> &'static str {
        match self {
            ServerKind::Ours => "ours",
            ServerKind::Reference => "reference",
        }
    }
}

#[derive(Debug, Clone)]
struct Options {
    clients: usize,
    docs: usize,
    rates: Vec<u32>,
    warmup: Duration,
    measure: Duration,
    drain: Duration,
    servers: Vec<ServerKind>,
    threads: usize,
    server_bin: PathBuf,
    reference_dir: PathBuf,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("workspace root")?
            .to_owned();
        // The bench binary lives in `<target>/release/deps/`; the server in `<target>/release/`.
        let server_bin = std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("target dir")?
            .join("sync-server");
        let mut options = Options {
            clients: 1000,
            docs: 100,
            rates: vec![1000, 2000, 5000, 8000, 12000, 16000],
            warmup: Duration::from_secs(2),
            measure: Duration::from_secs(10),
            drain: Duration::from_secs(2),
            servers: vec![ServerKind::Reference, ServerKind::Ours],
            threads: 1,
            server_bin,
            reference_dir: root.join("bench/reference"),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            // `cargo bench` passes `--bench`; a test filter is a bare word.
            if arg == "--bench" || !arg.starts_with("--") {
                continue;
            }
            let value = args
                .next()
                .with_context(|| format!("{arg} needs a value"))?;
            match arg.as_str() {
                "--clients" => options.clients = value.parse()?,
                "--docs" => options.docs = value.parse()?,
                "--rates" => {
                    options.rates = value.split(',').map(str::parse).collect::<Result<_, _>>()?
                }
                "--secs" => options.measure = Duration::from_secs_f64(value.parse()?),
                "--warmup" => options.warmup = Duration::from_secs_f64(value.parse()?),
                "--drain" => options.drain = Duration::from_secs_f64(value.parse()?),
                "--threads" => options.threads = value.parse()?,
                "--server-bin" => options.server_bin = value.into(),
                "--reference-dir" => options.reference_dir = value.into(),
                "--servers" => {
                    options.servers = value
                        .split(',')
                        .map(|s| match s {
                            "ours" => Ok(ServerKind::Ours),
                            "reference" => Ok(ServerKind::Reference),
                            other => bail!("unknown server {other:?} (ours, reference)"),
                        })
                        .collect::<Result<_, _>>()?
                }
                other => bail!("unknown option {other}"),
            }
        }
        ensure!(
            options.docs > 0
                && options.clients >= 2 * options.docs
                && options.clients.is_multiple_of(options.docs),
            "need the same number (at least two) of clients on every document"
        );
        Ok(options)
    }

    /// Edits one client may send over the whole sweep, with margin for timer jitter.
    fn edits_per_client(&self) -> usize {
        let total: f64 = self
            .rates
            .iter()
            .map(|&r| f64::from(r) * (self.warmup + self.measure).as_secs_f64())
            .sum();
        (total / self.clients as f64 * 1.25) as usize + 16
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let runtime = if options.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    println!(
        "sync load: {} clients over {} documents ({} per document), rates {:?} updates/s, \
         {:?} warm-up + {:?} measured per rate, generator on {} thread(s)",
        options.clients,
        options.docs,
        options.clients / options.docs,
        options.rates,
        options.warmup,
        options.measure,
        options.threads.max(1)
    );
    let frames = Arc::new(Frames::new(options.clients, options.edits_per_client()));
    frames.self_check()?;
    let mut results = Vec::new();
    for &kind in &options.servers {
        let server = Server::start(kind, &options).await?;
        let outcome = drive(&server, &options, frames.clone()).await;
        server.stop().await;
        let steps = outcome.with_context(|| format!("driving the {} server", kind.name()))?;
        results.push((kind, steps));
    }
    summarize(&options, &results);
    Ok(())
}

/// Every edit of every client as a ready-to-send y-websocket frame, in one buffer per client.
struct Frames {
    per_client: Vec<(Bytes, Vec<(usize, usize)>)>,
}

impl Frames {
    fn new(clients: usize, edits: usize) -> Self {
        let per_client = (0..clients)
            .map(|idx| {
                let client = CLIENT_BASE + idx as u64;
                let mut buf = Vec::with_capacity(edits * 24);
                let mut ranges = Vec::with_capacity(edits);
                for seq in 0..edits as u64 {
                    let start = buf.len();
                    encode_edit_frame(&mut buf, client, seq);
                    ranges.push((start, buf.len()));
                }
                (Bytes::from(buf), ranges)
            })
            .collect();
        Self { per_client }
    }

    fn get(&self, idx: usize, seq: usize) -> Option<Bytes> {
        let (buf, ranges) = &self.per_client[idx];
        ranges.get(seq).map(|&(a, b)| buf.slice(a..b))
    }

    fn edits(&self) -> usize {
        self.per_client.first().map_or(0, |(_, r)| r.len())
    }

    /// The hand-encoded updates must be what yrs itself would accept: apply a client's first
    /// edits to a yrs document and read the text back.
    fn self_check(&self) -> anyhow::Result<()> {
        use yrs::updates::decoder::Decode;
        use yrs::{GetString, Transact};
        let doc = yrs::Doc::new();
        let text = doc.get_or_insert_text("script");
        let mut expected = String::new();
        for seq in 0..3 {
            let frame = self.get(0, seq).context("frame")?;
            let (client, clock) = parse_update(&frame).context("own frame parses")?;
            ensure!(client == CLIENT_BASE && clock == seq as u64 * EDIT_LEN);
            let update = &frame[3..];
            doc.transact_mut()
                .apply_update(yrs::Update::decode_v1(update)?)?;
            expected.push_str(&edit_text(seq as u64));
        }
        let got = text.get_string(&doc.transact());
        ensure!(got == expected, "self-check: {got:?} != {expected:?}");
        Ok(())
    }
}

fn write_var(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn read_var(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn edit_text(seq: u64) -> String {
    // Typing-like, printable, and exactly EDIT_LEN UTF-16 units.
    let letters = b"etaoinshrdlucmfw";
    (0..EDIT_LEN)
        .map(|i| letters[((seq >> (4 * i)) & 15) as usize] as char)
        .collect()
}

/// A sync update message inserting `edit_text(seq)` right after the client's previous edit
/// into the root text `script` (yrs v1 update encoding, one item, empty delete set).
fn encode_edit_frame(buf: &mut Vec<u8>, client: u64, seq: u64) {
    const CONTENT_STRING: u8 = 4;
    const HAS_ORIGIN: u8 = 0x80;
    let clock = seq * EDIT_LEN;
    let mut update = Vec::with_capacity(24);
    update.push(1); // one client
    update.push(1); // one struct
    write_var(&mut update, client);
    write_var(&mut update, clock);
    if seq == 0 {
        // No neighbours: the parent is named instead (a root type, by name).
        update.push(CONTENT_STRING);
        update.push(1);
        write_var(&mut update, 6);
        update.extend_from_slice(b"script");
    } else {
        update.push(CONTENT_STRING | HAS_ORIGIN);
        write_var(&mut update, client);
        write_var(&mut update, clock - 1);
    }
    let text = edit_text(seq);
    write_var(&mut update, text.len() as u64);
    update.extend_from_slice(text.as_bytes());
    update.push(0); // empty delete set
    buf.push(0); // sync
    buf.push(2); // update
    write_var(buf, update.len() as u64);
    buf.extend_from_slice(&update);
}

/// `(client, clock)` of the first struct of a sync update message.
fn parse_update(frame: &[u8]) -> Option<(u64, u64)> {
    if frame.len() < 4 || frame[0] != 0 || frame[1] != 2 {
        return None;
    }
    let mut pos = 2;
    read_var(frame, &mut pos)?; // payload length
    if read_var(frame, &mut pos)? == 0 {
        return None; // no structs (a delete-only update)
    }
    read_var(frame, &mut pos)?; // structs of the first client
    let client = read_var(frame, &mut pos)?;
    let clock = read_var(frame, &mut pos)?;
    Some((client, clock))
}

/// One edit in flight: when it was sent and how many receivers it still waits for.
#[derive(Default)]
struct Slot {
    sent_ns: AtomicU64,
    remaining: AtomicU32,
}

/// State shared by the client tasks and the driver.
struct Shared {
    base: Instant,
    edits: usize,
    peers: usize,
    slots: Vec<Slot>,
    sent: AtomicU64,
    deliveries: AtomicU64,
    held: AtomicUsize,
    closed: Mutex<Vec<String>>,
    /// Edits sent in `[window_start, window_end]` (ns since `base`) are measured.
    window_start: AtomicU64,
    window_end: AtomicU64,
    /// Fan-out latencies (µs) of measured edits that reached every peer.
    latencies: Mutex<Vec<u32>>,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    fn slot(&self, idx: usize, seq: usize) -> Option<&Slot> {
        if seq >= self.edits {
            return None;
        }
        self.slots.get(idx * self.edits + seq)
    }
}

/// What the driver tells every client: send one edit every `period` (None: stay quiet).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Phase {
    period: Option<Duration>,
}

async fn connect(
    url: &str,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let host = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .context("ws url")?;
    let tcp = tokio::net::TcpStream::connect(host).await?;
    tcp.set_nodelay(true)?;
    // tungstenite zero-fills its whole read buffer (128 KiB by default) before every read.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config)).await?;
    Ok(ws)
}

async fn run_client(
    idx: usize,
    mut ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    shared: Arc<Shared>,
    frames: Arc<Frames>,
    mut phase: watch::Receiver<Phase>,
) {
    let own = CLIENT_BASE + idx as u64;
    let mut seq = 0usize;
    let mut period: Option<Duration> = None;
    let timer = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(timer);
    let reason = loop {
        tokio::select! {
            biased;
            incoming = ws.next() => {
                let frame = match incoming {
                    Some(Ok(Message::Binary(frame))) => frame,
                    Some(Ok(Message::Close(close))) => break format!("closed by server: {close:?}"),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break format!("socket error: {e}"),
                    None => break "stream ended".to_owned(),
                };
                if let Some((client, clock)) = parse_update(&frame) {
                    if client == own || client < CLIENT_BASE {
                        continue; // the server's echo of our own edit
                    }
                    shared.deliveries.fetch_add(1, Ordering::Relaxed);
                    let sender = (client - CLIENT_BASE) as usize;
                    let Some(slot) = shared.slot(sender, (clock / EDIT_LEN) as usize) else {
                        continue;
                    };
                    if slot.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                        let sent = slot.sent_ns.load(Ordering::Acquire);
                        let now = shared.now_ns();
                        if sent >= shared.window_start.load(Ordering::Relaxed)
                            && sent <= shared.window_end.load(Ordering::Relaxed)
                        {
                            let micros = ((now.saturating_sub(sent)) / 1000).min(u64::from(u32::MAX));
                            shared.latencies.lock().unwrap_or_else(|e| e.into_inner()).push(micros as u32);
                        }
                    }
                } else if frame.len() >= 2 && frame[0] == 0 && frame[1] == 0 {
                    // The server's step 1: we have nothing it lacks.
                    if ws.send(Message::Binary(Bytes::from_static(&EMPTY_STEP2))).await.is_err() {
                        break "send failed".to_owned();
                    }
                }
            }
            () = &mut timer, if period.is_some() => {
                let p = period.unwrap_or_default();
                let Some(frame) = frames.get(idx, seq) else {
                    period = None;
                    continue;
                };
                if let Some(slot) = shared.slot(idx, seq) {
                    slot.remaining.store(shared.peers as u32 - 1, Ordering::Relaxed);
                    slot.sent_ns.store(shared.now_ns(), Ordering::Release);
                }
                seq += 1;
                shared.sent.fetch_add(1, Ordering::Relaxed);
                if ws.send(Message::Binary(frame)).await.is_err() {
                    break "send failed".to_owned();
                }
                // A late tick is not made up for: the rate sent is what the socket accepted.
                let next = timer.deadline() + p;
                let now = tokio::time::Instant::now();
                timer.as_mut().reset(if next < now { now + p / 2 } else { next });
            }
            changed = phase.changed() => {
                if changed.is_err() {
                    break "finished".to_owned();
                }
                period = phase.borrow_and_update().period;
                if let Some(p) = period {
                    // Spread the clients evenly over the period, so the aggregate is smooth.
                    let offset = p.mul_f64(spread(idx));
                    timer.as_mut().reset(tokio::time::Instant::now() + offset);
                }
            }
        }
    };
    shared.held.fetch_sub(1, Ordering::Relaxed);
    if reason != "finished" {
        shared
            .closed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("client {idx}: {reason}"));
    }
}

/// A fixed pseudo-random fraction in [0, 1) per client.
fn spread(idx: usize) -> f64 {
    let mut x = (idx as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// CPU seconds (user + system) and resident memory of a process, from /proc.
#[derive(Debug, Clone, Copy, Default)]
struct ProcStats {
    cpu_secs: f64,
    /// Of `cpu_secs`, the time spent in the kernel (for a server: mostly socket IO).
    sys_secs: f64,
    rss_kb: u64,
    hwm_kb: u64,
}

fn proc_stats(pid: &str) -> anyhow::Result<ProcStats> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name: state is the first, utime the 12th.
    let rest = stat.rsplit_once(')').context("stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: u64 = fields[11].parse()?;
    let sys: u64 = fields[12].parse()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(ProcStats {
        // USER_HZ is 100 on Linux.
        cpu_secs: (user + sys) as f64 / 100.0,
        sys_secs: sys as f64 / 100.0,
        rss_kb: kb("VmRSS:"),
        hwm_kb: kb("VmHWM:"),
    })
}

struct Server {
    kind: ServerKind,
    child: Child,
    pid: String,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(kind: ServerKind, options: &Options) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let mut command = match kind {
            ServerKind::Ours => {
                ensure!(
                    options.server_bin.is_file(),
                    "{} is missing: run `cargo build --release -p sync-server` first",
                    options.server_bin.display()
                );
                let mut c = Command::new(&options.server_bin);
                c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
                    .arg(dir.path().join("data"));
                // The embedded defaults, whatever the caller's environment says.
                for (key, _) in std::env::vars() {
                    if key.starts_with("SHOTWEAVE_") || key == "DATABASE_URL" || key == "RUST_LOG" {
                        c.env_remove(key);
                    }
                }
                c
            }
            ServerKind::Reference => {
                let script = options
                    .reference_dir
                    .join("node_modules/@y/websocket-server/src/server.js");
                ensure!(
                    script.is_file(),
                    "{} is missing: run `npm ci --prefix {}` first",
                    script.display(),
                    options.reference_dir.display()
                );
                let port = std::net::TcpListener::bind("127.0.0.1:0")?
                    .local_addr()?
                    .port();
                let mut c = Command::new("node");
                c.arg(script)
                    .env("HOST", "127.0.0.1")
                    .env("PORT", port.to_string());
                c
            }
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {} server", kind.name()))?;
        let pid = child.id().context("server pid")?.to_string();
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("shotweave sync server listening on http://") {
                    return Ok(url.trim().to_owned());
                }
                // "running at '127.0.0.1' on port 1234"
                if let Some(port) = line.strip_prefix("running at '127.0.0.1' on port ") {
                    return Ok(format!("127.0.0.1:{}", port.trim()));
                }
            }
            bail!("the server exited before listening")
        })
        .await
        .context("the server did not start listening within 30 s")??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            kind,
            child,
            pid,
            addr,
            _dir: dir,
        })
    }

    /// WebSocket URLs, one per document.
    async fn doc_urls(&self, docs: usize) -> anyhow::Result<Vec<String>> {
        match self.kind {
            ServerKind::Reference => Ok((0..docs)
                .map(|d| format!("ws://{}/bench-{d}", self.addr))
                .collect()),
            ServerKind::Ours => {
                let http = reqwest::Client::new();
                let mut urls = Vec::with_capacity(docs);
                for d in 0..docs {
                    let created: serde_json::Value = http
                        .post(format!("http://{}/api/projects", self.addr))
                        .json(&serde_json::json!({ "title": format!("bench {d}") }))
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    let id = created["project_id"].as_str().context("project_id")?;
                    let token = created["token"].as_str().context("token")?;
                    urls.push(format!("ws://{}/sync/{id}?token={token}", self.addr));
                }
                Ok(urls)
            }
        }
    }

    fn stats(&self) -> ProcStats {
        proc_stats(&self.pid).unwrap_or_default()
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Figures for one rate of the sweep.
#[derive(Debug, Clone)]
struct Step {
    target: u32,
    held: usize,
    sent_per_s: f64,
    deliveries_per_s: f64,
    measured: u64,
    completed: u64,
    p50_us: Option<u32>,
    p99_us: Option<u32>,
    max_us: Option<u32>,
    server_cpu_s: f64,
    server_sys_s: f64,
    server_rss_kb: u64,
    server_hwm_kb: u64,
    gen_cpu_s: f64,
    secs: f64,
}

async fn drive(
    server: &Server,
    options: &Options,
    frames: Arc<Frames>,
) -> anyhow::Result<Vec<Step>> {
    let name = server.kind.name();
    let urls = server.doc_urls(options.docs).await?;
    let peers = options.clients / options.docs;
    let edits = frames.edits();
    let shared = Arc::new(Shared {
        base: Instant::now(),
        edits,
        peers,
        slots: (0..options.clients * edits)
            .map(|_| Slot::default())
            .collect(),
        sent: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        held: AtomicUsize::new(0),
        closed: Mutex::new(Vec::new()),
        window_start: AtomicU64::new(u64::MAX),
        window_end: AtomicU64::new(u64::MAX),
        latencies: Mutex::new(Vec::new()),
    });
    let (phase_tx, phase_rx) = watch::channel(Phase { period: None });

    // Connect everyone (a few at a time), each after its first frame from the server, which
    // means the server has joined it to its document.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let connects = futures_util::stream::iter(0..options.clients)
        .map(|idx| {
            let url = urls[idx % options.docs].clone();
            async move {
                let mut ws = connect(&url).await?;
                ws.send(Message::Binary(Bytes::from_static(&STEP1))).await?;
                match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                    Ok(Some(Ok(_))) => Ok((idx, ws)),
                    other => bail!("client {idx}: no welcome from the server: {other:?}"),
                }
            }
        })
        .buffer_unordered(32);
    tokio::pin!(connects);
    while let Some(result) = connects.next().await {
        let (idx, ws) = result?;
        shared.held.fetch_add(1, Ordering::Relaxed);
        tasks.spawn(run_client(
            idx,
            ws,
            shared.clone(),
            frames.clone(),
            phase_rx.clone(),
        ));
    }
    println!(
        "[{name}] {} connections in {:.1} s; server pid {}, RSS {} MB",
        shared.held.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        server.pid,
        server.stats().rss_kb / 1024
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut steps = Vec::new();
    for &rate in &options.rates {
        let period = Duration::from_secs_f64(options.clients as f64 / f64::from(rate));
        phase_tx.send_replace(Phase {
            period: Some(period),
        });
        tokio::time::sleep(options.warmup).await;

        shared
            .latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let t0 = Instant::now();
        let before = (
            server.stats(),
            proc_stats("self")?,
            shared.sent.load(Ordering::Relaxed),
            shared.deliveries.load(Ordering::Relaxed),
        );
        shared.window_end.store(u64::MAX, Ordering::Relaxed);
        shared
            .window_start
            .store(shared.now_ns(), Ordering::Relaxed);
        tokio::time::sleep(options.measure).await;
        shared.window_end.store(shared.now_ns(), Ordering::Relaxed);
        let secs = t0.elapsed().as_secs_f64();
        let after = (
            server.stats(),
            proc_stats("self")?,
            shared.sent.load(Ordering::Relaxed),
            shared.deliveries.load(Ordering::Relaxed),
        );
        phase_tx.send_replace(Phase { period: None });
        // Let measured edits still in flight arrive.
        tokio::time::sleep(options.drain).await;

        let mut latencies =
            std::mem::take(&mut *shared.latencies.lock().unwrap_or_else(|e| e.into_inner()));
        latencies.sort_unstable();
        let measured = after.2 - before.2;
        let completed = latencies.len() as u64;
        // Edits that never reached every peer count as slower than any that did.
        let pct = |q: f64| -> Option<u32> {
            let rank = ((q * measured as f64).ceil() as usize).max(1);
            latencies.get(rank - 1).copied()
        };
        let step = Step {
            target: rate,
            held: shared.held.load(Ordering::Relaxed),
            sent_per_s: measured as f64 / secs,
            deliveries_per_s: (after.3 - before.3) as f64 / secs,
            measured,
            completed,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
            max_us: (completed == measured)
                .then(|| latencies.last().copied())
                .flatten(),
            server_cpu_s: after.0.cpu_secs - before.0.cpu_secs,
            server_sys_s: after.0.sys_secs - before.0.sys_secs,
            server_rss_kb: after.0.rss_kb,
            server_hwm_kb: after.0.hwm_kb,
            gen_cpu_s: after.1.cpu_secs - before.1.cpu_secs,
            secs,
        };
        println!(
            "[{name}] {:>6}/s: held {:>4}, sent {:>7.0}/s, deliveries {:>8.0}/s, p50 {:>9}, p99 {:>9}, \
             max {:>9}, incomplete {:>5}, server {:.2} CPU s ({:.0}%, {:.2} s in the kernel) RSS {:.0} MB, generator {:.2} CPU s",
            rate,
            step.held,
            step.sent_per_s,
            step.deliveries_per_s,
            fmt_us(step.p50_us),
            fmt_us(step.p99_us),
            fmt_us(step.max_us),
            step.measured - step.completed,
            step.server_cpu_s,
            100.0 * step.server_cpu_s / secs,
            step.server_sys_s,
            step.server_rss_kb as f64 / 1024.0,
            step.gen_cpu_s,
        );
        steps.push(step);
    }
    let closed = shared
        .closed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if !closed.is_empty() {
        println!(
            "[{name}] {} connections were lost, e.g. {:?}",
            closed.len(),
            &closed[..closed.len().min(3)]
        );
    }
    drop(phase_tx);
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(steps)
}

fn fmt_us(us: Option<u32>) -> String {
    match us {
        None => "lost".to_owned(),
        Some(us) if us < 10_000 => format!("{:.2} ms", f64::from(us) / 1000.0),
        Some(us) => format!("{:.0} ms", f64::from(us) / 1000.0),
    }
}

/// The side-by-side table and the targets of issue 3, as ratios from this run.
fn summarize(options: &Options, results: &[(ServerKind, Vec<Step>)]) {
    const P99_LIMIT_US: u32 = 50_000;
    println!();
    let header: Vec<String> = results
        .iter()
        .map(|(k, _)| format!("{} sent/s | deliv/s | p50 | p99 | CPU s | RSS MB", k.name()))
        .collect();
    println!("| rate | {} |", header.join(" | "));
    println!("|---:|{}", "---:|".repeat(6 * results.len()));
    for (i, &rate) in options.rates.iter().enumerate() {
        let cells: Vec<String> = results
            .iter()
            .map(|(_, steps)| {
                let s = &steps[i];
                format!(
                    "{:.0} | {:.0} | {} | {} | {:.2} | {:.0}",
                    s.sent_per_s,
                    s.deliveries_per_s,
                    fmt_us(s.p50_us),
                    fmt_us(s.p99_us),
                    s.server_cpu_s,
                    s.server_rss_kb as f64 / 1024.0
                )
            })
            .collect();
        println!("| {rate} | {} |", cells.join(" | "));
    }
    println!();
    let generator: Vec<String> = results
        .iter()
        .map(|(k, steps)| {
            let cpu: f64 = steps.iter().map(|s| s.gen_cpu_s).sum();
            let secs: f64 = steps.iter().map(|s| s.secs).sum();
            format!(
                "{:.1} CPU s in {:.0} s measured while driving {}",
                cpu,
                secs,
                k.name()
            )
        })
        .collect();
    println!("generator: {}", generator.join("; "));

    // A rate counts as held when p99 is within the limit and the generator really sent it.
    let best = |steps: &[Step]| -> Option<u32> {
        steps
            .iter()
            .filter(|s| {
                s.p99_us.is_some_and(|p| p <= P99_LIMIT_US)
                    && s.sent_per_s >= 0.95 * f64::from(s.target)
            })
            .map(|s| s.target)
            .max()
    };
    for (kind, steps) in results {
        let peak = steps.iter().map(|s| s.server_hwm_kb).max().unwrap_or(0);
        println!(
            "{}: highest rate with p99 <= 50 ms: {}; peak RSS {:.0} MB",
            kind.name(),
            best(steps).map_or("none".to_owned(), |r| format!("{r}/s")),
            peak as f64 / 1024.0
        );
    }
    let find = |kind| results.iter().find(|(k, _)| *k == kind).map(|(_, s)| s);
    if let (Some(ours), Some(reference)) = (find(ServerKind::Ours), find(ServerKind::Reference)) {
        if let Some(i) = options.rates.iter().position(|&r| r == 5000) {
            let (o, r) = (&ours[i], &reference[i]);
            let cpu = o.server_cpu_s / r.server_cpu_s;
            let mem = o.server_rss_kb as f64 / r.server_rss_kb as f64;
            println!(
                "at 5000/s: CPU ours {:.2} s / reference {:.2} s = {:.2} (target <= 0.25: {}); \
                 RSS ours {:.0} MB / reference {:.0} MB = {:.2} (target <= 0.33: {})",
                o.server_cpu_s,
                r.server_cpu_s,
                cpu,
                verdict(cpu <= 0.25),
                o.server_rss_kb as f64 / 1024.0,
                r.server_rss_kb as f64 / 1024.0,
                mem,
                verdict(mem <= 1.0 / 3.0)
            );
        }
        match (best(ours), best(reference)) {
            (Some(o), Some(r)) => println!(
                "highest rate with p99 <= 50 ms: ours {o}/s / reference {r}/s = {:.2} (target >= 2: {}{})",
                f64::from(o) / f64::from(r),
                verdict(o >= 2 * r),
                if Some(&o) == options.rates.iter().max() {
                    "; ours held the highest rate swept"
                } else {
                    ""
                }
            ),
            (o, r) => println!("highest rate with p99 <= 50 ms: ours {o:?}, reference {r:?}"),
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}
