//! Signing-secret rotation without downtime, as a pure function of the stored secrets, the
//! new secret, the time and the grace period. The admin handler only calls it.
//!
//! During a grace period the previous secret stays live, and every webhook carries one
//! signature per live secret, so receivers can switch secrets at their own pace.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Grace period when a rotation names none.
pub const DEFAULT_GRACE: TimeDelta = TimeDelta::hours(24);
/// The longest grace period a rotation may ask for.
pub const MAX_GRACE: TimeDelta = TimeDelta::days(7);
/// The most previous secrets kept live at once.
pub const MAX_PREVIOUS: usize = 5;

/// One stored secret: the current one has no expiry; previous ones expire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredSecret")]
pub struct SecretEntry {
    /// `whsec_...`.
    pub secret: String,
    /// When it stops signing; `None` for the current secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A secret as stored by any version: state written before rotation existed holds plain
/// `whsec_...` strings, read as current secrets.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredSecret {
    Plain(String),
    Entry {
        secret: String,
        #[serde(default)]
        expires_at: Option<DateTime<Utc>>,
    },
}

impl From<StoredSecret> for SecretEntry {
    fn from(stored: StoredSecret) -> Self {
        match stored {
            StoredSecret::Plain(secret) => Self::current(secret),
            StoredSecret::Entry { secret, expires_at } => Self { secret, expires_at },
        }
    }
}

impl SecretEntry {
    /// The current secret.
    #[must_use]
    pub fn current(secret: String) -> Self {
        Self {
            secret,
            expires_at: None,
        }
    }

    /// True while it signs.
    #[must_use]
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A rotation that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// The grace period is negative or longer than [`MAX_GRACE`].
    #[error("grace period must be 0 to 604800 seconds (7 days)")]
    Grace,
}

/// The secrets after rotating to `new`: `new` becomes current; the previous current secret
/// stays live for `grace`; expired secrets drop out; at most [`MAX_PREVIOUS`] previous
/// secrets are kept (the oldest go first). Newest first.
pub fn rotate_secret(
    secrets: &[SecretEntry],
    new: String,
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Result<Vec<SecretEntry>, RotationError> {
    if grace < TimeDelta::zero() || grace > MAX_GRACE {
        return Err(RotationError::Grace);
    }
    let until = now + grace;
    let previous = secrets
        .iter()
        .filter(|entry| entry.is_live(now))
        .map(|entry| SecretEntry {
            secret: entry.secret.clone(),
            // A previous secret never outlives the newest grace period.
            expires_at: Some(entry.expires_at.map_or(until, |at| at.min(until))),
        })
        .filter(|entry| entry.is_live(now))
        .take(MAX_PREVIOUS);
    Ok(std::iter::once(SecretEntry::current(new))
        .chain(previous)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn names(secrets: &[SecretEntry]) -> Vec<&str> {
        secrets.iter().map(|s| s.secret.as_str()).collect()
    }

    #[test]
    fn new_secret_becomes_current_and_the_old_one_lives_for_the_grace() {
        let rotated = rotate_secret(
            &[SecretEntry::current("a".into())],
            "b".into(),
            t(0),
            TimeDelta::hours(1),
        )
        .unwrap();
        assert_eq!(names(&rotated), ["b", "a"]);
        assert_eq!(rotated[0].expires_at, None);
        assert_eq!(rotated[1].expires_at, Some(t(3600)));
        assert!(rotated[1].is_live(t(3599)));
        assert!(!rotated[1].is_live(t(3600)));
    }

    #[test]
    fn zero_grace_revokes_the_old_secret_at_once() {
        let rotated = rotate_secret(
            &[SecretEntry::current("a".into())],
            "b".into(),
            t(0),
            TimeDelta::zero(),
        )
        .unwrap();
        assert_eq!(names(&rotated), ["b"]);
    }

    #[test]
    fn expired_secrets_drop_out_and_previous_ones_never_outlive_the_new_grace() {
        let secrets = vec![
            SecretEntry::current("c".into()),
            SecretEntry {
                secret: "b".into(),
                expires_at: Some(t(100_000)),
            },
            SecretEntry {
                secret: "a".into(),
                expires_at: Some(t(10)),
            },
        ];
        let rotated = rotate_secret(&secrets, "d".into(), t(20), TimeDelta::hours(1)).unwrap();
        assert_eq!(names(&rotated), ["d", "c", "b"]);
        assert_eq!(rotated[1].expires_at, Some(t(20 + 3600)));
        assert_eq!(
            rotated[2].expires_at,
            Some(t(20 + 3600)),
            "capped at the new grace"
        );
    }

    #[test]
    fn at_most_five_previous_secrets_are_kept() {
        let mut secrets = vec![SecretEntry::current("s0".into())];
        for i in 1..=8 {
            secrets = rotate_secret(&secrets, format!("s{i}"), t(i), TimeDelta::days(7)).unwrap();
        }
        assert_eq!(names(&secrets), ["s8", "s7", "s6", "s5", "s4", "s3"]);
    }

    #[test]
    fn grace_is_bounded() {
        let current = [SecretEntry::current("a".into())];
        assert_eq!(
            rotate_secret(&current, "b".into(), t(0), TimeDelta::days(8)),
            Err(RotationError::Grace)
        );
        assert_eq!(
            rotate_secret(&current, "b".into(), t(0), TimeDelta::seconds(-1)),
            Err(RotationError::Grace)
        );
        assert!(rotate_secret(&current, "b".into(), t(0), MAX_GRACE).is_ok());
    }

    #[test]
    fn stored_form_is_compact() {
        let json = serde_json::to_string(&SecretEntry::current("whsec_x".into())).unwrap();
        assert_eq!(json, r#"{"secret":"whsec_x"}"#);
    }

    #[test]
    fn secrets_stored_as_plain_strings_read_as_current() {
        let stored: Vec<SecretEntry> = serde_json::from_str(
            r#"["whsec_a", {"secret": "whsec_b", "expires_at": "2027-01-01T00:00:00Z"}]"#,
        )
        .unwrap();
        assert_eq!(stored[0], SecretEntry::current("whsec_a".into()));
        assert!(stored[1].expires_at.is_some());
        let round_trip: Vec<SecretEntry> =
            serde_json::from_str(&serde_json::to_string(&stored).unwrap()).unwrap();
        assert_eq!(round_trip, stored);
    }
}
