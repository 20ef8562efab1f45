//! A small filesystem of a test's own (a tmpfs, so root only): one that fills up, or that is remounted
//! read-only under the portal.

use std::path::PathBuf;
use std::process::Command;

/// A tmpfs of its own, unmounted when dropped (also when the test fails half-way).
pub struct SmallFilesystem {
    pub path: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallFilesystem {
    pub fn mount(size: &str) -> Self {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("small");
        std::fs::create_dir(&path).unwrap();
        let status =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"]).arg(&path).status().unwrap();
        assert!(status.success(), "cannot mount a tmpfs at {}", path.display());
        Self { path, _parent: parent }
    }

    /// Makes the filesystem read-only, as an operator's read-only mount or a failing disk does. Files
    /// must not be open for writing on it.
    pub fn remount_read_only(&self) {
        let status = Command::new("mount").args(["-o", "remount,ro"]).arg(&self.path).status().unwrap();
        assert!(status.success(), "cannot remount {} read-only", self.path.display());
    }
}

impl Drop for SmallFilesystem {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.path).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process of the test not yet gone): detach it now, it goes when released.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}
