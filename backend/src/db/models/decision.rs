use crate::db::schema::{access_decisions, decision_counts};
use crate::db::DbConn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One recorded decision of the policy decision point.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = access_decisions)]
pub struct AccessDecision {
    pub id: i64,
    pub decided_at: NaiveDateTime,
    pub user_id: Option<String>,
    pub method: String,
    pub route: String,
    pub outcome: String,
    pub reason: String,
    pub client_ip: Option<String>,
    pub device_id: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = access_decisions)]
pub struct NewAccessDecision<'a> {
    pub decided_at: NaiveDateTime,
    pub user_id: Option<&'a str>,
    pub method: &'a str,
    pub route: &'a str,
    pub outcome: &'a str,
    pub reason: &'a str,
    pub client_ip: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// The filters of the decisions feed; every field optional.
#[derive(Clone, Debug, Default)]
pub struct DecisionFilter {
    pub user_id: Option<String>,
    pub route: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Keyset pagination: only ids below this one.
    pub before: Option<i64>,
}

impl AccessDecision {
    pub fn insert(conn: &mut DbConn, new: &NewAccessDecision<'_>) -> QueryResult<()> {
        diesel::insert_into(access_decisions::table)
            .values(new)
            .execute(conn)
            .map(|_| ())
    }

    /// Newest first, `limit` rows matching `filter`.
    pub fn search(
        conn: &mut DbConn,
        filter: &DecisionFilter,
        limit: i64,
    ) -> QueryResult<Vec<AccessDecision>> {
        let mut q = access_decisions::table.into_boxed();
        if let Some(u) = &filter.user_id {
            q = q.filter(access_decisions::user_id.eq(u.clone()));
        }
        if let Some(r) = &filter.route {
            q = q.filter(access_decisions::route.eq(r.clone()));
        }
        if let Some(o) = &filter.outcome {
            q = q.filter(access_decisions::outcome.eq(o.clone()));
        }
        if let Some(r) = &filter.reason {
            q = q.filter(access_decisions::reason.eq(r.clone()));
        }
        if let Some(t) = filter.from {
            q = q.filter(access_decisions::decided_at.ge(t));
        }
        if let Some(t) = filter.to {
            q = q.filter(access_decisions::decided_at.lt(t));
        }
        if let Some(b) = filter.before {
            q = q.filter(access_decisions::id.lt(b));
        }
        q.order(access_decisions::id.desc())
            .limit(limit)
            .select(AccessDecision::as_select())
            .load(conn)
    }

    /// (time, reason) of every deny since `since`, for the charts.
    pub fn denies_since(
        conn: &mut DbConn,
        since: NaiveDateTime,
    ) -> QueryResult<Vec<(NaiveDateTime, String)>> {
        access_decisions::table
            .filter(access_decisions::outcome.eq("deny"))
            .filter(access_decisions::decided_at.ge(since))
            .select((access_decisions::decided_at, access_decisions::reason))
            .load(conn)
    }
}

/// Allowed decisions, counted per route and minute.
pub struct DecisionCount;

impl DecisionCount {
    pub fn insert_batch(
        conn: &mut DbConn,
        minute: NaiveDateTime,
        counts: &[(String, i64)],
    ) -> QueryResult<()> {
        for (route, allowed) in counts {
            diesel::insert_into(decision_counts::table)
                .values((
                    decision_counts::minute.eq(minute),
                    decision_counts::route.eq(route),
                    decision_counts::allowed.eq(allowed),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    pub fn allowed_since(conn: &mut DbConn, since: NaiveDateTime) -> QueryResult<i64> {
        let counts: Vec<i64> = decision_counts::table
            .filter(decision_counts::minute.ge(since))
            .select(decision_counts::allowed)
            .load(conn)?;
        Ok(counts.iter().sum())
    }
}
