//! The agents and contracts on a real Anvil: one binary (one link), a module per topic.

mod batches;
mod chaos;
mod commitments;
mod disputes;
mod explorer;
mod faults;
mod lifecycle;
mod long_dispute;
mod machine_agents;
mod machine_dispute;
mod reorgs;
mod reputation;
mod tournament_agents;
mod tournaments;
