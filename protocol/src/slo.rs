//! Delivery objectives (SLOs): per endpoint, a share of deliveries that must succeed within
//! a time of their event's publication, over a rolling window of days. Each settled
//! delivery is judged once, when it settles ([`Slo::judge`]); compliance and the error
//! budget follow from the counts ([`SloReport::new`]), and budget alerts fire when the
//! burned share rises past [`BUDGET_ALERTS`] ([`crossed`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::admin::AdminError;
use crate::attempt::Outcome;

/// The longest window, in days.
pub const MAX_WINDOW_DAYS: u32 = 90;
/// The window when none is given, in days.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;
/// The longest time a delivery may be given, in seconds (a week).
pub const MAX_WITHIN_SECS: u32 = 7 * 24 * 3600;
/// The shares of the error budget burned at which an alert fires, in percent.
pub const BUDGET_ALERTS: [u8; 4] = [50, 75, 90, 100];

/// An endpoint's objective: `target_percent` of its deliveries succeed within
/// `within_secs` of their event's publication, over the last `window_days` days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// The share of deliveries that must meet it, e.g. `99.9`.
    pub target_percent: Percent,
    /// How long after its event's publication a delivery may succeed and still count.
    pub within_secs: u32,
    /// The rolling window compliance is measured over, 1–90 days.
    #[serde(default = "default_window_days")]
    pub window_days: u32,
}

fn default_window_days() -> u32 {
    DEFAULT_WINDOW_DAYS
}

impl Slo {
    /// Checks the bounds; errors name the field under `slo`.
    pub fn validate(self) -> Result<Self, AdminError> {
        let target = self.target_percent.thousandths();
        if target == 0 || target >= 100_000 {
            return Err(AdminError::invalid(
                "slo.target_percent",
                "must be above 0 and below 100 (e.g. 99.9)",
            ));
        }
        if !(1..=MAX_WITHIN_SECS).contains(&self.within_secs) {
            return Err(AdminError::invalid(
                "slo.within_secs",
                format!("must be 1-{MAX_WITHIN_SECS} seconds"),
            ));
        }
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err(AdminError::invalid(
                "slo.window_days",
                format!("must be 1-{MAX_WINDOW_DAYS} days"),
            ));
        }
        Ok(self)
    }

    /// How a delivery counts once it settles: `Some(true)` delivered within the time,
    /// `Some(false)` delivered late or dead, `None` while it is still being retried.
    /// `age_ms` is the time from its event's publication to the end of this attempt.
    #[must_use]
    pub fn judge(&self, outcome: Outcome, age_ms: i64) -> Option<bool> {
        match outcome {
            Outcome::Succeeded => Some(age_ms <= i64::from(self.within_secs) * 1000),
            Outcome::Dead => Some(false),
            Outcome::Retrying => None,
        }
    }
}

/// A percentage with at most three decimals, kept exactly (in thousandths of a percent),
/// written as a JSON number: `99.9`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u32);

impl Percent {
    /// `thousandths` thousandths of a percent (`99_900` is 99.9 %).
    #[must_use]
    pub fn from_thousandths(thousandths: u32) -> Self {
        Self(thousandths)
    }

    /// In thousandths of a percent.
    #[must_use]
    pub fn thousandths(self) -> u32 {
        self.0
    }

    /// As a fraction, 0–1.
    #[must_use]
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 100_000.0
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(f64::from(self.0) / 1000.0)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        let scaled = value * 1000.0;
        let rounded = scaled.round();
        if !value.is_finite() || !(0.0..=100.0).contains(&value) {
            return Err(serde::de::Error::custom("a percentage is 0-100"));
        }
        if (scaled - rounded).abs() > 1e-6 {
            return Err(serde::de::Error::custom(
                "a percentage has at most three decimals",
            ));
        }
        // In range by the checks above: 0..=100_000.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked"
        )]
        Ok(Self(rounded as u32))
    }
}

/// How an endpoint stands against its objective over its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloReport {
    /// The objective.
    pub objective: Slo,
    /// Deliveries settled in the window (succeeded or dead).
    pub deliveries: u64,
    /// Of those, delivered within the time.
    pub met: u64,
    /// Delivered late, or dead.
    pub missed: u64,
    /// `met` as a share of `deliveries`, in percent; absent without deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance_percent: Option<f64>,
    /// The share of the error budget (the misses the target allows) used, in percent;
    /// above 100 once the objective is missed.
    pub budget_burned_percent: f64,
    /// What is left of the budget, 0–100 percent.
    pub budget_remaining_percent: f64,
    /// Whether compliance is at or above the target (true without deliveries).
    pub meeting: bool,
}

impl SloReport {
    /// The standing from the window's counts.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    pub fn new(objective: Slo, met: u64, missed: u64) -> Self {
        let deliveries = met + missed;
        let allowed = allowed_misses(objective, deliveries);
        let burned = if missed == 0 {
            0.0
        } else {
            // From exact integers, so a burn of exactly 50 % is 50.0.
            missed as f64 * 100.0 * 100_000.0 / allowed as f64
        };
        let target = u128::from(objective.target_percent.thousandths());
        Self {
            objective,
            deliveries,
            met,
            missed,
            compliance_percent: (deliveries > 0).then(|| met as f64 / deliveries as f64 * 100.0),
            budget_burned_percent: burned,
            budget_remaining_percent: (100.0 - burned).max(0.0),
            meeting: u128::from(met) * 100_000 >= target * u128::from(deliveries),
        }
    }

    /// The highest alert threshold the burned budget has reached; 0 below the first.
    #[must_use]
    pub fn alert_level(&self) -> u8 {
        let allowed = allowed_misses(self.objective, self.deliveries);
        BUDGET_ALERTS
            .into_iter()
            .filter(|threshold| {
                // missed / allowed >= threshold %, in integers.
                self.missed > 0
                    && u128::from(self.missed) * 100 * 100_000 >= u128::from(*threshold) * allowed
            })
            .max()
            .unwrap_or(0)
    }
}

/// The misses the target allows among `deliveries`, in hundred-thousandths of a delivery.
fn allowed_misses(objective: Slo, deliveries: u64) -> u128 {
    u128::from(100_000 - objective.target_percent.thousandths()) * u128::from(deliveries)
}

/// The thresholds passed when the alert level rises from `before` to `now`, lowest first;
/// none when it holds or falls (a fall re-arms the thresholds above it).
pub fn crossed(before: u8, now: u8) -> impl Iterator<Item = u8> {
    BUDGET_ALERTS
        .into_iter()
        .filter(move |threshold| *threshold > before && *threshold <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(target: &str, within_secs: u32) -> Slo {
        serde_json::from_str(&format!(
            r#"{{"target_percent": {target}, "within_secs": {within_secs}}}"#
        ))
        .expect("parses")
    }

    #[test]
    fn percentages_are_exact_to_three_decimals() {
        assert_eq!(slo("99.9", 60).target_percent.thousandths(), 99_900);
        assert_eq!(slo("99.999", 60).target_percent.thousandths(), 99_999);
        assert_eq!(slo("50", 60).target_percent.thousandths(), 50_000);
        assert_eq!(slo("99.9", 60).window_days, DEFAULT_WINDOW_DAYS);
        for bad in ["99.9999", "-1", "100.5", "\"99\""] {
            assert!(
                serde_json::from_str::<Slo>(&format!(
                    r#"{{"target_percent": {bad}, "within_secs": 1}}"#
                ))
                .is_err(),
                "{bad}"
            );
        }
        let text = serde_json::to_string(&slo("99.95", 60)).expect("encodes");
        assert_eq!(
            text,
            r#"{"target_percent":99.95,"within_secs":60,"window_days":30}"#
        );
    }

    #[test]
    fn bounds_are_checked_naming_the_field() {
        let field = |s: Slo| s.validate().expect_err("refused").field;
        assert_eq!(field(slo("100", 60)).as_deref(), Some("slo.target_percent"));
        assert_eq!(field(slo("0", 60)).as_deref(), Some("slo.target_percent"));
        assert_eq!(field(slo("99", 0)).as_deref(), Some("slo.within_secs"));
        let long = Slo {
            window_days: 91,
            ..slo("99", 1)
        };
        assert_eq!(field(long).as_deref(), Some("slo.window_days"));
        assert!(slo("99.9", MAX_WITHIN_SECS).validate().is_ok());
    }

    #[test]
    fn a_delivery_counts_once_it_settles() {
        let objective = slo("99", 60);
        assert_eq!(objective.judge(Outcome::Succeeded, 60_000), Some(true));
        assert_eq!(objective.judge(Outcome::Succeeded, 60_001), Some(false));
        assert_eq!(objective.judge(Outcome::Dead, 10), Some(false));
        assert_eq!(objective.judge(Outcome::Retrying, 10), None);
    }

    #[test]
    fn the_budget_is_the_misses_the_target_allows() {
        let objective = slo("99", 60);
        let none = SloReport::new(objective, 0, 0);
        assert_eq!(
            (
                none.compliance_percent,
                none.budget_burned_percent,
                none.meeting
            ),
            (None, 0.0, true)
        );
        let half = SloReport::new(objective, 199, 1);
        assert!((half.budget_burned_percent - 50.0).abs() < 1e-9);
        assert!((half.budget_remaining_percent - 50.0).abs() < 1e-9);
        assert!(half.meeting);
        assert_eq!(half.alert_level(), 50);
        let exactly = SloReport::new(objective, 99, 1);
        assert!((exactly.budget_burned_percent - 100.0).abs() < 1e-9);
        assert!(exactly.meeting, "99 of 100 meets 99 %");
        assert_eq!(exactly.alert_level(), 100);
        let over = SloReport::new(objective, 97, 3);
        assert!((over.budget_burned_percent - 300.0).abs() < 1e-9);
        assert!(over.budget_remaining_percent.abs() < 1e-9);
        assert!(!over.meeting);
        assert_eq!(SloReport::new(objective, 1000, 4).alert_level(), 0);
    }

    #[test]
    fn alerts_fire_on_the_way_up_only() {
        assert_eq!(crossed(0, 75).collect::<Vec<_>>(), [50, 75]);
        assert_eq!(crossed(50, 100).collect::<Vec<_>>(), [75, 90, 100]);
        assert_eq!(crossed(90, 90).count(), 0);
        assert_eq!(crossed(100, 50).count(), 0);
        assert_eq!(crossed(0, 0).count(), 0);
    }
}
