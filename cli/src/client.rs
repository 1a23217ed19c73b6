//! A small HTTP/1.1 client for the CLI's commands: one keep-alive connection to `--server`.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

pub struct Client {
    authority: String,
    token: Option<String>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// Where client commands find the server (`--server`, env `KAPPA_SERVER`).
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// The server's URL.
    #[arg(
        long,
        env = "KAPPA_SERVER",
        default_value = "http://127.0.0.1:7070",
        global = true
    )]
    pub server: String,
    /// Bearer token, if the server requires one.
    #[arg(long, env = "KAPPA_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
}

impl Client {
    pub fn new(args: &ServerArgs) -> anyhow::Result<Client> {
        let Some(rest) = args.server.strip_prefix("http://") else {
            bail!(
                "--server {:?}: only http:// URLs are supported",
                args.server
            );
        };
        let authority = rest.trim_end_matches('/').to_string();
        Ok(Client {
            authority,
            token: args.token.clone(),
            sender: None,
        })
    }

    async fn sender(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        let stale = self.sender.as_ref().is_none_or(|s| s.is_closed());
        if stale {
            let stream = tokio::net::TcpStream::connect(&self.authority)
                .await
                .with_context(|| {
                    format!(
                        "connecting to kappa at http://{} (is `kappa serve` running?)",
                        self.authority
                    )
                })?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("set above"))
    }

    /// Sends a request and returns the status and whole body.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("host", &self.authority);
        if !body.is_empty() {
            req = req.header("content-type", content_type);
        }
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req.body(Full::new(body))?;
        let sender = self.sender().await?;
        sender.ready().await?;
        let resp = sender
            .send_request(req)
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends a request; a non-2xx answer becomes an error carrying the server's message.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> anyhow::Result<Bytes> {
        let (status, body) = self.send(method.clone(), path, content_type, body).await?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            bail!("{method} {path}: {status}: {message}");
        }
        Ok(body)
    }

    pub async fn get_json(&mut self, path: &str) -> anyhow::Result<serde_json::Value> {
        let body = self.call(Method::GET, path, "", Bytes::new()).await?;
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: the answer is not JSON"))
    }

    pub async fn send_json(
        &mut self,
        method: Method,
        path: &str,
        value: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let body = self
            .call(
                method.clone(),
                path,
                "application/json",
                Bytes::from(value.to_string()),
            )
            .await?;
        serde_json::from_slice(&body)
            .with_context(|| format!("{method} {path}: the answer is not JSON"))
    }
}

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}
