//! Streaming SQL: kappa's dialect for sqlparser, the compiler from AST to `Plan`, and the plan.
//! Parsing is sqlparser's job; this module only checks and plans.

pub mod compile;
mod compiler;
pub mod dialect;
mod functions;
pub mod infer;
mod join;
pub mod literal;
mod over;
mod scalar;
pub mod table;
mod top_n;
pub mod tvf;

pub use compile::{compile, compile_with_hints};
