//! `conduit subscribe <topic>…`: streams topic events, one per line, until Ctrl-C (or until
//! `--count` events arrived). Reconnections are survived: a marker line says where events may
//! be missing.

use conduit::{Client, TopicEvent};
use serde_json::json;
use tokio::sync::mpsc;

use crate::Failure;

/// Runs the command on a connected client (which must use a transport with topics).
pub(crate) async fn run(
    client: &Client,
    topics: &[String],
    count: Option<u64>,
    json_lines: bool,
) -> Result<(), Failure> {
    if topics.is_empty() {
        return Err(Failure::usage("name at least one topic"));
    }
    let (tx, mut rx) = mpsc::channel::<(String, TopicEvent)>(256);
    let mut forwarders = Vec::new();
    for topic in topics {
        let mut sub = client.subscribe(topic).await?;
        let tx = tx.clone();
        let topic = topic.clone();
        forwarders.push(tokio::spawn(async move {
            while let Some(event) = sub.recv().await {
                if tx.send((topic.clone(), event)).await.is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);
    if !json_lines {
        eprintln!("subscribed to {}; press Ctrl-C to stop", topics.join(", "));
    }
    let mut seen = 0u64;
    let result = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break Ok(()),
            item = rx.recv() => match item {
                None => break Err(Failure {
                    message: "the connection closed".into(),
                    code: 1,
                }),
                Some((topic, event)) => {
                    let is_event = matches!(event, TopicEvent::Event { .. });
                    print_event(&topic, event, json_lines);
                    if is_event {
                        seen += 1;
                        if count.is_some_and(|c| seen >= c) {
                            break Ok(());
                        }
                    }
                }
            },
        }
    };
    for f in forwarders {
        f.abort();
    }
    result
}

fn print_event(topic: &str, event: TopicEvent, json_lines: bool) {
    use std::io::Write;
    let line = match (event, json_lines) {
        (TopicEvent::Event { event, data }, true) => {
            json!({"topic": topic, "event": event, "data": data}).to_string()
        }
        (TopicEvent::Event { event, data }, false) => format!("{topic} {event} {data}"),
        (TopicEvent::Reconnected { attempt }, true) => {
            json!({"topic": topic, "reconnected": true, "attempt": attempt}).to_string()
        }
        (TopicEvent::Reconnected { attempt }, false) => {
            format!("{topic} -- reconnected (#{attempt}); events may be missing")
        }
        (TopicEvent::Lagged { dropped }, true) => {
            json!({"topic": topic, "dropped": dropped}).to_string()
        }
        (TopicEvent::Lagged { dropped }, false) => {
            format!("{topic} -- {dropped} event(s) dropped: the consumer was too slow")
        }
        (other, true) => json!({"topic": topic, "other": format!("{other:?}")}).to_string(),
        (other, false) => format!("{topic} -- {other:?}"),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
