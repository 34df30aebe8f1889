//! Playing a tournament-mode dispute (`IBrokerTournaments`): read the tournament, decide every
//! step due now ([`crate::tournament::next_steps`]) and send them all, one transaction each.
//! Sending them together is what bounds the settlement whatever the number of puppets: every
//! game of ours runs its clock at once.

use super::{ActContext, ActError, Acted, OneStep, Seen, Sent, prove_gas};
use crate::tournament::{self, Situation, Step, Tournament};
use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    rpc::types::{Filter, TransactionReceipt},
    sol_types::SolEvent,
};
use ecm_bindings::{
    IBroker,
    protocol::{DisputeMode, Status},
    tournaments::BrokerTournaments,
};
use ecm_primitives::Claim;
use tracing::warn;

impl ActContext {
    /// Acts on request `id` if it is a tournament-mode request whose tournament was opened
    /// (it is `Resolving`, or `Finalized` with entries to collect): `None` for any other
    /// request, which [`crate::decide`] handles as one game.
    pub(super) async fn act_in_tournament(
        &self,
        id: U256,
        request: &IBroker::Request,
        seen: &mut Option<Seen>,
    ) -> Result<Option<Acted>, ActError> {
        let status = Status::try_from(request.status).ok();
        let settled = match status {
            Some(Status::Resolving) => false,
            Some(Status::Finalized) => true,
            _ => return Ok(None),
        };
        if DisputeMode::try_from(request.mode) != Ok(DisputeMode::Tournament) {
            return Ok(None);
        }
        let t = tournament::read(&self.chain, id, self.me, settled, self.block).await?;
        if t.entries.is_empty() {
            // Finalized on its happy path: no dispute was ever opened.
            return Ok(None);
        }
        // Our money is on the request while one of our entries stands (or, settled, until
        // it is collected).
        let engaged = t
            .entries
            .iter()
            .any(|e| e.party == self.me && !e.eliminated);
        *seen = Some(self.seen_in_tournament(id, engaged).await?);

        let claim = self.job.claim.as_ref().map(Claim::commitment);
        let (mut steps, wake) = match claim {
            Some(claim) => tournament::next_steps(&Situation {
                me: self.me,
                claim,
                block: self.block,
                margin: self.config.deadline_margin,
                tournament: &t,
            }),
            // Our claim is what every step is decided by: compute it first (after a restart,
            // or a challenger that had not looked at this request yet).
            None if engaged || self.config.roles.challenge => return Ok(Some(Acted::NeedTrace)),
            None => (Vec::new(), None),
        };
        // Putting a new claim on the request is a challenger's (a host's claim is the answer).
        if !self.config.roles.challenge {
            steps.retain(|s| !matches!(s, Step::ChallengeAnswer | Step::Enter));
        }
        if steps.is_empty() {
            if settled && !t.entries.iter().any(|e| e.owes(self.me)) {
                return Ok(Some(self.tournament_done(id, request, claim).await?));
            }
            return Ok(Some(Acted::Wait(wake)));
        }
        if self.oracle.is_none() && steps.iter().any(needs_trace) {
            return Ok(Some(Acted::NeedTrace));
        }
        // All at once: each waits for its own receipt, so a dozen puppets challenged and a move
        // due in our main game land in the same block or two, not one after the other.
        let sends = steps
            .iter()
            .map(|&step| self.send_step(id, request, &t, step));
        let results = futures::future::join_all(sends).await;
        let mut sent = Vec::new();
        let mut failed = None;
        for (step, result) in steps.iter().zip(results) {
            match result {
                Ok(Some(s)) => sent.push(s),
                Ok(None) => {}
                Err(e) => {
                    warn!(target: "agent", id = self.job.id, ?step, error = %e, "a tournament step failed; deciding again next tick");
                    failed.get_or_insert(e);
                }
            }
        }
        Ok(Some(match failed {
            // What landed is recorded; what failed is decided again on the next tick.
            Some(e) if sent.is_empty() => return Err(e),
            _ if sent.is_empty() => Acted::Wait(wake),
            _ => Acted::Played(sent),
        }))
    }

    /// What the chain shows of our stake in the tournament, for the engine's record (as
    /// [`ActContext::try_act`] reads it for one game).
    async fn seen_in_tournament(&self, id: U256, engaged: bool) -> Result<Seen, ActError> {
        let vanished_stake = self.vanished_stake(engaged).await?;
        let unrecorded_stake = if engaged && !self.job.is_engaged() {
            let deposit = self.deposit(id, None).await?;
            Some((deposit, self.find_stake_tx(id).await?))
        } else {
            None
        };
        Ok(Seen {
            engaged,
            challenging: None,
            vanished_stake,
            unrecorded_stake,
        })
    }

    /// The job's end once the tournament is settled and none of our entries is left to
    /// collect: paid if the payment was ours (our claim stood, and our entry was the answer or
    /// the answer's entry fell), lost if our money was on another claim, else settled (we stood
    /// beside a standing answer, paid by the deposits we won; or it ended undecided, or without
    /// our money). Only once the settlement is as deep as our confirmations.
    async fn tournament_done(
        &self,
        id: U256,
        request: &IBroker::Request,
        claim: Option<B256>,
    ) -> Result<Acted, ActError> {
        if !self.finalized_deep_enough(id, request).await? {
            return Ok(Acted::Wait(Some(self.block + 1)));
        }
        use crate::decide::Outcome;
        // The Broker keeps the answer's author as the request's host only while its entry stood.
        let payment_ours = request.host == self.me || request.host == Address::ZERO;
        let outcome = if !self.job.is_engaged() || request.claim == B256::ZERO {
            Outcome::Settled
        } else if Some(request.claim) != claim {
            Outcome::Lost
        } else if payment_ours {
            Outcome::Paid
        } else {
            Outcome::Settled
        };
        Ok(Acted::Done(outcome))
    }

    /// Sends one step; `None` if on a closer look it is not ours to send now.
    async fn send_step(
        &self,
        id: U256,
        request: &IBroker::Request,
        t: &Tournament,
        step: Step,
    ) -> Result<Option<Sent>, ActError> {
        let contract = self.chain.tournaments();
        let send =
            |what: String, receipt: TransactionReceipt| Sent::landed(self.job.id, what, &receipt);
        Ok(Some(match step {
            Step::ChallengeAnswer | Step::Enter => {
                let (claim, deposit) = self.stake(id, None).await?;
                let (result, steps, final_) = (claim.result.clone(), claim.steps, claim.final_);
                let (receipt, what) = if step == Step::ChallengeAnswer {
                    let broker = self.chain.broker();
                    let call = broker
                        .challengeAnswer_1(id, result, steps, final_)
                        .value(deposit);
                    let what = format!("entered the tournament against {}'s answer", request.host);
                    (self.chain.send("challengeAnswer", call).await?, what)
                } else {
                    let call = contract.enter(id, result, steps, final_).value(deposit);
                    let what = "entered our claim in the tournament".to_string();
                    (self.chain.send("enter", call).await?, what)
                };
                Sent {
                    engages: true,
                    staked: Some(deposit),
                    ..send(what, receipt)
                }
            }
            Step::ChallengeEntry { ours, theirs } => {
                let call = contract.challengeEntry(id, ours, theirs);
                let receipt = self.chain.send("challengeEntry", call).await?;
                send(
                    format!("challenged entry {theirs} with ours ({ours})"),
                    receipt,
                )
            }
            Step::Bisect { game } => {
                let (_, g) = self.game(id, game).await?;
                let oracle = self.oracle.clone().expect("checked before sending");
                let points = self.our_points(oracle, &g).await?;
                let call = contract.bisect(id, U256::from(game), points);
                let receipt = self.chain.send("bisect", call).await?;
                send(
                    format!("bisected [{}, {}] in game {game:#x}", g.lo, g.hi),
                    receipt,
                )
            }
            Step::Select { game } => {
                let (_, g) = self.game(id, game).await?;
                let posted = self.posted_game_points(id, game, &g).await?;
                let oracle = self.oracle.clone().expect("checked before sending");
                let Some(index) = self.our_segment(oracle, &g, posted.clone()).await? else {
                    return Ok(None);
                };
                let call = contract.selectSegment(id, U256::from(game), posted, U256::from(index));
                let receipt = self.chain.send("selectSegment", call).await?;
                let (lo, hi) = (g.lo, g.hi);
                send(
                    format!("selected segment {index} of [{lo}, {hi}] in game {game:#x}"),
                    receipt,
                )
            }
            Step::Prove { game } => {
                let (defender, g) = self.game(id, game).await?;
                let defending = t
                    .entries
                    .get(defender as usize)
                    .is_some_and(|e| e.party == self.me);
                let (point, proof) = match self.check_one_step(&g, defending).await? {
                    OneStep::Send { point, proof } => (point, proof),
                    OneStep::NeedTrace | OneStep::Hold => return Ok(None),
                };
                let gas = prove_gas(request.maxStepGas, &point, proof.as_deref());
                let (lo, key, state) = (g.lo, U256::from(game), Bytes::from(point.state));
                let receipt = match proof {
                    None => {
                        let call = contract.proveStep(id, key, point.final_, state).gas(gas);
                        self.chain.send("proveStep", call).await?
                    }
                    Some(proof) => {
                        let call = contract
                            .proveMachineStep(id, key, point.final_, state, Bytes::from(proof))
                            .gas(gas);
                        self.chain.send("proveMachineStep", call).await?
                    }
                };
                send(format!("proved step {} in game {game:#x}", lo + 1), receipt)
            }
            Step::Timeout { game } => {
                let call = contract.claimTimeout(id, U256::from(game));
                let receipt = self.chain.send("claimTimeout", call).await?;
                send(format!("claimed a timeout in game {game:#x}"), receipt)
            }
            Step::Settle { standing } => {
                let call = contract.settleTournament(id, standing);
                let receipt = self.chain.send("settleTournament", call).await?;
                send("settled the tournament".into(), receipt)
            }
            Step::Collect { entry } => {
                let call = contract.collectEntry(id, entry);
                let receipt = self.chain.send("collectEntry", call).await?;
                send(format!("collected entry {entry}"), receipt)
            }
        }))
    }

    /// Game `game`'s defending entry and bisection record.
    async fn game(&self, id: U256, game: u64) -> Result<(u32, IBroker::Game), ActError> {
        let contract = self.chain.tournaments();
        let call = contract.getTournamentGame(id, U256::from(game));
        let view = self.chain.call("getTournamentGame", call).await?;
        let g = view.game;
        // The module's `IBroker.Game` is the Broker's, field for field (two bindings of one
        // Solidity struct).
        let game = IBroker::Game {
            lo: g.lo,
            hi: g.hi,
            turnStart: g.turnStart,
            defenderClock: g.defenderClock,
            challengerClock: g.challengerClock,
            phase: g.phase,
            cLo: g.cLo,
            cHi: g.cHi,
            pointsHash: g.pointsHash,
        };
        Ok((view.defender, game))
    }

    /// The points the defender of `game` posted this round: its `GameBisected` log, in the one
    /// block that started the challenger's turn, whose points the game's hash names.
    async fn posted_game_points(
        &self,
        id: U256,
        game: u64,
        g: &IBroker::Game,
    ) -> Result<Vec<B256>, ActError> {
        let block = g.turnStart.to::<u64>();
        let filter = posted_game_points_filter(self.config.deployment.broker, id, game, block);
        let logs = self.logs_in_one_read(&filter).await?;
        logs.iter()
            .rev()
            .filter_map(|log| {
                BrokerTournaments::GameBisected::decode_raw_log(log.topics(), &log.data().data).ok()
            })
            .find(|e| {
                e.lo == g.lo && e.hi == g.hi && keccak256(super::concat(&e.points)) == g.pointsHash
            })
            .map(|e| e.points)
            .ok_or(ActError::PointsNotFound { block })
    }
}

/// Whether a step needs our trace in memory.
fn needs_trace(step: &Step) -> bool {
    matches!(
        step,
        Step::Bisect { .. } | Step::Select { .. } | Step::Prove { .. }
    )
}

/// The `GameBisected` logs of game `game` of request `id` in `block`.
fn posted_game_points_filter(
    broker: alloy::primitives::Address,
    id: U256,
    game: u64,
    block: u64,
) -> Filter {
    Filter::new()
        .address(broker)
        .event_signature(BrokerTournaments::GameBisected::SIGNATURE_HASH)
        .topic1(B256::from(id))
        .topic2(B256::from(U256::from(game)))
        .from_block(block)
        .to_block(block)
}
