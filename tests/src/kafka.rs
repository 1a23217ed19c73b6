//! A minimal Kafka client for the end-to-end tests: one blocking TCP connection that encodes
//! requests and decodes responses with the `kafka-protocol` crate (the client side of the codec
//! the server uses), plus helpers to build record batches.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::RequestHeader;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

pub use kafka_protocol;

pub struct KafkaConn {
    pub stream: TcpStream,
    correlation_id: i32,
}

impl KafkaConn {
    pub fn connect(addr: &str) -> KafkaConn {
        let stream = TcpStream::connect(addr).expect("connect to the Kafka listener");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        KafkaConn {
            stream,
            correlation_id: 0,
        }
    }

    /// Sends `request` at `version` without waiting for an answer; returns its correlation id.
    pub fn send<R: Request>(&mut self, request: &R, version: i16) -> i32 {
        self.correlation_id += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = self.correlation_id;
        header.client_id = Some(StrBytes::from_static_str("kappa-tests"));
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[0; 4]);
        header
            .encode(&mut buf, R::header_version(version))
            .expect("encode header");
        request.encode(&mut buf, version).expect("encode request");
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&buf).expect("write request");
        self.correlation_id
    }

    /// Reads one response frame: (correlation id, the body after the correlation id).
    pub fn read_frame(&mut self) -> std::io::Result<(i32, Bytes)> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size)?;
        let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut frame)?;
        let correlation = i32::from_be_bytes(frame[..4].try_into().expect("4 bytes"));
        Ok((correlation, Bytes::from(frame).slice(4..)))
    }

    /// Reads the response to a request of type `R` sent at `version`.
    pub fn receive<R: Request>(&mut self, version: i16) -> (i32, R::Response) {
        let (correlation, mut body) = self.read_frame().expect("a response frame");
        if R::Response::header_version(version) >= 1 {
            // The flexible response header's tagged fields: none are sent.
            assert_eq!(body[0], 0, "no tagged fields in the response header");
            body = body.slice(1..);
        }
        let response = R::Response::decode(&mut body, version).expect("decode response");
        (correlation, response)
    }

    pub fn call<R: Request>(&mut self, request: &R, version: i16) -> R::Response {
        let sent = self.send(request, version);
        let (correlation, response) = self.receive::<R>(version);
        assert_eq!(correlation, sent, "responses come in request order");
        response
    }

    /// Whether the server closed this connection (reads end) within the read timeout.
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }
}

/// One record to produce.
pub struct Produced<'a> {
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// A RecordBatch v2 of `records` (CreateTime 0), from a producer (`-1` for none).
pub fn batch(records: &[Produced<'_>], producer_id: i64, epoch: i16, base_sequence: i32) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: if producer_id < 0 {
                -1 + i as i32
            } else {
                base_sequence + i as i32
            },
            timestamp: 0,
            key: r.key.map(Bytes::copy_from_slice),
            value: Some(Bytes::copy_from_slice(r.value)),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        StrBytes::from_string(k.to_string()),
                        Some(Bytes::copy_from_slice(v)),
                    )
                })
                .collect::<IndexMap<_, _>>(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

/// Every record in a fetched `records` field.
pub fn records(bytes: Option<Bytes>) -> Vec<Record> {
    let Some(mut bytes) = bytes else {
        return Vec::new();
    };
    RecordBatchDecoder::decode_all(&mut bytes)
        .expect("decode fetched batches")
        .into_iter()
        .flat_map(|s| s.records)
        .collect()
}
