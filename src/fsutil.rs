//! Writing files whole or not at all: output files, frozen paper lists and reports are never
//! left half-written, whatever happens to the process; and the one check every append-only
//! file of lines (journal, change log, bounce log, unsubscribe record) makes after a torn write.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temp file in the same directory (fsync, rename). An
/// existing file keeps its permissions; a new one gets 0644, like any file meant to be read by
/// others (a preview served by a web server).
///
/// A symlink is followed (the file it points to is replaced, the link stays); a target that is
/// not a regular file (`/dev/null`, a FIFO) is written in place, never replaced.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return write_atomically(&std::fs::canonicalize(path)?, bytes);
        }
        if meta.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                format!("{} is a directory", path.display()),
            ));
        }
        if !meta.is_file() {
            let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
            return f.write_all(bytes);
        }
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The directory's own error, without the name of a temporary file nobody asked for.
    if !std::fs::metadata(dir)?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a directory", dir.display()),
        ));
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("{} (creating a file in {})", e.kind(), dir.display()),
        )
    })?;
    tmp.write_all(bytes)?;
    let perms = match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => default_permissions(),
    };
    tmp.as_file().set_permissions(perms)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn default_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

#[cfg(not(unix))]
fn default_permissions() -> std::fs::Permissions {
    tempfile::tempfile()
        .and_then(|f| f.metadata())
        .map(|m| m.permissions())
        .expect("a temp file")
}

/// Whether an append-only file of lines ends part-way through a line (a crash mid-append left
/// it torn): the next line must then start with a line break of its own. Reads the last byte.
pub fn ends_mid_line(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_followed_and_devices_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.html");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.html");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&real, &link).unwrap();
            write_atomically(&link, b"new").unwrap();
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
            write_atomically(Path::new("/dev/null"), b"x").unwrap();
            assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        }
        assert!(write_atomically(dir.path(), b"x").is_err());
    }

    #[test]
    fn errors_name_no_temporary_file() {
        let dir = tempfile::Builder::new()
            .prefix("fsutil-")
            .tempdir()
            .unwrap();
        let missing = dir.path().join("no/such/dir/x.json");
        let e = write_atomically(&missing, b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert!(!e.to_string().contains("/.tmp"), "{e}");
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let e = write_atomically(&file.join("x.json"), b"x").unwrap_err();
        assert!(!e.to_string().contains("/.tmp"), "{e}");
    }
}
