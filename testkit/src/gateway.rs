//! The WebSocket gateway: HELLO, IDENTIFY -> READY (+ GUILD_CREATE with the `GUILDS` intent),
//! RESUME -> RESUMED with replay, heartbeats, and dispatches on demand.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::payloads;
use crate::state::{Inner, Session};
use crate::util::snowflake;

/// What serenity is told; it heartbeats at this interval.
const HEARTBEAT_INTERVAL_MS: u64 = 41_250;

pub(crate) async fn serve(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        if inner.lock().gateway_down {
            drop(stream);
            continue;
        }
        let inner = inner.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, inner).await {
                eprintln!("testkit gateway: connection ended with an error: {e}");
            }
        });
    }
}

async fn connection(stream: TcpStream, inner: Arc<Inner>) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let ws = tokio_tungstenite::accept_async(stream)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            let closing = matches!(msg, WsMessage::Close(_));
            if sink.send(msg).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let conn_id = inner.update(|s| {
        s.next_conn += 1;
        s.next_conn
    });
    let send = |v: Value| {
        let _ = tx.send(WsMessage::Text(v.to_string()));
    };
    send(
        json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}),
    );

    let mut clean_close = false;
    while let Some(frame) = stream.next().await {
        let text = match frame {
            Ok(WsMessage::Text(t)) => t,
            Ok(WsMessage::Binary(_)) => {
                eprintln!("testkit gateway: binary frames (ETF/compression) are not supported");
                continue;
            }
            Ok(WsMessage::Close(frame)) => {
                let code = frame.map(|f| u16::from(f.code));
                clean_close = matches!(code, Some(1000 | 1001));
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            close(&tx, 4002, "Error while decoding payload.");
            break;
        };
        match payload["op"].as_u64() {
            Some(1) => {
                send(json!({"op": 11, "s": null, "t": null, "d": null}));
            }
            Some(2) => {
                if payload["d"]["token"].as_str().is_none_or(str::is_empty) {
                    close(&tx, 4004, "Authentication failed.");
                    break;
                }
                let intents = payload["d"]["intents"].as_u64().unwrap_or(0);
                identify(&inner, conn_id, &tx, intents);
            }
            Some(6) => resume(&inner, conn_id, &tx, &payload["d"]),
            Some(3 | 4 | 8 | 31) => {}
            other => {
                eprintln!("testkit gateway: unexpected opcode {other:?}: {text}");
                close(&tx, 4001, "Unknown opcode.");
                break;
            }
        }
    }

    inner.update(|s| {
        for session in &mut s.sessions {
            if session.conn.as_ref().is_some_and(|(id, _)| *id == conn_id) {
                session.conn = None;
                // Closing with 1000/1001 ends the session, as on Discord.
                session.invalid |= clean_close;
            }
        }
    });
    drop(tx);
    let _ = writer.await;
    Ok(())
}

fn close(tx: &mpsc::UnboundedSender<WsMessage>, code: u16, reason: &'static str) {
    let _ = tx.send(WsMessage::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    })));
}

fn identify(inner: &Inner, conn_id: u64, tx: &mpsc::UnboundedSender<WsMessage>, intents: u64) {
    let session_id = format!("{:x}", snowflake());
    let bot = payloads::current_user(inner.bot_user_id, &inner.bot_name);
    inner.update(|s| {
        // A new IDENTIFY supersedes whatever this connection had.
        for session in &mut s.sessions {
            if session.conn.as_ref().is_some_and(|(id, _)| *id == conn_id) {
                session.conn = None;
                session.invalid = true;
            }
        }
        s.intents = intents;
        let guild_ids: Vec<u64> = s.guilds.keys().copied().collect();
        let guild_events = s.wants_guild_events();
        s.sessions.push(Session {
            id: session_id.clone(),
            seq: 0,
            conn: Some((conn_id, tx.clone())),
            backlog: Default::default(),
            invalid: false,
        });
        let ready = payloads::ready(
            bot,
            &guild_ids,
            &session_id,
            &inner.gateway_url(),
            inner.application_id,
        );
        s.dispatch("READY", &ready);
        for guild_id in guild_ids.into_iter().filter(|_| guild_events) {
            if let Some(event) = s.guild_create(guild_id, inner.owner.id) {
                s.dispatch("GUILD_CREATE", &event);
            }
        }
        s.ready_count += 1;
    });
}

fn resume(inner: &Inner, conn_id: u64, tx: &mpsc::UnboundedSender<WsMessage>, d: &Value) {
    let session_id = d["session_id"].as_str().unwrap_or_default().to_string();
    let seq = d["seq"].as_u64().unwrap_or(0);
    let resumed = inner.update(|s| {
        let Some(session) = s
            .sessions
            .iter_mut()
            .find(|x| x.id == session_id && !x.invalid)
        else {
            return false;
        };
        session.conn = Some((conn_id, tx.clone()));
        for (n, text) in &session.backlog {
            if *n > seq {
                let _ = tx.send(WsMessage::Text(text.clone()));
            }
        }
        session.seq += 1;
        let text = json!({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}}).to_string();
        session.backlog.push_back((session.seq, text.clone()));
        let _ = tx.send(WsMessage::Text(text));
        s.resume_count += 1;
        true
    });
    if !resumed {
        // Not resumable: the client must IDENTIFY again.
        let _ = tx.send(WsMessage::Text(
            json!({"op": 9, "s": null, "t": null, "d": false}).to_string(),
        ));
    }
}

/// Asks every connected client to reconnect (op 7); serenity resumes.
pub(crate) fn request_reconnect(inner: &Inner) {
    inner.update(|s| {
        for session in &s.sessions {
            if let Some((_, tx)) = &session.conn {
                let _ = tx.send(WsMessage::Text(
                    json!({"op": 7, "s": null, "t": null, "d": null}).to_string(),
                ));
            }
        }
    });
}

/// Takes the gateway down (live connections are closed with 4000, a resumable code, and
/// new ones are dropped at once) or brings it back.
pub(crate) fn set_down(inner: &Inner, down: bool) {
    inner.update(|s| {
        s.gateway_down = down;
        if down {
            for session in &s.sessions {
                if let Some((_, tx)) = &session.conn {
                    close(tx, 4000, "Unknown error.");
                }
            }
        }
    });
}

/// Invalidates every session (op 9, not resumable); serenity identifies again.
pub(crate) fn invalidate_sessions(inner: &Inner) {
    inner.update(|s| {
        for session in &mut s.sessions {
            session.invalid = true;
            if let Some((_, tx)) = &session.conn {
                let _ = tx.send(WsMessage::Text(
                    json!({"op": 9, "s": null, "t": null, "d": false}).to_string(),
                ));
            }
        }
    });
}
