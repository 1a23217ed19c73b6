//! Running processors inside a user's own program, against a data dir, with no server (like
//! Kafka Streams). `Embedded` opens the log store; `run_until_caught_up` processes everything
//! published and returns; `run` keeps going until asked to stop. Checkpoints live under
//! `<data>/embedded/<name>.checkpoint`, so a restarted program resumes exactly once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use log_store::{LogStore, StoreConfig};

use crate::builder::Topology;
use crate::error::{Error, Result};
use crate::io::log_store::StoreLog;
use crate::limits::IDLE_WAIT_MS;
use crate::task::{Task, TaskSpec, TaskStatus};

pub struct Embedded {
    store: Arc<LogStore>,
    dir: PathBuf,
}

impl Embedded {
    /// Opens (and locks) the data dir.
    pub fn open(data_dir: &Path) -> Result<Embedded> {
        let store = Arc::new(LogStore::open(data_dir, StoreConfig::default())?);
        Embedded::with_store(store)
    }

    /// Uses an already open store.
    pub fn with_store(store: Arc<LogStore>) -> Result<Embedded> {
        let dir = store.dir().join("embedded");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create dir", &dir, e))?;
        Ok(Embedded { store, dir })
    }

    pub fn store(&self) -> &Arc<LogStore> {
        &self.store
    }

    fn task(&self, name: &str, topology: &Topology) -> Result<Task> {
        log_store::validate_name(name)?;
        let output = if topology.output.is_empty() {
            name
        } else {
            topology.output.as_str()
        };
        let spec = TaskSpec {
            watermark_delay_ms: topology.watermark_delay_ms,
            checkpoint_path: Some(self.dir.join(format!("{name}.checkpoint"))),
            ..TaskSpec::default()
        };
        Task::open_on(
            &StoreLog(Arc::clone(&self.store)),
            &topology.input,
            output,
            &format!("{name}.late"),
            topology.operator(),
            spec,
        )
    }

    /// Processes everything published so far, checkpoints, and returns the status.
    pub fn run_until_caught_up(&self, name: &str, topology: &Topology) -> Result<TaskStatus> {
        let mut task = self.task(name, topology)?;
        loop {
            let step = task.step()?;
            if step.processed == 0 {
                if task.status().lag == 0 && !step.waiting_for_safe_time {
                    break;
                }
                // Records not yet below the safe time: it moves with the clock within a ms.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        task.checkpoint()?;
        Ok(task.status())
    }

    /// Runs until `stop` is set, then checkpoints.
    pub fn run(&self, name: &str, topology: &Topology, stop: &AtomicBool) -> Result<TaskStatus> {
        let mut task = self.task(name, topology)?;
        while !stop.load(Ordering::SeqCst) {
            let step = task.step()?;
            if step.processed == 0 {
                task.wait(Duration::from_millis(if step.waiting_for_safe_time {
                    1
                } else {
                    IDLE_WAIT_MS
                }));
            }
        }
        task.checkpoint()?;
        Ok(task.status())
    }
}
