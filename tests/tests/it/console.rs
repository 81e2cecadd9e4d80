//! The console end to end: the real `hookwire` binary in a pseudo-terminal against a real
//! nats-server and hookwired; keys in, screen out, and the backend checked behind it.

use hookwire_protocol::Secret;
use hookwire_testkit::console::key::{ENTER, ESC};
use hookwire_testkit::{Console, Receiver};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT};

/// The first `whsec_…` secret on the screen.
fn secret_on(screen: &str) -> Secret {
    let start = screen.find("whsec_").expect("a secret on the screen");
    let text: String = screen[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '/' | '='))
        .collect();
    Secret::parse(&text).unwrap_or_else(|e| panic!("{text:?} is not a secret: {e}"))
}

/// Waits until the overlay showing `title` is gone, so the next key is not read as part
/// of an escape sequence.
async fn closed(console: &Console, title: &str) {
    console
        .wait_until("the overlay closed", WAIT, |screen| !screen.contains(title))
        .await;
}

async fn only_endpoint(stack: &Stack) -> Value {
    let listed: Value = stack
        .admin
        .call("endpoints", "list", &json!({}))
        .await
        .unwrap();
    let endpoints = listed["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 1, "{listed}");
    endpoints[0].clone()
}

#[tokio::test]
async fn an_operator_creates_watches_redelivers_and_rotates_from_the_console() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let mut console = Console::start(&stack.server.url(), &[], 80, 24);
    console
        .wait_until("the empty endpoints view", WAIT, |s| {
            s.contains("connected") && s.contains("no endpoints in this tenant")
        })
        .await;

    // Create an endpoint through the form; its secret is shown once.
    console.press("n");
    console.wait_for("new endpoint", WAIT).await;
    console.press(&receiver.url_for("/hook"));
    console.press(ENTER);
    let screen = console.wait_for("new secret of ep_", WAIT).await;
    let first_secret = secret_on(&screen);
    console.press(ESC);
    closed(&console, "new secret of").await;
    let endpoint = only_endpoint(&stack).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    assert_eq!(endpoint["url"], receiver.url_for("/hook"));
    stack.wait_for_state(&id, "active").await;
    console.press("u");
    console.wait_for("active", WAIT).await;

    // A live delivery arrives in the live view, signed with the secret shown.
    receiver.set_secrets(vec![first_secret]);
    console.press("3");
    console.wait_for("waiting for attempts", WAIT).await;
    stack
        .publish("orders.paid", &json!({"order": 1}), Some("pty-order-1"))
        .await;
    console.wait_for("pty-order-1", WAIT).await;
    let first = receiver.wait_for(1, WAIT).await;
    assert_eq!(first[0].verification, Some(Ok(())));

    // Open it: the delivery with its attempt; redeliver it.
    console.press(ENTER);
    console.wait_for("delivery of pty-order-1", WAIT).await;
    let mut screen = console.screen();
    while !screen.contains("attempt 1") {
        console.press("u");
        screen = console.wait_for("delivery of pty-order-1", WAIT).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        screen.contains("\"order\": 1"),
        "pretty event data:\n{screen}"
    );
    console.press("x");
    console.wait_for("queued as attempt 2", WAIT).await;
    let both = receiver.wait_for(2, WAIT).await;
    assert_eq!(
        both[1].header("webhook-id"),
        Some("pty-order-1"),
        "the same delivery again"
    );

    // Open its endpoint and rotate the secret, confirming first.
    console.press("o");
    console.wait_for(&format!("endpoint {id}"), WAIT).await;
    console.press("R");
    console.wait_for("Rotate the secret of", WAIT).await;
    console.press("y");
    let screen = console.wait_for("new secret of", WAIT).await;
    let second_secret = secret_on(&screen);
    console.press(ESC);
    closed(&console, "new secret of").await;
    // The backend signs with the new secret: a receiver that knows only it verifies.
    receiver.set_secrets(vec![second_secret]);
    stack
        .publish("orders.paid", &json!({"order": 2}), Some("pty-order-2"))
        .await;
    let all = receiver.wait_for(3, WAIT).await;
    assert_eq!(all[2].header("webhook-id"), Some("pty-order-2"));
    assert_eq!(all[2].verification, Some(Ok(())));

    console.press("q");
    assert_eq!(console.wait_exit(WAIT).await, 0);
    assert!(console.restored(WAIT).await, "the terminal is restored");
}

#[tokio::test]
async fn a_read_only_console_shows_but_does_not_change() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap();
    let mut console = Console::start(&stack.server.url(), &["console", "--readonly"], 80, 24);
    console.wait_for(id, WAIT).await;
    console.press("p");
    console
        .wait_for("read-only: changes are disabled", WAIT)
        .await;
    console.press("?");
    let help = console.wait_for("keys (esc to close)", WAIT).await;
    assert!(!help.contains("pause endpoint"), "{help}");
    console.press(ESC);
    closed(&console, "keys (esc to close)").await;
    assert_eq!(stack.get_endpoint(id).await["status"]["state"], "active");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT).await, 0);
}

#[tokio::test]
async fn the_console_connects_quietly_follows_changes_and_uses_wide_terminals() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let mut console = Console::start(&stack.server.url(), &[], 80, 24);
    // Until the first connection is made the header says connecting, never disconnected.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let screen = console.screen();
        assert!(!screen.contains("disconnected"), "{screen}");
        if screen.contains("connected") && screen.contains("no endpoints") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{screen}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // An endpoint made elsewhere appears and turns active without a key (the list reloads
    // every 5 s).
    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"url": receiver.url_for("/hook"), "event_types": ["orders.>"]}),
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    stack.wait_for_state(&id, "active").await;
    console
        .wait_until("the new endpoint, active", WAIT, |s| {
            s.lines().any(|l| l.contains(&id) && l.contains("active"))
        })
        .await;
    let narrow = console.screen();
    assert!(
        !narrow.contains("TYPES"),
        "80 columns leave the types out:\n{narrow}"
    );
    // `t` then enter sends the proposed ping at once (`orders.>` names no concrete type).
    console.press("t");
    console.wait_for("send a test event", WAIT).await;
    console.press(ENTER);
    console.wait_for(&format!("test to {id}: 200"), WAIT).await;
    console.press("q");
    assert_eq!(console.wait_exit(WAIT).await, 0);

    // A wide terminal shows the types, and the live tail the whole endpoint id.
    let mut wide = Console::start(&stack.server.url(), &[], 160, 40);
    wide.wait_for("TYPES", WAIT).await;
    wide.press("3");
    wide.wait_for("waiting for attempts", WAIT).await;
    stack
        .publish("orders.paid", &json!({"order": 3}), Some("pty-wide-1"))
        .await;
    let screen = wide.wait_for("pty-wide-1", WAIT).await;
    assert!(
        screen.contains(&id),
        "the whole id at 160 columns:\n{screen}"
    );
    wide.press("q");
    assert_eq!(wide.wait_exit(WAIT).await, 0);
}
