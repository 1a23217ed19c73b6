//! `Source` over partitions of an Apache Kafka cluster, assigned (not group-managed, as
//! Flink's KafkaSource does): positions live in the processor's checkpoint.
//!
//! The safe time. kappa's own log knows which timestamps are still in flight; a Kafka cluster
//! does not say, so it is derived per partition from what the broker reports:
//! - the newest readable record's append time T (`ListOffsets` by maximum timestamp, checked
//!   against the high watermark): with `LogAppendTime`, timestamps never decrease within a
//!   partition, so every record stamped before T is readable — the bound is T − 1;
//! - and, so a quiet partition does not hold the others back, the wall clock minus
//!   `KAFKA_SAFE_TIME_DELAY_MS`: a record stamped that long ago is assumed readable (the
//!   broker's clock and this machine's agree to within that, and replication to the high
//!   watermark takes less).
//!
//! The processor's safe time is the minimum over its partitions, never going back. With
//! `CreateTime` records the first rule does not hold: timestamps are then raised to keep each
//! partition's order and the safe time's promise, the run is not reproducible, and the
//! status says so (`log.deterministic: false`).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::Result;
use crate::io::kafka::client::{Client, EARLIEST, LATEST, MAX_TIMESTAMP};
use crate::io::{InputPartition, LogInfo, Source, SourceRecord, Timestamps};
use crate::limits::{
    FETCH_BYTES_MAX, INPUT_PARTITIONS_MAX, KAFKA_SAFE_TIME_DELAY_MS, KAFKA_SAFE_TIME_REFRESH_MS,
};

pub struct KafkaSource {
    client: Mutex<Client>,
    inputs: Vec<InputPartition>,
    state: Mutex<SourceState>,
}

/// What the source tracks between calls: the safe time, the timestamps handed out, the ends.
#[derive(Default)]
struct SourceState {
    /// The last safe time computed, and when.
    value: u64,
    at: Option<Instant>,
    /// Per input: the last timestamp handed out (CreateTime records are raised to it).
    last_ts: Vec<u64>,
    timestamps: Timestamps,
    /// Per input: the high watermark last reported (by a fetch or a ListOffsets), and when: the
    /// status asks for end offsets after every step, and a fresh one is not worth a request.
    ends: Vec<Option<(u64, Instant)>>,
}

impl SourceState {
    fn fresh_end(&self, input: usize) -> Option<u64> {
        self.ends[input]
            .filter(|(_, at)| at.elapsed() < Duration::from_millis(KAFKA_SAFE_TIME_REFRESH_MS))
            .map(|(end, _)| end)
    }
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl KafkaSource {
    pub fn open(bootstrap: &str, topics: &[&str]) -> Result<KafkaSource> {
        let mut client = Client::connect(bootstrap)?;
        let mut inputs = Vec::new();
        for t in topics {
            let n = client
                .partitions(t)?
                .ok_or_else(|| crate::Error::InvalidDefinition {
                    message: format!(
                        "input topic {t:?} does not exist on the Kafka cluster at {bootstrap}"
                    ),
                })?;
            inputs.extend((0..n).map(|partition| InputPartition {
                topic: t.to_string(),
                partition,
            }));
        }
        inputs.sort();
        if inputs.len() > INPUT_PARTITIONS_MAX {
            return Err(crate::Error::Limit {
                limit: "INPUT_PARTITIONS_MAX",
                max: INPUT_PARTITIONS_MAX as u64,
                what: "input partitions of one processor".into(),
            });
        }
        let state = SourceState {
            last_ts: vec![0; inputs.len()],
            ends: vec![None; inputs.len()],
            ..SourceState::default()
        };
        Ok(KafkaSource {
            client: Mutex::new(client),
            inputs,
            state: Mutex::new(state),
        })
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().expect("kafka client lock poisoned")
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SourceState> {
        self.state.lock().expect("kafka source state lock poisoned")
    }

    /// The bound of one partition: every record stamped at or below it is readable.
    fn partition_bound(
        &self,
        client: &mut Client,
        state: &mut SourceState,
        input: usize,
        wall_bound: u64,
    ) -> Result<u64> {
        let InputPartition { topic, partition } = &self.inputs[input];
        let (newest_offset, newest_ts) = client.list_offset(topic, *partition, MAX_TIMESTAMP)?;
        if newest_offset < 0 {
            return Ok(wall_bound);
        }
        let (high_watermark, _) = client.list_offset(topic, *partition, LATEST)?;
        state.ends[input] = Some((high_watermark.max(0) as u64, Instant::now()));
        if newest_offset >= high_watermark {
            // Not readable yet (not replicated to the high watermark).
            return Ok(wall_bound);
        }
        Ok(wall_bound.max((newest_ts.max(1) - 1) as u64))
    }
}

impl Source for KafkaSource {
    fn inputs(&self) -> &[InputPartition] {
        &self.inputs
    }

    fn safe_time_ms(&self) -> u64 {
        let mut state = self.state();
        if state
            .at
            .is_some_and(|at| at.elapsed() < Duration::from_millis(KAFKA_SAFE_TIME_REFRESH_MS))
        {
            return state.value;
        }
        let wall_bound = wall_ms().saturating_sub(KAFKA_SAFE_TIME_DELAY_MS);
        let mut client = self.client();
        let mut safe = u64::MAX;
        for i in 0..self.inputs.len() {
            match self.partition_bound(&mut client, &mut state, i, wall_bound) {
                Ok(b) => safe = safe.min(b),
                Err(e) => {
                    // Unreachable cluster: hold the safe time where it is (the run only waits).
                    tracing::warn!(error = %e, "kafka safe time");
                    return state.value;
                }
            }
        }
        if safe == u64::MAX {
            safe = wall_bound;
        }
        state.value = state.value.max(safe);
        state.at = Some(Instant::now());
        state.value
    }

    fn fetch(&mut self, input: usize, from: u64, max_records: usize) -> Result<Vec<SourceRecord>> {
        let InputPartition { topic, partition } = self.inputs[input].clone();
        let fetched = self
            .client()
            .fetch(&topic, partition, from, FETCH_BYTES_MAX)?;
        let mut state = self.state();
        let floor = state.value + 1;
        let mut out = Vec::with_capacity(fetched.records.len().min(max_records));
        for r in fetched.records.into_iter().take(max_records) {
            state.timestamps = state.timestamps.and(if r.log_append_time {
                Timestamps::LogAppendTime
            } else {
                Timestamps::CreateTime
            });
            let mut ts = r.timestamp_ms.max(0) as u64;
            if !r.log_append_time {
                // Keep the merge's order promise for records the broker did not stamp.
                ts = ts.max(state.last_ts[input]).max(floor);
            }
            state.last_ts[input] = ts;
            out.push(SourceRecord {
                offset: r.offset,
                timestamp_ms: ts,
                key: r.key,
                value: r.value.unwrap_or_default(),
            });
        }
        Ok(out)
    }

    fn start_offset(&self, input: usize) -> Result<u64> {
        let InputPartition { topic, partition } = &self.inputs[input];
        Ok(self
            .client()
            .list_offset(topic, *partition, EARLIEST)?
            .0
            .max(0) as u64)
    }

    fn end_offset(&self, input: usize) -> Result<u64> {
        if let Some(end) = self.state().fresh_end(input) {
            return Ok(end);
        }
        let InputPartition { topic, partition } = &self.inputs[input];
        let end = self
            .client()
            .list_offset(topic, *partition, LATEST)?
            .0
            .max(0) as u64;
        self.state().ends[input] = Some((end, Instant::now()));
        Ok(end)
    }

    fn offset_for_timestamp(&self, input: usize, timestamp_ms: u64) -> Result<u64> {
        let InputPartition { topic, partition } = &self.inputs[input];
        let (offset, _) = self
            .client()
            .list_offset(topic, *partition, timestamp_ms as i64)?;
        if offset < 0 {
            return self.end_offset(input);
        }
        Ok(offset as u64)
    }

    fn wait(&self, timeout: Duration) {
        std::thread::sleep(timeout);
    }

    fn log(&self) -> LogInfo {
        LogInfo::new(
            "kafka",
            Some(self.client().bootstrap().to_string()),
            self.state().timestamps,
        )
    }
}
