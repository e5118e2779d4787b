//! A minimal graphql-transport-ws client: enough to subscribe and read what arrives.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Subscription {
    socket: Socket,
}

/// Opens `/graphql/ws` and sends `connection_init` with `payload`. `Err` carries the close
/// reason when the server refuses the connection.
pub async fn connect(base_url: &str, payload: Value) -> Result<Subscription, String> {
    let url = format!("{}/graphql/ws", base_url.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": payload}).to_string(),
        ))
        .await
        .unwrap();
    let mut subscription = Subscription { socket };
    match subscription.next_message().await {
        Some(message) if message["type"] == "connection_ack" => Ok(subscription),
        other => Err(format!("connection refused: {other:?}")),
    }
}

/// The `extensions.code` of the first error in a message: an `error` message (refused at
/// subscribe) or a `next` message carrying errors (refused by the resolver).
pub fn error_code(message: &Value) -> Option<&str> {
    let errors = match message["type"].as_str() {
        Some("error") => &message["payload"],
        _ => &message["payload"]["errors"],
    };
    errors[0]["extensions"]["code"].as_str()
}

impl Subscription {
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.socket
            .send(Message::text(
                json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}).to_string(),
            ))
            .await
            .unwrap();
    }

    /// Ends the subscription `id` (the client's `complete`).
    pub async fn unsubscribe(&mut self, id: &str) {
        self.socket
            .send(Message::text(
                json!({"id": id, "type": "complete"}).to_string(),
            ))
            .await
            .unwrap();
    }

    /// The next protocol message (pings answered), or `None` once the server closed.
    pub async fn next_message(&mut self) -> Option<Value> {
        let message = self.next_message_within(Duration::from_secs(15)).await;
        assert!(message.is_some(), "no message from the server within 15 s");
        message.flatten()
    }

    /// Like `next_message`, but `None` when nothing arrives within `wait`.
    pub async fn next_message_within(&mut self, wait: Duration) -> Option<Option<Value>> {
        tokio::time::timeout(wait, self.read()).await.ok()
    }

    async fn read(&mut self) -> Option<Value> {
        loop {
            let frame = self.socket.next().await?;
            match frame.ok()? {
                Message::Text(text) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if message["type"] == "ping" {
                        self.socket
                            .send(Message::text(json!({"type": "pong"}).to_string()))
                            .await
                            .unwrap();
                        continue;
                    }
                    return Some(message);
                }
                Message::Close(frame) => {
                    return Some(
                        json!({"type": "closed", "reason": frame.map(|f| f.reason.to_string())}),
                    );
                }
                _ => continue,
            }
        }
    }
}
