//! The `accessd` command line: `serve`, `migrate`, `export`, `import`, `client create`,
//! `rotate-key`, `admin …`.

use std::path::PathBuf;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use accessd::admin_cli::AdminArgs;
use accessd::auth::clients::provision_client;
use accessd::config::file::{self, ConfigFile};
use accessd::config::{Config, DbArgs};
use accessd::domain::Clock;
use accessd::App;

#[derive(Parser)]
#[command(
    name = "accessd",
    version,
    about = "Self-hosted ISC Access Profiles API server",
    after_help = "Start here:\n  accessd serve                      # http://127.0.0.1:8080, ./accessd.db, demo tenant\n  accessd serve --help               # every setting, its environment variable and default\n  accessd serve --config accessd.toml --print-config   # the settings in effect, and whence\n  accessd completions bash > ~/.local/share/bash-completion/completions/accessd"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    #[command(
        after_help = "Example:\n  ACCESSD_ADMIN_CLIENT_ID=ops ACCESSD_ADMIN_CLIENT_SECRET=$(openssl rand -hex 24) \\\n    accessd serve --addr 0.0.0.0:8080 --database-url sqlite:///var/lib/accessd/accessd.db --no-demo\n  accessd serve --config /etc/accessd.toml --print-config"
    )]
    Serve {
        #[command(flatten)]
        config: Box<Config>,
        /// Print the effective configuration as TOML (each value with its origin:
        /// default, file, env or flag; secrets redacted) and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Create or migrate the database, then exit.
    #[command(
        after_help = "Example:\n  accessd migrate --database-url postgres://accessd@db.internal:5432/accessd"
    )]
    Migrate(DbArgs),
    /// Write the whole tenant (every table) as JSON to standard output. The database
    /// must exist; it is neither created nor migrated.
    #[command(
        after_help = "Example:\n  accessd export --database-url sqlite://accessd.db > tenant.json"
    )]
    Export(DbArgs),
    /// Read a tenant written by `export` into a new database (migrated first; it must
    /// be empty). SQLite and PostgreSQL read each other's exports.
    #[command(
        after_help = "Example:\n  accessd import --database-url postgres://accessd@db.internal/accessd tenant.json"
    )]
    Import {
        #[command(flatten)]
        db: DbArgs,
        /// The export file; `-` reads standard input.
        file: std::path::PathBuf,
    },
    /// Manage API clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Drive a running accessd through its admin API (`/_accessd/`): reset the tenant,
    /// load or export fixtures, inject faults, move the clock, read the request journal.
    #[command(
        after_help = "Example:\n  export ACCESSD_URL=http://127.0.0.1:8080 ACCESSD_ADMIN_CLIENT_ID=ops ACCESSD_ADMIN_CLIENT_SECRET=...\n  accessd admin reset --demo\n  accessd admin faults add --operation-id listAccessProfiles --status 429 --times 1\n  accessd admin clock advance 2h\n  accessd admin requests list --operation-id listAccessProfiles"
    )]
    Admin(AdminArgs),
    /// Print a shell completion script to standard output.
    #[command(
        after_help = "Example:\n  accessd completions bash > ~/.local/share/bash-completion/completions/accessd\n  accessd completions zsh > \"${fpath[1]}/_accessd\""
    )]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Add a new token-signing key. Running instances sign with it within a minute;
    /// tokens of the older keys keep working until they expire, and those keys are
    /// refused after that.
    #[command(
        after_help = "Example:\n  accessd rotate-key --database-url sqlite://accessd.db --retire-old"
    )]
    RotateKey {
        #[command(flatten)]
        db: DbArgs,
        /// Refuse tokens of every older key at once (e.g. after a key leaked), within
        /// a minute on running instances.
        #[arg(long)]
        retire_old: bool,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create a client and print its secret (shown once; stored hashed).
    #[command(
        after_help = "Example:\n  accessd client create --name ci --scopes 'idn:access-profile:read idn:access-profile:manage'"
    )]
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// Display name of the client.
        #[arg(long, default_value = "cli client")]
        name: String,
        /// Identity the client acts as (id or alias): a personal access token.
        /// Without it the client is an API client (authority `API`).
        #[arg(long)]
        identity: Option<String>,
        /// Space- or comma-separated scopes.
        #[arg(long, default_value = "sp:scopes:all")]
        scopes: String,
    },
}

/// mimalloc instead of the system allocator: see the README's dependency notes.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Logs go to standard error (standard output carries the banner and the commands'
/// results), coloured only when standard error is a terminal and `NO_COLOR` is unset;
/// otherwise in the same layout through [`accessd::logs`].
fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    if json {
        builder.json().init();
    } else if colour {
        builder.init();
    } else {
        builder
            .event_format(accessd::logs::PlainLines)
            .fmt_fields(accessd::logs::PlainFields)
            .init();
    }
}

/// The database a URL names, as the banner shows it: a SQLite file by its absolute path
/// (a relative path depends on the working directory), any other URL without its password.
fn database_shown(database_url: &str) -> String {
    let shown = accessd::store::display_url(database_url);
    let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    else {
        return shown;
    };
    let path = path.split('?').next().unwrap_or(path);
    match std::fs::canonicalize(path) {
        Ok(absolute) => format!("{shown} ({})", absolute.display()),
        Err(_) => shown,
    }
}

/// What `serve` tells at start: where it listens, the database and whether it was
/// created, the administrator's credentials and how to keep them across restarts. As
/// text on standard output, or as one JSON log event with `--log-json`.
fn banner(app: &accessd::App, config_db: &str, json: bool) {
    let base = format!("http://{}", app.addr());
    let database = database_shown(config_db);
    let state = if app.fresh { "created" } else { "existing" };
    let secret = app.admin.client_secret.as_deref();
    let runs_tasks = app.state().config.tasks.runs_tasks();
    if json {
        tracing::info!(
            base_url = %base,
            task_runner = runs_tasks,
            token_url = %format!("{base}/oauth/token"),
            database = %database,
            database_state = state,
            client_id = %app.admin.client_id,
            client_secret = secret.unwrap_or("(as configured)"),
            fixture = app.fixture.as_deref().unwrap_or(""),
            "accessd is listening on {base}"
        );
        return;
    }
    println!("accessd is listening on {base}");
    println!("  base URL (SDKs):   {base}");
    println!("  token URL:         {base}/oauth/token");
    println!("  database:          {database} ({state})");
    if let Some(fixture) = &app.fixture {
        println!("  fixture:           {fixture}");
    }
    println!("  ORG_ADMIN client:  client_id={}", app.admin.client_id);
    match secret {
        Some(secret) => {
            println!("                     client_secret={secret}");
            println!(
                "  The secret changes at every start; to keep credentials across restarts, set \
                 ACCESSD_ADMIN_CLIENT_ID and ACCESSD_ADMIN_CLIENT_SECRET (at least 16 characters)."
            );
        }
        None => println!("                     client_secret=(as configured)"),
    }
    if !runs_tasks {
        println!(
            "  tasks:             not run here (--no-task-runner); an instance with a task \
             runner on this database runs them"
        );
    }
}

/// The command line as parsed, with the values of the configuration file (`--config`,
/// `ACCESSD_CONFIG`) as the defaults of the command's settings, under the environment
/// and the flags.
struct Parsed {
    /// The matches of the innermost subcommand (`serve`, `migrate`, `create`, …).
    leaf: ArgMatches,
    file: Option<ConfigFile>,
}

/// The names of the subcommands on the command line, outermost first.
fn subcommand_path(matches: &ArgMatches) -> (Vec<String>, ArgMatches) {
    let mut path = Vec::new();
    let mut leaf = matches.clone();
    while let Some((name, sub)) = leaf.subcommand() {
        path.push(name.to_string());
        let sub = sub.clone();
        leaf = sub;
    }
    (path, leaf)
}

/// `command` with `apply` done to its subcommand at `path`.
fn with_subcommand(
    command: clap::Command,
    path: &[String],
    apply: &dyn Fn(clap::Command) -> clap::Command,
) -> clap::Command {
    match path.split_first() {
        None => apply(command),
        Some((name, rest)) => command.mut_subcommand(name, |sub| with_subcommand(sub, rest, apply)),
    }
}

fn parse() -> Result<(Cli, Parsed), Box<dyn std::error::Error>> {
    let matches = Cli::command().get_matches();
    let (path, leaf) = subcommand_path(&matches);
    let config_path = leaf
        .try_get_one::<PathBuf>("config")
        .ok()
        .flatten()
        .cloned();
    let Some(config_path) = config_path else {
        return Ok((
            Cli::from_arg_matches(&matches)?,
            Parsed { leaf, file: None },
        ));
    };
    let command = Cli::command();
    let serve = command
        .find_subcommand("serve")
        .ok_or("the serve command is missing")?;
    let file = ConfigFile::load(&config_path, serve)?;
    // Parsed again, with the file's values as defaults: clap's environment variables
    // and flags then override them (defaults < file < env < flags).
    let matches = with_subcommand(command, &path, &|sub| file.apply(sub)).get_matches();
    let (_, leaf) = subcommand_path(&matches);
    Ok((
        Cli::from_arg_matches(&matches)?,
        Parsed {
            leaf,
            file: Some(file),
        },
    ))
}

/// `serve`'s clap definition (for origins and `--print-config`).
fn serve_command() -> Result<clap::Command, Box<dyn std::error::Error>> {
    Ok(Cli::command()
        .find_subcommand("serve")
        .ok_or("the serve command is missing")?
        .clone())
}

/// `--task-runner` and `--no-task-runner` say opposite things: the one from the
/// higher-precedence origin wins (a file's `no-task-runner = true` yields to
/// `--task-runner true` on the command line; the reverse too).
fn settle_task_runner(
    config: &mut Config,
    parsed: &Parsed,
) -> Result<(), Box<dyn std::error::Error>> {
    if !(config.tasks.task_runner && config.tasks.no_task_runner) {
        return Ok(());
    }
    let serve = serve_command()?;
    let runner = file::origin(&serve, &parsed.leaf, parsed.file.as_ref(), "task_runner");
    let no_runner = file::origin(&serve, &parsed.leaf, parsed.file.as_ref(), "no_task_runner");
    if file::rank(&runner) > file::rank(&no_runner) {
        config.tasks.no_task_runner = false;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match parse() {
        Ok((cli, parsed)) => run(cli, parsed).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("accessd: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, parsed: Parsed) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "accessd", &mut std::io::stdout());
        }
        Command::Serve {
            mut config,
            print_config,
        } => {
            settle_task_runner(&mut config, &parsed)?;
            if print_config {
                print!(
                    "{}",
                    file::render(&serve_command()?, &parsed.leaf, parsed.file.as_ref())
                );
                return Ok(());
            }
            init_tracing(config.log_json);
            if let Some(file) = &parsed.file {
                tracing::info!(file = %file.path.display(), "configuration file read");
            }
            tracing::debug!(config = ?config, "effective configuration");
            let (json, database_url) = (config.log_json, config.db.database_url.clone());
            let app = App::build(*config, Clock::system()).await?;
            banner(&app, &database_url, json);
            app.run_until_signal().await;
        }
        Command::Admin(args) => accessd::admin_cli::run(args).await?,
        Command::Migrate(db) => {
            accessd::store::open(&db.database_url).await?;
            println!(
                "database at {} is migrated",
                accessd::store::display_url(&db.database_url)
            );
        }
        Command::Export(db) => {
            let store = accessd::store::open_with(&db.database_url, false).await?;
            let export = store.export_tenant().await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            serde_json::to_writer(&mut out, &export)?;
            std::io::Write::write_all(&mut out, b"\n")?;
            std::io::Write::flush(&mut out)?;
        }
        Command::Import { db, file } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?
            };
            let export: accessd::store::export::TenantExport = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not an accessd export: {e}", file.display()))?;
            let store = accessd::store::open(&db.database_url).await?;
            let rows = store.import_tenant(&export).await?;
            println!(
                "imported {rows} rows into {}",
                accessd::store::display_url(&db.database_url)
            );
        }
        Command::Client(ClientCommand::Create {
            db,
            name,
            identity,
            scopes,
        }) => {
            let store = accessd::store::open(&db.database_url).await?;
            let identity_id = match identity {
                None => None,
                Some(key) => match store.get_identity(&key).await {
                    Ok(i) => Some(i.id),
                    Err(_) => Some(
                        store
                            .find_identity_by_alias(&key)
                            .await?
                            .ok_or_else(|| format!("no identity with id or alias '{key}'"))?
                            .id,
                    ),
                },
            };
            let scopes = scopes
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let (id, secret) = provision_client(
                store.as_ref(),
                None,
                None,
                &name,
                identity_id,
                scopes,
                Clock::system().now(),
            )
            .await?;
            println!("client_id={id}");
            println!("client_secret={secret}");
        }
        Command::RotateKey { db, retire_old } => {
            let store = accessd::store::open(&db.database_url).await?;
            let (kid, retired) =
                accessd::auth::keys::rotate(store.as_ref(), &Clock::system(), retire_old).await?;
            println!("new signing key {kid}");
            if retire_old {
                println!("retired {retired} older key(s): their tokens are refused");
            }
        }
    }
    Ok(())
}
