//! `schema.graphql` at the repository root is what `keynet schema` prints; this fails when
//! someone changed the GraphQL API without regenerating it.

#[test]
fn schema_graphql_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed =
        std::fs::read_to_string(path).expect("schema.graphql exists at the repository root");
    let current = keynet_api::graphql::sdl();
    if committed != current {
        let first_difference = committed
            .lines()
            .zip(current.lines())
            .enumerate()
            .find(|(_, (old, new))| old != new)
            .map(|(n, (old, new))| format!("first difference at line {}:\n  schema.graphql: {old}\n  the code:       {new}", n + 1))
            .unwrap_or_else(|| {
                format!(
                    "one is a prefix of the other ({} lines in schema.graphql, {} from the code)",
                    committed.lines().count(),
                    current.lines().count()
                )
            });
        panic!(
            "schema.graphql is stale: run `cargo run -- schema > schema.graphql`\n{first_difference}"
        );
    }
}
