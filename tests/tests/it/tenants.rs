//! Tenant isolation with NATS permissions: a server running the shipped accounts example,
//! hookwired with its own user, and two tenants whose credentials reach only their own
//! admin API, events, live attempts and replies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use hookwire_nats::admin::{AdminClient, AdminClientError};
use hookwire_protocol::{Subjects, Tenant};
use hookwire_testkit::{Hookwired, NatsServer, Receiver, workspace_root};
use serde_json::{Value, json};

use crate::support::{WAIT, test_send_as};

/// A tenant's connection with the example's credentials and its private inbox prefix;
/// the errors the server reports to it are collected.
async fn tenant_client(
    server: &NatsServer,
    tenant: &str,
) -> (async_nats::Client, Arc<Mutex<Vec<String>>>) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&errors);
    let client = async_nats::ConnectOptions::with_user_and_password(
        format!("tenant-{tenant}"),
        format!("CHANGE-ME-{tenant}"),
    )
    .custom_inbox_prefix(format!("_INBOX_{tenant}"))
    .event_callback(move |event| {
        let seen = Arc::clone(&seen);
        async move {
            if let async_nats::Event::ServerError(error) = event {
                seen.lock().unwrap().push(error.to_string());
            }
        }
    })
    .connect(server.url())
    .await
    .unwrap();
    (client, errors)
}

fn admin(client: &async_nats::Client, tenant: &str, timeout: Duration) -> AdminClient {
    AdminClient::new(
        client.clone(),
        Subjects::new("hookwire").unwrap(),
        Tenant::new(tenant).unwrap(),
        timeout,
    )
}

/// Waits until the server reported a permissions violation naming `subject`.
async fn violation(errors: &Mutex<Vec<String>>, subject: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if errors
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.to_lowercase().contains("permissions violation") && e.contains(subject))
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no permissions violation for {subject}: {:?}",
            errors.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_tenants_credentials_reach_only_its_own_tenant() {
    let accounts =
        std::fs::read_to_string(workspace_root().join("nats/config/accounts.example.conf"))
            .unwrap();
    let server = NatsServer::start_with_config(&accounts).await;
    let _daemon = Hookwired::start(
        &server.url(),
        &[
            ("HOOKWIRE__NATS__USER", "hookwired"),
            ("HOOKWIRE__NATS__PASSWORD", "CHANGE-ME-hookwired"),
        ],
    )
    .await;
    let (acme, acme_errors) = tenant_client(&server, "acme").await;
    let (globex, _) = tenant_client(&server, "globex").await;

    // Each tenant manages its own endpoints, replies arriving on its own inbox prefix.
    let receiver = Receiver::start().await;
    let globex_admin = admin(&globex, "globex", WAIT);
    let created: Value = globex_admin
        .call(
            "endpoints",
            "create",
            &json!({"url": receiver.url_for("/hook"), "status": "paused"}),
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let acme_admin = admin(&acme, "acme", WAIT);
    let own: Value = acme_admin
        .call("endpoints", "list", &json!({}))
        .await
        .unwrap();
    assert_eq!(own["endpoints"], json!([]), "acme sees none of globex's");

    // acme's credentials aimed at globex: the server refuses the requests themselves.
    let trespasser = admin(&acme, "globex", Duration::from_secs(1));
    for (verb, body) in [
        ("list", json!({})),
        ("update", json!({"id": id, "description": "taken over"})),
        ("delete", json!({"id": id})),
    ] {
        let result = trespasser.call::<_, Value>("endpoints", verb, &body).await;
        assert!(
            result.is_err() && !matches!(result, Err(AdminClientError::Api(_))),
            "{verb} reached globex's admin API: {result:?}"
        );
    }
    violation(&acme_errors, "hookwire.admin.globex.endpoints").await;
    let after: Value = globex_admin
        .call("endpoints", "get", &json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(
        (&after["description"], &after["updated_at"]),
        (&created["description"], &created["updated_at"]),
        "globex's endpoint changed"
    );

    // Nor can acme publish globex's events, or watch its live attempts or replies.
    acme.publish("hookwire.events.globex.orders.paid", "{}".into())
        .await
        .unwrap();
    let mut spy_live = acme.subscribe("hookwire.live.globex.>").await.unwrap();
    let mut spy_replies = acme.subscribe("_INBOX_globex.>").await.unwrap();
    acme.flush().await.unwrap();
    violation(&acme_errors, "hookwire.events.globex.orders.paid").await;
    violation(&acme_errors, "hookwire.live.globex.>").await;
    violation(&acme_errors, "_INBOX_globex.>").await;

    let mut watch = globex.subscribe("hookwire.live.globex.>").await.unwrap();
    globex.flush().await.unwrap();
    let sent = test_send_as(&globex_admin, &json!(id)).await;
    assert_eq!(sent["response"]["status"], 200, "{sent}");
    let live = tokio::time::timeout(WAIT, watch.next())
        .await
        .expect("globex sees its own live attempt")
        .unwrap();
    assert!(live.subject.as_str().starts_with("hookwire.live.globex."));
    for spy in [&mut spy_live, &mut spy_replies] {
        let leaked = tokio::time::timeout(Duration::from_millis(500), spy.next()).await;
        assert!(
            !matches!(leaked, Ok(Some(_))),
            "acme received globex's traffic: {leaked:?}"
        );
    }
}
