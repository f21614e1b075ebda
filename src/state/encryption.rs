//! Encryption of what Cairn stores: state, its backups and saved plan files, on every backend.
//!
//! Authenticated encryption with AES-256-GCM (RustCrypto `aes-gcm`) under a key derived from a
//! passphrase with Argon2id (RustCrypto `argon2`, its default cost: 19 MiB, two passes). The
//! passphrase comes from an environment variable (`CAIRN_STATE_KEY`, or the one an
//! `encryption { key_env = "…" }` block names), never from a file. A sealed file is a small
//! JSON envelope: what was used (cipher, KDF and its cost, salt, nonce, which environment
//! variables hold the keys) and the base64 ciphertext; nothing of the content is readable.
//!
//! Promises:
//! - With a key, every sealed file is encrypted with a fresh nonce; without one, files are
//!   written as plain JSON exactly as before.
//! - Opening tries the primary key, then the fallback key (rotation: the old passphrase moves
//!   to the fallback variable, and the next write seals with the new one).
//! - A sealed file opened without a key, or with keys that do not open it, is an error that
//!   names the environment variables involved; a plain file is read as it is, so turning
//!   encryption on needs no conversion step.
//! - Derived keys are cached per process, so the deliberately slow KDF runs once per salt and
//!   not once per state write.

use aes_gcm::aead::{Aead, Generate, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The environment variable that holds the passphrase when no `encryption` block names one.
pub const DEFAULT_KEY_ENV: &str = "CAIRN_STATE_KEY";

/// The envelope format this build writes; a larger number is refused.
const ENVELOPE_VERSION: u32 = 1;

/// Bound into every ciphertext as associated data: a sealed Cairn file cannot be taken for
/// some other AES-GCM message under the same key.
const ASSOCIATED_DATA: &[u8] = b"cairn sealed file v1";

/// The largest key-derivation cost a sealed file may ask for: memory in KiB, passes and lanes.
/// A file names its own cost, and an altered (or hostile) one must not make opening it take
/// gigabytes or minutes; this build writes Argon2's default (19 MiB, two passes, one lane),
/// well below.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_ITERATIONS: u32 = 16;
const MAX_PARALLELISM: u32 = 16;

/// Which environment variables hold the keys, as the configuration names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionSettings {
    /// The variable holding the passphrase new files are sealed with.
    pub key_env: String,
    /// A variable holding a previous passphrase, tried when the primary one does not open a
    /// file (key rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_key_env: Option<String>,
    /// Whether encryption was asked for explicitly (an `encryption` block): then a missing
    /// passphrase is an error instead of meaning "no encryption".
    #[serde(default)]
    pub required: bool,
}

impl Default for EncryptionSettings {
    /// No `encryption` block: encryption is on exactly when `CAIRN_STATE_KEY` is set.
    fn default() -> Self {
        EncryptionSettings {
            key_env: DEFAULT_KEY_ENV.to_string(),
            fallback_key_env: None,
            required: false,
        }
    }
}

/// What can go wrong sealing or opening a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum EncryptionError {
    /// Encryption is configured but its passphrase is not in the environment.
    #[error("state encryption is configured, but the environment variable `{variable}` is not set")]
    #[diagnostic(help(
        "export `{variable}` with the stack's passphrase; Cairn never reads it from a file"
    ))]
    KeyNotSet { variable: String },

    /// A sealed file met a run that has no key at all.
    #[error("it is encrypted, but no key is set: `{variable}` is not in the environment")]
    #[diagnostic(help("export `{variable}` with the passphrase the state was encrypted with"))]
    NoKey { variable: String },

    /// None of the keys given opens the file.
    #[error(
        "it is encrypted, and the key in {tried} does not open it (a wrong key, or an altered file)"
    )]
    #[diagnostic(help(
        "set `{key_env}` to the passphrase the state was encrypted with; after a rotation, put the old passphrase in the fallback variable"
    ))]
    WrongKey { tried: String, key_env: String },

    /// The envelope itself is damaged or of a newer version.
    #[error("its encryption envelope is invalid: {detail}")]
    Envelope { detail: String },

    /// The system's random source failed (no nonce or salt could be drawn).
    #[error("no random bytes for encryption: {detail}")]
    Random { detail: String },
}

impl EncryptionError {
    /// What to do about it, as its diagnostic's help says (empty when there is nothing).
    pub fn hint(&self) -> String {
        miette::Diagnostic::help(self)
            .map(|help| help.to_string())
            .unwrap_or_default()
    }
}

/// The sealed form of a file.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The marker telling a sealed file from a plain one, and its version.
    cairn_encrypted: u32,
    cipher: String,
    kdf: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
    nonce: String,
    /// Where the keys were read from, so a run that reads the file can say which variable to
    /// set (names only; never a key).
    key_env: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fallback_key_env: Option<String>,
    ciphertext: String,
}

/// A passphrase with the keys derived from it, one per salt.
struct Passphrase {
    variable: String,
    secret: String,
    derived: Mutex<HashMap<[u8; 16], [u8; 32]>>,
}

impl Passphrase {
    fn new(variable: &str, secret: String) -> Self {
        Passphrase {
            variable: variable.to_string(),
            secret,
            derived: Mutex::new(HashMap::new()),
        }
    }

    /// The AES key for `salt` at `params`, derived once and cached.
    fn key(&self, salt: &[u8; 16], params: &argon2::Params) -> Result<[u8; 32], EncryptionError> {
        let mut derived = self
            .derived
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(key) = derived.get(salt) {
            return Ok(*key);
        }
        let mut key = [0u8; 32];
        argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params.clone(),
        )
        .hash_password_into(self.secret.as_bytes(), salt, &mut key)
        .map_err(|error| EncryptionError::Envelope {
            detail: format!("key derivation failed: {error}"),
        })?;
        derived.insert(*salt, key);
        Ok(key)
    }
}

/// How this run seals and opens files: the keys found in the environment (none means files
/// are written in plain JSON). Cheap to clone; clones share derived keys.
#[derive(Clone)]
pub struct Encryption {
    settings: EncryptionSettings,
    primary: Option<Arc<Passphrase>>,
    fallback: Option<Arc<Passphrase>>,
    /// The salt new files are sealed with: one per run, so the slow derivation runs once.
    salt: [u8; 16],
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the passphrases.
        f.debug_struct("Encryption")
            .field("settings", &self.settings)
            .field("enabled", &self.primary.is_some())
            .finish_non_exhaustive()
    }
}

impl Encryption {
    /// No encryption: files are written in plain JSON, and a sealed one cannot be opened.
    pub fn off() -> Self {
        Encryption {
            settings: EncryptionSettings::default(),
            primary: None,
            fallback: None,
            salt: [0; 16],
        }
    }

    /// The keys `settings` name, read from the process environment.
    ///
    /// # Errors
    /// [`EncryptionError::KeyNotSet`] when `settings.required` and the primary variable is
    /// not set (or empty).
    pub fn from_environment(settings: &EncryptionSettings) -> Result<Self, EncryptionError> {
        let read = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let primary = read(&settings.key_env);
        let fallback = settings.fallback_key_env.as_deref().and_then(read);
        Self::with_passphrases(settings.clone(), primary, fallback)
    }

    /// The keys given (tests, and callers that read them elsewhere).
    ///
    /// # Errors
    /// As [`Encryption::from_environment`]; [`EncryptionError::Random`] when no salt can be
    /// drawn.
    pub fn with_passphrases(
        settings: EncryptionSettings,
        primary: Option<String>,
        fallback: Option<String>,
    ) -> Result<Self, EncryptionError> {
        if settings.required && primary.is_none() {
            return Err(EncryptionError::KeyNotSet {
                variable: settings.key_env.clone(),
            });
        }
        let fallback_variable = settings
            .fallback_key_env
            .clone()
            .unwrap_or_else(|| "the fallback variable".to_string());
        let salt = if primary.is_some() {
            random::<16>()?
        } else {
            [0; 16]
        };
        Ok(Encryption {
            primary: primary.map(|secret| Arc::new(Passphrase::new(&settings.key_env, secret))),
            fallback: fallback.map(|secret| Arc::new(Passphrase::new(&fallback_variable, secret))),
            settings,
            salt,
        })
    }

    /// Whether new files are sealed.
    pub fn is_on(&self) -> bool {
        self.primary.is_some()
    }

    /// The variable names in use.
    pub fn settings(&self) -> &EncryptionSettings {
        &self.settings
    }

    /// `plaintext` sealed with the primary key, or unchanged when encryption is off.
    ///
    /// # Errors
    /// [`EncryptionError::Random`] when no nonce can be drawn.
    pub fn seal(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, EncryptionError> {
        let Some(primary) = &self.primary else {
            return Ok(plaintext);
        };
        let params = argon2::Params::default();
        let key = primary.key(&self.salt, &params)?;
        let nonce = random::<12>()?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                aes_gcm::aead::Payload {
                    msg: &plaintext,
                    aad: ASSOCIATED_DATA,
                },
            )
            .map_err(|_| EncryptionError::Envelope {
                detail: "the content is too large to encrypt".to_string(),
            })?;
        let envelope = Envelope {
            cairn_encrypted: ENVELOPE_VERSION,
            cipher: "AES-256-GCM".to_string(),
            kdf: "argon2id".to_string(),
            memory_kib: params.m_cost(),
            iterations: params.t_cost(),
            parallelism: params.p_cost(),
            salt: BASE64.encode(self.salt),
            nonce: BASE64.encode(nonce),
            key_env: self.settings.key_env.clone(),
            fallback_key_env: self.settings.fallback_key_env.clone(),
            ciphertext: BASE64.encode(ciphertext),
        };
        let mut bytes =
            serde_json::to_vec_pretty(&envelope).map_err(|error| EncryptionError::Envelope {
                detail: error.to_string(),
            })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The plaintext of `bytes`: opened with the primary key, else the fallback key, when it
    /// is sealed; `bytes` itself when it is a plain file.
    ///
    /// # Errors
    /// [`EncryptionError::NoKey`] or [`EncryptionError::WrongKey`] naming the variables, or
    /// [`EncryptionError::Envelope`] for a damaged envelope.
    pub fn open(&self, bytes: Vec<u8>) -> Result<Vec<u8>, EncryptionError> {
        let Some(envelope) = envelope_of(&bytes)? else {
            return Ok(bytes);
        };
        let keys: Vec<&Arc<Passphrase>> = self.primary.iter().chain(self.fallback.iter()).collect();
        if keys.is_empty() {
            return Err(EncryptionError::NoKey {
                variable: envelope.key_env.clone(),
            });
        }
        let invalid = |detail: &str| EncryptionError::Envelope {
            detail: detail.to_string(),
        };
        let salt: [u8; 16] = decode_fixed(&envelope.salt).ok_or_else(|| invalid("bad salt"))?;
        let nonce: [u8; 12] = decode_fixed(&envelope.nonce).ok_or_else(|| invalid("bad nonce"))?;
        let ciphertext = BASE64
            .decode(envelope.ciphertext.as_bytes())
            .map_err(|_| invalid("the ciphertext is not base64"))?;
        if envelope.memory_kib > MAX_MEMORY_KIB
            || envelope.iterations > MAX_ITERATIONS
            || envelope.parallelism > MAX_PARALLELISM
        {
            return Err(invalid(&format!(
                "its key derivation cost ({} KiB, {} passes, {} lanes) is beyond what Cairn writes or accepts",
                envelope.memory_kib, envelope.iterations, envelope.parallelism
            )));
        }
        let params = argon2::Params::new(
            envelope.memory_kib,
            envelope.iterations,
            envelope.parallelism,
            Some(32),
        )
        .map_err(|error| invalid(&format!("bad key derivation cost: {error}")))?;
        for passphrase in &keys {
            let key = passphrase.key(&salt, &params)?;
            let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key));
            if let Ok(plaintext) = cipher.decrypt(
                &Nonce::from(nonce),
                aes_gcm::aead::Payload {
                    msg: &ciphertext,
                    aad: ASSOCIATED_DATA,
                },
            ) {
                return Ok(plaintext);
            }
        }
        let tried = keys
            .iter()
            .map(|passphrase| format!("`{}`", passphrase.variable))
            .collect::<Vec<_>>()
            .join(" and ");
        Err(EncryptionError::WrongKey {
            tried,
            key_env: self.settings.key_env.clone(),
        })
    }
}

/// The settings a sealed file names (which variables hold its keys), so a run without a
/// configuration (applying a saved plan) knows where to look; `None` for a plain file.
///
/// # Errors
/// [`EncryptionError::Envelope`] for a damaged or newer envelope.
pub fn sealed_with(bytes: &[u8]) -> Result<Option<EncryptionSettings>, EncryptionError> {
    Ok(envelope_of(bytes)?.map(|envelope| EncryptionSettings {
        key_env: envelope.key_env,
        fallback_key_env: envelope.fallback_key_env,
        required: true,
    }))
}

/// The envelope when `bytes` is a sealed file; `None` for anything else (left to the caller
/// to parse and report).
fn envelope_of(bytes: &[u8]) -> Result<Option<Envelope>, EncryptionError> {
    // A cheap test before parsing: every sealed file carries the marker near its start.
    let head = &bytes[..bytes.len().min(64)];
    if !head.windows(15).any(|window| window == b"cairn_encrypted") {
        return Ok(None);
    }
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|error| EncryptionError::Envelope {
            detail: error.to_string(),
        })?;
    if envelope.cairn_encrypted > ENVELOPE_VERSION {
        return Err(EncryptionError::Envelope {
            detail: format!(
                "version {} is newer than the version {ENVELOPE_VERSION} this Cairn understands; upgrade Cairn",
                envelope.cairn_encrypted
            ),
        });
    }
    if envelope.cipher != "AES-256-GCM" || envelope.kdf != "argon2id" {
        return Err(EncryptionError::Envelope {
            detail: format!(
                "cipher `{}` with KDF `{}` is not supported",
                envelope.cipher, envelope.kdf
            ),
        });
    }
    Ok(Some(envelope))
}

fn decode_fixed<const N: usize>(text: &str) -> Option<[u8; N]> {
    BASE64.decode(text.as_bytes()).ok()?.try_into().ok()
}

fn random<const N: usize>() -> Result<[u8; N], EncryptionError> {
    <[u8; N]>::try_generate().map_err(|error| EncryptionError::Random {
        detail: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(fallback: Option<&str>) -> EncryptionSettings {
        EncryptionSettings {
            key_env: "TEST_KEY".to_string(),
            fallback_key_env: fallback.map(str::to_string),
            required: true,
        }
    }

    fn with(primary: &str, fallback: Option<&str>) -> Encryption {
        Encryption::with_passphrases(
            settings(fallback.map(|_| "TEST_KEY_OLD")),
            Some(primary.to_string()),
            fallback.map(str::to_string),
        )
        .unwrap()
    }

    #[test]
    fn a_sealed_file_shows_nothing_of_its_content_and_opens_with_the_key() {
        let encryption = with("correct horse", None);
        let plaintext = br#"{"password": "hunter2-secret"}"#.to_vec();
        let sealed = encryption.seal(plaintext.clone()).unwrap();
        let text = String::from_utf8(sealed.clone()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("\"key_env\": \"TEST_KEY\""), "{text}");
        assert_eq!(encryption.open(sealed).unwrap(), plaintext);
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let encryption = with("correct horse", None);
        let first = encryption.seal(b"same".to_vec()).unwrap();
        let second = encryption.seal(b"same".to_vec()).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn a_wrong_key_is_refused_naming_the_variable() {
        let sealed = with("correct horse", None).seal(b"{}".to_vec()).unwrap();
        let error = with("battery staple", None).open(sealed).unwrap_err();
        assert!(
            matches!(&error, EncryptionError::WrongKey { tried, .. } if tried == "`TEST_KEY`"),
            "{error}"
        );
    }

    #[test]
    fn the_fallback_key_opens_files_sealed_before_a_rotation() {
        let old = with("old passphrase", None).seal(b"{}".to_vec()).unwrap();
        let rotated = with("new passphrase", Some("old passphrase"));
        assert_eq!(rotated.open(old).unwrap(), b"{}");
        // New files are sealed with the new key alone.
        let new = rotated.seal(b"{}".to_vec()).unwrap();
        assert!(with("new passphrase", None).open(new).is_ok());
    }

    #[test]
    fn without_a_key_a_sealed_file_names_the_variable_to_set() {
        let sealed = with("correct horse", None).seal(b"{}".to_vec()).unwrap();
        let error = Encryption::off().open(sealed.clone()).unwrap_err();
        assert_eq!(
            error,
            EncryptionError::NoKey {
                variable: "TEST_KEY".to_string()
            }
        );
        assert_eq!(sealed_with(&sealed).unwrap(), Some(settings(None)));
    }

    #[test]
    fn plain_files_pass_through_both_ways_when_encryption_is_off() {
        let plain = br#"{"format_version": 1}"#.to_vec();
        assert_eq!(Encryption::off().seal(plain.clone()).unwrap(), plain);
        assert_eq!(with("key", None).open(plain.clone()).unwrap(), plain);
        assert_eq!(sealed_with(&plain).unwrap(), None);
    }

    #[test]
    fn a_required_key_that_is_not_set_is_an_error_naming_it() {
        let error = Encryption::with_passphrases(settings(None), None, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "state encryption is configured, but the environment variable `TEST_KEY` is not set"
        );
    }

    #[test]
    fn a_file_asking_for_an_enormous_key_derivation_is_refused_before_deriving() {
        let encryption = with("correct horse", None);
        let sealed = encryption.seal(b"{}".to_vec()).unwrap();
        let mut envelope: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        envelope["memory_kib"] = serde_json::json!(u32::MAX);
        let altered = serde_json::to_vec(&envelope).unwrap();
        let error = encryption.open(altered).unwrap_err();
        assert!(
            matches!(&error, EncryptionError::Envelope { detail } if detail.contains("beyond")),
            "{error}"
        );
    }

    #[test]
    fn an_altered_ciphertext_is_refused() {
        let encryption = with("correct horse", None);
        let sealed = encryption.seal(b"{\"a\": 1}".to_vec()).unwrap();
        let mut envelope: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        let ciphertext = envelope["ciphertext"].as_str().unwrap().to_string();
        let mut raw = BASE64.decode(ciphertext).unwrap();
        raw[0] ^= 1;
        envelope["ciphertext"] = serde_json::json!(BASE64.encode(raw));
        let altered = serde_json::to_vec(&envelope).unwrap();
        assert!(matches!(
            encryption.open(altered),
            Err(EncryptionError::WrongKey { .. })
        ));
    }
}
