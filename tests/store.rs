//! The store on a real database file: durability settings, migrations on reopen, the
//! overlap triggers, and the job queue's leases.

mod common;

use chrono::Duration;
use common::{MENTEE, MENTOR, request, utc};
use mentorbot::domain::{BookingId, CalendarStatus, UserId};
use mentorbot::scheduling::interval::Interval;
use mentorbot::store::{NewBooking, NewJob, Store, StoreError, StoreOptions};

const NOW: &str = "2026-11-23T08:00:00Z";

fn booking(id: &str, mentor: u64, mentee: u64, start: &str, minutes: i64) -> NewBooking {
    NewBooking {
        id: BookingId::parse(id).unwrap(),
        mentor: UserId(mentor),
        mentee: UserId(mentee),
        mentor_name: "m".into(),
        mentee_name: "e".into(),
        interval: Interval::starting_at(utc(start), Duration::minutes(minutes)).unwrap(),
        calendar_status: CalendarStatus::NotConnected,
        now: utc(NOW),
        guild: None,
    }
}

async fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&StoreOptions::new(dir.path().join("bot.db")))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_database_runs_in_wal_with_full_sync_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let d = store.durability().await.unwrap();
    assert_eq!(d.journal_mode, "wal");
    assert_eq!(d.synchronous, 2, "synchronous=FULL");
    assert!(d.foreign_keys);
}

#[tokio::test]
async fn reopening_a_migrated_database_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let service = mentorbot::service::Service::new(store.clone());
    service
        .set_availability(MENTOR, "mon-fri", "09:00-12:00", Some("UTC"), utc(NOW))
        .await
        .unwrap();
    let booked = service
        .book(&request(MENTOR, MENTEE, "2026-11-24T09:00:00Z"), utc(NOW))
        .await
        .unwrap();
    store.close().await;
    let again = open(&dir).await;
    assert_eq!(
        again.booking(&booked.id).await.unwrap().unwrap().interval,
        booked.interval
    );
}

#[tokio::test]
async fn the_triggers_refuse_overlaps_of_either_person_but_allow_touching_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut tx = store.write().await.unwrap();
    tx.insert_booking(&booking("AAAAAA", 1, 2, "2026-11-24T09:00:00Z", 60))
        .await
        .unwrap();
    for (id, mentor, mentee, start, minutes) in [
        ("BBBBBB", 1, 3, "2026-11-24T09:30:00Z", 60), // the mentor again
        ("CCCCCC", 4, 2, "2026-11-24T08:30:00Z", 45), // the mentee, with someone else
        ("DDDDDD", 2, 5, "2026-11-24T09:59:00Z", 15), // the mentee, now as a mentor
        ("EEEEEE", 6, 1, "2026-11-24T08:00:00Z", 240), // the mentor, now as a mentee
    ] {
        let err = tx
            .insert_booking(&booking(id, mentor, mentee, start, minutes))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Overlap), "{id}: {err:?}");
    }
    tx.insert_booking(&booking("FFFFFF", 1, 3, "2026-11-24T10:00:00Z", 30))
        .await
        .unwrap();
    tx.insert_booking(&booking("GGGGGG", 7, 2, "2026-11-24T08:00:00Z", 60))
        .await
        .unwrap();
    let err = tx
        .insert_booking(&booking("AAAAAA", 8, 9, "2026-11-25T08:00:00Z", 60))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateId));
    // Moving a booking onto another one is refused too; onto its own time is fine.
    let moved = Interval::starting_at(utc("2026-11-24T10:15:00Z"), Duration::minutes(30)).unwrap();
    let err = tx
        .move_booking(
            &BookingId::parse("AAAAAA").unwrap(),
            moved,
            UserId(1),
            utc(NOW),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Overlap));
    let own = Interval::starting_at(utc("2026-11-24T09:15:00Z"), Duration::minutes(30)).unwrap();
    tx.move_booking(
        &BookingId::parse("AAAAAA").unwrap(),
        own,
        UserId(1),
        utc(NOW),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

fn job(kind: &str, run_after: &str) -> NewJob {
    NewJob {
        kind: kind.into(),
        booking: None,
        payload: serde_json::json!({ "kind": kind }),
        run_after: utc(run_after),
        now: utc(NOW),
    }
}

#[tokio::test]
async fn a_booking_and_its_jobs_go_in_together_and_a_refused_booking_queues_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let with_jobs = |id: &str| {
        let mut dms = [job("dm", NOW), job("dm", NOW)];
        for dm in &mut dms {
            dm.booking = Some(BookingId::parse(id).unwrap());
        }
        dms
    };
    let mut tx = store.write().await.unwrap();
    tx.insert_booking_with(
        &booking("AAAAAA", 1, 2, "2026-11-24T09:00:00Z", 60),
        &with_jobs("AAAAAA"),
    )
    .await
    .unwrap();
    let overlap = tx
        .insert_booking_with(
            &booking("BBBBBB", 1, 3, "2026-11-24T09:30:00Z", 60),
            &with_jobs("BBBBBB"),
        )
        .await
        .unwrap_err();
    assert!(matches!(overlap, StoreError::Overlap), "{overlap:?}");
    let duplicate = tx
        .insert_booking_with(
            &booking("AAAAAA", 4, 5, "2026-11-25T09:00:00Z", 60),
            &with_jobs("AAAAAA"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, StoreError::DuplicateId),
        "{duplicate:?}"
    );
    tx.commit().await.unwrap();

    let queued = |id: &str| {
        let store = store.clone();
        let id = BookingId::parse(id).unwrap();
        async move { store.jobs_for_booking(&id).await.unwrap().len() }
    };
    assert_eq!(queued("AAAAAA").await, 2, "the booking's two jobs, once");
    assert_eq!(queued("BBBBBB").await, 0);
    let now = utc(NOW);
    let all = store
        .claim_jobs("worker", now, now + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "nothing queued by the refused bookings");
}

#[tokio::test]
async fn jobs_are_claimed_once_per_lease_and_run_again_when_the_lease_expires() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut tx = store.write().await.unwrap();
    tx.enqueue(&[
        job("a", NOW),
        job("b", NOW),
        job("later", "2026-11-23T08:05:00Z"),
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let now = utc(NOW);
    let lease = now + Duration::minutes(5);
    let first = store.claim_jobs("worker-1", now, lease, 10).await.unwrap();
    assert_eq!(
        first.iter().map(|j| j.kind.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(first.iter().all(|j| j.attempts == 1));
    // Held by worker-1: nobody else gets them while the lease lasts.
    assert!(
        store
            .claim_jobs("worker-2", now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .complete_job(first[0].id, "worker-1", now)
            .await
            .unwrap()
    );
    // worker-1 dies holding "b"; after the lease it is due again, for someone else.
    let after = lease + Duration::seconds(1);
    let again = store
        .claim_jobs("worker-2", after, after + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|j| j.kind.as_str()).collect::<Vec<_>>(),
        ["b", "later"]
    );
    assert_eq!(again[0].attempts, 2);
    // The old holder can no longer finish it.
    assert!(
        !store
            .complete_job(first[1].id, "worker-1", after)
            .await
            .unwrap()
    );
    // A retry releases it until its new time; a failure ends it with the error kept.
    assert!(
        store
            .retry_job(again[0].id, "worker-2", after + Duration::minutes(1), "503")
            .await
            .unwrap()
    );
    assert!(
        store
            .fail_job(again[1].id, "worker-2", after, "50007")
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_jobs("worker-3", after, after + Duration::minutes(5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = after + Duration::minutes(1);
    let retried = store
        .claim_jobs("worker-3", later, later + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].last_error.as_deref(), Some("503"));
    assert_eq!(retried[0].attempts, 3);
}

#[tokio::test]
async fn a_refused_write_in_a_batch_leaves_the_others_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut handles = Vec::new();
    for (i, start) in [
        "2026-11-24T09:00:00Z",
        "2026-11-24T09:30:00Z",
        "2026-11-24T09:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let b = booking(
                ["AAAAAA", "BBBBBB", "CCCCCC"][i],
                1,
                10 + i as u64,
                start,
                30,
            );
            store
                .transact(move |tx| Box::pin(async move { tx.insert_booking(&b).await }))
                .await
        }));
    }
    let results: Vec<_> = futures_results(handles).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2);
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StoreError::Overlap)))
    );
    assert!(
        store
            .booking(&BookingId::parse("BBBBBB").unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

async fn futures_results(
    handles: Vec<tokio::task::JoinHandle<Result<(), StoreError>>>,
) -> Vec<Result<(), StoreError>> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_booking_has_at_most_one_queued_calendar_sync_and_a_change_re_arms_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let new = booking("AAAAAA", MENTOR.0, MENTEE.0, "2026-11-24T09:00:00Z", 30);
    let id = new.id.clone();
    let now = utc(NOW);
    store
        .transact(move |tx| {
            Box::pin(async move {
                tx.insert_booking(&new).await?;
                tx.queue_calendar_sync(&id, now).await?;
                tx.queue_calendar_sync(&id, now + Duration::seconds(5))
                    .await
            })
        })
        .await
        .unwrap();
    let id = BookingId::parse("AAAAAA").unwrap();
    let jobs = store.jobs_for_booking(&id).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs[0].run_after, now,
        "re-arming never delays a queued sync"
    );
    assert_eq!(
        store.booking(&id).await.unwrap().unwrap().calendar_status,
        CalendarStatus::Pending
    );
    // Once that job is finished, the next change queues a new one.
    let claimed = store
        .claim_jobs("w", now, now + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(store.complete_job(claimed[0].id, "w", now).await.unwrap());
    let again = id.clone();
    store
        .transact(move |tx| Box::pin(async move { tx.queue_calendar_sync(&again, now).await }))
        .await
        .unwrap();
    assert_eq!(store.jobs_for_booking(&id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn leases_left_by_a_stopped_process_are_released_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let now = utc(NOW);
    let job = NewJob {
        kind: "dm".into(),
        booking: None,
        payload: serde_json::json!({}),
        run_after: now,
        now,
    };
    store
        .transact(move |tx| Box::pin(async move { tx.enqueue(&[job]).await }))
        .await
        .unwrap();
    let lease_end = now + Duration::seconds(60);
    assert_eq!(
        store
            .claim_jobs("dead", now, lease_end, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .claim_jobs("new", now, lease_end, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.release_leases().await.unwrap(), 1);
    assert_eq!(
        store
            .claim_jobs("new", now, lease_end, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_panicking_write_is_rolled_back_alone_and_its_batch_mates_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let good = booking("AAAAAA", MENTOR.0, MENTEE.0, "2026-11-24T09:00:00Z", 30);
    let doomed = booking("BBBBBB", MENTOR.0, MENTEE.0, "2026-11-24T11:00:00Z", 30);
    // Sent together, so the writer runs them in one batch.
    let (panicked, kept) = tokio::join!(
        store.transact(move |tx| {
            Box::pin(async move {
                tx.insert_booking(&doomed).await?;
                if doomed.id.as_str() == "BBBBBB" {
                    panic!("a bug in a use case");
                }
                Ok::<(), StoreError>(())
            })
        }),
        store.transact(move |tx| Box::pin(async move { tx.insert_booking(&good).await })),
    );
    assert!(matches!(panicked, Err(StoreError::WriterStopped)));
    kept.unwrap();
    assert!(
        store
            .booking(&BookingId::parse("AAAAAA").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .booking(&BookingId::parse("BBBBBB").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn units_refused_after_writing_are_undone_wherever_they_stand_in_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    // Each unit writes its booking (or nothing) and then keeps or refuses it. Sent together,
    // so the writer runs them in one batch, in this order; the last one refuses.
    let unit = |id: Option<&str>, hour: u32, keep: bool| {
        let b = id.map(|id| booking(id, 1, 2, &format!("2026-11-24T{hour:02}:00:00Z"), 30));
        store.transact(move |tx| {
            Box::pin(async move {
                if let Some(b) = &b {
                    tx.insert_booking(b).await?;
                }
                if keep {
                    Ok(())
                } else {
                    Err(StoreError::Overlap)
                }
            })
        })
    };
    let results = tokio::join!(
        unit(Some("AAAAAA"), 8, true),
        unit(None, 0, false),
        unit(Some("BBBBBB"), 9, false),
        unit(None, 0, true),
        unit(Some("CCCCCC"), 10, true),
        unit(Some("DDDDDD"), 11, false),
    );
    let oks = [
        results.0.is_ok(),
        results.1.is_ok(),
        results.2.is_ok(),
        results.3.is_ok(),
        results.4.is_ok(),
        results.5.is_ok(),
    ];
    assert_eq!(oks, [true, false, false, true, true, false]);
    let exists = |id: &str| {
        let store = store.clone();
        let id = BookingId::parse(id).unwrap();
        async move { store.booking(&id).await.unwrap().is_some() }
    };
    assert!(exists("AAAAAA").await && exists("CCCCCC").await);
    assert!(!exists("BBBBBB").await, "refused in the middle");
    assert!(!exists("DDDDDD").await, "refused last");
    // The next batch starts clean.
    unit(Some("EEEEEE"), 12, true).await.unwrap();
    assert!(exists("EEEEEE").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_commit_hook_of_a_batch_runs_before_any_of_its_requesters_hears_back() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    // A slow unit holds the writer, so the next two queue up and share a batch.
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let slow = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .transact(|_tx| {
                    Box::pin(async {
                        let _ = started.send(());
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        Ok::<(), StoreError>(())
                    })
                })
                .await
        })
    };
    running.await.unwrap();
    let hooked = Arc::new(AtomicBool::new(false));
    let first = {
        let (store, hooked) = (store.clone(), Arc::clone(&hooked));
        let a = booking("AAAAAA", 1, 2, "2026-11-24T09:00:00Z", 30);
        async move {
            store
                .transact_then(
                    move |tx| Box::pin(async move { tx.insert_booking(&a).await }),
                    |_: &()| {},
                )
                .await
                .unwrap();
            hooked.load(Ordering::SeqCst)
        }
    };
    let second = {
        let hooked = Arc::clone(&hooked);
        let b = booking("BBBBBB", 3, 4, "2026-11-24T09:00:00Z", 30);
        store.transact_then(
            move |tx| Box::pin(async move { tx.insert_booking(&b).await }),
            move |_: &()| {
                // Slow on purpose: the first requester must not hear back meanwhile.
                std::thread::sleep(std::time::Duration::from_millis(100));
                hooked.store(true, Ordering::SeqCst);
            },
        )
    };
    let (first_saw_the_hook, second) = tokio::join!(first, second);
    second.unwrap();
    slow.await.unwrap().unwrap();
    assert!(first_saw_the_hook);
}

#[tokio::test]
async fn a_worker_lane_claims_only_its_own_kinds_of_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let now = utc(NOW);
    let job = |kind: &str| NewJob {
        kind: kind.into(),
        booking: None,
        payload: serde_json::json!({}),
        run_after: now,
        now,
    };
    let jobs = vec![
        job("calendar_sync"),
        job("dm"),
        job("dm_account"),
        job("calendar_sync"),
    ];
    store
        .transact(move |tx| Box::pin(async move { tx.enqueue(&jobs).await }))
        .await
        .unwrap();
    let lease_end = now + Duration::seconds(60);
    let dm_kinds = ["dm".to_owned(), "dm_account".to_owned()];
    let dms = store
        .claim_jobs_of("dm-lane", now, lease_end, 10, Some(&dm_kinds))
        .await
        .unwrap();
    let mut kinds: Vec<_> = dms.iter().map(|j| j.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["dm", "dm_account"]);
    let rest = store.claim_jobs("any", now, lease_end, 10).await.unwrap();
    assert_eq!(rest.len(), 2);
    assert!(rest.iter().all(|j| j.kind == "calendar_sync"));
}
