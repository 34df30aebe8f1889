//! The routes: pages rendered from the latest snapshot, the static assets, and the stream that
//! tells open pages a new snapshot is out.

use crate::{Snapshot, pages};
use alloy::primitives::Address;
use axum::{
    Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{
        Html, IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use futures::Stream;
use std::{convert::Infallible, sync::Arc, time::Duration};
use tokio::sync::watch;

const CSS: &str = include_str!("../assets/explorer.css");
const JS: &str = include_str!("../assets/explorer.js");

/// What every handler reads.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) snapshots: watch::Receiver<Arc<Snapshot>>,
}

impl AppState {
    fn view(&self) -> pages::View {
        pages::View {
            snapshot: self.snapshots.borrow().clone(),
        }
    }
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/requests/{id}", get(request))
        .route("/accounts", get(accounts))
        .route("/accounts/{address}", get(account))
        .route("/api/updates", get(updates))
        .route("/assets/explorer.css", get(css))
        .route("/assets/explorer.js", get(js))
        .fallback(not_found)
        .with_state(state)
}

async fn home(State(state): State<AppState>) -> Response {
    page(StatusCode::OK, pages::home(&state.view()))
}

async fn request(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let view = state.view();
    let Ok(id) = id.trim_start_matches('#').parse::<u64>() else {
        return page(
            StatusCode::BAD_REQUEST,
            pages::problem(
                &view,
                "Not a request id",
                &format!(
                    "\u{201c}{id}\u{201d} is not a request id: ids are whole numbers from 1, as in /requests/1."
                ),
            ),
        );
    };
    match pages::request(&view, id) {
        Some(markup) => page(StatusCode::OK, markup),
        None => page(
            StatusCode::NOT_FOUND,
            pages::problem(&view, "No such request", &pages::no_request_text(&view, id)),
        ),
    }
}

async fn accounts(State(state): State<AppState>) -> Response {
    page(StatusCode::OK, pages::accounts(&state.view()))
}

async fn account(State(state): State<AppState>, Path(address): Path<String>) -> Response {
    let view = state.view();
    let Ok(address) = address.parse::<Address>() else {
        return page(
            StatusCode::BAD_REQUEST,
            pages::problem(
                &view,
                "Not an address",
                &format!(
                    "\u{201c}{address}\u{201d} is not an address: give 0x and 40 hexadecimal digits."
                ),
            ),
        );
    };
    page(StatusCode::OK, pages::account(&view, address))
}

async fn not_found(State(state): State<AppState>) -> Response {
    let view = state.view();
    page(
        StatusCode::NOT_FOUND,
        pages::problem(
            &view,
            "No such page",
            "The explorer has the requests (/), one request (/requests/ID) and the accounts (/accounts).",
        ),
    )
}

/// A new snapshot's version each time one is out; the page then fetches itself again. Ends
/// when the explorer stops.
async fn updates(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures::stream::unfold(state.snapshots, |mut snapshots| async move {
        snapshots.changed().await.ok()?;
        let version = snapshots.borrow_and_update().version;
        Some((Ok(Event::default().data(version.to_string())), snapshots))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}

fn page(status: StatusCode, markup: maud::Markup) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(markup.into_string()),
    )
        .into_response()
}
