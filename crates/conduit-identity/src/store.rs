//! Saving identities: a private directory, atomic writes, a key file that is 0600 from birth.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::IdentityError;
use crate::identity::{CA_FILE, CERT_FILE, KEY_FILE};
use crate::ConduitIdentity;

/// The paths [`save_identity`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedPaths {
    /// The directory.
    pub dir: PathBuf,
    /// `identity.pem`.
    pub cert: PathBuf,
    /// `identity_key.pem`.
    pub key: PathBuf,
    /// `ca.pem`, when the identity has a CA bundle.
    pub ca: Option<PathBuf>,
}

/// Saves `identity` to `dir` in the reference layout (`identity.pem`, `identity_key.pem`,
/// `ca.pem` when a CA bundle is present), so either SDK can load it.
///
/// Unlike the reference SDK, nothing is ever half-written or briefly public:
///
/// * the directory is created with mode 0700 (and an existing one is set to 0700);
/// * each file is written to a temporary file in the same directory — the key's created with
///   mode 0600, certificates 0644 — flushed to disk, then renamed over the target, so readers
///   see the old file or the new one, never a mix.
///
/// The key is written before the certificate. On non-Unix systems modes are not set.
pub fn save_identity(identity: &ConduitIdentity, dir: &Path) -> Result<SavedPaths, IdentityError> {
    create_private_dir(dir)?;
    let key = dir.join(KEY_FILE);
    let cert = dir.join(CERT_FILE);
    write_atomic(&key, identity.key_pem().as_bytes(), 0o600)?;
    write_atomic(&cert, identity.cert_pem().as_bytes(), 0o644)?;
    let ca = match identity.ca_pem() {
        Some(pem) => {
            let path = dir.join(CA_FILE);
            write_atomic(&path, pem.as_bytes(), 0o644)?;
            Some(path)
        }
        None => None,
    };
    tracing::info!(target: "conduit_identity", dir = %dir.display(), fingerprint = %identity.fingerprint(), "identity saved");
    Ok(SavedPaths {
        dir: dir.to_owned(),
        cert,
        key,
        ca,
    })
}

/// Creates `dir` (and parents) and makes it private to the user (0700 on Unix).
pub fn create_private_dir(dir: &Path) -> Result<(), IdentityError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| IdentityError::io("cannot create directory", dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| IdentityError::io("cannot set permissions of", dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary sibling created with `mode`, synced, renamed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), IdentityError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options
            .open(&tmp)
            .map_err(|e| IdentityError::io("cannot create", &tmp, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| IdentityError::io("cannot write", &tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| IdentityError::io("cannot replace", path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
