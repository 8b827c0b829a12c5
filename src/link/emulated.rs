//! An emulated link: two namespaces of this process's own, the client's and the server's,
//! joined by a veth pair and shaped on both ends, so each direction is held to the profile's
//! rate (`tbf`) and, with `netem`, delayed by half its round trip.

use std::net::{IpAddr, SocketAddr};

use super::namespace::Namespace;
use super::{CLIENT_IP, Link, LinkError, SERVER_IP, Shape};

/// The veth pair's name on both sides (each in its own namespace, so they do not clash).
const DEVICE: &str = "sbveth";

/// The shortest a token bucket's burst is: one full-size frame more than a 64 KiB segment
/// offload, so the bucket never has to split what TCP hands it at low rates.
const MIN_BURST: u64 = 64 * 1024 + 1514;

/// A link between a client namespace and a server namespace, shaped as its profile says.
/// Dropping it (and whatever still holds a socket in its namespaces) deletes both namespaces,
/// the veth pair and the qdiscs.
#[derive(Debug)]
pub struct Emulated {
    link: Link,
    client: Namespace,
    server: Namespace,
}

impl Emulated {
    /// Builds the link `shape` describes: two namespaces, the veth pair between them, the
    /// addresses ([`CLIENT_IP`], [`SERVER_IP`]) and the qdiscs. Fails without the privileges
    /// ([`LinkError::Unprivileged`]), without `ip` and `tc`, or, for a round trip, without
    /// `netem` ([`LinkError::NoNetem`]); what it made before failing goes with it.
    pub fn new(shape: Shape) -> Result<Self, LinkError> {
        let link = Link::Shaped(shape);
        let client = Namespace::new()?;
        let server = Namespace::new()?;
        let server_tid = server.thread_id().to_string();
        let peer = ["link", "add", DEVICE, "type", "veth", "peer", "name", DEVICE];
        client.run("ip", &[&peer[..], &["netns", &server_tid]].concat())?;
        for (namespace, ip) in [(&client, CLIENT_IP), (&server, SERVER_IP)] {
            namespace.run("ip", &["addr", "add", &format!("{ip}/30"), "dev", DEVICE])?;
            namespace.run("ip", &["link", "set", DEVICE, "up"])?;
            namespace.run("ip", &["link", "set", "lo", "up"])?;
            shape_egress(namespace, shape)?;
        }
        Ok(Self { link, client, server })
    }

    /// The link's profile.
    pub fn link(&self) -> Link {
        self.link
    }

    /// The client's end: connect from here (enter it, or use its runtime).
    pub fn client(&self) -> &Namespace {
        &self.client
    }

    /// The server's end: bind here.
    pub fn server(&self) -> &Namespace {
        &self.server
    }

    /// The address a server in [`server`](Self::server) binds: its end of the link, `port`
    /// (0: any).
    pub fn server_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(SERVER_IP), port)
    }
}

/// Shapes what leaves `namespace` over the link ([`qdiscs`]); [`LinkError::NoNetem`] where the
/// kernel has no netem for a round trip.
fn shape_egress(namespace: &Namespace, shape: Shape) -> Result<(), LinkError> {
    for command in qdiscs(shape) {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        namespace.run("tc", &args).map_err(|error| match error {
            LinkError::Command { stderr, .. } if stderr.contains("unknown") => {
                LinkError::NoNetem(Link::Shaped(shape))
            }
            other => other,
        })?;
    }
    Ok(())
}

/// The `tc` commands that shape one end of the link: a token bucket at the profile's rate,
/// behind `netem`'s delay of half the round trip (give or take half the jitter) where there is
/// one.
fn qdiscs(shape: Shape) -> Vec<Vec<String>> {
    let bytes_per_second = u64::from(shape.mbit) * 1_000_000 / 8;
    // A bucket of a millisecond's bytes (1.25 MB at 10 Gbit/s) is refilled often enough for
    // the kernel's timers; its queue holds 20 ms of traffic, a switch's deep buffer, so TCP
    // meets the rate rather than losses.
    let burst = (bytes_per_second / 1000).max(MIN_BURST);
    let limit = (bytes_per_second / 50).max(4 * burst);
    let words = |words: &[&str]| words.iter().map(|word| (*word).to_owned()).collect::<Vec<_>>();
    let tbf = |parent: &[&str]| {
        let (rate, burst, limit) =
            (format!("{}mbit", shape.mbit), burst.to_string(), limit.to_string());
        let mut command = words(&["qdisc", "replace", "dev", DEVICE]);
        command.extend(words(parent));
        command.extend(words(&["tbf", "rate", &rate, "burst", &burst, "limit", &limit]));
        command
    };
    if shape.rtt_ms == 0 {
        return vec![tbf(&["root"])];
    }
    // netem holds each packet for the one-way delay: its queue must hold that long's packets.
    let one_way_us = u64::from(shape.rtt_ms) * 500;
    let in_flight = bytes_per_second * one_way_us / 1_000_000 / 1500;
    let packets = (2 * in_flight).max(1000).to_string();
    let mut netem = words(&["qdisc", "replace", "dev", DEVICE, "root", "handle", "1:", "netem"]);
    netem.extend(words(&["delay", &format!("{one_way_us}us")]));
    if shape.jitter_ms > 0 {
        netem.push(format!("{}us", u64::from(shape.jitter_ms) * 500));
    }
    netem.extend(words(&["limit", &packets]));
    vec![netem, tbf(&["parent", "1:1", "handle", "10:"])]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(link: &str) -> Vec<String> {
        let Ok(Link::Shaped(shape)) = link.parse() else { panic!("{link}") };
        qdiscs(shape).iter().map(|command| command.join(" ")).collect()
    }

    #[test]
    fn a_rate_is_a_token_bucket_and_a_round_trip_a_netem_before_it() {
        assert_eq!(
            lines("100mbit"),
            ["qdisc replace dev sbveth root tbf rate 100mbit burst 67050 limit 268200"]
        );
        assert_eq!(
            lines("1gbit_rtt1ms"),
            [
                "qdisc replace dev sbveth root handle 1: netem delay 500us limit 1000",
                "qdisc replace dev sbveth parent 1:1 handle 10: tbf rate 1000mbit burst 125000 \
                 limit 2500000",
            ]
        );
        // Each end holds half the round trip, give or take half the jitter.
        assert_eq!(
            lines("100mbit_rtt20ms_jitter5ms")[0],
            "qdisc replace dev sbveth root handle 1: netem delay 10000us 2500us limit 1000"
        );
    }
}
