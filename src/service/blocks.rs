//! `/availability block | unblock`: a mentor stops a member from booking them. The block is
//! checked where bookings are made (pickers, and inside the booking's transaction), not in
//! the front end.

use chrono::{DateTime, Utc};

use super::{Service, ServiceError, ServiceResult, override_horizon};
use crate::domain::UserId;
use crate::store::StoreError;

impl Service {
    /// Blocks `member` from booking `mentor`; false when they already were. Existing
    /// bookings are untouched.
    pub async fn block_member(
        &self,
        mentor: UserId,
        member: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<bool> {
        if mentor == member {
            return Err(ServiceError::BlockSelf);
        }
        let blocked = self
            .store
            .transact(move |tx| {
                Box::pin(async move {
                    if tx.mentor(mentor, override_horizon(now)).await?.is_none() {
                        return Ok(None);
                    }
                    Ok::<_, StoreError>(Some(tx.block(mentor, member, now).await?))
                })
            })
            .await?;
        blocked.ok_or(ServiceError::NotAMentorYet)
    }

    /// Lifts a block; false when `member` wasn't blocked.
    pub async fn unblock_member(&self, mentor: UserId, member: UserId) -> ServiceResult<bool> {
        Ok(self
            .store
            .transact(move |tx| Box::pin(async move { tx.unblock(mentor, member).await }))
            .await?)
    }

    /// How many members `mentor` has blocked.
    pub async fn blocked_count(&self, mentor: UserId) -> ServiceResult<u64> {
        Ok(self.store.blocked_count(mentor).await?)
    }
}
