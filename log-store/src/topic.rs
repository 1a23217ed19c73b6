//! A topic: its config (`topic.json`) and its partitions.
//!
//! Invariant: `topic.json` is written once, atomically (temporary file, fsync, rename), before
//! any partition directory exists, so a topic directory without a readable config is never a
//! topic we created.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::fault::FaultInjector;
use crate::files::{io_err, sync_dir};
use crate::partition::{Partition, PartitionContext};
use crate::report::RecoveryReport;
use crate::types::PartitionId;

#[derive(Debug)]
pub struct Topic {
    name: String,
    dir: PathBuf,
    config: TopicConfig,
    partitions: Vec<Arc<Partition>>,
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join("topic.json")
}

impl Topic {
    /// Creates the topic directory and its config, then opens the (empty) partitions.
    ///
    /// A failure part-way (a full disk writing the config) removes what was made, and a
    /// directory left without its `topic.json` by a crash mid-create is replaced: either used
    /// to leave a name that could never be created again (issue 10).
    pub(crate) fn create(
        dir: &Path,
        name: &str,
        config: TopicConfig,
        ctx: &PartitionContext,
    ) -> Result<Topic> {
        config.validate()?;
        if dir.is_dir() && !config_path(dir).exists() {
            tracing::warn!(topic = name, path = %dir.display(), "removing the leftover of an unfinished topic create");
            fs::remove_dir_all(dir).map_err(io_err("remove unfinished topic directory", dir))?;
        }
        fs::create_dir(dir).map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::TopicExists {
                topic: name.to_string(),
            },
            _ => Error::Io {
                op: "create topic directory",
                path: dir.to_path_buf(),
                source,
            },
        })?;
        let made = Topic::write_config(dir, &config, ctx.faults.as_ref())
            .and_then(|()| Topic::open(dir, name, ctx, &mut RecoveryReport::default()));
        if made.is_err() {
            // Best effort: what is left (no topic.json) is replaced by the next create anyway.
            let _ = fs::remove_dir_all(dir);
        }
        made
    }

    fn write_config(dir: &Path, config: &TopicConfig, faults: &dyn FaultInjector) -> Result<()> {
        let path = config_path(dir);
        let json = serde_json::to_vec_pretty(config).expect("a TopicConfig always serializes");
        let tmp = path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            faults.before_write_config(&path)?;
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(io_err("write topic config", &path))?;
        sync_dir(dir)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    /// Opens an existing topic: reads its config and recovers each partition.
    pub(crate) fn open(
        dir: &Path,
        name: &str,
        ctx: &PartitionContext,
        report: &mut RecoveryReport,
    ) -> Result<Topic> {
        let path = config_path(dir);
        let bytes = fs::read(&path).map_err(io_err("read topic config", &path))?;
        let config: TopicConfig =
            serde_json::from_slice(&bytes).map_err(|e| Error::InvalidConfig {
                reason: format!("{}: {e}", path.display()),
            })?;
        config.validate()?;
        let ctx = PartitionContext {
            segment_bytes: config.segment_bytes,
            ..ctx.clone()
        };
        let partitions = (0..config.partitions)
            .map(|p| {
                Partition::open(
                    &dir.join(p.to_string()),
                    name,
                    PartitionId(p),
                    ctx.clone(),
                    report,
                )
                .map(Arc::new)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Topic {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            config,
            partitions,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn config(&self) -> &TopicConfig {
        &self.config
    }
    pub fn partitions(&self) -> &[Arc<Partition>] {
        &self.partitions
    }
    pub fn partition(&self, id: PartitionId) -> Result<&Arc<Partition>> {
        self.partitions
            .get(id.0 as usize)
            .ok_or_else(|| Error::UnknownPartition {
                topic: self.name.clone(),
                partition: id.0,
                partitions: self.config.partitions,
            })
    }
    /// Flushes every partition's written bytes.
    pub fn flush(&self) -> Result<()> {
        self.partitions.iter().try_for_each(|p| p.flush())
    }
    /// Applies this topic's retention to every partition; returns the segments deleted.
    pub fn apply_retention(&self, now_ms: u64) -> Result<usize> {
        let mut deleted = 0;
        for p in &self.partitions {
            deleted += p.apply_retention(
                self.config.retention_ms,
                self.config.retention_bytes,
                now_ms,
            )?;
        }
        Ok(deleted)
    }
}
