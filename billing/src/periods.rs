//! Billing periods: calendar months in UTC.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub start: DateTime<Utc>,
    /// Exclusive.
    pub end: DateTime<Utc>,
}

impl Period {
    /// The month `at` falls in.
    pub fn containing(at: DateTime<Utc>) -> Self {
        let start = month_start(at.year(), at.month());
        let (year, month) = if at.month() == 12 {
            (at.year() + 1, 1)
        } else {
            (at.year(), at.month() + 1)
        };
        Self {
            start,
            end: month_start(year, month),
        }
    }

    /// Its length: 28 to 31 days of seconds.
    pub fn seconds(self) -> i64 {
        (self.end - self.start).num_seconds()
    }

    /// The month before this one.
    pub fn previous(self) -> Self {
        Self::containing(self.start - Duration::seconds(1))
    }

    /// Straight-line forecast of a period's total from what was used by `at`.
    pub fn forecast(self, used: i64, at: DateTime<Utc>) -> i64 {
        let elapsed = (at - self.start).num_seconds().max(1);
        let length = self.seconds();
        if elapsed >= length {
            return used;
        }
        let projected = i128::from(used) * i128::from(length) / i128::from(elapsed);
        i64::try_from(projected).unwrap_or(i64::MAX)
    }
}

fn month_start(year: i32, month: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_years() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        let period = Period::containing(at);
        assert_eq!(
            period.start,
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            period.end,
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            period.previous().start,
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn forecast_extrapolates_the_elapsed_part() {
        let period = Period::containing(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
        // 30-day month; 10 days in, 100 used → 300.
        let at = Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap();
        assert_eq!(period.forecast(100, at), 300);
        assert_eq!(period.forecast(100, period.end), 100);
    }
}
