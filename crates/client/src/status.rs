//! A request's status as a user sees it.

use crate::{Client, Result};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    sol_types::SolEvent,
};
use ecm_bindings::{
    Broker,
    protocol::{DisputeMode, Phase, Status},
};
use ecm_chain::Holding;
use serde::Serialize;

/// A bisection game in progress.
#[derive(Clone, Debug, Serialize)]
pub struct GameView {
    /// The disputed segment.
    pub lo: u64,
    /// Its end.
    pub hi: u64,
    /// Whose move: "defender" or "challenger".
    pub mover: &'static str,
    /// The last block the mover may move at.
    pub deadline: u64,
}

/// A tournament-mode request's tournament (`IBrokerTournaments.getTournament`), once opened.
#[derive(Clone, Debug, Serialize)]
pub struct TournamentSummary {
    /// Entries so far, entry 0 being the answer.
    pub entries: u32,
    /// Entries eliminated (each lost a game).
    pub eliminated: u32,
    /// Different claims still held by a standing entry.
    pub standing_claims: u32,
    /// The last block a claim may be entered.
    pub entry_deadline: u64,
    /// The last block a game may start.
    pub start_deadline: u64,
    /// The block after which it is over, decided or not.
    pub end_deadline: u64,
    /// Whether it is over (it may be settled).
    pub over: bool,
    /// Whether one claim stands.
    pub decided: bool,
}

/// What a user wants to know about a request.
#[derive(Clone, Debug, Serialize)]
pub struct RequestStatus {
    /// The request id.
    pub id: u64,
    /// Its status.
    pub status: Status,
    /// The program's name.
    pub program: String,
    /// Who asked.
    pub requester: Address,
    /// The payment, wei.
    pub payment: U256,
    /// The deposit answers and challenges carry, wei.
    pub deposit: U256,
    /// How disputes are settled.
    pub mode: DisputeMode,
    /// Host admission: the jobs paid (and no defence lost) a host needs to answer; 0: anyone.
    pub min_host_jobs: u16,
    /// The author of the standing answer (while Committed, the host that committed).
    pub host: Option<Address>,
    /// The standing claim's commitment.
    pub claim: B256,
    /// Steps claimed.
    pub steps: u64,
    /// The standing answer's result, if found in the logs.
    pub result: Option<Bytes>,
    /// Whether the result is final (else "out of steps").
    pub final_: Option<bool>,
    /// The result in the program's own terms.
    pub result_display: Option<String>,
    /// The current wait's last block (window or dispute start).
    pub deadline: u64,
    /// The latest block.
    pub block: u64,
    /// The game, if one is being played.
    pub game: Option<GameView>,
    /// The tournament, for a tournament-mode request whose answer was challenged.
    pub tournament: Option<TournamentSummary>,
    /// Bisection disputes settled so far: the requester is owed half a deposit for each,
    /// credited at finalize.
    pub disputes: u16,
    /// Of those, the ones the standing answer's author won as host: half a deposit each, owed
    /// to it at finalize.
    pub host_wins: u16,
}

/// Request `id` and its deposit: as stored, or, for a compact batch's job, as its logs rebuild
/// it (held as a hash, or paid out as a job: then Finalized, to its host).
pub(crate) async fn read(
    client: &Client,
    id: u64,
) -> Result<(ecm_bindings::IBroker::Request, U256)> {
    let chain = client.chain();
    let broker = chain.broker();
    let from = client.deployment().deployed_at_block;
    // A job moving between two reads (its logs behind its word) is reported as such.
    let behind = || ecm_chain::Error::JobLogsBehind { id: U256::from(id) };
    let holding = chain
        .holding(U256::from(id), from, None)
        .await?
        .ok_or_else(behind)?;
    let deposit = match &holding {
        Holding::Stored(_) => {
            chain
                .call("requiredDeposit", broker.requiredDeposit(U256::from(id)))
                .await?
        }
        Holding::Job(job) | Holding::PaidOut { job: Some(job), .. } => {
            chain
                .call(
                    "requiredJobDeposit",
                    broker.requiredJobDeposit((**job).clone()),
                )
                .await?
        }
        Holding::PaidOut { job: None, .. } => return Err(behind().into()),
    };
    Ok((holding.request(), deposit))
}

pub(crate) async fn fetch(client: &Client, id: u64) -> Result<RequestStatus> {
    let chain = client.chain();
    let broker = chain.broker();
    let (r, deposit) = read(client, id).await?;
    let block = chain.block_number().await?;
    let known = |source| crate::Error::UnknownValue { id, source };
    let status = Status::try_from(r.status).map_err(known)?;
    let mode = DisputeMode::try_from(r.mode).map_err(known)?;
    let program = client
        .deployment()
        .program_name(r.programId)
        .unwrap_or("unknown")
        .to_string();
    let host = (r.host != Address::ZERO).then_some(r.host);
    // While Committed, the claim slot holds the commitment: there is no answer to show yet.
    let (result, final_) = if r.claim == B256::ZERO || status == Status::Committed {
        (None, None)
    } else {
        standing_result(client, id, r.claim).await?
    };
    let machine = client.deployment().is_machine_program(&program);
    let result_display = match (&result, ecm_programs::by_name(&program)) {
        (Some(result), _) if machine => Some(show_machine_result(result, final_ == Some(true))),
        (Some(result), Ok(spec)) => Some(spec.show_result(result)),
        _ => None,
    };
    let game = if status == Status::Resolving && mode == DisputeMode::Bisection {
        let g = chain
            .call("getGame", broker.getGame(U256::from(id)))
            .await?;
        let defender_moves = Phase::try_from(g.phase).map_err(known)? != Phase::Select;
        let clock = if defender_moves {
            g.defenderClock
        } else {
            g.challengerClock
        };
        Some(GameView {
            lo: g.lo,
            hi: g.hi,
            mover: if defender_moves {
                "defender"
            } else {
                "challenger"
            },
            deadline: u64::try_from(g.turnStart).unwrap_or_default() + u64::from(clock),
        })
    } else {
        None
    };
    let opened = matches!(status, Status::Resolving | Status::Finalized);
    let tournament = if mode == DisputeMode::Tournament && opened {
        let contract = chain.tournaments();
        let t = chain
            .call("getTournament", contract.getTournament(U256::from(id)))
            .await?;
        let block = |b: alloy::primitives::aliases::U48| u64::try_from(b).unwrap_or_default();
        (t.entries > 0).then(|| TournamentSummary {
            entries: t.entries,
            eliminated: t.eliminated,
            standing_claims: t.standingClaims,
            entry_deadline: block(t.entryDeadline),
            start_deadline: block(t.startDeadline),
            end_deadline: block(t.endDeadline),
            over: t.over,
            decided: t.decided,
        })
    } else {
        None
    };
    Ok(RequestStatus {
        id,
        status,
        program,
        requester: r.requester,
        payment: U256::from(r.payment),
        deposit,
        mode,
        min_host_jobs: r.minHostJobs,
        host,
        claim: r.claim,
        steps: r.steps,
        result,
        final_,
        result_display,
        disputes: r.disputes,
        host_wins: r.hostWins,
        deadline: u64::try_from(r.deadline).unwrap_or_default(),
        block,
        game,
        tournament,
    })
}

/// The result behind the standing claim, from the answers and challenges logged for `id`.
async fn standing_result(
    client: &Client,
    id: u64,
    claim: B256,
) -> Result<(Option<Bytes>, Option<bool>)> {
    // Answers, challenges and tournament entries in one query (the explorer reads this for
    // every request a block touched): a claim is a commitment to its result, so whichever log
    // matches has it.
    let events = vec![
        Broker::Answered::SIGNATURE_HASH,
        Broker::Challenged::SIGNATURE_HASH,
        Broker::Entered::SIGNATURE_HASH,
    ];
    for log in client.request_logs(id, events).await? {
        let (result, final_) = if let Ok(e) =
            Broker::Answered::decode_raw_log(log.topics(), &log.data().data)
        {
            (e.result, e.final_)
        } else if let Ok(e) = Broker::Challenged::decode_raw_log(log.topics(), &log.data().data) {
            (e.result, e.final_)
        } else if let Ok(e) = Broker::Entered::decode_raw_log(log.topics(), &log.data().data) {
            (e.result, e.final_)
        } else {
            continue;
        };
        if ecm_primitives::commitment(final_, &result) == claim {
            return Ok((Some(result), Some(final_)));
        }
    }
    Ok((None, None))
}

/// A machine program's answer in its own terms: its stdout as text (escaped where it is not
/// printable), with the exit code if not 0; a trap; or the state hash when out of steps.
fn show_machine_result(result: &[u8], final_: bool) -> String {
    if !final_ {
        return format!("out of steps at state {}", Bytes::copy_from_slice(result));
    }
    if result.len() < 4 {
        return "trapped (no output)".into();
    }
    let exit_code = u32::from_le_bytes(result[..4].try_into().expect("four bytes"));
    let text = String::from_utf8_lossy(&result[4..])
        .escape_debug()
        .to_string();
    match exit_code {
        0 => format!("\"{text}\""),
        code => format!("exit code {code}, \"{text}\""),
    }
}
