//! Discovery order, half-present identities, the reference file layout and saving.
//! Every test uses its own `MapEnvironment` and temporary directories, so they run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use conduit_identity::{
    save_identity, ConduitIdentity, IdentityError, IdentitySource, MapEnvironment, ENV_CA,
    ENV_CERT, ENV_DIR, ENV_KEY,
};
use conduit_testkit::TestCa;

fn pem_pair(ca: &TestCa, name: &str) -> (String, String) {
    let now = SystemTime::now();
    ca.issue_client_cert(
        name,
        now - Duration::from_secs(60),
        now + Duration::from_secs(30 * 86_400),
    )
    .unwrap()
}

/// Writes an identity in the reference layout: identity.pem, identity_key.pem, ca.pem.
fn write_dir(dir: &Path, ca: &TestCa, name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let (cert, key) = pem_pair(ca, name);
    std::fs::write(dir.join("identity.pem"), cert).unwrap();
    std::fs::write(dir.join("identity_key.pem"), key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.ca_pem()).unwrap();
}

fn cn(found: &Option<ConduitIdentity>) -> Option<String> {
    found
        .as_ref()
        .and_then(|i| i.common_name().map(str::to_owned))
}

#[test]
fn each_discovery_step_in_order() {
    let ca = TestCa::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    let explicit = root.path().join("explicit");
    let env_dir = root.path().join("envdir");
    let home = root.path().join("home");
    let cwd = root.path().join("work");
    write_dir(&explicit, &ca, "explicit");
    write_dir(&env_dir, &ca, "env-dir");
    write_dir(&home.join(".conduit"), &ca, "home");
    write_dir(&cwd.join(".conduit"), &ca, "cwd");
    let (env_cert, env_key) = pem_pair(&ca, "env-pem");

    let full = MapEnvironment::new()
        .var(ENV_CERT, env_cert.clone())
        .var(ENV_KEY, env_key.clone())
        .var(ENV_CA, ca.ca_pem())
        .var(ENV_DIR, env_dir.display().to_string())
        .home(&home)
        .current_dir(&cwd);

    // 1. explicit identity_dir
    let found = ConduitIdentity::discover(Some(&explicit), &full).unwrap();
    assert_eq!(cn(&found).as_deref(), Some("explicit"));
    assert_eq!(
        found.unwrap().source(),
        &IdentitySource::ExplicitDir(explicit.clone())
    );

    // An explicit directory without an identity is skipped: 2. inline PEM from the environment
    let empty = root.path().join("empty");
    let found = ConduitIdentity::discover(Some(&empty), &full).unwrap();
    assert_eq!(cn(&found).as_deref(), Some("env-pem"));
    let found = found.unwrap();
    assert_eq!(found.source(), &IdentitySource::EnvPem);
    assert_eq!(found.ca_certificates().len(), 1);

    // 3. CONDUIT_IDENTITY_DIR
    let no_pem = MapEnvironment::new()
        .var(ENV_DIR, env_dir.display().to_string())
        .home(&home)
        .current_dir(&cwd);
    let found = ConduitIdentity::discover(None, &no_pem).unwrap();
    assert_eq!(cn(&found).as_deref(), Some("env-dir"));
    assert_eq!(
        found.unwrap().source(),
        &IdentitySource::EnvDir(env_dir.clone())
    );

    // 4. ~/.conduit
    let home_only = MapEnvironment::new().home(&home).current_dir(&cwd);
    let found = ConduitIdentity::discover(None, &home_only).unwrap();
    assert_eq!(cn(&found).as_deref(), Some("home"));
    assert_eq!(
        found.unwrap().source(),
        &IdentitySource::HomeDir(home.join(".conduit"))
    );

    // 5. ./.conduit
    let cwd_only = MapEnvironment::new()
        .home(root.path().join("nohome"))
        .current_dir(&cwd);
    let found = ConduitIdentity::discover(None, &cwd_only).unwrap();
    assert_eq!(cn(&found).as_deref(), Some("cwd"));
    assert_eq!(
        found.unwrap().source(),
        &IdentitySource::WorkingDir(cwd.join(".conduit"))
    );

    // Nothing anywhere.
    assert!(ConduitIdentity::discover(None, &MapEnvironment::new())
        .unwrap()
        .is_none());
}

#[test]
fn half_present_identities_are_errors_naming_the_path() {
    let ca = TestCa::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    let home = root.path();
    let dir = home.join(".conduit");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = pem_pair(&ca, "x");
    std::fs::write(dir.join("identity.pem"), &cert).unwrap();
    let env = MapEnvironment::new().home(home);

    // Certificate without key.
    match ConduitIdentity::discover(None, &env) {
        Err(IdentityError::Incomplete { missing, .. }) => {
            assert_eq!(missing, dir.join("identity_key.pem"))
        }
        other => panic!("{other:?}"),
    }
    // Key without certificate.
    std::fs::remove_file(dir.join("identity.pem")).unwrap();
    std::fs::write(dir.join("identity_key.pem"), &key).unwrap();
    assert!(matches!(
        ConduitIdentity::discover(None, &env),
        Err(IdentityError::Incomplete { .. })
    ));
    // Unreadable: the certificate path is a directory.
    std::fs::create_dir(dir.join("identity.pem")).unwrap();
    let err = ConduitIdentity::discover(None, &env).unwrap_err();
    assert!(err.to_string().contains("identity.pem"), "{err}");
    std::fs::remove_dir(dir.join("identity.pem")).unwrap();
    // Garbage certificate.
    std::fs::write(dir.join("identity.pem"), "hello").unwrap();
    let err = ConduitIdentity::discover(None, &env).unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::InvalidPem {
                what: "certificate",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("identity.pem"), "{err}");
    // Only one of the environment variables.
    let half = MapEnvironment::new().var(ENV_CERT, cert);
    assert!(matches!(
        ConduitIdentity::discover(None, &half),
        Err(IdentityError::Incomplete { .. })
    ));
}

#[test]
fn reference_layout_loads_unchanged() {
    // What the reference SDK writes: identity.pem (certificate), identity_key.pem
    // (unencrypted PKCS#8 "PRIVATE KEY"), ca.pem.
    let ca = TestCa::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), &ca, "py-agent");
    let key = std::fs::read_to_string(dir.path().join("identity_key.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    let identity = ConduitIdentity::from_dir(dir.path()).unwrap();
    assert_eq!(identity.common_name(), Some("py-agent"));
    assert_eq!(identity.ca_pem(), Some(ca.ca_pem().as_str()));
    assert_eq!(identity.fingerprint().len(), 64);
    assert!(identity.days_left() >= 29);
    assert!(identity.not_before() < identity.not_after());
    let from_paths = ConduitIdentity::from_paths(
        dir.path().join("identity.pem"),
        dir.path().join("identity_key.pem"),
        Some(&dir.path().join("ca.pem")),
    )
    .unwrap();
    assert_eq!(from_paths.fingerprint(), identity.fingerprint());
}

#[test]
fn chains_are_accepted_end_entity_first() {
    let ca = TestCa::new().unwrap();
    let (cert, key) = pem_pair(&ca, "chained");
    let chain = format!("{cert}{}", ca.ca_pem());
    let identity = ConduitIdentity::from_pem(&chain, &key, None).unwrap();
    assert_eq!(identity.certificate_chain().len(), 2);
    assert_eq!(identity.common_name(), Some("chained"));
}

#[cfg(unix)]
#[test]
fn save_is_private_and_round_trips() {
    use std::os::unix::fs::PermissionsExt;
    let ca = TestCa::new().unwrap();
    let (cert, key) = pem_pair(&ca, "saved");
    let identity = ConduitIdentity::from_pem(&cert, &key, Some(&ca.ca_pem())).unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("a").join(".conduit");
    let saved = save_identity(&identity, &dir).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&saved.key), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&saved.cert), 0o644);
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    // Saving again over an existing identity replaces it.
    let (cert2, key2) = pem_pair(&ca, "saved-2");
    let second = ConduitIdentity::from_pem(&cert2, &key2, None).unwrap();
    save_identity(&second, &dir).unwrap();
    let loaded = ConduitIdentity::from_dir(&dir).unwrap();
    assert_eq!(loaded.fingerprint(), second.fingerprint());
    assert_eq!(mode(&saved.key), 0o600);
}

#[test]
fn debug_never_prints_the_key() {
    let ca = TestCa::new().unwrap();
    let (cert, key) = pem_pair(&ca, "secret-holder");
    let identity = ConduitIdentity::from_pem(&cert, &key, None).unwrap();
    let debug = format!("{identity:?}");
    assert!(!debug.contains("PRIVATE KEY"));
    let body: String = key.lines().nth(1).unwrap().to_owned();
    assert!(!debug.contains(&body));
}
