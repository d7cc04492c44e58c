//! `accessd admin …`: a client of the admin API (`/_accessd/`, `spec/accessd-admin.json`)
//! of a running accessd, for test suites and shell scripts. It fetches a token with the
//! admin client's credentials (`client_credentials`; the client must hold
//! `accessd:admin`), makes one call, and prints the JSON answer, pretty, on standard
//! output. An error answer becomes an [`AdminError`] carrying the status and the
//! server's message(s).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Map, Value};

use crate::config::DEFAULT_URL;

/// `accessd admin`: where the server is and who calls it.
#[derive(Args, Debug)]
pub struct AdminArgs {
    /// Base URL of the running accessd.
    #[arg(long, env = "ACCESSD_URL", default_value = DEFAULT_URL, global = true)]
    pub url: String,

    /// Id of a client holding the scope `accessd:admin` (the server's start-up or
    /// configured admin client has it); the same variable `serve` reads, so one
    /// environment serves both.
    #[arg(long, env = "ACCESSD_ADMIN_CLIENT_ID", global = true)]
    pub admin_client_id: Option<String>,

    /// Secret of that client.
    #[arg(
        long,
        env = "ACCESSD_ADMIN_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub admin_client_secret: Option<String>,

    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Empty the tenant (every object and task; signing keys and admin clients stay),
    /// or replace it with the demo tenant.
    #[command(after_help = "Example:\n  accessd admin reset --demo")]
    Reset {
        /// Load the demo tenant after emptying.
        #[arg(long, conflicts_with = "empty")]
        demo: bool,
        /// Leave the tenant empty (the default).
        #[arg(long)]
        empty: bool,
    },
    /// Export the tenant as a fixture, or load one in its place.
    #[command(subcommand)]
    Fixture(FixtureCommand),
    /// Injected faults: list, add, remove, clear.
    #[command(subcommand)]
    Faults(FaultsCommand),
    /// The server's clock: read it, set it, freeze it, move it, or back to real time.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// The journal of the last requests: list (filtered) or clear.
    #[command(subcommand)]
    Requests(RequestsCommand),
}

/// The fixture's formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixtureFormat {
    Json,
    Yaml,
}

#[derive(Subcommand, Debug)]
pub enum FixtureCommand {
    /// Write the tenant as a fixture document (`GET /_accessd/fixture`).
    #[command(
        after_help = "Example:\n  accessd admin fixture export --format yaml -o tenant.yaml"
    )]
    Export {
        /// The document's format.
        #[arg(long, value_enum, default_value_t = FixtureFormat::Json)]
        format: FixtureFormat,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Replace the tenant with a fixture (`POST /_accessd/reset`): a `.json` file is
    /// sent as JSON, any other (or `-`, standard input) as YAML.
    #[command(after_help = "Example:\n  accessd admin fixture load tests/fixtures/tenant.yaml")]
    Load {
        /// The fixture file; `-` reads standard input.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum FaultsCommand {
    /// The fault rules in force, with how often each has fired.
    #[command(after_help = "Example:\n  accessd admin faults list")]
    List,
    /// Add a fault rule: what to match (all given must match) and what to do.
    #[command(after_help = "Examples:\n  \
        accessd admin faults add --operation-id listAccessProfiles --status 429 --retry-after 1 --times 2\n  \
        accessd admin faults add --path '/v3/access-profiles*' --delay-ms 2000\n  \
        accessd admin faults add --json '{\"family\": \"beta\", \"drop\": true, \"probability\": 0.1}'")]
    Add(Box<FaultArgs>),
    /// Remove one rule by its id.
    #[command(after_help = "Example:\n  accessd admin faults remove 0190b3c4e5f6...")]
    Remove {
        /// The rule's id (as `faults add` or `faults list` printed it).
        id: String,
    },
    /// Remove every rule.
    #[command(after_help = "Example:\n  accessd admin faults clear")]
    Clear,
}

/// A fault rule from flags (the common cases) and/or `--json` (anything); a flag
/// overrides the same field of `--json`.
#[derive(Args, Debug, Default)]
pub struct FaultArgs {
    /// Match this operation (the spec's operationId).
    #[arg(long)]
    pub operation_id: Option<String>,
    /// Match this route family (v3, beta, v1, v2024, v2025, v2026).
    #[arg(long)]
    pub family: Option<String>,
    /// Match this HTTP method.
    #[arg(long)]
    pub method: Option<String>,
    /// Match this request path; `*` matches any run of characters.
    #[arg(long)]
    pub path: Option<String>,
    /// Match requests of this API client.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Answer with this status (408, 429, 500, 502, 503) and the ISC error body.
    #[arg(long)]
    pub status: Option<u16>,
    /// `Retry-After` seconds of a 429 or 503.
    #[arg(long)]
    pub retry_after: Option<u64>,
    /// Wait this many milliseconds first.
    #[arg(long)]
    pub delay_ms: Option<u64>,
    /// Close the connection without an answer.
    #[arg(long)]
    pub drop: bool,
    /// For a bulk delete: its task ends with this status (ERROR, TEMPERROR, WARNING,
    /// TERMINATED), deleting nothing; or RUNNING: it stays IN_PROGRESS for
    /// `--running-ms`, then runs normally.
    #[arg(long)]
    pub task_outcome: Option<String>,
    /// With `--task-outcome RUNNING`: how long the task stays running, in milliseconds.
    #[arg(long)]
    pub running_ms: Option<u64>,
    /// Fire this many times, then disappear.
    #[arg(long)]
    pub times: Option<u64>,
    /// Fire with this probability (0 to 1).
    #[arg(long)]
    pub probability: Option<f64>,
    /// The rule as the admin API takes it (camelCase fields); flags override its fields.
    #[arg(long, value_name = "JSON")]
    pub json: Option<String>,
}

impl FaultArgs {
    /// The rule's JSON body.
    pub fn body(&self) -> Result<Value, AdminError> {
        let mut rule = match &self.json {
            None => Map::new(),
            Some(text) => match serde_json::from_str(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(AdminError::Usage("--json must be a JSON object".into())),
                Err(e) => return Err(AdminError::Usage(format!("--json is not JSON: {e}"))),
            },
        };
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                rule.insert(key.to_string(), value);
            }
        };
        set("operationId", self.operation_id.clone().map(Value::from));
        set("family", self.family.clone().map(Value::from));
        set("method", self.method.clone().map(Value::from));
        set("path", self.path.clone().map(Value::from));
        set("clientId", self.client_id.clone().map(Value::from));
        set("status", self.status.map(Value::from));
        set("retryAfter", self.retry_after.map(Value::from));
        set("delayMs", self.delay_ms.map(Value::from));
        set("drop", self.drop.then_some(Value::Bool(true)));
        set("taskOutcome", self.task_outcome.clone().map(Value::from));
        set("runningMs", self.running_ms.map(Value::from));
        set("times", self.times.map(Value::from));
        set("probability", self.probability.map(Value::from));
        Ok(Value::Object(rule))
    }
}

#[derive(Subcommand, Debug)]
pub enum ClockCommand {
    /// The server's time, whether it is frozen, and its offset from real time.
    #[command(after_help = "Example:\n  accessd admin clock get")]
    Get,
    /// Set the time (RFC 3339); it goes on running from there unless frozen.
    #[command(after_help = "Example:\n  accessd admin clock set 2031-01-01T00:00:00Z")]
    Set {
        /// The new time, RFC 3339.
        to: String,
    },
    /// Stop the clock where it is.
    #[command(after_help = "Example:\n  accessd admin clock freeze")]
    Freeze,
    /// Move the clock: `90s`, `15m`, `2h`, `1d`, combined (`1h30m`), or seconds;
    /// a leading `-` moves it back.
    #[command(after_help = "Example:\n  accessd admin clock advance 2h")]
    Advance {
        /// How far, e.g. `750s`, `2h`, `1d`.
        #[arg(allow_hyphen_values = true)]
        duration: String,
    },
    /// Back to the system's time.
    #[command(after_help = "Example:\n  accessd admin clock real")]
    Real,
}

#[derive(Subcommand, Debug)]
pub enum RequestsCommand {
    /// The journal, oldest first, narrowed by the filters given.
    #[command(
        after_help = "Example:\n  accessd admin requests list --operation-id listAccessProfiles --status 429"
    )]
    List {
        /// Only requests of this operation.
        #[arg(long)]
        operation_id: Option<String>,
        /// Only requests answered with this status.
        #[arg(long)]
        status: Option<u16>,
        /// Only requests of this API client.
        #[arg(long)]
        client_id: Option<String>,
        /// Only requests at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
    },
    /// Empty the journal.
    #[command(after_help = "Example:\n  accessd admin requests clear")]
    Clear,
}

/// Why `accessd admin` failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach accessd at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{what} answered {status}: {message}")]
    Answer {
        what: String,
        status: StatusCode,
        message: String,
    },
    #[error("{0}")]
    Io(String),
}

/// Parses a duration of `accessd admin clock advance` into seconds: one or more
/// `<number><unit>` (`s`, `m`, `h`, `d`), or a bare number of seconds, optionally
/// preceded by `-`. A move longer than the whole range the clock may stand in (1970 to
/// the end of 9999) is refused here; the server refuses one that ends outside it.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let seconds = parse_any_duration(text)?;
    if seconds.unsigned_abs() > MAX_CLOCK_MOVE {
        return Err(format!(
            "'{text}' moves the clock further than it may stand apart \
             (1970 to 9999, {MAX_CLOCK_MOVE} seconds)"
        ));
    }
    Ok(seconds)
}

/// Seconds from 1970-01-01T00:00:00Z to 10000-01-01T00:00:00Z.
const MAX_CLOCK_MOVE: u64 = 253_402_300_800;

fn parse_any_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("'{text}' is not a duration (e.g. 90s, 15m, 2h, 1d, 1h30m)");
    let trimmed = text.trim();
    let (sign, rest) = match trimmed.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = rest.parse::<i64>() {
        return Ok(sign * seconds);
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(sign * total)
}

/// The message(s) of an error answer: the ISC body's `messages[].text`, the token
/// endpoint's `error` (and `error_description`), a `message`, or the text itself.
pub fn error_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        let text = body.trim();
        return if text.is_empty() {
            "(no body)".into()
        } else {
            text.chars().take(500).collect()
        };
    };
    let texts: Vec<&str> = value["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["text"].as_str()).collect())
        .unwrap_or_default();
    if !texts.is_empty() {
        let detail = value["detailCode"].as_str();
        let joined = texts.join("; ");
        return match detail {
            Some(code) => format!("{joined} ({code})"),
            None => joined,
        };
    }
    if let Some(error) = value["error"].as_str() {
        return match value["error_description"].as_str() {
            Some(description) => format!("{error}: {description}"),
            None => error.to_string(),
        };
    }
    if let Some(message) = value["message"].as_str() {
        return message.trim().to_string();
    }
    value.to_string()
}

/// A connection to the admin API with a token.
struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// How long one call may take: a fixture load writes a whole tenant.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Admin {
    async fn connect(args: &AdminArgs) -> Result<Admin, AdminError> {
        let base = args.url.trim_end_matches('/').to_string();
        url::Url::parse(&base)
            .map_err(|e| AdminError::Usage(format!("--url {base} is not a URL: {e}")))?;
        let (Some(id), Some(secret)) = (&args.admin_client_id, &args.admin_client_secret) else {
            return Err(AdminError::Usage(
                "no admin credentials: set ACCESSD_ADMIN_CLIENT_ID and \
                 ACCESSD_ADMIN_CLIENT_SECRET (or --admin-client-id and \
                 --admin-client-secret) to a client holding accessd:admin; `accessd serve` \
                 prints its start-up client's"
                    .into(),
            ));
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| AdminError::Io(format!("cannot make an HTTP client: {e}")))?;
        let token_url = format!("{base}/oauth/token");
        let request = http.post(&token_url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ]);
        let body = send(request, &base, &format!("the token endpoint {token_url}")).await?;
        let token = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_string))
            .ok_or_else(|| AdminError::Io(format!("{token_url} gave no access_token")))?;
        Ok(Admin { http, base, token })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends `request` (to `path`) and returns the answer's body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<Vec<u8>, AdminError> {
        let what = format!("{method} {path}");
        send(build(self.request(method, path)), &self.base, &what).await
    }
}

/// Sends a request; a refused connection names the server's URL, an error answer its
/// status and message(s).
async fn send(request: RequestBuilder, base: &str, what: &str) -> Result<Vec<u8>, AdminError> {
    let response = request.send().await.map_err(|e| AdminError::Unreachable {
        url: base.to_string(),
        reason: cause_chain(&e),
    })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| AdminError::Unreachable {
            url: base.to_string(),
            reason: cause_chain(&e),
        })?;
    if !status.is_success() {
        return Err(AdminError::Answer {
            what: what.to_string(),
            status,
            message: error_message(&String::from_utf8_lossy(&body)),
        });
    }
    Ok(body.to_vec())
}

/// An error with its sources ("error sending request: … : Connection refused").
fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Writes an answer's JSON, pretty, on standard output (nothing for an empty answer).
fn print_json(body: &[u8]) -> Result<(), AdminError> {
    if body.is_empty() {
        return Ok(());
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| AdminError::Io(format!("standard output: {e}")))
}

/// Runs one `accessd admin` command.
pub async fn run(args: AdminArgs) -> Result<(), AdminError> {
    // Checked before any call, so a typo costs no token.
    let clock_change = match &args.command {
        AdminCommand::Clock(ClockCommand::Advance { duration }) => Some(json!({
            "advanceSeconds": parse_duration(duration).map_err(AdminError::Usage)?
        })),
        _ => None,
    };
    let fault = match &args.command {
        AdminCommand::Faults(FaultsCommand::Add(fault)) => Some(fault.body()?),
        _ => None,
    };
    let admin = Admin::connect(&args).await?;
    let body = match args.command {
        AdminCommand::Reset { demo, .. } => {
            let to = if demo { "demo" } else { "empty" };
            admin
                .call(Method::POST, "/_accessd/reset", |r| {
                    r.json(&json!({ "to": to }))
                })
                .await?
        }
        AdminCommand::Fixture(FixtureCommand::Export { format, output }) => {
            let accept = match format {
                FixtureFormat::Json => "application/json",
                FixtureFormat::Yaml => "application/yaml",
            };
            let body = admin
                .call(Method::GET, "/_accessd/fixture", |r| {
                    r.header(reqwest::header::ACCEPT, accept)
                })
                .await?;
            let text = match format {
                FixtureFormat::Json => match serde_json::from_slice::<Value>(&body) {
                    Ok(v) => serde_json::to_vec_pretty(&v).unwrap_or(body),
                    Err(_) => body,
                },
                FixtureFormat::Yaml => body,
            };
            match output {
                Some(path) => std::fs::write(&path, &text)
                    .map_err(|e| AdminError::Io(format!("cannot write {}: {e}", path.display())))?,
                None => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&text)
                        .and_then(|()| {
                            if text.ends_with(b"\n") {
                                Ok(())
                            } else {
                                out.write_all(b"\n")
                            }
                        })
                        .map_err(|e| AdminError::Io(format!("standard output: {e}")))?;
                }
            }
            return Ok(());
        }
        AdminCommand::Fixture(FixtureCommand::Load { file }) => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| AdminError::Io(format!("standard input: {e}")))?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| AdminError::Io(format!("cannot read {}: {e}", file.display())))?
            };
            let is_json = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            if is_json {
                let fixture: Value = serde_json::from_str(&text).map_err(|e| {
                    AdminError::Usage(format!("{} is not JSON: {e}", file.display()))
                })?;
                admin
                    .call(Method::POST, "/_accessd/reset", |r| {
                        r.json(&json!({ "fixture": fixture }))
                    })
                    .await?
            } else {
                admin
                    .call(Method::POST, "/_accessd/reset", |r| {
                        r.header(reqwest::header::CONTENT_TYPE, "application/yaml")
                            .body(text)
                    })
                    .await?
            }
        }
        AdminCommand::Faults(FaultsCommand::List) => {
            admin.call(Method::GET, "/_accessd/faults", |r| r).await?
        }
        AdminCommand::Faults(FaultsCommand::Add(_)) => {
            let rule = fault.unwrap_or_default();
            admin
                .call(Method::POST, "/_accessd/faults", |r| r.json(&rule))
                .await?
        }
        AdminCommand::Faults(FaultsCommand::Remove { id }) => {
            let path = format!("/_accessd/faults/{}", urlencoding_path(&id));
            admin.call(Method::DELETE, &path, |r| r).await?
        }
        AdminCommand::Faults(FaultsCommand::Clear) => {
            admin
                .call(Method::DELETE, "/_accessd/faults", |r| r)
                .await?
        }
        AdminCommand::Clock(ClockCommand::Get) => {
            admin.call(Method::GET, "/_accessd/clock", |r| r).await?
        }
        AdminCommand::Clock(command) => {
            let change = match command {
                ClockCommand::Set { to } => json!({ "to": to }),
                ClockCommand::Freeze => json!({ "freeze": true }),
                ClockCommand::Real => json!({ "real": true }),
                ClockCommand::Advance { .. } | ClockCommand::Get => {
                    clock_change.unwrap_or_default()
                }
            };
            admin
                .call(Method::POST, "/_accessd/clock", |r| r.json(&change))
                .await?
        }
        AdminCommand::Requests(RequestsCommand::List {
            operation_id,
            status,
            client_id,
            since,
        }) => {
            let query: Vec<(&str, String)> = [
                ("operationId", operation_id),
                ("status", status.map(|s| s.to_string())),
                ("clientId", client_id),
                ("since", since),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            admin
                .call(Method::GET, "/_accessd/requests", |r| r.query(&query))
                .await?
        }
        AdminCommand::Requests(RequestsCommand::Clear) => {
            admin
                .call(Method::DELETE, "/_accessd/requests", |r| r)
                .await?
        }
    };
    print_json(&body)
}

/// A path segment with the characters a URL path cannot hold percent-encoded.
fn urlencoding_path(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_combinations_and_a_sign() {
        for (text, seconds) in [
            ("90s", 90),
            ("15m", 900),
            ("2h", 7200),
            ("1d", 86_400),
            ("1h30m", 5400),
            ("750", 750),
            ("-1h", -3600),
        ] {
            assert_eq!(parse_duration(text), Ok(seconds), "{text}");
        }
        for bad in ["", "h", "2x", "1h30", "-", "99999999999999999999d"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("is not a duration"), "{bad}: {e}");
        }
        assert_eq!(parse_duration("-253402300800"), Ok(-253_402_300_800));
        for absurd in [
            "253402300801",
            "-9223372036854775807",
            "10000000000000s",
            "3000000d",
        ] {
            let e = parse_duration(absurd).unwrap_err();
            assert!(
                e.contains("further than it may stand apart"),
                "{absurd}: {e}"
            );
        }
    }

    #[test]
    fn error_messages_come_from_every_body_the_server_writes() {
        let isc = r#"{"detailCode":"400.1 Bad Request Content","trackingId":"t","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"The fault rule is invalid: times is at least 1."}],"causes":[]}"#;
        assert_eq!(
            error_message(isc),
            "The fault rule is invalid: times is at least 1. (400.1 Bad Request Content)"
        );
        assert_eq!(
            error_message(r#"{"error":"Bad credentials"}"#),
            "Bad credentials"
        );
        assert_eq!(
            error_message(r#"{"message":" Rate Limit Exceeded "}"#),
            "Rate Limit Exceeded"
        );
        assert_eq!(error_message(""), "(no body)");
        assert_eq!(error_message("bad gateway"), "bad gateway");
    }

    #[test]
    fn a_fault_rule_takes_the_json_and_the_flags_over_it() {
        let args = FaultArgs {
            operation_id: Some("listAccessProfiles".into()),
            status: Some(429),
            times: Some(1),
            json: Some(r#"{"status": 500, "probability": 0.5}"#.into()),
            ..FaultArgs::default()
        };
        assert_eq!(
            args.body().unwrap(),
            json!({"operationId": "listAccessProfiles", "status": 429, "times": 1, "probability": 0.5})
        );
        let bad = FaultArgs {
            json: Some("[1]".into()),
            ..FaultArgs::default()
        };
        assert!(bad.body().is_err());
    }
}
