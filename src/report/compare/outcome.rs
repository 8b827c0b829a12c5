//! A comparison's outcome: every id's numbers and verdict (what `compare.json` holds, for a CI
//! job to read), and its renderings, a terminal table and Markdown for a pull request.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::judge::{CONFIRMATION_CONFIDENCE, Change, Judgement, Verdict};
use super::noise::NoiseProfile;
use crate::report::render::duration;
use crate::report::templates;

/// What a row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Wall time per iteration, nanoseconds, from the Criterion benches' runs.
    Time,
    /// Instructions per call, from `benches/instructions.rs` (Callgrind): the same on any
    /// machine, so judged by the change alone.
    Instructions,
}

impl Measure {
    /// Both measures.
    pub const ALL: [Self; 2] = [Self::Time, Self::Instructions];

    /// Its name, as `compare.json` and the tables write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::Instructions => "instructions",
        }
    }

    /// The measure named `name`.
    pub fn from_name(name: &str) -> Result<Self, crate::error::UnknownName> {
        crate::error::by_name("measure", &Self::ALL, Self::name, name)
    }

    /// An amount of this measure in words: `1.23 ms`, `4.560 M instr`.
    pub fn show(self, amount: f64) -> String {
        match self {
            Self::Time => duration(amount),
            Self::Instructions => match amount {
                n if n >= 1e9 => format!("{:.3} G instr", n / 1e9),
                n if n >= 1e6 => format!("{:.3} M instr", n / 1e6),
                n if n >= 1e3 => format!("{:.3} k instr", n / 1e3),
                n => format!("{n:.0} instr"),
            },
        }
    }
}

/// One id under one measure, compared. Changes are fractions (`0.2`: 20 % more); amounts
/// (`base`, `head`) are in the measure's unit. Numbers are absent where only one side has
/// the id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The bench id.
    pub id: String,
    /// What was compared.
    pub measure: Measure,
    /// Base's time per iteration (ns; the geometric mean of its runs' medians) or instruction
    /// count.
    pub base: Option<f64>,
    /// Head's, likewise.
    pub head: Option<f64>,
    /// `head / base - 1`.
    pub change: Option<f64>,
    /// The change's lower bound at the confidence (a count's change is exact: the change).
    pub lower: Option<f64>,
    /// The change's upper bound at the confidence.
    pub upper: Option<f64>,
    /// The p-value against "slower by more than the threshold" (see [`super::judge`]); for a
    /// count, 0 when it grew beyond its threshold and 1 otherwise.
    pub p_regressed: Option<f64>,
    /// The p-value against "faster by more than the threshold"; for a count, as above.
    pub p_improved: Option<f64>,
    /// The change that counted for this row: `--threshold`, the id's own from a noise
    /// profile, or the instruction threshold.
    pub threshold: f64,
    /// The verdict: over the whole family of timed ids for a time, by the threshold alone
    /// for a count.
    pub verdict: Verdict,
    /// For a time the comparison's rounds called changed: the change its confirmation rounds
    /// measured, judged on those runs alone. The verdict stands where they called the same,
    /// and is [`Verdict::Unconfirmed`] where they did not.
    #[serde(default)]
    pub confirmation: Option<Change>,
}

/// A row's key: its id and measure (`codec/base64_encode/360x640`, `instructions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The bench id.
    pub id: String,
    /// What was compared.
    pub measure: Measure,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.measure {
            Measure::Time => f.write_str(&self.id),
            Measure::Instructions => write!(f, "{} ({})", self.id, self.measure.name()),
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// What base was.
    pub base: String,
    /// What head was.
    pub head: String,
    /// The change in time that counts (`0.05`: 5 %) for an id the noise profile does not set.
    pub threshold: f64,
    /// The noise profile that set the timed ids' thresholds, if one did: when and where it
    /// was calibrated.
    pub noise_profile: Option<String>,
    /// How sure a time's verdict must be (`0.99`).
    pub confidence: f64,
    /// The change in instructions that counts (`0.01`: 1 %).
    pub instruction_threshold: f64,
    /// Timed runs per side.
    pub rounds: usize,
    /// Confirmation runs per side for each id the rounds called changed by time.
    #[serde(default)]
    pub confirm_rounds: usize,
    /// Every id and measure of either side, sorted.
    pub rows: Vec<Row>,
    /// The rows that regressed.
    pub regressed: Vec<Key>,
}

/// Each id's runs, each run its samples (time per iteration, nanoseconds).
pub type Runs = BTreeMap<String, Vec<Vec<f64>>>;

/// Each id's instruction count.
pub type Counts = BTreeMap<String, u64>;

/// What one side measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measured {
    /// Each timed id's runs.
    pub times: Runs,
    /// The confirmation rounds' runs of the ids the rounds called changed (empty where none
    /// were).
    pub confirmation: Runs,
    /// Each counted id's instructions (empty where nothing was counted).
    pub instructions: Counts,
}

/// Judges every id of either side: the timed ids both have as one family, each against its
/// threshold (from `noise` where it has the id), those called changed again on their
/// confirmation runs where they have them, and each counted id by its change alone.
pub fn outcome(
    (base_name, base): (&str, &Measured),
    (head_name, head): (&str, &Measured),
    judgement: &Judgement,
    noise: Option<&NoiseProfile>,
    rounds: usize,
    confirm_rounds: usize,
) -> Outcome {
    let mut rows = timed(base, head, judgement, noise);
    rows.extend(counted(&base.instructions, &head.instructions, judgement));
    rows.sort_by(|a, b| (&a.id, a.measure).cmp(&(&b.id, b.measure)));
    let regressed = rows
        .iter()
        .filter(|row| row.verdict == Verdict::Regressed)
        .map(|row| Key { id: row.id.clone(), measure: row.measure })
        .collect();
    Outcome {
        base: base_name.to_owned(),
        head: head_name.to_owned(),
        threshold: judgement.threshold,
        confidence: judgement.confidence,
        instruction_threshold: judgement.instruction_threshold,
        noise_profile: noise.map(|n| format!("calibrated {} on {}", n.calibrated, n.machine)),
        rounds,
        confirm_rounds,
        rows,
        regressed,
    }
}

/// The timed ids' rows: judged as one family on the comparison's rounds, then each id called
/// changed that has confirmation runs judged again, alone, on those.
fn timed(
    base: &Measured,
    head: &Measured,
    judgement: &Judgement,
    noise: Option<&NoiseProfile>,
) -> Vec<Row> {
    let threshold = |id: &str| noise.and_then(|n| n.threshold(id)).unwrap_or(judgement.threshold);
    let judge = |judgement: &Judgement, id: &str, base: &Runs, head: &Runs| -> Option<Change> {
        let judgement = Judgement { threshold: threshold(id), ..*judgement };
        let prior = noise.and_then(|n| n.prior(id));
        base.get(id).zip(head.get(id)).and_then(|(b, h)| judgement.judge(b, h, prior))
    };
    let judged: Vec<(&String, Option<Change>)> = union(&base.times, &head.times)
        .into_iter()
        .map(|id| (id, judge(judgement, id, &base.times, &head.times)))
        .collect();
    let changes: Vec<Change> = judged.iter().filter_map(|(_, change)| change.clone()).collect();
    let mut verdicts = judgement.verdicts(&changes).into_iter();
    let mut rows: Vec<Row> = judged
        .into_iter()
        .map(|(id, judged)| match judged {
            Some(change) => {
                let verdict = verdicts.next().expect("a verdict per change");
                row(id, Measure::Time, change, threshold(id), verdict)
            }
            None => one_sided(id, Measure::Time, threshold(id), base.times.contains_key(id)),
        })
        .collect();
    // The confirmation's interval is at its own confidence, as it is judged.
    let again = Judgement { confidence: CONFIRMATION_CONFIDENCE, ..*judgement };
    let confirmed: Vec<(usize, Change)> = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.changed())
        .filter_map(|(index, row)| {
            Some((index, judge(&again, &row.id, &base.confirmation, &head.confirmation)?))
        })
        .collect();
    for (index, change) in confirmed {
        let row = &mut rows[index];
        if Judgement::verdict_alone(&change, again.confidence) != row.verdict {
            row.verdict = Verdict::Unconfirmed;
        }
        row.confirmation = Some(change);
    }
    rows
}

/// The counted ids' rows.
fn counted(base: &Counts, head: &Counts, judgement: &Judgement) -> Vec<Row> {
    union(base, head)
        .into_iter()
        .map(|id| match (base.get(id), head.get(id)) {
            (Some(&b), Some(&h)) => {
                let (change, verdict) = judgement.judge_count(b, h);
                row(id, Measure::Instructions, change, judgement.instruction_threshold, verdict)
            }
            _ => one_sided(
                id,
                Measure::Instructions,
                judgement.instruction_threshold,
                base.contains_key(id),
            ),
        })
        .collect()
}

/// The keys of either map, sorted, once each.
fn union<'a, V>(base: &'a BTreeMap<String, V>, head: &'a BTreeMap<String, V>) -> Vec<&'a String> {
    let mut ids: Vec<&String> = base.keys().chain(head.keys()).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn row(id: &str, measure: Measure, change: Change, threshold: f64, verdict: Verdict) -> Row {
    Row {
        id: id.to_owned(),
        measure,
        base: Some(change.base),
        head: Some(change.head),
        change: Some(change.change),
        lower: Some(change.lower),
        upper: Some(change.upper),
        p_regressed: Some(change.p_regressed),
        p_improved: Some(change.p_improved),
        threshold,
        verdict,
        confirmation: None,
    }
}

/// The row of an id only one side has.
fn one_sided(id: &str, measure: Measure, threshold: f64, in_base: bool) -> Row {
    Row {
        id: id.to_owned(),
        measure,
        base: None,
        head: None,
        change: None,
        lower: None,
        upper: None,
        p_regressed: None,
        p_improved: None,
        threshold,
        verdict: if in_base { Verdict::OnlyInBase } else { Verdict::OnlyInHead },
        confirmation: None,
    }
}

/// A change as `+12.3%`.
pub fn percent(change: f64) -> String {
    format!("{:+.1}%", change * 100.0)
}

/// A verdict in words: `regressed`, `only in base`.
pub fn verdict(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Regressed => "regressed",
        Verdict::Improved => "improved",
        Verdict::Unchanged => "unchanged",
        Verdict::Unconfirmed => "unconfirmed",
        Verdict::OnlyInBase => "only in base",
        Verdict::OnlyInHead => "only in head",
    }
}

impl Row {
    /// Whether the verdict is a change: regressed or improved.
    pub fn changed(&self) -> bool {
        matches!(self.verdict, Verdict::Regressed | Verdict::Improved)
    }
}

impl Outcome {
    /// The timed ids the verdicts call changed, the ones confirmation rounds are for.
    pub fn changed_times(&self) -> Vec<String> {
        let changed = self.rows.iter().filter(|row| row.measure == Measure::Time && row.changed());
        changed.map(|row| row.id.clone()).collect()
    }

    /// What a regression is, in words.
    pub fn rule(&self) -> String {
        let by = match &self.noise_profile {
            Some(profile) => format!("its own threshold from the noise profile ({profile})"),
            None => format!("{:.0}%", self.threshold * 100.0),
        };
        let mut timed = format!(
            "regressed: slower by more than {by}, at a false discovery rate of {:.0}% over the \
             timed ids",
            (1.0 - self.confidence) * 100.0
        );
        if self.confirm_rounds > 0 {
            timed.push_str(&format!(
                ", and again in {} confirmation rounds of its own, judged alone at {:.0}%",
                self.confirm_rounds,
                CONFIRMATION_CONFIDENCE * 100.0
            ));
        }
        if self.rows.iter().any(|row| row.measure == Measure::Instructions) {
            format!(
                "{timed}; or more than {}% more instructions",
                self.instruction_threshold * 100.0
            )
        } else {
            timed
        }
    }

    /// The outcome as a plain-text table, for the terminal.
    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|row| row.id.len()).max().unwrap_or(2).max(2);
        let mut table = format!(
            "{:width$}  {:12}  {:>16}  {:>16}  {:>8}  {:>18}  {:>9}  verdict\n",
            "id", "measure", "base", "head", "change", "interval", "threshold"
        );
        for row in &self.rows {
            let amount =
                |value: Option<f64>| value.map_or_else(String::new, |v| row.measure.show(v));
            let interval = row.lower.zip(row.upper).map_or_else(String::new, |(lower, upper)| {
                format!("{} .. {}", percent(lower), percent(upper))
            });
            let measure = row.measure.name();
            table.push_str(&format!(
                "{:width$}  {measure:12}  {:>16}  {:>16}  {:>8}  {:>18}  {:>9}  {}{}\n",
                row.id,
                amount(row.base),
                amount(row.head),
                row.change.map_or_else(String::new, percent),
                interval,
                format!("{:.1}%", row.threshold * 100.0),
                verdict(row.verdict),
                row.confirmation.as_ref().map_or_else(String::new, |again| format!(
                    " (confirmation rounds: {}, {} .. {})",
                    percent(again.change),
                    percent(again.lower),
                    percent(again.upper)
                ))
            ));
        }
        table
    }

    /// The outcome as Markdown for a pull-request comment, through `compare.md.j2`.
    pub fn markdown(&self, templates_folder: Option<&Path>) -> io::Result<String> {
        #[derive(Serialize)]
        struct Context<'a> {
            #[serde(flatten)]
            outcome: &'a Outcome,
            rule: String,
        }
        let context = Context { outcome: self, rule: self.rule() };
        templates::environment(templates_folder)?
            .get_template("compare.md.j2")
            .and_then(|template| template.render(minijinja::value::Serde(&context)))
            .map_err(|error| io::Error::other(format!("compare.md.j2: {error:#}")))
    }
}
