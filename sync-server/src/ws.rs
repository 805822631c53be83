//! The `/sync/{doc}?token=...` WebSocket endpoint: authentication, frame limits, keepalive,
//! and the loop that moves frames between one socket and its room. A connection whose share
//! link is revoked is closed at once (4401 "link revoked").

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::SinkExt;
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::AppState;
use crate::auth::{DocName, LinkId};
use crate::http::{ApiError, TokenQuery};
use crate::observability as obs;
use crate::protocol::{self, ConnId};
use crate::room::{CloseReason, ConnIdentity, JoinError};

/// A client that does not accept a frame for this long is treated as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the client's answer to our close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// tungstenite zero-fills its whole read buffer before every read (128 KiB by default): that
/// was 128 KiB of resident memory per connection and a 128 KiB memset per frame received.
/// y-websocket messages are small; a larger frame grows the buffer while it is read.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Most frames written to a socket with one flush (one syscall) when a burst is queued.
const MAX_FRAMES_PER_FLUSH: usize = 64;

pub async fn sync_handler(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Path(doc): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let doc = DocName::parse(&doc).ok_or(ApiError::NotFound("no such document"))?;
    // Browsers cannot set headers on a WebSocket, so the query string is the usual place;
    // a bearer header is accepted too for native clients.
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(query.token.as_deref());
    // Subscribed before the link's row is read, so a revocation committed after that read
    // always reaches this connection.
    let revocations = state.revocations().subscribe();
    let identity = state.identify(token, Some(&doc.project)).await?;
    let role = identity.claims.role;
    let write_denied = doc.kind.write_denied(role);
    let revoked = identity.claims.link.clone().map(|link| RevocationWatch {
        link,
        receiver: revocations,
    });
    let who = identity.conn_identity();
    let limit = state.config().max_frame_bytes;
    let conn = state.inner.next_conn_id.fetch_add(1, Ordering::Relaxed);
    let tracker = state.inner.tracker.clone();
    let span = info_span!("ws", doc = %doc, conn, role = role.as_str());
    Ok(ws
        .max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            tracker.track_future(
                serve_connection(
                    socket,
                    state,
                    doc.to_string(),
                    conn,
                    Access {
                        write_denied,
                        who,
                        revoked,
                    },
                )
                .instrument(span),
            )
        }))
}

/// What the token check decided about a connection.
struct Access {
    write_denied: Option<String>,
    who: ConnIdentity,
    /// For a token naming a share link: its revocations (`None` for old tokens, which name no
    /// link and cannot be revoked).
    revoked: Option<RevocationWatch>,
}

/// The revocations of one connection's link.
struct RevocationWatch {
    link: LinkId,
    receiver: broadcast::Receiver<LinkId>,
}

enum Revocation {
    Revoked,
    /// More links were revoked than the channel holds while this connection was busy: the
    /// link's row says whether it was one of them.
    Lagged,
}

impl RevocationWatch {
    /// Waits until this link is revoked (or may have been). Cancel-safe, as `select!` needs.
    async fn next(watch: &mut Option<Self>) -> Revocation {
        let Some(watch) = watch else {
            return std::future::pending().await;
        };
        loop {
            match watch.receiver.recv().await {
                Ok(link) if link == watch.link => return Revocation::Revoked,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return Revocation::Lagged,
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }
}

/// The close code of a connection whose share link was revoked (4000-4999 are the
/// application's; 4401 echoes HTTP 401).
pub const LINK_REVOKED_CLOSE: u16 = 4401;

/// Keeps the connection gauge right however the connection task ends.
struct ConnectionGauge;

impl ConnectionGauge {
    fn new() -> Self {
        metrics::gauge!(obs::CONNECTIONS).increment(1.0);
        Self
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!(obs::CONNECTIONS).decrement(1.0);
    }
}

async fn serve_connection(
    mut socket: WebSocket,
    state: AppState,
    doc: String,
    conn: ConnId,
    access: Access,
) {
    let _gauge = ConnectionGauge::new();
    info!("connected");
    let Access {
        write_denied,
        who,
        mut revoked,
    } = access;
    let joined = match state.rooms().join(&doc, conn, write_denied, who).await {
        Ok(joined) => joined,
        Err(e) => {
            let code = match e {
                JoinError::ShuttingDown => 1001,
                JoinError::LoadFailed => 1011,
            };
            close(socket, CloseReason::new(code, e.to_string())).await;
            return;
        }
    };
    let mut outbound = joined.outbound;
    let mut kick = joined.kick;
    let room = joined.handle;
    let limit = state.config().max_frame_bytes;
    let keepalive = state.config().keepalive();

    let mut ticker = tokio::time::interval(keepalive);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_sent = Instant::now();
    let mut last_received = Instant::now();

    let reason: Option<CloseReason> = loop {
        tokio::select! {
            // Closing wins over everything else: a kicked connection must not keep going.
            biased;
            reason = &mut kick => {
                break Some(reason.unwrap_or_else(|_| CloseReason::new(1011, "room closed")));
            }
            revocation = RevocationWatch::next(&mut revoked) => {
                let still_valid = match (revocation, &revoked) {
                    (Revocation::Lagged, Some(watch)) => state
                        .store()
                        .link(&watch.link)
                        .await
                        .is_ok_and(|row| row.is_some_and(|l| l.revoked_at.is_none())),
                    _ => false,
                };
                if !still_valid {
                    break Some(CloseReason::new(LINK_REVOKED_CLOSE, "link revoked"));
                }
            }
            frame = outbound.recv() => {
                let Some(frame) = frame else {
                    break Some(CloseReason::new(1011, "room closed; reconnect to resync"));
                };
                // Frames queued behind this one go out with it: one flush, one syscall.
                let write = async {
                    socket.feed(Message::Binary(frame)).await?;
                    for _ in 1..MAX_FRAMES_PER_FLUSH {
                        let Ok(frame) = outbound.try_recv() else { break };
                        socket.feed(Message::Binary(frame)).await?;
                    }
                    socket.flush().await
                };
                match timeout(WRITE_TIMEOUT, write).await {
                    Ok(Ok(())) => last_sent = Instant::now(),
                    Ok(Err(_)) => break None,
                    Err(_) => break Some(CloseReason::new(1013, "client stopped reading")),
                }
            }
            incoming = socket.recv() => {
                last_received = Instant::now();
                match incoming {
                    Some(Ok(Message::Binary(frame))) => match protocol::decode_frame(&frame) {
                        Ok(messages) => {
                            if room.send(messages).await.is_err() {
                                break Some(CloseReason::new(1011, "room closed; reconnect to resync"));
                            }
                        }
                        Err(e) => {
                            metrics::counter!(obs::BAD_FRAMES, "code" => e.close_code().to_string()).increment(1);
                            warn!(error = %e, "bad frame");
                            break Some(CloseReason::new(e.close_code(), e.to_string()));
                        }
                    },
                    Some(Ok(Message::Text(_))) => {
                        metrics::counter!(obs::BAD_FRAMES, "code" => "1003").increment(1);
                        break Some(CloseReason::new(1003, "text frames are not supported; send binary y-websocket messages"));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(e)) => {
                        if is_too_large(&e) {
                            metrics::counter!(obs::BAD_FRAMES, "code" => "1009").increment(1);
                            warn!("frame over the size limit");
                            break Some(CloseReason::new(1009, format!("message too big: the limit is {limit} bytes")));
                        }
                        debug!(error = %e, "socket error");
                        break None;
                    }
                }
            }
            _ = ticker.tick() => {
                if last_received.elapsed() > keepalive * 4 {
                    break Some(CloseReason::new(1001, "no message or pong for too long"));
                }
                // The ping finds dead peers; the empty awareness message is what keeps
                // y-websocket clients (30 s message timeout, pings are invisible to them)
                // from reconnecting.
                let mut ok = socket.send(Message::Ping(Default::default())).await.is_ok();
                if ok && last_sent.elapsed() >= keepalive {
                    ok = socket.send(Message::Binary(protocol::keepalive())).await.is_ok();
                    last_sent = Instant::now();
                }
                if !ok {
                    break None;
                }
            }
        }
    };
    room.leave().await;
    match reason {
        Some(reason) => {
            info!(code = reason.code, reason = %reason.reason, "closing");
            close(socket, reason).await;
        }
        None => info!("disconnected"),
    }
}

/// Sends a close frame and waits briefly for the client's answer, so the close frame is not
/// lost to a TCP reset caused by closing a socket with unread data.
async fn close(mut socket: WebSocket, reason: CloseReason) {
    let frame = CloseFrame {
        code: reason.code,
        reason: truncate_reason(&reason.reason).into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = timeout(CLOSE_TIMEOUT, async {
        loop {
            match socket.recv().await {
                Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
                // Unreadable input, such as the rest of an oversized frame, ends the stream:
                // dropping the socket now would close it with unread data, and the reset that
                // sends can destroy our close frame before the client reads it. Hold it until
                // the timeout instead.
                Some(Err(_)) | None => std::future::pending::<()>().await,
            }
        }
    })
    .await;
}

/// A close frame is a control frame: at most 125 bytes, 2 of them the code.
fn truncate_reason(reason: &str) -> &str {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason;
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

fn is_too_large(error: &axum::Error) -> bool {
    use std::error::Error as _;
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(e) = source {
        if let Some(tungstenite::Error::Capacity(_)) = e.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = e.source();
    }
    // axum may not expose the source chain; fall back to tungstenite's message text.
    let text = error.to_string();
    text.contains("Space limit exceeded") || text.contains("Message too long")
}

#[cfg(test)]
mod tests {
    #[test]
    fn close_reasons_fit_a_control_frame() {
        let long = "é".repeat(100);
        let cut = super::truncate_reason(&long);
        assert!(cut.len() <= 123 && cut.len() >= 121);
        assert_eq!(super::truncate_reason("short"), "short");
    }
}
