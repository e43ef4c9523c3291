//! [`Environment`]: where discovery reads variables, the home directory and the working
//! directory — the process by default, a fixed map in tests.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// The process facts identity discovery depends on. [`SystemEnvironment`] reads the real
/// process; [`MapEnvironment`] is a fixed set, so tests can run discovery in parallel without
/// touching the process environment.
pub trait Environment: Send + Sync + fmt::Debug {
    /// The value of an environment variable, if set and valid Unicode.
    fn var(&self, name: &str) -> Option<String>;
    /// The user's home directory.
    fn home_dir(&self) -> Option<PathBuf>;
    /// The working directory.
    fn current_dir(&self) -> Option<PathBuf>;
}

/// The real process environment: `std::env`, and the home directory from `dirs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEnvironment;

impl Environment for SystemEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn home_dir(&self) -> Option<PathBuf> {
        dirs::home_dir()
    }

    fn current_dir(&self) -> Option<PathBuf> {
        std::env::current_dir().ok()
    }
}

/// A fixed environment: the variables, home and working directory given, nothing else.
///
/// `Debug` prints variable names only (inline PEM values may hold private keys).
#[derive(Clone, Default)]
pub struct MapEnvironment {
    vars: HashMap<String, String>,
    home: Option<PathBuf>,
    cwd: Option<PathBuf>,
}

impl MapEnvironment {
    /// An environment with no variables, no home and no working directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a variable.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Sets the home directory.
    pub fn home(mut self, dir: impl Into<PathBuf>) -> Self {
        self.home = Some(dir.into());
        self
    }

    /// Sets the working directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }
}

impl fmt::Debug for MapEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("MapEnvironment")
            .field("vars", &names)
            .field("home", &self.home)
            .field("cwd", &self.cwd)
            .finish()
    }
}

impl Environment for MapEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn home_dir(&self) -> Option<PathBuf> {
        self.home.clone()
    }

    fn current_dir(&self) -> Option<PathBuf> {
        self.cwd.clone()
    }
}
