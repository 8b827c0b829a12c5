//! Judging a change: is head slower than base, beyond the machine's noise?
//!
//! **The run is the unit of replication.** The samples of one bench process share its state
//! (clock frequency, neighbours, cache and allocator layout), so a run as a whole lands fast or
//! slow, and its samples agree with each other far better than two runs do. Pooling every
//! sample as if independent (what servebench did first) makes the interval as narrow as one
//! run's scatter and calls a slow run a regression. So each side is a list of runs, and the bootstrap is hierarchical: a resample draws the side's runs with replacement,
//! then each drawn run's samples with replacement, and takes the median of all it drew; the
//! change is head's resampled median over base's. A side with one run (a saved baseline)
//! resamples its samples only, and can only judge that run. The resampling is seeded, so a
//! verdict never flips between two readings of the same files.
//!
//! Each id gets one-sided p-values: the share of resamples at or under the threshold (against
//! "regressed") and at or over its negative (against "improved"). A verdict over a family of
//! ids ([`Judgement::verdicts`]) controls the false discovery rate at `1 - confidence` with
//! Benjamini-Hochberg, so a suite of 200 ids is held to the same promise as one id.
//!
//! The figures that led here: five A/A comparisons in the quick mode (3 rounds) on a 2-core
//! VM, nothing else running, the same runs judged both ways (`servebench compare --rejudge`).
//! Pooled samples at 99 % per id called 6, 15 and 10 of the codec bench's 50 ids and 8 and 9
//! of the vision bench's 30 changed; runs as the unit with the false discovery rate at 1 %
//! called 0, 4, 0, 1 and 1. The planted 20 % slowdown of `codec/base64_encode/*` stays caught
//! on all three ids. What is left is bigger than a run: in the A/A with 4, all three of
//! head's runs of `codec/json_decode/base64_1080x1920` took 2.0-2.4 ms against base's
//! 1.2-1.4 ms, the same binary copied to two paths, so a side's copy of the binary (its
//! pages' placement) can move a whole side, and three runs cannot show that.

use serde::Serialize;

use crate::fixtures::SplitMix64;

/// How strict the judgement is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judgement {
    /// The change that counts (0.05: 5 %).
    pub threshold: f64,
    /// How sure the verdict must be (0.99): one minus the false discovery rate allowed over the
    /// ids judged together.
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
    /// Median time per iteration on base, nanoseconds, over all its runs' samples.
    pub base: f64,
    /// Median time per iteration on head, nanoseconds.
    pub head: f64,
    /// `head / base - 1`: 0.2 is 20 % slower.
    pub change: f64,
    /// The change's lower bound at the confidence, for this id alone.
    pub lower: f64,
    /// The change's upper bound at the confidence, for this id alone.
    pub upper: f64,
    /// The share of resamples not slower than the threshold: small when head surely regressed.
    pub p_regressed: f64,
    /// The share of resamples not faster than the threshold: small when head surely improved.
    pub p_improved: f64,
}

impl Judgement {
    /// This judgement for a family of `ids` judged together: enough resamples that a p-value
    /// can be as small as the false discovery rate asks of the surest id (`rate / ids`), twice
    /// over. With 10,000 resamples no p-value falls under 1/10,001, and among 177 ids at 1 %
    /// not even a certain regression would be called.
    pub fn for_family(&self, ids: usize) -> Self {
        let rate = (1.0 - self.confidence).max(f64::MIN_POSITIVE);
        let needed = (2.0 * ids as f64 / rate).ceil().min(1e7) as usize;
        Self { resamples: self.resamples.max(needed), ..*self }
    }

    /// Compares `head`'s runs with `base`'s, each run its samples (time per iteration). `None`
    /// when either side has no samples.
    pub fn judge<'a>(&self, base: &'a [Vec<f64>], head: &'a [Vec<f64>]) -> Option<Change> {
        let runs = |side: &'a [Vec<f64>]| -> Vec<&'a [f64]> {
            side.iter().filter(|run| !run.is_empty()).map(Vec::as_slice).collect()
        };
        let (base, head) = (runs(base), runs(head));
        if base.is_empty() || head.is_empty() {
            return None;
        }
        let pooled = |side: &[&[f64]]| median(&mut side.concat());
        let (base_median, head_median) = (pooled(&base), pooled(&head));
        let mut rng = SplitMix64::new(0x5345_5256_4245_4e43); // "SERVBENC"
        let mut scratch = Vec::new();
        let resamples = self.resamples.max(1);
        let mut changes: Vec<f64> = (0..resamples)
            .map(|_| {
                let head = resampled_median(&head, &mut rng, &mut scratch);
                head / resampled_median(&base, &mut rng, &mut scratch) - 1.0
            })
            .collect();
        changes.sort_by(f64::total_cmp);
        let quantile = |q: f64| changes[((changes.len() - 1) as f64 * q).round() as usize];
        // A resample's chance to fall on the null side; never 0, as no finite number of
        // resamples can show a probability is 0.
        let share = |count: usize| (count + 1) as f64 / (resamples + 1) as f64;
        Some(Change {
            base: base_median,
            head: head_median,
            change: head_median / base_median - 1.0,
            lower: quantile(1.0 - self.confidence),
            upper: quantile(self.confidence),
            p_regressed: share(changes.partition_point(|&c| c <= self.threshold)),
            p_improved: share(changes.len() - changes.partition_point(|&c| c < -self.threshold)),
        })
    }

    /// The verdict on each of a family of changes judged together: Benjamini-Hochberg over
    /// every id's smaller p-value, at a false discovery rate of `1 - confidence`.
    pub fn verdicts(&self, changes: &[Change]) -> Vec<Verdict> {
        let rate = 1.0 - self.confidence;
        let p = |change: &Change| change.p_regressed.min(change.p_improved);
        let mut order: Vec<usize> = (0..changes.len()).collect();
        order.sort_by(|&a, &b| p(&changes[a]).total_cmp(&p(&changes[b])));
        let m = changes.len() as f64;
        // The largest rank whose p-value is within its share of the rate; it and every
        // smaller one are discoveries.
        let discoveries = order
            .iter()
            .enumerate()
            .rev()
            .find(|&(rank, &index)| p(&changes[index]) <= (rank + 1) as f64 / m * rate)
            .map_or(0, |(rank, _)| rank + 1);
        let mut verdicts = vec![Verdict::Unchanged; changes.len()];
        for &index in &order[..discoveries] {
            let change = &changes[index];
            verdicts[index] = if change.p_regressed <= change.p_improved {
                Verdict::Regressed
            } else {
                Verdict::Improved
            };
        }
        verdicts
    }
}

/// The median of one hierarchical resample of `runs`: as many runs as there are, drawn with
/// replacement, and from each drawn run as many of its samples as it has, with replacement.
fn resampled_median(runs: &[&[f64]], rng: &mut SplitMix64, scratch: &mut Vec<f64>) -> f64 {
    let mut pick = |len: usize| (rng.next_u64() % len as u64) as usize;
    scratch.clear();
    for _ in 0..runs.len() {
        let run = &runs[pick(runs.len())];
        for _ in 0..run.len() {
            scratch.push(run[pick(run.len())]);
        }
    }
    median(scratch)
}

/// The median, reordering `values` (linear time: resampling calls it a million times).
fn median(values: &mut [f64]) -> f64 {
    let (len, middle) = (values.len(), values.len() / 2);
    let (below, upper, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    let upper = *upper;
    if len % 2 == 1 {
        upper
    } else {
        let lower = below.iter().copied().max_by(f64::total_cmp).expect("an even, non-empty list");
        (lower + upper) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples around `center` with a few percent of deterministic noise.
    fn noisy(center: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix64::new(seed);
        (0..n).map(|_| center * (1.0 + 0.06 * (rng.next_unit() - 0.5))).collect()
    }

    /// Runs at these centers, ten samples each (the quick mode's), with 1 % of scatter inside
    /// a run.
    fn runs(centers: &[f64], seed: u64) -> Vec<Vec<f64>> {
        runs_of(10, centers, seed)
    }

    /// Runs at these centers, `samples` each, with 1 % of scatter inside a run.
    fn runs_of(samples: usize, centers: &[f64], seed: u64) -> Vec<Vec<f64>> {
        let mut rng = SplitMix64::new(seed);
        let mut sample = |center: f64| center * (1.0 + 0.02 * (rng.next_unit() - 0.5));
        centers.iter().map(|&center| (0..samples).map(|_| sample(center)).collect()).collect()
    }

    fn verdict(judgement: &Judgement, base: &[Vec<f64>], head: &[Vec<f64>]) -> Verdict {
        judgement.verdicts(&[judgement.judge(base, head).unwrap()])[0]
    }

    #[test]
    fn the_same_distribution_is_unchanged() {
        let judgement = Judgement::default();
        let change = judgement.judge(&[noisy(100.0, 30, 1)], &[noisy(100.0, 30, 2)]).unwrap();
        assert!(change.lower < 0.0 && change.upper > 0.0, "{change:?}");
        assert_eq!(judgement.verdicts(&[change]), [Verdict::Unchanged]);
    }

    #[test]
    fn twenty_percent_slower_is_a_regression_and_faster_an_improvement() {
        let judgement = Judgement::default();
        let slower = judgement.judge(&[noisy(100.0, 30, 1)], &[noisy(120.0, 30, 2)]).unwrap();
        assert!((slower.change - 0.2).abs() < 0.03, "{slower:?}");
        assert!(slower.p_regressed < 0.001 && slower.p_improved > 0.99, "{slower:?}");
        assert_eq!(judgement.verdicts(&[slower]), [Verdict::Regressed]);
        let faster = [noisy(120.0, 30, 1)];
        assert_eq!(verdict(&judgement, &faster, &[noisy(100.0, 30, 2)]), Verdict::Improved);
    }

    #[test]
    fn a_small_or_unsure_change_is_not_a_regression() {
        let judgement = Judgement::default();
        // 3 % slower: real, but under the threshold.
        let small = verdict(&judgement, &[noisy(100.0, 30, 1)], &[noisy(103.0, 30, 2)]);
        assert_eq!(small, Verdict::Unchanged);
        // 10 % slower on two samples each of wild noise: not sure enough.
        let unsure = verdict(&judgement, &[vec![50.0, 150.0]], &[vec![60.0, 160.0]]);
        assert_eq!(unsure, Verdict::Unchanged);
        assert_eq!(judgement.judge(&[], &[vec![1.0]]), None);
        assert_eq!(judgement.judge(&[vec![]], &[vec![1.0]]), None);
    }

    #[test]
    fn a_slow_run_is_not_a_regression_but_every_run_slower_is() {
        let judgement = Judgement::default();
        // Criterion's default 100 samples a run.
        let base = runs_of(100, &[100.0, 100.0, 100.0], 1);
        // Two of head's runs landed 8 % slow, as a whole run can on a shared machine: pooled as
        // 300 independent samples, that read as a sure 8 % regression.
        let two_slow_runs = runs_of(100, &[100.0, 108.0, 108.0], 2);
        assert_eq!(verdict(&judgement, &base, &two_slow_runs), Verdict::Unchanged);
        // Every run 20 % slower is a regression, even with the runs' own spread.
        let slower = runs_of(100, &[118.0, 121.0, 120.0], 3);
        assert_eq!(verdict(&judgement, &base, &slower), Verdict::Regressed);
    }

    #[test]
    fn a_family_is_held_to_the_rate_not_each_id() {
        let judgement = Judgement::default();
        let change = |p_regressed: f64| Change {
            base: 1.0,
            head: 1.0,
            change: 0.0,
            lower: 0.0,
            upper: 0.0,
            p_regressed,
            p_improved: 1.0,
        };
        // Alone, p = 0.005 is within 1 %; among 50 ids it is what chance gives.
        assert_eq!(judgement.verdicts(&[change(0.005)]), [Verdict::Regressed]);
        let mut family = vec![change(0.005)];
        family.extend((0..49).map(|_| change(0.5)));
        assert!(judgement.verdicts(&family).iter().all(|v| *v == Verdict::Unchanged));
        // A sure one stands out of the family; the one chance gave stays unchanged.
        family[1] = change(0.0001);
        let verdicts = judgement.verdicts(&family);
        assert_eq!(verdicts[1], Verdict::Regressed);
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Regressed).count(), 1);
    }

    #[test]
    fn a_large_family_gets_the_resamples_its_surest_id_needs() {
        let judgement = Judgement::default();
        assert_eq!(judgement.for_family(3).resamples, 10_000);
        let family = judgement.for_family(177);
        assert_eq!(family.resamples, 35_400);
        // A change present in every run is then called even alone among 177 ids.
        let base = runs(&[100.0, 100.0, 100.0], 1);
        let change = family.judge(&base, &runs(&[120.0, 121.0, 119.0], 2)).unwrap();
        let mut changes = vec![change];
        changes.extend((0..176).map(|seed| family.judge(&base, &runs(&[100.0; 3], seed)).unwrap()));
        let verdicts = family.verdicts(&changes);
        assert_eq!(verdicts[0], Verdict::Regressed);
        assert!(verdicts[1..].iter().all(|v| *v == Verdict::Unchanged));
    }

    #[test]
    fn medians_are_medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
