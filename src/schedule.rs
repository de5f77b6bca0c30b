//! When `paperwire run` sends: the next run time of the `[schedule] cron` expression in the
//! newsletter's time zone, the edition id of a scheduled instant, whether a missed edition is
//! still worth sending on start (catch-up), and when to retry deferred recipients.
//!
//! Everything here is pure and takes the time as an argument (or from a [`Clock`]), so tests
//! control it; the daemon loop around it is [`crate::daemon`], which sends through
//! [`crate::pipeline::run_edition`] like `paperwire send` does.
//!
//! Why not simply `croner::Cron::find_next_occurrence` in the time zone: croner 3 treats a
//! pattern with more than one time a day (`0 7,19 * * *`) as an "interval job", which skips a
//! time inside a spring-forward gap and fires twice in a fall-back overlap; and for a one-time
//! pattern it can return an instant *before* the search start when that start is in the second
//! pass of an overlap. So croner only enumerates matching *local wall-clock* times here (on a
//! zone-less clock), and this module maps each one to a real instant itself: a time that does
//! not exist that day fires once at the first instant after the gap, one that occurs twice
//! fires once, at its first occurrence.

use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::edition::{EditionId, EditionProgress};

/// A schedule that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error(
        "schedule.cron `{cron}` is not a five-field cron expression (minute hour day-of-month month day-of-week, like `0 7 * * 1-5`): {reason}"
    )]
    Invalid { cron: String, reason: String },
    #[error("schedule.cron `{0}` never fires")]
    Never(String),
    #[error("{var} `{value}`: {reason}")]
    TestClock {
        var: &'static str,
        value: String,
        reason: String,
    },
}

/// The current time, injectable so tests control it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// How long to really wait for `span` of this clock's time to pass (a test clock may run
    /// faster than real time).
    fn real_span(&self, span: Duration) -> Duration {
        span
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A wall clock that starts at a chosen instant and runs `rate` times as fast as the real one
/// (tests: `PAPERWIRE_TEST_NOW`, `PAPERWIRE_TEST_CLOCK_RATE`). It follows the real wall clock,
/// jumps included.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    origin: DateTime<Utc>,
    real_origin: DateTime<Utc>,
    rate: u32,
}

impl ShiftedClock {
    /// A clock that reads `origin` now and advances `rate` (≥ 1) seconds per real second.
    pub fn starting_at(origin: DateTime<Utc>, rate: u32) -> Self {
        Self {
            origin,
            real_origin: Utc::now(),
            rate: rate.max(1),
        }
    }

    /// From the test variables' values: an RFC 3339 instant and an optional rate.
    pub fn from_env_values(now: &str, rate: Option<&str>) -> Result<Self, ScheduleError> {
        let origin = DateTime::parse_from_rfc3339(now.trim())
            .map_err(|e| ScheduleError::TestClock {
                var: "PAPERWIRE_TEST_NOW",
                value: now.to_owned(),
                reason: format!("not an RFC 3339 time like 2026-11-28T06:59:58Z ({e})"),
            })?
            .with_timezone(&Utc);
        let rate = match rate {
            None => 1,
            Some(r) => r
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|r| *r >= 1)
                .ok_or_else(|| ScheduleError::TestClock {
                    var: "PAPERWIRE_TEST_CLOCK_RATE",
                    value: r.to_owned(),
                    reason: "not a whole number ≥ 1".into(),
                })?,
        };
        Ok(Self::starting_at(origin, rate))
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Utc::now() - self.real_origin;
        self.origin + elapsed * i32::try_from(self.rate).unwrap_or(i32::MAX)
    }
    fn real_span(&self, span: Duration) -> Duration {
        span / self.rate
    }
}

/// A parsed `[schedule] cron` in the newsletter's time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    cron: Cron,
    tz: Tz,
    many_a_day: bool,
}

/// The five fields of a cron line, their names and what each takes, for messages.
const CRON_FIELDS: [(&str, &str); 5] = [
    ("minute", "0–59"),
    ("hour", "0–23"),
    ("day-of-month", "1–31"),
    ("month", "1–12 or JAN–DEC"),
    ("day-of-week", "0–7 or SUN–SAT, 0 and 7 are Sunday"),
];

/// What is wrong with a cron line croner refused, in our words rather than the library's: the
/// number of fields, or the first field that croner refuses when every other one is `*`.
fn cron_problem(parser: &CronParser, expr: &str) -> String {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.is_empty() {
        return "it is empty".to_owned();
    }
    if fields.len() == 1 && fields[0].starts_with('@') {
        return format!(
            "`{}` is not a nickname cron knows (@yearly, @monthly, @weekly, @daily, @hourly)",
            fields[0]
        );
    }
    if fields.len() != 5 {
        return format!(
            "it has {} field{} (seconds and years are not used)",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        );
    }
    for (i, (name, range)) in CRON_FIELDS.iter().enumerate() {
        let alone: Vec<&str> = (0..5)
            .map(|j| if j == i { fields[j] } else { "*" })
            .collect();
        if parser.parse(&alone.join(" ")).is_err() {
            return format!("the {name} field `{}` is not valid ({range})", fields[i]);
        }
    }
    "its fields do not combine into a valid pattern".to_owned()
}

/// How many matching wall-clock times one search may step over (a gap or an overlap holds at
/// most a few hours of them) before giving up.
const MAX_CANDIDATES: usize = 10_000;
/// The longest fall-back overlap in the tz database is 2 hours; a backward search starts this
/// far past the present wall-clock time so that it sees the first pass of an overlap.
const OVERLAP_MARGIN: TimeDelta = TimeDelta::hours(3);

impl Schedule {
    /// Parses a standard five-field cron expression (`minute hour day-of-month month
    /// day-of-week`, or `@daily`-style nicknames). Day of month and day of week combine with
    /// cron's OR rule when both are restricted (`0 7 13 * 5`: the 13th and every Friday);
    /// croner's `+` prefix on the day of week asks for AND. Seconds and years are refused.
    pub fn parse(expr: &str, tz: Tz) -> Result<Self, ScheduleError> {
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .dom_and_dow(false)
            .build();
        let cron = parser.parse(expr).map_err(|_| ScheduleError::Invalid {
            cron: expr.to_owned(),
            reason: cron_problem(&parser, expr),
        })?;
        // Every matching day gets every minute × hour combination of the pattern, so two
        // firings on the first matching day mean more than one a day. This also rejects a
        // pattern like `0 0 30 2 *`, which parses but never matches.
        let never = || ScheduleError::Never(expr.trim().to_owned());
        let probe = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or_else(never)?
            .and_utc();
        let first = cron
            .find_next_occurrence(&probe, true)
            .map_err(|_| never())?;
        let second = cron
            .find_next_occurrence(&first, false)
            .map_err(|_| never())?;
        let schedule = Self {
            expr: expr.trim().to_owned(),
            cron,
            tz,
            many_a_day: first.date_naive() == second.date_naive(),
        };
        Ok(schedule)
    }

    /// The expression as configured.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Whether the schedule fires more than once on some day (then edition ids carry the time).
    pub fn fires_more_than_once_a_day(&self) -> bool {
        self.many_a_day
    }

    /// The first scheduled instant strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
        // `instant` never decreases as the wall-clock time grows, and every wall-clock time
        // before `after`'s own maps to an instant at or before `after`: start there.
        let mut wall = after.with_timezone(&self.tz).naive_local();
        let mut inclusive = true;
        for _ in 0..MAX_CANDIDATES {
            let candidate = self
                .cron
                .find_next_occurrence(&wall.and_utc(), inclusive)
                .map_err(|_| ScheduleError::Never(self.expr.clone()))?
                .naive_utc();
            let at = self.instant(candidate);
            if at > after {
                return Ok(at);
            }
            wall = candidate;
            inclusive = false;
        }
        Err(ScheduleError::Never(self.expr.clone()))
    }

    /// The last scheduled instant at or before `now` (`None` when there is none since year 1).
    pub fn last_at_or_before(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let mut wall = now.with_timezone(&self.tz).naive_local() + OVERLAP_MARGIN;
        let mut inclusive = true;
        for _ in 0..MAX_CANDIDATES {
            let Ok(candidate) = self
                .cron
                .find_previous_occurrence(&wall.and_utc(), inclusive)
            else {
                return Ok(None);
            };
            let candidate = candidate.naive_utc();
            let at = self.instant(candidate);
            if at <= now {
                return Ok(Some(at));
            }
            wall = candidate;
            inclusive = false;
        }
        Err(ScheduleError::Never(self.expr.clone()))
    }

    /// The real instant a matching wall-clock time fires at: itself; its first occurrence
    /// when it occurs twice (fall back); the first instant after the gap when it does not
    /// exist (spring forward).
    fn instant(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => self.end_of_gap(wall),
        }
    }

    /// The first instant after the spring-forward gap that `wall` falls in.
    fn end_of_gap(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        let resolve = |t: NaiveDateTime| self.tz.from_local_datetime(&t).earliest();
        // Transitions fall on whole minutes in practice; find the first valid minute, then the
        // first valid second before it, to be exact anyway. Gaps are at most a day long.
        let mut minute = wall;
        for _ in 0..=(24 * 60 + 1) {
            minute += TimeDelta::minutes(1);
            if let Some(at) = resolve(minute) {
                for s in (1..60).rev() {
                    if let Some(earlier) = resolve(minute - TimeDelta::seconds(s)) {
                        return earlier.with_timezone(&Utc);
                    }
                }
                return at.with_timezone(&Utc);
            }
        }
        // Unreachable with the tz database; fall back to reading the wall time as UTC.
        wall.and_utc()
    }

    /// The edition a scheduled instant sends: its local date (`2026-11-28`), or date and time
    /// (`2026-11-28T0700`) when the schedule fires more than once a day.
    pub fn edition_id(&self, at: DateTime<Utc>) -> EditionId {
        let local = at.with_timezone(&self.tz);
        if self.many_a_day {
            EditionId::parse(&local.format("%Y-%m-%dT%H%M").to_string())
                .unwrap_or_else(|_| EditionId::for_date(local.date_naive()))
        } else {
            EditionId::for_date(local.date_naive())
        }
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> chrono::NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// An instant in plain words in the newsletter's time zone: `Sat 2026-11-28 07:00 CET
    /// (Europe/Berlin)`.
    pub fn describe(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.tz);
        let abbrev = local.format("%Z").to_string();
        let name = self.tz.name();
        if abbrev == name {
            format!("{} {abbrev}", local.format("%a %Y-%m-%d %H:%M"))
        } else {
            format!("{} {abbrev} ({name})", local.format("%a %Y-%m-%d %H:%M"))
        }
    }
}

/// A span in plain words: `2 h 5 min`, `40 s`.
pub fn describe_span(span: TimeDelta) -> String {
    let secs = span.num_seconds().max(0);
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// On start (or for `run --once`): is the edition scheduled at `scheduled` (the last one at or
/// before `now`) due? Not when it is complete; when no send of it started, only if it is
/// younger than `catch_up`; when it started and is incomplete (interrupted, deferred
/// recipients), while it is younger than the larger of `catch_up` and `retry_deadline`. The
/// next scheduled edition always comes after `now`, so it is never overtaken.
pub fn due_on_start(
    scheduled: DateTime<Utc>,
    now: DateTime<Utc>,
    state: EditionProgress,
    catch_up: Duration,
    retry_deadline: Duration,
) -> bool {
    let age = now - scheduled;
    if age < TimeDelta::zero() {
        return false;
    }
    let window = match state {
        EditionProgress::Complete => return false,
        EditionProgress::NotStarted => catch_up,
        EditionProgress::Incomplete => catch_up.max(retry_deadline),
    };
    age <= TimeDelta::from_std(window).unwrap_or(TimeDelta::MAX)
}

/// When the daemon runs an edition again for its deferred recipients: `base`, then doubling
/// (5, 10, 20, 40 min…) up to `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// The default base interval between retries of deferred recipients.
    pub const DEFAULT_BASE: Duration = Duration::from_secs(5 * 60);

    /// `base`, doubling, capped at twelve times `base` (an hour for the default).
    pub fn new(base: Duration) -> Self {
        Self {
            base,
            cap: base.saturating_mul(12),
        }
    }

    /// The wait before retry number `attempt` (1 = the first retry).
    pub fn interval(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// When to run retry number `attempt`, the last run having ended at `now`: `None` when
    /// the edition has reached its `deadline` or the next scheduled edition is due first. A
    /// retry that would fall after the deadline happens at the deadline instead, once.
    pub fn next_retry(
        &self,
        attempt: u32,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
        next_edition: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let wait = TimeDelta::from_std(self.interval(attempt)).unwrap_or(TimeDelta::MAX);
        let at = now
            .checked_add_signed(wait)
            .unwrap_or(deadline)
            .min(deadline);
        (at > now && at < next_edition).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }
    fn new_york() -> Tz {
        "America/New_York".parse().unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    /// The next `n` firings after `from`, as RFC 3339 in UTC.
    fn firings(s: &Schedule, from: &str, n: usize) -> Vec<String> {
        let mut at = utc(from);
        (0..n)
            .map(|_| {
                at = s.next_after(at).unwrap();
                at.to_rfc3339()
            })
            .collect()
    }

    #[test]
    fn five_fields_only_and_nicknames() {
        let tz = chrono_tz::UTC;
        assert!(Schedule::parse("0 7 * * 1-5", tz).is_ok());
        assert!(Schedule::parse("@daily", tz).is_ok());
        for bad in [
            "0 0 7 * * *",
            "0 7 * * * 2026",
            "7 * *",
            "",
            "61 7 * * *",
            "0 7 * * MO",
        ] {
            let e = Schedule::parse(bad, tz).unwrap_err();
            assert!(matches!(e, ScheduleError::Invalid { .. }), "{bad}: {e}");
        }
        // The reason is ours, naming the field; never croner's own wording.
        let reason = |bad: &str| match Schedule::parse(bad, tz).unwrap_err() {
            ScheduleError::Invalid { reason, .. } => reason,
            other => panic!("{bad}: {other}"),
        };
        assert_eq!(
            reason("0 0 7 * * *"),
            "it has 6 fields (seconds and years are not used)"
        );
        assert_eq!(reason(""), "it is empty");
        assert_eq!(
            reason("61 7 * * *"),
            "the minute field `61` is not valid (0–59)"
        );
        assert_eq!(
            reason("0 25 * * *"),
            "the hour field `25` is not valid (0–23)"
        );
        assert_eq!(
            reason("0 7 * * MO"),
            "the day-of-week field `MO` is not valid (0–7 or SUN–SAT, 0 and 7 are Sunday)"
        );
        assert_eq!(
            reason("@fortnightly"),
            "`@fortnightly` is not a nickname cron knows (@yearly, @monthly, @weekly, @daily, @hourly)"
        );
        assert_eq!(
            Schedule::parse("0 0 30 2 *", tz).unwrap_err(),
            ScheduleError::Never("0 0 30 2 *".into())
        );
    }

    #[test]
    fn weekdays_at_seven_in_utc() {
        let s = Schedule::parse("0 7 * * 1-5", chrono_tz::UTC).unwrap();
        // 2026-11-27 is a Friday.
        assert_eq!(
            firings(&s, "2026-11-27T07:00:00Z", 2),
            ["2026-11-30T07:00:00+00:00", "2026-12-01T07:00:00+00:00"]
        );
        // Strictly after: the instant itself is not next.
        assert_eq!(
            s.next_after(utc("2026-11-30T06:59:59Z")).unwrap(),
            utc("2026-11-30T07:00:00Z")
        );
        assert!(!s.fires_more_than_once_a_day());
        assert_eq!(
            s.edition_id(utc("2026-11-30T07:00:00Z")).as_str(),
            "2026-11-30"
        );
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // The 13th OR any Friday, as in Vixie cron; not only Friday the 13th.
        let s = Schedule::parse("0 7 13 * 5", chrono_tz::UTC).unwrap();
        // From Tue 2026-11-10: Fri 13th, Fri 20th, Fri 27th, Fri Dec 4th, Fri 11th, Sun 13th.
        assert_eq!(
            firings(&s, "2026-11-10T00:00:00Z", 6),
            [
                "2026-11-13T07:00:00+00:00",
                "2026-11-20T07:00:00+00:00",
                "2026-11-27T07:00:00+00:00",
                "2026-12-04T07:00:00+00:00",
                "2026-12-11T07:00:00+00:00",
                "2026-12-13T07:00:00+00:00",
            ]
        );
        // A `*` in one of them means only the other one counts.
        let s = Schedule::parse("0 7 13 * *", chrono_tz::UTC).unwrap();
        assert_eq!(
            firings(&s, "2026-11-10T00:00:00Z", 2),
            ["2026-11-13T07:00:00+00:00", "2026-12-13T07:00:00+00:00"]
        );
        // Sunday is 0 and 7.
        let s = Schedule::parse("0 7 * * 7", chrono_tz::UTC).unwrap();
        assert_eq!(
            firings(&s, "2026-11-10T00:00:00Z", 1),
            ["2026-11-15T07:00:00+00:00"]
        );
    }

    #[test]
    fn spring_forward_gap_fires_once_at_the_end_of_the_gap() {
        // Berlin: 2026-03-29 02:00 CET → 03:00 CEST; New York: 2026-03-08 02:00 EST → 03:00 EDT.
        for (tz, evening_before, gap_end, day_before, day_after) in [
            (
                berlin(),
                "2026-03-28T20:00:00Z",
                "2026-03-29T01:00:00+00:00", // 03:00 CEST
                "2026-03-28T01:30:00+00:00", // 02:30 CET the day before
                "2026-03-30T00:30:00+00:00", // 02:30 CEST the day after
            ),
            (
                new_york(),
                "2026-03-07T20:00:00Z",
                "2026-03-08T07:00:00+00:00", // 03:00 EDT
                "2026-03-07T07:30:00+00:00", // 02:30 EST the day before
                "2026-03-09T06:30:00+00:00", // 02:30 EDT the day after
            ),
        ] {
            let s = Schedule::parse("30 2 * * *", tz).unwrap();
            let two_days_before = (utc(evening_before) - TimeDelta::days(1)).to_rfc3339();
            assert_eq!(
                firings(&s, &two_days_before, 3),
                [day_before, gap_end, day_after],
                "{tz}"
            );
            assert_eq!(
                s.last_at_or_before(utc(gap_end) + TimeDelta::minutes(5))
                    .unwrap(),
                Some(utc(gap_end)),
                "{tz}"
            );
            // Twice a day: croner alone skips the gap (an "interval job" to it); here the
            // 02:30 still fires once, at 03:00, with the actual time in its edition id.
            let s = Schedule::parse("30 2,14 * * *", tz).unwrap();
            assert_eq!(firings(&s, evening_before, 1), [gap_end], "{tz}");
            let id = s.edition_id(utc(gap_end));
            assert_eq!(id.as_str(), format!("{}T0300", &gap_end[..10]), "{tz}");
            // Every 15 minutes: the four times inside the gap and 03:00 itself fire once,
            // together, at 03:00.
            let s = Schedule::parse("*/15 * * * *", tz).unwrap();
            let end = utc(gap_end);
            let start = (end - TimeDelta::minutes(16)).to_rfc3339();
            let got: Vec<DateTime<Utc>> = firings(&s, &start, 3).iter().map(|t| utc(t)).collect();
            assert_eq!(
                got,
                [
                    end - TimeDelta::minutes(15),
                    end,
                    end + TimeDelta::minutes(15)
                ],
                "{tz}"
            );
        }
    }

    #[test]
    fn fall_back_overlap_fires_once_at_the_first_occurrence() {
        // Berlin: 2026-10-25 03:00 CEST → 02:00 CET (02:xx twice);
        // New York: 2026-11-01 02:00 EDT → 01:00 EST (01:xx twice).
        for (tz, hour, first, next_day, second_pass) in [
            (
                berlin(),
                2,
                "2026-10-25T00:30:00+00:00", // 02:30 CEST
                "2026-10-26T01:30:00+00:00", // 02:30 CET
                "2026-10-25T01:10:00Z",      // 02:10 CET, in the second pass
            ),
            (
                new_york(),
                1,
                "2026-11-01T05:30:00+00:00", // 01:30 EDT
                "2026-11-02T06:30:00+00:00", // 01:30 EST
                "2026-11-01T06:10:00Z",      // 01:10 EST, in the second pass
            ),
        ] {
            let evening_before = (utc(first) - TimeDelta::hours(8)).to_rfc3339();
            let s = Schedule::parse(&format!("30 {hour} * * *"), tz).unwrap();
            assert_eq!(firings(&s, &evening_before, 2), [first, next_day], "{tz}");
            // Starting in the second pass: the time has fired already; the next is a day later
            // (croner alone returns the first pass, which is in the past by then).
            assert_eq!(
                s.next_after(utc(second_pass)).unwrap().to_rfc3339(),
                next_day,
                "{tz}"
            );
            assert_eq!(
                s.last_at_or_before(utc(second_pass)).unwrap(),
                Some(utc(first)),
                "{tz}"
            );
            // Twice a day: croner alone fires twice in the overlap; here once.
            let s = Schedule::parse(&format!("30 {hour},{} * * *", hour + 12), tz).unwrap();
            let got = firings(&s, &evening_before, 3);
            assert_eq!(got[0], first, "{tz}: {got:?}");
            assert_eq!(
                utc(&got[1]).with_timezone(&tz).format("%H:%M").to_string(),
                format!("{}:30", hour + 12),
                "{tz}: {got:?}"
            );
            assert_eq!(got[2], next_day, "{tz}: {got:?}");
            // Every 30 minutes through the overlap: each wall-clock time once, so the step
            // from the first pass's :30 to the next hour is 90 minutes.
            let s = Schedule::parse("*/30 * * * *", tz).unwrap();
            let start = (utc(first) - TimeDelta::minutes(31)).to_rfc3339();
            let got: Vec<DateTime<Utc>> = firings(&s, &start, 4).iter().map(|t| utc(t)).collect();
            let local: Vec<String> = got
                .iter()
                .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
                .collect();
            let hm = |h: u32, m: u32| format!("{h:02}:{m:02}");
            assert_eq!(
                local,
                [hm(hour, 0), hm(hour, 30), hm(hour + 1, 0), hm(hour + 1, 30)],
                "{tz}"
            );
            assert_eq!(got[2] - got[1], TimeDelta::minutes(90), "{tz}");
        }
    }

    #[test]
    fn edition_ids_carry_the_time_when_the_schedule_fires_more_than_once_a_day() {
        let s = Schedule::parse("0,1 7 * * *", chrono_tz::UTC).unwrap();
        assert!(s.fires_more_than_once_a_day());
        assert_eq!(
            s.edition_id(utc("2026-11-28T07:01:00Z")).as_str(),
            "2026-11-28T0701"
        );
        let s = Schedule::parse("0 7 * * *", berlin()).unwrap();
        assert_eq!(
            s.edition_id(utc("2026-11-28T23:30:00Z")).as_str(),
            "2026-11-29",
            "the local date, not the UTC one"
        );
        assert_eq!(
            s.describe(utc("2026-11-28T06:00:00Z")),
            "Sat 2026-11-28 07:00 CET (Europe/Berlin)"
        );
        let s = Schedule::parse("0 7 * * *", chrono_tz::UTC).unwrap();
        assert_eq!(
            s.describe(utc("2026-11-28T07:00:00Z")),
            "Sat 2026-11-28 07:00 UTC"
        );
    }

    #[test]
    fn last_firing_at_or_before_now() {
        let s = Schedule::parse("0 7 * * 1-5", chrono_tz::UTC).unwrap();
        assert_eq!(
            s.last_at_or_before(utc("2026-11-30T07:00:00Z")).unwrap(),
            Some(utc("2026-11-30T07:00:00Z"))
        );
        // Sunday afternoon: Friday's.
        assert_eq!(
            s.last_at_or_before(utc("2026-11-29T15:00:00Z")).unwrap(),
            Some(utc("2026-11-27T07:00:00Z"))
        );
        let s = Schedule::parse("30 2 * * *", berlin()).unwrap();
        assert_eq!(
            s.last_at_or_before(utc("2026-03-29T01:05:00Z")).unwrap(),
            Some(utc("2026-03-29T01:00:00Z")),
            "the gap's firing at 03:00 CEST"
        );
    }

    #[test]
    fn catch_up_inside_and_outside_the_window() {
        let at = utc("2026-11-28T07:00:00Z");
        let h = |n: u64| Duration::from_secs(n * 3600);
        let now = |m: i64| at + TimeDelta::minutes(m);
        use EditionProgress::*;
        // Missed and never started: only while younger than catch_up.
        assert!(due_on_start(at, now(0), NotStarted, h(6), h(12)));
        assert!(due_on_start(at, now(359), NotStarted, h(6), h(12)));
        assert!(due_on_start(at, now(360), NotStarted, h(6), h(12)));
        assert!(!due_on_start(at, now(361), NotStarted, h(6), h(12)));
        // Started and left incomplete: resumed until the retry deadline.
        assert!(due_on_start(at, now(600), Incomplete, h(6), h(12)));
        assert!(!due_on_start(at, now(721), Incomplete, h(6), h(12)));
        // Done: never again.
        assert!(!due_on_start(at, now(1), Complete, h(6), h(12)));
        // catch_up = 0 turns catch-up off (but not a run exactly on time).
        assert!(!due_on_start(at, now(1), NotStarted, h(0), h(12)));
        // Not yet.
        assert!(!due_on_start(at, now(-1), NotStarted, h(6), h(12)));
    }

    #[test]
    fn deferred_retries_grow_and_stop_at_the_deadline_or_the_next_edition() {
        let p = RetryPolicy::new(RetryPolicy::DEFAULT_BASE);
        let mins: Vec<u64> = (1..=6).map(|a| p.interval(a).as_secs() / 60).collect();
        assert_eq!(mins, [5, 10, 20, 40, 60, 60]);
        let t0 = utc("2026-11-28T07:00:00Z");
        let deadline = t0 + TimeDelta::hours(12);
        let next = t0 + TimeDelta::days(1);
        assert_eq!(
            p.next_retry(1, t0, deadline, next),
            Some(t0 + TimeDelta::minutes(5))
        );
        // Past the deadline: one last try at the deadline, then none.
        let late = deadline - TimeDelta::minutes(10);
        assert_eq!(p.next_retry(6, late, deadline, next), Some(deadline));
        assert_eq!(p.next_retry(7, deadline, deadline, next), None);
        // The next edition comes first: give up.
        let soon = t0 + TimeDelta::minutes(30);
        assert_eq!(p.next_retry(6, t0, deadline, soon), None);
    }

    #[test]
    fn shifted_clock_starts_where_told_and_runs_at_its_rate() {
        let c = ShiftedClock::from_env_values("2026-11-28T06:59:58Z", Some("60")).unwrap();
        let d = c.now() - utc("2026-11-28T06:59:58Z");
        assert!(d >= TimeDelta::zero() && d < TimeDelta::seconds(30), "{d}");
        assert_eq!(c.real_span(Duration::from_secs(60)), Duration::from_secs(1));
        assert!(ShiftedClock::from_env_values("tomorrow", None).is_err());
        assert!(ShiftedClock::from_env_values("2026-11-28T06:59:58Z", Some("0")).is_err());
    }
}
