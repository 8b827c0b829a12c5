//! Per-request stage timings, and their wire form: the `Server-Timing` header (W3C), which the
//! model server sends over HTTP and, under the same name and value, as gRPC metadata.
//!
//! ```text
//! server-timing: receive;dur=0.212, queue;dur=0.041, decode;dur=5.35, preprocess;dur=6.1, infer;dur=35.4, postprocess;dur=0.005, encode;dur=0.002
//! ```
//!
//! Durations are milliseconds, as the header's `dur` parameter defines them. The client's side of
//! a request is [`ClientTimings`]: encoding, waiting on the network and the server, decoding.

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The header (and gRPC metadata key) that carries the timings.
pub const HEADER: &str = "server-timing";

/// A stage a request spends server time in, in the order it happens. Its name (in the header,
/// and in the attribution file's JSON) is the variant's in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The request's body arriving: from its headers to its last byte (transfer, flow
    /// control and framing; see `server::clock`).
    Receive,
    /// Waiting for a worker, for a batch to fill, or for batch-mates to be prepared.
    Queue,
    /// Image bytes to pixels.
    Decode,
    /// Pixels to model input (resize, crop, normalize).
    Preprocess,
    /// The forward pass, copies to and from the device included.
    Infer,
    /// Scores to the answer (softmax, top 5, labels).
    Postprocess,
    /// What the study's servers do with a decoded request: check it and take the answer.
    Answer,
    /// The answer to response bytes.
    Encode,
}

impl Stage {
    /// Every stage, in request order.
    pub const ALL: [Self; 8] = [
        Self::Receive,
        Self::Queue,
        Self::Decode,
        Self::Preprocess,
        Self::Infer,
        Self::Postprocess,
        Self::Answer,
        Self::Encode,
    ];

    /// The stage's name in the header: `receive`, `queue`, `decode`, `preprocess`, `infer`,
    /// `postprocess`, `answer`, `encode`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Receive => "receive",
            Self::Queue => "queue",
            Self::Decode => "decode",
            Self::Preprocess => "preprocess",
            Self::Infer => "infer",
            Self::Postprocess => "postprocess",
            Self::Answer => "answer",
            Self::Encode => "encode",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        crate::error::by_name("stage", &Self::ALL, Self::name, name).ok()
    }
}

/// Where one request's server time went, stage by stage.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimings([Option<Duration>; Stage::ALL.len()]);

impl StageTimings {
    /// Adds `duration` to `stage` (a stage may be entered more than once).
    pub fn record(&mut self, stage: Stage, duration: Duration) {
        let slot = &mut self.0[stage as usize];
        *slot = Some(slot.unwrap_or_default() + duration);
    }

    /// Runs `work`, recording its wall time under `stage`.
    pub fn time<T>(&mut self, stage: Stage, work: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let result = work();
        self.record(stage, start.elapsed());
        result
    }

    /// Adds every stage `other` recorded.
    pub fn merge(&mut self, other: &Self) {
        for stage in Stage::ALL {
            if let Some(duration) = other.get(stage) {
                self.record(stage, duration);
            }
        }
    }

    /// The time recorded for `stage`, if any.
    pub fn get(&self, stage: Stage) -> Option<Duration> {
        self.0[stage as usize]
    }

    /// Reads a `Server-Timing` value. Metrics servebench does not know (another server's) and
    /// metrics without a duration are skipped, as the header's consumers are meant to.
    pub fn parse(header: &str) -> Self {
        let mut timings = Self::default();
        for metric in header.split(',') {
            let mut parts = metric.split(';').map(str::trim);
            let Some(stage) = parts.next().and_then(Stage::from_name) else { continue };
            let milliseconds = parts
                .filter_map(|parameter| parameter.strip_prefix("dur="))
                .find_map(|value| value.trim_matches('"').parse::<f64>().ok())
                .filter(|ms| ms.is_finite() && *ms >= 0.0);
            if let Some(ms) = milliseconds {
                timings.record(stage, Duration::from_secs_f64(ms / 1000.0));
            }
        }
        timings
    }
}

/// The `Server-Timing` value: recorded stages in request order, durations in milliseconds.
impl fmt::Display for StageTimings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for stage in Stage::ALL {
            if let Some(duration) = self.get(stage) {
                write!(
                    f,
                    "{separator}{};dur={:.3}",
                    stage.name(),
                    duration.as_secs_f64() * 1000.0
                )?;
                separator = ", ";
            }
        }
        Ok(())
    }
}

/// Where one request's time went on the client: preparing the model's input where the client
/// does (the Open Inference Protocol's tensor routes), building the body, waiting for the whole
/// answer (the network and the server), reading it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientTimings {
    /// The image to the model's input on the client: decode, resize, crop, normalize (zero
    /// where the server does it).
    pub preprocess: Duration,
    /// The image to the request body (base64, JSON, multipart framing; for gRPC, the message,
    /// whose protobuf encoding tonic does while sending, under `wait`).
    pub encode: Duration,
    /// From sending the request to holding the whole answer.
    pub wait: Duration,
    /// The answer's bytes to a value (the JSON object; for gRPC, after tonic's protobuf decode).
    pub decode: Duration,
}

impl ClientTimings {
    /// The time spent in `stage`.
    pub fn get(&self, stage: ClientStage) -> Duration {
        match stage {
            ClientStage::Preprocess => self.preprocess,
            ClientStage::Encode => self.encode,
            ClientStage::Wait => self.wait,
            ClientStage::Decode => self.decode,
        }
    }
}

/// A stage of a request on the client, in the order it happens; named in lower case in the
/// attribution file's JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientStage {
    /// The image to the model's input, where the client prepares it.
    Preprocess,
    /// The image (or tensor) to the request body.
    Encode,
    /// From sending the request to holding the whole answer.
    Wait,
    /// The answer's bytes to a value.
    Decode,
}

impl ClientStage {
    /// Every client stage, in request order.
    pub const ALL: [Self; 4] = [Self::Preprocess, Self::Encode, Self::Wait, Self::Decode];

    /// `preprocess`, `encode`, `wait` or `decode`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Preprocess => "preprocess",
            Self::Encode => "encode",
            Self::Wait => "wait",
            Self::Decode => "decode",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribution_file_names_stages_as_the_header_does() {
        for stage in Stage::ALL {
            assert_eq!(serde_json::to_value(stage).unwrap(), stage.name());
        }
        for stage in ClientStage::ALL {
            assert_eq!(serde_json::to_value(stage).unwrap(), stage.name());
        }
    }
}
