//! People and servers: display names seen in interactions, the `/mentors` listing, and the
//! role a server requires of mentors (`/admin mentor-role`).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::slots::{Cover, DayWalk, SlotQuery};
use super::validate::trimmed_name;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{GuildId, RoleId, UserId};
use crate::scheduling::interval::Interval;

/// One line of `/mentors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentorListing {
    /// The mentor.
    pub user: UserId,
    /// Their last seen display name.
    pub name: Option<String>,
    /// Their next free slot, if any.
    pub next: Option<Interval>,
}

impl Service {
    /// Remembers display names seen in an interaction, and lists `mentor_in` in `guild` when
    /// they are a mentor (a mentor is listed in a server once they used a mentor command
    /// there).
    pub async fn seen(
        &self,
        names: Vec<(UserId, String)>,
        mentor_in: Option<(GuildId, UserId)>,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        // Names rarely change: check on the read side and write only what differs, so
        // opening a picker does not queue a write behind the bookings.
        let mut changed = Vec::new();
        for (user, name) in names {
            let name = trimmed_name(&name);
            if self.cached_name(user).await?.as_deref() != Some(name.as_str()) {
                changed.push((user, name));
            }
        }
        if changed.is_empty() && mentor_in.is_none() {
            return Ok(());
        }
        let users: Vec<UserId> = changed.iter().map(|(user, _)| *user).collect();
        let names = changed;
        // Only names are cached of what this writes (server listings are always read
        // fresh), so only they are forgotten: a new mentee's first picker must not empty
        // the cache everyone's clicks are served from.
        let cache = Arc::clone(&self.cache);
        let written = users.clone();
        let result = self
            .store
            .transact_then(
                move |tx| {
                    Box::pin(async move {
                        for (user, name) in &names {
                            tx.remember_name(*user, name).await?;
                        }
                        if let Some((guild, mentor)) = mentor_in {
                            tx.list_in_guild(guild, mentor, now).await?;
                        }
                        Ok::<(), ServiceError>(())
                    })
                },
                move |_: &()| cache.forget_names(&written),
            )
            .await;
        // A failed COMMIT leaves the outcome unknown.
        if result.is_err() {
            self.cache.forget_names(&users);
        }
        result
    }

    /// The display name last seen for `user`.
    pub async fn user_name(&self, user: UserId) -> ServiceResult<Option<String>> {
        self.cached_name(user).await
    }

    /// The mentors listed in `guild` with their last seen names, by name: cheap (no slots),
    /// so a front end can pick the ones it shows before asking for [`Service::next_free`].
    pub async fn listed_mentors(
        &self,
        guild: GuildId,
        viewer: UserId,
    ) -> ServiceResult<Vec<(UserId, Option<String>)>> {
        let blocked_by = self.store.blocked_by(viewer).await?;
        let mut mentors = self.store.guild_mentors(guild).await?;
        mentors.retain(|(mentor, _)| !blocked_by.contains(mentor));
        Ok(mentors)
    }

    /// `/mentors`: the next free slot of each of `mentors` (the ones shown), soonest first
    /// (mentors without free slots last). A listed user who is no longer a mentor is left out.
    pub async fn next_free(
        &self,
        mentors: Vec<(UserId, Option<String>)>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<MentorListing>> {
        let mut listings = Vec::new();
        for (user, name) in mentors {
            let query = SlotQuery {
                mentor: user,
                viewer: user,
                moving: None,
                now,
            };
            let mut walk = match DayWalk::start(self, query, Cover::Near(None), false).await {
                Ok(walk) => walk,
                Err(ServiceError::NotAMentor) => continue,
                Err(other) => return Err(other),
            };
            let first_day = walk.near.first_day;
            let day = walk.nearest(first_day, 1).await?;
            let next = day.and_then(|day| walk.slots_on(day).into_iter().next());
            listings.push(MentorListing { user, name, next });
        }
        listings.sort_by_key(|l| (l.next.is_none(), l.next.map(|n| n.start())));
        Ok(listings)
    }

    /// `/admin mentor-role`: sets (or, with `None`, clears) the role a mentor needs in `guild`.
    pub async fn set_mentor_role(&self, guild: GuildId, role: Option<RoleId>) -> ServiceResult<()> {
        self.transact_profile(move |tx| {
            Box::pin(async move {
                tx.set_mentor_role(guild, role).await?;
                Ok::<(), ServiceError>(())
            })
        })
        .await
    }

    /// The role a mentor needs in `guild`, if the server set one.
    pub async fn mentor_role(&self, guild: GuildId) -> ServiceResult<Option<RoleId>> {
        if let Some(role) = self.cache.role(guild) {
            return Ok(role);
        }
        let ticket = self.cache.ticket();
        let role = self.store.mentor_role(guild).await?;
        self.cache.keep_role(ticket, guild, role);
        Ok(role)
    }
}
