//! Helpers shared by the end-to-end tests of the daemon.

use std::time::Duration;

use async_nats::HeaderMap;
use hookwire_nats::admin::{AdminClient, AdminClientError};
use hookwire_protocol::admin::ErrorDetail;
use hookwire_protocol::{Secret, Subjects, Tenant};
use hookwire_testkit::{Hookwired, NatsServer, Receiver};
use serde_json::{Value, json};

/// Generous bound for anything that should happen within a second or two; it only keeps
/// a broken test from hanging.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// A nats-server, a hookwired and an admin client for tenant `default`.
pub(crate) struct Stack {
    pub(crate) server: NatsServer,
    pub(crate) daemon: Hookwired,
    pub(crate) client: async_nats::Client,
    pub(crate) admin: AdminClient,
}

impl Stack {
    /// Starts everything; `env` tunes hookwired (short retry schedules and tiers).
    pub(crate) async fn start(env: &[(&str, &str)]) -> Self {
        Self::start_on(NatsServer::start().await, env).await
    }

    /// [`Stack::start`] on `server` (e.g. one that fsyncs every write).
    pub(crate) async fn start_on(server: NatsServer, env: &[(&str, &str)]) -> Self {
        let daemon = Hookwired::start(&server.url(), env).await;
        let client = server.client().await;
        let admin = admin_for(&client, "default");
        Self {
            server,
            daemon,
            client,
            admin,
        }
    }

    /// Creates an endpoint from `spec` for `receiver`, makes the receiver check signatures
    /// with its secret and, unless `spec` asks for `paused`, waits until it passed
    /// verification.
    pub(crate) async fn endpoint(&self, receiver: &Receiver, spec: Value) -> Value {
        let mut spec = spec;
        spec["url"] = json!(receiver.url_for("/hook"));
        // The verification challenge may arrive before the reply: the receiver knows the
        // secret first.
        let secret = Secret::generate();
        receiver.set_secrets(vec![secret.clone()]);
        spec["secret"] = json!(secret.expose());
        let created: Value = self.admin.call("endpoints", "create", &spec).await.unwrap();
        if spec["status"] != "paused" {
            self.wait_for_state(created["id"].as_str().unwrap(), "active")
                .await;
        }
        created
    }

    /// Waits until endpoint `id`'s status is `state`; panics after [`WAIT`].
    pub(crate) async fn wait_for_state(&self, id: &str, state: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let endpoint = self.get_endpoint(id).await;
            if endpoint["status"]["state"] == state {
                return endpoint;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "endpoint {id} never became {state}: {endpoint}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Endpoint `id`'s delivery of `event_id` (`deliveries.get`); `null` until it exists.
    pub(crate) async fn delivery(&self, id: &str, event_id: &str) -> Value {
        self.admin
            .call(
                "deliveries",
                "get",
                &json!({"endpoint_id": id, "event_id": event_id}),
            )
            .await
            .unwrap_or_default()
    }

    /// Waits (at most `within`) until endpoint `id`'s delivery of `event_id` is `state`
    /// (`succeeded`, `dead`, ...), and returns its detail (`deliveries.get`).
    pub(crate) async fn delivery_in_state(
        &self,
        id: &str,
        event_id: &str,
        state: &str,
        within: Duration,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let detail = self.delivery(id, event_id).await;
            if detail["delivery"]["state"] == state {
                return detail;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{event_id} never became {state}: {detail}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// [`Stack::delivery_in_state`] `succeeded`.
    pub(crate) async fn succeeded_delivery(
        &self,
        id: &str,
        event_id: &str,
        within: Duration,
    ) -> Value {
        self.delivery_in_state(id, event_id, "succeeded", within)
            .await
    }

    /// An endpoint that receives Hookwire's operational events.
    pub(crate) async fn ops_endpoint(&self, receiver: &Receiver) -> Value {
        self.endpoint(receiver, json!({"event_types": ["hookwire.>"]}))
            .await
    }

    /// Publishes an event and waits for JetStream's acknowledgement.
    pub(crate) async fn publish(
        &self,
        event_type: &str,
        data: &Value,
        msg_id: Option<&str>,
    ) -> u64 {
        self.publish_raw(event_type, serde_json::to_vec(data).unwrap(), msg_id)
            .await
    }

    /// Publishes raw bytes as an event.
    pub(crate) async fn publish_raw(
        &self,
        event_type: &str,
        payload: Vec<u8>,
        msg_id: Option<&str>,
    ) -> u64 {
        // A local server can stall an ack for seconds under the suite's load; a publisher
        // waits for it as a real service would, instead of failing the test.
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(30))
            .build(self.client.clone());
        let mut headers = HeaderMap::new();
        if let Some(id) = msg_id {
            headers.insert("Nats-Msg-Id", id);
        }
        js.publish_with_headers(
            format!("hookwire.events.default.{event_type}"),
            headers,
            payload.into(),
        )
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence
    }

    /// The endpoint as the admin API shows it now.
    pub(crate) async fn get_endpoint(&self, id: &str) -> Value {
        self.admin
            .call("endpoints", "get", &json!({"id": id}))
            .await
            .unwrap()
    }

    /// The instance's Prometheus metrics, as text.
    pub(crate) async fn metrics(&self) -> String {
        hookwire_testkit::http_client()
            .build()
            .unwrap()
            .get(format!("{}/metrics", self.daemon.http_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Messages on the dead-letter stream.
    pub(crate) async fn dead_letters(&self) -> u64 {
        let js = async_nats::jetstream::new(self.client.clone());
        js.get_stream("HOOKWIRE_DEAD")
            .await
            .unwrap()
            .info()
            .await
            .unwrap()
            .state
            .messages
    }
}

/// An admin client for `tenant`.
pub(crate) fn admin_for(client: &async_nats::Client, tenant: &str) -> AdminClient {
    AdminClient::new(
        client.clone(),
        Subjects::default(),
        Tenant::new(tenant).unwrap(),
        Duration::from_secs(10),
    )
}

/// The error code of a failed admin call.
pub(crate) fn error_code(result: Result<Value, AdminClientError>) -> String {
    match result {
        Err(AdminClientError::Api(body)) => serde_json::to_value(body.error.code)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned(),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Runs the Python helper `tests/interop/<script>` (in the virtualenv `scripts/install-deps`
/// made) with one JSON request on stdin and returns its JSON answer.
pub(crate) async fn interop(script: &str, request: &Value) -> Value {
    use tokio::io::AsyncWriteExt as _;

    let root = hookwire_testkit::workspace_root();
    let python = root.join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-deps",
        python.display()
    );
    let mut child = tokio::process::Command::new(python)
        .arg(root.join("tests/interop").join(script))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(request.to_string().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Waits until `receiver` got `n` webhooks of `event_type`; returns their bodies.
pub(crate) async fn wait_for_type(receiver: &Receiver, event_type: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let matching: Vec<Value> = receiver
            .requests()
            .iter()
            .map(hookwire_testkit::Recorded::json)
            .filter(|body| body["type"] == event_type)
            .collect();
        if matching.len() >= n {
            return matching;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "got {} of {n} {event_type} webhooks",
            matching.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asks to create an endpoint from `spec` and returns the API's refusal; panics when it was
/// accepted or failed some other way.
pub(crate) async fn refused_create(stack: &Stack, spec: &Value) -> ErrorDetail {
    match stack
        .admin
        .call::<_, Value>("endpoints", "create", spec)
        .await
    {
        Err(AdminClientError::Api(body)) => body.error,
        other => panic!("{spec} was not refused: {other:?}"),
    }
}

/// Sends a test webhook (`endpoints.test`, type `a.b`, `{}`) to endpoint `id`; returns the attempt record.
pub(crate) async fn test_send(stack: &Stack, id: &Value) -> Value {
    test_send_as(&stack.admin, id).await
}

/// [`test_send`] through a given admin client (another tenant or requester).
pub(crate) async fn test_send_as(admin: &AdminClient, id: &Value) -> Value {
    admin
        .call(
            "endpoints",
            "test",
            &json!({"id": id, "event_type": "a.b", "payload": {}}),
        )
        .await
        .unwrap()
}

/// Creates an active endpoint at `url` for `event_types` (its destination confirmed, so
/// no verification request is needed).
pub(crate) async fn active_endpoint(
    admin: &AdminClient,
    url: &str,
    event_types: &[&str],
) -> String {
    let created: Value = admin
        .call(
            "endpoints",
            "create",
            &json!({
                "url": url,
                "event_types": event_types,
                "verification": "confirmed",
                "confirm_destination": "127.0.0.1",
            }),
        )
        .await
        .unwrap();
    assert_eq!(created["status"]["state"], "active", "{created}");
    created["id"].as_str().unwrap().to_owned()
}
