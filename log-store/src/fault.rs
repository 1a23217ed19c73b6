//! The storage fault seam: hooks the log store calls before operations that can fail for
//! reasons outside its control, so tests can inject those failures (a full disk when reserving
//! a new segment, an I/O error on flush) deterministically. Production uses [`NoFaults`].
//!
//! Invariant: a hook only ever turns an operation into an error before it touches the disk; it
//! never changes bytes, so what a test observes is exactly what the real failure would cause.

use std::fmt::Debug;
use std::io;
use std::path::Path;

/// Injected failures. Every method defaults to "no fault".
pub trait FaultInjector: Send + Sync + Debug {
    /// Called before reserving `bytes` of disk for a new segment file at `path`.
    fn before_reserve(&self, path: &Path, bytes: u64) -> io::Result<()> {
        let _ = (path, bytes);
        Ok(())
    }
    /// Called before writing a topic's config file at `path` (a full disk fails it).
    fn before_write_config(&self, path: &Path) -> io::Result<()> {
        let _ = path;
        Ok(())
    }
    /// Called before flushing (msync) written bytes of the segment at `path`.
    fn before_flush(&self, path: &Path) -> io::Result<()> {
        let _ = path;
        Ok(())
    }
}

/// The production injector: never fails.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFaults;

impl FaultInjector for NoFaults {}
