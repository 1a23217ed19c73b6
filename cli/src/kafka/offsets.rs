//! Offsets: ListOffsets (earliest, latest, by time through the time index) and a group's
//! committed offsets, OffsetCommit / OffsetFetch, stored in the same `Groups` as
//! `/v1/groups` — a commit made here shows there with lag, and the other way round.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ListOffsetsRequest, ListOffsetsResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::ResponseError;
use log_store::{Offset, Partition, PartitionId};

use super::{blocking, error_code, kstr, Broker};
use crate::groups::{CommitError, Committed};

/// ListOffsets' special timestamps.
const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub async fn list_offsets(b: &Broker, r: ListOffsetsRequest) -> ListOffsetsResponse {
    let store = b.state.store.clone();
    blocking(move || {
        let mut resp = ListOffsetsResponse::default();
        for t in r.topics {
            let topic = store.topic(t.name.0.as_str());
            let mut out = ListOffsetsTopicResponse::default();
            out.name = t.name.clone();
            for p in t.partitions {
                let mut o = ListOffsetsPartitionResponse::default();
                o.partition_index = p.partition_index;
                o.timestamp = -1;
                o.offset = -1;
                let partition = topic.as_ref().ok().and_then(|t| {
                    u32::try_from(p.partition_index)
                        .ok()
                        .and_then(|i| t.partition(PartitionId(i)).ok())
                });
                match partition {
                    None => o.error_code = ResponseError::UnknownTopicOrPartition.code(),
                    Some(part) => match offset_at(part, p.timestamp) {
                        Ok((offset, ts)) => {
                            o.offset = offset;
                            o.timestamp = ts;
                        }
                        Err(e) => o.error_code = error_code(&e),
                    },
                }
                out.partitions.push(o);
            }
            resp.topics.push(out);
        }
        resp
    })
    .await
}

/// (offset, timestamp) for a ListOffsets timestamp; (-1, -1) when no record is that late.
fn offset_at(p: &Partition, timestamp: i64) -> log_store::Result<(i64, i64)> {
    let (start, end) = (p.start_offset().0, p.end_offset().0);
    match timestamp {
        EARLIEST => Ok((start as i64, -1)),
        LATEST => Ok((end as i64, -1)),
        MAX_TIMESTAMP => {
            // Append times never decrease, so the newest record has the largest timestamp.
            if end == start {
                return Ok((-1, -1));
            }
            let r = p.read(Offset(end - 1), 1, 1)?;
            Ok(r.first()
                .map_or((-1, -1), |r| (r.offset as i64, r.timestamp_ms as i64)))
        }
        t if t >= 0 => {
            let o = p.offset_for_timestamp(t as u64)?.0;
            if o >= end {
                return Ok((-1, -1));
            }
            let r = p.read(Offset(o), 1, 1)?;
            Ok(r.first()
                .map_or((-1, -1), |r| (r.offset as i64, r.timestamp_ms as i64)))
        }
        _ => Ok((-1, -1)),
    }
}

pub async fn commit(b: &Broker, r: OffsetCommitRequest) -> OffsetCommitResponse {
    let group = r.group_id.0.to_string();
    let refused = b.groups.check_commit(
        &group,
        r.generation_id_or_member_epoch,
        r.member_id.as_str(),
    );
    let mut resp = OffsetCommitResponse::default();
    let mut commits = Vec::new();
    for t in r.topics {
        let mut out = OffsetCommitResponseTopic::default();
        out.name = t.name.clone();
        let topic = b.state.store.topic(t.name.0.as_str());
        for p in t.partitions {
            let mut o = OffsetCommitResponsePartition::default();
            o.partition_index = p.partition_index;
            let known = topic.as_ref().ok().is_some_and(|t| {
                u32::try_from(p.partition_index)
                    .ok()
                    .is_some_and(|i| t.partition(PartitionId(i)).is_ok())
            });
            o.error_code = match refused {
                Some(code) => code,
                None if !known => ResponseError::UnknownTopicOrPartition.code(),
                None if p.committed_offset < 0 => ResponseError::InvalidCommitOffsetSize.code(),
                None => {
                    commits.push((
                        out.partitions.len(),
                        resp.topics.len(),
                        Committed {
                            topic: t.name.0.to_string(),
                            partition: p.partition_index as u32,
                            offset: p.committed_offset as u64,
                        },
                    ));
                    0
                }
            };
            out.partitions.push(o);
        }
        resp.topics.push(out);
    }
    if commits.is_empty() {
        return resp;
    }
    let state = b.state.clone();
    let g = group.clone();
    let results: Vec<_> = blocking(move || {
        commits
            .into_iter()
            .map(|(pi, ti, c)| (ti, pi, state.groups.commit(&g, c)))
            .collect()
    })
    .await;
    for (ti, pi, result) in results {
        if let Err(e) = result {
            let (code, why) = match e {
                CommitError::TooMany(m) => (ResponseError::OffsetMetadataTooLarge.code(), m),
                CommitError::Io(e) => (ResponseError::KafkaStorageError.code(), format!("{e:#}")),
            };
            tracing::warn!(group = %group, error = %why, "kafka offset commit failed");
            resp.topics[ti].partitions[pi].error_code = code;
        }
    }
    resp
}

pub fn fetch(b: &Broker, r: OffsetFetchRequest) -> OffsetFetchResponse {
    let group = r.group_id.0.to_string();
    let mut resp = OffsetFetchResponse::default();
    let wanted: Vec<(String, Vec<i32>)> = match r.topics {
        Some(topics) => topics
            .into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect(),
        // All the group's committed offsets.
        None => {
            let mut all: Vec<(String, Vec<i32>)> = Vec::new();
            for c in b.state.groups.get(&group).unwrap_or_default() {
                match all.iter_mut().find(|(t, _)| *t == c.topic) {
                    Some((_, ps)) => ps.push(c.partition as i32),
                    None => all.push((c.topic, vec![c.partition as i32])),
                }
            }
            all
        }
    };
    for (topic, partitions) in wanted {
        let mut out = OffsetFetchResponseTopic::default();
        out.name = TopicName(kstr(topic.clone()));
        for p in partitions {
            let mut o = OffsetFetchResponsePartition::default();
            o.partition_index = p;
            o.committed_leader_epoch = -1;
            o.metadata = Some(kstr(""));
            o.committed_offset = u32::try_from(p)
                .ok()
                .and_then(|p| b.state.groups.committed(&group, &topic, p))
                .map_or(-1, |o| o as i64);
            out.partitions.push(o);
        }
        resp.topics.push(out);
    }
    resp
}
