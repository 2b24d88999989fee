//! A minimal HTTP/1 client for the tests and the load tool: loopback only, one keep-alive
//! connection per client, reopened when the server closed it.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderValue, Request};
use http_body_util::BodyExt;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use bulk_contacts_server::http::{API_KEY_HEADER, PATH};

/// Any error of the client.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A response, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The `content-type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A client of one server on the loopback interface.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    sender: Option<SendRequest<Body>>,
}

impl Client {
    /// A client of the server at `addr`, which must be a loopback address.
    pub fn new(addr: SocketAddr) -> Result<Client, Error> {
        if !addr.ip().is_loopback() {
            return Err(format!("{addr} is not a loopback address").into());
        }
        Ok(Client { addr, sender: None })
    }

    async fn connect(&self) -> Result<SendRequest<Body>, Error> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Closed by the server or by dropping the sender: nothing to report.
            let _ = connection.await;
        });
        Ok(sender)
    }

    async fn ready(&mut self) -> Result<&mut SendRequest<Body>, Error> {
        let reusable = match self.sender.as_mut() {
            Some(sender) => sender.ready().await.is_ok(),
            None => false,
        };
        if !reusable {
            self.sender = Some(self.connect().await?);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| Error::from("no connection"))
    }

    /// `POST /v2/contacts/bulk` with this `X-Api-Key` (none when `None`) and body. A body of
    /// known size is sent with `content-length`, a streamed one chunked.
    pub async fn post(
        &mut self,
        api_key: Option<&[u8]>,
        body: impl Into<Body>,
    ) -> Result<Reply, Error> {
        let mut request = Request::post(PATH)
            .header(HOST, self.addr.to_string())
            .header(CONTENT_TYPE, "application/json");
        if let Some(key) = api_key {
            request = request.header(API_KEY_HEADER, HeaderValue::from_bytes(key)?);
        }
        let request = request.body(body.into())?;
        let response = self.ready().await?.send_request(request).await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await?.to_bytes().to_vec();
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }
}
