//! Users' zones, mentors, weekly ranges and overrides.

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use sqlx::SqliteConnection;

use super::{StoreError, StoreResult, to_secs, user_param};
use crate::domain::{GuildId, Mentor, MentorSettings, RoleId, UserId};
use crate::scheduling::availability::Schedule;
use crate::scheduling::hours::LocalRange;

#[derive(sqlx::FromRow)]
struct MentorRow {
    timezone: String,
    session_minutes: i64,
    buffer_minutes: i64,
    min_notice_hours: i64,
    horizon_days: i64,
    max_per_day: i64,
    max_per_mentee: i64,
    change_notice_hours: i64,
    weekday: Option<i64>,
    date: Option<String>,
    start_minute: Option<i64>,
    end_minute: Option<i64>,
}

fn parse_tz(name: &str) -> StoreResult<Tz> {
    name.parse::<Tz>()
        .map_err(|_| StoreError::Corrupt(format!("timezone {name:?}")))
}

fn parse_date(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt(format!("date {text:?}")))
}

fn range(start: i64, end: i64) -> StoreResult<LocalRange> {
    u16::try_from(start)
        .ok()
        .zip(u16::try_from(end).ok())
        .and_then(|(s, e)| LocalRange::new(s, e))
        .ok_or_else(|| StoreError::Corrupt(format!("range {start}..{end}")))
}

fn small(value: i64, what: &str) -> StoreResult<u16> {
    u16::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

pub(super) async fn user_timezone(
    conn: &mut SqliteConnection,
    user: UserId,
) -> StoreResult<Option<Tz>> {
    Ok(user_profile(conn, user).await?.0)
}

pub(super) async fn set_user_timezone(
    conn: &mut SqliteConnection,
    user: UserId,
    tz: Tz,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (user_id, timezone) VALUES (?, ?)
         ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone",
    )
    .bind(user_param(user))
    .bind(tz.name())
    .execute(conn)
    .await?;
    Ok(())
}

/// `lead`: statements sent ahead in the same round trip (see `WriteTx::lead`), or `""`.
pub(super) async fn mentor(
    conn: &mut SqliteConnection,
    lead: &str,
    user: UserId,
    since: NaiveDate,
) -> StoreResult<Option<Mentor>> {
    // One round trip: the mentor's settings joined to their weekly ranges (date NULL) and
    // overrides with their ranges (weekday NULL). A mentor without ranges comes as one row
    // with both NULL; an override without ranges (off) as one row with NULL minutes.
    let sql = format!("{lead}{MENTOR_ROWS}");
    let rows: Vec<MentorRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_param(user))
        .bind(since.format("%Y-%m-%d").to_string())
        .fetch_all(&mut *conn)
        .await?;
    mentor_from(user, rows)
}

/// A mentor's settings joined to their ranges and overrides (`?1` the mentor, `?2` the
/// first override date).
const MENTOR_ROWS: &str =
    "SELECT m.timezone, m.session_minutes, m.buffer_minutes, m.min_notice_hours,
                m.horizon_days, m.max_per_day, m.max_per_mentee, m.change_notice_hours,
                r.weekday, r.date, r.start_minute, r.end_minute
         FROM mentors m LEFT JOIN (
             SELECT mentor_id, weekday, NULL AS date, start_minute, end_minute
             FROM weekly_ranges WHERE mentor_id = ?1
             UNION ALL
             SELECT o.mentor_id, NULL, o.date, r.start_minute, r.end_minute
             FROM overrides o
             LEFT JOIN override_ranges r ON r.mentor_id = o.mentor_id AND r.date = o.date
             WHERE o.mentor_id = ?1 AND o.date >= ?2
         ) r ON r.mentor_id = m.user_id
         WHERE m.user_id = ?1
         ORDER BY r.date, r.weekday, r.start_minute";

/// A mentor from the rows of [`MENTOR_ROWS`].
fn mentor_from(user: UserId, rows: Vec<MentorRow>) -> StoreResult<Option<Mentor>> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut schedule = Schedule::new(parse_tz(&first.timezone)?);
    let settings = MentorSettings {
        session_minutes: small(first.session_minutes, "session_minutes")?,
        buffer_minutes: small(first.buffer_minutes, "buffer_minutes")?,
        min_notice_hours: small(first.min_notice_hours, "min_notice_hours")?,
        horizon_days: small(first.horizon_days, "horizon_days")?,
        max_per_day: small(first.max_per_day, "max_per_day")?,
        max_per_mentee: small(first.max_per_mentee, "max_per_mentee")?,
        change_notice_hours: small(first.change_notice_hours, "change_notice_hours")?,
    };
    let mut current: Option<(NaiveDate, Vec<LocalRange>)> = None;
    for r in rows {
        let minutes = r.start_minute.zip(r.end_minute);
        match (r.weekday, r.date) {
            (None, None) => {}
            (Some(weekday), None) => {
                let day = u8::try_from(weekday)
                    .ok()
                    .and_then(|d| Weekday::try_from(d).ok())
                    .ok_or_else(|| StoreError::Corrupt(format!("weekday {weekday}")))?;
                let (start, end) =
                    minutes.ok_or_else(|| StoreError::Corrupt("weekly range".into()))?;
                schedule.add_weekly(day, range(start, end)?);
            }
            (None, Some(date)) => {
                let date = parse_date(&date)?;
                if let Some((d, ranges)) = current.take_if(|(d, _)| *d != date) {
                    schedule.set_override(d, &ranges);
                }
                let entry = current.get_or_insert_with(|| (date, Vec::new()));
                if let Some((start, end)) = minutes {
                    entry.1.push(range(start, end)?);
                }
            }
            (Some(_), Some(_)) => return Err(StoreError::Corrupt("schedule row".into())),
        }
    }
    if let Some((d, ranges)) = current {
        schedule.set_override(d, &ranges);
    }
    Ok(Some(Mentor {
        user,
        schedule,
        settings,
    }))
}

pub(super) async fn override_notes(
    conn: &mut SqliteConnection,
    user: UserId,
    since: NaiveDate,
) -> StoreResult<Vec<(NaiveDate, String)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT date, note FROM overrides
         WHERE mentor_id = ? AND date >= ? AND note IS NOT NULL ORDER BY date",
    )
    .bind(user_param(user))
    .bind(since.format("%Y-%m-%d").to_string())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(date, note)| Ok((parse_date(&date)?, note)))
        .collect()
}

pub(super) async fn save_mentor(
    conn: &mut SqliteConnection,
    mentor: &Mentor,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let s = &mentor.settings;
    let id = user_param(mentor.user);
    sqlx::query(
        "INSERT INTO mentors (user_id, timezone, session_minutes, buffer_minutes, min_notice_hours,
                              horizon_days, max_per_day, max_per_mentee, change_notice_hours,
                              created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET
            timezone = excluded.timezone, session_minutes = excluded.session_minutes,
            buffer_minutes = excluded.buffer_minutes, min_notice_hours = excluded.min_notice_hours,
            horizon_days = excluded.horizon_days, max_per_day = excluded.max_per_day,
            max_per_mentee = excluded.max_per_mentee,
            change_notice_hours = excluded.change_notice_hours, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(mentor.schedule.tz().name())
    .bind(i64::from(s.session_minutes))
    .bind(i64::from(s.buffer_minutes))
    .bind(i64::from(s.min_notice_hours))
    .bind(i64::from(s.horizon_days))
    .bind(i64::from(s.max_per_day))
    .bind(i64::from(s.max_per_mentee))
    .bind(i64::from(s.change_notice_hours))
    .bind(to_secs(now))
    .bind(to_secs(now))
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM weekly_ranges WHERE mentor_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for day in crate::scheduling::hours::Days::EVERYDAY.iter() {
        for r in mentor.schedule.weekly(day) {
            sqlx::query(
                "INSERT INTO weekly_ranges (mentor_id, weekday, start_minute, end_minute)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(i64::from(day.num_days_from_monday()))
            .bind(i64::from(r.start()))
            .bind(i64::from(r.end()))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn put_override(
    conn: &mut SqliteConnection,
    mentor: UserId,
    date: NaiveDate,
    ranges: &[LocalRange],
    note: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let date_text = date.format("%Y-%m-%d").to_string();
    delete_override(conn, mentor, date).await?;
    sqlx::query("INSERT INTO overrides (mentor_id, date, note, created_at) VALUES (?, ?, ?, ?)")
        .bind(user_param(mentor))
        .bind(&date_text)
        .bind(note)
        .bind(to_secs(now))
        .execute(&mut *conn)
        .await?;
    for r in ranges {
        sqlx::query(
            "INSERT INTO override_ranges (mentor_id, date, start_minute, end_minute) VALUES (?, ?, ?, ?)",
        )
        .bind(user_param(mentor))
        .bind(&date_text)
        .bind(i64::from(r.start()))
        .bind(i64::from(r.end()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn delete_override(
    conn: &mut SqliteConnection,
    mentor: UserId,
    date: NaiveDate,
) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM overrides WHERE mentor_id = ? AND date = ?")
        .bind(user_param(mentor))
        .bind(date.format("%Y-%m-%d").to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// `lead`: statements sent ahead in the same round trip (see `WriteTx::lead`), or `""`.
pub(super) async fn remember_name(
    conn: &mut SqliteConnection,
    lead: &str,
    user: UserId,
    name: &str,
) -> StoreResult<()> {
    let sql = format!(
        "{lead}INSERT INTO users (user_id, name) VALUES (?, ?)
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name WHERE name IS NOT excluded.name"
    );
    // Its row count is not read (a lead would skew it).
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_param(user))
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn user_profile(
    conn: &mut SqliteConnection,
    user: UserId,
) -> StoreResult<(Option<Tz>, Option<String>)> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT timezone, name FROM users WHERE user_id = ?")
            .bind(user_param(user))
            .fetch_optional(conn)
            .await?;
    let (zone, name) = row.unwrap_or_default();
    Ok((zone.map(|z| parse_tz(&z)).transpose()?, name))
}

pub(super) async fn list_in_guild(
    conn: &mut SqliteConnection,
    guild: GuildId,
    mentor: UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO mentor_guilds (guild_id, mentor_id, listed_at)
         SELECT ?1, user_id, ?3 FROM mentors WHERE user_id = ?2
         ON CONFLICT DO UPDATE SET listed_at = excluded.listed_at",
    )
    .bind(guild.0 as i64)
    .bind(user_param(mentor))
    .bind(to_secs(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn guild_mentors(
    conn: &mut SqliteConnection,
    guild: GuildId,
) -> StoreResult<Vec<(UserId, Option<String>)>> {
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT g.mentor_id, u.name FROM mentor_guilds g LEFT JOIN users u ON u.user_id = g.mentor_id
         WHERE g.guild_id = ? ORDER BY lower(coalesce(u.name, '')), g.mentor_id",
    )
    .bind(guild.0 as i64)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (super::user_from(id), name))
        .collect())
}

pub(super) async fn set_mentor_role(
    conn: &mut SqliteConnection,
    guild: GuildId,
    role: Option<RoleId>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO guild_settings (guild_id, mentor_role_id) VALUES (?, ?)
         ON CONFLICT (guild_id) DO UPDATE SET mentor_role_id = excluded.mentor_role_id",
    )
    .bind(guild.0 as i64)
    .bind(role.map(|r| r.0 as i64))
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn mentor_role(
    conn: &mut SqliteConnection,
    guild: GuildId,
) -> StoreResult<Option<RoleId>> {
    let role: Option<Option<i64>> =
        sqlx::query_scalar("SELECT mentor_role_id FROM guild_settings WHERE guild_id = ?")
            .bind(guild.0 as i64)
            .fetch_optional(conn)
            .await?;
    Ok(role.flatten().map(|r| RoleId(r as u64)))
}

/// A mentor's `change_notice_hours` alone (the cancel path needs nothing else of them); 0
/// when they are not a mentor.
pub(super) async fn change_notice(
    conn: &mut SqliteConnection,
    mentor: UserId,
) -> StoreResult<chrono::Duration> {
    let hours: Option<i64> =
        sqlx::query_scalar("SELECT change_notice_hours FROM mentors WHERE user_id = ?")
            .bind(user_param(mentor))
            .fetch_optional(conn)
            .await?;
    Ok(chrono::Duration::hours(hours.unwrap_or(0)))
}
