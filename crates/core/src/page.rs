use serde::Serialize;

use crate::FieldError;

/// The default and largest page sizes of every list.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: i64 = 500;

/// Which page of a list to return: keyset pagination on a strictly increasing or decreasing key,
/// so pages stay stable while new rows arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items.
    pub limit: i64,
    /// The key of the last item of the previous page.
    pub after: Option<i64>,
}

impl PageRequest {
    /// Checks a caller's `limit` and `cursor`.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, FieldError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                return Err(FieldError::new(
                    "limit",
                    format!("must be between 1 and {MAX_LIMIT}"),
                ));
            }
        };
        let after =
            match cursor.filter(|c| !c.is_empty()) {
                None => None,
                Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                    FieldError::new("cursor", "is not a cursor this server issued")
                })?),
            };
        Ok(Self { limit, after })
    }

    /// Fetch one more row than the page holds, to know whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `fetch_limit` rows, `key` giving each row's keyset key.
    pub fn from_rows(mut rows: Vec<T>, request: PageRequest, key: impl Fn(&T) -> i64) -> Self {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = more
            .then(|| rows.last().map(|r| encode_cursor(key(r))))
            .flatten();
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with its items converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Cursors are opaque to clients; a prefix keeps them recognisable and versioned.
fn encode_cursor(key: i64) -> String {
    format!("c1.{key:x}")
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    i64::from_str_radix(cursor.strip_prefix("c1.")?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_carry_a_cursor_only_when_more_rows_follow() {
        let request = PageRequest::parse(Some(2), None).unwrap();
        let page = Page::from_rows(vec![10, 11, 12], request, |r| *r);
        assert_eq!(page.items, vec![10, 11]);
        let next = PageRequest::parse(Some(2), page.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after, Some(11));
        let last = Page::from_rows(vec![12], next, |r| *r);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn bad_limits_and_cursors_name_their_field() {
        assert_eq!(
            PageRequest::parse(Some(0), None).unwrap_err().field,
            "limit"
        );
        assert_eq!(
            PageRequest::parse(Some(501), None).unwrap_err().field,
            "limit"
        );
        assert_eq!(
            PageRequest::parse(None, Some("zzz")).unwrap_err().field,
            "cursor"
        );
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
    }
}
