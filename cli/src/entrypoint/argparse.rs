//! The hyperparameters of an entrypoint, read from its argparse `add_argument` calls.
//!
//! The platform passes a hyperparameter as `--<name> <value>` (a switch as a bare
//! `--<name>`), so only arguments argparse accepts in that form become parameters:
//!
//! - Every `<anything>.add_argument(...)` call counts, wherever it is (module level, inside
//!   a function, on an argument group or a subparser), in source order.
//! - The name is the first long option as written, without its dashes (`--batch-size` →
//!   `batch-size`); `dest=` does not change it. Positional and short-only arguments are
//!   skipped.
//! - `action="store_true"` is a BOOL switch. Every other action but `store` (including
//!   custom action classes) is skipped: none of them reads one value.
//! - `nargs` of `+`, `*`, `...` or an integer other than 1 is skipped (not one value). `?`
//!   and `1` are kept: `--name value` works for both (with `1` the trainer gets a
//!   one-element list, as it would from the command line).
//! - The type is `type=int|float|str`; any other callable (`str2bool`, `Path`) makes a STR
//!   parameter whose values are the text the callable receives. Without `type=` it follows
//!   the default's literal, else STR. `type=bool` and a True/False default without `type=`
//!   are skipped: the trainer would get the text "false", which Python takes for true.
//! - A default, `required=`, `help=` and `choices=` are read when statically known (see
//!   [`super::values`]); an unknown default or one that is not a single value (a list) is
//!   left out, and the trainer's own default applies when the job does not set one.
//! - A parameter the server would refuse is skipped with the server's reason: the checks
//!   are the server's own ([`HyperParameter::check`]), worded here for the argument; so is
//!   a name declared twice (the first is kept). A help over the server's limit is cut
//!   instead (see [`fit_help`]).

use super::values::{Const, Constants, eval};
use super::{Extraction, Skipped, line_column};
use keynet_hyperparameters::{
    HyperParameter, MAX_CHOICES, MAX_HELP, MAX_NAME, MAX_PARAMETERS, MAX_STRING_VALUE, ParamType,
    Refusal, ValueError, check_name,
};
use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{Expr, ExprCall, ModModule};
use ruff_text_size::Ranged;
use serde_json::Value;
use std::collections::HashMap;

pub(super) fn extract(source: &str, module: &ModModule) -> Extraction {
    let constants = Constants::of(module);
    let mut finder = CallFinder::default();
    finder.visit_body(&module.body);
    let mut extraction = Extraction::default();
    let mut declared_on: HashMap<String, usize> = HashMap::new();
    for call in finder.0 {
        let line = line_column(source, call.start()).0;
        let (argument, parameter) = declaration(call, source, &constants);
        let checked = parameter
            .and_then(|parameter| match parameter.check() {
                Ok(()) => Ok(parameter),
                Err(refusal) => Err(refused(&parameter.name, &refusal)),
            })
            .and_then(|parameter| match declared_on.get(&parameter.name) {
                Some(first) => Err(format!("{argument} is already declared on line {first}")),
                None if extraction.parameters.len() >= MAX_PARAMETERS => Err(format!(
                    "the platform accepts at most {MAX_PARAMETERS} hyperparameters"
                )),
                None => Ok(parameter),
            });
        match checked {
            Ok(parameter) => {
                declared_on.insert(parameter.name.clone(), line);
                extraction.parameters.push(parameter);
            }
            Err(reason) => extraction.skipped.push(Skipped {
                argument,
                line,
                reason,
            }),
        }
    }
    extraction
}

/// The `add_argument` calls of the module, in source order.
#[derive(Default)]
struct CallFinder<'a>(Vec<&'a ExprCall>);

impl<'a> Visitor<'a> for CallFinder<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr
            && let Expr::Attribute(attribute) = &*call.func
            && attribute.attr.as_str() == "add_argument"
        {
            self.0.push(call);
        }
        walk_expr(self, expr);
    }
}

/// How an argument's value is typed: by `type=` or from its default.
enum Typing {
    /// `type=int|float|str|bool`.
    Builtin(ParamType),
    /// `type=` another callable: a STR parameter, the text the callable gets.
    Callable,
    /// No `type=`: argparse hands the trainer the text, the type follows the default.
    Inferred,
}

/// The argument label (for a skip) and the parameter an `add_argument` call declares.
fn declaration(
    call: &ExprCall,
    source: &str,
    constants: &Constants,
) -> (String, Result<HyperParameter, String>) {
    let arguments = &call.arguments;
    let option_strings: Option<Vec<String>> = arguments
        .args
        .iter()
        .map(|arg| match eval(arg, constants) {
            Some(Const::Str(s)) => Some(s),
            _ => None,
        })
        .collect();
    let Some(option_strings) = option_strings.filter(|strings| !strings.is_empty()) else {
        let label = match arguments.args.first() {
            Some(first) => text(source, first),
            None => text(source, call),
        };
        return (
            label,
            Err("its option strings are not literal strings".to_string()),
        );
    };
    let long = option_strings.iter().find(|s| s.starts_with("--"));
    let label = long.unwrap_or(&option_strings[0]).clone();
    let parameter = match long {
        _ if !option_strings[0].starts_with('-') => {
            Err("a positional argument cannot be passed as --name value; make it an option".into())
        }
        None => Err(format!(
            "it has no long option, and the platform passes values as --name value; add one \
             such as --{}",
            option_strings[0].trim_start_matches('-')
        )),
        Some(long) => parameter(&long[2..], call, source, constants),
    };
    (label, parameter)
}

fn parameter(
    name: &str,
    call: &ExprCall,
    source: &str,
    constants: &Constants,
) -> Result<HyperParameter, String> {
    check_name(name).map_err(|refusal| refused(name, &refusal))?;
    let arguments = &call.arguments;
    if let Some(unpacked) = arguments.keywords.iter().find(|k| k.arg.is_none()) {
        return Err(format!(
            "its keyword arguments come from {}, which cannot be read statically",
            text(source, unpacked)
        ));
    }
    let keyword = |name: &str| arguments.find_keyword(name).map(|k| &k.value);
    let known = |name: &str| keyword(name).and_then(|value| eval(value, constants));
    let required = known("required") == Some(Const::Bool(true));
    let help = match known("help") {
        Some(Const::Str(help)) => Some(fit_help(help)),
        _ => None,
    };
    let default = keyword("default").map(|value| eval(value, constants));

    match keyword("action").map(|action| (eval(action, constants), action)) {
        None => {}
        Some((Some(Const::Str(action)), _)) if action == "store" => {}
        Some((Some(Const::Str(action)), _)) if action == "store_true" => {
            let default = match default {
                None | Some(Some(Const::Bool(false))) => Some(Value::Bool(false)),
                Some(Some(Const::Bool(true))) => {
                    return Err(
                        "a store_true switch with default=True is on whether or not it is passed"
                            .into(),
                    );
                }
                Some(_) => None,
            };
            return Ok(HyperParameter {
                name: name.to_string(),
                param_type: ParamType::Bool,
                default,
                required,
                help,
                choices: Vec::new(),
                switch: true,
            });
        }
        Some((Some(Const::Str(action)), _)) => {
            return Err(match action.as_str() {
                "store_false" => "action=\"store_false\" turns the value off when passed; the \
                                  platform passes only switches that turn on (store_true)"
                    .to_string(),
                other => format!("action={other:?} does not take one value as --name value"),
            });
        }
        Some((_, action)) => {
            return Err(format!(
                "action={} is not a built-in action that takes one value",
                text(source, action)
            ));
        }
    }

    if let Some(nargs) = keyword("nargs") {
        check_nargs(nargs, constants)?;
    }

    let typing = match keyword("type") {
        None => Typing::Inferred,
        Some(callable) => builtin_type(callable).map_or(Typing::Callable, Typing::Builtin),
    };
    // A job that sets such a parameter to false would pass `--name false`, and the trainer
    // would read the text "false", which Python takes for true.
    match (&typing, &default) {
        (Typing::Builtin(ParamType::Bool), _) => {
            return Err("type=bool makes any text true, \"false\" too; use \
                        action=\"store_true\""
                .into());
        }
        (Typing::Inferred, Some(Some(Const::Bool(_)))) => {
            return Err(
                "a True/False default without type= or action= receives text \
                        (\"false\" is true in Python); use action=\"store_true\""
                    .into(),
            );
        }
        _ => {}
    }
    let param_type = match (&typing, &default) {
        (Typing::Builtin(param_type), _) => *param_type,
        (Typing::Callable, _) => ParamType::Str,
        (Typing::Inferred, Some(Some(Const::Int(_)))) => ParamType::Int,
        (Typing::Inferred, Some(Some(Const::Float(_)))) => ParamType::Float,
        (Typing::Inferred, _) => ParamType::Str,
    };
    let default = match default.flatten() {
        None | Some(Const::None | Const::Seq(_)) => None,
        Some(value) => Some(
            default_value(param_type, value)
                .map_err(|value| format!("its default {value} is not {}", a(param_type)))?,
        ),
    };
    // A callable receives the text of a choice as it would the text of a value; without
    // `type=`, argparse compares the text itself with the choices, so they must be strings.
    let render = !matches!(typing, Typing::Inferred);
    let choices = match known("choices") {
        Some(Const::Seq(choices)) => choices
            .into_iter()
            .map(|choice| {
                choice_value(param_type, &choice, render)
                    .ok_or_else(|| format!("its choice {choice} is not {}", a(param_type)))
            })
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    Ok(HyperParameter {
        name: name.to_string(),
        param_type,
        default,
        required,
        help,
        choices,
        switch: false,
    })
}

/// Refuses an `nargs` under which `--name value` is not how the argument is given.
fn check_nargs(nargs: &Expr, constants: &Constants) -> Result<(), String> {
    // argparse's own constants, spelled `argparse.ONE_OR_MORE` etc.
    let value = match nargs {
        Expr::Attribute(attribute) => match attribute.attr.as_str() {
            "OPTIONAL" => Some(Const::Str("?".into())),
            "ZERO_OR_MORE" => Some(Const::Str("*".into())),
            "ONE_OR_MORE" => Some(Const::Str("+".into())),
            "REMAINDER" => Some(Const::Str("...".into())),
            _ => None,
        },
        _ => eval(nargs, constants),
    };
    match value {
        Some(Const::Int(1)) => Ok(()),
        Some(Const::Str(s)) if s == "?" => Ok(()),
        Some(Const::Int(0)) => Err("nargs=0 takes no value".into()),
        Some(Const::Int(n)) => Err(format!("nargs={n} takes several values")),
        Some(Const::Str(s)) if s == "+" || s == "*" => {
            Err(format!("nargs={s:?} takes several values"))
        }
        Some(Const::Str(s)) if s == "..." => {
            Err("nargs=REMAINDER takes the rest of the command line".into())
        }
        _ => Err("its nargs cannot be read statically".into()),
    }
}

/// The parameter type of `type=int|float|str|bool` (also spelled `builtins.int`).
fn builtin_type(callable: &Expr) -> Option<ParamType> {
    let name = match callable {
        Expr::Name(name) => name.id.as_str(),
        Expr::Attribute(attribute) if matches!(&*attribute.value, Expr::Name(module) if module.id.as_str() == "builtins") => {
            attribute.attr.as_str()
        }
        _ => return None,
    };
    Some(match name {
        "int" => ParamType::Int,
        "float" => ParamType::Float,
        "str" => ParamType::Str,
        "bool" => ParamType::Bool,
        _ => return None,
    })
}

/// The default as the trainer sees it when the job leaves the parameter out, as a value of
/// `param_type`. argparse passes a string default through `type=`, so `type=int,
/// default="3"` is 3; any other default stays as written.
fn default_value(param_type: ParamType, value: Const) -> Result<Value, Const> {
    match (param_type, value) {
        (ParamType::Int, Const::Str(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Ok(Value::from(i)),
            Err(_) => Err(Const::Str(s)),
        },
        (ParamType::Float, Const::Str(s)) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::from(f)),
            _ => Err(Const::Str(s)),
        },
        (param_type, value) => choice_value(param_type, &value, true).ok_or(value),
    }
}

/// A literal as a value of `param_type`: an int is a float where a float is expected, and
/// with `render`, a scalar is its Python text for a STR parameter.
fn choice_value(param_type: ParamType, value: &Const, render: bool) -> Option<Value> {
    match (param_type, value) {
        (ParamType::Str, Const::Str(s)) => Some(Value::from(s.as_str())),
        (ParamType::Str, value) if render => value.python_str().map(Value::from),
        (ParamType::Int, Const::Int(i)) => Some(Value::from(*i)),
        (ParamType::Float, Const::Int(i)) => Some(Value::from(*i as f64)),
        (ParamType::Float, Const::Float(f)) => Some(Value::from(*f)),
        (ParamType::Bool, Const::Bool(b)) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// The help as the server accepts it: a help longer than the server's limit is cut (with
/// an ellipsis) rather than losing the parameter over its documentation.
fn fit_help(help: String) -> String {
    if help.chars().count() <= MAX_HELP {
        return help;
    }
    let mut cut: String = help.chars().take(MAX_HELP - 1).collect();
    cut.push('…');
    cut
}

/// The server's refusal of the declaration `name`, worded for the argument it skips: the
/// server's own message names the parameter among the others of a schema, a skip is
/// already listed under its argument.
fn refused(name: &str, refusal: &Refusal) -> String {
    match refusal {
        Refusal::InvalidName => format!(
            "{name:?} is not a name the platform accepts (letters, digits, _ and -, \
             starting with a letter or _, at most {MAX_NAME} characters)"
        ),
        // Not met after extraction (a long help is cut, a switch is a BOOL), but worded
        // all the same should that change.
        Refusal::HelpTooLong => format!("its help is longer than {MAX_HELP} characters"),
        Refusal::SwitchNotBool => "it is a switch, so its type must be BOOL".into(),
        Refusal::TooManyChoices => format!("it has more than {MAX_CHOICES} choices"),
        Refusal::Choice { choice, error } => format!("a choice {}", not_of_type(choice, error)),
        Refusal::Default { default, error } => {
            format!("its default {}", not_of_type(default, error))
        }
        Refusal::DefaultNotAChoice { default } => {
            format!("its default {default} is not one of its choices")
        }
    }
}

/// Why `value` is not a value of its parameter's type, after the words naming it.
fn not_of_type(value: &Value, error: &ValueError) -> String {
    match error {
        ValueError::TooLong => format!("{value} is longer than {MAX_STRING_VALUE} characters"),
        // Only a FLOAT requires a finite number.
        ValueError::NotFinite => format!("{value} is not of type {:?}", ParamType::Float),
        ValueError::WrongType { expected, .. } => format!("{value} is not of type {expected:?}"),
    }
}

/// The type as a reason names it: "an integer", "a string" and so on.
fn a(param_type: ParamType) -> &'static str {
    match param_type {
        ParamType::Str => "a string",
        ParamType::Int => "an integer",
        ParamType::Float => "a number",
        ParamType::Bool => "True or False",
    }
}

/// The source text of a node, for naming what cannot be read.
fn text(source: &str, node: &impl Ranged) -> String {
    let range = node.range();
    source
        .get(usize::from(range.start())..usize::from(range.end()))
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::HyperParameterInput;
    use serde_json::json;

    fn extraction(source: &str) -> Extraction {
        let module = ruff_python_parser::parse_module(source)
            .expect("valid Python")
            .into_syntax();
        extract(source, &module)
    }

    /// The single parameter `source` declares, as JSON.
    fn only(source: &str) -> Value {
        let extraction = extraction(source);
        assert_eq!(extraction.skipped, [], "{source}");
        match extraction.parameters.as_slice() {
            [parameter] => {
                serde_json::to_value(HyperParameterInput::from(parameter)).expect("serializes")
            }
            other => panic!("expected one parameter from {source}, got {other:?}"),
        }
    }

    /// The reason the single argument of `source` is skipped.
    fn skipped(source: &str) -> String {
        let extraction = extraction(source);
        assert_eq!(extraction.parameters, [], "{source}");
        match extraction.skipped.as_slice() {
            [skipped] => skipped.reason.clone(),
            other => panic!("expected one skip from {source}, got {other:?}"),
        }
    }

    #[test]
    fn serializes_as_the_graphql_input() {
        assert_eq!(
            only("p.add_argument('--lr', type=float, default=0.01, help='learning rate')"),
            json!({"name": "lr", "type": "FLOAT", "default": 0.01, "required": false,
                   "help": "learning rate", "choices": [], "switch": false})
        );
    }

    #[test]
    fn the_name_is_the_first_long_option_as_written() {
        let names = |source: &str| -> Vec<String> {
            extraction(source)
                .parameters
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        assert_eq!(
            names(
                "p.add_argument('-b', '--batch-size', '--bs', dest='bs', type=int)\n\
                 p.add_argument('--img_size', type=int)"
            ),
            ["batch-size", "img_size"]
        );
    }

    #[test]
    fn types_from_type_or_the_default() {
        let type_of = |source: &str| only(source)["type"].clone();
        assert_eq!(type_of("p.add_argument('--n', type=int)"), json!("INT"));
        assert_eq!(
            type_of("p.add_argument('--n', type=builtins.float)"),
            json!("FLOAT")
        );
        assert_eq!(
            type_of("p.add_argument('--n', type=str2bool)"),
            json!("STR")
        );
        assert_eq!(type_of("p.add_argument('--n', type=Path)"), json!("STR"));
        assert_eq!(
            type_of("p.add_argument('--n', type=lambda s: s)"),
            json!("STR")
        );
        assert_eq!(type_of("p.add_argument('--n', default=3)"), json!("INT"));
        assert_eq!(
            type_of("p.add_argument('--n', default=-0.1)"),
            json!("FLOAT")
        );
        assert_eq!(type_of("p.add_argument('--n', default='x')"), json!("STR"));
        assert_eq!(type_of("p.add_argument('--n', default=None)"), json!("STR"));
        assert_eq!(type_of("p.add_argument('--n', default=f())"), json!("STR"));
        assert_eq!(type_of("p.add_argument('--n')"), json!("STR"));
    }

    #[test]
    fn defaults_as_the_trainer_sees_them() {
        let default_of = |source: &str| only(source)["default"].clone();
        assert_eq!(
            default_of("p.add_argument('--n', type=float, default=1)"),
            json!(1.0)
        );
        assert_eq!(
            default_of("p.add_argument('--n', type=int, default=' 3')"),
            json!(3)
        );
        assert_eq!(
            default_of("p.add_argument('--n', type=float, default='1e-3')"),
            json!(0.001)
        );
        assert_eq!(
            default_of("p.add_argument('--n', type=str, default=0)"),
            json!("0")
        );
        assert_eq!(
            default_of("p.add_argument('--n', type=str2bool, default=True)"),
            json!("True")
        );
        assert_eq!(
            default_of("p.add_argument('--n', default='a' 'b')"),
            json!("ab")
        );
        assert_eq!(
            default_of("p.add_argument('--n', default=2 ** 4)"),
            json!(16)
        );
        assert_eq!(
            default_of("p.add_argument('--n', default=None)"),
            Value::Null
        );
        assert_eq!(
            default_of("p.add_argument('--n', default=[1, 2])"),
            Value::Null
        );
        assert_eq!(
            default_of("p.add_argument('--n', type=float, default=os.environ.get('N', 1))"),
            Value::Null
        );
        assert_eq!(
            default_of("LR = 3e-4\np.add_argument('--n', default=LR)"),
            json!(0.0003)
        );
    }

    #[test]
    fn defaults_the_server_would_refuse() {
        assert_eq!(
            skipped("p.add_argument('--n', type=int, default=0.5)"),
            "its default 0.5 is not an integer"
        );
        assert_eq!(
            skipped("p.add_argument('--n', type=int, default='many')"),
            "its default 'many' is not an integer"
        );
        assert_eq!(
            skipped("p.add_argument('--n', type=float, default=True)"),
            "its default True is not a number"
        );
    }

    #[test]
    fn required_help_and_choices() {
        assert_eq!(
            only(
                "OPTIMIZERS = ('sgd', 'adam')\n\
                 p.add_argument('--opt', required=True, choices=OPTIMIZERS, \
                 help='optimizer ' '(default: %(default)s)')"
            ),
            json!({"name": "opt", "type": "STR", "default": null, "required": true,
                   "help": "optimizer (default: %(default)s)", "choices": ["sgd", "adam"],
                   "switch": false})
        );
        let parameter = only("p.add_argument('--n', type=float, choices=[1, 0.5], help=HELP)");
        assert_eq!(parameter["choices"], json!([1.0, 0.5]));
        assert_eq!(parameter["help"], Value::Null);
        assert_eq!(
            only("p.add_argument('--n', type=int, choices=range(4))")["choices"],
            json!([])
        );
        assert_eq!(
            only("p.add_argument('--n', type=str2int, choices=[1, 2])")["choices"],
            json!(["1", "2"])
        );
    }

    #[test]
    fn choices_the_server_would_refuse() {
        assert_eq!(
            skipped("p.add_argument('--n', default='lamb', choices=['sgd', 'adam'])"),
            "its default \"lamb\" is not one of its choices"
        );
        // Without type=, argparse compares the text given with the choices: never equal.
        assert_eq!(
            skipped("p.add_argument('--n', choices=[1, 2])"),
            "its choice 1 is not a string"
        );
        assert_eq!(
            skipped("p.add_argument('--n', type=int, choices=[1, None])"),
            "its choice None is not an integer"
        );
    }

    #[test]
    fn store_true_is_a_switch() {
        let switch = json!({"name": "amp", "type": "BOOL", "default": false, "required": false,
                            "help": "mixed precision", "choices": [], "switch": true});
        assert_eq!(
            only("p.add_argument('--amp', action='store_true', help='mixed precision')"),
            switch
        );
        assert_eq!(
            only(
                "p.add_argument('--amp', action='store_true', default=False, help='mixed precision')"
            ),
            switch
        );
        assert_eq!(
            only("p.add_argument('--amp', action='store_true', default=AMP)")["default"],
            Value::Null
        );
        assert_eq!(
            skipped("p.add_argument('--amp', action='store_true', default=True)"),
            "a store_true switch with default=True is on whether or not it is passed"
        );
        assert_eq!(
            only("p.add_argument('--n', action='store', type=int)")["type"],
            json!("INT")
        );
    }

    #[test]
    fn booleans_that_would_read_false_as_true_are_skipped() {
        assert!(skipped("p.add_argument('--aug', type=bool, default=True)").contains("type=bool"));
        assert!(
            skipped("p.add_argument('--resume', nargs='?', default=False)")
                .contains("True/False default")
        );
    }

    #[test]
    fn actions_without_one_value_are_skipped() {
        assert!(
            skipped("p.add_argument('--no-aug', action='store_false')").contains("store_false")
        );
        for action in [
            "store_const",
            "append",
            "append_const",
            "count",
            "extend",
            "version",
            "help",
        ] {
            assert_eq!(
                skipped(&format!("p.add_argument('--x', action='{action}')")),
                format!("action=\"{action}\" does not take one value as --name value")
            );
        }
        assert_eq!(
            skipped("p.add_argument('--x', action=argparse.BooleanOptionalAction)"),
            "action=argparse.BooleanOptionalAction is not a built-in action that takes one value"
        );
    }

    #[test]
    fn nargs() {
        for kept in ["'?'", "1", "argparse.OPTIONAL"] {
            let parameter = only(&format!("p.add_argument('--x', type=int, nargs={kept})"));
            assert_eq!(parameter["type"], json!("INT"), "{kept}");
        }
        assert_eq!(
            only("p.add_argument('--x', type=float, nargs=1, default=[0.5])")["default"],
            Value::Null
        );
        for (nargs, reason) in [
            ("'+'", "nargs=\"+\" takes several values"),
            ("'*'", "nargs=\"*\" takes several values"),
            ("argparse.ONE_OR_MORE", "nargs=\"+\" takes several values"),
            ("2", "nargs=2 takes several values"),
            ("0", "nargs=0 takes no value"),
            (
                "argparse.REMAINDER",
                "nargs=REMAINDER takes the rest of the command line",
            ),
            (
                "'...'",
                "nargs=REMAINDER takes the rest of the command line",
            ),
            ("N", "its nargs cannot be read statically"),
        ] {
            assert_eq!(
                skipped(&format!("p.add_argument('--x', nargs={nargs})")),
                reason
            );
        }
    }

    #[test]
    fn arguments_not_passable_as_long_options() {
        let extraction = extraction(
            "p.add_argument('data')\n\
             p.add_argument('-v', type=int)\n\
             p.add_argument('--model.name')\n\
             p.add_argument('--2d')\n\
             p.add_argument(f'--{name}')\n\
             p.add_argument(*FLAGS)\n\
             p.add_argument()\n\
             p.add_argument('--x', **options)\n",
        );
        assert_eq!(extraction.parameters, []);
        let skipped: Vec<(&str, usize)> = extraction
            .skipped
            .iter()
            .map(|s| (s.argument.as_str(), s.line))
            .collect();
        assert_eq!(
            skipped,
            [
                ("data", 1),
                ("-v", 2),
                ("--model.name", 3),
                ("--2d", 4),
                ("f'--{name}'", 5),
                ("*FLAGS", 6),
                ("p.add_argument()", 7),
                ("--x", 8),
            ]
        );
        assert!(
            extraction.skipped[0]
                .reason
                .starts_with("a positional argument")
        );
        assert!(
            extraction.skipped[1]
                .reason
                .ends_with("add one such as --v")
        );
        assert!(
            extraction.skipped[2]
                .reason
                .contains("not a name the platform accepts")
        );
        assert_eq!(
            extraction.skipped[7].reason,
            "its keyword arguments come from **options, which cannot be read statically"
        );
    }

    #[test]
    fn the_first_declaration_of_a_name_wins() {
        let extraction = extraction(
            "a.add_argument('--lr', type=float)\n\
             \n\
             b.add_argument('--lr', type=int)\n",
        );
        assert_eq!(extraction.parameters.len(), 1);
        assert_eq!(extraction.parameters[0].param_type, ParamType::Float);
        assert_eq!(
            extraction.skipped,
            [Skipped {
                argument: "--lr".into(),
                line: 3,
                reason: "--lr is already declared on line 1".into(),
            }]
        );
    }

    #[test]
    fn at_most_the_server_limit() {
        let source: String = (0..=MAX_PARAMETERS)
            .map(|i| format!("p.add_argument('--p{i}')\n"))
            .collect();
        let extraction = extraction(&source);
        assert_eq!(extraction.parameters.len(), MAX_PARAMETERS);
        assert_eq!(extraction.skipped.len(), 1);
        assert_eq!(
            extraction.skipped[0].argument,
            format!("--p{MAX_PARAMETERS}")
        );
    }

    #[test]
    fn calls_anywhere_in_the_module_count() {
        let extraction = extraction(
            "import argparse\n\
             def build():\n\
             \x20   parser = argparse.ArgumentParser()\n\
             \x20   group = parser.add_argument_group('optim')\n\
             \x20   group.add_argument('--a')\n\
             \x20   sub = parser.add_subparsers().add_parser('train')\n\
             \x20   sub.add_argument('--b')\n\
             \x20   return parser\n\
             class Config:\n\
             \x20   def add(self):\n\
             \x20       self.parser.add_argument('--c')\n\
             if __name__ == '__main__':\n\
             \x20   build().add_mutually_exclusive_group().add_argument('--d')\n",
        );
        let names: Vec<&str> = extraction
            .parameters
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_long_help_is_cut_to_the_limit() {
        assert_eq!(fit_help("short".into()), "short");
        let exact = "h".repeat(MAX_HELP);
        assert_eq!(fit_help(exact.clone()), exact);
        let cut = fit_help("é".repeat(MAX_HELP + 1));
        assert_eq!(cut.chars().count(), MAX_HELP);
        assert!(cut.ends_with("é…"));
        let help = format!("p.add_argument('--n', help='{}')", "h".repeat(MAX_HELP + 1));
        assert_eq!(
            only(&help)["help"].as_str().map(|h| h.chars().count()),
            Some(MAX_HELP)
        );
    }

    #[test]
    fn refusals_worded_for_the_argument() {
        let long = "x".repeat(MAX_STRING_VALUE + 1);
        assert_eq!(
            skipped(&format!("p.add_argument('--n', default='{long}')")),
            format!("its default \"{long}\" is longer than {MAX_STRING_VALUE} characters")
        );
        let choices: Vec<String> = (0..=MAX_CHOICES).map(|i| i.to_string()).collect();
        assert_eq!(
            skipped(&format!(
                "p.add_argument('--n', type=int, choices=[{}])",
                choices.join(", ")
            )),
            format!("it has more than {MAX_CHOICES} choices")
        );
        let wrong_type = Refusal::Choice {
            choice: json!(1),
            error: ValueError::WrongType {
                expected: ParamType::Str,
                found: "an integer".into(),
            },
        };
        assert_eq!(refused("n", &wrong_type), "a choice 1 is not of type Str");
    }
}
