//! `hookwire listen`: an endpoint's webhooks relayed over NATS to a developer's local
//! receiver, signed as the endpoint signs them, the local answer recorded as the attempt's.

use std::process::Stdio;
use std::time::Duration;

use hookwire_protocol::Secret;
use hookwire_testkit::{Receiver, Recorded, Reply, workspace_bin};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::support::{Stack, WAIT, interop, test_send};

/// A running `hookwire --json listen ...` and its output lines.
struct Listener {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Its first line: what it attached to.
    attached: Value,
}

impl Listener {
    async fn start(stack: &Stack, args: &[&str]) -> Self {
        let mut child = tokio::process::Command::new(workspace_bin("hookwire"))
            .env("NATS_URL", stack.server.url())
            .arg("--json")
            .arg("listen")
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let attached = next_json(&mut lines).await;
        Self {
            child,
            lines,
            attached,
        }
    }

    async fn next(&mut self) -> Value {
        next_json(&mut self.lines).await
    }

    /// Stops it as Ctrl-C would and waits for it to exit; returns its exit code.
    async fn interrupt(mut self) -> i32 {
        let pid = self.child.id().unwrap().to_string();
        let sent = tokio::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("listen exits on Ctrl-C")
            .unwrap();
        status.code().unwrap_or(-1)
    }
}

async fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("hookwire listen printed a line in time")
        .unwrap()
        .expect("hookwire listen is still running");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"))
}

/// The official Standard Webhooks library's verdict on a received request.
async fn official_verify(secret: &Secret, request: &Recorded) -> Value {
    interop(
        "standardwebhooks_check.py",
        &json!({
            "op": "verify",
            "secret": secret.expose(),
            "headers": {
                "webhook-id": request.header("webhook-id"),
                "webhook-timestamp": request.header("webhook-timestamp"),
                "webhook-signature": request.header("webhook-signature"),
            },
            "body": String::from_utf8(request.body.to_vec()).unwrap(),
        }),
    )
    .await
}

#[tokio::test]
async fn an_endpoints_webhooks_reach_a_local_receiver_through_listen_and_verify_with_the_official_library()
 {
    let stack = Stack::start(&[("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 30]")]).await;
    let local = Receiver::start().await;
    let secret = Secret::generate();
    local.set_secrets(vec![secret.clone()]);
    // The URL is what the endpoint stands for; nothing connects to it while listen is on
    // (it would not resolve).
    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"url": "https://hooks.invalid/orders", "secret": secret.expose(),
                    "listen": true, "retry_schedule_secs": [1, 2, 5, 10]}),
        )
        .await
        .unwrap();
    assert_eq!(created["listen"], true);
    assert_eq!(
        created["status"]["state"], "active",
        "no verification: nothing is sent to the URL"
    );
    let id = created["id"].as_str().unwrap().to_owned();

    let mut listener = Listener::start(
        &stack,
        &["--endpoint", &id, "--forward", &local.url_for("/local")],
    )
    .await;
    assert_eq!(listener.attached["endpoint_id"], id.as_str());
    assert_eq!(listener.attached["temporary"], false);

    local.script([Reply::status(202).body("taken")]);
    stack
        .publish("orders.created", &json!({"n": 1}), Some("evt-listen-1"))
        .await;
    let got = local.wait_for(1, WAIT).await;
    assert_eq!(got[0].path, "/local");
    assert_eq!(got[0].header("webhook-id"), Some("evt-listen-1"));
    assert_eq!(got[0].json()["type"], "orders.created");
    assert_eq!(got[0].verification, Some(Ok(())), "our verifier");
    assert_eq!(
        official_verify(&secret, &got[0]).await,
        json!({"ok": true}),
        "the official library, unchanged"
    );
    let shown = listener.next().await;
    assert_eq!(shown["webhook_id"], "evt-listen-1");
    assert_eq!(shown["event_type"], "orders.created");
    assert_eq!(shown["reply"]["outcome"], "response");
    assert_eq!(shown["reply"]["status"], 202);

    // hookwired recorded the local receiver's answer as the attempt's.
    let detail = stack.succeeded_delivery(&id, "evt-listen-1", WAIT).await;
    let attempt = &detail["attempts"][0];
    assert_eq!(attempt["response"]["status"], 202, "{detail}");
    assert_eq!(attempt["response"]["body"], "taken");

    // A test send goes the same way.
    let tested = test_send(&stack, &json!(id)).await;
    assert_eq!(tested["response"]["status"], 200, "{tested}");
    let got = local.wait_for(2, WAIT).await;
    assert_eq!(got[1].json()["type"], "a.b");
    assert_eq!(official_verify(&secret, &got[1]).await, json!({"ok": true}));
    listener.next().await;

    // With nobody listening the attempt fails as a connection failure, and the retry
    // reaches the next listener: nothing is lost.
    assert_eq!(listener.interrupt().await, 0);
    stack
        .publish("orders.created", &json!({"n": 2}), Some("evt-listen-2"))
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let failed = loop {
        let detail = stack.delivery(&id, "evt-listen-2").await;
        if let Some(first) = detail["attempts"].get(0) {
            break first.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no attempt recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed["error"]["kind"], "connect", "{failed}");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no hookwire listen is attached"),
        "{failed}"
    );
    let _listener = Listener::start(
        &stack,
        &["--endpoint", &id, "--forward", &local.url_for("/local")],
    )
    .await;
    let got = local.wait_for(3, WAIT).await;
    assert_eq!(got[2].header("webhook-id"), Some("evt-listen-2"));
    assert_eq!(official_verify(&secret, &got[2]).await, json!({"ok": true}));
    stack.succeeded_delivery(&id, "evt-listen-2", WAIT).await;
}

#[tokio::test]
async fn a_temporary_endpoint_lives_as_long_as_listen_and_an_http_endpoint_must_opt_in() {
    let stack = Stack::start(&[]).await;
    let local = Receiver::start().await;
    let listener = Listener::start(
        &stack,
        &["--type", "orders.*", "--forward", &local.url_for("/dev")],
    )
    .await;
    assert_eq!(listener.attached["temporary"], true);
    let id = listener.attached["endpoint_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = Secret::parse(listener.attached["secret"].as_str().unwrap()).unwrap();
    local.set_secrets(vec![secret.clone()]);
    let endpoint = stack.get_endpoint(&id).await;
    assert_eq!(endpoint["listen"], true);
    assert_eq!(endpoint["status"]["state"], "active");

    stack
        .publish("users.created", &json!({}), Some("evt-other"))
        .await;
    stack
        .publish("orders.paid", &json!({"total": 5}), Some("evt-paid"))
        .await;
    let got = local.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("webhook-id"), Some("evt-paid"));
    assert_eq!(official_verify(&secret, &got[0]).await, json!({"ok": true}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(local.count(), 1, "only the types asked for");

    assert_eq!(listener.interrupt().await, 0);
    let gone = stack
        .admin
        .call::<_, Value>("endpoints", "get", &json!({"id": id}))
        .await;
    assert!(gone.is_err(), "the temporary endpoint is deleted: {gone:?}");

    // An endpoint that sends to its URL is not taken over without the operator's word.
    let receiver = Receiver::start().await;
    let http = stack.endpoint(&receiver, json!({})).await;
    let http_id = http["id"].as_str().unwrap();
    let output = tokio::process::Command::new(workspace_bin("hookwire"))
        .env("NATS_URL", stack.server.url())
        .args([
            "listen",
            "--endpoint",
            http_id,
            "--forward",
            &local.url_for("/dev"),
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--listen on"), "{stderr}");

    // Turned on, it delivers to listen without a verification; turned off, the URL's
    // receiver is sent to again (it had passed verification).
    let on: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": http_id, "listen": true}),
        )
        .await
        .unwrap();
    assert_eq!(on["listen"], true);
    assert_eq!(on["status"]["state"], "active");
    let off: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": http_id, "listen": false}),
        )
        .await
        .unwrap();
    assert!(off.get("listen").is_none(), "{off}");
    assert_eq!(off["status"]["state"], "active");
    stack
        .publish("orders.created", &json!({}), Some("evt-http"))
        .await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("webhook-id"), Some("evt-http"));
}
