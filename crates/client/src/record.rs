//! An address's record on the Broker (`recordOf`): what reputation is built from.

use ecm_bindings::IBroker;
use serde::Serialize;

/// What an address has done on the Broker, counted by the Broker at each outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Answers made public (sent plainly or revealed).
    pub answered: u32,
    /// Requests paid out to it as the host.
    pub paid: u32,
    /// Disputes over its answers that it won.
    pub defences_won: u32,
    /// Disputes over its answers that it lost.
    pub defences_lost: u32,
    /// Disputes it started by a challenge and won.
    pub challenges_won: u32,
    /// Disputes it started by a challenge and lost.
    pub challenges_lost: u32,
    /// Disputes it lost by not moving in time (counted in the losses too).
    pub timeouts: u32,
    /// Commitments it did not reveal in time.
    pub expired: u32,
}

impl Record {
    /// Whether a request with host admission `min_host_jobs` admits this address as its host
    /// (the Broker's rule; zero admits anyone).
    pub fn meets(&self, min_host_jobs: u16) -> bool {
        IBroker::Record::from(*self).meets(min_host_jobs)
    }

    /// The highest host admission (`min_host_jobs`) a request may ask and still admit this
    /// address; `None` once it lost a defence (only requests admitting anyone do then).
    pub fn admitted_up_to(&self) -> Option<u16> {
        if self.defences_lost != 0 {
            return None;
        }
        Some(u16::try_from(self.paid).unwrap_or(u16::MAX))
    }
}

impl From<IBroker::Record> for Record {
    fn from(r: IBroker::Record) -> Self {
        Self {
            answered: r.answered,
            paid: r.paid,
            defences_won: r.defencesWon,
            defences_lost: r.defencesLost,
            challenges_won: r.challengesWon,
            challenges_lost: r.challengesLost,
            timeouts: r.timeouts,
            expired: r.expired,
        }
    }
}

impl From<Record> for IBroker::Record {
    fn from(r: Record) -> Self {
        Self {
            answered: r.answered,
            paid: r.paid,
            defencesWon: r.defences_won,
            defencesLost: r.defences_lost,
            challengesWon: r.challenges_won,
            challengesLost: r.challenges_lost,
            timeouts: r.timeouts,
            expired: r.expired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_is_the_jobs_paid_unless_a_defence_was_lost() {
        let record = |paid, defences_lost| Record {
            paid,
            defences_lost,
            ..Record::default()
        };
        assert_eq!(record(0, 0).admitted_up_to(), Some(0));
        assert_eq!(record(7, 0).admitted_up_to(), Some(7));
        assert_eq!(record(100_000, 0).admitted_up_to(), Some(u16::MAX));
        assert_eq!(record(7, 1).admitted_up_to(), None);
        assert!(record(7, 0).meets(7) && !record(7, 0).meets(8));
        assert!(record(7, 1).meets(0) && !record(7, 1).meets(1));
    }
}
