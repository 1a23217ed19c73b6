//! Server-Sent Events live tail of a topic: `id: <partition>-<offset>`, `data: <NDJSON line>`,
//! resumable with `Last-Event-ID`, a keep-alive comment every ~15 s.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use log_store::{validate_name, Offset, Partition, PartitionId};
use tokio::sync::mpsc;

use super::events::{record_line, wait_any};
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::Query;
use crate::http::response::{self, Body};
use crate::limits::{SSE_BUFFER_RECORDS, SSE_KEEP_ALIVE, SSE_READ_BYTES_MAX, SSE_READ_RECORDS_MAX};
use crate::state::AppState;

pub fn sse(
    state: Arc<AppState>,
    topic: &str,
    query: &Query,
    req: &Request<Incoming>,
) -> ApiResult<Response<Body>> {
    validate_name(topic)?;
    let topic = state.store.topic(topic)?;
    let partitions: Vec<Arc<Partition>> = match query.parse_u32("partition")? {
        Some(p) => vec![topic.partition(PartitionId(p))?.clone()],
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

/// The partitions (indexes into `partitions`) with records past their position, starting the
/// round at `first` so every partition gets its turn.
fn ready(partitions: &[Arc<Partition>], positions: &[Offset], first: usize) -> Vec<usize> {
    let n = partitions.len();
    (0..n)
        .map(|k| (first + k) % n)
        .filter(|&i| partitions[i].end_offset() > positions[i])
        .collect()
}

/// Tails `partitions` into `tx`. Only partitions with new records are read, all of them in one
/// blocking call of at most `SSE_READ_BYTES_MAX`, and listeners are registered only when there
/// is nothing to read (issue 10: every wakeup used to register 1,024 listeners and hand 1,024
/// reads to the blocking pool, so 50 tails of a 1,024-partition topic saturated both cores).
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
    let mut round = 0usize;
    loop {
        round = round.wrapping_add(1);
        let first = round % partitions.len().max(1);
        let mut todo = ready(&partitions, &positions, first);
        if todo.is_empty() {
            // Register first, then look again: a record appended in between wakes us.
            let listeners: Vec<_> = partitions.iter().map(|p| p.listen()).collect();
            todo = ready(&partitions, &positions, first);
            if todo.is_empty() {
                tokio::select! {
                    _ = wait_any(listeners) => {}
                    _ = tokio::time::sleep(SSE_KEEP_ALIVE) => {
                        if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() { return; }
                    }
                    _ = tx.closed() => return,
                    _ = state.shutdown.cancelled() => return,
                }
                continue;
            }
        }
        let reads: Vec<(usize, Arc<Partition>, Offset)> = todo
            .into_iter()
            .map(|i| (i, partitions[i].clone(), positions[i]))
            .collect();
        let Ok(batches) = tokio::task::spawn_blocking(move || read_round(reads)).await else {
            return;
        };
        for (i, result) in batches {
            let records = match result {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx
                        .send(Bytes::from(format!(
                            "event: error\ndata: {}\n\n",
                            ApiError::from(e).body()
                        )))
                        .await;
                    return;
                }
            };
            let p = &partitions[i];
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
                positions[i] = Offset(r.offset + 1);
            }
        }
    }
}

type Batch = (usize, log_store::Result<Vec<log_store::Record>>);

/// Reads each partition from its position until `SSE_READ_BYTES_MAX` bytes are gathered; the
/// partitions not reached are read in the next round.
fn read_round(reads: Vec<(usize, Arc<Partition>, Offset)>) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for (i, p, from) in reads {
        if bytes >= SSE_READ_BYTES_MAX {
            break;
        }
        let result = p.read(from, SSE_READ_RECORDS_MAX, SSE_READ_BYTES_MAX - bytes);
        if let Ok(records) = &result {
            bytes += records.iter().map(|r| r.value.len()).sum::<usize>();
        }
        let failed = result.is_err();
        out.push((i, result));
        if failed {
            break;
        }
    }
    out
}
