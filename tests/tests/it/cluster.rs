//! Hookwire on a three-node JetStream cluster with replicated streams: the CLI, given every
//! node's URL, and hookwired ride over the loss of a node.

use std::time::Duration;

use hookwire_testkit::{Hookwired, NatsCluster, Receiver};

use crate::cli::hookwire_at as hookwire;

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
