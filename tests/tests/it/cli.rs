//! The `hookwire` scripting commands, run as a user runs them.

use hookwire_testkit::{Receiver, Reply, free_port, workspace_bin};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT};

/// Runs `hookwire --json <args>` against the stack; returns (success, stdout as JSON).
async fn hookwire(stack: &Stack, args: &[&str]) -> (bool, Value) {
    let (code, value) = hookwire_exit(stack, args).await;
    (code == 0, value)
}

/// Runs `hookwire --json <args>` against the stack; returns (exit code, stdout as JSON).
async fn hookwire_exit(stack: &Stack, args: &[&str]) -> (i32, Value) {
    hookwire_at(&stack.server.url(), args).await
}

/// Runs `hookwire --json <args>` against the NATS server(s) at `url` (comma-separated).
pub(crate) async fn hookwire_at(url: &str, args: &[&str]) -> (i32, Value) {
    let output = tokio::process::Command::new(workspace_bin("hookwire"))
        .env("NATS_URL", url)
        .arg("--json")
        .args(args)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "hookwire {args:?} printed no JSON ({e}): {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), value)
}

#[tokio::test]
async fn scripts_manage_endpoints_and_publish_events() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let url = receiver.url_for("/hook");
    let (ok, created) = hookwire(
        &stack,
        &[
            "endpoints",
            "create",
            "--url",
            &url,
            "--type",
            "memory.*",
            "--header",
            "X-Env=test",
            "--retry",
            "1,2",
        ],
    )
    .await;
    assert!(ok, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["retry_schedule_secs"], serde_json::json!([1, 2]));
    assert_eq!(created["status"]["state"], "pending_verification");
    stack.wait_for_state(&id, "active").await;
    receiver.set_secrets(vec![
        hookwire_protocol::Secret::parse(created["secret"].as_str().unwrap()).unwrap(),
    ]);

    let (ok, published) = hookwire(
        &stack,
        &[
            "events",
            "publish",
            "memory.created",
            r#"{"n": 1}"#,
            "--id",
            "cli-1",
        ],
    )
    .await;
    assert!(ok, "{published}");
    let request = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(request.header("webhook-id"), Some("cli-1"));
    assert_eq!(request.header("x-env"), Some("test"));
    assert_eq!(request.verification, Some(Ok(())));

    let (ok, health) = hookwire(&stack, &["system", "health"]).await;
    assert!(ok, "{health}");
    assert_eq!(health["status"], "ok");
    let (ok, dead) = hookwire(&stack, &["dead-letters", "list"]).await;
    assert!(ok, "{dead}");
    assert_eq!(dead["dead_letters"], serde_json::json!([]));
    let (ok, listed) = hookwire(&stack, &["endpoints", "list"]).await;
    assert!(ok);
    assert_eq!(listed["endpoints"][0]["id"], id.as_str());
    let (code, verified) = hookwire_exit(&stack, &["endpoints", "verify", &id]).await;
    assert_eq!((code, &verified["verified"]), (0, &Value::Bool(true)));
    receiver.ignore_challenges();
    let (code, refused) = hookwire_exit(&stack, &["endpoints", "verify", &id]).await;
    assert_eq!(code, 8, "a failed check has its own exit code: {refused}");
    assert_eq!(refused["verified"], false);
    let (ok, rotated) = hookwire(
        &stack,
        &["endpoints", "rotate-secret", &id, "--grace-secs", "60"],
    )
    .await;
    assert!(ok, "{rotated}");
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
    let (ok, paused) = hookwire(&stack, &["endpoints", "pause", &id]).await;
    assert!(ok);
    assert_eq!(paused["status"]["state"], "paused");
    let (ok, resumed) = hookwire(&stack, &["endpoints", "resume", &id]).await;
    assert!(ok);
    assert_eq!(resumed["status"]["state"], "active");
    let (ok, enabled) = hookwire(&stack, &["endpoints", "enable", &id]).await;
    assert!(
        ok,
        "enable of an active endpoint is a no-op, not an error: {enabled}"
    );
    let (ok, updated) = hookwire(&stack, &["endpoints", "update", &id, "--status", "paused"]).await;
    assert!(ok);
    assert_eq!(updated["status"]["state"], "paused");
    let (ok, _) = hookwire(&stack, &["endpoints", "delete", &id]).await;
    assert!(ok);

    let (code, missing) = hookwire_exit(&stack, &["endpoints", "get", &id]).await;
    assert_eq!(code, 5, "not found has its own exit code");
    assert_eq!(missing["error"]["code"], "not_found");
    let (code, invalid) =
        hookwire_exit(&stack, &["endpoints", "create", "--url", "ftp://nope"]).await;
    assert_eq!(code, 4, "invalid input has its own exit code");
    assert_eq!(invalid["error"]["code"], "invalid_request");
    assert_eq!(invalid["error"]["field"], "url");
}

/// Waits until `hookwire <args>` prints JSON for which `done` holds.
async fn until(stack: &Stack, args: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, value) = hookwire(stack, args).await;
        if done(&value) {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "{args:?}: {value}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Runs `hookwire args` and expects clap's usage error (exit 2).
async fn assert_usage_error(args: &[&str], why: &str) {
    let usage = tokio::process::Command::new(workspace_bin("hookwire"))
        .args(args)
        .output()
        .await
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "{why}");
}

#[tokio::test]
async fn a_missing_argument_is_a_usage_error_in_json_too() {
    let stack = Stack::start(&[]).await;
    // `--url` is optional to clap (updates take it or not) but required to create.
    let (code, error) = hookwire_exit(&stack, &["endpoints", "create"]).await;
    assert_eq!(code, 2, "{error}");
    assert_eq!(error["error"]["code"], "usage", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--url"),
        "{error}"
    );
    let (code, error) =
        hookwire_exit(&stack, &["sources", "create", "x", "--scheme", "hmac"]).await;
    assert_eq!(code, 2, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--signature-header"),
        "{error}"
    );
    // clap's own usage errors are JSON too: a key's batch waits for nothing.
    let (code, refused) = hookwire_exit(
        &stack,
        &[
            "endpoints",
            "create",
            "--url",
            "http://127.0.0.1:9/",
            "--ordered-by",
            "header:K",
            "--batch-max-events",
            "5",
            "--batch-max-wait-ms",
            "9",
        ],
    )
    .await;
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (2, Some("usage")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--batch-max-wait-ms"),
        "{refused}"
    );
    // Nothing was created.
    let (ok, listed) = hookwire(&stack, &["endpoints", "list"]).await;
    assert!(ok);
    assert_eq!(listed["endpoints"], json!([]));
}

/// `hookwire overview` after the script above.
async fn check_overview(stack: &Stack) {
    // Five attempts: two failed (one died and was requeued, one died and was purged),
    // the requeue, the redelivery and the replay.
    let overview = until(stack, &["overview"], |v| {
        v["windows"]["1h"]["attempts"] == 5
    })
    .await;
    assert_eq!(overview["endpoints"]["total"], 1);
    assert_eq!(overview["windows"]["1h"]["failed"], 2, "{overview}");
}

#[tokio::test]
async fn scripts_drive_deliveries_dead_letters_replay_and_system() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"retry_schedule_secs": []}))
        .await;
    let id = endpoint["id"].as_str().unwrap();

    // A failed delivery dies at once (no retries), then comes back by requeue.
    receiver.script([Reply::status(500)]);
    stack
        .publish("a.b", &json!({"n": 1}), Some("cli-dead"))
        .await;
    let listed = until(&stack, &["dead-letters", "list", "--endpoint", id], |v| {
        v["dead_letters"].as_array().is_some_and(|d| d.len() == 1)
    })
    .await;
    let seq = listed["dead_letters"][0]["seq"].to_string();
    let (ok, requeued) = hookwire(&stack, &["dead-letters", "requeue", "--seq", &seq]).await;
    assert!(ok, "{requeued}");
    assert_eq!(requeued["requeued"], 1);
    receiver.wait_for(2, WAIT).await;
    let delivery = until(
        &stack,
        &["deliveries", "get", "--endpoint", id, "--event", "cli-dead"],
        |v| v["delivery"]["state"] == "succeeded",
    )
    .await;
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 2);

    let (ok, redelivered) = hookwire(
        &stack,
        &[
            "deliveries",
            "redeliver",
            "--endpoint",
            id,
            "--event",
            "cli-dead",
        ],
    )
    .await;
    assert!(ok, "{redelivered}");
    assert_eq!(redelivered["attempt"], 3);
    receiver.wait_for(3, WAIT).await;

    let (ok, preview) = hookwire(
        &stack,
        &["replay", "--endpoint", id, "--since", "1h", "--dry-run"],
    )
    .await;
    assert!(ok, "{preview}");
    assert_eq!(preview["events"], 1, "{preview}");
    let (ok, job) = hookwire(
        &stack,
        &[
            "replay",
            "--endpoint",
            id,
            "--since",
            "1h",
            "--job-id",
            "cli-job",
        ],
    )
    .await;
    assert!(ok, "{job}");
    assert_eq!(job["id"], "cli-job");
    let job = until(&stack, &["replay", "get", "cli-job"], |v| {
        v["state"] == "completed"
    })
    .await;
    assert_eq!(job["queued"], 1);
    receiver.wait_for(4, WAIT).await;
    let (ok, jobs) = hookwire(&stack, &["replay", "list"]).await;
    assert!(ok);
    assert_eq!(jobs["jobs"][0]["id"], "cli-job");
    assert_usage_error(
        &["replay", "--endpoint", id],
        "--since is required to start a replay",
    )
    .await;

    receiver.script([Reply::status(500)]);
    stack
        .publish("a.b", &json!({"n": 2}), Some("cli-purged"))
        .await;
    until(&stack, &["dead-letters", "list", "--endpoint", id], |v| {
        v["dead_letters"].as_array().is_some_and(|d| d.len() == 1)
    })
    .await;
    let (ok, purged) = hookwire(&stack, &["dead-letters", "purge", "--endpoint", id]).await;
    assert!(ok, "{purged}");
    assert_eq!(purged["purged"], 1);

    check_overview(&stack).await;

    let (ok, info) = hookwire(&stack, &["system", "info"]).await;
    assert!(ok, "{info}");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));

    let nobody = format!("nats://127.0.0.1:{}", free_port());
    let (code, unreachable) = hookwire_at(&nobody, &["system", "health"]).await;
    assert_eq!(
        code, 3,
        "an unreachable NATS has its own exit code: {unreachable}"
    );
    assert_eq!(unreachable["error"]["code"], "unreachable");
}

#[tokio::test]
async fn shell_completions_cover_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let output = tokio::process::Command::new(workspace_bin("hookwire"))
            .args(["completions", shell])
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        for word in [
            "endpoints",
            "rotate-secret",
            "dead-letters",
            "replay",
            "tenant",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}

#[tokio::test]
async fn scripts_query_history_and_send_tests() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"retry_schedule_secs": []}))
        .await;
    let id = endpoint["id"].as_str().unwrap();
    stack.publish("a.b", &json!({"n": 1}), Some("cli-ok")).await;
    receiver.wait_for(1, WAIT).await;
    receiver.script([Reply::status(500)]);
    stack
        .publish("a.c", &json!({"n": 2}), Some("cli-failed"))
        .await;
    receiver.wait_for(2, WAIT).await;

    let dead = until(
        &stack,
        &["deliveries", "list", "--endpoint", id, "--state", "dead"],
        |v| v["deliveries"].as_array().is_some_and(|d| !d.is_empty()),
    )
    .await;
    assert_eq!(dead["deliveries"][0]["event_id"], "cli-failed");
    let (ok, redone) = hookwire(
        &stack,
        &[
            "deliveries",
            "redeliver-failed",
            "--endpoint",
            id,
            "--since",
            "1h",
        ],
    )
    .await;
    assert!(ok, "{redone}");
    assert_eq!(redone["redelivered"], 1);
    // The redelivery is attempted and indexed within moments.
    until(&stack, &["endpoints", "stats", id], |stats| {
        stats["windows"]["1h"]["attempts"] == 3
    })
    .await;
    let (ok, test) = hookwire(
        &stack,
        &[
            "endpoints",
            "test",
            id,
            "--type",
            "a.b",
            "--payload",
            r#"{"x": 1}"#,
        ],
    )
    .await;
    assert!(ok, "{test}");
    assert_eq!(test["test"], true);
    let (ok, events) = hookwire(&stack, &["events", "list", "--type", "a.*"]).await;
    assert!(ok, "{events}");
    assert_eq!(events["events"].as_array().unwrap().len(), 2);
    assert_eq!(events["events"][1]["id"], "cli-failed");
    let (ok, event) = hookwire(&stack, &["events", "get", "--id", "cli-ok"]).await;
    assert!(ok, "{event}");
    assert_eq!(event["event"]["data"], json!({"n": 1}));
}

#[tokio::test]
async fn scripts_manage_the_catalog() {
    let stack = Stack::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, r#"{"type": "object", "required": ["id"]}"#).unwrap();
    let schema_arg = format!("@{}", schema.display());
    let (ok, created) = hookwire(
        &stack,
        &[
            "types",
            "create",
            "orders.paid",
            "--schema",
            &schema_arg,
            "--example",
            r#"{"id": "o_1"}"#,
            "--validate",
            "true",
        ],
    )
    .await;
    assert!(ok, "{created}");
    assert_eq!(created["schema"]["required"], json!(["id"]));
    let (ok, updated) = hookwire(
        &stack,
        &["types", "update", "orders.paid", "--description", "paid"],
    )
    .await;
    assert!(ok, "{updated}");
    assert_eq!(
        (&updated["description"], &updated["version"]),
        (&json!("paid"), &json!(1))
    );
    let (ok, listed) = hookwire(&stack, &["types", "list"]).await;
    assert!(ok);
    assert_eq!(listed["types"][0]["name"], "orders.paid");

    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap();
    let (ok, test) = hookwire(&stack, &["endpoints", "test", id, "--type", "orders.paid"]).await;
    assert!(ok, "{test}");
    assert_eq!(
        receiver.wait_for(1, WAIT).await[0].json()["data"],
        json!({"id": "o_1"})
    );

    let (code, refused) = hookwire_exit(
        &stack,
        &["types", "create", "a.b", "--schema", r#"{"type": 12}"#],
    )
    .await;
    assert_eq!(code, 4, "{refused}");
    assert_eq!(refused["error"]["field"], "schema");
    let (ok, deprecated) = hookwire(&stack, &["types", "deprecate", "orders.paid"]).await;
    assert!(ok);
    assert!(deprecated["deprecated_at"].is_string());
    let (ok, _) = hookwire(&stack, &["types", "delete", "orders.paid"]).await;
    assert!(ok);
    let (code, _) = hookwire_exit(&stack, &["types", "get", "orders.paid"]).await;
    assert_eq!(code, 5);
}

#[tokio::test]
async fn scripts_manage_sources() {
    let stack = Stack::start(&[]).await;
    let (ok, created) = hookwire(
        &stack,
        &[
            "sources",
            "create",
            "gh",
            "--scheme",
            "github",
            "--rate-limit",
            "50",
            "--allow",
            "127.0.0.1",
        ],
    )
    .await;
    assert!(ok, "{created}");
    let secret = created["secret"]
        .as_str()
        .expect("a generated secret is shown once");
    assert_eq!(created["rate_limit_per_minute"], 50);
    let path = created["path"].as_str().unwrap();

    let body = br#"{"zen":"Design for failure."}"#;
    let response = hookwire_testkit::http_client()
        .build()
        .unwrap()
        .post(format!("{}{path}", stack.daemon.ingress_url()))
        .header("x-github-event", "ping")
        .header(
            "x-hub-signature-256",
            hookwire_protocol::inbound::sign::github(secret, body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let (ok, tested) = hookwire(
        &stack,
        &[
            "sources",
            "test",
            "gh",
            "--body",
            r#"{"action":"opened"}"#,
            "--header",
            "X-GitHub-Event:issues",
            "--transform",
            "{{ body.action }}",
        ],
    )
    .await;
    assert!(ok, "{tested}");
    assert_eq!(
        (&tested["subject"], &tested["payload"]),
        (
            &json!("hookwire.events.default.gh.issues"),
            &json!("opened")
        )
    );
    let (ok, updated) = hookwire(
        &stack,
        &[
            "sources",
            "update",
            "gh",
            "--active",
            "false",
            "--allow-any",
        ],
    )
    .await;
    assert!(ok, "{updated}");
    assert_eq!(
        (&updated["active"], updated.get("allowed_networks")),
        (&json!(false), None)
    );
    let (ok, listed) = hookwire(&stack, &["sources", "list"]).await;
    assert!(ok);
    assert_eq!(listed["sources"][0]["name"], "gh");
    let (ok, stats) = hookwire(&stack, &["sources", "stats", "gh"]).await;
    assert!(ok);
    assert_eq!(stats["published"], 1, "{stats}");
    let log = until(&stack, &["sources", "requests", "gh"], |page| {
        page["requests"].as_array().is_some_and(|r| !r.is_empty())
    })
    .await;
    assert_eq!(log["requests"][0]["event_type"], "ping");
    let (ok, rotated) = hookwire(&stack, &["sources", "rotate-token", "gh"]).await;
    assert!(ok);
    assert_ne!(rotated["path"], created["path"]);
    let (code, refused) = hookwire_exit(&stack, &["sources", "create", "Bad Name"]).await;
    assert_ne!(code, 0);
    assert_eq!(refused["error"]["field"], "name", "{refused}");
    let (ok, _) = hookwire(&stack, &["sources", "delete", "gh"]).await;
    assert!(ok);
    let (code, _) = hookwire_exit(&stack, &["sources", "get", "gh"]).await;
    assert_ne!(code, 0);
}

/// Runs `hookwire <args>` (text output) against the stack; returns (exit code, stdout).
async fn hookwire_text(stack: &Stack, args: &[&str]) -> (i32, String) {
    let output = tokio::process::Command::new(workspace_bin("hookwire"))
        .env("NATS_URL", stack.server.url())
        .args(args)
        .output()
        .await
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn scripts_manage_templates_and_pin_them() {
    let stack = Stack::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("order.j2");
    std::fs::write(
        &body,
        "<order id=\"{{ data.id }}\">{{ event.type }}</order>\n",
    )
    .unwrap();
    let body_arg = format!("@{}", body.display());
    let (ok, v1) = hookwire(
        &stack,
        &[
            "templates",
            "create",
            "orders",
            "--format",
            "xml",
            "--body",
            &body_arg,
        ],
    )
    .await;
    assert!(ok, "{v1}");
    assert_eq!((&v1["version"], &v1["format"]), (&json!(1), &json!("xml")));
    let add = "templates add-version orders --automatic --header X-Kind=order";
    let (ok, v2) = hookwire(&stack, &add.split(' ').collect::<Vec<_>>()).await;
    assert!(ok, "{v2}");
    assert_eq!(v2["version"], 2);
    assert!(v2.get("body").is_none(), "automatic conversion: {v2}");
    assert_eq!(v2["headers"]["x-kind"], "order");

    // The text preview reads like the request it stands for.
    let (code, text) = hookwire_text(
        &stack,
        &[
            "templates",
            "preview",
            "--template",
            "orders:1",
            "--type",
            "orders.paid",
            "--data",
            r#"{"id": "o&1"}"#,
        ],
    )
    .await;
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("POST (no endpoint)"), "{text}");
    assert!(
        text.contains("content-type: application/xml; charset=utf-8"),
        "{text}"
    );
    assert!(
        text.contains("\n\n<order id=\"o&amp;1\">orders.paid</order>"),
        "{text}"
    );

    // Pinned at create, to a receiver that takes no challenge.
    let create = "endpoints create --url http://127.0.0.1:9/hooks --template orders:2 \
                  --metadata team=billing --verification confirmed --confirm-destination 127.0.0.1";
    let args: Vec<&str> = create.split_whitespace().collect();
    let (ok, endpoint) = hookwire(&stack, &args).await;
    assert!(ok, "{endpoint}");
    assert_eq!(
        endpoint["template"],
        json!({"name": "orders", "version": 2})
    );
    assert_eq!(endpoint["metadata"], json!({"team": "billing"}));
    assert_eq!(endpoint["status"]["state"], "active");
    let (ok, got) = hookwire(&stack, &["templates", "get", "orders"]).await;
    assert!(ok);
    assert_eq!(got["pinned_by"][0]["version"], 2);
    let (code, refused) = hookwire_exit(&stack, &["templates", "delete", "orders"]).await;
    assert_ne!(code, 0);
    assert_eq!(refused["error"]["code"], "conflict");
    let (code, _) = hookwire_text(&stack, &["endpoints", "update", "x", "--template", "v1"]).await;
    assert_eq!(code, 2, "NAME:VERSION is checked before sending");
    let (ok, unpinned) = hookwire(
        &stack,
        &[
            "endpoints",
            "update",
            endpoint["id"].as_str().unwrap(),
            "--template",
            "none",
        ],
    )
    .await;
    assert!(ok && unpinned.get("template").is_none(), "{unpinned}");
}

#[tokio::test]
async fn scripts_make_ordered_endpoints_and_move_a_blocked_head_aside() {
    let stack = Stack::start(&[("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 30]")]).await;
    let receiver = Receiver::start().await;
    receiver.set_fallback(Reply::status(500));
    let url = receiver.url_for("/hook");
    let (ok, created) = hookwire(
        &stack,
        &[
            "endpoints",
            "create",
            "--url",
            &url,
            "--ordered-by",
            "pointer:/order_id",
            "--batch-max-events",
            "20",
            "--verification",
            "confirmed",
            "--confirm-destination",
            "127.0.0.1",
            "--retry",
            "1,1,1,1,1,1,1,1,1,1",
        ],
    )
    .await;
    assert!(ok, "{created}");
    assert_eq!(
        created["delivery"],
        json!({"mode": "ordered", "key": {"pointer": "/order_id"}, "batch": {"max_events": 20, "max_bytes": 1_048_576}})
    );
    let id = created["id"].as_str().unwrap().to_owned();
    stack.wait_for_state(&id, "active").await;
    for n in 0..2 {
        let data = format!(r#"{{"order_id": "o-1", "n": {n}}}"#);
        let (ok, published) = hookwire(
            &stack,
            &[
                "events",
                "publish",
                "orders.paid",
                &data,
                "--id",
                &format!("o-1-{n}"),
            ],
        )
        .await;
        assert!(ok, "{published}");
    }
    let blocked = until(&stack, &["endpoints", "blocked-keys", &id], |v| {
        v["keys"].as_array().is_some_and(|keys| !keys.is_empty())
    })
    .await;
    let key = &blocked["keys"][0];
    assert_eq!(
        (key["key"].as_str(), key["event_id"].as_str()),
        (Some("o-1"), Some("o-1-0"))
    );
    let lane = key["lane"].as_str().unwrap().to_owned();

    // Moved aside: the key's next event goes (and fails alike).
    let (ok, skipped) = hookwire(
        &stack,
        &[
            "endpoints",
            "skip-head",
            &id,
            "--lane",
            &lane,
            "--dead-letter",
        ],
    )
    .await;
    assert!(ok, "{skipped}");
    assert_eq!(skipped, json!({"event_id": "o-1-0", "dead_lettered": true}));
    until(&stack, &["endpoints", "blocked-keys", &id], |v| {
        v["keys"][0]["event_id"] == "o-1-1"
    })
    .await;
    // The mode is kept.
    let (ok, refused) = hookwire(&stack, &["endpoints", "update", &id, "--single"]).await;
    assert!(!ok, "{refused}");
    assert_eq!(refused["error"]["field"], "delivery", "{refused}");
}
