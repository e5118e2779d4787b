//! Static evaluation of the expressions an `add_argument` call takes as values: literals,
//! module-level constants bound to literals, and simple arithmetic over them. Anything
//! else (calls, attributes, environment lookups) is unknown, and the caller leaves it out
//! rather than guess.

use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{Expr, ExprContext, ModModule, Number, Operator, Stmt, UnaryOp};
use std::collections::HashMap;
use std::fmt;

/// A Python value known without running the script.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Const {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A list, tuple or set literal.
    Seq(Vec<Const>),
}

impl Const {
    /// The value as Python's `str()` shows it, for a scalar: what argparse's `type`
    /// callable would receive had the value been given on the command line.
    pub(super) fn python_str(&self) -> Option<String> {
        match self {
            Const::Str(s) => Some(s.clone()),
            Const::None | Const::Seq(_) => None,
            scalar => Some(scalar.to_string()),
        }
    }
}

/// Python's `repr()`, near enough to show the author their own value in a reason.
impl fmt::Display for Const {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Const::None => f.write_str("None"),
            Const::Bool(true) => f.write_str("True"),
            Const::Bool(false) => f.write_str("False"),
            Const::Int(i) => write!(f, "{i}"),
            Const::Float(x) => f.write_str(&float_text(*x)),
            Const::Str(s) => write!(f, "'{s}'"),
            Const::Seq(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A float as Python prints it closely enough for `float()` to read it back: always with a
/// decimal point or exponent, so it is not mistaken for an int.
fn float_text(f: f64) -> String {
    let text = f.to_string();
    if text.contains(['.', 'e', 'E', 'n', 'N']) {
        text
    } else {
        format!("{text}.0")
    }
}

/// The module-level names bound exactly once, to a value [`eval`] knows. A name bound twice
/// anywhere in the module (also inside a function, a loop or a `with`) is left out: which
/// binding an `add_argument` call sees depends on control flow.
#[derive(Debug, Default)]
pub(super) struct Constants(HashMap<String, Const>);

impl Constants {
    pub(super) fn of(module: &ModModule) -> Constants {
        let mut bindings = BindingCounter::default();
        for stmt in &module.body {
            bindings.visit_stmt(stmt);
        }
        let mut constants = Constants::default();
        for stmt in &module.body {
            let (targets, value): (Vec<&Expr>, &Expr) = match stmt {
                Stmt::Assign(assign) => (assign.targets.iter().collect(), &assign.value),
                Stmt::AnnAssign(assign) => match &assign.value {
                    Some(value) => (vec![&*assign.target], value),
                    None => continue,
                },
                _ => continue,
            };
            let Some(value) = eval(value, &constants) else {
                continue;
            };
            for target in targets {
                if let Expr::Name(name) = target
                    && bindings.0.get(name.id.as_str()) == Some(&1)
                {
                    constants.0.insert(name.id.to_string(), value.clone());
                }
            }
        }
        constants
    }
}

/// How many times each name is bound (assigned, loop variable, `with … as`, walrus).
#[derive(Default)]
struct BindingCounter(HashMap<String, usize>);

impl<'a> Visitor<'a> for BindingCounter {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(name) = expr
            && name.ctx == ExprContext::Store
        {
            *self.0.entry(name.id.to_string()).or_default() += 1;
        }
        walk_expr(self, expr);
    }
}

/// The value of `expr`, when it is known statically.
pub(super) fn eval(expr: &Expr, constants: &Constants) -> Option<Const> {
    match expr {
        Expr::NoneLiteral(_) => Some(Const::None),
        Expr::BooleanLiteral(b) => Some(Const::Bool(b.value)),
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => i.as_i64().map(Const::Int),
            Number::Float(f) => Some(Const::Float(*f)),
            Number::Complex { .. } => None,
        },
        // Implicit concatenation (`"a" "b"`) is one literal with several parts.
        Expr::StringLiteral(s) => Some(Const::Str(s.value.to_str().to_string())),
        Expr::Name(name) => constants.0.get(name.id.as_str()).cloned(),
        Expr::List(list) => sequence(&list.elts, constants),
        Expr::Tuple(tuple) => sequence(&tuple.elts, constants),
        Expr::Set(set) => sequence(&set.elts, constants),
        Expr::UnaryOp(unary) => match (unary.op, eval(&unary.operand, constants)?) {
            (UnaryOp::USub, Const::Int(i)) => i.checked_neg().map(Const::Int),
            (UnaryOp::USub, Const::Float(f)) => Some(Const::Float(-f)),
            (UnaryOp::UAdd, value @ (Const::Int(_) | Const::Float(_))) => Some(value),
            _ => None,
        },
        Expr::BinOp(binary) => arithmetic(
            eval(&binary.left, constants)?,
            binary.op,
            eval(&binary.right, constants)?,
        ),
        _ => None,
    }
}

fn sequence(elements: &[Expr], constants: &Constants) -> Option<Const> {
    elements
        .iter()
        .map(|element| eval(element, constants))
        .collect::<Option<Vec<_>>>()
        .map(Const::Seq)
}

/// `left op right` as Python computes it, for numbers (`1e-3 * 2`, `2 ** 10`, `-1 / 3`)
/// and string concatenation; `None` where Python would raise or the result is not exact.
fn arithmetic(left: Const, op: Operator, right: Const) -> Option<Const> {
    use Const::{Float, Int, Str};
    let float = |f: f64| f.is_finite().then_some(Float(f));
    match (left, right) {
        (Str(a), Str(b)) if op == Operator::Add => Some(Str(a + &b)),
        (Int(a), Int(b)) => match op {
            Operator::Add => a.checked_add(b).map(Int),
            Operator::Sub => a.checked_sub(b).map(Int),
            Operator::Mult => a.checked_mul(b).map(Int),
            Operator::FloorDiv if b != 0 => {
                // Python floors where Rust truncates towards zero.
                let q = a.checked_div(b)?;
                let inexact_negative = a % b != 0 && (a < 0) != (b < 0);
                Some(Int(if inexact_negative { q - 1 } else { q }))
            }
            Operator::Div if b != 0 => float(a as f64 / b as f64),
            Operator::Pow if b >= 0 => a.checked_pow(u32::try_from(b).ok()?).map(Int),
            Operator::Pow => float((a as f64).powf(b as f64)),
            _ => None,
        },
        (Int(a), Float(b)) => float_arithmetic(a as f64, op, b),
        (Float(a), Int(b)) => float_arithmetic(a, op, b as f64),
        (Float(a), Float(b)) => float_arithmetic(a, op, b),
        _ => None,
    }
}

fn float_arithmetic(a: f64, op: Operator, b: f64) -> Option<Const> {
    let result = match op {
        Operator::Add => a + b,
        Operator::Sub => a - b,
        Operator::Mult => a * b,
        Operator::Div if b != 0.0 => a / b,
        Operator::Pow => a.powf(b),
        _ => return None,
    };
    result.is_finite().then_some(Const::Float(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(source: &str) -> ModModule {
        ruff_python_parser::parse_module(source)
            .expect("valid Python")
            .into_syntax()
    }

    /// The value of the expression assigned last in `source`, with the constants before it.
    fn value_of(source: &str) -> Option<Const> {
        let module = module(source);
        let constants = Constants::of(&module);
        match module.body.last() {
            Some(Stmt::Expr(last)) => eval(&last.value, &constants),
            other => panic!("the source must end with an expression, got {other:?}"),
        }
    }

    #[test]
    fn literals() {
        assert_eq!(value_of("None"), Some(Const::None));
        assert_eq!(value_of("True"), Some(Const::Bool(true)));
        assert_eq!(value_of("-3"), Some(Const::Int(-3)));
        assert_eq!(value_of("+3"), Some(Const::Int(3)));
        assert_eq!(value_of("-0.1"), Some(Const::Float(-0.1)));
        assert_eq!(value_of("1e-3"), Some(Const::Float(0.001)));
        assert_eq!(value_of("1_000"), Some(Const::Int(1000)));
        assert_eq!(value_of("'a' \"b\""), Some(Const::Str("ab".into())));
        assert_eq!(
            value_of("(1, 'x', [2.5])"),
            Some(Const::Seq(vec![
                Const::Int(1),
                Const::Str("x".into()),
                Const::Seq(vec![Const::Float(2.5)])
            ]))
        );
        assert_eq!(value_of("{1}"), Some(Const::Seq(vec![Const::Int(1)])));
    }

    #[test]
    fn unknown_values() {
        for source in [
            "os.environ.get('LR', 0.1)",
            "float('0.1')",
            "f'{x}'",
            "b'raw'",
            "1j",
            "[1, foo()]",
            "-'a'",
            "not True",
            "UNDEFINED",
            "1 / 0",
            "1 // 0",
            "'a' * 3",
            "10 ** 400",
            "99999999999999999999999",
            "9223372036854775807 + 1",
        ] {
            assert_eq!(value_of(source), None, "{source}");
        }
    }

    #[test]
    fn arithmetic_follows_python() {
        assert_eq!(value_of("2 ** 10"), Some(Const::Int(1024)));
        assert_eq!(value_of("10 ** -3"), Some(Const::Float(0.001)));
        assert_eq!(value_of("1 / 4"), Some(Const::Float(0.25)));
        assert_eq!(value_of("7 // 2"), Some(Const::Int(3)));
        assert_eq!(value_of("-7 // 2"), Some(Const::Int(-4)));
        assert_eq!(value_of("7 // -2"), Some(Const::Int(-4)));
        assert_eq!(value_of("-7 // -2"), Some(Const::Int(3)));
        assert_eq!(value_of("1 + 0.5"), Some(Const::Float(1.5)));
        assert_eq!(value_of("3 * 2 - 1"), Some(Const::Int(5)));
        assert_eq!(value_of("'run' + '_1'"), Some(Const::Str("run_1".into())));
    }

    #[test]
    fn module_constants_bound_once() {
        assert_eq!(value_of("LR = 0.01\nLR"), Some(Const::Float(0.01)));
        assert_eq!(
            value_of("BASE = 0.1\nLR: float = BASE / 2\nLR"),
            Some(Const::Float(0.05))
        );
        assert_eq!(value_of("A = B = 3\nB"), Some(Const::Int(3)));
        assert_eq!(value_of("A, B = 1, 2\nA"), None);
        assert_eq!(value_of("LR = 0.01\nLR = 0.02\nLR"), None);
        assert_eq!(value_of("LR = 0.01\nLR *= 2\nLR"), None);
        assert_eq!(value_of("N = 1\nfor N in range(3): pass\nN"), None);
        assert_eq!(value_of("N = 1\ndef f():\n    N = 2\nN"), None);
        assert_eq!(value_of("N = len('ab')\nN"), None);
        assert_eq!(value_of("if True:\n    N = 1\nN"), None);
    }

    #[test]
    fn display_is_python_repr() {
        let value = Const::Seq(vec![
            Const::None,
            Const::Bool(false),
            Const::Int(1),
            Const::Float(2.0),
            Const::Str("a".into()),
        ]);
        assert_eq!(value.to_string(), "[None, False, 1, 2.0, 'a']");
    }

    #[test]
    fn python_str_of_scalars() {
        assert_eq!(Const::Bool(true).python_str().as_deref(), Some("True"));
        assert_eq!(Const::Int(-2).python_str().as_deref(), Some("-2"));
        assert_eq!(Const::Float(1.0).python_str().as_deref(), Some("1.0"));
        assert_eq!(Const::Float(0.25).python_str().as_deref(), Some("0.25"));
        assert_eq!(Const::Str("x".into()).python_str().as_deref(), Some("x"));
        assert_eq!(Const::None.python_str(), None);
        assert_eq!(Const::Seq(vec![]).python_str(), None);
    }
}
