//! What to do next on a request, decided from the chain's state and our claim alone.
//!
//! [`decide`] is a pure function, so every branch of the agents' behaviour is unit-tested
//! here, and a restarted agent takes exactly the decisions it would have taken.

use crate::Roles;
use alloy::primitives::{Address, B256};
use ecm_bindings::{
    IBroker::{Challenge, Game, Request},
    protocol::{DisputeMode, Phase, Status},
};
use std::fmt;

/// How a job ended for the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Our answer stood: its payment and our deposit were ours.
    Paid,
    /// We put money on the request and the other side's claim stood.
    Lost,
    /// It ended without our money on it.
    Settled,
    /// The requester cancelled it.
    Cancelled,
    /// We would not serve it (an unknown program, a run past our limits, ...).
    Refused,
}

impl Outcome {
    /// Every outcome, in the order metrics list them.
    pub const ALL: [Self; 5] = [
        Self::Paid,
        Self::Lost,
        Self::Settled,
        Self::Cancelled,
        Self::Refused,
    ];

    /// The outcome's name in logs, job files and metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Lost => "lost",
            Self::Settled => "settled",
            Self::Cancelled => "cancelled",
            Self::Refused => "refused",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown job outcome `{s}`"))
    }
}

/// The next thing to do on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing now; look again when something happens, or at block `until` at the latest.
    Wait {
        /// A block at which the situation changes by itself (a deadline passes).
        until: Option<u64>,
    },
    /// Compute our claim, to answer with it: the agent first checks that it may answer (the
    /// request's gas price bound, its host admission), so that a request it could never answer
    /// costs no computation.
    Compute,
    /// Answer with our claim and the deposit.
    Answer,
    /// Commit to our claim with the deposit, to reveal it next (no one can copy it).
    Commit,
    /// Reveal the claim we committed to.
    Reveal,
    /// End a commitment not revealed in time (ours, or another host's holding the request).
    Expire,
    /// Challenge the standing answer with our claim and the deposit.
    Challenge,
    /// Start the dispute we opened.
    Start,
    /// Post the split-point commitments (defender's move).
    Bisect,
    /// Pick the sub-segment we dispute (challenger's move).
    Select,
    /// Reveal the agreed point and have the Broker run the one step.
    Prove,
    /// The other side missed its deadline: claim the win.
    Timeout,
    /// Drive the full re-execution.
    Execute,
    /// Accept our answer once its window has passed.
    SoftResolve,
    /// Collect the payment and deposit of our resolved answer.
    Finalize,
    /// Nothing more to do, ever: how it ended for us.
    Done(Outcome),
}

/// What [`decide`] looks at.
#[derive(Clone, Debug)]
pub struct View<'a> {
    /// Our account.
    pub me: Address,
    /// What we do.
    pub roles: Roles,
    /// The latest block.
    pub block: u64,
    /// The request.
    pub request: &'a Request,
    /// Its open challenge (zero if none).
    pub challenge: &'a Challenge,
    /// Its bisection game (zero if none).
    pub game: &'a Game,
    /// The commitment of our claim, once computed.
    pub claim: Option<B256>,
    /// Standing claims we already challenged.
    pub challenged: &'a [B256],
    /// Whether we put money on this request.
    pub engaged: bool,
    /// Blocks of margin kept before a deadline (a transaction needs time to land).
    pub margin: u64,
    /// Whether we answer by commitment and reveal.
    pub commit_answers: bool,
}

/// The next action on a request.
pub fn decide(v: &View<'_>) -> Action {
    let r = v.request;
    // A number this build does not know comes from a newer Broker: do nothing rather than guess.
    let (Ok(status), Ok(mode)) = (Status::try_from(r.status), DisputeMode::try_from(r.mode)) else {
        return Action::Wait { until: None };
    };
    let ours = r.host == v.me;
    let challenging = v.challenge.challenger == v.me;
    let deadline = u64::try_from(r.deadline).unwrap_or(u64::MAX);
    match status {
        Status::Pending if v.roles.answer => match v.claim {
            Some(_) if v.commit_answers => Action::Commit,
            Some(_) => Action::Answer,
            None => Action::Compute,
        },
        Status::Pending => Action::Wait { until: None },
        // Our commitment: reveal it while we may; past its deadline our deposit is gone, and
        // ending it lets us (or anyone) answer again.
        Status::Committed if ours && v.block <= deadline => match v.claim {
            Some(_) => Action::Reveal,
            // (After a restart, until the trace is computed again.)
            None => Action::Wait { until: None },
        },
        Status::Committed if ours || (v.roles.answer && v.block > deadline) => Action::Expire,
        Status::Committed => Action::Wait {
            until: Some(deadline + 1),
        },
        Status::Cancelled => Action::Done(Outcome::Cancelled),
        Status::Finalized if ours => Action::Done(Outcome::Paid),
        Status::Finalized if v.engaged => Action::Done(Outcome::Lost),
        Status::Finalized => Action::Done(Outcome::Settled),
        Status::SoftResolution | Status::FirmResolution if ours => Action::Finalize,
        Status::SoftResolution | Status::FirmResolution => Action::Wait { until: None },
        Status::WaitingForResolution if ours => {
            if v.block > deadline {
                Action::SoftResolve
            } else {
                Action::Wait {
                    until: Some(deadline + 1),
                }
            }
        }
        Status::WaitingForResolution => {
            let wrong = matches!(v.claim, Some(claim) if claim != r.claim);
            let in_time = v.block + v.margin <= deadline;
            if v.roles.challenge && wrong && in_time && !v.challenged.contains(&r.claim) {
                Action::Challenge
            } else if v.block > deadline {
                Action::Wait { until: None }
            } else {
                Action::Wait {
                    until: Some(deadline + 1),
                }
            }
        }
        Status::NeedsResolution if challenging => {
            if v.block <= deadline {
                Action::Start
            } else {
                Action::Wait { until: None }
            }
        }
        Status::NeedsResolution if ours => {
            if v.block > deadline {
                Action::Timeout
            } else {
                Action::Wait {
                    until: Some(deadline + 1),
                }
            }
        }
        Status::NeedsResolution => Action::Wait {
            until: Some(deadline + 1),
        },
        Status::Resolving => match mode {
            DisputeMode::FullExecution if ours || challenging => Action::Execute,
            DisputeMode::FullExecution => Action::Wait { until: None },
            DisputeMode::Bisection => decide_move(v, ours, challenging),
            // A tournament is played by its own decision (`crate::tournament::next_steps`),
            // which the agent takes instead of this one once the tournament is open.
            DisputeMode::Tournament => Action::Wait { until: None },
        },
    }
}

fn decide_move(v: &View<'_>, ours: bool, challenging: bool) -> Action {
    let g = v.game;
    let Ok(phase) = Phase::try_from(g.phase) else {
        return Action::Wait { until: None };
    };
    let defender_moves = phase != Phase::Select;
    let clock = if defender_moves {
        g.defenderClock
    } else {
        g.challengerClock
    };
    let deadline = u64::try_from(g.turnStart).unwrap_or(u64::MAX) + u64::from(clock);
    let our_move = if defender_moves { ours } else { challenging };
    if our_move {
        return match phase {
            Phase::Bisect => Action::Bisect,
            Phase::Select => Action::Select,
            Phase::OneStep => Action::Prove,
            Phase::None => Action::Wait { until: None },
        };
    }
    if !(ours || challenging) {
        return Action::Wait { until: None };
    }
    if v.block > deadline {
        Action::Timeout
    } else if phase == Phase::OneStep && challenging {
        // The challenger agrees with the left end too: revealing it ends the game at once.
        Action::Prove
    } else {
        Action::Wait {
            until: Some(deadline + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::aliases::U48;

    const ME: Address = Address::repeat_byte(0xaa);
    const OTHER: Address = Address::repeat_byte(0xbb);

    fn request(status: Status, host: Address, deadline: u64) -> Request {
        Request {
            requester: Address::repeat_byte(0x11),
            status: status.into(),
            mode: u8::from(DisputeMode::Bisection),
            softResolutionBlocks: 10,
            deadline: U48::from(deadline),
            programId: B256::ZERO,
            inputCommitment: B256::ZERO,
            payment: alloy::primitives::aliases::U96::from(1),
            maxGasPrice: U48::ZERO,
            minHostJobs: 0,
            maxSteps: 100,
            maxStepGas: 20_000,
            host,
            steps: 10,
            hostWins: 0,
            disputes: 0,
            claim: B256::repeat_byte(1),
        }
    }

    fn game(phase: Phase, turn_start: u64, clock: u32) -> Game {
        Game {
            lo: 0,
            hi: 10,
            turnStart: U48::from(turn_start),
            defenderClock: clock,
            challengerClock: clock,
            phase: phase.into(),
            cLo: B256::ZERO,
            cHi: B256::ZERO,
            pointsHash: B256::ZERO,
        }
    }

    struct Case {
        request: Request,
        challenge: Challenge,
        game: Game,
        roles: Roles,
        claim: Option<B256>,
        block: u64,
        challenged: Vec<B256>,
        engaged: bool,
        commit_answers: bool,
    }

    impl Case {
        fn new(request: Request) -> Self {
            Self {
                request,
                challenge: Challenge {
                    challenger: Address::ZERO,
                    steps: 0,
                    claim: B256::ZERO,
                },
                game: game(Phase::None, 0, 0),
                roles: Roles::HOST,
                claim: Some(B256::repeat_byte(1)),
                block: 100,
                challenged: vec![],
                engaged: false,
                commit_answers: false,
            }
        }

        fn decide(&self) -> Action {
            decide(&View {
                me: ME,
                roles: self.roles,
                block: self.block,
                request: &self.request,
                challenge: &self.challenge,
                game: &self.game,
                claim: self.claim,
                challenged: &self.challenged,
                engaged: self.engaged,
                margin: 2,
                commit_answers: self.commit_answers,
            })
        }
    }

    #[test]
    fn host_commits_then_reveals_then_ends_a_stale_commitment() {
        let mut case = Case::new(request(Status::Pending, Address::ZERO, 0));
        case.commit_answers = true;
        assert_eq!(case.decide(), Action::Commit);
        // Ours, before its deadline: reveal; after it: end it (and commit again).
        case.request = request(Status::Committed, ME, 110);
        assert_eq!(case.decide(), Action::Reveal);
        case.block = 111;
        assert_eq!(case.decide(), Action::Expire);
        // Another host's: wait for its deadline, then free the request.
        case.request = request(Status::Committed, Address::repeat_byte(9), 110);
        case.block = 100;
        assert_eq!(case.decide(), Action::Wait { until: Some(111) });
        case.block = 111;
        assert_eq!(case.decide(), Action::Expire);
        // A challenger has no use for the request: it leaves it.
        case.roles = Roles::CHALLENGER;
        assert_eq!(case.decide(), Action::Wait { until: Some(111) });
    }

    #[test]
    fn host_computes_then_answers() {
        let mut case = Case::new(request(Status::Pending, Address::ZERO, 0));
        assert_eq!(case.decide(), Action::Answer);
        case.claim = None;
        assert_eq!(case.decide(), Action::Compute);
        case.roles = Roles::CHALLENGER;
        case.claim = Some(B256::ZERO);
        assert_eq!(
            case.decide(),
            Action::Wait { until: None },
            "challengers do not answer"
        );
    }

    #[test]
    fn host_resolves_after_the_window_and_finalizes() {
        let mut case = Case::new(request(Status::WaitingForResolution, ME, 150));
        assert_eq!(case.decide(), Action::Wait { until: Some(151) });
        case.block = 151;
        assert_eq!(case.decide(), Action::SoftResolve);
        case.request.status = u8::from(Status::SoftResolution);
        assert_eq!(case.decide(), Action::Finalize);
        case.request.status = u8::from(Status::Finalized);
        assert_eq!(case.decide(), Action::Done(Outcome::Paid));
    }

    #[test]
    fn challenger_disputes_wrong_answers_in_time_and_only_once() {
        let mut case = Case::new(request(Status::WaitingForResolution, OTHER, 150));
        case.roles = Roles::CHALLENGER;
        case.claim = Some(B256::repeat_byte(2));
        assert_eq!(case.decide(), Action::Challenge);
        case.block = 149; // within the margin of the deadline: too late to land safely
        assert_eq!(case.decide(), Action::Wait { until: Some(151) });
        case.block = 100;
        case.challenged = vec![B256::repeat_byte(1)];
        assert_eq!(
            case.decide(),
            Action::Wait { until: Some(151) },
            "never the same claim twice"
        );
        case.challenged = vec![];
        case.claim = Some(B256::repeat_byte(1));
        assert_eq!(
            case.decide(),
            Action::Wait { until: Some(151) },
            "the answer is right"
        );
    }

    #[test]
    fn challenger_starts_its_dispute_and_defender_times_it_out() {
        let mut case = Case::new(request(Status::NeedsResolution, OTHER, 120));
        case.challenge.challenger = ME;
        assert_eq!(case.decide(), Action::Start);
        let mut defender = Case::new(request(Status::NeedsResolution, ME, 120));
        defender.challenge.challenger = OTHER;
        assert_eq!(defender.decide(), Action::Wait { until: Some(121) });
        defender.block = 121;
        assert_eq!(defender.decide(), Action::Timeout);
    }

    #[test]
    fn moves_by_phase_and_timeouts_by_clock() {
        let mut case = Case::new(request(Status::Resolving, ME, 0));
        case.challenge.challenger = OTHER;
        case.game = game(Phase::Bisect, 90, 20);
        assert_eq!(case.decide(), Action::Bisect);
        case.game.phase = u8::from(Phase::OneStep);
        assert_eq!(case.decide(), Action::Prove);
        case.game.phase = u8::from(Phase::Select);
        assert_eq!(case.decide(), Action::Wait { until: Some(111) });
        case.block = 111;
        assert_eq!(case.decide(), Action::Timeout);

        let mut challenger = Case::new(request(Status::Resolving, OTHER, 0));
        challenger.challenge.challenger = ME;
        challenger.game = game(Phase::Select, 90, 20);
        assert_eq!(challenger.decide(), Action::Select);
        challenger.game.phase = u8::from(Phase::OneStep);
        assert_eq!(
            challenger.decide(),
            Action::Prove,
            "the challenger may reveal the agreed point"
        );
        challenger.game.phase = u8::from(Phase::Bisect);
        challenger.block = 200;
        assert_eq!(challenger.decide(), Action::Timeout);
    }

    #[test]
    fn full_execution_is_driven_by_both_parties_only() {
        let mut case = Case::new(request(Status::Resolving, ME, 0));
        case.request.mode = u8::from(DisputeMode::FullExecution);
        assert_eq!(case.decide(), Action::Execute);
        case.request.host = OTHER;
        assert_eq!(case.decide(), Action::Wait { until: None });
    }

    #[test]
    fn tournament_requests_are_answered_and_challenged_as_any_other() {
        let wrong = B256::repeat_byte(7);
        let mut case = Case::new(request(Status::Pending, OTHER, 200));
        case.request.mode = u8::from(DisputeMode::Tournament);
        case.claim = Some(wrong);
        assert_eq!(case.decide(), Action::Answer);
        // The first challenge opens the tournament (the Broker hands it to its module).
        case.request.status = u8::from(Status::WaitingForResolution);
        case.roles = Roles::CHALLENGER;
        assert_eq!(case.decide(), Action::Challenge);
        // Open, it is played by `tournament::next_steps`, not by this decision.
        case.request.status = u8::from(Status::Resolving);
        assert_eq!(case.decide(), Action::Wait { until: None });
    }

    #[test]
    fn endings() {
        let mut case = Case::new(request(Status::Finalized, OTHER, 0));
        assert_eq!(case.decide(), Action::Done(Outcome::Settled));
        case.engaged = true;
        assert_eq!(case.decide(), Action::Done(Outcome::Lost));
        case.request.status = u8::from(Status::Cancelled);
        assert_eq!(case.decide(), Action::Done(Outcome::Cancelled));
    }

    #[test]
    fn numbers_a_newer_broker_might_use_are_left_alone() {
        let mut case = Case::new(request(Status::Pending, ME, 0));
        case.request.status = Status::ALL.len() as u8;
        assert_eq!(case.decide(), Action::Wait { until: None });
        let mut case = Case::new(request(Status::Resolving, ME, 0));
        case.request.mode = DisputeMode::ALL.len() as u8;
        assert_eq!(case.decide(), Action::Wait { until: None });
        case.request.mode = u8::from(DisputeMode::Bisection);
        case.game = game(Phase::Bisect, 90, 20);
        case.block = 95;
        assert_eq!(case.decide(), Action::Bisect);
        case.game.phase = 4;
        assert_eq!(case.decide(), Action::Wait { until: None });
    }

    #[test]
    fn outcomes_read_back_from_their_names() {
        for outcome in Outcome::ALL {
            assert_eq!(outcome.as_str().parse(), Ok(outcome));
        }
        assert!("won".parse::<Outcome>().is_err());
    }
}
