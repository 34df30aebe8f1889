//! What to do next on a request, decided from the chain's state and our claim alone.
//!
//! [`decide`] is a pure function, so every branch of the agents' behaviour is unit-tested
//! here, and a restarted agent takes exactly the decisions it would have taken.

use crate::Roles;
use alloy::primitives::{Address, B256};
use ecm_bindings::IBroker::{Challenge, Game, Request};

/// Statuses, as the Broker numbers them.
mod status {
    pub(super) const PENDING: u8 = 0;
    pub(super) const WAITING: u8 = 1;
    pub(super) const NEEDS_RESOLUTION: u8 = 2;
    pub(super) const RESOLVING: u8 = 3;
    pub(super) const SOFT: u8 = 4;
    pub(super) const FIRM: u8 = 5;
    pub(super) const FINALIZED: u8 = 6;
    pub(super) const CANCELLED: u8 = 7;
}

/// Game phases and dispute modes, as the Broker numbers them.
const PHASE_BISECT: u8 = 1;
const PHASE_SELECT: u8 = 2;
const PHASE_ONE_STEP: u8 = 3;
const MODE_BISECTION: u8 = 0;

/// The next thing to do on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing now; look again when something happens, or at block `until` at the latest.
    Wait {
        /// A block at which the situation changes by itself (a deadline passes).
        until: Option<u64>,
    },
    /// Answer with our claim and the deposit.
    Answer,
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
    Done(&'static str),
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
}

/// The next action on a request.
pub fn decide(v: &View<'_>) -> Action {
    let r = v.request;
    let ours = r.host == v.me;
    let challenging = v.challenge.challenger == v.me;
    let deadline = u64::try_from(r.deadline).unwrap_or(u64::MAX);
    match r.status {
        status::PENDING if v.roles.answer => match v.claim {
            Some(_) => Action::Answer,
            None => Action::Wait { until: None },
        },
        status::PENDING => Action::Wait { until: None },
        status::CANCELLED => Action::Done("cancelled"),
        status::FINALIZED if ours => Action::Done("paid"),
        status::FINALIZED if v.engaged => Action::Done("lost"),
        status::FINALIZED => Action::Done("settled"),
        status::SOFT | status::FIRM if ours => Action::Finalize,
        status::SOFT | status::FIRM => Action::Wait { until: None },
        status::WAITING if ours => {
            if v.block > deadline {
                Action::SoftResolve
            } else {
                Action::Wait {
                    until: Some(deadline + 1),
                }
            }
        }
        status::WAITING => {
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
        status::NEEDS_RESOLUTION if challenging => {
            if v.block <= deadline {
                Action::Start
            } else {
                Action::Wait { until: None }
            }
        }
        status::NEEDS_RESOLUTION if ours => {
            if v.block > deadline {
                Action::Timeout
            } else {
                Action::Wait {
                    until: Some(deadline + 1),
                }
            }
        }
        status::NEEDS_RESOLUTION => Action::Wait {
            until: Some(deadline + 1),
        },
        status::RESOLVING if r.mode != MODE_BISECTION => {
            if ours || challenging {
                Action::Execute
            } else {
                Action::Wait { until: None }
            }
        }
        status::RESOLVING => decide_move(v, ours, challenging),
        _ => Action::Wait { until: None },
    }
}

fn decide_move(v: &View<'_>, ours: bool, challenging: bool) -> Action {
    let g = v.game;
    let defender_moves = g.phase != PHASE_SELECT;
    let clock = if defender_moves {
        g.defenderClock
    } else {
        g.challengerClock
    };
    let deadline = u64::try_from(g.turnStart).unwrap_or(u64::MAX) + u64::from(clock);
    let our_move = if defender_moves { ours } else { challenging };
    if our_move {
        return match g.phase {
            PHASE_BISECT => Action::Bisect,
            PHASE_SELECT => Action::Select,
            PHASE_ONE_STEP => Action::Prove,
            _ => Action::Wait { until: None },
        };
    }
    if !(ours || challenging) {
        return Action::Wait { until: None };
    }
    if v.block > deadline {
        Action::Timeout
    } else if g.phase == PHASE_ONE_STEP && challenging {
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
    use alloy::primitives::{U256, aliases::U48};

    const ME: Address = Address::repeat_byte(0xaa);
    const OTHER: Address = Address::repeat_byte(0xbb);

    fn request(status: u8, host: Address, deadline: u64) -> Request {
        Request {
            requester: Address::repeat_byte(0x11),
            status,
            mode: MODE_BISECTION,
            softResolutionBlocks: 10,
            deadline: U48::from(deadline),
            programId: B256::ZERO,
            inputCommitment: B256::ZERO,
            payment: alloy::primitives::aliases::U96::from(1),
            maxGasPrice: 0,
            maxSteps: 100,
            maxStepGas: 20_000,
            host,
            steps: 10,
            hostWins: 0,
            disputes: 0,
            claim: B256::repeat_byte(1),
        }
    }

    fn game(phase: u8, turn_start: u64, clock: u32) -> Game {
        Game {
            lo: 0,
            hi: 10,
            turnStart: U48::from(turn_start),
            defenderClock: clock,
            challengerClock: clock,
            phase,
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
                game: game(0, 0, 0),
                roles: Roles::HOST,
                claim: Some(B256::repeat_byte(1)),
                block: 100,
                challenged: vec![],
                engaged: false,
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
            })
        }
    }

    #[test]
    fn host_answers_once_computed() {
        let mut case = Case::new(request(status::PENDING, Address::ZERO, 0));
        assert_eq!(case.decide(), Action::Answer);
        case.claim = None;
        assert_eq!(case.decide(), Action::Wait { until: None });
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
        let mut case = Case::new(request(status::WAITING, ME, 150));
        assert_eq!(case.decide(), Action::Wait { until: Some(151) });
        case.block = 151;
        assert_eq!(case.decide(), Action::SoftResolve);
        case.request.status = status::SOFT;
        assert_eq!(case.decide(), Action::Finalize);
        case.request.status = status::FINALIZED;
        assert_eq!(case.decide(), Action::Done("paid"));
    }

    #[test]
    fn challenger_disputes_wrong_answers_in_time_and_only_once() {
        let mut case = Case::new(request(status::WAITING, OTHER, 150));
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
        let mut case = Case::new(request(status::NEEDS_RESOLUTION, OTHER, 120));
        case.challenge.challenger = ME;
        assert_eq!(case.decide(), Action::Start);
        let mut defender = Case::new(request(status::NEEDS_RESOLUTION, ME, 120));
        defender.challenge.challenger = OTHER;
        assert_eq!(defender.decide(), Action::Wait { until: Some(121) });
        defender.block = 121;
        assert_eq!(defender.decide(), Action::Timeout);
    }

    #[test]
    fn moves_by_phase_and_timeouts_by_clock() {
        let mut case = Case::new(request(status::RESOLVING, ME, 0));
        case.challenge.challenger = OTHER;
        case.game = game(PHASE_BISECT, 90, 20);
        assert_eq!(case.decide(), Action::Bisect);
        case.game.phase = PHASE_ONE_STEP;
        assert_eq!(case.decide(), Action::Prove);
        case.game.phase = PHASE_SELECT;
        assert_eq!(case.decide(), Action::Wait { until: Some(111) });
        case.block = 111;
        assert_eq!(case.decide(), Action::Timeout);

        let mut challenger = Case::new(request(status::RESOLVING, OTHER, 0));
        challenger.challenge.challenger = ME;
        challenger.game = game(PHASE_SELECT, 90, 20);
        assert_eq!(challenger.decide(), Action::Select);
        challenger.game.phase = PHASE_ONE_STEP;
        assert_eq!(
            challenger.decide(),
            Action::Prove,
            "the challenger may reveal the agreed point"
        );
        challenger.game.phase = PHASE_BISECT;
        challenger.block = 200;
        assert_eq!(challenger.decide(), Action::Timeout);
    }

    #[test]
    fn full_execution_is_driven_by_both_parties_only() {
        let mut case = Case::new(request(status::RESOLVING, ME, 0));
        case.request.mode = 1;
        assert_eq!(case.decide(), Action::Execute);
        case.request.host = OTHER;
        assert_eq!(case.decide(), Action::Wait { until: None });
    }

    #[test]
    fn endings() {
        let mut case = Case::new(request(status::FINALIZED, OTHER, 0));
        assert_eq!(case.decide(), Action::Done("settled"));
        case.engaged = true;
        assert_eq!(case.decide(), Action::Done("lost"));
        case.request.status = status::CANCELLED;
        assert_eq!(case.decide(), Action::Done("cancelled"));
        let _ = U256::ZERO;
    }
}
