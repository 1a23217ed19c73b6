//! What the process writes for its user: result lines on stdout, and how it ends. A closed
//! stdout (`kappa consume … | head`) ends the command quietly with status 0, as Unix tools do;
//! a user error is one line on stderr and status 1, with no backtrace (backtraces are for
//! panics, which are bugs).

use std::io::{self, Write};
use std::process::ExitCode;

/// `println!` that returns the write error instead of panicking on a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use outln;

/// Whether an error is the reader of stdout going away (EPIPE), anywhere in its chain.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The exit status for a command's result; prints a user error as `error: ...` on stderr.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` is the error and its causes on one line; never the backtrace anyhow
            // captured under RUST_BACKTRACE=1 (that is for bugs, and bugs panic).
            let _ = writeln!(io::stderr().lock(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_closed_pipe_is_found_under_context() {
        let e = Err::<(), _>(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing a record")
            .unwrap_err();
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("unknown topic")));
    }
}
