//! The per-client cost ledger and the optional budget.
//!
//! Every `tools/call` whose result carries a receipt updates the ledger: credits spent
//! (`net_credits`), saved (`savings`) and bonus (`savings_bonus`), per tool and overall. With a
//! budget set, every tool call is first estimated (`estimate_only: true`) and refused with
//! [`Error::BudgetExceeded`] when the estimate exceeds what remains — before the call is sent.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use super::receipt::{extract_meta, ToolMeta};
use super::tools;
use crate::types::CallToolResult;
use crate::{Client, Error};

/// Running totals for one tool, or for the whole client.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CostTotals {
    /// Calls whose result carried a receipt.
    pub calls: u64,
    /// Credits charged (sum of `net_credits`).
    pub credits_spent: f64,
    /// Credits saved (sum of `savings`).
    pub credits_saved: f64,
    /// Bonus credits (sum of `savings_bonus`).
    pub savings_bonus: f64,
    /// Credits estimated before the calls (sum of `estimated_credits`).
    pub credits_estimated: f64,
}

impl CostTotals {
    fn add(&mut self, meta: &ToolMeta) {
        if let Some(r) = &meta.receipt {
            self.calls += 1;
            self.credits_spent += r.net_credits;
            self.credits_saved += r.savings;
            self.savings_bonus += r.savings_bonus;
            self.credits_estimated += r.estimated_credits;
        }
    }
}

/// A snapshot of the ledger: totals overall and per tool (by the tool that did the work: for
/// `perform`, the performed tool).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LedgerSnapshot {
    /// Totals over every tool.
    pub total: CostTotals,
    /// Totals per tool name.
    pub per_tool: BTreeMap<String, CostTotals>,
}

/// The state of the budget.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BudgetStatus {
    /// The budget, in credits.
    pub limit: f64,
    /// Credits charged since the budget was set.
    pub spent: f64,
    /// Credits held by calls in flight (their estimates).
    pub reserved: f64,
    /// What remains: `limit - spent - reserved`.
    pub remaining: f64,
}

#[derive(Default)]
struct State {
    ledger: LedgerSnapshot,
    budget: Option<(f64, f64, f64)>, // (limit, spent, reserved)
}

/// The ledger and budget of one client (shared by its clones).
#[derive(Default)]
pub(crate) struct CostState {
    state: Mutex<State>,
    /// Whether the one-time "not a DataGrout URL" warning was logged.
    pub(crate) warned: AtomicBool,
}

impl CostState {
    pub(crate) fn new(budget: Option<f64>) -> Self {
        CostState {
            state: Mutex::new(State {
                ledger: LedgerSnapshot::default(),
                budget: budget.map(|b| (b, 0.0, 0.0)),
            }),
            warned: AtomicBool::new(false),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// The tool a call is accounted to: the performed tool for `perform`, else the called tool.
/// Borrowed when it is the called tool: it is copied only when a receipt is recorded.
pub(crate) fn ledger_key<'a>(name: &'a str, arguments: &Value) -> Cow<'a, str> {
    if name == tools::PERFORM {
        if let Some(inner) = arguments.get("tool").and_then(Value::as_str) {
            return Cow::Owned(inner.to_owned());
        }
    }
    Cow::Borrowed(name)
}

/// A budget reservation; released (and replaced by the actual charge) when settled or dropped.
pub(crate) struct Reservation<'a> {
    costs: &'a CostState,
    amount: f64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let amount = self.amount;
        self.costs.with(|s| {
            if let Some((_, _, reserved)) = &mut s.budget {
                *reserved = (*reserved - amount).max(0.0);
            }
        });
    }
}

/// Before a tool call: with a budget, estimates the call and reserves its estimate, or refuses
/// it. Without a budget, does nothing.
pub(crate) async fn before_call<'a>(
    client: &'a Client,
    name: &str,
    arguments: &Value,
) -> Result<Option<Reservation<'a>>, Error> {
    let costs = client.costs();
    if costs.with(|s| s.budget.is_none()) {
        return Ok(None);
    }
    let estimate = super::estimate(client, name, arguments.clone()).await?;
    let Some(estimated) = estimate.estimated_credits else {
        return Err(Error::EstimateUnavailable {
            tool: name.to_owned(),
        });
    };
    costs.with(|s| {
        let Some((limit, spent, reserved)) = &mut s.budget else {
            return Ok(None);
        };
        let remaining = *limit - *spent - *reserved;
        if estimated > remaining {
            return Err(Error::BudgetExceeded {
                tool: name.to_owned(),
                estimated,
                remaining,
            });
        }
        *reserved += estimated;
        Ok(Some(Reservation {
            costs,
            amount: estimated,
        }))
    })
}

/// After a tool call: records its receipt, if any.
pub(crate) fn after_call(client: &Client, key: Cow<'_, str>, result: &CallToolResult) {
    let Some(meta) = extract_meta(result) else {
        return;
    };
    let Some(receipt) = &meta.receipt else {
        return;
    };
    let charged = receipt.net_credits;
    client.costs().with(|s| {
        s.ledger.total.add(&meta);
        s.ledger
            .per_tool
            .entry(key.into_owned())
            .or_default()
            .add(&meta);
        if let Some((_, spent, _)) = &mut s.budget {
            *spent += charged;
        }
    });
}

impl Client {
    /// The running cost totals of this client (and its clones), from the receipts of every
    /// tool call so far.
    pub fn ledger(&self) -> LedgerSnapshot {
        self.costs().with(|s| s.ledger.clone())
    }

    /// Empties the ledger. The budget is not affected.
    pub fn reset_ledger(&self) {
        self.costs().with(|s| s.ledger = LedgerSnapshot::default());
    }

    /// The budget's state, when one is set.
    pub fn budget(&self) -> Option<BudgetStatus> {
        self.costs().with(|s| {
            s.budget.map(|(limit, spent, reserved)| BudgetStatus {
                limit,
                spent,
                reserved,
                remaining: limit - spent - reserved,
            })
        })
    }

    /// Sets (or, with `None`, removes) the budget, starting its spending from zero.
    pub fn set_budget(&self, credits: Option<f64>) -> Result<(), Error> {
        if let Some(c) = credits {
            check_budget(c)?;
        }
        self.costs()
            .with(|s| s.budget = credits.map(|b| (b, 0.0, 0.0)));
        Ok(())
    }
}

/// A budget must be a finite, non-negative number of credits.
pub(crate) fn check_budget(credits: f64) -> Result<(), Error> {
    if credits.is_finite() && credits >= 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "the budget must be a finite, non-negative number of credits (got {credits})"
        )))
    }
}
