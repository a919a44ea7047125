//! The simulated users: each mentee books (contested slots among them), lists, cancels and
//! reschedules with a think time between clicks; each mentor lists now and then. They record
//! in the ledger what the bot told them.

use std::sync::Arc;
use std::time::Instant;

use testkit::{FakeUser, Message, Opt};
use tokio::task::JoinHandle;

use crate::rng::Rng;
use crate::setup::Users;
use crate::world::{Acked, Answer, World};

/// The reason given with every cancellation.
const REASON: &str = "load test: plans changed";

/// Starts every user of `users`, each with a generator of its own derived from `seed`.
pub(crate) fn spawn_users(world: &Arc<World>, users: &Users, seed: u64) -> Vec<JoinHandle<()>> {
    let mut actors = Vec::new();
    for (i, m) in users.mentees.iter().enumerate() {
        let rng = Rng::new(seed ^ (0x1000 + i as u64).wrapping_mul(0x9E37_79B9));
        actors.push(tokio::spawn(mentee(world.clone(), m.clone(), rng)));
    }
    for (i, m) in users.mentors.iter().enumerate() {
        let rng = Rng::new(seed ^ (0x10_0000 + i as u64).wrapping_mul(0x9E37_79B9));
        actors.push(tokio::spawn(mentor(world.clone(), m.clone(), rng)));
    }
    actors
}

/// The first booking id (six characters in backticks) in `text`.
fn booking_id(text: &str) -> Option<String> {
    let start = text.find('`')? + 1;
    text.get(start..start + 6).map(str::to_owned)
}

/// Slot starts (select values, Unix seconds) of a picker that are not within a session of
/// one of `mine` (a mentee's own bookings, 30-minute sessions), except `keep`.
fn free_options(
    picker: &Message,
    select: &str,
    mine: &[(String, i64)],
    keep: Option<&str>,
) -> Vec<(String, i64)> {
    picker
        .select_options(select)
        .into_iter()
        .filter_map(|(_, value)| {
            let start: i64 = value.parse().ok()?;
            let clash = mine
                .iter()
                .any(|(id, s)| Some(id.as_str()) != keep && (start - s).abs() < 30 * 60);
            (!clash).then_some((value, start))
        })
        .collect()
}

/// One mentee: book (half the time, always when holding nothing), list, cancel or
/// reschedule, with a think time between clicks, until the deadline.
async fn mentee(world: Arc<World>, me: FakeUser, mut rng: Rng) {
    let mut mine: Vec<(String, i64)> = Vec::new();
    tokio::time::sleep(rng.jitter(world.think)).await;
    while Instant::now() < world.deadline {
        let roll = rng.unit();
        if mine.is_empty() || roll < 0.5 {
            book(&world, &me, &mut rng, &mut mine).await;
        } else if roll < 0.7 {
            list(&world, &me).await;
        } else if roll < 0.85 {
            cancel(&world, &me, &mut rng, &mut mine).await;
        } else {
            reschedule(&world, &me, &mut rng, &mut mine).await;
        }
        tokio::time::sleep(rng.jitter(world.think)).await;
    }
}

/// One mentor: looks at their bookings now and then.
async fn mentor(world: Arc<World>, me: FakeUser, mut rng: Rng) {
    tokio::time::sleep(rng.jitter(world.think * 3)).await;
    while Instant::now() < world.deadline {
        list(&world, &me).await;
        tokio::time::sleep(rng.jitter(world.think * 5)).await;
    }
}

async fn list(world: &World, me: &FakeUser) {
    if let Answer::Shown(reply) = world.slash(me, "bookings", vec![]).await {
        let text = reply.text();
        if text.contains("Your upcoming sessions") {
            world.ledger().outcome("listed");
        } else {
            world.unexpected("/bookings", &text);
        }
    }
}

async fn book(world: &World, me: &FakeUser, rng: &mut Rng, mine: &mut Vec<(String, i64)>) {
    let contested = rng.chance(world.contested);
    let mentor = if contested {
        &world.mentors[rng.below(world.mentors.len().min(2))]
    } else {
        &world.mentors[rng.below(world.mentors.len())]
    };
    let mut options = vec![Opt::user("mentor", mentor)];
    if !contested {
        // Any of the next four weeks (the mentors take bookings 30 days ahead).
        let day = chrono::Utc::now().date_naive() + chrono::Days::new(1 + rng.below(27) as u64);
        options.push(Opt::str("date", &day.format("%Y-%m-%d").to_string()));
    }
    let Answer::Shown(mut picker) = world.slash(me, "book", options).await else {
        return;
    };
    for _ in 0..3 {
        let Some(select) = slot_select(world, &picker, "/book") else {
            return;
        };
        let free = free_options(&picker, &select, mine, None);
        if free.is_empty() {
            world.ledger().outcome("no free slot");
            return;
        }
        let (value, start) = if contested {
            free[rng.below(free.len().min(2))].clone()
        } else {
            free[rng.below(free.len())].clone()
        };
        let Some(answer) =
            choose_and_confirm(world, me, rng, &picker, &select, &value, "select").await
        else {
            return;
        };
        let Answer::Shown(done) = answer else {
            // The booking may or may not exist: the mentee doesn't know its id, so nothing
            // can be claimed about it; the database checks still cover it.
            world.ledger().uncertain += 1;
            return;
        };
        let text = done.text();
        if text.contains("Booked ✅") {
            let Some(id) = booking_id(&text) else {
                world.unexpected("Confirm", &text);
                return;
            };
            let mut ledger = world.ledger();
            ledger.outcome("booked");
            ledger.bookings.insert(
                id.clone(),
                Acked {
                    mentor: mentor.id,
                    mentee: me.id,
                    start,
                    cancelled: false,
                    uncertain: false,
                },
            );
            mine.push((id, start));
            return;
        }
        let Some(outcome) = expected_refusal(&text, start, may_be_at_cap(world, mine)) else {
            world.unexpected("Confirm", &text);
            return;
        };
        world.ledger().outcome(outcome);
        if outcome != "slot taken" {
            return;
        }
        picker = done;
    }
}

/// The picker's (first) select of slots; `None`, with the outcome recorded, if it shows none:
/// no free slots, or an unexpected reply to `what`.
fn slot_select(world: &World, picker: &Message, what: &str) -> Option<String> {
    let select = picker.selects().first().cloned();
    if select.is_none() {
        if picker.text().contains("No free slots") {
            world.ledger().outcome("no free slot");
        } else {
            world.unexpected(what, &picker.text());
        }
    }
    select
}

/// Chooses `value` in `select` on `picker`, then clicks Confirm, thinking before each click;
/// `what` names the select in errors. `None` if there was nothing to confirm: the select got
/// no usable answer (already recorded), or no Confirm button (recorded here).
async fn choose_and_confirm(
    world: &World,
    me: &FakeUser,
    rng: &mut Rng,
    picker: &Message,
    select: &str,
    value: &str,
    what: &str,
) -> Option<Answer> {
    tokio::time::sleep(rng.jitter(world.think)).await;
    let Answer::Shown(chosen) = world.select(me, picker, select, value).await else {
        return None;
    };
    let Some(confirm) = chosen.button_id("Confirm") else {
        world.unexpected(what, &chosen.text());
        return None;
    };
    tokio::time::sleep(rng.jitter(world.think)).await;
    Some(world.click(me, &chosen, &confirm).await)
}

/// Whether a mentee holding `mine` may hold the most upcoming sessions a mentee may (the bot's default cap):
/// those it knows of, plus any booking whose outcome nobody knows.
fn may_be_at_cap(world: &World, mine: &[(String, i64)]) -> bool {
    let cap = mentorbot::service::DEFAULT_MAX_UPCOMING as usize;
    mine.len() + world.ledger().uncertain >= cap
}

/// The outcome of a Confirm of the slot at `start` that the bot refused with `text`, if the
/// load expects that refusal: the slot was just taken, the mentee already has a session then,
/// the slot came within the minimum notice, or (for a new booking, `may_be_at_cap`) the
/// mentee holds the most upcoming sessions anyone may.
fn expected_refusal(text: &str, start: i64, may_be_at_cap: bool) -> Option<&'static str> {
    if text.contains("just taken") {
        Some("slot taken")
    } else if text.contains("already have a session") {
        Some("own overlap")
    } else if text.contains("too soon") && notice_passed(start) {
        Some("notice passed")
    } else if text.contains("the most anyone may hold") && may_be_at_cap {
        Some("mentee at cap")
    } else {
        None
    }
}

/// Whether a slot starting at `start` (Unix seconds) is now within the minimum notice: a
/// picker shown just before a half-hour boundary offers a slot that Confirm, a moment later,
/// must refuse as too soon. Checked after the refusal, on the same clock, so it is exact.
fn notice_passed(start: i64) -> bool {
    // The driver's mentors keep the default notice.
    let notice = i64::from(mentorbot::domain::MentorSettings::default().min_notice_hours) * 3600;
    start < chrono::Utc::now().timestamp() + notice
}

async fn cancel(world: &World, me: &FakeUser, rng: &mut Rng, mine: &mut Vec<(String, i64)>) {
    let (id, _) = mine.remove(rng.below(mine.len()));
    let options = vec![Opt::str("booking", &id), Opt::str("reason", REASON)];
    match world.slash(me, "cancel", options).await {
        Answer::Shown(reply) => {
            let text = reply.text();
            if text.contains(&format!("Cancelled `{id}`")) {
                let mut ledger = world.ledger();
                ledger.outcome("cancelled");
                if let Some(b) = ledger.bookings.get_mut(&id) {
                    b.cancelled = true;
                }
            } else {
                world.unexpected("/cancel", &text);
                mark_uncertain(world, &id);
            }
        }
        Answer::Lost => mark_uncertain(world, &id),
    }
}

fn mark_uncertain(world: &World, id: &str) {
    let mut ledger = world.ledger();
    ledger.uncertain += 1;
    if let Some(b) = ledger.bookings.get_mut(id) {
        b.uncertain = true;
    }
}

async fn reschedule(world: &World, me: &FakeUser, rng: &mut Rng, mine: &mut Vec<(String, i64)>) {
    let index = rng.below(mine.len());
    let id = mine[index].0.clone();
    let Answer::Shown(picker) = world
        .slash(me, "reschedule", vec![Opt::str("booking", &id)])
        .await
    else {
        return;
    };
    let Some(select) = slot_select(world, &picker, "/reschedule") else {
        return;
    };
    // Any other time (moving a booking to the time it already has is no move).
    let current = mine[index].1;
    let free: Vec<_> = free_options(&picker, &select, mine, Some(&id))
        .into_iter()
        .filter(|(_, start)| *start != current)
        .collect();
    if free.is_empty() {
        world.ledger().outcome("no free slot");
        return;
    }
    let (value, start) = free[rng.below(free.len())].clone();
    let Some(answer) =
        choose_and_confirm(world, me, rng, &picker, &select, &value, "select (move)").await
    else {
        return;
    };
    let Answer::Shown(done) = answer else {
        mark_uncertain(world, &id);
        mine.remove(index);
        return;
    };
    let text = done.text();
    if text.contains("Moved ✅") {
        let mut ledger = world.ledger();
        ledger.outcome("moved");
        if let Some(b) = ledger.bookings.get_mut(&id) {
            b.start = start;
        }
        mine[index].1 = start;
    } else if let Some(outcome) = expected_refusal(&text, start, false) {
        world.ledger().outcome(outcome);
    } else {
        world.unexpected("Confirm (move)", &text);
    }
}
