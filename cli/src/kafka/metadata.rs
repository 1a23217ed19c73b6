//! Metadata: the one broker (this server, at the advertised address) leads every partition.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::ResponseError;
use log_store::{Topic, TopicConfig};

use super::{blocking, error_code, kstr, topic_id, Broker, CLUSTER_ID, NODE_ID};

pub async fn metadata(b: &Broker, r: MetadataRequest, version: i16) -> MetadataResponse {
    let mut resp = MetadataResponse::default();
    let mut broker = MetadataResponseBroker::default();
    broker.node_id = BrokerId(NODE_ID);
    broker.host = b.host();
    broker.port = b.config.advertise_port;
    resp.brokers = vec![broker];
    resp.cluster_id = Some(kstr(CLUSTER_ID));
    resp.controller_id = BrokerId(NODE_ID);
    let names: Option<Vec<String>> = match r.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None, // v0: an empty list means all
        Some(t) => Some(
            t.into_iter()
                .filter_map(|t| t.name.map(|n| n.0.to_string()))
                .collect(),
        ),
    };
    let auto_create = b.config.auto_create && (version < 4 || r.allow_auto_topic_creation);
    resp.topics = match names {
        None => b.state.store.topics().iter().map(|t| describe(t)).collect(),
        Some(names) => {
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                out.push(lookup(b, &name, auto_create).await);
            }
            out
        }
    };
    resp
}

/// The topic named, created first when auto-creation is on; or its error.
async fn lookup(b: &Broker, name: &str, auto_create: bool) -> MetadataResponseTopic {
    let found = match b.state.store.topic(name) {
        Err(log_store::Error::UnknownTopic { .. }) if auto_create => {
            let (store, name2) = (b.state.store.clone(), name.to_string());
            let config = TopicConfig {
                partitions: b.config.default_partitions,
                ..TopicConfig::default()
            };
            let created = blocking(move || {
                log_store::validate_name(&name2)?;
                match store.create_topic(&name2, config) {
                    Err(log_store::Error::TopicExists { .. }) => store.topic(&name2),
                    other => other,
                }
            })
            .await;
            if created.is_ok() {
                tracing::info!(topic = name, "kafka: auto-created topic");
            }
            created
        }
        other => other,
    };
    match found {
        Ok(t) => describe(&t),
        Err(e) => {
            let mut t = MetadataResponseTopic::default();
            t.name = Some(TopicName(kstr(name)));
            t.error_code = match e {
                log_store::Error::UnknownTopic { .. } => {
                    ResponseError::UnknownTopicOrPartition.code()
                }
                e => error_code(&e),
            };
            t
        }
    }
}

pub fn describe(topic: &Topic) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(TopicName(kstr(topic.name())));
    t.topic_id = topic_id(topic.name());
    t.partitions = topic
        .partitions()
        .iter()
        .map(|p| {
            let mut m = MetadataResponsePartition::default();
            m.partition_index = p.id().0 as i32;
            m.leader_id = BrokerId(NODE_ID);
            m.leader_epoch = 0;
            m.replica_nodes = vec![BrokerId(NODE_ID)];
            m.isr_nodes = vec![BrokerId(NODE_ID)];
            m
        })
        .collect();
    t
}

/// The topic named, auto-created when `--kafka-auto-create` is on; or why not.
pub async fn ensure_topic(b: &Broker, name: &str) -> Result<std::sync::Arc<Topic>, (i16, String)> {
    match b.state.store.topic(name) {
        Ok(t) => Ok(t),
        Err(log_store::Error::UnknownTopic { .. }) if b.config.auto_create => {
            let t = lookup(b, name, true).await;
            if t.error_code != 0 {
                return Err((t.error_code, format!("creating topic {name} failed")));
            }
            b.state
                .store
                .topic(name)
                .map_err(|e| (error_code(&e), e.to_string()))
        }
        Err(e) => Err((error_code(&e), e.to_string())),
    }
}
