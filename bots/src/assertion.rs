//! `--assert 'snapshots_per_bot_per_s>=59.5'`: conditions on the report that decide the exit code.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use thiserror::Error;

/// One condition on a report figure: `key OP number`, where key is a report field (dotted for
/// nested ones, like `input_to_ack_ms.p99`).
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    pub key: String,
    pub op: Op,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Le,
    Ge,
    Lt,
    Gt,
    Eq,
}

#[derive(Debug, Error, PartialEq)]
pub enum AssertionError {
    #[error("`{0}`: expected KEY OP NUMBER with OP one of <= >= < > ==")]
    Syntax(String),
    #[error("`{0}`: the report has no numeric field `{1}`")]
    UnknownKey(String, String),
}

/// Short names accepted for report fields.
const ALIASES: [(&str, &str); 3] = [
    ("tick_p99_ms", "server_tick_p99_ms"),
    ("tick_p50_ms", "server_tick_p50_ms"),
    ("overruns", "server_overruns"),
];

/// The outcome of one assertion against a report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Checked {
    pub assertion: String,
    pub actual: Option<f64>,
    pub pass: bool,
}

impl FromStr for Assertion {
    type Err = AssertionError;

    fn from_str(s: &str) -> Result<Assertion, AssertionError> {
        let syntax = || AssertionError::Syntax(s.to_owned());
        // Two-character operators first, so `<=` is not read as `<`.
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let (key, op, value) = ops
            .iter()
            .find_map(|(text, op)| s.split_once(text).map(|(k, v)| (k.trim(), *op, v.trim())))
            .ok_or_else(syntax)?;
        let value: f64 = value.parse().map_err(|_| syntax())?;
        if key.is_empty() || !value.is_finite() {
            return Err(syntax());
        }
        let key = ALIASES
            .iter()
            .find(|(short, _)| *short == key)
            .map_or(key, |(_, full)| full);
        Ok(Assertion {
            key: key.to_owned(),
            op,
            value,
        })
    }
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Eq => "==",
        };
        write!(f, "{}{op}{}", self.key, self.value)
    }
}

impl Assertion {
    /// Fails when `report` (as JSON) has no such numeric field: a typo must not pass silently.
    pub fn check_key(&self, report: &serde_json::Value) -> Result<(), AssertionError> {
        lookup(report, &self.key)
            .map(|_| ())
            .ok_or_else(|| AssertionError::UnknownKey(self.to_string(), self.key.clone()))
    }

    pub fn check(&self, report: &serde_json::Value) -> Checked {
        let actual = lookup(report, &self.key);
        let pass = actual.is_some_and(|a| match self.op {
            Op::Le => a <= self.value,
            Op::Ge => a >= self.value,
            Op::Lt => a < self.value,
            Op::Gt => a > self.value,
            Op::Eq => a == self.value,
        });
        Checked {
            assertion: self.to_string(),
            actual,
            pass,
        }
    }
}

fn lookup(report: &serde_json::Value, key: &str) -> Option<f64> {
    key.split('.')
        .try_fold(report, |v, part| v.get(part))?
        .as_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_check() {
        let report = serde_json::json!({"snapshots_per_bot_per_s": 59.7, "server_tick_p99_ms": 9.0, "input_to_ack_ms": {"p99": 17.0}});
        let a: Assertion = "snapshots_per_bot_per_s>=59.5".parse().expect("valid");
        assert!(a.check(&report).pass);
        let a: Assertion = "tick_p99_ms <= 8".parse().expect("valid");
        assert_eq!(a.key, "server_tick_p99_ms");
        assert!(!a.check(&report).pass);
        let a: Assertion = "input_to_ack_ms.p99<17.7".parse().expect("valid");
        assert!(a.check(&report).pass);
        assert!("nonsense".parse::<Assertion>().is_err());
        assert!("x>=abc".parse::<Assertion>().is_err());
        let typo: Assertion = "snapshot_per_bot>=1".parse().expect("valid");
        assert!(typo.check_key(&report).is_err());
        assert!(!typo.check(&report).pass);
    }
}
