use super::Common;
use crate::{output, units};
use clap::Args;
use ecm_client::RequestStatus;
use eyre::Result;

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The request id.
    id: u64,
    #[command(flatten)]
    common: Common,
}

impl StatusArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(false).await?;
        let status = client.status(self.id).await?;
        if self.common.output.json {
            output::json(&status);
        } else {
            print(&status);
        }
        Ok(())
    }
}

/// A request's status as aligned fields.
pub(crate) fn print(s: &RequestStatus) {
    let mut pairs = vec![
        ("request", s.id.to_string()),
        ("status", s.status.to_string()),
        ("program", s.program.clone()),
        ("requester", s.requester.to_string()),
        ("payment", format!("{} ETH", units::format_ether(s.payment))),
        ("deposit", format!("{} ETH", units::format_ether(s.deposit))),
        ("disputes", format!("{:?}", s.mode)),
    ];
    if s.min_host_jobs > 0 {
        pairs.push((
            "hosts admitted",
            format!(
                "with at least {} jobs paid and no defence lost",
                s.min_host_jobs
            ),
        ));
    }
    match s.host {
        // A commitment hides the answer (and its steps) until the reveal.
        Some(host) if s.status == ecm_client::Status::Committed => {
            pairs.push(("committed by", host.to_string()));
        }
        Some(host) => {
            pairs.push(("answered by", host.to_string()));
            pairs.push(("steps", s.steps.to_string()));
        }
        None => {}
    }
    if let Some(result) = &s.result_display {
        let suffix = if s.final_ == Some(false) {
            " (out of steps)"
        } else {
            ""
        };
        pairs.push(("result", format!("{result}{suffix}")));
    }
    if s.deadline > 0 && !s.status.is_settled() {
        pairs.push((
            "deadline",
            format!("block {} (now {})", s.deadline, s.block),
        ));
    }
    if s.disputes > 0 {
        // Each settled dispute split a loser's deposit; the halves are credited at finalize.
        let half = s.deposit / alloy::primitives::U256::from(2);
        let to_host = half * alloy::primitives::U256::from(s.host_wins);
        let to_requester = (s.deposit - half) * alloy::primitives::U256::from(s.disputes);
        pairs.push((
            "owed at finalize",
            format!(
                "{} ETH to the requester ({} disputes), {} ETH to the host ({} won)",
                units::format_ether(to_requester),
                s.disputes,
                units::format_ether(to_host),
                s.host_wins
            ),
        ));
    }
    if let Some(game) = &s.game {
        pairs.push((
            "game",
            format!(
                "segment [{}, {}], {}'s move until block {}",
                game.lo, game.hi, game.mover, game.deadline
            ),
        ));
    }
    if let Some(t) = &s.tournament {
        pairs.push(("tournament", tournament_text(t)));
    }
    output::fields(&pairs);
}

/// A tournament in one line: its entries, what stands, and its next deadline.
fn tournament_text(t: &ecm_client::TournamentSummary) -> String {
    let standing = match (t.over, t.decided) {
        (true, true) => "one claim stands (settle it: the agents do)".to_string(),
        (true, false) => "undecided (its settlement refunds the payment)".to_string(),
        (false, _) => format!("{} claims standing", t.standing_claims),
    };
    format!(
        "{} entries ({} eliminated), {standing}; entries until block {}, games start until block {}, over after block {}",
        t.entries, t.eliminated, t.entry_deadline, t.start_deadline, t.end_deadline
    )
}
