//! A small blocking client for the JSON API, for commands that talk to a
//! running server (`voter`, `proposal`, `vote`): `--url` (or
//! `STEWARD_URL`) and a bearer token `--token` (or `STEWARD_TOKEN`). A
//! server's error is shown with its code and message.

use super::common::Failure;
use clap::Args;
use serde_json::Value;
use std::time::Duration;

/// Where the server is and how to authenticate.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The Steward server's base URL
    #[arg(long, env = "STEWARD_URL", default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub url: String,
    /// API token (the role the command needs: voter, maintainer or admin)
    #[arg(long, env = "STEWARD_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

pub struct Client {
    http: reqwest::blocking::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(args: &ServerArgs) -> Result<Client, Failure> {
        let parsed = url::Url::parse(&args.url).map_err(|e| Failure(format!("--url {}: {e}", args.url)))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Failure(format!("--url {}: expected http(s)://HOST[:PORT]", args.url)));
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("steward-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client { http, base: parsed.as_str().trim_end_matches('/').to_owned(), token: args.token.clone() })
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder, what: &str) -> Result<Value, Failure> {
        let request = match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let response = request.send().map_err(|e| Failure(format!("{what}: {}", e.without_url())))?;
        let status = response.status();
        let body = response.bytes().map_err(|e| Failure(format!("{what}: {}", e.without_url())))?;
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let code = value["error"]["code"].as_str().unwrap_or("error");
        let message = value["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
        Err(Failure(format!("{what}: HTTP {} ({code}): {message}", status.as_u16())))
    }

    pub fn get(&self, path: &str) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.get(&url), &format!("GET {url}"))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.post(&url).json(body), &format!("POST {url}"))
    }

    /// Posts raw JSON bytes as they are (a signed entry's canonical bytes).
    pub fn post_bytes(&self, path: &str, body: Vec<u8>) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.base);
        let request = self.http.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        self.send(request, &format!("POST {url}"))
    }
}

/// A path segment (proposal or voter id) escaped for a URL.
pub fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
