//! The generic checking of values against their declared [`Kind`], collecting every error.
//!
//! serde's derived `Deserialize` stops at the first problem, but a user fixing a config file wants every
//! mistake in one run. So instead of extracting into a struct, the validation walks figment's merged
//! value tree, converting each leaf on its own. Each value carries figment's tag, which names the layer
//! (file, environment variable, flag, default) it came from.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use figment::Figment;
use figment::value::{Dict, Num, Tag, Value};
use secrecy::SecretString;

use super::environment::Environment;
use super::error::ConfigError;
use super::kind::{FROM_HOSTNAME, Kind, NONZERO};
use super::rules::{parse_listen_address, parse_org_pattern, parse_role, parse_source};
use super::values::{ExpiryWindow, LogFormat, OrgPattern, ProjectInvitations, Source, TierRoles};
use crate::types::Tier;

pub(crate) struct Checker<'f> {
    pub figment: &'f Figment,
    pub env: &'f Environment,
    pub errors: Vec<ConfigError>,
    /// Problems that do not stop the exporter, logged once logging is set up.
    pub warnings: Vec<String>,
}

/// A value that passed the checks of its kind.
pub(crate) enum Typed {
    Text(String),
    Secret(SecretString),
    Duration(Duration),
    Integer(u64),
    Fraction(f64),
    Boolean(bool),
    Windows(Vec<ExpiryWindow>),
    Patterns(Vec<OrgPattern>),
    Texts(Vec<String>),
    Tiers(TierRoles),
}

/// A settings field read from a checked value; `None` when the field's type does not suit the kind.
pub(crate) trait FromTyped: Sized {
    fn from_typed(typed: Typed) -> Option<Self>;
}

macro_rules! from_typed {
    ($($type:ty: $pattern:pat => $value:expr;)*) => {
        $(impl FromTyped for $type {
            fn from_typed(typed: Typed) -> Option<Self> {
                match typed {
                    $pattern => $value,
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        })*
    };
}

from_typed! {
    String: Typed::Text(text) => Some(text);
    SecretString: Typed::Secret(secret) => Some(secret);
    Duration: Typed::Duration(duration) => Some(duration);
    u64: Typed::Integer(n) => Some(n);
    u32: Typed::Integer(n) => u32::try_from(n).ok();
    usize: Typed::Integer(n) => usize::try_from(n).ok();
    f64: Typed::Fraction(fraction) => Some(fraction);
    bool: Typed::Boolean(flag) => Some(flag);
    Vec<ExpiryWindow>: Typed::Windows(windows) => Some(windows);
    Vec<OrgPattern>: Typed::Patterns(patterns) => Some(patterns);
    Vec<String>: Typed::Texts(texts) => Some(texts);
    TierRoles: Typed::Tiers(tiers) => Some(tiers);
    Source: Typed::Text(word) => parse_source(&word);
    ProjectInvitations: Typed::Text(word) => ProjectInvitations::ALL.into_iter().find(|mode| mode.as_str() == word);
    LogFormat: Typed::Text(word) => match word.as_str() {
        "text" => Some(LogFormat::Text),
        "json" => Some(LogFormat::Json),
        _ => None,
    };
    SocketAddr: Typed::Text(text) => parse_listen_address(&text).ok();
}

pub(crate) fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// A value's type for messages; the value itself only when it is safe to show.
pub(crate) fn describe(value: &Value, show_value: bool) -> String {
    match (value, show_value) {
        (Value::String(_, text), true) => format!("string {text:?}"),
        (Value::String(..), false) => "a string".to_owned(),
        (Value::Char(_, c), true) => format!("string {:?}", c.to_string()),
        (Value::Char(..), false) => "a string".to_owned(),
        (Value::Bool(_, b), true) => format!("boolean {b}"),
        (Value::Bool(..), false) => "a boolean".to_owned(),
        (Value::Num(_, num), true) => describe_number(num),
        (Value::Num(_, num), false) if num.to_f64().is_some() => "a float".to_owned(),
        (Value::Num(..), false) => "an integer".to_owned(),
        (Value::Empty(..), _) => "an empty value".to_owned(),
        (Value::Dict(..), _) => "a table".to_owned(),
        (Value::Array(..), _) => "an array".to_owned(),
    }
}

fn describe_number(num: &Num) -> String {
    match num.to_f64() {
        Some(float) => format!("float {float}"),
        None => match (num.to_u128_lossy(), num.to_i128()) {
            (Some(unsigned), _) => format!("integer {unsigned}"),
            (None, Some(signed)) => format!("integer {signed}"),
            (None, None) => "a number".to_owned(),
        },
    }
}

/// `"a", "b" or "c"`.
fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|word| format!("{word:?}")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl Checker<'_> {
    pub(crate) fn source(&self, tag: Tag) -> String {
        self.figment
            .get_metadata(tag)
            .map(|metadata| metadata.name.to_string())
            .unwrap_or_else(|| "default".to_owned())
    }

    pub(crate) fn push(&mut self, key: impl Into<String>, tag: Tag, message: impl Into<String>) {
        let source_name = self.source(tag);
        self.errors.push(ConfigError {
            key: key.into(),
            message: message.into(),
            source_name,
        });
    }

    /// One value checked against its kind, every problem reported under `key`.
    pub(crate) fn check(&mut self, key: &str, kind: &Kind, value: &Value) -> Option<Typed> {
        let fails = |checker: &mut Self, message: String| {
            checker.push(key, value.tag(), message);
            None
        };
        match *kind {
            Kind::Text | Kind::Path => self.text(key, value).map(Typed::Text),
            Kind::Checked(rule) => match rule(&self.text(key, value)?) {
                Ok(kept) => Some(Typed::Text(kept)),
                Err(message) => fails(self, message),
            },
            Kind::Secret => self.secret(key, value).map(Typed::Secret),
            Kind::Duration { min } => self
                .bounded_duration(key, value, min)
                .map(|(_, duration)| Typed::Duration(duration)),
            Kind::Integer { min, max } => match self.integer(key, value)? {
                n if n < min => fails(self, format!("must be at least {min}")),
                n if n > max => fails(self, format!("{n} is too large")),
                n => Some(Typed::Integer(n)),
            },
            Kind::Bytes => match self.integer(key, value)? {
                0 => fails(self, "must be greater than 0".to_owned()),
                n => Some(Typed::Integer(n)),
            },
            Kind::Fraction { max, of } => match self.fraction(key, value)? {
                fraction if (0.0..=max).contains(&fraction) => Some(Typed::Fraction(fraction)),
                fraction => fails(
                    self,
                    format!("must be a fraction of {of} from 0.0 to {max}, found {fraction}"),
                ),
            },
            Kind::Boolean => self.boolean(key, value).map(Typed::Boolean),
            Kind::Word(words) => match self.text(key, value)? {
                word if words.contains(&word.as_str()) => Some(Typed::Text(word)),
                other => fails(self, format!("expected {}, found {other:?}", one_of(words))),
            },
            Kind::Windows => self.windows(key, value).map(Typed::Windows),
            Kind::OrgPatterns => self.org_patterns(key, value).map(Typed::Patterns),
            Kind::List(rule) => self.checked_list(key, value, rule).map(Typed::Texts),
            Kind::Tiers => self.tiers(key, value).map(Typed::Tiers),
            Kind::ShardIndex => match value {
                Value::String(_, text) if text == FROM_HOSTNAME => Some(Typed::Text(text.clone())),
                Value::Num(..) => self.integer(key, value).map(Typed::Integer),
                other => fails(
                    self,
                    format!(
                        "expected a number from 0 to sharding.total - 1 or {FROM_HOSTNAME:?}, found {}",
                        describe(other, true)
                    ),
                ),
            },
        }
    }

    /// A table, with its unknown keys reported. The values of unknown keys are never shown: a
    /// misspelt `client_secrte` still holds a secret.
    pub(crate) fn table<'v>(
        &mut self,
        key: &str,
        value: &'v Value,
        known: &[&str],
    ) -> Option<&'v Dict> {
        self.table_showing(key, value, known, true)
    }

    /// [`Checker::table`], showing a value that is not a table only when `show_value`.
    pub(crate) fn table_showing<'v>(
        &mut self,
        key: &str,
        value: &'v Value,
        known: &[&str],
        show_value: bool,
    ) -> Option<&'v Dict> {
        match value {
            Value::Dict(_, dict) => {
                for (name, child) in dict {
                    if !known.contains(&name.as_str()) {
                        self.push(
                            join_key(key, name),
                            child.tag(),
                            format!("unknown key; expected one of: {}", known.join(", ")),
                        );
                    }
                }
                Some(dict)
            }
            other => {
                self.push(
                    key,
                    other.tag(),
                    format!("expected a table, found {}", describe(other, show_value)),
                );
                None
            }
        }
    }

    pub(crate) fn text(&mut self, key: &str, value: &Value) -> Option<String> {
        match value {
            Value::String(_, text) => Some(text.clone()),
            Value::Char(_, c) => Some(c.to_string()),
            other => {
                self.push(
                    key,
                    other.tag(),
                    format!("expected a string, found {}", describe(other, true)),
                );
                None
            }
        }
    }

    pub(crate) fn secret(&mut self, key: &str, value: &Value) -> Option<SecretString> {
        match value {
            Value::String(_, text) => Some(SecretString::from(text.trim().to_owned())),
            other => {
                self.push(
                    key,
                    other.tag(),
                    format!("expected a string, found {}", describe(other, false)),
                );
                None
            }
        }
    }

    /// A duration in humantime syntax, and the text it was written as.
    fn duration(&mut self, key: &str, value: &Value) -> Option<(String, Duration)> {
        let Value::String(_, text) = value else {
            self.push(
                key,
                value.tag(),
                format!(
                    "expected a duration string like \"30s\" or \"2m 30s\", found {}",
                    describe(value, true)
                ),
            );
            return None;
        };
        match humantime::parse_duration(text) {
            Ok(duration) => Some((text.clone(), duration)),
            Err(error) => {
                self.push(
                    key,
                    value.tag(),
                    format!(
                        "invalid duration {text:?} ({error}); expected a duration like \"30s\", \"5m\", \"2m 30s\" or \"7d\""
                    ),
                );
                None
            }
        }
    }

    /// A duration of at least `minimum`, with a message naming the limit.
    fn bounded_duration(
        &mut self,
        key: &str,
        value: &Value,
        minimum: Duration,
    ) -> Option<(String, Duration)> {
        let (text, duration) = self.duration(key, value)?;
        if duration < minimum {
            let message = if minimum == NONZERO {
                format!("must be greater than 0, found {text:?}")
            } else {
                format!(
                    "must be at least {}, found {text:?}",
                    humantime::format_duration(minimum)
                )
            };
            self.push(key, value.tag(), message);
            return None;
        }
        Some((text, duration))
    }

    fn boolean(&mut self, key: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Bool(_, flag) => Some(*flag),
            other => {
                self.push(
                    key,
                    other.tag(),
                    format!("expected true or false, found {}", describe(other, true)),
                );
                None
            }
        }
    }

    pub(crate) fn integer(&mut self, key: &str, value: &Value) -> Option<u64> {
        if let Value::Num(_, num) = value
            && num.to_f64().is_none()
        {
            if let Some(unsigned) = num.to_u128_lossy() {
                if let Ok(fitting) = u64::try_from(unsigned) {
                    return Some(fitting);
                }
                self.push(key, value.tag(), format!("{unsigned} is too large"));
                return None;
            }
            self.push(key, value.tag(), "must not be negative");
            return None;
        }
        self.push(
            key,
            value.tag(),
            format!("expected an integer, found {}", describe(value, true)),
        );
        None
    }

    fn fraction(&mut self, key: &str, value: &Value) -> Option<f64> {
        if let Value::Num(_, num) = value {
            let as_float = num
                .to_f64()
                .or_else(|| num.to_u128_lossy().map(|n| n as f64))
                .or_else(|| num.to_i128().map(|n| n as f64));
            if as_float.is_some() {
                return as_float;
            }
        }
        self.push(
            key,
            value.tag(),
            format!("expected a number, found {}", describe(value, true)),
        );
        None
    }

    fn text_list(&mut self, key: &str, value: &Value) -> Option<Vec<(String, Tag)>> {
        let Value::Array(_, items) = value else {
            self.push(
                key,
                value.tag(),
                format!(
                    "expected an array of strings, found {}",
                    describe(value, true)
                ),
            );
            return None;
        };
        let mut texts = Vec::with_capacity(items.len());
        let mut all_text = true;
        for (index, item) in items.iter().enumerate() {
            match self.text(&format!("{key}[{index}]"), item) {
                Some(text) => texts.push((text, item.tag())),
                None => all_text = false,
            }
        }
        all_text.then_some(texts)
    }

    fn windows(&mut self, key: &str, value: &Value) -> Option<Vec<ExpiryWindow>> {
        let errors_before = self.errors.len();
        let texts = self.text_list(key, value)?;
        if texts.is_empty() {
            self.push(
                key,
                value.tag(),
                "must list at least one window, like [\"24h\"]",
            );
        }
        let mut windows = Vec::with_capacity(texts.len());
        let mut seen: HashMap<Duration, String> = HashMap::new();
        for (index, (text, tag)) in texts.into_iter().enumerate() {
            let item_key = format!("{key}[{index}]");
            let item = Value::String(tag, text);
            let Some((label, duration)) = self.bounded_duration(&item_key, &item, NONZERO) else {
                continue;
            };
            if let Some(first) = seen.get(&duration) {
                self.push(
                    item_key,
                    tag,
                    format!("{label:?} duplicates {first:?}: each window must be different"),
                );
                continue;
            }
            seen.insert(duration, label.clone());
            windows.push(ExpiryWindow { label, duration });
        }
        (self.errors.len() == errors_before).then_some(windows)
    }

    fn checked_list(
        &mut self,
        key: &str,
        value: &Value,
        rule: fn(&str) -> Result<String, String>,
    ) -> Option<Vec<String>> {
        let texts = self.text_list(key, value)?;
        let mut kept = Vec::with_capacity(texts.len());
        let mut all_valid = true;
        for (index, (text, tag)) in texts.into_iter().enumerate() {
            match rule(&text) {
                Ok(value) => kept.push(value),
                Err(message) => {
                    all_valid = false;
                    self.push(format!("{key}[{index}]"), tag, message);
                }
            }
        }
        all_valid.then_some(kept)
    }

    /// `policy.tiers`: each tier at most once, each role in at most one tier.
    fn tiers(&mut self, key: &str, value: &Value) -> Option<TierRoles> {
        let names: Vec<&str> = Tier::ALL.iter().map(|tier| tier.label()).collect();
        let table = self.table(key, value, &names)?.clone();
        let errors_before = self.errors.len();
        let mut tiers = TierRoles::default();
        // In tier order, most powerful first: a role listed twice is reported under the lesser tier.
        for tier in Tier::ALL {
            let Some(roles) = table.get(tier.label()) else {
                continue;
            };
            let tier_key = format!("{key}.{}", tier.label());
            let Some(roles) = self.checked_list(&tier_key, roles, parse_role) else {
                continue;
            };
            for role in roles {
                if let Some((other, _)) = tiers.0.iter().find(|(_, known)| *known == role) {
                    self.push(
                        &tier_key,
                        value.tag(),
                        format!("{role} is already in the {} tier", other.label()),
                    );
                } else {
                    tiers.0.push((tier, role));
                }
            }
        }
        (self.errors.len() == errors_before).then_some(tiers)
    }

    fn org_patterns(&mut self, key: &str, value: &Value) -> Option<Vec<OrgPattern>> {
        let texts = self.text_list(key, value)?;
        let mut patterns = Vec::with_capacity(texts.len());
        let mut all_valid = true;
        for (index, (text, tag)) in texts.into_iter().enumerate() {
            match parse_org_pattern(&text) {
                Ok(pattern) => patterns.push(pattern),
                Err(message) => {
                    all_valid = false;
                    self.push(format!("{key}[{index}]"), tag, message);
                }
            }
        }
        all_valid.then_some(patterns)
    }
}
