//! Server-Sent Events live tail of a topic: `id: <partition>-<offset>`, `data: <NDJSON line>`,
//! resumable with `Last-Event-ID`, a keep-alive comment every ~15 s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use log_store::{validate_name, Offset, Partition, PartitionId};
use tokio::sync::mpsc;

use super::events::{record_line, wait_any};
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::Query;
use crate::http::response::{self, Body};
use crate::limits::SSE_BUFFER_RECORDS;
use crate::state::AppState;

const KEEP_ALIVE: Duration = Duration::from_secs(15);
const READ_RECORDS_MAX: usize = 256;

pub fn sse(
    state: Arc<AppState>,
    topic: &str,
    query: &Query,
    req: &Request<Incoming>,
) -> ApiResult<Response<Body>> {
    validate_name(topic)?;
    let topic = state.store.topic(topic)?;
    let partitions: Vec<Arc<Partition>> = match query.parse_u64("partition")? {
        // A number past u32 names no partition (it used to wrap round to partition 0).
        Some(p) => vec![topic
            .partition(PartitionId(u32::try_from(p).unwrap_or(u32::MAX)))?
            .clone()],
        None => topic.partitions().to_vec(),
    };
    let last_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty()) // an empty id is no id (as EventSource sends none)
        .map(str::to_string);
    let mut positions: Vec<Offset> = Vec::new();
    for p in &partitions {
        positions.push(match query.get("offset") {
            None | Some("latest") => p.end_offset(),
            Some("earliest") => p.start_offset(),
            Some(n) => Offset(n.parse().map_err(|_| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("offset={n:?}: expected a number, earliest or latest"),
                )
            })?),
        });
    }
    if let Some(id) = last_id {
        resume_after(&partitions, &mut positions, &id)?;
    }
    let (tx, rx) = mpsc::channel::<Bytes>(SSE_BUFFER_RECORDS);
    tokio::spawn(tail(state, partitions, positions, tx));
    Ok(response::stream("text/event-stream", rx))
}

/// `Last-Event-ID: p-o` resumes partition p right after o, and the other partitions at the
/// first record appended no earlier than that record.
fn resume_after(
    partitions: &[Arc<Partition>],
    positions: &mut [Offset],
    id: &str,
) -> ApiResult<()> {
    let bad = || {
        ApiError::bad_request(
            "bad_last_event_id",
            format!("Last-Event-ID {id:?}: expected <partition>-<offset>"),
        )
    };
    let (p, o) = id.split_once('-').ok_or_else(bad)?;
    let (p, o): (u32, u64) = (p.parse().map_err(|_| bad())?, o.parse().map_err(|_| bad())?);
    let Some(at) = partitions.iter().position(|x| x.id().0 == p) else {
        return Err(bad());
    };
    let ts = partitions[at]
        .read(Offset(o), 1, 1 << 20)?
        .first()
        .map(|r| r.timestamp_ms);
    for (i, part) in partitions.iter().enumerate() {
        positions[i] = if i == at {
            Offset(o + 1)
        } else {
            match ts {
                Some(ts) => part.offset_for_timestamp(ts)?,
                None => positions[i],
            }
        };
    }
    Ok(())
}

async fn tail(
    state: Arc<AppState>,
    partitions: Vec<Arc<Partition>>,
    mut positions: Vec<Offset>,
    tx: mpsc::Sender<Bytes>,
) {
    if tx
        .send(Bytes::from_static(b": connected\n\n"))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let listeners: Vec<_> = partitions.iter().map(|p| p.listen()).collect();
        let mut sent_any = false;
        for (p, pos) in partitions.iter().zip(positions.iter_mut()) {
            let (part, from) = (p.clone(), *pos);
            let records = match tokio::task::spawn_blocking(move || {
                part.read(from, READ_RECORDS_MAX, 4 << 20)
            })
            .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    let _ = tx
                        .send(Bytes::from(format!(
                            "event: error\ndata: {}\n\n",
                            ApiError::from(e).body()
                        )))
                        .await;
                    return;
                }
                Err(_) => return,
            };
            for r in &records {
                let mut line = Vec::new();
                record_line(p.id().0, r, &mut line);
                line.pop(); // the newline: an SSE data field is one line
                let mut frame = format!("id: {}-{}\ndata: ", p.id().0, r.offset).into_bytes();
                frame.extend_from_slice(&line);
                frame.extend_from_slice(b"\n\n");
                if tx.send(Bytes::from(frame)).await.is_err() {
                    return;
                }
                *pos = Offset(r.offset + 1);
                sent_any = true;
            }
        }
        if sent_any {
            continue;
        }
        tokio::select! {
            _ = wait_any(listeners) => {}
            _ = tokio::time::sleep(KEEP_ALIVE) => {
                if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() { return; }
            }
            _ = tx.closed() => return,
            _ = state.shutdown.cancelled() => return,
        }
    }
}
