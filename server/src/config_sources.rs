//! Every command-line setting also from a TOML file (`--config FILE`) and from the
//! environment (`SNAPWIRE_*`), in this order of precedence: flags over the environment over
//! the file over the defaults.
//!
//! The command line stays the one definition of a setting: a file key is a flag's name with
//! `_` for `-` (`tick_rate = 30` is `--tick-rate 30`), an environment variable the same key in
//! capitals after `SNAPWIRE_` (`SNAPWIRE_TICK_RATE=30`). Each layer becomes flags put in front
//! of the real ones, lowest first, and clap keeps the last value of each
//! (`args_override_self`), so every flag, present or future, has a key and a variable, with
//! the flag's own parsing and checks.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, ArgMatches, Command};
use thiserror::Error;

/// The flag naming the file, and its variable.
pub const CONFIG_FLAG: &str = "config";
pub const ENV_PREFIX: &str = "SNAPWIRE_";

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("{file}: {why}")]
    Read { file: PathBuf, why: String },
    #[error(
        "{file}: unknown key `{key}` (keys are the flags of `snapwire-server --help`, with `_` for `-`)"
    )]
    UnknownKey { file: PathBuf, key: String },
    #[error("{source_name}: `{key}`: {why}")]
    BadValue {
        source_name: String,
        key: String,
        why: String,
    },
}

/// The command line to parse: `cli` (the process's own, program name first) with the file's
/// and the environment's settings in front of its flags.
pub fn layered(
    cmd: &Command,
    cli: Vec<OsString>,
    env: &[(String, String)],
) -> Result<Vec<OsString>, SourceError> {
    let mut cli = cli.into_iter();
    let program = cli.next().unwrap_or_else(|| "snapwire-server".into());
    let cli: Vec<OsString> = cli.collect();
    let settable: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.get_long().is_some() && a.get_id() != CONFIG_FLAG)
        .filter(|a| !matches!(a.get_action(), ArgAction::Help | ArgAction::Version))
        .collect();
    let mut out = vec![program.clone()];
    let file = config_file(&cli, env);
    if let Some(file) = &file {
        let text = std::fs::read_to_string(file).map_err(|e| SourceError::Read {
            file: file.clone(),
            why: e.to_string(),
        })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| SourceError::Read {
                file: file.clone(),
                why: e.to_string(),
            })?;
        for (key, value) in table {
            let Some(arg) = settable.iter().find(|a| a.get_id() == key.as_str()) else {
                return Err(SourceError::UnknownKey {
                    file: file.clone(),
                    key,
                });
            };
            let values = toml_values(&value).ok_or_else(|| SourceError::BadValue {
                source_name: file.display().to_string(),
                key: key.clone(),
                why: format!(
                    "a {} is not a string, number, boolean, list of them, or (for \
                     `room_kinds`) tables of them",
                    value.type_str()
                ),
            })?;
            let flags = flags_for(arg, &values);
            check(cmd, &program, &flags, &file.display().to_string(), &key)?;
            out.extend(flags);
        }
    }
    for arg in &settable {
        let var = env_name(arg.get_id().as_str());
        if let Some((_, value)) = env.iter().find(|(k, _)| *k == var) {
            let values: Vec<String> = if takes_many(arg) {
                value.split(',').map(|v| v.trim().to_owned()).collect()
            } else {
                vec![value.clone()]
            };
            let flags = flags_for(arg, &values);
            check(cmd, &program, &flags, &var, arg.get_id().as_str())?;
            out.extend(flags);
        }
    }
    out.extend(without_config(&cli));
    Ok(out)
}

/// Variables under [`ENV_PREFIX`] that the server reads besides one per flag: the ticket
/// secret (never a flag: other users see flags in the process list).
pub const OTHER_VARS: [&str; 1] = [crate::ticket::SECRET_ENV];

/// The `SNAPWIRE_*` variables in `env` that set nothing, each with the known variable it was
/// probably meant to be. A misspelt variable would otherwise be ignored without a word.
pub fn unknown_env(cmd: &Command, env: &[(String, String)]) -> Vec<(String, Option<String>)> {
    let known: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_long().is_some())
        .map(|a| env_name(a.get_id().as_str()))
        .chain(OTHER_VARS.iter().map(|v| (*v).to_owned()))
        .collect();
    env.iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(ENV_PREFIX) && !known.contains(k))
        .map(|k| {
            let nearest = known
                .iter()
                .map(|n| (edit_distance(k, n), n))
                .filter(|(d, _)| *d <= 3)
                .min()
                .map(|(_, n)| n.clone());
            (k.clone(), nearest)
        })
        .collect()
}

/// The effective settings as a config file: every key with the value it ended with.
pub fn print(cmd: &Command, matches: &ArgMatches) -> String {
    let mut out = String::from("# snapwire-server: the effective configuration\n");
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.get_long().is_none()
            || id == CONFIG_FLAG
            || id == "print_config"
            || matches!(arg.get_action(), ArgAction::Help | ArgAction::Version)
        {
            continue;
        }
        let raw: Vec<String> = matches
            .get_raw(id)
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let line = match (arg.get_action(), raw.as_slice()) {
            (ArgAction::SetTrue, _) => format!("{id} = {}", matches.get_flag(id)),
            (ArgAction::Append, many) => format!(
                "{id} = [{}]",
                many.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
            ),
            (_, []) => format!("# {id} = (not set)"),
            (_, [one, ..]) => format!("{id} = {}", toml_scalar(one)),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `SNAPWIRE_TICK_RATE` for `tick_rate`.
pub fn env_name(id: &str) -> String {
    format!("{ENV_PREFIX}{}", id.to_uppercase())
}

/// `--config FILE` (or `--config=FILE`) on the command line, else `SNAPWIRE_CONFIG`.
fn config_file(cli: &[OsString], env: &[(String, String)]) -> Option<PathBuf> {
    let flag = format!("--{CONFIG_FLAG}");
    let mut it = cli.iter();
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == flag {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
            return Some(PathBuf::from(v));
        }
    }
    let var = env_name(CONFIG_FLAG);
    env.iter()
        .find(|(k, _)| *k == var)
        .map(|(_, v)| PathBuf::from(v))
}

/// Levenshtein distance, for suggesting the variable a misspelt one meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

fn without_config(cli: &[OsString]) -> Vec<OsString> {
    let flag = format!("--{CONFIG_FLAG}");
    let mut out = Vec::new();
    let mut it = cli.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == flag {
            it.next();
        } else if !s.starts_with(&format!("{flag}=")) {
            out.push(a.clone());
        }
    }
    out
}

fn takes_many(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

/// The flags that set `arg` to `values`. A boolean flag is there or not: `false` (the
/// default) adds nothing, so a layer cannot turn off what a lower one turned on.
fn flags_for(arg: &clap::Arg, values: &[String]) -> Vec<OsString> {
    let long = format!("--{}", arg.get_long().unwrap_or_default());
    match arg.get_action() {
        ArgAction::SetTrue => match values.first().map(String::as_str) {
            Some("true") => vec![long.into()],
            Some("false") => Vec::new(),
            // Left for clap to refuse with its own words.
            _ => vec![format!("{long}={}", values.join(",")).into()],
        },
        _ => values
            .iter()
            .map(|v| OsString::from(format!("{long}={v}")))
            .collect(),
    }
}

/// Parses one layer's flags alone, so a bad value is reported with where it came from.
fn check(
    cmd: &Command,
    program: &OsString,
    flags: &[OsString],
    source_name: &str,
    key: &str,
) -> Result<(), SourceError> {
    let argv = std::iter::once(program.clone()).chain(flags.iter().cloned());
    match cmd.clone().try_get_matches_from(argv) {
        Ok(_) => Ok(()),
        // One key alone may need another (`tls_cert` needs `tls_key`), which a later key or
        // layer may give: the whole command line is checked for that once it is put together.
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => Ok(()),
        Err(e) => Err(SourceError::BadValue {
            source_name: source_name.to_owned(),
            key: key.to_owned(),
            why: clap_reason(&e),
        }),
    }
}

/// Clap's message without its usage and help lines, on one line: some messages put the
/// offending value on a line of its own.
fn clap_reason(e: &clap::Error) -> String {
    e.render()
        .to_string()
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_owned()
}

fn toml_values(v: &toml::Value) -> Option<Vec<String>> {
    match v {
        toml::Value::Array(items) => items.iter().map(scalar).collect(),
        toml::Value::Table(named) => named.iter().map(|(n, t)| named_entry(n, t)).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

/// `[room_kinds.duel]` with `room_size = 2` under it is `--room-kind "duel room_size=2"`: a
/// table of tables is a repeatable flag whose values are `NAME key=value ...`.
fn named_entry(name: &str, v: &toml::Value) -> Option<String> {
    let mut out = name.to_owned();
    for (key, value) in v.as_table()? {
        out.push(' ');
        out.push_str(key);
        out.push('=');
        out.push_str(&scalar(value)?);
    }
    Some(out)
}

fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value as TOML: numbers and booleans bare, anything else a string.
fn toml_scalar(v: &str) -> String {
    if v.parse::<i64>().is_ok()
        || v.parse::<f64>().is_ok_and(f64::is_finite)
        || v == "true"
        || v == "false"
    {
        v.to_owned()
    } else {
        quote(v)
    }
}

/// A TOML basic string.
fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
