//! Refuses queries with more aliases than allowed. async-graphql limits depth and complexity
//! itself; aliases let one small query ask for the same expensive field many times.

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};
use std::sync::Arc;

pub struct AliasLimit(pub usize);

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimit(self.0))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AliasLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let aliases = count_aliases(&document);
        if aliases > self.0 {
            return Err(ServerError::new(
                format!(
                    "the query uses {aliases} aliases; at most {} are allowed",
                    self.0
                ),
                None,
            ));
        }
        Ok(document)
    }
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    let in_operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| in_selection_set(&op.node.selection_set.node))
        .sum();
    let in_fragments: usize = document
        .fragments
        .values()
        .map(|fragment| in_selection_set(&fragment.node.selection_set.node))
        .sum();
    in_operations + in_fragments
}

fn in_selection_set(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + in_selection_set(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => {
                in_selection_set(&fragment.node.selection_set.node)
            }
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases(query: &str) -> usize {
        count_aliases(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn counts_aliases_everywhere() {
        assert_eq!(aliases("{ me { id } }"), 0);
        assert_eq!(aliases("{ a: me { id } b: me { x: id } }"), 3);
        assert_eq!(
            aliases("{ ...F ... on Query { c: me { id } } } fragment F on Query { d: me { id } }"),
            2
        );
    }
}
