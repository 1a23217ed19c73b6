//! The Kafka listener's accept loop and one task per connection: size-prefixed frames in, one
//! response per request out, in request order (as a Kafka broker answers one connection).
//!
//! Invariants: a size prefix is checked against the request body limit before anything is
//! allocated; a frame that cannot be decoded, an API or version outside `versions::SUPPORTED`
//! and any request before SASL authentication completes (when tokens are set) close this
//! connection only. Nothing a client sends can take the server down.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::{versions, Broker};
use crate::limits::{
    CONNECTIONS_MAX, KAFKA_FRAME_READ_TIMEOUT_MS, KAFKA_IDLE_TIMEOUT_MS,
    KAFKA_REQUEST_BYTES_IN_FLIGHT_MAX,
};

/// Permits of the in-flight request budget are KiB.
const PERMIT_BYTES: usize = 1024;

/// Why a connection is closed (logged at debug: a client's mistake, not the server's).
#[derive(Debug)]
pub struct Closed(pub String);

fn closed(why: impl Into<String>) -> Closed {
    Closed(why.into())
}

/// Accepts Kafka connections until the server's shutdown token is cancelled.
pub async fn serve(broker: Arc<Broker>, listener: TcpListener) {
    let connections = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    let in_flight = Arc::new(Semaphore::new(
        KAFKA_REQUEST_BYTES_IN_FLIGHT_MAX / PERMIT_BYTES,
    ));
    let shutdown = broker.state.shutdown.clone();
    let sweeper = tokio::spawn(super::coordinator::sweep(broker.clone()));
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = connections.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // The accept loop is the documented exception to bounded retries.
                    tracing::warn!(error = %e, "kafka accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let broker = broker.clone();
        let in_flight = in_flight.clone();
        tokio::spawn(async move {
            let shutdown = broker.state.shutdown.clone();
            let mut conn = Connection {
                broker,
                in_flight,
                stream,
                authenticated: false,
                handshaken: false,
            };
            tokio::select! {
                r = conn.run() => if let Err(Closed(why)) = r {
                    tracing::debug!(%peer, reason = %why, "kafka connection closed");
                },
                _ = shutdown.cancelled() => {}
            }
            drop(permit);
        });
    }
    sweeper.abort();
}

struct Connection {
    broker: Arc<Broker>,
    /// The budget of request bytes held by all connections (`KAFKA_REQUEST_BYTES_IN_FLIGHT_MAX`).
    in_flight: Arc<Semaphore>,
    stream: TcpStream,
    /// SASL/PLAIN done (or not required: no tokens set).
    authenticated: bool,
    /// A SaslHandshake named PLAIN.
    handshaken: bool,
}

impl Connection {
    async fn run(&mut self) -> Result<(), Closed> {
        self.authenticated = self.broker.state.tokens.is_empty();
        loop {
            let Some((frame, permit)) = self.read_frame().await? else {
                return Ok(());
            };
            self.answer(frame).await?;
            drop(permit);
        }
    }

    /// The next frame and its share of the in-flight budget, or `None` when the client closed
    /// the connection between frames.
    async fn read_frame(
        &mut self,
    ) -> Result<Option<(Bytes, tokio::sync::OwnedSemaphorePermit)>, Closed> {
        let mut size = [0u8; 4];
        let idle = Duration::from_millis(KAFKA_IDLE_TIMEOUT_MS);
        match tokio::time::timeout(idle, self.stream.read_exact(&mut size)).await {
            Err(_) => return Err(closed("idle for too long")),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Ok(Err(e)) => return Err(closed(format!("reading a size prefix: {e}"))),
            Ok(Ok(_)) => {}
        }
        let size = i32::from_be_bytes(size);
        let max = self.broker.state.limits.body_bytes_max;
        // Api key, api version and correlation id come first in every request.
        if size < 8 || size as usize > max {
            return Err(closed(format!(
                "size prefix {size} outside 8..={max} (the request body limit)"
            )));
        }
        let permits = (size as usize).div_ceil(PERMIT_BYTES) as u32;
        let permit = self
            .in_flight
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| closed("shutting down"))?;
        let mut frame = BytesMut::zeroed(size as usize);
        let read = Duration::from_millis(KAFKA_FRAME_READ_TIMEOUT_MS);
        match tokio::time::timeout(read, self.stream.read_exact(&mut frame)).await {
            Err(_) => Err(closed(format!(
                "a {size}-byte frame did not arrive in {read:?}"
            ))),
            Ok(Err(e)) => Err(closed(format!("reading a {size}-byte frame: {e}"))),
            Ok(Ok(_)) => Ok(Some((frame.freeze(), permit))),
        }
    }

    async fn answer(&mut self, mut frame: Bytes) -> Result<(), Closed> {
        let key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let api = ApiKey::try_from(key).map_err(|_| closed(format!("unknown api key {key}")))?;
        let supported = versions::range(api);
        if api == ApiKey::ApiVersions && supported.is_some_and(|(_, max)| version > max) {
            // KIP-511: answer in version 0 so that the client can read our table and retry.
            let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
            let body = ResponseKind::ApiVersions(versions::api_versions(version));
            return self
                .write(correlation_id, ApiKey::ApiVersions, 0, &body)
                .await;
        }
        match supported {
            Some((min, max)) if (min..=max).contains(&version) => {}
            _ => return Err(closed(format!("{api:?} v{version} is not supported"))),
        }
        let header = RequestHeader::decode(&mut frame, api.request_header_version(version))
            .map_err(|e| closed(format!("bad {api:?} v{version} request header: {e}")))?;
        let request = RequestKind::decode(api, &mut frame, version)
            .map_err(|e| closed(format!("bad {api:?} v{version} request: {e}")))?;
        tracing::debug!(
            target: "kappa::kafka",
            api_key = key,
            api_version = version,
            api = ?api,
            client_id = header.client_id.as_deref().unwrap_or(""),
            "kafka request"
        );
        if !self.authenticated
            && !matches!(
                api,
                ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
            )
        {
            return Err(closed(format!("{api:?} before SASL authentication")));
        }
        let response = self.dispatch(&header, request).await?;
        match response {
            Some(body) => self.write(header.correlation_id, api, version, &body).await,
            None => Ok(()), // acks=0: no response at all
        }
    }

    async fn dispatch(
        &mut self,
        header: &RequestHeader,
        request: RequestKind,
    ) -> Result<Option<ResponseKind>, Closed> {
        let b = &self.broker;
        let v = header.request_api_version;
        let r = match request {
            RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(versions::api_versions(v)),
            RequestKind::SaslHandshake(r) => {
                let (resp, ok) = super::sasl::handshake(&r);
                self.handshaken = ok;
                ResponseKind::SaslHandshake(resp)
            }
            RequestKind::SaslAuthenticate(r) => {
                if !self.handshaken {
                    return Err(closed("SaslAuthenticate without a PLAIN SaslHandshake"));
                }
                let (resp, ok) = super::sasl::authenticate(&b.state.tokens, &r);
                self.authenticated = ok;
                ResponseKind::SaslAuthenticate(resp)
            }
            RequestKind::Metadata(r) => {
                ResponseKind::Metadata(super::metadata::metadata(b, r, v).await)
            }
            RequestKind::Produce(r) => {
                return Ok(super::produce::produce(b, r)
                    .await
                    .map(ResponseKind::Produce))
            }
            RequestKind::Fetch(r) => ResponseKind::Fetch(super::fetch::fetch(b, r).await),
            RequestKind::ListOffsets(r) => {
                ResponseKind::ListOffsets(super::offsets::list_offsets(b, r).await)
            }
            RequestKind::InitProducerId(r) => ResponseKind::InitProducerId(b.producers.init(&r)),
            RequestKind::CreateTopics(r) => {
                ResponseKind::CreateTopics(super::topics::create(b, r).await)
            }
            RequestKind::DeleteTopics(r) => {
                ResponseKind::DeleteTopics(super::topics::delete(b, r).await)
            }
            RequestKind::DescribeConfigs(r) => {
                ResponseKind::DescribeConfigs(super::topics::describe_configs(b, r))
            }
            RequestKind::FindCoordinator(r) => {
                ResponseKind::FindCoordinator(super::coordinator::find(b, r, v))
            }
            RequestKind::JoinGroup(r) => ResponseKind::JoinGroup(b.groups.join(r, v).await),
            RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(b.groups.sync(r).await),
            RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(b.groups.heartbeat(r)),
            RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(b.groups.leave(r)),
            RequestKind::ListGroups(_) => ResponseKind::ListGroups(super::coordinator::list(b)),
            RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(b.groups.describe(r)),
            RequestKind::OffsetCommit(r) => {
                ResponseKind::OffsetCommit(super::offsets::commit(b, r).await)
            }
            RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(super::offsets::fetch(b, r)),
            other => return Err(closed(format!("unexpected request {other:?}"))),
        };
        Ok(Some(r))
    }

    async fn write(
        &mut self,
        correlation_id: i32,
        api: ApiKey,
        version: i16,
        body: &ResponseKind,
    ) -> Result<(), Closed> {
        let frame = encode_response(correlation_id, api, version, body)
            .map_err(|e| closed(format!("encoding the {api:?} v{version} response: {e}")))?;
        self.stream
            .write_all(&frame)
            .await
            .map_err(|e| closed(format!("writing a response: {e}")))
    }
}

/// A size-prefixed response frame: the response header for `api` at `version`, then the body.
pub fn encode_response(
    correlation_id: i32,
    api: ApiKey,
    version: i16,
    body: &ResponseKind,
) -> anyhow::Result<Bytes> {
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(&[0; 4]);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header.encode(&mut buf, api.response_header_version(version))?;
    body.encode(&mut buf, version)?;
    let size = i32::try_from(buf.len() - 4)?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}
