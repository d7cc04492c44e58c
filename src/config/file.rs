//! The TOML configuration file (`--config FILE`, `ACCESSD_CONFIG`) and the effective
//! configuration as `serve --print-config` shows it.
//!
//! The file is flat: its keys are the long flag names of `accessd serve`, in kebab-case
//! (`rate-limit-requests = 500` is `--rate-limit-requests 500`). Precedence: defaults <
//! file < `ACCESSD_*` environment < flags. The file's values become the defaults of the
//! command's arguments before the command line is parsed, so clap's own environment and
//! flag handling overrides them, and each value goes through the same parser (ranges,
//! value lists, addresses) as the flag. Every key is checked when the file is read: an
//! unknown key, a value of the wrong TOML type or a value the flag would refuse stops
//! the start with the file, the key and the problem.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// The arguments that are no setting: they never come from the file and are not shown.
const NOT_SETTINGS: &[&str] = &["config", "print-config", "help", "version"];

/// Settings whose value is a secret: shown as [`REDACTED`].
const SECRETS: &[&str] = &["admin-client-secret"];

/// Settings holding a URL whose password is a secret: shown with it redacted.
const URLS_WITH_PASSWORDS: &[&str] = &["database-url"];

/// What a secret is shown as.
pub const REDACTED: &str = "[redacted]";

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error(
        "the configuration file {path}: unknown key `{key}`{hint} (keys are the long flag \
         names of `accessd serve --help`, in kebab-case)"
    )]
    UnknownKey {
        path: PathBuf,
        key: String,
        hint: String,
    },
    #[error("the configuration file {path}: `{key}`: {problem}")]
    Value {
        path: PathBuf,
        key: String,
        problem: String,
    },
}

/// A configuration file read and checked: each key with its value as flag text.
#[derive(Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    values: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The TOML type a setting takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Integer,
    Text,
    List,
}

impl Kind {
    fn of(arg: &Arg) -> Kind {
        if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
            return Kind::Bool;
        }
        if matches!(arg.get_action(), ArgAction::Append) {
            return Kind::List;
        }
        let id = arg.get_value_parser().type_id();
        if id == TypeId::of::<bool>() {
            Kind::Bool
        } else if [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
        ]
        .into_iter()
        .any(|t| id == t)
        {
            Kind::Integer
        } else {
            Kind::Text
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Bool => "a boolean (true or false)",
            Kind::Integer => "an integer",
            Kind::Text => "a string",
            Kind::List => "an array of strings",
        }
    }

    /// The flag text(s) of a TOML value of this kind, or what is wrong with it.
    fn texts(self, value: &toml::Value) -> Result<Vec<String>, String> {
        let wrong = || {
            format!(
                "expected {}, found {} {value}",
                self.expected(),
                value.type_str()
            )
        };
        match (self, value) {
            (Kind::Bool, toml::Value::Boolean(b)) => Ok(vec![b.to_string()]),
            (Kind::Integer, toml::Value::Integer(i)) => Ok(vec![i.to_string()]),
            (Kind::Text, toml::Value::String(s)) => Ok(vec![s.clone()]),
            (Kind::List, toml::Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_string).ok_or_else(wrong))
                .collect(),
            _ => Err(wrong()),
        }
    }

    /// A value as TOML text.
    fn toml(self, texts: &[String]) -> String {
        let string = |s: &str| toml::Value::String(s.to_string()).to_string();
        match (self, texts) {
            (Kind::List, _) => format!(
                "[{}]",
                texts
                    .iter()
                    .map(|t| string(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            // As clap reads a boolean from the environment (`ACCESSD_LOG_JSON=1`).
            (Kind::Bool, [one]) => {
                let falsey = ["false", "no", "off", "n", "f", "0", ""];
                (!falsey.contains(&one.to_ascii_lowercase().as_str())).to_string()
            }
            (Kind::Integer, [one]) if one.parse::<i64>().is_ok() => one.clone(),
            (_, [one]) => string(one),
            _ => string(&texts.join(",")),
        }
    }
}

/// The settings of `command`: its arguments that take a long flag, by that name.
fn settings(command: &Command) -> impl Iterator<Item = (&str, &Arg)> {
    command.get_arguments().filter_map(|arg| {
        let long = arg.get_long()?;
        (!NOT_SETTINGS.contains(&long)).then_some((long, arg))
    })
}

impl ConfigFile {
    /// Reads `path` and checks every key against the settings of `serve` (which has
    /// them all): the key must be one of them, its value of the setting's type and
    /// accepted by the flag's parser.
    pub fn load(path: &Path, serve: &Command) -> Result<ConfigFile, FileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text, serve)
    }

    /// [`ConfigFile::load`] of a text already read.
    pub fn parse(path: &Path, text: &str, serve: &Command) -> Result<ConfigFile, FileError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| FileError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string().trim_end().to_string(),
            })?;
        let known: BTreeMap<&str, &Arg> = settings(serve).collect();
        let mut values = BTreeMap::new();
        for (key, value) in &table {
            let Some(arg) = known.get(key.as_str()) else {
                let kebab = key.replace('_', "-");
                let hint = if known.contains_key(kebab.as_str()) {
                    format!("; did you mean `{kebab}`?")
                } else {
                    String::new()
                };
                return Err(FileError::UnknownKey {
                    path: path.to_path_buf(),
                    key: key.clone(),
                    hint,
                });
            };
            let problem = |problem: String| FileError::Value {
                path: path.to_path_buf(),
                key: key.clone(),
                problem,
            };
            let kind = Kind::of(arg);
            let texts = kind.texts(value).map_err(problem)?;
            check(key, arg, &texts).map_err(problem)?;
            values.insert(key.clone(), texts);
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            values,
        })
    }

    /// `command` with the file's values as the defaults of its settings (keys of
    /// settings `command` does not have are left out: `migrate` takes only the
    /// database from a file written for `serve`).
    pub fn apply(&self, mut command: Command) -> Command {
        let ids: Vec<(String, String)> = settings(&command)
            .map(|(long, arg)| (long.to_string(), arg.get_id().to_string()))
            .collect();
        for (long, id) in ids {
            if let Some(texts) = self.values.get(&long) {
                let texts = texts.clone();
                command = command.mut_arg(id, move |arg| {
                    let secret = SECRETS.contains(&long.as_str());
                    arg.default_values(texts).hide_default_value(secret)
                });
            }
        }
        command
    }

    /// Whether the file sets `key`.
    pub fn sets(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }
}

/// Runs `texts` through the parser of `arg`, as clap does for the flag.
fn check(key: &str, arg: &Arg, texts: &[String]) -> Result<(), String> {
    if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
        return Ok(());
    }
    let alone = Arg::new("value")
        .long(key.to_string())
        .value_parser(arg.get_value_parser().clone())
        .action(ArgAction::Append);
    let mut argv = Vec::new();
    for text in texts {
        argv.push(format!("--{key}={text}"));
    }
    Command::new("accessd")
        .no_binary_name(true)
        .arg(alone)
        .try_get_matches_from(argv)
        .map(|_| ())
        .map_err(|e| {
            let rendered = e.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.strip_prefix("error: ").unwrap_or(first).to_string()
        })
}

/// Where a setting's effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
    Flag,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Flag => f.write_str("flag"),
        }
    }
}

/// Where the value of the argument `id` of `matches` came from.
pub fn origin(
    command: &Command,
    matches: &ArgMatches,
    file: Option<&ConfigFile>,
    id: &str,
) -> Origin {
    let arg = command.get_arguments().find(|a| a.get_id() == id);
    match matches.value_source(id) {
        Some(ValueSource::CommandLine) => Origin::Flag,
        Some(ValueSource::EnvVariable) => Origin::Env(
            arg.and_then(Arg::get_env)
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        _ => match (file, arg.and_then(Arg::get_long)) {
            (Some(file), Some(long)) if file.sets(long) => Origin::File(file.path.clone()),
            _ => Origin::Default,
        },
    }
}

/// The precedence of a value's origin (a flag over the environment over the file over
/// the default), to settle two settings that say opposite things (`--task-runner true`
/// from the file, `--no-task-runner` on the command line).
pub fn rank(origin: &Origin) -> u8 {
    match origin {
        Origin::Default => 0,
        Origin::File(_) => 1,
        Origin::Env(_) => 2,
        Origin::Flag => 3,
    }
}

/// `url` with its password replaced by `***`, as the start-up banner shows it (a URL
/// without one as it is).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The effective configuration of `command` as parsed into `matches`, as a TOML
/// document a `--config` file could hold: each setting with the origin of its value,
/// secrets redacted, settings without a value as comments.
pub fn render(command: &Command, matches: &ArgMatches, file: Option<&ConfigFile>) -> String {
    let mut out = String::from(
        "# The effective configuration of `accessd serve`: each value with where it came\n\
         # from (default < file < env < flag). Secrets are redacted.\n",
    );
    for (long, arg) in settings(command) {
        let id = arg.get_id().as_str();
        let texts: Vec<String> = matches
            .get_raw(id)
            .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let origin = origin(command, matches, file, id);
        if texts.is_empty() {
            let _ = writeln!(out, "# {long} is not set");
            continue;
        }
        let texts: Vec<String> = if SECRETS.contains(&long) {
            vec![REDACTED.to_string()]
        } else if URLS_WITH_PASSWORDS.contains(&long) {
            texts.iter().map(|t| redact_url(t)).collect()
        } else {
            texts
        };
        let _ = writeln!(out, "{long} = {}  # {origin}", Kind::of(arg).toml(&texts));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, FromArgMatches};

    #[derive(Args, Debug)]
    struct Sample {
        #[arg(long, env = "SAMPLE_PORT_TEST", default_value_t = 8080,
              value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
        #[arg(long, default_value = "a")]
        name: String,
        #[arg(long)]
        verbose: bool,
        #[arg(long, value_delimiter = ',')]
        origin: Vec<String>,
        #[arg(long, hide_env_values = true)]
        admin_client_secret: Option<String>,
        #[arg(long, default_value = "sqlite://x.db")]
        database_url: String,
    }

    fn command() -> Command {
        Sample::augment_args(Command::new("serve"))
    }

    fn parse(text: &str) -> Result<ConfigFile, FileError> {
        ConfigFile::parse(Path::new("/etc/accessd.toml"), text, &command())
    }

    #[test]
    fn file_values_become_the_defaults_that_flags_override() {
        let file = parse(
            "port = 9000\nname = \"b\"\nverbose = true\norigin = [\"x\", \"y\"]\n\
             admin-client-secret = \"s3cret-s3cret-s3cret\"\n\
             database-url = \"postgres://u:pw@h/db\"\n",
        )
        .unwrap();
        let matches = file
            .apply(command())
            .try_get_matches_from(["serve", "--name", "c"])
            .unwrap();
        let sample = Sample::from_arg_matches(&matches).unwrap();
        assert_eq!(sample.port, 9000);
        assert_eq!(sample.name, "c");
        assert!(sample.verbose);
        assert_eq!(sample.origin, ["x", "y"]);
        let shown = render(&file.apply(command()), &matches, Some(&file));
        assert!(
            shown.contains("port = 9000  # file /etc/accessd.toml"),
            "{shown}"
        );
        assert!(shown.contains("name = \"c\"  # flag"), "{shown}");
        assert!(shown.contains("origin = [\"x\", \"y\"]"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("pw"), "{shown}");
        assert!(
            shown.contains("admin-client-secret = \"[redacted]\""),
            "{shown}"
        );
        // The output is itself a configuration file.
        parse(&shown).unwrap();
    }

    #[test]
    fn an_unknown_key_a_wrong_type_and_a_bad_value_are_refused_by_name() {
        let e = parse("prot = 1").unwrap_err().to_string();
        assert!(
            e.contains("/etc/accessd.toml") && e.contains("unknown key `prot`"),
            "{e}"
        );
        let e = parse("database_url = \"x\"").unwrap_err().to_string();
        assert!(e.contains("did you mean `database-url`?"), "{e}");
        let e = parse("port = \"9000\"").unwrap_err().to_string();
        assert!(
            e.contains("`port`: expected an integer, found string \"9000\""),
            "{e}"
        );
        let e = parse("port = 0").unwrap_err().to_string();
        assert!(e.contains("`port`: invalid value '0'"), "{e}");
        let e = parse("origin = \"x\"").unwrap_err().to_string();
        assert!(e.contains("`origin`: expected an array of strings"), "{e}");
        let e = parse("[server]\nport = 1").unwrap_err().to_string();
        assert!(e.contains("unknown key `server`"), "{e}");
        let e = parse("port = ").unwrap_err().to_string();
        assert!(e.contains("not valid TOML"), "{e}");
        let e = parse("config = \"other.toml\"").unwrap_err().to_string();
        assert!(e.contains("unknown key `config`"), "{e}");
    }

    #[test]
    fn secrets_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://accessd.db"), "sqlite://accessd.db");
    }
}
