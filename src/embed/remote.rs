//! Remote embedders: a model served over HTTP instead of run in this process.
//!
//! Two protocols cover the servers people run:
//!
//! - `ollama:NAME` — Ollama's `POST /api/embed` (default endpoint `http://localhost:11434`);
//! - `openai:NAME` — the OpenAI-compatible `POST {base}/embeddings`, which vLLM, TEI,
//!   llama.cpp's server, LM Studio, hosted APIs and `cseek serve` speak. The endpoint is the
//!   base URL as OpenAI clients take it (`http://127.0.0.1:8080/v1`; default
//!   `https://api.openai.com/v1`).
//!
//! The client batches texts into requests ([`RemoteOptions::batch_size`]), keeps up to
//! [`RemoteOptions::concurrency`] requests in flight, retries 429 and 5xx answers with
//! exponential backoff (honouring `Retry-After`), and checks every answer: one vector per
//! text, all of the dimension the server gave first, finite. Vectors are L2-normalised
//! here whatever the server does, since the vector index ranks by dot product. The API
//! key is sent as a bearer token and never appears in `Debug` output, errors or the index.
//! Choosing a remote model is the host's permission to use the network; nothing else in
//! this module touches it.

use std::time::Duration;

/// Default endpoint of `ollama:` models.
pub const OLLAMA_DEFAULT_ENDPOINT: &str = "http://localhost:11434";
/// Default endpoint (base URL) of `openai:` models.
pub const OPENAI_DEFAULT_ENDPOINT: &str = "https://api.openai.com/v1";

/// Which HTTP protocol a remote model speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Ollama's `/api/embed`.
    Ollama,
    /// The OpenAI-compatible `/v1/embeddings`.
    OpenAi,
}

impl Protocol {
    /// The model-spec prefix (`ollama`, `openai`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Ollama => "ollama",
            Protocol::OpenAi => "openai",
        }
    }

    /// The endpoint used when none is given.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Ollama => OLLAMA_DEFAULT_ENDPOINT,
            Protocol::OpenAi => OPENAI_DEFAULT_ENDPOINT,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Ollama => "Ollama",
            Protocol::OpenAi => "OpenAI-compatible",
        })
    }
}

/// `ollama:NAME` / `openai:NAME` → the protocol and the server's model name; `None` for
/// any other spec (a registry name, a Hugging Face id, a directory).
pub fn parse_spec(spec: &str) -> Option<(Protocol, &str)> {
    let (scheme, name) = spec.split_once(':')?;
    let protocol = match scheme {
        "ollama" => Protocol::Ollama,
        "openai" => Protocol::OpenAi,
        _ => return None,
    };
    Some((protocol, name))
}

/// An API key: sent as `Authorization: Bearer …`, shown nowhere.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; an empty or blank one is no key.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        (!key.trim().is_empty()).then(|| ApiKey(key.trim().to_string()))
    }

    #[cfg_attr(not(feature = "embed"), allow(dead_code))]
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// How remote models are reached (part of [`EmbedOptions`](super::EmbedOptions)).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteOptions {
    /// Server URL (Ollama: `http://host:11434`; OpenAI-compatible: the base URL ending in
    /// `/v1`). `None`: the protocol's default, or for a query the endpoint the index
    /// recorded.
    pub endpoint: Option<String>,
    /// Bearer token for the server. The library reads no environment variable; the `cseek`
    /// binary takes `CSEEK_API_KEY`, else `OPENAI_API_KEY`.
    pub api_key: Option<ApiKey>,
    /// Time allowed for one request, connection included.
    pub timeout: Duration,
    /// Retries of a request answered 429 or 5xx (or cut off mid-answer).
    pub retries: u32,
    /// Texts per request.
    pub batch_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            endpoint: None,
            api_key: None,
            timeout: Duration::from_secs(120),
            retries: 4,
            batch_size: 32,
            concurrency: 4,
        }
    }
}

/// Whether `url` names this machine (loopback), so texts sent there stay on it.
pub fn is_local_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The endpoint `protocol` uses under `opts`, checked and without credentials, query or
/// trailing slash: what requests go to and what an index records.
pub fn endpoint_url(protocol: Protocol, opts: &RemoteOptions) -> Result<String, String> {
    let raw = opts
        .endpoint
        .as_deref()
        .unwrap_or(protocol.default_endpoint())
        .trim();
    let mut u = url::Url::parse(raw).map_err(|e| format!("bad endpoint {raw:?}: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        return Err(format!(
            "bad endpoint {raw:?}: expected an http:// or https:// URL with a host"
        ));
    }
    // Credentials in the URL would end up in the index and in messages.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    Ok(u.as_str().trim_end_matches('/').to_string())
}

#[cfg(feature = "embed")]
pub(crate) use client::RemoteClient;

#[cfg(feature = "embed")]
mod client {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::{endpoint_url, Protocol, RemoteOptions};
    use crate::embed::error::{EmbedError, Result};

    /// Largest answer read (a batch of vectors as JSON text).
    const MAX_RESPONSE_BYTES: u64 = 512 << 20;
    /// Longest wait between retries, whatever `Retry-After` says.
    const MAX_BACKOFF: Duration = Duration::from_secs(30);

    /// A connection to one served model.
    pub(crate) struct RemoteClient {
        protocol: Protocol,
        name: String,
        endpoint: String,
        url: String,
        agent: ureq::Agent,
        opts: RemoteOptions,
        dims: usize,
    }

    impl RemoteClient {
        /// Connects and asks for one vector, which tells the model's dimension and proves
        /// the server, the model name and the key work before any real work starts.
        pub(crate) fn connect(
            protocol: Protocol,
            name: &str,
            opts: &RemoteOptions,
        ) -> Result<Self> {
            if name.trim().is_empty() {
                return Err(EmbedError::InvalidOption(format!(
                    "`{}:` needs a model name, e.g. `{}:nomic-embed-text`",
                    protocol.as_str(),
                    protocol.as_str()
                )));
            }
            let endpoint = endpoint_url(protocol, opts).map_err(EmbedError::InvalidOption)?;
            let url = match protocol {
                Protocol::Ollama => format!("{endpoint}/api/embed"),
                Protocol::OpenAi => format!("{endpoint}/embeddings"),
            };
            let agent = ureq::AgentBuilder::new()
                .timeout_connect(opts.timeout.min(Duration::from_secs(10)))
                .timeout(opts.timeout)
                .build();
            let mut c = RemoteClient {
                protocol,
                name: name.to_string(),
                endpoint,
                url,
                agent,
                opts: RemoteOptions {
                    batch_size: opts.batch_size.max(1),
                    concurrency: opts.concurrency.max(1),
                    ..opts.clone()
                },
                dims: 0,
            };
            let probe = c.request(&["dimension probe"])?;
            c.dims = probe.first().map_or(0, Vec::len);
            Ok(c)
        }

        /// The checked endpoint (no credentials).
        pub(crate) fn endpoint(&self) -> &str {
            &self.endpoint
        }

        /// The dimension of the server's vectors.
        pub(crate) fn dims(&self) -> usize {
            self.dims
        }

        /// Vectors for `texts`, in order, as the server computed them (not normalised).
        pub(crate) fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            let batches: Vec<&[&str]> = texts.chunks(self.opts.batch_size).collect();
            if batches.len() <= 1 || self.opts.concurrency == 1 {
                let mut out = Vec::with_capacity(texts.len());
                for b in batches {
                    out.extend(self.request(b)?);
                }
                return Ok(out);
            }
            // Workers take the next batch until none is left or one fails.
            let results: Vec<Mutex<Option<Vec<Vec<f32>>>>> =
                batches.iter().map(|_| Mutex::new(None)).collect();
            let next = AtomicUsize::new(0);
            let failed: Mutex<Option<EmbedError>> = Mutex::new(None);
            let workers = self.opts.concurrency.min(batches.len());
            std::thread::scope(|s| {
                for _ in 0..workers {
                    s.spawn(|| loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(batch) = batches.get(i) else { break };
                        if failed.lock().map(|f| f.is_some()).unwrap_or(true) {
                            break;
                        }
                        match self.request(batch) {
                            Ok(v) => {
                                if let Ok(mut slot) = results[i].lock() {
                                    *slot = Some(v);
                                }
                            }
                            Err(e) => {
                                if let Ok(mut f) = failed.lock() {
                                    f.get_or_insert(e);
                                }
                                break;
                            }
                        }
                    });
                }
            });
            if let Some(e) = failed.into_inner().ok().flatten() {
                return Err(e);
            }
            let mut out = Vec::with_capacity(texts.len());
            for r in results {
                match r.into_inner().ok().flatten() {
                    Some(v) => out.extend(v),
                    None => return Err(self.err("a batch got no answer".into())),
                }
            }
            Ok(out)
        }

        fn err(&self, message: String) -> EmbedError {
            EmbedError::Remote {
                server: format!("{} server at {}", self.protocol, self.endpoint),
                message,
            }
        }

        /// One request, retried on 429/5xx and on answers cut off mid-way.
        fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            let body = match self.protocol {
                Protocol::Ollama => json!({"model": self.name, "input": texts, "truncate": true}),
                Protocol::OpenAi => {
                    json!({"model": self.name, "input": texts, "encoding_format": "float"})
                }
            }
            .to_string();
            let mut attempt = 0u32;
            loop {
                let mut req = self
                    .agent
                    .post(&self.url)
                    .set("Content-Type", "application/json");
                if let Some(key) = &self.opts.api_key {
                    req = req.set("Authorization", &format!("Bearer {}", key.expose()));
                }
                let (retry, wait, why) = match req.send_string(&body) {
                    Ok(resp) => match read_body(resp) {
                        Ok(text) => return self.parse(&text, texts.len()),
                        Err(e) => (true, None, format!("the answer was cut off ({e})")),
                    },
                    Err(ureq::Error::Status(code, resp)) => {
                        let wait = resp
                            .header("Retry-After")
                            .and_then(|s| s.trim().parse::<u64>().ok())
                            .map(Duration::from_secs);
                        let detail = read_body(resp)
                            .map(|t| error_message(&t))
                            .unwrap_or_default();
                        let retry = code == 429 || (500..600).contains(&code);
                        let why = format!("HTTP {code}{}", suffix(&detail));
                        if !retry {
                            return Err(self.err(self.status_help(code, &why)));
                        }
                        (retry, wait, why)
                    }
                    Err(ureq::Error::Transport(t)) => {
                        return Err(self.err(self.transport_help(&t)));
                    }
                };
                if !retry || attempt >= self.opts.retries {
                    let tries = attempt + 1;
                    return Err(self.err(format!(
                        "{why} (gave up after {tries} attempt{})",
                        if tries == 1 { "" } else { "s" }
                    )));
                }
                let backoff = Duration::from_millis(250u64 << attempt.min(6));
                std::thread::sleep(wait.unwrap_or(backoff).min(MAX_BACKOFF));
                attempt += 1;
            }
        }

        fn status_help(&self, code: u16, why: &str) -> String {
            match code {
                401 | 403 => format!(
                    "{why}: the server refused the credentials; set CSEEK_API_KEY (or \
                     OPENAI_API_KEY) to a key it accepts"
                ),
                404 => format!(
                    "{why}: no model `{}` there, or no {} endpoint at {} (check the model \
                     name and --endpoint{})",
                    self.name,
                    match self.protocol {
                        Protocol::Ollama => "/api/embed",
                        Protocol::OpenAi => "/embeddings",
                    },
                    self.endpoint,
                    match self.protocol {
                        Protocol::Ollama => "; `ollama pull NAME` fetches a model",
                        Protocol::OpenAi => "; the base URL usually ends in /v1",
                    }
                ),
                413 => {
                    format!("{why}: requests are too large for this server; lower the batch size")
                }
                _ => why.to_string(),
            }
        }

        fn transport_help(&self, t: &ureq::Transport) -> String {
            use ureq::ErrorKind as K;
            let detail = t.to_string();
            match t.kind() {
                K::ConnectionFailed | K::Dns => format!(
                    "cannot reach the server ({detail}); is it running{}? Pass --endpoint \
                     URL for another address",
                    match self.protocol {
                        Protocol::Ollama => " (`ollama serve`)",
                        Protocol::OpenAi => "",
                    }
                ),
                K::Io if detail.to_lowercase().contains("timed out") => format!(
                    "no answer within {} s ({detail})",
                    self.opts.timeout.as_secs_f64()
                ),
                _ => detail,
            }
        }

        /// The vectors of an answer, checked against the request.
        fn parse(&self, text: &str, expected: usize) -> Result<Vec<Vec<f32>>> {
            let v: Value = serde_json::from_str(text).map_err(|e| {
                self.err(format!(
                    "the answer is not JSON ({e}): {}",
                    text.chars().take(120).collect::<String>()
                ))
            })?;
            let rows: Vec<&Value> = match self.protocol {
                Protocol::Ollama => v
                    .get("embeddings")
                    .and_then(Value::as_array)
                    .ok_or_else(|| self.err("the answer has no `embeddings` array".into()))?
                    .iter()
                    .collect(),
                Protocol::OpenAi => {
                    let data = v
                        .get("data")
                        .and_then(Value::as_array)
                        .ok_or_else(|| self.err("the answer has no `data` array".into()))?;
                    // Items carry their input's index; servers need not keep the order.
                    let mut rows: Vec<Option<&Value>> = vec![None; data.len()];
                    for (i, item) in data.iter().enumerate() {
                        let at = item
                            .get("index")
                            .and_then(Value::as_u64)
                            .map_or(i, |x| x as usize);
                        match rows.get_mut(at) {
                            Some(slot @ None) => *slot = item.get("embedding"),
                            _ => {
                                return Err(self.err(format!(
                                    "the answer's `data` has a bad or repeated index {at}"
                                )))
                            }
                        }
                    }
                    rows.into_iter()
                        .map(|r| r.ok_or_else(|| self.err("an item has no `embedding`".into())))
                        .collect::<Result<_>>()?
                }
            };
            if rows.len() != expected {
                return Err(self.err(format!("asked for {expected} vectors, got {}", rows.len())));
            }
            let want = if self.dims == 0 {
                None
            } else {
                Some(self.dims)
            };
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let vec: Vec<f32> = row
                    .as_array()
                    .ok_or_else(|| {
                        self.err(
                            "a vector is not an array of numbers (base64 answers are not \
                                  read: the request asks for floats)"
                                .into(),
                        )
                    })?
                    .iter()
                    .map(|x| x.as_f64().map(|f| f as f32).filter(|f| f.is_finite()))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        self.err("a vector holds a value that is not a finite number".into())
                    })?;
                let dims = want.or(out.first().map(Vec::len)).unwrap_or(vec.len());
                if vec.is_empty() || vec.len() != dims {
                    return Err(self.err(format!(
                        "a vector has {} dimensions, expected {dims}: the server changed \
                         models, or answers inconsistently",
                        vec.len()
                    )));
                }
                out.push(vec);
            }
            Ok(out)
        }
    }

    fn read_body(resp: ureq::Response) -> std::io::Result<String> {
        let mut s = String::new();
        resp.into_reader()
            .take(MAX_RESPONSE_BYTES)
            .read_to_string(&mut s)?;
        Ok(s)
    }

    /// The message of an error answer (`{"error": "…"}` or `{"error": {"message": …}}`),
    /// else its first characters.
    fn error_message(text: &str) -> String {
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        let msg = parsed.as_ref().and_then(|v| {
            let e = v.get("error")?;
            e.as_str()
                .map(str::to_string)
                .or_else(|| e.get("message").and_then(Value::as_str).map(str::to_string))
        });
        msg.unwrap_or_else(|| text.trim().chars().take(200).collect())
    }

    fn suffix(detail: &str) -> String {
        if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_endpoints() {
        assert_eq!(
            parse_spec("ollama:nomic-embed-text"),
            Some((Protocol::Ollama, "nomic-embed-text"))
        );
        assert_eq!(
            parse_spec("openai:text-embedding-3-small"),
            Some((Protocol::OpenAi, "text-embedding-3-small"))
        );
        assert_eq!(parse_spec("minilm"), None);
        assert_eq!(parse_spec("C:/models/x"), None);
        let opts = |e: &str| RemoteOptions {
            endpoint: Some(e.into()),
            ..RemoteOptions::default()
        };
        assert_eq!(
            endpoint_url(
                Protocol::OpenAi,
                &opts("http://u:secret@127.0.0.1:8080/v1/?x=1")
            )
            .as_deref(),
            Ok("http://127.0.0.1:8080/v1")
        );
        assert_eq!(
            endpoint_url(Protocol::Ollama, &RemoteOptions::default()).as_deref(),
            Ok("http://localhost:11434")
        );
        assert!(endpoint_url(Protocol::Ollama, &opts("localhost:11434")).is_err());
        assert!(endpoint_url(Protocol::Ollama, &opts("ftp://h/")).is_err());
        assert!(is_local_url("http://127.0.0.1:1/v1") && is_local_url("http://[::1]:2"));
        assert!(is_local_url("http://localhost:11434"));
        assert!(!is_local_url("https://api.openai.com/v1"));
        assert_eq!(format!("{:?}", ApiKey::new("sk-123")), "Some(ApiKey(***))");
        assert_eq!(ApiKey::new("  "), None);
    }
}
