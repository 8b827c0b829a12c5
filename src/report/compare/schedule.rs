//! The order `servebench compare` runs the two sides in: alternating rounds, base first in even
//! rounds and head first in odd ones (base, head, head, base, ...), so a steady drift of the
//! machine lands on both sides alike.

/// Which side a run is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The reference.
    Base,
    /// The side under test.
    Head,
}

impl Which {
    /// `base` or `head`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Head => "head",
        }
    }
}

/// One run in the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The round, from 0.
    pub round: usize,
    /// The side run.
    pub side: Which,
}

/// Every run of `rounds` rounds, in order.
pub fn schedule(rounds: usize) -> Vec<Step> {
    (0..rounds)
        .flat_map(|round| {
            let order = if round % 2 == 0 {
                [Which::Base, Which::Head]
            } else {
                [Which::Head, Which::Base]
            };
            order.map(|side| Step { round, side })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_alternate_which_side_goes_first() {
        let sides: Vec<Which> = schedule(3).iter().map(|step| step.side).collect();
        use Which::{Base, Head};
        assert_eq!(sides, [Base, Head, Head, Base, Base, Head]);
        assert_eq!(schedule(3).last().unwrap().round, 2);
    }
}
