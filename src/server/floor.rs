//! The floor's server ([`crate::transport::floor`]): reads each request frame whole and answers
//! with a fixed response frame, on as many connections as clients open. It decodes nothing, so
//! what a client measures against it is the machine moving the bytes.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::transport::floor::{read_frame, write_frame};

/// A running floor server.
#[derive(Debug)]
pub struct FloorHandle {
    addr: SocketAddr,
    shutdown: watch::Sender<()>,
    task: JoinHandle<()>,
}

impl FloorHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and closes every connection.
    pub async fn shutdown(self) -> io::Result<()> {
        self.shutdown.send_replace(());
        self.task.await.map_err(io::Error::other)
    }
}

/// Binds `addr` and answers every frame of up to `body_limit` bytes with `response`, on the
/// current tokio runtime, until shut down or dropped.
pub async fn start(
    addr: SocketAddr,
    response: Bytes,
    body_limit: usize,
) -> io::Result<FloorHandle> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown, mut signal) = watch::channel(());
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(answer(stream, response.clone(), body_limit));
                    }
                    Err(error) => super::after_accept_error(&error).await,
                },
                _ = signal.changed() => break,
            }
        }
        connections.shutdown().await;
    });
    Ok(FloorHandle { addr, shutdown, task })
}

/// Answers `stream`'s frames until it closes; a broken or over-limit frame closes it.
async fn answer(mut stream: TcpStream, response: Bytes, body_limit: usize) {
    let _ = stream.set_nodelay(true);
    while let Ok(Some(_request)) = read_frame(&mut stream, body_limit).await {
        if write_frame(&mut stream, &response).await.is_err() {
            return;
        }
    }
}
