//! Several hookwired instances: a change answered by one is seen by all at once; and
//! Hookwire on a three-node JetStream cluster with replicated streams: the CLI, the console
//! and hookwired ride over the loss of a node. (The failover test under load is a binary of
//! its own, `tests/failover.rs`.)

use std::time::Duration;

use hookwire_testkit::{Console, Hookwired, NatsCluster, Receiver};
use serde_json::{Value, json};

use crate::cli::hookwire_at as hookwire;
use crate::support::{Stack, WAIT, active_endpoint, admin_for};

/// A second hookwired beside `stack`'s, sharing its secrets key.
async fn second_instance(stack: &Stack) -> Hookwired {
    let key_file = stack.daemon.data_dir().join("secrets.key");
    Hookwired::start(
        &stack.server.url(),
        &[("HOOKWIRE__SECRETS__KEY_FILE", key_file.to_str().unwrap())],
    )
    .await
}

/// Waits until the roster in the configuration bucket lists `instances` instances.
async fn wait_for_roster(stack: &Stack, instances: usize) {
    let js = async_nats::jetstream::new(stack.client.clone());
    let bucket = js.get_key_value("HOOKWIRE_CONFIG").await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let listed = match bucket.get("instances").await.unwrap() {
            Some(value) => serde_json::from_slice::<serde_json::Map<String, Value>>(&value)
                .unwrap()
                .len(),
            None => 0,
        };
        if listed == instances {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the roster never listed {instances} instances (it lists {listed})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_endpoint_created_through_either_instance_gets_the_next_event_from_both() {
    const ROUNDS: usize = 40;
    let stack = Stack::start(&[]).await;
    let mut second = second_instance(&stack).await;
    wait_for_roster(&stack, 2).await;
    let receiver = Receiver::start().await;
    // Each round: a new endpoint for a new event type, and at once an event of that type.
    // Either instance may answer the creation and either may fan the event out; the event
    // reaches the endpoint only if the instance fanning out has the endpoint already.
    for round in 0..ROUNDS {
        let event_type = format!("sync.r{round}");
        let url = receiver.url_for(&format!("/r{round}"));
        active_endpoint(&stack.admin, &url, &[&event_type]).await;
        stack
            .publish(&event_type, &json!({"round": round}), None)
            .await;
    }
    let delivered = receiver.wait_for(ROUNDS, WAIT).await;
    let mut paths: Vec<String> = delivered.iter().map(|r| r.path.clone()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(
        paths.len(),
        ROUNDS,
        "every endpoint got its round's event: {paths:?}"
    );

    // The answering instance names itself and says how far its index is; it catches up
    // with the attempts stream.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let info: Value = stack
            .admin
            .call("system", "info", &json!({}))
            .await
            .unwrap();
        assert!(
            info["instance"].as_str().unwrap().starts_with("inst_"),
            "{info}"
        );
        let attempts = info["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "HOOKWIRE_ATTEMPTS")
            .unwrap()["last_seq"]
            .as_u64()
            .unwrap();
        // A record follows its request by moments (records wait up to 20 ms to be stored
        // in groups).
        if attempts >= ROUNDS as u64 && info["attempts_indexed"].as_u64() == Some(attempts) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{info}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An instance killed stays on the roster until its announcement runs out: a change
    // waits for it a moment, then answers, and the survivor delivers.
    second.kill9();
    let url = receiver.url_for("/after-kill");
    active_endpoint(&stack.admin, &url, &["sync.after-kill"]).await;
    stack
        .publish("sync.after-kill", &json!({"after": "kill"}), None)
        .await;
    let delivered = receiver.wait_for(ROUNDS + 1, WAIT).await;
    assert!(delivered.iter().any(|r| r.path == "/after-kill"));
    // Its entry runs out, and a restarted instance joins again.
    wait_for_roster(&stack, 1).await;
    second.start_again().await;
    wait_for_roster(&stack, 2).await;
    second.terminate().await;
    wait_for_roster(&stack, 1).await;
}

#[tokio::test]
async fn the_cli_and_hookwired_ride_over_the_loss_of_a_node() {
    let mut cluster = NatsCluster::start().await;
    let urls = cluster.urls();
    let daemon = Hookwired::start(&urls, &[("HOOKWIRE__STREAMS__REPLICAS", "3")]).await;
    let receiver = Receiver::start().await;
    let url = receiver.url_for("/hook");
    let (code, created) = hookwire(
        &urls,
        &[
            "endpoints",
            "create",
            "--url",
            &url,
            "--verification",
            "confirmed",
            "--confirm-destination",
            "127.0.0.1",
        ],
    )
    .await;
    assert_eq!(code, 0, "{created}");
    let (code, info) = hookwire(&urls, &["system", "info"]).await;
    assert_eq!(code, 0, "{info}");

    // The first node (the CLI's first URL, perhaps hookwired's and the streams' leader) goes.
    cluster.nodes()[0].stop();
    let (code, published) = hookwire(
        &urls,
        &[
            "events",
            "publish",
            "cluster.after",
            r#"{"n": 1}"#,
            "--id",
            "after-1",
        ],
    )
    .await;
    assert_eq!(code, 0, "{published}");
    let delivered = receiver.wait_for(1, Duration::from_mins(1)).await;
    assert_eq!(delivered[0].header("webhook-id"), Some("after-1"));
    let (code, listed) = hookwire(&urls, &["endpoints", "list"]).await;
    assert_eq!(code, 0, "{listed}");
    assert_eq!(listed["endpoints"][0]["id"], created["id"]);
    // The attempt is indexed: the instance's history follows the attempts stream through
    // the node's loss.
    let id = created["id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (_, delivery) = hookwire(
            &urls,
            &["deliveries", "get", "--endpoint", id, "--event", "after-1"],
        )
        .await;
        if delivery["delivery"]["state"] == "succeeded" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "after-1 was delivered but never indexed: {delivery}\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(daemon);
}

#[tokio::test]
async fn the_console_rides_over_the_loss_of_the_node_it_was_on() {
    let mut cluster = NatsCluster::start().await;
    let urls = cluster.urls();
    let daemon = Hookwired::start(&urls, &[("HOOKWIRE__STREAMS__REPLICAS", "3")]).await;
    let mut console = Console::start(&urls, &[], 100, 24);
    console.wait_for("no endpoints", WAIT).await;
    let mut on = None;
    for (n, node) in cluster.nodes().iter().enumerate() {
        let body = hookwire_testkit::http_client()
            .build()
            .unwrap()
            .get(format!("{}/connz", node.monitor_url()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let connections: Value = serde_json::from_slice(&body).unwrap();
        let named = |c: &Value| c["name"] == "hookwire console";
        if connections["connections"]
            .as_array()
            .is_some_and(|all| all.iter().any(named))
        {
            on = Some(n);
        }
    }
    let on = on.expect("the console is connected to one of the nodes");
    cluster.nodes()[on].stop();

    // An endpoint made after the loss shows on the console (its list reloads every 5 s).
    let client = cluster.client().await;
    let admin = admin_for(&client, "default");
    let id = active_endpoint(&admin, "http://127.0.0.1:9/after-loss", &["loss.>"]).await;
    let screen = console
        .wait_until(
            "the endpoint made after the loss",
            Duration::from_mins(1),
            |s| s.contains(&id),
        )
        .await;
    assert!(
        !screen.contains("disconnected"),
        "the console is connected again:\n{screen}"
    );
    console.press("q");
    assert_eq!(console.wait_exit(WAIT).await, 0);
    drop(daemon);
}
