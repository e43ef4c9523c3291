//! MCP protocol revisions and the two eras they fall into.
//!
//! Revisions are dated strings (`YYYY-MM-DD`). Up to and including `2025-11-25` a connection
//! starts with `initialize` and the negotiated version holds for the whole session
//! ([`Era::Stateful`]). From `2026-07-28` there is no handshake: every request names its version
//! in `_meta` and servers advertise theirs through `server/discover` ([`Era::Stateless`]).
//!
//! [`ProtocolVersion`] is an open newtype: any string round-trips, known or not.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The first public revision (stateful, HTTP+SSE transport).
pub const V2024_11_05: &str = "2024-11-05";
/// Streamable HTTP, audio content, tool annotations (stateful).
pub const V2025_03_26: &str = "2025-03-26";
/// Elicitation, structured tool output, resource links; batching removed (stateful).
pub const V2025_06_18: &str = "2025-06-18";
/// Tasks, URL elicitation, icons, sampling with tools (the last stateful revision).
pub const V2025_11_25: &str = "2025-11-25";
/// The first stateless revision: `server/discover`, per-request `_meta`, multi round-trip results.
pub const V2026_07_28: &str = "2026-07-28";

/// The newest revision that uses the `initialize` handshake.
pub const LATEST_STATEFUL: ProtocolVersion = ProtocolVersion::V2025_11_25;
/// The newest revision this crate models.
pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;

/// The revisions a client offers and accepts in `initialize`, newest first.
pub const STATEFUL_VERSIONS: &[&str] = &[V2025_11_25, V2025_06_18, V2025_03_26, V2024_11_05];

/// The stateless revisions this crate models, newest first.
pub const STATELESS_VERSIONS: &[&str] = &[V2026_07_28];

/// Every revision this crate models, newest first.
pub const ALL_VERSIONS: &[&str] = &[
    V2026_07_28,
    V2025_11_25,
    V2025_06_18,
    V2025_03_26,
    V2024_11_05,
];

/// How a revision manages connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Era {
    /// `initialize` / `notifications/initialized`, then a session (2024-11-05 … 2025-11-25).
    Stateful,
    /// No handshake; version and capabilities travel in each request's `_meta` (2026-07-28 on).
    Stateless,
}

/// The era of a revision string.
///
/// Any well-formed date before `2026-07-28` is [`Era::Stateful`]; `2026-07-28` and any later date
/// is [`Era::Stateless`] (the stateless design is where the protocol is headed). A string that is
/// not a `YYYY-MM-DD` date (e.g. `"draft"`) has no era: `None`.
pub fn era(version: &str) -> Option<Era> {
    if !is_dated(version) {
        return None;
    }
    // Dates of this shape compare correctly as strings.
    if version < V2026_07_28 {
        Some(Era::Stateful)
    } else {
        Some(Era::Stateless)
    }
}

fn is_dated(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// A protocol revision string, known or not.
///
/// Equality, ordering and hashing are those of the string; for dated revisions the ordering is
/// chronological. Constants for the known revisions borrow a `'static` string, so they are free.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion(Cow<'static, str>);

impl ProtocolVersion {
    /// `2024-11-05`.
    pub const V2024_11_05: ProtocolVersion = ProtocolVersion(Cow::Borrowed(V2024_11_05));
    /// `2025-03-26`.
    pub const V2025_03_26: ProtocolVersion = ProtocolVersion(Cow::Borrowed(V2025_03_26));
    /// `2025-06-18`.
    pub const V2025_06_18: ProtocolVersion = ProtocolVersion(Cow::Borrowed(V2025_06_18));
    /// `2025-11-25`.
    pub const V2025_11_25: ProtocolVersion = ProtocolVersion(Cow::Borrowed(V2025_11_25));
    /// `2026-07-28`.
    pub const V2026_07_28: ProtocolVersion = ProtocolVersion(Cow::Borrowed(V2026_07_28));

    /// Wraps any revision string.
    pub fn new(version: impl Into<String>) -> Self {
        let v: String = version.into();
        match ALL_VERSIONS.iter().find(|k| **k == v) {
            Some(k) => ProtocolVersion(Cow::Borrowed(k)),
            None => ProtocolVersion(Cow::Owned(v)),
        }
    }

    /// The revision string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The era of this revision (see [`era`]).
    pub fn era(&self) -> Option<Era> {
        era(self.as_str())
    }

    /// Whether this crate models this revision.
    pub fn is_known(&self) -> bool {
        ALL_VERSIONS.contains(&self.as_str())
    }

    /// Whether a client may accept this revision in an `initialize` result.
    pub fn is_accepted_stateful(&self) -> bool {
        STATEFUL_VERSIONS.contains(&self.as_str())
    }
}

impl Default for ProtocolVersion {
    /// [`LATEST_STATEFUL`]: what a client offers in `initialize`.
    fn default() -> Self {
        LATEST_STATEFUL
    }
}

impl fmt::Debug for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtocolVersion({:?})", self.as_str())
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for ProtocolVersion {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ProtocolVersion {
    fn from(s: &str) -> Self {
        ProtocolVersion::new(s)
    }
}

impl From<String> for ProtocolVersion {
    fn from(s: String) -> Self {
        ProtocolVersion::new(s)
    }
}

impl From<ProtocolVersion> for String {
    fn from(v: ProtocolVersion) -> Self {
        v.0.into_owned()
    }
}

impl PartialEq<str> for ProtocolVersion {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ProtocolVersion {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ProtocolVersion::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras() {
        for v in STATEFUL_VERSIONS {
            assert_eq!(era(v), Some(Era::Stateful), "{v}");
        }
        assert_eq!(era(V2026_07_28), Some(Era::Stateless));
        assert_eq!(era("2027-01-01"), Some(Era::Stateless));
        assert_eq!(era("2024-10-07"), Some(Era::Stateful));
        assert_eq!(era("draft"), None);
        assert_eq!(era("2025-1-01"), None);
        assert_eq!(LATEST.era(), Some(Era::Stateless));
        assert_eq!(LATEST_STATEFUL.era(), Some(Era::Stateful));
    }

    #[test]
    fn unknown_versions_round_trip() {
        let v: ProtocolVersion = serde_json::from_str("\"2030-01-01\"").unwrap();
        assert!(!v.is_known());
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"2030-01-01\"");
        let k = ProtocolVersion::new("2025-06-18");
        assert_eq!(k, ProtocolVersion::V2025_06_18);
        assert!(k.is_accepted_stateful());
        assert!(ProtocolVersion::V2024_11_05 < ProtocolVersion::V2026_07_28);
    }
}
