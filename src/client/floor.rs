//! The floor's client ([`crate::transport::floor`]): one exchange per connection at a time, a
//! pool that grows to the exchanges in flight and keeps its connections, as an HTTP/1.1 client
//! does, so the floor runs at the same concurrency as the protocols held to it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::net::TcpStream;

use super::{ClientError, concurrently};
use crate::transport::floor::{read_frame, write_frame};

/// A client of a floor server. Clones share the pool.
#[derive(Clone, Debug)]
pub struct FloorClient {
    addr: SocketAddr,
    idle: Arc<Mutex<Vec<TcpStream>>>,
    response_limit: usize,
}

impl FloorClient {
    /// A client of the floor server at `addr`, taking answers of up to `response_limit` bytes;
    /// connects on first use.
    pub fn new(addr: SocketAddr, response_limit: usize) -> Self {
        Self { addr, idle: Arc::default(), response_limit }
    }

    /// Sends `request` and returns the answer's bytes.
    pub async fn exchange(&self, request: &[u8]) -> Result<Bytes, ClientError> {
        let idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let mut stream = match idle {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(self.addr).await.map_err(ClientError::transport)?;
                stream.set_nodelay(true).map_err(ClientError::transport)?;
                stream
            }
        };
        write_frame(&mut stream, request).await.map_err(ClientError::transport)?;
        let answer = read_frame(&mut stream, self.response_limit)
            .await
            .map_err(ClientError::transport)?
            .ok_or_else(|| {
                ClientError::transport(std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
            })?;
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(stream);
        Ok(answer)
    }

    /// Sends `concurrency` copies of `request` at once and returns every answer.
    pub async fn exchange_concurrent(
        &self,
        request: &Bytes,
        concurrency: usize,
    ) -> Result<Vec<Bytes>, ClientError> {
        concurrently(concurrency, || {
            let (client, request) = (self.clone(), request.clone());
            async move { client.exchange(&request).await }
        })
        .await
    }
}
