//! Encryption at rest for secrets the server must read back (TOTP secrets), under a master key
//! kept outside the database, so a copy of the database alone does not yield second factors.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

use super::{CredentialError, random_bytes};

/// Marks the format of a sealed value, so the algorithm can change without guessing.
const VERSION_PREFIX: &str = "v1:";
/// Bytes in an XChaCha20-Poly1305 nonce.
const NONCE_LEN: usize = 24;

/// The 256-bit root key from which the keys for sealing secrets and signing access tokens are
/// derived.
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// Parses standard base64 of exactly 32 bytes (surrounding whitespace is ignored).
    pub fn from_base64(text: &str) -> Result<Self, CredentialError> {
        let invalid = |found: &str| {
            CredentialError::InvalidKey(format!(
                "must be standard base64 of exactly 32 bytes, found {found}"
            ))
        };
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| invalid("text that is not base64"))?;
        let key = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| invalid(&format!("{} bytes", bytes.len())))?;
        Ok(Self(key))
    }

    /// A fresh key of 32 random bytes from the operating system.
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    /// The key in standard base64, as configuration and the key file hold it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The key in the file at `path`; if there is no such file, a fresh key written to a new one
    /// (readable by the owner only on unix, parent directories created as needed).
    ///
    /// An existing file is never overwritten: replacing the key would make every sealed secret
    /// unreadable, so a damaged file is an error for the operator to resolve.
    pub fn load_or_create(path: &Path) -> Result<Self, CredentialError> {
        let io_error = |source| CredentialError::KeyFile {
            path: path.to_owned(),
            source,
        };
        match fs::read_to_string(path) {
            Ok(text) => return Self::from_file_text(path, &text),
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => return Err(io_error(error)),
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_error)?;
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(path) {
            Ok(file) => file,
            // Another process (a second instance starting at the same moment) created it first.
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(path).map_err(io_error)?;
                return Self::from_file_text(path, &text);
            }
            Err(error) => return Err(io_error(error)),
        };
        let key = Self::generate();
        let written = file
            .write_all(format!("{}\n", key.to_base64()).as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(error) = written {
            // A half-written file would be refused at every later start; removing it lets the
            // next start try again. If removal fails too, the write error is the one to report.
            let _ = fs::remove_file(path);
            return Err(io_error(error));
        }
        Ok(key)
    }

    fn from_file_text(path: &Path, text: &str) -> Result<Self, CredentialError> {
        Self::from_base64(text).map_err(|error| match error {
            CredentialError::InvalidKey(why) => {
                CredentialError::InvalidKey(format!("{}: {why}", path.display()))
            }
            other => other,
        })
    }

    /// An independent 32-byte key for `purpose` (HKDF-SHA256 with the purpose as info), so a
    /// key used to sign tokens never doubles as a key to encrypt secrets.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut okm = [0u8; 32];
        Hkdf::<Sha256>::new(None, &self.0)
            .expand(purpose.as_bytes(), &mut okm)
            .expect("HKDF-SHA256 yields up to 8160 bytes, and 32 are asked for");
        okm
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Authenticated encryption of small secrets, with associated data binding each ciphertext to
/// the record it belongs to.
///
/// XChaCha20-Poly1305 rather than AES-256-GCM: its 192-bit nonce makes a random nonce per
/// message safe without counting messages (GCM's 96-bit nonce is not, past 2^32 messages per
/// key), and it is constant-time in software on machines without AES instructions.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    /// A box under `key`, normally `MasterKey::derive` for a named purpose.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// `plaintext` encrypted with a fresh random nonce, as text: `v1:` then the standard base64
    /// of the nonce followed by the ciphertext and tag. `associated` (such as `person:42`) is
    /// authenticated but not stored: opening needs the same value, so a ciphertext copied to
    /// another record does not open.
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> String {
        let nonce: [u8; NONCE_LEN] = random_bytes();
        let payload = Payload {
            msg: plaintext,
            aad: associated,
        };
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .expect("XChaCha20-Poly1305 only refuses messages of 256 GiB or more");
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        format!("{VERSION_PREFIX}{}", STANDARD.encode(sealed))
    }

    /// The plaintext of a value from [`SecretBox::seal`] under the same key and associated data.
    pub fn open(&self, sealed: &str, associated: &[u8]) -> Result<Vec<u8>, CredentialError> {
        let encoded = sealed
            .strip_prefix(VERSION_PREFIX)
            .ok_or(CredentialError::Decrypt)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| CredentialError::Decrypt)?;
        let (nonce, ciphertext) = bytes
            .split_at_checked(NONCE_LEN)
            .ok_or(CredentialError::Decrypt)?;
        let nonce = XNonce::try_from(nonce).map_err(|_| CredentialError::Decrypt)?;
        let payload = Payload {
            msg: ciphertext,
            aad: associated,
        };
        self.cipher
            .decrypt(&nonce, payload)
            .map_err(|_| CredentialError::Decrypt)
    }
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit as _, Mac};

    use super::*;

    fn secret_box() -> SecretBox {
        SecretBox::new(MasterKey::generate().derive("totp"))
    }

    #[test]
    fn sealed_values_open_with_the_same_key_and_associated_data() {
        let boxed = secret_box();
        let sealed = boxed.seal(b"twenty bytes secret!", b"person:42");
        assert!(sealed.starts_with("v1:"), "{sealed}");
        let raw = STANDARD.decode(&sealed[3..]).unwrap();
        assert_eq!(raw.len(), 24 + 20 + 16, "nonce, ciphertext, tag");
        assert_eq!(
            boxed.open(&sealed, b"person:42").unwrap(),
            b"twenty bytes secret!"
        );
        assert_eq!(boxed.open(&boxed.seal(b"", b""), b"").unwrap(), b"");
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let boxed = secret_box();
        let a = boxed.seal(b"same", b"person:42");
        let b = boxed.seal(b"same", b"person:42");
        assert_ne!(a, b);
        assert_ne!(
            STANDARD.decode(&a[3..]).unwrap()[..24],
            STANDARD.decode(&b[3..]).unwrap()[..24]
        );
    }

    #[test]
    fn the_wrong_key_or_associated_data_does_not_open() {
        let boxed = secret_box();
        let sealed = boxed.seal(b"secret", b"person:42");
        assert!(matches!(
            boxed.open(&sealed, b"person:43"),
            Err(CredentialError::Decrypt)
        ));
        assert!(boxed.open(&sealed, b"").is_err());
        assert!(secret_box().open(&sealed, b"person:42").is_err());
    }

    #[test]
    fn any_altered_byte_is_detected() {
        let boxed = secret_box();
        let sealed = boxed.seal(b"secret", b"person:42");
        let raw = STANDARD.decode(&sealed[3..]).unwrap();
        for index in 0..raw.len() {
            let mut tampered = raw.clone();
            tampered[index] ^= 0x01;
            let tampered = format!("v1:{}", STANDARD.encode(tampered));
            assert!(boxed.open(&tampered, b"person:42").is_err(), "byte {index}");
        }
        let truncated = format!("v1:{}", STANDARD.encode(&raw[..raw.len() - 1]));
        assert!(boxed.open(&truncated, b"person:42").is_err());
    }

    #[test]
    fn malformed_values_are_refused() {
        let boxed = secret_box();
        let sealed = boxed.seal(b"secret", b"a");
        for bad in [
            "",
            "v1:",
            "v1:not base64!",
            "v1:AAAA",
            &sealed[3..],
            &sealed.replacen("v1:", "v2:", 1),
        ] {
            assert!(boxed.open(bad, b"a").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn master_keys_parse_only_from_32_bytes_of_base64() {
        let key = MasterKey::generate();
        let text = key.to_base64();
        assert_eq!(
            MasterKey::from_base64(&format!(" {text}\n")).unwrap().0,
            key.0
        );
        for (bad, found) in [
            (STANDARD.encode([7u8; 31]), "found 31 bytes"),
            (STANDARD.encode([7u8; 33]), "found 33 bytes"),
            (String::new(), "found 0 bytes"),
            ("not*base64".to_owned(), "not base64"),
        ] {
            let error = MasterKey::from_base64(&bad).unwrap_err().to_string();
            assert!(error.contains("exactly 32 bytes"), "{error}");
            assert!(error.contains(found), "{error}");
        }
    }

    #[test]
    fn master_keys_are_random_and_redacted() {
        let key = MasterKey::generate();
        assert_ne!(key.0, MasterKey::generate().0);
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        assert_eq!(format!("{:?}", secret_box()), "SecretBox(<redacted>)");
    }

    #[test]
    fn derived_keys_are_hkdf_sha256_and_independent_per_purpose() {
        let key = MasterKey::from_base64(&STANDARD.encode([0x0b; 32])).unwrap();
        // HKDF (RFC 5869) written out: no salt means a salt of zeros; one block of output.
        let mut extract = Hmac::<Sha256>::new_from_slice(&[0u8; 32]).unwrap();
        extract.update(&[0x0b; 32]);
        let prk = extract.finalize().into_bytes();
        let mut expand = Hmac::<Sha256>::new_from_slice(&prk).unwrap();
        expand.update(b"jwt");
        expand.update(&[1]);
        let expected: [u8; 32] = expand.finalize().into_bytes().into();
        assert_eq!(key.derive("jwt"), expected);

        assert_eq!(key.derive("jwt"), key.derive("jwt"));
        assert_ne!(key.derive("jwt"), key.derive("totp"));
        assert_ne!(key.derive("jwt"), MasterKey::generate().derive("jwt"));
    }

    #[test]
    fn the_key_file_is_created_once_owner_only_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("keys").join("master.key");
        let created = MasterKey::load_or_create(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), created.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(loaded.0, created.0);
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn an_existing_key_file_is_read_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = MasterKey::generate();
        fs::write(&path, key.to_base64()).unwrap();
        assert_eq!(MasterKey::load_or_create(&path).unwrap().0, key.0);

        fs::write(&path, "damaged").unwrap();
        let error = MasterKey::load_or_create(&path).unwrap_err().to_string();
        assert!(error.contains("master.key"), "{error}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "damaged");
    }

    #[test]
    fn an_unreadable_key_path_is_an_io_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = MasterKey::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(error, CredentialError::KeyFile { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains(&dir.path().display().to_string())
        );
    }
}
