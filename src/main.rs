//! The `paperwire` binary: parse the command line, call the library, map the outcome to an
//! exit code (0 done, 1 some recipients failed permanently, 2 usage/config/input error,
//! 75 try again later). Everything else lives in `cli/` (one file per subcommand) and the
//! library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.verbose);
    match cli::run(args) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            eprintln!("paperwire: error: {}", cli::cause_chain(&err));
            let exit = paperwire::exit::classify(err.as_ref());
            ExitCode::from(exit.code())
        }
    }
}
