//! What the Broker's logs say, folded into requests, disputes and accounts.
//!
//! Everything here is a pure function of the logs (and, for the money a request holds, of its
//! deposit): the indexer re-folds them whenever new logs arrive, and the tests fold logs they
//! write by hand.

use alloy::primitives::{Address, B256, U256};
use ecm_bindings::{
    Broker::BrokerEvents,
    protocol::{CreditReason, DisputeMode},
};
use ecm_chain::BrokerLog;
use std::collections::BTreeMap;

/// One request as its logs tell it.
#[derive(Clone, Debug, Default)]
pub struct RequestRecord {
    /// The request id.
    pub id: u64,
    /// Its program.
    pub program_id: B256,
    /// Who asked.
    pub requester: Address,
    /// The block it was made in.
    pub created_block: u64,
    /// The payment, wei.
    pub payment: U256,
    /// The input's length, in bytes.
    pub input_len: usize,
    /// The step bound.
    pub max_steps: u64,
    /// How disputes are settled (None until its `RequestInput` log is read).
    pub mode: Option<DisputeMode>,
    /// The challenge window, in blocks.
    pub window: u32,
    /// Answers, commitments to answers and challenges posted: each staked one deposit (a
    /// revealed commitment's answer stakes nothing more).
    pub stakes: u32,
    /// A commitment to an answer awaits its reveal.
    pub committed: bool,
    /// Every log of the request, in chain order.
    pub logs: Vec<BrokerLog>,
}

impl RequestRecord {
    /// What was credited out of this request, by reason.
    pub fn credited(&self, reason: CreditReason) -> U256 {
        self.credits()
            .filter(|c| c.reason == reason)
            .map(|c| c.amount)
            .fold(U256::ZERO, |a, b| a + b)
    }

    /// Everyone who took part: the requester, hosts, challengers (whose on-chain records its
    /// outcomes change).
    pub fn parties(&self) -> impl Iterator<Item = Address> + '_ {
        std::iter::once(self.requester).chain(self.logs.iter().filter_map(|log| match &log.event {
            BrokerEvents::Answered(e) => Some(e.host),
            BrokerEvents::AnswerCommitted(e) => Some(e.host),
            BrokerEvents::Challenged(e) => Some(e.challenger),
            _ => None,
        }))
    }

    /// Every credit out of this request, in order.
    pub fn credits(&self) -> impl Iterator<Item = Credit> + '_ {
        self.logs.iter().filter_map(|log| match &log.event {
            BrokerEvents::Credited(e) => Some(Credit {
                account: e.account,
                amount: e.amount,
                reason: CreditReason::try_from(e.reason).ok()?,
                block: log.block,
            }),
            _ => None,
        })
    }

    /// Where this request's money is, given the deposit each answer and challenge staked.
    pub fn money(&self, deposit: U256) -> Money {
        let paid_out = self.credited(CreditReason::Payment) + self.credited(CreditReason::Refund);
        let from_deposits = [
            CreditReason::DepositReturned,
            CreditReason::DisputeReward,
            CreditReason::DelayCompensation,
            CreditReason::GasReimbursement,
        ]
        .into_iter()
        .map(|reason| self.credited(reason))
        .fold(U256::ZERO, |a, b| a + b);
        let staked = deposit * U256::from(self.stakes);
        Money {
            escrowed: self.payment.saturating_sub(paid_out),
            deposits_locked: staked.saturating_sub(from_deposits),
            credited: self
                .credits()
                .map(|c| c.amount)
                .fold(U256::ZERO, |a, b| a + b),
        }
    }

    /// The request's disputes, each with its rounds, in order.
    pub fn disputes(&self) -> Vec<Dispute> {
        let mut disputes: Vec<Dispute> = Vec::new();
        for log in &self.logs {
            match &log.event {
                // A challenge opens the next dispute; it starts with `DisputeStarted`.
                BrokerEvents::Challenged(e) => disputes.push(Dispute {
                    challenger: Some(e.challenger),
                    ..Dispute::default()
                }),
                BrokerEvents::DisputeStarted(e) => {
                    if let Some(d) = disputes.last_mut() {
                        d.mode = DisputeMode::try_from(e.mode).ok();
                        d.started_block = log.block;
                    }
                }
                BrokerEvents::Bisected(e) => {
                    if let Some(d) = disputes.last_mut() {
                        d.rounds.push(Round {
                            lo: e.lo,
                            hi: e.hi,
                            points: e.points.len() as u64,
                            chosen: None,
                            block: log.block,
                        });
                    }
                }
                BrokerEvents::SegmentSelected(e) => {
                    if let Some(round) = disputes.last_mut().and_then(|d| d.rounds.last_mut()) {
                        round.chosen = Some((e.lo, e.hi));
                    }
                }
                BrokerEvents::StepProven(e) => {
                    if let Some(d) = disputes.last_mut() {
                        d.one_step = Some(OneStep {
                            step: e.step,
                            defender_won: e.defenderWon,
                            block: log.block,
                        });
                    }
                }
                BrokerEvents::Executed(e) => {
                    if let Some(d) = disputes.last_mut() {
                        d.executed_to = Some(e.stepCount);
                    }
                }
                BrokerEvents::DisputeResolved(e) => {
                    if let Some(d) = disputes.last_mut() {
                        d.outcome = Some(Outcome {
                            winner: e.winner,
                            loser: e.loser,
                            by_timeout: e.byTimeout,
                            block: log.block,
                        });
                    }
                }
                _ => {}
            }
        }
        // A challenge that has not started a dispute yet is not one.
        disputes.retain(|d| d.started_block != 0 || d.outcome.is_some());
        disputes
    }
}

/// A credit out of a request to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credit {
    /// Who may withdraw it.
    pub account: Address,
    /// How much, wei.
    pub amount: U256,
    /// Why.
    pub reason: CreditReason,
    /// When.
    pub block: u64,
}

/// Where a request's money is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Money {
    /// The payment, still held for whoever wins.
    pub escrowed: U256,
    /// Deposits staked by answers and challenges, not yet returned or forfeited.
    pub deposits_locked: U256,
    /// Everything credited to accounts out of this request (withdrawable by them, or withdrawn).
    pub credited: U256,
}

/// One dispute of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dispute {
    /// How it is settled.
    pub mode: Option<DisputeMode>,
    /// The challenger.
    pub challenger: Option<Address>,
    /// The block it started in.
    pub started_block: u64,
    /// The bisection rounds, in order.
    pub rounds: Vec<Round>,
    /// The one step run on-chain, once it was.
    pub one_step: Option<OneStep>,
    /// How far a full re-execution got.
    pub executed_to: Option<u64>,
    /// How it ended, once it did.
    pub outcome: Option<Outcome>,
}

/// One bisection round: the defender split `[lo, hi]` with `points` commitments, the
/// challenger chose a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Round {
    /// The segment split.
    pub lo: u64,
    /// Its end.
    pub hi: u64,
    /// The commitments posted: `points + 1` parts.
    pub points: u64,
    /// The part the challenger disputes, once chosen.
    pub chosen: Option<(u64, u64)>,
    /// The block of the split.
    pub block: u64,
}

/// The one step a bisection game ended in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneStep {
    /// The step `step -> step + 1`.
    pub step: u64,
    /// Whether it agreed with the defender.
    pub defender_won: bool,
    /// The block it ran in.
    pub block: u64,
}

/// How a dispute ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Whose answer stands (zero if nobody was right).
    pub winner: Address,
    /// Who lost its deposit.
    pub loser: Address,
    /// Whether a clock ran out.
    pub by_timeout: bool,
    /// When.
    pub block: u64,
}

/// One account's record, from the logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountRecord {
    /// Requests made.
    pub requests: u32,
    /// Answers posted (as host).
    pub answers: u32,
    /// Challenges posted.
    pub challenges: u32,
    /// Disputes won.
    pub won: u32,
    /// Disputes lost.
    pub lost: u32,
    /// Of those lost, lost by running out of clock.
    pub lost_by_timeout: u32,
    /// Requests paid out to it.
    pub paid: u32,
    /// Credits by reason (indexed by `CreditReason as usize`).
    pub credited: [U256; CreditReason::ALL.len()],
    /// Withdrawn in total.
    pub withdrawn: U256,
}

impl AccountRecord {
    /// Credited in total.
    pub fn credited_total(&self) -> U256 {
        self.credited.iter().fold(U256::ZERO, |a, b| a + *b)
    }

    /// Credited for `reason`.
    pub fn credited_for(&self, reason: CreditReason) -> U256 {
        self.credited[reason as usize]
    }

    /// The roles it played, for a table: "requester", "host", "challenger".
    pub fn roles(&self) -> Vec<&'static str> {
        [
            (self.requests > 0, "requester"),
            (self.answers > 0, "host"),
            (self.challenges > 0, "challenger"),
        ]
        .into_iter()
        .filter_map(|(played, role)| played.then_some(role))
        .collect()
    }
}

/// Everything the logs say.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Requests by id.
    pub requests: BTreeMap<u64, RequestRecord>,
    /// Accounts by address.
    pub accounts: BTreeMap<Address, AccountRecord>,
}

impl Model {
    /// Folds `logs` (in chain order) into requests and accounts.
    pub fn from_logs(logs: &[BrokerLog]) -> Self {
        let mut model = Self::default();
        for log in logs {
            model.apply(log);
        }
        model
    }

    fn apply(&mut self, log: &BrokerLog) {
        if let Some(id) = log.request_id() {
            let request = self.requests.entry(id).or_insert_with(|| RequestRecord {
                id,
                created_block: log.block,
                ..RequestRecord::default()
            });
            request.logs.push(log.clone());
            match &log.event {
                BrokerEvents::Created(e) => {
                    request.program_id = e.programId;
                    request.requester = e.requester;
                }
                BrokerEvents::RequestInput(e) => {
                    request.payment = e.payment;
                    request.input_len = e.input.len();
                    request.max_steps = e.maxSteps;
                    request.mode = DisputeMode::try_from(e.mode).ok();
                    request.window = e.softResolutionBlocks;
                }
                BrokerEvents::AnswerCommitted(_) => {
                    request.stakes += 1;
                    request.committed = true;
                }
                BrokerEvents::CommitmentExpired(_) => request.committed = false,
                // The reveal of a commitment is an `Answered` that stakes nothing new.
                BrokerEvents::Answered(_) if request.committed => request.committed = false,
                BrokerEvents::Answered(_) | BrokerEvents::Challenged(_) => request.stakes += 1,
                _ => {}
            }
        }
        let accounts = &mut self.accounts;
        match &log.event {
            BrokerEvents::Created(e) => accounts.entry(e.requester).or_default().requests += 1,
            BrokerEvents::Answered(e) => accounts.entry(e.host).or_default().answers += 1,
            BrokerEvents::Challenged(e) => {
                accounts.entry(e.challenger).or_default().challenges += 1
            }
            BrokerEvents::DisputeResolved(e) => {
                if e.winner != Address::ZERO {
                    accounts.entry(e.winner).or_default().won += 1;
                }
                if e.loser != Address::ZERO {
                    let loser = accounts.entry(e.loser).or_default();
                    loser.lost += 1;
                    loser.lost_by_timeout += u32::from(e.byTimeout);
                }
            }
            BrokerEvents::Finalized(e) if e.paidTo != Address::ZERO => {
                accounts.entry(e.paidTo).or_default().paid += 1
            }
            BrokerEvents::Credited(e) => {
                if let Ok(reason) = CreditReason::try_from(e.reason) {
                    accounts.entry(e.account).or_default().credited[reason as usize] += e.amount;
                }
            }
            BrokerEvents::Withdrawn(e) => {
                accounts.entry(e.account).or_default().withdrawn += e.amount
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Bytes, address};
    use ecm_bindings::Broker;

    const REQUESTER: Address = address!("0x00000000000000000000000000000000000000a1");
    const CHEATER: Address = address!("0x00000000000000000000000000000000000000c1");
    const CHALLENGER: Address = address!("0x00000000000000000000000000000000000000c2");

    fn at(block: u64, event: BrokerEvents) -> BrokerLog {
        BrokerLog {
            event,
            block,
            tx: None,
            log_index: None,
        }
    }

    fn credited(account: Address, amount: u64, reason: CreditReason) -> BrokerEvents {
        BrokerEvents::Credited(Broker::Credited {
            account,
            id: U256::from(1),
            amount: U256::from(amount),
            reason: reason.into(),
        })
    }

    /// The defender's split of `[lo, hi]` into ten parts, at `block`.
    fn bisected(block: u64, lo: u64, hi: u64) -> BrokerLog {
        let points = vec![B256::ZERO; 9];
        let id = U256::from(1);
        at(
            block,
            BrokerEvents::Bisected(Broker::Bisected { id, lo, hi, points }),
        )
    }

    /// The challenger's choice of `[lo, hi]`, at `block`.
    fn selected(block: u64, lo: u64, hi: u64) -> BrokerLog {
        let (id, c) = (U256::from(1), B256::ZERO);
        let event = Broker::SegmentSelected {
            id,
            lo,
            hi,
            cLo: c,
            cHi: c,
        };
        at(block, BrokerEvents::SegmentSelected(event))
    }

    /// A request answered wrong, challenged, bisected over 100 steps in two rounds of arity 10,
    /// lost by the cheater at step 42; the challenger's answer then paid.
    fn disputed_request() -> Vec<BrokerLog> {
        let id = U256::from(1);
        let claim = |who| (who, Bytes::from_static(b"r"), 100u64, true, U256::from(9));
        let (host, result, steps, final_, end) = claim(CHEATER);
        vec![
            at(
                1,
                BrokerEvents::Created(Broker::Created {
                    id,
                    programId: B256::repeat_byte(7),
                    requester: REQUESTER,
                }),
            ),
            at(
                1,
                BrokerEvents::RequestInput(Broker::RequestInput {
                    id,
                    input: Bytes::from_static(b"abc"),
                    payment: U256::from(1000),
                    maxSteps: 1 << 20,
                    maxGasPrice: 1,
                    softResolutionBlocks: 16,
                    mode: DisputeMode::Bisection.into(),
                    minHostJobs: 0,
                }),
            ),
            at(
                2,
                BrokerEvents::Answered(Broker::Answered {
                    id,
                    host,
                    result: result.clone(),
                    steps,
                    final_,
                    windowEnd: end,
                }),
            ),
            at(
                3,
                BrokerEvents::Challenged(Broker::Challenged {
                    id,
                    challenger: CHALLENGER,
                    result,
                    steps,
                    final_,
                    startDeadline: end,
                }),
            ),
            at(
                4,
                BrokerEvents::DisputeStarted(Broker::DisputeStarted {
                    id,
                    mode: DisputeMode::Bisection.into(),
                }),
            ),
            bisected(5, 0, 100),
            selected(6, 40, 50),
            bisected(7, 40, 50),
            selected(8, 42, 43),
            at(
                9,
                BrokerEvents::StepProven(Broker::StepProven {
                    id,
                    step: 42,
                    computed: B256::ZERO,
                    defenderWon: false,
                }),
            ),
            at(
                9,
                BrokerEvents::DisputeResolved(Broker::DisputeResolved {
                    id,
                    winner: CHALLENGER,
                    loser: CHEATER,
                    byTimeout: false,
                }),
            ),
            at(9, credited(CHALLENGER, 50, CreditReason::DisputeReward)),
            at(9, credited(REQUESTER, 50, CreditReason::DelayCompensation)),
        ]
    }

    #[test]
    fn a_dispute_is_folded_into_its_rounds_and_one_step() {
        let model = Model::from_logs(&disputed_request());
        let disputes = model.requests[&1].disputes();
        assert_eq!(disputes.len(), 1);
        let d = &disputes[0];
        assert_eq!(d.challenger, Some(CHALLENGER));
        assert_eq!(d.mode, Some(DisputeMode::Bisection));
        assert_eq!(
            d.rounds
                .iter()
                .map(|r| (r.lo, r.hi, r.chosen))
                .collect::<Vec<_>>(),
            vec![(0, 100, Some((40, 50))), (40, 50, Some((42, 43)))]
        );
        assert_eq!(
            d.one_step.map(|s| (s.step, s.defender_won)),
            Some((42, false))
        );
        let outcome = d.outcome.expect("resolved");
        assert_eq!((outcome.winner, outcome.loser), (CHALLENGER, CHEATER));
    }

    #[test]
    fn a_challenge_not_yet_disputed_is_no_dispute() {
        let model = Model::from_logs(&disputed_request()[..4]);
        assert!(model.requests[&1].disputes().is_empty());
        assert_eq!(model.requests[&1].stakes, 2);
    }

    #[test]
    fn the_money_follows_the_stakes_and_the_credits() {
        let mut logs = disputed_request();
        let deposit = U256::from(100);
        let mid = Model::from_logs(&logs).requests[&1].money(deposit);
        // Two deposits staked, the cheater's forfeited (half to each side); the challenger's
        // still held, the payment escrowed.
        assert_eq!(mid.escrowed, U256::from(1000));
        assert_eq!(mid.deposits_locked, U256::from(100));
        assert_eq!(mid.credited, U256::from(100));
        logs.push(at(20, credited(CHALLENGER, 1000, CreditReason::Payment)));
        logs.push(at(
            20,
            credited(CHALLENGER, 100, CreditReason::DepositReturned),
        ));
        let end = Model::from_logs(&logs).requests[&1].money(deposit);
        assert_eq!(end.escrowed, U256::ZERO);
        assert_eq!(end.deposits_locked, U256::ZERO);
        assert_eq!(end.credited, U256::from(1200));
    }

    #[test]
    fn a_commitment_stakes_once_and_an_expired_one_pays_the_requester() {
        let logs = disputed_request();
        let id = U256::from(1);
        let committed = |host| {
            BrokerEvents::AnswerCommitted(Broker::AnswerCommitted {
                id,
                host,
                commitment: B256::repeat_byte(3),
                revealDeadline: U256::from(70),
            })
        };
        let expired =
            BrokerEvents::CommitmentExpired(Broker::CommitmentExpired { id, host: CHEATER });
        let mut flow = logs[..2].to_vec();
        flow.push(at(2, committed(CHEATER)));
        flow.push(at(70, expired));
        flow.push(at(
            70,
            credited(REQUESTER, 100, CreditReason::DelayCompensation),
        ));
        flow.push(at(71, committed(CHALLENGER)));
        // The reveal: an `Answered` that stakes nothing new.
        flow.push(logs[2].clone());
        let request = &Model::from_logs(&flow).requests[&1];
        assert_eq!(request.stakes, 2);
        let money = request.money(U256::from(100));
        assert_eq!(money.deposits_locked, U256::from(100));
        assert_eq!(money.escrowed, U256::from(1000));
    }

    #[test]
    fn accounts_keep_each_partys_record() {
        let mut logs = disputed_request();
        logs.push(at(
            30,
            BrokerEvents::Withdrawn(Broker::Withdrawn {
                account: CHALLENGER,
                to: CHALLENGER,
                amount: U256::from(50),
            }),
        ));
        let model = Model::from_logs(&logs);
        let challenger = &model.accounts[&CHALLENGER];
        assert_eq!(
            (challenger.challenges, challenger.won, challenger.lost),
            (1, 1, 0)
        );
        assert_eq!(
            challenger.credited_for(CreditReason::DisputeReward),
            U256::from(50)
        );
        assert_eq!(challenger.withdrawn, U256::from(50));
        assert_eq!(challenger.roles(), vec!["challenger"]);
        let cheater = &model.accounts[&CHEATER];
        assert_eq!((cheater.answers, cheater.won, cheater.lost), (1, 0, 1));
        assert_eq!(model.accounts[&REQUESTER].requests, 1);
    }
}
