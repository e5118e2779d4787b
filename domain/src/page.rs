//! Keyset pagination for Relay connections. Ids are UUID v7, so "after this id" is "created
//! after this row"; cursors are the id, opaque to clients.

use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ColumnTrait, Order, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Uuid>,
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }

    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, E>>()?,
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        })
    }
}

impl PageRequest {
    /// Checks `first` (1..=100, default 20) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<&str>) -> Result<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (1..=MAX_PAGE_SIZE as i32).contains(&n) => n as u64,
            Some(_) => {
                return Err(Error::invalid(
                    "first",
                    format!("first must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let after = after.map(decode_cursor).transpose()?;
        Ok(Self { first, after })
    }

    /// Restricts and orders `query` to this page; one extra row tells whether more follow.
    pub fn apply<Q, C>(&self, query: Q, id: C, order: Order) -> Q
    where
        Q: QueryFilter + QueryOrder + QuerySelect,
        C: ColumnTrait,
    {
        let query = match (self.after, &order) {
            (Some(after), Order::Desc) => query.filter(id.lt(after)),
            (Some(after), _) => query.filter(id.gt(after)),
            (None, _) => query,
        };
        query.order_by(id, order).limit(self.first + 1)
    }

    /// Cuts the extra row fetched by [`apply`](Self::apply).
    pub fn finish<T>(&self, mut rows: Vec<T>) -> Page<T> {
        let has_next_page = rows.len() as u64 > self.first;
        rows.truncate(self.first as usize);
        Page {
            items: rows,
            has_next_page,
            has_previous_page: self.after.is_some(),
        }
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Result<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| Error::invalid("after", "not a cursor returned by this API"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        let page = PageRequest::new(Some(5), Some(&encode_cursor(id))).expect("valid");
        assert_eq!(page.after, Some(id));
        assert!(PageRequest::new(None, Some("not-a-cursor")).is_err());
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(101), None).is_err());
    }

    #[test]
    fn finish_trims_the_probe_row() {
        let page = PageRequest::new(Some(2), None).expect("valid");
        let done = page.finish(vec![1, 2, 3]);
        assert_eq!(done.items, vec![1, 2]);
        assert!(done.has_next_page);
        assert!(!page.finish(vec![1, 2]).has_next_page);
    }
}
