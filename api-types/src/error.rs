//! The one shape of every REST API error:
//!
//! ```json
//! {"error": "no key is set for kling", "code": "missing_credential", "provider": "kling"}
//! ```
//!
//! `error` is a message fit for a person (English, lowercase, no internal detail); `code` is
//! what programs branch on, so the browser never parses the message. Extra fields say which
//! thing the error is about when that helps the caller act (`provider`: the key to set).

use serde::{Deserialize, Serialize};

/// Machine-readable error codes. New codes may be added; a client that meets one it does not
/// know reads it as [`ErrorCode::Other`] and shows the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is well-formed JSON but asks for something invalid.
    BadRequest,
    /// 400: the body is not JSON, or not of the expected shape (field path in the message).
    InvalidBody,
    /// 401: no token, or a malformed, forged or expired one.
    Unauthorized,
    /// 401: the share link this token belongs to was revoked by the project's owner.
    LinkRevoked,
    /// 403: the action needs a personal identity (a name given once through
    /// `POST /api/projects/{id}/join`), and the token is a bare share link.
    IdentityRequired,
    /// 403: the token's role may not do this.
    Forbidden,
    /// 404
    NotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 409: the request conflicts with the current state (e.g. cancelling a finished job).
    Conflict,
    /// 413
    PayloadTooLarge,
    /// 415: a body of a type the endpoint does not take.
    UnsupportedMediaType,
    /// 402: the work would exceed the project's budget.
    BudgetExceeded,
    /// 400: the provider needs a key that the project does not have; `provider` names it.
    MissingCredential,
    /// 503: the server is shutting down or a dependency is unavailable.
    Unavailable,
    /// 500: something failed inside the server; the detail is in its logs only.
    Internal,
    /// A code this client does not know yet.
    #[serde(other)]
    Other,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub error: String,
    pub code: ErrorCode,
    /// The provider the error is about (for `missing_credential`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl ApiErrorBody {
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            code,
            provider: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_read_as_other() {
        let body: ApiErrorBody = serde_json::from_str(r#"{"error":"x","code":"from_the_future"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.code, ErrorCode::Other);
        let body = ApiErrorBody {
            provider: Some("kling".into()),
            ..ApiErrorBody::new(ErrorCode::MissingCredential, "no key is set for kling")
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"error":"no key is set for kling","code":"missing_credential","provider":"kling"}"#
        );
    }
    #[test]
    fn every_code_has_its_snake_case_name() {
        let cases = [
            (ErrorCode::InvalidBody, "invalid_body"),
            (ErrorCode::PayloadTooLarge, "payload_too_large"),
            (ErrorCode::UnsupportedMediaType, "unsupported_media_type"),
            (ErrorCode::MethodNotAllowed, "method_not_allowed"),
            (ErrorCode::BudgetExceeded, "budget_exceeded"),
            (ErrorCode::MissingCredential, "missing_credential"),
        ];
        for (code, name) in cases {
            let json = format!("\"{name}\"");
            assert_eq!(serde_json::to_string(&code).unwrap_or_default(), json);
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).ok(), Some(code));
        }
        // An error without a provider leaves the field out rather than sending null.
        let body = ApiErrorBody::new(ErrorCode::NotFound, "no such project");
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"error":"no such project","code":"not_found"}"#
        );
    }
}
