//! The Kappa move on a `Manager`: replay a processor as version N+1 (same or new SQL, from a
//! chosen start, optionally bounded), promote a caught-up version, delete an old one, and diff
//! two versions' outputs.
//!
//! Promotion switches the name, the results and the output alias with no gap and no duplicate:
//! both versions are paused at one safe time S (each processes exactly the records stamped at or
//! below S), the old version stops there, and from then on the new version's output beyond its
//! end at S is copied into the alias topic (the first version's output). Records up to S were
//! answered by the old version, records after S by the new one.

use std::sync::Arc;

use super::{lock, status_of, stop_run, version_status, Manager, Run, Shared};
use crate::definition::{topics_of, Alias, LateAlias, VersionDef};
use crate::error::{Error, Result};
use crate::io::{Log, Sink};
use crate::limits::{DIFF_RECORDS_MAX, FORWARD_BATCH_RECORDS_MAX, VERSIONS_MAX};
use crate::status::{RunStatus, Status, VersionStatus};
use crate::task::Start;

/// What `replay` starts.
#[derive(Debug, Clone, Default)]
pub struct ReplayRequest {
    /// New SQL; default the current version's.
    pub sql: Option<String>,
    pub start: Start,
    /// Skip events before this event time (ms).
    pub from_ms: Option<i64>,
    /// A bounded backfill: keep events before this event time (ms), read the log up to its
    /// end when the backfill started, write the final rows and finish.
    pub end_ms: Option<i64>,
}

/// Copies the promoted version's new output into the alias topic, and its late records into
/// the processor's late topic.
pub struct Forwarder {
    copies: Vec<Copy>,
}

/// One topic copied into its alias: `from`'s records from `from_offsets` on go to `to`, whose
/// end was `alias_base` at the switch.
struct Copy {
    from: Box<dyn Sink>,
    to: Box<dyn Sink>,
    from_offsets: Vec<u64>,
    alias_base: Vec<u64>,
}

impl Forwarder {
    fn open(log: &dyn Log, output: &str, late: &str, alias: &Alias) -> Result<Forwarder> {
        let mut copies = vec![Copy {
            from: log.sink(output)?,
            to: log.sink(&alias.topic)?,
            from_offsets: alias.from_offsets.clone(),
            alias_base: alias.alias_base.clone(),
        }];
        if let Some(l) = &alias.late {
            copies.push(Copy {
                from: log.sink(late)?,
                to: log.sink(&l.topic)?,
                from_offsets: l.from_offsets.clone(),
                alias_base: l.alias_base.clone(),
            });
        }
        Ok(Forwarder { copies })
    }

    /// Copies what is new; returns the number of records copied.
    fn pump(&mut self) -> Result<usize> {
        let mut copied = 0;
        for c in &mut self.copies {
            copied += c.pump()?;
        }
        Ok(copied)
    }
}

impl Copy {
    fn pump(&mut self) -> Result<usize> {
        let mut copied = 0;
        for (p, (from, base)) in self.from_offsets.iter().zip(&self.alias_base).enumerate() {
            let p = p as u32;
            let done = self.to.end_offset(p)?.saturating_sub(*base);
            let records = self.from.read(p, from + done, FORWARD_BATCH_RECORDS_MAX)?;
            if records.is_empty() {
                continue;
            }
            let out: Vec<crate::operator::OutRecord> = records
                .into_iter()
                .map(|r| crate::operator::OutRecord {
                    key: r.key.map(|k| k.to_vec()),
                    value: r.value.to_vec(),
                })
                .collect();
            copied += out.len();
            self.to.append(p, &out)?;
        }
        Ok(copied)
    }
}

/// Runs a version's forwarder, if it has one, until it has copied everything there is.
pub(super) fn pump(shared: &Shared) -> Result<()> {
    if let Some(f) = lock(&shared.forward).as_mut() {
        while f.pump()? > 0 {}
    }
    Ok(())
}

pub(super) fn attach(log: &dyn Log, run: &Run, alias: &Alias) -> Result<()> {
    let topics = lock(&run.shared.task)
        .as_ref()
        .map(|t| (t.output_topic().to_string(), t.late_topic().to_string()));
    let Some((output, late)) = topics else {
        return Ok(());
    };
    *lock(&run.shared.forward) = Some(Forwarder::open(log, &output, &late, alias)?);
    Ok(())
}

fn end_offsets(sink: &dyn Sink) -> Result<Vec<u64>> {
    (0..sink.partitions()).map(|p| sink.end_offset(p)).collect()
}

/// Processes everything stamped at or below `barrier_ms` and nothing after it.
fn pause_at(shared: &Arc<Shared>, barrier_ms: u64) -> Result<()> {
    let mut task = lock(&shared.task);
    if let Some(t) = task.as_mut() {
        t.set_barrier(Some(barrier_ms));
        t.run_until_idle()?;
        *lock(&shared.last) = Some(t.status());
    }
    Ok(())
}

impl Manager {
    /// Starts version N+1 of `name` beside the live one, writing to `<name>.v<N+1>`.
    pub fn replay(&self, name: &str, req: ReplayRequest) -> Result<VersionStatus> {
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(name).ok_or_else(|| Error::NotFound {
            name: name.to_string(),
        })?;
        if entry.def.versions.len() >= VERSIONS_MAX {
            return Err(Error::Limit {
                limit: "VERSIONS_MAX",
                max: VERSIONS_MAX as u64,
                what: format!("versions of {name}; delete old ones"),
            });
        }
        let mut version = entry
            .def
            .versions
            .iter()
            .map(|v| v.version)
            .max()
            .unwrap_or(0)
            + 1;
        // A deleted version's topics stay (they are the user's data): never write into them.
        while [
            format!("{name}.v{version}"),
            format!("{name}.v{version}.late"),
        ]
        .iter()
        .any(|t| self.log.has_topic(t).unwrap_or(true))
        {
            version += 1;
        }
        let current = entry
            .def
            .versions
            .iter()
            .find(|v| v.version == entry.def.current)
            .expect("the current version exists");
        let sql = req.sql.unwrap_or_else(|| current.sql.clone());
        let (plan, inferred) = self.plan(&sql, req.end_ms.is_some())?;
        let (output, late_topic) = topics_of(name, version, &plan);
        let v = VersionDef {
            version,
            sql,
            output,
            late_topic,
            start: req.start,
            end_ms: req.end_ms,
            from_ms: req.from_ms,
            inferred,
            stopped: false,
        };
        self.open_task(name, &v)?;
        entry.def.versions.push(v.clone());
        self.save_definition(&entry.def)?;
        let run = self.start_run(name, &v);
        entry.runs.insert(version, run);
        tracing::info!(pipeline = %name, version, "replay started");
        let run = entry.runs.get(&version).expect("inserted");
        Ok(version_status(&entry.def, &v, run).0)
    }

    /// Makes `version` the live one: name, results and output alias switch to it; the old live
    /// version stops. Refused (Conflict) unless the version has caught up.
    pub fn promote(&self, name: &str, version: u32) -> Result<Status> {
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(name).ok_or_else(|| Error::NotFound {
            name: name.to_string(),
        })?;
        let current = entry.def.current;
        if version == current {
            return Err(Error::Conflict {
                message: format!("version {version} of {name} is already live"),
            });
        }
        if entry.def.versions.iter().any(|v| {
            v.compile()
                .is_ok_and(|(plan, _)| plan.connector != crate::plan::Connector::Kappa)
        }) {
            return Err(Error::Conflict {
                message: format!(
                    "{name} runs on a Kafka cluster, where promote (an alias fed from the new \
                     version's topic) is not supported: point consumers at {name}.v{version}, or \
                     create the processor again with the new SQL"
                ),
            });
        }
        let v = entry
            .def
            .versions
            .iter()
            .find(|v| v.version == version)
            .cloned()
            .ok_or_else(|| Error::Conflict {
                message: format!("{name} has no version {version}"),
            })?;
        if v.end_ms.is_some() {
            return Err(Error::Conflict {
                message: format!(
                    "version {version} of {name} is a bounded backfill; it cannot be promoted"
                ),
            });
        }
        let run = entry.runs.get(&version).expect("every version has a run");
        let vs = version_status(&entry.def, &v, run).0;
        if vs.status != RunStatus::CaughtUp {
            return Err(Error::Conflict {
                message: format!(
                    "version {version} of {name} has not caught up (status {:?}, lag {} records); promote it once it has",
                    vs.status, vs.lag
                ),
            });
        }
        let (old, new) = (entry.runs[&current].shared.clone(), run.shared.clone());
        let barrier = self.log.safe_time_ms();
        pause_at(&old, barrier)?;
        pause_at(&new, barrier)?;
        stop_run(
            entry
                .runs
                .get_mut(&current)
                .expect("the live version has a run"),
        );
        pump(&old)?;
        *lock(&old.forward) = None;
        let live = entry
            .def
            .versions
            .iter()
            .find(|x| x.version == current)
            .expect("current exists");
        let (alias_topic, late_topic) = match &entry.def.alias {
            Some(a) => (
                a.topic.clone(),
                a.late
                    .as_ref()
                    .map_or(live.late_topic.clone(), |l| l.topic.clone()),
            ),
            None => (live.output.clone(), live.late_topic.clone()),
        };
        let ends = |topic: &str| self.log.sink(topic).and_then(|s| end_offsets(&*s));
        let alias = Alias {
            from_offsets: ends(&v.output)?,
            alias_base: ends(&alias_topic)?,
            topic: alias_topic,
            version,
            late: Some(LateAlias {
                from_offsets: ends(&v.late_topic)?,
                alias_base: ends(&late_topic)?,
                topic: late_topic,
            }),
        };
        for x in entry
            .def
            .versions
            .iter_mut()
            .filter(|x| x.version == current)
        {
            x.stopped = true;
        }
        entry.def.current = version;
        entry.def.alias = Some(alias.clone());
        self.save_definition(&entry.def)?;
        *lock(&new.forward) = Some(Forwarder::open(
            &*self.log,
            &v.output,
            &v.late_topic,
            &alias,
        )?);
        if let Some(t) = lock(&new.task).as_mut() {
            t.set_barrier(None);
        }
        tracing::info!(pipeline = %name, version, previous = current, barrier_ms = barrier, "promoted");
        Ok(status_of(entry))
    }

    /// Deletes an old version (not the live one): stops it and removes its checkpoint. Its
    /// output topic stays.
    pub fn delete_version(&self, name: &str, version: u32) -> Result<Status> {
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(name).ok_or_else(|| Error::NotFound {
            name: name.to_string(),
        })?;
        if version == entry.def.current {
            return Err(Error::Conflict {
                message: format!(
                    "version {version} of {name} is live; delete the processor instead"
                ),
            });
        }
        let mut run = entry.runs.remove(&version).ok_or_else(|| Error::Conflict {
            message: format!("{name} has no version {version}"),
        })?;
        stop_run(&mut run);
        let v = entry
            .def
            .versions
            .iter()
            .position(|x| x.version == version)
            .expect("a run has a definition");
        let v = entry.def.versions.remove(v);
        self.save_definition(&entry.def)?;
        let cp = self.dir.join(name).join(v.checkpoint_file());
        if let Err(e) = std::fs::remove_file(&cp) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(Error::io("remove", &cp, e));
            }
        }
        tracing::info!(pipeline = %name, version, "version deleted");
        Ok(status_of(entry))
    }

    /// How `version`'s output differs from the live version's (see `crate::diff`).
    pub fn diff(&self, name: &str, version: u32) -> Result<serde_json::Value> {
        let (live, other, log) = {
            let entries = lock(&self.entries);
            let entry = entries.get(name).ok_or_else(|| Error::NotFound {
                name: name.to_string(),
            })?;
            let live = entry
                .def
                .versions
                .iter()
                .find(|v| v.version == entry.def.current)
                .expect("the current version exists");
            let log = crate::io::log_for(&self.log, &live.compile()?.0.connector)?;
            let output = |n: u32| {
                entry
                    .def
                    .versions
                    .iter()
                    .find(|v| v.version == n)
                    .map(|v| v.output.clone())
                    .ok_or_else(|| Error::Conflict {
                        message: format!("{name} has no version {n}"),
                    })
            };
            (
                (entry.def.current, output(entry.def.current)?),
                (version, output(version)?),
                log,
            )
        };
        let read = |topic: &str| -> Result<(Vec<crate::diff::Row>, bool)> {
            let sink = log.sink(topic)?;
            let mut rows = Vec::new();
            for p in 0..sink.partitions() {
                let mut next = 0;
                while rows.len() < DIFF_RECORDS_MAX {
                    let batch = sink.read(
                        p,
                        next,
                        FORWARD_BATCH_RECORDS_MAX.min(DIFF_RECORDS_MAX - rows.len()),
                    )?;
                    if batch.is_empty() {
                        break;
                    }
                    next += batch.len() as u64;
                    rows.extend(batch.into_iter().map(|r| crate::diff::Row {
                        key: r.key.map(|k| k.to_vec()),
                        value: r.value.to_vec(),
                    }));
                }
            }
            let truncated = rows.len() >= DIFF_RECORDS_MAX;
            Ok((rows, truncated))
        };
        let ((a, ta), (b, tb)) = (read(&live.1)?, read(&other.1)?);
        let mut d = crate::diff::diff(&a, &b);
        d["live_version"] = live.0.into();
        d["version"] = other.0.into();
        // Truncated when an output had more records than were read, or a list is cut short.
        let listed_all = d["truncated"] == false;
        d["truncated"] = (ta || tb || !listed_all).into();
        Ok(d)
    }
}
