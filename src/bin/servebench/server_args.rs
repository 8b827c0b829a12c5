//! What `serve` and `serve-study` share on the command line: the body budget, the time limits,
//! HTTP/2's configuration and the grace period, with sizes in bytes or KiB, MiB, GiB and times
//! in seconds.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use servebench::server::{DEFAULT_BODY_BUDGET, ListenConfig, Timeouts};
use servebench::transport::TransportConfig;

/// How a server holds up against its clients, and how it stops.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct ServerArgs {
    /// Bytes of request bodies held at once, being received or waiting for a worker; a
    /// request that would pass it gets 503 (gRPC RESOURCE_EXHAUSTED) before its body is read.
    #[arg(long, default_value_t = ByteSize(DEFAULT_BODY_BUDGET))]
    pub body_budget: ByteSize,
    /// Seconds for a connection's first byte and for each HTTP/1.1 request's headers, the
    /// wait between keep-alive requests included.
    #[arg(long, default_value_t = Seconds(Timeouts::DEFAULT.header_read))]
    pub header_timeout: Seconds,
    /// Seconds a request body gets before --body-min-rate adds to them (then 408, gRPC
    /// DEADLINE_EXCEEDED).
    #[arg(long, default_value_t = Seconds(Timeouts::DEFAULT.body_read))]
    pub body_timeout: Seconds,
    /// Each this many bytes of a body earn it one more second (a minimum rate).
    #[arg(long, default_value_t = ByteSize(Timeouts::DEFAULT.body_min_rate as usize))]
    pub body_min_rate: ByteSize,
    /// Seconds between HTTP/2 pings on a quiet connection (h2c and gRPC).
    #[arg(long, default_value_t = Seconds(Timeouts::DEFAULT.keepalive_interval))]
    pub keepalive: Seconds,
    /// Seconds a ping's answer may take before the connection is closed.
    #[arg(long, default_value_t = Seconds(Timeouts::DEFAULT.keepalive_timeout))]
    pub keepalive_timeout: Seconds,
    /// Most requests at once on one HTTP/2 connection (h2c and gRPC).
    #[arg(long, default_value_t = Timeouts::DEFAULT.max_concurrent_streams)]
    pub max_concurrent_streams: u32,
    /// HTTP/2 as both listeners grant it, the knobs of a transport id joined by +
    /// (window_16m or window_adaptive, frame_1m); empty for hyper's and tonic's defaults.
    #[arg(long, default_value = "")]
    pub transport: TransportConfig,
    /// Seconds the requests in flight at SIGTERM or Ctrl-C get to finish (Kubernetes' default
    /// terminationGracePeriodSeconds is 30).
    #[arg(long, default_value_t = Seconds(Duration::from_secs(30)))]
    pub grace_period: Seconds,
}

impl ServerArgs {
    /// Where and how to listen, with `body_limit`.
    pub fn listen(&self, rest: SocketAddr, grpc: SocketAddr, body_limit: ByteSize) -> ListenConfig {
        ListenConfig {
            rest_addr: rest,
            grpc_addr: grpc,
            body_limit: body_limit.0,
            body_budget: self.body_budget.0,
            timeouts: Timeouts {
                header_read: self.header_timeout.0,
                body_read: self.body_timeout.0,
                body_min_rate: self.body_min_rate.0 as u64,
                keepalive_interval: self.keepalive.0,
                keepalive_timeout: self.keepalive_timeout.0,
                max_concurrent_streams: self.max_concurrent_streams,
            },
            transport: self.transport,
        }
    }

    /// The start-up lines on limits, HTTP/2 and stopping.
    pub fn banner(&self, body_limit: ByteSize) -> [String; 4] {
        let http2 = if self.transport == TransportConfig::default() {
            "HTTP/2: hyper's and tonic's defaults (--transport)".to_owned()
        } else {
            format!("HTTP/2: {}", self.transport)
        };
        [
            format!(
                "Bodies: at most {body_limit} each, {} in flight together (--body-limit, \
                 --body-budget)",
                self.body_budget
            ),
            format!(
                "Time limits: headers {} s, bodies {} s + 1 s per {} received, HTTP/2 pings \
                 every {} s, {} streams per connection",
                self.header_timeout,
                self.body_timeout,
                self.body_min_rate,
                self.keepalive,
                self.max_concurrent_streams
            ),
            http2,
            format!(
                "SIGTERM or Ctrl-C stops: no new connections, {} s for the requests in flight.",
                self.grace_period
            ),
        ]
    }
}

/// A size in bytes, written as a count or with KiB, MiB or GiB (`16MiB`, `1GiB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub usize);

const UNITS: [(&str, usize); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (number, unit) = UNITS
            .iter()
            .find_map(|(suffix, unit)| Some((text.strip_suffix(suffix)?, *unit)))
            .unwrap_or((text, 1));
        number
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|count| count.checked_mul(unit))
            .map(Self)
            .ok_or_else(|| format!("{text:?} is not a size: bytes, or a count with KiB, MiB, GiB"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match UNITS.iter().find(|(_, unit)| self.0 >= *unit && self.0.is_multiple_of(*unit)) {
            Some((suffix, unit)) => write!(formatter, "{}{suffix}", self.0 / unit),
            None => write!(formatter, "{}", self.0),
        }
    }
}

/// A time in seconds, fractions allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<f64>()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .map(Self)
            .ok_or_else(|| format!("{text:?} is not a number of seconds"))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_write_with_binary_units() {
        for (text, bytes, written) in [
            ("1GiB", 1 << 30, "1GiB"),
            ("16MiB", 16 << 20, "16MiB"),
            ("16 MiB", 16 << 20, "16MiB"),
            ("1536KiB", 1536 << 10, "1536KiB"),
            ("67108864", 64 << 20, "64MiB"),
            ("1000", 1000, "1000"),
        ] {
            let size: ByteSize = text.parse().unwrap();
            assert_eq!(size, ByteSize(bytes), "{text}");
            assert_eq!(size.to_string(), written);
        }
        for bad in ["", "1GB", "-1", "1.5MiB", "99999999999999999999GiB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn seconds_take_fractions_and_refuse_the_rest() {
        assert_eq!("0.5".parse::<Seconds>().unwrap(), Seconds(Duration::from_millis(500)));
        assert_eq!(Seconds(Duration::from_secs(30)).to_string(), "30");
        for bad in ["", "-1", "soon", "inf"] {
            assert!(bad.parse::<Seconds>().is_err(), "{bad:?} parsed");
        }
    }
}
