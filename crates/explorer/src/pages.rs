//! The pages, rendered from one snapshot (maud escapes every value it writes).

use crate::{
    Snapshot,
    model::{AccountRecord, Dispute, Round},
};
use alloy::primitives::{Address, B256, U256};
use ecm_bindings::{
    Broker::BrokerEvents,
    protocol::{CreditReason, Status},
};
use ecm_primitives::{Deployment, game};
use maud::{DOCTYPE, Markup, html};
use std::{sync::Arc, time::SystemTime};

/// What a page is rendered from.
pub(crate) struct View {
    pub(crate) snapshot: Arc<Snapshot>,
}

impl View {
    fn deployment(&self) -> &Deployment {
        &self.snapshot.deployment
    }
}

/// The most requests the front page lists.
const LISTED: usize = 500;

fn layout(view: &View, title: &str, body: Markup) -> Markup {
    let s = &view.snapshot;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " \u{b7} ecm explorer" }
                // No favicon request (a 404 would be a console error).
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/assets/explorer.css";
                script src="/assets/explorer.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "ecm explorer" }
                    nav {
                        a href="/" { "Requests" }
                        a href="/accounts" { "Hosts & challengers" }
                    }
                    span #head.muted {
                        "chain " (view.deployment().chain_id) " \u{b7} block " (s.head)
                    }
                }
                div #live data-version=(s.version) {
                    @if let Some(error) = &s.node_error {
                        div.alert role="alert" {
                            strong { "The node does not answer. " }
                            "Reading " code { (view.deployment().rpc_url) } " failed "
                            (ago(error.since)) ": " (error.message) ". "
                            "Showing the chain as of block " (s.head)
                            "; this page updates by itself when the node is back."
                        }
                    }
                    @if s.version == 0 {
                        div.notice { "Reading the chain\u{2026} this page updates by itself." }
                    }
                    main { (body) }
                }
                footer.muted {
                    "Broker " code { (view.deployment().broker) }
                    " \u{b7} node " code { (view.deployment().rpc_url) }
                }
            }
        }
    }
}

/// The front page: where the money is, and every request, newest first.
pub(crate) fn home(view: &View) -> Markup {
    let s = &view.snapshot;
    let (escrowed, locked, owed) = s.holdings();
    let accounted = escrowed + locked + owed;
    let open = s
        .statuses
        .values()
        .filter(|st| !st.status.is_settled())
        .count();
    let disputes: usize = s.model.requests.values().map(|r| r.disputes().len()).sum();
    let withdrawn = s
        .model
        .accounts
        .values()
        .fold(U256::ZERO, |sum, a| sum + a.withdrawn);
    let body = html! {
        h1 { "Requests" }
        section.cards {
            div.card { span.big { (s.model.requests.len()) } " requests" br; span.muted { (open) " open" } }
            div.card { span.big { (disputes) } " disputes" }
            div.card #holdings {
                "The Broker holds " strong { (eth(s.broker_balance)) } br;
                span.muted {
                    (eth(escrowed)) " escrowed \u{b7} " (eth(locked)) " in deposits \u{b7} "
                    (eth(owed)) " credited, not withdrawn"
                }
                br;
                span.muted { (eth(withdrawn)) " withdrawn in all" }
                br;
                @if s.version == 0 {
                } @else if accounted == s.broker_balance {
                    span.ok #accounted { "every wei accounted for" }
                } @else {
                    span.bad #accounted {
                        "differs from what it owes by " (eth(diff(accounted, s.broker_balance)))
                    }
                }
            }
        }
        @if s.model.requests.is_empty() {
            p.muted { "No requests yet. Make one with " code { "ecm client request" } "." }
        } @else {
            table #requests {
                thead { tr {
                    th { "id" } th { "status" } th { "program" } th.num { "payment" }
                    th { "answer by" } th.num { "escrowed" } th.num { "deposits locked" }
                    th.num { "credited" } th.num { "block" }
                } }
                tbody {
                    @for r in s.model.requests.values().rev().take(LISTED) {
                        @let money = r.money(s.deposit(r.id).unwrap_or_default());
                        @let status = s.statuses.get(&r.id);
                        tr data-id=(r.id) {
                            td { a href={ "/requests/" (r.id) } { "#" (r.id) } }
                            td { (status_badge(status.map(|st| st.status))) }
                            td { (program_name(view, r.program_id)) }
                            td.num { (eth(r.payment)) }
                            td { @match status.and_then(|st| st.host) {
                                Some(host) => (who(view, host)),
                                None => span.muted { "\u{2014}" },
                            } }
                            td.num { (eth(money.escrowed)) }
                            td.num { (eth(money.deposits_locked)) }
                            td.num { (eth(money.credited)) }
                            td.num { (r.created_block) }
                        }
                    }
                }
            }
            @if s.model.requests.len() > LISTED {
                p.muted { "The newest " (LISTED) " shown; older ones at /requests/ID." }
            }
        }
    };
    layout(view, "Requests", body)
}

/// One request: its terms, where its money is, its disputes and its timeline. `None` if the
/// chain has no such request (as of the snapshot).
pub(crate) fn request(view: &View, id: u64) -> Option<Markup> {
    let s = &view.snapshot;
    let r = s.model.requests.get(&id)?;
    let status = s.statuses.get(&id);
    let deposit = s.deposit(id);
    let money = r.money(deposit.unwrap_or_default());
    let body = html! {
        h1 { "Request #" (id) " " (status_badge(status.map(|st| st.status))) }
        section.grid {
            div {
                h2 { "Terms" }
                dl {
                    dt { "program" } dd { (program_name(view, r.program_id)) }
                    dt { "requester" } dd { (who(view, r.requester)) }
                    dt { "payment" } dd { (eth(r.payment)) }
                    dt { "deposit" } dd { @match deposit { Some(d) => (eth(d)), None => "\u{2026}" } " per answer or challenge" }
                    dt { "disputes by" } dd { @match r.mode { Some(m) => (m), None => "\u{2026}" } }
                    dt { "challenge window" } dd { (r.window) " blocks" }
                    dt { "input" } dd { (r.input_len) " bytes" }
                    dt { "step bound" } dd { (r.max_steps) }
                    @if let Some(min) = status.map(|st| st.min_host_jobs).filter(|m| *m > 0) {
                        dt { "hosts admitted" } dd { "with at least " (min) " jobs paid and no defence lost" }
                    }
                    dt { "requested in" } dd { "block " (r.created_block) }
                }
            }
            div {
                h2 { "Answer" }
                @if let Some(st) = status {
                    dl {
                        dt { "standing answer by" } dd { @match st.host { Some(h) => (who(view, h)), None => span.muted { "nobody yet" } } }
                        @if let Some(shown) = &st.result_display {
                            dt { "result" } dd #result { code { (shown) } }
                        }
                        @if st.host.is_some() { dt { "steps" } dd { (st.steps) } }
                        @if !st.status.is_settled() && st.deadline > 0 {
                            dt { (wait_name(st.status)) } dd { "block " (st.deadline) }
                        }
                        @if let Some(game) = &st.game {
                            dt { "game" } dd {
                                "segment [" (game.lo) ", " (game.hi) "], the " (game.mover)
                                "'s move, by block " (game.deadline)
                            }
                        }
                    }
                } @else {
                    p.muted { "Reading\u{2026}" }
                }
                h2 { "Money" }
                dl #money {
                    dt { "escrowed" } dd { (eth(money.escrowed)) }
                    dt { "deposits locked" } dd { (eth(money.deposits_locked)) }
                    dt { "credited" } dd { (eth(money.credited)) }
                }
            }
        }
        @for (n, dispute) in r.disputes().iter().enumerate() {
            (dispute_section(view, n + 1, dispute))
        }
        @let credits: Vec<_> = r.credits().collect();
        @if !credits.is_empty() {
            h2 { "Credits" }
            p.muted { "Credited amounts are withdrawable by their account (see its page for what it withdrew)." }
            table #credits {
                thead { tr { th { "block" } th { "to" } th { "why" } th.num { "amount" } } }
                tbody { @for c in &credits {
                    tr { td.num { (c.block) } td { (who(view, c.account)) } td { (reason_text(c.reason)) } td.num { (eth(c.amount)) } }
                } }
            }
        }
        h2 { "Timeline" }
        ol.timeline #timeline {
            @for log in &r.logs {
                @if let Some(line) = timeline_line(view, &log.event) {
                    li {
                        span.block { "block " (log.block) }
                        " " (line)
                        @if let Some(tx) = log.tx { " " span.muted.tx title=(tx) { (short_hash(tx)) } }
                    }
                }
            }
        }
    };
    Some(layout(view, &format!("Request #{id}"), body))
}

/// The text for a request id the chain does not have.
pub(crate) fn no_request_text(view: &View, id: u64) -> String {
    let count = view.snapshot.model.requests.len();
    match (view.snapshot.version, count) {
        (0, _) => format!(
            "Request {id} is not known yet: the explorer is still reading the chain. Try again in a moment."
        ),
        (_, 0) => format!("There is no request {id}: this Broker has no requests yet."),
        (_, n) => format!(
            "There is no request {id}: this Broker has {n} request{} (ids 1 to {}) as of block {}.",
            if n == 1 { "" } else { "s" },
            view.snapshot
                .model
                .requests
                .keys()
                .next_back()
                .copied()
                .unwrap_or_default(),
            view.snapshot.head
        ),
    }
}

/// Hosts, challengers and requesters, with their record and earnings.
pub(crate) fn accounts(view: &View) -> Markup {
    let s = &view.snapshot;
    let mut rows: Vec<(&Address, &AccountRecord)> = s.model.accounts.iter().collect();
    rows.sort_by_key(|(_, a)| std::cmp::Reverse((a.answers + a.challenges, a.requests)));
    let body = html! {
        h1 { "Hosts & challengers" }
        @if rows.is_empty() {
            p.muted { "Nobody has used this Broker yet." }
        } @else {
            table #accounts {
                thead { tr {
                    th { "account" } th { "roles" } th.num { "answers" } th.num { "challenges" }
                    th.num { "disputes won" } th.num { "lost" } th.num { "jobs paid" }
                    th.num { "earned" } th.num { "credited" } th.num { "withdrawn" } th.num { "balance" }
                } }
                tbody { @for (address, a) in rows {
                    tr {
                        td { (who(view, *address)) }
                        td { (a.roles().join(", ")) }
                        td.num { (a.answers) } td.num { (a.challenges) }
                        td.num { (a.won) }
                        td.num { (a.lost) @if a.lost_by_timeout > 0 { " (" (a.lost_by_timeout) " by timeout)" } }
                        td.num { (a.paid) }
                        td.num { (eth(earned(a))) }
                        td.num { (eth(a.credited_total())) }
                        td.num { (eth(a.withdrawn)) }
                        td.num { (eth(s.balances.get(address).copied().unwrap_or_default())) }
                    }
                } }
            }
            p.muted { "Earned: payments and dispute rewards. Credited also counts deposits returned, refunds and compensation." }
        }
    };
    layout(view, "Hosts & challengers", body)
}

/// One account: its record, its credits by request.
pub(crate) fn account(view: &View, address: Address) -> Markup {
    let s = &view.snapshot;
    let record = s.model.accounts.get(&address).cloned().unwrap_or_default();
    let credits: Vec<_> = s
        .model
        .requests
        .values()
        .flat_map(|r| r.credits().map(move |c| (r.id, c)))
        .filter(|(_, c)| c.account == address)
        .collect();
    let body = html! {
        h1 { (who(view, address)) }
        @if s.model.accounts.contains_key(&address) {
            dl #record {
                dt { "roles" } dd { (record.roles().join(", ")) }
                dt { "requests made" } dd { (record.requests) }
                dt { "answers" } dd { (record.answers) }
                dt { "challenges" } dd { (record.challenges) }
                dt { "disputes" } dd { (record.won) " won, " (record.lost) " lost" }
                dt { "jobs paid" } dd { (record.paid) }
                @for reason in CreditReason::ALL {
                    @let amount = record.credited_for(reason);
                    @if !amount.is_zero() { dt { (reason_text(reason)) } dd { (eth(amount)) } }
                }
                dt { "withdrawn" } dd { (eth(record.withdrawn)) }
                dt { "balance (withdrawable)" } dd { (eth(s.balances.get(&address).copied().unwrap_or_default())) }
            }
            @if let Some(on_chain) = s.records.get(&address) {
                h2 { "Record on the Broker" }
                p.muted { "What the Broker counts (recordOf), and what requests admitting only hosts with a record read. A dispute is counted when its request is paid out or challenged again." }
                dl #onchain-record {
                    dt { "answers" } dd { (on_chain.answered) }
                    dt { "paid as host" } dd { (on_chain.paid) }
                    dt { "defences" } dd { (on_chain.defences_won) " won, " (on_chain.defences_lost) " lost" }
                    dt { "challenges" } dd { (on_chain.challenges_won) " won, " (on_chain.challenges_lost) " lost" }
                    dt { "lost by timeout" } dd { (on_chain.timeouts) }
                    dt { "commitments expired" } dd { (on_chain.expired) }
                    dt { "admitted as host" } dd {
                        @match on_chain.admitted_up_to() {
                            Some(most) => { "by requests asking up to " (most) " jobs paid" }
                            None => { "only by requests admitting anyone (a defence was lost)" }
                        }
                    }
                }
            }
            @if !credits.is_empty() {
                h2 { "Credits" }
                table { thead { tr { th { "request" } th { "block" } th { "why" } th.num { "amount" } } }
                    tbody { @for (id, c) in &credits {
                        tr { td { a href={ "/requests/" (id) } { "#" (id) } } td.num { (c.block) } td { (reason_text(c.reason)) } td.num { (eth(c.amount)) } }
                    } }
                }
            }
        } @else {
            p.muted { "This account has not used this Broker (as of block " (s.head) ")." }
        }
    };
    layout(view, &short_address(address), body)
}

/// A page that says what went wrong and what to do.
pub(crate) fn problem(view: &View, title: &str, text: &str) -> Markup {
    layout(
        view,
        title,
        html! {
            h1 { (title) }
            p.problem #problem { (text) }
            p { a href="/" { "All requests" } }
        },
    )
}

fn dispute_section(view: &View, n: usize, d: &Dispute) -> Markup {
    html! {
        section.dispute {
            h2 { "Dispute " (n) }
            p {
                @if let Some(c) = d.challenger { "Challenged by " (who(view, c)) }
                @if let Some(mode) = d.mode { "; settled by " (mode) }
                @if d.started_block > 0 { ", started in block " (d.started_block) }
                "."
            }
            @if !d.rounds.is_empty() {
                div.rounds {
                    @for (i, round) in d.rounds.iter().enumerate() {
                        (round_row(i + 1, round))
                    }
                }
            }
            @if let Some(step) = d.one_step {
                p.verdict {
                    "Step " (step.step) " (from the state after step " (step.step.saturating_sub(1))
                    ") run on-chain in block " (step.block) ": its result agrees with the "
                    strong { @if step.defender_won { "defender" } @else { "challenger" } } "."
                }
            }
            @if let Some(to) = d.executed_to {
                p { "Re-executed on-chain to step " (to) "." }
            }
            @match d.outcome {
                Some(o) => p.outcome {
                    @if o.winner == Address::ZERO { "Nobody was right" } @else { (who(view, o.winner)) " won" }
                    @if o.loser != Address::ZERO { "; " (who(view, o.loser)) " lost its deposit" }
                    @if o.by_timeout { " (out of clock)" }
                    ", block " (o.block) "."
                },
                None => p.muted { "Being played." },
            }
        }
    }
}

/// One round, drawn: the segment split, its parts, and the part the challenger chose.
fn round_row(n: usize, round: &Round) -> Markup {
    const WIDTH: f64 = 600.0;
    let span = (round.hi - round.lo).max(1) as f64;
    let x = |step: u64| (step - round.lo) as f64 / span * WIDTH;
    let parts = round.points + 1;
    let ticks: Vec<f64> = (1..parts)
        .map(|j| x(game::split_point(round.lo, round.hi, parts, j)))
        .collect();
    html! {
        div.round data-lo=(round.lo) data-hi=(round.hi)
            data-chosen=[round.chosen.map(|(lo, hi)| format!("{lo},{hi}"))] {
            span.label {
                "round " (n) ": [" (round.lo) ", " (round.hi) "], " (round.hi - round.lo) " steps, "
                (parts) " parts"
                @if let Some((lo, hi)) = round.chosen { " \u{2192} [" (lo) ", " (hi) "]" }
            }
            svg width="600" height="18" viewBox="0 0 600 18" role="img" {
                rect x="0" y="3" width="600" height="12" class="segment" {}
                @if let Some((lo, hi)) = round.chosen {
                    rect x=(fmt(x(lo))) y="1" width=(fmt((x(hi) - x(lo)).max(3.0))) height="16" class="chosen" {}
                }
                @for t in ticks {
                    line x1=(fmt(t)) x2=(fmt(t)) y1="3" y2="15" class="tick" {}
                }
            }
        }
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

fn timeline_line(view: &View, event: &BrokerEvents) -> Option<Markup> {
    Some(match event {
        BrokerEvents::Created(e) => html! { "requested by " (who(view, e.requester)) },
        BrokerEvents::RequestInput(e) => html! {
            "terms: " (eth(e.payment)) ", " (e.input.len()) " bytes of input, a window of "
            (e.softResolutionBlocks) " blocks"
        },
        BrokerEvents::Cancelled(_) => html! { strong { "cancelled" } " by the requester" },
        BrokerEvents::Answered(e) => html! {
            "answered by " (who(view, e.host)) " (" (e.steps) " steps), challenge window to block " (e.windowEnd)
        },
        BrokerEvents::AnswerCommitted(e) => html! {
            (who(view, e.host)) " committed to an answer (to reveal by block " (e.revealDeadline) ")"
        },
        BrokerEvents::CommitmentExpired(e) => html! {
            strong { "commitment expired" } ": " (who(view, e.host)) " did not reveal its answer"
        },
        BrokerEvents::Challenged(e) => html! {
            strong { "challenged" } " by " (who(view, e.challenger)) " with another result (" (e.steps) " steps)"
        },
        BrokerEvents::SoftResolved(e) => html! { "accepted by " (who(view, e.by)) },
        BrokerEvents::DisputeStarted(e) => html! {
            "dispute started ("
            (ecm_bindings::protocol::DisputeMode::try_from(e.mode).map(|m| m.to_string()).unwrap_or_default())
            ")"
        },
        BrokerEvents::Bisected(e) => html! {
            "defender split [" (e.lo) ", " (e.hi) "] with " (e.points.len()) " commitments"
        },
        BrokerEvents::SegmentSelected(e) => html! {
            "challenger chose [" (e.lo) ", " (e.hi) "]"
        },
        BrokerEvents::StepProven(e) => html! {
            "step " (e.step) " run on-chain: the " @if e.defenderWon { "defender" } @else { "challenger" } " was right"
        },
        BrokerEvents::Executed(e) => html! {
            "re-executed to step " (e.stepCount) @if e.finished { ", finished" }
        },
        BrokerEvents::DisputeResolved(e) => html! {
            strong { "dispute resolved" } ": "
            @if e.winner == Address::ZERO { "nobody was right" } @else { (who(view, e.winner)) " won" }
            @if e.byTimeout { " by timeout" }
        },
        BrokerEvents::DisputeCounted(e) => html! {
            "the dispute counted in the records of " (who(view, e.defender)) " and "
            (who(view, e.challenger))
        },
        BrokerEvents::FirmlyResolved(e) => {
            html! { "settled by re-execution for " (who(view, e.host)) }
        }
        BrokerEvents::Finalized(e) => html! {
            strong { "finalized" } ": " (eth(e.amount)) " to " (who(view, e.paidTo))
        },
        BrokerEvents::Credited(e) => html! {
            (eth(e.amount)) " credited to " (who(view, e.account)) " ("
            (CreditReason::try_from(e.reason).map(reason_text).unwrap_or("?")) ")"
        },
        BrokerEvents::TournamentOpened(e) => html! {
            strong { "tournament opened" } ": entries to block " (e.entryDeadline)
            ", games start to block " (e.startDeadline) ", over after block " (e.endDeadline)
        },
        BrokerEvents::Entered(e) => html! {
            (who(view, e.party)) " entered a claim as entry " (e.entry) " (" (e.steps) " steps)"
        },
        BrokerEvents::GameStarted(e) => html! {
            "entry " (e.challenger) " challenged entry " (e.defender)
        },
        BrokerEvents::GameStepProven(e) => html! {
            "game " (e.game) ": step " (e.step) " run on-chain: the "
            @if e.defenderWon { "defender" } @else { "challenger" } " was right"
        },
        BrokerEvents::GameEnded(e) => html! {
            "entry " (e.winner) " beat entry " (e.loser)
            @match e.how { 1 => " by timeout", 2 => " (it had lost elsewhere)", _ => " at the one step" }
        },
        BrokerEvents::TournamentSettled(e) => html! {
            strong { "tournament settled" } ": "
            @if e.decided { "one claim stood, held by " (e.standing) " entries, each owed " (eth(e.paymentShare)) }
            @else { "undecided, the payment refunded" }
        },
        _ => return None,
    })
}

fn status_badge(status: Option<Status>) -> Markup {
    match status {
        Some(status) => html! {
            span class={ "status s" (u8::from(status)) } data-status=(status.name()) { (status_text(status)) }
        },
        None => html! { span.status { "\u{2026}" } },
    }
}

fn status_text(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::WaitingForResolution => "answered",
        Status::NeedsResolution => "challenged",
        Status::Resolving => "in dispute",
        Status::SoftResolution => "accepted",
        Status::FirmResolution => "settled by re-execution",
        Status::Finalized => "finalized",
        Status::Cancelled => "cancelled",
        Status::Committed => "answer committed",
    }
}

fn wait_name(status: Status) -> &'static str {
    match status {
        Status::WaitingForResolution => "challenge window to",
        Status::NeedsResolution => "dispute starts by",
        Status::Committed => "revealed by",
        _ => "deadline",
    }
}

fn reason_text(reason: CreditReason) -> &'static str {
    match reason {
        CreditReason::Refund => "refund",
        CreditReason::Payment => "payment",
        CreditReason::DepositReturned => "deposit returned",
        CreditReason::DisputeReward => "dispute reward",
        CreditReason::DelayCompensation => "delay compensation",
        CreditReason::GasReimbursement => "gas reimbursement",
        CreditReason::Surplus => "surplus returned",
    }
}

fn earned(a: &AccountRecord) -> U256 {
    a.credited_for(CreditReason::Payment) + a.credited_for(CreditReason::DisputeReward)
}

fn program_name(view: &View, id: B256) -> Markup {
    match view.deployment().program_name(id) {
        Some(name) => html! { span title=(id) { (name) } },
        None => html! { code title=(id) { (short_hash(id)) } },
    }
}

/// An account, linked to its page, named by its dev-account role where the deployment has one.
fn who(view: &View, address: Address) -> Markup {
    let role = view
        .deployment()
        .accounts
        .iter()
        .find(|a| a.address == address)
        .map(|a| a.role.as_str());
    html! {
        a.account href={ "/accounts/" (address) } title=(address) {
            @if let Some(role) = role { (role) " " span.muted { (short_address(address)) } }
            @else { (short_address(address)) }
        }
    }
}

fn short_address(address: Address) -> String {
    let s = address.to_checksum(None);
    format!("{}\u{2026}{}", &s[..6], &s[s.len() - 4..])
}

fn short_hash(hash: B256) -> String {
    let s = hash.to_string();
    format!("{}\u{2026}{}", &s[..10], &s[s.len() - 6..])
}

fn diff(a: U256, b: U256) -> U256 {
    if a > b { a - b } else { b - a }
}

/// Wei as ETH, exactly (trailing zeros dropped).
pub(crate) fn eth(wei: U256) -> String {
    let ether = alloy::primitives::utils::format_ether(wei);
    format!("{} ETH", ether.trim_end_matches('0').trim_end_matches('.'))
}

fn ago(since: SystemTime) -> String {
    let secs = since.elapsed().map(|d| d.as_secs()).unwrap_or_default();
    format!("for {secs} s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use alloy::primitives::{Bytes, address};
    use ecm_bindings::{Broker, protocol::DisputeMode};
    use ecm_chain::BrokerLog;
    use ecm_client::RequestStatus;

    const HOST: Address = address!("0x00000000000000000000000000000000000000b1");

    fn deployment() -> Deployment {
        Deployment {
            rpc_url: "http://127.0.0.1:8545".into(),
            chain_id: 31337,
            broker: Address::repeat_byte(0xbb),
            factory: Address::repeat_byte(0xfa),
            deployed_at_block: 0,
            arity: 16,
            clock_blocks: 600,
            programs: Default::default(),
            accounts: Vec::new(),
        }
    }

    /// A snapshot with request 1 answered by a host whose result is `shown`.
    fn answered(shown: &str) -> View {
        let log = |event| BrokerLog {
            event,
            block: 1,
            tx: None,
            log_index: None,
        };
        let id = U256::from(1);
        let logs = [
            log(BrokerEvents::Created(Broker::Created {
                id,
                programId: B256::repeat_byte(1),
                requester: Address::repeat_byte(0xa1),
            })),
            log(BrokerEvents::Answered(Broker::Answered {
                id,
                host: HOST,
                result: Bytes::from(shown.as_bytes().to_vec()),
                steps: 3,
                final_: true,
                windowEnd: U256::from(20),
            })),
        ];
        let mut snapshot = Snapshot::new(deployment());
        snapshot.version = 1;
        snapshot.head = 2;
        snapshot.model = Arc::new(Model::from_logs(&logs));
        snapshot.statuses.insert(
            1,
            RequestStatus {
                id: 1,
                status: Status::WaitingForResolution,
                program: "unknown".into(),
                requester: Address::repeat_byte(0xa1),
                payment: U256::ZERO,
                deposit: U256::from(5),
                mode: DisputeMode::Bisection,
                min_host_jobs: 0,
                host: Some(HOST),
                claim: B256::ZERO,
                steps: 3,
                result: None,
                final_: Some(true),
                result_display: Some(shown.into()),
                deadline: 20,
                block: 2,
                game: None,
                tournament: None,
                disputes: 0,
                host_wins: 0,
            },
        );
        View {
            snapshot: Arc::new(snapshot),
        }
    }

    #[test]
    fn a_hosts_result_is_shown_as_text_never_as_markup() {
        let attack = "<script>alert(1)</script><img src=x onerror=alert(2)>";
        let page = request(&answered(attack), 1).unwrap().into_string();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
    }

    #[test]
    fn a_tournament_shows_in_the_timeline() {
        let view = answered("ok");
        let line = |event| timeline_line(&view, &event).unwrap().into_string();
        let ended = BrokerEvents::GameEnded(ecm_bindings::Broker::GameEnded {
            id: U256::from(1),
            game: U256::from(1),
            winner: 1,
            loser: 0,
            how: 1,
        });
        assert_eq!(line(ended), "entry 1 beat entry 0 by timeout");
        let undecided = BrokerEvents::TournamentSettled(ecm_bindings::Broker::TournamentSettled {
            id: U256::from(1),
            decided: false,
            claim: B256::ZERO,
            standing: 0,
            paymentShare: U256::ZERO,
        });
        assert!(line(undecided).contains("undecided, the payment refunded"));
    }

    #[test]
    fn an_unknown_request_says_which_ids_there_are() {
        let view = answered("ok");
        assert!(request(&view, 2).is_none());
        assert_eq!(
            no_request_text(&view, 2),
            "There is no request 2: this Broker has 1 request (ids 1 to 1) as of block 2."
        );
        let mut empty = Snapshot::new(deployment());
        empty.version = 0;
        let reading = View {
            snapshot: Arc::new(empty),
        };
        assert!(no_request_text(&reading, 2).contains("still reading the chain"));
    }

    #[test]
    fn a_node_that_went_away_is_said_on_every_page() {
        let mut snapshot = (*answered("ok").snapshot).clone();
        snapshot.node_error = Some(crate::indexer::NodeError {
            message: "connection refused".into(),
            since: SystemTime::now(),
        });
        let view = View {
            snapshot: Arc::new(snapshot),
        };
        for page in [
            home(&view),
            request(&view, 1).unwrap(),
            accounts(&view),
            account(&view, HOST),
            problem(&view, "x", "y"),
        ] {
            let page = page.into_string();
            assert!(page.contains("The node does not answer."), "{page}");
            assert!(page.contains("connection refused"), "{page}");
        }
    }

    #[test]
    fn wei_shows_as_exact_eth() {
        assert_eq!(eth(U256::ZERO), "0 ETH");
        assert_eq!(eth(U256::from(100_000_000_000_000_000u128)), "0.1 ETH");
        assert_eq!(
            eth(U256::from(1_500_000_000_000_000_001u128)),
            "1.500000000000000001 ETH"
        );
        assert_eq!(eth(U256::from(2_000_000_000_000_000_000u128)), "2 ETH");
    }
}
