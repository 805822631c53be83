//! OpenAI-compatible chat completions (DeepSeek, Qwen's compatible mode, Ollama, vLLM) in
//! JSON mode, for shot breakdown. Models often answer with almost-JSON: the answer is
//! repaired where that is safe (code fences, prose around it, trailing commas, a cut-off
//! end), checked by the caller, and on failure the model is asked again with the error, up to
//! the request's attempt limit; then the call fails with the last problem.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::http::{Auth, Http, pick_model};
use crate::openai_wire::WireError;
use crate::registry::ProviderSpec;
use crate::{
    ChatRequest, ChatResponse, Error, GenerationProvider, JsonCheck, Operation, Output, OutputRef,
    Result, Secret, Timeouts, Usage,
};

pub const PROVIDER: &str = "openai-chat";
pub const DEFAULT_BASE_URL: &str = "https://api.deepseek.com";
pub const DEFAULT_MODELS: &[&str] = &["deepseek-chat"];

/// A key is required by the server (DeepSeek, Qwen); a local Ollama takes any.
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::ChatJson]);

#[derive(Debug, Clone)]
pub struct OpenAiChatConfig {
    /// The API root that `/chat/completions` hangs off: `https://api.deepseek.com`,
    /// `https://dashscope.aliyuncs.com/compatible-mode/v1`, `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// Empty for servers without keys (a local Ollama).
    pub api_key: Secret,
    pub models: Vec<String>,
    /// Send `response_format: {"type": "json_object"}`; turn off for servers that reject it.
    pub json_mode: bool,
    pub timeouts: Timeouts,
}

impl OpenAiChatConfig {
    pub fn new(base_url: impl Into<String>, api_key: impl Into<Secret>) -> Self {
        OpenAiChatConfig {
            base_url: base_url.into(),
            api_key: api_key.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            json_mode: true,
            // DeepSeek holds busy connections open for up to 30 minutes sending blank lines:
            // give a long breakdown time, but not that long.
            timeouts: Timeouts::with_request(std::time::Duration::from_secs(180)),
        }
    }
}

#[derive(Debug)]
pub struct OpenAiChat {
    config: OpenAiChatConfig,
    http: Http,
}

impl OpenAiChat {
    pub fn new(config: OpenAiChatConfig) -> Result<Self> {
        let auth = Auth::bearer(&config.api_key);
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?;
        Ok(OpenAiChat { config, http })
    }

    /// One completion: the answer's text (possibly empty), its finish reason and usage.
    async fn complete(&self, body: &Value) -> Result<(String, String, Option<Value>)> {
        // Without a key no header goes (a local Ollama takes none).
        let request = self.http.post("chat/completions").json(body);
        let reply = self.http.send("chat", request).await?;
        if !reply.status.is_success() {
            return Err(WireError::parse(&reply).into_error(&self.http, &reply, false));
        }
        let answer: Value = reply.json(&self.http)?;
        let choice = &answer["choices"][0];
        Ok((
            choice["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            choice["finish_reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            answer.get("usage").cloned(),
        ))
    }
}

#[async_trait]
impl GenerationProvider for OpenAiChat {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        let _ = output;
        Err(Error::not_supported(PROVIDER, "fetch"))
    }

    async fn chat_json(
        &self,
        request: &ChatRequest,
        check: &JsonCheck<'_>,
    ) -> Result<ChatResponse> {
        let model = pick_model(PROVIDER, request.model.as_deref(), &self.config.models)?;
        // JSON mode needs the word "json" in the prompt (DeepSeek and OpenAI refuse otherwise).
        let mut system = request.system.clone();
        if !system.to_lowercase().contains("json") && !request.user.to_lowercase().contains("json")
        {
            system.push_str("\nAnswer with a single JSON value and nothing else.");
        }
        let mut messages = vec![
            json!({"role": "system", "content": system}),
            json!({"role": "user", "content": request.user}),
        ];
        let mut usage = Usage::default();
        let mut problem = String::from("no answer");
        let attempts = request.max_attempts.max(1);
        for attempt in 1..=attempts {
            let mut body = json!({"model": model, "messages": messages});
            if self.config.json_mode {
                body["response_format"] = json!({"type": "json_object"});
            }
            if let Some(max) = request.max_tokens {
                body["max_tokens"] = json!(max);
            }
            if let Some(t) = request.temperature {
                body["temperature"] = json!(t);
            }
            let (content, finish_reason, reported) = self.complete(&body).await?;
            add_usage(&mut usage, reported);
            if content.trim().is_empty() {
                // DeepSeek's JSON mode sometimes answers with nothing: just ask again.
                problem = "the answer was empty".into();
                continue;
            }
            problem = match parse_json(&content) {
                Ok((value, repaired)) => match check(&value) {
                    Ok(()) => {
                        return Ok(ChatResponse {
                            value,
                            model,
                            attempts: attempt,
                            repaired,
                            usage: Some(usage),
                        });
                    }
                    Err(why) => format!("the JSON does not match what was asked: {why}"),
                },
                Err(e) if finish_reason == "length" => format!(
                    "the answer was cut off before the JSON ended ({e}); answer more briefly"
                ),
                Err(e) => format!("the answer is not valid JSON: {e}"),
            };
            tracing::debug!(attempt, %problem, "re-asking the model");
            messages.push(json!({"role": "assistant", "content": content}));
            messages.push(json!({
                "role": "user",
                "content": format!("{problem}. Reply again with the corrected JSON only."),
            }));
        }
        Err(Error::InvalidOutput {
            provider: PROVIDER.into(),
            attempts,
            message: self.http.redact(&problem),
            usage: Box::new(usage),
        })
    }
}

fn add_usage(total: &mut Usage, reported: Option<Value>) {
    let Some(raw) = reported else { return };
    let add = |sum: &mut Option<u64>, v: Option<u64>| {
        if let Some(v) = v {
            *sum = Some(sum.unwrap_or(0) + v);
        }
    };
    add(&mut total.input_tokens, raw["prompt_tokens"].as_u64());
    add(&mut total.output_tokens, raw["completion_tokens"].as_u64());
    add(&mut total.total_tokens, raw["total_tokens"].as_u64());
    match &mut total.raw {
        Value::Array(all) => all.push(raw),
        other => *other = json!([raw]),
    }
}

/// Parses a model's answer as JSON, repairing the usual breakage. Returns whether it had to.
pub fn parse_json(text: &str) -> std::result::Result<(Value, bool), String> {
    let text = text.trim().trim_start_matches('\u{feff}');
    match serde_json::from_str(text) {
        Ok(v) => Ok((v, false)),
        Err(first) => {
            let repaired = repair(text).ok_or_else(|| first.to_string())?;
            serde_json::from_str(&repaired)
                .map(|v| (v, true))
                .map_err(|_| first.to_string())
        }
    }
}

/// Best-effort repair: unwraps a code fence, drops prose around the value, removes trailing
/// commas, and closes strings, arrays and objects left open by a cut-off answer.
fn repair(text: &str) -> Option<String> {
    let mut body = text;
    if let Some(start) = body.find("```") {
        let after = &body[start + 3..];
        // Skip the fence's language tag line ("```json").
        let after = after.split_once('\n').map_or(after, |(_, rest)| rest);
        body = after.find("```").map_or(after, |end| &after[..end]);
    }
    let start = body.find(['{', '['])?;
    let body = &body[start..];

    let mut out = String::with_capacity(body.len() + 8);
    let mut stack: Vec<char> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in body.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                stack.push(if c == '{' { '}' } else { ']' });
                out.push(c);
            }
            '}' | ']' => {
                drop_trailing_comma(&mut out);
                out.push(c);
                if stack.pop() != Some(c) {
                    return None;
                }
                if stack.is_empty() {
                    // The value is complete; anything after it is prose.
                    return Some(out);
                }
            }
            _ => out.push(c),
        }
    }
    // Cut off: close what is open.
    if escaped {
        out.pop();
    }
    if in_string {
        out.push('"');
    }
    let trimmed = out.trim_end().to_owned();
    out = trimmed;
    if out.ends_with(':') {
        out.push_str("null");
    }
    drop_trailing_comma(&mut out);
    while let Some(close) = stack.pop() {
        // A dangling key without a value (`{"a": 1, "b"`) cannot be closed as is.
        if close == '}' && dangling_key(&out) {
            out.push_str(":null");
        }
        out.push(close);
    }
    Some(out)
}

fn drop_trailing_comma(out: &mut String) {
    let trimmed = out.trim_end().len();
    if out[..trimmed].ends_with(',') {
        out.truncate(trimmed - 1);
    }
}

/// True when an object's last member is a bare string (a key) with no colon after it.
fn dangling_key(out: &str) -> bool {
    let t = out.trim_end();
    if !t.ends_with('"') {
        return false;
    }
    let before_string = t[..t.len() - 1].rfind('"').map(|i| t[..i].trim_end());
    matches!(
        before_string.and_then(|s| s.chars().last()),
        Some('{' | ',')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(text: &str) -> Value {
        match parse_json(text) {
            Ok((v, true)) => v,
            other => panic!("{text:?} -> {other:?}"),
        }
    }

    #[test]
    fn valid_json_needs_no_repair() {
        assert_eq!(parse_json(" {\"a\": 1}\n"), Ok((json!({"a": 1}), false)));
    }

    #[test]
    fn code_fences_and_prose_are_removed() {
        assert_eq!(
            repaired("```json\n{\"a\": [1, 2]}\n```"),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            repaired("Here you go:\n{\"a\": 1}\nHope this helps!"),
            json!({"a": 1})
        );
    }

    #[test]
    fn trailing_commas_are_removed() {
        assert_eq!(
            repaired("{\"a\": [1, 2,], \"b\": 3,}"),
            json!({"a": [1, 2], "b": 3})
        );
    }

    #[test]
    fn cut_off_answers_are_closed() {
        assert_eq!(
            repaired("{\"shots\": [{\"n\": 1}, {\"n\": 2"),
            json!({"shots": [{"n": 1}, {"n": 2}]})
        );
        assert_eq!(
            repaired("{\"a\": \"half a sent"),
            json!({"a": "half a sent"})
        );
        assert_eq!(repaired("{\"a\": 1, \"b\":"), json!({"a": 1, "b": null}));
        assert_eq!(repaired("{\"a\": 1, \"b\""), json!({"a": 1, "b": null}));
        assert_eq!(repaired("[1, 2,"), json!([1, 2]));
    }

    #[test]
    fn strings_with_brackets_and_commas_are_left_alone() {
        assert_eq!(
            repaired("```\n{\"a\": \"x,]} \\\" y\",}\n```"),
            json!({"a": "x,]} \" y"})
        );
    }

    #[test]
    fn hopeless_text_is_an_error() {
        assert!(parse_json("I cannot help with that.").is_err());
        assert!(parse_json("{\"a\": 1]").is_err());
    }
}
