//! The embedded HTTP server (`HTTP_BIND`): the pages a mentor's browser visits to connect
//! Google Calendar (`connect.rs`), and `/healthz` for supervisors. Put a TLS reverse proxy in front of it in production
//! (`PUBLIC_BASE_URL` is what browsers see).
//!
//! It is reachable by anyone, so it has limits of its own (hyper's HTTP/1 with our accept
//! loop, since `axum::serve` has no header timeout): at most [`MAX_CONNECTIONS`] at once,
//! [`HEADER_TIMEOUT`] to send the request head (slow-loris connections are dropped), a
//! query string of at most [`MAX_QUERY`] bytes, a body of at most [`MAX_BODY`] bytes,
//! [`REQUEST_TIMEOUT`] per request, and a shutdown that waits at most [`SHUTDOWN_GRACE`] for requests in flight.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

mod connect;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

pub use connect::Site;

use crate::service::Service;

/// Says whether the Discord gateway is connected.
pub type GatewayCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// The use cases.
    pub service: Service,
    /// The gateway's health.
    pub gateway: GatewayCheck,
    /// How browsers see these pages (`PUBLIC_BASE_URL`).
    pub site: Site,
}

/// Most connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 512;
/// How long a client has to send a request's head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take (a callback waits for Google, whose calls time out sooner).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest query string: Google's callback is well under 1 KB.
pub const MAX_QUERY: usize = 4096;
/// The largest request body: the one form (Continue) holds a 22-character state.
pub const MAX_BODY: usize = 1024;
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The routes: `/oauth/google/start` (GET and POST), `/oauth/google/callback`, `/healthz`.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/oauth/google/start",
            get(connect::start_page).post(connect::continue_to_google),
        )
        .route("/oauth/google/callback", get(connect::callback))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(limits))
        .with_state(state)
}

/// Refuses overlong query strings and times requests out.
async fn limits(request: Request, next: Next) -> Response {
    if request.uri().query().is_some_and(|q| q.len() > MAX_QUERY) {
        return (StatusCode::URI_TOO_LONG, "The address is too long.\n").into_response();
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("an HTTP request timed out");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "That took too long. Please try again.\n",
            )
                .into_response()
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in flight
/// finish for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(error) => {
                    tracing::warn!(%error, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that stalls or hangs up is its own business.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP requests still running at shutdown were dropped");
    }
    Ok(())
}

async fn healthz(State(state): State<HttpState>) -> Response {
    let database = state.service.store().ping().await;
    let gateway = (state.gateway)().await;
    let status = if database && gateway {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = format!(
        "database: {}\ngateway: {}\n",
        if database { "ok" } else { "failing" },
        if gateway { "connected" } else { "disconnected" }
    );
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreOptions};

    /// `/healthz` of a router whose database is open or closed and whose gateway check says
    /// `gateway`: (status, body).
    async fn healthz_with(database_open: bool, gateway: bool) -> (u16, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreOptions::new(dir.path().join("h.db")))
            .await
            .unwrap();
        if !database_open {
            store.close().await;
        }
        let state = HttpState {
            service: Service::new(store),
            gateway: Arc::new(move || Box::pin(async move { gateway })),
            site: Site::new("http://127.0.0.1:9"),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, router(state), std::future::pending()));
        let response = reqwest::get(format!("http://{address}/healthz"))
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    #[tokio::test]
    async fn healthz_is_503_naming_what_fails_when_the_database_or_the_gateway_is_down() {
        assert_eq!(
            healthz_with(true, true).await,
            (200, "database: ok\ngateway: connected\n".into())
        );
        assert_eq!(
            healthz_with(false, true).await,
            (503, "database: failing\ngateway: connected\n".into())
        );
        assert_eq!(
            healthz_with(true, false).await,
            (503, "database: ok\ngateway: disconnected\n".into())
        );
    }
}
