//! The link a bench's requests cross (`servebench::link`): which links a run takes, and each
//! one's two ends, a runtime for the servers and one for the clients, each inside its side's
//! network namespace when the link is emulated.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};
use servebench::error::chain;
use servebench::link::{self, Emulated, Link, LinkCheck};
use servebench::server::ListenConfig;
use tokio::runtime::Runtime;

/// Names the links to run, comma-separated: profiles (`100mbit`, `1gbit_rtt1ms`, any
/// `<n>mbit`/`<n>gbit[_rtt<n>ms]`) and sets (`bandwidth`, `rtt`, `all`); unset: `loopback`.
pub const LINKS_ENV: &str = "SERVEBENCH_LINKS";

/// The link Criterion's test mode crosses besides loopback, unless [`LINKS_ENV`] says: fast
/// enough that every id's one call stays short.
const TEST_LINK: Link = Link::shaped(1000, 0);

/// Whether this is `--list`: ids are printed, nothing runs.
fn listing() -> bool {
    std::env::args().any(|arg| arg == "--list")
}

/// The links this run takes: [`LINKS_ENV`]'s; `--list` takes every named profile, and
/// Criterion's test mode loopback and 1gbit unless the variable is set.
pub fn links() -> Vec<Link> {
    if listing() {
        return Link::PROFILES.to_vec();
    }
    match std::env::var(LINKS_ENV) {
        Ok(names) if !names.trim().is_empty() => {
            Link::parse_list(&names).unwrap_or_else(|error| panic!("{LINKS_ENV}: {error}"))
        }
        _ if super::testing() => vec![Link::Loopback, TEST_LINK],
        _ => vec![Link::Loopback],
    }
}

/// The two ends of one link: where the servers run, where the clients run, and what the link
/// check measured. The runtimes drop before the namespaces they live in.
pub struct Ends {
    /// The servers' runtime: its threads are on the server's side.
    pub server: Runtime,
    /// The clients' runtime: its threads are on the client's side.
    pub client: Runtime,
    link: Link,
    emulated: Option<Emulated>,
    check: Option<LinkCheck>,
}

impl Ends {
    /// Both ends of `link`: plain runtimes on loopback; over a shaped link, the emulated link,
    /// checked before anything is measured over it. `Err` says why the link cannot be
    /// measured here (no privileges, no netem, a link not as claimed): the bench skips it.
    /// `--list` builds nothing, only names the link.
    pub fn new(link: Link) -> Result<Self, String> {
        let Some(shape) = link.shape().filter(|_| !listing()) else {
            let (server, client) = (super::runtime(), super::runtime());
            return Ok(Self { server, client, link, emulated: None, check: None });
        };
        let emulated = Emulated::new(shape).map_err(|error| chain(&error))?;
        let check = link::check(&emulated).map_err(|error| chain(&error))?;
        eprintln!("link {check}");
        let runtime = |side: &link::namespace::Namespace| {
            side.runtime().unwrap_or_else(|error| panic!("{link}: a runtime: {error}"))
        };
        Ok(Self {
            server: runtime(emulated.server()),
            client: runtime(emulated.client()),
            link,
            check: Some(check),
            emulated: Some(emulated),
        })
    }

    /// The link.
    pub fn link(&self) -> Link {
        self.link
    }

    /// What the link check measured; none on loopback.
    pub fn check(&self) -> Option<&LinkCheck> {
        self.check.as_ref()
    }

    /// Where a server on this link listens: the server's end of the link (loopback's
    /// 127.0.0.1), any port.
    pub fn server_addr(&self) -> SocketAddr {
        match &self.emulated {
            Some(emulated) => emulated.server_addr(0),
            None => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }

    /// `listen` with both APIs on [`server_addr`](Self::server_addr).
    pub fn listen(&self, listen: ListenConfig) -> ListenConfig {
        ListenConfig { rest_addr: self.server_addr(), grpc_addr: self.server_addr(), ..listen }
    }

    /// `f` with the calling thread on the server's side (binding there).
    pub fn on_server<T>(&self, f: impl FnOnce() -> T) -> T {
        let _inside = self.emulated.as_ref().map(|link| enter(link.server()));
        f()
    }

    /// `f` with the calling thread on the client's side: Criterion's measuring loop runs its
    /// futures on this thread, and HTTP/1.1 clients connect from it.
    pub fn on_client<T>(&self, f: impl FnOnce() -> T) -> T {
        let _inside = self.emulated.as_ref().map(|link| enter(link.client()));
        f()
    }

    /// Criterion's sampling for ids over this link: on loopback what `loopback` says (the
    /// benches' own); over an emulated link ten samples of whole iterations, a short warm-up,
    /// since an iteration there takes up to seconds of wire time (twenty 1080x1920 images
    /// over 100 Mbit/s: 3.9 s).
    /// Returns the sampling set.
    pub fn sampling(
        &self,
        group: &mut BenchmarkGroup<'_, WallTime>,
        loopback: Sampling,
    ) -> Sampling {
        let sampling = match self.link {
            Link::Loopback => loopback,
            Link::Shaped(_) if super::quick() => Sampling::LINK_QUICK,
            Link::Shaped(_) => Sampling::LINK,
        };
        group
            .sample_size(sampling.samples)
            .sampling_mode(sampling.mode)
            .warm_up_time(sampling.warm_up)
            .measurement_time(sampling.measurement);
        sampling
    }
}

/// How Criterion samples an id.
#[derive(Clone, Copy)]
pub struct Sampling {
    /// Samples taken.
    pub samples: usize,
    /// Criterion's sampling mode.
    pub mode: SamplingMode,
    /// Warm-up time.
    pub warm_up: Duration,
    /// Target measurement time.
    pub measurement: Duration,
}

impl Sampling {
    const LINK: Self = Self {
        samples: 10,
        mode: SamplingMode::Flat,
        warm_up: Duration::from_secs(1),
        measurement: Duration::from_secs(5),
    };
    const LINK_QUICK: Self = Self {
        samples: 10,
        mode: SamplingMode::Flat,
        warm_up: Duration::from_millis(100),
        measurement: Duration::from_millis(300),
    };
}

fn enter(side: &link::namespace::Namespace) -> link::namespace::Entered {
    side.enter().unwrap_or_else(|error| panic!("entering a link's namespace: {}", chain(&error)))
}
