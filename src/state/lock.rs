//! State locks: who holds an environment's lock, and the guard that releases it on drop.
//!
//! A lock is taken by creating a file exclusively, so two runs cannot both succeed; the file
//! holds the holder's identity so the loser can say who is in the way.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Who holds a lock and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// A fresh uuid per lock; `cairn force-unlock ID` needs it.
    pub id: String,
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// RFC 3339 time the lock was taken.
    pub time: String,
    /// The command holding the lock: `apply`, `destroy`, `import`, …
    pub operation: String,
}

impl LockInfo {
    /// Whether the holder is a process of this host that no longer runs. Only decidable where
    /// `/proc` lists processes; elsewhere a lock is never considered stale.
    pub fn is_stale(&self) -> bool {
        let this_host = hostname::get()
            .map(|name| name.to_string_lossy() == self.host)
            .unwrap_or(false);
        let proc = std::path::Path::new("/proc");
        this_host
            && self.pid != std::process::id()
            && proc.join("self").exists()
            && !proc.join(self.pid.to_string()).exists()
    }

    /// How long ago the lock was taken, by this machine's clock; `None` when its time cannot
    /// be read.
    pub fn age(&self) -> Option<std::time::Duration> {
        let taken = chrono::DateTime::parse_from_rfc3339(&self.time).ok()?;
        (chrono::Utc::now() - taken.with_timezone(&chrono::Utc))
            .to_std()
            .ok()
    }

    /// The identity of this process, taking a lock for `operation` now.
    pub fn for_this_process(operation: &str) -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".to_string());
        let host = hostname::get()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".to_string());
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            user,
            host,
            pid: std::process::id(),
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            operation: operation.to_string(),
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} (pid {}) for {} since {}; lock id {}",
            self.user, self.host, self.pid, self.operation, self.time, self.id
        )
    }
}

/// A held lock. Dropping it releases the lock.
pub struct StateLock {
    info: LockInfo,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl StateLock {
    /// A guard for `info` that runs `release` when dropped. Backends build these.
    pub fn new(info: LockInfo, release: impl FnOnce() + Send + Sync + 'static) -> Self {
        StateLock {
            info,
            release: Some(Box::new(release)),
        }
    }

    /// Who holds the lock (this process).
    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl fmt::Debug for StateLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateLock")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

/// A lock's age for people to read, in whole seconds (`2m 5s`); `unknown` without one.
pub fn describe_age(age: Option<std::time::Duration>) -> String {
    match age {
        Some(age) => {
            humantime::format_duration(std::time::Duration::from_secs(age.as_secs())).to_string()
        }
        None => "an unknown time".to_string(),
    }
}
