//! The APIs and versions the listener answers, and ApiVersions itself.
//!
//! Versions are capped below those that address topics by id instead of name (Fetch 13, Produce
//! 13, OffsetCommit 10) and below the batched OffsetFetch (8): clients negotiate down to these.
//! A request for an API or version outside this table is refused before it is decoded.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};
use kafka_protocol::ResponseError;

/// (api key, min version, max version) answered by this listener.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 5),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::SaslHandshake, 1, 1),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::SaslAuthenticate, 0, 2),
];

/// The supported range of `key`, if it is answered at all.
pub fn range(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, min, max)| (min, max))
}

/// ApiVersions: the table, or (KIP-511) for a version this listener does not know, the table
/// with UNSUPPORTED_VERSION, which the caller encodes as version 0 so any client can read it.
pub fn api_versions(request_version: i16) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.api_keys = SUPPORTED
        .iter()
        .map(|&(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = min;
            v.max_version = max;
            v
        })
        .collect();
    if range(ApiKey::ApiVersions).is_none_or(|(_, max)| request_version > max) {
        r.error_code = ResponseError::UnsupportedVersion.code();
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_range_lies_within_the_codecs_own() {
        for &(key, min, max) in SUPPORTED {
            let valid = key.valid_versions();
            assert!(min <= max, "{key:?}");
            assert!(
                min >= valid.min && max <= valid.max,
                "{key:?} {min}..={max} vs {valid}"
            );
        }
    }

    #[test]
    fn an_unknown_api_versions_version_gets_unsupported_version_and_the_table() {
        let r = api_versions(99);
        assert_eq!(r.error_code, ResponseError::UnsupportedVersion.code());
        assert_eq!(r.api_keys.len(), SUPPORTED.len());
        assert_eq!(api_versions(3).error_code, 0);
    }
}
