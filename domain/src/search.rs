//! Portable text matching for list filters, on SQLite and PostgreSQL alike.

use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Alias, Expr, Func, LikeExpr, SimpleExpr};

/// `LIKE` wildcards in user input match themselves.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Case-insensitive "contains" on a text column.
pub fn contains_text(column: impl ColumnTrait, needle: &str) -> SimpleExpr {
    let pattern = format!("%{}%", escape_like(&needle.to_lowercase()));
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

/// Whether a JSON array of strings (stored as JSON) holds `value` exactly.
pub fn json_array_has(column: impl ColumnTrait, value: &str) -> SimpleExpr {
    let quoted = serde_json::Value::String(value.to_string()).to_string();
    let pattern = format!("%{}%", escape_like(&quoted));
    Expr::expr(Func::cast_as(Expr::col(column), Alias::new("TEXT")))
        .like(LikeExpr::new(pattern).escape('\\'))
}
