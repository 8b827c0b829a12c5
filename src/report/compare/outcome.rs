//! A comparison's outcome: every id's numbers and verdict (what `compare.json` holds, for a CI
//! job to read), and its renderings, a terminal table and Markdown for a pull request.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::judge::{Change, Judgement, Verdict};
use crate::report::render::duration;
use crate::report::templates;

/// One id, compared. Times are medians per iteration in nanoseconds; changes are fractions
/// (`0.2`: 20 % slower). Numbers are absent where only one side has the id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The bench id, as Criterion recorded it.
    pub id: String,
    /// Base's median.
    pub base_ns: Option<f64>,
    /// Head's median.
    pub head_ns: Option<f64>,
    /// `head / base - 1`.
    pub change: Option<f64>,
    /// The change's lower bound at the confidence.
    pub lower: Option<f64>,
    /// The change's upper bound at the confidence.
    pub upper: Option<f64>,
    /// The share of resamples not slower than the threshold (see [`super::judge`]).
    pub p_regressed: Option<f64>,
    /// The share of resamples not faster than the threshold.
    pub p_improved: Option<f64>,
    /// The verdict, over the whole family of ids compared.
    pub verdict: Verdict,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// What base was.
    pub base: String,
    /// What head was.
    pub head: String,
    /// The change that counts as a regression (`0.05`: 5 %).
    pub threshold: f64,
    /// How sure a verdict must be (`0.99`).
    pub confidence: f64,
    /// Runs per side.
    pub rounds: usize,
    /// Every id of either side, sorted.
    pub rows: Vec<Row>,
    /// The ids that regressed.
    pub regressed: Vec<String>,
}

/// Each id's runs, each run its samples (time per iteration, nanoseconds).
pub type Runs = BTreeMap<String, Vec<Vec<f64>>>;

/// Judges every id of either side, the ids both have as one family.
pub fn outcome(
    (base_name, base): (&str, &Runs),
    (head_name, head): (&str, &Runs),
    judgement: &Judgement,
    rounds: usize,
) -> Outcome {
    let mut ids: Vec<&String> = base.keys().chain(head.keys()).collect();
    ids.sort();
    ids.dedup();
    let family = base.keys().filter(|id| head.contains_key(*id)).count();
    let judgement = judgement.for_family(family);
    let judged: Vec<(&String, Option<Change>)> = ids
        .into_iter()
        .map(|id| (id, base.get(id).zip(head.get(id)).and_then(|(b, h)| judgement.judge(b, h))))
        .collect();
    let changes: Vec<Change> = judged.iter().filter_map(|(_, change)| change.clone()).collect();
    let mut verdicts = judgement.verdicts(&changes).into_iter();
    let rows: Vec<Row> = judged
        .into_iter()
        .map(|(id, judged)| match judged {
            Some(change) => Row {
                id: id.clone(),
                base_ns: Some(change.base),
                head_ns: Some(change.head),
                change: Some(change.change),
                lower: Some(change.lower),
                upper: Some(change.upper),
                p_regressed: Some(change.p_regressed),
                p_improved: Some(change.p_improved),
                verdict: verdicts.next().expect("a verdict per judged id"),
            },
            None => Row {
                id: id.clone(),
                base_ns: None,
                head_ns: None,
                change: None,
                lower: None,
                upper: None,
                p_regressed: None,
                p_improved: None,
                verdict: if base.contains_key(id) {
                    Verdict::OnlyInBase
                } else {
                    Verdict::OnlyInHead
                },
            },
        })
        .collect();
    let regressed = rows
        .iter()
        .filter(|row| row.verdict == Verdict::Regressed)
        .map(|row| row.id.clone())
        .collect();
    Outcome {
        base: base_name.to_owned(),
        head: head_name.to_owned(),
        threshold: judgement.threshold,
        confidence: judgement.confidence,
        rounds,
        rows,
        regressed,
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
        Verdict::OnlyInBase => "only in base",
        Verdict::OnlyInHead => "only in head",
    }
}

impl Outcome {
    /// What a regression is, in words.
    pub fn rule(&self) -> String {
        format!(
            "regressed: slower by more than {:.0}%, at a false discovery rate of {:.0}% over the \
             ids judged",
            self.threshold * 100.0,
            (1.0 - self.confidence) * 100.0
        )
    }

    /// The outcome as a plain-text table, for the terminal.
    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|row| row.id.len()).max().unwrap_or(2).max(2);
        let mut table = format!(
            "{:width$}  {:>10}  {:>10}  {:>8}  {:>18}  verdict\n",
            "id", "base", "head", "change", "interval"
        );
        let or_blank =
            |value: Option<f64>, show: fn(f64) -> String| value.map_or_else(String::new, show);
        for row in &self.rows {
            let interval = row.lower.zip(row.upper).map_or_else(String::new, |(lower, upper)| {
                format!("{} .. {}", percent(lower), percent(upper))
            });
            table.push_str(&format!(
                "{:width$}  {:>10}  {:>10}  {:>8}  {:>18}  {}\n",
                row.id,
                or_blank(row.base_ns, duration),
                or_blank(row.head_ns, duration),
                or_blank(row.change, percent),
                interval,
                verdict(row.verdict)
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
