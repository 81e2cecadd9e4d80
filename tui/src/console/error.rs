//! How a failed admin call reaches the console: the message, and the request field the
//! API blamed (forms show the error on that field).

/// A failed call, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// What failed, for people.
    pub(crate) message: String,
    /// The request field the API blamed, if it did (forms show the error there).
    pub(crate) field: Option<String>,
}

impl ApiError {
    /// An error not tied to a field.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            field: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
