//! The ecm agents: hosts answer requests and defend their answers, challengers check answers
//! and dispute wrong ones. Both are one [`engine`] with different [`Roles`]; both play the
//! bisection game with the runtime's checkpointed trace oracle, checking the final one step in
//! revm before sending it.
//!
//! ```text
//!  Broker logs --discover--> jobs (JobStore, SQLite) --compute (blocking pool)--> TraceOracle + Claim
//!                                  |                                                   |
//!             every tick: jobs with news, passed deadlines or fresh results            |
//!                                  v                                                   |
//!         decide(request, game, our claim) -> Action --send (ecm-chain)--> Broker <-----+
//!   (answer, challenge, start, bisect, select, prove, timeout, execute, resolve, finalize)
//! ```
//!
//! Everything the agent needs to resume is either on-chain or in the job store: a restart reads
//! the store's open jobs, re-reads each open request, and carries on (recomputing a trace when a dispute
//! needs it). [`run`] stops taking work when `shutdown` resolves, waits for transactions in
//! flight and saves the store.
//!
//! One job per module: [`engine`] the loop, `programs` what the agent serves (checked WASM
//! against EVM at start-up), [`compute`] traces on the blocking pool, [`mod@decide`] the pure
//! decision over the on-chain state, `act` reading, deciding and sending for one request,
//! [`store`] the jobs and the ledger in SQLite, [`metrics`] the figures served at `--metrics`,
//! [`tournament`] the pure decision over a tournament-mode dispute (which `act` takes instead of
//! [`mod@decide`]'s once a request's tournament is open).

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod act;
pub mod compute;
pub mod config;
pub mod decide;
pub mod engine;
pub mod error;
pub mod metrics;
mod programs;
pub mod store;
pub mod tournament;

pub use config::{AgentConfig, Cheat, Roles};
pub use decide::{Action, Outcome, decide};
pub use engine::{run, run_when_ready};
pub use error::{Error, Result};
pub use programs::INTERPRETER_FIRST_STEPS;
pub use store::{Earnings, Ending, Job, JobStore, LedgerEntry, Movement, Stance, TraceStats};
