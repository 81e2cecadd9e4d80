//! The integration list's providers end to end: each request signed (or not) the way the
//! provider documents it, by `tests/interop/providers_sign.py` (Python's own HMAC and RSA,
//! never Hookwire's signer), posted to the ingress and read back from NATS; the providers'
//! handshakes; routing by content.

use hookwire_nats::admin::AdminClientError;
use serde_json::{Value, json};

use crate::incoming::{next_message, post, source, stats, status_of, stored_on};
use crate::support::{Stack, error_code, interop};

/// `providers_sign.py`'s headers for `request`, ready for [`post`].
async fn signed_headers(request: Value) -> Vec<(String, String)> {
    headers_of(&interop("providers_sign.py", &request).await)
}

/// The `headers` of a `providers_sign.py` answer.
fn headers_of(answer: &Value) -> Vec<(String, String)> {
    answer["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect()
}

/// A published event's `Nats-Msg-Id`.
fn msg_id_of(message: &async_nats::Message) -> Option<&str> {
    message
        .headers
        .as_ref()?
        .get("Nats-Msg-Id")
        .map(async_nats::HeaderValue::as_str)
}

fn refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

async fn subscribe(stack: &Stack, subject: &str) -> async_nats::Subscriber {
    let subscriber = stack.client.subscribe(subject.to_owned()).await.unwrap();
    stack.client.flush().await.unwrap();
    subscriber
}

/// One HMAC-signing provider: what it sends besides the signature.
struct HmacProvider {
    scheme: &'static str,
    body: &'static str,
    headers: &'static [(&'static str, &'static str)],
    /// The type its event gets (after `hookwire.events.default.<scheme>.`).
    event_type: &'static str,
    /// Its `Nats-Msg-Id`.
    msg_id: &'static str,
}

const HMAC_PROVIDERS: &[HmacProvider] = &[
    HmacProvider {
        scheme: "bitbucket",
        body: r#"{"push":{"changes":[{"new":{"name":"main","type":"branch"}}]},"repository":{"full_name":"acme/app"},"actor":{"display_name":"Ada"}}"#,
        headers: &[
            ("x-event-key", "repo:push"),
            ("x-request-uuid", "9d1e4c5a-55a4-4bb1-a8a6-8b1c1d2b8f10"),
            ("x-hook-uuid", "2b5cbd5e-0b8c-4f4e-8d2f-7a1b6c3e9d01"),
        ],
        event_type: "repo.push",
        msg_id: "bitbucket:9d1e4c5a-55a4-4bb1-a8a6-8b1c1d2b8f10",
    },
    HmacProvider {
        scheme: "jira",
        body: r#"{"timestamp":1700000000000,"webhookEvent":"jira:issue_created","issue_event_type_name":"issue_created","issue":{"key":"OPS-1"}}"#,
        headers: &[
            ("x-atlassian-webhook-identifier", "1734567890123"),
            ("x-atlassian-webhook-retry", "0"),
        ],
        event_type: "jira.issue_created",
        msg_id: "jira:1734567890123",
    },
    HmacProvider {
        scheme: "confluence",
        body: r#"{"timestamp":1700000000000,"event":"page_created","page":{"id":98306,"title":"Runbook"}}"#,
        headers: &[("x-request-id", "7f3c1a2e-9b2d-4c1e-a5f6-0d9e8c7b6a54")],
        event_type: "page_created",
        msg_id: "confluence:7f3c1a2e-9b2d-4c1e-a5f6-0d9e8c7b6a54",
    },
    HmacProvider {
        scheme: "circleci",
        body: r#"{"type":"workflow-completed","id":"3888f21b-eaa7-38e3-8f3d-75a63bba8895","happened_at":"2026-11-01T22:49:34.317Z","webhook":{"id":"cf8c4fdd-0587-4da1-b4ca-4846e9640af9","name":"hookwire"},"workflow":{"name":"build","status":"success"}}"#,
        headers: &[("circleci-event-type", "workflow-completed")],
        event_type: "workflow-completed",
        msg_id: "circleci:3888f21b-eaa7-38e3-8f3d-75a63bba8895",
    },
];

/// Bitbucket, Jira, Confluence and CircleCI: a request signed as the provider documents is
/// published once (its retry is a duplicate); tampered, wrongly keyed and unsigned requests
/// are refused and publish nothing.
#[tokio::test]
async fn atlassian_and_circleci_requests_signed_as_documented_are_published_once() {
    let stack = Stack::start(&[]).await;
    for provider in HMAC_PROVIDERS {
        hmac_provider(&stack, provider).await;
    }
}

async fn hmac_provider(stack: &Stack, provider: &HmacProvider) {
    let name = provider.scheme;
    let created = source(
        stack,
        json!({"name": name, "verification": {"scheme": provider.scheme}}),
    )
    .await;
    let secret = created["secret"].as_str().expect("a generated secret");
    let path = created["path"].as_str().unwrap();
    let everything = format!("hookwire.events.default.{name}.>");
    let mut subscriber = subscribe(stack, &everything).await;
    let sign = |secret: &str, body: &str| {
        signed_headers(json!({"provider": provider.scheme, "secret": secret, "body": body}))
    };
    let with = |signature: &[(String, String)]| {
        let mut headers: Vec<(String, String)> = provider
            .headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        headers.push(("content-type".into(), "application/json".into()));
        headers.extend_from_slice(signature);
        headers
    };

    let good = with(&sign(secret, provider.body).await);
    let (status, _, answer) = post(stack, path, &refs(&good), provider.body.as_bytes()).await;
    assert_eq!((status, answer), (200, json!({"accepted": true})), "{name}");
    let message = next_message(&mut subscriber).await;
    assert_eq!(
        message.subject.as_str(),
        format!("hookwire.events.default.{name}.{}", provider.event_type)
    );
    assert_eq!(message.payload.as_ref(), provider.body.as_bytes());
    assert_eq!(msg_id_of(&message), Some(provider.msg_id));
    let (status, _, answer) = post(stack, path, &refs(&good), provider.body.as_bytes()).await;
    assert_eq!(
        (status, answer),
        (200, json!({"accepted": true, "duplicate": true})),
        "{name}: the provider's retry"
    );

    // Still the same JSON to a parser, not the same bytes to a MAC.
    let tampered = format!("{} ", provider.body);
    assert_eq!(
        status_of(stack, path, &refs(&good), tampered.as_bytes()).await,
        401,
        "{name}: tampered"
    );
    let wrong_key = with(&sign("a-secret-that-is-not-the-sources", provider.body).await);
    assert_eq!(
        status_of(stack, path, &refs(&wrong_key), provider.body.as_bytes()).await,
        401,
        "{name}: wrong key"
    );
    let unsigned = with(&[]);
    assert_eq!(
        status_of(stack, path, &refs(&unsigned), provider.body.as_bytes()).await,
        401,
        "{name}: unsigned"
    );
    assert_eq!(
        stored_on(stack, &everything).await,
        1,
        "{name}: stored once"
    );
    let counted = stats(stack, name).await;
    assert_eq!(counted["published"], 1, "{name}: {counted}");
    assert_eq!(counted["duplicates"], 1, "{name}: {counted}");
    assert_eq!(counted["rejected"]["bad_signature"], 2, "{name}: {counted}");
    assert_eq!(
        counted["rejected"]["missing_signature"], 1,
        "{name}: {counted}"
    );
}

/// Travis CI: the form's `payload` signed with RSA-SHA1 by a key the test made, checked
/// with its public key given to the source; the JSON inside the form is what is published.
#[tokio::test]
async fn travis_notifications_are_checked_with_the_public_key_and_published_as_json() {
    let stack = Stack::start(&[]).await;
    let not_a_key = stack
        .admin
        .call::<_, Value>(
            "sources",
            "create",
            &json!({"name": "travis", "verification": {"scheme": "travis", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}}),
        )
        .await;
    assert_eq!(error_code(not_a_key), "invalid_request");

    let keys = interop("providers_sign.py", &json!({"provider": "travis_keys"})).await;
    let created = source(
        &stack,
        json!({"name": "travis", "verification": {"scheme": "travis", "public_key": keys["public_key"]}}),
    )
    .await;
    assert!(
        created.get("secret").is_none(),
        "no shared secret: {created}"
    );
    let path = created["path"].as_str().unwrap();
    let everything = "hookwire.events.default.travis.>";
    let mut subscriber = subscribe(&stack, everything).await;
    let payload = r#"{"id":7001,"number":"42","type":"push","state":"passed","branch":"main","repository":{"name":"app","owner_name":"acme"}}"#;
    let sign = |private_key: &Value, payload: &str| {
        let request = json!({"provider": "travis", "private_key": private_key, "payload": payload});
        async move { interop("providers_sign.py", &request).await }
    };
    let signed = sign(&keys["private_key"], payload).await;
    let body = signed["body"].as_str().unwrap().to_owned();
    let mut headers = headers_of(&signed);
    headers.push(("travis-repo-slug".into(), "acme/app".into()));

    let (status, _, _) = post(&stack, path, &refs(&headers), body.as_bytes()).await;
    assert_eq!(status, 200);
    let message = next_message(&mut subscriber).await;
    assert_eq!(
        message.subject.as_str(),
        "hookwire.events.default.travis.push.passed"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&message.payload).unwrap(),
        serde_json::from_str::<Value>(payload).unwrap(),
        "the payload field's JSON, not the form"
    );
    assert_eq!(msg_id_of(&message), Some("travis:7001:passed"));
    let (_, _, again) = post(&stack, path, &refs(&headers), body.as_bytes()).await;
    assert_eq!(again["duplicate"], true);

    let tampered = body.replace("passed", "failed");
    assert_eq!(
        status_of(&stack, path, &refs(&headers), tampered.as_bytes()).await,
        401,
        "tampered"
    );
    let other_keys = interop("providers_sign.py", &json!({"provider": "travis_keys"})).await;
    let forged = sign(&other_keys["private_key"], payload).await;
    let forged_headers = headers_of(&forged);
    assert_eq!(
        status_of(&stack, path, &refs(&forged_headers), body.as_bytes()).await,
        401,
        "signed by another key"
    );
    let unsigned = [("content-type", "application/x-www-form-urlencoded")];
    assert_eq!(
        status_of(&stack, path, &unsigned, body.as_bytes()).await,
        401,
        "unsigned"
    );
    assert_eq!(stored_on(&stack, everything).await, 1);
}

/// Jenkins and Docker Hub sign nothing: the URL's token and the allowed networks are the
/// guard. Their events get their documented types and composite delivery ids.
#[tokio::test]
async fn unsigned_providers_are_guarded_by_the_token_and_the_allowed_networks() {
    let stack = Stack::start(&[]).await;
    let jenkins = source(
        &stack,
        json!({"name": "jenkins", "verification": {"scheme": "jenkins"}, "allowed_networks": ["127.0.0.1/32"]}),
    )
    .await;
    let elsewhere = source(
        &stack,
        json!({"name": "jenkins-elsewhere", "verification": {"scheme": "jenkins"}, "allowed_networks": ["10.0.0.0/8"]}),
    )
    .await;
    let mut subscriber = subscribe(&stack, "hookwire.events.default.jenkins.>").await;
    // The Notification plugin's JSON.
    let build = br#"{"name":"deploy","url":"job/deploy/","build":{"full_url":"http://jenkins.example/job/deploy/42/","number":42,"phase":"COMPLETED","status":"SUCCESS","url":"job/deploy/42/"}}"#;
    let json_headers = [("content-type", "application/json")];
    let path = jenkins["path"].as_str().unwrap();
    assert_eq!(status_of(&stack, path, &json_headers, build).await, 200);
    let message = next_message(&mut subscriber).await;
    assert_eq!(
        message.subject.as_str(),
        "hookwire.events.default.jenkins.COMPLETED"
    );
    assert_eq!(msg_id_of(&message), Some("jenkins:deploy:42:COMPLETED"));
    let (_, _, again) = post(&stack, path, &json_headers, build).await;
    assert_eq!(again["duplicate"], true, "the plugin's retry");
    let outside = elsewhere["path"].as_str().unwrap();
    assert_eq!(status_of(&stack, outside, &json_headers, build).await, 403);
    assert_eq!(
        status_of(&stack, "/in/hwin_not-a-token", &json_headers, build).await,
        404
    );

    let hub = source(
        &stack,
        json!({"name": "dockerhub", "verification": {"scheme": "docker_hub"}}),
    )
    .await;
    // Core NATS delivers the duplicate's publish too: a subscriber of its own.
    let mut subscriber = subscribe(&stack, "hookwire.events.default.dockerhub.>").await;
    let push = br#"{"callback_url":"https://registry.hub.docker.com/u/acme/app/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/","push_data":{"pushed_at":1417566161,"pusher":"acme","tag":"latest"},"repository":{"name":"app","namespace":"acme","repo_name":"acme/app","status":"Active"}}"#;
    let path = hub["path"].as_str().unwrap();
    assert_eq!(status_of(&stack, path, &json_headers, push).await, 200);
    let message = next_message(&mut subscriber).await;
    assert_eq!(
        message.subject.as_str(),
        "hookwire.events.default.dockerhub.push"
    );
    assert_eq!(
        msg_id_of(&message),
        Some("dockerhub:acme/app:latest:1417566161")
    );
    assert_eq!(
        stored_on(&stack, "hookwire.events.default.jenkins-elsewhere.>").await,
        0
    );
    assert_eq!(
        stored_on(&stack, "hookwire.events.default.jenkins.>").await,
        1
    );
}

/// Slack's `url_verification` is echoed once its signature checks, and publishes nothing;
/// a CloudEvents validation request is allowed at the source's rate.
#[tokio::test]
async fn handshakes_are_answered_as_the_providers_expect() {
    let stack = Stack::start(&[]).await;
    let slack_secret = "slack-signing-secret-for-tests";
    let created = source(
        &stack,
        json!({"name": "slack", "verification": {"scheme": "slack"}, "secret": slack_secret}),
    )
    .await;
    let path = created["path"].as_str().unwrap();
    // The url_verification example in Slack's Events API docs.
    let challenge = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let now = chrono::Utc::now().timestamp();
    let mut headers = signed_headers(
        json!({"provider": "slack", "secret": slack_secret, "body": challenge, "timestamp": now}),
    )
    .await;
    headers.push(("content-type".into(), "application/json".into()));
    let (status, _, answer) = post(&stack, path, &refs(&headers), challenge.as_bytes()).await;
    assert_eq!(
        (status, answer),
        (
            200,
            json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
        )
    );
    let unsigned = [("content-type", "application/json")];
    let (status, _, answer) = post(&stack, path, &unsigned, challenge.as_bytes()).await;
    assert_eq!(status, 401);
    assert!(answer.get("challenge").is_none(), "{answer}");
    assert_eq!(
        stored_on(&stack, "hookwire.events.default.slack.>").await,
        0
    );
    let counted = stats(&stack, "slack").await;
    assert_eq!(counted["handshakes"], 1, "{counted}");
    assert_eq!(counted["received"], 1, "only the unsigned one: {counted}");

    let cloudevents = source(
        &stack,
        json!({"name": "grid", "rate_limit_per_minute": 600}),
    )
    .await;
    let url = format!(
        "{}{}",
        stack.daemon.ingress_url(),
        cloudevents["path"].as_str().unwrap()
    );
    let client = hookwire_testkit::http_client().build().unwrap();
    let validate = || {
        client
            .request(reqwest::Method::OPTIONS, &url)
            .header("WebHook-Request-Origin", "eventemitter.example.com")
            .header("WebHook-Request-Rate", "120")
            .header(
                "WebHook-Request-Callback",
                "http://127.0.0.1:9/never-called",
            )
            .send()
    };
    let response = validate().await.unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("webhook-allowed-origin").as_deref(),
        Some("eventemitter.example.com")
    );
    assert_eq!(header("webhook-allowed-rate").as_deref(), Some("600"));
    assert!(header("allow").unwrap().contains("POST"));

    stack
        .admin
        .call::<_, Value>(
            "sources",
            "update",
            &json!({"name": "grid", "active": false}),
        )
        .await
        .unwrap();
    let refused = validate().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("webhook-allowed-origin").is_none());
    let unknown = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/in/hwin_unknown", stack.daemon.ingress_url()),
        )
        .header("WebHook-Request-Origin", "eventemitter.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

/// A source chooses the type from the content: GitHub events by action through a `join`,
/// a CRM's leads by priority through routing rules; bad rules are refused at save, named.
#[tokio::test]
async fn routing_rules_choose_the_subject_from_the_content() {
    let stack = Stack::start(&[]).await;
    let secret = "github-webhook-secret-for-routing";
    let github = source(
        &stack,
        json!({
            "name": "github", "verification": {"scheme": "github"}, "secret": secret,
            "type_from": {"join": [{"header": "x-github-event"}, {"field": "/action"}]}
        }),
    )
    .await;
    let crm = source(
        &stack,
        json!({
            "name": "crm",
            "type_from": {"fixed": "leads.cold"},
            "type_rules": [
                {"when": {"all": [{"path": "/priority", "ge": 8}]}, "type": "leads.hot"},
                {"when": {"all": [{"path": "/priority", "ge": 4}]}, "type": "leads.warm"}
            ]
        }),
    )
    .await;
    let mut subscriber = subscribe(&stack, "hookwire.events.default.>").await;

    let github_path = github["path"].as_str().unwrap();
    for (event, body, subject) in [
        (
            "pull_request",
            r#"{"action":"opened","number":1}"#,
            "github.pull_request.opened",
        ),
        (
            "ping",
            r#"{"zen":"Keep it logically awesome."}"#,
            "github.ping",
        ),
    ] {
        let mut headers =
            signed_headers(json!({"provider": "github", "secret": secret, "body": body})).await;
        headers.push(("content-type".into(), "application/json".into()));
        headers.push(("x-github-event".into(), event.into()));
        assert_eq!(
            status_of(&stack, github_path, &refs(&headers), body.as_bytes()).await,
            200
        );
        assert_eq!(
            next_message(&mut subscriber).await.subject.as_str(),
            format!("hookwire.events.default.{subject}")
        );
    }

    let crm_path = crm["path"].as_str().unwrap();
    let json_headers = [("content-type", "application/json")];
    for (body, subject) in [
        (&br#"{"priority":9,"name":"Ada"}"#[..], "crm.leads.hot"),
        (&br#"{"priority":5}"#[..], "crm.leads.warm"),
        (&br#"{"priority":1}"#[..], "crm.leads.cold"),
        (&br#"{"name":"no priority"}"#[..], "crm.leads.cold"),
    ] {
        assert_eq!(status_of(&stack, crm_path, &json_headers, body).await, 200);
        assert_eq!(
            next_message(&mut subscriber).await.subject.as_str(),
            format!("hookwire.events.default.{subject}")
        );
    }
    let tested: Value = stack
        .admin
        .call(
            "sources",
            "test",
            &json!({"name": "crm", "body": {"priority": 8}}),
        )
        .await
        .unwrap();
    assert_eq!(tested["event_type"], "leads.hot");
}

/// Routing rules and composite rules are checked at save; the error names the failing part.
#[tokio::test]
async fn bad_rules_are_refused_at_save_naming_the_part() {
    let stack = Stack::start(&[]).await;
    for (spec, field) in [
        (
            json!({"name": "bad1", "type_rules": [{"when": {"all": []}, "type": "a..b"}]}),
            "type_rules[0].type",
        ),
        (
            json!({"name": "bad2", "type_rules": [{"when": {"all": [{"path": "priority", "eq": 1}]}, "type": "a"}]}),
            "type_rules[0].when.all[0]",
        ),
        (
            json!({"name": "bad3", "type_from": {"join": [{"header": "x-a"}, {"field": "action"}]}}),
            "type_from.join[1]",
        ),
        (
            json!({"name": "bad4", "id_from": {"join": [{"fixed": "x"}]}}),
            "id_from.join[0]",
        ),
    ] {
        let refused = stack
            .admin
            .call::<_, Value>("sources", "create", &spec)
            .await;
        match refused {
            Err(AdminClientError::Api(body)) => {
                assert_eq!(body.error.field.as_deref(), Some(field), "{spec}");
            }
            other => panic!("{spec} was not refused: {other:?}"),
        }
    }
}
