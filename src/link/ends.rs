//! Both ends of a link as a measurement uses them: a tokio runtime for the servers and one for
//! the clients, each inside its side's namespace when the link is emulated, and what the link
//! check measured before anything else crossed it. The benches and `servebench load` start
//! their servers on [`Ends::server`] (or bind with the thread [`Ends::on_server`]) at
//! [`Ends::server_addr`], and send from [`Ends::client`].

use std::net::{Ipv4Addr, SocketAddr};

use tokio::runtime::{Builder, Runtime};

use super::namespace::{Entered, Namespace};
use super::{Emulated, Link, LinkCheck, LinkError, check};

/// The two ends of one link. Dropping it shuts both runtimes down in the background (so it
/// may drop inside another runtime) before the namespaces go.
#[derive(Debug)]
pub struct Ends {
    /// Taken only on drop.
    runtimes: Option<(Runtime, Runtime)>,
    emulated: Option<Emulated>,
    check: Option<LinkCheck>,
}

impl Ends {
    /// Both ends of `link`: plain runtimes on loopback; over a shaped link the emulated link,
    /// checked ([`check()`]) before it is handed out. `client_threads` sets the clients'
    /// worker threads (none: one per core, tokio's default). `Err` says why the link cannot be
    /// measured here: no privileges, no `ip`/`tc`, no netem for a round trip, or a link that
    /// is not what it claims.
    pub fn new(link: Link, client_threads: Option<usize>) -> Result<Self, LinkError> {
        let (emulated, check) = match link.shape() {
            None => (None, None),
            Some(shape) => {
                let emulated = Emulated::new(shape)?;
                let check = check(&emulated)?;
                (Some(emulated), Some(check))
            }
        };
        let builder = |side: Option<&Namespace>| match side {
            Some(namespace) => namespace.runtime_builder(),
            None => {
                let mut builder = Builder::new_multi_thread();
                builder.enable_all();
                builder
            }
        };
        let server = builder(emulated.as_ref().map(Emulated::server));
        let mut client = builder(emulated.as_ref().map(Emulated::client));
        if let Some(threads) = client_threads {
            client.worker_threads(threads.max(1));
        }
        let runtime = |mut builder: Builder| {
            builder.build().map_err(|error| LinkError::Io("building a runtime", error))
        };
        let runtimes = Some((runtime(server)?, runtime(client)?));
        Ok(Self { runtimes, emulated, check })
    }

    /// The link.
    pub fn link(&self) -> Link {
        self.emulated.as_ref().map_or(Link::Loopback, Emulated::link)
    }

    /// What the link check measured; none on loopback.
    pub fn check(&self) -> Option<&LinkCheck> {
        self.check.as_ref()
    }

    /// The servers' runtime: its threads are on the server's side, so a server started on it
    /// binds there.
    pub fn server(&self) -> &Runtime {
        &self.runtimes.as_ref().expect("taken only on drop").0
    }

    /// The clients' runtime: its threads are on the client's side, so what it spawns
    /// connects from there.
    pub fn client(&self) -> &Runtime {
        &self.runtimes.as_ref().expect("taken only on drop").1
    }

    /// Where a server on this link listens: the server's end of the link (loopback's
    /// 127.0.0.1), any port.
    pub fn server_addr(&self) -> SocketAddr {
        match &self.emulated {
            Some(emulated) => emulated.server_addr(0),
            None => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }

    /// `f` with the calling thread on the server's side: what `block_on` runs there binds
    /// there.
    pub fn on_server<T>(&self, f: impl FnOnce() -> T) -> T {
        let _inside = self.emulated.as_ref().map(|link| enter(link.server()));
        f()
    }

    /// `f` with the calling thread on the client's side: what `block_on` runs there (a
    /// Criterion measuring loop, an HTTP/1.1 client connecting lazily) connects from there.
    pub fn on_client<T>(&self, f: impl FnOnce() -> T) -> T {
        let _inside = self.emulated.as_ref().map(|link| enter(link.client()));
        f()
    }
}

impl Drop for Ends {
    fn drop(&mut self) {
        if let Some((server, client)) = self.runtimes.take() {
            client.shutdown_background();
            server.shutdown_background();
        }
    }
}

fn enter(side: &Namespace) -> Entered {
    // Entering a namespace this process holds open fails only if the process lost the
    // capability it made the namespace with: a bug, not a condition to measure through.
    side.enter().unwrap_or_else(|error| {
        panic!("entering a link's namespace: {}", crate::error::chain(&error))
    })
}
