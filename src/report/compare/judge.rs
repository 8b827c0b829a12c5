//! Judging a change: is head slower than base, beyond the machine's noise? Each side is every
//! sample of every run (time per iteration); the change is the ratio of their medians, and a
//! bootstrap (resampling both sides with replacement, seeded, so a verdict never flips between
//! two readings of the same files) gives its one-sided bounds. An id has regressed when, at the
//! chosen confidence, it is slower by more than the threshold.

use serde::Serialize;

use crate::fixtures::SplitMix64;

/// How strict the judgement is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judgement {
    /// The change that counts (0.05: 5 %).
    pub threshold: f64,
    /// How sure the verdict must be (0.99).
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
}

impl Default for Judgement {
    /// Slower by more than 5 % with 99 % confidence, from 10,000 resamples.
    fn default() -> Self {
        Self { threshold: 0.05, confidence: 0.99, resamples: 10_000 }
    }
}

/// What became of an id: the judge's three verdicts, and the comparison's two for an id only
/// one side has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Slower beyond the threshold, with the confidence asked for.
    Regressed,
    /// Faster beyond the threshold, with the confidence asked for.
    Improved,
    /// Neither: within the threshold, or not surely beyond it.
    Unchanged,
    /// Only base has the id (head removed or renamed it).
    OnlyInBase,
    /// Only head has the id (a new one).
    OnlyInHead,
}

/// One id, compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// Median time per iteration on base, nanoseconds.
    pub base: f64,
    /// Median time per iteration on head, nanoseconds.
    pub head: f64,
    /// `head / base - 1`: 0.2 is 20 % slower.
    pub change: f64,
    /// The change's lower bound at the confidence.
    pub lower: f64,
    /// The change's upper bound at the confidence.
    pub upper: f64,
    /// The verdict.
    pub verdict: Verdict,
}

impl Judgement {
    /// Compares `head`'s samples with `base`'s. `None` when either side has none.
    pub fn judge(&self, base: &[f64], head: &[f64]) -> Option<Change> {
        if base.is_empty() || head.is_empty() {
            return None;
        }
        let (base_median, head_median) = (median(base.to_vec()), median(head.to_vec()));
        let mut rng = SplitMix64::new(0x5345_5256_4245_4e43); // "SERVBENC"
        let mut resample = |side: &[f64]| {
            median(
                (0..side.len())
                    .map(|_| side[(rng.next_u64() % side.len() as u64) as usize])
                    .collect(),
            )
        };
        let mut changes: Vec<f64> =
            (0..self.resamples.max(1)).map(|_| resample(head) / resample(base) - 1.0).collect();
        changes.sort_by(f64::total_cmp);
        let quantile = |q: f64| changes[((changes.len() - 1) as f64 * q).round() as usize];
        let (lower, upper) = (quantile(1.0 - self.confidence), quantile(self.confidence));
        let verdict = if lower > self.threshold {
            Verdict::Regressed
        } else if upper < -self.threshold {
            Verdict::Improved
        } else {
            Verdict::Unchanged
        };
        let change = head_median / base_median - 1.0;
        Some(Change { base: base_median, head: head_median, change, lower, upper, verdict })
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples around `center` with a few percent of deterministic noise.
    fn noisy(center: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix64::new(seed);
        (0..n).map(|_| center * (1.0 + 0.06 * (rng.next_unit() - 0.5))).collect()
    }

    #[test]
    fn the_same_distribution_is_unchanged() {
        let change =
            Judgement::default().judge(&noisy(100.0, 30, 1), &noisy(100.0, 30, 2)).unwrap();
        assert_eq!(change.verdict, Verdict::Unchanged, "{change:?}");
        assert!(change.lower < 0.0 && change.upper > 0.0, "{change:?}");
    }

    #[test]
    fn twenty_percent_slower_is_a_regression_and_faster_an_improvement() {
        let judgement = Judgement::default();
        let slower = judgement.judge(&noisy(100.0, 30, 1), &noisy(120.0, 30, 2)).unwrap();
        assert_eq!(slower.verdict, Verdict::Regressed, "{slower:?}");
        assert!((slower.change - 0.2).abs() < 0.03, "{slower:?}");
        let faster = judgement.judge(&noisy(120.0, 30, 1), &noisy(100.0, 30, 2)).unwrap();
        assert_eq!(faster.verdict, Verdict::Improved, "{faster:?}");
    }

    #[test]
    fn a_small_or_unsure_change_is_not_a_regression() {
        let judgement = Judgement::default();
        // 3 % slower: real, but under the threshold.
        let small = judgement.judge(&noisy(100.0, 30, 1), &noisy(103.0, 30, 2)).unwrap();
        assert_eq!(small.verdict, Verdict::Unchanged, "{small:?}");
        // 10 % slower on two samples each of wild noise: not sure enough.
        let unsure = judgement.judge(&[50.0, 150.0], &[60.0, 160.0]).unwrap();
        assert_eq!(unsure.verdict, Verdict::Unchanged, "{unsure:?}");
        assert_eq!(judgement.judge(&[], &[1.0]), None);
    }
}
