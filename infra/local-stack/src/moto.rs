//! moto in server mode, single-threaded, on a free loopback port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

pub struct Moto {
    child: Child,
    /// Held open: moto exits when it closes, i.e. when this process ends, however.
    _stdin: Option<ChildStdin>,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto from the project's venv (`infra/bootstrap.sh` makes it).
    pub fn start(repo_root: &Path) -> Result<Self, String> {
        let python = repo_root.join(".venv/bin/python");
        if !python.exists() {
            return Err(format!(
                "{} is missing: run `bash infra/bootstrap.sh` (or `make setup`) first",
                python.display()
            ));
        }
        let mut child = Command::new(&python)
            .arg(repo_root.join("infra/moto_server.py"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start moto: {e}"))?;
        let stdout = child.stdout.take().ok_or("moto has no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("moto did not start: {e}"))?;
        let port = line
            .trim()
            .strip_prefix("MOTO_PORT=")
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| format!("moto did not report its port (got {line:?})"))?;
        let stdin = child.stdin.take();
        Ok(Self { child, _stdin: stdin, endpoint: format!("http://127.0.0.1:{port}") })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
