//! Persisted grants: the reference SDK's Grant JSON, byte-compatible, in files written 0600
//! atomically and safely under concurrent processes.
//!
//! # The Grant JSON (cross-SDK contract)
//!
//! `{"access_token", "client_id", "token_endpoint", "refresh_token"?, "expires_at"?, "scope"?,
//! "resource"?}` — required fields first, then the optional ones, each **omitted** (never
//! `null`) when absent; `expires_at` is whole Unix seconds. A grant written by the Python SDK
//! loads here and the other way round.
//!
//! # Concurrency
//!
//! [`FileGrantStore`] serialises writers across processes with a lock file created with
//! `O_CREAT|O_EXCL` next to the grant (`<name>.json.lock`); a lock older than
//! [`STALE_LOCK_AFTER`] is considered abandoned by a crashed process and broken. Under the lock
//! a writer reads the current grant, applies its change ([`GrantStore::update`]), writes a
//! temporary file (mode 0600) in the same directory, syncs it and renames it over the grant,
//! so readers — which take no lock — always see either the old or the new complete file.
//! Waiting for the lock is bounded by [`LOCK_TIMEOUT`].

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::jwt::{random_id, unix_now};
use crate::token::{AccessToken, Secret};

/// A lock file older than this belongs to a crashed process and is removed.
pub const STALE_LOCK_AFTER: Duration = Duration::from_secs(30);
/// How long a writer waits for the lock before failing with [`StoreError::LockTimeout`].
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// A grant is treated as expired this long before its `expires_at` (as the reference).
pub const EXPIRY_SKEW_SECS: u64 = 60;

/// An OAuth grant: the tokens a flow obtained and what is needed to refresh them, in the
/// reference SDK's Grant JSON. This one type is what the authorization-code flow returns
/// ([`OAuthAuthorizer::login`](crate::oauth::OAuthAuthorizer::login), also reachable as
/// `conduit_auth::oauth::Grant`), what [`GrantStore`]s keep, and what
/// [`OAuthAuthorizer::with_grant`](crate::oauth::OAuthAuthorizer::with_grant) resumes from.
/// `Debug` redacts the tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The access token.
    pub access_token: Secret,
    /// The client the grant was issued to.
    pub client_id: String,
    /// Where to refresh it.
    pub token_endpoint: String,
    /// The refresh token, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Expiry, Unix seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "unix_seconds"
    )]
    pub expires_at: Option<u64>,
    /// Granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The RFC 8707 resource the grant is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

fn unix_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expires_at must be Unix seconds")),
    }
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("access_token", &self.access_token)
            .field("client_id", &self.client_id)
            .field("token_endpoint", &self.token_endpoint)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .finish()
    }
}

impl Grant {
    /// A grant from a token response, `expires_at` = now + `expires_in`.
    pub fn from_token(
        token: &AccessToken,
        client_id: impl Into<String>,
        token_endpoint: impl Into<String>,
    ) -> Self {
        Grant {
            access_token: token.token.clone(),
            client_id: client_id.into(),
            token_endpoint: token_endpoint.into(),
            refresh_token: token.refresh_token.clone(),
            expires_at: token.expires_in.map(|d| unix_now() + d.as_secs()),
            scope: token.scope.clone(),
            resource: None,
        }
    }

    /// Applies a refresh response: new access token and expiry; the refresh token and scope
    /// are replaced only when the response carries them (rotation), otherwise kept.
    pub fn apply_refresh(&mut self, token: &AccessToken) {
        self.access_token = token.token.clone();
        self.expires_at = token.expires_in.map(|d| unix_now() + d.as_secs());
        if let Some(refresh) = &token.refresh_token {
            self.refresh_token = Some(refresh.clone());
        }
        if let Some(scope) = &token.scope {
            self.scope = Some(scope.clone());
        }
    }

    /// `true` when the token expires within `margin_secs` (never for a grant without expiry).
    pub fn expires_within(&self, margin_secs: u64) -> bool {
        self.expires_at
            .is_some_and(|at| unix_now().saturating_add(margin_secs) >= at)
    }

    /// Expired as the reference sees it: now + 60 ≥ `expires_at`; no `expires_at` never expires.
    pub fn is_expired(&self) -> bool {
        self.expires_at
            .is_some_and(|at| unix_now() + EXPIRY_SKEW_SECS >= at)
    }

    /// The JSON text (compact), exactly the reference's shape.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON text.
    pub fn from_json(text: &str) -> Result<Self, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            path: PathBuf::new(),
            reason: e.to_string(),
        })
    }
}

/// Why a store operation failed. Never contains a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("grant store I/O on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a grant.
    #[error("{path} is not a valid grant file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another process held the lock for longer than [`LOCK_TIMEOUT`].
    #[error("timed out waiting for the lock on {path}")]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
    },
    /// No home directory to put the default store in.
    #[error("no home directory for the default grant store; set CONDUIT_HOME")]
    NoHome,
}

/// Where grants are kept. `key` names a grant, typically the server URL. Implement it to keep
/// grants in a keychain or a database; [`FileGrantStore`] keeps them in files.
pub trait GrantStore: Send + Sync + fmt::Debug {
    /// The grant for `key`, if one is stored.
    fn load(&self, key: &str) -> Result<Option<Grant>, StoreError>;
    /// Atomically replaces the grant for `key` with what `change` makes of the current one
    /// (`None` removes it); returns the new value.
    fn update(
        &self,
        key: &str,
        change: &mut dyn FnMut(Option<Grant>) -> Option<Grant>,
    ) -> Result<Option<Grant>, StoreError>;
    /// Stores `grant` for `key`.
    fn save(&self, key: &str, grant: &Grant) -> Result<(), StoreError> {
        self.update(key, &mut |_| Some(grant.clone())).map(|_| ())
    }
    /// Removes the grant for `key`; `true` when there was one.
    fn remove(&self, key: &str) -> Result<bool, StoreError> {
        let mut existed = false;
        self.update(key, &mut |old| {
            existed = old.is_some();
            None
        })?;
        Ok(existed)
    }
    /// The keys with a stored grant.
    fn keys(&self) -> Result<Vec<String>, StoreError>;
}

/// Grants in a directory, one `<name>.json` file per key (mode 0600, directory 0700).
#[derive(Debug, Clone)]
pub struct FileGrantStore {
    dir: PathBuf,
}

impl FileGrantStore {
    /// A store in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileGrantStore { dir: dir.into() }
    }

    /// The default store: `$CONDUIT_HOME/grants`, else `~/.conduit/grants`.
    pub fn default_location() -> Result<Self, StoreError> {
        if let Some(home) = std::env::var_os("CONDUIT_HOME").filter(|h| !h.is_empty()) {
            return Ok(Self::new(PathBuf::from(home).join("grants")));
        }
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .filter(|h| !h.is_empty())
            .ok_or(StoreError::NoHome)?;
        Ok(Self::new(
            PathBuf::from(home).join(".conduit").join("grants"),
        ))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the grant for `key`: a readable slug of the key plus a short hash,
    /// so distinct keys never share a file.
    pub fn path_for(&self, key: &str) -> PathBuf {
        use sha2::Digest as _;
        let slug: String = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        let hash = sha2::Sha256::digest(key.as_bytes());
        let hex: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{slug}-{hex}.json"))
    }

    fn key_path(&self, path: &Path) -> PathBuf {
        path.with_extension("key")
    }
}

impl GrantStore for FileGrantStore {
    fn load(&self, key: &str) -> Result<Option<Grant>, StoreError> {
        read_grant_file(&self.path_for(key))
    }

    fn update(
        &self,
        key: &str,
        change: &mut dyn FnMut(Option<Grant>) -> Option<Grant>,
    ) -> Result<Option<Grant>, StoreError> {
        let path = self.path_for(key);
        ensure_private_dir(&self.dir)?;
        let _lock = FileLock::acquire(&path)?;
        let current = read_grant_file(&path)?;
        let next = change(current);
        match &next {
            Some(grant) => {
                write_atomic(&path, grant.to_json().as_bytes())?;
                write_atomic(&self.key_path(&path), key.as_bytes())?;
            }
            None => {
                for p in [path.clone(), self.key_path(&path)] {
                    match fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(source) => return Err(StoreError::Io { path: p, source }),
                    }
                }
            }
        }
        Ok(next)
    }

    fn keys(&self) -> Result<Vec<String>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StoreError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "key") && path.with_extension("json").exists()
            {
                if let Ok(key) = fs::read_to_string(&path) {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}

/// Reads a grant file (`None` when it does not exist).
pub fn read_grant_file(path: &Path) -> Result<Option<Grant>, StoreError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Writes a grant file atomically with mode 0600 (no lock; see [`FileGrantStore`] for that).
pub fn write_grant_file(path: &Path, grant: &Grant) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        ensure_private_dir(dir)?;
    }
    write_atomic(path, grant.to_json().as_bytes())
}

fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: dir.to_owned(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io)
}

/// Temp file (0600 from creation) + fsync + rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        random_id()
    ));
    let io = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// An exclusive lock file, removed on drop.
struct FileLock {
    path: PathBuf,
}

impl FileLock {
    fn acquire(target: &Path) -> Result<Self, StoreError> {
        let mut name = target.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            match options.open(&path) {
                Ok(mut file) => {
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(FileLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| SystemTime::now().duration_since(m).ok())
                        .is_some_and(|age| age > STALE_LOCK_AFTER);
                    if stale {
                        tracing::warn!(lock = %path.display(), "breaking a stale grant-store lock");
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > LOCK_TIMEOUT {
                        return Err(StoreError::LockTimeout { path });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(source) => return Err(StoreError::Io { path, source }),
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Refreshes `grant` at its token endpoint (`grant_type=refresh_token, refresh_token,
/// client_id, resource?`, as the reference) and returns the updated grant: a response without
/// `refresh_token` or `scope` keeps the old values.
pub async fn refresh_grant(
    http: &conduit_http::HttpClient,
    grant: &Grant,
) -> Result<Grant, crate::token::TokenError> {
    use crate::token::{
        parse_token_response, post_form, TokenError, DEFAULT_TOKEN_REQUEST_TIMEOUT,
    };
    let refresh = grant
        .refresh_token
        .as_ref()
        .ok_or_else(|| TokenError::Config {
            reason: "the grant has no refresh token (not refreshable)".into(),
        })?;
    let url = url::Url::parse(&grant.token_endpoint).map_err(|e| TokenError::Config {
        reason: format!("invalid token endpoint in the grant: {e}"),
    })?;
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.expose()),
        ("client_id", grant.client_id.as_str()),
    ];
    if let Some(resource) = &grant.resource {
        form.push(("resource", resource));
    }
    let reply = post_form(http, &url, &form, None, &[], DEFAULT_TOKEN_REQUEST_TIMEOUT).await?;
    let token = parse_token_response(&url, &reply)?;
    let mut updated = grant.clone();
    updated.apply_refresh(&token);
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_matches_the_reference_shape() {
        let g = Grant {
            access_token: Secret::new("at"),
            client_id: "c".into(),
            token_endpoint: "https://h/t".into(),
            refresh_token: None,
            expires_at: Some(1_700_000_000),
            scope: None,
            resource: None,
        };
        assert_eq!(
            g.to_json(),
            r#"{"access_token":"at","client_id":"c","token_endpoint":"https://h/t","expires_at":1700000000}"#
        );
        let py = r#"{"access_token": "at", "refresh_token": "rt", "expires_at": 1700000000.0, "token_endpoint": "https://h/t", "client_id": "c", "scope": "mcp tools", "resource": "https://h/mcp"}"#;
        let g = Grant::from_json(py).unwrap();
        assert_eq!(g.expires_at, Some(1_700_000_000));
        assert_eq!(g.refresh_token.as_ref().map(Secret::expose), Some("rt"));
        assert!(g.is_expired());
        assert!(!format!("{g:?}").contains("\"at\"") && !format!("{g:?}").contains("rt\""));
    }

    #[test]
    fn refresh_keeps_old_refresh_token() {
        let mut g = Grant::from_json(r#"{"access_token":"a","client_id":"c","token_endpoint":"t","refresh_token":"r1","scope":"s"}"#).unwrap();
        g.apply_refresh(&AccessToken {
            token: Secret::new("a2"),
            token_type: "Bearer".into(),
            expires_in: Some(Duration::from_secs(100)),
            scope: None,
            refresh_token: None,
        });
        assert_eq!(g.access_token.expose(), "a2");
        assert_eq!(g.refresh_token.as_ref().map(Secret::expose), Some("r1"));
        assert_eq!(g.scope.as_deref(), Some("s"));
        assert!(!g.is_expired());
    }
}
