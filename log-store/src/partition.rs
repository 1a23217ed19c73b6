//! One partition: its segments, its single writer, group commit, reads, waiting and retention.
//!
//! Invariants: one writer at a time (the `writer` mutex) appends whole batches with dense
//! offsets; readers never block it and only ever see the *published* end, which moves at batch
//! boundaries and, under `fsync always`, only after a flush covering it. Lock order: `writer`,
//! then `commit` (the group commit's queue), then `view`; `commit` is never held while taking
//! `writer`.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use event_listener::Event;

use crate::clock::Clock;
use crate::commit::{GroupCommit, Turn, Woken};
use crate::config::FsyncPolicy;
use crate::error::{Error, Result};
use crate::fault::FaultInjector;
use crate::files::{self, io_err, Ident};
use crate::limits::{BATCH_RECORDS_MAX, GROUP_COMMIT_LEAD_FLUSHES_MAX};
use crate::record::{check_record, AppendRecord, Record};
use crate::recovery::{self, Last, Recovered};
use crate::report::RecoveryReport;
use crate::segment::{self, Active, ActiveShared, Sealed};
use crate::types::{Offset, PartitionId, StampRun};

/// What an append returns once it is durable under the fsync policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: Offset,
    pub count: u32,
    /// The append timestamp of the batch's first record (every record's, unless the batch was
    /// merged from several stamped requests).
    pub timestamp_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartitionStats {
    pub start_offset: u64,
    /// The published end: the next offset to be written and visible.
    pub end_offset: u64,
    pub bytes: u64,
    pub segments: u32,
    /// Records handed out by `read` since open (every reader: consumers, processors), and
    /// their frame bytes: what a broker's bytes-out counts.
    pub read_records: u64,
    pub read_bytes: u64,
}

/// The partition's shared context: who it is and what it needs from the store.
#[derive(Debug, Clone)]
pub(crate) struct PartitionContext {
    pub segment_bytes: u64,
    pub policy: FsyncPolicy,
    pub clock: Arc<Clock>,
    pub faults: Arc<dyn FaultInjector>,
    pub flush_stats: Arc<crate::stats::FlushStats>,
    pub maps: Arc<crate::map_cache::MapCache>,
    /// Where segment bytes become durable (`Storage::Os` outside tests).
    pub storage: crate::storage::Storage,
}

#[derive(Debug)]
pub struct Partition {
    id: Ident,
    pid: PartitionId,
    dir: PathBuf,
    ctx: PartitionContext,
    writer: Mutex<Writer>,
    commit: GroupCommit,
    view: RwLock<Arc<View>>,
    /// The published end offset.
    end: AtomicU64,
    /// Flushes (msync calls) done by `flush`, for group-commit statistics.
    flushes: AtomicU64,
    /// Records and frame bytes handed out by `read` since open (for metrics).
    read_records: AtomicU64,
    read_bytes: AtomicU64,
    event: Event,
}

/// What readers see: immutable, replaced whole on roll and retention.
#[derive(Debug, Clone, Default)]
struct View {
    start: u64,
    sealed: Vec<Arc<Sealed>>,
    active: Option<ActiveShared>,
}

#[derive(Debug)]
struct Writer {
    active: Option<Active>,
    /// The written end: the next offset to assign.
    next_offset: u64,
    /// Written, not yet published batches, oldest first (one per waiting appender at most).
    in_flight: VecDeque<InFlight>,
    /// Set when a flush failed: what was written can no longer be trusted to be durable, so
    /// the partition refuses appends until the store is reopened (and recovers).
    failed: Option<String>,
    /// Set when the topic is deleted: an append that still holds this partition must fail
    /// rather than be acknowledged into files that are gone (issue 10).
    deleted: bool,
    last_flush: Instant,
    /// The newest timestamp written (0 for an empty partition).
    last_ts: u64,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    end_offset: u64,
    end_pos: usize,
    segment_base: u64,
    ts: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic under these locks is a bug that already failed loudly; the state is still
    // consistent at every await-free step, so keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Partition {
    /// Opens (creating) the partition directory and recovers its last segment.
    pub(crate) fn open(
        dir: &Path,
        topic: &str,
        pid: PartitionId,
        ctx: PartitionContext,
        report: &mut RecoveryReport,
    ) -> Result<Partition> {
        let id = Ident {
            topic: topic.to_string(),
            partition: pid.0,
        };
        fs::create_dir_all(dir).map_err(io_err("create partition directory", dir))?;
        let (mut bases, indexed) = list_segments(dir)?;
        let mut recovered = Recovered::default();
        let mut active: Option<Active> = None;
        let mut last_sealed = None;
        while let Some(&base) = bases.last() {
            match recovery::recover_last(
                dir,
                base,
                ctx.segment_bytes,
                &id,
                &ctx.storage,
                &mut recovered,
            )? {
                Last::Active(a) => active = Some(*a),
                Last::Sealed(s) => last_sealed = Some(s),
                Last::Removed => {
                    bases.pop();
                    continue;
                }
            }
            bases.pop();
            break;
        }
        report.truncated.extend(recovered.truncated);
        report.indexes_rebuilt.extend(recovered.indexes_rebuilt);
        let mut sealed = Vec::with_capacity(bases.len() + 1);
        let next_bases =
            bases
                .iter()
                .skip(1)
                .copied()
                .chain(std::iter::once(active.as_ref().map_or_else(
                    || last_sealed.as_ref().map_or(0, |s: &Sealed| s.base),
                    |a| a.base,
                )));
        for (base, end_offset) in bases.iter().copied().zip(next_bases) {
            let path = files::log_path(dir, base);
            let bytes = fs::metadata(&path)
                .map_err(io_err("stat segment", &path))?
                .len();
            let s = Sealed::new(base, end_offset, path, bytes, &ctx.storage);
            if indexed.get(&base) != Some(&2) {
                // Cheap to notice (no read); rebuilt now so the report names it.
                let maps = s.load(&id)?;
                drop(maps);
                s.unload(); // mapped again (through the map cache) when read
                report.indexes_rebuilt.push(files::index_path(dir, base));
            }
            sealed.push(Arc::new(s));
        }
        let newest_ts = match (&active, &last_sealed) {
            (Some(a), _) => a.last_ts,
            (None, Some(s)) => {
                let ts = s.load(&id)?.max_ts;
                s.unload(); // mapped again (through the map cache) when read
                Some(ts)
            }
            (None, None) => None,
        };
        if let Some(ts) = newest_ts {
            ctx.clock.observe(ts);
        }
        if let Some(a) = active.as_mut() {
            a.prefill = ctx.policy == FsyncPolicy::Never;
        }
        sealed.extend(last_sealed.map(Arc::new));
        let next_offset = active
            .as_ref()
            .map(|a| a.next_offset)
            .or_else(|| sealed.last().map(|s| s.end_offset))
            .unwrap_or(0);
        let start = sealed
            .first()
            .map(|s| s.base)
            .or_else(|| active.as_ref().map(|a| a.base))
            .unwrap_or(next_offset);
        let view = View {
            start,
            sealed,
            active: active.as_ref().map(Active::shared),
        };
        tracing::debug!(
            topic,
            partition = pid.0,
            start,
            end = next_offset,
            "opened partition"
        );
        Ok(Partition {
            id,
            pid,
            dir: dir.to_path_buf(),
            ctx,
            writer: Mutex::new(Writer {
                active,
                next_offset,
                in_flight: VecDeque::new(),
                failed: None,
                deleted: false,
                last_flush: Instant::now(),
                last_ts: newest_ts.unwrap_or(0),
            }),
            commit: GroupCommit::new(next_offset),
            view: RwLock::new(Arc::new(view)),
            end: AtomicU64::new(next_offset),
            flushes: AtomicU64::new(0),
            read_records: AtomicU64::new(0),
            read_bytes: AtomicU64::new(0),
            event: Event::new(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.id.topic
    }
    pub fn id(&self) -> PartitionId {
        self.pid
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn view(&self) -> Arc<View> {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_view(&self, view: View) {
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(view);
    }

    /// Marks the partition deleted (its topic is being removed): every later append fails with
    /// `UnknownTopic`. Taken under the writer lock, so an append either finished writing before
    /// this or writes nothing.
    pub(crate) fn mark_deleted(&self) {
        lock(&self.writer).deleted = true;
    }

    /// Appends the batch atomically (all visible or none) and returns once durable. The batch
    /// gets one timestamp of its own from the store's clock.
    pub fn append(&self, records: &[AppendRecord<'_>]) -> Result<Appended> {
        self.append_inner(records, None)
    }

    /// Appends a batch whose records were stamped by their produce requests (`runs`, from
    /// [`Stamp`](crate::Stamp)s that the caller holds until this returns). A run stamped below
    /// the partition's newest timestamp (another request got here first) is raised to it, so
    /// timestamps never fall within a partition. Atomic and durable as [`append`](Self::append).
    pub fn append_stamped(
        &self,
        records: &[AppendRecord<'_>],
        runs: &[StampRun],
    ) -> Result<Appended> {
        assert!(
            runs.last().is_some_and(|r| r.end == records.len())
                && runs.windows(2).all(|w| w[0].end < w[1].end),
            "stamp runs must cover the batch in order"
        );
        self.append_inner(records, Some(runs))
    }

    fn append_inner(
        &self,
        records: &[AppendRecord<'_>],
        stamped: Option<&[StampRun]>,
    ) -> Result<Appended> {
        if records.len() > BATCH_RECORDS_MAX {
            return Err(Error::BatchTooLarge {
                records: records.len(),
                max: BATCH_RECORDS_MAX,
            });
        }
        let mut total = 0usize;
        for r in records {
            total += check_record(r)?;
        }
        if total as u64 > self.ctx.segment_bytes {
            return Err(Error::BatchBytesTooLarge {
                bytes: total,
                max: self.ctx.segment_bytes,
            });
        }
        let mut w = lock(&self.writer);
        if records.is_empty() {
            return Ok(Appended {
                base_offset: Offset(self.end.load(Ordering::Acquire)),
                count: 0,
                timestamp_ms: self.ctx.clock.now_ms(),
            });
        }
        if w.deleted {
            return Err(Error::UnknownTopic {
                topic: self.id.topic.to_string(),
            });
        }
        if let Some(reason) = &w.failed {
            return Err(Error::Io {
                op: "append after a failed flush (reopen the store)",
                path: self.dir.clone(),
                source: std::io::Error::other(reason.clone()),
            });
        }
        if w.active.as_ref().is_none_or(|a| a.room() < total) {
            self.roll(&mut w)?;
        }
        w.active
            .as_mut()
            .expect("roll leaves an active segment")
            .reserve_for(total, &*self.ctx.faults)?;
        let runs: Vec<StampRun> = match stamped {
            None => vec![StampRun {
                end: records.len(),
                ts: self.ctx.clock.issue(),
            }],
            Some(runs) => {
                // Raise each run to the newest timestamp before it; the callers' stamps are in
                // flight, so holding the first run's (raised) time keeps the safe time below
                // every record of the batch until it is published.
                let mut floor = w.last_ts;
                let runs: Vec<StampRun> = runs
                    .iter()
                    .map(|r| {
                        floor = floor.max(r.ts);
                        StampRun {
                            end: r.end,
                            ts: floor,
                        }
                    })
                    .collect();
                self.ctx.clock.hold(runs[0].ts);
                runs
            }
        };
        let ts = runs[0].ts;
        let base_offset = w.next_offset;
        let active = w.active.as_mut().expect("roll leaves an active segment");
        active.append(records, total, &runs);
        let flight = InFlight {
            end_offset: active.next_offset,
            end_pos: active.write_pos,
            segment_base: active.base,
            ts,
        };
        assert!(
            flight.end_offset == base_offset + records.len() as u64,
            "offsets must stay dense"
        );
        w.next_offset = flight.end_offset;
        w.last_ts = runs.last().expect("runs cover a non-empty batch").ts;
        w.in_flight.push_back(flight);
        let appended = Appended {
            base_offset: Offset(base_offset),
            count: records.len() as u32,
            timestamp_ms: ts,
        };
        match self.ctx.policy {
            FsyncPolicy::Always => {
                drop(w);
                self.wait_published(flight.end_offset)?;
            }
            // No group-commit waiters under these policies: nothing to wake.
            FsyncPolicy::Never => drop(self.publish(&mut w, flight.end_offset)),
            FsyncPolicy::Interval(every) => {
                drop(self.publish(&mut w, flight.end_offset));
                if w.last_flush.elapsed() >= every {
                    drop(w);
                    self.flush()?;
                }
            }
        }
        Ok(appended)
    }

    /// Publishes every written batch ending at or below `upto`: readable, timestamps released,
    /// listeners woken. Returns the group-commit waiters it covers: drop it after the writer lock.
    fn publish(&self, w: &mut Writer, upto: u64) -> Woken {
        let mut last = None;
        let mut released = Vec::new();
        while let Some(f) = w
            .in_flight
            .front()
            .copied()
            .filter(|f| f.end_offset <= upto)
        {
            w.in_flight.pop_front();
            released.push(f.ts);
            last = Some(f);
            if let Some(a) = w.active.as_mut().filter(|a| a.base == f.segment_base) {
                a.publish(f.end_offset, f.end_pos);
            }
        }
        let Some(last) = last else {
            return Woken::default();
        };
        let previous = self.end.swap(last.end_offset, Ordering::AcqRel);
        assert!(
            previous <= last.end_offset,
            "the published end moves backwards"
        );
        // Only now, with the records readable, may the safe time pass their timestamps: a reader
        // that sees the safe time at or above a timestamp must find its records (DESIGN.md §3).
        // (One allocation per publish, not per record: at most one batch per waiting appender.)
        for ts in released {
            self.ctx.clock.release(ts);
        }
        let woken = self.commit.publish(last.end_offset);
        self.event.notify(usize::MAX);
        woken
    }

    /// After a failed flush: the written, unpublished batches will never be published (their
    /// appenders get the error; nothing of them was acknowledged), so their timestamps leave the
    /// clock's in-flight set. Otherwise the store's safe time would stay below them until a
    /// restart and every processor, of every topic, would stop (issue 10). After a restart,
    /// recovery may find those bytes intact and keep them: unacknowledged, not lost.
    fn abandon_in_flight(&self, w: &mut Writer) {
        for f in w.in_flight.drain(..) {
            self.ctx.clock.release(f.ts);
        }
    }

    /// Group commit: wait until `end` is published; if nobody is flushing, become the leader and
    /// flush everything written so far, for every waiter at once.
    fn wait_published(&self, end: u64) -> Result<()> {
        while self.commit.wait(end) == Turn::Lead {
            // Each flush publishes (waking only the followers it covers); keep leading while
            // others wait for bytes written during the last flush, up to a bound, then hand over
            // to the next waiter, so no flush waits for a follower to wake up and take over.
            let mut flushed = self.flush();
            for _ in 1..GROUP_COMMIT_LEAD_FLUSHES_MAX {
                if flushed.is_err() || !self.commit.waiting() {
                    break;
                }
                flushed = self.flush();
            }
            self.commit.step_down(flushed.is_ok());
            if let Err(e) = flushed {
                // A leader flushes for others after its own batch: if an earlier flush of this
                // turn published it, it is durable and this append succeeded; the failure is
                // the later batches' (their appenders meet it). Found by the concurrent
                // power-cut test: the append was refused although its batch was kept.
                if self.end.load(Ordering::Acquire) >= end {
                    return Ok(());
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Flushes everything written to the active segment (msync of the unflushed range only) and
    /// publishes it. The writer lock is not held during the msync, so appends continue.
    pub fn flush(&self) -> Result<()> {
        if self.ctx.policy == FsyncPolicy::Never {
            // Segments sealed without waiting for the disk (only under `never`).
            for s in &self.view().sealed {
                s.sync_if_needed()?;
            }
        }
        let (map, from, to, end_offset, base, path, storage) = {
            let mut w = lock(&self.writer);
            if let Some(reason) = &w.failed {
                return Err(Error::Io {
                    op: "flush after a failed flush (reopen the store)",
                    path: self.dir.clone(),
                    source: std::io::Error::other(reason.clone()),
                });
            }
            w.last_flush = Instant::now();
            let Some(a) = w.active.as_ref() else {
                return Ok(());
            };
            let (map, from, to) = a.flush_target();
            let storage = a.storage().clone();
            (
                map,
                from,
                to,
                w.next_offset,
                a.base,
                a.path.clone(),
                storage,
            )
        };
        if to > from {
            self.flushes.fetch_add(1, Ordering::Relaxed);
        }
        let started = Instant::now();
        let flushed = self
            .ctx
            .faults
            .before_flush(&path)
            .and_then(|()| storage.flush_range(&path, &map, from, to - from));
        if to > from {
            self.ctx.flush_stats.record(started.elapsed());
        }
        let mut w = lock(&self.writer);
        if let Err(source) = flushed {
            w.failed = Some(source.to_string());
            self.abandon_in_flight(&mut w);
            tracing::error!(topic = %self.id.topic, partition = self.id.partition, path = %path.display(), error = %source, "flush failed; refusing appends until the store is reopened");
            return Err(Error::Io {
                op: "flush segment",
                path,
                source,
            });
        }
        if let Some(a) = w.active.as_mut().filter(|a| a.base == base) {
            a.flushed_pos = a.flushed_pos.max(to);
        }
        let woken = self.publish(&mut w, end_offset);
        drop(w);
        drop(woken);
        Ok(())
    }

    /// Seals the active segment (if any) and creates the next one. On failure to create it (a
    /// full disk) nothing written is lost and the next append tries again.
    fn roll(&self, w: &mut Writer) -> Result<()> {
        if let Some(active) = w.active.take() {
            let base = active.base;
            let durable = self.ctx.policy != FsyncPolicy::Never;
            let sealed = match active.seal(durable) {
                Ok(s) => {
                    if !durable {
                        s.mark_unsynced();
                    }
                    s
                }
                Err(e) => {
                    w.failed = Some(e.to_string());
                    self.abandon_in_flight(w);
                    return Err(e);
                }
            };
            let next = w.next_offset;
            // Rare (once per segment): wake the covered waiters now, under the writer lock.
            drop(self.publish(w, next));
            let mut view = (*self.view()).clone();
            view.sealed.push(Arc::new(sealed));
            view.active = None;
            self.set_view(view);
            tracing::info!(topic = %self.id.topic, partition = self.id.partition, segment = base, end = next, "sealed segment");
        }
        let mut active = Active::create(
            &self.dir,
            w.next_offset,
            self.ctx.segment_bytes,
            &*self.ctx.faults,
            &self.ctx.storage,
        )?;
        active.prefill = self.ctx.policy == FsyncPolicy::Never;
        let mut view = (*self.view()).clone();
        if view.sealed.is_empty() {
            view.start = active.base;
        }
        view.active = Some(active.shared());
        self.set_view(view);
        w.active = Some(active);
        Ok(())
    }

    fn out_of_range(&self, requested: u64, start: u64) -> Error {
        Error::OffsetOutOfRange {
            topic: self.id.topic.clone(),
            partition: self.id.partition,
            requested,
            earliest: start,
            latest: self.end.load(Ordering::Acquire),
        }
    }

    /// Up to `max_records` / about `max_bytes` published records from `from`. Empty at the end;
    /// `Error::OffsetOutOfRange` below the start offset (retention) or past the end.
    pub fn read(&self, from: Offset, max_records: usize, max_bytes: usize) -> Result<Vec<Record>> {
        let mut bytes = 0usize;
        let out = self.read_counting(from, max_records, max_bytes, &mut bytes)?;
        self.read_records
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        self.read_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        Ok(out)
    }

    fn read_counting(
        &self,
        from: Offset,
        max_records: usize,
        max_bytes: usize,
        bytes: &mut usize,
    ) -> Result<Vec<Record>> {
        let view = self.view();
        let end = self.end.load(Ordering::Acquire);
        let from = from.0;
        if from < view.start || from > end {
            return Err(self.out_of_range(from, view.start));
        }
        let mut out = Vec::new();
        if from == end || max_records == 0 {
            return Ok(out);
        }
        let first = view.sealed.partition_point(|s| s.end_offset <= from);
        for s in &view.sealed[first..] {
            let maps = self.maps(s).map_err(|e| self.gone_or(e, from))?;
            if !maps.view(s).read(
                &self.id,
                (from, end),
                max_records,
                max_bytes,
                &mut out,
                bytes,
            )? {
                return Ok(out);
            }
        }
        if let Some(a) = &view.active {
            a.view().read(
                &self.id,
                (from, end),
                max_records,
                max_bytes,
                &mut out,
                bytes,
            )?;
        }
        Ok(out)
    }

    /// One past the last offset of the segment that holds `offset` (the next segment's base),
    /// or the published end if it is in the active segment: where a scan that met damage in
    /// that segment can resume (the idempotency recovery skips a damaged segment's rest).
    pub fn segment_end(&self, offset: Offset) -> Offset {
        let view = self.view();
        let end = self.end.load(Ordering::Acquire);
        let i = view.sealed.partition_point(|s| s.end_offset <= offset.0);
        Offset(view.sealed.get(i).map_or(end, |s| s.end_offset.min(end)))
    }

    /// How many sealed segments hold their maps now (tests).
    #[cfg(test)]
    pub(crate) fn sealed_mapped(&self) -> (usize, usize) {
        let view = self.view();
        let mapped = view.sealed.iter().filter(|s| s.is_mapped()).count();
        (mapped, view.sealed.len())
    }

    /// A sealed segment's maps, mapping it if needed and noting that in the store's map cache
    /// (which may unmap the least recently used others).
    fn maps(&self, s: &Arc<Sealed>) -> Result<Arc<segment::SealedMaps>> {
        let (maps, fresh) = s.load_noting(&self.id)?;
        if fresh {
            self.ctx.maps.mapped(s);
        }
        Ok(maps)
    }

    /// A segment that fails to load because retention deleted it meanwhile: out of range.
    fn gone_or(&self, e: Error, from: u64) -> Error {
        let start = self.view().start;
        if from < start {
            self.out_of_range(from, start)
        } else {
            e
        }
    }

    /// The first offset whose timestamp is >= `timestamp_ms`, or the end offset if none.
    pub fn offset_for_timestamp(&self, timestamp_ms: u64) -> Result<Offset> {
        let view = self.view();
        let end = self.end.load(Ordering::Acquire);
        // Sealed segments are ordered by time too: binary search on their newest timestamp.
        let (mut lo, mut hi) = (0usize, view.sealed.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.maps(&view.sealed[mid])?.max_ts < timestamp_ms {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for s in &view.sealed[lo..] {
            if let Some(o) = self
                .maps(s)?
                .view(s)
                .offset_for_timestamp(&self.id, timestamp_ms)?
            {
                return Ok(Offset(o));
            }
        }
        if let Some(a) = &view.active {
            if let Some(o) = a.view().offset_for_timestamp(&self.id, timestamp_ms)? {
                return Ok(Offset(o.min(end)));
            }
        }
        Ok(Offset(end))
    }

    /// How many flushes (msync of written bytes) this partition has done since it was opened.
    /// With `fsync always`, records appended divided by this is the average group-commit size.
    pub fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    pub fn start_offset(&self) -> Offset {
        Offset(self.view().start)
    }
    /// The published end offset.
    pub fn end_offset(&self) -> Offset {
        Offset(self.end.load(Ordering::Acquire))
    }
    /// A listener that fires on the next publish. Take it, re-check `end_offset`, then wait:
    /// `listener.await` in async code, `listener.wait()` / `wait_timeout` in threads.
    pub fn listen(&self) -> event_listener::EventListener {
        self.event.listen()
    }
    /// Why the partition refuses appends until the store is reopened (a failed flush), if it
    /// does: shown in topic describe and /metrics.
    pub fn failed(&self) -> Option<String> {
        lock(&self.writer).failed.clone()
    }

    pub fn stats(&self) -> PartitionStats {
        let view = self.view();
        let active_bytes = view
            .active
            .as_ref()
            .map_or(0, |a| a.log.frozen_len() as u64);
        PartitionStats {
            start_offset: view.start,
            end_offset: self.end.load(Ordering::Acquire),
            bytes: view.sealed.iter().map(|s| s.bytes).sum::<u64>() + active_bytes,
            segments: (view.sealed.len() + view.active.is_some() as usize) as u32,
            read_records: self.read_records.load(Ordering::Relaxed),
            read_bytes: self.read_bytes.load(Ordering::Relaxed),
        }
    }
    /// Checks every frame's CRC; returns the number of records checked.
    pub fn verify(&self) -> Result<u64> {
        let view = self.view();
        let mut records = 0;
        for s in &view.sealed {
            let n = s.load(&self.id)?.view(s).verify(&self.id, true)?;
            if s.base + n != s.end_offset {
                return Err(self.id.corrupt(
                    &s.path,
                    s.base + n,
                    s.bytes,
                    format!(
                        "segment ends at offset {}, the next begins at {}",
                        s.base + n,
                        s.end_offset
                    ),
                ));
            }
            records += n;
        }
        if let Some(a) = &view.active {
            records += a.view().verify(&self.id, false)?;
        }
        Ok(records)
    }

    /// Deletes whole sealed segments from the front while the partition is larger than
    /// `retention_bytes` or their newest record is older than `now_ms - retention_ms`. Never
    /// deletes the last segment. Returns the number deleted.
    pub(crate) fn apply_retention(
        &self,
        retention_ms: Option<u64>,
        retention_bytes: Option<u64>,
        now_ms: u64,
    ) -> Result<usize> {
        if retention_ms.is_none() && retention_bytes.is_none() {
            return Ok(0);
        }
        let w = lock(&self.writer);
        let view = self.view();
        let mut total: u64 = view.sealed.iter().map(|s| s.bytes).sum::<u64>()
            + w.active.as_ref().map_or(0, |a| a.write_pos as u64);
        let deletable = view.sealed.len() - usize::from(w.active.is_none());
        let mut doomed = 0;
        for s in &view.sealed[..deletable] {
            let by_bytes = retention_bytes.is_some_and(|max| total > max);
            let by_age = match retention_ms {
                Some(ms) => s.load(&self.id)?.max_ts < now_ms.saturating_sub(ms),
                None => false,
            };
            if !(by_bytes || by_age) {
                break;
            }
            total -= s.bytes;
            doomed += 1;
        }
        if doomed == 0 {
            return Ok(0);
        }
        let mut next = (*view).clone();
        let removed: Vec<_> = next.sealed.drain(..doomed).collect();
        next.start = next
            .sealed
            .first()
            .map(|s| s.base)
            .or(next.active.as_ref().map(|a| a.base))
            .unwrap_or(w.next_offset);
        self.set_view(next);
        drop(w);
        for s in removed {
            // Unmap our own view first; readers holding records keep theirs alive, which is fine
            // for a deleted (never truncated) file.
            s.unload();
            s.remove_files()?;
            tracing::info!(topic = %self.id.topic, partition = self.id.partition, segment = s.base, "deleted segment (retention)");
        }
        files::sync_dir_with(&self.ctx.storage, &self.dir)?;
        Ok(doomed)
    }
}

/// Base offsets of the `.log` files in `dir`, sorted, and how many of its two index files each
/// base has (from the same directory listing: no syscall per segment); removes leftovers
/// (temporary files, index files whose log is gone).
fn list_segments(dir: &Path) -> Result<(Vec<u64>, std::collections::HashMap<u64, u8>)> {
    let mut logs = Vec::new();
    let mut others = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list partition directory", dir))? {
        let path = entry
            .map_err(io_err("list partition directory", dir))?
            .path();
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let base = (stem.len() == 20)
            .then(|| stem.parse::<u64>().ok())
            .flatten();
        match (base, ext) {
            (Some(b), "log") => logs.push(b),
            (Some(b), "index" | "timeindex") => others.push((b, path)),
            (_, "tmp") => {
                let _ = fs::remove_file(&path);
            }
            _ => {}
        }
    }
    logs.sort_unstable();
    let mut indexed = std::collections::HashMap::new();
    for (b, path) in others {
        if logs.binary_search(&b).is_err() {
            let _ = fs::remove_file(&path);
        } else {
            *indexed.entry(b).or_insert(0u8) += 1;
        }
    }
    Ok((logs, indexed))
}
