//! The two wire protocols: request bodies, response bodies and error shapes of the OpenAI
//! embeddings API (`/v1/…`) and the Ollama API (`/api/…`). Plain data and pure
//! functions; the handlers in `mod.rs` glue them to the queue.

use axum::http::StatusCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which API a route belongs to: it decides the shape of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `{"error": {"message", "type", "code"}}`
    OpenAi,
    /// `{"error": "…"}`
    Ollama,
}

/// A failed request: status, a message for the user and a short machine code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The JSON body in `flavor`'s shape.
    pub fn body(&self, flavor: Flavor) -> Value {
        match flavor {
            Flavor::OpenAi => {
                let kind = if self.status.is_server_error() {
                    "server_error"
                } else {
                    "invalid_request_error"
                };
                serde_json::json!({"error": {
                    "message": self.message, "type": kind, "code": self.code, "param": null,
                }})
            }
            Flavor::Ollama => serde_json::json!({ "error": self.message }),
        }
    }
}

/// `POST /v1/embeddings`.
#[derive(Debug, Deserialize)]
pub(crate) struct OpenAiRequest {
    pub model: String,
    pub input: Value,
    #[serde(default)]
    pub encoding_format: Option<String>,
    #[serde(default)]
    pub dimensions: Option<usize>,
}

/// `POST /api/embed`. `keep_alive` and `options` are accepted and ignored: the model
/// stays loaded for the server's lifetime.
#[derive(Debug, Deserialize)]
pub(crate) struct OllamaEmbedRequest {
    pub model: String,
    /// Missing or `null`: no texts (Ollama answers `{"embeddings": []}`, used to preload).
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub truncate: Option<bool>,
    #[serde(default)]
    pub dimensions: Option<usize>,
}

/// `POST /api/embeddings` (Ollama's older endpoint, one text).
#[derive(Debug, Deserialize)]
pub(crate) struct OllamaLegacyRequest {
    pub model: String,
    #[serde(default)]
    pub prompt: String,
}

/// Parses a request body, naming what is wrong when it does not fit.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "the request body is not valid JSON"
        } else {
            "the request body does not fit the API"
        };
        ApiError::bad_request("invalid_request_body", format!("{what}: {e}"))
    })
}

/// The texts of an `input` field: a string or an array of strings. Token ids (an array
/// of integers, or of arrays of integers) are refused: they are ids of some other
/// tokenizer as far as the server can tell. `null` (Ollama without `input`) is no texts.
pub(crate) fn parse_input(input: &Value) -> Result<Vec<String>, ApiError> {
    let token_ids = || {
        ApiError::bad_request(
            "token_ids_unsupported",
            "`input` holds token ids; this server embeds text only: send a string or an \
             array of strings",
        )
    };
    match input {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Number(_) => Err(token_ids()),
                Value::Array(inner) if inner.iter().all(Value::is_number) => Err(token_ids()),
                other => Err(ApiError::bad_request(
                    "invalid_input",
                    format!(
                        "`input[{i}]` is {}; `input` must be a string or an array of strings",
                        kind(other)
                    ),
                )),
            })
            .collect(),
        other => Err(ApiError::bad_request(
            "invalid_input",
            format!(
                "`input` is {}; it must be a string or an array of strings",
                kind(other)
            ),
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// How OpenAI vectors are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// JSON numbers.
    Float,
    /// Little-endian f32 bytes, base64 (the official Python client's default).
    Base64,
}

/// `encoding_format`: absent or `float`, or `base64`.
pub(crate) fn parse_encoding(format: Option<&str>) -> Result<Encoding, ApiError> {
    match format {
        None | Some("float") => Ok(Encoding::Float),
        Some("base64") => Ok(Encoding::Base64),
        Some(other) => Err(ApiError::bad_request(
            "invalid_encoding_format",
            format!("`encoding_format` is {other:?}; use \"float\" or \"base64\""),
        )),
    }
}

/// One vector as OpenAI sends it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Embedding {
    Float(Vec<f32>),
    Base64(String),
}

/// Little-endian f32 bytes, base64 (standard alphabet, padded).
pub(crate) fn base64_f32(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[derive(Debug, Serialize)]
pub(crate) struct OpenAiData {
    pub object: &'static str,
    pub index: usize,
    pub embedding: Embedding,
}

#[derive(Debug, Serialize)]
pub(crate) struct Usage {
    pub prompt_tokens: usize,
    pub total_tokens: usize,
}

/// The answer of `POST /v1/embeddings`.
#[derive(Debug, Serialize)]
pub(crate) struct OpenAiResponse {
    pub object: &'static str,
    pub data: Vec<OpenAiData>,
    pub model: String,
    pub usage: Usage,
}

impl OpenAiResponse {
    pub fn new(model: &str, vectors: Vec<Vec<f32>>, tokens: usize, encoding: Encoding) -> Self {
        let data = vectors
            .into_iter()
            .enumerate()
            .map(|(index, v)| OpenAiData {
                object: "embedding",
                index,
                embedding: match encoding {
                    Encoding::Float => Embedding::Float(v),
                    Encoding::Base64 => Embedding::Base64(base64_f32(&v)),
                },
            })
            .collect();
        Self {
            object: "list",
            data,
            model: model.to_string(),
            usage: Usage {
                prompt_tokens: tokens,
                total_tokens: tokens,
            },
        }
    }
}

/// The answer of `POST /api/embed`.
#[derive(Debug, Serialize)]
pub(crate) struct OllamaEmbedResponse {
    pub model: String,
    pub embeddings: Vec<Vec<f32>>,
    /// Nanoseconds from the request's arrival to its answer.
    pub total_duration: u64,
    /// Always 0: the model was loaded when the server started.
    pub load_duration: u64,
    pub prompt_eval_count: usize,
}

/// The answer of `POST /api/embeddings`.
#[derive(Debug, Serialize)]
pub(crate) struct OllamaLegacyResponse {
    pub embedding: Vec<f32>,
}

/// `seconds` since the Unix epoch as RFC 3339 UTC (`2026-11-29T12:00:00Z`): Ollama's
/// `modified_at`, which its clients parse as a date.
pub(crate) fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rem = seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_is_a_string_or_strings_never_token_ids() {
        assert_eq!(parse_input(&json!("a")).unwrap(), ["a"]);
        assert_eq!(parse_input(&json!(["a", ""])).unwrap(), ["a", ""]);
        assert!(parse_input(&json!([])).unwrap().is_empty());
        assert!(parse_input(&Value::Null).unwrap().is_empty());
        for ids in [json!([1, 2, 3]), json!([[1, 2], [3]]), json!(["a", 5])] {
            let e = parse_input(&ids).unwrap_err();
            assert_eq!(
                (e.status, e.code),
                (StatusCode::BAD_REQUEST, "token_ids_unsupported")
            );
            assert!(e.message.contains("token ids"), "{}", e.message);
        }
        let e = parse_input(&json!(["a", {"x": 1}])).unwrap_err();
        assert!(
            e.message.contains("`input[1]` is an object"),
            "{}",
            e.message
        );
        let e = parse_input(&json!(true)).unwrap_err();
        assert!(e.message.contains("`input` is a boolean"), "{}", e.message);
    }

    #[test]
    fn base64_is_little_endian_f32() {
        // 1.0f32 = 00 00 80 3f; -2.0f32 = 00 00 00 c0.
        assert_eq!(base64_f32(&[1.0, -2.0]), "AACAPwAAAMA=");
        assert_eq!(base64_f32(&[]), "");
    }

    #[test]
    fn errors_have_each_apis_shape() {
        let e = ApiError::new(StatusCode::NOT_FOUND, "model_not_found", "no such model");
        assert_eq!(
            e.body(Flavor::OpenAi)["error"],
            json!({"message": "no such model", "type": "invalid_request_error",
                   "code": "model_not_found", "param": null})
        );
        assert_eq!(e.body(Flavor::Ollama), json!({"error": "no such model"}));
        let e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "queue_full", "busy");
        assert_eq!(e.body(Flavor::OpenAi)["error"]["type"], "server_error");
    }

    #[test]
    fn bodies_that_do_not_fit_say_why() {
        let e = parse_body::<OpenAiRequest>(b"{\"model\": \"m\", ").unwrap_err();
        assert!(
            e.message.starts_with("the request body is not valid JSON"),
            "{}",
            e.message
        );
        let e = parse_body::<OpenAiRequest>(br#"{"input": "x"}"#).unwrap_err();
        assert!(e.message.contains("missing field `model`"), "{}", e.message);
        let e = parse_body::<OpenAiRequest>(br#"{"model": "m", "input": "x", "dimensions": -3}"#)
            .unwrap_err();
        assert!(e.message.contains("-3"), "{}", e.message);
        assert!(parse_encoding(Some("base64")).is_ok());
        let e = parse_encoding(Some("hex")).unwrap_err();
        assert!(e.message.contains("\"hex\""), "{}", e.message);
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
