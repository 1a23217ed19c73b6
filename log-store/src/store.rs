//! The store: the locked data directory, its topics and the shared clock.
//!
//! Invariant: one `LogStore` per data directory, across processes: the exclusive lock on
//! `<data>/LOCK` is taken before anything is read or mapped and held until the store drops, so
//! no other kappa process can change a file this one has mapped.

use std::collections::BTreeMap;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::clock::{Clock, Stamp};
use crate::config::{StoreConfig, TopicConfig};
use crate::error::{Error, Result};
use crate::fault::{FaultInjector, NoFaults};
use crate::files::{io_err, sync_dir};
use crate::limits::{SEALED_SEGMENTS_MAPPED_MAX, TOPICS_MAX};
use crate::map_cache::MapCache;
use crate::names::validate_name;
use crate::partition::PartitionContext;
use crate::report::{RecoveryReport, VerifyReport};
use crate::stats::{FlushSnapshot, FlushStats};
use crate::storage::Storage;
use crate::topic::Topic;

#[derive(Debug)]
pub struct LogStore {
    dir: PathBuf,
    config: StoreConfig,
    /// Holds the exclusive lock on `<dir>/LOCK` for the store's lifetime.
    _lock: File,
    clock: Arc<Clock>,
    faults: Arc<dyn FaultInjector>,
    flush_stats: Arc<FlushStats>,
    storage: Storage,
    /// Which sealed segments stay mapped (store-wide ceiling).
    pub(crate) maps: Arc<MapCache>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    report: RecoveryReport,
}

impl LogStore {
    /// Locks `dir` (exclusive; `Error::Locked` if another process holds it), creates it if
    /// missing, and opens and recovers every topic under `dir/topics`.
    pub fn open(dir: &Path, config: StoreConfig) -> Result<LogStore> {
        LogStore::open_with_faults(dir, config, Arc::new(NoFaults))
    }

    /// [`open`](Self::open) with a fault injector (tests: a full disk, a failing flush).
    pub fn open_with_faults(
        dir: &Path,
        config: StoreConfig,
        faults: Arc<dyn FaultInjector>,
    ) -> Result<LogStore> {
        LogStore::open_inner(dir, config, faults, SEALED_SEGMENTS_MAPPED_MAX, Storage::Os)
    }

    /// [`open_with_faults`](Self::open_with_faults) with a lower ceiling of mapped sealed
    /// segments (tests of the map cache).
    pub(crate) fn open_inner(
        dir: &Path,
        config: StoreConfig,
        faults: Arc<dyn FaultInjector>,
        sealed_mapped_max: usize,
        storage: Storage,
    ) -> Result<LogStore> {
        match crate::mmap::raise_open_files_limit() {
            Ok((old, new)) if new > old => {
                tracing::info!(
                    old,
                    new,
                    "raised the soft limit of open files to the hard limit"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot raise the limit of open files"),
        }
        fs::create_dir_all(dir.join("topics")).map_err(io_err("create data directory", dir))?;
        let lock_path = dir.join("LOCK");
        let lock = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_err("open lock file", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: dir.to_path_buf(),
                })
            }
            Err(TryLockError::Error(source)) => {
                return Err(Error::Io {
                    op: "lock data directory",
                    path: lock_path,
                    source,
                })
            }
        }
        let clock = Arc::new(Clock::default());
        let flush_stats = Arc::new(FlushStats::default());
        let maps = Arc::new(MapCache::new(sealed_mapped_max));
        let ctx = PartitionContext {
            segment_bytes: 0,
            policy: config.fsync,
            clock: clock.clone(),
            faults: faults.clone(),
            flush_stats: flush_stats.clone(),
            maps: maps.clone(),
            storage: storage.clone(),
        };
        let mut report = RecoveryReport::default();
        let mut topics = BTreeMap::new();
        let topics_dir = dir.join("topics");
        for entry in fs::read_dir(&topics_dir).map_err(io_err("list topics", &topics_dir))? {
            let path = entry.map_err(io_err("list topics", &topics_dir))?.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            if validate_name(&name).is_err() || !path.join("topic.json").exists() {
                tracing::warn!(path = %path.display(), "ignoring a directory that is not a topic");
                continue;
            }
            topics.insert(
                name.clone(),
                Arc::new(Topic::open(&path, &name, &ctx, &mut report)?),
            );
        }
        tracing::info!(dir = %dir.display(), topics = topics.len(), truncated = report.truncated.len(), indexes_rebuilt = report.indexes_rebuilt.len(), "opened log store");
        Ok(LogStore {
            dir: dir.to_path_buf(),
            config,
            _lock: lock,
            clock,
            faults,
            flush_stats,
            storage,
            maps,
            topics: RwLock::new(topics),
            report,
        })
    }

    /// Opens `dir` and checks every CRC of every partition (`kappa verify`).
    pub fn verify_dir(dir: &Path) -> Result<VerifyReport> {
        LogStore::open(dir, StoreConfig::default())?.verify()
    }

    /// Checks every CRC of every partition.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        for topic in self.topics() {
            for p in topic.partitions() {
                match p.verify() {
                    Ok(n) => report.ok.push((topic.name().to_string(), p.id().0, n)),
                    Err(e @ Error::Corrupt { .. }) => report.corrupt.push(e),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(report)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// How long flushes (msync of appended bytes) have taken, over every partition.
    pub fn flush_stats(&self) -> FlushSnapshot {
        self.flush_stats.snapshot()
    }

    fn ctx(&self) -> PartitionContext {
        PartitionContext {
            segment_bytes: 0,
            policy: self.config.fsync,
            clock: self.clock.clone(),
            faults: self.faults.clone(),
            flush_stats: self.flush_stats.clone(),
            maps: self.maps.clone(),
            storage: self.storage.clone(),
        }
    }

    fn read_topics(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<Arc<Topic>> {
        validate_name(name)?;
        config.validate()?;
        let mut topics = self.topics.write().unwrap_or_else(|p| p.into_inner());
        if topics.contains_key(name) {
            return Err(Error::TopicExists {
                topic: name.to_string(),
            });
        }
        if topics.len() >= TOPICS_MAX {
            return Err(Error::TooManyTopics { max: TOPICS_MAX });
        }
        let topic = Arc::new(Topic::create(
            &self.dir.join("topics").join(name),
            name,
            config,
            &self.ctx(),
        )?);
        topics.insert(name.to_string(), topic.clone());
        tracing::info!(
            topic = name,
            partitions = topic.config().partitions,
            "created topic"
        );
        Ok(topic)
    }
    pub fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.read_topics()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownTopic {
                topic: name.to_string(),
            })
    }
    /// All topics, sorted by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.read_topics().values().cloned().collect()
    }
    /// Removes the topic and its directory. Holders of its partitions keep reading what they
    /// have mapped; appends to them fail with `UnknownTopic` from here on, so none is
    /// acknowledged into the deleted files (a topic re-created under the name is a new one).
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        let topic = self
            .topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .ok_or_else(|| Error::UnknownTopic {
                topic: name.to_string(),
            })?;
        for p in topic.partitions() {
            p.mark_deleted();
        }
        fs::remove_dir_all(topic.dir()).map_err(io_err("delete topic", topic.dir()))?;
        sync_dir(&self.dir.join("topics"))?;
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
    /// One append time for one produce request, whatever partitions it lands in (see
    /// [`Clock::stamp`]); its shares go through [`Partition::append_stamped`].
    pub fn stamp(&self) -> Stamp {
        self.clock.stamp()
    }
    /// Every record with a timestamp at or below this is published, in every partition.
    pub fn safe_time_ms(&self) -> u64 {
        self.clock().safe_time_ms()
    }
    /// Flushes every partition's written bytes (used by `interval` and at shutdown).
    pub fn flush_all(&self) -> Result<()> {
        self.topics().iter().try_for_each(|t| t.flush())
    }
    /// Applies retention to every topic; returns the number of segments deleted.
    pub fn apply_retention(&self) -> Result<usize> {
        let now = self.clock.now_ms();
        let mut deleted = 0;
        for t in self.topics() {
            deleted += t.apply_retention(now)?;
        }
        Ok(deleted)
    }
}
