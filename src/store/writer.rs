//! Group commit. One task takes the queued write units and runs as many as are waiting (up
//! to a cap) in one `BEGIN IMMEDIATE` transaction, each unit inside its own SAVEPOINT: a
//! unit that fails or refuses is rolled back alone, the rest commit together, and every
//! requester gets its answer only after that COMMIT has reached the disk
//! (`synchronous=FULL`). Under load, one fsync then covers many bookings; alone, a unit
//! commits at once. The rules are still checked inside the transaction that writes: the
//! units of a batch run one after the other and each sees the ones before it. A unit's
//! savepoint statements ride along with its first statement where the store allows it
//! (`WriteTx::lead`), saving a round trip to SQLite's thread per unit: those round trips,
//! not SQLite, are most of the writer's time.

use std::future::Future;
use std::pin::Pin;

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{StoreError, StoreResult, WriteTx};

/// A boxed future borrowing for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Given the batch's fate, runs a unit's commit hook and returns how to hand its result to
/// its requester. The writer runs every unit's hook before it sends any result, so no
/// requester acts on a commit before the hooks of its whole batch have run.
type Delivery = Box<dyn FnOnce(Result<(), String>) -> Answer + Send>;

/// Sends a unit's result to its requester.
type Answer = Box<dyn FnOnce() + Send>;

/// A queued unit: runs against the batch's transaction, says whether to keep its writes,
/// and returns how to deliver its result.
type Unit = Box<dyn for<'t> FnOnce(&'t mut WriteTx) -> BoxFuture<'t, (bool, Delivery)> + Send>;

/// Units waiting at most; senders wait beyond that (back-pressure).
const QUEUE: usize = 1024;

/// The sending side of the group-commit writer.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Unit>,
}

impl Writer {
    /// Starts the writer task on `pool` (must be called inside a tokio runtime).
    pub(super) fn start(pool: SqlitePool, max_batch: usize) -> Writer {
        let (queue, units) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, units, max_batch.max(1)));
        Writer { queue }
    }

    /// Runs `unit` in the next batch; its writes are kept when it returns `Ok`, and then
    /// `on_commit` runs with its value once they are durable, before any requester of the
    /// batch hears back. `on_commit` must be quick and must not fail.
    pub(super) async fn transact<T, E, F, H>(&self, unit: F, on_commit: H) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut WriteTx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        H: FnOnce(&T) + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (done, answer) = oneshot::channel::<Result<T, E>>();
        let unit: Unit = Box::new(move |tx| {
            Box::pin(async move {
                let result = unit(tx).await;
                let keep = result.is_ok();
                let deliver: Delivery = Box::new(move |commit| {
                    let answer = match commit {
                        Ok(()) => {
                            if let Ok(value) = &result {
                                on_commit(value);
                            }
                            result
                        }
                        Err(cause) => Err(E::from(StoreError::Commit(cause))),
                    };
                    // The requester may have gone away; the outcome stands either way.
                    Box::new(move || drop(done.send(answer)))
                });
                (keep, deliver)
            })
        });
        self.queue
            .send(unit)
            .await
            .map_err(|_| E::from(StoreError::WriterStopped))?;
        answer
            .await
            .map_err(|_| E::from(StoreError::WriterStopped))?
    }
}

async fn run(pool: SqlitePool, mut units: mpsc::Receiver<Unit>, max_batch: usize) {
    while let Some(first) = units.recv().await {
        let mut batch = Vec::with_capacity(max_batch);
        batch.push(first);
        while batch.len() < max_batch {
            match units.try_recv() {
                Ok(unit) => batch.push(unit),
                Err(_) => break,
            }
        }
        // A panicking unit must not take the writer down: each batch is its own task. Its
        // requesters then see their answer channel closed.
        if let Err(e) = tokio::spawn(run_batch(pool.clone(), batch)).await {
            tracing::error!(error = %e, "a write batch panicked; its requests were rolled back");
        }
    }
}

async fn run_batch(pool: SqlitePool, batch: Vec<Unit>) {
    let mut deliveries = Vec::with_capacity(batch.len());
    let outcome = apply(&pool, batch, &mut deliveries).await.map_err(|e| {
        tracing::error!(error = ?e, "a write batch failed");
        crate::cause::chain(&e)
    });
    let answers: Vec<Answer> = deliveries
        .into_iter()
        .map(|deliver| deliver(outcome.clone()))
        .collect();
    for answer in answers {
        answer();
    }
}

async fn apply(
    pool: &SqlitePool,
    batch: Vec<Unit>,
    deliveries: &mut Vec<Delivery>,
) -> StoreResult<()> {
    let mut tx = WriteTx::new(pool.begin_with("BEGIN IMMEDIATE").await?);
    // A unit opens its savepoint with its first statement, in the same round trip, and with
    // it ends the savepoint of the last unit that opened one: kept (`Some(true)`) or undone.
    // A unit that runs no statement owes nothing.
    let mut last: Option<bool> = None;
    for unit in batch {
        tx.owe(match last {
            None => "SAVEPOINT unit; ",
            Some(true) => "RELEASE unit; SAVEPOINT unit; ",
            Some(false) => "ROLLBACK TO unit; RELEASE unit; SAVEPOINT unit; ",
        });
        let keep = match CatchUnwind(unit(&mut tx)).await {
            Ok((keep, deliver)) => {
                deliveries.push(deliver);
                keep
            }
            Err(()) => {
                // Its requester sees its answer channel closed; the others are unharmed.
                tracing::error!("a write unit panicked; it was rolled back alone");
                false
            }
        };
        if tx.paid() {
            last = Some(keep);
        }
    }
    // COMMIT releases a kept last savepoint by itself; a refused one is undone first.
    if last == Some(false) {
        tx.owe("ROLLBACK TO unit; ");
        tx.conn().await?;
    }
    tx.commit().await
}

/// Polls a unit, turning a panic into `Err(())`, so one bad request (say, date arithmetic
/// on a forged value) is rolled back alone instead of failing everyone in its batch.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(std::task::Poll::Ready(value)) => std::task::Poll::Ready(Ok(value)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => std::task::Poll::Ready(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono_tz::Tz;

    use super::super::{Store, StoreError, StoreOptions};
    use crate::domain::UserId;

    /// Units waiting in the writer's queue.
    fn queued(store: &Store) -> usize {
        store.writer.queue.max_capacity() - store.writer.queue.capacity()
    }

    #[tokio::test]
    async fn a_failed_commit_answers_every_requester_of_its_batch_with_an_error_and_keeps_nothing()
    {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreOptions::new(dir.path().join("w.db")))
            .await
            .unwrap();
        // A first unit holds the writer, so the next three queue up and run as one batch.
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let blocker = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .transact(move |_tx| {
                        Box::pin(async move {
                            let _ = started.send(());
                            let _ = held.await;
                            Ok::<(), StoreError>(())
                        })
                    })
                    .await
            })
        };
        running.await.unwrap();
        let units: Vec<_> = [1u64, 2, 3]
            .into_iter()
            .map(|user| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .transact(move |tx| {
                            Box::pin(async move {
                                tx.set_user_timezone(UserId(user), Tz::UTC).await?;
                                if user == 2 {
                                    // A violation SQLite checks only at COMMIT: the whole
                                    // batch's COMMIT fails, not this unit's statement.
                                    sqlx::raw_sql(
                                        "PRAGMA defer_foreign_keys = ON; \
                                         INSERT INTO jobs (kind, booking_id, payload, run_after, created_at) \
                                         VALUES ('test', 'NOPE00', '{}', 0, 0)",
                                    )
                                    .execute(tx.conn().await?)
                                    .await?;
                                }
                                Ok::<(), StoreError>(())
                            })
                        })
                        .await
                })
            })
            .collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while queued(&store) < 3 {
            assert!(tokio::time::Instant::now() < deadline, "units not queued");
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        for unit in units {
            let result = unit.await.unwrap();
            assert!(
                matches!(&result, Err(StoreError::Commit(cause)) if cause.contains("FOREIGN KEY")),
                "{result:?}"
            );
        }
        for user in [1, 2, 3] {
            assert_eq!(
                store.user_profile(UserId(user)).await.unwrap(),
                (None, None)
            );
        }
        // The writer goes on: the next unit commits.
        store
            .transact(|tx| Box::pin(async move { tx.set_user_timezone(UserId(4), Tz::UTC).await }))
            .await
            .unwrap();
        assert_eq!(
            store.user_profile(UserId(4)).await.unwrap().0,
            Some(Tz::UTC)
        );
    }
}
