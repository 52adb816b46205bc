//! Promotions: admins create, list, read and change them; every priced
//! request reads the uses of those it needs (their counters, and the
//! customer's count) to judge their limits. Functions that price read the
//! promotions themselves through the configuration cache
//! (`usecases::pricing::setup`), so a change takes effect within a minute;
//! the limits are the counters', read at the time and guarded by the
//! order's transaction, so they never lag.

use std::collections::BTreeMap;

use crate::adapters::metrics;
use crate::adapters::store::PromotionWrite;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::{self, Page};
use crate::foundation::error::Error;
use crate::foundation::ids::{PromotionId, UserId};
use crate::foundation::retry::{MAX_ATTEMPTS, backoff};
use crate::model::auth::Admin;
use crate::model::promotions::input::{NewPromotion, PromotionPatch, PromotionView};
use crate::model::promotions::uses::{UsesRead, allot};
use crate::model::promotions::{Promotion, needs_uses};

/// `POST /promotions`: the promotion, its code claimed and its counters
/// written in one transaction (`409 CODE_TAKEN` when another holds the
/// code).
pub async fn create(app: &App, _admin: &Admin, new: NewPromotion) -> Result<PromotionView, Error> {
    let promotion = new.promotion(PromotionId::new().to_string(), Timestamp::now());
    match app.store.create_promotion(&promotion).await? {
        PromotionWrite::Written => Ok(PromotionView { promotion, used: 0 }),
        PromotionWrite::CodeTaken => Err(Error::CodeTaken(promotion.code.unwrap_or_default())),
        PromotionWrite::Contended => Err(Error::Unavailable("the promotion could not be written".into())),
    }
}

/// `GET /promotions/{id}`: the promotion and its `used`, read from its
/// counters as the checkout reads them.
pub async fn get(app: &App, _admin: &Admin, id: &PromotionId) -> Result<PromotionView, Error> {
    let promotion = app
        .store
        .get_promotion(&id.to_string())
        .await?
        .ok_or(Error::NotFound)?;
    let uses = read_uses(app, &[&promotion], None, true).await?;
    Ok(view(promotion, &uses))
}

/// `GET /promotions`: a page of them, oldest first, each with `used`.
pub async fn list(
    app: &App,
    _admin: &Admin,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<PromotionView>, Error> {
    let all = app.store.list_promotions().await?;
    let key = |p: &Promotion| format!("{}#{}", p.created_at, p.id);
    let page = cursor::page_of(app.config.cursor_secret()?, "promotions", all, key, limit, cursor)?;
    let shown: Vec<&Promotion> = page.items.iter().collect();
    let uses = read_uses(app, &shown, None, false).await?;
    Ok(Page {
        items: page.items.into_iter().map(|p| view(p, &uses)).collect(),
        next_cursor: page.next_cursor,
    })
}

/// `PATCH /promotions/{id}`: `active`, `name`, `ends_at`, `usage_limit`.
/// A new limit re-allots what is left over the counters (more counters
/// for a higher limit), in the promotion's own transaction; a limit below
/// `used` is `400`. A redemption landing between the read and the write
/// makes the write read again.
pub async fn patch(
    app: &App,
    _admin: &Admin,
    id: &PromotionId,
    patch: PromotionPatch,
) -> Result<PromotionView, Error> {
    for attempt in 0..MAX_ATTEMPTS {
        let before = app
            .store
            .get_promotion(&id.to_string())
            .await?
            .ok_or(Error::NotFound)?;
        let next = patch.apply(before.clone())?;
        let uses = read_uses(app, &[&before], None, true).await?;
        let read = uses.get(&before.id).cloned().unwrap_or_default();
        let allotments = if patch.changes_limit() {
            allot(next.usage_limit, &read.counters, next.counters)
                .map_err(|used| Error::invalid("usage_limit", format!("must not be below used ({used})")))?
        } else {
            Vec::new()
        };
        match app.store.update_promotion(&next, &before, &allotments).await? {
            PromotionWrite::Written => {
                return Ok(PromotionView {
                    used: read.used(),
                    promotion: next,
                });
            }
            PromotionWrite::CodeTaken | PromotionWrite::Contended => backoff(attempt).await,
        }
    }
    Err(Error::Unavailable(
        "the promotion kept changing while it was written".into(),
    ))
}

fn view(promotion: Promotion, uses: &BTreeMap<String, UsesRead>) -> PromotionView {
    let used = uses.get(&promotion.id).map_or(0, UsesRead::used);
    PromotionView { promotion, used }
}

async fn read_uses(
    app: &App,
    promotions: &[&Promotion],
    customer: Option<&UserId>,
    consistent: bool,
) -> Result<BTreeMap<String, UsesRead>, Error> {
    app.store.promotion_uses(promotions, customer, consistent).await
}

/// The uses a cart or an order of `customer` holding `codes` needs read:
/// of the promotions offered to it that have a limit and could apply now
/// (all those offered, after a redemption failed: a limit set a moment ago
/// may not be in this function's copy yet). No request when none has one.
pub async fn uses_for(
    app: &App,
    promotions: &[Promotion],
    codes: &[String],
    customer: &UserId,
    after_failure: bool,
) -> Result<BTreeMap<String, UsesRead>, Error> {
    let now = Timestamp::now();
    let wanted: Vec<&Promotion> = promotions
        .iter()
        .filter(|p| {
            needs_uses(p, codes, now)
                || (after_failure && p.code.as_ref().is_none_or(|code| codes.contains(code)))
        })
        .collect();
    read_uses(app, &wanted, Some(customer), after_failure).await
}

/// Counts what a checkout or an order redeemed, and what it was refused
/// for, by reason (EMF).
pub fn count_outcome(result: &Result<crate::model::orders::Order, Error>) {
    match result {
        Ok(order) if !order.discounts.is_empty() => {
            metrics::count(
                "PromotionsRedeemed",
                u64::try_from(order.discounts.len()).unwrap_or_default(),
            );
        }
        Err(Error::CouponNotApplicable { reason, .. }) => count_refused(reason),
        _ => {}
    }
}

/// Counts a code refused, by reason (EMF).
pub fn count_refused(reason: &str) {
    metrics::count_by("CouponsRefused", ("Reason", reason), 1);
}
