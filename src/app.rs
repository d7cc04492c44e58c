//! Building and running the server: bind the listener, open and migrate the store,
//! load keys and the tenant, seed the demo on first start, serve until shut down.
//! `App::build` is the seam tests use (port 0, a fresh database).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod connections;

use crate::api::error::ApiError;
use crate::api::metrics::Metrics;
use crate::api::rate_limit::{AuthFailures, RateLimits};
use crate::api::state::Shared;
pub use crate::api::AppState;
use crate::auth::clients::provision_client;
use crate::auth::keys::KeySet;
use crate::auth::{Tenant, Verifier};
use crate::config::{Config, GatewayArgs};
use crate::domain::model::Identity;
use crate::domain::Clock;
use crate::store::{Store, StoreError, StoreResult};
use crate::tasks::{Runner, Wakeup};
use connections::{Connections, Held};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The fixture file of `--fixture` cannot be read or is invalid: every problem.
    #[error("the fixture {path} cannot be loaded ({}):\n  {}", crate::fixture::problem_count(.problems), .problems.join("\n  "))]
    Fixture { path: String, problems: Vec<String> },
}

/// Credentials of the ORG_ADMIN client available at start, to print for the user.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    pub client_id: String,
    /// `None` when the secret came from the configuration (not printed back).
    pub client_secret: Option<String>,
}

pub struct App {
    addr: SocketAddr,
    state: AppState,
    pub admin: AdminCredentials,
    /// Whether the database held no tenant before this start (a new database).
    pub fresh: bool,
    /// What became of the `--fixture` file, for the banner: loaded, or not (the
    /// database held a tenant already).
    pub fixture: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    runner: Runner,
    stop_runner: tokio::sync::watch::Sender<bool>,
    runner_task: JoinHandle<()>,
    maintenance: JoinHandle<()>,
    /// Applies the fault rules and clock changes other instances announce.
    follower: JoinHandle<()>,
}

/// Alias of the built-in administrator identity the start-up client acts as.
pub use crate::demo::ADMIN_ALIAS;

impl App {
    pub async fn build(config: Config, clock: Clock) -> Result<App, StartError> {
        Self::build_with(config, clock, |router| router).await
    }

    /// [`App::build`], serving `wrap(router)` instead of the router itself: the seam
    /// where the tests' harness adds a layer that sees every request and response.
    pub async fn build_with(
        config: Config,
        clock: Clock,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Result<App, StartError> {
        config.validate().map_err(StartError::Config)?;
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
        let store = crate::store::open(&config.db.database_url).await?;
        let tenant = Tenant {
            id: store
                .meta_get_or_put("tenant_id", &uuid::Uuid::new_v4().to_string())
                .await?,
            org: config.org.clone(),
            pod: config.pod.clone(),
        };
        let wakeup = Wakeup::default();
        let (stop_runner, stop) = tokio::sync::watch::channel(false);
        let control = Arc::new(crate::api::control::Control::new(
            store.clone(),
            config.journal_size,
            config.journal_bodies,
            clock.clone(),
            wakeup.clone(),
        ));
        // The stored fault rules and clock, before anything is stamped with the clock
        // (keys, the administrator, the demo, a fixture) and before any request or task
        // step: listening before loading, so a change made between the two is heard,
        // not lost.
        let changes = store.control_changes().await?;
        control.reload().await?;
        let follower = match changes {
            Some(feed) => tokio::spawn(control.clone().follow(feed, stop_runner.subscribe())),
            None => tokio::spawn(async {}),
        };
        let keys = KeySet::load_or_create(store.as_ref(), &clock).await?;
        let fresh = store.count_identities().await? == 0;
        let admin_identity = ensure_admin_identity(store.as_ref(), &clock).await?;
        if fresh
            && config.fixture.is_none()
            && config.demo
            && !config.no_demo
            && claim_first_load(store.as_ref()).await?
        {
            crate::demo::load(store.as_ref(), &clock, &admin_identity).await?;
        }
        let admin = match (&config.admin_client_id, &config.admin_client_secret) {
            (Some(id), Some(secret)) => {
                provision_client(
                    store.as_ref(),
                    Some(id.clone()),
                    Some(secret.clone()),
                    "configured administrator",
                    Some(admin_identity.id.clone()),
                    vec![
                        "sp:scopes:all".into(),
                        crate::api::gateway::ADMIN_SCOPE.into(),
                    ],
                    clock.now(),
                )
                .await?;
                AdminCredentials {
                    client_id: id.clone(),
                    client_secret: None,
                }
            }
            _ => {
                // A stable client id whose secret is renewed at every start, so the
                // printed credentials always work (secrets are only stored hashed).
                let id = store
                    .meta_get_or_put("startup_client_id", &crate::domain::new_id())
                    .await?;
                let (client_id, secret) = provision_client(
                    store.as_ref(),
                    Some(id),
                    None,
                    "start-up administrator",
                    Some(admin_identity.id.clone()),
                    vec![
                        "sp:scopes:all".into(),
                        crate::api::gateway::ADMIN_SCOPE.into(),
                    ],
                    clock.now(),
                )
                .await?;
                AdminCredentials {
                    client_id,
                    client_secret: Some(secret),
                }
            }
        };
        let fixture = match &config.fixture {
            Some(path) => Some(load_fixture_file(store.as_ref(), &clock, path, fresh).await?),
            None => None,
        };
        let runner = Runner::new(
            store.clone(),
            clock.clone(),
            &config.tasks,
            wakeup.clone(),
            stop,
        );
        let runner_task = if config.tasks.runs_tasks() {
            tokio::spawn(runner.clone().run())
        } else {
            tracing::info!(
                "this instance runs no tasks (--no-task-runner): bulk deletes submitted \
                 here stay queued until an instance with a task runner on the same \
                 database takes them"
            );
            tokio::spawn(async {})
        };
        let rate_limits = Arc::new(RateLimits::for_store(
            &config.gateway,
            clock.clone(),
            store.clone(),
            crate::store::Backend::of(&config.db.database_url)?,
        ));
        let keys = Arc::new(keys);
        let verifier = Arc::new(Verifier::new(
            keys.clone(),
            store.clone(),
            clock.clone(),
            tenant.id.clone(),
            config.token_ttl_secs,
        ));
        let auth_failures = Arc::new(AuthFailures::new(&config.gateway, clock.clone()));
        let metrics = Arc::new(Metrics::new());
        let maintenance = tokio::spawn(maintain(
            rate_limits.clone(),
            auth_failures.clone(),
            keys.clone(),
            store.clone(),
            metrics.clone(),
            stop_runner.subscribe(),
        ));
        let state = AppState::new(Shared {
            store,
            keys,
            verifier,
            config: Arc::new(config),
            clock,
            tenant: Arc::new(tenant),
            wakeup,
            rate_limits,
            auth_failures,
            control,
            metrics,
        });
        let router = wrap(crate::api::router(state.clone()));
        let (tx, rx) = oneshot::channel::<()>();
        let builder = connection_builder(&state.config.gateway);
        let gateway = &state.config.gateway;
        let (cap, descriptors) =
            connections::cap(gateway.max_connections, gateway.max_requests_in_flight);
        tracing::info!(
            max_connections = cap,
            descriptor_limit = descriptors,
            "open connections are capped"
        );
        let connections = Connections::new(cap);
        state.metrics.count_connections_with({
            let connections = connections.clone();
            move || connections.open()
        });
        let server = tokio::spawn(serve(listener, router, builder, connections, rx));
        Ok(App {
            addr,
            state,
            admin,
            fresh,
            fixture,
            shutdown: Some(tx),
            server,
            runner,
            stop_runner,
            runner_task,
            maintenance,
            follower,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs every unfinished task to its end before returning (tests' `drain_tasks`).
    /// The tasks' gauges of `/metrics` are read again at the next scrape.
    pub async fn drain_tasks(&self) -> Result<(), StoreError> {
        let drained = crate::tasks::drain(&self.runner).await;
        self.state.metrics.forget_store_gauges();
        drained
    }

    /// Stops accepting connections, lets in-flight requests finish, stops the task
    /// runner (a running task ends its current step and is released, so the next
    /// runner resumes it at once), and waits.
    /// Then leaves the database whole in its own file(s): SQLite's WAL is checkpointed
    /// into `accessd.db` and emptied.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.server.await;
        tracing::info!("connections closed; waiting for the task runner to end its step");
        let _ = self.stop_runner.send(true);
        let _ = self.runner_task.await;
        let _ = self.maintenance.await;
        let _ = self.follower.await;
        match self.state.store.close().await {
            Ok(()) => tracing::info!("database closed; shut down cleanly"),
            Err(e) => tracing::warn!(error = %e, "the database could not be closed cleanly"),
        }
    }

    /// Serves until Ctrl-C / SIGTERM, then shuts down gracefully, saying what it waits
    /// for. A second Ctrl-C / SIGTERM while it waits exits at once: every acknowledged
    /// write is committed already, so only the answers still in flight are lost.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!(
            "shutting down: no new connections are accepted; Ctrl-C or SIGTERM again exits at once"
        );
        tokio::select! {
            _ = self.shutdown() => {}
            _ = wait_for_signal() => {
                tracing::warn!("second signal: exiting without waiting");
                std::process::exit(130);
            }
        }
    }
}

/// `serve --fixture FILE`: the file is read and checked at every start (a bad one
/// fails the start, naming the file and every problem); it is loaded only into a new
/// database — as the demo is, by the one instance that claims the load — and a
/// database that holds a tenant already is left as it is. Returns what was done.
async fn load_fixture_file(
    store: &dyn crate::store::Store,
    clock: &Clock,
    path: &std::path::Path,
    fresh: bool,
) -> Result<String, StartError> {
    let shown = path.display().to_string();
    let failed = |problems: Vec<String>| StartError::Fixture {
        path: shown.clone(),
        problems,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(vec![e.to_string()]))?;
    let kept = store.fixture_kept(crate::api::gateway::ADMIN_SCOPE).await?;
    let syntax = crate::fixture::Syntax::of_path(path);
    let plan = crate::fixture::check_text(&text, syntax, &kept, clock.now()).map_err(failed)?;
    if !fresh {
        let note =
            format!("the database already holds a tenant: the fixture {shown} was not loaded");
        tracing::info!(fixture = %shown, "{note}");
        return Ok(note);
    }
    if claim_first_load(store).await? {
        store
            .replace_tenant(crate::api::gateway::ADMIN_SCOPE, &plan)
            .await?;
        tracing::info!(fixture = %shown, "the fixture was loaded into the new database");
        Ok(format!("loaded from {shown}"))
    } else {
        Ok(format!("{shown} loaded by another instance"))
    }
}

/// Whether this instance loads the first tenant (the demo or `--fixture`) into a new
/// database: of instances starting together, the one whose id is stored first does;
/// the others serve it as it arrives.
async fn claim_first_load(store: &dyn Store) -> StoreResult<bool> {
    let me = crate::domain::new_id();
    Ok(store.meta_get_or_put("demo_loaded_by", &me).await? == me)
}

/// The connection settings that protect the server from oversized and slow clients:
/// a limit on the request head (size, number of headers; hyper answers 431 and closes
/// the connection) and a deadline for it (a client that trickles its headers, or sends
/// nothing, or idles on a kept-alive connection, is disconnected).
///
/// HTTP/1.1 only, which is what every SDK speaks: cleartext HTTP/2 (prior knowledge)
/// has no such deadline, and protocol detection would wait for a silent client forever.
fn connection_builder(gateway: &GatewayArgs) -> http1::Builder {
    let header_timeout = (gateway.header_read_timeout_secs > 0)
        .then(|| Duration::from_secs(gateway.header_read_timeout_secs));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_header_size(usize::try_from(gateway.max_header_bytes).unwrap_or(usize::MAX))
        // A client that shuts down its sending side once its request is sent still
        // gets the answer (without this, hyper closes the connection at the EOF).
        .half_close(true);
    // hyper's own limit is the same number of headers, read into an array on the
    // stack; a limit set explicitly makes it fill a new array of that size for each
    // request instead.
    if gateway.max_headers != HYPER_MAX_HEADERS {
        builder.max_headers(gateway.max_headers);
    }
    builder
}

/// Accepts connections until `shutdown` fires, then stops accepting, lets every open
/// connection finish its in-flight requests (idle ones are closed), and returns. At
/// most `connections`' cap are open at once (see [`connections`]).
async fn serve(
    mut listener: TcpListener,
    router: axum::Router,
    builder: http1::Builder,
    connections: Arc<Connections>,
    shutdown: oneshot::Receiver<()>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // axum's accept retries transient errors (e.g. too many open files) itself.
        let (io, remote) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            _ = &mut shutdown => break,
        };
        let Some(ticket) = connections.admit() else {
            tokio::spawn(refuse(io, remote, connections.open()));
            continue;
        };
        let ticket = Arc::new(ticket);
        let service = {
            let ticket = ticket.clone();
            let router = router.clone();
            hyper::service::service_fn(move |mut req: axum::http::Request<Incoming>| {
                // The peer's address, for what is counted per address (failed
                // authentications).
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                // Busy until the answer's body is written to the end.
                let busy = ticket.busy();
                let answer = tower::ServiceExt::oneshot(router.clone(), req);
                async move {
                    let answer = answer.await;
                    answer.map(|response| response.map(|body| Held::new(body, busy)))
                }
            })
        };
        let connection = builder.serve_connection(TokioIo::new(io), service);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let mut closing = false;
            let ended = loop {
                tokio::select! {
                    ended = connection.as_mut() => break ended,
                    // Idle between requests or still reading a request head (hyper's
                    // graceful shutdown waits for such a head to complete): closed now.
                    _ = ticket.evicted() => {
                        tracing::debug!(%remote, "closed the connection idle longest to make room");
                        break Ok(());
                    }
                    _ = stopped.changed(), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            };
            if let Err(e) = ended {
                log_connection_error(remote, &e);
            }
            drop(ticket);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let closed = connections.closed();
    tokio::pin!(closed);
    loop {
        let waiting = connections.open();
        if waiting > 0 {
            tracing::info!(
                connections = waiting,
                "waiting for open connections to finish their requests (idle ones are closed)"
            );
        }
        tokio::select! {
            _ = &mut closed => return,
            _ = tokio::time::sleep(SHUTDOWN_REPORT_EVERY) => {}
        }
    }
}

/// Answers a connection over the cap, when every open connection is serving a request:
/// 503 with `Retry-After` and the ISC body, without reading its request, then closes it.
async fn refuse(mut io: tokio::net::TcpStream, remote: SocketAddr, open: usize) {
    use tokio::io::AsyncWriteExt;
    tracing::warn!(
        %remote,
        connections = open,
        "connection refused: every open connection is serving a request (--max-connections)"
    );
    let (parts, body) = axum::response::IntoResponse::into_response(ApiError::Overloaded {
        retry_after_secs: 1,
    })
    .into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return;
    };
    let mut head = format!("HTTP/1.1 {}\r\n", parts.status);
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let answer = async {
        io.write_all(head.as_bytes()).await?;
        io.write_all(&body).await?;
        io.shutdown().await
    };
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, answer).await;
}

/// How long the answer to a refused connection may take to write.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Logs how a connection ended with an error. A request hyper could not parse (bad
/// request line, control characters in a header, bad `Content-Length`, head too
/// large) was answered by hyper itself before any of ours ran — a bare status without
/// the ISC body (see the README's limitations) — so it is logged here, with the peer.
fn log_connection_error(remote: SocketAddr, e: &hyper::Error) {
    if e.is_parse_too_large() {
        tracing::warn!(%remote, reason = %e, "malformed request: request head too large; answered 431 (or 414) by the HTTP layer");
    } else if e.is_parse() || e.is_parse_status() {
        tracing::warn!(%remote, reason = %e, "malformed request: answered 400 by the HTTP layer");
    } else if e.is_timeout() {
        tracing::debug!(%remote, "connection closed: no complete request head in time");
    } else {
        tracing::debug!(%remote, error = %e, "connection ended with an error");
    }
}

/// The most headers hyper reads in a request when not told otherwise.
const HYPER_MAX_HEADERS: usize = 100;

/// How often a shutdown that waits for connections says so again.
const SHUTDOWN_REPORT_EVERY: Duration = Duration::from_secs(5);

/// How often idle rate-limit keys are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// How often the latency samples recorded since are folded into their histogram
/// buckets (a scrape does it too), so they take no memory however rarely the metrics
/// are scraped.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Housekeeping of this instance until it stops: drops idle rate-limit and
/// failed-authentication keys, so the limiters' memory follows the clients active in
/// the last window, re-reads the signing keys, so a rotation or retirement reaches
/// this instance, and folds the metrics' latency samples into their buckets.
async fn maintain(
    rate_limits: Arc<RateLimits>,
    auth_failures: Arc<AuthFailures>,
    keys: Arc<KeySet>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // The first ticks come one period from now: the keys were loaded at start, and a
    // reload racing the first requests would make which key signs them a coin toss.
    let start = tokio::time::Instant::now();
    let mut purge = tokio::time::interval_at(start + PURGE_EVERY, PURGE_EVERY);
    let reload_every = crate::auth::keys::RELOAD_EVERY;
    let mut reload = tokio::time::interval_at(start + reload_every, reload_every);
    let mut upkeep = tokio::time::interval_at(start + METRICS_UPKEEP_EVERY, METRICS_UPKEEP_EVERY);
    for every in [&mut purge, &mut reload, &mut upkeep] {
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            _ = purge.tick() => {
                rate_limits.purge().await;
                auth_failures.purge();
            }
            _ = reload.tick() => {
                if let Err(e) = keys.reload(store.as_ref()).await {
                    tracing::warn!(error = %e, "could not reload the signing keys");
                }
            }
            _ = upkeep.tick() => metrics.upkeep(),
            _ = stop.changed() => return,
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The built-in ORG_ADMIN identity that start-up and configured admin clients act as.
async fn ensure_admin_identity(store: &dyn Store, clock: &Clock) -> Result<Identity, StoreError> {
    if let Some(identity) = store.find_identity_by_alias(ADMIN_ALIAS).await? {
        return Ok(identity);
    }
    let identity = Identity::new_active(
        "accessd",
        "Administrator",
        ADMIN_ALIAS,
        Some("admin@accessd.local".into()),
        &["ORG_ADMIN"],
        clock.now(),
    );
    match store.insert_identity(&identity).await {
        Ok(()) => Ok(identity),
        // Another instance created it first.
        Err(StoreError::Duplicate { .. }) => store
            .find_identity_by_alias(ADMIN_ALIAS)
            .await?
            .ok_or_else(|| StoreError::Corrupt("admin identity vanished".into())),
        Err(e) => Err(e),
    }
}
