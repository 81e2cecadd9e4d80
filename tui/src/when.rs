//! Times as operators type them: RFC 3339 or an age before now (`90s`, `30m`, `2h`, `7d`).

use chrono::{DateTime, TimeDelta, Utc};

/// Reads `text` as a time, ages counted back from `now`.
pub(crate) fn parse(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let invalid = || format!("{text:?} is neither an RFC 3339 time nor an age like 90m, 2h, 7d");
    let unit = text.chars().last().ok_or_else(invalid)?;
    let amount: i64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| invalid())?;
    let age = match unit {
        's' => TimeDelta::try_seconds(amount),
        'm' => TimeDelta::try_minutes(amount),
        'h' => TimeDelta::try_hours(amount),
        'd' => TimeDelta::try_days(amount),
        _ => None,
    }
    .filter(|age| *age >= TimeDelta::zero())
    .ok_or_else(invalid)?;
    Ok(now - age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn ages_and_timestamps_are_read() {
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        assert_eq!(parse("90s", now).unwrap(), now - TimeDelta::seconds(90));
        assert_eq!(parse("2h", now).unwrap(), now - TimeDelta::hours(2));
        assert_eq!(parse(" 7d ", now).unwrap(), now - TimeDelta::days(7));
        assert_eq!(
            parse("2026-11-22T08:00:00Z", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
        );
        for bad in ["", "h", "2x", "-2h", "yesterday", "2026-11-22"] {
            assert!(parse(bad, now).is_err(), "{bad}");
        }
    }
}
