//! Helpers for the end-to-end tests: find and spawn the kappa binary, speak HTTP to it.
