//! The `ecm` command: a verifiable compute market on Ethereum, from the terminal.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use clap::Parser;

mod cmd;
mod opts;
mod output;
mod units;

#[tokio::main]
async fn main() {
    let cli = opts::Cli::parse();
    opts::init_logging(&cli);
    if let Err(err) = cli.run().await {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
