//! Relay connections built from domain pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use keynet_domain::page::{Page, encode_cursor};
use uuid::Uuid;

pub type Conn<T> = Connection<String, T>;

pub fn connection<M, T: OutputType>(
    page: Page<M>,
    id: impl Fn(&M) -> Uuid,
    node: impl Fn(M) -> T,
) -> Conn<T> {
    let mut connection = Connection::new(page.has_previous_page, page.has_next_page);
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(encode_cursor(id(&item)), node(item))),
    );
    connection
}

/// Complexity of a connection field: its page size times what each node asks for.
pub fn list_complexity(child_complexity: usize, first: Option<i32>) -> usize {
    let first = first
        .unwrap_or(keynet_domain::page::DEFAULT_PAGE_SIZE as i32)
        .max(1) as usize;
    first.saturating_mul(child_complexity.max(1))
}
