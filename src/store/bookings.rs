//! Bookings, their history, and the busy-time queries the checks need.

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::SqliteConnection;

use super::jobs::{self, NewJob};
use super::{StoreError, StoreResult, from_secs, to_secs, user_from, user_param};
use crate::domain::{
    Booking, BookingId, CalendarStatus, Cancellation, GuildId, PastTime, RoleFilter, UserId,
};
use crate::scheduling::booking::BookingStatus;
use crate::scheduling::interval::Interval;

/// A booking about to be inserted.
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// Its id.
    pub id: BookingId,
    /// Who offers the session.
    pub mentor: UserId,
    /// Who books it.
    pub mentee: UserId,
    /// The mentor's display name now.
    pub mentor_name: String,
    /// The mentee's display name now.
    pub mentee_name: String,
    /// When the session runs.
    pub interval: Interval,
    /// The initial calendar sync state.
    pub calendar_status: CalendarStatus,
    /// When it was booked.
    pub now: DateTime<Utc>,
    /// The server it is booked in, if any.
    pub guild: Option<GuildId>,
}

impl NewBooking {
    /// The booking as it reads back right after the insert.
    pub fn into_booking(self) -> Booking {
        Booking {
            id: self.id,
            mentor: self.mentor,
            mentee: self.mentee,
            mentor_name: self.mentor_name,
            mentee_name: self.mentee_name,
            interval: self.interval,
            status: BookingStatus::Active,
            created_at: self.now.trunc_subsecs(0),
            cancellation: None,
            calendar_status: self.calendar_status,
            calendar_event_id: None,
            meet_link: None,
            calendar_error: None,
            guild: self.guild,
        }
    }
}

/// Which of a user's bookings to list.
#[derive(Debug, Clone)]
pub struct BookingQuery {
    /// Whose.
    pub user: UserId,
    /// In which role.
    pub role: RoleFilter,
    /// `false`: sessions not yet ended, soonest first. `true`: ended ones, latest first.
    pub past: bool,
    /// Also list cancelled bookings.
    pub include_cancelled: bool,
    /// The current instant.
    pub now: DateTime<Utc>,
    /// At most this many.
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: String,
    mentor_id: i64,
    mentee_id: i64,
    mentor_name: String,
    mentee_name: String,
    start_at: i64,
    end_at: i64,
    status: String,
    created_at: i64,
    cancelled_at: Option<i64>,
    cancelled_by: Option<i64>,
    cancel_reason: Option<String>,
    calendar_status: String,
    calendar_event_id: Option<String>,
    meet_link: Option<String>,
    calendar_error: Option<String>,
    guild_id: Option<i64>,
}

const COLUMNS: &str =
    "id, mentor_id, mentee_id, mentor_name, mentee_name, start_at, end_at, status,
    created_at, cancelled_at, cancelled_by, cancel_reason, calendar_status, calendar_event_id,
    meet_link, calendar_error, guild_id";

impl BookingRow {
    fn into_booking(self) -> StoreResult<Booking> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("booking {}: {what}", self.id));
        let id = BookingId::parse(&self.id).ok_or_else(|| corrupt("id"))?;
        let interval = Interval::new(from_secs(self.start_at)?, from_secs(self.end_at)?)
            .ok_or_else(|| corrupt("interval"))?;
        let status = match self.status.as_str() {
            "active" => BookingStatus::Active,
            "cancelled" => BookingStatus::Cancelled,
            _ => return Err(corrupt("status")),
        };
        let cancellation = match (self.cancelled_at, self.cancelled_by) {
            (Some(at), Some(by)) => Some(Cancellation {
                by: user_from(by),
                at: from_secs(at)?,
                reason: self.cancel_reason,
            }),
            _ => None,
        };
        let calendar_status = CalendarStatus::from_name(&self.calendar_status)
            .ok_or_else(|| corrupt("calendar status"))?;
        Ok(Booking {
            id,
            mentor: user_from(self.mentor_id),
            mentee: user_from(self.mentee_id),
            mentor_name: self.mentor_name,
            mentee_name: self.mentee_name,
            interval,
            status,
            created_at: from_secs(self.created_at)?,
            cancellation,
            calendar_status,
            calendar_event_id: self.calendar_event_id,
            meet_link: self.meet_link,
            calendar_error: self.calendar_error,
            guild: self.guild_id.map(|g| GuildId(g as u64)),
        })
    }
}

/// Maps the overlap trigger and the primary key to typed errors.
fn classify(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        if db.message().contains("mentorbot_booking_overlap") {
            return StoreError::Overlap;
        }
        if db.is_unique_violation() {
            return StoreError::DuplicateId;
        }
    }
    StoreError::Database(error)
}

/// Inserts a booking and then `with` (its DMs), in one round trip: a refused booking stops
/// there, so its jobs are never written.
pub(super) async fn insert(
    conn: &mut SqliteConnection,
    b: &NewBooking,
    with: &[NewJob],
) -> StoreResult<()> {
    let mut sql = "INSERT INTO bookings (id, mentor_id, mentee_id, mentor_name, mentee_name,
                                         start_at, end_at, status, created_at, updated_at,
                                         calendar_status, guild_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)"
        .to_owned();
    if !with.is_empty() {
        sql.push_str(";\n");
        sql.push_str(&jobs::insert_statement(with.len()));
    }
    let query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(b.id.as_str())
        .bind(user_param(b.mentor))
        .bind(user_param(b.mentee))
        .bind(&b.mentor_name)
        .bind(&b.mentee_name)
        .bind(to_secs(b.interval.start()))
        .bind(to_secs(b.interval.end()))
        .bind(to_secs(b.now))
        .bind(to_secs(b.now))
        .bind(b.calendar_status.as_str())
        .bind(b.guild.map(|g| g.0 as i64));
    jobs::bind(query, with)
        .execute(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// `lead`: statements sent ahead in the same round trip (see `WriteTx::lead`), or `""`.
pub(super) async fn booking(
    conn: &mut SqliteConnection,
    lead: &str,
    id: &BookingId,
) -> StoreResult<Option<Booking>> {
    let sql = format!("{lead}SELECT {COLUMNS} FROM bookings WHERE id = ?");
    let row: Option<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(BookingRow::into_booking).transpose()
}

pub(super) async fn list(
    conn: &mut SqliteConnection,
    q: &BookingQuery,
) -> StoreResult<Vec<Booking>> {
    let role = match q.role {
        RoleFilter::Both => "(mentor_id = ?1 OR mentee_id = ?1)",
        RoleFilter::Mentor => "mentor_id = ?1",
        RoleFilter::Mentee => "mentee_id = ?1",
    };
    let (when, order) = if q.past && q.include_cancelled {
        // Past sessions: ended ones, and cancelled ones whatever their time (a cancelled
        // upcoming session is over too, and listed nowhere else).
        ("(end_at <= ?2 OR status = 'cancelled')", "start_at DESC")
    } else if q.past {
        ("end_at <= ?2", "start_at DESC")
    } else {
        ("end_at > ?2", "start_at ASC")
    };
    let status = if q.include_cancelled {
        ""
    } else {
        "AND status = 'active'"
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM bookings WHERE {role} AND {when} {status} ORDER BY {order}, id LIMIT ?3"
    );
    let rows: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_param(q.user))
        .bind(to_secs(q.now))
        .bind(i64::from(q.limit))
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(BookingRow::into_booking).collect()
}

pub(super) async fn history(
    conn: &mut SqliteConnection,
    id: &BookingId,
) -> StoreResult<Vec<PastTime>> {
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT start_at, end_at, moved_at, moved_by FROM booking_history WHERE booking_id = ? ORDER BY seq",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(start, end, at, by)| {
            Ok(PastTime {
                interval: Interval::new(from_secs(start)?, from_secs(end)?)
                    .ok_or_else(|| StoreError::Corrupt(format!("history of {id}")))?,
                moved_at: from_secs(at)?,
                moved_by: user_from(by),
            })
        })
        .collect()
}

/// A person's busy time around some span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusyTime {
    /// Active bookings as mentor or mentee overlapping the span, by start.
    pub intervals: Vec<Interval>,
    /// Starts of those where the person is the mentor (for `max_per_day`).
    pub mentor_starts: Vec<DateTime<Utc>>,
}

impl BusyTime {
    /// What a read over `span` (inside the span this was read over) would have returned.
    pub fn within(&self, span: Interval) -> BusyTime {
        let intervals: Vec<Interval> = self
            .intervals
            .iter()
            .filter(|i| i.overlaps(&span))
            .copied()
            .collect();
        // One person's active bookings never overlap, so a start names one booking.
        let mentor_starts = self
            .mentor_starts
            .iter()
            .filter(|s| intervals.binary_search_by_key(*s, |i| i.start()).is_ok())
            .copied()
            .collect();
        BusyTime {
            intervals,
            mentor_starts,
        }
    }

    /// Adds a booking of this person (`as_mentor`: theirs to give). False, changing nothing,
    /// when another booking starts at the same time (this copy disagrees with the database);
    /// true if it is there already.
    pub fn add(&mut self, interval: Interval, as_mentor: bool) -> bool {
        match self
            .intervals
            .binary_search_by_key(&interval.start(), Interval::start)
        {
            Ok(at) => return self.intervals[at] == interval,
            Err(at) => self.intervals.insert(at, interval),
        }
        if as_mentor && let Err(at) = self.mentor_starts.binary_search(&interval.start()) {
            self.mentor_starts.insert(at, interval.start());
        }
        true
    }

    /// Removes a booking of this person, if it is there. False, changing nothing, when
    /// another booking starts at the same time (this copy disagrees with the database).
    pub fn remove(&mut self, interval: Interval) -> bool {
        let Ok(at) = self
            .intervals
            .binary_search_by_key(&interval.start(), Interval::start)
        else {
            return true;
        };
        if self.intervals[at] != interval {
            return false;
        }
        self.intervals.remove(at);
        if let Ok(at) = self.mentor_starts.binary_search(&interval.start()) {
            self.mentor_starts.remove(at);
        }
        true
    }
}

/// What a booking check reads about its two people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairBusy {
    /// The mentor's active bookings in either role overlapping the checked span.
    pub mentor_busy: Vec<Interval>,
    /// The mentee's active bookings in either role overlapping the checked span.
    pub mentee_busy: Vec<Interval>,
    /// Starts of the mentor's active bookings as mentor on the checked local day.
    pub mentor_day_starts: Vec<DateTime<Utc>>,
    /// Active bookings of the mentee with the mentor that have not ended.
    pub upcoming_between: u32,
    /// Active bookings of the mentee as mentee, with any mentor, that have not ended.
    pub mentee_upcoming: u32,
}

/// Rows `(who, start, end, as_mentor)`: the active bookings of user `?1` (who 0) and `?2`
/// (who 1) in either role overlapping `[?3, ?4)`, leaving out booking `?6`. Sessions last at
/// most a day, which bounds each index range scan.
const BUSY_ROWS: &str = "
    SELECT 0, start_at, end_at, 1 FROM bookings WHERE status = 'active' AND mentor_id = ?1
      AND start_at < ?4 AND start_at > ?3 - 86400 AND end_at > ?3 AND id IS NOT ?6
    UNION ALL
    SELECT 0, start_at, end_at, 0 FROM bookings WHERE status = 'active' AND mentee_id = ?1
      AND start_at < ?4 AND start_at > ?3 - 86400 AND end_at > ?3 AND id IS NOT ?6
    UNION ALL
    SELECT 1, start_at, end_at, 1 FROM bookings WHERE status = 'active' AND mentor_id = ?2
      AND start_at < ?4 AND start_at > ?3 - 86400 AND end_at > ?3 AND id IS NOT ?6
    UNION ALL
    SELECT 1, start_at, end_at, 0 FROM bookings WHERE status = 'active' AND mentee_id = ?2
      AND start_at < ?4 AND start_at > ?3 - 86400 AND end_at > ?3 AND id IS NOT ?6";

fn interval(start: i64, end: i64) -> StoreResult<Interval> {
    Interval::new(from_secs(start)?, from_secs(end)?)
        .ok_or_else(|| StoreError::Corrupt(format!("interval {start}..{end}")))
}

pub(super) async fn busy_time(
    conn: &mut SqliteConnection,
    user: UserId,
    span: Interval,
    except: Option<&BookingId>,
) -> StoreResult<BusyTime> {
    // Pickers run this on every click, and a popular mentor has hundreds of bookings in a
    // fortnight: one row of packed text (`start,end,as_mentor;...`) costs far less to hand
    // over than a row per booking.
    let packed: Option<String> = sqlx::query_scalar(
        "SELECT group_concat(start_at || ',' || end_at || ',' || as_mentor, ';') FROM (
             SELECT start_at, end_at, 1 AS as_mentor FROM bookings
             WHERE status = 'active' AND mentor_id = ?1
               AND start_at < ?3 AND start_at > ?2 - 86400 AND end_at > ?2 AND id IS NOT ?4
             UNION ALL
             SELECT start_at, end_at, 0 FROM bookings
             WHERE status = 'active' AND mentee_id = ?1
               AND start_at < ?3 AND start_at > ?2 - 86400 AND end_at > ?2 AND id IS NOT ?4)",
    )
    .bind(user_param(user))
    .bind(to_secs(span.start()))
    .bind(to_secs(span.end()))
    .bind(except.map(BookingId::as_str))
    .fetch_one(conn)
    .await?;
    let mut rows = Vec::new();
    for item in packed
        .as_deref()
        .unwrap_or("")
        .split(';')
        .filter(|i| !i.is_empty())
    {
        let mut fields = item.split(',').map(str::parse::<i64>);
        let (Some(Ok(start)), Some(Ok(end)), Some(Ok(as_mentor)), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(StoreError::Corrupt(format!("busy time row `{item}`")));
        };
        rows.push((start, end, as_mentor == 1));
    }
    rows.sort_unstable();
    let mut busy = BusyTime::default();
    for (start, end, as_mentor) in rows {
        let interval = interval(start, end)?;
        if as_mentor {
            busy.mentor_starts.push(interval.start());
        }
        busy.intervals.push(interval);
    }
    Ok(busy)
}

pub(super) async fn pair_busy(
    conn: &mut SqliteConnection,
    (mentor, mentee): (UserId, UserId),
    span: Interval,
    day: Option<Interval>,
    now: DateTime<Utc>,
    except: Option<&BookingId>,
) -> StoreResult<PairBusy> {
    // One round trip for everything a booking check reads about the two people: busy rows
    // (who 0 and 1), the upcoming counts (who 2: with this mentor; who 4: with anyone) and
    // the mentor's day (who 3, only when the mentor caps bookings per day: ?7 and ?8 are
    // then its bounds).
    let sql = format!(
        "{BUSY_ROWS}
         UNION ALL
         SELECT 2, count(*), 0, 0 FROM bookings WHERE status = 'active' AND mentor_id = ?1
           AND mentee_id = ?2 AND end_at > ?5 AND id IS NOT ?6
         UNION ALL
         SELECT 3, start_at, end_at, 1 FROM bookings WHERE status = 'active' AND mentor_id = ?1
           AND ?7 IS NOT NULL AND start_at >= ?7 AND start_at < ?8 AND id IS NOT ?6
         UNION ALL
         SELECT 4, count(*), 0, 0 FROM bookings WHERE status = 'active' AND mentee_id = ?2
           AND end_at > ?5 AND id IS NOT ?6
         ORDER BY 1, 2"
    );
    let rows: Vec<(i64, i64, i64, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_param(mentor))
        .bind(user_param(mentee))
        .bind(to_secs(span.start()))
        .bind(to_secs(span.end()))
        .bind(to_secs(now))
        .bind(except.map(BookingId::as_str))
        .bind(day.map(|d| to_secs(d.start())))
        .bind(day.map(|d| to_secs(d.end())))
        .fetch_all(conn)
        .await?;
    let mut pair = PairBusy::default();
    for (who, start, end, _) in rows {
        match who {
            0 => pair.mentor_busy.push(interval(start, end)?),
            1 => pair.mentee_busy.push(interval(start, end)?),
            2 => pair.upcoming_between = count(start)?,
            3 => pair.mentor_day_starts.push(from_secs(start)?),
            _ => pair.mentee_upcoming = count(start)?,
        }
    }
    Ok(pair)
}

fn count(n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("count {n}")))
}

pub(super) async fn cancel(
    conn: &mut SqliteConnection,
    id: &BookingId,
    by: UserId,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = ?, cancelled_by = ?, cancel_reason = ?,
                updated_at = ?
         WHERE id = ? AND status = 'active'",
    )
    .bind(to_secs(now))
    .bind(user_param(by))
    .bind(reason)
    .bind(to_secs(now))
    .bind(id.as_str())
    .execute(conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Corrupt(format!("booking {id} was not active")));
    }
    Ok(())
}

pub(super) async fn move_to(
    conn: &mut SqliteConnection,
    id: &BookingId,
    to: Interval,
    by: UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO booking_history (booking_id, seq, start_at, end_at, moved_at, moved_by)
         SELECT id, (SELECT count(*) FROM booking_history WHERE booking_id = ?1), start_at, end_at, ?2, ?3
         FROM bookings WHERE id = ?1 AND status = 'active'",
    )
    .bind(id.as_str())
    .bind(to_secs(now))
    .bind(user_param(by))
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "UPDATE bookings SET start_at = ?, end_at = ?, updated_at = ? WHERE id = ? AND status = 'active'",
    )
    .bind(to_secs(to.start()))
    .bind(to_secs(to.end()))
    .bind(to_secs(now))
    .bind(id.as_str())
    .execute(conn)
    .await
    .map_err(classify)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Corrupt(format!("booking {id} was not active")));
    }
    Ok(())
}
