//! A programmable HTTP receiver on loopback, standing in for a subscriber's webhook URL.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hookwire_protocol::signing::{self, Secret, VerifyError, WebhookHeaders};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Every header as sent.
    pub headers: HeaderMap,
    /// The body, decompressed when it came with `Content-Encoding: gzip` (as web frameworks
    /// hand it on).
    pub body: Bytes,
    /// The body's size on the wire (compressed, when it was).
    pub wire_bytes: usize,
    /// When the request's head arrived, on the monotonic clock.
    pub arrived: Instant,
    /// When the request's head arrived, on the wall clock.
    pub arrived_at: SystemTime,
    /// The Standard Webhooks verification against the receiver's secrets, or `None` when
    /// the receiver holds no secret.
    pub verification: Option<Result<(), VerifyError>>,
}

impl Recorded {
    /// A header's value as text, if present and valid UTF-8.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the recorded body is JSON")
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    delay: Duration,
    drop_connection: bool,
}

impl Reply {
    /// `200 OK`.
    #[must_use]
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// An empty answer with `status`.
    #[must_use]
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            drop_connection: false,
        }
    }

    /// `410 Gone`: the subscriber wants no more webhooks.
    #[must_use]
    pub fn gone() -> Self {
        Self::status(410)
    }

    /// Closes the connection without answering.
    #[must_use]
    pub fn drop_connection() -> Self {
        Self {
            drop_connection: true,
            ..Self::ok()
        }
    }

    /// A redirect to `location`.
    #[must_use]
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::status(status).header("location", location)
    }

    /// Adds `Retry-After: <value>` (seconds or an HTTP date).
    #[must_use]
    pub fn retry_after(self, value: &str) -> Self {
        self.header("retry-after", value)
    }

    /// Adds a response header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the response body.
    #[must_use]
    pub fn body(mut self, body: &str) -> Self {
        body.clone_into(&mut self.body);
        self
    }

    /// Waits `delay` before answering (or dropping the connection).
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Script {
    next: VecDeque<Reply>,
    fallback: Option<Reply>,
}

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    challenges: Mutex<Vec<Recorded>>,
    echo_challenges: std::sync::atomic::AtomicBool,
    script: Mutex<Script>,
    secrets: Mutex<Vec<Secret>>,
    arrived: Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking test thread must not hide the requests from the assertion that follows.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An HTTP/1.1 server on 127.0.0.1 that records every request and answers from a script.
///
/// Verification challenges (`hookwire.endpoint.verification` webhooks) are kept apart
/// ([`Receiver::challenges`]) and answered by echoing the challenge, unless
/// [`Receiver::ignore_challenges`] says otherwise. Replies given to [`Receiver::script`] are used one per request, in order; after them
/// every request gets the fallback ([`Receiver::set_fallback`], `200 OK` by default).
/// Dropping the receiver closes its listener and every open connection.
pub struct Receiver {
    addr: SocketAddr,
    scheme: &'static str,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Starts an HTTPS receiver (`https://127.0.0.1:<port>`, also valid as `localhost`).
    pub async fn start_tls(config: Arc<rustls::ServerConfig>) -> Self {
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(config))).await
    }

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the loopback interface accepts a bind to port 0");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            challenges: Mutex::new(Vec::new()),
            echo_challenges: std::sync::atomic::AtomicBool::new(true),
            script: Mutex::new(Script::default()),
            secrets: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(serve(listener, tls, Arc::clone(&shared)));
        Self {
            addr,
            scheme,
            shared,
            task,
        }
    }

    /// The receiver's base URL, `http://127.0.0.1:<port>` (`https` when it serves TLS).
    #[must_use]
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The receiver's URL with `path` (which starts with `/`).
    #[must_use]
    pub fn url_for(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// The secrets to verify signatures with; a request verifies when any of them matches.
    pub fn set_secrets(&self, secrets: Vec<Secret>) {
        *lock(&self.shared.secrets) = secrets;
    }

    /// Queues replies for the next requests, after any still queued.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.script).next.extend(replies);
    }

    /// The reply for every request once the script has run out.
    pub fn set_fallback(&self, reply: Reply) {
        lock(&self.shared.script).fallback = Some(reply);
    }

    /// Answers verification challenges with a plain `200 OK` that does not echo them.
    pub fn ignore_challenges(&self) {
        self.shared
            .echo_challenges
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every verification challenge so far, in arrival order.
    #[must_use]
    pub fn challenges(&self) -> Vec<Recorded> {
        lock(&self.shared.challenges).clone()
    }

    /// Every request so far (challenges apart), in arrival order.
    #[must_use]
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests arrived so far.
    #[must_use]
    pub fn count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Waits until at least `n` requests arrived and returns them all; panics after
    /// `timeout` with what did arrive, so a missing delivery fails the test instead of
    /// hanging it.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.arrived.notified();
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            assert!(
                tokio::time::timeout_at(deadline, notified).await.is_ok(),
                "receiver at {} got {} of {n} requests within {timeout:?}",
                self.url(),
                requests.len()
            );
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections until aborted; aborting drops the set, which closes every connection.
async fn serve(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                let tls = tls.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| handle(request, Arc::clone(&shared)));
                    // An error here is a dropped connection or a failed handshake: scripted,
                    // or the client's doing.
                    let builder = http1::Builder::new();
                    match tls {
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        }
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                    }
                });
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

/// The error a scripted connection drop returns: hyper then closes without answering.
#[derive(Debug)]
struct ScriptedDrop;

impl std::fmt::Display for ScriptedDrop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the receiver's script")
    }
}

impl std::error::Error for ScriptedDrop {}

async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, ScriptedDrop> {
    let arrived = Instant::now();
    let arrived_at = SystemTime::now();
    let (head, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let wire_bytes = body.len();
    let gzipped = head
        .headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let body = if gzipped { gunzip(&body) } else { body };
    let verification = verify(&shared, &head.headers, &body, arrived_at);
    let recorded = Recorded {
        method: head.method.to_string(),
        path: head
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string),
        headers: head.headers,
        body,
        wire_bytes,
        arrived,
        arrived_at,
        verification,
    };
    if let Some(challenge) = challenge_in(&recorded.body) {
        lock(&shared.challenges).push(recorded);
        let reply = if shared
            .echo_challenges
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            Reply::ok().body(&serde_json::json!({ "challenge": challenge }).to_string())
        } else {
            Reply::ok()
        };
        return Ok(build_response(&reply));
    }
    let reply = {
        let mut script = lock(&shared.script);
        script
            .next
            .pop_front()
            .or_else(|| script.fallback.clone())
            .unwrap_or_else(Reply::ok)
    };
    lock(&shared.requests).push(recorded);
    shared.arrived.notify_waiters();

    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if reply.drop_connection {
        return Err(ScriptedDrop);
    }
    Ok(build_response(&reply))
}

fn verify(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    arrived_at: SystemTime,
) -> Option<Result<(), VerifyError>> {
    let secrets = lock(&shared.secrets).clone();
    if secrets.is_empty() {
        return None;
    }
    let now = arrived_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Some(
        WebhookHeaders::from_lookup(|name| headers.get(name).and_then(|v| v.to_str().ok()))
            .and_then(|parsed| {
                signing::verify(
                    &secrets,
                    &parsed,
                    body,
                    now,
                    signing::DEFAULT_TOLERANCE_SECS,
                )
            }),
    )
}

/// A gzip body decompressed; an undecodable one is kept as it came (the test sees it).
fn gunzip(body: &[u8]) -> Bytes {
    use std::io::Read as _;
    let mut text = Vec::new();
    match flate2::read::GzDecoder::new(body).read_to_end(&mut text) {
        Ok(_) => Bytes::from(text),
        Err(_) => Bytes::copy_from_slice(body),
    }
}

/// The challenge of a verification webhook.
fn challenge_in(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value["type"] != hookwire_protocol::verification::EVENT_TYPE {
        return None;
    }
    value["data"]["challenge"].as_str().map(str::to_owned)
}

fn build_response(reply: &Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body.clone())));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
