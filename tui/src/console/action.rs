//! What the console changes: every change is one `Action`, and the destructive ones pass
//! through the one confirmation ([`Action::confirmation`]) before they are sent.

use serde_json::{Value, json};

use super::strings;

/// A change to make, always naming its target by id (never by row: a live list moves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Pause(String),
    Resume(String),
    Delete(String),
    RotateSecret(String),
}

impl Action {
    /// The question to ask first, for destructive actions.
    pub(crate) fn confirmation(&self) -> Option<String> {
        match self {
            Self::Delete(id) => Some(strings::confirm_delete(id)),
            Self::RotateSecret(id) => Some(strings::confirm_rotate(id)),
            Self::Pause(_) | Self::Resume(_) => None,
        }
    }

    /// The admin request that carries it out: (noun, verb, body).
    pub(crate) fn request(&self) -> (&'static str, &'static str, Value) {
        match self {
            Self::Pause(id) => ("endpoints", "pause", json!({"id": id})),
            Self::Resume(id) => ("endpoints", "resume", json!({"id": id})),
            Self::Delete(id) => ("endpoints", "delete", json!({"id": id})),
            Self::RotateSecret(id) => ("endpoints", "rotate-secret", json!({"id": id})),
        }
    }

    /// Short words for the status line.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Pause(id) => format!("pause {id}"),
            Self::Resume(id) => format!("resume {id}"),
            Self::Delete(id) => format!("delete {id}"),
            Self::RotateSecret(id) => format!("rotate the secret of {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_actions_ask_first() {
        assert!(
            Action::Delete("ep_1".into())
                .confirmation()
                .unwrap()
                .contains("ep_1")
        );
        assert!(Action::RotateSecret("ep_1".into()).confirmation().is_some());
        assert!(Action::Pause("ep_1".into()).confirmation().is_none());
        assert_eq!(
            Action::Delete("ep_1".into()).request(),
            ("endpoints", "delete", json!({"id": "ep_1"}))
        );
    }
}
