//! Statements whose SQL text never changes, sent so that each connection prepares them once.
//!
//! diesel prepares an `UPDATE` it builds and a `sql_query` afresh on every call: their SQL may
//! vary with the values, so it never caches them. (On PostgreSQL the same holds for the `INSERT`
//! of a derived `Insertable` that may write `DEFAULT`; every one here says
//! `treat_none_as_default_value = false`, so `None` is `NULL`, which is every nullable column's
//! default.) On a hot path that is a parse and plan per call: on PostgreSQL about a quarter of
//! the server's CPU in the create benchmark. A [`Fixed`] statement has one text, so diesel caches
//! it by that text, as it does any query without a static type id.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, AsExpression, Expression, SelectableExpression, TypedExpressionType,
    ValidGrouping, is_aggregate,
};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::Error;
use diesel::sql_types::{SqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A fixed SQL text with a `?` where each bind value goes, rendered with the backend's own
/// placeholders (`$1` on PostgreSQL).
pub struct Fixed<'a, DB: Backend> {
    sql: &'static str,
    binds: Vec<Box<dyn QueryFragment<DB> + Send + 'a>>,
}

impl<'a, DB: Backend> Fixed<'a, DB> {
    /// The statement `sql`, whose `?` marks take the values [`Fixed::bind`] adds, in order;
    /// `sql` holds no other `?`.
    pub fn new(sql: &'static str) -> Self {
        Self {
            sql,
            binds: Vec::new(),
        }
    }

    /// Binds the next `?` to `value` as SQL type `ST`.
    pub fn bind<ST, V>(mut self, value: V) -> Self
    where
        ST: SqlType + TypedExpressionType,
        V: AsExpression<ST>,
        V::Expression: QueryFragment<DB> + Send + 'a,
    {
        self.binds.push(Box::new(value.as_expression()));
        self
    }
}

impl<DB: Backend> QueryFragment<DB> for Fixed<'_, DB> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut pieces = self.sql.split('?');
        if pieces.clone().count() != self.binds.len() + 1 {
            return Err(Error::QueryBuilderError(
                format!(
                    "{} values bound to a statement with {} placeholders: {}",
                    self.binds.len(),
                    self.sql.matches('?').count(),
                    self.sql
                )
                .into(),
            ));
        }
        if let Some(first) = pieces.next() {
            out.push_sql(first);
        }
        for (bind, piece) in self.binds.iter().zip(pieces) {
            bind.walk_ast(out.reborrow())?;
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl<DB: Backend> QueryId for Fixed<'_, DB> {
    type QueryId = ();
    // Keyed by its text in diesel's statement cache: one type serves many statements.
    const HAS_STATIC_QUERY_ID: bool = false;
}

// Rows come back by name (`QueryableByName`), as from `sql_query`.
impl<DB: Backend> Query for Fixed<'_, DB> {
    type SqlType = Untyped;
}

impl<DB: Backend, Conn> RunQueryDsl<Conn> for Fixed<'_, DB> {}

/// A fixed SQL expression of type `ST` inside a query diesel builds, for what its DSL cannot
/// write (a correlated subquery with a backend's own aggregate). `diesel::dsl::sql` would do,
/// but it marks the whole statement as never to be cached, since its text could hold values,
/// so the query would be parsed and planned again on every call; a `&'static str` cannot.
pub struct FixedExpr<ST> {
    sql: &'static str,
    sql_type: PhantomData<fn() -> ST>,
}

impl<ST> FixedExpr<ST> {
    /// The expression `sql`, which binds no values.
    pub fn new(sql: &'static str) -> Self {
        Self {
            sql,
            sql_type: PhantomData,
        }
    }
}

impl<ST: TypedExpressionType> Expression for FixedExpr<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for FixedExpr<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<ST> QueryId for FixedExpr<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

// Like `diesel::dsl::sql`, the text is trusted to name only tables the query has.
impl<QS, ST: TypedExpressionType> SelectableExpression<QS> for FixedExpr<ST> {}

impl<QS, ST: TypedExpressionType> AppearsOnTable<QS> for FixedExpr<ST> {}

impl<ST, GB> ValidGrouping<GB> for FixedExpr<ST> {
    type IsAggregate = is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::debug_query;
    use diesel::pg::Pg;
    use diesel::sql_types::{BigInt, Text};
    use diesel::sqlite::Sqlite;

    #[test]
    fn each_backend_gets_its_own_placeholders() {
        let q = Fixed::<Pg>::new("UPDATE t SET a = ? WHERE id = ?")
            .bind::<Text, _>("x")
            .bind::<BigInt, _>(7_i64);
        assert_eq!(
            debug_query(&q).to_string(),
            "UPDATE t SET a = $1 WHERE id = $2 -- binds: [\"x\", 7]"
        );
        let q = Fixed::<Sqlite>::new("UPDATE t SET a = ? WHERE id = ?")
            .bind::<Text, _>("x")
            .bind::<BigInt, _>(7_i64);
        assert_eq!(
            debug_query(&q).to_string(),
            "UPDATE t SET a = ? WHERE id = ? -- binds: [\"x\", 7]"
        );
    }

    #[test]
    fn a_missing_or_extra_value_is_an_error_not_a_wrong_statement() {
        use diesel::Connection;
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        let missing = Fixed::<Sqlite>::new("SELECT ? + ?").bind::<BigInt, _>(1_i64);
        assert!(matches!(
            missing.execute(&mut conn),
            Err(Error::QueryBuilderError(_))
        ));
        let extra = Fixed::<Sqlite>::new("SELECT 1").bind::<BigInt, _>(1_i64);
        assert!(matches!(
            extra.execute(&mut conn),
            Err(Error::QueryBuilderError(_))
        ));
        let right = Fixed::<Sqlite>::new("SELECT ? + ?")
            .bind::<BigInt, _>(1_i64)
            .bind::<BigInt, _>(2_i64);
        assert_eq!(right.execute(&mut conn).unwrap(), 0);
    }

    #[test]
    fn a_fixed_expression_keeps_its_query_cacheable_where_dsl_sql_would_not() {
        use crate::schema::organisations;
        use diesel::prelude::*;
        use diesel::sql_types::Nullable;
        let subquery =
            "(SELECT count(*) FROM people WHERE people.organisation_id = organisations.id)";
        let fixed = organisations::table
            .select((
                organisations::name,
                FixedExpr::<Nullable<BigInt>>::new(subquery),
            ))
            .filter(organisations::id.eq(7_i64))
            .into_boxed::<Pg>();
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&fixed, &Pg).unwrap());
        assert!(debug_query(&fixed).to_string().contains(subquery));
        let literal = organisations::table
            .select((
                organisations::name,
                diesel::dsl::sql::<Nullable<BigInt>>(subquery),
            ))
            .into_boxed::<Sqlite>();
        assert!(!QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&literal, &Sqlite).unwrap());
    }
}
