//! CreateTopics, DeleteTopics and DescribeConfigs: the same topics, names and limits as
//! `POST/DELETE /v1/topics`, described in Kafka's config names.

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use log_store::TopicConfig;

use super::{blocking, error_code, kstr, topic_id, Broker};

/// Kafka's resource types in DescribeConfigs.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

pub async fn create(b: &Broker, r: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut resp = CreateTopicsResponse::default();
    for t in r.topics {
        let name = t.name.0.to_string();
        let mut result = CreatableTopicResult::default();
        result.name = t.name.clone();
        result.topic_id = topic_id(&name);
        match config_of(b, &t) {
            Err((code, message)) => {
                result.error_code = code;
                result.error_message = Some(kstr(message));
            }
            Ok(config) => {
                result.num_partitions = config.partitions as i32;
                result.replication_factor = 1;
                let store = b.state.store.clone();
                let validate_only = r.validate_only;
                let (n, c) = (name.clone(), config.clone());
                // Reserved names (`p.late`, `p.v2`) are not refused here, unlike over HTTP: they
                // are how a processor elsewhere (kappa's Kafka connector pointed at this
                // listener) creates its own topics, and a local processor `p` still cannot be
                // created over a topic it does not own (409 topic_exists).
                let created = blocking(move || {
                    log_store::validate_name(&n)?;
                    c.validate()?;
                    if validate_only {
                        return match store.topic(&n) {
                            Ok(_) => Err(log_store::Error::TopicExists { topic: n }),
                            Err(_) => Ok(()),
                        };
                    }
                    store.create_topic(&n, c).map(|_| ())
                })
                .await;
                if let Err(e) = created {
                    result.error_code = error_code(&e);
                    result.error_message = Some(kstr(e.to_string()));
                } else if !validate_only {
                    tracing::info!(topic = %name, partitions = config.partitions, "kafka: created topic");
                }
            }
        }
        resp.topics.push(result);
    }
    resp
}

/// The log's config for a CreateTopics entry; retention and segment size are honoured, other
/// configs are accepted and ignored (kappa keeps every record: see the Kafka docs page).
fn config_of(b: &Broker, t: &CreatableTopic) -> Result<TopicConfig, (i16, String)> {
    let partitions = match t.num_partitions {
        -1 => b.config.default_partitions,
        n if n >= 1 => n as u32,
        n => {
            return Err((
                ResponseError::InvalidPartitions.code(),
                format!("num_partitions = {n}: expected at least 1 (or -1 for the default)"),
            ))
        }
    };
    if t.replication_factor > 1 {
        return Err((
            ResponseError::InvalidReplicationFactor.code(),
            format!(
                "replication factor {} is larger than the 1 broker kappa is",
                t.replication_factor
            ),
        ));
    }
    let mut config = TopicConfig {
        partitions,
        ..TopicConfig::default()
    };
    for c in &t.configs {
        let Some(value) = c.value.as_deref() else {
            continue;
        };
        let number = || {
            value.parse::<i64>().map_err(|_| {
                (
                    ResponseError::InvalidConfig.code(),
                    format!("{}={value:?}: expected a number", c.name.as_str()),
                )
            })
        };
        match c.name.as_str() {
            "retention.ms" => config.retention_ms = u64::try_from(number()?).ok(),
            "retention.bytes" => config.retention_bytes = u64::try_from(number()?).ok(),
            "segment.bytes" => config.segment_bytes = number()?.max(0) as u64,
            _ => {}
        }
    }
    Ok(config)
}

pub async fn delete(b: &Broker, r: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let mut names: Vec<TopicName> = r.topic_names;
    names.extend(r.topics.into_iter().filter_map(|t| t.name));
    let mut resp = DeleteTopicsResponse::default();
    for name in names {
        let mut result = DeletableTopicResult::default();
        result.name = Some(name.clone());
        let n = name.0.to_string();
        result.topic_id = topic_id(&n);
        if let Some((p, how)) = b.state.processors.user_of(&n) {
            result.error_code = ResponseError::PolicyViolation.code();
            result.error_message = Some(kstr(format!(
                "topic {n} is {how} by processor {p}; delete the processor first"
            )));
        } else {
            b.state.appenders.forget(&n);
            b.producers.forget(&n);
            let store = b.state.store.clone();
            let deleted = blocking(move || {
                log_store::validate_name(&n)?;
                store.delete_topic(&n)
            })
            .await;
            if let Err(e) = deleted {
                result.error_code = error_code(&e);
                result.error_message = Some(kstr(e.to_string()));
            }
        }
        resp.responses.push(result);
    }
    resp
}

pub fn describe_configs(b: &Broker, r: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let mut resp = DescribeConfigsResponse::default();
    for res in r.resources {
        let mut out = DescribeConfigsResult::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name.clone();
        let configs: Vec<(&str, String)> = match res.resource_type {
            RESOURCE_TOPIC => match b.state.store.topic(res.resource_name.as_str()) {
                Ok(t) => topic_configs(b, t.config()),
                Err(e) => {
                    out.error_code = error_code(&e);
                    out.error_message = Some(kstr(e.to_string()));
                    Vec::new()
                }
            },
            RESOURCE_BROKER => vec![
                ("num.partitions", b.config.default_partitions.to_string()),
                (
                    "auto.create.topics.enable",
                    b.config.auto_create.to_string(),
                ),
                (
                    "message.max.bytes",
                    b.state.limits.body_bytes_max.to_string(),
                ),
                ("log.message.timestamp.type", "LogAppendTime".to_string()),
            ],
            other => {
                out.error_code = ResponseError::InvalidRequest.code();
                out.error_message = Some(kstr(format!("resource type {other} is not described")));
                Vec::new()
            }
        };
        let wanted = |name: &str| {
            res.configuration_keys
                .as_ref()
                .is_none_or(|keys| keys.is_empty() || keys.iter().any(|k| k.as_str() == name))
        };
        out.configs = configs
            .into_iter()
            .filter(|(n, _)| wanted(n))
            .map(|(name, value)| {
                let mut c = DescribeConfigsResourceResult::default();
                c.name = StrBytes::from_static_str(name);
                c.value = Some(kstr(value));
                c.read_only = true;
                c.config_source = 5; // DEFAULT_CONFIG
                c
            })
            .collect();
        resp.results.push(out);
    }
    resp
}

fn topic_configs(b: &Broker, c: &TopicConfig) -> Vec<(&'static str, String)> {
    let signed = |v: Option<u64>| v.map_or(-1, |v| v as i64).to_string();
    vec![
        ("cleanup.policy", "delete".to_string()),
        ("retention.ms", signed(c.retention_ms)),
        ("retention.bytes", signed(c.retention_bytes)),
        ("segment.bytes", c.segment_bytes.to_string()),
        ("message.timestamp.type", "LogAppendTime".to_string()),
        (
            "max.message.bytes",
            b.state.limits.event_bytes_max.to_string(),
        ),
        ("min.insync.replicas", "1".to_string()),
    ]
}
