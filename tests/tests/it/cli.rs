//! The `hookwire` scripting commands, run as a user runs them.

use hookwire_testkit::{Receiver, workspace_bin};
use serde_json::Value;

use crate::support::{Stack, WAIT};

/// Runs `hookwire --json <args>` against the stack; returns (success, stdout as JSON).
async fn hookwire(stack: &Stack, args: &[&str]) -> (bool, Value) {
    let (code, value) = hookwire_exit(stack, args).await;
    (code == 0, value)
}

/// Runs `hookwire --json <args>` against the stack; returns (exit code, stdout as JSON).
async fn hookwire_exit(stack: &Stack, args: &[&str]) -> (i32, Value) {
    let output = tokio::process::Command::new(workspace_bin("hookwire"))
        .env("NATS_URL", stack.server.url())
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
