//! The operator console run for real: the built `hookwire` binary in a pseudo-terminal,
//! its output fed through a terminal emulator (vt100) so tests press keys and read the
//! screen as an operator would.

use std::io::{Read as _, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::hookwired::workspace_bin;

/// A running console.
pub struct Console {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

/// Keys as a terminal sends them.
pub mod key {
    /// Enter.
    pub const ENTER: &str = "\r";
    /// Escape.
    pub const ESC: &str = "\x1b";
    /// Tab.
    pub const TAB: &str = "\t";
}

impl Console {
    /// Starts `hookwire <args>` against the NATS server at `nats_url` in a `cols` × `rows`
    /// terminal.
    ///
    /// # Panics
    /// If the pseudo-terminal or the process cannot be set up.
    #[must_use]
    pub fn start(nats_url: &str, args: &[&str], cols: u16, rows: u16) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut command = CommandBuilder::new(workspace_bin("hookwire"));
        command.args(args);
        command.env("NATS_URL", nats_url);
        command.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(command).expect("hookwire starts");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("a pty reader");
        let writer = pty.master.take_writer().expect("a pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let screen = Arc::clone(&parser);
        std::thread::spawn(move || {
            let mut buf = [0_u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .process(&buf[..n]);
            }
        });
        Self {
            parser,
            writer,
            child,
            _master: pty.master,
        }
    }

    /// The screen's text, row by row.
    #[must_use]
    pub fn screen(&self) -> String {
        self.parser
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .screen()
            .contents()
    }

    /// Whether the program switched back from the alternate screen (it restored the
    /// terminal), waiting up to `timeout` for its last output to be read.
    pub async fn restored(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let alternate = self
                .parser
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .screen()
                .alternate_screen();
            if !alternate {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Types `keys`.
    ///
    /// # Panics
    /// If the terminal is gone.
    pub fn press(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .and_then(|()| self.writer.flush())
            .expect("the console takes keys");
    }

    /// Waits until the screen satisfies `ready`; returns it.
    ///
    /// # Panics
    /// After `timeout`, showing the screen.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the console never showed {what}; the screen:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the screen contains `text`; returns it.
    pub async fn wait_for(&self, text: &str, timeout: Duration) -> String {
        self.wait_until(text, timeout, |screen| screen.contains(text))
            .await
    }

    /// The console's process id.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Waits for the console to exit; returns its exit code.
    ///
    /// # Panics
    /// If it is still running after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.exit_code();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the console did not exit; the screen:\n{}",
                self.screen()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
