//! uid → user name from /etc/passwd, cached and reloaded only when the file changes. A cache
//! that `Source` holds, so below it: it reads the file with `files` alone.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::error::CollectError;
use crate::files::read_optional;

/// The names known so far and the passwd file version they came from.
#[derive(Default)]
pub(crate) struct Users {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// mtime and length of the passwd file last loaded; `None` before the first load or when the
    /// file was absent. Length too: two writes within the filesystem's mtime granularity.
    stamp: Option<(SystemTime, u64)>,
    names: Arc<HashMap<u32, String>>,
}

impl Users {
    /// The current uid → name map, reloading `passwd` if it changed since the last call.
    ///
    /// Handed out as an `Arc` so a process scan looks names up without holding the lock.
    pub(crate) fn names(&self, passwd: &Path) -> Result<Arc<HashMap<u32, String>>, CollectError> {
        let stamp = match std::fs::metadata(passwd) {
            Ok(meta) => Some((
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(CollectError::read(passwd, e)),
        };
        // Nothing in the critical section can panic midway, so a poisoned lock holds a whole map.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.stamp != stamp {
            let names = match read_optional(passwd)? {
                Some(text) => parse_passwd(&text),
                None => HashMap::new(),
            };
            state.names = Arc::new(names);
            state.stamp = stamp;
        }
        Ok(Arc::clone(&state.names))
    }
}

/// `name:password:uid:...` lines. Lines that are not (comments, NIS `+` entries) are skipped:
/// a name we cannot resolve shows as the uid, which is all a bad line could cost.
pub(crate) fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_password), Some(uid)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        if let Ok(uid) = uid.trim().parse::<u32>() {
            // The first entry wins, as getpwuid(3) returns the first match.
            names.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_that_are_not_entries_are_skipped() {
        let names = parse_passwd(
            "# comment\nroot:x:0:0:root:/root:/bin/bash\n+::::::\nbad\nx:y:notanumber:\n\
             toor:x:0:0::/:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/bash\n",
        );
        assert_eq!(names.len(), 2);
        assert_eq!(names[&0], "root");
        assert_eq!(names[&1000], "alice");
    }

    #[test]
    fn the_map_is_reloaded_only_when_passwd_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let passwd = dir.path().join("passwd");
        let users = Users::default();
        assert!(users.names(&passwd).expect("absent").is_empty());

        std::fs::write(&passwd, "root:x:0:0::/:/bin/sh\n").expect("write");
        let first = users.names(&passwd).expect("load");
        assert_eq!(first[&0], "root");
        let again = users.names(&passwd).expect("cached");
        assert!(Arc::ptr_eq(&first, &again), "unchanged file was reloaded");

        // A different length changes the stamp even within one mtime tick.
        std::fs::write(&passwd, "root:x:0:0::/:/bin/sh\nbob:x:7:7::/:/bin/sh\n").expect("write");
        let changed = users.names(&passwd).expect("reload");
        assert_eq!(changed[&7], "bob");

        std::fs::remove_file(&passwd).expect("remove");
        assert!(users.names(&passwd).expect("removed").is_empty());
    }
}
