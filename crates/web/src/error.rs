//! One error type for the API (a JSON envelope `{"error": {"code", "message"}}`) and one for
//! pages (an HTML page); neither ever carries an internal cause.

use crate::html;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use contactpoint_domain::{Denied, FieldError};
use contactpoint_storage::StorageError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The error body every API error has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code, e.g. `invalid_input`, `unauthenticated`, `forbidden`.
    pub code: String,
    /// A sentence for people; for bad input it names the field and what would be accepted.
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

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Your role does not allow this.",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No such {what}."),
        )
    }

    /// The request could not be completed for want of the database (the cause is logged, not
    /// shown).
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "ContactPoint could not complete this just now.",
        )
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            format!("{}: expected {}", e.field, e.expected),
        )
    }
}

impl From<Denied> for ApiError {
    fn from(_: Denied) -> Self {
        Self::forbidden()
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { what } => Self::not_found(what),
            StorageError::Invalid(field) => field.into(),
            other => {
                tracing::error!(error = %other, "storage failed");
                Self::unavailable()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is nothing at this address.",
    )
}

/// An error shown as a page.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl PageError {
    pub fn unauthenticated() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            title: "Sign in to ContactPoint",
            message: r#"You need to <a href="/sign-in">sign in</a> to see this page."#.into(),
        }
    }

    pub fn forbidden() -> Self {
        Self { status: StatusCode::FORBIDDEN, title: "You cannot do this", message: "Your role does not allow this. If you think it should, contact your local ContactPoint team.".into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "Something was wrong with the form",
            message: html::escape(&message.into()),
        }
    }
}

impl From<Denied> for PageError {
    fn from(_: Denied) -> Self {
        Self::forbidden()
    }
}

impl From<StorageError> for PageError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { what } => Self {
                status: StatusCode::NOT_FOUND,
                title: "Page not found",
                message: format!("No such {what}."),
            },
            StorageError::Invalid(field) => {
                Self::bad_request(format!("{}: {}", field.field, field.expected))
            }
            other => {
                tracing::error!(error = %other, "storage failed");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    title: "Sorry, there is a problem",
                    message: "ContactPoint could not complete this just now. Try again shortly."
                        .into(),
                }
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        html::page_with_status(
            self.status,
            self.title,
            &format!(
                "<h1>{}</h1><p>{}</p>",
                html::escape(self.title),
                self.message
            ),
        )
    }
}

/// A JSON request body. An empty body reads as the type's default, so that the field checks
/// name what is missing; a malformed one is a 400 naming the field where parsing stopped.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_input",
                    "body: a JSON object",
                )
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut deserializer)
            .map(Self)
            .map_err(|e| {
                let field = e.path().to_string();
                let field = if field == "." {
                    "body".to_owned()
                } else {
                    field
                };
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_input",
                    format!("{field}: expected {}", e.inner()),
                )
            })
    }
}
