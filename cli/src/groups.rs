//! Consumer groups: committed offsets (the next offset to read, as in Kafka), kept durably in
//! `<data>/groups/<group>.json`, each commit written to a temp file, fsynced and renamed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::limits::{GROUPS_MAX, GROUP_OFFSETS_MAX};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub topic: String,
    #[serde(deserialize_with = "crate::http::request::whole")]
    pub partition: u32,
    #[serde(deserialize_with = "crate::http::request::whole")]
    pub offset: u64,
}

type Offsets = BTreeMap<(String, u32), u64>;

pub struct Groups {
    dir: PathBuf,
    groups: Mutex<BTreeMap<String, Offsets>>,
}

#[derive(Debug)]
pub enum CommitError {
    TooMany(String),
    Io(anyhow::Error),
}

impl Groups {
    pub fn open(dir: &Path) -> anyhow::Result<Groups> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut groups = BTreeMap::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let list: Vec<Committed> = serde_json::from_slice(&bytes)
                .with_context(|| format!("parsing group file {}", path.display()))?;
            let offsets = list
                .into_iter()
                .map(|c| ((c.topic, c.partition), c.offset))
                .collect();
            groups.insert(name.to_string(), offsets);
        }
        Ok(Groups {
            dir: dir.to_path_buf(),
            groups: Mutex::new(groups),
        })
    }

    pub fn commit(&self, group: &str, c: Committed) -> Result<(), CommitError> {
        let mut groups = self.groups.lock().expect("groups lock is never poisoned");
        if !groups.contains_key(group) && groups.len() >= GROUPS_MAX {
            return Err(CommitError::TooMany(format!(
                "at most {GROUPS_MAX} consumer groups"
            )));
        }
        let offsets = groups.entry(group.to_string()).or_default();
        let key = (c.topic, c.partition);
        if !offsets.contains_key(&key) && offsets.len() >= GROUP_OFFSETS_MAX {
            return Err(CommitError::TooMany(format!(
                "at most {GROUP_OFFSETS_MAX} committed offsets per group"
            )));
        }
        let previous = offsets.insert(key.clone(), c.offset);
        if let Err(e) = self.persist(group, offsets) {
            match previous {
                Some(p) => offsets.insert(key, p),
                None => offsets.remove(&key),
            };
            return Err(CommitError::Io(e));
        }
        Ok(())
    }

    fn persist(&self, group: &str, offsets: &Offsets) -> anyhow::Result<()> {
        let list: Vec<Committed> = offsets
            .iter()
            .map(|((topic, partition), offset)| Committed {
                topic: topic.clone(),
                partition: *partition,
                offset: *offset,
            })
            .collect();
        let path = self.dir.join(format!("{group}.json"));
        write_atomically(&path, &serde_json::to_vec(&list)?)
    }

    /// Deletes a group and its file (issue 10: groups could not be deleted, so the GROUPS_MAX
    /// cap was permanent). `Ok(false)` if there is no such group.
    pub fn delete(&self, group: &str) -> anyhow::Result<bool> {
        let mut groups = self.groups.lock().expect("groups lock is never poisoned");
        if !groups.contains_key(group) {
            return Ok(false);
        }
        let path = self.dir.join(format!("{group}.json"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("fsync {}", self.dir.display()))?;
        groups.remove(group);
        Ok(true)
    }

    pub fn names(&self) -> Vec<String> {
        self.groups
            .lock()
            .expect("groups lock")
            .keys()
            .cloned()
            .collect()
    }

    pub fn get(&self, group: &str) -> Option<Vec<Committed>> {
        self.groups
            .lock()
            .expect("groups lock")
            .get(group)
            .map(|o| {
                o.iter()
                    .map(|((topic, partition), offset)| Committed {
                        topic: topic.clone(),
                        partition: *partition,
                        offset: *offset,
                    })
                    .collect()
            })
    }

    pub fn committed(&self, group: &str, topic: &str, partition: u32) -> Option<u64> {
        let groups = self.groups.lock().expect("groups lock");
        groups
            .get(group)?
            .get(&(topic.to_string(), partition))
            .copied()
    }
}

/// Write to `<path>.tmp`, fsync, rename over `path`, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.sync_data()
        .with_context(|| format!("fsync {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("fsync {}", dir.display()))?;
    }
    Ok(())
}
