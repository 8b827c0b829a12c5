//! The report's pictures, drawn as SVG with plotters: stacked bars of where a request's time
//! went (end to end, or through the transport stage), and a load run's latency against the
//! throughput it achieved.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::timing::{ClientStage, Stage};

/// One bar: a label and its segments' lengths in milliseconds, in [`Segment::ALL`] order.
pub struct Bar {
    /// What the bar is (a route).
    pub label: String,
    /// Milliseconds per segment.
    pub segments: Vec<f64>,
}

/// A part of an end-to-end request's time, as the chart stacks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A stage on the client.
    Client(ClientStage),
    /// The client's wait less the server's own stages: the request until the server has its
    /// headers, the answer's way back, framing and copies.
    Network,
    /// A stage in the server.
    Server(Stage),
}

impl Segment {
    /// Every segment of a request's time, in the order they happen.
    pub const ALL: [Self; 12] = [
        Self::Client(ClientStage::Preprocess),
        Self::Client(ClientStage::Encode),
        Self::Network,
        Self::Server(Stage::Receive),
        Self::Server(Stage::Queue),
        Self::Server(Stage::Decode),
        Self::Server(Stage::Preprocess),
        Self::Server(Stage::Infer),
        Self::Server(Stage::Postprocess),
        Self::Server(Stage::Answer),
        Self::Server(Stage::Encode),
        Self::Client(ClientStage::Decode),
    ];

    /// Its name in the chart's key and the report's tables: the stage's, with `client` or
    /// `server` before the stages both sides have.
    pub fn label(self) -> String {
        match self {
            Self::Client(stage) => format!("client {}", stage.name()),
            Self::Network => "network".to_owned(),
            Self::Server(Stage::Encode) => "server encode".to_owned(),
            Self::Server(stage) => stage.name().to_owned(),
        }
    }
}

/// One per [`Segment::ALL`].
const COLORS: [RGBColor; Segment::ALL.len()] = [
    RGBColor(0x61, 0x61, 0x61),
    RGBColor(0x9e, 0x9e, 0x9e),
    RGBColor(0x42, 0x85, 0xf4),
    RGBColor(0x00, 0xac, 0xc1),
    RGBColor(0xfb, 0xbc, 0x04),
    RGBColor(0xea, 0x43, 0x35),
    RGBColor(0xf4, 0x6d, 0x43),
    RGBColor(0x34, 0xa8, 0x53),
    RGBColor(0x8e, 0x44, 0xad),
    RGBColor(0xc0, 0xca, 0x33),
    RGBColor(0x16, 0xa0, 0x85),
    RGBColor(0x5d, 0x6d, 0x7e),
];

/// Width of the whole picture and of the key on its right, in pixels.
const WIDTH: u32 = 900;
const KEY_WIDTH: u32 = 150;
/// One line of the key.
const KEY_LINE: u32 = 20;

/// An SVG of `bars`, one horizontal stacked bar each with its total at its end, titled
/// `title`; the key stands beside the plot, so no bar is ever drawn under it.
pub fn stacked_bars(title: &str, bars: &[Bar]) -> Result<String, String> {
    let mut svg = String::new();
    let key_height = 70 + KEY_LINE * Segment::ALL.len() as u32;
    let height = (90 + 34 * bars.len() as u32).max(key_height);
    let totals: Vec<f64> = bars.iter().map(|bar| bar.segments.iter().sum()).collect();
    let longest = totals.iter().copied().fold(0.0, f64::max);
    // Room after the longest bar for its total.
    let x_max = if longest > 0.0 { longest * 1.15 } else { 1.0 };
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(|e| e.to_string())?;
        let (plot, key) = root.split_horizontally(WIDTH - KEY_WIDTH);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(130)
            .build_cartesian_2d(0.0..x_max, 0.0..bars.len() as f64)
            .map_err(|e| e.to_string())?;
        let labels: Vec<&str> = bars.iter().map(|bar| bar.label.as_str()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(bars.len() * 2 + 1)
            .y_label_formatter(&|y| {
                // Label only the bars' centres; the first bar is at the top.
                let index = labels.len().wrapping_sub(1).wrapping_sub(y.floor() as usize);
                let centre = (y - y.floor() - 0.5).abs() < 1e-6;
                if centre {
                    labels.get(index).map(|l| (*l).to_owned()).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("milliseconds per request (mean)")
            .draw()
            .map_err(|e| e.to_string())?;
        let row_y = |row: usize| (bars.len() - 1 - row) as f64;
        for (segment, color) in COLORS.iter().enumerate() {
            let rectangles = bars.iter().enumerate().map(|(row, bar)| {
                let start: f64 = bar.segments[..segment].iter().sum();
                let end = start + bar.segments[segment];
                Rectangle::new([(start, row_y(row) + 0.2), (end, row_y(row) + 0.8)], color.filled())
            });
            chart.draw_series(rectangles).map_err(|e| e.to_string())?;
        }
        let total_style =
            TextStyle::from(("sans-serif", 12)).pos(Pos::new(HPos::Left, VPos::Center));
        chart
            .draw_series(totals.iter().enumerate().map(|(row, total)| {
                Text::new(format!(" {total:.1}"), (*total, row_y(row) + 0.5), total_style.clone())
            }))
            .map_err(|e| e.to_string())?;
        for (line, (segment, color)) in Segment::ALL.iter().zip(COLORS).enumerate() {
            let y = 20 + KEY_LINE as i32 * line as i32;
            key.draw(&Rectangle::new([(10, y), (22, y + 12)], color.filled()))
                .map_err(|e| e.to_string())?;
            key.draw(&Text::new(segment.label(), (28, y), ("sans-serif", 13)))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One load point on a latency curve.
pub struct CurvePoint {
    /// Answers a second.
    pub throughput: f64,
    /// Median latency, milliseconds.
    pub p50: f64,
    /// 99th percentile latency, milliseconds.
    pub p99: f64,
    /// Whether its windows agreed: an unstable point is drawn hollow.
    pub stable: bool,
}

/// An SVG of a load run: p50 and p99 latency (log scale) against the throughput each point
/// achieved, the points joined in the order given (of load), unstable ones hollow.
pub fn latency_curve(title: &str, points: &[CurvePoint]) -> Result<String, String> {
    const P50: RGBColor = RGBColor(0x42, 0x85, 0xf4);
    const P99: RGBColor = RGBColor(0xea, 0x43, 0x35);
    let mut svg = String::new();
    let x_max = points.iter().map(|p| p.throughput).fold(0.0, f64::max).max(1.0) * 1.1;
    let latencies = || points.iter().flat_map(|p| [p.p50, p.p99]).filter(|ms| *ms > 0.0);
    let y_min = latencies().fold(f64::INFINITY, f64::min).min(1.0) / 1.5;
    let y_max = latencies().fold(0.0, f64::max).max(y_min * 10.0) * 1.5;
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, (y_min..y_max).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("answers a second (achieved)")
            .y_desc("latency, ms (log)")
            .y_label_formatter(&|ms| format!("{ms}"))
            .draw()
            .map_err(|e| e.to_string())?;
        for (name, color, latency) in [
            ("p50", P50, (|p: &CurvePoint| p.p50) as fn(&CurvePoint) -> f64),
            ("p99", P99, |p| p.p99),
        ] {
            let line = points.iter().map(|p| (p.throughput, latency(p).max(y_min)));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            let markers = points.iter().map(|p| {
                let style = if p.stable { color.filled() } else { color.stroke_width(2) };
                Circle::new((p.throughput, latency(p).max(y_min)), 4, style)
            });
            chart.draw_series(markers).map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One line on a chart of time against link bandwidth.
pub struct LinkSeries {
    /// What it is (`grpc binary`, `wire time, base64`).
    pub label: String,
    /// Seconds at each of the chart's links, where measured.
    pub seconds: Vec<Option<f64>>,
    /// How it is drawn.
    pub style: LinkStyle,
}

/// How a [`LinkSeries`] is drawn.
#[derive(Clone, Copy)]
pub enum LinkStyle {
    /// A measured carrier: its color (one per carrier, from the key's order), solid for the
    /// raw image and thin for base64.
    Measured {
        /// Which carrier, from 0.
        carrier: usize,
        /// The base64 encoding (a thinner line and hollow markers).
        base64: bool,
    },
    /// The wire time of an encoding's bytes: grey and dashed, the floor.
    Wire,
}

/// The carriers' colors on a link chart: the floor, then the protocols.
const CARRIER_COLORS: [RGBColor; 4] = [
    RGBColor(0x5d, 0x6d, 0x7e),
    RGBColor(0x42, 0x85, 0xf4),
    RGBColor(0x34, 0xa8, 0x53),
    RGBColor(0xea, 0x43, 0x35),
];

/// An SVG of time (log scale) against the links in `links` (left to right, slowest first),
/// a line per series; a series skips the links it was not measured on.
pub fn link_curves(title: &str, links: &[String], series: &[LinkSeries]) -> Result<String, String> {
    let mut svg = String::new();
    let values = || series.iter().flat_map(|s| s.seconds.iter().flatten().copied());
    let y_min = values().filter(|s| *s > 0.0).fold(f64::INFINITY, f64::min).min(1.0) / 1.5;
    let y_max = values().fold(0.0, f64::max).max(y_min * 10.0) * 1.5;
    let x_max = links.len().max(1) as f64 - 0.5;
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(|e| e.to_string())?;
        let (plot, key) = root.split_horizontally(WIDTH - KEY_WIDTH - 40);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5..x_max, (y_min..y_max).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(links.len())
            .x_label_formatter(&|x| {
                let index = x.round();
                let on_link = (x - index).abs() < 1e-6 && index >= 0.0;
                on_link.then(|| links.get(index as usize).cloned()).flatten().unwrap_or_default()
            })
            .x_desc("link")
            .y_desc("seconds per 20 requests (median, log)")
            .y_label_formatter(&|s| format!("{s}"))
            .draw()
            .map_err(|e| e.to_string())?;
        for line in series {
            let points: Vec<(f64, f64)> = line
                .seconds
                .iter()
                .enumerate()
                .filter_map(|(x, s)| s.map(|s| (x as f64, s.max(y_min))))
                .collect();
            match line.style {
                LinkStyle::Wire => {
                    let style = RGBColor(0x9e, 0x9e, 0x9e).stroke_width(2);
                    chart
                        .draw_series(DashedLineSeries::new(points, 6, 4, style))
                        .map_err(|e| e.to_string())?;
                }
                LinkStyle::Measured { carrier, base64 } => {
                    let color = CARRIER_COLORS[carrier % CARRIER_COLORS.len()];
                    let width = if base64 { 1 } else { 2 };
                    chart
                        .draw_series(LineSeries::new(points.clone(), color.stroke_width(width)))
                        .map_err(|e| e.to_string())?;
                    let markers = points.iter().map(|&point| {
                        let style = if base64 { color.stroke_width(1) } else { color.filled() };
                        Circle::new(point, 4, style)
                    });
                    chart.draw_series(markers).map_err(|e| e.to_string())?;
                }
            }
        }
        for (row, line) in series.iter().enumerate() {
            let y = 20 + KEY_LINE as i32 * row as i32;
            let swatch = [(8, y + 6), (30, y + 6)];
            let element = match line.style {
                LinkStyle::Wire => {
                    PathElement::new(swatch, RGBColor(0x9e, 0x9e, 0x9e).stroke_width(2))
                }
                LinkStyle::Measured { carrier, base64 } => {
                    let color = CARRIER_COLORS[carrier % CARRIER_COLORS.len()];
                    PathElement::new(swatch, color.stroke_width(if base64 { 1 } else { 3 }))
                }
            };
            key.draw(&element).map_err(|e| e.to_string())?;
            key.draw(&Text::new(line.label.clone(), (36, y), ("sans-serif", 12)))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
