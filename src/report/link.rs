//! The report's links (`servebench::link`): what each link's check measured, and per image
//! size a chart of time per 20 requests against link bandwidth, each carrier with the image raw
//! and as base64, the wire time of the bytes (size x 8 / rate) drawn beneath as the floor.

use std::collections::BTreeMap;

use serde::Serialize;

use super::chart::{self, LinkSeries, LinkStyle};
use super::criterion::{Measurement, Throughput};
use super::run::LinkChecks;
use crate::fixtures::{ImageSize, STUDY_SIZES};
use crate::ids::{Carrier, Payload, TransportId};
use crate::link::{Link, LinkCheck};
use crate::transport::Protocol;

/// The links' part of the report.
#[derive(Serialize)]
pub struct LinkSection {
    /// Each checked link's figures, slowest first.
    pub checks: Vec<CheckRow>,
    /// A chart per image size.
    pub charts: Vec<LinkChart>,
}

/// One link check, as the report prints it.
#[derive(Serialize)]
pub struct CheckRow {
    /// The profile.
    pub link: String,
    /// The bench that checked it (the last one that did, where both did).
    pub bench: String,
    /// Configured and measured rate, Mbit/s.
    pub rate: String,
    /// Configured and measured round trip, ms.
    pub rtt: String,
    /// The timed 2.4 MB transfer and its wire time.
    pub transfer: String,
}

/// Time against bandwidth for one image size.
#[derive(Serialize)]
pub struct LinkChart {
    /// The image size.
    pub size: String,
    /// The chart's links, left to right.
    pub links: Vec<String>,
    /// The chart's lines as a table: label, then seconds at each link.
    pub rows: Vec<(String, Vec<String>)>,
    /// The chart.
    pub svg: String,
    /// Its file, beside the report.
    pub svg_file: String,
}

/// The carriers drawn, in the key's order.
fn carriers() -> [Carrier; 4] {
    let [h1, h2, grpc] = Protocol::ALL.map(Carrier::defaults);
    [Carrier::Floor, h1, h2, grpc]
}

/// The links section over the run's transport results (`get` looks one up) and recorded
/// checks; none when the run crossed no emulated link.
pub fn section<'a>(
    get: &dyn Fn(TransportId) -> Option<&'a Measurement>,
    measured: &[Link],
    checks: &LinkChecks,
) -> Result<Option<LinkSection>, String> {
    // The chart's x axis: the bandwidth profiles (no added round trip), slowest first, then
    // loopback.
    let mut axis: Vec<Link> = measured
        .iter()
        .copied()
        .filter(|link| link.shape().is_some_and(|s| s.rtt_ms == 0))
        .collect();
    if axis.is_empty() {
        return Ok(None);
    }
    axis.sort();
    if measured.contains(&Link::Loopback) {
        axis.push(Link::Loopback);
    }
    let mut charts = Vec::new();
    for size in STUDY_SIZES {
        if let Some(chart) = size_chart(get, &axis, size)? {
            charts.push(chart);
        }
    }
    Ok(Some(LinkSection { checks: check_rows(checks), charts }))
}

/// Each link's check and the bench that made it: the transport bench's where both checked a
/// link (the benches come in name order, and a later one's check replaces an earlier's).
pub fn latest(checks: &LinkChecks) -> BTreeMap<Link, (&str, &LinkCheck)> {
    let mut latest = BTreeMap::new();
    for (bench, by_link) in checks {
        for (link, check) in by_link {
            latest.insert(*link, (bench.as_str(), check));
        }
    }
    latest
}

/// Each link's latest check, slowest link first.
fn check_rows(checks: &LinkChecks) -> Vec<CheckRow> {
    latest(checks)
        .into_iter()
        .map(|(link, (bench, check))| {
            let (mbit, rtt_ms) = link.shape().map_or((0, 0), |shape| (shape.mbit, shape.rtt_ms));
            CheckRow {
                link: link.to_string(),
                bench: bench.to_owned(),
                rate: format!("{:.1} of {mbit}", check.rate_mbit),
                rtt: format!("{:.2} of {rtt_ms}", check.rtt_ms),
                transfer: format!(
                    "{:.1} ms (wire time {:.1} ms)",
                    check.transfer_ms,
                    check.transfer_wire_ms().unwrap_or(0.0)
                ),
            }
        })
        .collect()
}

/// The chart of `size`: every carrier with the raw image and base64, at each link of `axis`.
fn size_chart<'a>(
    get: &dyn Fn(TransportId) -> Option<&'a Measurement>,
    axis: &[Link],
    size: ImageSize,
) -> Result<Option<LinkChart>, String> {
    let seconds = |m: &Measurement| m.median.point / 1e9;
    let mut series = Vec::new();
    // The request body's bytes per iteration, by encoding, from the HTTP/1.1 ids' throughput.
    let mut bytes: BTreeMap<bool, u64> = BTreeMap::new();
    for (index, carrier) in carriers().into_iter().enumerate() {
        for base64 in [false, true] {
            let payload = if base64 { Payload::Base64(size) } else { Payload::Binary(size) };
            let id = |link| TransportId {
                carrier,
                link,
                payload,
                concurrency: TransportId::LINK_CONCURRENCY,
            };
            let found: Vec<Option<&Measurement>> = axis.iter().map(|&link| get(id(link))).collect();
            if found.iter().all(Option::is_none) {
                continue;
            }
            if carrier != Carrier::Floor {
                let body = found.iter().flatten().find_map(|m| match m.throughput {
                    Some(Throughput::Bytes(n) | Throughput::BytesDecimal(n)) => Some(n),
                    _ => None,
                });
                if let Some(body) = body {
                    bytes.entry(base64).or_insert(body);
                }
            }
            let encoding = if base64 { "base64" } else { "raw" };
            series.push(LinkSeries {
                label: format!("{carrier} {encoding}"),
                seconds: found.iter().map(|m| m.map(seconds)).collect(),
                style: LinkStyle::Measured { carrier: index, base64 },
            });
        }
    }
    if series.is_empty() {
        return Ok(None);
    }
    for (base64, body) in bytes {
        let wire =
            axis.iter().map(|link| link.shape().map(|shape| shape.wire_time(body).as_secs_f64()));
        let encoding = if base64 { "base64" } else { "raw" };
        series.push(LinkSeries {
            label: format!("wire time, {encoding}"),
            seconds: wire.collect(),
            style: LinkStyle::Wire,
        });
    }
    let links: Vec<String> = axis.iter().map(ToString::to_string).collect();
    let title = format!("transport, {size}, c20: time against the link");
    let svg = chart::link_curves(&title, &links, &series)?;
    let rows = series
        .iter()
        .map(|line| {
            let cells =
                line.seconds.iter().map(|s| s.map_or("—".to_owned(), |s| format!("{s:.3}")));
            (line.label.clone(), cells.collect())
        })
        .collect();
    Ok(Some(LinkChart {
        size: size.to_string(),
        links,
        rows,
        svg,
        svg_file: format!("links_{size}.svg"),
    }))
}
