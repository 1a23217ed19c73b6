//! Splitting a request's events into one share per partition: by the murmur2 hash of a key field
//! (Kafka's default partitioner, so keys land on the same partition numbers as in Kafka, and a
//! retry splits the same way), or whole to the next partition in turn.

use std::ops::Range;

use bytes::Bytes;

/// One partition's share of a request, before it is queued: its events as ranges of the body.
pub struct Split {
    pub partition: u32,
    pub body: Bytes,
    pub events: Vec<Range<usize>>,
    pub keys: Vec<Option<Vec<u8>>>,
}

/// Splits `events` (slices of `body`) over `partitions`: by the key in `key_field`, or, without
/// one, all to the partition `next_partition` picks. Shares are in partition order.
pub fn split(
    body: &Bytes,
    events: &[&[u8]],
    partitions: u32,
    key_field: Option<&str>,
    next_partition: impl FnOnce() -> u32,
) -> Vec<Split> {
    let range = |e: &[u8]| {
        let start = e.as_ptr() as usize - body.as_ptr() as usize;
        start..start + e.len()
    };
    let Some(field) = key_field else {
        let ranges: Vec<_> = events.iter().map(|e| range(e)).collect();
        let keys = vec![None; ranges.len()];
        return vec![Split {
            partition: next_partition(),
            events: ranges,
            keys,
            body: body.clone(),
        }];
    };
    let mut shares: Vec<Split> = Vec::new();
    for event in events {
        let key = key_of(event, field);
        let partition = partition_for_key(key.as_deref().unwrap_or(b""), partitions);
        let at = match shares.iter().position(|s| s.partition == partition) {
            Some(i) => i,
            None => {
                shares.push(Split {
                    partition,
                    body: body.clone(),
                    events: Vec::new(),
                    keys: Vec::new(),
                });
                shares.len() - 1
            }
        };
        shares[at].events.push(range(event));
        shares[at].keys.push(key);
    }
    shares.sort_by_key(|s| s.partition);
    shares
}

/// The key of `event` from field `field` (dotted for nested objects): a string's text, or the
/// JSON text of any other value. `None` when the field is missing or null.
pub fn key_of(event: &[u8], field: &str) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(event).ok()?;
    let mut v = &value;
    for part in field.split('.') {
        v = v.get(part)?;
    }
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone().into_bytes()),
        other => Some(other.to_string().into_bytes()),
    }
}

/// Kafka's murmur2 (as in `org.apache.kafka.common.utils.Utils.murmur2`), so a key picks the
/// same partition number it would in Kafka: `(murmur2(key) & 0x7fffffff) % partitions`.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21") as i32, -973932308);
        assert_eq!(murmur2(b"foobar") as i32, -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string") as i32, -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32,
            -58897971
        );
        assert_eq!(murmur2(b"abc") as i32, 479470107);
    }

    #[test]
    fn key_field_may_be_nested() {
        assert_eq!(key_of(br#"{"u":{"id":"x"}}"#, "u.id"), Some(b"x".to_vec()));
        assert_eq!(key_of(br#"{"n":5}"#, "n"), Some(b"5".to_vec()));
        assert_eq!(key_of(br#"{"n":null}"#, "n"), None);
    }

    #[test]
    fn keyed_events_split_by_hash_in_partition_order_and_unkeyed_go_whole() {
        let body = Bytes::from_static(b"{\"k\":\"a\"}\n{\"k\":\"b\"}\n{\"k\":\"a\"}\n{}");
        let events: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        let shares = split(&body, &events, 8, Some("k"), || unreachable!());
        let (pa, pb) = (partition_for_key(b"a", 8), partition_for_key(b"b", 8));
        let empty = partition_for_key(b"", 8);
        let mut expected = vec![pa, pb, empty];
        expected.sort();
        expected.dedup();
        let got: Vec<u32> = shares.iter().map(|s| s.partition).collect();
        assert_eq!(got, expected, "one share per partition, in partition order");
        let share_a = shares.iter().find(|s| s.partition == pa).unwrap();
        let keys_a = share_a
            .keys
            .iter()
            .filter(|k| k.as_deref() == Some(&b"a"[..]));
        assert_eq!(keys_a.count(), 2);
        for s in &shares {
            for (r, k) in s.events.iter().zip(&s.keys) {
                let k = k.as_deref().unwrap_or(b"");
                assert_eq!(partition_for_key(k, 8), s.partition);
                assert!(events.contains(&&body[r.clone()]));
            }
        }
        let whole = split(&body, &events, 8, None, || 5);
        assert_eq!(whole.len(), 1);
        assert_eq!((whole[0].partition, whole[0].events.len()), (5, 4));
        assert!(whole[0].keys.iter().all(Option::is_none));
    }
}
