//! One module per subcommand.
pub mod bench;
pub mod consume;
pub mod demo;
pub mod produce;
pub mod serve;
pub mod topics;
pub mod verify;
