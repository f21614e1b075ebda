//! The functions expressions may call (`cidrsubnet`, `file`, `format`, `join`, `merge`,
//! `lookup`, `length`, `concat`, ...), declared into an hcl-rs evaluation context.
//!
//! hcl-rs functions are plain `fn` pointers that capture nothing, so `file()` finds the
//! directory to read from in a thread-local set by [`with_base_dir`] for the duration of one
//! evaluation.

use hcl::Value;
use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};
use std::cell::RefCell;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

thread_local! {
    static BASE_DIR: RefCell<PathBuf> = RefCell::new(PathBuf::from("."));
}

/// Runs `body` with `file()` reading relative to `dir` (the stack's or the module's directory).
pub fn with_base_dir<T>(dir: &Path, body: impl FnOnce() -> T) -> T {
    let previous = BASE_DIR.with(|base| base.replace(dir.to_path_buf()));
    let result = body();
    BASE_DIR.with(|base| base.replace(previous));
    result
}

/// Declares every function into `context`.
pub fn declare(context: &mut Context<'_>) {
    use ParamType::{Any, Number, String};
    let functions: [(&str, FuncDef); 24] = [
        (
            "cidrsubnet",
            FuncDef::new(cidrsubnet, [String, Number, Number]),
        ),
        ("file", FuncDef::new(file, [String])),
        (
            "format",
            FuncDef::builder()
                .param(String)
                .variadic_param(Any)
                .build(format),
        ),
        (
            "join",
            FuncDef::new(join, [String, ParamType::array_of(Any)]),
        ),
        (
            "merge",
            FuncDef::builder()
                .variadic_param(ParamType::nullable(ParamType::object_of(Any)))
                .build(merge),
        ),
        (
            "lookup",
            FuncDef::builder()
                .params([ParamType::object_of(Any), String])
                .variadic_param(Any)
                .build(lookup),
        ),
        ("length", FuncDef::new(length, [Any])),
        (
            "concat",
            FuncDef::builder()
                .variadic_param(ParamType::array_of(Any))
                .build(concat),
        ),
        ("upper", FuncDef::new(upper, [String])),
        ("lower", FuncDef::new(lower, [String])),
        ("trimspace", FuncDef::new(trimspace, [String])),
        ("replace", FuncDef::new(replace, [String, String, String])),
        ("split", FuncDef::new(split, [String, String])),
        (
            "element",
            FuncDef::new(element, [ParamType::array_of(Any), Number]),
        ),
        ("keys", FuncDef::new(keys, [ParamType::object_of(Any)])),
        ("values", FuncDef::new(values, [ParamType::object_of(Any)])),
        (
            "contains",
            FuncDef::new(contains, [ParamType::array_of(Any), Any]),
        ),
        (
            "coalesce",
            FuncDef::builder().variadic_param(Any).build(coalesce),
        ),
        ("tostring", FuncDef::new(tostring, [Any])),
        ("tonumber", FuncDef::new(tonumber, [Any])),
        ("toset", FuncDef::new(distinct, [ParamType::array_of(Any)])),
        (
            "distinct",
            FuncDef::new(distinct, [ParamType::array_of(Any)]),
        ),
        (
            "min",
            FuncDef::builder().variadic_param(Number).build(minimum),
        ),
        (
            "max",
            FuncDef::builder().variadic_param(Number).build(maximum),
        ),
    ];
    for (name, definition) in functions {
        context.declare_func(name, definition);
    }
}

fn string_arg(args: &FuncArgs, index: usize) -> Result<&str, String> {
    args.get(index)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("argument {} must be a string", index + 1))
}

fn integer_arg(args: &FuncArgs, index: usize) -> Result<i64, String> {
    let number = args
        .get(index)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("argument {} must be a number", index + 1))?;
    if number.fract() != 0.0 {
        return Err(format!(
            "argument {} must be a whole number, got {number}",
            index + 1
        ));
    }
    Ok(number as i64)
}

/// `cidrsubnet(prefix, newbits, netnum)`, as in Terraform.
fn cidrsubnet(args: FuncArgs) -> Result<Value, String> {
    let prefix = string_arg(&args, 0)?;
    let newbits = integer_arg(&args, 1)?;
    let netnum = integer_arg(&args, 2)?;
    cidr_subnet(prefix, newbits, netnum).map(Value::String)
}

/// The `netnum`-th subnet of `prefix` with `newbits` more prefix bits.
///
/// # Errors
///
/// An invalid prefix, or a subnet that does not fit.
pub fn cidr_subnet(prefix: &str, newbits: i64, netnum: i64) -> Result<String, String> {
    let network: ipnet::IpNet = prefix
        .parse()
        .map_err(|_| format!("`{prefix}` is not a CIDR block"))?;
    let max_bits: i64 = match network.addr() {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    // Compared before adding: `newbits` comes from the user and may be as large as i64 allows.
    if newbits < 0 || newbits > max_bits - i64::from(network.prefix_len()) {
        return Err(format!(
            "cannot add {newbits} bits to `{prefix}`: the prefix would be longer than {max_bits} bits"
        ));
    }
    if netnum < 0 || (newbits < 64 && netnum >= (1_i64 << newbits)) {
        return Err(format!(
            "network number {netnum} does not fit in {newbits} new bits of `{prefix}`"
        ));
    }
    let new_length = i64::from(network.prefix_len()) + newbits;
    let host_bits = (max_bits - new_length) as u32;
    match network.network() {
        IpAddr::V4(base) => {
            let offset = (netnum as u32).checked_shl(host_bits).unwrap_or(0);
            let address = std::net::Ipv4Addr::from(u32::from(base) | offset);
            Ok(format!("{address}/{new_length}"))
        }
        IpAddr::V6(base) => {
            let offset = (netnum as u128).checked_shl(host_bits).unwrap_or(0);
            let address = std::net::Ipv6Addr::from(u128::from(base) | offset);
            Ok(format!("{address}/{new_length}"))
        }
    }
}

/// Largest file `file()` reads: far above any user data or policy document, and small enough
/// that a path such as `/dev/zero` or a huge log cannot exhaust memory.
const FILE_LIMIT_BYTES: u64 = 4 * 1024 * 1024;

fn file(args: FuncArgs) -> Result<Value, String> {
    use std::io::Read as _;
    let relative = string_arg(&args, 0)?;
    let path = BASE_DIR.with(|base| base.borrow().join(relative));
    let cannot = |error: std::io::Error| format!("cannot read `{relative}`: {error}");
    // Only regular files: reading a directory fails late, and a device or FIFO (`/dev/stdin`)
    // may never end.
    let metadata = fs_err::metadata(&path).map_err(cannot)?;
    if !metadata.is_file() {
        return Err(format!("cannot read `{relative}`: not a regular file"));
    }
    let mut bytes = Vec::new();
    fs_err::File::open(&path)
        .map_err(cannot)?
        .take(FILE_LIMIT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > FILE_LIMIT_BYTES {
        return Err(format!(
            "cannot read `{relative}`: larger than the {} MiB `file()` reads",
            FILE_LIMIT_BYTES / 1024 / 1024
        ));
    }
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| format!("cannot read `{relative}`: not UTF-8 text"))
}

fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "null".to_string(),
        other => super::value::to_model(other).to_string(),
    }
}

/// `format(spec, args...)` with `%s`, `%d`, `%v` and `%%`.
fn format(args: FuncArgs) -> Result<Value, String> {
    let spec = string_arg(&args, 0)?;
    let mut rest = args.iter().skip(1);
    let mut out = String::new();
    let mut characters = spec.chars();
    while let Some(character) = characters.next() {
        if character != '%' {
            out.push(character);
            continue;
        }
        match characters.next() {
            Some('%') => out.push('%'),
            Some(verb @ ('s' | 'd' | 'v')) => {
                let value = rest
                    .next()
                    .ok_or_else(|| format!("not enough arguments for `%{verb}` in `{spec}`"))?;
                if verb == 'd' && !value.is_number() {
                    return Err(format!("`%d` needs a number, got {}", display(value)));
                }
                out.push_str(&display(value));
            }
            other => {
                return Err(format!(
                    "unsupported verb `%{}` in `{spec}` (use %s, %d, %v or %%)",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    Ok(Value::String(out))
}

fn join(args: FuncArgs) -> Result<Value, String> {
    let separator = string_arg(&args, 0)?;
    let items = args
        .get(1)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parts: Vec<String> = items.iter().map(display).collect();
    Ok(Value::String(parts.join(separator)))
}

fn merge(args: FuncArgs) -> Result<Value, String> {
    let mut merged = hcl::Map::new();
    for object in args.iter().filter_map(Value::as_object) {
        for (key, value) in object {
            merged.insert(key.clone(), value.clone());
        }
    }
    Ok(Value::Object(merged))
}

fn lookup(args: FuncArgs) -> Result<Value, String> {
    let key = string_arg(&args, 1)?;
    let found = args
        .first()
        .and_then(Value::as_object)
        .and_then(|object| object.get(key))
        .cloned();
    match (found, args.get(2)) {
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!("no key `{key}` and no default given")),
    }
}

fn length(args: FuncArgs) -> Result<Value, String> {
    match args.first() {
        Some(Value::Array(items)) => Ok(Value::from(items.len() as u64)),
        Some(Value::Object(map)) => Ok(Value::from(map.len() as u64)),
        Some(Value::String(text)) => Ok(Value::from(text.chars().count() as u64)),
        _ => Err("argument must be a list, a map or a string".to_string()),
    }
}

fn concat(args: FuncArgs) -> Result<Value, String> {
    let items = args
        .iter()
        .filter_map(Value::as_array)
        .flatten()
        .cloned()
        .collect();
    Ok(Value::Array(items))
}

fn upper(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(string_arg(&args, 0)?.to_uppercase()))
}

fn lower(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(string_arg(&args, 0)?.to_lowercase()))
}

fn trimspace(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(string_arg(&args, 0)?.trim().to_string()))
}

fn replace(args: FuncArgs) -> Result<Value, String> {
    let text = string_arg(&args, 0)?;
    Ok(Value::String(
        text.replace(string_arg(&args, 1)?, string_arg(&args, 2)?),
    ))
}

fn split(args: FuncArgs) -> Result<Value, String> {
    let separator = string_arg(&args, 0)?;
    let text = string_arg(&args, 1)?;
    Ok(Value::Array(
        text.split(separator)
            .map(|part| Value::String(part.to_string()))
            .collect(),
    ))
}

fn element(args: FuncArgs) -> Result<Value, String> {
    let items = args
        .first()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.is_empty() {
        return Err("cannot take an element of an empty list".to_string());
    }
    let index = integer_arg(&args, 1)?;
    if index < 0 {
        return Err(format!("index {index} is negative"));
    }
    Ok(items[(index as usize) % items.len()].clone())
}

fn keys(args: FuncArgs) -> Result<Value, String> {
    let mut names: Vec<String> = args
        .first()
        .and_then(Value::as_object)
        .map(|object| object.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    Ok(Value::Array(names.into_iter().map(Value::String).collect()))
}

fn values(args: FuncArgs) -> Result<Value, String> {
    let mut entries: Vec<(String, Value)> = args
        .first()
        .and_then(Value::as_object)
        .map(|object| object.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    entries.sort_by(|left, right| left.0.cmp(&right.0));
    Ok(Value::Array(
        entries.into_iter().map(|(_, value)| value).collect(),
    ))
}

fn contains(args: FuncArgs) -> Result<Value, String> {
    let items = args
        .first()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(Value::Bool(
        args.get(1).is_some_and(|needle| items.contains(needle)),
    ))
}

fn coalesce(args: FuncArgs) -> Result<Value, String> {
    args.iter()
        .find(|value| !value.is_null() && value.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "every argument is null or empty".to_string())
}

fn tostring(args: FuncArgs) -> Result<Value, String> {
    match args.first() {
        Some(value @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
            Ok(Value::String(display(value)))
        }
        _ => Err("only strings, numbers and bools convert to a string".to_string()),
    }
}

fn tonumber(args: FuncArgs) -> Result<Value, String> {
    match args.first() {
        Some(value @ Value::Number(_)) => Ok(value.clone()),
        Some(Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| {
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(hcl::Number::from_f64)
                    .map(Value::Number)
                    .ok_or(())
            })
            .map_err(|()| format!("`{text}` is not a number")),
        _ => Err("only strings and numbers convert to a number".to_string()),
    }
}

fn distinct(args: FuncArgs) -> Result<Value, String> {
    let mut seen: Vec<Value> = Vec::new();
    for item in args
        .first()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    Ok(Value::Array(seen))
}

fn numbers(args: &FuncArgs) -> Result<Vec<(f64, Value)>, String> {
    if args.is_empty() {
        return Err("needs at least one number".to_string());
    }
    Ok(args
        .iter()
        .filter_map(|value| value.as_f64().map(|number| (number, value.clone())))
        .collect())
}

fn minimum(args: FuncArgs) -> Result<Value, String> {
    numbers(&args)?
        .into_iter()
        .min_by(|left, right| left.0.total_cmp(&right.0))
        .map(|(_, value)| value)
        .ok_or_else(|| "needs at least one number".to_string())
}

fn maximum(args: FuncArgs) -> Result<Value, String> {
    numbers(&args)?
        .into_iter()
        .max_by(|left, right| left.0.total_cmp(&right.0))
        .map(|(_, value)| value)
        .ok_or_else(|| "needs at least one number".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::eval::Evaluate;

    fn eval(text: &str) -> Result<Value, String> {
        let mut context = Context::new();
        declare(&mut context);
        let expression: hcl::Expression = text.parse().map_err(|e| format!("{e}"))?;
        expression.evaluate(&context).map_err(|e| e.to_string())
    }

    #[test]
    fn cidrsubnet_matches_terraform() {
        assert_eq!(cidr_subnet("10.0.0.0/16", 8, 0), Ok("10.0.0.0/24".into()));
        assert_eq!(cidr_subnet("10.0.0.0/16", 8, 17), Ok("10.0.17.0/24".into()));
        assert_eq!(
            cidr_subnet("10.1.0.0/16", 4, 15),
            Ok("10.1.240.0/20".into())
        );
        assert!(cidr_subnet("10.0.0.0/16", 8, 256).is_err());
        assert!(cidr_subnet("10.0.0.0/30", 8, 0).is_err());
    }

    /// Issue 9: `cidrsubnet("10.0.0.0/16", 1e30, 0)` overflowed the prefix length and panicked.
    #[test]
    fn cidrsubnet_with_huge_numbers_is_an_error_not_an_overflow() {
        assert!(cidr_subnet("10.0.0.0/16", i64::MAX, 0).is_err());
        assert!(cidr_subnet("10.0.0.0/16", 8, i64::MAX).is_err());
        assert!(eval("cidrsubnet(\"10.0.0.0/16\", 1e30, 0)").is_err());
    }

    #[test]
    fn string_and_collection_functions() {
        assert_eq!(
            eval("format(\"%s-%d%%\", \"web\", 3)"),
            Ok(Value::from("web-3%"))
        );
        assert_eq!(eval("join(\",\", [\"a\", 1])"), Ok(Value::from("a,1")));
        assert_eq!(eval("length(concat([1], [2, 3]))"), Ok(Value::from(3)));
        assert_eq!(eval("lookup({ a = 1 }, \"b\", 7)"), Ok(Value::from(7)));
        assert_eq!(
            eval("merge({ a = 1 }, { a = 2, b = 3 }).a"),
            Ok(Value::from(2))
        );
        assert_eq!(
            eval("cidrsubnet(\"10.0.0.0/16\", 8, 2)"),
            Ok(Value::from("10.0.2.0/24"))
        );
        assert!(eval("format(\"%s\")").is_err());
    }

    #[test]
    fn file_reads_relative_to_the_base_dir() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("a temp dir");
        };
        let Ok(()) = std::fs::write(dir.path().join("hello.txt"), "hi") else {
            panic!("write");
        };
        let read = with_base_dir(dir.path(), || eval("file(\"hello.txt\")"));
        assert_eq!(read, Ok(Value::from("hi")));
    }
}
