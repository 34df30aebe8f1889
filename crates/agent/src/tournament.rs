//! What to do next in a tournament-mode dispute (`IBrokerTournaments`), decided from the
//! tournament's on-chain state and our claim alone, as [`crate::decide`] does for one game.
//!
//! A tournament is played in parallel: an honest party enters its claim, challenges every
//! standing entry of another claim at once, moves in every game whose turn is its own, claims
//! every timeout when it comes, and ignores games that died (an entry in them lost elsewhere).
//! So [`next_steps`] returns every step due now, not one: sending them together is what keeps
//! the settlement bounded whatever the number of puppets (`docs/protocol.md`, "Tournament").
//!
//! The agent's `act` module reads the tournament ([`read`]), takes this decision and sends
//! every step it returns.

use alloy::primitives::{Address, B256, U256};
use ecm_bindings::protocol::Phase;
use ecm_chain::Chain;

/// One entry of the tournament (`IBrokerTournaments.EntryView`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Who entered it; zero once its share was collected.
    pub party: Address,
    /// Its claim, `keccak256(final, result)`.
    pub claim: B256,
    /// Whether it lost a game.
    pub eliminated: bool,
    /// Entries it eliminated (half a deposit each, collected at the end).
    pub wins: u32,
}

impl Entry {
    /// Whether `party` is owed something by this entry at the end: its deposit (standing) or
    /// the halves of the deposits it won. Only such entries are worth settling and collecting.
    pub fn owes(&self, party: Address) -> bool {
        self.party == party && (!self.eliminated || self.wins > 0)
    }
}

/// One game between two entries (`IBrokerTournaments.GameView`, keyed by `gameKey`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Game {
    /// Its key: `lo << 32 | hi` of its two entries.
    pub key: u64,
    /// The defending entry (it moves first).
    pub defender: u32,
    /// The challenging entry.
    pub challenger: u32,
    /// Whether it is still being played.
    pub open: bool,
    /// Whose move it is and what it must be.
    pub phase: Phase,
    /// The block the current turn started.
    pub turn_start: u64,
    /// The defender's clock left, in blocks.
    pub defender_clock: u32,
    /// The challenger's clock left, in blocks.
    pub challenger_clock: u32,
}

impl Game {
    /// The last block at which the mover may still move.
    fn deadline(&self) -> u64 {
        let clock = if self.phase == Phase::Select {
            self.challenger_clock
        } else {
            self.defender_clock
        };
        self.turn_start + u64::from(clock)
    }
}

/// A request's tournament (`IBrokerTournaments.TournamentView`, its entries and games).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tournament {
    /// The last block a claim may be entered (the answer's window end).
    pub entry_deadline: u64,
    /// The last block a game may start.
    pub start_deadline: u64,
    /// The block after which it is over, decided or not.
    pub end_deadline: u64,
    /// Every entry, entry 0 being the answer.
    pub entries: Vec<Entry>,
    /// Every game started, open or ended.
    pub games: Vec<Game>,
    /// Whether it was settled (the request is Finalized): only collections are left.
    pub settled: bool,
}

/// What [`next_steps`] looks at.
#[derive(Clone, Debug)]
pub struct Situation<'a> {
    /// Our account.
    pub me: Address,
    /// The claim our trace gives.
    pub claim: B256,
    /// The latest block.
    pub block: u64,
    /// Blocks of margin kept before a deadline (a transaction needs time to land).
    pub margin: u64,
    /// The tournament.
    pub tournament: &'a Tournament,
}

/// One step to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `challengeAnswer`: enter our claim and play it against the answer (entry 0).
    ChallengeAnswer,
    /// `enter`: our claim, without a game (the answer's entry is out; games follow).
    Enter,
    /// `challengeEntry(ours, theirs)`.
    ChallengeEntry {
        /// Our standing entry.
        ours: u32,
        /// The standing entry of another claim.
        theirs: u32,
    },
    /// Our bisection in a game we defend.
    Bisect {
        /// The game's key.
        game: u64,
    },
    /// Our selection in a game we challenge.
    Select {
        /// The game's key.
        game: u64,
    },
    /// The one step of a game (anyone may send it).
    Prove {
        /// The game's key.
        game: u64,
    },
    /// A game whose mover ran out of clock.
    Timeout {
        /// The game's key.
        game: u64,
    },
    /// `settleTournament(standing)`.
    Settle {
        /// Any standing entry (it names the claim that stood).
        standing: u32,
    },
    /// `collectEntry(entry)`: one of ours.
    Collect {
        /// Our entry.
        entry: u32,
    },
}

/// Every step due now, and the block at which to look again if nothing happens before
/// (`None`: only news can change anything).
pub fn next_steps(s: &Situation<'_>) -> (Vec<Step>, Option<u64>) {
    let t = s.tournament;
    let ours = |i: usize| t.entries[i].party == s.me;
    let owed = |i: usize| t.entries[i].owes(s.me);
    if t.settled {
        let steps = (0..t.entries.len())
            .filter(|&i| owed(i))
            .map(|i| Step::Collect { entry: index(i) })
            .collect();
        return (steps, None);
    }
    let standing = |i: usize| !t.entries[i].eliminated;
    let decided = {
        let mut claims = (0..t.entries.len())
            .filter(|&i| standing(i))
            .map(|i| t.entries[i].claim);
        let first = claims.next();
        first.is_some() && claims.all(|c| Some(c) == first)
    };
    if (decided && s.block > t.entry_deadline) || s.block > t.end_deadline {
        // Settled by those owed something; the others have no reason to pay its gas.
        if !(0..t.entries.len()).any(owed) {
            return (Vec::new(), None);
        }
        let any_standing = (0..t.entries.len()).find(|&i| standing(i)).unwrap_or(0);
        return (
            vec![Step::Settle {
                standing: index(any_standing),
            }],
            None,
        );
    }

    let mut steps = Vec::new();
    let mut wake = Some(if s.block > t.entry_deadline {
        t.end_deadline + 1
    } else {
        t.entry_deadline + 1
    });
    let mut wake_at = |block: u64| wake = wake.map(|w| w.min(block));

    // Our standing entry, or an entry to make: against the answer if it is out there standing
    // with another claim, else alone.
    let mine = (0..t.entries.len()).find(|&i| ours(i) && standing(i));
    let disagreeing = |i: usize| standing(i) && t.entries[i].claim != s.claim;
    let mine = match mine {
        Some(i) => i,
        None => {
            let anyone_to_beat = (0..t.entries.len()).any(disagreeing);
            if anyone_to_beat && s.block + s.margin <= t.entry_deadline {
                if disagreeing(0) {
                    steps.push(Step::ChallengeAnswer);
                } else {
                    steps.push(Step::Enter);
                }
            }
            return (steps, wake);
        }
    };

    // Every standing entry of another claim we have no game with: challenge it.
    let played = |a: usize, b: usize| t.games.iter().any(|g| game_key(a, b) == g.key);
    if s.block + s.margin <= t.start_deadline {
        for theirs in (0..t.entries.len()).filter(|&i| disagreeing(i)) {
            let ours_played = (0..t.entries.len()).any(|i| ours(i) && played(i, theirs));
            if !ours_played {
                steps.push(Step::ChallengeEntry {
                    ours: index(mine),
                    theirs: index(theirs),
                });
            }
        }
    }

    // Our live games: our moves, their timeouts.
    for g in t.games.iter().filter(|g| g.open) {
        let (d, c) = (g.defender as usize, g.challenger as usize);
        if !(standing(d) && standing(c)) || !(ours(d) || ours(c)) {
            continue; // dead (it takes no move), or not ours
        }
        let defender_moves = g.phase != Phase::Select;
        let our_move = if defender_moves { ours(d) } else { ours(c) };
        if our_move {
            match g.phase {
                Phase::Bisect => steps.push(Step::Bisect { game: g.key }),
                Phase::Select => steps.push(Step::Select { game: g.key }),
                Phase::OneStep => steps.push(Step::Prove { game: g.key }),
                Phase::None => {}
            }
        } else if s.block > g.deadline() {
            steps.push(Step::Timeout { game: g.key });
        } else if g.phase == Phase::OneStep {
            // As challenger we agree with the left end too: revealing it ends the game now.
            steps.push(Step::Prove { game: g.key });
        } else {
            wake_at(g.deadline() + 1);
        }
    }
    (steps, wake)
}

/// Reads request `id`'s tournament as [`next_steps`] needs it, as it stood at `block`: its
/// deadlines, every entry, and every game between `me`'s entries and the others (`settled`: the
/// request is Finalized). All at one block, so the picture is consistent however the reads
/// interleave with transactions; the entries and then the games are read concurrently (one
/// call each: a tournament is paid for entry by entry, so its size is bounded by its deposits).
pub async fn read(
    chain: &Chain,
    id: U256,
    me: Address,
    settled: bool,
    block: u64,
) -> ecm_chain::Result<Tournament> {
    use futures::future::try_join_all;
    let at = alloy::eips::BlockId::number(block);
    let contract = chain.tournaments();
    let view = chain
        .call("getTournament", contract.getTournament(id).block(at))
        .await?;
    let entries = try_join_all((0..view.entries).map(|i| {
        let call = contract.getEntry(id, i).block(at);
        async move { chain.call("getEntry", call).await }
    }))
    .await?;
    let entries: Vec<Entry> = entries
        .into_iter()
        .map(|e| Entry {
            party: e.party,
            claim: e.claim,
            eliminated: e.eliminated,
            wins: e.wins.to::<u32>(),
        })
        .collect();
    let count = entries.len();
    let mut keys: Vec<u64> = (0..count)
        .filter(|&i| entries[i].party == me)
        .flat_map(|mine| {
            (0..count)
                .filter(move |&i| i != mine)
                .map(move |other| game_key(mine, other))
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let views = try_join_all(keys.iter().map(|&k| {
        let call = contract.getTournamentGame(id, U256::from(k)).block(at);
        async move { chain.call("getTournamentGame", call).await }
    }))
    .await?;
    let games = keys
        .into_iter()
        .zip(views)
        // A pair that never played reads as a zero game (defender == challenger).
        .filter(|(_, g)| g.defender != g.challenger)
        .map(|(key, g)| Game {
            key,
            defender: g.defender,
            challenger: g.challenger,
            open: g.open,
            phase: Phase::try_from(g.game.phase).unwrap_or(Phase::None),
            turn_start: u64::try_from(g.game.turnStart).unwrap_or(u64::MAX),
            defender_clock: g.game.defenderClock,
            challenger_clock: g.game.challengerClock,
        })
        .collect();
    Ok(Tournament {
        entry_deadline: u64::try_from(view.entryDeadline).unwrap_or(u64::MAX),
        start_deadline: u64::try_from(view.startDeadline).unwrap_or(u64::MAX),
        end_deadline: u64::try_from(view.endDeadline).unwrap_or(u64::MAX),
        entries,
        games,
        settled,
    })
}

/// The key of the game between entries `a` and `b`, either way round (`gameKey(a, b)`).
pub fn game_key(a: usize, b: usize) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    ((lo as u64) << 32) | hi as u64
}

/// An entry's index as the contract numbers it (`uint32`; a tournament with more entries
/// could not have been paid for).
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Address = Address::repeat_byte(0xaa);
    const HOST: Address = Address::repeat_byte(0xbb);
    const RIGHT: B256 = B256::repeat_byte(1);
    const WRONG: B256 = B256::repeat_byte(2);

    fn entry(party: Address, claim: B256) -> Entry {
        Entry {
            party,
            claim,
            eliminated: false,
            wins: 0,
        }
    }

    fn puppet(k: u8, claim: B256) -> Entry {
        entry(Address::repeat_byte(0x10 + k), claim)
    }

    fn game(defender: u32, challenger: u32, phase: Phase, turn_start: u64) -> Game {
        Game {
            key: game_key(defender as usize, challenger as usize),
            defender,
            challenger,
            open: true,
            phase,
            turn_start,
            defender_clock: 50,
            challenger_clock: 50,
        }
    }

    /// A tournament on a wrong answer by the host, entries until block 110.
    fn on_wrong_answer() -> Tournament {
        Tournament {
            entry_deadline: 110,
            start_deadline: 160,
            end_deadline: 311,
            entries: vec![entry(HOST, WRONG)],
            games: vec![],
            settled: false,
        }
    }

    fn steps(t: &Tournament, block: u64) -> (Vec<Step>, Option<u64>) {
        next_steps(&Situation {
            me: ME,
            claim: RIGHT,
            block,
            margin: 2,
            tournament: t,
        })
    }

    #[test]
    fn an_honest_challenger_enters_against_a_wrong_answer_while_it_may() {
        let t = on_wrong_answer();
        assert_eq!(steps(&t, 100), (vec![Step::ChallengeAnswer], Some(111)));
        // Too late to land before the entries close: nothing to do.
        assert_eq!(steps(&t, 109).0, vec![]);
        // The answer already lost to someone else, a wrong claim stands: enter alone.
        let mut t = on_wrong_answer();
        t.entries[0].eliminated = true;
        t.entries.push(puppet(1, B256::repeat_byte(3)));
        assert_eq!(steps(&t, 100).0, vec![Step::Enter]);
        // Everyone standing agrees with us: nothing to do.
        t.entries[1].claim = RIGHT;
        assert_eq!(steps(&t, 100).0, vec![]);
        // A right answer disputed by a puppet: we enter beside it (the host might be silent,
        // and no entry can come after the window), without a game against it.
        let mut t = on_wrong_answer();
        t.entries[0].claim = RIGHT;
        t.entries.push(puppet(1, WRONG));
        assert_eq!(steps(&t, 100).0, vec![Step::Enter]);
    }

    #[test]
    fn every_puppet_is_challenged_at_once_and_every_due_move_is_sent() {
        let mut t = on_wrong_answer();
        t.entries.push(entry(ME, RIGHT));
        t.games.push(game(0, 1, Phase::Select, 100));
        for k in 0..4 {
            t.entries.push(puppet(k, B256::repeat_byte(10 + k)));
        }
        let (s, _) = steps(&t, 111);
        assert_eq!(s.len(), 5, "{s:?}");
        assert_eq!(
            s[4],
            Step::Select {
                game: game_key(0, 1)
            }
        );
        for (k, theirs) in (2..6).enumerate() {
            assert_eq!(s[k], Step::ChallengeEntry { ours: 1, theirs });
        }
        // Once the games exist they are not challenged again; past the starts' close, none.
        for theirs in 2..6 {
            t.games.push(game(theirs, 1, Phase::Bisect, 111));
        }
        let (s, wake) = steps(&t, 112);
        assert_eq!(
            s,
            vec![Step::Select {
                game: game_key(0, 1)
            }]
        );
        assert_eq!(
            wake,
            Some(162),
            "the puppets' clocks run out after block 161"
        );
        t.games[0].open = false;
        t.entries[0].eliminated = true;
        assert_eq!(
            steps(&t, 170).0,
            vec![
                Step::Timeout {
                    game: game_key(2, 1)
                },
                Step::Timeout {
                    game: game_key(3, 1)
                },
                Step::Timeout {
                    game: game_key(4, 1)
                },
                Step::Timeout {
                    game: game_key(5, 1)
                }
            ]
        );
    }

    #[test]
    fn the_honest_host_defends_every_game_and_ignores_dead_ones() {
        let mut t = on_wrong_answer();
        t.entries[0] = entry(ME, RIGHT);
        t.entries.push(puppet(1, WRONG));
        t.entries.push(puppet(2, B256::repeat_byte(3)));
        t.games.push(game(0, 1, Phase::Bisect, 100));
        t.games.push(game(0, 2, Phase::Select, 100));
        t.games.push(game(1, 2, Phase::Bisect, 100)); // between puppets: not ours
        // Our bisection now; the other game's select is theirs, due by block 150.
        assert_eq!(
            steps(&t, 101),
            (
                vec![Step::Bisect {
                    game: game_key(0, 1)
                }],
                Some(111)
            )
        );
        assert_eq!(
            steps(&t, 151).0,
            vec![
                Step::Bisect {
                    game: game_key(0, 1)
                },
                Step::Timeout {
                    game: game_key(0, 2)
                }
            ]
        );
        // Puppet 1 lost to puppet 2: our game with it is dead and takes no move.
        t.entries[1].eliminated = true;
        assert_eq!(
            steps(&t, 151).0,
            vec![Step::Timeout {
                game: game_key(0, 2)
            }]
        );
    }

    #[test]
    fn at_the_one_step_the_challenger_proves_too() {
        let mut t = on_wrong_answer();
        t.entries.push(entry(ME, RIGHT));
        t.games.push(game(0, 1, Phase::OneStep, 100));
        assert_eq!(
            steps(&t, 101).0,
            vec![Step::Prove {
                game: game_key(0, 1)
            }]
        );
    }

    #[test]
    fn it_is_settled_once_decided_and_our_entries_are_collected() {
        let mut t = on_wrong_answer();
        t.entries.push(entry(ME, RIGHT));
        t.entries[0].eliminated = true;
        // Decided, but entries are open until 110: another claim could still come.
        assert_eq!(steps(&t, 110).0, vec![]);
        assert_eq!(steps(&t, 111), (vec![Step::Settle { standing: 1 }], None));
        // Undecided at the end: settled all the same, naming any standing entry.
        let mut undecided = on_wrong_answer();
        undecided.entries.push(entry(ME, RIGHT));
        assert_eq!(steps(&undecided, 312).0, vec![Step::Settle { standing: 0 }]);
        // An eliminated entry that won nothing is owed nothing: its party neither settles nor
        // collects; one that won a game collects its winnings.
        let mut lost = on_wrong_answer();
        lost.entries[0] = entry(ME, WRONG);
        lost.entries[0].eliminated = true;
        lost.entries.push(puppet(1, RIGHT));
        assert_eq!(steps(&lost, 111).0, vec![]);
        lost.entries[0].wins = 1;
        assert_eq!(steps(&lost, 111).0, vec![Step::Settle { standing: 1 }]);
        lost.settled = true;
        assert_eq!(steps(&lost, 120).0, vec![Step::Collect { entry: 0 }]);
        lost.entries[0].wins = 0;
        assert_eq!(steps(&lost, 120).0, vec![]);
        t.settled = true;
        assert_eq!(steps(&t, 120), (vec![Step::Collect { entry: 1 }], None));
        t.entries[1].party = Address::ZERO;
        assert_eq!(steps(&t, 121), (vec![], None));
    }
}
