//! A transport configuration: the knobs of HTTP/2 flow control and framing, connection counts
//! and compression that both ends of a cell are built from. One value describes a server and
//! its client alike; each end applies the knobs it has (a server its receive windows and the
//! largest frame it takes, a client those, how many connections it opens and whether it
//! compresses; servebench's servers take every compression servebench speaks, always).
//!
//! Written as knobs joined by `+`, in a fixed order, the default being no knob at all: `""`,
//! `window_16m`, `window_adaptive+frame_1m`, `conns_4`, `window_16m+gzip`. That text is the configuration's part
//! of a bench id (`transport/grpc+window_16m/...`) and the value of `--transport` on the command
//! line, so an id names exactly the configuration that can be served again.

use std::fmt;
use std::str::FromStr;

use super::Protocol;

/// The receive windows set by [`Window::Large`]: 16 MiB, stream and connection alike.
pub const LARGE_WINDOW: u32 = 16 << 20;

/// The largest frame accepted under [`FrameSize::Large`]: 1 MiB (HTTP/2's default is 16 KiB).
pub const LARGE_FRAME: u32 = 1 << 20;

/// HTTP/2 flow control: how much a receiver lets the sender have in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Window {
    /// hyper's defaults, which tonic keeps: a server grants 1 MiB per stream and per
    /// connection, a client 2 MiB per stream and 5 MiB per connection.
    #[default]
    Default,
    /// [`LARGE_WINDOW`] for every stream and for the connection (`window_16m`).
    Large,
    /// Windows grown by measuring the bandwidth-delay product with PINGs (hyper's and tonic's
    /// `adaptive_window`, `window_adaptive`).
    Adaptive,
}

/// The largest HTTP/2 frame an end accepts, so the largest its peer sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameSize {
    /// 16 KiB, HTTP/2's initial `SETTINGS_MAX_FRAME_SIZE`.
    #[default]
    Default,
    /// [`LARGE_FRAME`] (`frame_1m`).
    Large,
}

/// What a client compresses its requests with (and, for gRPC, asks the answers in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compression {
    /// Nothing compressed.
    #[default]
    None,
    /// gzip at level 6 (tonic's level): gRPC's `grpc-encoding: gzip`, or REST's
    /// `Content-Encoding: gzip` request body.
    Gzip,
    /// zstd at its default level 3 (tonic's): gRPC only.
    Zstd,
}

/// A transport configuration; [`TransportConfig::default`] is what hyper and tonic do
/// unconfigured, with one connection per HTTP/2 client and a growing pool for HTTP/1.1, and
/// nothing compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportConfig {
    /// HTTP/2 flow-control windows (REST over HTTP/2, gRPC).
    pub window: Window,
    /// HTTP/2 maximum frame size (REST over HTTP/2, gRPC).
    pub frame: FrameSize,
    /// How many connections a client opens, where set (`conns_<n>`): over HTTP/1.1 at most
    /// that many requests are in flight, the rest wait their turn; over HTTP/2 and gRPC the
    /// requests go round-robin over that many connections. Unset: a pool that grows to the
    /// requests in flight over HTTP/1.1, one connection over HTTP/2.
    pub connections: Option<u8>,
    /// What a client compresses with (`gzip`, `zstd`).
    pub compression: Compression,
}

/// A text that names no configuration, or one a protocol cannot take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A knob servebench does not know, or knobs out of their order.
    #[error(
        "{0:?} is not a transport configuration: knobs are window_16m or window_adaptive, \
         frame_1m, conns_<1-255>, gzip or zstd, joined by + in that order"
    )]
    Unknown(String),
    /// A knob the protocol does not have.
    #[error(
        "{protocol} has no {knob} knob (HTTP/2 windows and frames are for rest_h2 and grpc, \
         zstd for grpc)"
    )]
    NotFor {
        /// The protocol.
        protocol: Protocol,
        /// The knob.
        knob: String,
    },
}

impl TransportConfig {
    /// Each knob the protocol has, set alone, then the combinations worth measuring: large
    /// windows with large frames, and those over four connections. The default is not listed.
    pub fn variants(protocol: Protocol) -> Vec<Self> {
        let d = Self::default();
        let large = Self { window: Window::Large, frame: FrameSize::Large, ..d };
        let gzip = Self { compression: Compression::Gzip, ..d };
        match protocol {
            Protocol::RestH1 => vec![Self { connections: Some(1), ..d }, gzip],
            Protocol::RestH2 | Protocol::Grpc => {
                let mut variants = vec![
                    Self { window: Window::Large, ..d },
                    Self { window: Window::Adaptive, ..d },
                    Self { frame: FrameSize::Large, ..d },
                    Self { connections: Some(4), ..d },
                    gzip,
                ];
                if protocol == Protocol::Grpc {
                    variants.push(Self { compression: Compression::Zstd, ..d });
                }
                variants.extend([large, Self { connections: Some(4), ..large }]);
                variants
            }
        }
    }

    /// Whether `protocol` has every knob set here.
    pub fn check(self, protocol: Protocol) -> Result<Self, ConfigError> {
        let http2 = matches!(protocol, Protocol::RestH2 | Protocol::Grpc);
        let grpc = protocol == Protocol::Grpc;
        let foreign = [
            (self.window == Window::Large && !http2, "window_16m"),
            (self.window == Window::Adaptive && !http2, "window_adaptive"),
            (self.frame == FrameSize::Large && !http2, "frame_1m"),
            (self.compression == Compression::Zstd && !grpc, "zstd"),
        ]
        .into_iter()
        .find(|&(foreign, _)| foreign);
        match foreign {
            Some((_, knob)) => Err(ConfigError::NotFor { protocol, knob: knob.to_owned() }),
            None => Ok(self),
        }
    }

    /// Each knob set here, alone: the configurations this one combines (none for the
    /// default; itself for one knob).
    pub fn alone(self) -> Vec<Self> {
        let d = Self::default();
        let window = (self.window != Window::Default).then_some(Self { window: self.window, ..d });
        let frame = (self.frame != FrameSize::Default).then_some(Self { frame: self.frame, ..d });
        let connections = self.connections.map(|n| Self { connections: Some(n), ..d });
        let compression = (self.compression != Compression::None)
            .then_some(Self { compression: self.compression, ..d });
        [window, frame, connections, compression].into_iter().flatten().collect()
    }

    /// The knobs set, in order; none for the default.
    fn knobs(self) -> Vec<String> {
        let window = match self.window {
            Window::Default => None,
            Window::Large => Some("window_16m".to_owned()),
            Window::Adaptive => Some("window_adaptive".to_owned()),
        };
        let frame = (self.frame == FrameSize::Large).then(|| "frame_1m".to_owned());
        let connections = self.connections.map(|n| format!("conns_{n}"));
        let compression = match self.compression {
            Compression::None => None,
            Compression::Gzip => Some("gzip".to_owned()),
            Compression::Zstd => Some("zstd".to_owned()),
        };
        [window, frame, connections, compression].into_iter().flatten().collect()
    }

    /// The stream and connection windows a server or client grants, where set: `None` keeps
    /// hyper's.
    pub fn windows(self) -> Option<u32> {
        (self.window == Window::Large).then_some(LARGE_WINDOW)
    }

    /// Whether windows adapt to the measured bandwidth-delay product.
    pub fn adaptive_window(self) -> bool {
        self.window == Window::Adaptive
    }

    /// The largest frame accepted, where set: `None` keeps HTTP/2's 16 KiB.
    pub fn max_frame_size(self) -> Option<u32> {
        (self.frame == FrameSize::Large).then_some(LARGE_FRAME)
    }
}

/// The knobs joined by `+`; the empty string for the default.
impl fmt::Display for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.knobs().join("+"))
    }
}

/// Parses what [`Display`](fmt::Display) writes, and only that (knobs in their order, each
/// once), so one configuration has one name.
impl FromStr for TransportConfig {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let unknown = || ConfigError::Unknown(text.to_owned());
        let mut config = Self::default();
        for knob in text.split('+').filter(|_| !text.is_empty()) {
            match knob {
                "window_16m" => config.window = Window::Large,
                "window_adaptive" => config.window = Window::Adaptive,
                "frame_1m" => config.frame = FrameSize::Large,
                "gzip" => config.compression = Compression::Gzip,
                "zstd" => config.compression = Compression::Zstd,
                _ => {
                    let count = knob.strip_prefix("conns_").ok_or_else(unknown)?;
                    let count = count.parse().ok().filter(|&n: &u8| n > 0);
                    config.connections = Some(count.ok_or_else(unknown)?);
                }
            }
        }
        if config.to_string() != text {
            return Err(unknown());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_names_itself_and_parses_back() {
        assert_eq!(TransportConfig::default().to_string(), "");
        assert_eq!("".parse(), Ok(TransportConfig::default()));
        for protocol in Protocol::ALL {
            for config in TransportConfig::variants(protocol) {
                let name = config.to_string();
                assert!(!name.is_empty());
                assert_eq!(name.parse(), Ok(config), "{name}");
                assert_eq!(config.check(protocol), Ok(config), "{protocol} {name}");
            }
        }
        let both: TransportConfig = "window_16m+frame_1m+conns_4+zstd".parse().unwrap();
        assert_eq!(both.compression, Compression::Zstd);
        assert_eq!(both.windows(), Some(16 << 20));
        assert_eq!(both.max_frame_size(), Some(1 << 20));
        assert_eq!(both.connections, Some(4));
        let alone: Vec<String> = both.alone().iter().map(ToString::to_string).collect();
        assert_eq!(alone, ["window_16m", "frame_1m", "conns_4", "zstd"]);
        assert_eq!("window_adaptive".parse::<TransportConfig>().unwrap().alone().len(), 1);
        assert!(TransportConfig::default().alone().is_empty());
    }

    #[test]
    fn a_name_is_refused_unless_it_is_the_one_way_to_write_it() {
        for text in [
            "frame_1m+window_16m",
            "window_16m+window_adaptive",
            "window_16m+",
            "+frame_1m",
            "conns_0",
            "conns_04",
            "conns_256",
            "conns_",
            "window_8m",
            "gzip+conns_1",
            "gzip+zstd",
            "brotli",
        ] {
            assert!(text.parse::<TransportConfig>().is_err(), "{text}");
        }
    }

    #[test]
    fn http2_knobs_are_refused_for_http1() {
        let large: TransportConfig = "window_16m".parse().unwrap();
        assert!(matches!(
            large.check(Protocol::RestH1),
            Err(ConfigError::NotFor { protocol: Protocol::RestH1, .. })
        ));
        let one: TransportConfig = "conns_1+gzip".parse().unwrap();
        assert_eq!(one.check(Protocol::RestH1), Ok(one));
        let zstd: TransportConfig = "zstd".parse().unwrap();
        assert!(zstd.check(Protocol::RestH2).is_err());
        assert_eq!(zstd.check(Protocol::Grpc), Ok(zstd));
    }
}
