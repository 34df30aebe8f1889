//! A directory of WASM modules, each stored under the keccak256 of its bytes.

use crate::{Error, Result};
use alloy_primitives::{B256, keccak256};
use std::path::{Path, PathBuf};

/// Modules on disk as `<dir>/<0xhash>.wasm`; contents are checked against the name on read.
#[derive(Clone, Debug)]
pub struct ModuleStore {
    dir: PathBuf,
}

impl ModuleStore {
    /// A store in `dir` (created on first insert).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, hash: B256) -> PathBuf {
        self.dir.join(format!("{hash}.wasm"))
    }

    /// Stores `bytes` and returns their hash.
    pub fn insert(&self, bytes: &[u8]) -> Result<B256> {
        let hash = keccak256(bytes);
        std::fs::create_dir_all(&self.dir)?;
        std::fs::write(self.path(hash), bytes)?;
        Ok(hash)
    }

    /// The module with this hash.
    pub fn get(&self, hash: B256) -> Result<Vec<u8>> {
        let path = self.path(hash);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::UnknownModule(hash));
            }
            Err(e) => return Err(e.into()),
        };
        let found = keccak256(&bytes);
        if found != hash {
            return Err(Error::CorruptModule {
                path: path.display().to_string(),
                found,
            });
        }
        Ok(bytes)
    }

    /// Whether the store has this module.
    pub fn contains(&self, hash: B256) -> bool {
        self.path(hash).exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_hash_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModuleStore::new(dir.path().join("modules"));
        let hash = store.insert(b"\0asm module").unwrap();
        assert_eq!(hash, keccak256(b"\0asm module"));
        assert!(store.contains(hash));
        assert_eq!(store.get(hash).unwrap(), b"\0asm module");
        std::fs::write(store.path(hash), b"tampered").unwrap();
        assert!(matches!(store.get(hash), Err(Error::CorruptModule { .. })));
        assert!(matches!(
            store.get(B256::ZERO),
            Err(Error::UnknownModule(_))
        ));
    }
}
