//! The SSRF guard: no webhook, verification or test send reaches a special-purpose address
//! unless the deployment allows its network; names are judged by what they resolve to,
//! redirects are never followed, and endpoints can narrow further.

use futures_util::StreamExt as _;
use hookwire_protocol::admin::ErrorCode;
use hookwire_protocol::attempt::ErrorKind;
use hookwire_testkit::{Receiver, Reply};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, error_code, refused_create, test_send};

/// The kit allows loopback for its receivers; these tests take that away.
const NOTHING_ALLOWED: &[(&str, &str)] = &[("HOOKWIRE__OUTBOUND__ALLOW_NETWORKS", "[]")];

/// One URL per blocked range, IPv4 and IPv6, with the IPv6 spellings of IPv4 ranges.
const BLOCKED_URLS: &[&str] = &[
    "http://0.0.0.0/",
    "http://10.0.0.1/",
    "http://100.64.0.1/",
    "http://127.0.0.1:9/",
    "http://169.254.169.254/latest/meta-data/",
    "http://172.16.0.1/",
    "http://192.0.0.1/",
    "http://192.0.2.1/",
    "http://192.168.0.1/",
    "http://198.18.0.1/",
    "http://198.51.100.1/",
    "http://203.0.113.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[::]/",
    "http://[::1]:9/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2001:db8::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    // Integer and short forms are the same addresses to the URL parser.
    "http://2130706433/",
    "http://127.1/",
    "http://0x7f.0.0.1/",
];

#[tokio::test]
async fn every_blocked_range_is_refused_at_create_and_update() {
    let stack = Stack::start(NOTHING_ALLOWED).await;
    for url in BLOCKED_URLS {
        let error = refused_create(&stack, &json!({"url": url})).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{url}");
        assert_eq!(error.field.as_deref(), Some("url"), "{url}");
        assert!(
            error.message.contains("blocked destination"),
            "{url}: {}",
            error.message
        );
    }
    // A name is judged when it resolves, so it is accepted here.
    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"url": "http://localhost:9/hook", "status": "paused"}),
        )
        .await
        .unwrap();
    let moved = stack
        .admin
        .call::<_, Value>(
            "endpoints",
            "update",
            &json!({"id": created["id"], "url": "http://[::ffff:192.168.1.1]/"}),
        )
        .await;
    assert_eq!(error_code(moved), "invalid_request");
}

#[tokio::test]
async fn a_name_resolving_to_a_blocked_address_is_never_contacted() {
    let stack = Stack::start(NOTHING_ALLOWED).await;
    let receiver = Receiver::start().await;
    let url = receiver.url_for("/hook").replace("127.0.0.1", "localhost");
    let created: Value = stack
        .admin
        .call("endpoints", "create", &json!({"url": url}))
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();

    // The verification challenge is refused at resolution...
    let pending = wait_for_last_error(&stack, id).await;
    assert!(pending.contains("blocked destination"), "{pending}");
    assert!(pending.contains("localhost resolves to"), "{pending}");

    // ... and so is a test send, recorded with its error kind.
    let attempt = test_send(&stack, &json!(id)).await;
    assert_eq!(attempt["error"]["kind"], "blocked_destination", "{attempt}");
    assert_eq!(receiver.count(), 0, "the receiver was contacted");
}

#[tokio::test]
async fn an_oauth_token_url_resolving_to_a_blocked_address_is_a_blocked_destination() {
    let stack = Stack::start(NOTHING_ALLOWED).await;
    let authority = Receiver::start().await;
    // Names pass at create (they are judged when they resolve), so the endpoint is saved.
    let token_url = authority
        .url_for("/oauth/token")
        .replace("127.0.0.1", "localhost");
    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"url": "http://localhost:9/hook", "status": "paused",
                    "auth": {"type": "oauth2", "token_url": token_url, "client_id": "c", "client_secret": "s"}}),
        )
        .await
        .unwrap();
    let attempt = test_send(&stack, &created["id"]).await;
    assert_eq!(attempt["error"]["kind"], "blocked_destination", "{attempt}");
    let message = attempt["error"]["message"].as_str().unwrap();
    assert!(message.contains("token URL"), "{message}");
    assert!(message.contains("localhost resolves to"), "{message}");
    assert_eq!(authority.count(), 0, "the token URL was contacted");
    // The audit log records the SSRF guard at work, not a credentials failure.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page: Value = stack
            .admin
            .call("audit", "list", &json!({"action": "delivery"}))
            .await
            .unwrap();
        let actions: Vec<&str> = page["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["action"].as_str())
            .collect();
        assert!(!actions.contains(&"delivery.auth_failed"), "{actions:?}");
        if actions.contains(&"delivery.blocked_destination") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{actions:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn allow_networks_opens_a_range_and_endpoint_rules_narrow_it() {
    // The kit's default configuration allows 127.0.0.0/8.
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let mut endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let by_name = receiver.url_for("/hook").replace("127.0.0.1", "localhost");
    endpoint = stack
        .admin
        .call("endpoints", "update", &json!({"id": id, "url": by_name}))
        .await
        .unwrap();
    assert_eq!(endpoint["url"], by_name);
    stack.wait_for_state(&id, "active").await;
    let before = receiver.count();
    stack.publish("a.b", &json!({"n": 1}), None).await;
    receiver.wait_for(before + 1, WAIT).await;

    // The endpoint denies loopback for itself: the next delivery is blocked.
    let narrowed: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": id, "deny_networks": ["127.0.0.0/8", "::1"]}),
        )
        .await
        .unwrap();
    assert_eq!(narrowed["deny_networks"], json!(["127.0.0.0/8", "::1/128"]));
    let mut live = stack
        .client
        .subscribe(format!("hookwire.live.default.{id}"))
        .await
        .unwrap();
    stack
        .publish("a.b", &json!({"n": 2}), Some("evt-blocked"))
        .await;
    let attempt = tokio::time::timeout(WAIT, async {
        loop {
            let message = live.next().await.unwrap();
            let records = hookwire_protocol::attempt::records(&message.payload).unwrap();
            if let Some(record) = records.into_iter().find(|r| r.event_id == "evt-blocked") {
                return record;
            }
        }
    })
    .await
    .expect("an attempt record for the blocked delivery");
    let error = attempt.error.expect("the blocked attempt failed");
    assert_eq!(error.kind, ErrorKind::BlockedDestination, "{error:?}");
    assert!(
        error.message.contains("endpoint's deny_networks"),
        "{error:?}"
    );
    assert_eq!(receiver.count(), before + 1, "a blocked delivery arrived");
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_not_followed() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    receiver.set_fallback(Reply::redirect(
        302,
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    ));
    let attempt = test_send(&stack, &endpoint["id"]).await;
    assert_eq!(attempt["error"]["kind"], "redirect", "{attempt}");
    assert_eq!(attempt["response"]["status"], 302);
}

async fn wait_for_last_error(stack: &Stack, id: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let endpoint = stack.get_endpoint(id).await;
        if let Some(error) = endpoint["status"]["last_error"].as_str() {
            return error.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "verification never failed: {endpoint}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
