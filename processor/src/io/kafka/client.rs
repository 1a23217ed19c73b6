//! A small synchronous Kafka client over the `kafka-protocol` codec: exactly the requests a
//! processor needs (Metadata, ListOffsets, Fetch, Produce, CreateTopics), each to the partition
//! leader, one blocking connection per broker. A processor is one thread that reads by offset
//! from assigned partitions, so it needs no consumer group, no background threads and no async
//! runtime; every call has a timeout and every response a size ceiling.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, FetchRequest, ListOffsetsRequest, MetadataRequest,
    MetadataResponse, ProduceRequest, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::ResponseError;

use crate::error::{Error, Result};
use crate::io::kafka::batch::{decode_batches, encode_batch, Fetched};
use crate::limits::{KAFKA_REQUEST_TIMEOUT_MS, KAFKA_RESPONSE_BYTES_MAX};

/// The versions this client speaks: old enough for kappa's own listener and every Kafka since
/// 3.0, new enough for `ListOffsets` by maximum timestamp (v7, KIP-734) and Kafka 4's floors.
const METADATA_VERSION: i16 = 9;
const LIST_OFFSETS_VERSION: i16 = 7;
const FETCH_VERSION: i16 = 11;
const PRODUCE_VERSION: i16 = 8;
const CREATE_TOPICS_VERSION: i16 = 5;

/// `ListOffsets` timestamps with special meanings (Kafka's `ListOffsetsRequest`).
pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;

/// What one fetch returned: records from the requested offset on, and the partition's high
/// watermark (the end of what is readable).
#[derive(Debug, Default)]
pub struct FetchedPartition {
    pub records: Vec<Fetched>,
    pub high_watermark: u64,
}

pub struct Client {
    bootstrap: String,
    /// node id -> "host:port", from the last Metadata.
    brokers: BTreeMap<i32, String>,
    /// (topic, partition) -> leader node id.
    leaders: BTreeMap<(String, i32), i32>,
    /// topic -> partition count, for topics that exist.
    topics: BTreeMap<String, u32>,
    conns: BTreeMap<String, TcpStream>,
    correlation: i32,
}

impl Client {
    /// Connects to the first reachable bootstrap server (comma-separated `host:port` list).
    pub fn connect(bootstrap: &str) -> Result<Client> {
        let mut c = Client {
            bootstrap: bootstrap.to_string(),
            brokers: BTreeMap::new(),
            leaders: BTreeMap::new(),
            topics: BTreeMap::new(),
            conns: BTreeMap::new(),
            correlation: 0,
        };
        c.refresh(&[])?;
        Ok(c)
    }

    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    fn error(&self, what: impl Into<String>) -> Error {
        Error::Kafka {
            servers: self.bootstrap.clone(),
            what: what.into(),
        }
    }

    /// Sends one request to `addr` and reads its response (one in flight per connection).
    fn call<R: Request>(&mut self, addr: &str, version: i16, request: &R) -> Result<R::Response> {
        self.correlation = self.correlation.wrapping_add(1);
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = self.correlation;
        header.client_id = Some(StrBytes::from_static_str("kappa-processor"));
        let mut body = BytesMut::new();
        body.put_i32(0);
        header
            .encode(&mut body, R::header_version(version))
            .and_then(|()| request.encode(&mut body, version))
            .map_err(|e| self.error(format!("encoding request {}: {e}", R::KEY)))?;
        let size = (body.len() - 4) as i32;
        body[..4].copy_from_slice(&size.to_be_bytes());
        let result = self.exchange(addr, &body);
        let mut frame = match result {
            Ok(f) => f,
            Err(e) => {
                // A broken connection is reopened by the next call.
                self.conns.remove(addr);
                return Err(self.error(format!("broker {addr}: {e}")));
            }
        };
        let response_header =
            ResponseHeader::decode(&mut frame, R::Response::header_version(version))
                .map_err(|e| self.error(format!("broker {addr}: bad response header: {e}")))?;
        if response_header.correlation_id != self.correlation {
            self.conns.remove(addr);
            return Err(self.error(format!(
                "broker {addr}: response {} to request {}",
                response_header.correlation_id, self.correlation
            )));
        }
        R::Response::decode(&mut frame, version).map_err(|e| {
            self.error(format!(
                "broker {addr}: bad response to API {}: {e}",
                R::KEY
            ))
        })
    }

    fn exchange(&mut self, addr: &str, request: &[u8]) -> std::io::Result<Bytes> {
        if !self.conns.contains_key(addr) {
            let timeout = Duration::from_millis(KAFKA_REQUEST_TIMEOUT_MS);
            let sock = addr
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
            let stream = TcpStream::connect_timeout(&sock, timeout)?;
            stream.set_read_timeout(Some(timeout))?;
            stream.set_write_timeout(Some(timeout))?;
            stream.set_nodelay(true)?;
            self.conns.insert(addr.to_string(), stream);
        }
        let stream = self.conns.get_mut(addr).expect("inserted above");
        stream.write_all(request)?;
        let mut size = [0u8; 4];
        stream.read_exact(&mut size)?;
        let size = i32::from_be_bytes(size);
        if size < 0 || size as usize > KAFKA_RESPONSE_BYTES_MAX {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a {size}-byte response (KAFKA_RESPONSE_BYTES_MAX is {KAFKA_RESPONSE_BYTES_MAX})"),
            ));
        }
        let mut frame = vec![0u8; size as usize];
        stream.read_exact(&mut frame)?;
        Ok(Bytes::from(frame))
    }

    /// Any broker: the first known one, else a bootstrap server that answers.
    fn any_broker(&self) -> Vec<String> {
        let mut addrs: Vec<String> = self.brokers.values().cloned().collect();
        addrs.extend(self.bootstrap.split(',').map(|s| s.trim().to_string()));
        addrs
    }

    /// Reloads brokers and leaders (of `topics`, or of every topic when empty).
    pub fn refresh(&mut self, topics: &[&str]) -> Result<()> {
        let mut request = MetadataRequest::default();
        request.topics = (!topics.is_empty()).then(|| {
            topics
                .iter()
                .map(|t| {
                    let mut mt = MetadataRequestTopic::default();
                    mt.name = Some(topic_name(t));
                    mt
                })
                .collect()
        });
        request.allow_auto_topic_creation = false;
        let mut last = None;
        for addr in self.any_broker() {
            match self.call(&addr, METADATA_VERSION, &request) {
                Ok(r) => {
                    self.apply(r);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.error("no bootstrap server given")))
    }

    fn apply(&mut self, r: MetadataResponse) {
        for b in r.brokers {
            self.brokers
                .insert(b.node_id.0, format!("{}:{}", b.host.as_str(), b.port));
        }
        for t in r.topics {
            let Some(name) = t.name else { continue };
            let name = name.0.to_string();
            if t.error_code != 0 {
                self.topics.remove(&name);
                continue;
            }
            self.topics.insert(name.clone(), t.partitions.len() as u32);
            for p in t.partitions {
                self.leaders
                    .insert((name.clone(), p.partition_index), p.leader_id.0);
            }
        }
    }

    /// Every topic the cluster has, as of the last metadata (the connect's covers all).
    pub fn topic_names(&self) -> Vec<String> {
        self.topics.keys().cloned().collect()
    }

    /// The partition count of `topic`, or None if the cluster does not have it.
    pub fn partitions(&mut self, topic: &str) -> Result<Option<u32>> {
        self.refresh(&[topic])?;
        Ok(self.topics.get(topic).copied())
    }

    fn leader(&mut self, topic: &str, partition: u32) -> Result<String> {
        let key = (topic.to_string(), partition as i32);
        if !self.leaders.contains_key(&key) {
            self.refresh(&[topic])?;
        }
        let node = *self.leaders.get(&key).ok_or_else(|| {
            self.error(format!("topic {topic} partition {partition} has no leader"))
        })?;
        self.brokers
            .get(&node)
            .cloned()
            .ok_or_else(|| self.error(format!("leader {node} of {topic}/{partition} is unknown")))
    }

    /// Runs `f` against the partition's leader, refreshing the metadata and retrying once when
    /// the leader moved or the connection broke.
    fn with_leader<T>(
        &mut self,
        topic: &str,
        partition: u32,
        mut f: impl FnMut(&mut Client, &str) -> Result<std::result::Result<T, i16>>,
    ) -> Result<T> {
        let mut tries = 0;
        loop {
            tries += 1;
            let addr = self.leader(topic, partition)?;
            let code = match f(self, &addr) {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(code)) => code,
                Err(e) if tries >= 3 => return Err(e),
                Err(_) => 0,
            };
            let retriable =
                code == 0 || ResponseError::try_from_code(code).is_some_and(|e| e.is_retriable());
            if !retriable || tries >= 3 {
                let what = ResponseError::try_from_code(code)
                    .map_or_else(|| format!("error code {code}"), |e| format!("{e:?}"));
                return Err(self.error(format!("topic {topic} partition {partition}: {what}")));
            }
            std::thread::sleep(Duration::from_millis(100 * tries));
            self.refresh(&[topic])?;
        }
    }

    /// ListOffsets of one partition at `timestamp` (or LATEST/EARLIEST/MAX_TIMESTAMP):
    /// (offset, timestamp); offset -1 when no record qualifies.
    pub fn list_offset(
        &mut self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<(i64, i64)> {
        let mut request = ListOffsetsRequest::default();
        request.replica_id = BrokerId(-1);
        // READ_COMMITTED would stop at the last stable offset; a processor reads what is
        // acknowledged (kappa writes no transactions).
        request.isolation_level = 0;
        let mut lt = ListOffsetsTopic::default();
        lt.name = topic_name(topic);
        let mut lp = ListOffsetsPartition::default();
        lp.partition_index = partition as i32;
        lp.current_leader_epoch = -1;
        lp.timestamp = timestamp;
        lt.partitions = vec![lp];
        request.topics = vec![lt];
        self.with_leader(topic, partition, |c, addr| {
            let r = c.call(addr, LIST_OFFSETS_VERSION, &request)?;
            let p = r
                .topics
                .first()
                .and_then(|t| t.partitions.first())
                .ok_or_else(|| c.error("ListOffsets answered no partition"))?;
            Ok(if p.error_code != 0 {
                Err(p.error_code)
            } else {
                Ok((p.offset, p.timestamp))
            })
        })
    }

    /// Fetches from `offset`, about `max_bytes`, without waiting for new records.
    pub fn fetch(
        &mut self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_bytes: usize,
    ) -> Result<FetchedPartition> {
        let mut request = FetchRequest::default();
        request.replica_id = BrokerId(-1);
        request.max_wait_ms = 0;
        request.min_bytes = 0;
        request.max_bytes = max_bytes as i32;
        request.isolation_level = 0;
        request.session_id = 0;
        request.session_epoch = -1;
        let mut ft = FetchTopic::default();
        ft.topic = topic_name(topic);
        let mut fp = FetchPartition::default();
        fp.partition = partition as i32;
        fp.current_leader_epoch = -1;
        fp.fetch_offset = offset as i64;
        fp.log_start_offset = -1;
        fp.partition_max_bytes = max_bytes as i32;
        ft.partitions = vec![fp];
        request.topics = vec![ft];
        self.with_leader(topic, partition, |c, addr| {
            let r = c.call(addr, FETCH_VERSION, &request)?;
            if r.error_code != 0 {
                return Ok(Err(r.error_code));
            }
            let p = r
                .responses
                .into_iter()
                .next()
                .and_then(|t| t.partitions.into_iter().next())
                .ok_or_else(|| c.error("Fetch answered no partition"))?;
            if p.error_code != 0 {
                return Ok(Err(p.error_code));
            }
            let records = match p.records {
                Some(bytes) => decode_batches(bytes, offset)
                    .map_err(|e| c.error(format!("{topic}/{partition} at offset {offset}: {e}")))?,
                None => Vec::new(),
            };
            Ok(Ok(FetchedPartition {
                records,
                high_watermark: p.high_watermark.max(0) as u64,
            }))
        })
    }

    /// Appends `records` to one partition as one batch (atomic), acknowledged by every in-sync
    /// replica; returns the batch's base offset. Not retried: the caller's exactly-once writer
    /// compares what is stored after a failure instead of appending twice.
    pub fn produce(
        &mut self,
        topic: &str,
        partition: u32,
        records: &[(Option<&[u8]>, &[u8])],
        timestamp_ms: i64,
    ) -> Result<u64> {
        let encoded = encode_batch(records, timestamp_ms)
            .map_err(|e| self.error(format!("encoding a batch for {topic}/{partition}: {e}")))?;
        let mut request = ProduceRequest::default();
        request.acks = -1;
        request.timeout_ms = KAFKA_REQUEST_TIMEOUT_MS as i32;
        let mut td = TopicProduceData::default();
        td.name = topic_name(topic);
        let mut pd = PartitionProduceData::default();
        pd.index = partition as i32;
        pd.records = Some(encoded);
        td.partition_data = vec![pd];
        request.topic_data = vec![td];
        let addr = self.leader(topic, partition)?;
        let r = self.call(&addr, PRODUCE_VERSION, &request)?;
        let p = r
            .responses
            .first()
            .and_then(|t| t.partition_responses.first())
            .ok_or_else(|| self.error("Produce answered no partition"))?;
        if p.error_code != 0 {
            let what = ResponseError::try_from_code(p.error_code).map_or_else(
                || format!("error code {}", p.error_code),
                |e| format!("{e:?}"),
            );
            // The leader may have moved: learn it for the retry after the restart.
            let _ = self.refresh(&[topic]);
            return Err(self.error(format!("producing to {topic}/{partition}: {what}")));
        }
        Ok(p.base_offset.max(0) as u64)
    }

    /// Creates `topic` with `partitions` partitions (the cluster's replication factor);
    /// an existing topic is not an error.
    pub fn create_topic(&mut self, topic: &str, partitions: u32) -> Result<()> {
        let mut request = CreateTopicsRequest::default();
        let mut ct = CreatableTopic::default();
        ct.name = topic_name(topic);
        ct.num_partitions = partitions as i32;
        ct.replication_factor = -1;
        request.topics = vec![ct];
        request.timeout_ms = KAFKA_REQUEST_TIMEOUT_MS as i32;
        let mut last = None;
        for addr in self.any_broker() {
            match self.call(&addr, CREATE_TOPICS_VERSION, &request) {
                Ok(r) => {
                    let code = r.topics.first().map_or(0, |t| t.error_code);
                    if code != 0 && code != ResponseError::TopicAlreadyExists.code() {
                        let msg = r
                            .topics
                            .first()
                            .and_then(|t| t.error_message.as_ref())
                            .map_or_else(String::new, |m| m.to_string());
                        return Err(
                            self.error(format!("creating topic {topic}: error code {code} {msg}"))
                        );
                    }
                    // The new topic's leaders.
                    for _ in 0..50 {
                        if self.partitions(topic)?.is_some() && self.leader(topic, 0).is_ok() {
                            return Ok(());
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    return Err(self.error(format!("topic {topic} was created but has no leader")));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.error("no broker answered")))
    }
}

fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}
