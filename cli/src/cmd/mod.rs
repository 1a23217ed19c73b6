//! One module per subcommand.
pub mod bench;
pub mod consume;
pub mod demo;
pub mod export;
pub mod processors;
pub mod produce;
pub mod replay;
pub mod serve;
pub mod topics;
pub mod verify;
