//! Building and running the server: bind the listener, open and migrate the store,
//! load keys and the tenant, seed the demo on first start, serve until shut down.
//! `App::build` is the seam tests use (port 0, a fresh database).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::rate_limit::{AuthFailures, RateLimits};
use crate::api::state::Shared;
pub use crate::api::AppState;
use crate::auth::clients::provision_client;
use crate::auth::keys::KeySet;
use crate::auth::{Tenant, Verifier};
use crate::config::{Config, GatewayArgs};
use crate::domain::model::Identity;
use crate::domain::Clock;
use crate::store::{Store, StoreError};
use crate::tasks::{Runner, Wakeup};

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
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    runner: Runner,
    stop_runner: tokio::sync::watch::Sender<bool>,
    runner_task: JoinHandle<()>,
    maintenance: JoinHandle<()>,
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
        let keys = KeySet::load_or_create(store.as_ref(), &clock).await?;
        let fresh = store.count_identities().await? == 0;
        let admin_identity = ensure_admin_identity(store.as_ref(), &clock).await?;
        if fresh && config.demo && !config.no_demo {
            // Instances starting together on a new database: the one whose id is
            // stored first loads the demo tenant; the others serve it as it arrives.
            let me = crate::domain::new_id();
            if store.meta_get_or_put("demo_loaded_by", &me).await? == me {
                crate::demo::load(store.as_ref(), &clock, &admin_identity).await?;
            }
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
        let wakeup = Wakeup::default();
        let (stop_runner, stop) = tokio::sync::watch::channel(false);
        let runner = Runner::new(
            store.clone(),
            clock.clone(),
            &config.tasks,
            wakeup.clone(),
            stop,
        );
        let runner_task = if config.tasks.task_runner {
            tokio::spawn(runner.clone().run())
        } else {
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
        let maintenance = tokio::spawn(maintain(
            rate_limits.clone(),
            auth_failures.clone(),
            keys.clone(),
            store.clone(),
            stop_runner.subscribe(),
        ));
        let control = Arc::new(crate::api::control::Control::new(
            config.journal_size,
            clock.clone(),
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
        });
        let router = wrap(crate::api::router(state.clone()));
        let (tx, rx) = oneshot::channel::<()>();
        let connections = connection_builder(&state.config.gateway);
        let server = tokio::spawn(serve(listener, router, connections, rx));
        Ok(App {
            addr,
            state,
            admin,
            fresh,
            shutdown: Some(tx),
            server,
            runner,
            stop_runner,
            runner_task,
            maintenance,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs every unfinished task to its end before returning (tests' `drain_tasks`).
    pub async fn drain_tasks(&self) -> Result<(), StoreError> {
        crate::tasks::drain(&self.runner).await
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
        .max_headers(gateway.max_headers);
    builder
}

/// Accepts connections until `shutdown` fires, then stops accepting, lets every open
/// connection finish its in-flight requests (idle ones are closed), and returns.
async fn serve(
    mut listener: TcpListener,
    router: axum::Router,
    builder: http1::Builder,
    shutdown: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    // Open connections, for the shutdown's log lines.
    let open = Arc::new(AtomicUsize::new(0));
    tokio::pin!(shutdown);
    loop {
        // axum's accept retries transient errors (e.g. too many open files) itself.
        let (io, remote) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            _ = &mut shutdown => break,
        };
        // The peer's address, for what is counted per address (failed authentications).
        let service = TowerToHyperService::new(tower::util::MapRequest::new(
            router.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                req
            },
        ));
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(io), service));
        let open = OpenConnection::count(&open);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
            drop(open);
        });
    }
    drop(listener);
    let closing = graceful.shutdown();
    tokio::pin!(closing);
    loop {
        let waiting = open.load(Ordering::Relaxed);
        if waiting > 0 {
            tracing::info!(
                connections = waiting,
                "waiting for open connections to finish their requests (idle ones are closed)"
            );
        }
        tokio::select! {
            _ = &mut closing => return,
            _ = tokio::time::sleep(SHUTDOWN_REPORT_EVERY) => {}
        }
    }
}

/// How often a shutdown that waits for connections says so again.
const SHUTDOWN_REPORT_EVERY: Duration = Duration::from_secs(5);

/// One open connection, counted while it lives.
struct OpenConnection(Arc<AtomicUsize>);

impl OpenConnection {
    fn count(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        Self(open.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How often idle rate-limit keys are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Housekeeping of this instance until it stops: drops idle rate-limit and
/// failed-authentication keys, so the limiters' memory follows the clients active in
/// the last window, and re-reads the
/// signing keys, so a rotation or retirement reaches this instance.
async fn maintain(
    rate_limits: Arc<RateLimits>,
    auth_failures: Arc<AuthFailures>,
    keys: Arc<KeySet>,
    store: Arc<dyn Store>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // The first ticks come one period from now: the keys were loaded at start, and a
    // reload racing the first requests would make which key signs them a coin toss.
    let start = tokio::time::Instant::now();
    let mut purge = tokio::time::interval_at(start + PURGE_EVERY, PURGE_EVERY);
    let reload_every = crate::auth::keys::RELOAD_EVERY;
    let mut reload = tokio::time::interval_at(start + reload_every, reload_every);
    for every in [&mut purge, &mut reload] {
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
