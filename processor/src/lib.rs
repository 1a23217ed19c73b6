//! `processor`: stream processors over the log — streaming SQL, event time, watermarks,
//! windows, state, checkpoints and exactly-once output. Reaches the log only through the
//! `Source` / `Sink` traits in `io`.
