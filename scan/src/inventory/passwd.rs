//! `/etc/passwd`: `name:password:uid:gid:gecos:home:shell`.

/// Users whose uid is 0: whatever their name, they are root.
pub(super) fn root_users(content: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(content)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let uid = fields.nth(1)?;
            (uid.trim() == "0" && !name.is_empty()).then(|| name.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_uid_0_user() {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\ntoor:x:0:0::/:/bin/sh\nbroken\n";
        assert_eq!(super::root_users(passwd), ["root", "toor"]);
    }
}
