//! Links: where a request's bytes travel between client and server. On `loopback` (every
//! bench's default) moving 2.4 MB costs a memcpy; over a real network it costs its wire time,
//! and which protocol and encoding wins can change with the link. An emulated link is built
//! from the kernel's own parts, not a proxy: the client and the server each in a network
//! namespace of this process's own ([`namespace`]), joined by a veth pair, bandwidth shaped by
//! a `tbf` qdisc on both ends and, where the kernel has `netem`, half the round trip delayed on
//! each ([`Emulated`]). Before anything is measured over it, [`check()`] times a bulk transfer
//! and a round trip over the link and holds them to what the profile claims. [`Ends`] is what
//! a measurement holds: a runtime on each side of the checked link.
//!
//! A link is a named value ([`Link`]): `loopback`, or a rate and an optional round trip,
//! `100mbit`, `1gbit_rtt1ms`. Bench ids carry it after their variant (`rest_h1@100mbit`), so
//! reports and comparisons key on it; `loopback` ids are written as they always were.
//!
//! The namespaces belong to this process: they have no name in `/run/netns`, the veth pair
//! lives only inside them and only their addresses ([`CLIENT_IP`], [`SERVER_IP`]) are used.
//! When the last thread, descriptor and socket in them goes (the process exits, however it
//! ends) the kernel deletes them, the veth pair and its qdiscs, so nothing is ever left behind.

pub mod check;
mod emulated;
mod ends;
pub mod namespace;

use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::time::Duration;

pub use check::{LinkCheck, check};
pub use emulated::Emulated;
pub use ends::Ends;

/// The client's address on an emulated link (TEST-NET-1, inside this process's namespace).
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The server's address on an emulated link.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// A link's shape: its rate and the round trip it adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shape {
    /// The rate each direction is shaped to, in Mbit/s (10^6 bits a second, as `tc` counts).
    pub mbit: u32,
    /// The round trip added by `netem`, half on each end, in milliseconds; 0: none.
    pub rtt_ms: u32,
    /// How far the round trip varies, in milliseconds: each end's delay is drawn evenly from
    /// half the round trip, give or take half this (`netem delay <d> <jitter>`), so a round
    /// trip lies within `rtt_ms` give or take `jitter_ms`. At most `rtt_ms`; 0: none.
    pub jitter_ms: u32,
}

impl Shape {
    /// The rate in bits a second.
    pub fn bits_per_second(self) -> f64 {
        f64::from(self.mbit) * 1e6
    }

    /// The round trip the profile adds.
    pub fn rtt(self) -> Duration {
        Duration::from_millis(self.rtt_ms.into())
    }

    /// How long `bytes` take on the wire at the shaped rate, with nothing else counted: the
    /// floor every protocol's time over this link is held to.
    pub fn wire_time(self, bytes: u64) -> Duration {
        Duration::from_secs_f64(bytes as f64 * 8.0 / self.bits_per_second())
    }
}

/// Where a request's bytes travel: the same host's loopback, or an emulated link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Link {
    /// `loopback`: client and server in the process's own namespace over 127.0.0.1.
    #[default]
    Loopback,
    /// `<rate>[_rtt<n>ms]`: two namespaces over a shaped veth pair.
    Shaped(Shape),
}

impl Link {
    /// The named profiles, in the report's order (fastest first): loopback, three bandwidths,
    /// and two of them with a round trip.
    pub const PROFILES: [Self; 6] = [
        Self::Loopback,
        Self::shaped(10_000, 0),
        Self::shaped(1_000, 0),
        Self::shaped(100, 0),
        Self::shaped(1_000, 1),
        Self::shaped(100, 20),
    ];

    /// A shaped link of `mbit` Mbit/s adding `rtt_ms` of round trip.
    pub const fn shaped(mbit: u32, rtt_ms: u32) -> Self {
        Self::Shaped(Shape { mbit, rtt_ms, jitter_ms: 0 })
    }

    /// The link's shape; none for loopback.
    pub fn shape(self) -> Option<Shape> {
        match self {
            Self::Loopback => None,
            Self::Shaped(shape) => Some(shape),
        }
    }

    /// What an id adds after its variant for this link: nothing for loopback (the ids every
    /// run before links had), `@<link>` otherwise.
    pub fn suffix(self) -> String {
        match self {
            Self::Loopback => String::new(),
            Self::Shaped(_) => format!("@{self}"),
        }
    }

    /// An id segment's variant and link: `rest_h1@100mbit` is `rest_h1` over `100mbit`, and a
    /// segment without `@` is on loopback. `None` for a link that is not written canonically.
    pub fn split(segment: &str) -> Option<(&str, Self)> {
        match segment.split_once('@') {
            None => Some((segment, Self::Loopback)),
            Some((variant, link)) => match link.parse() {
                Ok(link @ Self::Shaped(_)) => Some((variant, link)),
                _ => None,
            },
        }
    }

    /// Links from a comma-separated list of profiles (`100mbit`, `25mbit_rtt5ms`) and set
    /// names: `bandwidth` (10gbit, 1gbit, 100mbit), `rtt` (the profiles with a round trip),
    /// `all`. Each link once, in the order first named.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, LinkParseError> {
        crate::error::by_names(text, |name| {
            Ok(match name {
                "bandwidth" => Self::PROFILES[1..4].to_vec(),
                "rtt" => Self::PROFILES[4..].to_vec(),
                "all" => Self::PROFILES.to_vec(),
                _ => vec![name.parse()?],
            })
        })
    }
}

/// `loopback`, `100mbit`, `10gbit`, `1gbit_rtt1ms`, `100mbit_rtt20ms_jitter5ms`: whole Gbit/s
/// are written in `gbit`.
impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self::Shaped(Shape { mbit, rtt_ms, jitter_ms }) = *self else {
            return f.write_str("loopback");
        };
        if mbit % 1000 == 0 {
            write!(f, "{}gbit", mbit / 1000)?;
        } else {
            write!(f, "{mbit}mbit")?;
        }
        if rtt_ms > 0 {
            write!(f, "_rtt{rtt_ms}ms")?;
        }
        if jitter_ms > 0 {
            write!(f, "_jitter{jitter_ms}ms")?;
        }
        Ok(())
    }
}

/// A text that names no link, or names one in another than its one canonical form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a link: `loopback`, `<n>mbit` or `<n>gbit` with an optional `_rtt<n>ms` (and \
     after it `_jitter<n>ms`, at most the round trip), or a set (`bandwidth`, `rtt`, `all`)"
)]
pub struct LinkParseError(pub String);

impl FromStr for Link {
    type Err = LinkParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |digits: &str| -> Option<u32> {
            (!digits.starts_with(['0', '+'])).then(|| digits.parse().ok()).flatten()
        };
        let parse = || -> Option<Self> {
            if text == "loopback" {
                return Some(Self::Loopback);
            }
            let (rest, jitter) = text.split_once("_jitter").unwrap_or((text, ""));
            let (rate, rtt) = rest.split_once("_rtt").unwrap_or((rest, ""));
            let mbit = match rate.strip_suffix("gbit") {
                Some(gbit) => number(gbit)?.checked_mul(1000)?,
                None => number(rate.strip_suffix("mbit")?)?,
            };
            let milliseconds = |named: bool, digits: &str| match named {
                true => number(digits.strip_suffix("ms")?),
                false => Some(0),
            };
            let rtt_ms = milliseconds(rest.contains("_rtt"), rtt)?;
            let jitter_ms = milliseconds(text.contains("_jitter"), jitter)?;
            if jitter_ms > rtt_ms {
                return None;
            }
            let link = Self::Shaped(Shape { mbit, rtt_ms, jitter_ms });
            // One name per link: `1000mbit` is `1gbit`.
            (link.to_string() == text).then_some(link)
        };
        parse().ok_or_else(|| LinkParseError(text.to_owned()))
    }
}

crate::ids::as_text!(Link);

/// Why a link could not be built or did not hold to its profile.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The process may not make network namespaces.
    #[error(
        "emulating a link needs CAP_SYS_ADMIN and CAP_NET_ADMIN (to make network namespaces and \
         shape their interfaces): run as root, or under `unshare -rn` where user namespaces are \
         allowed"
    )]
    Unprivileged(#[source] io::Error),
    /// `ip` or `tc` is not installed.
    #[error("emulating a link needs iproute2's `{0}` (Debian: apt-get install iproute2)")]
    MissingTool(&'static str, #[source] io::Error),
    /// The kernel has no `netem` qdisc, so no round trip can be added.
    #[error("the kernel has no netem qdisc (sch_netem), so {0} cannot add its round trip")]
    NoNetem(Link),
    /// An `ip` or `tc` command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command, as a shell would show it.
        command: String,
        /// What it said.
        stderr: String,
    },
    /// A system call or the check's sockets failed.
    #[error("{0}")]
    Io(&'static str, #[source] io::Error),
    /// The link's measured rate or round trip is not what its profile claims.
    #[error("{link} is not what it claims: {check}")]
    NotAsClaimed {
        /// The profile.
        link: Link,
        /// What was measured.
        check: LinkCheck,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_have_one_name_each() {
        let names = ["loopback", "10gbit", "1gbit", "100mbit", "1gbit_rtt1ms", "100mbit_rtt20ms"];
        let profiles: Vec<String> = Link::PROFILES.iter().map(ToString::to_string).collect();
        assert_eq!(profiles, names);
        for link in Link::PROFILES.into_iter().chain([Link::shaped(25, 0), Link::shaped(2500, 5)]) {
            assert_eq!(link.to_string().parse(), Ok(link), "{link}");
        }
        let jittery = Link::Shaped(Shape { mbit: 100, rtt_ms: 20, jitter_ms: 5 });
        assert_eq!("100mbit_rtt20ms_jitter5ms".parse(), Ok(jittery));
        assert_eq!(jittery.to_string(), "100mbit_rtt20ms_jitter5ms");
        for wrong in [
            "",
            "1000mbit",
            "0mbit",
            "01gbit",
            "1gbit_rtt0ms",
            "1gbit_rtt",
            "1Gbit",
            "lo",
            "100mbit_jitter5ms",
            "100mbit_rtt2ms_jitter5ms",
            "100mbit_jitter1ms_rtt2ms",
            "100mbit_rtt2ms_jitter0ms",
        ] {
            assert!(wrong.parse::<Link>().is_err(), "{wrong}");
        }
        assert_eq!(
            Link::split("grpc+conns_4@100mbit"),
            Some(("grpc+conns_4", Link::shaped(100, 0)))
        );
        assert_eq!(Link::split("grpc"), Some(("grpc", Link::Loopback)));
        assert_eq!(Link::split("grpc@loopback"), None);
        assert_eq!(Link::split("grpc@"), None);
    }

    #[test]
    fn lists_take_sets_and_name_each_link_once() {
        let links = Link::parse_list("loopback, bandwidth,100mbit,25mbit_rtt5ms").unwrap();
        let names: Vec<String> = links.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["loopback", "10gbit", "1gbit", "100mbit", "25mbit_rtt5ms"]);
        assert!(Link::parse_list("fast").is_err());
        assert_eq!(Link::shaped(100, 0).shape().unwrap().wire_time(2_500_000).as_millis(), 200);
    }
}
