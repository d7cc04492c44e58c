//! The HTTP surface: one router per family over the same handlers, the request
//! middleware (tracking id, locale, logging, ISC error bodies), and the fallbacks.

pub mod access_profiles;
pub mod admin;
pub mod control;
pub mod docs;
pub mod error;
pub mod extract;
pub mod families;
pub mod gateway;
mod health;
pub mod identities;
mod keep_alive;
pub mod lifecycle_states;
pub mod metrics;
pub mod rate_limit;
pub mod roles;
pub mod scope;
pub mod segments;
pub mod source_apps;
pub mod sources;
pub mod state;
pub mod task_status;
pub mod token;
pub mod workgroups;

pub use families::{Beta, Fam, V1, V2024, V2025, V2026, V3};
pub use state::AppState;

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json, Router};
use tower::util::option_layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use crate::auth::{rights, Operation, OperationId};
use error::{ApiError, Rendered, RequestContext, REQUEST_CONTEXT};

/// Routes of one family, each handler bound to the operation it implements (the
/// [`gateway::Caller`] of a request reads it).
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
}

impl Routes {
    /// `path`, answered by each handler for its method, as its operation of family `F`
    /// — for the operations `F`'s spec file declares; the others are not routed there.
    pub fn at<F: Fam>(
        mut self,
        path: &str,
        handlers: impl IntoIterator<Item = (OperationId, MethodRouter<AppState>)>,
    ) -> Self {
        let mut methods: Option<MethodRouter<AppState>> = None;
        for (id, handler) in handlers {
            let op = Operation::new(F::FAMILY, id);
            if rights::requirement(op).is_none() {
                continue;
            }
            // The fault layer sees the operation: the extension is the outer layer.
            let handler: MethodRouter<AppState> = handler
                .layer::<_, std::convert::Infallible>(middleware::from_fn(control::per_operation))
                .layer(Extension(op));
            methods = Some(match methods {
                Some(m) => m.merge(handler),
                None => handler,
            });
        }
        if let Some(methods) = methods {
            self.router = self.router.route(path, methods);
        }
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self
    }

    fn nest(mut self, prefix: &str, other: Routes) -> Self {
        self.router = self.router.nest(prefix, other.router);
        self
    }
}

/// The whole HTTP surface: every family over the same handlers.
pub fn router(state: AppState) -> Router {
    let limits = Limits {
        body: state.config.body_limit,
        request_timeout: (state.config.gateway.request_timeout_secs > 0)
            .then(|| Duration::from_secs(state.config.gateway.request_timeout_secs)),
    };
    // One bound (one semaphore: the layer's clones share it) for the API and `/metrics`.
    let shed = (state.config.gateway.max_requests_in_flight > 0)
        .then(|| shed_over(state.config.gateway.max_requests_in_flight));
    let families = families::every_family();
    let routes = families
        .router
        .merge(admin::routes())
        .route("/oauth/token", post(token::post_token))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            gateway::authenticate,
        ))
        .layer(option_layer(shed.clone()))
        // Added after the bound: a liveness probe is answered however busy the server is.
        .route("/health", get(health))
        .route("/openapi/{document}", get(openapi_document))
        .route("/health/ready", get(health::ready))
        // Unauthenticated but bounded: a scrape storm is shed like any other burst.
        .route("/metrics", get(metrics::scrape).layer(option_layer(shed)))
        // Inside the observing layer, so unknown paths and methods are counted too.
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    // The layers every request goes through wrap the router once, as one service,
    // rather than through `Router::layer`, which wraps each route in each layer, boxed:
    // a request then cloned, at each layer it passed, every boxed layer below it.
    let cors = cors_layer(&state.config.cors_origin);
    let observed = tower::ServiceBuilder::new()
        .layer(Extension(state.control.clone()))
        .layer(middleware::from_fn_with_state(state, metrics::observe))
        .service(routes);
    with_layers(observed, limits, cors)
}

/// CORS for browser-based API tools, only for the configured origins (`--cors-origin`):
/// without any, no CORS header is sent and browsers keep other origins out. A preflight
/// is answered here, before authentication.
fn cors_layer(origins: &[HeaderValue]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, Any, CorsLayer};
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods(Any)
            .allow_headers(Any)
            .expose_headers(Any)
    })
}

/// `GET /openapi/{family}.json`: the OpenAPI document of a family as served (`spec/`),
/// e.g. `/openapi/v2025.json`.
async fn openapi_document(
    axum::extract::Path(document): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let family = document
        .strip_suffix(".json")
        .and_then(|name| rights::Family::ALL.into_iter().find(|f| f.as_str() == name))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No OpenAPI document {document}; the documents served are {}.",
                rights::Family::ALL
                    .iter()
                    .map(|f| format!("/openapi/{}.json", f.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        family.spec(),
    )
        .into_response())
}

/// At most `max` requests served at once; the excess is refused at once (tower's
/// load shedding in front of its concurrency limit, one semaphore shared by every
/// route the layer is applied to) with 503 and `Retry-After`, before
/// authentication, instead of queueing without bound — memory grows with the requests
/// being answered, and a burst of large lists took hundreds of megabytes.
fn shed_over(
    max: usize,
) -> impl tower::Layer<
    axum::routing::Route,
    Service = impl tower::Service<
        Request,
        Response = Response,
        Error = std::convert::Infallible,
        Future = impl Send + 'static,
    > + Clone
                  + Send
                  + Sync
                  + 'static,
> + Clone {
    tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(
            |_: tower::BoxError| async {
                ApiError::Overloaded {
                    retry_after_secs: 1,
                }
            },
        ))
        .layer(tower::load_shed::LoadShedLayer::new())
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(max))
}

/// What a single request may cost.
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// Largest body, in bytes, whether sent with `Content-Length` or chunked.
    body: usize,
    /// From the request's arrival to its answer, including a slowly sent body.
    request_timeout: Option<Duration>,
}

/// The cross-cutting layers around `inner` (outermost first): CORS (when configured),
/// the rest of a body drained when the answer comes before the body was read, the
/// request context, the refusal of `%00`, the request timeout (a bare 408 that
/// `request_context` turns into the ISC body), the body limit, and panics as opaque
/// 500s. (The fallbacks for unknown routes and methods are set by [`router`], inside
/// the layer that counts requests.) Applied once around the whole service, as a router
/// whose only route is its fallback.
fn with_layers<T>(inner: T, limits: Limits, cors: Option<tower_http::cors::CorsLayer>) -> Router
where
    T: tower::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    T::Future: Send + 'static,
{
    let stack = tower::ServiceBuilder::new()
        .layer(option_layer(cors))
        .layer(middleware::from_fn(move |req, next| {
            keep_alive::drain_unread_body(limits.body, req, next)
        }))
        .layer(middleware::from_fn(request_context))
        .layer(middleware::from_fn(refuse_nul))
        .layer(option_layer(limits.request_timeout.map(|timeout| {
            TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout)
        })))
        .map_response(IntoResponse::into_response)
        .layer(RequestBodyLimitLayer::new(limits.body))
        .map_request(|req: axum::http::Request<_>| req.map(axum::body::Body::new))
        .layer(DefaultBodyLimit::max(limits.body))
        .map_response(IntoResponse::into_response)
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                ApiError::internal("a request handler panicked").into_response()
            },
        ))
        .service(inner);
    Router::new().fallback_service(stack)
}

/// U+0000 means nothing in an id, a filter or a name, and PostgreSQL's text cannot
/// store it: a path or query string holding `%00` is refused before routing (JSON
/// bodies are checked by [`extract::Json`]), the same on both backends.
async fn refuse_nul(req: Request, next: Next) -> Response {
    let uri = req.uri();
    if has_encoded_nul(uri.path()) || uri.query().is_some_and(has_encoded_nul) {
        return ApiError::bad_request("The request must not contain the character U+0000 (%00).")
            .into_response();
    }
    next.run(req).await
}

fn has_encoded_nul(s: &str) -> bool {
    s.as_bytes().windows(3).any(|w| w == b"%00")
}

/// Every resource's routes for family `F`, under its prefix (v1 paths carry their
/// `/v1` after the service instead). [`Routes::at`] keeps the operations `F`'s spec
/// file declares, so the family's document alone decides what it serves.
fn family<F: Fam>() -> Routes {
    let suffix = match F::FAMILY.prefix() {
        Some(_) => "",
        None => "/v1",
    };
    let routes = access_profiles::routes::<F>(suffix)
        .merge(sources::routes::<F>())
        .merge(sources::entitlement_routes::<F>(suffix))
        .merge(identities::public_routes::<F>())
        .merge(identities::routes::<F>(suffix))
        .merge(workgroups::routes::<F>(suffix))
        .merge(roles::routes::<F>(suffix))
        .merge(lifecycle_states::routes::<F>(suffix))
        .merge(segments::routes::<F>(suffix))
        .merge(source_apps::routes::<F>(suffix))
        .merge(task_status::routes::<F>(suffix));
    match F::FAMILY.prefix() {
        Some(prefix) => Routes::default().nest(prefix, routes),
        None => routes,
    }
}

/// `GET /health`: 200 when the database answers.
async fn health(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(serde_json::json!({"status": "UP"})))
}

/// 404 for an unrouted path; a path under a version prefix accessd does not serve
/// (`/v2023/...`) is told the families it does serve.
async fn not_found(uri: axum::http::Uri) -> ApiError {
    let first = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    let versioned = first == "beta"
        || first
            .strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if versioned && rights::Family::of_prefix(first).is_none() {
        let served: Vec<&str> = rights::Family::ALL
            .iter()
            .filter_map(|f| f.prefix())
            .collect();
        return ApiError::NotFound(format!(
            "The API family /{first} is not served. The families served are {} (and the \
             v1 paths, such as /source-apps/v1, without a prefix).",
            served.join(", ")
        ));
    }
    ApiError::NotFound("The requested resource was not found.".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("The method is not allowed for this resource.".into())
}

/// The locale a client asked for: the first tag of `Accept-Language`.
fn requested_locale(value: Option<&HeaderValue>) -> Option<String> {
    let first = value?
        .to_str()
        .ok()?
        .split(',')
        .next()?
        .split(';')
        .next()?
        .trim();
    (!first.is_empty() && first != "*").then(|| first.to_string())
}

/// Gives each request a tracking id and a span, answers every error with the ISC body
/// (converting framework responses that are not ours), and logs the outcome.
async fn request_context(req: Request, next: Next) -> Response {
    let ctx = RequestContext {
        tracking_id: crate::domain::new_id(),
        requested_locale: requested_locale(req.headers().get(ACCEPT_LANGUAGE)),
    };
    let span = tracing::info_span!(
        "request",
        tracking_id = %ctx.tracking_id,
        method = %req.method(),
        path = %req.uri().path(),
        client_id = tracing::field::Empty,
        operation_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let tracking_id = ctx.tracking_id.clone();
    let mut response = REQUEST_CONTEXT
        .scope(ctx, async move {
            let response = next.run(req).await;
            let status = response.status();
            if status.as_u16() >= 400 && response.extensions().get::<Rendered>().is_none() {
                ApiError::from_status(status).into_response()
            } else {
                response
            }
        })
        .instrument(span.clone())
        .await;
    if let Ok(v) = HeaderValue::from_str(&tracking_id) {
        response.headers_mut().insert("SLPT-Request-ID", v);
    }
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        )
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("secret internal detail")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_an_opaque_isc_500() {
        let limits = Limits {
            body: 1024,
            request_timeout: None,
        };
        let app = with_layers(Router::new().route("/boom", get(boom)), limits, None);
        let response = app
            .oneshot(Request::builder().uri("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        let tracking = response.headers()["SLPT-Request-ID"]
            .to_str()
            .unwrap()
            .to_string();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["detailCode"], "500.0 Internal Fault");
        assert_eq!(body["trackingId"], tracking.as_str());
        assert!(!String::from_utf8_lossy(&bytes).contains("secret internal detail"));
    }
}
