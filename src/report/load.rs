//! Load runs (`servebench load`) as files: one JSON and one CSV per workload in
//! `target/servebench/load/`, each run replacing the last of its workload, so the report
//! charts the latest run of every workload measured; as the table the command prints; and as
//! the report's section: a latency curve per workload and its points' server stages.
//!
//! The CSV has perf_analyzer's shape, one row per load point, times in microseconds: the load,
//! throughput, the client's send and receive stages, each server stage's mean and p99, then
//! the latency percentiles.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::chart::{self, CurvePoint};
use super::run::RunInfo;
use crate::ids::{LoadId, Workload};
use crate::link::LinkCheck;
use crate::load::sweep::Search;
use crate::load::{LoadConfig, Point};
use crate::timing::{ClientStage, Stage};

/// The folder, under servebench's output folder, load runs are written to.
pub const FOLDER: &str = "load";

/// One `servebench load` run of one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadRun {
    /// What was sent, by what.
    pub workload: Workload,
    /// Where: `in-process`, or the external server's URLs.
    pub target: String,
    /// What the link check measured before the run, when the workload crossed an emulated
    /// link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkCheck>,
    /// How each point was measured.
    pub config: LoadConfig,
    /// Where and on what it ran.
    pub run: RunInfo,
    /// Every point measured, in order.
    pub points: Vec<Point>,
    /// What a search for the highest rate under a budget found, when the run was one.
    pub search: Option<Found>,
}

/// A search's outcome without its points (they are the run's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The budget, as `p99 <= 100 ms`.
    pub budget: String,
    /// The highest rate measured that met it.
    pub sustained: Option<f64>,
    /// Whether that was the top of the range searched.
    pub at_top: bool,
}

impl Found {
    /// The outcome of `search`, whose points the run keeps.
    pub fn of(search: &Search) -> Self {
        let budget = format!("{} <= {} ms", search.budget.statistic, search.budget.limit_ms);
        Self { budget, sustained: search.sustained, at_top: search.at_top }
    }

    /// The outcome in a sentence.
    pub fn sentence(&self) -> String {
        match (self.sustained, self.at_top) {
            (None, _) => format!("no rate tried held {}: even the lowest missed it", self.budget),
            (Some(rate), false) => format!("highest rate holding {}: {rate}/s", self.budget),
            (Some(rate), true) => {
                format!("{rate}/s, the top of the range, held {}: try higher", self.budget)
            }
        }
    }
}

impl LoadRun {
    /// The files' name, without extension: the workload with `/` as `-`.
    pub fn stem(&self) -> String {
        self.workload.to_string().replace('/', "-")
    }

    /// Writes `<stem>.json` and `<stem>.csv` into `dir`; returns their paths.
    pub fn save(&self, dir: &Path) -> io::Result<[PathBuf; 2]> {
        std::fs::create_dir_all(dir)?;
        let json = dir.join(format!("{}.json", self.stem()));
        let csv = dir.join(format!("{}.csv", self.stem()));
        std::fs::write(&json, serde_json::to_vec_pretty(self).map_err(io::Error::other)?)?;
        std::fs::write(&csv, self.csv())?;
        Ok([json, csv])
    }

    /// The points as CSV, one row each.
    pub fn csv(&self) -> String {
        let mut header = vec![
            "id",
            "load",
            "offered_per_s",
            "throughput_per_s",
            "stable",
            "sent",
            "delayed",
            "failed",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        header.extend(ClientStage::ALL.map(|stage| format!("client_{}_us", stage.name())));
        for stage in Stage::ALL {
            header.push(format!("server_{}_us", stage.name()));
            header.push(format!("server_{}_p99_us", stage.name()));
        }
        header.extend(
            ["p50_us", "p90_us", "p95_us", "p99_us", "p99.9_us", "max_us", "mean_us"]
                .map(str::to_owned),
        );
        let mut csv = header.join(",") + "\n";
        let us = |ms: f64| format!("{:.0}", ms * 1000.0);
        for point in &self.points {
            let id = LoadId { workload: self.workload, load: point.load };
            let mut row = vec![
                id.to_string(),
                point.load.to_string(),
                point.load.offered().map(|rate| rate.to_string()).unwrap_or_default(),
                format!("{:.2}", point.throughput),
                point.stable.to_string(),
                point.sent.to_string(),
                point.delayed.to_string(),
                point.failed().to_string(),
            ];
            row.extend(ClientStage::ALL.map(|stage| us(point.client[&stage])));
            for stage in Stage::ALL {
                let summary = point.server.get(&stage);
                row.push(summary.map(|s| us(s.mean)).unwrap_or_default());
                row.push(summary.map(|s| us(s.p99)).unwrap_or_default());
            }
            let l = &point.latency;
            row.extend([l.p50, l.p90, l.p95, l.p99, l.p999, l.max, l.mean].map(us));
            csv += &(row.join(",") + "\n");
        }
        csv
    }

    /// The points as a table for a terminal: latencies in milliseconds, and the server stages
    /// each answer reported, by mean.
    pub fn table(&self) -> String {
        let mut table = format!("{} ({})\n", self.workload, self.target);
        if let Some(check) = &self.link {
            let _ = writeln!(table, "link {check}");
        }
        let _ = writeln!(
            table,
            "{:>14} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6} {:>6}  server stages, mean ms",
            "load",
            "answers/s",
            "p50 ms",
            "p90",
            "p95",
            "p99",
            "p99.9",
            "max",
            "delayed",
            "failed",
            "stable",
        );
        for point in &self.points {
            let l = &point.latency;
            let stages = point
                .server
                .iter()
                .map(|(stage, summary)| format!("{} {:.3}", stage.name(), summary.mean))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                table,
                "{:>14} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>6} {:>6}  {}",
                point.load.to_string(),
                point.throughput,
                l.p50,
                l.p90,
                l.p95,
                l.p99,
                l.p999,
                l.max,
                point.delayed,
                point.failed(),
                if point.stable { "yes" } else { "NO" },
                if stages.is_empty() { "none reported".to_owned() } else { stages },
            );
            for (kind, errors) in &point.errors {
                // On one line: an error body is often indented JSON.
                let example = errors.example.split_whitespace().collect::<Vec<_>>().join(" ");
                let _ = writeln!(table, "{:>14} {} x {kind}: {example}", "", errors.count);
            }
        }
        if let Some(found) = &self.search {
            let _ = writeln!(table, "{}", found.sentence());
        }
        table
    }
}

/// The latest run of every workload in `dir`, by workload; none when there is no such folder.
pub fn latest(dir: &Path) -> io::Result<Vec<LoadRun>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut runs = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "json") {
            let text = std::fs::read(&path)?;
            let run: LoadRun = serde_json::from_slice(&text)
                .map_err(|error| io::Error::other(format!("{}: {error}", path.display())))?;
            runs.push(run);
        }
    }
    runs.sort_by_key(|run| run.workload);
    Ok(runs)
}

/// A load run as the report shows it: its curve, and a row per point with the server's stages.
#[derive(Clone, Debug, Serialize)]
pub struct LoadSection {
    /// The workload.
    pub workload: String,
    /// Where it was sent, and where and when it ran.
    pub about: String,
    /// What a search found, in a sentence.
    pub search: Option<String>,
    /// The curve.
    pub svg: String,
    /// The curve's file name beside the report.
    pub svg_file: String,
    /// The server stages any point reported, in request order.
    pub stages: Vec<String>,
    /// The points, in order of load.
    pub rows: Vec<LoadRow>,
}

/// One load point as the report's table shows it; latencies in milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct LoadRow {
    /// `c4`, `r100`.
    pub load: String,
    /// Answers a second.
    pub throughput: String,
    /// p50, p90, p99, p99.9.
    pub latencies: [String; 4],
    /// Requests delayed, failed.
    pub delayed: u64,
    /// Requests failed.
    pub failed: u64,
    /// `yes`, or `no` where the windows never agreed.
    pub stable: &'static str,
    /// Each of the section's stages: its mean, or `—` where the point has none.
    pub stages: Vec<String>,
}

impl LoadRun {
    /// The run as the report's section.
    pub fn section(&self) -> Result<LoadSection, String> {
        let mut points: Vec<&Point> = self.points.iter().collect();
        // In order of load, as a search measures them out of it: past the knee the curve
        // turns upward at the throughput the server tops out at.
        points.sort_by(|a, b| a.load.level().total_cmp(&b.load.level()));
        let curve: Vec<CurvePoint> = points
            .iter()
            .map(|point| CurvePoint {
                throughput: point.throughput,
                p50: point.latency.p50,
                p99: point.latency.p99,
                stable: point.stable,
            })
            .collect();
        let svg = chart::latency_curve(&self.workload.to_string(), &curve)?;
        let stages: Vec<Stage> = Stage::ALL
            .into_iter()
            .filter(|stage| points.iter().any(|point| point.server.contains_key(stage)))
            .collect();
        let ms = |ms: f64| format!("{ms:.2}");
        let rows = points
            .iter()
            .map(|point| {
                let l = &point.latency;
                LoadRow {
                    load: point.load.to_string(),
                    throughput: format!("{:.1}", point.throughput),
                    latencies: [l.p50, l.p90, l.p99, l.p999].map(ms),
                    delayed: point.delayed,
                    failed: point.failed(),
                    stable: if point.stable { "yes" } else { "no" },
                    stages: stages
                        .iter()
                        .map(|stage| {
                            point.server.get(stage).map_or("—".to_owned(), |s| ms(s.mean))
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(LoadSection {
            workload: self.workload.to_string(),
            about: format!(
                "{}{}; commit {}, {}, started {}",
                self.target,
                self.link.as_ref().map(|check| format!(", link {check}")).unwrap_or_default(),
                self.run.commit,
                self.run.machine,
                self.run.started
            ),
            search: self.search.as_ref().map(Found::sentence),
            svg,
            svg_file: format!("load-{}.svg", self.stem()),
            stages: stages.iter().map(|stage| stage.name().to_owned()).collect(),
            rows,
        })
    }
}

/// The report's sections for the latest run of every workload in `dir`.
pub fn sections(dir: &Path) -> io::Result<Vec<LoadSection>> {
    latest(dir)?.iter().map(|run| run.section().map_err(io::Error::other)).collect()
}
