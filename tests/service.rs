//! The use cases end to end over a real SQLite file: availability, overrides, settings,
//! booking, cancelling, rescheduling, and the typed errors users see.

mod common;

use chrono::{Duration, NaiveDate};
use common::{MENTEE, MENTOR, OTHER, request, service, utc};
use mentorbot::domain::{CalendarStatus, Notice, RoleFilter, UserId};
use mentorbot::scheduling::booking::{BookingStatus, Rejection};
use mentorbot::scheduling::parse::ParseError;
use mentorbot::service::{Service, ServiceError, SettingsPatch};

/// Monday 2026-11-23 08:00 UTC.
const NOW: &str = "2026-11-23T08:00:00Z";

async fn berlin_mentor(service: &Service) {
    service
        .set_availability(
            MENTOR,
            "mon-fri",
            "09:00-12:00",
            Some("Europe/Berlin"),
            utc(NOW),
        )
        .await
        .unwrap();
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[tokio::test]
async fn a_first_schedule_makes_a_mentor_with_default_settings() {
    let (service, _dir) = service().await;
    let change = service
        .set_availability(
            MENTOR,
            "mon-fri",
            "9-12, 11:00-13:00",
            Some("europe/berlin"),
            utc(NOW),
        )
        .await
        .unwrap();
    assert!(change.became_mentor);
    assert!(change.merged, "9-12 and 11-13 overlap");
    assert_eq!(change.mentor.schedule.tz(), chrono_tz::Europe::Berlin);
    let view = service.availability(MENTOR, utc(NOW)).await.unwrap();
    assert_eq!(view.mentor.settings.session_minutes, 30);
    assert_eq!(view.mentor.settings.min_notice_hours, 2);
    assert_eq!(view.mentor.settings.horizon_days, 30);
    let monday = view.mentor.schedule.weekly(chrono::Weekday::Mon);
    assert_eq!(monday.len(), 1);
    assert_eq!(monday[0].to_string(), "09:00-13:00");
    assert!(view.mentor.schedule.weekly(chrono::Weekday::Sat).is_empty());
}

#[tokio::test]
async fn a_first_schedule_without_any_timezone_asks_for_one_and_changes_nothing() {
    let (service, _dir) = service().await;
    let err = service
        .set_availability(MENTOR, "mon", "09:00-10:00", None, utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NeedTimezone));
    assert!(err.to_string().contains("timezone:Europe/Berlin"));
    assert!(matches!(
        service.availability(MENTOR, utc(NOW)).await,
        Err(ServiceError::NotAMentor)
    ));
}

#[tokio::test]
async fn the_users_own_timezone_is_used_for_a_first_schedule() {
    let (service, _dir) = service().await;
    service
        .set_timezone(MENTOR, "Asia/Kathmandu")
        .await
        .unwrap();
    let change = service
        .set_availability(MENTOR, "mon", "09:00-10:00", None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(change.mentor.schedule.tz(), chrono_tz::Asia::Kathmandu);
    assert_eq!(
        service.timezone(MENTOR).await.unwrap(),
        Some(chrono_tz::Asia::Kathmandu)
    );
}

#[tokio::test]
async fn a_new_zone_moves_the_schedule_keeping_wall_times_and_bookings_stay() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let booking = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let change = service
        .set_availability(
            MENTOR,
            "sat",
            "10:00-11:00",
            Some("America/New_York"),
            utc(NOW),
        )
        .await
        .unwrap();
    assert_eq!(change.moved_from, Some(chrono_tz::Europe::Berlin));
    assert_eq!(change.upcoming.len(), 1);
    assert_eq!(change.upcoming[0].interval, booking.interval);
    let monday = change.mentor.schedule.weekly(chrono::Weekday::Mon);
    assert_eq!(monday[0].to_string(), "09:00-12:00");
    let slots = service
        .day_slots(MENTOR, MENTOR, Some(date(2026, 11, 30)), None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(slots.tz, chrono_tz::America::New_York);
    assert_eq!(slots.slots[0].start(), utc("2026-11-30T14:00:00Z"));
}

#[tokio::test]
async fn a_range_shorter_than_one_session_is_refused_with_the_range_named() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let err = service
        .set_availability(MENTOR, "tue", "09:00-09:20", None, utc(NOW))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`09:00-09:20`"), "{err}");
    assert!(err.to_string().contains("30 minutes"), "{err}");
}

#[tokio::test]
async fn parse_errors_reach_the_user_unchanged() {
    let (service, _dir) = service().await;
    let err = service
        .set_availability(MENTOR, "mon-", "09:00-10:00", Some("UTC"), utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ServiceError::Parse(ParseError::IncompleteDaySpan { .. })
    ));
    assert!(err.is_user_error());
    let err = service
        .set_timezone(MENTOR, "Mars/Olympus")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Mars/Olympus"));
}

#[tokio::test]
async fn settings_change_only_what_is_given_and_reject_out_of_range_values() {
    let (service, _dir) = service().await;
    assert!(matches!(
        service
            .update_settings(MENTOR, SettingsPatch::default(), utc(NOW))
            .await,
        Err(ServiceError::NotAMentorYet)
    ));
    berlin_mentor(&service).await;
    let s = service
        .update_settings(
            MENTOR,
            SettingsPatch {
                session_minutes: Some(45),
                max_per_day: Some(3),
                ..SettingsPatch::default()
            },
            utc(NOW),
        )
        .await
        .unwrap();
    assert_eq!(
        (s.session_minutes, s.buffer_minutes, s.max_per_day),
        (45, 0, 3)
    );
    let err = service
        .update_settings(
            MENTOR,
            SettingsPatch {
                buffer_minutes: Some(121),
                ..SettingsPatch::default()
            },
            utc(NOW),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`buffer_minutes` must be between 0 and 120, not 121."
    );
    let after = service.availability(MENTOR, utc(NOW)).await.unwrap();
    assert_eq!(after.mentor.settings.buffer_minutes, 0);
}

#[tokio::test]
async fn overrides_replace_a_day_list_upcoming_ones_and_can_be_removed() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let booked = service
        .book(&request(MENTOR, MENTEE, "2026-11-25T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let added = service
        .add_override(MENTOR, "2026-11-25", None, Some("conference"), utc(NOW))
        .await
        .unwrap();
    assert!(added.added.ranges.is_empty(), "default hours are off");
    assert_eq!(
        added.bookings.len(),
        1,
        "the reply lists bookings on that date"
    );
    assert_eq!(added.bookings[0].id, booked.id);
    service
        .add_override(MENTOR, "2026-11-29", Some("09:15-09:45"), None, utc(NOW))
        .await
        .unwrap();
    let list = service.overrides(MENTOR, None, utc(NOW)).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].note.as_deref(), Some("conference"));
    // Sunday 09:15 Berlin = 08:15 UTC, on an override of a day without weekly hours.
    let sunday = service
        .day_slots(MENTOR, MENTEE, Some(date(2026, 11, 29)), None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(sunday.slots.len(), 1);
    assert_eq!(sunday.slots[0].start(), utc("2026-11-29T08:15:00Z"));
    let wednesday = service
        .day_slots(MENTOR, MENTEE, Some(date(2026, 11, 25)), None, utc(NOW))
        .await
        .unwrap();
    assert!(wednesday.slots.is_empty());

    assert_eq!(
        service
            .remove_override(MENTOR, "2026-11-25", utc(NOW))
            .await
            .unwrap(),
        date(2026, 11, 25)
    );
    let err = service
        .remove_override(MENTOR, "2026-11-25", utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NoOverride(_)));
    assert_eq!(
        service
            .overrides(MENTOR, None, utc(NOW))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn override_dates_in_the_past_or_beyond_a_year_are_refused() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let err = service
        .add_override(MENTOR, "2026-11-22", None, None, utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::DateInPast { .. }));
    assert!(err.to_string().contains("2026-11-22"));
    let err = service
        .add_override(MENTOR, "2027-11-24", None, None, utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::DateTooFar { .. }));
    assert!(err.to_string().contains("2027-11-23"), "{err}");
    let err = service
        .add_override(MENTOR, "2026-02-30", None, None, utc(NOW))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("2026-02-30"));
    assert!(
        service
            .overrides(MENTOR, None, utc(NOW))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn booking_a_slot_queues_both_dms_and_removes_the_slot() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let before = service
        .day_slots(MENTOR, MENTEE, Some(date(2026, 11, 24)), None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(before.slots.len(), 6);
    let booking = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:30:00Z"), utc(NOW))
        .await
        .unwrap();
    assert_eq!(booking.status, BookingStatus::Active);
    assert_eq!(booking.calendar_status, CalendarStatus::NotConnected);
    assert_eq!(booking.interval.duration(), Duration::minutes(30));
    assert_eq!(booking.id.as_str().len(), 6);

    let after = service
        .day_slots(MENTOR, MENTEE, Some(date(2026, 11, 24)), None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(after.slots.len(), 5);
    assert!(!after.slots.contains(&booking.interval));

    let jobs = service.store().jobs_for_booking(&booking.id).await.unwrap();
    // The reminders planned with it are the subject of the e2e reminder tests.
    let notices: Vec<Notice> = jobs
        .iter()
        .map(|j| serde_json::from_value(j.payload.clone()).unwrap())
        .filter(|n| !matches!(n, Notice::Reminder { .. }))
        .collect();
    assert_eq!(
        notices,
        vec![
            Notice::Booked {
                booking: booking.id.to_string(),
                recipient: MENTOR.0
            },
            Notice::Confirmed {
                booking: booking.id.to_string(),
                recipient: MENTEE.0
            },
        ]
    );
    for who in [MENTOR, MENTEE] {
        let list = service
            .bookings(who, RoleFilter::Both, false, utc(NOW), 25)
            .await
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, booking.id);
    }
    assert!(
        service
            .bookings(MENTOR, RoleFilter::Mentee, false, utc(NOW), 25)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn booking_refusals_are_typed_and_change_nothing() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let cases = [
        (MENTOR, "2026-11-24T08:00:00Z", Rejection::SelfBooking),
        (
            MENTEE,
            "2026-11-23T09:00:00Z",
            Rejection::TooSoon {
                notice: Duration::hours(2),
            },
        ),
        (MENTEE, "2026-11-24T08:07:00Z", Rejection::NotOffered),
        (MENTEE, "2026-11-28T09:00:00Z", Rejection::NotOffered),
        (
            MENTEE,
            "2027-01-04T08:00:00Z",
            Rejection::TooFar {
                horizon: Duration::days(30),
            },
        ),
    ];
    for (mentee, start, expected) in cases {
        let err = service
            .book(&request(MENTOR, mentee, start), utc(NOW))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ServiceError::Rejected(r) if *r == expected),
            "{start}: {err:?}"
        );
    }
    assert!(matches!(
        service
            .book(&request(OTHER, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
            .await,
        Err(ServiceError::NotAMentor)
    ));
    assert!(
        service
            .bookings(MENTEE, RoleFilter::Both, false, utc(NOW), 25)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_overlapping_booking_of_either_person_is_refused() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    service
        .set_availability(OTHER, "mon-fri", "09:00-12:00", Some("UTC"), utc(NOW))
        .await
        .unwrap();
    service
        .book(&request(MENTOR, MENTEE, "2026-11-24T09:00:00Z"), utc(NOW))
        .await
        .unwrap();
    // The same slot for someone else: taken.
    let err = service
        .book(
            &request(MENTOR, UserId(7), "2026-11-24T09:00:00Z"),
            utc(NOW),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Rejected(Rejection::SlotTaken)));
    // The mentee, elsewhere, at an overlapping time: busy.
    let err = service
        .book(&request(OTHER, MENTEE, "2026-11-24T09:00:00Z"), utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Rejected(Rejection::MenteeBusy)));
    // The mentor, as a mentee of OTHER at that time: their own busy time blocks it.
    let err = service
        .book(&request(OTHER, MENTOR, "2026-11-24T09:00:00Z"), utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Rejected(Rejection::MenteeBusy)));
    // A mentor busy as a mentee elsewhere is not offered at that time either.
    service
        .book(&request(OTHER, MENTOR, "2026-11-24T10:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let slots = service
        .day_slots(MENTOR, MENTEE, Some(date(2026, 11, 24)), None, utc(NOW))
        .await
        .unwrap();
    assert!(
        slots
            .slots
            .iter()
            .all(|s| s.start() != utc("2026-11-24T10:00:00Z"))
    );
}

#[tokio::test]
async fn the_mentee_cap_counts_upcoming_bookings_with_that_mentor() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    service
        .update_settings(
            MENTOR,
            SettingsPatch {
                max_per_mentee: Some(1),
                ..SettingsPatch::default()
            },
            utc(NOW),
        )
        .await
        .unwrap();
    let first = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let err = service
        .book(&request(MENTOR, MENTEE, "2026-11-25T08:00:00Z"), utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ServiceError::Rejected(Rejection::MenteeLimit { limit: 1 })
    ));
    // A reschedule does not count itself.
    let moved = service
        .reschedule(
            MENTEE,
            first.id.as_str(),
            utc("2026-11-25T08:00:00Z"),
            utc(NOW),
        )
        .await
        .unwrap();
    assert_eq!(moved.id, first.id);
}

#[tokio::test]
async fn a_mentee_may_hold_only_so_many_upcoming_sessions_with_all_mentors_together() {
    let (service, _dir) = service().await;
    let service = service.with_max_upcoming(Some(3));
    berlin_mentor(&service).await;
    service
        .set_availability(OTHER, "mon-fri", "09:00-12:00", Some("UTC"), utc(NOW))
        .await
        .unwrap();
    let first = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    for start in ["2026-11-24T10:00:00Z", "2026-11-25T10:00:00Z"] {
        service
            .book(&request(OTHER, MENTEE, start), utc(NOW))
            .await
            .unwrap();
    }
    let err = service
        .book(&request(MENTOR, MENTEE, "2026-11-25T08:00:00Z"), utc(NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Rejected(Rejection::MenteeTotalLimit { limit: 3 })
        ),
        "{err:?}"
    );
    // At the cap, moving one is still allowed (it does not count itself)...
    service
        .reschedule(
            MENTEE,
            first.id.as_str(),
            utc("2026-11-25T08:00:00Z"),
            utc(NOW),
        )
        .await
        .unwrap();
    // ...and a session that has ended no longer counts.
    let later = utc("2026-11-24T11:00:00Z");
    service
        .book(&request(MENTOR, MENTEE, "2026-11-26T08:00:00Z"), later)
        .await
        .unwrap();
}

#[tokio::test]
async fn cancelling_frees_the_slot_keeps_the_reason_and_tells_the_other_person() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let booking = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let id = booking.id.to_string();
    assert!(matches!(
        service.cancel(OTHER, &id, None, utc(NOW)).await,
        Err(ServiceError::Rejected(Rejection::NotFound))
    ));
    let cancelled = service
        .cancel(MENTOR, &id.to_lowercase(), Some("  sick today "), utc(NOW))
        .await
        .unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    let c = cancelled.cancellation.clone().unwrap();
    assert_eq!((c.by, c.reason.as_deref()), (MENTOR, Some("sick today")));
    let jobs = service.store().jobs_for_booking(&booking.id).await.unwrap();
    let last: Notice = serde_json::from_value(jobs.last().unwrap().payload.clone()).unwrap();
    assert_eq!(
        last,
        Notice::Cancelled {
            booking: id.clone(),
            recipient: MENTEE.0,
            actor: MENTOR.0
        }
    );
    assert!(matches!(
        service.cancel(MENTEE, &id, None, utc(NOW)).await,
        Err(ServiceError::Rejected(Rejection::AlreadyCancelled))
    ));
    // The very slot is free again at once.
    let again = service
        .book(&request(MENTOR, OTHER, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    assert_eq!(again.interval, booking.interval);
}

#[tokio::test]
async fn cancel_reports_bad_ids_and_long_reasons() {
    let (service, _dir) = service().await;
    let err = service
        .cancel(MENTEE, "nope!", None, utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::BadBookingId(_)));
    assert!(err.to_string().contains("`nope!`"));
    assert!(matches!(
        service.cancel(MENTEE, "K7Q2MD", None, utc(NOW)).await,
        Err(ServiceError::Rejected(Rejection::NotFound))
    ));
    let long = "x".repeat(501);
    let err = service
        .cancel(MENTEE, "K7Q2MD", Some(&long), utc(NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::TextTooLong { len: 501, .. }));
}

#[tokio::test]
async fn rescheduling_keeps_the_id_records_history_and_may_overlap_its_own_time() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    service
        .update_settings(
            MENTOR,
            SettingsPatch {
                session_minutes: Some(60),
                ..SettingsPatch::default()
            },
            utc(NOW),
        )
        .await
        .unwrap();
    let booking = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    // Move it to the mentor's new half-hour grid that overlaps its own old hour.
    service
        .update_settings(
            MENTOR,
            SettingsPatch {
                session_minutes: Some(30),
                ..SettingsPatch::default()
            },
            utc(NOW),
        )
        .await
        .unwrap();
    let moved = service
        .reschedule(
            MENTEE,
            booking.id.as_str(),
            utc("2026-11-24T08:30:00Z"),
            utc(NOW),
        )
        .await
        .unwrap();
    assert_eq!(moved.id, booking.id);
    assert_eq!(moved.interval.start(), utc("2026-11-24T08:30:00Z"));
    assert_eq!(
        moved.interval.duration(),
        Duration::minutes(30),
        "current session length"
    );
    // Moving it to the time it already has is refused and changes nothing.
    let same = service
        .reschedule(
            MENTEE,
            booking.id.as_str(),
            utc("2026-11-24T08:30:00Z"),
            utc(NOW),
        )
        .await
        .unwrap_err();
    assert!(same.to_string().contains("already at that time"), "{same}");
    let history = service.store().booking_history(&booking.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].interval, booking.interval);
    assert_eq!(history[0].moved_by, MENTEE);
    let jobs = service.store().jobs_for_booking(&booking.id).await.unwrap();
    let last: Notice = serde_json::from_value(jobs.last().unwrap().payload.clone()).unwrap();
    assert!(matches!(last, Notice::Rescheduled { recipient, .. } if recipient == MENTOR.0));
    // Not to a taken slot, and not by a stranger.
    service
        .book(&request(MENTOR, OTHER, "2026-11-24T10:00:00Z"), utc(NOW))
        .await
        .unwrap();
    assert!(matches!(
        service
            .reschedule(
                MENTEE,
                booking.id.as_str(),
                utc("2026-11-24T10:00:00Z"),
                utc(NOW)
            )
            .await,
        Err(ServiceError::Rejected(Rejection::SlotTaken))
    ));
    assert!(matches!(
        service
            .reschedule(
                OTHER,
                booking.id.as_str(),
                utc("2026-11-24T09:00:00Z"),
                utc(NOW)
            )
            .await,
        Err(ServiceError::Rejected(Rejection::NotFound))
    ));
    // Once started, it cannot move.
    assert!(matches!(
        service
            .reschedule(
                MENTOR,
                booking.id.as_str(),
                utc("2026-11-25T09:00:00Z"),
                utc("2026-11-24T08:31:00Z")
            )
            .await,
        Err(ServiceError::Rejected(Rejection::Started))
    ));
}

#[tokio::test]
async fn the_picker_for_a_reschedule_offers_the_bookings_own_time() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let booking = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let plain = service
        .day_slots(MENTOR, MENTEE, Some(date(2026, 11, 24)), None, utc(NOW))
        .await
        .unwrap();
    assert!(!plain.slots.contains(&booking.interval));
    let moving = service
        .day_slots(
            MENTOR,
            MENTEE,
            Some(date(2026, 11, 24)),
            Some(&booking.id),
            utc(NOW),
        )
        .await
        .unwrap();
    assert!(moving.slots.contains(&booking.interval));
}

#[tokio::test]
async fn the_picker_shows_the_viewers_day_and_the_days_around_it_with_slots() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    service
        .set_timezone(MENTEE, "America/Los_Angeles")
        .await
        .unwrap();
    let first = service
        .day_slots(MENTOR, MENTEE, None, None, utc(NOW))
        .await
        .unwrap();
    assert!(first.viewer_zone);
    assert_eq!(first.tz, chrono_tz::America::Los_Angeles);
    // Berlin 09:00-12:00 is 00:00-03:00 in Los Angeles. At 08:00Z the 2-hour notice leaves
    // Monday's 10:00Z and 10:30Z, i.e. 02:00 and 02:30 on Monday in Los Angeles.
    assert_eq!(first.date, date(2026, 11, 23));
    assert_eq!(first.slots.len(), 2);
    assert_eq!(first.slots[0].start(), utc("2026-11-23T10:00:00Z"));
    assert_eq!(first.previous, None);
    assert_eq!(first.next, Some(date(2026, 11, 24)));
    let friday = service
        .day_slots(MENTOR, MENTEE, Some(date(2026, 11, 27)), None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(
        friday.next,
        Some(date(2026, 11, 30)),
        "the weekend has no slots"
    );
    let days = service
        .slot_days(MENTOR, MENTEE, 100, utc(NOW))
        .await
        .unwrap();
    assert_eq!(days[0], (date(2026, 11, 23), 2));
    assert!(days.iter().skip(1).all(|(_, n)| *n == 6), "{days:?}");
    assert_eq!(
        days.len(),
        22,
        "weekdays from 11-23 to the horizon's end on 12-23"
    );
}

#[tokio::test]
async fn clearing_availability_keeps_bookings_and_lists_them() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let booking = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let upcoming = service.clear_availability(MENTOR, utc(NOW)).await.unwrap();
    assert_eq!(upcoming.len(), 1);
    assert_eq!(upcoming[0].id, booking.id);
    let view = service.availability(MENTOR, utc(NOW)).await.unwrap();
    assert!(view.mentor.schedule.has_no_weekly_hours());
    let day = service
        .day_slots(MENTOR, MENTEE, None, None, utc(NOW))
        .await
        .unwrap();
    assert!(day.slots.is_empty() && day.next.is_none() && day.previous.is_none());
    assert!(
        service
            .slot_days(MENTOR, MENTEE, 100, utc(NOW))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn only_the_two_people_can_see_a_booking() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let booking = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    assert!(service.booking(MENTEE, booking.id.as_str()).await.is_ok());
    assert!(matches!(
        service.booking(OTHER, booking.id.as_str()).await,
        Err(ServiceError::Rejected(Rejection::NotFound))
    ));
}

#[tokio::test]
async fn past_bookings_list_latest_first_with_cancelled_ones() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let a = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let b = service
        .book(&request(MENTOR, MENTEE, "2026-11-25T08:00:00Z"), utc(NOW))
        .await
        .unwrap();
    service
        .cancel(MENTEE, b.id.as_str(), None, utc(NOW))
        .await
        .unwrap();
    let later = utc("2026-12-01T00:00:00Z");
    let past = service
        .bookings(MENTEE, RoleFilter::Both, true, later, 25)
        .await
        .unwrap();
    assert_eq!(
        past.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );
    assert!(
        service
            .bookings(MENTEE, RoleFilter::Both, false, later, 25)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_picker_finds_days_with_slots_far_beyond_the_fortnight_it_loads_first() {
    let (service, _dir) = service().await;
    service
        .set_availability(MENTOR, "mon", "off", Some("UTC"), utc(NOW))
        .await
        .unwrap();
    service
        .update_settings(
            MENTOR,
            SettingsPatch {
                horizon_days: Some(90),
                ..SettingsPatch::default()
            },
            utc(NOW),
        )
        .await
        .unwrap();
    service
        .add_override(MENTOR, "2026-12-20", Some("10:00-11:00"), None, utc(NOW))
        .await
        .unwrap();
    service
        .add_override(MENTOR, "2027-01-30", Some("10:00-11:00"), None, utc(NOW))
        .await
        .unwrap();
    let first = service
        .day_slots(MENTOR, MENTEE, None, None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(first.date, date(2026, 12, 20));
    assert_eq!(first.slots.len(), 2);
    assert_eq!(first.previous, None);
    assert_eq!(first.next, Some(date(2027, 1, 30)));
    let last = service
        .day_slots(MENTOR, MENTEE, Some(date(2027, 1, 30)), None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(last.previous, Some(date(2026, 12, 20)));
    assert_eq!(last.next, None);
    let empty = service
        .day_slots(MENTOR, MENTEE, Some(date(2027, 1, 1)), None, utc(NOW))
        .await
        .unwrap();
    assert!(empty.slots.is_empty());
    assert_eq!(
        (empty.previous, empty.next),
        (Some(date(2026, 12, 20)), Some(date(2027, 1, 30)))
    );
}

#[tokio::test]
async fn pickers_see_every_change_of_hours_zone_and_settings_at_once_despite_the_read_cache() {
    let (service, _dir) = service().await;
    let day = Some(date(2026, 11, 30));
    service
        .set_availability(MENTOR, "mon", "09:00-10:00", Some("UTC"), utc(NOW))
        .await
        .unwrap();
    let first = service
        .day_slots(MENTOR, MENTEE, day, None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(first.slots.len(), 2);
    // Read again (now cached), then change: the next read sees the change.
    service
        .day_slots(MENTOR, MENTEE, day, None, utc(NOW))
        .await
        .unwrap();
    service
        .set_availability(MENTOR, "mon", "09:00-11:00", None, utc(NOW))
        .await
        .unwrap();
    let hours = service
        .day_slots(MENTOR, MENTEE, day, None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(hours.slots.len(), 4);
    service
        .update_settings(
            MENTOR,
            mentorbot::service::SettingsPatch {
                session_minutes: Some(60),
                ..Default::default()
            },
            utc(NOW),
        )
        .await
        .unwrap();
    let settings = service
        .day_slots(MENTOR, MENTEE, day, None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(settings.slots.len(), 2);
    service.set_timezone(MENTEE, "Asia/Tokyo").await.unwrap();
    let zone = service
        .day_slots(MENTOR, MENTEE, day, None, utc(NOW))
        .await
        .unwrap();
    assert_eq!(zone.tz, chrono_tz::Asia::Tokyo);
}

#[tokio::test]
async fn names_and_reasons_shown_to_others_lose_bidi_and_zero_width_tricks() {
    let (service, _dir) = service().await;
    berlin_mentor(&service).await;
    let mut spoof = request(MENTOR, MENTEE, "2026-11-24T08:00:00Z");
    spoof.mentee_name = "\u{202E}nimda\u{202C} 👩\u{200D}💻".into();
    let booking = service.book(&spoof, utc(NOW)).await.unwrap();
    assert_eq!(booking.mentee_name, "nimda 👩\u{200D}💻");
    let cancelled = service
        .cancel(
            MENTEE,
            booking.id.as_str(),
            Some("\u{2066}ill\u{2069}\u{200B} today\u{FEFF}"),
            utc(NOW),
        )
        .await
        .unwrap();
    let reason = cancelled.cancellation.unwrap().reason;
    assert_eq!(reason.as_deref(), Some("ill today"));
    // A reason of nothing but such characters is no reason.
    let again = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T09:00:00Z"), utc(NOW))
        .await
        .unwrap();
    let cancelled = service
        .cancel(
            MENTEE,
            again.id.as_str(),
            Some("\u{202E}\u{200B}"),
            utc(NOW),
        )
        .await
        .unwrap();
    assert_eq!(cancelled.cancellation.unwrap().reason, None);
}
