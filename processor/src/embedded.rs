//! Running processors inside a user's own program, against a data dir, with no server (like
//! Kafka Streams). `Embedded` opens the log store (or runs on any `Log`); `run_until_caught_up` processes everything
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
use crate::io::Log;
use crate::limits::IDLE_WAIT_MS;
use crate::task::{Task, TaskSpec, TaskStatus};

pub struct Embedded {
    /// The log tasks run on; `store` is kappa's log behind it when opened on a data dir.
    log: Arc<dyn Log>,
    store: Option<Arc<LogStore>>,
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
        let mut e = Embedded::on_log(Arc::new(StoreLog(Arc::clone(&store))), &dir)?;
        e.store = Some(store);
        Ok(e)
    }

    /// Runs on any `Log` (the in-memory one in tests), with checkpoints under `checkpoints`.
    pub fn on_log(log: Arc<dyn Log>, checkpoints: &Path) -> Result<Embedded> {
        std::fs::create_dir_all(checkpoints)
            .map_err(|e| Error::io("create dir", checkpoints, e))?;
        Ok(Embedded {
            log,
            store: None,
            dir: checkpoints.to_path_buf(),
        })
    }

    /// kappa's log store, when opened on a data dir (to produce into it, read results).
    pub fn store(&self) -> Option<&Arc<LogStore>> {
        self.store.as_ref()
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
            &*self.log,
            &[topology.input.as_str()],
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
