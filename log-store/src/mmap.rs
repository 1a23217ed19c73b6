//! Every memmap2 call lives here; the rest of the crate sees only safe slices.
#![allow(unsafe_code)]
