//! Early answers on a kept-alive connection. When accessd answers before reading a
//! request's body (a missing `X-SailPoint-Experimental` header, a bad token, a rate
//! limit, an unknown route), the unread body is still in the socket. If the server then
//! closes the connection, the kernel resets it and the client, still sending, loses the
//! answer ("connection closed without response" in urllib3, `ECONNRESET` in axios). So
//! this layer reads what the handler left of the body — up to the body limit, for at
//! most [`DRAIN_TIMEOUT`] — before the answer goes out, and the connection stays usable.
//! A body it cannot drain in time gets `Connection: close` on the answer, so the client
//! at least knows not to reuse the connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// How long an early answer waits for the rest of an unread body.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// The middleware: drains a declared body the handler did not read to its end (at most
/// `limit` bytes), before the answer is sent.
pub async fn drain_unread_body(limit: usize, req: Request, next: Next) -> Response {
    if !declares_body(req.headers()) {
        return next.run(req).await;
    }
    let left = Arc::new(Mutex::new(None));
    let req = req.map(|inner| {
        Body::new(Tracked {
            inner: Some(inner),
            left: Arc::clone(&left),
        })
    });
    let mut response = next.run(req).await;
    let unread = left.lock().map(|mut slot| slot.take()).unwrap_or(None);
    if let Some(body) = unread {
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, axum::body::to_bytes(body, limit)).await;
        if !matches!(drained, Ok(Ok(_))) {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }
    response
}

/// A body follows the head: a non-zero `Content-Length` or any `Transfer-Encoding`.
pub(crate) fn declares_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

/// The request body as the handler sees it. Dropped before its end, it leaves the rest
/// of the body in `left` for the middleware to drain.
struct Tracked {
    inner: Option<Body>,
    left: Arc<Mutex<Option<Body>>>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |inner| inner.size_hint())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take()
            && !http_body::Body::is_end_stream(&inner)
            && let Ok(mut slot) = self.left.lock()
        {
            *slot = Some(inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_declared_by_a_positive_length_or_a_transfer_encoding() {
        let mut headers = HeaderMap::new();
        assert!(!declares_body(&headers));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        assert!(!declares_body(&headers));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert!(declares_body(&headers));
        let mut chunked = HeaderMap::new();
        chunked.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        assert!(declares_body(&chunked));
    }
}
