//! REST client (hyper) with the HTTP version explicit: HTTP/1.1 keeps a pool of connections and
//! opens more under concurrency; HTTP/2 (cleartext, prior knowledge) multiplexes one connection.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{ClientError, Status};
use crate::codec::{json, raw};
use crate::messages::{BasicResponse, StudyRequest};
use crate::transport::HttpVersion;

/// A REST client of the study's server. Clones share one connection pool.
#[derive(Clone, Debug)]
pub struct RestClient(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    client: Client<HttpConnector, Full<Bytes>>,
    /// `/basic`, `/base64` and `/binary` under the base URL, parsed once.
    uris: [Uri; 3],
}

/// A pooled HTTP client speaking `version`, with Nagle off.
pub(crate) fn http_client(version: HttpVersion) -> Client<HttpConnector, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).http2_only(version == HttpVersion::Http2).build(connector)
}

/// `path` under `base_url` (`http://host:port`).
pub(crate) fn endpoint(base_url: &str, path: &str) -> Result<Uri, ClientError> {
    format!("{}{path}", base_url.trim_end_matches('/')).parse::<Uri>().map_err(|error| {
        ClientError::InvalidTarget { url: base_url.to_owned(), source: Box::new(error) }
    })
}

impl RestClient {
    /// A client of the server at `base_url` (`http://host:port`); connects on first use.
    pub fn new(base_url: &str, version: HttpVersion) -> Result<Self, ClientError> {
        let uris = [
            endpoint(base_url, "/basic")?,
            endpoint(base_url, "/base64")?,
            endpoint(base_url, "/binary")?,
        ];
        Ok(Self(Arc::new(Inner { client: http_client(version), uris })))
    }

    /// Encodes `request` (JSON, or the raw image for `/binary`), posts it, decodes the answer.
    pub async fn send(&self, request: &StudyRequest) -> Result<BasicResponse, ClientError> {
        let (uri, content_type, body) = match request {
            StudyRequest::Basic(message) => {
                (&self.0.uris[0], "application/json", json::encode(message)?)
            }
            StudyRequest::Base64(message) => {
                (&self.0.uris[1], "application/json", json::encode(message)?)
            }
            StudyRequest::Binary(message) => {
                (&self.0.uris[2], "application/octet-stream", raw::encode(message))
            }
        };
        let (_, body) = post(&self.0.client, uri, content_type, body).await?;
        Ok(json::decode(&body)?)
    }
}

/// Posts `body` to `uri` and reads the whole answer: its headers and body when it is 200 OK,
/// else the error it reports.
pub(crate) async fn post(
    client: &Client<HttpConnector, Full<Bytes>>,
    uri: &Uri,
    content_type: &str,
    body: Bytes,
) -> Result<(http::HeaderMap, Bytes), ClientError> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(uri.clone())
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body))
        .map_err(ClientError::transport)?;
    let response = client.request(request).await.map_err(ClientError::transport)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(ClientError::transport)?.to_bytes();
    if parts.status != StatusCode::OK {
        return Err(ClientError::Status {
            status: Status::Http(parts.status),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    Ok((parts.headers, body))
}
