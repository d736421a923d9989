//! The only code that speaks the OCI distribution API: manifests, blobs,
//! tags and referrers over our async reqwest, with token and basic auth
//! from `[[registries]]`.
//!
//! Every manifest and blob is checked against its digest before anyone
//! reads it (by-tag manifests against `Docker-Content-Digest` when the
//! registry sends it), every body is read up to a size limit, and plain
//! `http://` is used only for loopback hosts or hosts configured
//! `insecure`. Credentials and tokens never reach logs or errors.

use super::digest::Digest;
use super::manifest::{Descriptor, MANIFEST_ACCEPT, Manifest, OCI_INDEX};
use super::reference::{Reference, is_loopback_host};
use crate::config::RegistryAuth;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Size limits for what is read from a registry.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Manifests and indexes (the distribution spec suggests 4 MiB).
    pub manifest_bytes: u64,
    /// Config blobs (image config, Helm chart config).
    pub config_bytes: u64,
    /// SBOM documents.
    pub sbom_bytes: u64,
    /// Pages of referrers or tags followed.
    pub max_pages: usize,
    /// Referrers considered per artifact.
    pub max_referrers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            manifest_bytes: 4 << 20,
            config_bytes: 4 << 20,
            sbom_bytes: 64 << 20,
            max_pages: 20,
            max_referrers: 200,
        }
    }
}

/// Why talking to a registry failed. Messages name the URL (never a
/// credential) and say what was expected.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OciError {
    #[error("{url}: registry unreachable ({message})")]
    Unreachable { url: String, message: String },
    #[error("{url}: HTTP {status}{detail}")]
    Status { url: String, status: u16, detail: String },
    #[error("{url}: not found")]
    NotFound { url: String },
    #[error("{url}: unauthorized ({message})")]
    Unauthorized { url: String, message: String },
    #[error("{url}: content digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { url: String, expected: String, actual: String },
    #[error("{url}: {what} is larger than the limit of {limit} bytes")]
    TooLarge { url: String, what: &'static str, limit: u64 },
    #[error("{url}: {message}")]
    Invalid { url: String, message: String },
    #[error(
        "refusing plain http:// to {host}: only loopback hosts, or hosts configured with `insecure = true` under [[registries]]"
    )]
    InsecureRefused { host: String },
}

impl OciError {
    /// A stable kebab-case code for reports.
    pub fn code(&self) -> &'static str {
        match self {
            OciError::Unreachable { .. } => "registry-unreachable",
            OciError::Status { .. } => "registry-error",
            OciError::NotFound { .. } => "not-found",
            OciError::Unauthorized { .. } => "unauthorized",
            OciError::DigestMismatch { .. } => "digest-mismatch",
            OciError::TooLarge { .. } => "too-large",
            OciError::Invalid { .. } => "invalid-content",
            OciError::InsecureRefused { .. } => "insecure-refused",
        }
    }
}

/// A manifest as fetched: its verified digest, bytes and parsed form.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub digest: Digest,
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
}

/// How the referrers were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferrersVia {
    /// `GET /v2/<name>/referrers/<digest>` (OCI 1.1).
    Api,
    /// The referrers tag schema (`<alg>-<hex>` tag), after the API answered 404.
    TagSchema,
}

/// Referrers of a subject.
#[derive(Debug, Clone)]
pub struct Referrers {
    pub via: ReferrersVia,
    pub descriptors: Vec<Descriptor>,
}

/// A registry client. Cheap to share (`Arc`); tokens are cached per
/// registry and repository.
pub struct RegistryClient {
    http: reqwest::Client,
    registries: Vec<RegistryAuth>,
    limits: Limits,
    tokens: Mutex<HashMap<(String, String), String>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("registries", &self.registries.len()).finish_non_exhaustive()
    }
}

enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

impl RegistryClient {
    pub fn new(registries: Vec<RegistryAuth>, limits: Limits, timeout: Duration) -> Result<RegistryClient, OciError> {
        // Follow redirects (blob storage) but never from https down to http.
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let downgrade = attempt.url().scheme() == "http"
                && attempt.previous().iter().any(|u| u.scheme() == "https")
                && !attempt.url().host_str().is_some_and(is_loopback_host);
            if attempt.previous().len() >= 5 || downgrade { attempt.stop() } else { attempt.follow() }
        });
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(policy)
            .user_agent(concat!("steward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OciError::Unreachable { url: String::new(), message: e.to_string() })?;
        Ok(RegistryClient { http, registries, limits, tokens: Mutex::new(HashMap::new()) })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn settings(&self, registry: &str) -> Option<&RegistryAuth> {
        self.registries.iter().find(|r| r.host == registry)
    }

    /// `https://host` or, for loopback and insecure hosts, `http://host`.
    fn base(&self, r: &Reference) -> Result<String, OciError> {
        let insecure = self.settings(&r.registry).is_some_and(|s| s.insecure);
        if r.is_loopback() || insecure {
            Ok(format!("http://{}", r.registry))
        } else {
            Ok(format!("https://{}", r.registry))
        }
    }

    fn url(&self, r: &Reference, path: &str) -> Result<String, OciError> {
        Ok(format!("{}/v2/{}/{path}", self.base(r)?, r.repository))
    }

    /// GET with auth: the configured token, a cached bearer token, or
    /// none; on a 401 challenge, basic credentials or a token from the
    /// challenge's realm, then one retry.
    async fn get(&self, r: &Reference, url: &str, accept: &str) -> Result<reqwest::Response, OciError> {
        let key = (r.registry.clone(), r.repository.clone());
        let auth = match self.settings(&r.registry) {
            Some(RegistryAuth { token: Some(t), .. }) => Auth::Bearer(t.expose().to_string()),
            _ => match self.tokens.lock().ok().and_then(|t| t.get(&key).cloned()) {
                Some(t) => Auth::Bearer(t),
                None => Auth::None,
            },
        };
        let response = self.send(url, accept, &auth).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_default();
        let settings = self.settings(&r.registry);
        let basic = settings.and_then(|s| Some((s.username.clone()?, s.password.as_ref()?.expose().to_string())));
        let (scheme, params) = parse_challenge(&challenge);
        let retry = if scheme.eq_ignore_ascii_case("basic") {
            let (u, p) = basic.ok_or_else(|| OciError::Unauthorized {
                url: url.into(),
                message: format!(
                    "the registry asks for a user name and password; configure them under [[registries]] host = {:?}",
                    r.registry
                ),
            })?;
            Auth::Basic(u, p)
        } else if scheme.eq_ignore_ascii_case("bearer") && settings.is_none_or(|s| s.token.is_none()) {
            // No token yet, or the cached one expired: ask the realm.
            let token = self.fetch_token(r, url, &params, basic).await?;
            if let Ok(mut cache) = self.tokens.lock() {
                cache.insert(key, token.clone());
            }
            Auth::Bearer(token)
        } else {
            return Err(OciError::Unauthorized { url: url.into(), message: "credentials refused".into() });
        };
        let response = self.send(url, accept, &retry).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(OciError::Unauthorized { url: url.into(), message: "credentials refused".into() });
        }
        Ok(response)
    }

    async fn send(&self, url: &str, accept: &str, auth: &Auth) -> Result<reqwest::Response, OciError> {
        let mut request = self.http.get(url).header(reqwest::header::ACCEPT, accept);
        request = match auth {
            Auth::None => request,
            Auth::Basic(u, p) => request.basic_auth(u, Some(p)),
            Auth::Bearer(t) => request.bearer_auth(t),
        };
        request.send().await.map_err(|e| OciError::Unreachable { url: url.into(), message: describe(&e) })
    }

    /// The token endpoint of a `Bearer realm=…,service=…` challenge.
    async fn fetch_token(
        &self,
        r: &Reference,
        url: &str,
        params: &HashMap<String, String>,
        basic: Option<(String, String)>,
    ) -> Result<String, OciError> {
        let realm = params.get("realm").ok_or_else(|| OciError::Unauthorized {
            url: url.into(),
            message: "bearer challenge without a realm".into(),
        })?;
        let mut realm_url = url::Url::parse(realm)
            .map_err(|_| OciError::Unauthorized { url: url.into(), message: "the token realm is not a URL".into() })?;
        let realm_host = realm_url.host_str().unwrap_or("").to_string();
        let insecure_ok = is_loopback_host(&realm_host) || self.settings(&r.registry).is_some_and(|s| s.insecure);
        if realm_url.scheme() != "https" && !insecure_ok {
            return Err(OciError::InsecureRefused { host: realm_host });
        }
        {
            let mut q = realm_url.query_pairs_mut();
            if let Some(service) = params.get("service") {
                q.append_pair("service", service);
            }
            let scope = params.get("scope").cloned().unwrap_or_else(|| format!("repository:{}:pull", r.repository));
            q.append_pair("scope", &scope);
        }
        let shown = format!("{}://{}{}", realm_url.scheme(), realm_host, realm_url.path());
        let mut request = self.http.get(realm_url);
        if let Some((u, p)) = &basic {
            request = request.basic_auth(u, Some(p));
        }
        let response =
            request.send().await.map_err(|e| OciError::Unreachable { url: shown.clone(), message: describe(&e) })?;
        if !response.status().is_success() {
            return Err(OciError::Unauthorized {
                url: shown,
                message: format!("the token endpoint answered HTTP {}", response.status().as_u16()),
            });
        }
        let body = read_limited(response, 64 * 1024, &shown, "token response").await?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| OciError::Invalid { url: shown.clone(), message: "token response is not JSON".into() })?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| OciError::Invalid { url: shown, message: "token response has no token".into() })
    }

    /// The manifest `r` names (by digest or tag), verified.
    pub async fn manifest(&self, r: &Reference) -> Result<FetchedManifest, OciError> {
        self.manifest_optional(r).await?.ok_or_else(|| OciError::NotFound {
            url: self.url(r, &format!("manifests/{}", r.manifest_ref())).unwrap_or_default(),
        })
    }

    /// [`RegistryClient::manifest`], with `None` for a 404.
    pub async fn manifest_optional(&self, r: &Reference) -> Result<Option<FetchedManifest>, OciError> {
        let url = self.url(r, &format!("manifests/{}", r.manifest_ref()))?;
        let response = self.get(r, &url, MANIFEST_ACCEPT).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = check_status(response, &url).await?;
        let content_type = header(&response, reqwest::header::CONTENT_TYPE.as_str());
        let announced = header(&response, "docker-content-digest");
        let bytes = read_limited(response, self.limits.manifest_bytes, &url, "manifest").await?;
        let digest = match &r.digest {
            Some(expected) => {
                if !expected.matches(&bytes) {
                    let actual = expected.of_same_kind(&bytes).to_string();
                    return Err(OciError::DigestMismatch { url, expected: expected.to_string(), actual });
                }
                expected.clone()
            }
            None => match announced.as_deref().map(Digest::parse) {
                Some(Ok(d)) => {
                    if !d.matches(&bytes) {
                        let actual = d.of_same_kind(&bytes).to_string();
                        return Err(OciError::DigestMismatch { url, expected: d.to_string(), actual });
                    }
                    d
                }
                Some(Err(e)) => return Err(OciError::Invalid { url, message: format!("Docker-Content-Digest: {e}") }),
                None => Digest::sha256(&bytes),
            },
        };
        let manifest = Manifest::parse(&bytes, content_type.as_deref())
            .map_err(|e| OciError::Invalid { url: url.clone(), message: e.to_string() })?;
        Ok(Some(FetchedManifest { digest, bytes, manifest }))
    }

    /// A blob, checked against the descriptor's size and digest.
    pub async fn blob(
        &self,
        r: &Reference,
        d: &Descriptor,
        limit: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, OciError> {
        let url = self.url(r, &format!("blobs/{}", d.digest))?;
        if d.size > limit {
            return Err(OciError::TooLarge { url, what, limit });
        }
        let response = self.get(r, &url, "*/*").await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(OciError::NotFound { url });
        }
        let response = check_status(response, &url).await?;
        let bytes = read_limited(response, d.size.min(limit), &url, what).await?;
        if !d.digest.matches(&bytes) {
            let actual = d.digest.of_same_kind(&bytes).to_string();
            return Err(OciError::DigestMismatch { url, expected: d.digest.to_string(), actual });
        }
        if bytes.len() as u64 != d.size {
            return Err(OciError::Invalid {
                url,
                message: format!("{what} is {} bytes, the descriptor says {}", bytes.len(), d.size),
            });
        }
        Ok(bytes)
    }

    /// The referrers of `subject` in `r`'s repository, optionally only of
    /// `artifact_type`: the referrers API, or on a 404 the referrers tag
    /// schema, as the distribution spec says. Filtering happens here when
    /// the registry did not apply it (`OCI-Filters-Applied`).
    pub async fn referrers(
        &self,
        r: &Reference,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, OciError> {
        let mut url = self.url(r, &format!("referrers/{subject}"))?;
        if let Some(t) = artifact_type {
            url = format!("{url}?artifactType={}", url_encode(t));
        }
        let mut descriptors = Vec::new();
        let mut filtered = false;
        let mut page = 0;
        loop {
            let response = self.get(r, &url, OCI_INDEX).await?;
            if page == 0 && response.status() == reqwest::StatusCode::NOT_FOUND {
                return self.referrers_by_tag(r, subject, artifact_type).await;
            }
            let response = check_status(response, &url).await?;
            filtered |= header(&response, "oci-filters-applied")
                .is_some_and(|h| h.split(',').any(|f| f.trim() == "artifactType"));
            let next = header(&response, "link").and_then(|l| next_link(&l));
            let bytes = read_limited(response, self.limits.manifest_bytes, &url, "referrers index").await?;
            let index = Manifest::parse(&bytes, Some(OCI_INDEX))
                .map_err(|e| OciError::Invalid { url: url.clone(), message: format!("referrers response: {e}") })?;
            let Manifest::Index(index) = index else {
                return Err(OciError::Invalid { url, message: "referrers response is not an image index".into() });
            };
            descriptors.extend(index.manifests);
            page += 1;
            match next {
                Some(next) if page < self.limits.max_pages && descriptors.len() < self.limits.max_referrers => {
                    url = if next.starts_with('/') { format!("{}{next}", self.base(r)?) } else { next };
                    if !url.starts_with(&self.base(r)?) {
                        return Err(OciError::Invalid { url, message: "referrers Link points to another host".into() });
                    }
                }
                _ => break,
            }
        }
        if let (Some(t), false) = (artifact_type, filtered) {
            descriptors.retain(|d| d.artifact_type.as_deref() == Some(t));
        }
        descriptors.truncate(self.limits.max_referrers);
        Ok(Referrers { via: ReferrersVia::Api, descriptors })
    }

    async fn referrers_by_tag(
        &self,
        r: &Reference,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, OciError> {
        let tag = r.at_tag(&subject.referrers_tag());
        let mut descriptors = match self.manifest_optional(&tag).await? {
            None => Vec::new(),
            Some(fetched) => match fetched.manifest {
                Manifest::Index(index) => index.manifests,
                Manifest::Image(_) => {
                    return Err(OciError::Invalid {
                        url: self.url(&tag, &format!("manifests/{}", subject.referrers_tag()))?,
                        message: "the referrers tag holds an image manifest, not an image index".into(),
                    });
                }
            },
        };
        if let Some(t) = artifact_type {
            descriptors.retain(|d| d.artifact_type.as_deref() == Some(t));
        }
        descriptors.truncate(self.limits.max_referrers);
        Ok(Referrers { via: ReferrersVia::TagSchema, descriptors })
    }

    /// Every tag of the repository (paginated, bounded).
    pub async fn tags(&self, r: &Reference) -> Result<Vec<String>, OciError> {
        let mut url = self.url(r, "tags/list?n=1000")?;
        let mut tags = Vec::new();
        for _ in 0..self.limits.max_pages {
            let response = self.get(r, &url, "application/json").await?;
            if response.status() == reqwest::StatusCode::NOT_FOUND {
                break;
            }
            let response = check_status(response, &url).await?;
            let next = header(&response, "link").and_then(|l| next_link(&l));
            let bytes = read_limited(response, self.limits.manifest_bytes, &url, "tag list").await?;
            #[derive(serde::Deserialize)]
            struct TagList {
                #[serde(default)]
                tags: Option<Vec<String>>,
            }
            let list: TagList = serde_json::from_slice(&bytes)
                .map_err(|e| OciError::Invalid { url: url.clone(), message: format!("tag list: {e}") })?;
            tags.extend(list.tags.unwrap_or_default().into_iter().filter(|t| super::reference::valid_tag(t)));
            match next {
                Some(n) if n.starts_with('/') => url = format!("{}{n}", self.base(r)?),
                _ => break,
            }
        }
        Ok(tags)
    }
}

async fn check_status(response: reqwest::Response, url: &str) -> Result<reqwest::Response, OciError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(OciError::NotFound { url: url.into() });
    }
    // The registry's error code, if it sent the distribution error JSON.
    let body = read_limited(response, 16 * 1024, url, "error body").await.unwrap_or_default();
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.pointer("/errors/0/code")
                .and_then(|c| c.as_str())
                .map(|c| format!(" ({})", c.chars().take(60).collect::<String>()))
        })
        .unwrap_or_default();
    Err(OciError::Status { url: url.into(), status: status.as_u16(), detail })
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(2048).collect())
}

/// Reads a body of at most `limit` bytes (refusing early on a larger
/// Content-Length).
async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
    url: &str,
    what: &'static str,
) -> Result<Vec<u8>, OciError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(OciError::TooLarge { url: url.into(), what, limit });
    }
    let mut out = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|e| OciError::Unreachable { url: url.into(), message: describe(&e) })?
    {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(OciError::TooLarge { url: url.into(), what, limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A reqwest error without the URL (the caller names it) and with its cause.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// `Bearer realm="…",service="…",scope="…"` → ("Bearer", {realm, service, scope}).
pub fn parse_challenge(header: &str) -> (String, HashMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else { break };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            (value, &quoted[end.min(quoted.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(key, value);
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_string(), params)
}

/// The `rel="next"` target of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        if !params.replace(' ', "").contains("rel=\"next\"") {
            return None;
        }
        Some(target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_or_insecure_hosts() {
        let insecure = RegistryAuth {
            host: "lab.internal:5000".into(),
            username: None,
            password: None,
            token: None,
            insecure: true,
        };
        let c = RegistryClient::new(vec![insecure], Limits::default(), Duration::from_secs(1)).unwrap();
        let base = |r: &str| c.base(&Reference::parse(r).unwrap()).unwrap();
        assert_eq!(base("oci://registry.example.org/a:1"), "https://registry.example.org");
        assert_eq!(base("oci://10.0.0.1:5000/a:1"), "https://10.0.0.1:5000");
        assert_eq!(base("oci://127.0.0.1:5000/a:1"), "http://127.0.0.1:5000");
        assert_eq!(base("oci://localhost/a:1"), "http://localhost");
        assert_eq!(base("oci://lab.internal:5000/a:1"), "http://lab.internal:5000");
        assert_eq!(base("oci://lab.internal/a:1"), "https://lab.internal");
    }

    #[test]
    fn challenges_and_links_are_parsed() {
        let (scheme, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(p["realm"], "https://auth.example/token");
        assert_eq!(p["scope"], "repository:a/b:pull");
        let (scheme, p) = parse_challenge(r#"Basic realm="x \"y\"", charset=UTF-8"#);
        assert_eq!((scheme.as_str(), p["realm"].as_str(), p["charset"].as_str()), ("Basic", "x \"y\"", "UTF-8"));
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="prev""#), None);
        assert_eq!(url_encode("application/spdx+json"), "application%2Fspdx%2Bjson");
    }
}
