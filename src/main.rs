//! The `paperwire` binary: parse the command line, run the library on one async runtime, map
//! the outcome to an exit code (0 done, 1 some recipients failed permanently, 2 usage/config/
//! input error, 75 try again later). Everything else lives in `cli/` (one file per subcommand)
//! and the library.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use paperwire::exit::Exit;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.verbose, &args.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paperwire: error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::TryLater.code());
        }
    };
    let result = runtime.block_on(cli::run(args));
    // Tasks still running (a message abandoned after a stop) get a moment, not forever.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            eprintln!("{}", cli::error::render(&err));
            ExitCode::from(Exit::of(err.as_ref()).code())
        }
    }
}
