//! The one place library errors become HTTP statuses, and every error body is
//! `{"error": {"code": "...", "message": "..."}}`.

use hyper::StatusCode;

use crate::produce::ProduceError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
    pub fn body(&self) -> String {
        serde_json::json!({"error": {"code": self.code, "message": self.message}}).to_string()
    }
}

impl From<log_store::Error> for ApiError {
    fn from(e: log_store::Error) -> Self {
        Self::from_log(&e)
    }
}

impl ApiError {
    fn from_log(e: &log_store::Error) -> Self {
        use log_store::Error as E;
        let message = e.to_string();
        match e {
            _ if e.is_disk_full() => {
                Self::new(StatusCode::INSUFFICIENT_STORAGE, "disk_full", message)
            }
            E::Io { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "io_error", message),
            E::Corrupt { .. } => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "corrupt", message),
            E::OffsetOutOfRange { .. } => Self::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "offset_out_of_range",
                message,
            ),
            E::UnknownTopic { .. } => Self::new(StatusCode::NOT_FOUND, "unknown_topic", message),
            E::UnknownPartition { .. } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_partition", message)
            }
            E::TopicExists { .. } => Self::new(StatusCode::CONFLICT, "topic_exists", message),
            E::TooManyTopics { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many", message)
            }
            E::InvalidName { .. } => Self::bad_request("invalid_name", message),
            E::InvalidConfig { .. } => Self::bad_request("invalid_config", message),
            E::RecordTooLarge { .. } | E::BatchTooLarge { .. } | E::BatchBytesTooLarge { .. } => {
                Self::too_large(message)
            }
            E::InvalidRecord { .. } => Self::bad_request("invalid_record", message),
            E::Locked { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "locked", message),
            #[allow(unreachable_patterns)]
            _ => Self::internal(message),
        }
    }
}

impl From<ProduceError> for ApiError {
    fn from(e: ProduceError) -> Self {
        use ProduceError as E;
        let message = e.to_string();
        match e {
            E::EmptyBody => Self::bad_request("empty_body", message),
            E::BadUtf8 { .. } | E::BadJson { .. } => Self::bad_request("bad_json", message),
            E::TooManyEvents { .. } | E::EventTooLarge { .. } => Self::too_large(message),
            E::KeyReused { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                message,
            ),
            E::KeyInProgress { .. } => {
                Self::new(StatusCode::CONFLICT, "request_in_progress", message)
            }
            E::AppenderStopped | E::Worker(_) => Self::internal(message),
            E::Log(e) => Self::from_log(&e),
        }
    }
}

impl From<processor::Error> for ApiError {
    fn from(e: processor::Error) -> Self {
        use processor::Error as E;
        let message = e.to_string();
        match e {
            E::Sql { .. } => Self::bad_request("sql_unsupported", message),
            E::InvalidName { .. } => Self::bad_request("invalid_name", message),
            E::InvalidDefinition { .. } => Self::bad_request("invalid_definition", message),
            E::NotFound { .. } => Self::new(StatusCode::NOT_FOUND, "unknown_processor", message),
            E::UnknownVersion { .. } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_version", message)
            }
            E::Exists { .. } => Self::new(StatusCode::CONFLICT, "processor_exists", message),
            E::Conflict { .. } => Self::new(StatusCode::CONFLICT, "conflict", message),
            E::Limit { .. } => Self::new(StatusCode::TOO_MANY_REQUESTS, "limit", message),
            E::UnknownTopic { .. } => Self::new(StatusCode::NOT_FOUND, "unknown_topic", message),
            E::TopicExists { .. } => Self::new(StatusCode::CONFLICT, "topic_exists", message),
            E::Log(e) => Self::from(e),
            E::Kafka { .. } => Self::new(StatusCode::BAD_GATEWAY, "kafka_unavailable", message),
            _ => Self::internal(message),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produce_errors_keep_their_statuses_and_codes() {
        let cases = [
            (ProduceError::EmptyBody, 400, "empty_body"),
            (
                ProduceError::BadUtf8 { line: 1, column: 2 },
                400,
                "bad_json",
            ),
            (
                ProduceError::TooManyEvents {
                    events: 3,
                    limit: 2,
                },
                413,
                "too_large",
            ),
            (
                ProduceError::KeyReused {
                    topic: "t".into(),
                    key: "k".into(),
                },
                422,
                "idempotency_key_reused",
            ),
            (
                ProduceError::KeyInProgress { key: "k".into() },
                409,
                "request_in_progress",
            ),
            (ProduceError::AppenderStopped, 500, "internal"),
        ];
        for (e, status, code) in cases {
            let message = e.to_string();
            let api = ApiError::from(e);
            assert_eq!((api.status.as_u16(), api.code), (status, code));
            assert_eq!(api.message, message);
        }
    }
}
