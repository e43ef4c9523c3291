//! `-32042` URL elicitation required (2025-11-25): a request the server will only process once
//! the user has completed one or more URL-mode elicitations (a sign-in, a consent page, …).
//!
//! The error is [`Error::UrlElicitationRequired`], carrying each elicitation's `url`,
//! `elicitationId` and `message`. When the client declares URL-mode elicitation (a
//! [`ClientHandler::elicit_url`](crate::handler::ClientHandler::elicit_url) handler, e.g.
//! [`ClientBuilder::on_url_elicitation`](crate::ClientBuilder::on_url_elicitation)), the client
//! puts every elicitation to the handler (through the same path as a server's
//! `elicitation/create`). If the user accepts them all, the client waits for the server's
//! `notifications/elicitation/complete` of each (the spec's MAY: the notification is optional,
//! so the wait takes at most half of the call's remaining time) and then retries the original
//! request **once**, with a new id. A declined or cancelled elicitation, a handler error, or a
//! second `-32042` ends the call with the typed error. Without a handler the typed error is
//! returned as it is.
//!
//! Completion notifications are remembered (the last [`REMEMBERED`]), so one that arrives while
//! the handler still runs is not missed; notifications about unknown ids are otherwise ignored,
//! as the spec requires.

use std::collections::VecDeque;
use std::sync::Mutex;

use conduit_protocol::mcp::{
    methods, ElicitAction, ElicitRequestParams, ElicitResult, UrlElicitationRequiredData,
};
use serde_json::Value;
use tokio::time::Instant;

use crate::{Client, Error};

/// How many completed elicitation ids the client remembers.
pub const REMEMBERED: usize = 64;

/// Elicitation ids the server reported complete (`notifications/elicitation/complete`).
#[derive(Debug)]
pub(crate) struct Completions {
    done: Mutex<VecDeque<String>>,
    changed: tokio::sync::watch::Sender<u64>,
}

impl Default for Completions {
    fn default() -> Self {
        Completions {
            done: Mutex::new(VecDeque::new()),
            changed: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Completions {
    /// Records a completion.
    pub(crate) fn complete(&self, id: &str) {
        if let Ok(mut done) = self.done.lock() {
            if !done.iter().any(|d| d == id) {
                if done.len() == REMEMBERED {
                    done.pop_front();
                }
                done.push_back(id.to_owned());
            }
        }
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn all_done(&self, ids: &[String]) -> bool {
        self.done
            .lock()
            .is_ok_and(|done| ids.iter().all(|id| done.contains(id)))
    }

    /// Waits until every id is complete, or `until`; whether they all completed.
    async fn wait_for(&self, ids: &[String], until: Instant) -> bool {
        let mut changed = self.changed.subscribe();
        loop {
            if self.all_done(ids) {
                return true;
            }
            match tokio::time::timeout_at(until, changed.changed()).await {
                Ok(Ok(())) => {}
                _ => return self.all_done(ids),
            }
        }
    }
}

/// Turns a `-32042` [`Error::Rpc`] into [`Error::UrlElicitationRequired`]; unreadable data
/// leaves the error as it is.
pub(crate) fn typed(e: Error) -> Error {
    let Error::Rpc {
        method,
        code,
        message,
        data,
    } = e
    else {
        return e;
    };
    let parsed = data
        .as_deref()
        .and_then(|d| serde_json::from_value::<UrlElicitationRequiredData>(d.clone()).ok());
    match parsed {
        Some(d) => Error::UrlElicitationRequired {
            method,
            message,
            elicitations: d
                .elicitations
                .into_iter()
                .filter_map(|e| match e {
                    ElicitRequestParams::Url(u) => Some(u),
                    _ => None,
                })
                .collect(),
        },
        None => Error::Rpc {
            method,
            code,
            message,
            data,
        },
    }
}

/// Whether the client can put the elicitations of `e` to a handler.
pub(crate) fn answerable(client: &Client, e: &Error) -> bool {
    let declared = client
        .settings()
        .client_capabilities
        .elicitation
        .as_ref()
        .is_some_and(|el| el.supports_url());
    matches!(e, Error::UrlElicitationRequired { elicitations, .. } if declared && !elicitations.is_empty())
}

/// Puts each elicitation to the handler and waits (boundedly) for their completion. `Ok` means
/// the original request may be retried; otherwise the typed error is returned.
pub(crate) async fn answer(client: &Client, e: Error, deadline: Instant) -> Result<(), Error> {
    let Error::UrlElicitationRequired { elicitations, .. } = &e else {
        return Err(e);
    };
    let settings = client.settings();
    let mut ids = Vec::new();
    for elicitation in elicitations {
        let params = serde_json::to_value(ElicitRequestParams::Url(elicitation.clone()))
            .map_err(|err| Error::protocol("elicitation/create", err.to_string()))?;
        let answer = crate::handler::fulfil(
            settings.handler.as_ref(),
            &settings.client_capabilities,
            methods::ELICITATION_CREATE,
            Some(params),
        )
        .await;
        let accepted = answer
            .ok()
            .and_then(|v: Value| serde_json::from_value::<ElicitResult>(v).ok())
            .is_some_and(|r| r.action == ElicitAction::Accept);
        if !accepted {
            return Err(e);
        }
        if let Some(id) = &elicitation.elicitation_id {
            ids.push(id.clone());
        }
    }
    let now = Instant::now();
    let half = deadline.saturating_duration_since(now) / 2;
    if !client
        .inner()
        .url_elicitations
        .wait_for(&ids, now + half)
        .await
    {
        tracing::debug!(
            ?ids,
            "no notifications/elicitation/complete for every elicitation; retrying anyway"
        );
    }
    Ok(())
}
